"""The kubeconfig paths: TLS with the cluster's CA (and a client certificate), and exec plugins
speaking the client.authentication.k8s.io ExecCredential protocol (prod's kubelogin)."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.verify.conftest import KUBE_TOKEN, Pki, Stack, kubeconfig, server_tls
from verify.kubeconfig import KubeconfigError, load_kubeconfig


# ------------------------------------------------------------------ TLS
def test_tls_with_the_clusters_ca(dev: Stack, pki: Pki, served, verify_cli) -> None:
    server = served(dev.cluster, tls=server_tls(pki))
    assert server.url.startswith("https://127.0.0.1:")
    run = verify_cli(dev, "--timeout", "0", kube=kubeconfig(server.url, ca_pem=pki.ca))
    assert run.code == 0, run.out + run.err


def test_tls_with_a_client_certificate(dev: Stack, pki: Pki, served, verify_cli) -> None:
    """The admin kubeconfig's shape: client-certificate-data/client-key-data, no token."""
    dev.cluster.token = None
    server = served(dev.cluster, tls=server_tls(pki, require_client=True))
    run = verify_cli(
        dev,
        "--timeout",
        "0",
        kube=kubeconfig(server.url, token=None, ca_pem=pki.ca, client=(pki.client_cert, pki.client_key)),
    )
    assert run.code == 0, run.out + run.err
    assert "(client certificate)" in run.out.splitlines()[0]
    assert pki.client_key.decode().splitlines()[1] not in run.out + run.err


def test_tls_without_the_client_certificate_it_requires(dev: Stack, pki: Pki, served, verify_cli) -> None:
    server = served(dev.cluster, tls=server_tls(pki, require_client=True))
    run = verify_cli(dev, "--timeout", "0", kube=kubeconfig(server.url, ca_pem=pki.ca))
    assert run.code == 1
    # the server's TLS 1.3 alert, or (if it comes after the client's first write) a reset or the
    # server closing the connection under the client (measured here: all three occur, by timing)
    assert re.search(
        r"is unreachable: (TLS error: (TLSV13_ALERT_CERTIFICATE_REQUIRED|EOF occurred in violation of protocol)"
        r"|connection reset)",
        run.lines["api"],
    )


def test_tls_with_another_ca_is_not_trusted(dev: Stack, pki: Pki, served, verify_cli) -> None:
    server = served(dev.cluster, tls=server_tls(pki))
    run = verify_cli(dev, "--timeout", "0", kube=kubeconfig(server.url, ca_pem=pki.other_ca))
    assert run.code == 1
    assert "is unreachable: TLS certificate not trusted: unable to get local issuer certificate" in run.lines["api"]


def test_tls_server_name(dev: Stack, pki: Pki, served, verify_cli) -> None:
    """tls-server-name: the certificate is checked against that name, not the dialled host."""
    server = served(dev.cluster, tls=server_tls(pki))
    wrong = kubeconfig(server.url, ca_pem=pki.ca, extra_cluster={"tls-server-name": "kubernetes.default.svc"})
    run = verify_cli(dev, "--timeout", "0", kube=wrong)
    assert run.code == 1
    assert "TLS certificate not trusted: Hostname mismatch" in run.lines["api"]


def test_insecure_skip_tls_verify_warns(dev: Stack, pki: Pki, served, verify_cli) -> None:
    server = served(dev.cluster, tls=server_tls(pki))
    run = verify_cli(
        dev, "--timeout", "0", kube=kubeconfig(server.url, extra_cluster={"insecure-skip-tls-verify": True})
    )
    assert run.code == 0
    assert "warning: the kubeconfig skips TLS verification" in run.err


def test_ca_data_that_is_not_a_certificate(dev: Stack, verify_cli) -> None:
    run = verify_cli(
        dev,
        kube=kubeconfig(
            "https://127.0.0.1:1", ca_pem=b"-----BEGIN CERTIFICATE-----\nnope\n-----END CERTIFICATE-----\n"
        ),
    )
    assert run.code == 2
    assert "the cluster's certificate authority is not a valid PEM certificate" in run.err


def test_a_client_key_that_does_not_match(dev: Stack, pki: Pki, verify_cli) -> None:
    run = verify_cli(dev, kube=kubeconfig("https://127.0.0.1:1", ca_pem=pki.ca, client=(pki.client_cert, pki.ca)))
    assert run.code == 2
    assert "the client certificate and key do not load" in run.err


# ------------------------------------------------------------------ exec plugins
def _plugin(
    folder: Path,
    tokens: list[str],
    *,
    api: str = "client.authentication.k8s.io/v1beta1",
    code: int = 0,
    extra: str = "",
) -> Path:
    """A stand-in for kubelogin: records what it was given, prints the next token as an
    ExecCredential (or fails like kubelogin does without an Azure CLI login)."""
    folder.mkdir(exist_ok=True)
    state = folder / "state.json"
    state.write_text(json.dumps({"tokens": tokens, "calls": []}))
    script = folder / "kubelogin"
    script.write_text(
        f"#!{sys.executable}\n"
        "import json, os, sys, pathlib\n"
        f"state = pathlib.Path({str(state)!r})\n"
        "data = json.loads(state.read_text())\n"
        "data['calls'].append({'argv': sys.argv[1:], 'info': json.loads(os.environ['KUBERNETES_EXEC_INFO']),\n"
        "                      'env': os.environ.get('AAD_LOGIN_METHOD'), 'stdin_tty': sys.stdin.isatty()})\n"
        "token = data['tokens'].pop(0) if len(data['tokens']) > 1 else data['tokens'][0]\n"
        "state.write_text(json.dumps(data))\n"
        f"if {code}:\n"
        "    sys.stderr.write('Error: failed to get token: AzureCLICredential: '\n"
        "                     'ERROR: Please run az login to setup account.\\n')\n"
        f"    sys.exit({code})\n"
        f"cred = {{'kind': 'ExecCredential', 'apiVersion': {api!r}, 'spec': {{'interactive': False}},\n"
        "        'status': {'expirationTimestamp': '2099-01-01T00:00:00Z', 'token': token}}\n"
        f"{extra}\n"
        "print(json.dumps(cred))\n"
    )
    script.chmod(0o755)
    return script


def _exec(command: str, api: str = "client.authentication.k8s.io/v1beta1", **more: Any) -> dict[str, Any]:
    """The exec user of prod's kubeconfig (components/cluster.py azurecli_kubeconfig)."""
    return {
        "apiVersion": api,
        "command": command,
        "args": ["get-token", "--login", "azurecli", "--server-id", "6dae42f8-4368-4678-94ff-3960e28e3630"],
        "env": [{"name": "AAD_LOGIN_METHOD", "value": "azurecli"}],
        "provideClusterInfo": False,
        **more,
    }


def _calls(script: Path) -> list[dict[str, Any]]:
    return list(json.loads((script.parent / "state.json").read_text())["calls"])


def test_prods_kubeconfig_shape_is_what_the_exec_tests_use(prod_run: Any) -> None:
    import yaml

    config = yaml.safe_load(prod_run.outputs["kubeconfig"][0])
    exec_ = config["users"][0]["user"]["exec"]
    assert exec_["command"] == "kubelogin"
    assert exec_["apiVersion"] == _exec("x")["apiVersion"]
    assert exec_["args"] == _exec("x")["args"]


def test_an_exec_plugin_token(prod: Stack, served, tmp_path: Path, verify_cli) -> None:
    script = _plugin(tmp_path / "bin", [KUBE_TOKEN])
    server = served(prod.cluster)
    run = verify_cli(prod, "--timeout", "0", kube=kubeconfig(server.url, token=None, exec_=_exec(str(script))))
    assert run.code == 0, run.out + run.err
    assert "(exec plugin kubelogin (v1beta1))" in run.out.splitlines()[0]
    (call,) = _calls(script)
    assert call["argv"] == ["get-token", "--login", "azurecli", "--server-id", "6dae42f8-4368-4678-94ff-3960e28e3630"]
    assert call["info"] == {
        "apiVersion": "client.authentication.k8s.io/v1beta1",
        "kind": "ExecCredential",
        "spec": {"interactive": False},
    }
    assert call["env"] == "azurecli"
    assert call["stdin_tty"] is False
    assert KUBE_TOKEN not in run.out + run.err


def test_an_exec_plugin_given_the_cluster_info(prod: Stack, pki: Pki, served, tmp_path: Path, verify_cli) -> None:
    """provideClusterInfo: the plugin gets the cluster as the kubeconfig has it (the CA as
    base64 data, the TLS server name, insecure-skip-tls-verify)."""
    import base64

    script = _plugin(tmp_path / "bin", [KUBE_TOKEN], api="client.authentication.k8s.io/v1")
    server = served(prod.cluster, tls=server_tls(pki))
    exec_ = _exec(str(script), api="client.authentication.k8s.io/v1", provideClusterInfo=True)
    text = kubeconfig(
        server.url, token=None, ca_pem=pki.ca, exec_=exec_, extra_cluster={"tls-server-name": "127.0.0.1"}
    )
    run = verify_cli(prod, "--timeout", "0", kube=text)
    assert run.code == 0, run.out + run.err
    assert _calls(script)[0]["info"]["spec"]["cluster"] == {
        "server": server.url,
        "certificate-authority-data": base64.b64encode(pki.ca).decode(),
        "tls-server-name": "127.0.0.1",
    }
    insecure = kubeconfig(server.url, token=None, exec_=exec_, extra_cluster={"insecure-skip-tls-verify": True})
    assert verify_cli(prod, "--timeout", "0", kube=insecure).code == 0
    assert _calls(script)[1]["info"]["spec"]["cluster"] == {"server": server.url, "insecure-skip-tls-verify": True}


def test_an_exec_plugin_on_the_path_with_cluster_info(
    prod: Stack, served, tmp_path: Path, monkeypatch, verify_cli
) -> None:
    script = _plugin(tmp_path / "bin", [KUBE_TOKEN], api="client.authentication.k8s.io/v1")
    monkeypatch.setenv("PATH", f"{script.parent}:/usr/bin:/bin")
    server = served(prod.cluster)
    exec_ = _exec("kubelogin", api="client.authentication.k8s.io/v1", provideClusterInfo=True, interactiveMode="Never")
    run = verify_cli(prod, "--timeout", "0", kube=kubeconfig(server.url, token=None, exec_=exec_))
    assert run.code == 0, run.out + run.err
    assert _calls(script)[0]["info"]["spec"]["cluster"] == {"server": server.url}


def test_a_refused_exec_token_is_fetched_again_once(prod: Stack, served, tmp_path: Path, verify_cli) -> None:
    script = _plugin(tmp_path / "bin", ["an-expired-token-1234", KUBE_TOKEN])
    run = verify_cli(
        prod, "--timeout", "0", kube=kubeconfig(served(prod.cluster).url, token=None, exec_=_exec(str(script)))
    )
    assert run.code == 0, run.out + run.err
    assert len(_calls(script)) == 2


def test_an_exec_token_the_server_keeps_refusing(prod: Stack, served, tmp_path: Path, verify_cli) -> None:
    script = _plugin(tmp_path / "bin", ["wrong-token-5678"])
    run = verify_cli(
        prod, "--timeout", "30", kube=kubeconfig(served(prod.cluster).url, token=None, exec_=_exec(str(script)))
    )
    assert run.code == 1
    assert "401 Unauthorized" in run.lines["api"]
    assert len(_calls(script)) == 2  # once at the start, once after the 401; then it stops
    assert "wrong-token-5678" not in run.out + run.err


def test_a_failing_exec_plugin_is_a_kubeconfig_error(prod: Stack, tmp_path: Path, verify_cli) -> None:
    script = _plugin(tmp_path / "bin", [KUBE_TOKEN], code=1)
    run = verify_cli(prod, kube=kubeconfig("https://127.0.0.1:1", token=None, exec_=_exec(str(script))))
    assert run.code == 2
    assert "the exec plugin `kubelogin` failed (exit 1)" in run.err
    assert "Please run az login to setup account." in run.err


def test_a_missing_exec_plugin(prod: Stack, tmp_path: Path, monkeypatch, verify_cli) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    exec_ = _exec("kubelogin", installHint="install kubelogin:\n  az aks install-cli")
    run = verify_cli(prod, kube=kubeconfig("https://127.0.0.1:1", token=None, exec_=exec_))
    assert run.code == 2
    assert "the exec plugin `kubelogin` is not on the PATH (install kubelogin: az aks install-cli)" in run.err
    run = verify_cli(prod, kube=kubeconfig("https://127.0.0.1:1", token=None, exec_=_exec("kubelogin")))
    assert run.err.endswith("the exec plugin `kubelogin` is not on the PATH\n")


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            "cred['apiVersion'] = 'client.authentication.k8s.io/v1'",
            "answered with apiVersion 'client.authentication.k8s.io/v1'",
        ),
        ("cred['status'] = {}", "gave neither a token nor a client certificate"),
        ("cred = {'kind': 'Other'}", "printed JSON that is not an ExecCredential"),
        (
            "cred['status']['clientCertificateData'] = 'x'; del cred['status']['token']",
            "clientCertificateData without clientKeyData",
        ),
        ("print('not json'); sys.exit(0)", "did not print an ExecCredential (not JSON)"),
    ],
)
def test_a_bad_exec_credential(prod: Stack, tmp_path: Path, extra: str, message: str, verify_cli) -> None:
    script = _plugin(tmp_path / "bin", [KUBE_TOKEN], extra=extra)
    run = verify_cli(prod, kube=kubeconfig("https://127.0.0.1:1", token=None, exec_=_exec(str(script))))
    assert run.code == 2
    assert message in run.err
    assert KUBE_TOKEN not in run.err


@pytest.mark.parametrize(
    ("exec_", "message"),
    [
        (
            _exec("kubelogin", api="client.authentication.k8s.io/v1alpha1"),
            "exec apiVersion 'client.authentication.k8s.io/v1alpha1' is not supported",
        ),
        (_exec("kubelogin", interactiveMode="Always"), "needs a person (interactiveMode: Always)"),
        ({"apiVersion": "client.authentication.k8s.io/v1"}, "the user's exec has no command"),
        (_exec("kubelogin", args="get-token"), "the user's exec args are not a list of strings"),
        (_exec("kubelogin", args=["get-token", 3]), "the user's exec args are not a list of strings"),
        (_exec("kubelogin", env=[{"value": "x"}]), "the user's exec env is not a list of {name, value}"),
    ],
)
def test_unusable_exec_config(exec_: dict[str, Any], message: str) -> None:
    with pytest.raises(KubeconfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_kubeconfig(kubeconfig("https://x", token=None, exec_=exec_), base=Path(), secret=lambda _: None)


def test_every_credential_is_registered_as_a_secret(pki: Pki) -> None:
    seen: list[str] = []
    load_kubeconfig(
        kubeconfig("https://x", token=KUBE_TOKEN, ca_pem=pki.ca, client=(pki.client_cert, pki.client_key)),
        base=Path(),
        secret=seen.append,
    )
    assert KUBE_TOKEN in seen
    assert pki.client_key.decode() in seen


def test_token_file_relative_to_the_kubeconfig(dev: Stack, served, tmp_path: Path, verify_cli) -> None:
    (tmp_path / "token").write_text(KUBE_TOKEN + "\n")
    text = kubeconfig(served(dev.cluster).url, token=None).replace("user: {}", "user:\n    tokenFile: token")
    file = tmp_path / "config"
    file.write_text(text)
    run = verify_cli(dev, "--kubeconfig", str(file), "--timeout", "0")
    assert run.code == 0, run.out + run.err


def test_ca_and_client_files_relative_to_the_kubeconfig(
    dev: Stack, pki: Pki, served, tmp_path: Path, verify_cli
) -> None:
    """The file forms: certificate-authority, client-certificate, client-key."""
    import yaml

    dev.cluster.token = None
    server = served(dev.cluster, tls=server_tls(pki, require_client=True))
    for name, data in (("ca.crt", pki.ca), ("client.crt", pki.client_cert), ("client.key", pki.client_key)):
        (tmp_path / name).write_bytes(data)
    config = yaml.safe_load(kubeconfig(server.url, token=None))
    config["clusters"][0]["cluster"]["certificate-authority"] = "ca.crt"
    config["users"][0]["user"] = {"client-certificate": "client.crt", "client-key": "client.key"}
    (tmp_path / "config").write_text(yaml.safe_dump(config))
    run = verify_cli(dev, "--kubeconfig", str(tmp_path / "config"), "--timeout", "0")
    assert run.code == 0, run.out + run.err
    del config["users"][0]["user"]["client-key"]
    (tmp_path / "config").write_text(yaml.safe_dump(config))
    run = verify_cli(dev, "--kubeconfig", str(tmp_path / "config"), "--timeout", "0")
    assert run.code == 2
    assert "the user has a client certificate but no client key" in run.err


def test_an_exec_token_about_to_expire_is_fetched_again(prod: Stack, served, tmp_path: Path, verify_cli) -> None:
    """expirationTimestamp: a token within 30s of it is not used; the plugin runs again."""
    script = _plugin(
        tmp_path / "bin", [KUBE_TOKEN], extra="cred['status']['expirationTimestamp'] = '2020-01-01T00:00:00Z'"
    )
    run = verify_cli(
        prod, "--timeout", "0", kube=kubeconfig(served(prod.cluster).url, token=None, exec_=_exec(str(script)))
    )
    assert run.code == 0, run.out + run.err
    assert len(_calls(script)) == 1 + len(prod.cluster.requests)  # once up front, then before every request


def test_an_exec_plugin_that_gives_a_client_certificate(
    dev: Stack, pki: Pki, served, tmp_path: Path, verify_cli
) -> None:
    dev.cluster.token = None
    (tmp_path / "c.pem").write_bytes(pki.client_cert)
    (tmp_path / "k.pem").write_bytes(pki.client_key)
    extra = (
        f"cred['status'] = {{'clientCertificateData': open({str(tmp_path / 'c.pem')!r}).read(),"
        f" 'clientKeyData': open({str(tmp_path / 'k.pem')!r}).read()}}"
    )
    script = _plugin(tmp_path / "bin", ["unused"], extra=extra)
    server = served(dev.cluster, tls=server_tls(pki, require_client=True))
    run = verify_cli(
        dev, "--timeout", "0", kube=kubeconfig(server.url, token=None, ca_pem=pki.ca, exec_=_exec(str(script)))
    )
    assert run.code == 0, run.out + run.err
    assert all("authorization" not in headers for _, _, headers in dev.cluster.requests)


def test_the_current_context_is_the_one_used() -> None:
    import yaml

    config = yaml.safe_load(kubeconfig("https://first.example", token="t1-xxxx"))
    config["clusters"].append({"name": "other", "cluster": {"server": "https://second.example"}})
    config["users"].append({"name": "other-user", "user": {"token": "t2-xxxx"}})
    config["contexts"].append({"name": "other", "context": {"cluster": "other", "user": "other-user"}})
    config["current-context"] = "other"
    access = load_kubeconfig(yaml.safe_dump(config), base=Path(), secret=lambda _: None)
    assert (access.server, access.context, access.credentials.headers()) == (
        "https://second.example",
        "other",
        {"Authorization": "Bearer t2-xxxx"},
    )
    del config["current-context"]  # two contexts, none current: refused, not guessed
    with pytest.raises(KubeconfigError, match="no current-context"):
        load_kubeconfig(yaml.safe_dump(config), base=Path(), secret=lambda _: None)

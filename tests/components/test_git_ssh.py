"""DAGs over SSH: an SSH dagsGitRepo makes the stack generate an ed25519 deploy key (pulumi_tls),
keep it in Key Vault (marked secret), have ESO deliver it as the Secret the chart's git-sync
mounts (dags.gitSync.sshKeySecret, key gitSshKey), and export its public half."""

from __future__ import annotations

import base64
import functools
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from synth.mocks import Secret
from synth.project import StackConfig, load_stack_config
from synth.runner import RunResult, run_stack
from tests.helpers import render_release, secret_paths, unmarked_leaks, workloads

SSH_REPO = "git@github.com:org/dags.git"
# github.com's published ed25519 host key
KNOWN_HOSTS = "github.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"
KV_SECRET = "airflow-git-ssh-key"
K8S_SECRET = "airflow-git-ssh-key"
RELEASE = "kubernetes:helm.sh/v3:Release"
EXTERNAL_SECRET = "kubernetes:external-secrets.io/v1:ExternalSecret"


def _config(**overrides: str) -> StackConfig:
    dev = load_stack_config("dev")
    values = {**dev.values, **{f"airflow-aks:{k}": v for k, v in overrides.items()}}
    return StackConfig(dev.project, dev.stack, values, dev.secret_keys)


@functools.cache
def _ssh_run(chart: str = "1.15.0") -> RunResult:
    return run_stack(_config(dagsGitRepo=SSH_REPO, dagsGitKnownHosts=KNOWN_HOSTS, airflowChartVersion=chart))


@functools.cache
def _https_run() -> RunResult:
    return run_stack(load_stack_config("dev"))


def _airflow(result: RunResult) -> Any:
    return next(r for r in result.by_type(RELEASE) if r.inputs["chart"] == "airflow")


def _private_key(result: RunResult) -> str:
    (key,) = result.by_type("tls:index/privateKey:PrivateKey")
    return str(key.state["privateKeyOpenssh"])


def public_key_problems(public: str, private_openssh: str) -> list[str]:
    """Why `public` (an authorized_keys line) is not the public half of `private_openssh`."""
    private = serialization.load_ssh_private_key(private_openssh.encode(), password=None)
    if not isinstance(private, ed25519.Ed25519PrivateKey):
        return [f"the private key is a {type(private).__name__}, not ed25519"]
    try:
        loaded = serialization.load_ssh_public_key(public.encode())
    except ValueError as err:
        return [f"the public key does not parse: {err}"]
    raw = serialization.Encoding.Raw, serialization.PublicFormat.Raw
    if loaded.public_bytes(*raw) != private.public_key().public_bytes(*raw):
        return ["the public key is not the private key's"]
    return []


def test_the_key_is_ed25519_and_its_private_half_is_only_in_key_vault_marked_secret() -> None:
    result = _ssh_run()
    (key,) = result.by_type("tls:index/privateKey:PrivateKey")
    assert key.inputs["algorithm"] == "ED25519"
    vault_secret = next(
        r for r in result.by_type("azure-native:keyvault:Secret") if r.inputs["secretName"] == KV_SECRET
    )
    assert secret_paths(vault_secret.inputs) == ["properties.value"]
    value = vault_secret.inputs["properties"]["value"]
    assert isinstance(value, Secret)
    assert value.value == _private_key(result)
    assert unmarked_leaks(result) == []
    airflow_values = str(_airflow(result).inputs["values"])
    assert "PRIVATE KEY" not in airflow_values


def test_the_leak_check_sees_the_private_key_unmarked() -> None:
    """The check above on a broken input: the key in plain values is a leak."""
    result = _ssh_run()
    record = _airflow(result)
    original = record.inputs["values"]
    record.inputs["values"] = {**original, "leak": _private_key(result)}
    try:
        assert unmarked_leaks(result) == [f"{RELEASE}::{record.name}"]
    finally:
        record.inputs["values"] = original


def test_eso_delivers_the_key_under_the_name_and_key_the_chart_reads() -> None:
    result = _ssh_run()
    targets = {es.inputs["spec"]["target"]["name"]: es.inputs for es in result.by_type(EXTERNAL_SECRET)}
    data = targets[K8S_SECRET]["spec"]["data"]
    assert [(d["secretKey"], d["remoteRef"]["key"]) for d in data] == [("gitSshKey", KV_SECRET)]
    git_sync = _airflow(result).inputs["values"]["dags"]["gitSync"]
    assert git_sync["sshKeySecret"] == K8S_SECRET
    assert git_sync["knownHosts"] == KNOWN_HOSTS
    assert git_sync["repo"] == SSH_REPO


def test_the_public_key_output_is_the_private_keys_and_not_secret() -> None:
    result = _ssh_run()
    public, secret = result.outputs["dagsDeployPublicKey"]
    assert secret is False
    assert public.startswith("ssh-ed25519 ")
    assert "\n" not in public
    assert public_key_problems(public, _private_key(result)) == []


def test_the_public_key_check_catches_another_key() -> None:
    result = _ssh_run()
    other = ed25519.Ed25519PrivateKey.from_private_bytes(b"\x01" * 32).public_key()
    line = other.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()
    assert public_key_problems(line, _private_key(result)) == ["the public key is not the private key's"]
    assert public_key_problems("ssh-ed25519 " + base64.b64encode(b"junk").decode(), _private_key(result))


@pytest.mark.parametrize("chart", ["1.15.0", "1.19.0"])
def test_the_rendered_chart_mounts_the_key_into_git_sync_and_checks_the_host(chart: str) -> None:
    result = _ssh_run(chart)
    objs = render_release(_airflow(result), "1.33.0")
    config_maps = [o for o in objs if o.get("kind") == "ConfigMap" and "known_hosts" in (o.get("data") or {})]
    assert [o["data"]["known_hosts"].strip() for o in config_maps] == [KNOWN_HOSTS]
    assert not [o for o in objs if o.get("kind") == "Secret" and "gitSshKey" in (o.get("data") or {})]
    seen = 0
    for workload in workloads(objs):
        pod = workload["spec"]["template"]["spec"]
        volumes = {v["name"]: v for v in pod.get("volumes", [])}
        for container in [*pod.get("initContainers", []), *pod.get("containers", [])]:
            if not container["name"].startswith("git-sync"):
                continue
            seen += 1
            env = {e["name"]: e.get("value") for e in container.get("env", [])}
            assert env["GITSYNC_REPO"] == SSH_REPO
            assert env["GITSYNC_SSH_KEY_FILE"] == "/etc/git-secret/ssh"
            assert env["GITSYNC_SSH_KNOWN_HOSTS"] == "true"
            mounts = {m["mountPath"]: m for m in container["volumeMounts"]}
            key_mount = mounts["/etc/git-secret/ssh"]
            assert key_mount["subPath"] == "gitSshKey"
            assert volumes[key_mount["name"]]["secret"]["secretName"] == K8S_SECRET
            assert "/etc/git-secret/known_hosts" in mounts
    assert seen >= 2  # the scheduler's init container and sidecar at least


def test_https_is_unchanged_no_key_no_output_no_ssh_values() -> None:
    result = _https_run()
    assert result.by_type("tls:index/privateKey:PrivateKey") == []
    assert "dagsDeployPublicKey" not in result.outputs
    assert KV_SECRET not in {r.inputs["secretName"] for r in result.by_type("azure-native:keyvault:Secret")}
    assert K8S_SECRET not in {es.inputs["spec"]["target"]["name"] for es in result.by_type(EXTERNAL_SECRET)}
    git_sync = _airflow(result).inputs["values"]["dags"]["gitSync"]
    assert "sshKeySecret" not in git_sync
    assert "knownHosts" not in git_sync
    assert git_sync["repo"].startswith("https://")

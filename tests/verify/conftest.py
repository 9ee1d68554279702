"""Fixtures for `python -m verify`: the dev and prod stacks' real outputs (the `dev_run` and
`prod_run` fixtures: the program under the mocks) and a fake cluster holding what those stacks
deploy (their ExternalSecrets and logs claim, from the same run), served by a fake API server."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.verify import fake_kube as fk

ES_TYPE = "kubernetes:external-secrets.io/v1:ExternalSecret"
RELEASE_TYPE = "kubernetes:helm.sh/v3:Release"
KUBE_TOKEN = "kube-token-7f3a9c2e5b8d1f4a6c0e"
ADMIN_PASSWORD = "Adm1nPassw0rdFromTheVault9q"


@dataclass
class Stack:
    """One stack as verify meets it: its outputs and the cluster they point at."""

    name: str
    outputs: dict[str, Any]
    cluster: fk.FakeCluster
    logs_claim: str | None
    secrets: list[str] = field(default_factory=list)  # values no output may contain


def outputs_of(run: Any) -> dict[str, Any]:
    """`pulumi stack output --json --show-secrets`: every output by name, secrets shown."""
    return {name: value for name, (value, _secret) in run.outputs.items()}


def _airflow_values(run: Any) -> dict[str, Any]:
    release = next(r for r in run.by_type(RELEASE_TYPE) if r.inputs.get("chart") == "airflow")
    return dict(release.inputs["values"])


def healthy_cluster(run: Any, stack: str) -> Stack:
    """What a successful `pulumi up` of `stack` leaves running, as the API server lists it."""
    outputs = outputs_of(run)
    namespace, release = outputs["namespace"], outputs["airflowReleaseName"]
    ui_service = outputs["airflowUiPortForward"].split("svc/", 1)[1].split()[0]
    claim = ((_airflow_values(run).get("logs") or {}).get("persistence") or {}).get("existingClaim")
    airflow3 = ui_service.endswith("-api-server")
    image = "airflowprodacr.azurecr.io/airflow:3.1.7" if airflow3 else "airflowdevacr.azurecr.io/airflow:2.9.3"

    def p(name: str, comp: str, owner: tuple[str, str], logs: bool = False, **kw: Any) -> dict[str, Any]:
        return fk.pod(
            f"{release}-{name}", comp, release=release, namespace=namespace, owner=owner,
            logs_claim=claim if logs else None, image=image, **kw,
        )  # fmt: skip

    if airflow3:  # chart 1.19: API server, standalone DAG processor, Celery workers, Redis
        pods = [
            p("api-server-6f7d8b9c4-x2kq9", "api-server", ("ReplicaSet", f"{release}-api-server-6f7d8b9c4")),
            p("api-server-6f7d8b9c4-m7wfp", "api-server", ("ReplicaSet", f"{release}-api-server-6f7d8b9c4")),
            p("scheduler-5c9d7f6b8-lq2zt", "scheduler", ("ReplicaSet", f"{release}-scheduler-5c9d7f6b8"), logs=True),
            p("scheduler-5c9d7f6b8-w8n4r", "scheduler", ("ReplicaSet", f"{release}-scheduler-5c9d7f6b8"), logs=True),
            p("dag-processor-7b6c5d4f9-h5s2k", "dag-processor", ("ReplicaSet", f"{release}-dag-processor-7b6c5d4f9")),
            p("triggerer-0", "triggerer", ("StatefulSet", f"{release}-triggerer"), logs=True),
            p("triggerer-1", "triggerer", ("StatefulSet", f"{release}-triggerer"), logs=True),
            p("worker-0", "worker", ("StatefulSet", f"{release}-worker"), logs=True),
            p("worker-1", "worker", ("StatefulSet", f"{release}-worker"), logs=True),
            p("redis-0", "redis", ("StatefulSet", f"{release}-redis")),
            p("statsd-6d5b8c7f9-9vj4c", "statsd", ("ReplicaSet", f"{release}-statsd-6d5b8c7f9")),
        ]
        airflow = fk.FakeAirflow(3, health=fk.health(dag_processor="healthy"))
    else:  # chart 1.15: webserver, KubernetesExecutor, bundled PostgreSQL behind PgBouncer
        pods = [
            p("webserver-7d4f8c9b6-2xkzq", "webserver", ("ReplicaSet", f"{release}-webserver-7d4f8c9b6"), logs=True),
            p("scheduler-6b9c8d7f5-r4t7m", "scheduler", ("ReplicaSet", f"{release}-scheduler-6b9c8d7f5"), logs=True),
            p("triggerer-0", "triggerer", ("StatefulSet", f"{release}-triggerer"), logs=True),
            p("statsd-6d5b8c7f9-9vj4c", "statsd", ("ReplicaSet", f"{release}-statsd-6d5b8c7f9")),
            p("pgbouncer-5f6d7c8b9-k2j3h", "pgbouncer", ("ReplicaSet", f"{release}-pgbouncer-5f6d7c8b9")),
            fk.pod(  # the bitnami subchart labels its pods its own way
                f"{release}-postgresql-0",
                "postgresql",
                namespace=namespace,
                owner=("StatefulSet", f"{release}-postgresql"),
                image="airflowdevacr.azurecr.io/bitnamilegacy/postgresql:16.1.0-debian-11-r15",
                labels={
                    "app.kubernetes.io/instance": release,
                    "app.kubernetes.io/name": "postgresql",
                    "app.kubernetes.io/component": "primary",
                },
            ),
            # a KubernetesExecutor task pod: no controller, not the release's to keep Ready
            fk.pod(
                "example-smoke-hello-4k2n9c1x",
                "worker",
                release=release,
                namespace=namespace,
                owner=None,
                ready=False,
                phase="Pending",
                logs_claim=claim,
                waiting=("ContainerCreating", ""),
            ),
        ]
        airflow = fk.FakeAirflow(2, health=fk.health(dag_processor=None))
    jobs = [
        fk.job(f"{release}-run-airflow-migrations", release=release),
        fk.job(f"{release}-create-user", release=release),
    ]
    migrations = f"{release}-run-airflow-migrations"
    pods.append(
        p("run-airflow-migrations-8xq2p", "run-airflow-migrations", ("Job", migrations), phase="Succeeded", ready=False)
    )
    admin = outputs["adminCredentialsSecret"]
    airflow.username, airflow.password = admin["username"], ADMIN_PASSWORD
    cluster = fk.FakeCluster(
        namespace=namespace,
        token=KUBE_TOKEN,
        pods=pods,
        jobs=jobs,
        external_secrets=[fk.external_secret(dict(r.inputs)) for r in run.by_type(ES_TYPE)],
        pvcs=[fk.pvc(claim, namespace=namespace)] if claim else [],
        secrets={admin["name"]: fk.secret(admin["name"], {admin["passwordKey"]: ADMIN_PASSWORD}, namespace)},
        service=ui_service,
        port=int(outputs["airflowUiPortForward"].split(":")[1].split()[0]),
        airflow=airflow,
    )
    return Stack(stack, outputs, cluster, claim, secrets=[KUBE_TOKEN, ADMIN_PASSWORD])


@pytest.fixture
def dev(dev_run: Any) -> Stack:
    return healthy_cluster(dev_run, "dev")


@pytest.fixture
def prod(prod_run: Any) -> Stack:
    return healthy_cluster(prod_run, "prod")


def kubeconfig(
    server: str,
    *,
    token: str | None = KUBE_TOKEN,
    ca_pem: bytes | None = None,
    client: tuple[bytes, bytes] | None = None,
    exec_: dict[str, Any] | None = None,
    extra_cluster: dict[str, Any] | None = None,
) -> str:
    """A kubeconfig the way AKS's list-credentials shapes it (one cluster, context and user)."""
    import base64

    import yaml

    cluster: dict[str, Any] = {"server": server, **(extra_cluster or {})}
    if ca_pem is not None:
        cluster["certificate-authority-data"] = base64.b64encode(ca_pem).decode()
    user: dict[str, Any] = {}
    if token is not None:
        user["token"] = token
    if client is not None:
        user["client-certificate-data"] = base64.b64encode(client[0]).decode()
        user["client-key-data"] = base64.b64encode(client[1]).decode()
    if exec_ is not None:
        user["exec"] = exec_
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "airflow-aks", "cluster": cluster}],
        "contexts": [{"name": "airflow-aks", "context": {"cluster": "airflow-aks", "user": "clusterUser_airflow-aks"}}],
        "current-context": "airflow-aks",
        "users": [{"name": "clusterUser_airflow-aks", "user": user}],
    }
    return str(yaml.safe_dump(config, sort_keys=False))


@dataclass
class Run:
    code: int
    out: str
    err: str

    @property
    def lines(self) -> dict[str, str]:
        """check name -> its final line (`STATUS name reason`)."""
        found = {}
        for line in self.out.splitlines():
            parts = line.split(maxsplit=2)
            if len(parts) >= 2 and parts[0] in ("PASS", "FAIL", "SKIP"):
                found[parts[1]] = line
        return found

    def status(self, check: str) -> str:
        return self.lines[check].split()[0]


class TTYBuffer(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture
def verify_cli(tmp_path: Path) -> Callable[..., Run]:
    """Run `python -m verify` in-process: outputs written to a file, the kubeconfig output
    pointing at the fake server."""
    from verify.cli import main

    def run(
        stack: Stack | None,
        *args: str,
        server: str | None = None,
        kube: str | None = None,
        outputs: dict[str, Any] | None = None,
        stderr: io.StringIO | None = None,
        **kwargs: Any,
    ) -> Run:
        argv = list(args)
        if "--timeout" not in argv:  # never the default 10 minutes, even when a test goes wrong
            argv += ["--timeout", "3"]
        if stack is not None:
            data = dict(outputs if outputs is not None else stack.outputs)
            if server is not None or kube is not None:
                data["kubeconfig"] = kube if kube is not None else kubeconfig(str(server))
            file = tmp_path / f"{stack.name}-outputs.json"
            file.write_text(json.dumps(data))
            argv = [stack.name, "--outputs", str(file), *argv]
        out, err = io.StringIO(), stderr if stderr is not None else io.StringIO()
        code = main(argv, stdout=out, stderr=err, **kwargs)
        return Run(code, out.getvalue(), err.getvalue())

    return run


@pytest.fixture
def served(request: pytest.FixtureRequest) -> Iterator[Callable[..., fk.FakeServer]]:
    """Start fake servers for a test; all stopped at its end."""
    started: list[fk.FakeServer] = []

    def start(answer: Any, tls: Any = None) -> fk.FakeServer:
        server = fk.FakeServer(answer.answer if isinstance(answer, fk.FakeCluster) else answer, tls).__enter__()
        started.append(server)
        return server

    yield start
    for server in started:
        server.__exit__(None, None, None)


# ------------------------------------------------------------------ TLS material (openssl)
@dataclass(frozen=True)
class Pki:
    ca: bytes
    server_cert: Path
    server_key: Path
    client_cert: bytes
    client_key: bytes
    other_ca: bytes  # a CA that signed nothing here


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)  # noqa: S603, S607 - a test tool


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    """A throwaway CA, a server certificate for 127.0.0.1 and a client certificate, made with
    openssl (skipped where there is none)."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed: the TLS tests need it to make certificates")
    d = tmp_path_factory.mktemp("pki")
    for ca in ("ca", "other-ca"):
        _openssl(
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{ca}.key", "-out", f"{ca}.crt",
            "-days", "2", "-subj", f"/CN={ca}", "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=d,
        )  # fmt: skip
    (d / "server.ext").write_text(
        "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n"
        "extendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1\nauthorityKeyIdentifier=keyid\n"
    )
    (d / "client.ext").write_text(
        "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n"
        "extendedKeyUsage=clientAuth\nauthorityKeyIdentifier=keyid\n"
    )
    for leaf, subject in (("server", "/CN=kube-apiserver"), ("client", "/O=system:masters/CN=clusterAdmin")):
        _openssl(
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            f"{leaf}.key",
            "-out",
            f"{leaf}.csr",
            "-subj",
            subject,
            cwd=d,
        )
        _openssl(
            "x509", "-req", "-in", f"{leaf}.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
            "-out", f"{leaf}.crt", "-days", "2", "-extfile", f"{leaf}.ext", cwd=d,
        )  # fmt: skip
    return Pki(
        ca=(d / "ca.crt").read_bytes(),
        server_cert=d / "server.crt",
        server_key=d / "server.key",
        client_cert=(d / "client.crt").read_bytes(),
        client_key=(d / "client.key").read_bytes(),
        other_ca=(d / "other-ca.crt").read_bytes(),
    )


def server_tls(pki: Pki, *, require_client: bool = False) -> Any:
    import ssl

    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(pki.server_cert, pki.server_key)
    if require_client:
        ctx.verify_mode = ssl.CERT_REQUIRED
        ctx.load_verify_locations(cadata=pki.ca.decode())
    return ctx

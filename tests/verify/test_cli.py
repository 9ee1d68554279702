"""`python -m verify` end to end against the fake API server: the dev (Airflow 2) and prod
(Airflow 3) stacks' real outputs, every check passing, then each failure, the waiting path,
the exit codes, and that no secret is ever printed."""

from __future__ import annotations

import io
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.verify import fake_kube as fk
from tests.verify.conftest import KUBE_TOKEN, Run, Stack, TTYBuffer, kubeconfig

CHECKS = ("api", "pods", "externalsecrets", "logs-volume", "health")
PROJECT = Path(__file__).resolve().parents[2]


def assert_no_secret(run: Run, stack: Stack, *more: str) -> None:
    printed = run.out + run.err
    for value in [*stack.secrets, *more]:
        assert value not in printed
    kube = stack.outputs.get("kubeconfig")
    for line in (kube or "").splitlines():
        if "token" in line or "key-data" in line:
            assert line.strip() not in printed


def _pod_named(stack: Stack, part: str) -> dict[str, Any]:
    return next(p for p in stack.cluster.pods if part in p["metadata"]["name"])


# ------------------------------------------------------------------ everything passes
@pytest.mark.parametrize("which", ["dev", "prod"])
def test_a_healthy_deployment_passes_every_check(
    which: str, request: pytest.FixtureRequest, served, verify_cli
) -> None:
    stack: Stack = request.getfixturevalue(which)
    server = served(stack.cluster)
    run = verify_cli(stack, "--timeout", "0", server=server.url)
    assert run.code == 0, run.out + run.err
    assert [line.split()[:2] for line in run.out.splitlines()[1:-1]] == [["PASS", c] for c in CHECKS]
    assert run.out.splitlines()[-1].startswith(f"verify {which}: OK, all 5 checks passed")
    assert_no_secret(run, stack)


def test_dev_checks_what_the_dev_stack_deploys(dev: Stack, served, verify_cli) -> None:
    """Airflow 2: /health of the webserver through the service proxy named by
    airflowUiPortForward; the logs claim the release values name, Bound; every ExternalSecret."""
    server = served(dev.cluster)
    run = verify_cli(dev, "--timeout", "0", server=server.url)
    assert "(Airflow 2, UI svc/airflow-webserver:8080), API http://127.0.0.1:" in run.out.splitlines()[0]
    assert run.out.splitlines()[0].endswith(" (token)")
    assert run.lines["health"].endswith(
        "/health: metadatabase healthy, scheduler healthy, triggerer healthy, dag_processor not deployed"
    )
    assert run.lines["logs-volume"].endswith(f"{dev.logs_claim} Bound to pv-airflow-logs (10Gi)")
    assert dev.logs_claim == "pvc-airflow-logs"
    assert run.lines["externalsecrets"].endswith("8/8 Ready")
    # pods: the chart's and the bundled PostgreSQL's (its own labels); not the task pod
    assert "6/6 pods ready" in run.lines["pods"]
    assert "postgresql 1" in run.lines["pods"]
    assert "2 Jobs complete" in run.lines["pods"]
    proxied = [(m, p, h) for m, p, h in dev.cluster.requests if "/proxy" in p]
    assert [p for _, p, _ in proxied] == ["/api/v1/namespaces/airflow/services/airflow-webserver:8080/proxy/health"]
    assert proxied[0][2]["authorization"] == f"Bearer {KUBE_TOKEN}"  # the API server's credential
    assert dev.cluster.airflow is not None
    assert "authorization" not in dev.cluster.airflow.seen[0][2]  # which never reaches Airflow


def test_prod_checks_what_the_prod_stack_deploys(prod: Stack, served, verify_cli) -> None:
    """Airflow 3: /api/v2/monitor/health of the API server; no logs claim (logsMode remote);
    the standalone DAG processor must be healthy."""
    server = served(prod.cluster)
    run = verify_cli(prod, "--timeout", "0", server=server.url)
    assert "(Airflow 3, UI svc/airflow-api-server:8080)" in run.out.splitlines()[0]
    assert run.lines["health"].endswith(
        "/api/v2/monitor/health: metadatabase healthy, scheduler healthy, triggerer healthy, dag_processor healthy"
    )
    assert prod.logs_claim is None
    assert "no logs volume" in run.lines["logs-volume"]
    assert "11/11 pods ready" in run.lines["pods"]


# ------------------------------------------------------------------ each failure
def test_a_pod_that_is_not_ready_fails_with_its_reason(dev: Stack, served, verify_cli) -> None:
    scheduler = _pod_named(dev, "scheduler")
    scheduler.update(
        fk.pod(
            scheduler["metadata"]["name"],
            "scheduler",
            owner=("ReplicaSet", "airflow-scheduler-6b9c8d7f5"),
            waiting=("CreateContainerConfigError", 'secret "airflow-fernet-key" not found'),
            logs_claim="pvc-airflow-logs",
        )
    )
    run = verify_cli(dev, "--timeout", "0", server=served(dev.cluster).url)
    assert run.code == 1
    assert run.status("pods") == "FAIL"
    assert "5/6 pods ready" in run.lines["pods"]
    assert (
        "airflow-scheduler-6b9c8d7f5-r4t7m: scheduler: CreateContainerConfigError: "
        'secret "airflow-fernet-key" not found' in run.lines["pods"]
    )
    assert "(not waited for: --timeout 0)" in run.lines["pods"]
    assert run.out.splitlines()[-1].startswith("verify dev: FAILED, 1 of 5 checks did not pass (pods;")


def test_an_unschedulable_pod_says_why(prod: Stack, served, verify_cli) -> None:
    fk.unschedulable(
        _pod_named(prod, "worker-1"),
        "0/6 nodes are available: 3 Insufficient cpu, 3 node(s) didn't match Pod's node affinity/selector.",
    )
    run = verify_cli(prod, "--timeout", "0", server=served(prod.cluster).url)
    assert run.code == 1
    assert "airflow-worker-1: Unschedulable: 0/6 nodes are available: 3 Insufficient cpu" in run.lines["pods"]


def test_no_pods_at_all_is_not_a_pass(dev: Stack, served, verify_cli) -> None:
    dev.cluster.pods = []
    run = verify_cli(dev, "--timeout", "0", server=served(dev.cluster).url)
    assert run.code == 1
    assert "no pods of release 'airflow' in namespace 'airflow' yet" in run.lines["pods"]
    assert run.status("logs-volume") == "FAIL"


def test_a_failed_job_stops_at_once(dev: Stack, served, verify_cli) -> None:
    dev.cluster.jobs[0] = fk.job("airflow-run-airflow-migrations", state="Failed")
    started = time.monotonic()
    run = verify_cli(dev, "--timeout", "60", "--interval", "0.05", server=served(dev.cluster).url)
    assert time.monotonic() - started < 10  # waiting cannot fix it: no polling to the timeout
    assert run.code == 1
    assert run.lines["pods"].endswith(
        "Job airflow-run-airflow-migrations failed: BackoffLimitExceeded: Job has reached the specified backoff limit"
    )
    assert "stopped: pods cannot pass by waiting" in run.out.splitlines()[-1]


def test_a_running_job_is_waited_for(dev: Stack, served, verify_cli) -> None:
    dev.cluster.jobs[1] = fk.job("airflow-create-user", state="Running")
    run = verify_cli(dev, "--timeout", "0", server=served(dev.cluster).url)
    assert run.code == 1
    assert "Job airflow-create-user running (active 1, failed 0)" in run.lines["pods"]


def test_an_external_secret_that_is_not_ready_fails_with_its_message(prod: Stack, served, verify_cli) -> None:
    es = prod.cluster.external_secrets
    assert es is not None
    broken = next(i for i, e in enumerate(es) if e["metadata"]["name"] == "airflow-admin")
    inputs = {k: es[broken][k] for k in ("apiVersion", "kind", "metadata", "spec")}
    es[broken] = fk.external_secret(inputs, ready=False)
    run = verify_cli(prod, "--timeout", "0", server=served(prod.cluster).url)
    assert run.code == 1
    assert run.lines["externalsecrets"].startswith(
        "FAIL externalsecrets  7/8 Ready; airflow-admin: SecretSyncedError: could not get secret data from provider"
    )


def test_external_secrets_not_served(dev: Stack, served, verify_cli) -> None:
    dev.cluster.external_secrets = None  # the operator's CRDs are not installed
    run = verify_cli(dev, "--timeout", "0", server=served(dev.cluster).url)
    assert "the ExternalSecret API (external-secrets.io/v1) is not served" in run.lines["externalsecrets"]


def test_a_pending_logs_claim_fails_with_its_event(dev: Stack, served, verify_cli) -> None:
    assert dev.logs_claim is not None
    dev.cluster.pvcs = [fk.pvc(dev.logs_claim, phase="Pending")]
    dev.cluster.events = [  # listed in no useful order: the newest is not the last
        fk.event(
            "PersistentVolumeClaim",
            dev.logs_claim,
            "FailedBinding",
            "no persistent volumes available for this claim and no storage class is set",
        ),
        fk.event("PersistentVolumeClaim", dev.logs_claim, "FailedBinding", "old", at="2025-06-02T09:00:00Z"),
        fk.event("PersistentVolumeClaim", "someone-else", "Other", "not this claim's"),
    ]
    run = verify_cli(dev, "--timeout", "0", server=served(dev.cluster).url)
    assert run.code == 1
    assert run.lines["logs-volume"].startswith(
        "FAIL logs-volume      pvc-airflow-logs Pending (FailedBinding: no persistent volumes available for this claim"
    )


def test_a_lost_logs_claim_stops_at_once(dev: Stack, served, verify_cli) -> None:
    assert dev.logs_claim is not None
    dev.cluster.pvcs = [fk.pvc(dev.logs_claim, phase="Lost")]
    run = verify_cli(dev, "--timeout", "60", "--interval", "0.05", server=served(dev.cluster).url)
    assert run.code == 1
    assert "pvc-airflow-logs is Lost" in run.lines["logs-volume"]


def test_a_missing_logs_claim(dev: Stack, served, verify_cli) -> None:
    dev.cluster.pvcs = []
    run = verify_cli(dev, "--timeout", "0", server=served(dev.cluster).url)
    assert "pvc-airflow-logs: the pods mount it but it does not exist" in run.lines["logs-volume"]


@pytest.mark.parametrize("which", ["dev", "prod"])
def test_an_unhealthy_scheduler_fails_health(which: str, request: pytest.FixtureRequest, served, verify_cli) -> None:
    stack: Stack = request.getfixturevalue(which)
    assert stack.cluster.airflow is not None
    stack.cluster.airflow.health["scheduler"]["status"] = "unhealthy"
    run = verify_cli(stack, "--timeout", "0", server=served(stack.cluster).url)
    assert run.code == 1
    assert run.status("health") == "FAIL"
    assert "scheduler unhealthy (last heartbeat " in run.lines["health"]
    assert [run.status(c) for c in CHECKS[:4]] == ["PASS"] * 4


def test_a_dag_processor_that_runs_but_never_reported_fails_health(prod: Stack, served, verify_cli) -> None:
    assert prod.cluster.airflow is not None
    prod.cluster.airflow.health["dag_processor"] = {"status": None, "latest_dag_processor_heartbeat": None}
    run = verify_cli(prod, "--timeout", "0", server=served(prod.cluster).url)
    assert "dag_processor not reporting (no heartbeat)" in run.lines["health"]


def test_health_without_endpoints(dev: Stack, served, verify_cli) -> None:
    dev.cluster.endpoints = False
    run = verify_cli(dev, "--timeout", "0", server=served(dev.cluster).url)
    assert run.code == 1
    assert (
        "svc/airflow-webserver:8080/health: the API server's proxy answered 503 ServiceUnavailable: "
        'no endpoints available for service "airflow-webserver"' in run.lines["health"]
    )


def test_health_blocked_by_a_network_policy_says_what_to_do(prod: Stack, served, verify_cli) -> None:
    prod.cluster.unreachable_service = True
    run = verify_cli(prod, "--timeout", "0", server=served(prod.cluster).url)
    assert "error trying to reach service" in run.lines["health"]
    assert "pass --airflow-url" in run.lines["health"]


def test_an_unreachable_api_server(dev: Stack, verify_cli) -> None:
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    run = verify_cli(dev, "--timeout", "0.3", "--interval", "0.1", server=f"http://127.0.0.1:{port}")
    assert run.code == 1
    assert run.lines["api"].startswith(
        f"FAIL api              the API server http://127.0.0.1:{port} is unreachable: connection refused"
    )
    assert all(run.status(c) == "SKIP" for c in CHECKS[1:])
    assert "[" in run.err
    assert "WAIT api" in run.err


def test_refused_credentials_stop_at_once(dev: Stack, served, verify_cli) -> None:
    """A token written in the kubeconfig cannot be renewed: one request, then the verdict."""
    server = served(dev.cluster)
    started = time.monotonic()
    run = verify_cli(dev, "--timeout", "60", kube=kubeconfig(server.url, token="a-token-that-expired-long-ago"))
    assert time.monotonic() - started < 10
    assert run.code == 1
    assert "401 Unauthorized: the API server refused the kubeconfig's credentials" in run.lines["api"]
    assert "a-token-that-expired-long-ago" not in run.out + run.err
    assert [p for _, p, _ in dev.cluster.requests] == ["/version"]


def test_forbidden_is_waited_out_then_fails(dev: Stack, served, verify_cli) -> None:
    dev.cluster.forbidden = True  # Azure RBAC not there yet
    run = verify_cli(dev, "--timeout", "0.2", "--interval", "0.05", server=served(dev.cluster).url)
    assert run.code == 1
    assert run.status("api") == "PASS"
    assert "list pods: 403 Forbidden: pods is forbidden" in run.lines["pods"]
    assert "still so after" in run.lines["pods"]


# ------------------------------------------------------------------ waiting
def test_waits_until_everything_is_ready(dev: Stack, served, verify_cli) -> None:
    """Not ready on the first rounds (a pod, an ExternalSecret, the claim, the scheduler's
    heartbeat), ready on the third: exit 0 within the timeout, the waiting shown on stderr."""
    cluster = dev.cluster
    assert cluster.airflow is not None
    assert cluster.external_secrets is not None
    assert dev.logs_claim is not None
    good = {
        "pods": [dict(p) for p in cluster.pods],
        "es": list(cluster.external_secrets),
        "pvcs": list(cluster.pvcs),
        "health": json.loads(json.dumps(cluster.airflow.health)),
    }
    web = _pod_named(dev, "webserver")
    cluster.pods[cluster.pods.index(web)] = fk.pod(
        web["metadata"]["name"], "webserver", owner=("ReplicaSet", "airflow-webserver-7d4f8c9b6"), ready=False
    )
    first = cluster.external_secrets[0]
    cluster.external_secrets[0] = fk.external_secret(
        {k: first[k] for k in ("apiVersion", "kind", "metadata", "spec")}, ready=False
    )
    cluster.pvcs = [fk.pvc(dev.logs_claim, phase="Pending")]
    cluster.airflow.health["scheduler"]["status"] = "unhealthy"

    def ready(c: fk.FakeCluster) -> None:
        assert c.airflow is not None
        c.pods, c.external_secrets, c.pvcs, c.airflow.health = good["pods"], good["es"], good["pvcs"], good["health"]

    cluster.script[3] = ready
    run = verify_cli(dev, "--timeout", "20", "--interval", "0.05", server=served(cluster).url)
    assert run.code == 0, run.out + run.err
    assert cluster.rounds == 3
    progress = run.err.splitlines()
    assert any("WAIT pods" in line and "webserver not ready" in line for line in progress)
    assert any("WAIT logs-volume" in line and "Pending" in line for line in progress)
    assert any("WAIT health" in line and "scheduler unhealthy" in line for line in progress)
    assert all(line.startswith("[") for line in progress)  # plain lines, no terminal codes
    assert "\r" not in run.err
    assert "\x1b" not in run.err
    # a line per change, not per round
    assert len([line for line in progress if "WAIT pods" in line]) == 1


def test_on_a_terminal_the_progress_is_one_line_rewritten(dev: Stack, served, verify_cli) -> None:
    assert dev.cluster.airflow is not None
    dev.cluster.airflow.health["scheduler"]["status"] = "unhealthy"
    dev.cluster.script[3] = lambda c: c.airflow.health["scheduler"].update(status="healthy")  # type: ignore[union-attr]
    tty = TTYBuffer()
    run = verify_cli(dev, "--timeout", "20", "--interval", "0.05", server=served(dev.cluster).url, stderr=tty)
    assert run.code == 0
    assert run.err.count("\r\x1b[2K") == 3  # drawn twice (rounds 1 and 2), cleared once before the results
    assert run.err.startswith("\r\x1b[2K/ [   0s/20s] 4/5 passed; waiting for health: /health: ")
    assert "\r\x1b[2K- [" in run.err  # the spinner turns
    assert "\n" not in run.err
    assert run.out.count("\n") == 7  # the results are plain lines on stdout


def test_times_out(dev: Stack, served, verify_cli) -> None:
    assert dev.cluster.airflow is not None
    dev.cluster.airflow.health["triggerer"]["status"] = "unhealthy"
    started = time.monotonic()
    run = verify_cli(dev, "--timeout", "0.5", "--interval", "0.1", server=served(dev.cluster).url)
    assert 0.4 < time.monotonic() - started < 10
    assert run.code == 1
    assert "triggerer unhealthy" in run.lines["health"]
    assert "(still so after" in run.lines["health"]
    assert dev.cluster.rounds >= 3


# ------------------------------------------------------------------ bad usage, outputs, kubeconfig: exit 2
def test_an_outputs_file_that_is_not_json_names_the_place_not_the_content(
    dev: Stack, tmp_path: Path, verify_cli
) -> None:
    file = tmp_path / "outputs.json"
    file.write_text('{"kubeconfig": "users:\\n- token: ' + KUBE_TOKEN + '", oops}')
    run = verify_cli(None, "dev", "--outputs", str(file))
    assert run.code == 2
    assert run.err.startswith(f"verify: error: the outputs file {file} is not JSON (line 1, column")
    assert KUBE_TOKEN not in run.err
    assert run.out == ""


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda o: o.pop("namespace"), "`namespace` is missing"),
        (lambda o: o.update(airflowReleaseName=""), "`airflowReleaseName` is not a non-empty string"),
        (lambda o: o.update(kubeconfig="[secret]"), "`kubeconfig` is `[secret]`: read the outputs with --show-secrets"),
        (
            lambda o: o.update(airflowUiPortForward="kubectl get pods"),
            "`airflowUiPortForward` names no `svc/<name> <port>`",
        ),
    ],
)
def test_unusable_outputs(dev: Stack, change: Any, message: str, served, verify_cli) -> None:
    outputs = dict(dev.outputs)
    outputs["kubeconfig"] = kubeconfig(served(dev.cluster).url)
    change(outputs)
    run = verify_cli(dev, outputs=outputs)
    assert run.code == 2
    assert "verify: error: the outputs of stack 'dev' cannot be used (1 problem):" in run.err
    assert message in run.err
    assert dev.cluster.requests == []  # nothing was checked


def test_outputs_that_are_not_an_object(tmp_path: Path, verify_cli) -> None:
    file = tmp_path / "o.json"
    file.write_text("[1, 2]")
    run = verify_cli(None, "dev", "--outputs", str(file))
    assert (run.code, run.err) == (2, "verify: error: the stack outputs are not a JSON object of output names\n")


def test_a_missing_outputs_file(tmp_path: Path, verify_cli) -> None:
    run = verify_cli(None, "dev", "--outputs", str(tmp_path / "nope.json"))
    assert run.code == 2
    assert "cannot read the outputs file" in run.err


def _config(cluster: str, user: str) -> str:
    return (
        "current-context: c\ncontexts:\n- name: c\n  context: {cluster: k, user: u}\n"
        f"clusters:\n- name: k\n  cluster: {cluster}\nusers:\n- name: u\n  user: {user}\n"
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("apiVersion: v1\nusers:\n- token: [unclosed " + KUBE_TOKEN, "not valid YAML (line"),
        ("apiVersion: v1\nkind: Config\n", "no current-context"),
        (_config("{server: 'ftp://x'}", "{}"), "cluster 'k' has no http(s) server URL"),
        (
            _config("{server: 'https://x'}", "{auth-provider: {name: azure}}"),
            "convert it with `kubelogin convert-kubeconfig -l azurecli`",
        ),
        (
            _config("{server: 'https://x', certificate-authority-data: '!!notbase64'}", "{}"),
            "certificate-authority-data is not valid base64",
        ),
        (_config("{server: 'https://x'}", "{username: a, password: b}"), "basic-auth users"),
    ],
)
def test_unusable_kubeconfig(dev: Stack, text: str, message: str, verify_cli) -> None:
    run = verify_cli(dev, kube=text)
    assert run.code == 2
    assert run.err.startswith("verify: error: kubeconfig (the `kubeconfig` output): ")
    assert message in run.err
    assert KUBE_TOKEN not in run.err


def test_kubeconfig_file_overrides_the_output(dev: Stack, served, tmp_path: Path, verify_cli) -> None:
    server = served(dev.cluster)
    file = tmp_path / "kubeconfig"
    file.write_text(kubeconfig(server.url))
    outputs = {k: v for k, v in dev.outputs.items() if k != "kubeconfig"}  # not needed then
    run = verify_cli(dev, "--kubeconfig", str(file), "--timeout", "0", outputs=outputs)
    assert run.code == 0, run.err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--timeout", "-1"], "argument --timeout: not a number of seconds >= 0"),
        (["--timeout", "soon"], "argument --timeout: not a number of seconds: 'soon'"),
        (["--interval", "0"], "--interval must be more than 0 seconds"),
        (["--unpause"], "--unpause goes with --trigger-dag"),
        (["--bogus"], "unrecognized arguments: --bogus"),
    ],
)
def test_bad_usage(dev: Stack, args: list[str], message: str, verify_cli) -> None:
    run = verify_cli(dev, *args, server="http://127.0.0.1:9")
    assert run.code == 2
    assert message in run.err


def test_no_stack_is_bad_usage(verify_cli) -> None:
    run = verify_cli(None)
    assert run.code == 2
    assert "the following arguments are required: stack" in run.err


# ------------------------------------------------------------------ the Pulumi CLI path
def _fake_pulumi(folder: Path, outputs: dict[str, Any], log: Path, code: int = 0) -> None:
    folder.mkdir(exist_ok=True)
    data = folder / "outputs.json"
    data.write_text(json.dumps(outputs))
    script = folder / "pulumi"
    script.write_text(
        f"#!{sys.executable}\n"
        "import sys, pathlib\n"
        f"pathlib.Path({str(log)!r}).write_text(' '.join(sys.argv[1:]))\n"
        f"if {code}:\n    sys.stderr.write('error: no stack named dev found\\n'); sys.exit({code})\n"
        f"sys.stdout.write(pathlib.Path({str(data)!r}).read_text())\n"
    )
    script.chmod(0o755)


def test_reads_the_outputs_with_the_pulumi_cli(dev: Stack, served, tmp_path: Path, monkeypatch, verify_cli) -> None:
    outputs = {**dev.outputs, "kubeconfig": kubeconfig(served(dev.cluster).url)}
    log = tmp_path / "argv"
    _fake_pulumi(tmp_path / "bin", outputs, log)
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    run = verify_cli(None, "dev", "--timeout", "0")
    assert run.code == 0, run.err
    assert log.read_text() == "stack output --json --show-secrets --stack dev"


def test_a_failing_pulumi_cli(tmp_path: Path, monkeypatch, verify_cli) -> None:
    _fake_pulumi(tmp_path / "bin", {}, tmp_path / "argv", code=255)
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    run = verify_cli(None, "dev")
    assert run.code == 2
    assert "`pulumi stack output --stack dev` failed (exit 255): error: no stack named dev found" in run.err


def test_no_pulumi_cli(tmp_path: Path, monkeypatch, verify_cli) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    run = verify_cli(None, "dev")
    assert run.code == 2
    assert "the Pulumi CLI is not on the PATH" in run.err
    assert "--outputs FILE" in run.err


# ------------------------------------------------------------------ as a module
def test_python_dash_m_verify(dev: Stack, served, tmp_path: Path) -> None:
    """The real entry point, in a subprocess: exit codes and a stderr that is not a terminal."""
    server = served(dev.cluster)
    assert dev.cluster.airflow is not None
    dev.cluster.airflow.health["scheduler"]["status"] = "unhealthy"
    dev.cluster.script[2] = lambda c: c.airflow.health["scheduler"].update(status="healthy")  # type: ignore[union-attr]
    file = tmp_path / "outputs.json"
    file.write_text(json.dumps({**dev.outputs, "kubeconfig": kubeconfig(server.url)}))
    env = {**os.environ, "PYTHONPATH": str(PROJECT)}
    argv = [sys.executable, "-m", "verify", "dev", "--outputs", str(file), "--timeout", "30", "--interval", "0.05"]
    proc = subprocess.run(argv, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60, check=False)  # noqa: S603
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "WAIT health" in proc.stderr
    assert "\r" not in proc.stderr
    assert proc.stdout.splitlines()[-1].startswith("verify dev: OK")
    bad = subprocess.run(  # noqa: S603
        [sys.executable, "-m", "verify", "dev", "--outputs", str(tmp_path / "none.json")],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert bad.returncode == 2
    assert bad.stderr.startswith("verify: error: cannot read the outputs file")


def test_help_describes_the_cli() -> None:
    from verify.cli import build_parser

    text = build_parser().format_help()
    for option in (
        "--outputs FILE",
        "--kubeconfig FILE",
        "--timeout SECONDS",
        "--trigger-dag DAG_ID",
        "--airflow-url URL",
    ):
        assert option in text
    flat = " ".join(text.split())
    assert "Exit codes: 0 all checks passed, 1 a check failed, 2 bad usage, outputs or kubeconfig." in flat
    assert "(default 600; 0: check once)" in flat
    assert "(default 5)" in flat
    assert "stack the Pulumi stack" in flat


def test_outputs_piped_on_stdin(dev: Stack, served, verify_cli) -> None:
    """`pulumi stack output --json --show-secrets | python -m verify dev --outputs -`: the
    kubeconfig never written to disk."""
    piped = io.StringIO(json.dumps({**dev.outputs, "kubeconfig": kubeconfig(served(dev.cluster).url)}))
    run = verify_cli(None, "dev", "--outputs", "-", "--timeout", "0", stdin=piped)
    assert run.code == 0, run.out + run.err


def test_a_pending_claim_without_events(dev: Stack, served, verify_cli) -> None:
    assert dev.logs_claim is not None
    dev.cluster.pvcs = [fk.pvc(dev.logs_claim, phase="Pending")]
    run = verify_cli(dev, "--timeout", "0", server=served(dev.cluster).url)
    assert run.lines["logs-volume"] == "FAIL logs-volume      pvc-airflow-logs Pending (not waited for: --timeout 0)"


def test_an_unknown_ui_service_tries_both_health_paths(dev: Stack, served, verify_cli) -> None:
    """A UI Service no chart profile names: Airflow 3's path first, then Airflow 2's."""
    dev.cluster.service = "airflow-ui"
    outputs = {
        **dev.outputs,
        "airflowUiPortForward": "kubectl port-forward svc/airflow-ui 8080:8080 --namespace airflow",
    }
    run = verify_cli(dev, "--timeout", "0", server=served(dev.cluster).url, outputs=outputs)
    assert run.code == 0, run.out
    assert "(Airflow version unknown, UI svc/airflow-ui:8080)" in run.out.splitlines()[0]
    assert dev.cluster.airflow is not None
    assert [p for _, p, _ in dev.cluster.airflow.seen] == ["/api/v2/monitor/health", "/health"]

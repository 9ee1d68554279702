"""--trigger-dag (best effort): sign in as the admin user with the password from the Secret the
`adminCredentialsSecret` output names, trigger a run, follow it to success. Against the fake
Airflow behind the fake API server's service proxy (which, like the real one, drops the
Authorization header), and reached directly with --airflow-url."""

from __future__ import annotations

from typing import Any

import pytest

from tests.verify import fake_kube as fk
from tests.verify.conftest import ADMIN_PASSWORD, Stack

DAG = "example_smoke"


def _airflow(stack: Stack) -> fk.FakeAirflow:
    assert stack.cluster.airflow is not None
    return stack.cluster.airflow


def _secrets_seen(airflow: fk.FakeAirflow) -> list[str]:
    """Every session cookie and token the fake Airflow handed out (none may be printed)."""
    return [*airflow._sessions, *airflow._tokens]


@pytest.mark.parametrize("which", ["dev", "prod"])
def test_triggers_a_run_and_waits_for_success(which: str, request: pytest.FixtureRequest, served, verify_cli) -> None:
    stack: Stack = request.getfixturevalue(which)
    airflow = _airflow(stack)
    run = verify_cli(
        stack, "--trigger-dag", DAG, "--timeout", "20", "--interval", "0.02", server=served(stack.cluster).url
    )
    assert run.code == 0, run.out + run.err
    assert run.lines["dag-run"].startswith(f"PASS dag-run          {DAG}: run verify__")
    assert run.lines["dag-run"].endswith(" succeeded")
    assert run.out.splitlines()[-1].startswith(f"verify {which}: OK, all 6 checks passed")
    (run_id,) = airflow.runs
    assert run_id.startswith("verify__")
    assert "WAIT dag-run" in run.err
    assert "triggered" in run.err
    for value in [ADMIN_PASSWORD, *_secrets_seen(airflow)]:
        assert value not in run.out + run.err
    # the password came from the Secret adminCredentialsSecret names, through the API
    admin = stack.outputs["adminCredentialsSecret"]
    assert any(
        p == f"/api/v1/namespaces/{admin['namespace']}/secrets/{admin['name']}" for _, p, _ in stack.cluster.requests
    )


def test_airflow_2_signs_in_with_the_login_form(dev: Stack, served, verify_cli) -> None:
    """Airflow 2.9's API takes the session backend by default: the FAB login form, then the
    session cookie; no Authorization header could cross the API server's proxy anyway."""
    airflow = _airflow(dev)
    run = verify_cli(dev, "--trigger-dag", DAG, "--timeout", "20", "--interval", "0.02", server=served(dev.cluster).url)
    assert run.code == 0, run.out
    calls = [(m, p) for m, p, _ in airflow.seen]
    assert calls[:4] == [("GET", "/health"), ("GET", "/login/"), ("POST", "/login/"), ("GET", f"/api/v1/dags/{DAG}")]
    assert ("POST", f"/api/v1/dags/{DAG}/dagRuns") in calls
    api_call = next(h for m, p, h in airflow.seen if p.startswith("/api/v1/"))
    assert "session=authed-" in api_call["cookie"]


def test_airflow_3_sends_the_token_as_cookie_through_the_proxy(prod: Stack, served, verify_cli) -> None:
    airflow = _airflow(prod)
    run = verify_cli(
        prod, "--trigger-dag", DAG, "--timeout", "20", "--interval", "0.02", server=served(prod.cluster).url
    )
    assert run.code == 0, run.out
    calls = [(m, p) for m, p, _ in airflow.seen]
    assert ("POST", "/auth/token") in calls
    assert ("POST", f"/api/v2/dags/{DAG}/dagRuns") in calls
    api_call = next(h for m, p, h in airflow.seen if p.startswith("/api/v2/dags"))
    assert "_token=eyJ" in api_call["cookie"]
    assert "authorization" not in api_call


def test_airflow_3_that_reads_only_the_header_says_to_use_airflow_url(prod: Stack, served, verify_cli) -> None:
    _airflow(prod).accept_jwt_cookie = False
    run = verify_cli(
        prod, "--trigger-dag", DAG, "--timeout", "20", "--interval", "0.02", server=served(prod.cluster).url
    )
    assert run.code == 1
    assert "HTTP 401" in run.lines["dag-run"]
    assert "run `kubectl port-forward` and pass --airflow-url" in run.lines["dag-run"]


def test_airflow_3_at_a_url_uses_the_bearer_header(prod: Stack, served, verify_cli) -> None:
    """--airflow-url: Airflow reached directly (a port-forward), the token as Authorization."""
    airflow = _airflow(prod)
    airflow.accept_jwt_cookie = False
    direct = served(airflow.handle)
    run = verify_cli(
        prod, "--trigger-dag", DAG, "--airflow-url", direct.url, "--timeout", "20", "--interval", "0.02",
        server=served(prod.cluster).url,
    )  # fmt: skip
    assert run.code == 0, run.out
    assert f"Airflow at {direct.url}" in run.out.splitlines()[0]
    assert not [p for _, p, _ in prod.cluster.requests if "/proxy" in p]  # nothing went through the proxy
    api_call = next(h for m, p, h in airflow.seen if p.startswith("/api/v2/dags"))
    assert api_call["authorization"].startswith("Bearer eyJ")


def test_a_paused_dag_is_not_unpaused_unless_asked(dev: Stack, served, verify_cli) -> None:
    airflow = _airflow(dev)
    airflow.dags[DAG] = True
    server = served(dev.cluster)
    run = verify_cli(dev, "--trigger-dag", DAG, "--timeout", "20", "--interval", "0.02", server=server.url)
    assert run.code == 1
    assert run.lines["dag-run"].startswith(
        f"FAIL dag-run          DAG '{DAG}' is paused: unpause it, or pass --unpause"
    )
    assert airflow.runs == {}
    run = verify_cli(dev, "--trigger-dag", DAG, "--unpause", "--timeout", "20", "--interval", "0.02", server=server.url)
    assert run.code == 0, run.out
    assert airflow.dags[DAG] is False


def test_a_failed_run_fails(prod: Stack, served, verify_cli) -> None:
    _airflow(prod).run_states = ["queued", "running", "failed"]
    run = verify_cli(
        prod, "--trigger-dag", DAG, "--timeout", "20", "--interval", "0.02", server=served(prod.cluster).url
    )
    assert run.code == 1
    assert run.lines["dag-run"].endswith("failed (see its task logs in the UI)")


@pytest.mark.parametrize("which", ["dev", "prod"])
def test_a_wrong_password_fails(which: str, request: pytest.FixtureRequest, served, verify_cli) -> None:
    stack: Stack = request.getfixturevalue(which)
    _airflow(stack).password = "not-the-vault-one"
    run = verify_cli(
        stack, "--trigger-dag", DAG, "--timeout", "20", "--interval", "0.02", server=served(stack.cluster).url
    )
    assert run.code == 1
    assert "the admin user 'admin' was refused" in run.lines["dag-run"]
    assert ADMIN_PASSWORD not in run.out + run.err


def test_an_unknown_dag_is_waited_for(dev: Stack, served, verify_cli) -> None:
    run = verify_cli(
        dev, "--trigger-dag", "nope", "--timeout", "0.2", "--interval", "0.05", server=served(dev.cluster).url
    )
    assert run.code == 1
    assert "DAG 'nope' not found (not parsed yet, or not in the DAGs folder)" in run.lines["dag-run"]


def test_the_dag_waits_for_the_other_checks(dev: Stack, served, verify_cli) -> None:
    _airflow(dev).health["scheduler"]["status"] = "unhealthy"
    run = verify_cli(dev, "--trigger-dag", DAG, "--timeout", "0", server=served(dev.cluster).url)
    assert run.code == 1
    assert "waits for the checks above to pass" in run.lines["dag-run"]
    assert _airflow(dev).runs == {}


def test_the_admin_secret_missing(dev: Stack, served, verify_cli) -> None:
    dev.cluster.secrets = {}
    run = verify_cli(dev, "--trigger-dag", DAG, "--timeout", "20", "--interval", "0.02", server=served(dev.cluster).url)
    assert run.code == 1
    assert 'the admin password\'s Secret: 404 NotFound: secrets "airflow-admin" not found' in run.lines["dag-run"]


def test_the_admin_secret_without_its_key(dev: Stack, served, verify_cli) -> None:
    dev.cluster.secrets["airflow-admin"] = fk.secret("airflow-admin", {"other": "x"})
    run = verify_cli(dev, "--trigger-dag", DAG, "--timeout", "20", "--interval", "0.02", server=served(dev.cluster).url)
    assert run.code == 1
    assert "Secret airflow/airflow-admin has no key 'password'" in run.lines["dag-run"]


def test_trigger_dag_needs_the_admin_output(dev: Stack, verify_cli) -> None:
    outputs: dict[str, Any] = {**dev.outputs, "kubeconfig": "x"}
    del outputs["adminCredentialsSecret"]
    run = verify_cli(dev, "--trigger-dag", DAG, outputs=outputs)
    assert run.code == 2
    assert "`adminCredentialsSecret` is not an object with namespace, name, passwordKey, username" in run.err


def test_the_admin_secret_forbidden_is_waited_out(dev: Stack, served, verify_cli) -> None:
    dev.cluster.secrets_forbidden = True
    run = verify_cli(
        dev, "--trigger-dag", DAG, "--timeout", "0.2", "--interval", "0.05", server=served(dev.cluster).url
    )
    assert run.code == 1
    assert 'the admin password\'s Secret: 403 Forbidden: secrets "airflow-admin" is forbidden' in run.lines["dag-run"]
    assert "(still so after" in run.lines["dag-run"]

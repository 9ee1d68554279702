"""The pieces of verify on their own: judging a health document, a pod, the outputs, the
redactor."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from profiles import PROFILES
from tests.verify import fake_kube as fk
from verify.airflow import csrf_token, evaluate_health
from verify.checks import Pods, logs_claims, pod_problem
from verify.kubeconfig import register_key
from verify.model import UsageError
from verify.outputs import HEALTH_PATHS, airflow_major, parse_outputs
from verify.report import Redactor

NOW = datetime(2025, 6, 2, 10, 0, 0, tzinfo=UTC)


# ------------------------------------------------------------------ health
def test_healthy_airflow_2_without_a_dag_processor() -> None:
    ok, text = evaluate_health(fk.health(dag_processor=None), {"scheduler", "triggerer", "webserver"}, NOW)
    assert ok
    assert text == "metadatabase healthy, scheduler healthy, triggerer healthy, dag_processor not deployed"


def test_airflow_3_may_give_a_null_dag_processor() -> None:
    doc = {**fk.health(), "dag_processor": None}
    assert evaluate_health(doc, {"scheduler"}, NOW)[0]
    ok, text = evaluate_health(doc, {"scheduler", "dag-processor"}, NOW)
    assert not ok
    assert "dag_processor not reporting (no heartbeat)" in text


@pytest.mark.parametrize("component", ["metadatabase", "scheduler"])
def test_the_database_and_scheduler_are_always_required(component: str) -> None:
    doc = fk.health()
    doc[component]["status"] = "unhealthy"
    ok, text = evaluate_health(doc, set(), NOW)
    assert not ok
    assert f"{component} unhealthy" in text


def test_an_unhealthy_component_the_release_runs() -> None:
    doc = fk.health(triggerer="unhealthy", heartbeat="2025-06-02T09:58:20+00:00")
    ok, text = evaluate_health(doc, {"scheduler", "triggerer"}, NOW)
    assert not ok
    assert "triggerer unhealthy (last heartbeat 100s ago)" in text


def test_a_stale_component_the_release_does_not_run_is_not_held_against_it() -> None:
    doc = fk.health(triggerer="unhealthy")
    ok, text = evaluate_health(doc, {"scheduler"}, NOW)
    assert ok
    assert "triggerer not deployed" in text


def test_a_scheduler_that_never_ran() -> None:
    doc = fk.health()
    doc["scheduler"] = {"status": "unhealthy", "latest_scheduler_heartbeat": None}
    ok, text = evaluate_health(doc, {"scheduler"}, NOW)
    assert not ok
    assert "scheduler unhealthy (no heartbeat)" in text


@pytest.mark.parametrize("doc", [None, [], {"status": "ok"}, {"metadatabase": {"status": "healthy"}}])
def test_not_a_health_document(doc: Any) -> None:
    ok, text = evaluate_health(doc, set(), NOW)
    assert not ok
    assert text.startswith("not an Airflow health document")


def test_newer_keys_are_judged_when_they_carry_a_status() -> None:
    doc = {**fk.health(), "schedulers": {"status": "unhealthy", "instances": []}, "extra": {"note": 1}}
    ok, text = evaluate_health(doc, {"scheduler"}, NOW)
    assert not ok
    assert "schedulers unhealthy" in text
    assert "extra" not in text


def test_health_paths_per_chart_line() -> None:
    """Each profile's UI Service maps to its Airflow major, and that to its health path."""
    assert {p.ui_service: airflow_major(p.ui_service) for p in PROFILES.values()} == {"webserver": 2, "api-server": 3}
    assert HEALTH_PATHS == {2: "/health", 3: "/api/v2/monitor/health"}
    assert airflow_major("flower") is None


# ------------------------------------------------------------------ pods
def test_a_ready_pod_has_no_problem() -> None:
    assert pod_problem(fk.pod("a", "scheduler")) is None


def test_a_running_container_that_is_not_ready() -> None:
    assert pod_problem(fk.pod("a", "scheduler", ready=False)) == "scheduler not ready"


def test_a_crashing_init_container() -> None:
    pod = fk.pod("a", "scheduler", ready=False)
    pod["status"]["initContainerStatuses"] = [
        {"name": "wait-for-airflow-migrations", "ready": False, "restartCount": 3, "image": "x", "imageID": "",
         "state": {"terminated": {"exitCode": 1, "reason": "Error"}}},
    ]  # fmt: skip
    assert pod_problem(pod) == "init container wait-for-airflow-migrations exited 1 (Error)"


def test_workloads_leave_out_job_pods_task_pods_and_pods_being_deleted() -> None:
    deleting = fk.pod("old", "scheduler")
    deleting["metadata"]["deletionTimestamp"] = "2025-06-02T10:00:00Z"
    pods = Pods([
        fk.pod("keep", "scheduler"),
        fk.pod("job", "run-airflow-migrations", owner=("Job", "j"), phase="Succeeded"),
        fk.pod("task", "worker", owner=None),
        deleting,
    ])  # fmt: skip
    assert [p["metadata"]["name"] for p in pods.workloads] == ["keep"]
    assert pods.components == {"scheduler"}


def test_the_logs_claim_is_the_one_mounted_as_logs() -> None:
    pods = [fk.pod("a", "scheduler", logs_claim="pvc-airflow-logs"), fk.pod("b", "statsd")]
    pods[1]["spec"]["volumes"].append({"name": "data", "persistentVolumeClaim": {"claimName": "redis-db"}})
    assert logs_claims(pods) == ["pvc-airflow-logs"]


# ------------------------------------------------------------------ outputs
def _outputs(**changes: Any) -> dict[str, Any]:
    base = {
        "namespace": "airflow",
        "airflowReleaseName": "airflow",
        "airflowUiPortForward": "kubectl port-forward svc/airflow-api-server 8080:8080 --namespace airflow",
        "kubeconfig": "apiVersion: v1",
        "adminCredentialsSecret": {
            "namespace": "airflow",
            "name": "airflow-admin",
            "passwordKey": "password",
            "username": "admin",
        },
    }
    base.update(changes)
    return base


def test_the_target_from_the_outputs() -> None:
    target = parse_outputs("prod", _outputs(), need_kubeconfig=True, need_admin=True)
    assert (target.namespace, target.release, target.ui_service, target.ui_port) == (
        "airflow",
        "airflow",
        "airflow-api-server",
        8080,
    )
    assert target.airflow_major == 3
    assert target.health_paths == ("/api/v2/monitor/health",)
    assert target.admin is not None
    assert target.admin.key == "password"


def test_an_unknown_ui_service_tries_both_health_paths() -> None:
    target = parse_outputs(
        "x",
        _outputs(airflowUiPortForward="kubectl port-forward svc/airflow-ui 9090 -n airflow"),
        need_kubeconfig=True,
        need_admin=False,
    )
    assert target.airflow_major is None
    assert target.ui_port == 9090
    assert target.health_paths == ("/api/v2/monitor/health", "/health")


def test_every_outputs_problem_at_once() -> None:
    with pytest.raises(UsageError) as caught:
        parse_outputs("x", {"kubeconfig": 3}, need_kubeconfig=True, need_admin=True)
    text = str(caught.value)
    assert "(5 problems)" in text
    for key in ("namespace", "airflowReleaseName", "airflowUiPortForward", "kubeconfig", "adminCredentialsSecret"):
        assert f"`{key}`" in text


# ------------------------------------------------------------------ small things
def test_the_redactor_hides_each_secret() -> None:
    redact = Redactor()
    redact.add("zz-token-1", None, "ab", "a-zz-token-1")
    assert redact("a zz-token-1 b") == "a [secret] b"
    assert redact("x a-zz-token-1 y") == "x [secret] y"  # the longest first: nothing of it left
    assert redact("ab stays") == "ab stays"  # too short to be a credential


def test_a_private_key_is_secret_line_by_line() -> None:
    seen: list[str] = []
    line = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQ"
    key = f"-----BEGIN PRIVATE KEY-----\n{line}\nshort\n-----END PRIVATE KEY-----\n"
    register_key(seen.append, key)
    assert seen == [key, line]


def test_the_csrf_token_of_fabs_login_form() -> None:
    html = '<form><input id="csrf_token" name="csrf_token" type="hidden" value="IjQ5.ZmFrZQ"><input name="x"></form>'
    assert csrf_token(html) == "IjQ5.ZmFrZQ"
    assert csrf_token("<p>no form</p>") is None


def test_a_heartbeat_that_is_not_a_time_is_shown_as_it_is() -> None:
    doc = fk.health(scheduler="unhealthy", heartbeat="yesterday")
    assert "scheduler unhealthy (last heartbeat yesterday)" in evaluate_health(doc, set(), NOW)[1]


def test_a_container_waiting_without_a_message() -> None:
    assert pod_problem(fk.pod("a", "worker", waiting=("ContainerCreating", ""))) == "worker: ContainerCreating"


def test_a_pod_with_no_container_status_yet_says_what_its_ready_condition_says() -> None:
    pod = fk.pod("a", "scheduler", ready=False)
    pod["status"].update(phase="Pending", containerStatuses=[])
    assert pod_problem(pod) == "Pending: containers with unready status: [scheduler]"
    del pod["status"]["conditions"]
    assert pod_problem(pod) == "Pending"


def test_an_error_answer_that_is_not_a_status_object() -> None:
    from verify.kube import status_error
    from verify.transport import Response

    err = status_error(Response(502, (("Content-Type", "text/html"),), b"<html><h1>502 Bad Gateway</h1></html>"))
    assert str(err) == "502: <html><h1>502 Bad Gateway</h1></html>"
    err = status_error(
        Response(503, (), b'{"kind": "Status", "reason": "ServiceUnavailable", "message": "no\\n endpoints"}')
    )
    assert (err.status, err.reason, err.message) == (503, "ServiceUnavailable", "no endpoints")


def test_plain_progress_prints_changes_not_ages() -> None:
    import io

    from verify.model import passed, waiting
    from verify.report import Printer

    err = io.StringIO()
    printer = Printer(io.StringIO(), err, Redactor(), 60)
    printer.progress(
        1, [passed("api", "ok"), waiting("health", "/health: scheduler unhealthy (last heartbeat 10s ago)")]
    )
    printer.progress(
        6, [passed("api", "ok"), waiting("health", "/health: scheduler unhealthy (last heartbeat 15s ago)")]
    )
    printer.progress(11, [passed("api", "ok"), waiting("pods", "5/6 pods ready"), waiting("health", "/health: x")])
    printer.progress(16, [passed("api", "ok"), waiting("pods", "6/7 pods ready"), waiting("health", "/health: x")])
    assert err.getvalue().splitlines() == [
        "[    1s] WAIT health           /health: scheduler unhealthy (last heartbeat 10s ago)",
        "[   11s] WAIT pods             5/6 pods ready",
        "[   11s] WAIT health           /health: x",
        "[   16s] WAIT pods             6/7 pods ready",
    ]

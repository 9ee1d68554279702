"""The fake API server answers in the real shapes: every object and list it serves validates
against the Kubernetes OpenAPI schema of the stack's `kubernetesVersion` (kubernetes-validate,
strict: no unknown field) and the ExternalSecrets against the pinned operator's CRD schema for
the served version, status included. The Airflow health documents follow Airflow's own code."""

from __future__ import annotations

from typing import Any

import jsonschema
import kubernetes_validate
import pytest

from synth import reference
from tests.helpers import settings_for
from tests.verify import fake_kube as fk
from tests.verify.conftest import Stack


def _k8s_version() -> str:
    return settings_for().kubernetes_version


def _served_lists(stack: Stack) -> list[dict[str, Any]]:
    c = stack.cluster
    ns = f"/api/v1/namespaces/{c.namespace}"
    paths = [
        f"{ns}/pods",
        f"/apis/batch/v1/namespaces/{c.namespace}/jobs",
        f"{ns}/persistentvolumeclaims",
        f"{ns}/events",
    ]
    return [c.answer("GET", p, {"authorization": f"Bearer {c.token}"}, b"") for p in paths]  # type: ignore[misc]


@pytest.mark.parametrize("which", ["dev", "prod"])
def test_every_kubernetes_object_served_is_schema_valid(which: str, request: pytest.FixtureRequest) -> None:
    import json

    stack: Stack = request.getfixturevalue(which)
    assert stack.cluster.airflow is not None
    stack.cluster.pods += [
        fk.pod("x-waiting", "worker", waiting=("ImagePullBackOff", 'Back-off pulling image "x"')),
        fk.unschedulable(fk.pod("x-pending", "worker"), "0/3 nodes are available"),
        fk.pod("x-task", "worker", owner=None, ready=False),
    ]
    stack.cluster.jobs += [fk.job("airflow-failed", state="Failed"), fk.job("airflow-running", state="Running")]
    stack.cluster.pvcs += [fk.pvc("pending", phase="Pending"), fk.pvc("lost", phase="Lost")]
    stack.cluster.events += [fk.event("PersistentVolumeClaim", "pending", "FailedBinding", "no volume")]
    version = _k8s_version()
    for reply in _served_lists(stack):
        assert reply.status == 200
        body = json.loads(reply.body)
        kubernetes_validate.validate(body, version, strict=True)
        for item in body["items"]:
            kubernetes_validate.validate(item, version, strict=True)
    for obj in stack.cluster.secrets.values():
        kubernetes_validate.validate(obj, version, strict=True)


def _es_schema(stack: Stack) -> dict[str, Any]:
    es_version = settings_for().secrets_operator_chart_version
    crd = reference.eso_crd(es_version, "ExternalSecret")
    served = {v["name"]: v for v in crd["spec"]["versions"] if v.get("served")}
    assert "v1" in served  # what verify lists: /apis/external-secrets.io/v1
    return dict(served["v1"]["schema"]["openAPIV3Schema"])


@pytest.mark.parametrize("ready", [True, False])
def test_external_secrets_match_the_operators_crd(dev: Stack, ready: bool) -> None:
    schema = _es_schema(dev)
    assert dev.cluster.external_secrets
    for es in dev.cluster.external_secrets:
        obj = fk.external_secret({k: es[k] for k in ("apiVersion", "kind", "metadata", "spec")}, ready=ready)
        errors = list(jsonschema.Draft7Validator(schema).iter_errors(obj))
        assert errors == []
        assert obj["status"]["conditions"][0]["type"] == "Ready"
    # the status fields verify reads are in the CRD's status schema
    status = schema["properties"]["status"]["properties"]
    assert set(status["conditions"]["items"]["properties"]) >= {"type", "status", "reason", "message"}


def test_the_external_secrets_are_the_stacks(dev_run: Any, prod_run: Any, dev: Stack, prod: Stack) -> None:
    """The fake cluster holds exactly the ExternalSecrets each stack creates (same names)."""
    for run, stack in ((dev_run, dev), (prod_run, prod)):
        created = {
            r.inputs["metadata"]["name"] for r in run.by_type("kubernetes:external-secrets.io/v1:ExternalSecret")
        }
        assert stack.cluster.external_secrets is not None
        assert {e["metadata"]["name"] for e in stack.cluster.external_secrets} == created


def test_status_errors_have_the_api_servers_shape() -> None:
    """metav1.Status (kubernetes-validate has no schema for it): the fields a client reads."""
    body = fk.status(401, "Unauthorized", "Unauthorized")
    assert body == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": "Unauthorized",
        "reason": "Unauthorized",
        "code": 401,
    }


def test_health_documents_follow_airflows_code() -> None:
    """airflow/api/common/airflow_health.py: four components, each `status` plus its
    `latest_<component>_heartbeat`; triggerer and dag_processor null when they never ran."""
    doc = fk.health(dag_processor=None, triggerer=None)
    assert set(doc) == {"metadatabase", "scheduler", "triggerer", "dag_processor"}
    assert doc["metadatabase"] == {"status": "healthy"}
    assert set(doc["scheduler"]) == {"status", "latest_scheduler_heartbeat"}
    assert doc["triggerer"] == {"status": None, "latest_triggerer_heartbeat": None}
    assert doc["dag_processor"] == {"status": None, "latest_dag_processor_heartbeat": None}

"""NetworkPolicies with the stack's own network (networkMode create/existing: a Cilium policy
engine): what the REAL chart renders plus the namespace's default deny, read with Kubernetes'
NetworkPolicy semantics. Who may reach the database, PgBouncer and Airflow 3's API server."""

from __future__ import annotations

from typing import Any

import pytest

from components.airflow_values import airflow_values
from plan import build_plan
from synth import helm
from synth.runner import RunResult
from tests.helpers import render_release, selects, settings_for

Objects = list[dict[str, Any]]
POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"


def pod_labels(objs: Objects) -> dict[str, dict[str, str]]:
    """Every pod the release runs (workloads, jobs, the KubernetesExecutor pod template) -> its labels."""
    out: dict[str, dict[str, str]] = {}
    for o in objs:
        if o.get("kind") in ("Deployment", "StatefulSet", "Job"):
            out[f"{o['kind']}/{o['metadata']['name']}"] = o["spec"]["template"]["metadata"].get("labels") or {}
    for pod in helm.embedded_pods([("", o) for o in objs]):
        out[f"ConfigMap/{pod.configmap}/{pod.key}"] = pod.pod["metadata"].get("labels") or {}
    return out


def ingress_sources(objs: Objects, target: str) -> set[str] | None:
    """The release's pods allowed in to pod `target` (any port), by every NetworkPolicy in
    `objs` that selects it; None when none selects it (Kubernetes: not isolated, all allowed).
    A rule without `from`, or with a namespace or IP peer, lets in more than pods: "*"."""
    pods = pod_labels(objs)
    policies = [
        o
        for o in objs
        if o.get("kind") == "NetworkPolicy"
        and "Ingress" in (o["spec"].get("policyTypes") or ["Ingress"])
        and selects(o["spec"].get("podSelector"), pods[target])
    ]
    if not policies:
        return None
    allowed: set[str] = set()
    for policy in policies:
        for rule in policy["spec"].get("ingress") or []:
            peers = rule.get("from")
            if not peers:
                allowed.add("*")
            for peer in peers or []:
                if set(peer) != {"podSelector"}:
                    allowed.add("*")
                else:
                    allowed |= {where for where, labels in pods.items() if selects(peer["podSelector"], labels)}
    return allowed


def _default_deny(run: RunResult) -> dict[str, Any]:
    """The namespace's default-deny policy as the stack registers it."""
    (record,) = run.by_type(POLICY)
    return {"kind": "NetworkPolicy", **record.inputs}


def _prod(prod_run: RunResult) -> Objects:
    release = next(r for r in prod_run.by_type("kubernetes:helm.sh/v3:Release") if r.inputs["chart"] == "airflow")
    return [*render_release(release, "1.33"), _default_deny(prod_run)]


def _component(objs: Objects, suffix: str) -> str:
    (where,) = [w for w in pod_labels(objs) if w.split("/")[1] == f"airflow-{suffix}"]
    return where


def test_every_pod_of_the_release_is_isolated(prod_run: RunResult) -> None:
    objs = _prod(prod_run)
    sources = {where: ingress_sources(objs, where) for where in pod_labels(objs)}
    assert [where for where, allowed in sources.items() if allowed is None] == []
    assert [where for where, allowed in sources.items() if allowed and "*" in allowed] == []


def test_only_pgbouncer_reaches_the_bundled_database(prod_run: RunResult) -> None:
    objs = _prod(prod_run)
    assert ingress_sources(objs, _component(objs, "postgresql")) == {_component(objs, "pgbouncer")}


def test_every_airflow_pod_reaches_pgbouncer_and_airflow_3s_api_server(prod_run: RunResult) -> None:
    objs = _prod(prod_run)
    pods = pod_labels(objs)
    template = next(w for w in pods if w.startswith("ConfigMap/"))
    clients = {
        template,
        *(_component(objs, c) for c in ("scheduler", "triggerer", "dag-processor", "worker", "api-server")),
        *(w for w in pods if w.startswith("Job/")),
    }
    assert clients <= (ingress_sources(objs, _component(objs, "pgbouncer")) or set())
    # the Task Execution API: every task and component of Airflow 3 calls the API server
    callers = clients - {_component(objs, "api-server")} - {w for w in pods if w.startswith("Job/")}
    assert callers <= (ingress_sources(objs, _component(objs, "api-server")) or set())
    # nothing outside the release gets in, and what serves nothing gets nothing
    assert ingress_sources(objs, _component(objs, "dag-processor")) == set()


def test_the_charts_own_api_server_policy_cuts_airflow_3_off(prod_run: RunResult) -> None:
    """What the values fix: chart 1.19.0's API server policy lets nothing in unless told."""
    release = next(r for r in prod_run.by_type("kubernetes:helm.sh/v3:Release") if r.inputs["chart"] == "airflow")
    values = dict(release.inputs["values"])
    values["apiServer"] = {k: v for k, v in values["apiServer"].items() if k != "networkPolicy"}
    objs = helm.render_objects(
        "airflow", release.inputs["version"], values, release="airflow", namespace="airflow", kube_version="1.33"
    )
    assert ingress_sources(objs, _component(objs, "api-server")) == set()


@pytest.mark.parametrize("pgbouncer", ["true", "false"])
def test_airflow_2_line_with_and_without_pgbouncer(prod_run: RunResult, pgbouncer: str) -> None:
    settings = settings_for(networkMode="create", executor="CeleryKubernetesExecutor", pgbouncerEnabled=pgbouncer)
    plan = build_plan(settings)
    objs = [
        *helm.render_objects(
            "airflow",
            settings.airflow_chart_version,
            airflow_values(settings, plan),
            release=plan.airflow_release,
            namespace=plan.namespace,
            kube_version=settings.kubernetes_version,
        ),
        _default_deny(prod_run),
    ]
    database = ingress_sources(objs, _component(objs, "postgresql"))
    if pgbouncer == "true":
        assert database == {_component(objs, "pgbouncer")}
    else:
        # every Airflow pod, and nothing else (not Redis, not statsd)
        airflow_pods = {w for w, labels in pod_labels(objs).items() if labels.get("tier") == "airflow"}
        assert database == airflow_pods
        assert _component(objs, "scheduler") in airflow_pods
        assert _component(objs, "redis") in airflow_pods  # the chart labels Redis tier=airflow too


def test_aks_managed_renders_no_network_policy() -> None:
    settings = settings_for()
    values = airflow_values(settings, build_plan(settings))
    assert "networkPolicies" not in values
    assert "networkPolicy" not in values["postgresql"]


def test_airflow_3s_api_server_reads_task_logs_from_the_shared_volume(prod_run: RunResult) -> None:
    """The chart's worker and triggerer policies admit log requests from `component: webserver`
    only, which Airflow 3 does not run; the API server mounts the logs claim instead."""
    objs = _prod(prod_run)
    (worker_policy,) = [
        o for o in objs if o.get("kind") == "NetworkPolicy" and o["metadata"]["name"].endswith("-worker-policy")
    ]
    peers = [p["podSelector"]["matchLabels"] for rule in worker_policy["spec"]["ingress"] for p in rule["from"]]
    assert peers == [{"tier": "airflow", "release": "airflow", "component": "webserver"}]
    (api,) = [o for o in objs if o.get("kind") == "Deployment" and o["metadata"]["name"] == "airflow-api-server"]
    pod = api["spec"]["template"]["spec"]
    claims = {
        v["name"]: v["persistentVolumeClaim"]["claimName"] for v in pod["volumes"] if "persistentVolumeClaim" in v
    }
    mounts = {m["name"]: m["mountPath"] for c in pod["containers"] for m in c.get("volumeMounts") or []}
    assert {mounts[name] for name in claims} == {"/opt/airflow/logs"}
    release = next(r for r in prod_run.by_type("kubernetes:helm.sh/v3:Release") if r.inputs["chart"] == "airflow")
    assert set(claims.values()) == {release.inputs["values"]["logs"]["persistence"]["existingClaim"]}

"""NetworkPolicies with the stack's own network (networkMode create/existing: a Cilium policy
engine): what the REAL chart renders plus the namespace's default deny, read with Kubernetes'
NetworkPolicy semantics. Who may reach the database, PgBouncer and Airflow 3's API server.

Prod runs the managed database (outside the cluster) and remote task logs (no shared volume).
The checks for the chart's bundled PostgreSQL, its PgBouncer and the shared logs volume run on
a variant of prod with those (databaseMode=bundled, logsMode=pv: everything else prod's),
through the same program; prod gets the checks that apply to it instead."""

from __future__ import annotations

import configparser
import dataclasses
from typing import Any

import pytest

from components.airflow_values import WORKLOAD_IDENTITY_CLIENT_ID, WORKLOAD_IDENTITY_LABEL, airflow_values
from components.namespace import DEFAULT_DENY
from config import parse_settings
from plan import REMOTE_LOG_CONN_ENV, UI_LOG_ACCESS_POLICY, build_plan
from synth import helm
from synth.project import load_stack_config
from synth.runner import RunResult, run_stack
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
                named = (peer.get("namespaceSelector") or {}).get("matchLabels") or {}
                if set(peer) == {"namespaceSelector"} and set(named) == {"kubernetes.io/metadata.name"}:
                    # one whole namespace, by the name label Kubernetes sets (not a wildcard)
                    allowed.add(f"namespace/{named['kubernetes.io/metadata.name']}")
                elif set(peer) != {"podSelector"}:
                    allowed.add("*")
                else:
                    allowed |= {where for where, labels in pods.items() if selects(peer["podSelector"], labels)}
    return allowed


def egress_isolated(objs: Objects, target: str) -> list[str]:
    """The NetworkPolicies in `objs` that isolate pod `target`'s egress (Kubernetes: any policy
    selecting it with Egress in its policyTypes); empty: it may connect anywhere."""
    labels = pod_labels(objs)[target]
    return [
        o["metadata"]["name"]
        for o in objs
        if o.get("kind") == "NetworkPolicy"
        and "Egress" in (o["spec"].get("policyTypes") or [])
        and selects(o["spec"].get("podSelector"), labels)
    ]


def _stack_policies(run: RunResult) -> Objects:
    """Every NetworkPolicy the stack registers itself (beside the chart's), as objects."""
    return [{"kind": "NetworkPolicy", **record.inputs} for record in run.by_type(POLICY)]


def _default_deny(run: RunResult) -> dict[str, Any]:
    """The namespace's default-deny policy as the stack registers it."""
    (policy,) = [p for p in _stack_policies(run) if p["metadata"]["name"] == DEFAULT_DENY]
    return policy


def _release(run: RunResult) -> Any:
    return next(r for r in run.by_type("kubernetes:helm.sh/v3:Release") if r.inputs["chart"] == "airflow")


def _prod(prod_run: RunResult) -> Objects:
    return [*render_release(_release(prod_run), "1.33"), *_stack_policies(prod_run)]


# prod as it was before the managed database and remote logs: the chart's PostgreSQL behind
# its PgBouncer, task logs on the shared Blob CSI volume
BUNDLED = {"airflow-aks:databaseMode": "bundled", "airflow-aks:logsMode": "pv"}


@pytest.fixture(scope="module")
def prod_bundled_run() -> RunResult:
    """The prod stack file with BUNDLED over it, run through __main__.py under the mocks."""
    config = load_stack_config("prod")
    assert {k: config.values.get(k) for k in BUNDLED} == {
        "airflow-aks:databaseMode": "managed",
        "airflow-aks:logsMode": "remote",
    }
    variant = dataclasses.replace(config, values={**config.values, **BUNDLED})
    settings = parse_settings("prod", variant.values)
    assert (settings.postgresql_enabled, settings.pgbouncer_enabled, settings.logs_mode) == (True, True, "pv")
    assert (settings.network_mode, settings.airflow_chart_version) == ("create", "1.19.0")
    return run_stack(variant)


@pytest.fixture(params=["prod", "prod-bundled"])
def any_prod(request: pytest.FixtureRequest) -> RunResult:
    name = "prod_run" if request.param == "prod" else "prod_bundled_run"
    run: RunResult = request.getfixturevalue(name)
    return run


def _component(objs: Objects, suffix: str) -> str:
    (where,) = [w for w in pod_labels(objs) if w.split("/")[1] == f"airflow-{suffix}"]
    return where


def test_every_pod_of_the_release_is_isolated(any_prod: RunResult) -> None:
    objs = _prod(any_prod)
    sources = {where: ingress_sources(objs, where) for where in pod_labels(objs)}
    assert [where for where, allowed in sources.items() if allowed is None] == []
    assert [where for where, allowed in sources.items() if allowed and "*" in allowed] == []


def test_only_pgbouncer_reaches_the_bundled_database(prod_bundled_run: RunResult) -> None:
    objs = _prod(prod_bundled_run)
    assert ingress_sources(objs, _component(objs, "postgresql")) == {_component(objs, "pgbouncer")}


def test_prod_runs_no_database_in_the_namespace_and_lets_airflow_reach_the_managed_one(prod_run: RunResult) -> None:
    """prod's metadata database is the flexible server in its own delegated subnet (built-in
    PgBouncer on 6432), reached over the VNet: no PostgreSQL or PgBouncer pod to guard here, and
    no NetworkPolicy (the chart's or the stack's ingress-only default deny) isolates any pod's
    egress, so nothing cuts Airflow off from the server or from the private endpoints of Key
    Vault (ESO) and Blob storage (remote logs)."""
    objs = _prod(prod_run)
    pods = pod_labels(objs)
    assert [w for w in pods if w.split("/")[1] in ("airflow-postgresql", "airflow-pgbouncer")] == []
    assert _release(prod_run).inputs["values"]["data"]["metadataSecretName"] == "airflow-metadata-connection"
    assert [where for where in pods if egress_isolated(objs, where)] == []
    assert _default_deny(prod_run)["spec"]["policyTypes"] == ["Ingress"]


def test_only_the_ui_admits_the_ingress_controllers_namespace(prod_run: RunResult) -> None:
    """uiIngress: the application routing add-on's NGINX pods (namespace app-routing-system)
    reach the UI, and no other pod; no other namespace reaches any pod."""
    objs = _prod(prod_run)
    admitted = {
        where: {a for a in (ingress_sources(objs, where) or set()) if a.startswith("namespace/")}
        for where in pod_labels(objs)
    }
    assert {where: a for where, a in admitted.items() if a} == {
        _component(objs, "api-server"): {"namespace/app-routing-system"}
    }


def test_airflow_3s_task_execution_api_reaches_every_airflow_pod_in_prod(prod_run: RunResult) -> None:
    """Without PgBouncer in the namespace, what stays: every task and component of Airflow 3
    calls the API server; nothing outside the release gets in, and the DAG processor, which
    serves nothing, lets nothing in."""
    objs = _prod(prod_run)
    pods = pod_labels(objs)
    template = next(w for w in pods if w.startswith("ConfigMap/"))
    callers = {template, *(_component(objs, c) for c in ("scheduler", "triggerer", "dag-processor", "worker"))}
    allowed = ingress_sources(objs, _component(objs, "api-server")) or set()
    assert callers <= allowed
    assert "*" not in allowed
    assert ingress_sources(objs, _component(objs, "dag-processor")) == set()


def test_every_airflow_pod_reaches_pgbouncer_and_airflow_3s_api_server(prod_bundled_run: RunResult) -> None:
    objs = _prod(prod_bundled_run)
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


def test_airflow_3s_api_server_reads_task_logs_from_the_shared_volume(prod_bundled_run: RunResult) -> None:
    """The chart's worker and triggerer policies admit log requests from `component: webserver`
    only, which Airflow 3 does not run; the API server mounts the logs claim instead."""
    objs = _prod(prod_bundled_run)
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
    release = _release(prod_bundled_run)
    assert set(claims.values()) == {release.inputs["values"]["logs"]["persistence"]["existingClaim"]}


# Azure's built-in role definition ids (learn.microsoft.com, "Azure built-in roles")
STORAGE_BLOB_DATA_READER_ID = "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1"


def test_airflow_3s_api_server_reads_finished_task_logs_from_blob(prod_run: RunResult) -> None:
    """With remote logs there is no shared volume: the API server reads a finished task's log
    from the logs container in Blob storage, as Airflow's wasb handler, through the
    `wasb_default` connection, with the reader identity's token: it mounts no claim, runs as the
    ServiceAccount federated with that identity (annotated with its client id, labelled for the
    webhook), the identity holds Storage Blob Data Reader on the container, and no policy
    isolates the pod's egress (Blob's private endpoint)."""
    objs = _prod(prod_run)
    (api,) = [o for o in objs if o.get("kind") == "Deployment" and o["metadata"]["name"] == "airflow-api-server"]
    pod = api["spec"]["template"]["spec"]
    assert [v["name"] for v in pod.get("volumes") or [] if "persistentVolumeClaim" in v] == []
    assert api["spec"]["template"]["metadata"]["labels"][WORKLOAD_IDENTITY_LABEL] == "true"
    (server,) = [c for c in pod["containers"] if c["name"] == "api-server"]
    (conn,) = [e for e in server["env"] if e["name"] == REMOTE_LOG_CONN_ENV]
    assert conn["valueFrom"]["secretKeyRef"] == {"name": "airflow-remote-logs-connection", "key": "connection"}

    (config,) = [o for o in objs if o.get("kind") == "ConfigMap" and o["metadata"]["name"] == "airflow-config"]
    cfg = configparser.ConfigParser(interpolation=None)
    cfg.read_string(config["data"]["airflow.cfg"])
    assert cfg.get("logging", "remote_logging") == "True"
    assert cfg.get("logging", "remote_base_log_folder").startswith("wasb")
    assert f"AIRFLOW_CONN_{cfg.get('logging', 'remote_log_conn_id').upper()}" == REMOTE_LOG_CONN_ENV
    container = cfg.get("azure_remote_logging", "remote_wasb_log_container")

    account = pod["serviceAccountName"]
    (sa,) = [o for o in objs if o.get("kind") == "ServiceAccount" and o["metadata"]["name"] == account]
    client_id = sa["metadata"]["annotations"][WORKLOAD_IDENTITY_CLIENT_ID]
    (credential,) = [
        r
        for r in prod_run.by_type("azure-native:managedidentity:FederatedIdentityCredential")
        if r.inputs["subject"] == f"system:serviceaccount:{api['metadata']['namespace']}:{account}"
    ]
    (identity,) = [
        r
        for r in prod_run.by_type("azure-native:managedidentity:UserAssignedIdentity")
        if r.inputs["resourceName"] == credential.inputs["resourceName"]
    ]
    assert identity.state["clientId"] == client_id
    (grant,) = [
        r
        for r in prod_run.by_type("azure-native:authorization:RoleAssignment")
        if r.inputs["principalId"] == identity.state["principalId"]
    ]
    assert grant.inputs["scope"].endswith(f"/blobServices/default/containers/{container}")
    assert grant.inputs["roleDefinitionId"].endswith(f"/roleDefinitions/{STORAGE_BLOB_DATA_READER_ID}")
    assert egress_isolated(objs, "Deployment/airflow-api-server") == []


def _log_server_ports(objs: Objects, policy_suffix: str) -> list[Any]:
    (policy,) = [o for o in objs if o.get("kind") == "NetworkPolicy" and o["metadata"]["name"].endswith(policy_suffix)]
    return [p["port"] for rule in policy["spec"]["ingress"] for p in rule.get("ports") or []]


def test_airflow_3s_api_server_reaches_the_log_servers_of_running_tasks(prod_run: RunResult) -> None:
    """A running (or deferred) task's log is on its worker's (or triggerer's) log server until
    the task ends; the chart 1.19 policies admit only `component: webserver`, which Airflow 3
    does not run. The stack's own policy lets the API server in, to those ports only."""
    objs = _prod(prod_run)
    api = _component(objs, "api-server")
    for target in ("worker", "triggerer"):
        assert api in (ingress_sources(objs, _component(objs, target)) or set()), target
    # the ports of the stack's policy are the chart's log-server ports, as its own policies render them
    (ours,) = [p for p in _stack_policies(prod_run) if p["metadata"]["name"] == UI_LOG_ACCESS_POLICY]
    ports = sorted(p["port"] for rule in ours["spec"]["ingress"] for p in rule["ports"])
    assert ports == sorted([*_log_server_ports(objs, "-worker-policy"), *_log_server_ports(objs, "-triggerer-policy")])
    # and nothing else gets in through it: only the API server's pods
    (rule,) = ours["spec"]["ingress"]
    admitted = {w for w, labels in pod_labels(objs).items() if selects(rule["from"][0]["podSelector"], labels)}
    assert admitted == {api}


@pytest.mark.parametrize("chart", ["1.15.0", "1.19.0"])
def test_the_profile_knows_whether_the_charts_log_policies_admit_its_ui(chart: str) -> None:
    """profiles.log_servers_admit_ui, against the chart's real render: the peer its worker
    policy admits is the UI component of that chart line, or not."""
    settings = settings_for(
        airflowChartVersion=chart, executor="CeleryExecutor", clusterMode="create", networkMode="create"
    )
    plan = build_plan(settings)
    values = airflow_values(settings, plan, {i.name: "client" for i in plan.log_identities})
    objs = helm.render_objects(
        "airflow", chart, values, release=plan.airflow_release, namespace=plan.namespace, kube_version="1.33"
    )
    (worker_policy,) = [
        o for o in objs if o.get("kind") == "NetworkPolicy" and o["metadata"]["name"].endswith("-worker-policy")
    ]
    peers = {
        p["podSelector"]["matchLabels"].get("component") for r in worker_policy["spec"]["ingress"] for p in r["from"]
    }
    assert (plan.profile.ui_service in peers) == plan.profile.log_servers_admit_ui
    assert (UI_LOG_ACCESS_POLICY in plan.network_policies) == (not plan.profile.log_servers_admit_ui)

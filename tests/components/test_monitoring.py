"""Monitoring components under the mock runtime: the workspaces, managed Prometheus and Container
Insights rules and their associations, the statsd scrape ConfigMap, the alert rule groups,
Grafana and its role assignments. Expected values come from the installed SDK's enums, the REAL
chart (its statsd Service and mapping), the shared reference's role table and facts/."""

from __future__ import annotations

import gc
import re
from typing import Any

import pytest
import yaml
from pulumi_azure_native import authorization, dashboard, monitor, operationalinsights

from components import monitoring as mon
from synth.mocks import SUBSCRIPTION_ID, AzureMocks, _arm_id, _uuid
from synth.reference import load_json
from synth.runner import ResourceRecord, RunResult, run
from synth.validate import kubernetes_schema_errors
from tests.helpers import deps_of, provider, resolve
from tests.test_dashboard import CHART_LINES, chart_statsd_metrics, metric_names, promql_problems, unknown_metrics
from tests.test_external_facts import fact

WORKSPACE = "azure-native:operationalinsights:Workspace"
AMW = "azure-native:monitor:AzureMonitorWorkspace"
DCE = "azure-native:monitor:DataCollectionEndpoint"
DCR = "azure-native:monitor:DataCollectionRule"
DCRA = "azure-native:monitor:DataCollectionRuleAssociation"
RULE_GROUP = "azure-native:alertsmanagement:PrometheusRuleGroup"
METRIC_ALERT = "azure-native:monitor:MetricAlert"
GRAFANA = "azure-native:dashboard:Grafana"
ROLE = "azure-native:authorization:RoleAssignment"
CONFIGMAP = "kubernetes:core/v1:ConfigMap"

RG = "obs-rg"
CLUSTER = "analytics-aks"
CLUSTER_ID = _arm_id("cluster-rg", "Microsoft.ContainerService/managedClusters", CLUSTER)
LAW_ID = _arm_id(RG, "Microsoft.OperationalInsights/workspaces", "af-logs")
AMW_ID = _arm_id(RG, "Microsoft.Monitor/accounts", "af-amw")
DB_ID = _arm_id("data-rg", "Microsoft.DBforPostgreSQL/flexibleServers", "af-pg-abc123")
ADMINS = ["5b6c3a1e-9d5f-4c2b-8f0e-2a7d9c1b3e4f", "0a1b2c3d-4e5f-4061-8273-94a5b6c7d8e9"]
NAMESPACE = "data-platform"
RELEASE = "etl"  # the chart's statsd Service is "<release>-statsd"
KUBERNETES_VERSION = "1.33"
REFERENCE_ROLES: dict[str, str] = load_json("azure/built-in-roles.json")["roles"]


# ------------------------------------------------------------------ mock answers for the new types
def _run(build: Any) -> tuple[RunResult, Any]:
    built: dict[str, Any] = {}

    def program() -> None:
        built["value"] = build()

    result = run(program, "airflow-aks", "test", {"azure-native:location": "eastus"}, mocks=AzureMocks())
    return result, built["value"]


def _workspaces_args(**overrides: Any) -> mon.MonitoringWorkspacesArgs:
    values: dict[str, Any] = {
        "resource_group_name": RG,
        "location": "westeurope",
        "log_analytics_name": "af-logs",
        "azure_monitor_name": "af-amw",
        "retention_in_days": 90,
    }
    values.update(overrides)
    return mon.MonitoringWorkspacesArgs(**values)


def _cluster_args(**overrides: Any) -> mon.ClusterMonitoringArgs:
    values: dict[str, Any] = {
        "resource_group_name": RG,
        "location": "westeurope",
        "subscription_id": SUBSCRIPTION_ID,
        "name_prefix": "af-prod",
        "cluster_id": CLUSTER_ID,
        "cluster_name": CLUSTER,
        "log_analytics_workspace_id": LAW_ID,
        "azure_monitor_workspace_id": AMW_ID,
        "k8s_provider": provider(),
        "namespace": NAMESPACE,
        "statsd_service": f"{RELEASE}-statsd",
        "statsd_port_name": "statsd-scrape",
        "statsd_port": 9102,
        "grafana": True,
        "grafana_name": "af-prod-grafana",
        "grafana_public_network_access": False,
        "grafana_admins": {f"admin{i}": (admin, "Group") for i, admin in enumerate(ADMINS)},
        "database_server_id": DB_ID,
    }
    values.update(overrides)
    return mon.ClusterMonitoringArgs(**values)


def _cluster(**overrides: Any) -> tuple[RunResult, mon.ClusterMonitoring]:
    return _run(lambda: mon.ClusterMonitoring("monitoring", _cluster_args(**overrides)))


def _named(result: RunResult, typ: str, name: str) -> ResourceRecord:
    (rec,) = [r for r in result.by_type(typ) if r.name == name]
    return rec


# ------------------------------------------------------------------ the workspaces
def test_the_workspaces_are_registered_as_asked() -> None:
    result, ws = _run(lambda: mon.MonitoringWorkspaces("workspaces", _workspaces_args()))
    law = result.one(WORKSPACE).inputs
    assert (law["workspaceName"], law["resourceGroupName"], law["location"]) == ("af-logs", RG, "westeurope")
    assert law["sku"] == {"name": operationalinsights.WorkspaceSkuNameEnum.PER_GB2018.value}
    assert law["retentionInDays"] == 90
    amw = result.one(AMW).inputs
    assert (amw["azureMonitorWorkspaceName"], amw["location"]) == ("af-amw", "westeurope")
    assert resolve(ws.log_analytics_workspace_id) == _arm_id(RG, "Microsoft.OperationalInsights/workspaces", "af-logs")
    assert resolve(ws.azure_monitor_workspace_id) == _arm_id(RG, "Microsoft.Monitor/accounts", "af-amw")
    assert resolve(ws.log_analytics_customer_id) == _uuid("law-customer", RG, "af-logs")
    assert resolve(ws.prometheus_query_endpoint).endswith(".westeurope.prometheus.monitor.azure.com")
    # no cluster input: created before the cluster
    assert {r.type for r in result.records} == {"airflow-aks:monitoring:MonitoringWorkspaces", WORKSPACE, AMW}


@pytest.mark.parametrize("days", [7, 29, 731])
def test_a_retention_log_analytics_refuses_is_refused(days: int) -> None:
    try:
        with pytest.raises(ValueError, match="30 to 730 days"):
            _run(lambda: mon.MonitoringWorkspaces("workspaces", _workspaces_args(retention_in_days=days)))
    finally:
        gc.collect()


def test_the_retention_bounds_are_the_documented_ones() -> None:
    assert fact("azure-monitor-log-analytics-retention", "retention_range_days") == [
        str(mon.RETENTION_MIN_DAYS),
        str(mon.RETENTION_MAX_DAYS),
    ]


# ------------------------------------------------------------------ managed Prometheus
def test_the_prometheus_rule_forwards_prometheus_metrics_to_the_azure_monitor_workspace() -> None:
    result, _ = _cluster()
    dce = _named(result, DCE, "monitoring-prom-dce").inputs
    assert dce["kind"] == monitor.KnownDataCollectionEndpointResourceKind.LINUX.value
    assert dce["dataCollectionEndpointName"] == "af-prod-prom-dce"
    dcr = _named(result, DCR, "monitoring-prom-dcr")
    stream = monitor.KnownPrometheusForwarderDataSourceStreams.MICROSOFT_PROMETHEUS_METRICS.value
    assert dcr.inputs["kind"] == monitor.KnownDataCollectionRuleResourceKind.LINUX.value
    assert dcr.inputs["dataCollectionEndpointId"] == _arm_id(
        RG, "Microsoft.Insights/dataCollectionEndpoints", "af-prod-prom-dce"
    )
    (source,) = dcr.inputs["dataSources"]["prometheusForwarder"]
    assert source["streams"] == [stream]
    (account,) = dcr.inputs["destinations"]["monitoringAccounts"]
    assert account["accountResourceId"] == AMW_ID
    assert dcr.inputs["dataFlows"] == [{"streams": [stream], "destinations": [account["name"]]}]
    assert f"{DCE}::monitoring-prom-dce" in deps_of(result, dcr)
    assert fact("azure-monitor-data-collection", "prometheus_stream") == stream


def test_container_insights_sends_the_group_stream_to_the_log_analytics_workspace() -> None:
    result, _ = _cluster()
    dcr = _named(result, DCR, "monitoring-ci-dcr").inputs
    (ext,) = dcr["dataSources"]["extensions"]
    assert ext["extensionName"] == "ContainerInsights"
    assert ext["streams"] == [fact("azure-monitor-data-collection", "container_insights_group_stream")]
    (law,) = dcr["destinations"]["logAnalytics"]
    assert law["workspaceResourceId"] == LAW_ID
    assert dcr["dataFlows"] == [{"streams": ext["streams"], "destinations": [law["name"]]}]
    # the agent's settings: only the keys and values Microsoft's onboarding template sends
    settings = ext["extensionSettings"]["dataCollectionSettings"]
    assert set(settings) <= set(fact("aks-monitoring-addon", "data_collection_settings_keys"))
    assert settings["namespaceFilteringMode"] in fact("aks-monitoring-addon", "namespace_filtering_modes")
    low, high = (_minutes(v) for v in fact("aks-monitoring-addon", "data_collection_interval_range"))
    assert low <= _minutes(settings["interval"]) <= high
    assert settings["enableContainerLogV2"] is True


def _minutes(duration: str) -> int:
    """`5m` -> 5: the template's interval unit (minutes, "1m to 30m")."""
    match = re.fullmatch(r"(\d+)m", duration)
    assert match, f"not a whole number of minutes: {duration!r}"
    return int(match.group(1))


def test_each_association_targets_the_cluster_and_follows_what_it_associates() -> None:
    result, mc = _cluster()
    by_name = {r.inputs["associationName"]: r for r in result.by_type(DCRA)}
    endpoint_name = fact("azure-monitor-data-collection", "configuration_access_endpoint_association")
    assert set(by_name) == {endpoint_name, "ContainerInsightsMetricsExtension", "ContainerInsightsExtension"}
    for rec in by_name.values():
        assert rec.inputs["resourceUri"] == CLUSTER_ID
    endpoint = by_name[endpoint_name]
    assert endpoint.inputs["dataCollectionEndpointId"] == _arm_id(
        RG, "Microsoft.Insights/dataCollectionEndpoints", "af-prod-prom-dce"
    )
    assert "dataCollectionRuleId" not in endpoint.inputs
    assert f"{DCE}::monitoring-prom-dce" in deps_of(result, endpoint)
    prom = by_name["ContainerInsightsMetricsExtension"]
    assert prom.inputs["dataCollectionRuleId"].endswith("/dataCollectionRules/af-prod-prom-dcr")
    assert f"{DCR}::monitoring-prom-dcr" in deps_of(result, prom)
    ci = by_name["ContainerInsightsExtension"]
    assert ci.inputs["dataCollectionRuleId"].endswith("/dataCollectionRules/af-prod-ci-dcr")
    assert f"{DCR}::monitoring-ci-dcr" in deps_of(result, ci)
    assert set(mc.associations) == set(by_name)


# ------------------------------------------------------------------ the statsd scrape
def test_the_scrape_configmap_is_the_one_the_agent_reads_and_valid_kubernetes() -> None:
    result, _ = _cluster()
    cm = result.one(CONFIGMAP)
    meta = cm.inputs["metadata"]
    assert meta["name"] == fact("azure-monitor-prometheus-scrape", "configmap_name")
    assert meta["namespace"] == "kube-system"
    assert list(cm.inputs["data"]) == [fact("azure-monitor-prometheus-scrape", "configmap_key")]
    manifest = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": cm.inputs["data"]}
    assert kubernetes_schema_errors(manifest, KUBERNETES_VERSION) == []
    assert cm.provider.startswith("urn:")
    assert "test-k8s" in cm.provider


def _kept(config: dict[str, Any], labels: dict[str, str]) -> bool:
    """Prometheus' relabelling `keep` semantics: every keep rule's regex fully matches its
    source labels joined by ';'."""
    (job,) = config["scrape_configs"]
    for rule in job["relabel_configs"]:
        if rule.get("action") == "keep":
            value = ";".join(labels.get(s, "") for s in rule["source_labels"])
            if not re.fullmatch(rule["regex"], value):
                return False
    return True


def _chart_statsd_service(version: str) -> dict[str, Any]:
    from synth import helm

    try:
        objs = helm.render_objects("airflow", version, {}, release=RELEASE, namespace=NAMESPACE)
    except helm.NotRendered as err:  # pragma: no cover
        pytest.skip(str(err))
    services = [o for o in objs if o["kind"] == "Service" and o["metadata"]["labels"].get("component") == "statsd"]
    (service,) = services
    return service


def _endpoint_labels(service: dict[str, Any], port: dict[str, Any], namespace: str) -> dict[str, str]:
    return {
        "__meta_kubernetes_service_name": service["metadata"]["name"],
        "__meta_kubernetes_endpoint_port_name": port["name"],
        "__address__": f"10.244.0.7:{port['targetPort']}",
        "__meta_kubernetes_namespace": namespace,
    }


@pytest.mark.parametrize("version", CHART_LINES)
def test_the_scrape_keeps_exactly_the_charts_statsd_scrape_port(version: str) -> None:
    service = _chart_statsd_service(version)
    assert service["metadata"]["name"] == f"{RELEASE}-statsd"
    result, _ = _cluster()
    config = yaml.safe_load(result.one(CONFIGMAP).inputs["data"]["prometheus-config"])
    (job,) = config["scrape_configs"]
    assert job["kubernetes_sd_configs"] == [{"role": "endpoints", "namespaces": {"names": [NAMESPACE]}}]
    kept = [p["name"] for p in service["spec"]["ports"] if _kept(config, _endpoint_labels(service, p, NAMESPACE))]
    assert kept == ["statsd-scrape"]  # the TCP metrics port, not the UDP ingest port


@pytest.mark.parametrize(
    "wrong",
    [{"statsd_service": "etl-statsd-exporter"}, {"statsd_port_name": "statsd-ingest"}, {"statsd_port": 9125}],
    ids=["service", "port name", "port"],
)
def test_a_scrape_that_misses_the_charts_port_is_caught(wrong: dict[str, Any]) -> None:
    service = _chart_statsd_service("1.19.0")
    args = {"namespace": NAMESPACE, "service": f"{RELEASE}-statsd", "port_name": "statsd-scrape", "port": 9102}
    args.update({k.removeprefix("statsd_") if k != "statsd_service" else "service": v for k, v in wrong.items()})
    config = mon.scrape_config(**args)
    scrape = [p for p in service["spec"]["ports"] if p["name"] == "statsd-scrape"]
    assert not _kept(config, _endpoint_labels(service, scrape[0], NAMESPACE))


# Prometheus decodes its configuration strictly: a key its reference does not document fails the load.
PROMETHEUS = "prometheus-scrape-config"


def prometheus_schema_problems(config: dict[str, Any]) -> list[str]:
    """Every key of `config` that Prometheus' configuration reference does not document for its
    section, and every scheme, discovery role and relabel action it does not document there
    (facts/prometheus-scrape-config.yaml)."""
    problems: list[str] = []

    def fields(where: str, mapping: dict[str, Any], section: str) -> None:
        documented = fact(PROMETHEUS, section)
        problems.extend(f"{where}.{key}: no field of {section}" for key in mapping if key not in documented)

    fields("config", config, "config_file_fields")
    for j, job in enumerate(config.get("scrape_configs", [])):
        at = f"config.scrape_configs[{j}]"
        fields(at, job, "scrape_config_fields")
        if "scheme" in job and job["scheme"] != fact(PROMETHEUS, "scheme"):
            problems.append(f"{at}.scheme: {job['scheme']!r} is not the documented scheme")
        for s, sd in enumerate(job.get("kubernetes_sd_configs", [])):
            sd_at = f"{at}.kubernetes_sd_configs[{s}]"
            fields(sd_at, sd, "kubernetes_sd_config_fields")
            fields(f"{sd_at}.namespaces", sd.get("namespaces", {}), "kubernetes_sd_namespaces_fields")
            if sd.get("role") != fact(PROMETHEUS, "kubernetes_sd_role"):
                problems.append(f"{sd_at}.role: {sd.get('role')!r} is not the documented role")
        for r, rule in enumerate(job.get("relabel_configs", [])):
            fields(f"{at}.relabel_configs[{r}]", rule, "relabel_config_fields")
            if "action" in rule and rule["action"] not in fact(PROMETHEUS, "relabel_actions"):
                problems.append(f"{at}.relabel_configs[{r}].action: {rule['action']!r} is no documented action")
    return problems


def _statsd_scrape_config() -> dict[str, Any]:
    return mon.scrape_config(NAMESPACE, f"{RELEASE}-statsd", "statsd-scrape", 9102)


def test_the_scrape_configuration_has_only_fields_prometheus_documents() -> None:
    config = _statsd_scrape_config()
    assert config["scrape_configs"], "no job to check"
    assert prometheus_schema_problems(config) == []


def _renamed(mapping: dict[str, Any], old: str, new: str) -> dict[str, Any]:
    return {new if k == old else k: v for k, v in mapping.items()}


def _job_key(job: dict[str, Any]) -> dict[str, Any]:
    return _renamed(job, "metrics_path", "metrics_pathx")


def _relabel_key(job: dict[str, Any]) -> dict[str, Any]:
    return {**job, "relabel_configs": [_renamed(job["relabel_configs"][0], "source_labels", "source_label")]}


def _namespaces_key(job: dict[str, Any]) -> dict[str, Any]:
    return {**job, "kubernetes_sd_configs": [{"role": "endpoints", "namespaces": {"name": [NAMESPACE]}}]}


@pytest.mark.parametrize(
    ("break_it", "expected"),
    [
        (_job_key, "scrape_configs[0].metrics_pathx: no field of scrape_config_fields"),
        (_relabel_key, ".relabel_configs[0].source_label: no field of relabel_config_fields"),
        (_namespaces_key, ".namespaces.name: no field of kubernetes_sd_namespaces_fields"),
        (lambda job: {**job, "kubernetes_sd_configs": [{"role": "endpoint"}]}, "'endpoint' is not the documented role"),
        (lambda job: {**job, "relabel_configs": [{"action": "keeps"}]}, "'keeps' is no documented action"),
        (lambda job: {**job, "scheme": "tcp"}, "'tcp' is not the documented scheme"),
    ],
    ids=["scrape_config key", "relabel_config key", "namespaces key", "role", "action", "scheme"],
)
def test_a_field_prometheus_does_not_document_is_caught(break_it: Any, expected: str) -> None:
    (job,) = _statsd_scrape_config()["scrape_configs"]
    problems = prometheus_schema_problems({"scrape_configs": [break_it(job)]})
    assert [p for p in problems if expected in p], problems


# ------------------------------------------------------------------ alert rules
def test_every_rule_group_is_scoped_to_the_workspace_and_the_cluster() -> None:
    result, mc = _cluster()
    groups = result.by_type(RULE_GROUP)
    assert sorted(g.inputs["ruleGroupName"] for g in groups) == ["af-prod-airflow-alerts", "af-prod-kubernetes-alerts"]
    for group in groups:
        assert group.inputs["scopes"] == [AMW_ID, CLUSTER_ID]
        assert group.inputs["clusterName"] == CLUSTER
        assert group.inputs["interval"] == "PT1M"
        for rule in group.inputs["rules"]:
            assert set(rule["annotations"]) == {"summary", "runbook"}, rule["alert"]
            assert rule["annotations"]["runbook"].endswith("."), rule["alert"]
            assert re.fullmatch(r"PT\d+M", rule["for"]), rule["alert"]
            assert 0 <= rule["severity"] <= 4
    assert resolve(mc.rule_group_names) == ["af-prod-airflow-alerts", "af-prod-kubernetes-alerts"]


def test_the_rules_registered_are_the_table_and_cover_the_on_call_list() -> None:
    result, _ = _cluster()
    registered = {r["alert"]: r for g in result.by_type(RULE_GROUP) for r in g.inputs["rules"]}
    table = mon.alert_rules(mon.statsd_job_name(NAMESPACE), NAMESPACE)
    assert set(registered) == {r.alert for r in table}
    for rule in table:
        assert registered[rule.alert]["expression"] == rule.expression
        assert (registered[rule.alert]["for"], registered[rule.alert]["severity"]) == (rule.for_, rule.severity)
    assert {
        "AirflowSchedulerHeartbeatMissing",
        "AirflowDagProcessingStalled",
        "AirflowTaskFailureRateHigh",
        "AirflowExecutorSlotsExhausted",
        "AirflowPodCrashLooping",
    } <= set(registered)
    # every Airflow selector carries this namespace's scrape job; the pod rule this namespace
    for rule in table:
        selector = f'job="{mon.statsd_job_name(NAMESPACE)}"' if rule.source == "statsd" else f'namespace="{NAMESPACE}"'
        assert all(selector in m for m in re.findall(r"\{[^}]*\}", rule.expression)), rule.alert


def _table() -> list[mon.AlertRule]:
    return mon.alert_rules(mon.statsd_job_name(NAMESPACE), NAMESPACE)


@pytest.mark.parametrize("rule", _table(), ids=lambda r: r.alert)
def test_every_alert_expression_parses_and_reads_the_metrics_it_declares(rule: mon.AlertRule) -> None:
    assert promql_problems(rule.expression) == []
    assert metric_names(rule.expression) == set(rule.metrics)


# Airflow 2.9 (chart 1.15.0) sends executor.open_slots without an executor suffix; the chart's
# mapping has no rule for it there, and statsd_exporter exports an unmapped metric under its
# name with dots turned into underscores: the same airflow_executor_open_slots that 1.19.0 maps.
UNMAPPED_ON = {"1.15.0": {"airflow_executor_open_slots"}}


def alert_metric_problems(rules: list[mon.AlertRule], version: str) -> list[str]:
    known = chart_statsd_metrics(version) | UNMAPPED_ON.get(version, set())
    return [
        f"{rule.alert}: {name}"
        for rule in rules
        if rule.source == "statsd"
        for name in unknown_metrics(set(rule.metrics), frozenset(known))
    ]


@pytest.mark.parametrize("version", CHART_LINES)
def test_every_airflow_alert_reads_a_metric_the_charts_statsd_mapping_exposes(version: str) -> None:
    assert alert_metric_problems(_table(), version) == []


@pytest.mark.parametrize(
    "misspelt", ["airflow_scheduler_heartbeats", "airflow_executor_open_slot", "airflow_ti_failures"]
)
def test_an_alert_on_a_metric_the_chart_does_not_expose_is_caught(misspelt: str) -> None:
    rule = mon.AlertRule("X", f"sum({misspelt})", "PT5M", 2, "s.", "r.", (misspelt,), "statsd")
    assert alert_metric_problems([rule], "1.19.0") == [f"X: {misspelt}"]


# ------------------------------------------------------------------ PgBouncer (the server's metric)
def test_the_builtin_pgbouncer_alert_watches_the_servers_waiting_clients() -> None:
    result, _ = _cluster()
    alert = result.one(METRIC_ALERT).inputs
    assert alert["scopes"] == [DB_ID]
    (criterion,) = alert["criteria"]["allOf"]
    assert (criterion["metricNamespace"], criterion["metricName"]) == (
        "Microsoft.DBforPostgreSQL/flexibleServers",
        "client_connections_waiting",
    )
    assert criterion["operator"] == monitor.Operator.GREATER_THAN.value
    assert "Runbook:" in alert["description"]
    none, mc2 = _cluster(database_server_id=None)
    assert none.by_type(METRIC_ALERT) == []
    assert mc2.pgbouncer_alert is None


# ------------------------------------------------------------------ Grafana
def test_grafana_is_integrated_with_the_workspace_and_reads_only_the_two_workspaces() -> None:
    result, mc = _cluster()
    grafana = result.one(GRAFANA).inputs
    assert grafana["sku"] == {"name": "Standard"}
    assert grafana["identity"]["type"] == dashboard.ManagedServiceIdentityType.SYSTEM_ASSIGNED.value
    props = grafana["properties"]
    assert props["grafanaIntegrations"] == {
        "azureMonitorWorkspaceIntegrations": [{"azureMonitorWorkspaceResourceId": AMW_ID}]
    }
    assert props["publicNetworkAccess"] == dashboard.PublicNetworkAccess.DISABLED.value
    principal = _uuid("grafana-principal", "af-prod-grafana")
    grafana_id = _arm_id(RG, "Microsoft.Dashboard/grafana", "af-prod-grafana")
    grants = {
        (g.inputs["scope"], g.inputs["roleDefinitionId"].rsplit("/", 1)[1], g.inputs["principalId"])
        for g in result.by_type(ROLE)
    }
    assert grants == {
        (AMW_ID, REFERENCE_ROLES["Monitoring Data Reader"], principal),
        (LAW_ID, REFERENCE_ROLES["Monitoring Reader"], principal),
        *((grafana_id, REFERENCE_ROLES["Grafana Admin"], admin) for admin in ADMINS),
    }
    for grant in result.by_type(ROLE):
        assert grant.inputs["roleDefinitionId"].startswith(f"/subscriptions/{SUBSCRIPTION_ID}/providers/")
        assert not grant.inputs["scope"].endswith(f"/subscriptions/{SUBSCRIPTION_ID}")
    assert resolve(mc.grafana_endpoint).endswith(".grafana.azure.com")


def test_admin_grants_are_named_by_their_key_not_by_the_order() -> None:
    admins = {f"admin{i}": (admin, "Group") for i, admin in enumerate(ADMINS)}
    first, _ = _cluster(grafana_admins=admins)
    swapped, _ = _cluster(grafana_admins=dict(reversed(admins.items())))
    names = {r.name: r.inputs["principalId"] for r in first.by_type(ROLE)}
    assert names == {r.name: r.inputs["principalId"] for r in swapped.by_type(ROLE)}


def test_without_grafana_there_is_no_grafana_and_no_grant() -> None:
    result, mc = _cluster(grafana=False, grafana_admins={})
    assert result.by_type(GRAFANA) == []
    assert result.by_type(ROLE) == []
    assert mc.grafana_endpoint is None
    assert mc.grafana_instance is None


def test_every_monitoring_role_has_microsofts_id() -> None:
    from tests.test_external_facts import role_mismatches

    assert role_mismatches(mon.MONITORING_ROLES, REFERENCE_ROLES) == []


def test_a_wrong_monitoring_role_id_is_caught() -> None:
    from tests.test_external_facts import role_mismatches

    broken = {**mon.MONITORING_ROLES, mon.GRAFANA_ADMIN: "22926164-76b3-42b3-bc55-97df8dab3e42"}
    assert role_mismatches(broken, REFERENCE_ROLES) == [
        "Grafana Admin: 22926164-76b3-42b3-bc55-97df8dab3e42 in code, "
        "22926164-76b3-42b3-bc55-97df8dab3e41 in Microsoft's table"
    ]


def test_principal_types_are_the_sdks() -> None:
    result, _ = _cluster()
    assert {g.inputs["principalType"] for g in result.by_type(ROLE)} == {
        authorization.PrincipalType.SERVICE_PRINCIPAL.value,
        authorization.PrincipalType.GROUP.value,
    }


# ------------------------------------------------------------------ determinism
def test_every_name_is_the_same_on_every_run() -> None:
    def names(result: RunResult) -> list[tuple[str, str]]:
        return sorted((r.type, r.name) for r in result.records)

    assert names(_cluster()[0]) == names(_cluster()[0])
    assert len(_cluster()[0].records) == 1 + 1 + 2 + 3 + 1 + 2 + 1 + 1 + 4 + 1  # see below
    # component, DCE, 2 DCRs, 3 associations, ConfigMap, 2 rule groups, metric alert, Grafana,
    # 4 role assignments (2 readers, 2 admins), and the test's Kubernetes provider


def test_each_half_runs_alone() -> None:
    """monitoring without containerInsights: no Log Analytics rule, association or Grafana reader
    on it; containerInsights alone: no Prometheus resources, scrape, rules or Grafana."""
    prometheus_only, mc = _cluster(log_analytics_workspace_id=None)
    assert [r.name for r in prometheus_only.by_type(DCR)] == ["monitoring-prom-dcr"]
    assert set(mc.associations) == {mon.PROMETHEUS_ASSOCIATION, mon.CONFIGURATION_ACCESS_ENDPOINT}
    scopes = {g.inputs["scope"] for g in prometheus_only.by_type(ROLE)}
    assert LAW_ID not in scopes
    assert AMW_ID in scopes
    insights_only, mc = _cluster(azure_monitor_workspace_id=None, grafana=False)
    assert [r.name for r in insights_only.by_type(DCR)] == ["monitoring-ci-dcr"]
    assert set(mc.associations) == {mon.CONTAINER_INSIGHTS_ASSOCIATION}
    assert insights_only.by_type(RULE_GROUP) == []
    assert insights_only.by_type(CONFIGMAP) == []


def test_grafana_without_the_prometheus_workspace_is_refused() -> None:
    with pytest.raises(ValueError, match="azure_monitor_workspace_id is required"):
        _cluster(azure_monitor_workspace_id=None, grafana=True)


@pytest.mark.parametrize("protect", [True, False])
def test_the_workspaces_hold_data_and_are_protected_when_asked(protect: bool) -> None:
    result, _ = _run(lambda: mon.MonitoringWorkspaces("workspaces", _workspaces_args(protect=protect)))
    assert [r.protect for r in result.by_type(WORKSPACE)] == [protect]
    assert [r.protect for r in result.by_type(AMW)] == [protect]


def test_each_workspace_is_made_only_when_named() -> None:
    result, ws = _run(lambda: mon.MonitoringWorkspaces("workspaces", _workspaces_args(log_analytics_name="")))
    assert result.by_type(WORKSPACE) == []
    assert ws.log_analytics_workspace_id is None
    assert len(result.by_type(AMW)) == 1
    result, ws = _run(lambda: mon.MonitoringWorkspaces("workspaces", _workspaces_args(azure_monitor_name="")))
    assert result.by_type(AMW) == []
    assert ws.prometheus_query_endpoint is None


def test_the_readme_lists_every_alert_with_its_runbook() -> None:
    """README "Alerts and what each one fires on": one row per rule, with the rule's own
    expression (for the dev namespace) and runbook line, so the on-call reads what fires."""
    from synth.project import PROJECT_DIR

    readme = (PROJECT_DIR / "README.md").read_text()
    lines = [line for line in readme.splitlines() if line.startswith("| `Airflow")]
    rows = {line.split("|")[1].strip().strip("`"): line for line in lines}
    rules = mon.alert_rules(mon.statsd_job_name("airflow"), "airflow")
    assert set(rows) == {r.alert for r in rules}
    for rule in rules:
        assert rule.expression.replace("|", "\\|") in rows[rule.alert]
        assert rule.runbook in rows[rule.alert]

"""Monitoring: Azure Monitor managed Prometheus, Container Insights, Prometheus alert rules for an
Airflow on-call, and an optional Azure Managed Grafana.

Two components, because half of it must exist before the cluster and half needs the cluster:

* :class:`MonitoringWorkspaces` (before the cluster): a Log Analytics workspace (Container
  Insights' logs; the cluster's ``omsagent`` add-on points at it) and an Azure Monitor workspace
  (managed Prometheus' metric store).
* :class:`ClusterMonitoring` (after the cluster): what Microsoft's onboarding templates create for
  an AKS cluster, replicated resource by resource:

  - managed Prometheus, as ``AddonArmTemplate/FullAzureMonitorMetricsProfile.json`` of
    Azure/prometheus-collector (the template https://aka.ms/azureprometheus-enable-arm-template
    the docs link) creates it: a data collection endpoint (kind Linux), a data collection rule
    whose ``prometheusForwarder`` data source sends ``Microsoft-PrometheusMetrics`` to the Azure
    Monitor workspace (``destinations.monitoringAccounts``), and the rule's association with the
    cluster (named ``ContainerInsightsMetricsExtension``, the name the Azure CLI gives it); plus
    the endpoint's association with the cluster, which Azure requires to be named
    ``configurationAccessEndpoint`` (Microsoft's Container Insights onboarding template and its
    private-link page create it, so the agents read their configuration from our endpoint);
  - Container Insights, as the MSI onboarding template of microsoft/Docker-Provider creates it: a
    rule whose ``ContainerInsights`` extension data source sends the group stream
    ``Microsoft-ContainerInsights-Group-Default`` (every Container Insights table) to the Log
    Analytics workspace, and its association ``ContainerInsightsExtension``;
  - the scrape of Airflow's statsd exporter (below);
  - Prometheus rule groups (:func:`alert_rules`), and, for the managed database's built-in
    PgBouncer, an Azure Monitor metric alert (its metrics are platform metrics of the flexible
    server, not Prometheus series);
  - optionally Azure Managed Grafana, integrated with the Azure Monitor workspace, its identity
    reading only the two workspaces.

The scrape: the managed agent's custom scrape ConfigMap ``ama-metrics-prometheus-config`` in
``kube-system`` (key ``prometheus-config``), not its PodMonitor/ServiceMonitor CRDs
(``azmonitoring.coreos.com/v1``). Why: (1) it is a core ConfigMap, so it validates against the
Kubernetes OpenAPI schemas the project already pins (kubernetes-validate), where a
ServiceMonitor needs a CRD schema we would have to copy and track; (2) the CRDs are installed by
the metrics add-on itself, after the cluster reports monitoring enabled, so a custom resource
would need an ordering on the add-on's rollout that Pulumi cannot see, while a ConfigMap can be
applied at any time and is picked up when the agent starts; (3) Microsoft marks this ConfigMap
"(Recommended)" for custom scrape jobs run by the replica pod. Its cost: it is one object per
cluster, so two stacks sharing an existing cluster would both own it (the job name carries the
namespace so the series stay apart, but the object is the last writer's).

The job keeps exactly the chart's statsd Service (its name, port name and port, passed in from
the release, never re-derived here) through endpoints discovery restricted to Airflow's
namespace.

Azure Managed Grafana dashboards are data plane: the installed SDK's ``dashboard`` module has
``Grafana`` (Microsoft.Dashboard/grafana) but its ``Dashboard``/``DashboardDefinition`` are
Microsoft.Dashboard/dashboards, "Azure Managed Dashboards" (a separate preview product, API
2024-11-01-preview / 2025-09-01-preview), not dashboards inside a Grafana instance. The project's
dashboard (monitoring/dashboards/airflow.json) is imported with ``az grafana dashboard import``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import pulumi
import pulumi_kubernetes as k8s
import yaml
from pulumi_azure_native import alertsmanagement, authorization, dashboard, monitor, operationalinsights

from components.azure_roles import (
    BUILT_IN_ROLES,
    GRAFANA_ADMIN,
    MONITORING_DATA_READER,
    MONITORING_READER,
    role_definition_id,
)
from plan import SCRAPE_CONFIGMAP, SCRAPE_CONFIGMAP_KEY, SCRAPE_CONFIGMAP_NAMESPACE

# ------------------------------------------------------------------ Azure's fixed names


def prometheus_stream() -> str:
    """Azure's stream for Prometheus metrics, the SDK's enum member: read on use, since the
    SDK's monitor module takes ~0.1 s to import and a stack without monitoring never needs it."""
    return monitor.KnownPrometheusForwarderDataSourceStreams.MICROSOFT_PROMETHEUS_METRICS


# Microsoft's group stream for every Container Insights table (the SDK has no enum member for it)
CONTAINER_INSIGHTS_STREAM = "Microsoft-ContainerInsights-Group-Default"
CONTAINER_INSIGHTS_EXTENSION = "ContainerInsights"
# association names: the endpoint's is fixed by Azure, the rules' follow Microsoft's tools
CONFIGURATION_ACCESS_ENDPOINT = "configurationAccessEndpoint"
PROMETHEUS_ASSOCIATION = "ContainerInsightsMetricsExtension"
CONTAINER_INSIGHTS_ASSOCIATION = "ContainerInsightsExtension"
# Log Analytics (PerGB2018) interactive retention, days
RETENTION_MIN_DAYS = 30
RETENTION_MAX_DAYS = 730
RULE_INTERVAL = "PT1M"
GRAFANA_SKU = "Standard"
# The built-in PgBouncer's metric (needs the server parameter metrics.pgbouncer_diagnostics=on)
PGBOUNCER_METRIC_NAMESPACE = "Microsoft.DBforPostgreSQL/flexibleServers"
PGBOUNCER_WAITING_METRIC = "client_connections_waiting"

# Built-in roles this component assigns: components/azure_roles.py's table (compared with
# Microsoft's by tests/test_external_facts.py).
MONITORING_ROLES: dict[str, str] = {
    role: BUILT_IN_ROLES[role] for role in (MONITORING_DATA_READER, MONITORING_READER, GRAFANA_ADMIN)
}

DASHBOARD_FILE = Path(__file__).resolve().parent.parent / "monitoring" / "dashboards" / "airflow.json"


# ------------------------------------------------------------------ alert rules
@dataclass(frozen=True)
class AlertRule:
    """One Prometheus alert rule, with what the on-call reads when it fires."""

    alert: str
    expression: str
    for_: str  # ISO 8601 duration
    severity: int  # 0 (critical) .. 4 (verbose), Azure Monitor's scale
    summary: str
    runbook: str  # one sentence: what to check, what to do
    metrics: tuple[str, ...]  # every metric name the expression reads (checked by the tests)
    source: str  # "statsd" (the chart's exporter) or "kube-state-metrics"


def _job(job: str) -> str:
    return f'job="{job}"'


def airflow_alert_rules(job: str) -> list[AlertRule]:
    """Rules on the series the chart's statsd exporter exposes, as its mapping names them,
    scraped by job `job` (every selector carries it: another Airflow's series never match)."""
    sel = _job(job)
    return [
        AlertRule(
            alert="AirflowSchedulerHeartbeatMissing",
            expression=(
                f"sum(rate(airflow_scheduler_heartbeat{{{sel}}}[5m])) == 0"
                f" or absent(airflow_scheduler_heartbeat{{{sel}}})"
            ),
            for_="PT5M",
            severity=1,
            summary="No Airflow scheduler has sent a heartbeat for 5 minutes.",
            runbook=(
                "Check the scheduler pods (kubectl get pods -l component=scheduler -n <namespace>) and their logs "
                "for database or crash errors, and restart them if they are stuck."
            ),
            metrics=("airflow_scheduler_heartbeat",),
            source="statsd",
        ),
        AlertRule(
            alert="AirflowDagProcessingStalled",
            expression=f"max(airflow_dag_processing_last_run_seconds_ago{{{sel}}}) > 600",
            for_="PT10M",
            severity=2,
            summary="A DAG file has not been parsed for more than 10 minutes.",
            runbook=(
                "Check the DAG processor (or scheduler on Airflow 2) logs for import errors or timeouts and "
                "git-sync for a failing clone; fix or remove the slow DAG file."
            ),
            metrics=("airflow_dag_processing_last_run_seconds_ago",),
            source="statsd",
        ),
        AlertRule(
            alert="AirflowTaskFailureRateHigh",
            expression=(
                f"sum(rate(airflow_operator_failures{{{sel}}}[15m]))"
                f" / (sum(rate(airflow_operator_failures{{{sel}}}[15m]))"
                f" + sum(rate(airflow_operator_successes{{{sel}}}[15m]))) > 0.25"
            ),
            for_="PT15M",
            severity=2,
            summary="More than 25% of finished tasks failed over the last 15 minutes.",
            runbook=(
                "Open the UI's failed task instances, group them by operator: one operator or DAG points at its "
                "upstream system, all operators at workers, the metadata database or credentials."
            ),
            metrics=("airflow_operator_failures", "airflow_operator_successes"),
            source="statsd",
        ),
        AlertRule(
            alert="AirflowExecutorSlotsExhausted",
            expression=f"sum(airflow_executor_open_slots{{{sel}}}) <= 0",
            for_="PT15M",
            severity=2,
            summary="The executor has had no open slot for 15 minutes: new tasks queue.",
            runbook=(
                "Check queued tasks and worker pods; raise core.parallelism or the worker count if the load is "
                "real, or kill runaway tasks holding the slots."
            ),
            metrics=("airflow_executor_open_slots",),
            source="statsd",
        ),
        AlertRule(
            alert="AirflowPoolStarving",
            expression=f"max by (pool) (airflow_pool_starving_tasks{{{sel}}}) > 0",
            for_="PT15M",
            severity=3,
            summary="Tasks have waited for a free slot of an Airflow pool for 15 minutes.",
            runbook=(
                "Check the pool's slots and running tasks in the UI (Admin > Pools); enlarge the pool or find the "
                "tasks that hold its slots."
            ),
            metrics=("airflow_pool_starving_tasks",),
            source="statsd",
        ),
    ]


def kubernetes_alert_rules(namespace: str) -> list[AlertRule]:
    """Rules on kube-state-metrics series managed Prometheus collects by default."""
    return [
        AlertRule(
            alert="AirflowPodCrashLooping",
            expression=(
                "max by (namespace, pod, container) (kube_pod_container_status_waiting_reason"
                f'{{namespace="{namespace}", reason="CrashLoopBackOff"}}) > 0'
            ),
            for_="PT10M",
            severity=1,
            summary="A container in Airflow's namespace has been in CrashLoopBackOff for 10 minutes.",
            runbook=(
                "Read the container's previous logs (kubectl logs --previous) and events (kubectl describe pod): "
                "fix the missing Secret, image or configuration it names."
            ),
            metrics=("kube_pod_container_status_waiting_reason",),
            source="kube-state-metrics",
        ),
    ]


def alert_rules(job: str, namespace: str) -> list[AlertRule]:
    return airflow_alert_rules(job) + kubernetes_alert_rules(namespace)


def _rule_args(rule: AlertRule, action_group_ids: list[str]) -> alertsmanagement.PrometheusRuleArgs:
    return alertsmanagement.PrometheusRuleArgs(
        alert=rule.alert,
        expression=rule.expression,
        for_=rule.for_,
        severity=rule.severity,
        enabled=True,
        annotations={"summary": rule.summary, "runbook": rule.runbook},
        labels={"source": rule.source},
        resolve_configuration=alertsmanagement.PrometheusRuleResolveConfigurationArgs(
            auto_resolved=True, time_to_resolve="PT10M"
        ),
        actions=[alertsmanagement.PrometheusRuleGroupActionArgs(action_group_id=a) for a in action_group_ids],
    )


# ------------------------------------------------------------------ the scrape configuration
def statsd_job_name(namespace: str) -> str:
    """The scrape job's name: one per Airflow namespace (two Airflows never share a job)."""
    return f"airflow-statsd-{namespace}"


def scrape_config(namespace: str, service: str, port_name: str, port: int) -> dict[str, object]:
    """The Prometheus configuration the managed agent's replica runs: one job keeping exactly
    the statsd Service `service`'s endpoints on port `port_name` (`port`) in `namespace`."""
    return {
        "scrape_configs": [
            {
                "job_name": statsd_job_name(namespace),
                "scheme": "http",
                "metrics_path": "/metrics",
                "kubernetes_sd_configs": [{"role": "endpoints", "namespaces": {"names": [namespace]}}],
                "relabel_configs": [
                    {
                        "source_labels": ["__meta_kubernetes_service_name"],
                        "regex": re.escape(service),
                        "action": "keep",
                    },
                    {
                        "source_labels": ["__meta_kubernetes_endpoint_port_name"],
                        "regex": re.escape(port_name),
                        "action": "keep",
                    },
                    {"source_labels": ["__address__"], "regex": rf".+:{port}", "action": "keep"},
                    {"source_labels": ["__meta_kubernetes_namespace"], "target_label": "namespace"},
                    {"source_labels": ["__meta_kubernetes_pod_name"], "target_label": "pod"},
                ],
            }
        ]
    }


def scrape_configmap_data(namespace: str, service: str, port_name: str, port: int) -> dict[str, str]:
    return {SCRAPE_CONFIGMAP_KEY: yaml.safe_dump(scrape_config(namespace, service, port_name, port), sort_keys=False)}


# ------------------------------------------------------------------ workspaces (before the cluster)
@dataclass
class MonitoringWorkspacesArgs:
    resource_group_name: pulumi.Input[str]
    location: str
    log_analytics_name: str  # e.g. "airflow-prod-law" (4-63: letters, digits, hyphens); "": none
    azure_monitor_name: str  # e.g. "airflow-prod-amw"; "": none
    retention_in_days: int  # 30-730 (PerGB2018)
    # protect both workspaces (they hold the logs and metrics): `pulumi destroy` stops first
    protect: bool = False


class MonitoringWorkspaces(pulumi.ComponentResource):
    """The Log Analytics workspace (Container Insights) and the Azure Monitor workspace
    (managed Prometheus), each when named, created before the cluster (the monitoring add-on's
    config names the Log Analytics workspace)."""

    log_analytics_workspace_id: pulumi.Output[str] | None
    log_analytics_customer_id: pulumi.Output[str] | None
    azure_monitor_workspace_id: pulumi.Output[str] | None
    prometheus_query_endpoint: pulumi.Output[str] | None
    log_analytics: operationalinsights.Workspace | None
    azure_monitor: monitor.AzureMonitorWorkspace | None

    def __init__(self, name: str, args: MonitoringWorkspacesArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("airflow-aks:monitoring:MonitoringWorkspaces", name, None, opts)
        if not RETENTION_MIN_DAYS <= args.retention_in_days <= RETENTION_MAX_DAYS:
            raise ValueError(
                f"retention_in_days {args.retention_in_days}: a PerGB2018 workspace keeps "
                f"{RETENTION_MIN_DAYS} to {RETENTION_MAX_DAYS} days"
            )
        child = pulumi.ResourceOptions(parent=self, protect=args.protect)
        self.log_analytics = self.azure_monitor = None
        self.log_analytics_workspace_id = self.log_analytics_customer_id = None
        self.azure_monitor_workspace_id = self.prometheus_query_endpoint = None
        if args.log_analytics_name:
            self._log_analytics(name, args, child)
        if args.azure_monitor_name:
            self._azure_monitor(name, args, child)
        self.register_outputs(
            {
                "log_analytics_workspace_id": self.log_analytics_workspace_id,
                "log_analytics_customer_id": self.log_analytics_customer_id,
                "azure_monitor_workspace_id": self.azure_monitor_workspace_id,
                "prometheus_query_endpoint": self.prometheus_query_endpoint,
            }
        )

    def _log_analytics(self, name: str, args: MonitoringWorkspacesArgs, child: pulumi.ResourceOptions) -> None:
        self.log_analytics = operationalinsights.Workspace(
            f"{name}-logs",
            workspace_name=args.log_analytics_name,
            resource_group_name=args.resource_group_name,
            location=args.location,
            sku=operationalinsights.WorkspaceSkuArgs(name=operationalinsights.WorkspaceSkuNameEnum.PER_GB2018),
            retention_in_days=args.retention_in_days,
            opts=child,
        )
        self.log_analytics_workspace_id = self.log_analytics.id
        self.log_analytics_customer_id = self.log_analytics.customer_id

    def _azure_monitor(self, name: str, args: MonitoringWorkspacesArgs, child: pulumi.ResourceOptions) -> None:
        self.azure_monitor = monitor.AzureMonitorWorkspace(
            f"{name}-amw",
            azure_monitor_workspace_name=args.azure_monitor_name,
            resource_group_name=args.resource_group_name,
            location=args.location,
            opts=child,
        )
        self.azure_monitor_workspace_id = self.azure_monitor.id
        self.prometheus_query_endpoint = self.azure_monitor.metrics.apply(
            lambda m: m.prometheus_query_endpoint if m is not None else ""
        )


# ------------------------------------------------------------------ the cluster's monitoring
@dataclass
class ClusterMonitoringArgs:
    resource_group_name: pulumi.Input[str]
    location: str
    subscription_id: pulumi.Input[str]
    name_prefix: str  # e.g. "airflow-prod": names every Azure resource below
    cluster_id: pulumi.Input[str]
    cluster_name: pulumi.Input[str]
    # None: that half is off (Container Insights / managed Prometheus, its scrape and alerts)
    log_analytics_workspace_id: pulumi.Input[str] | None
    azure_monitor_workspace_id: pulumi.Input[str] | None
    k8s_provider: pulumi.ProviderResource
    namespace: str  # Airflow's namespace
    statsd_service: str  # the chart's statsd exporter Service, e.g. "<release>-statsd"
    statsd_port_name: str  # its scrape port's name, e.g. "statsd-scrape"
    statsd_port: int  # e.g. 9102
    # Azure Managed Grafana: off, or on with the admins' object ids
    grafana: bool = False
    grafana_name: str = ""  # 2-23 letters, digits, hyphens; required with grafana
    grafana_public_network_access: bool = True
    # Grafana Admin: a stable key (it names the assignment) -> (principal id, principal type)
    grafana_admins: dict[str, tuple[pulumi.Input[str], pulumi.Input[str]]] = field(default_factory=dict)
    # the managed database's built-in PgBouncer: its server's id (None: no PgBouncer alert)
    database_server_id: pulumi.Input[str] | None = None
    action_group_ids: list[str] = field(default_factory=list)  # notified by every alert


class ClusterMonitoring(pulumi.ComponentResource):
    """Managed Prometheus, Container Insights, the statsd scrape, alerts, optional Grafana."""

    rule_group_names: pulumi.Output[list[str]]
    grafana_endpoint: pulumi.Output[str] | None
    prometheus_endpoint: monitor.DataCollectionEndpoint | None
    prometheus_rule: monitor.DataCollectionRule | None
    container_insights_rule: monitor.DataCollectionRule | None
    associations: dict[str, monitor.DataCollectionRuleAssociation]  # association name -> it
    scrape_config: k8s.core.v1.ConfigMap | None
    rule_groups: list[alertsmanagement.PrometheusRuleGroup]
    pgbouncer_alert: monitor.MetricAlert | None
    grafana_instance: dashboard.Grafana | None
    role_assignments: dict[str, authorization.RoleAssignment]  # resource name -> assignment

    def __init__(self, name: str, args: ClusterMonitoringArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("airflow-aks:monitoring:ClusterMonitoring", name, None, opts)
        if args.grafana and not args.grafana_name:
            raise ValueError("grafana_name is required when grafana is on")
        if args.grafana and args.azure_monitor_workspace_id is None:
            raise ValueError("grafana reads the Azure Monitor workspace: azure_monitor_workspace_id is required")
        child = pulumi.ResourceOptions(parent=self)
        self.associations = {}
        self.prometheus_endpoint = self.prometheus_rule = self.container_insights_rule = None
        self.scrape_config = None
        self.rule_groups = []
        if args.azure_monitor_workspace_id is not None:
            self._prometheus(name, args, args.azure_monitor_workspace_id, child)
        if args.log_analytics_workspace_id is not None:
            self._container_insights(name, args, args.log_analytics_workspace_id, child)
        self._pgbouncer_alert(name, args, child)
        self._grafana(name, args, child)
        self.rule_group_names = pulumi.Output.all(*[g.name for g in self.rule_groups]).apply(list)
        self.register_outputs({"rule_group_names": self.rule_group_names, "grafana_endpoint": self.grafana_endpoint})

    def _prometheus(
        self, name: str, args: ClusterMonitoringArgs, workspace_id: pulumi.Input[str], child: pulumi.ResourceOptions
    ) -> None:
        """Managed Prometheus: endpoint, rule and associations; the statsd scrape; the alerts."""
        prefix, rg, loc = args.name_prefix, args.resource_group_name, args.location

        # ---- managed Prometheus: endpoint, rule, associations
        self.prometheus_endpoint = monitor.DataCollectionEndpoint(
            f"{name}-prom-dce",
            data_collection_endpoint_name=f"{prefix}-prom-dce",
            resource_group_name=rg,
            location=loc,
            kind=monitor.KnownDataCollectionEndpointResourceKind.LINUX,
            opts=child,
        )
        self.prometheus_rule = monitor.DataCollectionRule(
            f"{name}-prom-dcr",
            data_collection_rule_name=f"{prefix}-prom-dcr",
            resource_group_name=rg,
            location=loc,
            kind=monitor.KnownDataCollectionRuleResourceKind.LINUX,
            description="Managed Prometheus: the cluster's metrics to the Azure Monitor workspace",
            data_collection_endpoint_id=self.prometheus_endpoint.id,
            data_sources=monitor.DataCollectionRuleDataSourcesArgs(
                prometheus_forwarder=[
                    monitor.PrometheusForwarderDataSourceArgs(
                        name="PrometheusDataSource", streams=[prometheus_stream()], label_include_filter={}
                    )
                ]
            ),
            destinations=monitor.DataCollectionRuleDestinationsArgs(
                monitoring_accounts=[
                    monitor.MonitoringAccountDestinationArgs(
                        name="MonitoringAccount1", account_resource_id=workspace_id
                    )
                ]
            ),
            data_flows=[monitor.DataFlowArgs(streams=[prometheus_stream()], destinations=["MonitoringAccount1"])],
            opts=child,
        )
        self.associations[PROMETHEUS_ASSOCIATION] = monitor.DataCollectionRuleAssociation(
            f"{name}-prom-dcra",
            association_name=PROMETHEUS_ASSOCIATION,
            resource_uri=args.cluster_id,
            data_collection_rule_id=self.prometheus_rule.id,
            description="Managed Prometheus rule of this cluster. Deleting it stops metric collection.",
            opts=child,
        )
        self.associations[CONFIGURATION_ACCESS_ENDPOINT] = monitor.DataCollectionRuleAssociation(
            f"{name}-dcea",
            association_name=CONFIGURATION_ACCESS_ENDPOINT,
            resource_uri=args.cluster_id,
            data_collection_endpoint_id=self.prometheus_endpoint.id,
            description="The endpoint the cluster's monitoring agents read their configuration from.",
            opts=child,
        )
        # ---- the statsd scrape
        self.scrape_config = k8s.core.v1.ConfigMap(
            f"{name}-scrape-config",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=SCRAPE_CONFIGMAP,
                namespace=SCRAPE_CONFIGMAP_NAMESPACE,
                labels={"app.kubernetes.io/managed-by": "pulumi"},
            ),
            data=scrape_configmap_data(args.namespace, args.statsd_service, args.statsd_port_name, args.statsd_port),
            opts=pulumi.ResourceOptions(parent=self, provider=args.k8s_provider),
        )

        # ---- alert rule groups: scoped to the workspace and the cluster
        job = statsd_job_name(args.namespace)
        groups = {
            f"{prefix}-airflow-alerts": airflow_alert_rules(job),
            f"{prefix}-kubernetes-alerts": kubernetes_alert_rules(args.namespace),
        }
        self.rule_groups = [
            alertsmanagement.PrometheusRuleGroup(
                f"{name}-{group_name.removeprefix(prefix + '-')}",
                rule_group_name=group_name,
                resource_group_name=rg,
                location=loc,
                description=f"Airflow on-call alerts ({group_name})",
                scopes=[workspace_id, args.cluster_id],
                cluster_name=args.cluster_name,
                interval=RULE_INTERVAL,
                enabled=True,
                rules=[_rule_args(rule, args.action_group_ids) for rule in rules],
                opts=child,
            )
            for group_name, rules in groups.items()
        ]

    def _container_insights(
        self, name: str, args: ClusterMonitoringArgs, workspace_id: pulumi.Input[str], child: pulumi.ResourceOptions
    ) -> None:
        """Container Insights: rule (no endpoint: not high-scale mode) and association."""
        prefix, rg, loc = args.name_prefix, args.resource_group_name, args.location
        self.container_insights_rule = monitor.DataCollectionRule(
            f"{name}-ci-dcr",
            data_collection_rule_name=f"{prefix}-ci-dcr",
            resource_group_name=rg,
            location=loc,
            kind=monitor.KnownDataCollectionRuleResourceKind.LINUX,
            description="Container Insights: logs, events and inventory to the Log Analytics workspace",
            data_sources=monitor.DataCollectionRuleDataSourcesArgs(
                extensions=[
                    monitor.ExtensionDataSourceArgs(
                        name="ContainerInsightsExtension",
                        extension_name=CONTAINER_INSIGHTS_EXTENSION,
                        streams=[CONTAINER_INSIGHTS_STREAM],
                        extension_settings={
                            "dataCollectionSettings": {
                                "interval": "1m",
                                "namespaceFilteringMode": "Off",
                                "enableContainerLogV2": True,
                            }
                        },
                    )
                ]
            ),
            destinations=monitor.DataCollectionRuleDestinationsArgs(
                log_analytics=[
                    monitor.LogAnalyticsDestinationArgs(name="ciworkspace", workspace_resource_id=workspace_id)
                ]
            ),
            data_flows=[monitor.DataFlowArgs(streams=[CONTAINER_INSIGHTS_STREAM], destinations=["ciworkspace"])],
            opts=child,
        )
        self.associations[CONTAINER_INSIGHTS_ASSOCIATION] = monitor.DataCollectionRuleAssociation(
            f"{name}-ci-dcra",
            association_name=CONTAINER_INSIGHTS_ASSOCIATION,
            resource_uri=args.cluster_id,
            data_collection_rule_id=self.container_insights_rule.id,
            description="Container Insights rule of this cluster. Deleting it stops log collection.",
            opts=child,
        )

    def _pgbouncer_alert(self, name: str, args: ClusterMonitoringArgs, child: pulumi.ResourceOptions) -> None:
        prefix, rg = args.name_prefix, args.resource_group_name
        # ---- the built-in PgBouncer: a platform metric of the flexible server
        self.pgbouncer_alert = None
        if args.database_server_id is not None:
            self.pgbouncer_alert = monitor.MetricAlert(
                f"{name}-pgbouncer-waiting",
                rule_name=f"{prefix}-pgbouncer-clients-waiting",
                resource_group_name=rg,
                location="global",
                description=(
                    "Clients have waited for a PgBouncer server connection for 15 minutes: the pool is exhausted. "
                    "Runbook: check long transactions and connection counts on the server (pg_stat_activity); "
                    "raise pgbouncer.default_pool_size or the server's max_connections if the load is real."
                ),
                severity=2,
                enabled=True,
                scopes=[args.database_server_id],
                evaluation_frequency="PT5M",
                window_size="PT15M",
                auto_mitigate=True,
                criteria=monitor.MetricAlertSingleResourceMultipleMetricCriteriaArgs(
                    odata_type="Microsoft.Azure.Monitor.SingleResourceMultipleMetricCriteria",
                    all_of=[
                        monitor.MetricCriteriaArgs(
                            criterion_type="StaticThresholdCriterion",
                            name="clients-waiting",
                            metric_namespace=PGBOUNCER_METRIC_NAMESPACE,
                            metric_name=PGBOUNCER_WAITING_METRIC,
                            operator=monitor.Operator.GREATER_THAN,
                            threshold=0,
                            time_aggregation=monitor.AggregationTypeEnum.MINIMUM,
                        )
                    ],
                ),
                actions=[monitor.MetricAlertActionArgs(action_group_id=a) for a in args.action_group_ids],
                opts=child,
            )

    def _grafana(self, name: str, args: ClusterMonitoringArgs, child: pulumi.ResourceOptions) -> None:
        """Azure Managed Grafana reading the workspaces (and nothing wider), and its admins."""
        rg, loc = args.resource_group_name, args.location
        self.grafana_instance = None
        self.role_assignments = {}
        self.grafana_endpoint = None
        if args.grafana and args.azure_monitor_workspace_id is not None:
            grafana = dashboard.Grafana(
                f"{name}-grafana",
                workspace_name=args.grafana_name,
                resource_group_name=rg,
                location=loc,
                sku=dashboard.ResourceSkuArgs(name=GRAFANA_SKU),
                identity=dashboard.ManagedServiceIdentityArgs(
                    type=dashboard.ManagedServiceIdentityType.SYSTEM_ASSIGNED
                ),
                properties=dashboard.ManagedGrafanaPropertiesArgs(
                    public_network_access=(
                        dashboard.PublicNetworkAccess.ENABLED
                        if args.grafana_public_network_access
                        else dashboard.PublicNetworkAccess.DISABLED
                    ),
                    grafana_integrations=dashboard.GrafanaIntegrationsArgs(
                        azure_monitor_workspace_integrations=[
                            dashboard.AzureMonitorWorkspaceIntegrationArgs(
                                azure_monitor_workspace_resource_id=args.azure_monitor_workspace_id
                            )
                        ]
                    ),
                ),
                opts=child,
            )
            self.grafana_instance = grafana
            principal = grafana.identity.apply(lambda i: i.principal_id if i is not None else "")
            readers = [(f"{name}-grafana-amw-reader", args.azure_monitor_workspace_id, MONITORING_DATA_READER)]
            if args.log_analytics_workspace_id is not None:
                readers.append((f"{name}-grafana-logs-reader", args.log_analytics_workspace_id, MONITORING_READER))
            for resource_name, scope, role in readers:
                self.role_assignments[resource_name] = authorization.RoleAssignment(
                    resource_name,
                    scope=scope,
                    role_definition_id=role_definition_id(args.subscription_id, role),
                    principal_id=principal,
                    principal_type=authorization.PrincipalType.SERVICE_PRINCIPAL,
                    opts=child,
                )
            for key, (principal_id, principal_type) in sorted(args.grafana_admins.items()):
                # one per admin, named by its key (a stable name whatever the order)
                resource_name = f"{name}-grafana-admin-{key}"
                self.role_assignments[resource_name] = authorization.RoleAssignment(
                    resource_name,
                    scope=grafana.id,
                    role_definition_id=role_definition_id(args.subscription_id, GRAFANA_ADMIN),
                    principal_id=principal_id,
                    principal_type=principal_type,
                    opts=child,
                )
            self.grafana_endpoint = grafana.properties.apply(lambda p: p.endpoint or "")

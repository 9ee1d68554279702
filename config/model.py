"""The settings of one stack: a frozen pydantic model whose field aliases are the config keys.

Each field carries its validator (:mod:`config.validators`); the names the stack derives
from the fields (resource group, cluster, identity, namespaces, registry) are properties
here, where their lengths are checked (:mod:`config.checks`), and nowhere else.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, PlainValidator

# Qualified: several validators are named after the field they check (timezone, namespace, ...).
from config import validators as v
from config.limits import (
    ACTION_GROUP_ID_MAX,
    AKS_NAME_MAX,
    CERTIFICATE_PEM_MAX,
    CIDR_MAX,
    DATABASE_ADMIN_LOGIN_MAX,
    DATABASE_BACKUP_RETENTION_MAX,
    DATABASE_BACKUP_RETENTION_MIN,
    DATABASE_STORAGE_SIZES_GB,
    DNS_LABEL_MAX,
    DNS_SUBDOMAIN_MAX,
    EMAIL_MAX,
    GIT_REF_MAX,
    GIT_URL_MAX,
    IMAGE_TAG_MAX,
    KNOWN_HOSTS_MAX,
    KUBERNETES_VERSION_MAX,
    LOCATION_MAX,
    LOG_ANALYTICS_RETENTION_MAX,
    LOG_ANALYTICS_RETENTION_MIN,
    MAINTENANCE_WINDOW_MAX,
    MAX_PODS_MAX,
    MAX_PODS_MIN,
    QUANTITY_MAX,
    RESOURCE_GROUP_MAX,
    STACK_MAX,
    SUB_PATH_MAX,
    SUBNET_ID_MAX,
    TIMEZONE_MAX,
    USER_POOL_NODES_MAX,
    VM_SIZE_MAX,
)

PROJECT = "airflow-aks"
PROVIDER_LOCATION_KEY = "azure-native:location"
# The pseudo-key problems with the stack name are reported under (it is no config key).
STACK_KEY = "stack"


def project_key(name: str) -> str:
    """A key of this project's config namespace as the engine spells it: `airflow-aks:<name>`."""
    return f"{PROJECT}:{name}"


ClusterMode = Literal["create", "existing"]
# aks-managed: AKS makes the cluster's VNet itself (the article); create: the stack creates a
# VNet and a node subnet; existing: the nodes go into the subnet nodeSubnetId names.
NetworkMode = Literal["aks-managed", "create", "existing"]
ClusterAuth = Literal["local", "entra"]
ClusterTier = Literal["Free", "Standard", "Premium"]
AutoUpgradeChannel = Literal["none", "patch", "stable", "rapid", "node-image"]
NodeOsUpgradeChannel = Literal["None", "Unmanaged", "NodeImage", "SecurityPatch"]
KeyVaultAuthorization = Literal["rbac", "accessPolicy"]
# bundled: the chart's PostgreSQL pod (the article); managed: an Azure Database for PostgreSQL
# flexible server the stack creates (private access in the stack's VNet); external: a database
# the stack does not manage, reached through the Secret externalDatabaseSecretName.
DatabaseMode = Literal["bundled", "managed", "external"]
# The flexible server's major versions and high-availability modes, spelled as the SDK's
# dbforpostgresql.PostgresMajorVersion and PostgreSqlFlexibleServerHighAvailabilityMode.
DatabaseVersion = Literal["16", "17"]
DatabaseHighAvailability = Literal["Disabled", "SameZone", "ZoneRedundant"]
# pv: a Blob CSI volume mounted with the storage account key (the article); remote: Airflow's
# Azure Blob remote logging through the workload identity, no account key anywhere.
LogsMode = Literal["pv", "remote"]
SecretsOperatorChartVersion = Literal["2.9.0"]
# none: the UI by port-forward only (the article); internal: an Ingress of the application
# routing add-on on a private load balancer in the VNet; public: on the add-on's public one.
UiIngress = Literal["none", "internal", "public"]
# generated: a self-signed certificate the stack makes for uiHost; imported: uiCertificatePem.
UiCertificate = Literal["generated", "imported"]
Executor = Literal[
    "LocalExecutor",
    "CeleryExecutor",
    "KubernetesExecutor",
    "CeleryKubernetesExecutor",
    "CeleryExecutor,KubernetesExecutor",
]

Boolean = Annotated[bool, BeforeValidator(v.never_raises(v.boolean))]
_DNS_LABEL_RULE = "a DNS-1123 label: lowercase letters, digits and '-', 1-63 chars, alphanumeric at both ends"
_SUBDOMAIN_RULE = (
    "a DNS-1123 subdomain: up to 253 lowercase letters, digits, '-' and '.', "
    "each dot-separated part alphanumeric at both ends"
)
ResourceGroupOrEmpty = Annotated[
    str,
    v.pattern(
        RESOURCE_GROUP_MAX, v.RESOURCE_GROUP, f"an Azure resource group name: {v.RESOURCE_GROUP_RULE}", empty=True
    ),
]
GitRef = Annotated[
    str,
    v.pattern(
        GIT_REF_MAX,
        v.GIT_REF,
        "a git branch, tag or commit: letters, digits, '_', '.', '-', '/' "
        "(no spaces, no '..' or '//', no part starting with '.' or ending in '.lock')",
    ),
]
ContainerResources = Annotated[v.Resources, PlainValidator(v.never_raises(v.resources))]
# Constrained-vCPU sizes have a '-': Standard_E8-4ds_v5.
VmSize = Annotated[
    str, v.pattern(VM_SIZE_MAX, r"Standard_[A-Za-z0-9][A-Za-z0-9_-]*", "an Azure VM size such as Standard_DS4_v2")
]
SubnetIdOrEmpty = Annotated[str, v.text(SUBNET_ID_MAX, v.SUBNET_ID_RULE, v.subnet_id, empty=True)]
UserPoolNodes = Annotated[int, v.between(0, USER_POOL_NODES_MAX)]


class Settings(BaseModel):
    """Everything a stack can set. Field aliases are the config keys."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    stack: Annotated[
        str,
        v.pattern(
            STACK_MAX,
            v.STACK_NAME,
            "letters, digits and '-' only: the stack name is part of Azure names, and the managed identity "
            "<namePrefix>-<stack>-identity and the AKS DNS prefix <namePrefix>-<stack>-aks allow no other characters",
        ),
    ]
    location: Annotated[str, v.pattern(LOCATION_MAX, r"[a-z0-9]+", "an Azure region name such as eastus")]
    name_prefix: Annotated[
        str,
        v.pattern(
            10,
            r"[a-z][a-z0-9]{1,9}",
            "2-10 lowercase letters and digits, starting with a letter "
            "(it is part of globally unique vault and storage names)",
        ),
    ] = Field(alias="namePrefix")
    resource_group_name: ResourceGroupOrEmpty = Field(alias="resourceGroupName")

    cluster_mode: Annotated[ClusterMode, v.choice(ClusterMode)] = Field(alias="clusterMode")
    cluster_name: Annotated[
        str,
        v.pattern(
            AKS_NAME_MAX,
            r"[A-Za-z0-9][A-Za-z0-9_-]{0,61}[A-Za-z0-9]",
            "an AKS cluster name: 2-63 letters, digits, '-', '_', alphanumeric at both ends",
            empty=True,
        ),
    ] = Field(alias="clusterName")
    cluster_resource_group: ResourceGroupOrEmpty = Field(alias="clusterResourceGroup")
    kubernetes_version: Annotated[
        str,
        v.text(
            KUBERNETES_VERSION_MAX,
            "a Kubernetes version 1.28 to 1.37, as 1.MINOR or 1.MINOR.PATCH",
            v.kubernetes_version,
        ),
    ] = Field(alias="kubernetesVersion")
    cluster_auth: Annotated[ClusterAuth, v.choice(ClusterAuth)] = Field(alias="clusterAuth")
    cluster_admin_group_object_id: Annotated[str, v.text(36, "an Entra object id (a GUID)", v.guid, empty=True)] = (
        Field(alias="clusterAdminGroupObjectId")
    )
    cluster_tier: Annotated[ClusterTier, v.choice(ClusterTier)] = Field(alias="clusterTier")
    node_vm_size: VmSize = Field(alias="nodeVmSize")
    node_count: Annotated[int, v.between(1, 100)] = Field(alias="nodeCount")
    # A user pool `airflow` with the cluster autoscaler (userPoolMaxCount > 0): Airflow runs
    # there, and the system pool (nodeVmSize, nodeCount) keeps to critical add-ons.
    user_pool_max_count: UserPoolNodes = Field(alias="userPoolMaxCount")
    user_pool_min_count: UserPoolNodes = Field(alias="userPoolMinCount")
    user_pool_vm_size: VmSize = Field(alias="userPoolVmSize")
    max_pods_per_node: Annotated[int, v.between(MAX_PODS_MIN, MAX_PODS_MAX)] = Field(alias="maxPodsPerNode")
    availability_zones: Annotated[
        list[str], BeforeValidator(v.string_list('["1", "2", "3"]')), AfterValidator(v.zones)
    ] = Field(alias="availabilityZones")
    auto_upgrade_channel: Annotated[AutoUpgradeChannel, v.choice(AutoUpgradeChannel)] = Field(
        alias="autoUpgradeChannel"
    )
    node_os_upgrade_channel: Annotated[NodeOsUpgradeChannel, v.choice(NodeOsUpgradeChannel)] = Field(
        alias="nodeOsUpgradeChannel"
    )
    network_mode: Annotated[NetworkMode, v.choice(NetworkMode)] = Field(alias="networkMode")
    vnet_address_space: Annotated[str, v.text(CIDR_MAX, v.VNET_ADDRESS_SPACE_RULE, v.vnet_address_space)] = Field(
        alias="vnetAddressSpace"
    )
    node_subnet_id: SubnetIdOrEmpty = Field(alias="nodeSubnetId")
    api_server_authorized_ip_ranges: Annotated[
        list[str],
        BeforeValidator(v.string_list(v.AUTHORIZED_RANGES_EXAMPLE)),
        AfterValidator(v.authorized_ip_ranges),
    ] = Field(alias="apiServerAuthorizedIpRanges")
    # Private endpoints for Key Vault and the logs storage account, public network access off on both.
    private_networking: Boolean = Field(alias="privateNetworking")
    private_endpoint_subnet_id: SubnetIdOrEmpty = Field(alias="privateEndpointSubnetId")

    acr_name: Annotated[
        str, v.pattern(50, r"[A-Za-z0-9]{5,50}", "an Azure Container Registry name: 5-50 letters and digits")
    ] = Field(alias="acrName")
    acr_resource_group: Annotated[
        str,
        v.pattern(
            RESOURCE_GROUP_MAX, v.RESOURCE_GROUP, f"the resource group of the registry ({v.RESOURCE_GROUP_RULE})"
        ),
    ] = Field(alias="acrResourceGroup")

    namespace: Annotated[
        str, v.text(DNS_LABEL_MAX, _DNS_LABEL_RULE, v.then(v.check(v.DNS_LABEL, _DNS_LABEL_RULE), v.namespace))
    ] = Field(alias="namespace")
    service_account_name: Annotated[
        str,
        v.text(
            DNS_SUBDOMAIN_MAX, _SUBDOMAIN_RULE, v.then(v.check(v.DNS_SUBDOMAIN, _SUBDOMAIN_RULE), v.service_account)
        ),
    ] = Field(alias="serviceAccountName")

    key_vault_authorization: Annotated[KeyVaultAuthorization, v.choice(KeyVaultAuthorization)] = Field(
        alias="keyVaultAuthorization"
    )
    key_vault_purge_protection: Boolean = Field(alias="keyVaultPurgeProtection")
    key_vault_soft_delete_retention_days: Annotated[int, v.between(7, 90)] = Field(
        alias="keyVaultSoftDeleteRetentionDays"
    )

    install_secrets_operator: Boolean = Field(alias="installSecretsOperator")
    grant_acr_pull: Boolean = Field(alias="grantAcrPull")
    protect_stateful_resources: Boolean = Field(alias="protectStatefulResources")
    secrets_operator_chart_version: Annotated[SecretsOperatorChartVersion, v.choice(SecretsOperatorChartVersion)] = (
        Field(alias="secretsOperatorChartVersion")
    )

    logs_volume_size: Annotated[
        str, v.text(QUANTITY_MAX, "a positive Kubernetes quantity such as 5Gi, 512Mi or 1Ti", v.logs_volume_size)
    ] = Field(alias="logsVolumeSize")
    logs_container_name: Annotated[
        str,
        v.pattern(
            63,
            r"(?!.*--)[a-z0-9][a-z0-9-]{1,61}[a-z0-9]",
            "a blob container name: 3-63 lowercase letters, digits and single '-'",
        ),
    ] = Field(alias="logsContainerName")
    logs_retention_days: Annotated[int, v.between(1, 3650)] = Field(alias="logsRetentionDays")
    logs_blob_versioning: Boolean = Field(alias="logsBlobVersioning")
    logs_mode: Annotated[LogsMode, v.choice(LogsMode)] = Field(alias="logsMode")

    airflow_chart_version: Annotated[str, v.text(32, "a chart version with a values profile", v.chart_version)] = Field(
        alias="airflowChartVersion"
    )
    executor: Annotated[Executor, v.choice(Executor)] = Field(alias="executor")
    airflow_image_tag: Annotated[
        str, v.text(IMAGE_TAG_MAX, "a container image tag (letters, digits, '_', '.', '-')", v.image_tag, empty=True)
    ] = Field(alias="airflowImageTag")
    airflow_env: Annotated[list[str], BeforeValidator(v.string_list('["NAME=value"]')), AfterValidator(v.env)] = Field(
        alias="airflowEnv"
    )
    timezone: Annotated[str, v.text(TIMEZONE_MAX, "an IANA time zone such as UTC or America/New_York", v.timezone)] = (
        Field(alias="timezone")
    )
    dags_git_repo: Annotated[str, v.text(GIT_URL_MAX, v.GIT_URL_RULE, v.git_url, empty=True)] = Field(
        alias="dagsGitRepo"
    )
    # An SSH dagsGitRepo: the host's known_hosts line(s), which git-sync checks the host against.
    dags_git_known_hosts: Annotated[
        str, v.text(KNOWN_HOSTS_MAX, v.KNOWN_HOSTS_RULE, v.known_hosts, empty=True, multiline=True)
    ] = Field(alias="dagsGitKnownHosts")
    dags_git_branch: GitRef = Field(alias="dagsGitBranch")
    dags_git_rev: GitRef = Field(alias="dagsGitRev")
    dags_git_sub_path: Annotated[
        str, v.pattern(SUB_PATH_MAX, v.SUB_PATH, "a relative path inside the repository, without '..'", empty=True)
    ] = Field(alias="dagsGitSubPath")
    dags_git_depth: Annotated[int, v.between(0, 10000)] = Field(alias="dagsGitDepth")
    database_mode: Annotated[DatabaseMode, v.choice(DatabaseMode)] = Field(alias="databaseMode")
    # bundled: the chart's PgBouncer; managed: the flexible server's built-in one (port 6432).
    pgbouncer_enabled: Boolean = Field(alias="pgbouncerEnabled")
    external_database_secret_name: Annotated[
        str,
        v.pattern(DNS_SUBDOMAIN_MAX, v.DNS_SUBDOMAIN, f"a Kubernetes Secret name, {_SUBDOMAIN_RULE}", empty=True),
    ] = Field(alias="externalDatabaseSecretName")
    # The flexible server of databaseMode=managed (unused otherwise).
    database_sku: Annotated[str, v.text(VM_SIZE_MAX, v.DATABASE_SKU_RULE, v.database_sku)] = Field(alias="databaseSku")
    database_version: Annotated[DatabaseVersion, v.choice(DatabaseVersion)] = Field(alias="databaseVersion")
    database_storage_size_gb: Annotated[
        int,
        v.one_of_numbers(DATABASE_STORAGE_SIZES_GB, "GiB: the storage sizes Azure Database for PostgreSQL offers"),
    ] = Field(alias="databaseStorageSizeGb")
    database_high_availability: Annotated[DatabaseHighAvailability, v.choice(DatabaseHighAvailability)] = Field(
        alias="databaseHighAvailability"
    )
    database_backup_retention_days: Annotated[
        int, v.between(DATABASE_BACKUP_RETENTION_MIN, DATABASE_BACKUP_RETENTION_MAX)
    ] = Field(alias="databaseBackupRetentionDays")
    database_geo_redundant_backup: Boolean = Field(alias="databaseGeoRedundantBackup")
    database_maintenance_window: Annotated[
        str,
        v.text(
            MAINTENANCE_WINDOW_MAX,
            v.MAINTENANCE_WINDOW_RULE,
            v.check(v.MAINTENANCE_WINDOW, v.MAINTENANCE_WINDOW_RULE),
        ),
    ] = Field(alias="databaseMaintenanceWindow")
    database_admin_login: Annotated[
        str, v.text(DATABASE_ADMIN_LOGIN_MAX, v.DATABASE_ADMIN_LOGIN_RULE, v.database_admin_login)
    ] = Field(alias="databaseAdminLogin")
    database_subnet_id: SubnetIdOrEmpty = Field(alias="databaseSubnetId")
    # Operate (README: Monitoring and alerts; UI over TLS).
    # Managed Prometheus: an Azure Monitor workspace, the cluster's metrics add-on with its data
    # collection endpoint, rule and association, the scrape of Airflow's statsd exporter, and the
    # Airflow alert rule groups.
    monitoring: Boolean = Field(alias="monitoring")
    # Notified when an alert fires (empty: alerts fire in Azure Monitor, nobody is notified).
    alert_action_group_id: Annotated[
        str, v.text(ACTION_GROUP_ID_MAX, v.ACTION_GROUP_ID_RULE, v.action_group_id, empty=True)
    ] = Field(alias="alertActionGroupId")
    # Container Insights: container logs and inventory in a Log Analytics workspace.
    container_insights: Boolean = Field(alias="containerInsights")
    log_analytics_retention_days: Annotated[
        int, v.between(LOG_ANALYTICS_RETENTION_MIN, LOG_ANALYTICS_RETENTION_MAX)
    ] = Field(alias="logAnalyticsRetentionDays")
    # Azure Managed Grafana on the Azure Monitor workspace (needs monitoring).
    managed_grafana: Boolean = Field(alias="managedGrafana")
    grafana_admin_group_object_id: Annotated[str, v.text(36, "an Entra object id (a GUID)", v.guid, empty=True)] = (
        Field(alias="grafanaAdminGroupObjectId")
    )
    ui_ingress: Annotated[UiIngress, v.choice(UiIngress)] = Field(alias="uiIngress")
    ui_host: Annotated[str, v.text(253, v.UI_HOST_RULE, v.check(v.UI_HOST, v.UI_HOST_RULE), empty=True)] = Field(
        alias="uiHost"
    )
    ui_certificate: Annotated[UiCertificate, v.choice(UiCertificate)] = Field(alias="uiCertificate")
    ui_certificate_pem: Annotated[
        str, v.text(CERTIFICATE_PEM_MAX, v.UI_CERTIFICATE_PEM_RULE, v.certificate_pem, empty=True, multiline=True)
    ] = Field(alias="uiCertificatePem")
    high_availability: Boolean = Field(alias="highAvailability")
    admin_username: Annotated[
        str,
        v.pattern(64, r"[A-Za-z][A-Za-z0-9_.-]{2,63}", "3-64 letters, digits, '_', '.', '-', starting with a letter"),
    ] = Field(alias="adminUsername")
    # Restricted to characters that are inert in a shell: the chart's create-user job
    # passes it to `bash -c` unquoted.
    admin_email: Annotated[
        str, v.text(EMAIL_MAX, "an e-mail address (letters, digits and . _ % + - before the @)", v.email)
    ] = Field(alias="adminEmail")

    # Requests and limits per container, `cpu=..,memory=..,cpuLimit=..,memoryLimit=..`.
    scheduler_resources: ContainerResources = Field(alias="schedulerResources")
    webserver_resources: ContainerResources = Field(alias="webserverResources")
    triggerer_resources: ContainerResources = Field(alias="triggererResources")
    dag_processor_resources: ContainerResources = Field(alias="dagProcessorResources")
    worker_resources: ContainerResources = Field(alias="workerResources")
    git_sync_resources: ContainerResources = Field(alias="gitSyncResources")
    migrate_database_job_resources: ContainerResources = Field(alias="migrateDatabaseJobResources")
    create_user_job_resources: ContainerResources = Field(alias="createUserJobResources")
    pgbouncer_resources: ContainerResources = Field(alias="pgbouncerResources")
    pgbouncer_exporter_resources: ContainerResources = Field(alias="pgbouncerExporterResources")
    statsd_resources: ContainerResources = Field(alias="statsdResources")
    redis_resources: ContainerResources = Field(alias="redisResources")
    postgresql_resources: ContainerResources = Field(alias="postgresqlResources")
    secrets_operator_resources: ContainerResources = Field(alias="secretsOperatorResources")

    # ------------------------------------------------------------ derived values
    @property
    def has_user_pool(self) -> bool:
        """A user pool with the cluster autoscaler runs Airflow (userPoolMaxCount above 0)."""
        return self.user_pool_max_count > 0

    @property
    def postgresql_enabled(self) -> bool:
        """The chart's bundled PostgreSQL runs (databaseMode=bundled)."""
        return self.database_mode == "bundled"

    @property
    def managed_database(self) -> bool:
        """The stack creates an Azure Database for PostgreSQL flexible server (databaseMode=managed)."""
        return self.database_mode == "managed"

    @property
    def database_sku_tier(self) -> str:
        """The flexible server's tier, as the SDK's dbforpostgresql.SkuTier spells it: Burstable,
        GeneralPurpose or MemoryOptimized (the letter after Standard_ in databaseSku)."""
        return v.DATABASE_SKU_TIERS[self.database_sku.removeprefix("Standard_")[0]]

    @property
    def database_maintenance(self) -> tuple[int, int, int]:
        """databaseMaintenanceWindow as the flexible server's maintenanceWindow takes it:
        (day_of_week, start_hour, start_minute), day 0 = Sunday .. 6 = Saturday, UTC."""
        day, _, time = self.database_maintenance_window.partition(" ")
        hour, _, minute = time.partition(":")
        return v.MAINTENANCE_DAYS.index(day), int(hour), int(minute)

    @property
    def dags_git_ssh(self) -> bool:
        """git-sync clones over SSH with the deploy key the stack generates (an SSH dagsGitRepo)."""
        return v.is_ssh_git_url(self.dags_git_repo)

    @property
    def remote_logs(self) -> bool:
        """Task logs go to Blob storage through Airflow's remote logging (logsMode=remote)."""
        return self.logs_mode == "remote"

    @property
    def effective_resource_group(self) -> str:
        return self.resource_group_name or f"{self.name_prefix}-{self.stack}-rg"

    @property
    def effective_cluster_name(self) -> str:
        return self.cluster_name or f"{self.name_prefix}-{self.stack}-aks"

    @property
    def effective_cluster_resource_group(self) -> str:
        return self.cluster_resource_group or self.effective_resource_group

    @property
    def identity_name(self) -> str:
        """The workload identity's managed identity (what __main__ passes to Identity)."""
        return f"{self.name_prefix}-{self.stack}-identity"

    @property
    def logs_writer_identity_name(self) -> str:
        """logsMode=remote: the managed identity of the pods that write task logs."""
        return f"{self.name_prefix}-{self.stack}-logs-writer"

    @property
    def logs_reader_identity_name(self) -> str:
        """logsMode=remote: the managed identity of the UI, which only reads task logs."""
        return f"{self.name_prefix}-{self.stack}-logs-reader"

    @property
    def monitoring_prefix(self) -> str:
        """What the monitoring resources' names start with (data collection endpoint and rules,
        alert rule groups: components.monitoring appends their roles)."""
        return f"{self.name_prefix}-{self.stack}"

    @property
    def log_analytics_name(self) -> str:
        """containerInsights: the Log Analytics workspace."""
        return f"{self.name_prefix}-{self.stack}-law"

    @property
    def azure_monitor_workspace_name(self) -> str:
        """monitoring: the Azure Monitor workspace managed Prometheus writes to."""
        return f"{self.name_prefix}-{self.stack}-amw"

    @property
    def grafana_name(self) -> str:
        """managedGrafana: the Azure Managed Grafana instance."""
        return f"{self.name_prefix}-{self.stack}-grafana"

    @property
    def vnet_name(self) -> str:
        """The VNet the stack creates with networkMode=create."""
        return f"{self.name_prefix}-{self.stack}-vnet"

    @property
    def cluster_identity_name(self) -> str:
        """The control-plane identity (user-assigned) of a created cluster whose nodes go into a
        subnet the stack chooses (networkMode create or existing): it needs rights on that subnet."""
        return f"{self.name_prefix}-{self.stack}-aks-identity"

    @property
    def node_resource_group(self) -> str:
        """The group AKS creates for a created cluster's nodes (its default name)."""
        return f"MC_{self.effective_resource_group}_{self.effective_cluster_name}_{self.location}"

    @property
    def operator_namespace(self) -> str:
        """Where External Secrets Operator runs: a namespace of its own next to the stack's
        (its length and name are checked with the settings, config.checks)."""
        return f"{self.namespace}-eso"

    @property
    def registry_server(self) -> str:
        """The ACR login server every image is pulled from."""
        return f"{self.acr_name.lower()}.azurecr.io"

    @property
    def env_vars(self) -> dict[str, str]:
        return dict(item.split("=", 1) for item in self.airflow_env)


# The config keys (without namespace) a stack may set, in declaration order: every field with
# an alias (`stack` and `location` have none: the engine supplies them).
CONFIG_KEYS: tuple[str, ...] = tuple(f.alias for f in Settings.model_fields.values() if f.alias)
# The keys whose engine value is JSON text of an array.
ARRAY_KEYS = frozenset({"availabilityZones", "airflowEnv", "apiServerAuthorizedIpRanges"})
# Keys this program once read, with what replaced them: a stack file that still sets one gets
# this message instead of "unknown key".
RETIRED_KEYS: dict[str, str] = {
    "postgresqlEnabled": "postgresqlEnabled was replaced by databaseMode: true -> bundled, false -> external "
    "(or managed for Azure Database for PostgreSQL Flexible Server); set databaseMode and remove this key",
}
# Config key (or `stack`, `location`) -> field name.
FIELD_BY_KEY: dict[str, str] = {f.alias or name: name for name, f in Settings.model_fields.items()}

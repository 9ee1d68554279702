"""airflow-aks: Apache Airflow on AKS as one Pulumi stack (config -> plan -> components -> exports).

Each block below is one step of the Microsoft article (README: "From the article to the code").
"""

import pulumi
from pulumi_azure_native import authorization

from components.airflow import Airflow, AirflowArgs
from components.airflow_values import airflow_values
from components.cluster import APP_ROUTING_LOAD_BALANCER, Cluster, ClusterArgs, deployer_principal_type
from components.database import Database, DatabaseArgs
from components.identity import Identity, IdentityArgs, PodIdentity, PodIdentityArgs
from components.ingress import AppRoutingIngress, AppRoutingIngressArgs
from components.key_vault import KeyVault, KeyVaultArgs
from components.log_storage import ContainerGrant, LogStorage, LogStorageArgs
from components.monitoring import (
    ClusterMonitoring,
    ClusterMonitoringArgs,
    MonitoringWorkspaces,
    MonitoringWorkspacesArgs,
)
from components.namespace import Namespace, NamespaceArgs
from components.private_endpoints import (
    BLOB_LINK,
    KEY_VAULT_LINK,
    PrivateEndpoints,
    PrivateEndpointsArgs,
    PrivateEndpointTarget,
)
from components.secrets_operator import ExternalSecretSpec, SecretsOperator, SecretsOperatorArgs
from config import load_settings
from plan import (
    ADMIN_PASSWORD_SECRET,
    DATABASE_ADMIN_PASSWORD_SECRET,
    DATABASE_HOST_SECRET,
    DATABASE_NAME,
    FERNET_KEY_SECRET,
    LOGS_SECRET,
    LOGS_SECRET_DATA,
    STATSD_SCRAPE_PORT,
    STATSD_SCRAPE_PORT_NAME,
    UI_CERTIFICATE_SECRET,
    build_plan,
)

settings = load_settings()  # raises one error listing every problem, before any resource exists
plan = build_plan(settings)  # every shared name, computed once
client = authorization.get_client_config_output()

# Resource group, AKS cluster (OIDC issuer, workload identity, Blob CSI) or an existing one;
# with networkMode create/existing, in the stack's VNet (Azure CNI Overlay, Cilium). The operate
# keys turn on add-ons: managed Prometheus (monitoring), Container Insights to a Log Analytics
# workspace made first (containerInsights), application routing (uiIngress).
cluster = Cluster(
    "cluster",
    ClusterArgs(
        settings=settings,
        subscription_id=client.subscription_id,
        tenant_id=client.tenant_id,
        deployer_object_id=client.object_id,
        deployer_client_id=client.client_id,
        protect=settings.protect_stateful_resources,
        network=plan.network,
        metrics=settings.monitoring,
        log_analytics=(settings.log_analytics_name, settings.log_analytics_retention_days)
        if settings.container_insights
        else None,
        app_routing=APP_ROUTING_LOAD_BALANCER.get(settings.ui_ingress),
    ),
)

# kubectl create namespace; with the stack's network (a policy engine), deny ingress by default
# and let the UI reach the log servers where the chart's own policies forget it.
namespace = Namespace(
    "namespace",
    NamespaceArgs(
        name=plan.namespace,
        provider=cluster.provider,
        deny_ingress=plan.network is not None,
        allow=plan.network_policies,
    ),
)

# Managed identity, ServiceAccount, federated credential (workload identity).
identity = Identity(
    "identity",
    IdentityArgs(
        resource_group_name=cluster.resource_group_name,
        location=settings.location,
        identity_name=plan.identity_name,
        namespace=namespace.name,
        service_account_name=plan.service_account,
        subjects=plan.federated_subjects,
        tenant_id=client.tenant_id,
        oidc_issuer_url=cluster.oidc_issuer_url,
        provider=cluster.provider,
    ),
)

# logsMode=remote: the identities Airflow's own ServiceAccounts assume to write and read task
# logs in Blob storage (no key): one for the writers, one for the UI, which only reads.
log_identities = [
    (
        spec,
        PodIdentity(
            f"logs-{spec.key}",
            PodIdentityArgs(
                resource_group_name=cluster.resource_group_name,
                location=settings.location,
                identity_name=spec.name,
                subjects=spec.subjects(plan.namespace),
                oidc_issuer_url=cluster.oidc_issuer_url,
            ),
        ),
    )
    for spec in plan.log_identities
]

# Key Vault, the identity's read grant, the generated secrets.
vault = KeyVault(
    "keyvault",
    KeyVaultArgs(
        resource_group_name=cluster.resource_group_name,
        location=settings.location,
        name_prefix=settings.name_prefix,
        tenant_id=client.tenant_id,
        subscription_id=client.subscription_id,
        reader_principal_id=identity.principal_id,
        authorization=settings.key_vault_authorization,
        purge_protection=settings.key_vault_purge_protection,
        soft_delete_retention_days=settings.key_vault_soft_delete_retention_days,
        protect=settings.protect_stateful_resources,
        admin_password_secret=ADMIN_PASSWORD_SECRET,
        fernet_key_secret=FERNET_KEY_SECRET,
        passwords=plan.generated_passwords,
        mixed_passwords=frozenset({DATABASE_ADMIN_PASSWORD_SECRET}),
        private=settings.private_networking,
        git_ssh_key_secret=plan.git_ssh_key_secret,
    ),
)

# Storage account and container for task logs: mounted through a Blob CSI volume (logsMode=pv,
# the article), or written by Airflow itself through workload identity (remote, no key).
logs = LogStorage(
    "logs",
    LogStorageArgs(
        resource_group_name=cluster.resource_group_name,
        location=settings.location,
        name_prefix=settings.name_prefix,
        container_name=settings.logs_container_name,
        volume_size=settings.logs_volume_size,
        retention_days=settings.logs_retention_days,
        namespace=namespace.name,
        claim_name=plan.logs_claim,
        volume_name=plan.logs_volume,
        storage_class=plan.storage_class,
        driver_secret=LOGS_SECRET,
        driver_secret_data=LOGS_SECRET_DATA,
        vault_name=vault.vault_name,
        provider=cluster.provider,
        protect=settings.protect_stateful_resources,
        mode=settings.logs_mode,
        subscription_id=client.subscription_id,
        grants=[ContainerGrant(spec.role, pod_identity.principal_id) for spec, pod_identity in log_identities],
        private=settings.private_networking,
        versioning=settings.logs_blob_versioning,
    ),
)

# privateNetworking: Key Vault and the logs account lose their public endpoints; the cluster's
# pods reach them through private endpoints in the VNet, resolved by private DNS zones.
private_endpoints: list[pulumi.Resource] = []
if settings.private_networking and cluster.network is not None and cluster.network.endpoint_subnet_id is not None:
    private_endpoints = PrivateEndpoints(
        "private",
        PrivateEndpointsArgs(
            resource_group_name=cluster.resource_group_name,
            location=settings.location,
            subnet_id=cluster.network.endpoint_subnet_id,
            vnet_id=cluster.network.vnet_id,
            targets=[
                PrivateEndpointTarget.of("vault", vault.vault_id, KEY_VAULT_LINK),
                PrivateEndpointTarget.of("blob", logs.account_id, BLOB_LINK),
            ],
        ),
    ).endpoints

# databaseMode=managed: Azure Database for PostgreSQL Flexible Server in the VNet's delegated
# subnet (private access only, TLS required), the `airflow` database, its host in Key Vault.
database = None
if settings.managed_database and cluster.network is not None and cluster.network.database_subnet_id is not None:
    database = Database(
        "database",
        DatabaseArgs(
            resource_group_name=cluster.resource_group_name,
            location=settings.location,
            name_prefix=f"{settings.name_prefix}-{settings.stack}",
            version=settings.database_version,
            sku_name=settings.database_sku,
            sku_tier=settings.database_sku_tier,
            storage_size_gb=settings.database_storage_size_gb,
            high_availability=settings.database_high_availability,
            availability_zones=list(settings.availability_zones),
            backup_retention_days=settings.database_backup_retention_days,
            geo_redundant_backup=settings.database_geo_redundant_backup,
            maintenance=settings.database_maintenance,
            admin_login=settings.database_admin_login,
            admin_password=vault.generated[DATABASE_ADMIN_PASSWORD_SECRET],
            database_name=DATABASE_NAME,
            delegated_subnet_id=cluster.network.database_subnet_id,
            vnet_id=cluster.network.vnet_id,
            private_dns_zone_name=str(plan.database_dns_zone),
            builtin_pgbouncer=settings.pgbouncer_enabled,
            vault_name=vault.vault_name,
            host_secret=DATABASE_HOST_SECRET,
            protect=settings.protect_stateful_resources,
        ),
    )

# monitoring: the Azure Monitor workspace (beside the cluster: it needs only the group), then the
# cluster's data collection endpoint, rules and associations, the scrape of Airflow's statsd
# exporter, the Airflow alert rule groups (and the built-in PgBouncer's), optional Grafana.
prometheus = (
    MonitoringWorkspaces(
        "metrics",
        MonitoringWorkspacesArgs(
            resource_group_name=cluster.resource_group_name,
            location=settings.location,
            log_analytics_name="",
            azure_monitor_name=settings.azure_monitor_workspace_name,
            retention_in_days=settings.log_analytics_retention_days,
            protect=settings.protect_stateful_resources,
        ),
    )
    if settings.monitoring
    else None
)
monitoring = None
if prometheus is not None or cluster.log_analytics_workspace_id is not None:
    monitoring = ClusterMonitoring(
        "monitoring",
        ClusterMonitoringArgs(
            resource_group_name=cluster.resource_group_name,
            location=settings.location,
            subscription_id=client.subscription_id,
            name_prefix=settings.monitoring_prefix,
            cluster_id=cluster.cluster_id,
            cluster_name=cluster.cluster_name,
            log_analytics_workspace_id=cluster.log_analytics_workspace_id,
            azure_monitor_workspace_id=prometheus.azure_monitor_workspace_id if prometheus else None,
            k8s_provider=cluster.provider,
            namespace=plan.namespace,
            statsd_service=plan.statsd_service,
            statsd_port_name=STATSD_SCRAPE_PORT_NAME,
            statsd_port=STATSD_SCRAPE_PORT,
            grafana=settings.managed_grafana,
            grafana_name=settings.grafana_name,
            # Grafana Admin: the admin group, or else whoever deploys
            grafana_admins={"group": (settings.grafana_admin_group_object_id, "Group")}
            if settings.grafana_admin_group_object_id
            else {"deployer": (client.object_id, client.client_id.apply(deployer_principal_type))},
            database_server_id=database.server_id if database and settings.pgbouncer_enabled else None,
            action_group_ids=[settings.alert_action_group_id] if settings.alert_action_group_id else [],
        ),
    )

# uiIngress: the UI's certificate (generated, or imported from a secret config value) as a Key
# Vault secret the application routing add-on reads, granted on that one secret.
ui = None
if plan.ui_ingress is not None and cluster.app_routing_object_id is not None:
    ui = AppRoutingIngress(
        "ui",
        AppRoutingIngressArgs(
            host=settings.ui_host,
            ingress_name=plan.ui_ingress,
            vault_name=vault.vault_name,
            resource_group_name=cluster.resource_group_name,
            subscription_id=client.subscription_id,
            secret_name=UI_CERTIFICATE_SECRET,
            addon_identity_object_id=cluster.app_routing_object_id,
            certificate=settings.ui_certificate,
            imported_pem=pulumi.Output.secret(settings.ui_certificate_pem) if settings.ui_certificate_pem else None,
        ),
    )

# External Secrets Operator, a SecretStore on the vault, one ExternalSecret per Secret.
vault_secrets = {**logs.vault_secrets, **vault.secrets, **(database.vault_secrets if database else {})}
operator = SecretsOperator(
    "secrets",
    SecretsOperatorArgs(
        namespace=namespace.name,
        operator_namespace=plan.operator_namespace,
        release_name=plan.operator_release,
        service_account_name=identity.service_account_name,
        vault_uri=vault.vault_uri,
        registry=settings.registry_server,
        chart_version=settings.secrets_operator_chart_version,
        install=settings.install_secrets_operator,
        resources=settings.secrets_operator_resources.kubernetes(),
        provider=cluster.provider,
        store_depends_on=[*identity.federated_credentials, vault.read_grant, *private_endpoints],
        release_depends_on=[*cluster.image_pull_access, *cluster.workload_pools],
        external_secrets=[
            ExternalSecretSpec(target, src.data, [vault_secrets[kv] for kv in src.data.values()], src.template)
            for target, src in plan.secrets.items()
        ],
    ),
)

# The official Airflow chart, values from a pure builder.
app = Airflow(
    "airflow",
    AirflowArgs(
        release_name=plan.airflow_release,
        chart_version=plan.profile.chart_version,
        namespace=namespace.name,
        port_forward=plan.ui_port_forward,
        values=airflow_values(
            settings,
            plan,
            {spec.name: pod_identity.client_id for spec, pod_identity in log_identities},
            ui.ui if ui else None,
        ),
        provider=cluster.provider,
        # Images pull once AcrPull is granted; pods start once their nodes, claim and Secrets exist.
        depends_on=[
            *cluster.image_pull_access,
            *cluster.workload_pools,
            *logs.ready,
            *(database.ready if database else []),
            *private_endpoints,
            *(credential for _, pod_identity in log_identities for credential in pod_identity.federated_credentials),
            *operator.external_secrets.values(),
            # the add-on can read the certificate the UI's Ingress names
            *([ui.read_grant] if ui else []),
        ],
    ),
)

# The contract other stacks read (README: "Stack outputs").
pulumi.export("resourceGroupName", cluster.resource_group_name)
pulumi.export("clusterName", cluster.cluster_name)
pulumi.export("clusterResourceGroup", cluster.cluster_resource_group)
pulumi.export("oidcIssuerUrl", cluster.oidc_issuer_url)
pulumi.export("kubeconfig", cluster.kubeconfig)
pulumi.export("namespace", namespace.name)
pulumi.export("serviceAccountName", identity.service_account_name)
pulumi.export("identityClientId", identity.client_id)
pulumi.export("identityPrincipalId", identity.principal_id)
pulumi.export("keyVaultName", vault.vault_name)
pulumi.export("keyVaultUri", vault.vault_uri)
pulumi.export("logsStorageAccount", logs.account_name)
pulumi.export("logsContainer", logs.container_name)
pulumi.export("airflowReleaseName", app.release_name)
pulumi.export("airflowUiPortForward", app.port_forward)
# uiIngress: where the UI is served, and the certificate to trust when it is self-signed.
if ui is not None:
    pulumi.export("airflowUiUrl", ui.url)
    pulumi.export("airflowUiCertificate", ui.certificate_pem)
# monitoring / containerInsights: where the metrics, alerts and logs are.
if prometheus is not None and monitoring is not None:
    pulumi.export("azureMonitorWorkspaceId", prometheus.azure_monitor_workspace_id)
    pulumi.export("prometheusQueryEndpoint", prometheus.prometheus_query_endpoint)
    pulumi.export("alertRuleGroups", monitoring.rule_group_names)
if cluster.log_analytics_workspace_id is not None:
    pulumi.export("logAnalyticsWorkspaceId", cluster.log_analytics_workspace_id)
if monitoring is not None and monitoring.grafana_endpoint is not None:
    pulumi.export("grafanaEndpoint", monitoring.grafana_endpoint)
# An SSH dagsGitRepo: the deploy key's public half, to add to the repository's deploy keys
# (read-only). Not secret: it is public. No output with an https repository (no key).
if vault.git_ssh_public_key is not None:
    pulumi.export("dagsDeployPublicKey", vault.git_ssh_public_key)
pulumi.export(
    "adminCredentialsSecret",
    {
        "namespace": namespace.name,
        "name": plan.names.admin_password,
        "passwordKey": plan.names.admin_password_key,
        "username": settings.admin_username,
    },
)

"""airflow-aks: Apache Airflow on AKS as one Pulumi stack (config -> components -> exports)."""

import pulumi
from pulumi_azure_native import authorization

from components import airflow, log_storage, secrets_operator
from components.airflow import Airflow, AirflowArgs
from components.airflow_values import airflow_values
from components.cluster import Cluster, ClusterArgs
from components.identity import Identity, IdentityArgs
from components.key_vault import KeyVault, KeyVaultArgs
from components.log_storage import LogStorage, LogStorageArgs
from components.secrets_operator import ExternalSecretSpec, SecretsOperator, SecretsOperatorArgs
from settings import load_settings

settings = load_settings()  # raises one error listing every problem, before any resource exists
client = authorization.get_client_config_output()
names = airflow.secret_names(log_storage.claim_name(settings.namespace))

cluster = Cluster(
    "cluster",
    ClusterArgs(
        settings=settings,
        subscription_id=client.subscription_id,
        tenant_id=client.tenant_id,
        deployer_object_id=client.object_id,
        deployer_client_id=client.client_id,
        protect=settings.protect_stateful_resources,
    ),
)

identity = Identity(
    "identity",
    IdentityArgs(
        resource_group_name=cluster.resource_group_name,
        location=settings.location,
        identity_name=f"{settings.name_prefix}-{settings.stack}-identity",
        namespace=settings.namespace,
        service_account_name=settings.service_account_name,
        tenant_id=client.tenant_id,
        oidc_issuer_url=cluster.oidc_issuer_url,
        provider=cluster.provider,
    ),
)

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
        passwords=airflow.generated_passwords(settings),
    ),
)

logs = LogStorage(
    "logs",
    LogStorageArgs(
        resource_group_name=cluster.resource_group_name,
        location=settings.location,
        name_prefix=settings.name_prefix,
        container_name=settings.logs_container_name,
        volume_size=settings.logs_volume_size,
        retention_days=settings.logs_retention_days,
        namespace=identity.namespace,
        vault_name=vault.vault_name,
        provider=cluster.provider,
        protect=settings.protect_stateful_resources,
    ),
)

operator = SecretsOperator(
    "secrets",
    SecretsOperatorArgs(
        namespace=identity.namespace,
        operator_namespace=secrets_operator.operator_namespace(settings.namespace),
        service_account_name=identity.service_account_name,
        vault_uri=vault.vault_uri,
        registry=settings.registry_server,
        chart_version=settings.secrets_operator_chart_version,
        install=settings.install_secrets_operator,
        resources=settings.secrets_operator_resources.kubernetes(),
        provider=cluster.provider,
        store_depends_on=[*identity.federated_credentials, vault.read_grant],
        release_depends_on=cluster.image_pull_access,
        external_secrets=[
            ExternalSecretSpec(log_storage.KUBERNETES_SECRET, log_storage.KUBERNETES_SECRET_DATA, logs.vault_secrets),
            *(
                ExternalSecretSpec(target, src.data, [vault.secrets[kv] for kv in src.data.values()], src.template)
                for target, src in airflow.secret_sources(settings, names).items()
            ),
        ],
    ),
)

app = Airflow(
    "airflow",
    AirflowArgs(
        settings=settings,
        namespace=identity.namespace,
        values=airflow_values(settings, names),
        provider=cluster.provider,
        # Images pull once AcrPull is granted; pods start once their claim and Secrets exist.
        depends_on=[*cluster.image_pull_access, logs.claim, *operator.external_secrets.values()],
    ),
)

# The contract other stacks read (README: "Stack outputs").
pulumi.export("resourceGroupName", cluster.resource_group_name)
pulumi.export("clusterName", cluster.cluster_name)
pulumi.export("clusterResourceGroup", cluster.cluster_resource_group)
pulumi.export("oidcIssuerUrl", cluster.oidc_issuer_url)
pulumi.export("kubeconfig", cluster.kubeconfig)
pulumi.export("namespace", identity.namespace)
pulumi.export("serviceAccountName", identity.service_account_name)
pulumi.export("identityClientId", identity.client_id)
pulumi.export("identityPrincipalId", identity.principal_id)
pulumi.export("keyVaultName", vault.vault_name)
pulumi.export("keyVaultUri", vault.vault_uri)
pulumi.export("logsStorageAccount", logs.account_name)
pulumi.export("logsContainer", logs.container_name)
pulumi.export("airflowReleaseName", app.release_name)
pulumi.export("airflowUiPortForward", app.port_forward)
pulumi.export(
    "adminCredentialsSecret",
    {
        "namespace": identity.namespace,
        "name": airflow.ADMIN_SECRET,
        "passwordKey": airflow.ADMIN_SECRET_KEY,
        "username": settings.admin_username,
    },
)

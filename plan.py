"""The stack plan: every name and reference that more than one component or tool needs,
computed once from the validated settings.

Plain data: no Pulumi import, no secret value. `__main__.py` builds the plan right after the
settings and hands each component the names it needs; the values builder, synth and the
tests read the same plan. Nothing else derives these names (README: "Layout").

What it holds: the namespaces, the workload-identity ServiceAccount and its federated
subjects, the Helm release names, the logs claim/volume/storage class, every Kubernetes
Secret that ESO assembles and the Key Vault secrets it comes from (the secret catalogue),
the Key Vault secrets the stack generates, the chart profile, and every image to mirror.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING

from config import AIRFLOW_RELEASE, DNS_SERVICE_IP, POD_CIDR, PROJECT, SERVICE_CIDR
from policy.kube import service_account_subject
from profiles import ESO_IMAGE_SOURCE, ESO_IMAGES, PROFILES, ChartProfile

if TYPE_CHECKING:
    from config import Settings

# The label on every object the stack creates outside a chart (the Namespaces, the logs volume):
# `kubectl get ns,pv -l app.kubernetes.io/part-of=airflow-aks` finds them.
PART_OF_LABELS = MappingProxyType({"app.kubernetes.io/part-of": PROJECT})
# The ESO release; also its controller's ServiceAccount (the chart's fullname).
OPERATOR_RELEASE = "external-secrets"
# The credential the ESO controller's ServiceAccount token is exchanged through.
OPERATOR_CREDENTIAL = "external-secrets-operator"

# Key Vault secrets the stack generates (letters and digits: they go into connection URLs
# and pgbouncer's users.txt). The chart line's static keys are `airflow-<key>` (static_secret).
ADMIN_PASSWORD_SECRET = "airflow-admin-password"
FERNET_KEY_SECRET = "airflow-fernet-key"
POSTGRES_PASSWORD_SECRET = "airflow-postgres-password"
REDIS_PASSWORD_SECRET = "airflow-redis-password"
# An SSH dagsGitRepo: the deploy key the stack generates (ed25519, OpenSSH format), in Key
# Vault under this name; ESO delivers it as SecretNames.git_ssh_key under the key the chart's
# git-sync containers mount (dags.gitSync.sshKeySecret, key `gitSshKey`).
GIT_SSH_KEY_SECRET = "airflow-git-ssh-key"
# The logs storage account's name and key, in Key Vault under the article's names, and the
# Kubernetes Secret the Blob CSI driver reads them from (its documented key names).
LOGS_ACCOUNT_NAME_SECRET = "AKS-AIRFLOW-LOGS-STORAGE-ACCOUNT-NAME"
LOGS_ACCOUNT_KEY_SECRET = "AKS-AIRFLOW-LOGS-STORAGE-ACCOUNT-KEY"
LOGS_SECRET = "airflow-logs-storage"
LOGS_SECRET_DATA: Mapping[str, str] = MappingProxyType(
    {"azurestorageaccountname": LOGS_ACCOUNT_NAME_SECRET, "azurestorageaccountkey": LOGS_ACCOUNT_KEY_SECRET}
)
# The AKS Blob CSI driver's built-in BlobFuse2 class (the PV, the claim and the chart's logs values).
STORAGE_CLASS = "azureblob-fuse-premium"

# logsMode=remote: Airflow's Azure Blob remote logging (the wasb handler) writes each task's
# log into the logs container under this prefix. It must start with "wasb" (that selects the
# handler); a plain prefix rather than a wasb:// URL, because Airflow 3.0/3.1 use the value
# as the blob prefix as it is, and later releases strip only a leading "wasb://".
REMOTE_LOG_FOLDER = "wasb-task-logs"
# The Airflow connection the handler reads (the provider's WasbHook.default_conn_name),
# given to every Airflow container as AIRFLOW_CONN_WASB_DEFAULT from an ESO-made Secret.
REMOTE_LOG_CONN_ID = "wasb_default"
REMOTE_LOG_CONN_ENV = "AIRFLOW_CONN_WASB_DEFAULT"
ACCOUNT_VAR = "account"
HOST_VAR = "host"

# databaseMode=managed: the Flexible Server's database for Airflow, its host (known only once
# Azure has created the server; the Database component writes it into Key Vault) and the
# administrator's generated password (Azure wants three of upper, lower, digit, symbol).
DATABASE_NAME = "airflow"
DATABASE_HOST_SECRET = "airflow-database-host"
DATABASE_ADMIN_PASSWORD_SECRET = "airflow-database-admin-password"
# The server's built-in PgBouncer listens here (pgbouncerEnabled with databaseMode=managed).
BUILTIN_PGBOUNCER_PORT = 6432

# The template variable ESO fills with the generated password (ExternalSecret data.secretKey).
PASSWORD_VAR = "password"
_PASSWORD = "{{ ." + PASSWORD_VAR + " }}"
_PASSWORD_IN_URL = "{{ ." + PASSWORD_VAR + " | urlquery }}"
_ACCOUNT = "{{ ." + ACCOUNT_VAR + " }}"
_HOST = "{{ ." + HOST_VAR + " }}"
# The chart's log servers (values `ports.workerLogs`, `ports.triggererLogs`): the UI reads a
# running task's log from the worker (or triggerer) that runs it.
WORKER_LOGS_PORT = 8793
TRIGGERER_LOGS_PORT = 8794
UI_LOG_ACCESS_POLICY = "allow-ui-to-log-servers"
POSTGRES_USER = "postgres"
POSTGRES_PORT = 5432
PGBOUNCER_PORT = 6543
REDIS_PORT = 6379
# The chart's statsd exporter: its Service `<release>-statsd` serves Prometheus metrics on this
# named port (both chart lines; tests/components/test_monitoring.py reads the real render).
STATSD_SCRAPE_PORT_NAME = "statsd-scrape"
STATSD_SCRAPE_PORT = 9102
# uiIngress: the Key Vault secret holding the UI's certificate and key (PEM).
UI_CERTIFICATE_SECRET = "airflow-ui-certificate"
# The application routing add-on: the Ingress annotation naming that secret, and the prefix of
# the kubernetes.io/tls Secret it fills for an Ingress (the facts folder quotes both:
# aks-app-routing-tls.yaml).
UI_KEYVAULT_URI_ANNOTATION = "kubernetes.azure.com/tls-cert-keyvault-uri"
UI_TLS_SECRET_PREFIX = "keyvault-"
# monitoring: the managed Prometheus agent's custom scrape ConfigMap, its namespace and key
# (the facts folder quotes them: azure-monitor-prometheus-scrape.yaml).
SCRAPE_CONFIGMAP = "ama-metrics-prometheus-config"
SCRAPE_CONFIGMAP_NAMESPACE = "kube-system"
SCRAPE_CONFIGMAP_KEY = "prometheus-config"


def static_secret(key: str) -> str:
    """A chart line's static key `key`: the Kubernetes Secret, and the Key Vault secret it
    comes from, are both `airflow-<key>` (the Secret's one key is `key`)."""
    return f"airflow-{key}"


@dataclass(frozen=True)
class SecretNames:
    """Kubernetes Secrets (made by ESO) and the claim the chart consumes, by name."""

    logs_claim: str
    # the chart line's static keys: static key -> Secret (`static_secret(key)`)
    static_keys: Mapping[str, str]
    admin_password: str = "airflow-admin"
    admin_password_key: str = "password"
    fernet_key: str = "airflow-fernet-key"
    fernet_key_key: str = "fernet-key"
    # Database and broker credentials: generated, in Key Vault, assembled by ESO. Named
    # unlike anything the chart (or its bitnami subchart) would create by default, so a
    # Secret never has two owners.
    postgresql: str = "airflow-postgresql-auth"
    metadata: str = "airflow-metadata-connection"
    pgbouncer_config: str = "airflow-pgbouncer-auth"
    pgbouncer_stats: str = "airflow-pgbouncer-exporter"
    redis_password: str = "airflow-redis-auth"
    broker_url: str = "airflow-celery-broker"
    # an SSH dagsGitRepo: the deploy key, under the key the chart's git-sync reads
    git_ssh_key: str = "airflow-git-ssh-key"
    git_ssh_key_key: str = "gitSshKey"
    # logsMode=remote: the `wasb_default` connection (the logs account's URL, no credential)
    remote_logs_connection: str = "airflow-remote-logs-connection"
    remote_logs_connection_key: str = "connection"


@dataclass(frozen=True)
class SecretSource:
    """What ESO puts in one Kubernetes Secret: Key Vault secrets, optionally through a template."""

    data: Mapping[str, str]  # key (or template variable) -> Key Vault secret
    template: Mapping[str, str] | None = None  # key -> template over the variables in `data`


# The subnets of a VNet the stack creates (networkMode=create): the nodes; the Flexible
# Server's (delegated to it, databaseMode=managed); the private endpoints (privateNetworking).
NODE_SUBNET = "aks-nodes"
DATABASE_SUBNET = "postgres"
ENDPOINT_SUBNET = "private-endpoints"
DATABASE_DELEGATION = "Microsoft.DBforPostgreSQL/flexibleServers"


@dataclass(frozen=True)
class NetworkPlan:
    """Where the cluster's nodes live when the stack places them (networkMode create or
    existing; with aks-managed, AKS makes its own VNet and there is no network plan).

    Azure CNI Overlay: nodes take addresses from the node subnet, pods from `pod_cidr`, a
    private range that never enters the VNet; Services from `service_cidr`. A VNet the stack
    creates is `address_space`; its first half is the node subnet, the second half is kept
    for the database and private-endpoint subnets."""

    mode: str  # create | existing
    cluster_identity: str  # the AKS control-plane identity, granted join on the node subnet
    pod_cidr: str
    service_cidr: str
    dns_service_ip: str
    vnet_name: str | None = None  # create: the VNet and its address space
    address_space: str | None = None
    node_subnet_name: str | None = None  # create: the node subnet, inside the VNet
    node_subnet_prefix: str | None = None
    node_subnet_id: str | None = None  # existing: the subnet, by its ARM id
    # databaseMode=managed: the subnet delegated to the Flexible Server (create: name and
    # prefix inside the VNet; existing: its ARM id)
    database_subnet_name: str | None = None
    database_subnet_prefix: str | None = None
    database_subnet_id: str | None = None
    # privateNetworking: the subnet the private endpoints take their addresses from
    endpoint_subnet_name: str | None = None
    endpoint_subnet_prefix: str | None = None
    endpoint_subnet_id: str | None = None

    @property
    def vnet_id(self) -> str | None:
        """existing: the VNet the node subnet belongs to (its ARM id, the subnet id's parent);
        private DNS zones are linked to it, so the nodes resolve private endpoints."""
        if self.node_subnet_id is None:
            return None
        return self.node_subnet_id.rsplit("/subnets/", 1)[0]


def network_plan(settings: Settings) -> NetworkPlan | None:
    """The network for these settings; None when AKS makes its own (networkMode=aks-managed)."""
    if settings.network_mode == "aks-managed":
        return None
    common = {
        "mode": settings.network_mode,
        "cluster_identity": settings.cluster_identity_name,
        "pod_cidr": POD_CIDR,
        "service_cidr": SERVICE_CIDR,
        "dns_service_ip": DNS_SERVICE_IP,
    }
    if settings.network_mode == "existing":
        return NetworkPlan(
            **common,
            node_subnet_id=settings.node_subnet_id,
            database_subnet_id=settings.database_subnet_id or None,
            endpoint_subnet_id=settings.private_endpoint_subnet_id or None,
        )
    space = ipaddress.IPv4Network(settings.vnet_address_space)
    nodes, reserved = space.subnets(prefixlen_diff=1)
    # the second half's first two /24s (the address space is /16 to /22, so the half holds both)
    database, endpoints = list(reserved.subnets(new_prefix=24))[:2]
    extra: dict[str, str] = {}
    if settings.managed_database:
        extra.update(database_subnet_name=DATABASE_SUBNET, database_subnet_prefix=str(database))
    if settings.private_networking:
        extra.update(endpoint_subnet_name=ENDPOINT_SUBNET, endpoint_subnet_prefix=str(endpoints))
    return NetworkPlan(
        **common,
        vnet_name=settings.vnet_name,
        address_space=str(space),
        node_subnet_name=NODE_SUBNET,
        node_subnet_prefix=str(nodes),
        **extra,
    )


@dataclass(frozen=True)
class LogIdentity:
    """A managed identity Airflow's pods use for remote task logs (logsMode=remote): the
    role it holds on the logs container, and the chart ServiceAccounts that assume it
    (values key of the component -> the ServiceAccount's name, set in the chart values)."""

    key: str  # writer | reader: its part of resource names
    name: str  # the managed identity's name
    role: str  # an Azure built-in role name (components.azure_roles)
    service_accounts: Mapping[str, str]

    def subjects(self, namespace: str) -> dict[str, str]:
        """Federated credential name -> the exact token subject, one per ServiceAccount."""
        return {sa: service_account_subject(namespace, sa) for sa in self.service_accounts.values()}


LOGS_WRITER_ROLE = "Storage Blob Data Contributor"
LOGS_READER_ROLE = "Storage Blob Data Reader"


def log_identities(settings: Settings, profile: ChartProfile, release: str) -> tuple[LogIdentity, ...]:
    """logsMode=remote: who writes task logs (tasks, the triggerer, the scheduler, the DAG
    processor: Contributor) and who only reads them (the UI: Reader), each on the container.
    The ServiceAccounts are named here, as the chart would name them, and the values set
    those names, so the chart and the federated credentials cannot disagree."""
    if settings.logs_mode != "remote":
        return ()

    def accounts(keys: Mapping[str, str]) -> dict[str, str]:
        return {key: f"{release}-{component}" for key, component in keys.items()}

    return (
        LogIdentity("writer", settings.logs_writer_identity_name, LOGS_WRITER_ROLE, accounts(profile.log_writers)),
        LogIdentity("reader", settings.logs_reader_identity_name, LOGS_READER_ROLE, accounts(profile.log_readers)),
    )


@dataclass(frozen=True)
class StackPlan:
    stack: str
    profile: ChartProfile
    namespace: str  # Airflow's namespace: the release, the ServiceAccount, the Secrets, the claim
    operator_namespace: str  # where External Secrets Operator runs
    service_account: str  # the workload-identity ServiceAccount (ESO's SecretStore uses it)
    identity_name: str  # its user-assigned managed identity
    federated_subjects: Mapping[str, str]  # federated credential name -> exact token subject
    airflow_release: str
    operator_release: str
    logs_claim: str
    logs_volume: str  # PersistentVolumes are cluster-scoped: the namespace keeps two stacks apart
    storage_class: str
    names: SecretNames
    # every Kubernetes Secret ESO assembles -> its Key Vault sources (the logs Secret first)
    secrets: Mapping[str, SecretSource]
    # Key Vault secrets generated besides the admin password and the Fernet key -> length
    generated_passwords: Mapping[str, int]
    # `repository:tag` in the registry -> the upstream image to import it from (None: a
    # custom `airflowImageTag`, which you build and push yourself)
    images: Mapping[str, str | None] = field(default_factory=dict)
    network: NetworkPlan | None = None  # None: AKS makes its own VNet (the article)
    # logsMode=remote: the identities Airflow's pods write and read task logs with
    log_identities: tuple[LogIdentity, ...] = ()
    # databaseMode=managed: the private DNS zone the Flexible Server registers in
    database_dns_zone: str | None = None
    # an SSH dagsGitRepo: the Key Vault secret the generated deploy key is kept in (None: https or no repo)
    git_ssh_key_secret: str | None = None
    # NetworkPolicies of the stack's own in Airflow's namespace: name -> spec (ui_log_access)
    network_policies: Mapping[str, Mapping[str, object]] = field(default_factory=dict)
    # uiIngress: the Ingress the chart renders for the UI (None: port-forward only)
    ui_ingress: str | None = None

    @property
    def statsd_service(self) -> str:
        """The chart's statsd exporter Service (what managed Prometheus scrapes)."""
        return f"{self.airflow_release}-statsd"

    @property
    def ui_port_forward(self) -> str:
        """The UI: the webserver on Airflow 2, the API server on Airflow 3 (both on 8080)."""
        service = f"{self.airflow_release}-{self.profile.ui_service}"
        return f"kubectl port-forward svc/{service} 8080:8080 --namespace {self.namespace}"


def ui_log_access(profile: ChartProfile, release: str, network: NetworkPlan | None) -> dict[str, dict[str, object]]:
    """NetworkPolicy name -> spec (Kubernetes' camelCase) the stack adds to what the chart's
    policies allow: with a policy engine (the stack's network) on a chart line whose worker and
    triggerer policies do not admit its UI, the UI component to their log servers (a running
    or deferred task's log is there until it ends)."""
    if network is None or profile.log_servers_admit_ui:
        return {}
    airflow = {"tier": "airflow", "release": release}
    return {
        UI_LOG_ACCESS_POLICY: {
            "podSelector": {
                "matchLabels": airflow,
                "matchExpressions": [{"key": "component", "operator": "In", "values": ["worker", "triggerer"]}],
            },
            "policyTypes": ["Ingress"],
            "ingress": [
                {
                    "from": [{"podSelector": {"matchLabels": {**airflow, "component": profile.ui_service}}}],
                    "ports": [
                        {"protocol": "TCP", "port": WORKER_LOGS_PORT},
                        {"protocol": "TCP", "port": TRIGGERER_LOGS_PORT},
                    ],
                }
            ],
        }
    }


def ui_tls_secret_name(ingress_name: str) -> str:
    """The kubernetes.io/tls Secret the add-on fills for an Ingress named `ingress_name`."""
    return UI_TLS_SECRET_PREFIX + ingress_name


def ui_ingress_name(release: str) -> str:
    """The name the chart gives the UI's Ingress: `{{ $fullname }}-ingress` (web and API
    server alike, chart 1.15 and 1.19), the fullname being the release's name."""
    return f"{release}-ingress"


def build_plan(settings: Settings) -> StackPlan:
    """Every shared name for these settings (pure: the same settings, the same plan)."""
    profile = PROFILES[settings.airflow_chart_version]
    namespace = settings.namespace
    claim = f"pvc-{namespace}-logs"
    names = SecretNames(logs_claim=claim, static_keys={key: static_secret(key) for key in profile.static_keys})
    return StackPlan(
        stack=settings.stack,
        profile=profile,
        namespace=namespace,
        operator_namespace=settings.operator_namespace,
        service_account=settings.service_account_name,
        identity_name=settings.identity_name,
        federated_subjects={OPERATOR_CREDENTIAL: service_account_subject(namespace, settings.service_account_name)},
        airflow_release=AIRFLOW_RELEASE,
        operator_release=OPERATOR_RELEASE,
        logs_claim=claim,
        logs_volume=f"pv-{namespace}-logs",
        storage_class=STORAGE_CLASS,
        names=names,
        secrets=secret_sources(settings, names),
        generated_passwords=generated_passwords(settings),
        images={**image_mirrors(settings), **operator_image_mirrors(settings.secrets_operator_chart_version)},
        network=network_plan(settings),
        log_identities=log_identities(settings, profile, AIRFLOW_RELEASE),
        network_policies=ui_log_access(profile, AIRFLOW_RELEASE, network_plan(settings)),
        git_ssh_key_secret=GIT_SSH_KEY_SECRET if settings.dags_git_ssh else None,
        ui_ingress=ui_ingress_name(AIRFLOW_RELEASE) if settings.ui_ingress != "none" else None,
        database_dns_zone=(
            f"{settings.name_prefix}-{settings.stack}.private.postgres.database.azure.com"
            if settings.managed_database
            else None
        ),
    )


STATIC_KEY_LENGTH = 64  # the chart line's static keys (webserver/API secret key, JWT secret)
PASSWORD_LENGTH = 32  # the bundled PostgreSQL's and Redis's passwords


def generated_passwords(settings: Settings) -> dict[str, int]:
    """Key Vault secrets beyond the admin password and Fernet key that these settings need,
    with their length."""
    wanted = {static_secret(key): STATIC_KEY_LENGTH for key in PROFILES[settings.airflow_chart_version].static_keys}
    if settings.postgresql_enabled:
        wanted[POSTGRES_PASSWORD_SECRET] = PASSWORD_LENGTH
    if settings.managed_database:
        wanted[DATABASE_ADMIN_PASSWORD_SECRET] = PASSWORD_LENGTH
    if uses_celery(settings):
        wanted[REDIS_PASSWORD_SECRET] = PASSWORD_LENGTH
    return wanted


def secret_sources(settings: Settings, names: SecretNames) -> dict[str, SecretSource]:
    """Every Kubernetes Secret the pods read, and where ESO gets its content: the logs
    account (logsMode=pv: name and key for the Blob CSI driver; remote: the `wasb_default`
    connection, the account's URL and no credential), the admin password, the Fernet key,
    the chart line's static keys, then the database and broker credentials (templates over
    a password, and over the managed server's host)."""
    sources: dict[str, SecretSource] = {}
    if settings.logs_mode == "remote":
        sources[names.remote_logs_connection] = SecretSource(
            {ACCOUNT_VAR: LOGS_ACCOUNT_NAME_SECRET},
            {names.remote_logs_connection_key: remote_logs_connection(_ACCOUNT)},
        )
    else:
        sources[LOGS_SECRET] = SecretSource(LOGS_SECRET_DATA)
    sources[names.admin_password] = SecretSource({names.admin_password_key: ADMIN_PASSWORD_SECRET})
    sources[names.fernet_key] = SecretSource({names.fernet_key_key: FERNET_KEY_SECRET})
    for key, target in names.static_keys.items():
        sources[target] = SecretSource({key: static_secret(key)})
    if settings.dags_git_ssh:
        sources[names.git_ssh_key] = SecretSource({names.git_ssh_key_key: GIT_SSH_KEY_SECRET})
    bundled = {names.postgresql, names.metadata, names.pgbouncer_config, names.pgbouncer_stats}
    for target, template in credential_templates(settings, names, AIRFLOW_RELEASE).items():
        if settings.managed_database and target == names.metadata:
            data = {PASSWORD_VAR: DATABASE_ADMIN_PASSWORD_SECRET, HOST_VAR: DATABASE_HOST_SECRET}
        else:
            data = {PASSWORD_VAR: POSTGRES_PASSWORD_SECRET if target in bundled else REDIS_PASSWORD_SECRET}
        sources[target] = SecretSource(data, template)
    return sources


def remote_logs_connection(account: str) -> str:
    """The `wasb_default` connection (Airflow's JSON form) for the storage account `account`:
    its blob endpoint as the host and nothing else. WasbHook.get_conn (provider 10.1 to 13)
    then falls through to DefaultAzureCredential(), which takes workload identity from the
    environment the AKS webhook injects; connection extras would be passed on to
    BlobServiceClient as keyword arguments, so there are none."""
    return json.dumps({"conn_type": "wasb", "host": f"https://{account}.blob.core.windows.net/"}, sort_keys=True)


def image_mirrors(settings: Settings) -> dict[str, str | None]:
    """The chart line's images: `repository:tag` in the registry -> the upstream image."""
    profile = PROFILES[settings.airflow_chart_version]
    custom = settings.airflow_image_tag
    mirrors: dict[str, str | None] = {}
    for key, image in profile.images.items():
        if key in profile.airflow_image_keys and custom:
            mirrors[f"{image.path}:{custom}"] = None
        else:
            mirrors[f"{image.path}:{image.tag}"] = f"{image.source}:{image.tag}"
    if settings.postgresql_enabled:
        pg = profile.postgresql_image
        mirrors[f"{pg.path}:{pg.tag}"] = f"{pg.source}:{pg.tag}"
    return mirrors


def operator_image_mirrors(chart_version: str) -> dict[str, str | None]:
    """External Secrets Operator's images: `repository:tag` in the registry -> upstream."""
    tag = f"v{chart_version}"
    return {f"{path}:{tag}": f"{ESO_IMAGE_SOURCE}:{tag}" for path in sorted(set(ESO_IMAGES.values()))}


def uses_celery(settings: Settings) -> bool:
    return "Celery" in settings.executor


def credential_templates(settings: Settings, names: SecretNames, release: str) -> dict[str, dict[str, str]]:
    """Kubernetes Secret -> {key: ESO template} for the database and broker credentials.

    Left to itself the chart builds these from plain-text values: the bundled PostgreSQL
    keeps ``postgres``/``postgres`` and Redis gets a password made up in a Helm hook. Here
    each is a template that ESO renders with ``{{ .password }}``, the generated password
    it reads from Key Vault, so no credential passes through values, state or logs. The
    strings mirror what the chart's own templates render from its default values
    (release ``release``).
    """
    out: dict[str, dict[str, str]] = {}
    ns = settings.namespace
    if settings.managed_database:
        # The Flexible Server: TLS required by the server (require_secure_transport) and by
        # the client; through its built-in PgBouncer (pgbouncerEnabled) or straight to it.
        port = BUILTIN_PGBOUNCER_PORT if settings.pgbouncer_enabled else POSTGRES_PORT
        login = settings.database_admin_login
        out[names.metadata] = {
            "connection": f"postgresql://{login}:{_PASSWORD_IN_URL}@{_HOST}:{port}/{DATABASE_NAME}?sslmode=require"
        }
    if settings.postgresql_enabled:
        # the bitnami subchart's auth.existingSecret (auth.secretKeys.adminPasswordKey)
        out[names.postgresql] = {"postgres-password": _PASSWORD}
        if settings.pgbouncer_enabled:
            host, port, database = f"{release}-pgbouncer.{ns}", PGBOUNCER_PORT, f"{release}-metadata"
        else:
            host, port, database = f"{release}-postgresql.{ns}", POSTGRES_PORT, "postgres"
        out[names.metadata] = {
            "connection": f"postgresql://{POSTGRES_USER}:{_PASSWORD_IN_URL}@{host}:{port}/{database}?sslmode=disable"
        }
        if settings.pgbouncer_enabled:
            out[names.pgbouncer_config] = {
                "pgbouncer.ini": pgbouncer_ini(release, ns),
                # one line for the metadata database, one for the result backend (same user)
                "users.txt": f'"{POSTGRES_USER}" "{_PASSWORD}"\n"{POSTGRES_USER}" "{_PASSWORD}"\n',
            }
            out[names.pgbouncer_stats] = {
                "connection": f"postgresql://{POSTGRES_USER}:{_PASSWORD_IN_URL}@127.0.0.1:{PGBOUNCER_PORT}"
                "/pgbouncer?sslmode=disable"
            }
    if uses_celery(settings):
        out[names.redis_password] = {"password": _PASSWORD}
        out[names.broker_url] = {"connection": f"redis://:{_PASSWORD_IN_URL}@{release}-redis:{REDIS_PORT}/0"}
    return out


def pgbouncer_ini(release: str, namespace: str) -> str:
    """The chart's pgbouncer.ini with its default settings (no secret in it)."""
    host = f"{release}-postgresql.{namespace}"
    return (
        "[databases]\n"
        f"{release}-metadata = host={host} dbname=postgres port={POSTGRES_PORT} pool_size=10\n"
        f"{release}-result-backend = host={host} dbname=postgres port={POSTGRES_PORT} pool_size=5\n"
        "\n"
        "[pgbouncer]\n"
        "pool_mode = transaction\n"
        f"listen_port = {PGBOUNCER_PORT}\n"
        "listen_addr = *\n"
        "auth_type = scram-sha-256\n"
        "auth_file = /etc/pgbouncer/users.txt\n"
        f"stats_users = {POSTGRES_USER}\n"
        "ignore_startup_parameters = extra_float_digits\n"
        "max_client_conn = 100\n"
        "verbose = 0\n"
        "log_disconnections = 0\n"
        "log_connections = 0\n"
        "\n"
        "server_tls_sslmode = prefer\n"
        "server_tls_ciphers = normal\n"
    )

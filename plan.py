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

# The template variable ESO fills with the generated password (ExternalSecret data.secretKey).
PASSWORD_VAR = "password"
_PASSWORD = "{{ ." + PASSWORD_VAR + " }}"
_PASSWORD_IN_URL = "{{ ." + PASSWORD_VAR + " | urlquery }}"
POSTGRES_USER = "postgres"
POSTGRES_PORT = 5432
PGBOUNCER_PORT = 6543
REDIS_PORT = 6379


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


@dataclass(frozen=True)
class SecretSource:
    """What ESO puts in one Kubernetes Secret: Key Vault secrets, optionally through a template."""

    data: Mapping[str, str]  # key (or template variable) -> Key Vault secret
    template: Mapping[str, str] | None = None  # key -> template over the variables in `data`


# The subnet the nodes join in a VNet the stack creates (networkMode=create).
NODE_SUBNET = "aks-nodes"


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
        return NetworkPlan(**common, node_subnet_id=settings.node_subnet_id)
    space = ipaddress.IPv4Network(settings.vnet_address_space)
    nodes, _reserved = space.subnets(prefixlen_diff=1)
    return NetworkPlan(
        **common,
        vnet_name=settings.vnet_name,
        address_space=str(space),
        node_subnet_name=NODE_SUBNET,
        node_subnet_prefix=str(nodes),
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

    @property
    def ui_port_forward(self) -> str:
        """The UI: the webserver on Airflow 2, the API server on Airflow 3 (both on 8080)."""
        service = f"{self.airflow_release}-{self.profile.ui_service}"
        return f"kubectl port-forward svc/{service} 8080:8080 --namespace {self.namespace}"


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
    )


STATIC_KEY_LENGTH = 64  # the chart line's static keys (webserver/API secret key, JWT secret)
PASSWORD_LENGTH = 32  # the bundled PostgreSQL's and Redis's passwords


def generated_passwords(settings: Settings) -> dict[str, int]:
    """Key Vault secrets beyond the admin password and Fernet key that these settings need,
    with their length."""
    wanted = {static_secret(key): STATIC_KEY_LENGTH for key in PROFILES[settings.airflow_chart_version].static_keys}
    if settings.postgresql_enabled:
        wanted[POSTGRES_PASSWORD_SECRET] = PASSWORD_LENGTH
    if uses_celery(settings):
        wanted[REDIS_PASSWORD_SECRET] = PASSWORD_LENGTH
    return wanted


def secret_sources(settings: Settings, names: SecretNames) -> dict[str, SecretSource]:
    """Every Kubernetes Secret the pods read, and where ESO gets its content: the logs
    account for the Blob CSI driver, the admin password, the Fernet key, the chart line's
    static keys, then the database and broker credentials (templates over a password)."""
    sources = {
        LOGS_SECRET: SecretSource(LOGS_SECRET_DATA),
        names.admin_password: SecretSource({names.admin_password_key: ADMIN_PASSWORD_SECRET}),
        names.fernet_key: SecretSource({names.fernet_key_key: FERNET_KEY_SECRET}),
    }
    for key, target in names.static_keys.items():
        sources[target] = SecretSource({key: static_secret(key)})
    database = {names.postgresql, names.metadata, names.pgbouncer_config, names.pgbouncer_stats}
    for target, template in credential_templates(settings, names, AIRFLOW_RELEASE).items():
        password = POSTGRES_PASSWORD_SECRET if target in database else REDIS_PASSWORD_SECRET
        sources[target] = SecretSource({PASSWORD_VAR: password}, template)
    return sources


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

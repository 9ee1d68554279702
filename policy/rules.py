"""Guardrails of the airflow-aks stack as plain functions over a resource's type and properties.

One source of truth for two runners:

* ``pulumi preview --policy-pack policy``: ``policy/__main__.py`` wraps every :data:`POLICIES`
  entry in a CrossGuard policy (the only module that imports ``pulumi_policy``);
* offline: the synth runs :func:`evaluate` over the resources the program registered under mocks.

No Pulumi import here, and nothing outside the standard library and :mod:`kube` (the Kubernetes
facts and value walkers synth shares). Properties are read through ``Mapping``/``Sequence`` only,
so CrossGuard's unknown-checking proxies work unchanged (reading an unknown value raises there,
and CrossGuard reports the policy as not runnable during that preview).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

if __package__:  # imported as policy.rules (synth, tests)
    from policy.kube import DEFAULT_NAMESPACE, images, is_list, is_secret, lookup, plain, registry_path, walk
    from policy.kube import service_account_subject as subject_of
else:  # the Pulumi CLI runs policy/ as a script directory: its modules are top-level there
    from kube import (  # type: ignore[no-redef]
        DEFAULT_NAMESPACE,
        images,
        is_list,
        is_secret,
        lookup,
        plain,
        registry_path,
        walk,
    )
    from kube import service_account_subject as subject_of  # type: ignore[no-redef]

# Resource type tokens the policies look at.
KEY_VAULT = "azure-native:keyvault:Vault"
KEY_VAULT_SECRET = "azure-native:keyvault:Secret"  # noqa: S105 - a type token
ROLE_ASSIGNMENT = "azure-native:authorization:RoleAssignment"
STORAGE_ACCOUNT = "azure-native:storage:StorageAccount"
BLOB_CONTAINER = "azure-native:storage:BlobContainer"
MANAGED_CLUSTER = "azure-native:containerservice:ManagedCluster"
FEDERATED_CREDENTIAL = "azure-native:managedidentity:FederatedIdentityCredential"
HELM_RELEASE = "kubernetes:helm.sh/v3:Release"
SERVICE_ACCOUNT = "kubernetes:core/v1:ServiceAccount"
KUBERNETES_SECRET = "kubernetes:core/v1:Secret"  # noqa: S105 - a type token
KUBERNETES_PROVIDER = "pulumi:providers:kubernetes"
RESOURCE_GROUP = "azure-native:resources:ResourceGroup"
PERSISTENT_VOLUME = "kubernetes:core/v1:PersistentVolume"
PERSISTENT_VOLUME_CLAIM = "kubernetes:core/v1:PersistentVolumeClaim"
POSTGRESQL_FLEXIBLE_SERVER = "azure-native:dbforpostgresql:Server"
POSTGRESQL_DATABASE = "azure-native:dbforpostgresql:Database"  # Airflow's metadata on a flexible server
POSTGRESQL_CONFIGURATION = "azure-native:dbforpostgresql:Configuration"  # a server parameter
LOG_ANALYTICS_WORKSPACE = "azure-native:operationalinsights:Workspace"
AZURE_MONITOR_WORKSPACE = "azure-native:monitor:AzureMonitorWorkspace"
# What holds data (or, for a resource group, everything in it): deleting one loses it.
STATEFUL_TYPES = frozenset(
    {
        RESOURCE_GROUP,
        MANAGED_CLUSTER,
        KEY_VAULT,
        STORAGE_ACCOUNT,
        BLOB_CONTAINER,
        PERSISTENT_VOLUME,
        PERSISTENT_VOLUME_CLAIM,
        POSTGRESQL_FLEXIBLE_SERVER,
        POSTGRESQL_DATABASE,
        LOG_ANALYTICS_WORKSPACE,  # container logs (Container Insights)
        AZURE_MONITOR_WORKSPACE,  # metrics (managed Prometheus)
    }
)

AIRFLOW_CHART = "airflow"
# chart name -> (repository URL, the exact version or versions a release may install)
ChartPin = tuple[str, str | tuple[str, ...]]
DEFAULT_CHARTS: Mapping[str, ChartPin] = {
    AIRFLOW_CHART: ("https://airflow.apache.org", ("1.15.0", "1.19.0")),
    "external-secrets": ("https://charts.external-secrets.io", "2.9.0"),
}


@dataclass(frozen=True)
class PolicyResource:
    urn: str
    type: str  # Pulumi type token, e.g. "azure-native:keyvault:Vault"
    name: str  # logical name
    # Input properties, camelCase as on the wire. Values the program marked secret are wrapped
    # in an object with a `.value` attribute (see is_secret).
    props: dict[str, Any]
    # The `protect` resource option (CrossGuard: args.opts.protect)
    protect: bool = False


@dataclass(frozen=True)
class PolicyConfig:
    registry: str  # the ACR login server every image must come from, e.g. "myacr.azurecr.io"
    # chart name -> (repository URL, exact version or versions) a Helm release may install
    charts: Mapping[str, ChartPin] = field(default_factory=lambda: dict(DEFAULT_CHARTS))
    # False where the runner cannot tell marked secrets from plain values (CrossGuard's Python SDK
    # hands validations plaintext): the checks that a value IS marked secret are then skipped.
    secret_markers: bool = True
    # Stacks whose stateful resources must be protected against deletion.
    protected_stacks: tuple[str, ...] = ("prod",)
    # The production stacks: their clusters sit in a network the stack controls, with a policy
    # engine; Airflow's database is a managed, zone-redundant, private Flexible Server; storage
    # takes no shared keys; Key Vault and storage are reachable through private endpoints only.
    isolated_stacks: tuple[str, ...] = ("prod",)


@dataclass(frozen=True)
class Violation:
    policy: str
    urn: str
    message: str
    mandatory: bool


ResourceCheck = Callable[[PolicyResource, PolicyConfig], list[str]]
StackCheck = Callable[[Sequence[PolicyResource], PolicyConfig], list[tuple[str, str]]]  # -> (urn, message)
OutputsCheck = Callable[[Mapping[str, tuple[Any, bool]]], list[str]]


@dataclass(frozen=True)
class Policy:
    name: str
    rationale: str  # one line
    resource_check: ResourceCheck | None = None  # one resource at a time
    stack_check: StackCheck | None = None  # needs every resource of the stack
    outputs_check: OutputsCheck | None = None  # stack outputs: offline only (CrossGuard has none)
    mandatory: bool = True


# ---------------------------------------------------------------------------- value helpers
# is_secret, plain (secrets unwrapped), lookup (a nested value), is_list and walk: see kube.py.
def is_unknown(value: Any) -> bool:
    """True for a value not known yet (synth.mocks.Unknown)."""
    return type(value).__name__ == "Unknown"


def known_at(node: Any, *path: str) -> Any:
    """`lookup`, except that a value not known yet met on the way is returned as it is, so that a
    rule can tell "not known yet" (skip it: it is judged on `up`) from "unset" (judge it)."""
    node = plain(node)
    for key in path:
        if is_unknown(node):
            return node
        if not isinstance(node, Mapping):
            return None
        node = plain(node.get(key))
    return node


def _nonempty_str(value: Any) -> bool:
    return isinstance(value, str) and value.strip() != ""


def _words(name: str) -> list[str]:
    """camelCase / snake_case / kebab-case name -> lowercase words."""
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", name)
    return [w.lower() for w in re.split(r"[^A-Za-z0-9]+", spaced) if w]


def _squash(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


# Keys whose string value IS a credential. Matched on the key's end, so that names and
# references (webserverSecretKeySecretName, secretKeyRef, adminPasswordKey, existingSecret,
# sshKeySecret, keytabPath) stay allowed. Checked against outside lists, never against a copy
# of this one: every values key of the pinned Airflow charts whose schema describes a
# credential, and Airflow's own sensitive-name keywords (tests/policy/test_rules.py).
_CREDENTIAL_KEY_SUFFIXES = (
    "password",
    "passwd",
    "passphrase",
    "secretkey",
    "fernetkey",
    "apikey",
    "accountkey",
    "storagekey",
    "privatekey",
    "sshkey",
    "keytab",
    "keytabbase64content",
    "keyfiledict",
    "clientsecret",
    "jwtsecret",
    "token",
    "authorization",
    "connectionstring",
    "kubeconfig",
)
_CREDENTIAL_KEYS = frozenset({"pass", "pwd", "secret"})
# A key named just `key` holds a private key under these parents (e.g. the Airflow chart's
# pgbouncer.ssl.key); elsewhere it names a key of a Secret or ConfigMap (secretKeyRef.key).
_PRIVATE_KEY_PARENTS = frozenset({"ssl", "tls"})
# The content of a Secret the chart renders from values (the Airflow chart's
# extraSecrets.<name>.data / .stringData): under a key ending in `secrets`, one entry down.
_SECRET_CONTENT_KEYS = frozenset({"data", "stringdata"})


def is_credential_key(key: str) -> bool:
    squashed = _squash(key)
    return squashed in _CREDENTIAL_KEYS or squashed.endswith(_CREDENTIAL_KEY_SUFFIXES)


def is_credential_key_at(key: str, parents: Sequence[str] = ()) -> bool:
    """`is_credential_key`, plus the keys that hold a credential only where they are: `parents`
    are the mapping keys above `key`, outermost first (list indexes left out)."""
    squashed = _squash(key)
    if squashed == "secretkey" and parents and _squash(parents[-1]) == "secret":
        # the Airflow chart's `secret: [{envName, secretName, secretKey}]`: an environment
        # variable from a key of a Kubernetes Secret (the key's name, not its content)
        return False
    if is_credential_key(key):
        return True
    if squashed == "key" and parents and _squash(parents[-1]) in _PRIVATE_KEY_PARENTS:
        return True
    return squashed in _SECRET_CONTENT_KEYS and len(parents) >= 2 and _squash(parents[-2]).endswith("secrets")


def is_sensitive_output_name(name: str) -> bool:
    """Output names that announce credential material: kubeconfig, password, token, ...Key."""
    words = _words(name)
    return is_credential_key(name) or "kubeconfig" in _squash(name) or bool(words and words[-1] == "key")


def credential_material(value: Any, path: str = "") -> list[str]:
    """Paths under `value` where a credential-named key holds a non-empty string.

    Secret-marked or not: a credential in Helm values ends up in the release's Secret and in
    every `helm get values`. The empty string (the charts' "unset") is allowed.
    """
    return [
        f"{where}.{key}" if where else str(key)
        for where, parents, node in walk(value, path)
        if isinstance(node, Mapping)
        for key in node
        if is_credential_key_at(str(key), parents) and _nonempty_str(plain(node[key]))
    ]


# ---------------------------------------------------------------------------- 1. credentials
def check_credentials(r: PolicyResource, config: PolicyConfig) -> list[str]:
    out: list[str] = []
    if r.type == KEY_VAULT_SECRET and config.secret_markers:
        props = r.props.get("properties")
        value = props.get("value") if isinstance(props, Mapping) else None
        if value is not None and not is_secret(props) and not is_secret(value) and not is_unknown(value):
            out.append(f"Key Vault secret {r.name}: properties.value is not marked secret (use pulumi.Output.secret)")
    elif r.type == KUBERNETES_PROVIDER and config.secret_markers:
        kubeconfig = r.props.get("kubeconfig")
        if _nonempty_str(kubeconfig):
            out.append(f"Kubernetes provider {r.name}: kubeconfig is not marked secret")
    elif r.type == KUBERNETES_SECRET and config.secret_markers:
        for key in ("data", "stringData"):
            data = r.props.get(key)
            if data is None or is_secret(data) or not isinstance(data, Mapping):
                continue
            out.extend(
                f"Kubernetes Secret {r.name}: {key}.{k} is not marked secret"
                for k, v in data.items()
                if not is_secret(v) and not is_unknown(v)
            )
    elif r.type == HELM_RELEASE:
        out.extend(
            f"Helm release {r.name}: {path} carries credential material; reference a Kubernetes Secret instead"
            for path in credential_material(r.props.get("values"), "values")
        )
    return out


def check_credential_outputs(outputs: Mapping[str, tuple[Any, bool]]) -> list[str]:
    out: list[str] = []
    for name, (value, secret) in sorted(outputs.items()):
        if secret or is_secret(value):
            continue
        if is_sensitive_output_name(name) and value not in (None, ""):
            out.append(f"stack output {name} is not marked secret")
        out.extend(
            f"stack output {name}: {path} carries credential material and is not marked secret"
            for path in credential_material(value, name)
        )
    return out


# ---------------------------------------------------------------------------- 2. Key Vault access
_READ_ONLY_SECRET_PERMISSIONS = frozenset({"get", "list"})


def check_key_vault_access(r: PolicyResource, _config: PolicyConfig) -> list[str]:
    out: list[str] = []
    if r.type == KEY_VAULT:
        props = lookup(r.props, "properties")
        props = props if isinstance(props, Mapping) else {}
        if plain(props.get("enableSoftDelete")) is False:
            out.append(f"Key Vault {r.name}: enableSoftDelete is false")
        if plain(props.get("enableRbacAuthorization")) is not True:
            policies = plain(props.get("accessPolicies")) or []
            for i, entry in enumerate(policies if is_list(policies) else []):
                perms = lookup(entry, "permissions")
                perms = perms if isinstance(perms, Mapping) else {}
                secrets = {str(plain(p)).lower() for p in (plain(perms.get("secrets")) or [])}
                if not secrets <= _READ_ONLY_SECRET_PERMISSIONS:
                    extra = ", ".join(sorted(secrets - _READ_ONLY_SECRET_PERMISSIONS))
                    out.append(
                        f"Key Vault {r.name}: accessPolicies[{i}] grants secret permissions {extra} "
                        "(only get/list allowed)"
                    )
                for kind in ("keys", "certificates", "storage"):
                    if plain(perms.get(kind)):
                        out.append(
                            f"Key Vault {r.name}: accessPolicies[{i}] grants {kind} permissions (secrets get/list only)"
                        )
    elif r.type == ROLE_ASSIGNMENT:
        scope = plain(r.props.get("scope"))
        if isinstance(scope, str):
            normalized = scope.strip().rstrip("/").lower()
            if "/providers/" not in normalized or normalized.startswith("/providers/"):
                out.append(f"role assignment {r.name}: scope {scope!r} is wider than a single resource")
    return out


# ---------------------------------------------------------------------------- 3. storage
_TLS_OK = frozenset({"TLS1_2", "TLS1_3"})


def check_storage(r: PolicyResource, _config: PolicyConfig) -> list[str]:
    out: list[str] = []
    if r.type == STORAGE_ACCOUNT:
        if plain(r.props.get("enableHttpsTrafficOnly")) is not True:
            out.append(f"storage account {r.name}: enableHttpsTrafficOnly must be true")
        tls = plain(r.props.get("minimumTlsVersion"))
        if tls not in _TLS_OK:
            out.append(f"storage account {r.name}: minimumTlsVersion {tls!r} (TLS1_2 or TLS1_3 required)")
        if plain(r.props.get("allowBlobPublicAccess")) is not False:
            out.append(f"storage account {r.name}: allowBlobPublicAccess must be false")
    elif r.type == BLOB_CONTAINER:
        access = plain(r.props.get("publicAccess"))
        if access not in (None, "None"):
            out.append(f"blob container {r.name}: publicAccess {access!r} (must be None)")
    return out


# ---------------------------------------------------------------------------- 4. AKS
def check_aks(r: PolicyResource, _config: PolicyConfig) -> list[str]:
    if r.type != MANAGED_CLUSTER:
        return []
    out: list[str] = []
    if lookup(r.props, "oidcIssuerProfile", "enabled") is not True:
        out.append(f"AKS cluster {r.name}: oidcIssuerProfile.enabled must be true")
    if lookup(r.props, "securityProfile", "workloadIdentity", "enabled") is not True:
        out.append(f"AKS cluster {r.name}: securityProfile.workloadIdentity.enabled must be true")
    if plain(r.props.get("enableRBAC")) is not True:
        out.append(f"AKS cluster {r.name}: enableRBAC must be true (Kubernetes RBAC off: any identity may do anything)")
    if lookup(r.props, "aadProfile") and plain(r.props.get("disableLocalAccounts")) is not True:
        out.append(f"AKS cluster {r.name}: Entra ID is on (aadProfile) but local accounts are not disabled")
    return out


# ---------------------------------------------------------------------------- 5. Helm sources
_VERSION_RANGE = re.compile(r"[\^~*<>=|, ]|(^|\.)[xX](\.|$)")


def chart_name(chart: Any) -> str:
    """`airflow` for "airflow" and "repo/airflow"."""
    return str(plain(chart) or "").rstrip("/").rsplit("/", 1)[-1]


def _same_url(a: str, b: str) -> bool:
    return a.strip().rstrip("/").lower() == b.strip().rstrip("/").lower()


def check_helm_sources(r: PolicyResource, config: PolicyConfig) -> list[str]:
    if r.type != HELM_RELEASE:
        return []
    out: list[str] = []
    name = chart_name(r.props.get("chart"))
    version = plain(r.props.get("version"))
    repo = lookup(r.props, "repositoryOpts", "repo")
    expected = config.charts.get(name)
    if expected is None:
        approved = ", ".join(sorted(config.charts))
        out.append(f"Helm release {r.name}: chart {name!r} is not an approved chart ({approved})")
    else:
        want_repo, want = expected
        allowed = (want,) if isinstance(want, str) else tuple(want)
        if not _nonempty_str(version) or _VERSION_RANGE.search(str(version)):
            out.append(f"Helm release {r.name}: chart version {version!r} is not an exact version")
        elif version not in allowed:
            out.append(f"Helm release {r.name}: chart {name} version {version} (expected {' or '.join(allowed)})")
        if not isinstance(repo, str) or not _same_url(repo, want_repo):
            out.append(f"Helm release {r.name}: chart {name} from repository {repo!r} (expected {want_repo})")

    for path, ref, tag in images(r.props.get("values"), "values"):
        if registry_path(ref, config.registry) is None:
            out.append(f"Helm release {r.name}: {path} image {ref!r} is not from the registry {config.registry!r}")
        if "@sha256:" in ref:
            continue  # pinned by digest
        if not _nonempty_str(tag) or str(tag).strip() == "latest":
            out.append(f"Helm release {r.name}: {path} image {ref!r} has tag {tag!r} (pin a version)")
    return out


# ---------------------------------------------------------------------------- 6. federated subject
def service_account_subject(r: PolicyResource) -> str | None:
    """The federated-credential subject of a ServiceAccount resource (kube.py formats it)."""
    name = lookup(r.props, "metadata", "name")
    namespace = lookup(r.props, "metadata", "namespace") or DEFAULT_NAMESPACE
    if not isinstance(name, str) or not isinstance(namespace, str):
        return None
    return subject_of(namespace, name)


def release_service_account_subjects(r: PolicyResource) -> set[str]:
    """The federated-credential subjects of the ServiceAccounts a Helm release creates by a
    name its values give (`<component>.serviceAccount: {create: true, name: ...}`, the
    Airflow chart's shape), in the release's namespace."""
    namespace = r.props.get("namespace") or DEFAULT_NAMESPACE
    if r.type != HELM_RELEASE or not isinstance(namespace, str):
        return set()
    return {
        subject_of(namespace, account["name"])
        for _where, _parents, node in walk(r.props.get("values"))
        if isinstance(node, Mapping)
        and isinstance(account := node.get("serviceAccount"), Mapping)
        and account.get("create") is True
        and isinstance(account.get("name"), str)
        and account["name"]
    }


def check_federated_subjects(resources: Sequence[PolicyResource], _config: PolicyConfig) -> list[tuple[str, str]]:
    accounts = {s for r in resources if r.type == SERVICE_ACCOUNT and (s := service_account_subject(r))}
    accounts |= {s for r in resources for s in release_service_account_subjects(r)}
    out: list[tuple[str, str]] = []
    for r in resources:
        if r.type != FEDERATED_CREDENTIAL:
            continue
        subject = plain(r.props.get("subject"))
        if is_unknown(subject):
            continue
        if subject not in accounts:
            known = ", ".join(sorted(accounts)) or "none"
            out.append(
                (
                    r.urn,
                    f"federated credential {r.name}: subject {subject!r} is no ServiceAccount "
                    f"of this stack (ServiceAccounts: {known})",
                )
            )
    return out


# ---------------------------------------------------------------------------- 7. Airflow release
_AIRFLOW2_ONLY_EXECUTORS = ("CeleryKubernetesExecutor", "LocalKubernetesExecutor")
_DEFAULT_PASSWORD_TEMPLATE = re.compile(r"\.Values\.(webserver|createUserJob)\.defaultUser\.password\b")


def check_airflow(r: PolicyResource, _config: PolicyConfig) -> list[str]:
    if r.type != HELM_RELEASE or chart_name(r.props.get("chart")) != AIRFLOW_CHART:
        return []
    values = lookup(r.props, "values")
    values = values if isinstance(values, Mapping) else {}
    out: list[str] = []

    # The default user: webserver.defaultUser (chart < 1.16; still honoured, deprecated,
    # when set) or createUserJob.defaultUser (chart 1.16+).
    legacy = lookup(values, "webserver", "defaultUser")
    current = lookup(values, "createUserJob", "defaultUser")
    user: Mapping[str, Any] = legacy if isinstance(legacy, Mapping) else current if isinstance(current, Mapping) else {}
    for where, candidate in (("webserver.defaultUser", legacy), ("createUserJob.defaultUser", current)):
        if isinstance(candidate, Mapping) and plain(candidate.get("password")) == "admin":
            out.append(f"Airflow release {r.name}: {where}.password is the default 'admin'")
    if plain(user.get("enabled")) is not False:  # the chart default is enabled
        args = lookup(values, "createUserJob", "args")
        if not is_list(args) or not args:
            out.append(
                f"Airflow release {r.name}: the default user is enabled but createUserJob.args is unset, "
                "so the chart's job sets the password from values (default 'admin')"
            )
        elif any(isinstance(a := plain(arg), str) and _DEFAULT_PASSWORD_TEMPLATE.search(a) for arg in args):
            out.append(
                f"Airflow release {r.name}: createUserJob.args read the default user's password from values; "
                "read the password from a Secret instead"
            )

    version = plain(values.get("airflowVersion"))
    airflow3 = isinstance(version, str) and version.startswith("3.")
    if airflow3:
        executor = plain(values.get("executor"))
        if isinstance(executor, str) and any(e in executor for e in _AIRFLOW2_ONLY_EXECUTORS):
            out.append(
                f"Airflow release {r.name}: executor {executor} does not run on Airflow 3 (the scheduler "
                "refuses to start); use e.g. CeleryExecutor,KubernetesExecutor"
            )
        if not _nonempty_str(plain(values.get("apiSecretKeySecretName"))):
            out.append(f"Airflow release {r.name}: no static API secret key (set apiSecretKeySecretName)")
        if not _nonempty_str(plain(values.get("jwtSecretName"))):
            out.append(
                f"Airflow release {r.name}: no static JWT secret (set jwtSecretName; the chart would make a "
                "new one on every upgrade, invalidating every token)"
            )
    elif not (
        _nonempty_str(plain(values.get("webserverSecretKeySecretName")))
        or _nonempty_str(plain(values.get("apiSecretKeySecretName")))
    ):
        out.append(
            f"Airflow release {r.name}: no static webserver secret key (set webserverSecretKeySecretName, "
            "or apiSecretKeySecretName for Airflow 3)"
        )

    for job in ("migrateDatabaseJob", "createUserJob"):
        if lookup(values, job, "useHelmHooks") is not False:
            out.append(f"Airflow release {r.name}: {job}.useHelmHooks must be false (hooks deadlock a waiting release)")
    out.extend(f"Airflow release {r.name}: {problem}" for problem in _default_credentials(values))
    return out


def airflow_uses_celery(values: Mapping[str, Any]) -> bool:
    """True when the Airflow chart runs Celery (workers, a broker URL): an executor naming it, or
    none at all (the chart's default is CeleryExecutor)."""
    executor = plain(values.get("executor"))
    return executor is None or (isinstance(executor, str) and "Celery" in executor)


def airflow_bundles_postgresql(values: Mapping[str, Any]) -> bool:
    """True when the Airflow chart runs its own PostgreSQL (postgresql.enabled, on by default)."""
    return lookup(values, "postgresql", "enabled") is not False


def _set(values: Mapping[str, Any], *path: str) -> bool:
    return _nonempty_str(lookup(values, *path))


def _default_credentials(values: Mapping[str, Any]) -> list[str]:
    """Database and broker credentials the chart would take from its defaults or make up itself."""
    out: list[str] = []
    if not _set(values, "data", "metadataSecretName"):
        out.append(
            "data.metadataSecretName is unset, so the metadata connection (user and password) comes "
            "from values, postgres/postgres by default"
        )
    if airflow_bundles_postgresql(values) and not _set(values, "postgresql", "auth", "existingSecret"):
        out.append(
            "the bundled PostgreSQL has no postgresql.auth.existingSecret, so it keeps the chart's postgres/postgres"
        )
    if lookup(values, "pgbouncer", "enabled") is True:
        if not _set(values, "pgbouncer", "configSecretName"):
            out.append("pgbouncer.configSecretName is unset, so PgBouncer's users.txt is built from values")
        if not _set(values, "pgbouncer", "metricsExporterSidecar", "statsSecretName"):
            out.append(
                "pgbouncer.metricsExporterSidecar.statsSecretName is unset, so the stats connection is "
                "built from values"
            )
    if airflow_uses_celery(values):
        if not _set(values, "data", "brokerUrlSecretName"):
            out.append("data.brokerUrlSecretName is unset, so the broker URL comes from a Helm hook")
        if lookup(values, "redis", "enabled") is not False and not _set(values, "redis", "passwordSecretName"):
            out.append(
                "redis.passwordSecretName is unset, so Redis gets a password made up in a Helm hook, outside Key Vault"
            )
    return out


# ---------------------------------------------------------------------------- 8. secrets operator
ESO_CHART = "external-secrets"
# values path -> what it must be: the chart's defaults give the controller a ClusterRole on
# every Secret (and tokens for every ServiceAccount), and the certificate controller another.
_ESO_SCOPED: tuple[tuple[tuple[str, ...], Any], ...] = (
    (("scopedRBAC",), True),
    (("processClusterStore",), False),
    (("processClusterExternalSecret",), False),
    (("processPushSecret",), False),
    (("certController", "create"), False),
    # the chart's Role would let it mint a token for any ServiceAccount of the namespace
    (("rbac", "serviceAccountTokenCreate"), False),
)


def check_secrets_operator(r: PolicyResource, _config: PolicyConfig) -> list[str]:
    if r.type != HELM_RELEASE or chart_name(r.props.get("chart")) != ESO_CHART:
        return []
    values = lookup(r.props, "values")
    values = values if isinstance(values, Mapping) else {}
    out = [
        f"External Secrets release {r.name}: {'.'.join(path)} must be {str(want).lower()} "
        f"(is {lookup(values, *path)!r}), or the operator may read and write Secrets cluster-wide"
        for path, want in _ESO_SCOPED
        if lookup(values, *path) is not want
    ]
    served = values.get("scopedNamespace")
    if not _nonempty_str(served):
        out.append(f"External Secrets release {r.name}: scopedNamespace is unset (the namespace it serves)")
    elif plain(r.props.get("namespace")) == plain(served):
        out.append(
            f"External Secrets release {r.name}: runs in {served!r}, the namespace it serves, where workloads "
            "that may create pods could exec into it; install it in a namespace of its own"
        )
    return out


# ---------------------------------------------------------------------------- 9. protected state
# urn:pulumi:<stack>::<project>::<type>::<name>
_URN = re.compile(r"^urn:pulumi:([^:]+)::([^:]+)::")


def stack_name(urn: str) -> str:
    """`prod` for urn:pulumi:prod::project::type::name."""
    match = _URN.match(urn)
    return match.group(1) if match else ""


def check_stateful_protection(resources: Sequence[PolicyResource], config: PolicyConfig) -> list[tuple[str, str]]:
    return [
        (r.urn, f"{r.type.rsplit(':', 1)[-1]} {r.name} holds data in stack {stack_name(r.urn)!r} but is not "
                "protected: one mistaken `pulumi destroy` deletes it (set protectStatefulResources: true)")
        for r in resources
        if r.type in STATEFUL_TYPES and not r.protect and stack_name(r.urn) in config.protected_stacks
    ]  # fmt: skip


# ---------------------------------------------------------------------------- 10. network isolation
# AKS network policy engines (ContainerServiceNetworkProfile.networkPolicy other than "none").
NETWORK_POLICY_ENGINES = frozenset({"azure", "calico", "cilium"})


def check_network_isolation(r: PolicyResource, config: PolicyConfig) -> list[str]:
    if r.type != MANAGED_CLUSTER or stack_name(r.urn) not in config.isolated_stacks:
        return []
    out: list[str] = []
    engine = plain(lookup(r.props, "networkProfile", "networkPolicy"))
    if str(engine).lower() not in NETWORK_POLICY_ENGINES:
        out.append(
            f"AKS cluster {r.name}: no network policy engine (networkProfile.networkPolicy is {engine!r}): every "
            "NetworkPolicy is ignored and any pod reaches the database (set networkMode: create or existing)"
        )
    pools = plain(r.props.get("agentPoolProfiles"))
    for i, pool in enumerate(pools if is_list(pools) else []):
        if not plain(lookup(pool, "vnetSubnetID")):
            out.append(
                f"AKS cluster {r.name}: agentPoolProfiles[{i}] joins no subnet of the stack's network (vnetSubnetID "
                "unset: AKS makes a VNet of its own, beyond private endpoints and landing-zone policy)"
            )
    return out


# ---------------------------------------------------------------------------- production stacks
def in_production(r: PolicyResource, config: PolicyConfig) -> bool:
    """True for a resource of a production stack (PolicyConfig.isolated_stacks)."""
    return stack_name(r.urn) in config.isolated_stacks


def _is(value: Any, want: str) -> bool:
    """An Azure enum value, compared as ARM compares them: case-insensitively."""
    return isinstance(value, str) and value.strip().lower() == want.lower()


def _name_of(r: PolicyResource, prop: str) -> Any:
    """The Azure name a resource gets: its `prop` input, else its logical name (azure-native
    derives the name from the logical name when the program gives none)."""
    name = known_at(r.props, prop)
    return r.name if name is None else name


# ---------------------------------------------------------------------------- 11. managed database
# Flexible Server HA modes that keep a standby (the SDK's PostgreSqlFlexibleServerHighAvailabilityMode
# but Disabled, its default).
HIGH_AVAILABILITY_MODES = ("ZoneRedundant", "SameZone")
# Point-in-time restore window: Azure keeps 7 to 35 days, 7 by default. A week is the floor: a bad
# migration or a DAG that corrupted the metadata, noticed after a weekend, can still be undone.
MIN_BACKUP_RETENTION_DAYS = 7
# The server parameter that makes the server refuse connections without TLS (on by default).
SECURE_TRANSPORT_PARAMETER = "require_secure_transport"


def postgres_false(value: Any) -> bool:
    """True for a value PostgreSQL reads as boolean false (parse_bool_with_len in
    src/backend/utils/adt/bool.c): any case of a prefix of `false` or `no`, `of` or `off` (one
    `o` is ambiguous), `0`."""
    if isinstance(value, bool):
        return not value
    if not isinstance(value, str):
        return False
    text = value.strip().lower()
    return bool(text) and (
        "false".startswith(text) or "no".startswith(text) or (len(text) >= 2 and "off".startswith(text)) or text == "0"
    )


def _retention_ok(days: Any) -> bool:
    # the engine sends numbers as floats (a protobuf Struct holds doubles)
    return isinstance(days, int | float) and not isinstance(days, bool) and days >= MIN_BACKUP_RETENTION_DAYS


def check_managed_database(r: PolicyResource, config: PolicyConfig) -> list[str]:
    if not in_production(r, config):
        return []
    out: list[str] = []
    stack = stack_name(r.urn)
    if r.type == HELM_RELEASE and chart_name(r.props.get("chart")) == AIRFLOW_CHART:
        enabled = known_at(r.props, "values", "postgresql", "enabled")
        values = lookup(r.props, "values")
        if not is_unknown(enabled) and airflow_bundles_postgresql(values if isinstance(values, Mapping) else {}):
            setting = "unset, the chart's default true" if enabled is None else repr(enabled)
            out.append(
                f"Airflow release {r.name}: runs the chart's bundled PostgreSQL in stack {stack!r} (postgresql.enabled "
                f"{setting}): one pod on one disk, no standby, no point-in-time restore; set postgresql.enabled: "
                "false and use the Flexible Server"
            )
    elif r.type == POSTGRESQL_FLEXIBLE_SERVER:
        mode = known_at(r.props, "highAvailability", "mode")
        if not is_unknown(mode) and not any(_is(mode, m) for m in HIGH_AVAILABILITY_MODES):
            out.append(
                f"PostgreSQL server {r.name}: highAvailability.mode is {mode!r} (ZoneRedundant or SameZone required: "
                "without a standby every failure or maintenance stops Airflow)"
            )
        days = known_at(r.props, "backup", "backupRetentionDays")
        if not is_unknown(days) and not _retention_ok(days):
            out.append(
                f"PostgreSQL server {r.name}: backup.backupRetentionDays is {days!r} (at least "
                f"{MIN_BACKUP_RETENTION_DAYS}, set explicitly: the restore window must cover a week)"
            )
        access = known_at(r.props, "network", "publicNetworkAccess")
        if not is_unknown(access) and not _is(access, "Disabled"):
            out.append(f"PostgreSQL server {r.name}: network.publicNetworkAccess is {access!r} (must be Disabled)")
        subnet = known_at(r.props, "network", "delegatedSubnetResourceId")
        if not is_unknown(subnet) and not _nonempty_str(subnet):
            out.append(
                f"PostgreSQL server {r.name}: network.delegatedSubnetResourceId is unset (the server must sit in a "
                "subnet of the stack's network delegated to it)"
            )
    elif r.type == POSTGRESQL_CONFIGURATION:
        name = _name_of(r, "configurationName")
        value = known_at(r.props, "value")
        if (
            not is_unknown(name)
            and _is(name, SECURE_TRANSPORT_PARAMETER)
            and not is_unknown(value)
            and postgres_false(value)
        ):
            out.append(
                f"PostgreSQL parameter {r.name}: {SECURE_TRANSPORT_PARAMETER} is {value!r}: the server would accept "
                "unencrypted connections (leave it on)"
            )
    return out


# ---------------------------------------------------------------------------- 12. no shared key
def is_account_key_name(name: str) -> bool:
    """A Key Vault secret name that announces a storage account key (the article's
    AKS-AIRFLOW-LOGS-STORAGE-ACCOUNT-KEY): `accountkey` in it, case and separators ignored."""
    return "accountkey" in _squash(name)


def check_no_shared_key(r: PolicyResource, config: PolicyConfig) -> list[str]:
    if not in_production(r, config):
        return []
    if r.type == STORAGE_ACCOUNT:
        allowed = known_at(r.props, "allowSharedKeyAccess")
        if not is_unknown(allowed) and allowed is not False:
            return [
                f"storage account {r.name}: allowSharedKeyAccess is {allowed!r} (must be false; unset means true): "
                "anyone with an account key or a SAS made from one reads and writes every log, with no identity "
                "in the audit trail"
            ]
    elif r.type == KEY_VAULT_SECRET:
        name = _name_of(r, "secretName")
        if isinstance(name, str) and is_account_key_name(name):
            return [
                f"Key Vault secret {r.name}: {name!r} looks like a storage account key: production reaches storage "
                "through workload identity, so no account key is kept"
            ]
    return []


# ---------------------------------------------------------------------------- 13. private PaaS
def check_private_paas(r: PolicyResource, config: PolicyConfig) -> list[str]:
    if not in_production(r, config):
        return []
    if r.type == KEY_VAULT:
        access, where, what = known_at(r.props, "properties", "publicNetworkAccess"), "properties.", "Key Vault"
    elif r.type == STORAGE_ACCOUNT:
        access, where, what = known_at(r.props, "publicNetworkAccess"), "", "storage account"
    else:
        return []
    if is_unknown(access) or _is(access, "Disabled"):
        return []
    return [
        f"{what} {r.name}: {where}publicNetworkAccess is {access!r} (must be Disabled: reachable only through its "
        "private endpoint, from the stack's network)"
    ]


# ---------------------------------------------------------------------------- 14. observed, TLS
def check_observed(r: PolicyResource, config: PolicyConfig) -> list[str]:
    """A production cluster sends metrics to managed Prometheus and container logs to Log
    Analytics (with Entra ID, no workspace key); a production Airflow UI behind an Ingress
    serves TLS on every host."""
    if not in_production(r, config):
        return []
    out: list[str] = []
    if r.type == MANAGED_CLUSTER:
        metrics = known_at(r.props, "azureMonitorProfile", "metrics", "enabled")
        if not is_unknown(metrics) and metrics is not True:
            out.append(
                f"AKS cluster {r.name}: azureMonitorProfile.metrics.enabled is {metrics!r}: nothing scrapes Airflow's "
                "metrics and no alert can fire (set monitoring: true)"
            )
        oms = known_at(r.props, "addonProfiles", "omsagent")
        if not is_unknown(oms):
            enabled = lookup(oms, "enabled") if isinstance(oms, Mapping) else None
            aad = lookup(oms, "config", "useAADAuth") if isinstance(oms, Mapping) else None
            if enabled is not True:
                out.append(
                    f"AKS cluster {r.name}: the monitoring add-on (addonProfiles.omsagent) is off: container logs die "
                    "with their pods (set containerInsights: true)"
                )
            elif not is_unknown(aad) and str(aad).lower() != "true":
                out.append(
                    f"AKS cluster {r.name}: addonProfiles.omsagent.config.useAADAuth is {aad!r}: the agent would use "
                    'the workspace key (set it to "true")'
                )
    elif r.type == HELM_RELEASE and chart_name(r.props.get("chart")) == AIRFLOW_CHART:
        ingress = known_at(r.props, "values", "ingress")
        for key, spec in ingress.items() if isinstance(ingress, Mapping) else []:
            if not isinstance(spec, Mapping) or spec.get("enabled") is not True:
                continue
            for host in spec.get("hosts") or []:
                tls = lookup(host, "tls") if isinstance(host, Mapping) else None
                if is_unknown(tls) or (
                    isinstance(tls, Mapping) and (is_unknown(tls.get("enabled")) or is_unknown(tls.get("secretName")))
                ):
                    continue  # judged on `up`
                settings: Mapping[str, Any] = tls if isinstance(tls, Mapping) else {}
                if not (settings.get("enabled") is True and _nonempty_str(settings.get("secretName"))):
                    name = lookup(host, "name") if isinstance(host, Mapping) else host
                    out.append(
                        f"Airflow release {r.name}: ingress.{key} serves {name!r} without TLS (hosts[].tls enabled "
                        "with a secretName): logins and the API would cross the network in clear"
                    )
    return out


# ---------------------------------------------------------------------------- the pack
POLICIES: tuple[Policy, ...] = (
    Policy(
        "no-unmarked-credentials",
        "Generated secrets, storage keys and kubeconfigs stay encrypted in state and out of Helm values and logs.",
        resource_check=check_credentials,
        outputs_check=check_credential_outputs,
    ),
    Policy(
        "key-vault-least-privilege",
        "The vault is soft-delete protected and readers get secrets get/list on one resource, nothing wider.",
        resource_check=check_key_vault_access,
    ),
    Policy(
        "storage-private-and-tls",
        "Task logs are reachable only over HTTPS with TLS 1.2+ and never anonymously.",
        resource_check=check_storage,
    ),
    Policy(
        "aks-workload-identity",
        "Pods reach Azure with federated workload identity, and Entra ID clusters have no local admin bypass.",
        resource_check=check_aks,
    ),
    Policy(
        "helm-pinned-sources",
        "Charts come at an exact, reviewed version from their own repository and images from our ACR, pinned.",
        resource_check=check_helm_sources,
    ),
    Policy(
        "federated-subject-matches-service-account",
        "A federated credential trusts exactly a ServiceAccount this stack creates, or workload identity fails.",
        stack_check=check_federated_subjects,
    ),
    Policy(
        "airflow-hardened-release",
        "Airflow has no default admin or database password, stable secret keys (webserver, or API key and JWT "
        "secret on Airflow 3), database and broker credentials from Secrets, and no deadlocking Helm hooks.",
        resource_check=check_airflow,
    ),
    Policy(
        "secrets-operator-scoped",
        "The External Secrets Operator reads and writes Secrets only in the namespace it serves, nothing cluster-wide.",
        resource_check=check_secrets_operator,
    ),
    Policy(
        "stateful-resources-protected",
        "In a production stack, nothing that holds data (cluster, vault, storage, volumes, database) can be deleted "
        "by one mistaken command.",
        stack_check=check_stateful_protection,
    ),
    Policy(
        "production-network-isolation",
        "In a production stack, the cluster's nodes join the stack's own network and a policy engine enforces "
        "NetworkPolicy.",
        resource_check=check_network_isolation,
    ),
    Policy(
        "production-managed-database",
        "In a production stack, Airflow's database is a Flexible Server with a standby, a week of point-in-time "
        "restore, no public access and TLS required, never the chart's bundled PostgreSQL.",
        resource_check=check_managed_database,
    ),
    Policy(
        "production-no-shared-key",
        "In a production stack, storage accepts Entra ID (workload identity) only: no account key works, and none "
        "is kept in Key Vault.",
        resource_check=check_no_shared_key,
    ),
    Policy(
        "production-private-paas",
        "In a production stack, Key Vault and storage refuse public network access: only their private endpoints "
        "reach them.",
        resource_check=check_private_paas,
    ),
    Policy(
        "production-observed",
        "In a production stack, the cluster's metrics go to managed Prometheus and its container logs to Log "
        "Analytics (Entra ID, no workspace key), and an Airflow UI behind an Ingress serves TLS only.",
        resource_check=check_observed,
    ),
)


def stack_urn(resources: Sequence[PolicyResource]) -> str:
    """The root stack's URN, derived from any resource URN (urn:pulumi:<stack>::<project>::...)."""
    for r in resources:
        match = _URN.match(r.urn)
        if match:
            stack, project = match.groups()
            return f"urn:pulumi:{stack}::{project}::pulumi:pulumi:Stack::{project}-{stack}"
    return ""


def evaluate(
    resources: Sequence[PolicyResource],
    config: PolicyConfig,
    outputs: Mapping[str, tuple[Any, bool]] | None = None,
) -> list[Violation]:
    """Every violation of :data:`POLICIES` by `resources` (and `outputs` when given)."""
    violations: list[Violation] = []
    for policy in POLICIES:
        if policy.resource_check is not None:
            for r in resources:
                violations.extend(
                    Violation(policy.name, r.urn, message, policy.mandatory)
                    for message in policy.resource_check(r, config)
                )
        if policy.stack_check is not None:
            violations.extend(
                Violation(policy.name, urn, message, policy.mandatory)
                for urn, message in policy.stack_check(resources, config)
            )
        if policy.outputs_check is not None and outputs is not None:
            root = stack_urn(resources)
            violations.extend(
                Violation(policy.name, root, message, policy.mandatory) for message in policy.outputs_check(outputs)
            )
    return violations

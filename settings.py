"""Typed, validated settings for one stack.

Every key lives in the ``airflow-aks`` config namespace and is declared, with its type,
default and description, in ``Pulumi.yaml``'s ``config:`` block: that block is the one
place defaults live (the Pulumi CLI applies them, and so does ``python -m synth``).
This module reads every key once, validates all of them, and raises ONE
:class:`ConfigError` that lists every problem (key, bad value, what is allowed) before
any resource is registered.

Nothing here imports a Pulumi resource module: settings know nothing of components.
"""

from __future__ import annotations

import difflib
import json
import re
import zoneinfo
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainValidator,
    TypeAdapter,
    ValidationError,
)

from components.airflow_values import PROFILES, SUPPORTED_CHART_VERSIONS

PROJECT = "airflow-aks"
PROVIDER_LOCATION_KEY = "azure-native:location"

# --------------------------------------------------------------------------- checks
# Every pattern is applied with fullmatch: `$` alone would let a trailing newline through.
_DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")
_DNS_SUBDOMAIN = re.compile(r"(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_RESOURCE_GROUP = re.compile(r"[-\w.()]{0,89}[-\w()]")
_QUANTITY = re.compile(r"(?P<num>[0-9]+(\.[0-9]+)?)(?P<unit>Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?")
_IMAGE_TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
# git check-ref-format, narrowed to the characters git-sync users need.
_GIT_REF = re.compile(r"(?!.*\.\.)(?!.*//)(?!.*/\.)(?!.*\.lock(/|$))[A-Za-z0-9_][A-Za-z0-9_./-]{0,254}(?<![./])")
_HOST = r"[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*"
_HTTPS_GIT_URL = re.compile(rf"https://{_HOST}(:[0-9]{{1,5}})?/(?!(.*/)?\.\.?(/|$))[A-Za-z0-9_.~-][A-Za-z0-9_.~/-]*")
_SUB_PATH = re.compile(r"(?!/)(?!(.*/)?\.\.(/|$))[A-Za-z0-9_./-]+")
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_INTEGER = re.compile(r"[+-]?[0-9]+")
_GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_KUBERNETES_VERSION = re.compile(r"1\.([0-9]+)(\.[0-9]+)?")
# Namespaces every cluster already has (the stack creates its namespace) and the reserved prefix.
_SYSTEM_NAMESPACE = re.compile(r"default|kube-.*")
# AKS uses the cluster name as its DNS prefix when the stack creates the cluster.
_AKS_DNS_PREFIX = re.compile(r"[A-Za-z0-9]([A-Za-z0-9-]{0,52}[A-Za-z0-9])?")
_RESOURCE_GROUP_RULE = "1-90 letters, digits, '-', '_', '.', '(', ')', not ending in '.'"


def _check(pattern: re.Pattern[str], allowed: str) -> Callable[[str], str]:
    def validate(value: str) -> str:
        if not pattern.fullmatch(value):
            raise ValueError(f"must be {allowed}")
        return value

    return validate


def _empty_or(check: Callable[[str], str]) -> Callable[[str], str]:
    def validate(value: str) -> str:
        return value if value == "" else check(value)

    return validate


def _whole_number(lo: int, hi: int) -> Callable[[Any], int]:
    """Integers as the engine passes them (decimal text); booleans and '3.0' are not integers."""

    def validate(value: Any) -> int:
        number: int | None = None
        if isinstance(value, int) and not isinstance(value, bool):
            number = value
        elif isinstance(value, str) and _INTEGER.fullmatch(value):
            number = int(value)
        if number is None or not lo <= number <= hi:
            raise ValueError(f"must be a whole number from {lo} to {hi}")
        return number

    return validate


def _boolean(value: Any) -> bool:
    """Booleans as Pulumi's Config.get_bool reads them: not 'yes', '1' or 'off'."""
    if isinstance(value, bool):
        return value
    if value in ("true", "True"):
        return True
    if value in ("false", "False"):
        return False
    raise ValueError("must be true or false")


def _string_list(example: str) -> Callable[[Any], list[str]]:
    def validate(value: Any) -> list[str]:
        if not isinstance(value, list):
            raise ValueError(f"must be a JSON array of strings, such as {example}")
        for index, item in enumerate(value):
            if not isinstance(item, str):
                raise ValueError(f"item {index} ({json.dumps(item)}) must be a string, as in {example}")
        return value

    return validate


def _quantity(value: str) -> str:
    match = _QUANTITY.fullmatch(value)
    if not match or float(match["num"]) <= 0:
        raise ValueError("must be a positive Kubernetes quantity such as 5Gi, 512Mi or 1Ti")
    return value


def _timezone(value: str) -> str:
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValueError("must be an IANA time zone such as UTC or America/New_York") from None
    return value


def _kubernetes_version(value: str) -> str:
    match = _KUBERNETES_VERSION.fullmatch(value)
    if not match or not 28 <= int(match[1]) <= 37:
        raise ValueError("must be a Kubernetes version 1.28 to 1.37, as 1.MINOR or 1.MINOR.PATCH")
    return value


# Kubernetes quantities for container requests and limits. CPU: whole millicores (250m) or
# cores with at most three decimals (0.5, 2). Memory: a number WITH a unit (a bare number
# is bytes, and `m` would be thousandths of a byte: both are typos for Mi).
_CPU = re.compile(r"(?P<milli>[0-9]+)m|(?P<cores>[0-9]+(\.[0-9]{1,3})?)")
_MEMORY = re.compile(r"(?P<num>[0-9]+(\.[0-9]+)?)(?P<unit>Ki|Mi|Gi|Ti|k|M|G|T)")
_MEMORY_UNITS = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12}
_CPU_RULE = "a CPU quantity: millicores such as 250m, or cores such as 0.5 or 2"
_MEMORY_RULE = "a memory quantity: a number with a unit Ki, Mi, Gi, Ti, k, M, G or T, such as 512Mi"
RESOURCE_FIELDS = {"cpu": "cpu", "memory": "memory", "cpuLimit": "cpu_limit", "memoryLimit": "memory_limit"}
RESOURCES_EXAMPLE = "cpu=250m,memory=512Mi,cpuLimit=1,memoryLimit=1Gi"


@dataclass(frozen=True)
class Resources:
    """Requests and limits of one container, as Kubernetes quantities (kept as written)."""

    cpu: str
    memory: str
    cpu_limit: str
    memory_limit: str

    def __str__(self) -> str:
        """The config encoding: cpu=...,memory=...,cpuLimit=...,memoryLimit=..."""
        return ",".join(f"{key}={getattr(self, attr)}" for key, attr in RESOURCE_FIELDS.items())

    def kubernetes(self) -> dict[str, dict[str, str]]:
        """A container's `resources` block."""
        return {
            "requests": {"cpu": self.cpu, "memory": self.memory},
            "limits": {"cpu": self.cpu_limit, "memory": self.memory_limit},
        }


def cpu_millicores(value: str) -> int | None:
    match = _CPU.fullmatch(value)
    if not match:
        return None
    if match["milli"] is not None:
        return int(match["milli"])
    return round(float(match["cores"]) * 1000)


def memory_bytes(value: str) -> float | None:
    match = _MEMORY.fullmatch(value)
    return float(match["num"]) * _MEMORY_UNITS[match["unit"]] if match else None


def _resources(value: Any) -> Resources:
    """`cpu=250m,memory=512Mi,cpuLimit=1,memoryLimit=1Gi` (or a mapping with those keys):
    every field required, each a valid quantity, each limit at least its request. Every
    problem of the value is reported in one message."""
    if isinstance(value, Resources):
        return value
    issues: list[str] = []
    pairs: list[tuple[str, Any]] = []
    if isinstance(value, Mapping):  # typed values (tests, tools); YAML numbers are quantities too
        pairs = [
            (str(k), str(v) if isinstance(v, int | float) and not isinstance(v, bool) else v) for k, v in value.items()
        ]
    elif isinstance(value, str):
        for part in (p.strip() for p in value.split(",")):
            key, sep, item = part.partition("=")
            if sep:
                pairs.append((key.strip(), item.strip()))
            elif part:
                issues.append(f"entry {part!r} is not field=quantity")
    found: dict[str, str] = {}
    for key, item in pairs:
        if key not in RESOURCE_FIELDS:
            issues.append(f"unknown field {key!r}")
        elif key in found:
            issues.append(f"{key} is set twice")
        elif not isinstance(item, str) or not item:
            issues.append(f"{key} is {'empty' if item in ('', None) else 'not a quantity'}")
        else:
            found[key] = item
    missing = [key for key in RESOURCE_FIELDS if key not in found and all(k != key for k, _ in pairs)]
    if missing:
        issues.append(f"missing {', '.join(missing)}")
    cpu = {k: cpu_millicores(v) for k, v in found.items() if k in ("cpu", "cpuLimit")}
    memory = {k: memory_bytes(v) for k, v in found.items() if k in ("memory", "memoryLimit")}
    for key, number in (*cpu.items(), *memory.items()):
        if number is None:
            issues.append(f"{key} {found[key]!r} is not {_CPU_RULE if key.startswith('cpu') else _MEMORY_RULE}")
        elif number <= 0:
            issues.append(f"{key} {found[key]!r} must be more than zero")
    for request, limit, numbers in (("cpu", "cpuLimit", cpu), ("memory", "memoryLimit", memory)):
        low, high = numbers.get(request), numbers.get(limit)
        if low and high and high < low:
            issues.append(
                f"{limit} {found[limit]} is below {request} {found[request]} (a limit must be at least its request)"
            )
    if issues:
        raise ValueError(
            f"must be cpu=<request>,memory=<request>,cpuLimit=<limit>,memoryLimit=<limit>, such as "
            f"{RESOURCES_EXAMPLE}: {'; '.join(issues)}"
        )
    return Resources(**{attr: found[key] for key, attr in RESOURCE_FIELDS.items()})


def _image_tag(value: str) -> str:
    if value == "latest":
        raise ValueError("must be a pinned tag, not 'latest'")
    return _check(_IMAGE_TAG, "a container image tag (letters, digits, '_', '.', '-')")(value)


def _env(value: list[str]) -> list[str]:
    names: set[str] = set()
    for item in value:
        name, sep, _ = item.partition("=")
        if not sep or not _ENV_NAME.fullmatch(name):
            raise ValueError(f"entry {item!r} must look like NAME=value with NAME a valid variable name")
        if name in names:
            raise ValueError(f"variable {name} is set twice")
        names.add(name)
    return value


def _zones(value: list[str]) -> list[str]:
    if not value or any(z not in {"1", "2", "3"} for z in value) or len(set(value)) != len(value):
        raise ValueError('must be a non-empty list of distinct zones from "1", "2", "3"')
    return value


def _chart_version(value: str) -> str:
    if value not in SUPPORTED_CHART_VERSIONS:
        supported = ", ".join(SUPPORTED_CHART_VERSIONS)
        raise ValueError(f"has no values profile; supported chart versions: {supported}")
    return value


def _namespace(value: str) -> str:
    if _SYSTEM_NAMESPACE.fullmatch(value):
        raise ValueError("must be a namespace of its own (the stack creates it): not 'default' or 'kube-*'")
    return value


def _matching(pattern: str | re.Pattern[str], allowed: str) -> AfterValidator:
    return AfterValidator(_check(re.compile(pattern), allowed))


def _empty_or_matching(pattern: str | re.Pattern[str], allowed: str) -> AfterValidator:
    return AfterValidator(_empty_or(_check(re.compile(pattern), allowed)))


def _between(lo: int, hi: int) -> BeforeValidator:
    return BeforeValidator(_whole_number(lo, hi))


Boolean = Annotated[bool, BeforeValidator(_boolean)]
DnsLabel = Annotated[
    str,
    _matching(_DNS_LABEL, "a DNS-1123 label: lowercase letters, digits and '-', 1-63 chars, alphanumeric at both ends"),
]
ResourceGroupOrEmpty = Annotated[
    str, _empty_or_matching(_RESOURCE_GROUP, f"an Azure resource group name: {_RESOURCE_GROUP_RULE}")
]
GitRef = Annotated[
    str,
    _matching(
        _GIT_REF,
        "a git branch, tag or commit: letters, digits, '_', '.', '-', '/' "
        "(no spaces, no '..' or '//', no part starting with '.' or ending in '.lock')",
    ),
]
ContainerResources = Annotated[Resources, PlainValidator(_resources)]
_SUBDOMAIN_RULE = (
    "a DNS-1123 subdomain: up to 253 lowercase letters, digits, '-' and '.', "
    "each dot-separated part alphanumeric at both ends"
)


class Settings(BaseModel):
    """Everything a stack can set. Field aliases are the config keys."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    stack: str
    location: Annotated[str, _matching(r"[a-z0-9]+", "an Azure region name such as eastus")]
    name_prefix: Annotated[
        str,
        _matching(
            r"[a-z][a-z0-9]{1,9}",
            "2-10 lowercase letters and digits, starting with a letter "
            "(it is part of globally unique vault and storage names)",
        ),
    ] = Field(alias="namePrefix")
    resource_group_name: ResourceGroupOrEmpty = Field(alias="resourceGroupName")

    cluster_mode: Literal["create", "existing"] = Field(alias="clusterMode")
    cluster_name: Annotated[
        str,
        _empty_or_matching(
            r"[A-Za-z0-9][A-Za-z0-9_-]{0,61}[A-Za-z0-9]",
            "an AKS cluster name: 2-63 letters, digits, '-', '_', alphanumeric at both ends",
        ),
    ] = Field(alias="clusterName")
    cluster_resource_group: ResourceGroupOrEmpty = Field(alias="clusterResourceGroup")
    kubernetes_version: Annotated[str, AfterValidator(_kubernetes_version)] = Field(alias="kubernetesVersion")
    cluster_auth: Literal["local", "entra"] = Field(alias="clusterAuth")
    cluster_admin_group_object_id: Annotated[
        str, _empty_or_matching(_GUID, "an Entra object id (a GUID such as 00000000-0000-0000-0000-000000000000)")
    ] = Field(alias="clusterAdminGroupObjectId")
    cluster_tier: Literal["Free", "Standard", "Premium"] = Field(alias="clusterTier")
    node_vm_size: Annotated[str, _matching(r"Standard_[A-Za-z0-9_]+", "an Azure VM size such as Standard_DS4_v2")] = (
        Field(alias="nodeVmSize")
    )
    node_count: Annotated[int, _between(1, 100)] = Field(alias="nodeCount")
    availability_zones: Annotated[
        list[str], BeforeValidator(_string_list('["1", "2", "3"]')), AfterValidator(_zones)
    ] = Field(alias="availabilityZones")
    auto_upgrade_channel: Literal["none", "patch", "stable", "rapid", "node-image"] = Field(alias="autoUpgradeChannel")
    node_os_upgrade_channel: Literal["None", "Unmanaged", "NodeImage", "SecurityPatch"] = Field(
        alias="nodeOsUpgradeChannel"
    )

    acr_name: Annotated[
        str, _matching(r"[A-Za-z0-9]{5,50}", "an Azure Container Registry name: 5-50 letters and digits")
    ] = Field(alias="acrName")
    acr_resource_group: Annotated[
        str, _matching(_RESOURCE_GROUP, f"the resource group of the registry ({_RESOURCE_GROUP_RULE})")
    ] = Field(alias="acrResourceGroup")

    namespace: Annotated[DnsLabel, AfterValidator(_namespace)] = Field(alias="namespace")
    service_account_name: Annotated[str, _matching(_DNS_SUBDOMAIN, _SUBDOMAIN_RULE)] = Field(alias="serviceAccountName")

    key_vault_authorization: Literal["rbac", "accessPolicy"] = Field(alias="keyVaultAuthorization")
    key_vault_purge_protection: Boolean = Field(alias="keyVaultPurgeProtection")
    key_vault_soft_delete_retention_days: Annotated[int, _between(7, 90)] = Field(
        alias="keyVaultSoftDeleteRetentionDays"
    )

    install_secrets_operator: Boolean = Field(alias="installSecretsOperator")
    secrets_operator_chart_version: Literal["2.9.0"] = Field(alias="secretsOperatorChartVersion")

    logs_volume_size: Annotated[str, AfterValidator(_quantity)] = Field(alias="logsVolumeSize")
    logs_container_name: Annotated[
        str,
        _matching(
            r"(?!.*--)[a-z0-9][a-z0-9-]{1,61}[a-z0-9]",
            "a blob container name: 3-63 lowercase letters, digits and single '-'",
        ),
    ] = Field(alias="logsContainerName")
    logs_retention_days: Annotated[int, _between(1, 3650)] = Field(alias="logsRetentionDays")

    airflow_chart_version: Annotated[str, AfterValidator(_chart_version)] = Field(alias="airflowChartVersion")
    executor: Literal[
        "LocalExecutor",
        "CeleryExecutor",
        "KubernetesExecutor",
        "CeleryKubernetesExecutor",
        "CeleryExecutor,KubernetesExecutor",
    ] = Field(alias="executor")
    airflow_image_tag: Annotated[str, AfterValidator(_empty_or(_image_tag))] = Field(alias="airflowImageTag")
    airflow_env: Annotated[list[str], BeforeValidator(_string_list('["NAME=value"]')), AfterValidator(_env)] = Field(
        alias="airflowEnv"
    )
    timezone: Annotated[str, AfterValidator(_timezone)] = Field(alias="timezone")
    dags_git_repo: Annotated[
        str,
        _empty_or_matching(
            _HTTPS_GIT_URL, "an https git URL such as https://github.com/org/repo.git (or empty to turn git-sync off)"
        ),
    ] = Field(alias="dagsGitRepo")
    dags_git_branch: GitRef = Field(alias="dagsGitBranch")
    dags_git_rev: GitRef = Field(alias="dagsGitRev")
    dags_git_sub_path: Annotated[
        str, _empty_or_matching(_SUB_PATH, "a relative path inside the repository, without '..'")
    ] = Field(alias="dagsGitSubPath")
    dags_git_depth: Annotated[int, _between(0, 10000)] = Field(alias="dagsGitDepth")
    postgresql_enabled: Boolean = Field(alias="postgresqlEnabled")
    pgbouncer_enabled: Boolean = Field(alias="pgbouncerEnabled")
    external_database_secret_name: Annotated[
        str, _empty_or_matching(_DNS_SUBDOMAIN, f"a Kubernetes Secret name, {_SUBDOMAIN_RULE}")
    ] = Field(alias="externalDatabaseSecretName")
    high_availability: Boolean = Field(alias="highAvailability")
    admin_username: Annotated[
        str, _matching(r"[A-Za-z][A-Za-z0-9_.-]{2,63}", "3-64 letters, digits, '_', '.', '-', starting with a letter")
    ] = Field(alias="adminUsername")
    # Restricted to characters that are inert in a shell: the chart's create-user job
    # passes it to `bash -c` unquoted.
    admin_email: Annotated[
        str,
        _matching(
            r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}",
            "an e-mail address (letters, digits and . _ % + - before the @)",
        ),
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
    def effective_resource_group(self) -> str:
        return self.resource_group_name or f"{self.name_prefix}-{self.stack}-rg"

    @property
    def effective_cluster_name(self) -> str:
        return self.cluster_name or f"{self.name_prefix}-{self.stack}-aks"

    @property
    def effective_cluster_resource_group(self) -> str:
        return self.cluster_resource_group or self.effective_resource_group

    @property
    def registry_server(self) -> str:
        """The ACR login server every image is pulled from."""
        return f"{self.acr_name.lower()}.azurecr.io"

    @property
    def env_vars(self) -> dict[str, str]:
        return dict(item.split("=", 1) for item in self.airflow_env)

    @property
    def federated_subject(self) -> str:
        return f"system:serviceaccount:{self.namespace}:{self.service_account_name}"


# The config keys (without namespace) a stack may set, in declaration order.
CONFIG_KEYS: tuple[str, ...] = tuple(
    f.alias for name, f in Settings.model_fields.items() if f.alias and name not in {"stack", "location"}
)
_ARRAY_KEYS = frozenset({"availabilityZones", "airflowEnv"})
_FIELD_BY_KEY: dict[str, str] = {f.alias or name: name for name, f in Settings.model_fields.items()}


@dataclass(frozen=True)
class Problem:
    key: str
    value: Any
    message: str

    def __str__(self) -> str:
        shown = "<missing>" if self.value is _MISSING else json.dumps(self.value)
        return f"{self.key} = {shown}: {self.message}"


_MISSING: Any = object()


class ConfigError(ValueError):
    """Every problem found in a stack's configuration, reported at once."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"invalid stack configuration ({len(problems)} problem{'s' * (len(problems) != 1)}):\n{lines}")


# ------------------------------------------------------------------- cross-checks
# Each cross-check runs when the fields it reads are valid, even if other fields are not:
# a conflict is reported together with unrelated bad values, not one run later.
def _key(name: str) -> str:
    return f"{PROJECT}:{name}"


def _check_existing_cluster(s: Settings) -> list[Problem]:
    if s.cluster_mode != "existing":
        return []
    problems: list[Problem] = []
    if not s.cluster_name:
        problems.append(
            Problem(
                _key("clusterName"),
                s.cluster_name,
                "required when clusterMode is 'existing' (the AKS cluster to look up)",
            )
        )
    if s.effective_cluster_resource_group == s.effective_resource_group:
        problems.append(
            Problem(
                _key("clusterResourceGroup"),
                s.cluster_resource_group,
                "must name the existing cluster's resource group, which differs from resourceGroupName "
                "(the stack creates that one)",
            )
        )
    return problems


def _check_created_cluster(s: Settings) -> list[Problem]:
    if s.cluster_mode != "create":
        return []
    problems: list[Problem] = []
    if s.cluster_resource_group and s.cluster_resource_group != s.effective_resource_group:
        problems.append(
            Problem(
                _key("clusterResourceGroup"),
                s.cluster_resource_group,
                f"only used with clusterMode=existing; a created cluster goes into resourceGroupName "
                f"({s.effective_resource_group}): leave it empty",
            )
        )
    if not _AKS_DNS_PREFIX.fullmatch(s.effective_cluster_name):
        derived = "" if s.cluster_name else f"the derived name {s.effective_cluster_name!r} (<namePrefix>-<stack>-aks) "
        problems.append(
            Problem(
                _key("clusterName"),
                s.cluster_name,
                f"{derived}must also be the AKS DNS prefix with clusterMode=create: 1-54 letters, digits and '-', "
                "alphanumeric at both ends",
            )
        )
    return problems


def _check_cluster_admins(s: Settings) -> list[Problem]:
    if s.cluster_admin_group_object_id and (s.cluster_auth != "entra" or s.cluster_mode != "create"):
        return [
            Problem(
                _key("clusterAdminGroupObjectId"),
                s.cluster_admin_group_object_id,
                "only used with clusterAuth=entra and clusterMode=create (the stack grants admins on the "
                "cluster it creates): leave it empty",
            )
        ]
    return []


def _check_database(s: Settings) -> list[Problem]:
    problems: list[Problem] = []
    if not s.postgresql_enabled and not s.external_database_secret_name:
        problems.append(
            Problem(
                _key("externalDatabaseSecretName"),
                "",
                "required when postgresqlEnabled is false: a Secret with a 'connection' key for the metadata database",
            )
        )
    if s.postgresql_enabled and s.external_database_secret_name:
        problems.append(
            Problem(
                _key("externalDatabaseSecretName"),
                s.external_database_secret_name,
                "conflicts with postgresqlEnabled=true: use one metadata database, not both",
            )
        )
    if s.pgbouncer_enabled and not s.postgresql_enabled:
        problems.append(
            Problem(
                _key("pgbouncerEnabled"),
                True,
                "only supported with the bundled PostgreSQL (postgresqlEnabled=true); set it to false for an "
                "external database",
            )
        )
    return problems


def _check_executor(s: Settings) -> list[Problem]:
    profile = PROFILES[s.airflow_chart_version]
    if s.executor in profile.executors:
        return []
    hint = (
        "; Airflow 3 dropped CeleryKubernetesExecutor: use CeleryExecutor,KubernetesExecutor"
        if s.executor == "CeleryKubernetesExecutor"
        else "; running executors side by side needs Airflow 2.10+ (airflowChartVersion 1.19.0)"
        if "," in s.executor
        else ""
    )
    return [
        Problem(
            _key("executor"),
            s.executor,
            f"is not supported by chart {profile.chart_version} (Airflow {profile.airflow_version}): "
            f"use one of {', '.join(profile.executors)}{hint}",
        )
    ]


def _check_high_availability(s: Settings) -> list[Problem]:
    if s.high_availability and s.node_count < 2:
        return [
            Problem(
                _key("highAvailability"),
                True,
                f"needs at least 2 nodes to spread two replicas over (nodeCount is {s.node_count})",
            )
        ]
    return []


def _check_git_sync(s: Settings) -> list[Problem]:
    if s.dags_git_repo == "" and s.dags_git_sub_path not in ("", "dags"):
        return [
            Problem(
                _key("dagsGitSubPath"),
                s.dags_git_sub_path,
                "has no effect without dagsGitRepo; set dagsGitRepo or leave the default",
            )
        ]
    return []


def _check_upgrade_channel(s: Settings) -> list[Problem]:
    """A channel that upgrades the cluster by itself and a pinned patch fight: after AKS
    moves the cluster to a newer patch, the next `pulumi up` would try to take it back."""
    match = _KUBERNETES_VERSION.fullmatch(s.kubernetes_version)
    if s.auto_upgrade_channel in ("patch", "stable", "rapid") and match and match[2]:
        return [
            Problem(
                _key("kubernetesVersion"),
                s.kubernetes_version,
                f"pins a patch release, but autoUpgradeChannel={s.auto_upgrade_channel} upgrades the cluster "
                f"itself: the next pulumi up after an automatic upgrade would try to downgrade it; give "
                f"1.MINOR (1.{match[1]}), or set autoUpgradeChannel to none or node-image to pin the patch",
            )
        ]
    return []


_CLUSTER_FIELDS = frozenset(
    {"stack", "name_prefix", "resource_group_name", "cluster_mode", "cluster_name", "cluster_resource_group"}
)
_CROSS_CHECKS: tuple[tuple[frozenset[str], Callable[[Settings], list[Problem]]], ...] = (
    (_CLUSTER_FIELDS, _check_existing_cluster),
    (_CLUSTER_FIELDS, _check_created_cluster),
    (frozenset({"postgresql_enabled", "pgbouncer_enabled", "external_database_secret_name"}), _check_database),
    (frozenset({"dags_git_repo", "dags_git_sub_path"}), _check_git_sync),
    (frozenset({"airflow_chart_version", "executor"}), _check_executor),
    (frozenset({"high_availability", "node_count"}), _check_high_availability),
    (frozenset({"cluster_admin_group_object_id", "cluster_auth", "cluster_mode"}), _check_cluster_admins),
    (frozenset({"kubernetes_version", "auto_upgrade_channel"}), _check_upgrade_channel),
)


def _cross_checks(s: Settings, valid: frozenset[str] | None = None) -> list[Problem]:
    """Conflicting options; given `valid` field names, only the checks that read nothing else."""
    problems: list[Problem] = []
    for needs, check in _CROSS_CHECKS:
        if valid is None or needs <= valid:
            problems.extend(check(s))
    return problems


def _adapter(name: str) -> TypeAdapter[Any]:
    f = Settings.model_fields[name]
    annotation: Any = f.annotation  # the field's type without Annotated; its validators are in metadata
    return TypeAdapter(Annotated[(annotation, *f.metadata)] if f.metadata else annotation)


_FIELD_ADAPTERS: dict[str, TypeAdapter[Any]] = {name: _adapter(name) for name in Settings.model_fields}


def _partial(data: Mapping[str, Any], invalid: set[str]) -> tuple[Settings, frozenset[str]]:
    """A Settings holding only the fields that are valid on their own (for the cross-checks)."""
    good: dict[str, Any] = {}
    for key, raw in data.items():
        name = _FIELD_BY_KEY[key]
        if name in invalid:
            continue
        try:
            good[name] = _FIELD_ADAPTERS[name].validate_python(raw)
        except ValidationError:
            continue
    return Settings.model_construct(**good), frozenset(good)


# ------------------------------------------------------------------------ parsing
def _parse_raw(key: str, raw: Any) -> Any:
    """Config values reach the program as strings (JSON for arrays); decode arrays."""
    if key in _ARRAY_KEYS and isinstance(raw, str):
        try:
            return json.loads(raw)
        except json.JSONDecodeError:
            return raw  # the field's validator reports it, with the key
    return raw


def _unknown_key(key: str, value: Any) -> Problem:
    name = key.removeprefix(f"{PROJECT}:")
    close = difflib.get_close_matches(name, CONFIG_KEYS, n=1)
    hint = f"did you mean {_key(close[0])}? " if close else ""
    return Problem(key, value, f"unknown key; {hint}known keys: {', '.join(sorted(CONFIG_KEYS))}")


def parse_settings(stack: str, values: Mapping[str, Any]) -> Settings:
    """Validate raw config values (keys with namespace, as the engine passes them).

    Raises ConfigError listing every problem: unknown keys, missing keys, bad values and
    conflicting options.
    """
    problems: list[Problem] = []
    prefix = f"{PROJECT}:"
    for key in sorted(values):
        if key.startswith(prefix) and key[len(prefix) :] not in CONFIG_KEYS:
            problems.append(_unknown_key(key, values[key]))

    data: dict[str, Any] = {"stack": stack}
    location = values.get(PROVIDER_LOCATION_KEY)
    if location is None:
        problems.append(
            Problem(
                PROVIDER_LOCATION_KEY,
                _MISSING,
                "required: the Azure region, e.g. `pulumi config set azure-native:location eastus`",
            )
        )
    else:
        data["location"] = location
    for key in CONFIG_KEYS:
        full = prefix + key
        if full not in values:
            problems.append(
                Problem(full, _MISSING, "required; declare a default in Pulumi.yaml or set it in the stack file")
            )
            continue
        data[key] = _parse_raw(key, values[full])

    settings: Settings | None = None
    try:
        settings = Settings.model_validate(data)
    except ValidationError as err:
        invalid: set[str] = set()
        for e in err.errors():
            loc = e["loc"]
            field = str(loc[0]) if loc else "?"
            invalid.add(_FIELD_BY_KEY.get(field, field))
            key = PROVIDER_LOCATION_KEY if field == "location" else f"{PROJECT}:{field}"
            if field == "stack" or (e["type"] == "missing"):
                continue  # missing keys were reported above
            problems.append(Problem(key, data.get(field, _MISSING), e["msg"].removeprefix("Value error, ")))
        problems.extend(_cross_checks(*_partial(data, invalid)))
    else:
        problems.extend(_cross_checks(settings))
    if problems:
        raise ConfigError(problems)
    assert settings is not None
    return settings


def load_settings() -> Settings:
    """Read every key once from the Pulumi engine's config and validate it."""
    import pulumi

    cfg = pulumi.Config(PROJECT)
    values: dict[str, Any] = {}
    for key in CONFIG_KEYS:
        raw = cfg.get(key)
        if raw is not None:
            values[f"{PROJECT}:{key}"] = raw
    location = pulumi.Config("azure-native").get("location")
    if location is not None:
        values[PROVIDER_LOCATION_KEY] = location
    values.update(_unknown_project_keys())
    try:
        return parse_settings(pulumi.get_stack(), values)
    except ConfigError as err:
        # RunError: the CLI shows the message alone, without a Python traceback.
        raise pulumi.RunError(str(err)) from None


def _unknown_project_keys() -> dict[str, Any]:
    """Keys set in this project's namespace that the program does not know (typos)."""
    from pulumi.runtime import config as runtime_config

    merged: dict[str, Any] = {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}
    prefix = f"{PROJECT}:"
    return {k: v for k, v in merged.items() if k.startswith(prefix) and k[len(prefix) :] not in CONFIG_KEYS}

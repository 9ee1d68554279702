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

import json
import re
import zoneinfo
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

from components.airflow_values import SUPPORTED_CHART_VERSIONS

PROJECT = "airflow-aks"
PROVIDER_LOCATION_KEY = "azure-native:location"

# --------------------------------------------------------------------------- checks
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")
_RESOURCE_GROUP = re.compile(r"^[-\w.()]{0,89}[-\w()]$")
_QUANTITY = re.compile(r"^(?P<num>[0-9]+(\.[0-9]+)?)(?P<unit>Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?$")
_IMAGE_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
_GIT_REF = re.compile(r"^(?!.*\.\.)(?!/)[A-Za-z0-9_][A-Za-z0-9_./-]{0,254}(?<![./])$")
_HTTPS_GIT_URL = re.compile(r"^https://[A-Za-z0-9.-]+(:[0-9]{1,5})?/[A-Za-z0-9_.~/-]+$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _check(pattern: re.Pattern[str], allowed: str) -> Callable[[str], str]:
    def validate(value: str) -> str:
        if not pattern.match(value):
            raise ValueError(f"must be {allowed}")
        return value

    return validate


def _empty_or(check: Callable[[str], str]) -> Callable[[str], str]:
    def validate(value: str) -> str:
        return value if value == "" else check(value)

    return validate


def _quantity(value: str) -> str:
    match = _QUANTITY.match(value)
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
    match = re.match(r"^1\.(\d+)(\.\d+)?$", value)
    if not match or not 28 <= int(match[1]) <= 37:
        raise ValueError("must be a Kubernetes version 1.28 to 1.37, as 1.MINOR or 1.MINOR.PATCH")
    return value


def _image_tag(value: str) -> str:
    if value == "latest":
        raise ValueError("must be a pinned tag, not 'latest'")
    return _check(_IMAGE_TAG, "a container image tag (letters, digits, '_', '.', '-')")(value)


def _env(value: list[str]) -> list[str]:
    names: set[str] = set()
    for item in value:
        name, sep, _ = item.partition("=")
        if not sep or not _ENV_NAME.match(name):
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
        raise ValueError(f"has no values profile; supported chart versions: {', '.join(SUPPORTED_CHART_VERSIONS)}")
    return value


DnsLabel = Annotated[
    str, AfterValidator(_check(_DNS_LABEL, "a DNS-1123 label: lowercase letters, digits and '-', 1-63 chars, alphanumeric at both ends"))
]
ResourceGroupOrEmpty = Annotated[
    str, AfterValidator(_empty_or(_check(_RESOURCE_GROUP, "an Azure resource group name: 1-90 letters, digits, '-', '_', '.', '(', ')', not ending in '.'")))
]
GitRef = Annotated[str, AfterValidator(_check(_GIT_REF, "a git branch, tag or commit (no spaces, no '..')"))]


class Settings(BaseModel):
    """Everything a stack can set. Field aliases are the config keys."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    stack: str
    location: Annotated[str, AfterValidator(_check(re.compile(r"^[a-z0-9]+$"), "an Azure region name such as eastus"))]
    name_prefix: Annotated[
        str, AfterValidator(_check(re.compile(r"^[a-z][a-z0-9]{1,9}$"), "2-10 lowercase letters and digits, starting with a letter (it is part of globally unique vault and storage names)"))
    ] = Field(alias="namePrefix")
    resource_group_name: ResourceGroupOrEmpty = Field(alias="resourceGroupName")

    cluster_mode: Literal["create", "existing"] = Field(alias="clusterMode")
    cluster_name: Annotated[
        str, AfterValidator(_empty_or(_check(re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,61}[A-Za-z0-9]$"), "an AKS cluster name: 2-63 letters, digits, '-', '_', alphanumeric at both ends")))
    ] = Field(alias="clusterName")
    cluster_resource_group: ResourceGroupOrEmpty = Field(alias="clusterResourceGroup")
    kubernetes_version: Annotated[str, AfterValidator(_kubernetes_version)] = Field(alias="kubernetesVersion")
    cluster_tier: Literal["Free", "Standard", "Premium"] = Field(alias="clusterTier")
    node_vm_size: Annotated[
        str, AfterValidator(_check(re.compile(r"^Standard_[A-Za-z0-9_]+$"), "an Azure VM size such as Standard_DS4_v2"))
    ] = Field(alias="nodeVmSize")
    node_count: int = Field(alias="nodeCount", ge=1, le=100)
    availability_zones: Annotated[list[str], AfterValidator(_zones)] = Field(alias="availabilityZones")
    auto_upgrade_channel: Literal["none", "patch", "stable", "rapid", "node-image"] = Field(alias="autoUpgradeChannel")
    node_os_upgrade_channel: Literal["None", "Unmanaged", "NodeImage", "SecurityPatch"] = Field(alias="nodeOsUpgradeChannel")

    acr_name: Annotated[
        str, AfterValidator(_check(re.compile(r"^[A-Za-z0-9]{5,50}$"), "an Azure Container Registry name: 5-50 letters and digits"))
    ] = Field(alias="acrName")
    acr_resource_group: Annotated[
        str, AfterValidator(_check(_RESOURCE_GROUP, "the resource group of the registry (1-90 letters, digits, '-', '_', '.', '(', ')')"))
    ] = Field(alias="acrResourceGroup")

    namespace: DnsLabel = Field(alias="namespace")
    service_account_name: Annotated[
        str, AfterValidator(_check(_DNS_SUBDOMAIN, "a DNS-1123 subdomain: lowercase letters, digits, '-' and '.', alphanumeric at both ends"))
    ] = Field(alias="serviceAccountName")

    key_vault_authorization: Literal["rbac", "accessPolicy"] = Field(alias="keyVaultAuthorization")
    key_vault_purge_protection: bool = Field(alias="keyVaultPurgeProtection")
    key_vault_soft_delete_retention_days: int = Field(alias="keyVaultSoftDeleteRetentionDays", ge=7, le=90)

    install_secrets_operator: bool = Field(alias="installSecretsOperator")
    secrets_operator_chart_version: Literal["2.9.0"] = Field(alias="secretsOperatorChartVersion")

    logs_volume_size: Annotated[str, AfterValidator(_quantity)] = Field(alias="logsVolumeSize")
    logs_container_name: Annotated[
        str, AfterValidator(_check(re.compile(r"^(?!.*--)[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$"), "a blob container name: 3-63 lowercase letters, digits and single '-'"))
    ] = Field(alias="logsContainerName")

    airflow_chart_version: Annotated[str, AfterValidator(_chart_version)] = Field(alias="airflowChartVersion")
    executor: Literal["LocalExecutor", "CeleryExecutor", "KubernetesExecutor", "CeleryKubernetesExecutor"] = Field(alias="executor")
    airflow_image_tag: Annotated[str, AfterValidator(_empty_or(_image_tag))] = Field(alias="airflowImageTag")
    airflow_env: Annotated[list[str], AfterValidator(_env)] = Field(alias="airflowEnv")
    timezone: Annotated[str, AfterValidator(_timezone)] = Field(alias="timezone")
    dags_git_repo: Annotated[
        str, AfterValidator(_empty_or(_check(_HTTPS_GIT_URL, "an https git URL such as https://github.com/org/repo.git (or empty to turn git-sync off)")))
    ] = Field(alias="dagsGitRepo")
    dags_git_branch: GitRef = Field(alias="dagsGitBranch")
    dags_git_rev: GitRef = Field(alias="dagsGitRev")
    dags_git_sub_path: Annotated[
        str, AfterValidator(_empty_or(_check(re.compile(r"^(?!/)(?!.*(^|/)\.\.(/|$))[A-Za-z0-9_./-]+$"), "a relative path inside the repository, without '..'")))
    ] = Field(alias="dagsGitSubPath")
    dags_git_depth: int = Field(alias="dagsGitDepth", ge=0, le=10000)
    postgresql_enabled: bool = Field(alias="postgresqlEnabled")
    pgbouncer_enabled: bool = Field(alias="pgbouncerEnabled")
    external_database_secret_name: Annotated[
        str, AfterValidator(_empty_or(_check(_DNS_SUBDOMAIN, "a Kubernetes Secret name (DNS-1123 subdomain)")))
    ] = Field(alias="externalDatabaseSecretName")
    admin_username: Annotated[
        str, AfterValidator(_check(re.compile(r"^[A-Za-z][A-Za-z0-9_.-]{2,63}$"), "3-64 letters, digits, '_', '.', '-', starting with a letter"))
    ] = Field(alias="adminUsername")
    admin_email: Annotated[
        str, AfterValidator(_check(re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$"), "an e-mail address"))
    ] = Field(alias="adminEmail")

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


def _cross_checks(s: Settings) -> list[Problem]:
    problems: list[Problem] = []
    if s.cluster_mode == "existing" and not s.cluster_name:
        problems.append(Problem(f"{PROJECT}:clusterName", s.cluster_name, "required when clusterMode is 'existing' (the AKS cluster to look up)"))
    if s.cluster_mode == "existing" and s.effective_cluster_resource_group == s.effective_resource_group:
        problems.append(
            Problem(f"{PROJECT}:clusterResourceGroup", s.cluster_resource_group,
                    "must name the existing cluster's resource group, which differs from resourceGroupName (the stack creates that one)")
        )
    if not s.postgresql_enabled and not s.external_database_secret_name:
        problems.append(
            Problem(f"{PROJECT}:externalDatabaseSecretName", "", "required when postgresqlEnabled is false: a Secret with a 'connection' key for the metadata database")
        )
    if s.postgresql_enabled and s.external_database_secret_name:
        problems.append(
            Problem(f"{PROJECT}:externalDatabaseSecretName", s.external_database_secret_name, "conflicts with postgresqlEnabled=true: use one metadata database, not both")
        )
    if s.pgbouncer_enabled and not s.postgresql_enabled:
        problems.append(
            Problem(f"{PROJECT}:pgbouncerEnabled", True, "only supported with the bundled PostgreSQL (postgresqlEnabled=true); set it to false for an external database")
        )
    if s.dags_git_repo == "" and s.dags_git_sub_path not in ("", "dags"):
        problems.append(Problem(f"{PROJECT}:dagsGitSubPath", s.dags_git_sub_path, "has no effect without dagsGitRepo; set dagsGitRepo or leave the default"))
    return problems


def _parse_raw(key: str, raw: Any) -> Any:
    """Config values reach the program as strings (JSON for arrays); decode arrays."""
    if key in _ARRAY_KEYS and isinstance(raw, str):
        try:
            return json.loads(raw)
        except json.JSONDecodeError:
            return raw  # pydantic reports the type problem with the key
    return raw


def parse_settings(stack: str, values: Mapping[str, Any]) -> Settings:
    """Validate raw config values (keys with namespace, as the engine passes them).

    Raises ConfigError listing every problem: unknown keys, missing keys, bad values and
    conflicting options.
    """
    problems: list[Problem] = []
    prefix = f"{PROJECT}:"
    for key in sorted(values):
        if key.startswith(prefix) and key[len(prefix):] not in CONFIG_KEYS:
            problems.append(Problem(key, values[key], f"unknown key; known keys: {', '.join(sorted(CONFIG_KEYS))}"))

    data: dict[str, Any] = {"stack": stack}
    location = values.get(PROVIDER_LOCATION_KEY)
    if location is None:
        problems.append(Problem(PROVIDER_LOCATION_KEY, _MISSING, "required: the Azure region, e.g. `pulumi config set azure-native:location eastus`"))
    else:
        data["location"] = location
    for key in CONFIG_KEYS:
        full = prefix + key
        if full not in values:
            problems.append(Problem(full, _MISSING, "required; declare a default in Pulumi.yaml or set it in the stack file"))
            continue
        data[key] = _parse_raw(key, values[full])

    settings: Settings | None = None
    try:
        settings = Settings.model_validate(data)
    except ValidationError as err:
        for e in err.errors():
            loc = e["loc"]
            field = str(loc[0]) if loc else "?"
            key = PROVIDER_LOCATION_KEY if field == "location" else f"{PROJECT}:{field}"
            if field == "stack" or (e["type"] == "missing"):
                continue  # missing keys were reported above
            problems.append(Problem(key, data.get(field, _MISSING), e["msg"].removeprefix("Value error, ")))
    if settings is not None:
        problems.extend(_cross_checks(settings))
    if problems:
        raise ConfigError(problems)
    assert settings is not None
    return settings


def load_settings() -> Settings:
    """Read every key once from the Pulumi engine's config and validate it."""
    import pulumi  # local import: the pure parts of this module need no Pulumi runtime

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
    return {k: v for k, v in merged.items() if k.startswith(prefix) and k[len(prefix):] not in CONFIG_KEYS}

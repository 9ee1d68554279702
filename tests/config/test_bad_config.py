"""Bad input: one clear error naming the key, the bad value and what is allowed, before any resource.

Every case starts from the dev stack's config and overrides one key (two or three for
conflicts) with the string the Pulumi engine would pass: plain text for strings, JSON text
for integers, booleans and arrays, as synth.project encodes them.
"""

from __future__ import annotations

import contextlib
import json
import re
import runpy
import time
from dataclasses import dataclass, field
from typing import Annotated, Any

import pulumi
import pytest
from pulumi.runtime import settings as runtime_settings
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await
from pydantic import TypeAdapter, ValidationError

from config import (
    CONFIG_KEYS,
    OWNED_ENV,
    PROJECT,
    PROVIDER_LOCATION_KEY,
    STACK_KEY,
    ConfigError,
    Settings,
    parse_settings,
)
from synth.mocks import AzureMocks
from synth.project import PROJECT_DIR, StackConfig, load_stack_config
from synth.runner import RecordingMonitor, setup_mocks

_ARRAYS = {"availabilityZones", "airflowEnv", "apiServerAuthorizedIpRanges"}


def _full(key: str) -> str:
    return key if ":" in key or key == STACK_KEY else f"{PROJECT}:{key}"


def clipped(value: Any) -> str:
    """How a problem shows a long value: its JSON text cut at 320 characters."""
    text = json.dumps(value)
    return text if len(text) <= 320 else f"{text[:320]}... ({len(text)} characters)"


@dataclass(frozen=True)
class Case:
    id: str
    overrides: dict[str, str]  # short key (or ns:key) -> engine string
    key: str  # the key the problem must name
    hint: str  # part of what-is-allowed text the problem must carry
    shown: str | None = None  # how the bad value appears; default: JSON of the (decoded) override
    also: frozenset[str] = field(default_factory=frozenset)  # further keys this input rightly flags
    stack: str = "dev"  # the stack name parse_settings gets

    @property
    def full_key(self) -> str:
        return _full(self.key)

    @property
    def expected_shown(self) -> str:
        if self.shown is not None:
            return self.shown
        if self.key == STACK_KEY:
            return json.dumps(self.stack)
        raw = self.overrides[self.key]
        if self.key in _ARRAYS:
            try:
                return clipped(json.loads(raw))
            except (json.JSONDecodeError, RecursionError):
                pass
        return clipped(raw)

    def values(self) -> dict[str, str]:
        values = dict(load_stack_config("dev").values)
        values.update({_full(k): v for k, v in self.overrides.items()})
        return values


def bad(case_id: str, key: str, value: str, hint: str, **kw: Any) -> Case:
    return Case(case_id, {key: value}, key, hint, **kw)


def conflict(case_id: str, overrides: dict[str, str], key: str, hint: str, **kw: Any) -> Case:
    return Case(case_id, overrides, key, hint, **kw)


DNS_LABEL = "DNS-1123 label: lowercase letters, digits and '-', 1-63 chars"
SUBDOMAIN = "DNS-1123 subdomain: up to 253 lowercase letters, digits, '-' and '.'"
HTTPS_GIT = "an https git URL such as https://github.com/org/repo.git"
# github.com's published ed25519 host key
KNOWN_HOSTS = "github.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"
GIT_REF = "a git branch, tag or commit"
RG = "1-90 letters, digits, '-', '_', '.', '(', ')', not ending in '.'"
BOOL = "must be true or false"
ZONES = 'distinct zones from "1", "2", "3"'
QUANTITY = "positive Kubernetes quantity such as 5Gi"
CHART = "has no values profile; supported chart versions: 1.15.0, 1.19.0"
RESOURCES = "must be cpu=<request>,memory=<request>,cpuLimit=<limit>,memoryLimit=<limit>, such as cpu=250m"
CPU = "is not a CPU quantity: millicores such as 250m, or cores such as 0.5 or 2"
CONTROL = "no config value may contain control characters (NUL, CR, LF, other C0/C1 or bidi controls)"
OWNED = "is set by the stack itself"
STACK_CHARS = "must be letters, digits and '-' only: the stack name is part of Azure names"
MEMORY = "is not a memory quantity: a number with a unit Ki, Mi, Gi, Ti, k, M, G or T, such as 512Mi"
NETWORK_MODE = "must be 'aks-managed', 'create' or 'existing'"
VNET_SPACE = "must be an IPv4 private network in CIDR notation, /16 to /22, such as 10.42.0.0/16"
SUBNET_ID = (
    "must be an Azure subnet resource ID: /subscriptions/<subscription GUID>/resourceGroups/<resource group>"
    "/providers/Microsoft.Network/virtualNetworks/<vnet>/subnets/<subnet>"
)
IP_RANGE = "must be an IPv4 address such as 203.0.113.7 or an IPv4 CIDR such as 198.51.100.0/24"
SUB = "/subscriptions/5b6c3a1e-9d5f-4c2b-8f0e-2a7d9c1b3e4f"
SUBNET = f"{SUB}/resourceGroups/net-rg/providers/Microsoft.Network/virtualNetworks/hub-vnet/subnets/aks-nodes"
EXISTING_CLUSTER = {"clusterMode": "existing", "clusterName": "corp-aks", "clusterResourceGroup": "corp-rg"}
POOL_NODES = "must be a whole number from 0 to 1000"
MAX_PODS = "must be a whole number from 30 to 250"
VM_SIZE = "an Azure VM size such as Standard_DS4_v2"
DATABASE_MODE = "must be 'bundled', 'managed' or 'external'"
DATABASE_SKU = (
    "must be an Azure Database for PostgreSQL flexible server compute size Standard_<family><vCPUs><features>[_v<n>] "
    "of family B (Burstable), D (General Purpose) or E (Memory Optimized), such as Standard_B2s"
)
DATABASE_VERSION = "must be '16' or '17'"
STORAGE_SIZES = (
    "must be one of 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384 or 32767 (GiB: the storage sizes Azure "
    "Database for PostgreSQL offers)"
)
DATABASE_HA = "must be 'Disabled', 'SameZone' or 'ZoneRedundant'"
BACKUP_DAYS = "must be a whole number from 7 to 35"
OWN_ADDON = "needs clusterMode=create: it turns on a cluster add-on"
ACTION_GROUP = "must be an Azure Monitor action group resource ID"
ACTION_GROUP_ID = f"{SUB}/resourceGroups/ops-rg/providers/Microsoft.Insights/actionGroups/airflow-oncall"
WINDOW = "must be a weekly start time in UTC, '<day> HH:MM' with day Sun, Mon, Tue, Wed, Thu, Fri or Sat"
ADMIN_LOGIN = "must be a PostgreSQL administrator login: 1-63 letters, digits and '_', starting with a letter"
RESERVED_LOGIN = (
    "is reserved: Azure Database for PostgreSQL refuses azure_superuser, azure_pg_admin, admin, administrator, root, "
    "guest, public (in any case) and every name starting with pg_ as the administrator login"
)
LOGS_MODE = "must be 'pv' or 'remote'"
RETIRED_POSTGRESQL = (
    "postgresqlEnabled was replaced by databaseMode: true -> bundled, false -> external (or managed for Azure "
    "Database for PostgreSQL Flexible Server)"
)
NOT_BURSTABLE = "choose a General Purpose (Standard_D...) or Memory Optimized (Standard_E...) databaseSku"
DB_SUBNET = SUBNET.replace("aks-nodes", "postgres")
PE_SUBNET = SUBNET.replace("aks-nodes", "endpoints")
MANAGED = {"databaseMode": "managed", "networkMode": "create"}
MANAGED_EXISTING = {"databaseMode": "managed", "networkMode": "existing", "nodeSubnetId": SUBNET}

CASES: list[Case] = [
    # ---- location and naming
    bad("location-with-space", PROVIDER_LOCATION_KEY, "East US", "an Azure region name such as eastus"),
    bad("location-empty", PROVIDER_LOCATION_KEY, "", "an Azure region name such as eastus"),
    bad("namePrefix-uppercase", "namePrefix", "Airflow", "2-10 lowercase letters and digits"),
    bad("namePrefix-too-long", "namePrefix", "airflowprod", "2-10 lowercase letters and digits"),
    bad("namePrefix-leading-digit", "namePrefix", "1airflow", "starting with a letter"),
    bad("namePrefix-empty", "namePrefix", "", "2-10 lowercase letters and digits"),
    bad("resourceGroupName-trailing-dot", "resourceGroupName", "airflow-rg.", RG),
    bad("resourceGroupName-space", "resourceGroupName", "airflow rg", RG),
    bad("resourceGroupName-91-chars", "resourceGroupName", "r" * 91, RG),
    # ---- cluster
    bad("clusterMode-unknown", "clusterMode", "import", "'create' or 'existing'"),
    bad("clusterMode-empty", "clusterMode", "", "'create' or 'existing'"),
    bad("clusterMode-wrong-case", "clusterMode", "Create", "'create' or 'existing'"),
    bad("clusterName-leading-dash", "clusterName", "-aks", "2-63 letters, digits, '-', '_'"),
    bad("clusterName-64-chars", "clusterName", "c" * 64, "2-63 letters, digits, '-', '_'"),
    bad("clusterName-underscore-in-create-mode", "clusterName", "airflow_aks", "AKS DNS prefix"),
    bad("clusterName-55-chars-in-create-mode", "clusterName", "c" * 55, "1-54 letters, digits and '-'"),
    bad("clusterResourceGroup-trailing-dot", "clusterResourceGroup", "aks-rg.", RG),
    bad("kubernetesVersion-too-old", "kubernetesVersion", "1.27", "1.28 to 1.37"),
    bad("kubernetesVersion-too-new", "kubernetesVersion", "1.38", "1.28 to 1.37"),
    bad("kubernetesVersion-latest", "kubernetesVersion", "latest", "1.MINOR or 1.MINOR.PATCH"),
    bad("kubernetesVersion-v-prefix", "kubernetesVersion", "v1.33", "1.MINOR or 1.MINOR.PATCH"),
    bad(
        "kubernetesVersion-patch-with-stable-channel",
        "kubernetesVersion",
        "1.33.2",
        "pins a patch release, but autoUpgradeChannel=stable upgrades the cluster itself: the next pulumi up "
        "after an automatic upgrade would try to downgrade it; give 1.MINOR (1.33)",
    ),
    conflict(
        "kubernetesVersion-patch-with-patch-channel",
        {"kubernetesVersion": "1.31.4", "autoUpgradeChannel": "patch"},
        "kubernetesVersion",
        "autoUpgradeChannel=patch upgrades the cluster itself",
    ),
    bad("clusterAuth-aad", "clusterAuth", "aad", "'local' or 'entra'"),
    bad("highAvailability-yes", "highAvailability", "yes", "must be true or false"),
    conflict(
        "highAvailability-one-node",
        {"highAvailability": "true", "nodeCount": "1", "availabilityZones": '["1"]'},
        "highAvailability",
        "needs at least 2 nodes to spread two replicas over (nodeCount is 1)",
        shown="true",
    ),
    bad("clusterAdminGroupObjectId-name", "clusterAdminGroupObjectId", "aks-admins", "an Entra object id (a GUID"),
    conflict(
        "clusterAdminGroupObjectId-without-entra",
        {"clusterAdminGroupObjectId": "5b6c3a1e-9d5f-4c2b-8f0e-2a7d9c1b3e4f"},
        "clusterAdminGroupObjectId",
        "only used with clusterAuth=entra and clusterMode=create",
    ),
    bad("clusterAuth-capitalised", "clusterAuth", "Entra", "'local' or 'entra'"),
    bad("clusterTier-lowercase", "clusterTier", "standard", "'Free', 'Standard' or 'Premium'"),
    bad("clusterTier-unknown", "clusterTier", "Paid", "'Free', 'Standard' or 'Premium'"),
    bad("nodeVmSize-no-Standard-prefix", "nodeVmSize", "DS4_v2", "an Azure VM size such as Standard_DS4_v2"),
    bad("nodeVmSize-empty", "nodeVmSize", "", "an Azure VM size such as Standard_DS4_v2"),
    bad("nodeCount-word", "nodeCount", "three", "whole number from 1 to 100"),
    bad("nodeCount-zero", "nodeCount", "0", "whole number from 1 to 100"),
    bad("nodeCount-101", "nodeCount", "101", "whole number from 1 to 100"),
    bad("nodeCount-negative", "nodeCount", "-3", "whole number from 1 to 100"),
    bad("nodeCount-fraction", "nodeCount", "3.5", "whole number from 1 to 100"),
    bad("nodeCount-float-text", "nodeCount", "3.0", "whole number from 1 to 100"),
    bad("nodeCount-boolean", "nodeCount", "true", "whole number from 1 to 100"),
    bad("nodeCount-empty", "nodeCount", "", "whole number from 1 to 100"),
    bad("availabilityZones-not-json", "availabilityZones", "1,2,3", 'JSON array of strings, such as ["1", "2", "3"]'),
    bad("availabilityZones-json-string", "availabilityZones", '"1"', "JSON array of strings"),
    bad("availabilityZones-numbers", "availabilityZones", "[1, 2]", "item 0 (1) must be a string"),
    bad("availabilityZones-zone-4", "availabilityZones", '["1", "4"]', ZONES),
    bad("availabilityZones-empty", "availabilityZones", "[]", "non-empty list"),
    bad("availabilityZones-repeated", "availabilityZones", '["1", "1"]', ZONES),
    bad("autoUpgradeChannel-capitalised", "autoUpgradeChannel", "Stable", "'none', 'patch', 'stable', 'rapid'"),
    bad("nodeOsUpgradeChannel-lowercase", "nodeOsUpgradeChannel", "nodeimage", "'None', 'Unmanaged', 'NodeImage'"),
    # ---- registry
    bad("acrName-too-short", "acrName", "acr", "5-50 letters and digits"),
    bad("acrName-dash", "acrName", "airflow-acr", "5-50 letters and digits"),
    bad("acrName-empty", "acrName", "", "5-50 letters and digits"),
    bad("acrResourceGroup-empty", "acrResourceGroup", "", "the resource group of the registry"),
    # ---- Kubernetes names
    bad("namespace-uppercase", "namespace", "Airflow", DNS_LABEL),
    bad("namespace-underscore", "namespace", "air_flow", DNS_LABEL),
    bad("namespace-64-chars", "namespace", "n" * 64, DNS_LABEL),
    bad("namespace-leading-dash", "namespace", "-airflow", DNS_LABEL),
    bad("namespace-empty", "namespace", "", DNS_LABEL),
    bad("namespace-kube-system", "namespace", "kube-system", "not 'default' or 'kube-*'"),
    bad("namespace-default", "namespace", "default", "not 'default' or 'kube-*'"),
    bad("serviceAccountName-uppercase", "serviceAccountName", "Airflow", SUBDOMAIN),
    bad("serviceAccountName-underscore", "serviceAccountName", "airflow_sa", SUBDOMAIN),
    bad("serviceAccountName-leading-dash", "serviceAccountName", "-airflow", SUBDOMAIN),
    bad("serviceAccountName-254-chars", "serviceAccountName", "s" * 254, SUBDOMAIN),
    bad("serviceAccountName-empty-label", "serviceAccountName", "airflow..workers", SUBDOMAIN),
    bad("serviceAccountName-dash-after-dot", "serviceAccountName", "airflow.-workers", SUBDOMAIN),
    bad("serviceAccountName-empty", "serviceAccountName", "", SUBDOMAIN),
    # ---- Key Vault and secrets operator
    bad("keyVaultAuthorization-uppercase", "keyVaultAuthorization", "RBAC", "'rbac' or 'accessPolicy'"),
    bad("keyVaultPurgeProtection-maybe", "keyVaultPurgeProtection", "maybe", BOOL),
    bad("keyVaultPurgeProtection-yes", "keyVaultPurgeProtection", "yes", BOOL),
    bad("keyVaultPurgeProtection-1", "keyVaultPurgeProtection", "1", BOOL),
    bad("keyVaultPurgeProtection-empty", "keyVaultPurgeProtection", "", BOOL),
    bad("keyVaultSoftDeleteRetentionDays-6", "keyVaultSoftDeleteRetentionDays", "6", "whole number from 7 to 90"),
    bad("keyVaultSoftDeleteRetentionDays-91", "keyVaultSoftDeleteRetentionDays", "91", "whole number from 7 to 90"),
    bad("keyVaultSoftDeleteRetentionDays-word", "keyVaultSoftDeleteRetentionDays", "week", "whole number from 7 to 90"),
    bad("installSecretsOperator-sure", "installSecretsOperator", "sure", BOOL),
    bad("installSecretsOperator-off", "installSecretsOperator", "off", BOOL),
    bad("grantAcrPull-no", "grantAcrPull", "no", BOOL),
    bad("protectStatefulResources-yes", "protectStatefulResources", "yes", BOOL),
    conflict(
        "grantAcrPull-off-for-a-created-cluster",
        {"grantAcrPull": "false"},
        "grantAcrPull",
        "may be false only with clusterMode=existing",
        shown="false",
    ),
    bad("secretsOperatorChartVersion-unpinned", "secretsOperatorChartVersion", "0.9.0", "'2.9.0'"),
    # ---- logs
    bad("logsVolumeSize-0Gi", "logsVolumeSize", "0Gi", QUANTITY),
    bad("logsVolumeSize-5GB", "logsVolumeSize", "5GB", QUANTITY),
    bad("logsVolumeSize-negative", "logsVolumeSize", "-1Gi", QUANTITY),
    bad("logsVolumeSize-lots", "logsVolumeSize", "lots", QUANTITY),
    bad("logsVolumeSize-empty", "logsVolumeSize", "", QUANTITY),
    bad("logsContainerName-uppercase", "logsContainerName", "Logs", "3-63 lowercase letters, digits and single '-'"),
    bad("logsContainerName-double-dash", "logsContainerName", "airflow--logs", "single '-'"),
    bad("logsContainerName-two-chars", "logsContainerName", "lg", "3-63 lowercase letters"),
    bad("logsRetentionDays-0", "logsRetentionDays", "0", "whole number from 1 to 3650"),
    bad("logsRetentionDays-3651", "logsRetentionDays", "3651", "whole number from 1 to 3650"),
    bad("logsRetentionDays-word", "logsRetentionDays", "month", "whole number from 1 to 3650"),
    bad("logsRetentionDays-fraction", "logsRetentionDays", "7.5", "whole number from 1 to 3650"),
    # ---- Airflow
    bad("airflowChartVersion-1.18.0-no-profile", "airflowChartVersion", "1.18.0", CHART),
    bad("airflowChartVersion-2.0.0", "airflowChartVersion", "2.0.0", CHART),
    bad("airflowChartVersion-latest", "airflowChartVersion", "latest", CHART),
    bad("executor-Sequential", "executor", "SequentialExecutor", "'LocalExecutor', 'CeleryExecutor'"),
    bad(
        "executor-lowercase",
        "executor",
        "kubernetesexecutor",
        "'CeleryKubernetesExecutor' or 'CeleryExecutor,KubernetesExecutor'",
    ),
    conflict(
        "executor-celery-kubernetes-on-airflow-3",
        {"executor": "CeleryKubernetesExecutor", "airflowChartVersion": "1.19.0"},
        "executor",
        "is not supported by chart 1.19.0 (Airflow 3.1.7): use one of LocalExecutor, CeleryExecutor, "
        "KubernetesExecutor, CeleryExecutor,KubernetesExecutor; Airflow 3 dropped CeleryKubernetesExecutor",
    ),
    bad(
        "executor-multi-on-airflow-2",
        "executor",
        "CeleryExecutor,KubernetesExecutor",
        "is not supported by chart 1.15.0 (Airflow 2.9.3): use one of LocalExecutor, CeleryExecutor, "
        "KubernetesExecutor, CeleryKubernetesExecutor; running executors side by side needs Airflow 2.10+",
    ),
    bad("executor-empty", "executor", "", "'LocalExecutor', 'CeleryExecutor'"),
    bad("airflowImageTag-latest", "airflowImageTag", "latest", "a pinned tag, not 'latest'"),
    bad("airflowImageTag-space", "airflowImageTag", "2.9.3 ", "container image tag (letters, digits"),
    bad("airflowImageTag-leading-dash", "airflowImageTag", "-2.9.3", "container image tag"),
    bad("airflowEnv-not-json", "airflowEnv", "ENVIRONMENT=dev", 'JSON array of strings, such as ["NAME=value"]'),
    bad("airflowEnv-object", "airflowEnv", '{"ENVIRONMENT": "dev"}', "JSON array of strings"),
    bad("airflowEnv-number-item", "airflowEnv", "[1]", "item 0 (1) must be a string"),
    bad("airflowEnv-no-equals", "airflowEnv", '["ENVIRONMENT"]', "must look like NAME=value"),
    bad("airflowEnv-bad-name", "airflowEnv", '["1ENV=dev"]', "NAME a valid variable name"),
    bad("airflowEnv-duplicate", "airflowEnv", '["A=1", "A=2"]', "variable A is set twice"),
    bad("timezone-unknown", "timezone", "Mars/Olympus", "an IANA time zone such as UTC or America/New_York"),
    bad("timezone-spaces", "timezone", "New York", "an IANA time zone"),
    bad("timezone-empty", "timezone", "", "an IANA time zone"),
    bad("timezone-path", "timezone", "../../etc/passwd", "an IANA time zone"),
    # ---- git-sync
    # SSH: valid forms need dagsGitKnownHosts; hostile ones are refused on the URL
    conflict(
        "dagsGitRepo-ssh-without-known-hosts",
        {"dagsGitRepo": "git@github.com:org/dags.git"},
        "dagsGitKnownHosts",
        "is required with an SSH dagsGitRepo",
        shown='""',
    ),
    conflict(
        "dagsGitKnownHosts-with-https",
        {"dagsGitKnownHosts": KNOWN_HOSTS},
        "dagsGitKnownHosts",
        "is only for an SSH dagsGitRepo",
    ),
    conflict(
        "dagsGitKnownHosts-other-host",
        {"dagsGitRepo": "git@gitlab.com:org/dags.git", "dagsGitKnownHosts": KNOWN_HOSTS},
        "dagsGitKnownHosts",
        "names no line for gitlab.com",
    ),
    conflict(
        "dagsGitKnownHosts-port-needs-brackets",
        {"dagsGitRepo": "ssh://git@github.com:2222/org/dags.git", "dagsGitKnownHosts": KNOWN_HOSTS},
        "dagsGitKnownHosts",
        "names no line for [github.com]:2222",
    ),
    bad(
        "dagsGitRepo-ssh-password",
        "dagsGitRepo",
        "ssh://git:hunter2@github.com/org/dags.git",
        "must not carry a password",
        shown='"ssh://[redacted]@github.com/org/dags.git"',
    ),
    bad("dagsGitRepo-ssh-ip-host", "dagsGitRepo", "git@192.0.2.7:org/dags.git", "a DNS host name (no IP address)"),
    bad("dagsGitRepo-ssh-option-host", "dagsGitRepo", "git@-oProxyCommand=sh:org/dags.git", HTTPS_GIT),
    bad("dagsGitRepo-ssh-option-user", "dagsGitRepo", "-oProxyCommand=x@github.com:org/dags.git", HTTPS_GIT),
    bad("dagsGitRepo-ssh-absolute-path", "dagsGitRepo", "git@github.com:/srv/dags.git", HTTPS_GIT),
    bad("dagsGitRepo-ssh-dotdot", "dagsGitRepo", "git@github.com:org/../dags.git", HTTPS_GIT),
    bad(
        "dagsGitRepo-ssh-no-path",
        "dagsGitRepo",
        "ssh://git@github.com",
        HTTPS_GIT,
        shown='"ssh://[redacted]@github.com"',
    ),
    bad(
        "dagsGitRepo-ssh-port",
        "dagsGitRepo",
        "ssh://git@github.com:70000/org/dags.git",
        "an SSH port is 1 to 65535",
        shown='"ssh://[redacted]@github.com:70000/org/dags.git"',
    ),
    bad("dagsGitRepo-ssh-single-label", "dagsGitRepo", "git@localhost:org/dags.git", HTTPS_GIT),
    bad("dagsGitRepo-ext-transport", "dagsGitRepo", "ext::sh -c touch% /tmp/x", HTTPS_GIT),
    bad("dagsGitKnownHosts-garbage", "dagsGitKnownHosts", "not a known_hosts line", "known_hosts lines"),
    bad(
        "dagsGitKnownHosts-bad-type",
        "dagsGitKnownHosts",
        "github.com ssh-dss AAAAB3NzaC1kc3M=",
        "has key type 'ssh-dss'",
    ),
    bad(
        "dagsGitKnownHosts-type-mismatch",
        "dagsGitKnownHosts",
        KNOWN_HOSTS.replace("ssh-ed25519", "ssh-rsa"),
        "the key is not an SSH public key of type ssh-rsa",
    ),
    bad("dagsGitKnownHosts-not-base64", "dagsGitKnownHosts", "github.com ssh-ed25519 AAAA====", "known_hosts"),
    bad("dagsGitKnownHosts-marker", "dagsGitKnownHosts", "@revoked " + KNOWN_HOSTS, "known_hosts lines"),
    bad("dagsGitKnownHosts-cr", "dagsGitKnownHosts", KNOWN_HOSTS + "\r", "U+000D"),
    bad("dagsGitKnownHosts-option", "dagsGitKnownHosts", KNOWN_HOSTS + " extra", "known_hosts lines"),
    bad("dagsGitRepo-http", "dagsGitRepo", "http://github.com/org/dags.git", HTTPS_GIT),
    bad("dagsGitRepo-not-a-url", "dagsGitRepo", "not a url", HTTPS_GIT),
    bad("dagsGitRepo-space", "dagsGitRepo", "https://github.com/org/my dags.git", HTTPS_GIT),
    bad("dagsGitRepo-file", "dagsGitRepo", "file:///srv/dags.git", HTTPS_GIT),
    bad(
        "dagsGitRepo-credentials",
        "dagsGitRepo",
        "https://user:token@github.com/org/dags.git",
        "must not carry credentials (user:token@)",
        shown='"https://[redacted]@github.com/org/dags.git"',
    ),
    bad(
        "dagsGitRepo-token-as-user",
        "dagsGitRepo",
        "https://ghp_0123456789abcdef@github.com/org/dags.git",
        "must not carry credentials",
        shown='"https://[redacted]@github.com/org/dags.git"',
    ),
    bad("dagsGitRepo-no-path", "dagsGitRepo", "https://github.com/", HTTPS_GIT),
    bad("dagsGitRepo-bad-host", "dagsGitRepo", "https://-github.com/org/dags.git", HTTPS_GIT),
    bad("dagsGitRepo-dotdot", "dagsGitRepo", "https://github.com/org/../dags.git", HTTPS_GIT),
    bad("dagsGitRepo-trailing-newline", "dagsGitRepo", "https://github.com/org/dags.git\n", "U+000A at position 31"),
    bad("dagsGitBranch-space", "dagsGitBranch", "feature branch", GIT_REF),
    bad("dagsGitBranch-dotdot", "dagsGitBranch", "main..dev", GIT_REF),
    bad("dagsGitBranch-empty", "dagsGitBranch", "", GIT_REF),
    bad("dagsGitBranch-leading-dash", "dagsGitBranch", "-main", GIT_REF),
    bad("dagsGitBranch-lock-suffix", "dagsGitBranch", "main.lock", "ending in '.lock'"),
    bad("dagsGitBranch-double-slash", "dagsGitBranch", "feature//x", "no '..' or '//'"),
    bad("dagsGitBranch-hidden-part", "dagsGitBranch", "feature/.x", "no part starting with '.'"),
    bad("dagsGitBranch-trailing-slash", "dagsGitBranch", "feature/", GIT_REF),
    bad("dagsGitBranch-trailing-newline", "dagsGitBranch", "main\n", CONTROL),
    bad("dagsGitRev-tilde", "dagsGitRev", "HEAD~1", GIT_REF),
    bad("dagsGitRev-space", "dagsGitRev", "v1 .0", GIT_REF),
    bad("dagsGitRev-reflog", "dagsGitRev", "main@{1}", GIT_REF),
    bad("dagsGitSubPath-absolute", "dagsGitSubPath", "/dags", "a relative path inside the repository"),
    bad("dagsGitSubPath-parent", "dagsGitSubPath", "../dags", "without '..'"),
    bad("dagsGitSubPath-inner-parent", "dagsGitSubPath", "airflow/../../dags", "without '..'"),
    bad("dagsGitDepth-negative", "dagsGitDepth", "-1", "whole number from 0 to 10000"),
    bad("dagsGitDepth-word", "dagsGitDepth", "full", "whole number from 0 to 10000"),
    bad("dagsGitDepth-10001", "dagsGitDepth", "10001", "whole number from 0 to 10000"),
    # ---- database and admin
    bad("databaseMode-unknown", "databaseMode", "azure", DATABASE_MODE),
    bad("databaseMode-capitalised", "databaseMode", "Managed", DATABASE_MODE),
    bad("databaseMode-the-old-boolean", "databaseMode", "true", DATABASE_MODE),
    bad("databaseMode-json-list", "databaseMode", '["managed"]', DATABASE_MODE),
    bad("databaseMode-empty", "databaseMode", "", DATABASE_MODE),
    bad("databaseMode-trailing-newline", "databaseMode", "managed\n", DATABASE_MODE),
    bad("databaseMode-100000-chars", "databaseMode", "m" * 100_000, DATABASE_MODE),
    # a retired key: what replaced it, not just "unknown key"
    Case("postgresqlEnabled-retired-true", {"postgresqlEnabled": "true"}, "postgresqlEnabled", RETIRED_POSTGRESQL),
    Case("postgresqlEnabled-retired-false", {"postgresqlEnabled": "false"}, "postgresqlEnabled", RETIRED_POSTGRESQL),
    bad("pgbouncerEnabled-on", "pgbouncerEnabled", "on", BOOL),
    conflict(
        "externalDatabaseSecretName-uppercase",
        {"databaseMode": "external", "pgbouncerEnabled": "false", "externalDatabaseSecretName": "Airflow_DB"},
        "externalDatabaseSecretName",
        "a Kubernetes Secret name, a DNS-1123 subdomain",
    ),
    bad(
        "databaseSku-M-family", "databaseSku", "Standard_M8ms", "is of family 'M', which Azure Database for PostgreSQL"
    ),
    bad("databaseSku-an-AKS-VM-size", "databaseSku", "Standard_DS4_v2", "is of family 'DS'"),
    bad("databaseSku-lowercase-family", "databaseSku", "Standard_d2ds_v5", "is of family 'd'"),
    bad("databaseSku-no-Standard-prefix", "databaseSku", "D2ds_v5", DATABASE_SKU),
    bad("databaseSku-lowercase-prefix", "databaseSku", "standard_D2ds_v5", DATABASE_SKU),
    bad("databaseSku-tier-name", "databaseSku", "GeneralPurpose", DATABASE_SKU),
    bad("databaseSku-zero-vcpus", "databaseSku", "Standard_D0ds_v5", DATABASE_SKU),
    bad("databaseSku-space", "databaseSku", "Standard_D2ds v5", DATABASE_SKU),
    bad("databaseSku-empty", "databaseSku", "", DATABASE_SKU),
    bad("databaseSku-65-chars", "databaseSku", "Standard_D" + "2" * 55, "is 65 characters long, more than 64"),
    bad("databaseSku-nul", "databaseSku", "Standard_D2ds_v5\x00", CONTROL),
    bad("databaseVersion-15", "databaseVersion", "15", DATABASE_VERSION),
    bad("databaseVersion-18", "databaseVersion", "18", DATABASE_VERSION),
    bad("databaseVersion-minor", "databaseVersion", "16.4", DATABASE_VERSION),
    bad("databaseVersion-v-prefix", "databaseVersion", "v16", DATABASE_VERSION),
    bad("databaseVersion-empty", "databaseVersion", "", DATABASE_VERSION),
    bad("databaseStorageSizeGb-100", "databaseStorageSizeGb", "100", STORAGE_SIZES),
    bad("databaseStorageSizeGb-32768", "databaseStorageSizeGb", "32768", STORAGE_SIZES),
    bad("databaseStorageSizeGb-zero", "databaseStorageSizeGb", "0", STORAGE_SIZES),
    bad("databaseStorageSizeGb-negative", "databaseStorageSizeGb", "-128", STORAGE_SIZES),
    bad("databaseStorageSizeGb-float-text", "databaseStorageSizeGb", "128.0", STORAGE_SIZES),
    bad("databaseStorageSizeGb-with-unit", "databaseStorageSizeGb", "128Gi", STORAGE_SIZES),
    bad("databaseStorageSizeGb-boolean", "databaseStorageSizeGb", "true", STORAGE_SIZES),
    bad("databaseStorageSizeGb-empty", "databaseStorageSizeGb", "", STORAGE_SIZES),
    bad("databaseStorageSizeGb-5000-digits", "databaseStorageSizeGb", "9" * 5000, STORAGE_SIZES),
    bad("databaseHighAvailability-Enabled", "databaseHighAvailability", "Enabled", DATABASE_HA),
    bad("databaseHighAvailability-lowercase", "databaseHighAvailability", "zoneredundant", DATABASE_HA),
    bad("databaseHighAvailability-boolean", "databaseHighAvailability", "true", DATABASE_HA),
    bad("databaseHighAvailability-empty", "databaseHighAvailability", "", DATABASE_HA),
    bad("databaseBackupRetentionDays-6", "databaseBackupRetentionDays", "6", BACKUP_DAYS),
    bad("databaseBackupRetentionDays-36", "databaseBackupRetentionDays", "36", BACKUP_DAYS),
    bad("databaseBackupRetentionDays-word", "databaseBackupRetentionDays", "week", BACKUP_DAYS),
    bad("databaseBackupRetentionDays-float-text", "databaseBackupRetentionDays", "7.0", BACKUP_DAYS),
    bad("databaseBackupRetentionDays-empty", "databaseBackupRetentionDays", "", BACKUP_DAYS),
    bad("databaseGeoRedundantBackup-yes", "databaseGeoRedundantBackup", "yes", BOOL),
    bad("databaseGeoRedundantBackup-Enabled", "databaseGeoRedundantBackup", "Enabled", BOOL),
    bad("databaseGeoRedundantBackup-1", "databaseGeoRedundantBackup", "1", BOOL),
    bad("databaseGeoRedundantBackup-empty", "databaseGeoRedundantBackup", "", BOOL),
    bad("databaseMaintenanceWindow-full-day-name", "databaseMaintenanceWindow", "Sunday 02:00", "more than 9"),
    bad("databaseMaintenanceWindow-lowercase-day", "databaseMaintenanceWindow", "sun 02:00", WINDOW),
    bad("databaseMaintenanceWindow-one-digit-hour", "databaseMaintenanceWindow", "Sun 2:00", WINDOW),
    bad("databaseMaintenanceWindow-hour-24", "databaseMaintenanceWindow", "Sun 24:00", WINDOW),
    bad("databaseMaintenanceWindow-minute-60", "databaseMaintenanceWindow", "Sun 02:60", WINDOW),
    bad("databaseMaintenanceWindow-no-day", "databaseMaintenanceWindow", "02:00", WINDOW),
    bad("databaseMaintenanceWindow-two-spaces", "databaseMaintenanceWindow", "Sun  02:00", "more than 9"),
    bad("databaseMaintenanceWindow-time-zone", "databaseMaintenanceWindow", "Sun 02:00Z", "more than 9"),
    bad("databaseMaintenanceWindow-tab", "databaseMaintenanceWindow", "Sun\t02:00", CONTROL),
    bad("databaseMaintenanceWindow-empty", "databaseMaintenanceWindow", "", WINDOW),
    bad("databaseAdminLogin-admin", "databaseAdminLogin", "admin", RESERVED_LOGIN),
    bad("databaseAdminLogin-Administrator", "databaseAdminLogin", "Administrator", RESERVED_LOGIN),
    bad("databaseAdminLogin-azure-superuser", "databaseAdminLogin", "azure_superuser", RESERVED_LOGIN),
    bad("databaseAdminLogin-azure-pg-admin", "databaseAdminLogin", "azure_pg_admin", RESERVED_LOGIN),
    bad("databaseAdminLogin-root", "databaseAdminLogin", "root", RESERVED_LOGIN),
    bad("databaseAdminLogin-guest", "databaseAdminLogin", "guest", RESERVED_LOGIN),
    bad("databaseAdminLogin-PUBLIC", "databaseAdminLogin", "PUBLIC", RESERVED_LOGIN),
    bad("databaseAdminLogin-pg-prefix", "databaseAdminLogin", "pg_airflow", "every name starting with pg_"),
    bad("databaseAdminLogin-PG-prefix", "databaseAdminLogin", "PG_Airflow", "every name starting with pg_"),
    bad("databaseAdminLogin-leading-digit", "databaseAdminLogin", "1airflow", ADMIN_LOGIN),
    bad("databaseAdminLogin-leading-underscore", "databaseAdminLogin", "_airflow", ADMIN_LOGIN),
    bad("databaseAdminLogin-dash", "databaseAdminLogin", "airflow-admin", ADMIN_LOGIN),
    bad("databaseAdminLogin-space", "databaseAdminLogin", "airflow admin", ADMIN_LOGIN),
    bad("databaseAdminLogin-non-ascii", "databaseAdminLogin", "aïrflow", ADMIN_LOGIN),
    bad("databaseAdminLogin-empty", "databaseAdminLogin", "", ADMIN_LOGIN),
    bad("databaseAdminLogin-64-chars", "databaseAdminLogin", "a" * 64, "is 64 characters long, more than 63"),
    bad("databaseAdminLogin-bidi", "databaseAdminLogin", "airflow\u202e", "U+202E"),
    bad("databaseSubnetId-subnet-name", "databaseSubnetId", "postgres", SUBNET_ID),
    bad("databaseSubnetId-vnet-not-subnet", "databaseSubnetId", DB_SUBNET.rpartition("/subnets/")[0], SUBNET_ID),
    bad(
        "databaseSubnetId-subscription-not-a-guid",
        "databaseSubnetId",
        DB_SUBNET.replace(SUB, "/subscriptions/corp"),
        "the subscription 'corp' is not a GUID",
    ),
    bad("databaseSubnetId-356-chars", "databaseSubnetId", DB_SUBNET + "s" * (356 - len(DB_SUBNET)), "more than 355"),
    bad("databaseSubnetId-newline", "databaseSubnetId", DB_SUBNET + "\n", CONTROL),
    bad("logsMode-unknown", "logsMode", "blob", LOGS_MODE),
    bad("logsMode-uppercase", "logsMode", "PV", LOGS_MODE),
    bad("logsMode-empty", "logsMode", "", LOGS_MODE),
    bad("logsMode-nul", "logsMode", "pv\x00", LOGS_MODE),
    bad("privateNetworking-yes", "privateNetworking", "yes", BOOL),
    bad("privateNetworking-on", "privateNetworking", "on", BOOL),
    bad("privateNetworking-empty", "privateNetworking", "", BOOL),
    bad("logsBlobVersioning-yes", "logsBlobVersioning", "yes", BOOL),
    bad("logsBlobVersioning-empty", "logsBlobVersioning", "", BOOL),
    bad("privateEndpointSubnetId-subnet-name", "privateEndpointSubnetId", "endpoints", SUBNET_ID),
    bad("privateEndpointSubnetId-trailing-slash", "privateEndpointSubnetId", PE_SUBNET + "/", SUBNET_ID),
    bad(
        "privateEndpointSubnetId-356-chars",
        "privateEndpointSubnetId",
        PE_SUBNET + "s" * (356 - len(PE_SUBNET)),
        "more than 355",
    ),
    bad("privateEndpointSubnetId-nul", "privateEndpointSubnetId", PE_SUBNET + "\x00", CONTROL),
    bad("adminUsername-too-short", "adminUsername", "ad", "3-64 letters, digits"),
    bad("adminUsername-leading-digit", "adminUsername", "1admin", "starting with a letter"),
    bad("adminUsername-space", "adminUsername", "air flow", "3-64 letters, digits, '_', '.', '-'"),
    bad("adminEmail-no-at", "adminEmail", "admin", "an e-mail address"),
    bad("adminEmail-no-domain-dot", "adminEmail", "admin@localhost", "an e-mail address"),
    bad("adminEmail-empty", "adminEmail", "", "an e-mail address"),
    bad("adminEmail-shell-substitution", "adminEmail", "a$(id)@example.com", "an e-mail address"),
    bad("adminEmail-shell-separator", "adminEmail", "a;reboot@example.com", "an e-mail address"),
    bad("adminEmail-quote", "adminEmail", "o'neil@example.com", "an e-mail address"),
    # ---- requests and limits: one key per component, every problem of a value at once
    bad("schedulerResources-empty", "schedulerResources", "", "missing cpu, memory, cpuLimit, memoryLimit"),
    bad("schedulerResources-json", "schedulerResources", '{"cpu": "1"}', RESOURCES),
    bad("webserverResources-no-limits", "webserverResources", "cpu=250m,memory=1Gi", "missing cpuLimit, memoryLimit"),
    bad(
        "triggererResources-cores-word",
        "triggererResources",
        "cpu=1 core,memory=1Gi,cpuLimit=1,memoryLimit=1Gi",
        f"cpu '1 core' {CPU}",
    ),
    bad(
        "dagProcessorResources-memory-millis",
        "dagProcessorResources",
        "cpu=1,memory=512m,cpuLimit=1,memoryLimit=1Gi",
        f"memory '512m' {MEMORY}",
    ),
    bad(
        "workerResources-memory-without-unit",
        "workerResources",
        "cpu=1,memory=2Gi,cpuLimit=2,memoryLimit=4096",
        f"memoryLimit '4096' {MEMORY}",
    ),
    bad(
        "workerResources-limit-below-request",
        "workerResources",
        "cpu=2,memory=2Gi,cpuLimit=1,memoryLimit=2Gi",
        "cpuLimit 1 is below cpu 2 (a limit must be at least its request)",
    ),
    bad(
        "gitSyncResources-memory-limit-below-request",
        "gitSyncResources",
        "cpu=50m,memory=256Mi,cpuLimit=200m,memoryLimit=200M",
        "memoryLimit 200M is below memory 256Mi",
    ),
    bad(
        "migrateDatabaseJobResources-zero-cpu",
        "migrateDatabaseJobResources",
        "cpu=0,memory=512Mi,cpuLimit=1,memoryLimit=1Gi",
        "cpu '0' must be more than zero",
    ),
    bad(
        "createUserJobResources-typo-field",
        "createUserJobResources",
        "cpu=100m,memory=256Mi,cpuLimit=500m,memLimit=512Mi",
        "unknown field 'memLimit'; missing memoryLimit",
    ),
    bad(
        "pgbouncerResources-twice",
        "pgbouncerResources",
        "cpu=50m,cpu=60m,memory=64Mi,cpuLimit=250m,memoryLimit=128Mi",
        "cpu is set twice",
    ),
    bad(
        "pgbouncerExporterResources-fraction-of-millicore",
        "pgbouncerExporterResources",
        "cpu=0.5m,memory=32Mi,cpuLimit=100m,memoryLimit=64Mi",
        f"cpu '0.5m' {CPU}",
    ),
    bad(
        "statsdResources-negative",
        "statsdResources",
        "cpu=-50m,memory=64Mi,cpuLimit=200m,memoryLimit=128Mi",
        f"cpu '-50m' {CPU}",
    ),
    bad("redisResources-no-equals", "redisResources", "50m,128Mi,500m,256Mi", "entry '50m' is not field=quantity"),
    bad(
        "postgresqlResources-megabytes",
        "postgresqlResources",
        "cpu=250m,memory=256MB,cpuLimit=1,memoryLimit=1GB",
        f"memory '256MB' {MEMORY}; memoryLimit '1GB'",
    ),
    bad(
        "secretsOperatorResources-limit-below-request",
        "secretsOperatorResources",
        "cpu=50m,memory=256Mi,cpuLimit=500m,memoryLimit=64Mi",
        "memoryLimit 64Mi is below memory 256Mi",
    ),
    # ---- conflicting options
    conflict(
        "existing-cluster-without-clusterName",
        {"clusterMode": "existing", "clusterResourceGroup": "aks-rg"},
        "clusterName",
        "required when clusterMode is 'existing'",
        shown='""',
    ),
    conflict(
        "existing-cluster-in-the-stack-resource-group",
        {
            "clusterMode": "existing",
            "clusterName": "corp-aks",
            "resourceGroupName": "shared-rg",
            "clusterResourceGroup": "shared-rg",
        },
        "clusterResourceGroup",
        "differs from resourceGroupName",
    ),
    conflict(
        "existing-cluster-resource-group-defaults-to-stack-group",
        {"clusterMode": "existing", "clusterName": "corp-aks"},
        "clusterResourceGroup",
        "must name the existing cluster's resource group",
        shown='""',
    ),
    conflict(
        "existing-cluster-group-equal-to-derived-group",
        {"clusterMode": "existing", "clusterName": "corp-aks", "clusterResourceGroup": "airflow-dev-rg"},
        "clusterResourceGroup",
        "differs from resourceGroupName",
    ),
    conflict(
        "created-cluster-with-clusterResourceGroup",
        {"clusterMode": "create", "clusterResourceGroup": "aks-rg"},
        "clusterResourceGroup",
        "only used with clusterMode=existing",
    ),
    conflict(
        "external-db-without-secret-name",
        {"databaseMode": "external", "pgbouncerEnabled": "false"},
        "externalDatabaseSecretName",
        "required when databaseMode is 'external': a Secret with a 'connection' key for the metadata database",
        shown='""',
    ),
    conflict(
        "pgbouncer-with-external-db",
        {"databaseMode": "external", "pgbouncerEnabled": "true", "externalDatabaseSecretName": "airflow-db"},
        "pgbouncerEnabled",
        "not supported with databaseMode=external",
        shown="true",
    ),
    conflict(
        "external-db-only-databaseMode-external",
        {"databaseMode": "external"},
        "externalDatabaseSecretName",
        "required when databaseMode is 'external'",
        shown='""',
        also=frozenset({f"{PROJECT}:pgbouncerEnabled"}),
    ),
    conflict(
        "bundled-and-external-db",
        {"databaseMode": "bundled", "externalDatabaseSecretName": "airflow-db"},
        "externalDatabaseSecretName",
        "only used with databaseMode=external, and databaseMode is bundled (a database the stack runs and connects "
        "to itself): use one metadata database, not both; leave it empty",
    ),
    conflict(
        "managed-and-external-db",
        {**MANAGED, "externalDatabaseSecretName": "airflow-db"},
        "externalDatabaseSecretName",
        "only used with databaseMode=external, and databaseMode is managed",
    ),
    conflict(
        "managed-db-on-the-aks-managed-network",
        {"databaseMode": "managed"},
        "databaseMode",
        "needs networkMode create or existing (networkMode is aks-managed): the flexible server has private access "
        "only, through a subnet delegated to Microsoft.DBforPostgreSQL/flexibleServers; with networkMode=aks-managed "
        "AKS makes its own VNet, which the stack cannot add a subnet to; set networkMode to create (the stack adds "
        "the subnet) or existing (with databaseSubnetId)",
    ),
    conflict(
        "managed-db-on-an-existing-cluster",
        {**EXISTING_CLUSTER, "databaseMode": "managed"},
        "databaseMode",
        "needs networkMode create or existing (networkMode is aks-managed)",
    ),
    conflict(
        "managed-db-high-availability-on-burstable",
        {
            **MANAGED,
            "databaseSku": "Standard_B2s",
            "databaseHighAvailability": "ZoneRedundant",
            "pgbouncerEnabled": "false",
        },
        "databaseHighAvailability",
        "needs a non-Burstable databaseSku (databaseSku is Standard_B2s): Azure Database for PostgreSQL offers no "
        f"high availability on the Burstable tier; {NOT_BURSTABLE}",
    ),
    conflict(
        "managed-db-builtin-pgbouncer-on-burstable",
        {**MANAGED, "databaseSku": "Standard_B1ms"},
        "pgbouncerEnabled",
        "with databaseMode=managed turns on the flexible server's built-in PgBouncer, which Azure does not offer on "
        f"the Burstable tier (databaseSku is Standard_B1ms): {NOT_BURSTABLE}, such as Standard_D2ds_v5, or set "
        "pgbouncerEnabled to false",
        shown="true",
    ),
    conflict(
        "managed-db-same-zone-and-pgbouncer-on-burstable",
        {**MANAGED, "databaseSku": "Standard_B2ms", "databaseHighAvailability": "SameZone"},
        "databaseHighAvailability",
        "needs a non-Burstable databaseSku (databaseSku is Standard_B2ms)",
        also=frozenset({f"{PROJECT}:pgbouncerEnabled"}),
    ),
    conflict(
        "databaseSubnetId-missing-with-an-existing-network",
        MANAGED_EXISTING,
        "databaseSubnetId",
        "required when databaseMode is 'managed' and networkMode is 'existing': the resource ID of the subnet the "
        "flexible server goes into, delegated to Microsoft.DBforPostgreSQL/flexibleServers",
        shown='""',
    ),
    conflict(
        "databaseSubnetId-with-the-bundled-db",
        {"databaseSubnetId": DB_SUBNET},
        "databaseSubnetId",
        "only used with databaseMode=managed and networkMode=existing (databaseMode is bundled, networkMode is "
        "aks-managed): leave it empty",
    ),
    conflict(
        "databaseSubnetId-with-a-created-network",
        {**MANAGED, "databaseSubnetId": DB_SUBNET},
        "databaseSubnetId",
        "only used with databaseMode=managed and networkMode=existing (databaseMode is managed, networkMode is "
        "create): leave it empty",
    ),
    conflict(
        "databaseSubnetId-is-the-node-subnet",
        {**MANAGED_EXISTING, "databaseSubnetId": SUBNET},
        "databaseSubnetId",
        "is also nodeSubnetId: a subnet delegated to Microsoft.DBforPostgreSQL/flexibleServers holds flexible "
        "servers only; give the database a subnet of its own",
    ),
    conflict(  # ARM ids compare case-insensitively
        "databaseSubnetId-is-the-endpoint-subnet-in-another-case",
        {
            **MANAGED_EXISTING,
            "databaseSubnetId": DB_SUBNET,
            "privateNetworking": "true",
            "privateEndpointSubnetId": DB_SUBNET.upper(),
        },
        "databaseSubnetId",
        "is also privateEndpointSubnetId",
    ),
    conflict(
        "privateNetworking-on-the-aks-managed-network",
        {"privateNetworking": "true"},
        "privateNetworking",
        "needs networkMode create or existing (networkMode is aks-managed): the private endpoints of Key Vault and "
        "the storage account go into a subnet of the stack's VNet; with networkMode=aks-managed AKS makes its own "
        "VNet, which the stack cannot add a subnet to; set networkMode to create (the stack adds the subnet) or "
        "existing (with privateEndpointSubnetId)",
        shown="true",
    ),
    conflict(
        "privateNetworking-on-an-existing-cluster",
        {**EXISTING_CLUSTER, "privateNetworking": "true"},
        "privateNetworking",
        "needs networkMode create or existing",
        shown="true",
    ),
    conflict(
        "privateEndpointSubnetId-missing-with-an-existing-network",
        {"privateNetworking": "true", "networkMode": "existing", "nodeSubnetId": SUBNET},
        "privateEndpointSubnetId",
        "required when privateNetworking is true and networkMode is 'existing': the resource ID of the subnet the "
        "private endpoints of Key Vault and the storage account go into",
        shown='""',
    ),
    conflict(
        "privateEndpointSubnetId-without-privateNetworking",
        {"privateEndpointSubnetId": PE_SUBNET},
        "privateEndpointSubnetId",
        "only used with privateNetworking=true and networkMode=existing (privateNetworking is false, networkMode is "
        "aks-managed): leave it empty",
    ),
    conflict(
        "privateEndpointSubnetId-with-a-created-network",
        {"privateNetworking": "true", "networkMode": "create", "privateEndpointSubnetId": PE_SUBNET},
        "privateEndpointSubnetId",
        "(privateNetworking is true, networkMode is create): leave it empty",
    ),
    conflict(
        "privateEndpointSubnetId-with-an-existing-network-but-no-privateNetworking",
        {"networkMode": "existing", "nodeSubnetId": SUBNET, "privateEndpointSubnetId": PE_SUBNET},
        "privateEndpointSubnetId",
        "(privateNetworking is false, networkMode is existing): leave it empty",
    ),
    conflict(
        "stack-too-long-for-the-log-identities",
        {"logsMode": "remote", "resourceGroupName": "r", "clusterName": "cc"},
        STACK_KEY,
        "a stack name can have at most 108: the stack name is part of Azure names, and log writer identity "
        "<namePrefix>-<stack>-logs-writer = 'airflow-sss",
        stack="s" * 109,
    ),
    conflict(
        "dagsGitSubPath-without-repo",
        {"dagsGitRepo": "", "dagsGitSubPath": "airflow/dags"},
        "dagsGitSubPath",
        "has no effect without dagsGitRepo",
    ),
    # ---- issue 9 part 1: every string has the length cap of what it ends up in
    bad("location-33-chars", PROVIDER_LOCATION_KEY, "a" * 33, "is 33 characters long, more than 32"),
    bad("location-control", PROVIDER_LOCATION_KEY, "east\x00us", CONTROL),
    bad("clusterResourceGroup-91-chars", "clusterResourceGroup", "r" * 91, "more than 90: must be an Azure resource"),
    bad("acrResourceGroup-91-chars", "acrResourceGroup", "r" * 91, "more than 90: must be the resource group"),
    bad("kubernetesVersion-17-chars", "kubernetesVersion", "1.33.000000000001", "more than 16"),
    bad("kubernetesVersion-5000-digit-minor", "kubernetesVersion", "1." + "3" * 5000, "more than 16"),
    bad("nodeVmSize-65-chars", "nodeVmSize", "Standard_" + "D" * 56, "more than 64"),
    bad("nodeCount-30-digits", "nodeCount", "9" * 30, "whole number from 1 to 100"),
    bad("dagsGitDepth-5000-digits", "dagsGitDepth", "9" * 5000, "whole number from 0 to 10000"),
    bad("logsVolumeSize-6Pi", "logsVolumeSize", "6Pi", "at most 5Pi (an Azure storage account holds at most 5 PiB)"),
    bad("logsVolumeSize-33-chars", "logsVolumeSize", "1" * 31 + "Gi", "more than 32"),
    bad("airflowImageTag-129-chars", "airflowImageTag", "2" * 129, "more than 128"),
    bad("timezone-300-chars", "timezone", "a" * 300, "is 300 characters long, more than 64"),
    bad("timezone-65-chars", "timezone", "Europe/" + "B" * 58, "more than 64"),
    bad("timezone-nul", "timezone", "UTC\x00", CONTROL),
    bad("timezone-dotdot", "timezone", "Etc/../UTC", "an IANA time zone"),
    bad("timezone-not-a-zone-file", "timezone", "tzdata.zi", "an IANA time zone"),
    bad("dagsGitRepo-2049-chars", "dagsGitRepo", "https://github.com/" + "a" * 2030, "more than 2048"),
    bad("dagsGitBranch-256-chars", "dagsGitBranch", "b" * 256, "more than 255"),
    bad("dagsGitRev-carriage-return", "dagsGitRev", "v1\r", "U+000D"),
    bad("dagsGitSubPath-1025-chars", "dagsGitSubPath", "d" * 1025, "more than 1024"),
    bad("adminUsername-65-chars", "adminUsername", "a" * 65, "more than 64"),
    bad(
        "adminEmail-255-chars",
        "adminEmail",
        "a" * 60 + "@" + "b" * 60 + "." + "c" * 60 + "." + "d" * 70 + ".com",
        "more than 254",
    ),
    bad("adminEmail-local-part-65", "adminEmail", "a" * 65 + "@example.com", "at most 64 characters before the @"),
    bad("adminEmail-label-64", "adminEmail", "admin@" + "b" * 64 + ".com", "63 per domain label"),
    bad(  # one millicore over the cap: the cap is exact
        "workerResources-1024-cores-and-1m",
        "workerResources",
        "cpu=1,memory=1Gi,cpuLimit=1024001m,memoryLimit=1Gi",
        "cpuLimit '1024001m' is more than 1024 cores",
    ),
    bad(
        "workerResources-2000-cores",
        "workerResources",
        "cpu=1,memory=1Gi,cpuLimit=2000,memoryLimit=1Gi",
        "cpuLimit '2000' is more than 1024 cores",
    ),
    bad(
        "workerResources-64Ti",
        "workerResources",
        "cpu=1,memory=1Gi,cpuLimit=1,memoryLimit=64Ti",
        "memoryLimit '64Ti' is more than 32Ti",
    ),
    bad("schedulerResources-257-chars", "schedulerResources", "cpu=1," * 43, "more than 256"),
    bad("statsdResources-nul", "statsdResources", "cpu=1\x00,memory=1Gi,cpuLimit=1,memoryLimit=1Gi", CONTROL),
    bad("namespace-nbsp-c1", "namespace", "air\x85flow", "U+0085"),
    bad("adminUsername-bidi-override", "adminUsername", "admin\u202e", "U+202E"),
    bad("acrName-unpaired-surrogate", "acrName", "acr\ud800", "an unpaired surrogate U+D800"),
    bad("namePrefix-line-separator", "namePrefix", "air\u2028", "U+2028"),
    # ---- issue 9 part 2: the stack name is part of Azure names
    Case("stack-underscore", {}, STACK_KEY, STACK_CHARS, stack="prod_eu"),
    Case("stack-dot", {}, STACK_KEY, STACK_CHARS, stack="prod.eu"),
    Case("stack-empty", {}, STACK_KEY, STACK_CHARS, stack=""),
    Case("stack-space", {}, STACK_KEY, STACK_CHARS, stack="prod eu"),
    Case("stack-24-chars", {}, STACK_KEY, "a stack name can have at most 23", stack="s" * 24),
    Case("stack-100-chars", {}, STACK_KEY, "resource group <namePrefix>-<stack>-rg", stack="s" * 100),
    Case(
        "stack-129-chars",
        {},
        STACK_KEY,
        "is 129 characters long, more than 128",
        stack="s" * 129,
        shown=clipped("s" * 129),
    ),
    conflict(
        "stack-long-for-the-node-resource-group",
        {"resourceGroupName": "platform-shared-airflow-rg"},
        STACK_KEY,
        "AKS node resource group MC_<resource group>_<cluster>_<location>",
        stack="s" * 32,
        shown=json.dumps("s" * 32),
    ),
    conflict(
        "resourceGroupName-node-resource-group-too-long",
        {"resourceGroupName": "r" * 70, "clusterName": "airflow-aks"},
        "resourceGroupName",
        "AKS refuses the cluster; shorten resourceGroupName or clusterName",
        also=frozenset(),
    ),
    # ---- issue 9 part 3: well-formed but wrong
    bad("serviceAccountName-default", "serviceAccountName", "default", "must not be the namespace's 'default'"),
    bad(
        "serviceAccountName-chart-worker", "serviceAccountName", "airflow-worker", "a ServiceAccount the Airflow chart"
    ),
    bad("serviceAccountName-chart-scheduler", "serviceAccountName", "airflow-scheduler", "the Airflow chart creates"),
    bad(
        "serviceAccountName-bundled-postgresql",
        "serviceAccountName",
        "airflow-postgresql",
        "the Airflow chart creates",
    ),
    conflict(
        "clusterAdminGroupObjectId-nil-guid",
        {"clusterAuth": "entra", "clusterAdminGroupObjectId": "00000000-0000-0000-0000-000000000000"},
        "clusterAdminGroupObjectId",
        "is the nil GUID, which is no object",
    ),
    bad(
        "clusterAdminGroupObjectId-braces",
        "clusterAdminGroupObjectId",
        "{5b6c3a1e-9d5f-4c2b-8f0e-2a7d9c1b3e4f}",
        "more than 36",
    ),
    bad(
        "clusterAdminGroupObjectId-not-hex",
        "clusterAdminGroupObjectId",
        "5b6c3a1e-9d5f-4c2b-8f0e-2a7d9c1b3e4g",
        "an Entra object id (a GUID",
    ),
    conflict(
        "airflowImageTag-airflow2-on-chart-1.19",
        {"airflowChartVersion": "1.19.0", "airflowImageTag": "2.10.5"},
        "airflowImageTag",
        "is an Airflow 2 image, but chart 1.19.0 runs Airflow 3 (3.1.7): use a 3.x tag, or airflowChartVersion 1.15.0",
    ),
    bad(
        "airflowImageTag-airflow3-on-chart-1.15",
        "airflowImageTag",
        "3.1.7-python3.12",
        "is an Airflow 3 image, but chart 1.15.0 runs Airflow 2 (2.9.3): use a 2.x tag, or airflowChartVersion 1.19.0",
    ),
    bad("airflowImageTag-older-minor", "airflowImageTag", "2.8.4", "older than the 2.9.3 the chart values are"),
    bad("airflowImageTag-no-version", "airflowImageTag", "corp-build-42", "must start with the Airflow version"),
    bad("airflowImageTag-v-prefix", "airflowImageTag", "v2.9.3", "must start with the Airflow version"),
    bad("airflowImageTag-latest-python", "airflowImageTag", "latest-python3.11", "must start with the Airflow version"),
    bad("airflowImageTag-date", "airflowImageTag", "2024.06.01", "starts with version 2024.6, which is no Airflow 2"),
    bad("airflowEnv-executor", "airflowEnv", '["AIRFLOW__CORE__EXECUTOR=CeleryExecutor"]', "the executor key sets it"),
    bad("airflowEnv-timezone", "airflowEnv", '["AIRFLOW__CORE__DEFAULT_TIMEZONE=UTC"]', "the timezone key sets it"),
    bad("airflowEnv-fernet-key", "airflowEnv", '["AIRFLOW__CORE__FERNET_KEY=abc"]', OWNED),
    bad("airflowEnv-lowercase-owned", "airflowEnv", '["airflow__core__fernet_key=abc"]', OWNED),
    bad("airflowEnv-metadata-connection", "airflowEnv", '["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=x"]', OWNED),
    bad("airflowEnv-broker-url", "airflowEnv", '["AIRFLOW__CELERY__BROKER_URL=redis://r"]', OWNED),
    bad("airflowEnv-result-backend", "airflowEnv", '["AIRFLOW__CELERY__RESULT_BACKEND=db+x"]', OWNED),
    bad("airflowEnv-webserver-secret", "airflowEnv", '["AIRFLOW__WEBSERVER__SECRET_KEY=k"]', OWNED),
    bad("airflowEnv-api-secret", "airflowEnv", '["AIRFLOW__API__SECRET_KEY=k"]', OWNED),
    bad("airflowEnv-jwt-secret", "airflowEnv", '["AIRFLOW__API_AUTH__JWT_SECRET=k"]', OWNED),
    bad("airflowEnv-airflow-home", "airflowEnv", '["AIRFLOW_HOME=/tmp"]', OWNED),
    bad("airflowEnv-task-namespace", "airflowEnv", '["AIRFLOW__KUBERNETES_EXECUTOR__NAMESPACE=x"]', OWNED),
    bad("airflowEnv-connection", "airflowEnv", '["AIRFLOW_CONN_MY_DB=postgres://h/db"]', "is an Airflow connection"),
    bad("airflowEnv-cmd", "airflowEnv", '["AIRFLOW__CORE__PARALLELISM_CMD=id"]', "ends in _CMD or _SECRET"),
    bad("airflowEnv-secret-suffix", "airflowEnv", '["MY_API_SECRET=x"]', "ends in _CMD or _SECRET"),
    bad(
        "airflowEnv-url-credentials",
        "airflowEnv",
        '["SENTRY_URL=https://user:pw@sentry.example.com/1"]',
        "holds a URL with credentials in it",
        shown='["SENTRY_URL=https://[redacted]@sentry.example.com/1"]',
    ),
    bad("airflowEnv-nul-in-value", "airflowEnv", '["A=x\\u0000y"]', "item 0: contains the control character U+0000"),
    bad("airflowEnv-newline-in-value", "airflowEnv", '["A=x\\ny"]', "U+000A"),
    bad("airflowEnv-c1-in-value", "airflowEnv", '["A=x\\u009by"]', "U+009B"),
    bad(
        "airflowEnv-over-32KiB",
        "airflowEnv",
        json.dumps([f"V{i}=" + "x" * 4000 for i in range(9)]),
        "more than 32768",  # Pulumi.yaml documents airflowEnv as "32 KiB in all"
        shown=clipped([f"V{i}=" + "x" * 4000 for i in range(9)]),
    ),
    bad(
        "airflowEnv-every-issue-at-once",
        "airflowEnv",
        '["AIRFLOW__CORE__EXECUTOR=x", "A_CMD=id", "bad"]',
        "variable AIRFLOW__CORE__EXECUTOR is set by the stack itself: the executor key sets it; variable A_CMD ends "
        "in _CMD or _SECRET",
    ),
    bad(
        "airflowEnv-unterminated-nesting",
        "airflowEnv",
        "[" * 100_000,
        "must be a JSON array of strings",
        shown=clipped("[" * 100_000),
    ),
    bad(
        "airflowEnv-too-much-json",
        "airflowEnv",
        "[" + '"A=1",' * 50_000 + '"B=2"]',
        "characters of JSON",
        shown=clipped("[" + '"A=1",' * 50_000 + '"B=2"]'),
    ),
    bad("availabilityZones-nul", "availabilityZones", '["1\\u0000"]', CONTROL),
    conflict(
        "availabilityZones-more-zones-than-nodes",
        {"nodeCount": "2"},
        "availabilityZones",
        "spreads the node pool over 3 zones, but nodeCount is 2: at least one zone would have no node",
        shown='["1", "2", "3"]',
    ),
    conflict(
        "namespace-too-long-for-the-operator-namespace",
        {"namespace": "n" * 60},
        "namespace",
        "the operator runs in <namespace>-eso",
    ),
    bad("namespace-kube-makes-kube-eso", "namespace", "kube", "a kube-* name, which Kubernetes reserves"),
    conflict(
        "dagsGitBranch-without-repo",
        {"dagsGitRepo": "", "dagsGitBranch": "develop"},
        "dagsGitBranch",
        "has no effect without dagsGitRepo",
    ),
    conflict(
        "dagsGitRev-without-repo",
        {"dagsGitRepo": "", "dagsGitRev": "v1.0"},
        "dagsGitRev",
        "has no effect without dagsGitRepo",
    ),
    conflict(
        "dagsGitDepth-without-repo",
        {"dagsGitRepo": "", "dagsGitDepth": "0"},
        "dagsGitDepth",
        "has no effect without dagsGitRepo",
        shown="0",
    ),
    # ---- issue 12: the network
    bad("networkMode-unknown", "networkMode", "custom", NETWORK_MODE),
    bad("networkMode-capitalised", "networkMode", "Create", NETWORK_MODE),
    bad("networkMode-underscore", "networkMode", "aks_managed", NETWORK_MODE),
    bad("networkMode-empty", "networkMode", "", NETWORK_MODE),
    bad(
        "vnetAddressSpace-host-bits",
        "vnetAddressSpace",
        "10.42.0.1/16",
        f"{VNET_SPACE}: host bits are set: write 10.42.0.0/16, not 10.42.0.1/16",
    ),
    bad("vnetAddressSpace-public", "vnetAddressSpace", "20.42.0.0/16", "20.42.0.0/16 is not a private range (RFC 1918"),
    bad("vnetAddressSpace-just-past-172.16/12", "vnetAddressSpace", "172.32.0.0/16", "is not a private range"),
    bad("vnetAddressSpace-shared-address-space", "vnetAddressSpace", "100.64.0.0/16", "is not a private range"),
    bad("vnetAddressSpace-slash-8", "vnetAddressSpace", "10.0.0.0/8", "a /8 is outside /16 to /22"),
    bad("vnetAddressSpace-slash-23", "vnetAddressSpace", "10.42.0.0/23", "a /23 is outside /16 to /22"),
    bad("vnetAddressSpace-slash-15", "vnetAddressSpace", "10.42.0.0/15", "a /15 is outside /16 to /22"),
    bad("vnetAddressSpace-no-prefix", "vnetAddressSpace", "10.42.0.0", VNET_SPACE),
    bad("vnetAddressSpace-netmask", "vnetAddressSpace", "10.42.0.0/255.255.0.0", "more than 18: " + VNET_SPACE),
    bad("vnetAddressSpace-octet-256", "vnetAddressSpace", "10.256.0.0/16", VNET_SPACE),
    bad("vnetAddressSpace-leading-zero", "vnetAddressSpace", "10.042.0.0/16", VNET_SPACE),
    bad("vnetAddressSpace-prefix-leading-zero", "vnetAddressSpace", "10.42.0.0/016", VNET_SPACE),
    bad("vnetAddressSpace-ipv6", "vnetAddressSpace", "fd00:42::/48", VNET_SPACE),
    bad("vnetAddressSpace-space", "vnetAddressSpace", "10.42.0.0 /16", VNET_SPACE),
    bad("vnetAddressSpace-empty", "vnetAddressSpace", "", VNET_SPACE),
    bad("vnetAddressSpace-nul", "vnetAddressSpace", "10.42.0.0/16\x00", CONTROL),
    bad("nodeSubnetId-vnet-not-subnet", "nodeSubnetId", SUBNET.rpartition("/subnets/")[0], SUBNET_ID),
    bad("nodeSubnetId-trailing-slash", "nodeSubnetId", SUBNET + "/", SUBNET_ID),
    bad("nodeSubnetId-no-leading-slash", "nodeSubnetId", SUBNET[1:], SUBNET_ID),
    bad(
        "nodeSubnetId-wrong-provider",
        "nodeSubnetId",
        SUBNET.replace("Microsoft.Network", "Microsoft.Compute"),
        SUBNET_ID,
    ),
    bad("nodeSubnetId-subnet-name", "nodeSubnetId", "aks-nodes", SUBNET_ID),
    bad(
        "nodeSubnetId-kelvin-sign-in-a-fixed-segment",  # lower() would fold U+212A to 'k'
        "nodeSubnetId",
        SUBNET.replace("Microsoft.Network", "Microsoft.Networ\u212a"),
        SUBNET_ID,
    ),
    bad(
        "nodeSubnetId-subscription-not-a-guid",
        "nodeSubnetId",
        SUBNET.replace(SUB, "/subscriptions/corp-subscription"),
        "the subscription 'corp-subscription' is not a GUID",
    ),
    bad(
        "nodeSubnetId-resource-group-trailing-dot",
        "nodeSubnetId",
        SUBNET.replace("/net-rg/", "/net-rg./"),
        f"the resource group 'net-rg.' is not {RG}",
    ),
    bad(
        "nodeSubnetId-vnet-one-char",
        "nodeSubnetId",
        SUBNET.replace("/hub-vnet/", "/v/"),
        "the virtual network 'v' is not 2-64 letters, digits, '_', '.', '-'",
    ),
    bad(
        "nodeSubnetId-vnet-65-chars",
        "nodeSubnetId",
        SUBNET.replace("/hub-vnet/", f"/{'v' * 65}/"),
        "the virtual network 'vvvv",
    ),
    bad(
        "nodeSubnetId-subnet-trailing-dot",
        "nodeSubnetId",
        SUBNET + ".",
        "the subnet 'aks-nodes.' is not 1-80 letters, digits, '_', '.', '-'",
    ),
    bad(
        "nodeSubnetId-subnet-81-chars",
        "nodeSubnetId",
        SUBNET.replace("aks-nodes", "s" * 81),
        "the subnet 'ssss",
    ),
    bad(
        "nodeSubnetId-every-name-bad-at-once",
        "nodeSubnetId",
        "/subscriptions/x/resourceGroups/net rg/providers/Microsoft.Network/virtualNetworks/-v/subnets/_s",
        f"the subscription 'x' is not a GUID; the resource group 'net rg' is not {RG}; the virtual network '-v' "
        "is not 2-64 letters, digits, '_', '.', '-', starting with a letter or digit, ending with a letter, digit or "
        "'_'; the subnet '_s' is not 1-80",
    ),
    # the longest ID has 355 characters: a 90-character group, a 64-character VNet, an 80-character subnet
    bad(
        "nodeSubnetId-356-chars",
        "nodeSubnetId",
        SUBNET + "s" * (356 - len(SUBNET)),
        "is 356 characters long, more than 355: " + SUBNET_ID,
    ),
    bad(
        "apiServerAuthorizedIpRanges-not-json",
        "apiServerAuthorizedIpRanges",
        "203.0.113.7",
        'must be a JSON array of strings, such as ["203.0.113.7", "198.51.100.0/24"]',
    ),
    bad("apiServerAuthorizedIpRanges-number-item", "apiServerAuthorizedIpRanges", "[1]", "item 0 (1) must be a string"),
    bad(
        "apiServerAuthorizedIpRanges-everything",
        "apiServerAuthorizedIpRanges",
        '["0.0.0.0/0"]',
        "entry '0.0.0.0/0' is every IPv4 address, which restricts nothing: to leave the API server open to every "
        "address, leave the list empty instead",
    ),
    bad(
        "apiServerAuthorizedIpRanges-host-bits",
        "apiServerAuthorizedIpRanges",
        '["198.51.100.7/24"]',
        "entry '198.51.100.7/24' has host bits set: write 198.51.100.0/24, not 198.51.100.7/24",
    ),
    bad(
        "apiServerAuthorizedIpRanges-duplicate",
        "apiServerAuthorizedIpRanges",
        '["203.0.113.7", "198.51.100.0/24", "203.0.113.7"]',
        "entry '203.0.113.7' is listed twice",
    ),
    bad(
        "apiServerAuthorizedIpRanges-one-address-two-ways",
        "apiServerAuthorizedIpRanges",
        '["203.0.113.7", "203.0.113.7/32"]',
        "entry '203.0.113.7/32' repeats '203.0.113.7'",
    ),
    bad("apiServerAuthorizedIpRanges-hostname", "apiServerAuthorizedIpRanges", '["office.example.com"]', IP_RANGE),
    bad("apiServerAuthorizedIpRanges-ipv6", "apiServerAuthorizedIpRanges", '["2001:db8::/32"]', IP_RANGE),
    bad("apiServerAuthorizedIpRanges-octet-256", "apiServerAuthorizedIpRanges", '["203.0.113.256"]', IP_RANGE),
    bad("apiServerAuthorizedIpRanges-slash-33", "apiServerAuthorizedIpRanges", '["203.0.113.7/33"]', IP_RANGE),
    bad(
        "apiServerAuthorizedIpRanges-netmask", "apiServerAuthorizedIpRanges", '["198.51.100.0/255.255.255.0"]', IP_RANGE
    ),
    bad("apiServerAuthorizedIpRanges-empty-item", "apiServerAuthorizedIpRanges", '[""]', "entry '' must be an IPv4"),
    bad(
        "apiServerAuthorizedIpRanges-201-entries",
        "apiServerAuthorizedIpRanges",
        json.dumps([f"198.51.{i // 256}.{i % 256}" for i in range(201)]),
        "has 201 entries, more than 200 (the most AKS allows on the API server)",
    ),
    bad(
        "apiServerAuthorizedIpRanges-every-issue-at-once",
        "apiServerAuthorizedIpRanges",
        '["0.0.0.0/0", "x", "1.2.3.4/24"]',
        f"entry '0.0.0.0/0' is every IPv4 address, which restricts nothing: to leave the API server open to every "
        f"address, leave the list empty instead; entry 'x' {IP_RANGE}; entry '1.2.3.4/24' has host bits set",
    ),
    conflict(
        "networkMode-create-on-an-existing-cluster",
        {**EXISTING_CLUSTER, "networkMode": "create"},
        "networkMode",
        "needs clusterMode=create: networkMode=create places the nodes of the cluster the stack creates, and an "
        "existing cluster keeps its own network; leave it aks-managed",
    ),
    conflict(
        "networkMode-existing-on-an-existing-cluster",
        {**EXISTING_CLUSTER, "networkMode": "existing", "nodeSubnetId": SUBNET},
        "networkMode",
        "needs clusterMode=create",
    ),
    conflict(
        "networkMode-existing-without-nodeSubnetId",
        {"networkMode": "existing"},
        "nodeSubnetId",
        "required when networkMode is 'existing': the resource ID of the subnet the nodes go into",
        shown='""',
    ),
    conflict(
        "nodeSubnetId-with-aks-managed-network",
        {"nodeSubnetId": SUBNET},
        "nodeSubnetId",
        "only used with networkMode=existing (networkMode is aks-managed): leave it empty",
    ),
    conflict(
        "nodeSubnetId-with-created-network",
        {"networkMode": "create", "nodeSubnetId": SUBNET},
        "nodeSubnetId",
        "only used with networkMode=existing (networkMode is create): leave it empty",
    ),
    conflict(
        "apiServerAuthorizedIpRanges-on-an-existing-cluster",
        {**EXISTING_CLUSTER, "apiServerAuthorizedIpRanges": '["203.0.113.7", "198.51.100.0/24"]'},
        "apiServerAuthorizedIpRanges",
        "needs clusterMode=create: the stack sets them on the API server of the cluster it creates, and an "
        "existing cluster keeps its own; leave the list empty",
    ),
    conflict(
        "vnetAddressSpace-is-the-service-cidr",
        {"networkMode": "create", "vnetAddressSpace": "10.0.0.0/16"},
        "vnetAddressSpace",
        "overlaps the service CIDR 10.0.0.0/16 that the stack gives AKS (Azure CNI Overlay)",
    ),
    conflict(
        "vnetAddressSpace-inside-the-service-cidr",
        {"networkMode": "create", "vnetAddressSpace": "10.0.252.0/22"},
        "vnetAddressSpace",
        "overlaps the service CIDR 10.0.0.0/16",
    ),
    conflict(
        "vnetAddressSpace-inside-the-pod-cidr",
        {"networkMode": "create", "vnetAddressSpace": "10.244.128.0/20"},
        "vnetAddressSpace",
        "overlaps the pod CIDR 10.244.0.0/16 that the stack gives AKS (Azure CNI Overlay)",
    ),
    conflict(
        "stack-too-long-for-the-vnet-name",
        {"networkMode": "create", "resourceGroupName": "r", "clusterName": "corp-aks"},
        STACK_KEY,
        "a stack name can have at most 51: the stack name is part of Azure names, and virtual network "
        f"<namePrefix>-<stack>-vnet = 'airflow-{'s' * 52}-vnet' has 65 characters, at most 64",
        stack="s" * 52,
    ),
    conflict(
        "stack-too-long-for-the-cluster-identity",
        {"networkMode": "existing", "nodeSubnetId": SUBNET, "resourceGroupName": "r", "clusterName": "cc"},
        STACK_KEY,
        "a stack name can have at most 107: the stack name is part of Azure names, and AKS cluster identity "
        "<namePrefix>-<stack>-aks-identity = ",
        stack="s" * 108,
    ),
    # ---- issue 12: an autoscaling user pool
    bad("userPoolMaxCount-negative", "userPoolMaxCount", "-1", POOL_NODES),
    bad("userPoolMaxCount-1001", "userPoolMaxCount", "1001", POOL_NODES),
    bad("userPoolMaxCount-fraction", "userPoolMaxCount", "2.5", POOL_NODES),
    bad("userPoolMaxCount-float-text", "userPoolMaxCount", "10.0", POOL_NODES),
    bad("userPoolMaxCount-exponent", "userPoolMaxCount", "1e3", POOL_NODES),
    bad("userPoolMaxCount-word", "userPoolMaxCount", "ten", POOL_NODES),
    bad("userPoolMaxCount-boolean", "userPoolMaxCount", "true", POOL_NODES),
    bad("userPoolMaxCount-empty", "userPoolMaxCount", "", POOL_NODES),
    bad("userPoolMaxCount-30-digits", "userPoolMaxCount", "9" * 30, POOL_NODES),
    bad("userPoolMinCount-negative", "userPoolMinCount", "-1", POOL_NODES),
    bad("userPoolMinCount-1001", "userPoolMinCount", "1001", POOL_NODES),
    bad("userPoolMinCount-fraction", "userPoolMinCount", "1.5", POOL_NODES),
    bad("userPoolMinCount-word", "userPoolMinCount", "one", POOL_NODES),
    bad("userPoolMinCount-boolean", "userPoolMinCount", "false", POOL_NODES),
    bad("userPoolMinCount-empty", "userPoolMinCount", "", POOL_NODES),
    bad("userPoolVmSize-no-Standard-prefix", "userPoolVmSize", "D8ds_v5", VM_SIZE),
    bad("userPoolVmSize-lowercase-prefix", "userPoolVmSize", "standard_D8ds_v5", VM_SIZE),
    bad("userPoolVmSize-space", "userPoolVmSize", "Standard D8ds_v5", VM_SIZE),
    bad("userPoolVmSize-empty", "userPoolVmSize", "", VM_SIZE),
    bad("userPoolVmSize-65-chars", "userPoolVmSize", "Standard_" + "D" * 56, "more than 64: must be " + VM_SIZE),
    bad("userPoolVmSize-newline", "userPoolVmSize", "Standard_D8ds_v5\n", "U+000A at position 16"),
    bad("maxPodsPerNode-29", "maxPodsPerNode", "29", MAX_PODS),
    bad("maxPodsPerNode-251", "maxPodsPerNode", "251", MAX_PODS),
    bad("maxPodsPerNode-zero", "maxPodsPerNode", "0", MAX_PODS),
    bad("maxPodsPerNode-negative", "maxPodsPerNode", "-110", MAX_PODS),
    bad("maxPodsPerNode-float-text", "maxPodsPerNode", "110.0", MAX_PODS),
    bad("maxPodsPerNode-word", "maxPodsPerNode", "many", MAX_PODS),
    bad("maxPodsPerNode-boolean", "maxPodsPerNode", "true", MAX_PODS),
    bad("maxPodsPerNode-empty", "maxPodsPerNode", "", MAX_PODS),
    conflict(
        "userPoolMinCount-above-userPoolMaxCount",
        {"userPoolMaxCount": "3", "userPoolMinCount": "5"},
        "userPoolMinCount",
        "must be at most userPoolMaxCount (3): the autoscaler keeps the user pool between the two",
        shown="5",
    ),
    conflict(
        "userPoolMaxCount-on-an-existing-cluster",
        {**EXISTING_CLUSTER, "userPoolMaxCount": "5"},
        "userPoolMaxCount",
        "needs clusterMode=create: the stack adds its user pool to the cluster it creates, and an existing "
        "cluster's pools are its own; leave it 0",
        shown="5",
    ),
    conflict(
        "userPoolMinCount-one-with-highAvailability",
        {"highAvailability": "true", "userPoolMaxCount": "5", "userPoolMinCount": "1"},
        "userPoolMinCount",
        "must be at least 2 with highAvailability: Airflow runs on the user pool, and two replicas of each component "
        "need 2 nodes to spread over, but the autoscaler may shrink the pool to userPoolMinCount (1); raise it to 2",
        shown="1",
    ),
    conflict(
        "userPoolMinCount-zero-with-highAvailability-and-one-node-at-most",
        {"highAvailability": "true", "userPoolMaxCount": "1", "userPoolMinCount": "0"},
        "userPoolMinCount",
        "(0); raise it to 2, and userPoolMaxCount (1) with it",
        shown="0",
    ),
    # with a user pool the HA rule moves from nodeCount (the system pool) to userPoolMinCount
    conflict(
        "userPoolMinCount-one-with-highAvailability-and-one-system-node",
        {
            "highAvailability": "true",
            "nodeCount": "1",
            "availabilityZones": '["1"]',
            "userPoolMaxCount": "4",
            "userPoolMinCount": "1",
        },
        "userPoolMinCount",
        "must be at least 2 with highAvailability",
        shown="1",
    ),
    # ---- operate: monitoring, Container Insights, Grafana, UI over TLS
    bad("monitoring-yes", "monitoring", "yes", BOOL),
    conflict(
        "monitoring-on-an-existing-cluster",
        {**EXISTING_CLUSTER, "monitoring": "true"},
        "monitoring",
        OWN_ADDON,
        shown="true",
    ),
    bad("containerInsights-on", "containerInsights", "on", BOOL),
    conflict(
        "containerInsights-on-an-existing-cluster",
        {**EXISTING_CLUSTER, "containerInsights": "true"},
        "containerInsights",
        OWN_ADDON,
        shown="true",
    ),
    bad("logAnalyticsRetentionDays-29", "logAnalyticsRetentionDays", "29", "must be a whole number from 30 to 730"),
    bad("logAnalyticsRetentionDays-731", "logAnalyticsRetentionDays", "731", "must be a whole number from 30 to 730"),
    bad("managedGrafana-empty", "managedGrafana", "", BOOL),
    conflict(
        "managedGrafana-without-monitoring",
        {"managedGrafana": "true"},
        "managedGrafana",
        "needs monitoring=true",
        shown="true",
    ),
    bad("grafanaAdminGroupObjectId-name", "grafanaAdminGroupObjectId", "platform-team", "a GUID"),
    conflict(
        "grafanaAdminGroupObjectId-without-grafana",
        {"grafanaAdminGroupObjectId": "5b6c3a1e-9d5f-4c2b-8f0e-2a7d9c1b3e4f"},
        "grafanaAdminGroupObjectId",
        "only with managedGrafana=true",
    ),
    bad("alertActionGroupId-name", "alertActionGroupId", "oncall", ACTION_GROUP),
    bad(
        "alertActionGroupId-wrong-provider",
        "alertActionGroupId",
        f"{SUB}/resourceGroups/ops/providers/Microsoft.Network/actionGroups/oncall",
        ACTION_GROUP,
    ),
    bad("alertActionGroupId-newline", "alertActionGroupId", ACTION_GROUP_ID + "\n", CONTROL),
    conflict(
        "alertActionGroupId-without-monitoring",
        {"alertActionGroupId": ACTION_GROUP_ID},
        "alertActionGroupId",
        "only with monitoring=true",
    ),
    bad("uiIngress-unknown", "uiIngress", "nginx", "must be 'none', 'internal' or 'public'"),
    conflict(
        "uiIngress-without-host", {"uiIngress": "public"}, "uiHost", "is required with uiIngress=public", shown='""'
    ),
    conflict(
        "uiIngress-internal-on-the-aks-managed-network",
        {"uiIngress": "internal", "uiHost": "airflow.example.com"},
        "uiIngress",
        "internal needs networkMode create or existing",
    ),
    conflict(
        "uiIngress-on-an-existing-cluster",
        {**EXISTING_CLUSTER, "uiIngress": "public", "uiHost": "airflow.example.com"},
        "uiIngress",
        OWN_ADDON,
    ),
    conflict(
        "uiIngress-with-an-access-policy-vault",
        {"uiIngress": "public", "uiHost": "airflow.example.com", "keyVaultAuthorization": "accessPolicy"},
        "uiIngress",
        "needs keyVaultAuthorization=rbac",
    ),
    bad("uiHost-without-ingress", "uiHost", "airflow.example.com", "only with uiIngress internal or public"),
    conflict("uiHost-one-label", {"uiIngress": "public", "uiHost": "airflow"}, "uiHost", "fully qualified"),
    conflict("uiHost-wildcard", {"uiIngress": "public", "uiHost": "*.example.com"}, "uiHost", "no wildcard"),
    conflict("uiHost-uppercase", {"uiIngress": "public", "uiHost": "Airflow.example.com"}, "uiHost", "lowercase"),
    conflict("uiHost-ip", {"uiIngress": "public", "uiHost": "10.0.0.4"}, "uiHost", "no IP address"),
    conflict("uiHost-with-port", {"uiIngress": "public", "uiHost": "airflow.example.com:443"}, "uiHost", "no port"),
    bad("uiCertificate-unknown", "uiCertificate", "letsencrypt", "must be 'generated' or 'imported'"),
    conflict(
        "uiCertificate-imported-without-pem",
        {"uiIngress": "public", "uiHost": "airflow.example.com", "uiCertificate": "imported"},
        "uiCertificatePem",
        "is required with uiCertificate=imported",
        shown="[secret]",
    ),
    # a private key: never shown, and refused in plain text (not set with --secret)
    conflict(
        "uiCertificatePem-not-pem",
        {
            "uiIngress": "public",
            "uiHost": "airflow.example.com",
            "uiCertificate": "imported",
            "uiCertificatePem": "hunter2-not-a-pem",
        },
        "uiCertificatePem",
        "must be a secret value",
        shown="[secret]",
    ),
    # ---- unknown key
    Case("typo-exectuor", {"exectuor": "LocalExecutor"}, "exectuor", "did you mean airflow-aks:executor?"),
    Case("typo-nodecount-lowercase", {"nodecount": "3"}, "nodecount", "did you mean airflow-aks:nodeCount?"),
]


def test_the_table_is_large_and_covers_every_key() -> None:
    assert len(CASES) >= 30
    assert len({c.id for c in CASES}) == len(CASES), "case ids must be unique"
    covered = {c.full_key for c in CASES}
    missing = {f"{PROJECT}:{k}" for k in CONFIG_KEYS} | {PROVIDER_LOCATION_KEY}
    assert missing - covered == set()


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_bad_config_is_rejected_with_key_value_and_what_is_allowed(case: Case) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_settings(case.stack, case.values())
    err = caught.value
    text = str(err)

    named = [p for p in err.problems if p.key == case.full_key]
    assert named, f"no problem names {case.full_key}: {text}"
    assert any(case.hint in p.message for p in named), text
    assert f"  - {case.full_key} = {case.expected_shown}: " in text
    # precise: nothing else is blamed (the override touched only these keys)
    assert {p.key for p in err.problems} == {case.full_key} | case.also, text
    assert text.startswith(f"invalid stack configuration ({len(err.problems)} problem")
    assert text.splitlines()[1:] == [f"  - {p}" for p in err.problems]  # one line each, nothing after


@pytest.mark.parametrize("case", [c for c in CASES if "acrName" not in c.overrides], ids=lambda c: c.id)
def test_every_problem_is_still_found_beside_an_unrelated_bad_key(case: Case) -> None:
    """All problems at once: a bad acrName (which no cross-check reads) must not hide any
    other problem. A cross-check runs beside an invalid field only when it declares every
    field it reads; a misspelt declaration would silently skip it here."""
    values = {**case.values(), _full("acrName"): "acr"}
    with pytest.raises(ConfigError) as caught:
        parse_settings(case.stack, values)
    keys = {p.key for p in caught.value.problems}
    assert keys == {case.full_key, _full("acrName")} | case.also, str(caught.value)


# ---------------------------------------------- the whole program: nothing registered
@dataclass
class MainRun:
    error: BaseException | None
    monitor: RecordingMonitor
    mocks: AzureMocks


def run_main(config: StackConfig) -> MainRun:
    """__main__.py under synth's mocks, keeping the monitor so a failed run can be inspected."""
    mocks, monitor = setup_mocks(config.project, config.stack, config.values, config.secret_keys)
    runtime_settings.SETTINGS.rpc_manager.clear()
    runtime_settings.SETTINGS.outputs.clear()

    def program() -> None:
        runpy.run_path(str(PROJECT_DIR / "__main__.py"), run_name="__main__")

    try:
        _sync_await(run_pulumi_func(program))
    except Exception as exc:  # noqa: BLE001 - the error is the result under test
        return MainRun(exc, monitor, mocks)
    return MainRun(None, monitor, mocks)


def _config(values: dict[str, str], stack: str = "dev", secret_keys: tuple[str, ...] = ()) -> StackConfig:
    dev = load_stack_config("dev")
    return StackConfig(project=dev.project, stack=stack, values=values, secret_keys=[*dev.secret_keys, *secret_keys])


def test_the_harness_records_a_good_program() -> None:
    """Control: with the dev config the same harness sees every registration."""
    result = run_main(load_stack_config("dev"))

    assert result.error is None
    types = {r.type for r in result.monitor.records.values()}
    assert "azure-native:resources:ResourceGroup" in types
    assert "airflow-aks:cluster:Cluster" in types  # a component: the first thing __main__ registers
    assert "kubernetes:helm.sh/v3:Release" in types
    assert len(result.monitor.records) > 10


WHOLE_PROGRAM = [
    "nodeCount-word",
    "typo-exectuor",
    "existing-cluster-without-clusterName",
    "airflowChartVersion-1.18.0-no-profile",
    "dagsGitRepo-ssh-scheme",
    "workerResources-limit-below-request",
    "timezone-300-chars",
    "stack-underscore",
    "stack-100-chars",
    "serviceAccountName-default",
    "airflowImageTag-airflow2-on-chart-1.19",
    "airflowEnv-fernet-key",
    "dagsGitRepo-credentials",
    "postgresqlEnabled-retired-false",
    "managed-db-on-the-aks-managed-network",
    "databaseAdminLogin-admin",
]


@pytest.mark.parametrize("case", [c for c in CASES if c.id in WHOLE_PROGRAM], ids=lambda c: c.id)
def test_bad_config_stops_the_program_before_any_resource(case: Case) -> None:
    result = run_main(_config(case.values(), case.stack))

    assert isinstance(result.error, pulumi.RunError), repr(result.error)
    message = str(result.error)
    assert message.startswith("invalid stack configuration")
    assert f"{case.full_key} = {case.expected_shown}: " in message
    assert case.hint in message
    assert "Traceback" not in message
    assert result.error.__cause__ is None  # raised `from None`: no chained ConfigError traceback
    assert result.error.__suppress_context__
    assert result.monitor.records == {}
    assert result.monitor.resources == {}
    assert result.mocks.invokes == []  # not even get_client_config


def test_every_problem_reaches_the_cli_message_with_nothing_registered() -> None:
    values = dict(load_stack_config("dev").values)
    del values[f"{PROJECT}:acrName"]
    values.update({f"{PROJECT}:nodeCount": "0", f"{PROJECT}:namespace": "kube-system", f"{PROJECT}:exectuor": "x"})

    result = run_main(_config(values))

    assert isinstance(result.error, pulumi.RunError)
    message = str(result.error)
    assert message.startswith("invalid stack configuration (4 problems):")
    for key in ("acrName", "nodeCount", "namespace", "exectuor"):
        assert f"  - {PROJECT}:{key} = " in message
    assert "Traceback" not in message
    assert result.monitor.records == {}


def test_a_secret_value_never_reaches_the_cli_message() -> None:
    """A key set with `pulumi config set --secret`: load_settings learns it is secret from the
    runtime (here synth's runner, as the Automation API does) and the message never shows it."""
    token = "ghp_s3cr3tT0ken0123456789"
    values = dict(load_stack_config("dev").values)
    values[f"{PROJECT}:dagsGitRepo"] = f"https://user:{token}@github.com/org/dags.git"
    values[f"{PROJECT}:airflowEnv"] = json.dumps([f"TOKEN={token}", f"no-equals-{token}"])

    result = run_main(_config(values, secret_keys=(f"{PROJECT}:dagsGitRepo", f"{PROJECT}:airflowEnv")))

    assert isinstance(result.error, pulumi.RunError), repr(result.error)
    message = str(result.error)
    assert token not in message
    assert f"  - {PROJECT}:dagsGitRepo = [secret]: must not carry credentials" in message
    assert f"  - {PROJECT}:airflowEnv = [secret]: entry '***' must look like NAME=value" in message
    assert result.monitor.records == {}


def test_a_secret_pasted_into_another_key_is_masked_whole_in_its_json_form() -> None:
    """A problem shows a non-secret value as JSON, which escapes quotes, backslashes and every
    non-ASCII character: a secret written there must vanish whole, not leave a character."""
    token = 'tö"k\\en-1'
    values = dict(load_stack_config("dev").values)
    values[f"{PROJECT}:airflowEnv"] = json.dumps([f"TOKEN={token}"])
    values[f"{PROJECT}:namespace"] = token
    values[f"{PROJECT}:dagsGitBranch"] = f"feature/{token}"

    with pytest.raises(ConfigError) as caught:
        parse_settings("dev", values, (f"{PROJECT}:airflowEnv",))

    text = str(caught.value)
    assert f'  - {PROJECT}:namespace = "***": must be a DNS-1123 label' in text
    assert f'  - {PROJECT}:dagsGitBranch = "feature/***": must be a git branch' in text


def test_a_secret_resources_value_keeps_each_of_its_numbers_out_of_the_message() -> None:
    """A problem quotes one part of a comma-separated value ('2000' of cpuLimit=2000): each
    part of a secret value is masked on its own, not only the whole string."""
    values = dict(load_stack_config("dev").values)
    values[f"{PROJECT}:workerResources"] = "cpu=1,memory=1Gi,cpuLimit=2000,memoryLimit=1Gi"
    with pytest.raises(ConfigError) as caught:
        parse_settings("dev", values, (f"{PROJECT}:workerResources",))
    text = str(caught.value)
    assert "cpuLimit '***' is more than 1024 cores" in text
    assert "2000" not in text


def test_an_unknown_key_gets_a_suggestion_up_to_64_characters_only() -> None:
    """difflib is quadratic: keys longer than 64 characters (no real key is half that) are not
    compared, even one that contains a real key."""
    values = dict(load_stack_config("dev").values)
    for extra, suggested in ((33, True), (34, False)):
        key = "keyVaultSoftDeleteRetentionDays" + "x" * extra
        with pytest.raises(ConfigError) as caught:
            parse_settings("dev", {**values, f"{PROJECT}:{key}": "1"})
        assert ("did you mean airflow-aks:keyVaultSoftDeleteRetentionDays?" in str(caught.value)) is suggested, len(key)


def test_clip_keeps_a_text_of_exactly_the_limit() -> None:
    from config.report import clip

    assert clip("a" * 60) == "a" * 60
    assert clip("a" * 61) == "a" * 60 + "... (61 characters)"


# ---------------------------------------------- hostile values: a Problem, never a traceback
HOSTILE: list[Any] = [
    None,
    0,
    -1,
    2**70,
    10**5000,  # json.dumps and str() refuse an int of more than 4300 digits
    1.5,
    float("nan"),
    float("inf"),
    True,
    False,
    [],
    ["x"],
    [1],
    [None],
    [["nested"]],
    {},
    {"a": 1},
    {"cpu": "1" * 1000, "memory": None},
    b"bytes",
    bytearray(b"\xff\xfe"),
    ("a",),
    object(),
    "",
    " ",
    "\x00",
    "a\x00b",
    "\r\n",
    "\x85",
    "\u2028",
    "\u202e",
    "\ud800",
    "\xff\xfe\xfd",  # a bytes-like string
    "é" * 300,
    "a" * 100_000,
    "1" * 5000,
    "[" * 100_000,
    "[" + '"a",' * 50_000 + '"a"]',
    '["A=1"]',
    "https://user:token@host/x",
    "true",
    "!a:b" * 25_000,  # regexes with a quadratic worst case would hang on these
    "a." * 50_000,
    "x://" * 25_000,
]
# Raw control characters in the text would let a value forge lines of the message.
_RAW_CONTROL = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\ud800-\udfff]")


def _report(stack: Any, values: dict[Any, Any], secret_keys: tuple[str, ...] = ()) -> ConfigError | None:
    try:
        parse_settings(stack, values, secret_keys)
    except ConfigError as err:
        return err
    return None


def _assert_reported_safely(stack: Any, values: dict[Any, Any], secret_keys: tuple[str, ...] = ()) -> None:
    start = time.perf_counter()
    err = _report(stack, values, secret_keys)
    assert time.perf_counter() - start < 2
    if err is not None:
        text = str(err)
        assert len(text) < 20_000
        assert not _RAW_CONTROL.search(text)
        assert len(text.splitlines()) == len(err.problems) + 1  # one line per problem
        assert "user:token@host" not in text


@pytest.mark.parametrize("key", [*CONFIG_KEYS, PROVIDER_LOCATION_KEY])
def test_every_key_survives_hostile_values(key: str) -> None:
    """Any value of any type, through parse_settings: accepted or a ConfigError with a
    bounded, single-line-per-problem message, fast; never another exception."""
    dev = dict(load_stack_config("dev").values)
    for value in HOSTILE:
        _assert_reported_safely("dev", {**dev, _full(key): value})
        _assert_reported_safely("dev", {**dev, _full(key): value}, secret_keys=(_full(key),))


NETWORK_BASES = {
    "created-vnet": {"networkMode": "create"},
    "existing-subnet": {"networkMode": "existing", "nodeSubnetId": SUBNET},
    "existing-cluster": {**EXISTING_CLUSTER, "networkMode": "create"},
    "authorized-ranges": {"apiServerAuthorizedIpRanges": '["203.0.113.7"]'},
}


@pytest.mark.parametrize("base", list(NETWORK_BASES))
@pytest.mark.parametrize(
    "key", ["networkMode", "vnetAddressSpace", "nodeSubnetId", "apiServerAuthorizedIpRanges", "clusterMode"]
)
def test_network_keys_survive_hostile_values_where_their_cross_checks_read_them(key: str, base: str) -> None:
    """On the dev config the network cross-checks stop early (networkMode is aks-managed):
    here they run, so one that reads a field it does not declare meets it invalid."""
    values = dict(load_stack_config("dev").values)
    values.update({_full(k): v for k, v in NETWORK_BASES[base].items()})
    for value in HOSTILE:
        _assert_reported_safely("dev", {**values, _full(key): value})


POOL_BASES = {
    "user-pool": {"userPoolMaxCount": "5"},
    "user-pool-ha": {"userPoolMaxCount": "5", "userPoolMinCount": "2", "highAvailability": "true"},
    "user-pool-existing-cluster": {**EXISTING_CLUSTER, "userPoolMaxCount": "5", "highAvailability": "true"},
    "ha-without-user-pool": {"highAvailability": "true"},
}


@pytest.mark.parametrize("base", list(POOL_BASES))
@pytest.mark.parametrize(
    "key",
    [
        "userPoolMaxCount",
        "userPoolMinCount",
        "userPoolVmSize",
        "maxPodsPerNode",
        "highAvailability",
        "nodeCount",
        "availabilityZones",
        "clusterMode",
    ],
)
def test_pool_keys_survive_hostile_values_where_their_cross_checks_read_them(key: str, base: str) -> None:
    """On the dev config the user-pool checks stop early (userPoolMaxCount is 0): here they
    run, so one that reads a field it does not declare meets it invalid."""
    values = dict(load_stack_config("dev").values)
    values.update({_full(k): v for k, v in POOL_BASES[base].items()})
    for value in HOSTILE:
        _assert_reported_safely("dev", {**values, _full(key): value})


DATABASE_BASES = {
    "managed-created-vnet": MANAGED,
    "managed-existing-subnets": {
        **MANAGED_EXISTING,
        "databaseSubnetId": DB_SUBNET,
        "privateNetworking": "true",
        "privateEndpointSubnetId": PE_SUBNET,
    },
    "managed-burstable": {**MANAGED, "databaseSku": "Standard_B2s", "pgbouncerEnabled": "false"},
    "managed-aks-managed": {"databaseMode": "managed"},
    "external": {"databaseMode": "external", "pgbouncerEnabled": "false", "externalDatabaseSecretName": "db"},
    "private-created-vnet": {"privateNetworking": "true", "networkMode": "create"},
    "remote-logs": {"logsMode": "remote"},
}


@pytest.mark.parametrize("base", list(DATABASE_BASES))
@pytest.mark.parametrize(
    "key",
    [
        "databaseMode",
        "databaseSku",
        "databaseHighAvailability",
        "databaseSubnetId",
        "pgbouncerEnabled",
        "externalDatabaseSecretName",
        "privateNetworking",
        "privateEndpointSubnetId",
        "nodeSubnetId",
        "networkMode",
        "logsMode",
    ],
)
def test_database_and_private_network_keys_survive_hostile_values_where_their_cross_checks_read_them(
    key: str, base: str
) -> None:
    """On the dev config the database and private-network checks stop early (databaseMode is
    bundled, privateNetworking false): here they run, beside each hostile value."""
    values = dict(load_stack_config("dev").values)
    values.update({_full(k): v for k, v in DATABASE_BASES[base].items()})
    for value in HOSTILE:
        _assert_reported_safely("dev", {**values, _full(key): value})


# Settings on which every branch of every cross-check runs (conflicting ones among them).
_CHECK_BASES: list[dict[str, Any]] = [
    {},
    {"cluster_mode": "existing", "monitoring": True, "container_insights": True, "ui_ingress": "public"},
    {"managed_grafana": True, "alert_action_group_id": "x", "grafana_admin_group_object_id": "x"},
    {"ui_ingress": "internal", "ui_certificate": "imported", "ui_certificate_pem": "x"},
    {"cluster_mode": "existing", "cluster_name": "corp-aks", "cluster_resource_group": "corp-rg"},
    {"cluster_mode": "existing", "cluster_name": "corp-aks"},
    {"cluster_resource_group": "aks-rg"},
    {"cluster_name": "airflow_aks", "resource_group_name": "r" * 70},
    {"stack": "s" * 100},
    {"dags_git_repo": "", "dags_git_sub_path": "x", "dags_git_branch": "x", "dags_git_rev": "x", "dags_git_depth": 5},
    {"airflow_image_tag": "3.1.7", "executor": "CeleryKubernetesExecutor"},
    {"airflow_image_tag": "2.10.5", "airflow_chart_version": "1.19.0"},
    {"high_availability": True, "node_count": 1, "availability_zones": ["1"]},
    {"high_availability": True, "user_pool_max_count": 1, "user_pool_min_count": 0},
    {"high_availability": True, "user_pool_max_count": 5, "user_pool_min_count": 2},
    {"user_pool_max_count": 3, "user_pool_min_count": 5, "cluster_mode": "existing"},
    {"cluster_admin_group_object_id": "5b6c3a1e-9d5f-4c2b-8f0e-2a7d9c1b3e4f", "cluster_auth": "entra"},
    {"kubernetes_version": "1.33.2"},
    {"namespace": "n" * 60},
    {"grant_acr_pull": False},
    {"network_mode": "create", "vnet_address_space": "10.0.0.0/16"},
    {"network_mode": "existing", "node_subnet_id": ""},
    {"node_subnet_id": SUBNET},
    {"api_server_authorized_ip_ranges": ["203.0.113.7"], "cluster_mode": "existing"},
    {"database_mode": "external", "external_database_secret_name": "db"},
    {"database_mode": "managed", "database_sku": "Standard_B2s", "database_high_availability": "SameZone"},
    {
        "database_mode": "managed",
        "network_mode": "existing",
        "node_subnet_id": SUBNET,
        "database_subnet_id": SUBNET,
        "private_networking": True,
        "private_endpoint_subnet_id": "",
    },
    {"database_subnet_id": DB_SUBNET, "private_endpoint_subnet_id": PE_SUBNET},
    {"private_networking": True},
    {"logs_mode": "remote", "stack": "s" * 120},
]
_READS: set[str] = set()


class _Recording(Settings):
    """Settings that note every field read (directly or through a derived property)."""

    def __getattribute__(self, name: str) -> Any:
        if name in Settings.model_fields:
            _READS.add(name)
        return super().__getattribute__(name)


def test_every_cross_check_declares_exactly_the_fields_it_reads() -> None:
    """A check declares what it reads (in _CROSS_CHECKS) so that it runs beside invalid
    fields it does not read: a field too few and it meets an invalid value; one too many and
    it is skipped for nothing, a problem reported one run later."""
    from config.checks import _CROSS_CHECKS

    dev_s = parse_settings("dev", load_stack_config("dev").values)
    bases = [dev_s.model_copy(update=update) for update in _CHECK_BASES]
    bases.append(parse_settings("prod", load_stack_config("prod").values))
    for declared, check in _CROSS_CHECKS:
        read: set[str] = set()
        for base in bases:
            _READS.clear()
            check(_Recording.model_construct(**{name: getattr(base, name) for name in Settings.model_fields}))
            read |= _READS
        assert read == declared, f"{check.__name__}: reads {sorted(read)}, declares {sorted(declared)}"


@pytest.mark.parametrize("name", list(Settings.model_fields))
def test_every_field_validator_raises_only_validation_errors(name: str) -> None:
    """The validators themselves (what _partial runs for the cross-checks), value by value."""
    adapter = TypeAdapter(Annotated[(Settings.model_fields[name].annotation, *Settings.model_fields[name].metadata)])
    for value in HOSTILE:
        with contextlib.suppress(ValidationError):
            adapter.validate_python(value)


def test_hostile_stack_names_and_keys_are_problems() -> None:
    dev = dict(load_stack_config("dev").values)
    for stack in [None, 5, b"dev", ["dev"], "", "\x00", "a" * 100_000, "dev\n", "prod_eu", "prod.eu"]:
        with pytest.raises(ConfigError) as caught:
            parse_settings(stack, dev)  # type: ignore[arg-type]
        assert [p.key for p in caught.value.problems] == [STACK_KEY]
        _assert_reported_safely(stack, dev)
    odd_keys: dict[Any, Any] = {**dev, 5: "x", None: "y", ("a",): "z"}
    with pytest.raises(ConfigError) as caught:
        parse_settings("dev", odd_keys)
    assert [p.key for p in caught.value.problems] == ["5", "None", "('a',)"]
    assert all("config keys are 'namespace:key' strings" in p.message for p in caught.value.problems)
    unknown = {**dev, "airflow-aks:" + "x" * 100_000: "v", "airflow-aks:bad\nkey": "v"}
    _assert_reported_safely("dev", unknown)


@pytest.mark.parametrize("name", sorted(OWNED_ENV))
def test_every_variable_the_stack_sets_is_refused_in_airflow_env(name: str) -> None:
    dev = dict(load_stack_config("dev").values)
    with pytest.raises(ConfigError) as caught:
        parse_settings("dev", {**dev, f"{PROJECT}:airflowEnv": json.dumps([f"{name}=x"])})
    (p,) = caught.value.problems
    assert p.key == f"{PROJECT}:airflowEnv"
    assert f"variable {name} is set by the stack itself: {OWNED_ENV[name]}" in p.message


def test_a_large_secret_list_is_masked_quickly() -> None:
    """Masking a secret array costs one pass per fragment: 1500 entries, several problems."""
    values = dict(load_stack_config("dev").values)
    entries = [f"K{i}=value-{i:05d}" for i in range(1500)] + ["bad entry"]
    values.update({f"{PROJECT}:airflowEnv": json.dumps(entries), f"{PROJECT}:nodeCount": "0", f"{PROJECT}:zz": "1"})
    start = time.perf_counter()
    err = _report("dev", values, (f"{PROJECT}:airflowEnv",))
    assert err is not None
    text = str(err)
    assert time.perf_counter() - start < 2
    assert "value-00042" not in text
    assert f"  - {PROJECT}:airflowEnv = [secret]: entry '***' must look like NAME=value" in text

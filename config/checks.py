"""Cross-field checks: options that conflict, and Azure names built from several values
(the stack name among them) that would pass Azure's length limits.

Each check runs when the fields it reads are valid, even if other fields are not: a
conflict is reported together with unrelated bad values, not one run later. Also the
advisories: valid but risky choices, for a warning.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from config.limits import (
    AKS_DNS_PREFIX_MAX,
    DATA_COLLECTION_ENDPOINT_MAX,
    DNS_LABEL_MAX,
    GRAFANA_NAME_MAX,
    IDENTITY_MAX,
    LOG_ANALYTICS_NAME_MAX,
    NODE_RESOURCE_GROUP_MAX,
    POD_CIDR,
    RESOURCE_GROUP_MAX,
    SERVICE_CIDR,
    STACK_MAX,
    VNET_NAME_MAX,
)
from config.model import FIELD_BY_KEY, STACK_KEY, Settings, project_key
from config.report import Problem, clip
from config.validators import KUBERNETES_VERSION, SYSTEM_NAMESPACE, ssh_git_host, ssh_git_port
from profiles import PROFILES

# AKS uses the cluster name as its DNS prefix when the stack creates the cluster.
_AKS_DNS_PREFIX = re.compile(r"[A-Za-z0-9]([A-Za-z0-9-]{0,52}[A-Za-z0-9])?")
# The Airflow version an image tag starts with, as upstream's do: 2.9.3, 3.1.7-python3.12,
# slim-3.1.7, 2.10.0rc1.
_TAG_VERSION = re.compile(r"(?:slim-)?(?P<major>[0-9]{1,4})\.(?P<minor>[0-9]{1,4})(?:\.[0-9]{1,4})?(?=$|[-_.a-zA-Z])")


def _check_existing_cluster(s: Settings) -> list[Problem]:
    if s.cluster_mode != "existing":
        return []
    problems: list[Problem] = []
    if not s.cluster_name:
        problems.append(
            Problem(
                project_key("clusterName"),
                s.cluster_name,
                "required when clusterMode is 'existing' (the AKS cluster to look up)",
            )
        )
    if s.effective_cluster_resource_group == s.effective_resource_group:
        problems.append(
            Problem(
                project_key("clusterResourceGroup"),
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
                project_key("clusterResourceGroup"),
                s.cluster_resource_group,
                f"only used with clusterMode=existing; a created cluster goes into resourceGroupName "
                f"({s.effective_resource_group}): leave it empty",
            )
        )
    # A derived name (<namePrefix>-<stack>-aks) is the stack name's problem: _check_stack_names.
    if s.cluster_name and not _AKS_DNS_PREFIX.fullmatch(s.cluster_name):
        problems.append(
            Problem(
                project_key("clusterName"),
                s.cluster_name,
                "must also be the AKS DNS prefix with clusterMode=create: 1-54 letters, digits and '-', "
                "alphanumeric at both ends",
            )
        )
    return problems


@dataclass(frozen=True)
class _Derived:
    what: str  # the Azure resource
    pattern: str  # how the name is made
    name: str
    limit: int


def _derived_names(s: Settings, stack: str) -> list[_Derived]:
    """The Azure names these settings build from the stack name (with `stack` as the stack)."""
    t = s.model_copy(update={"stack": stack})
    names = [_Derived("managed identity", "<namePrefix>-<stack>-identity", t.identity_name, IDENTITY_MAX)]
    if s.logs_mode == "remote":
        names += [
            _Derived(
                "log writer identity", "<namePrefix>-<stack>-logs-writer", t.logs_writer_identity_name, IDENTITY_MAX
            ),
            _Derived(
                "log reader identity", "<namePrefix>-<stack>-logs-reader", t.logs_reader_identity_name, IDENTITY_MAX
            ),
        ]
    if not s.resource_group_name:
        names.append(
            _Derived("resource group", "<namePrefix>-<stack>-rg", t.effective_resource_group, RESOURCE_GROUP_MAX)
        )
    if s.container_insights:
        names.append(
            _Derived(
                "Log Analytics workspace", "<namePrefix>-<stack>-law", t.log_analytics_name, LOG_ANALYTICS_NAME_MAX
            )
        )
    if s.monitoring:
        names.append(
            _Derived(
                "data collection endpoint",
                "<namePrefix>-<stack>-prom-dce",
                f"{t.monitoring_prefix}-prom-dce",
                DATA_COLLECTION_ENDPOINT_MAX,
            )
        )
    if s.managed_grafana:
        names.append(_Derived("Managed Grafana", "<namePrefix>-<stack>-grafana", t.grafana_name, GRAFANA_NAME_MAX))
    if s.network_mode == "create":
        names.append(_Derived("virtual network", "<namePrefix>-<stack>-vnet", t.vnet_name, VNET_NAME_MAX))
    if s.network_mode != "aks-managed" and s.cluster_mode == "create":
        names.append(
            _Derived("AKS cluster identity", "<namePrefix>-<stack>-aks-identity", t.cluster_identity_name, IDENTITY_MAX)
        )
    if s.cluster_mode == "create":
        if not s.cluster_name:
            names.append(
                _Derived("AKS DNS prefix", "<namePrefix>-<stack>-aks", t.effective_cluster_name, AKS_DNS_PREFIX_MAX)
            )
        names.append(
            _Derived(
                "AKS node resource group",
                "MC_<resource group>_<cluster>_<location>",
                t.node_resource_group,
                NODE_RESOURCE_GROUP_MAX,
            )
        )
    return names


def _longest_stack(s: Settings) -> int:
    """The longest stack name whose derived names all fit (0: none does)."""
    longest = 0
    for n in range(1, STACK_MAX + 1):
        if all(len(d.name) <= d.limit for d in _derived_names(s, "a" * n)):
            longest = n
        else:
            break
    return longest


def _check_stack_names(s: Settings) -> list[Problem]:
    """Every Azure name built from the stack name stays within its limit.

    The stack's characters are checked on the field (letters, digits, '-'); here the
    lengths, which depend on namePrefix, location and which names are given explicitly. A
    name too long even for a one-character stack is the explicit names' problem."""
    too_long = [d for d in _derived_names(s, s.stack) if len(d.name) > d.limit]
    if not too_long:
        return []
    longest = _longest_stack(s)
    detail = "; ".join(
        f"{d.what} {d.pattern} = {clip(d.name, 120)!r} has {len(d.name)} characters, at most {d.limit}"
        for d in too_long
    )
    if longest == 0:
        node = next(d for d in too_long if d.what == "AKS node resource group")
        explicit = {
            k: v for k, v in (("resourceGroupName", s.resource_group_name), ("clusterName", s.cluster_name)) if v
        }
        key = max(explicit, key=lambda k: len(explicit[k]))  # a one-character stack fits if neither is set
        return [
            Problem(
                project_key(key),
                getattr(s, FIELD_BY_KEY[key]),
                f"makes {detail}: AKS refuses the cluster; shorten resourceGroupName or clusterName "
                f"(the node resource group has {len(node.name) - NODE_RESOURCE_GROUP_MAX} characters too many)",
            )
        ]
    derived = [k for k, v in (("resourceGroupName", s.resource_group_name), ("clusterName", s.cluster_name)) if not v]
    also = f", or set {' and '.join(derived)} explicitly" if derived else ""
    return [
        Problem(
            STACK_KEY,
            s.stack,
            f"is {len(s.stack)} characters long, but with these settings (namePrefix {s.name_prefix!r}, "
            f"location {s.location!r}) a stack name can have at most {longest}: the stack name is part of Azure "
            f"names, and {detail}; use a shorter stack name{also}",
        )
    ]


def _check_cluster_admins(s: Settings) -> list[Problem]:
    if s.cluster_admin_group_object_id and (s.cluster_auth != "entra" or s.cluster_mode != "create"):
        return [
            Problem(
                project_key("clusterAdminGroupObjectId"),
                s.cluster_admin_group_object_id,
                "only used with clusterAuth=entra and clusterMode=create (the stack grants admins on the "
                "cluster it creates): leave it empty",
            )
        ]
    return []


def _check_acr_pull(s: Settings) -> list[Problem]:
    if not s.grant_acr_pull and s.cluster_mode != "existing":
        return [
            Problem(
                project_key("grantAcrPull"),
                False,
                "may be false only with clusterMode=existing (a cluster already attached to the registry with "
                "`az aks update --attach-acr`); the cluster the stack creates needs the grant to pull any image",
            )
        ]
    return []


def _check_operate_on_created_cluster(s: Settings) -> list[Problem]:
    """monitoring, containerInsights and uiIngress turn on cluster add-ons (the metrics
    profile, the monitoring add-on, application routing): the stack changes only a cluster
    it creates."""
    if s.cluster_mode != "existing":
        return []
    wanted = [
        ("monitoring", s.monitoring, "az aks update --enable-azure-monitor-metrics"),
        ("containerInsights", s.container_insights, "az aks enable-addons --addons monitoring"),
        ("uiIngress", s.ui_ingress != "none", "az aks approuting enable"),
    ]
    return [
        Problem(
            project_key(key),
            s.ui_ingress if key == "uiIngress" else True,
            "needs clusterMode=create: it turns on a cluster add-on, and the stack does not change a cluster it "
            f"does not own (turn it on for the existing cluster yourself, `{command}`, and leave this key off)",
        )
        for key, on, command in wanted
        if on
    ]


def _check_monitoring_parts(s: Settings) -> list[Problem]:
    problems: list[Problem] = []
    if s.managed_grafana and not s.monitoring:
        problems.append(
            Problem(
                project_key("managedGrafana"),
                True,
                "needs monitoring=true: Grafana reads the Azure Monitor workspace that monitoring creates",
            )
        )
    if s.alert_action_group_id and not s.monitoring:
        problems.append(
            Problem(
                project_key("alertActionGroupId"),
                s.alert_action_group_id,
                "is used only with monitoring=true (the alert rules that notify it); set monitoring or remove it",
            )
        )
    if s.grafana_admin_group_object_id and not s.managed_grafana:
        problems.append(
            Problem(
                project_key("grafanaAdminGroupObjectId"),
                s.grafana_admin_group_object_id,
                "is used only with managedGrafana=true; set managedGrafana or remove it",
            )
        )
    return problems


def _check_ui_ingress(s: Settings) -> list[Problem]:
    problems: list[Problem] = []
    on = s.ui_ingress != "none"
    if on and not s.ui_host:
        problems.append(
            Problem(
                project_key("uiHost"),
                s.ui_host,
                f"is required with uiIngress={s.ui_ingress}: the host name the UI is served on, such as "
                "airflow.example.com (the certificate's name, the Ingress host and Airflow's base_url)",
            )
        )
    if not on and s.ui_host:
        problems.append(
            Problem(project_key("uiHost"), s.ui_host, "is used only with uiIngress internal or public; remove it")
        )
    if on and s.ui_ingress == "internal" and s.network_mode == "aks-managed":
        problems.append(
            Problem(
                project_key("uiIngress"),
                s.ui_ingress,
                "internal needs networkMode create or existing: the private load balancer takes an address in the "
                "stack's VNet, which is where clients reach it from (or choose public)",
            )
        )
    if on and s.key_vault_authorization != "rbac":
        problems.append(
            Problem(
                project_key("uiIngress"),
                s.ui_ingress,
                "needs keyVaultAuthorization=rbac: the application routing add-on reads the UI certificate with a role "
                "assignment scoped to its one Key Vault secret, which an access-policy vault ignores",
            )
        )
    imported = s.ui_certificate == "imported"
    if on and imported and not s.ui_certificate_pem:
        problems.append(
            Problem(
                project_key("uiCertificatePem"),
                "",
                "is required with uiCertificate=imported: the certificate chain and its key in PEM, set with "
                "`pulumi config set --secret airflow-aks:uiCertificatePem < bundle.pem`",
            )
        )
    if s.ui_certificate_pem and not (on and imported):
        problems.append(
            Problem(
                project_key("uiCertificatePem"),
                s.ui_certificate_pem,
                "is used only with uiIngress internal or public and uiCertificate=imported; remove it",
            )
        )
    return problems


def _check_database(s: Settings) -> list[Problem]:
    problems: list[Problem] = []
    external = s.database_mode == "external"
    if external and not s.external_database_secret_name:
        problems.append(
            Problem(
                project_key("externalDatabaseSecretName"),
                "",
                "required when databaseMode is 'external': a Secret with a 'connection' key for the metadata database",
            )
        )
    if not external and s.external_database_secret_name:
        problems.append(
            Problem(
                project_key("externalDatabaseSecretName"),
                s.external_database_secret_name,
                f"only used with databaseMode=external, and databaseMode is {s.database_mode} (a database the stack "
                "runs and connects to itself): use one metadata database, not both; leave it empty",
            )
        )
    if s.pgbouncer_enabled and external:
        problems.append(
            Problem(
                project_key("pgbouncerEnabled"),
                True,
                "not supported with databaseMode=external: PgBouncer runs in front of the bundled PostgreSQL (the "
                "chart's) or a managed flexible server (its built-in one); set it to false for an external database",
            )
        )
    return problems


# The flexible server's network: private access only, in a subnet of the stack's VNet.
_STACK_VNET = (
    "with networkMode=aks-managed AKS makes its own VNet, which the stack cannot add a subnet to; set networkMode "
    "to create (the stack adds the subnet) or existing"
)


def _check_managed_database_network(s: Settings) -> list[Problem]:
    if not s.managed_database or s.network_mode in ("create", "existing"):
        return []
    return [
        Problem(
            project_key("databaseMode"),
            s.database_mode,
            f"needs networkMode create or existing (networkMode is {s.network_mode}): the flexible server has "
            f"private access only, through a subnet delegated to Microsoft.DBforPostgreSQL/flexibleServers; "
            f"{_STACK_VNET} (with databaseSubnetId)",
        )
    ]


_NOT_BURSTABLE = (
    "choose a General Purpose (Standard_D...) or Memory Optimized (Standard_E...) databaseSku, such as Standard_D2ds_v5"
)


def _check_managed_database_tier(s: Settings) -> list[Problem]:
    """Azure offers neither high availability nor the built-in PgBouncer on the Burstable tier.
    Without databaseMode=managed the database* keys are unused: nothing to check."""
    if not s.managed_database or s.database_sku_tier != "Burstable":
        return []
    problems: list[Problem] = []
    if s.database_high_availability != "Disabled":
        problems.append(
            Problem(
                project_key("databaseHighAvailability"),
                s.database_high_availability,
                f"needs a non-Burstable databaseSku (databaseSku is {s.database_sku}): Azure Database for "
                f"PostgreSQL offers no high availability on the Burstable tier; {_NOT_BURSTABLE}, or set "
                "databaseHighAvailability to Disabled",
            )
        )
    if s.pgbouncer_enabled:
        problems.append(
            Problem(
                project_key("pgbouncerEnabled"),
                True,
                f"with databaseMode=managed turns on the flexible server's built-in PgBouncer, which Azure does not "
                f"offer on the Burstable tier (databaseSku is {s.database_sku}): {_NOT_BURSTABLE}, or set "
                "pgbouncerEnabled to false",
            )
        )
    return problems


def _check_private_networking(s: Settings) -> list[Problem]:
    if not s.private_networking or s.network_mode in ("create", "existing"):
        return []
    return [
        Problem(
            project_key("privateNetworking"),
            True,
            f"needs networkMode create or existing (networkMode is {s.network_mode}): the private endpoints of Key "
            f"Vault and the storage account go into a subnet of the stack's VNet; {_STACK_VNET} (with "
            "privateEndpointSubnetId)",
        )
    ]


def _subnet_use(key: str, subnet: str, used: bool, when: tuple[str, str], what: str, now: str) -> list[Problem]:
    """A subnet ID that is `used` (then required) or not (then refused). `when`: the settings
    that use it, as a sentence and as key=value; `now`: what they are."""
    if used and not subnet:
        return [
            Problem(
                project_key(key),
                subnet,
                f"required when {when[0]}: the resource ID of {what} (/subscriptions/<guid>/resourceGroups/<group>"
                "/providers/Microsoft.Network/virtualNetworks/<vnet>/subnets/<subnet>)",
            )
        ]
    if subnet and not used:
        return [Problem(project_key(key), subnet, f"only used with {when[1]} ({now}): leave it empty")]
    return []


def _check_database_subnet(s: Settings) -> list[Problem]:
    return _subnet_use(
        "databaseSubnetId",
        s.database_subnet_id,
        s.managed_database and s.network_mode == "existing",
        ("databaseMode is 'managed' and networkMode is 'existing'", "databaseMode=managed and networkMode=existing"),
        "the subnet the flexible server goes into, delegated to Microsoft.DBforPostgreSQL/flexibleServers and "
        "reachable from the nodes (with networkMode=create the stack creates it)",
        f"databaseMode is {s.database_mode}, networkMode is {s.network_mode}",
    )


def _check_private_endpoint_subnet(s: Settings) -> list[Problem]:
    return _subnet_use(
        "privateEndpointSubnetId",
        s.private_endpoint_subnet_id,
        s.private_networking and s.network_mode == "existing",
        ("privateNetworking is true and networkMode is 'existing'", "privateNetworking=true and networkMode=existing"),
        "the subnet the private endpoints of Key Vault and the storage account go into, reachable from the nodes "
        "(with networkMode=create the stack creates it)",
        f"privateNetworking is {'true' if s.private_networking else 'false'}, networkMode is {s.network_mode}",
    )


def _same_arm_id(a: str, b: str) -> bool:
    """ARM compares resource IDs case-insensitively (ASCII)."""
    fold = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
    return a.translate(fold) == b.translate(fold)


def _check_delegated_subnet_alone(s: Settings) -> list[Problem]:
    """A subnet delegated to Microsoft.DBforPostgreSQL/flexibleServers holds flexible servers
    only: neither the nodes nor private endpoints can go into it."""
    if not (s.managed_database and s.network_mode == "existing" and s.database_subnet_id):
        return []
    others = [("nodeSubnetId", s.node_subnet_id)]
    if s.private_networking:
        others.append(("privateEndpointSubnetId", s.private_endpoint_subnet_id))
    return [
        Problem(
            project_key("databaseSubnetId"),
            s.database_subnet_id,
            f"is also {key}: a subnet delegated to Microsoft.DBforPostgreSQL/flexibleServers holds flexible "
            f"servers only; give the database a subnet of its own",
        )
        for key, other in others
        if other and _same_arm_id(other, s.database_subnet_id)
    ]


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
            project_key("executor"),
            s.executor,
            f"is not supported by chart {profile.chart_version} (Airflow {profile.airflow_version}): "
            f"use one of {', '.join(profile.executors)}{hint}",
        )
    ]


def _check_image_tag(s: Settings) -> list[Problem]:
    """The chart's values are rendered for the profile's Airflow version (`airflowVersion`):
    its commands, config and components follow that line (Airflow 3: an API server and a
    DAG processor; Airflow 2: a webserver). An image of another major version cannot run
    them, nor one older than the minor version they are rendered for."""
    if not s.airflow_image_tag:
        return []
    profile = PROFILES[s.airflow_chart_version]
    major, minor = profile.airflow_major, profile.airflow_minor
    line = f"chart {profile.chart_version} runs Airflow {major} ({profile.airflow_version})"
    other = next((p.chart_version for p in PROFILES.values() if p.airflow_major != major), None)
    match = _TAG_VERSION.match(s.airflow_image_tag)
    if not match:
        message = (
            f"must start with the Airflow version the image contains, as upstream tags do ({profile.airflow_version}, "
            f"{profile.airflow_version}-python3.12, slim-{profile.airflow_version}; a custom build as "
            f"{profile.airflow_version}-corp1), so its Airflow line can be checked: {line}"
        )
    elif int(match["major"]) != major:
        switch = f", or airflowChartVersion {other}" if other else ""
        message = (
            f"is an Airflow {int(match['major'])} image, but {line}: use a {major}.x tag{switch}"
            if int(match["major"]) in (2, 3)
            else f"starts with version {int(match['major'])}.{int(match['minor'])}, which is no Airflow {major} "
            f"release: {line}"
        )
    elif int(match["minor"]) < minor:
        message = (
            f"is Airflow {major}.{int(match['minor'])}, older than the {profile.airflow_version} the chart values are "
            f"rendered for ({line}): use {major}.{minor} or newer"
        )
    else:
        return []
    return [Problem(project_key("airflowImageTag"), s.airflow_image_tag, message)]


def _check_high_availability(s: Settings) -> list[Problem]:
    """Two replicas of each component need two nodes to spread over, on the pool Airflow runs
    on: the system pool (nodeCount) without a user pool; with one, the user pool, which the
    autoscaler may shrink to userPoolMinCount (the system pool then runs critical add-ons only)."""
    # Both size a created cluster only: an existing cluster's nodes are its own.
    if s.cluster_mode != "create" or not s.high_availability:
        return []
    if s.has_user_pool:
        if s.user_pool_min_count >= 2:
            return []
        also = f", and userPoolMaxCount ({s.user_pool_max_count}) with it" if s.user_pool_max_count < 2 else ""
        return [
            Problem(
                project_key("userPoolMinCount"),
                s.user_pool_min_count,
                f"must be at least 2 with highAvailability: Airflow runs on the user pool, and two replicas of each "
                f"component need 2 nodes to spread over, but the autoscaler may shrink the pool to userPoolMinCount "
                f"({s.user_pool_min_count}); raise it to 2{also}",
            )
        ]
    if s.node_count < 2:
        return [
            Problem(
                project_key("highAvailability"),
                True,
                f"needs at least 2 nodes to spread two replicas over (nodeCount is {s.node_count})",
            )
        ]
    return []


def _check_zones(s: Settings) -> list[Problem]:
    """The system pool has nodeCount nodes, fixed: each zone it spans needs one. A user pool
    spans the same zones with the autoscaler, which balances them as it grows and may leave a
    zone empty at userPoolMinCount (the HA replicas spread over zones only where nodes are:
    ScheduleAnyway), so it adds no rule."""
    zones = len(s.availability_zones)
    if s.cluster_mode == "create" and s.node_count < zones:
        return [
            Problem(
                project_key("availabilityZones"),
                s.availability_zones,
                f"spreads the node pool over {zones} zones, but nodeCount is {s.node_count}: at least one zone "
                f"would have no node; list at most {s.node_count} zone{'s' * (s.node_count != 1)} or raise nodeCount",
            )
        ]
    return []


def _created_cluster_only(s: Settings, key: str, value: Any, what: str, leave: str) -> list[Problem]:
    """`key` set while clusterMode is existing: the stack changes only the cluster it creates."""
    if s.cluster_mode == "create":
        return []
    return [Problem(project_key(key), value, f"needs clusterMode=create: {what}; leave {leave}")]


def _check_user_pool(s: Settings) -> list[Problem]:
    if not s.has_user_pool:
        return []
    problems = _created_cluster_only(
        s,
        "userPoolMaxCount",
        s.user_pool_max_count,
        "the stack adds its user pool to the cluster it creates, and an existing cluster's pools are its own",
        "it 0",
    )
    if s.user_pool_min_count > s.user_pool_max_count:
        problems.append(
            Problem(
                project_key("userPoolMinCount"),
                s.user_pool_min_count,
                f"must be at most userPoolMaxCount ({s.user_pool_max_count}): the autoscaler keeps the user pool "
                "between the two",
            )
        )
    return problems


def _check_git_known_hosts(s: Settings) -> list[Problem]:
    """An SSH dagsGitRepo needs the host's known_hosts (git-sync would otherwise trust any host
    key, or refuse to connect); https and no repository take none."""
    key = project_key("dagsGitKnownHosts")
    if not s.dags_git_ssh:
        if not s.dags_git_known_hosts:
            return []
        why = "an https dagsGitRepo" if s.dags_git_repo else "no dagsGitRepo"
        return [
            Problem(
                key,
                s.dags_git_known_hosts,
                f"is only for an SSH dagsGitRepo (git@host:org/repo.git or ssh://...), and has no effect with {why}; "
                "remove it",
            )
        ]
    if not s.dags_git_known_hosts:
        return [
            Problem(
                key,
                s.dags_git_known_hosts,
                "is required with an SSH dagsGitRepo: the host's known_hosts line(s), such as the output of "
                "`ssh-keyscan -t ed25519 <host>` checked against the fingerprints the host publishes, so git-sync "
                "connects to that host and no other",
            )
        ]
    host, port = ssh_git_host(s.dags_git_repo), ssh_git_port(s.dags_git_repo)
    wanted = host if port == 22 else f"[{host}]:{port}"
    names = {name.lower() for line in s.dags_git_known_hosts.splitlines() for name in line.split(" ", 1)[0].split(",")}
    if wanted in names or any(name.startswith("|1|") for name in names):  # hashed names cannot be read
        return []
    return [
        Problem(
            key,
            s.dags_git_known_hosts,
            f"names no line for {wanted}, the host of dagsGitRepo: git-sync would refuse the host's key; give the "
            f"known_hosts line(s) of {wanted}",
        )
    ]


def _check_git_sync(s: Settings) -> list[Problem]:
    if s.dags_git_repo:
        return []
    # Without git-sync these keys do nothing: a value other than the default is a mistake.
    defaults: tuple[tuple[str, str, tuple[object, ...]], ...] = (
        ("dagsGitSubPath", "dags_git_sub_path", ("", "dags")),
        ("dagsGitBranch", "dags_git_branch", ("main",)),
        ("dagsGitRev", "dags_git_rev", ("HEAD",)),
        ("dagsGitDepth", "dags_git_depth", (1,)),
    )
    return [
        Problem(
            project_key(key),
            getattr(s, attr),
            "has no effect without dagsGitRepo; set dagsGitRepo or leave the default",
        )
        for key, attr, allowed in defaults
        if getattr(s, attr) not in allowed
    ]


def _check_upgrade_channel(s: Settings) -> list[Problem]:
    """A channel that upgrades the cluster by itself and a pinned patch fight: after AKS
    moves the cluster to a newer patch, the next `pulumi up` would try to take it back."""
    match = KUBERNETES_VERSION.fullmatch(s.kubernetes_version)
    if s.auto_upgrade_channel in ("patch", "stable", "rapid") and match and match[2]:
        return [
            Problem(
                project_key("kubernetesVersion"),
                s.kubernetes_version,
                f"pins a patch release, but autoUpgradeChannel={s.auto_upgrade_channel} upgrades the cluster "
                f"itself: the next pulumi up after an automatic upgrade would try to downgrade it; give "
                f"1.MINOR (1.{match[1]}), or set autoUpgradeChannel to none or node-image to pin the patch",
            )
        ]
    return []


def _check_operator_namespace(s: Settings) -> list[Problem]:
    """External Secrets Operator runs in `<namespace>-eso`, a namespace of its own."""
    if not s.install_secrets_operator:
        return []
    derived = s.operator_namespace
    too_long = len(derived) > DNS_LABEL_MAX
    if too_long or SYSTEM_NAMESPACE.fullmatch(derived):
        why = (
            f"{len(derived)} characters, more than {DNS_LABEL_MAX}"
            if too_long
            else "a kube-* name, which Kubernetes reserves for its own namespaces"
        )
        return [
            Problem(
                project_key("namespace"),
                s.namespace,
                f"with installSecretsOperator the operator runs in <namespace>-eso = {derived!r}, which is {why}: "
                f"use a namespace of at most {DNS_LABEL_MAX - len('-eso')} characters, not 'kube'",
            )
        ]
    return []


def _check_network_mode(s: Settings) -> list[Problem]:
    if s.network_mode == "aks-managed":
        return []
    return _created_cluster_only(
        s,
        "networkMode",
        s.network_mode,
        f"networkMode={s.network_mode} places the nodes of the cluster the stack creates, and an existing cluster "
        "keeps its own network",
        "it aks-managed",
    )


def _check_node_subnet(s: Settings) -> list[Problem]:
    if s.network_mode == "existing" and not s.node_subnet_id:
        return [
            Problem(
                project_key("nodeSubnetId"),
                s.node_subnet_id,
                "required when networkMode is 'existing': the resource ID of the subnet the nodes go into "
                "(/subscriptions/<guid>/resourceGroups/<group>/providers/Microsoft.Network/virtualNetworks/<vnet>"
                "/subnets/<subnet>)",
            )
        ]
    if s.node_subnet_id and s.network_mode != "existing":
        return [
            Problem(
                project_key("nodeSubnetId"),
                s.node_subnet_id,
                f"only used with networkMode=existing (networkMode is {s.network_mode}): leave it empty",
            )
        ]
    return []


def _check_authorized_ranges(s: Settings) -> list[Problem]:
    if not s.api_server_authorized_ip_ranges:
        return []
    return _created_cluster_only(
        s,
        "apiServerAuthorizedIpRanges",
        s.api_server_authorized_ip_ranges,
        "the stack sets them on the API server of the cluster it creates, and an existing cluster keeps its own",
        "the list empty",
    )


def _check_address_space(s: Settings) -> list[Problem]:
    """A created VNet's addresses and the cluster-internal ones the stack gives AKS (Azure CNI
    Overlay: pods and services never take VNet addresses) must not overlap: AKS refuses them."""
    if s.network_mode != "create":
        return []
    vnet = ipaddress.IPv4Network(s.vnet_address_space)
    overlapped = [
        f"the {what} CIDR {cidr}"
        for what, cidr in (("pod", POD_CIDR), ("service", SERVICE_CIDR))
        if vnet.overlaps(ipaddress.IPv4Network(cidr))
    ]
    if not overlapped:
        return []
    return [
        Problem(
            project_key("vnetAddressSpace"),
            s.vnet_address_space,
            f"overlaps {' and '.join(overlapped)} that the stack gives AKS (Azure CNI Overlay): pods "
            f"({POD_CIDR}) and services ({SERVICE_CIDR}) have addresses of their own, outside the VNet; choose "
            "a range outside both, such as 10.42.0.0/16",
        )
    ]


_CLUSTER_FIELDS = frozenset(
    {"stack", "name_prefix", "resource_group_name", "cluster_mode", "cluster_name", "cluster_resource_group"}
)
_CROSS_CHECKS: tuple[tuple[frozenset[str], Callable[[Settings], list[Problem]]], ...] = (
    (_CLUSTER_FIELDS, _check_existing_cluster),
    (_CLUSTER_FIELDS, _check_created_cluster),
    # not cluster_resource_group: only an existing cluster has one, and it has no derived names
    (
        (_CLUSTER_FIELDS - {"cluster_resource_group"})
        | {"location", "network_mode", "logs_mode", "container_insights", "monitoring", "managed_grafana"},
        _check_stack_names,
    ),
    (frozenset({"database_mode", "pgbouncer_enabled", "external_database_secret_name"}), _check_database),
    (frozenset({"database_mode", "network_mode"}), _check_managed_database_network),
    (
        frozenset({"database_mode", "database_sku", "database_high_availability", "pgbouncer_enabled"}),
        _check_managed_database_tier,
    ),
    (frozenset({"private_networking", "network_mode"}), _check_private_networking),
    (frozenset({"database_mode", "network_mode", "database_subnet_id"}), _check_database_subnet),
    (frozenset({"private_networking", "network_mode", "private_endpoint_subnet_id"}), _check_private_endpoint_subnet),
    (
        frozenset(
            {
                "database_mode",
                "network_mode",
                "database_subnet_id",
                "node_subnet_id",
                "private_networking",
                "private_endpoint_subnet_id",
            }
        ),
        _check_delegated_subnet_alone,
    ),
    (
        frozenset({"dags_git_repo", "dags_git_sub_path", "dags_git_branch", "dags_git_rev", "dags_git_depth"}),
        _check_git_sync,
    ),
    (frozenset({"dags_git_repo", "dags_git_known_hosts"}), _check_git_known_hosts),
    (frozenset({"airflow_chart_version", "executor"}), _check_executor),
    (frozenset({"airflow_chart_version", "airflow_image_tag"}), _check_image_tag),
    (
        frozenset({"high_availability", "node_count", "cluster_mode", "user_pool_max_count", "user_pool_min_count"}),
        _check_high_availability,
    ),
    (frozenset({"availability_zones", "node_count", "cluster_mode"}), _check_zones),
    (frozenset({"user_pool_max_count", "user_pool_min_count", "cluster_mode"}), _check_user_pool),
    (frozenset({"cluster_admin_group_object_id", "cluster_auth", "cluster_mode"}), _check_cluster_admins),
    (frozenset({"kubernetes_version", "auto_upgrade_channel"}), _check_upgrade_channel),
    (frozenset({"namespace", "install_secrets_operator"}), _check_operator_namespace),
    (frozenset({"grant_acr_pull", "cluster_mode"}), _check_acr_pull),
    (frozenset({"network_mode", "cluster_mode"}), _check_network_mode),
    (frozenset({"network_mode", "node_subnet_id"}), _check_node_subnet),
    (frozenset({"api_server_authorized_ip_ranges", "cluster_mode"}), _check_authorized_ranges),
    (frozenset({"network_mode", "vnet_address_space"}), _check_address_space),
    (frozenset({"cluster_mode", "monitoring", "container_insights", "ui_ingress"}), _check_operate_on_created_cluster),
    (
        frozenset({"monitoring", "managed_grafana", "alert_action_group_id", "grafana_admin_group_object_id"}),
        _check_monitoring_parts,
    ),
    (
        frozenset(
            {"ui_ingress", "ui_host", "network_mode", "ui_certificate", "ui_certificate_pem", "key_vault_authorization"}
        ),
        _check_ui_ingress,
    ),
)


def cross_checks(s: Settings, valid: frozenset[str] | None = None) -> list[Problem]:
    """Conflicting options; given `valid` field names, only the checks that read nothing else."""
    problems: list[Problem] = []
    for needs, check in _CROSS_CHECKS:
        if valid is None or needs <= valid:
            problems.extend(check(s))
    return problems


# ------------------------------------------------------------------- advisories
_PRODUCTION_STACK = re.compile(r"(?i)(^|[-_.])prod(uction)?([-_.]|$)")


def advisories(s: Settings) -> list[str]:
    """Valid but risky choices, for a warning (load_settings logs them; nothing is refused)."""
    notes: list[str] = []
    if s.high_availability and s.postgresql_enabled:
        notes.append(
            "highAvailability runs two of each Airflow component, but the bundled PostgreSQL (databaseMode=bundled) "
            "stays one pod on one zonal disk: losing its node or zone still stops Airflow; for production use "
            "databaseMode=managed (Azure Database for PostgreSQL flexible server, with databaseHighAvailability) or "
            "an external database (databaseMode=external, externalDatabaseSecretName)"
        )
    if s.high_availability and s.managed_database and s.database_high_availability == "Disabled":
        notes.append(
            "highAvailability runs two of each Airflow component, but the managed flexible server has no standby "
            "(databaseHighAvailability=Disabled): an outage of its zone stops Airflow; set "
            "databaseHighAvailability to ZoneRedundant (or SameZone) with a non-Burstable databaseSku"
        )
    if not s.key_vault_purge_protection and _PRODUCTION_STACK.search(s.stack):
        notes.append(
            f"keyVaultPurgeProtection is false on stack {s.stack!r}: anyone who can delete the vault can also purge "
            "its secrets (the Fernet key among them) at once; turn it on for production (it cannot be turned off)"
        )
    return notes

"""Policy pack rules (policy/rules.py): each policy passes a compliant stack and catches its violation.

Never imports policy/__main__.py: it needs pulumi_policy (its own venv) and serves gRPC forever.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from policy.rules import (
    AIRFLOW_CHART,
    BLOB_CONTAINER,
    DEFAULT_CHARTS,
    FEDERATED_CREDENTIAL,
    HELM_RELEASE,
    KEY_VAULT,
    KEY_VAULT_SECRET,
    KUBERNETES_PROVIDER,
    KUBERNETES_SECRET,
    MANAGED_CLUSTER,
    POLICIES,
    POSTGRESQL_CONFIGURATION,
    POSTGRESQL_FLEXIBLE_SERVER,
    ROLE_ASSIGNMENT,
    SERVICE_ACCOUNT,
    STORAGE_ACCOUNT,
    PolicyConfig,
    PolicyResource,
    Violation,
    check_credentials,
    check_network_isolation,
    credential_material,
    evaluate,
    is_credential_key,
    is_secret,
    stack_urn,
)
from synth.mocks import Secret, Unknown
from synth.project import PROJECT_DIR
from synth.reference import airflow_chart_schema
from tests.test_external_facts import fact

POLICY_DIR = PROJECT_DIR / "policy"
REGISTRY = "airflowdevacr.azurecr.io"
CONFIG = PolicyConfig(registry=REGISTRY)
SUB = "/subscriptions/00000000-0000-0000-0000-00000000c0de"
POLICY_NAMES = {p.name for p in POLICIES}


def _res(typ: str, name: str, props: dict[str, Any]) -> PolicyResource:
    return PolicyResource(f"urn:pulumi:dev::airflow-aks::{typ}::{name}", typ, name, props)


def _airflow_values() -> dict[str, Any]:
    return {
        "defaultAirflowRepository": f"{REGISTRY}/airflow",
        "defaultAirflowTag": "2.9.3",
        "images": {
            "airflow": {"repository": f"{REGISTRY}/airflow", "tag": "2.9.3", "pullPolicy": "IfNotPresent"},
            "gitSync": {"repository": f"{REGISTRY}/git-sync", "tag": "v4.1.0"},
            "useDefaultImageForMigration": False,
        },
        "postgresql": {
            "enabled": True,
            "image": {"registry": REGISTRY, "repository": "bitnamilegacy/postgresql", "tag": "16.1.0-debian-11-r15"},
            "auth": {"enablePostgresUser": True, "existingSecret": "airflow-postgresql"},
        },
        "pgbouncer": {
            "enabled": True,
            "configSecretName": "airflow-pgbouncer-config",
            "metricsExporterSidecar": {"statsSecretName": "airflow-pgbouncer-stats"},
        },
        "executor": "CeleryKubernetesExecutor",
        "redis": {"enabled": True, "passwordSecretName": "airflow-redis-password"},
        "webserverSecretKeySecretName": "airflow-webserver-secret-key",
        "fernetKeySecretName": "airflow-fernet-key",
        "migrateDatabaseJob": {"useHelmHooks": False},
        "webserver": {"defaultUser": {"enabled": True, "username": "admin", "password": ""}},
        "createUserJob": {
            "useHelmHooks": False,
            "args": ["bash", "-c", 'exec airflow users create -u admin -p "${AIRFLOW_ADMIN_PASSWORD}"'],
            "env": [
                {
                    "name": "AIRFLOW_ADMIN_PASSWORD",
                    "valueFrom": {"secretKeyRef": {"name": "airflow-admin", "key": "password"}},
                }
            ],
        },
        "data": {"metadataSecretName": "airflow-db", "brokerUrlSecretName": "airflow-broker-url"},
    }


def _stack() -> list[PolicyResource]:
    """A small stack that satisfies every policy; tests break one thing at a time."""
    vault_id = f"{SUB}/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv"
    return [
        _res(KEY_VAULT, "vault", {"properties": {"enableRbacAuthorization": True, "enableSoftDelete": True}}),
        _res(KEY_VAULT_SECRET, "kv-secret", {"secretName": "s", "properties": {"value": Secret("generated")}}),
        _res(ROLE_ASSIGNMENT, "grant", {"scope": vault_id, "principalId": "p"}),
        _res(
            STORAGE_ACCOUNT,
            "account",
            {"enableHttpsTrafficOnly": True, "minimumTlsVersion": "TLS1_2", "allowBlobPublicAccess": False},
        ),
        _res(BLOB_CONTAINER, "container", {"publicAccess": "None"}),
        _res(
            MANAGED_CLUSTER,
            "aks",
            {
                "oidcIssuerProfile": {"enabled": True},
                "enableRBAC": True,
                "securityProfile": {"workloadIdentity": {"enabled": True}},
            },
        ),
        _res(KUBERNETES_PROVIDER, "k8s", {"kubeconfig": Secret("apiVersion: v1\nkind: Config\n")}),
        _res(SERVICE_ACCOUNT, "sa", {"metadata": {"name": "airflow", "namespace": "airflow"}}),
        _res(FEDERATED_CREDENTIAL, "fic", {"subject": "system:serviceaccount:airflow:airflow"}),
        _res(
            HELM_RELEASE,
            "eso",
            {
                "chart": "external-secrets",
                "version": "2.9.0",
                "repositoryOpts": {"repo": "https://charts.external-secrets.io"},
                "namespace": "airflow-eso",
                "values": {
                    "installCRDs": True,
                    "scopedRBAC": True,
                    "scopedNamespace": "airflow",
                    "processClusterStore": False,
                    "processClusterExternalSecret": False,
                    "processPushSecret": False,
                    "rbac": {"serviceAccountTokenCreate": False},
                    "certController": {"create": False},
                    "image": {"repository": f"{REGISTRY}/external-secrets/external-secrets", "tag": "v2.9.0"},
                },
            },
        ),
        _res(
            HELM_RELEASE,
            "airflow",
            {
                "chart": "airflow",
                "version": "1.15.0",
                "repositoryOpts": {"repo": "https://airflow.apache.org"},
                "values": _airflow_values(),
            },
        ),
    ]


def _props(resources: list[PolicyResource], name: str) -> dict[str, Any]:
    return next(r.props for r in resources if r.name == name)


def _violations(mutate: Callable[[list[PolicyResource]], Any], config: PolicyConfig = CONFIG) -> list[Violation]:
    resources = _stack()
    mutate(resources)
    return evaluate(resources, config)


def _policies(violations: list[Violation]) -> set[str]:
    return {v.policy for v in violations}


def _set(name: str, *path: str, value: Any) -> Callable[[list[PolicyResource]], None]:
    """A mutation: set props[path...] = value on the resource called `name`."""

    def mutate(resources: list[PolicyResource]) -> None:
        node = _props(resources, name)
        for key in path[:-1]:
            node = node.setdefault(key, {})
        node[path[-1]] = value

    return mutate


def _drop(name: str, *path: str) -> Callable[[list[PolicyResource]], None]:
    def mutate(resources: list[PolicyResource]) -> None:
        node = _props(resources, name)
        for key in path[:-1]:
            node = node[key]
        del node[path[-1]]

    return mutate


# the monitoring add-on's name and config keys, in Microsoft's words (facts/aks-monitoring-addon.yaml)
_OMS = {name: fact("aks-monitoring-addon", name) for name in ("addon_name", "aad_auth_config_key", "aad_auth_value")}


def _prod_aks(**changes: Any) -> PolicyResource:
    """A prod stack's cluster as networkMode=create builds it (protected, in the stack's subnet,
    Cilium), with `changes` applied (None drops a property)."""
    props: dict[str, Any] = {
        "oidcIssuerProfile": {"enabled": True},
        "enableRBAC": True,
        "securityProfile": {"workloadIdentity": {"enabled": True}},
        "networkProfile": {"networkPlugin": "azure", "networkPluginMode": "overlay", "networkPolicy": "cilium"},
        "agentPoolProfiles": [{"name": "system", "vnetSubnetID": f"{SUB}/resourceGroups/rg/providers/x/subnets/a"}],
        "azureMonitorProfile": {"metrics": {"enabled": True}},
        "addonProfiles": {
            _OMS["addon_name"]: {"enabled": True, "config": {_OMS["aad_auth_config_key"]: _OMS["aad_auth_value"]}}
        },
    }
    props.update(changes)
    props = {k: v for k, v in props.items() if v is not None}
    return PolicyResource(f"urn:pulumi:prod::airflow-aks::{MANAGED_CLUSTER}::aks", MANAGED_CLUSTER, "aks", props, True)


def _aks_in(stack: str, **changes: Any) -> PolicyResource:
    """_prod_aks's cluster, in `stack`."""
    prod = _prod_aks(**changes)
    return _in(stack, MANAGED_CLUSTER, "aks", dict(prod.props))


def _add(resource: PolicyResource) -> Callable[[list[PolicyResource]], None]:
    return lambda resources: resources.append(resource)


# ------------------------------------------------------------------------------ production stacks
# What the program builds for a production stack (PolicyConfig.isolated_stacks), one resource at
# a time: `changes` replace a property (None drops it). Each factory takes the stack's name, so
# the same resource can be shown in and outside production.
SUBNETS = f"{SUB}/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/vnet/subnets"


def _in(stack: str, typ: str, name: str, props: dict[str, Any]) -> PolicyResource:
    """A resource of `stack`, protected (as stateful-resources-protected wants it in prod)."""
    return PolicyResource(f"urn:pulumi:{stack}::airflow-aks::{typ}::{name}", typ, name, props, True)


def _changed(props: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in {**props, **changes}.items() if v is not None}


def _server(stack: str, **changes: Any) -> PolicyResource:
    props = {
        "serverName": "airflow-prod-pg",
        "version": "16",
        "highAvailability": {"mode": "ZoneRedundant"},
        "backup": {"backupRetentionDays": 7, "geoRedundantBackup": "Disabled"},
        "network": {
            "publicNetworkAccess": "Disabled",
            "delegatedSubnetResourceId": f"{SUBNETS}/postgres",
            "privateDnsZoneArmResourceId": f"{SUB}/resourceGroups/rg/providers/Microsoft.Network/privateDnsZones/pg",
        },
    }
    return _in(stack, POSTGRESQL_FLEXIBLE_SERVER, "postgres", _changed(props, changes))


def _network(**changes: Any) -> dict[str, Any]:
    network = _server("prod").props["network"]
    return _changed(network, changes)


def _parameter(stack: str, name: str = "pg-secure-transport", **changes: Any) -> PolicyResource:
    props = {"serverName": "airflow-prod-pg", "configurationName": "require_secure_transport", "value": "on"}
    return _in(stack, POSTGRESQL_CONFIGURATION, name, _changed(props, changes))


def _account(stack: str, **changes: Any) -> PolicyResource:
    props = {
        "enableHttpsTrafficOnly": True,
        "minimumTlsVersion": "TLS1_2",
        "allowBlobPublicAccess": False,
        "allowSharedKeyAccess": False,
        "publicNetworkAccess": "Disabled",
    }
    return _in(stack, STORAGE_ACCOUNT, "logs", _changed(props, changes))


def _vault(stack: str, **changes: Any) -> PolicyResource:
    """A vault; `changes` apply to its `properties` (`properties=...` replaces them)."""
    if "properties" in changes:
        return _in(stack, KEY_VAULT, "kv", {"properties": changes["properties"]})
    # "disabled": as the SDK's VaultPropertiesArgs spells its values (its default is "enabled")
    properties = {"enableRbacAuthorization": True, "enableSoftDelete": True, "publicNetworkAccess": "disabled"}
    return _in(stack, KEY_VAULT, "kv", {"properties": _changed(properties, changes)})


def _kv_secret(stack: str, name: str = "kv-fernet-key", **changes: Any) -> PolicyResource:
    props = {"secretName": "airflow-fernet-key", "properties": {"value": Secret("generated")}}
    return _in(stack, KEY_VAULT_SECRET, name, _changed(props, changes))


def _airflow(stack: str, **postgresql: Any) -> PolicyResource:
    """The Airflow release; `postgresql` replaces values.postgresql (default: not bundled)."""
    values = _airflow_values()
    values["postgresql"] = postgresql or {"enabled": False}
    props = {
        "chart": "airflow",
        "version": "1.15.0",
        "repositoryOpts": {"repo": "https://airflow.apache.org"},
        "values": values,
    }
    return _in(stack, HELM_RELEASE, "airflow-prod", props)


def _airflow_ui(stack: str, **tls: Any) -> PolicyResource:
    """The Airflow release with its UI behind an Ingress; `tls` replaces the host's tls."""
    release = _airflow(stack)
    host = {"name": "airflow.prod.internal", "tls": tls or {"enabled": True, "secretName": "keyvault-airflow-ingress"}}
    release.props["values"]["ingress"] = {"apiServer": {"enabled": True, "hosts": [host]}}
    return release


def _production(stack: str = "prod") -> list[PolicyResource]:
    """A production stack's own resources as the program is to build them: compliant."""
    return [
        _server(stack),
        _parameter(stack),
        _account(stack),
        _vault(stack),
        _kv_secret(stack),
        _airflow(stack),
        _prod_aks(),
    ]


def _extend(added: list[PolicyResource]) -> Callable[[list[PolicyResource]], None]:
    return lambda resources: resources.extend(added)


Make = Callable[[str], PolicyResource]
_BUNDLED = {"enabled": True, "auth": {"existingSecret": "airflow-postgresql"}}
# (policy, case, the violating resource of a given stack)
PRODUCTION_VIOLATIONS: list[tuple[str, str, Make]] = [
    # 11. managed database
    ("production-managed-database", "Airflow bundles PostgreSQL", lambda s: _airflow(s, **_BUNDLED)),
    (
        "production-managed-database",
        "Airflow bundles PostgreSQL by chart default",
        lambda s: _airflow(s, auth={"existingSecret": "airflow-postgresql"}),
    ),
    (
        "production-managed-database",
        "no high availability",
        lambda s: _server(s, highAvailability={"mode": "Disabled"}),
    ),
    ("production-managed-database", "high availability unset", lambda s: _server(s, highAvailability=None)),
    ("production-managed-database", "6 days of backups", lambda s: _server(s, backup={"backupRetentionDays": 6})),
    ("production-managed-database", "backup retention unset", lambda s: _server(s, backup=None)),
    (
        "production-managed-database",
        "backup retention as a string",
        lambda s: _server(s, backup={"backupRetentionDays": "35"}),
    ),
    (
        "production-managed-database",
        "public network access",
        lambda s: _server(s, network=_network(publicNetworkAccess="Enabled")),
    ),
    (
        "production-managed-database",
        "public network access unset",
        lambda s: _server(s, network=_network(publicNetworkAccess=None)),
    ),
    (
        "production-managed-database",
        "no delegated subnet",
        lambda s: _server(s, network=_network(delegatedSubnetResourceId=None)),
    ),
    (
        "production-managed-database",
        "empty delegated subnet",
        lambda s: _server(s, network=_network(delegatedSubnetResourceId="")),
    ),
    ("production-managed-database", "no network settings", lambda s: _server(s, network=None)),
    ("production-managed-database", "TLS not required", lambda s: _parameter(s, value="off")),
    ("production-managed-database", "TLS not required, OFF", lambda s: _parameter(s, value="OFF")),
    ("production-managed-database", "TLS not required, 0", lambda s: _parameter(s, value="0")),
    (
        "production-managed-database",
        "TLS not required, parameter named by the logical name",
        lambda s: _parameter(s, "require_secure_transport", configurationName=None, value="false"),
    ),
    # 12. no shared key
    ("production-no-shared-key", "shared key allowed", lambda s: _account(s, allowSharedKeyAccess=True)),
    ("production-no-shared-key", "shared key by default", lambda s: _account(s, allowSharedKeyAccess=None)),
    (
        "production-no-shared-key",
        "the article's account key secret",
        lambda s: _kv_secret(s, secretName="AKS-AIRFLOW-LOGS-STORAGE-ACCOUNT-KEY"),
    ),
    (
        "production-no-shared-key",
        "account key secret named by its logical name",
        lambda s: _kv_secret(s, "logs-kv-account-key", secretName=None),
    ),
    ("production-no-shared-key", "accountKey in camelCase", lambda s: _kv_secret(s, secretName="logsAccountKey")),
    # 14. observed, TLS
    ("production-observed", "no managed Prometheus", lambda s: _aks_in(s, azureMonitorProfile=None)),
    (
        "production-observed",
        "managed Prometheus off",
        lambda s: _aks_in(s, azureMonitorProfile={"metrics": {"enabled": False}}),
    ),
    ("production-observed", "no Container Insights", lambda s: _aks_in(s, addonProfiles=None)),
    (
        "production-observed",
        "Container Insights off",
        lambda s: _aks_in(s, addonProfiles={_OMS["addon_name"]: {"enabled": False}}),
    ),
    (
        "production-observed",
        "Container Insights with the workspace key",
        lambda s: _aks_in(
            s, addonProfiles={_OMS["addon_name"]: {"enabled": True, "config": {_OMS["aad_auth_config_key"]: "false"}}}
        ),
    ),
    ("production-observed", "UI ingress without TLS", lambda s: _airflow_ui(s, enabled=False)),
    ("production-observed", "UI ingress TLS without a Secret", lambda s: _airflow_ui(s, enabled=True)),
    # 13. private PaaS
    ("production-private-paas", "vault public (the SDK's default)", lambda s: _vault(s, publicNetworkAccess="enabled")),
    ("production-private-paas", "vault public by default", lambda s: _vault(s, publicNetworkAccess=None)),
    ("production-private-paas", "storage public", lambda s: _account(s, publicNetworkAccess="Enabled")),
    ("production-private-paas", "storage public by default", lambda s: _account(s, publicNetworkAccess=None)),
    (
        "production-private-paas",
        "storage left to a network security perimeter",
        lambda s: _account(s, publicNetworkAccess="SecuredByPerimeter"),
    ),
]

PRODUCTION_COMPLIANT: list[tuple[str, str, Callable[[list[PolicyResource]], Any]]] = [
    ("production-managed-database", "a production stack as planned", _extend(_production())),
    (
        "production-managed-database",
        "same-zone standby, 35 days as the engine sends numbers, enum case",
        _add(_server("prod", highAvailability={"mode": "SameZone"}, backup={"backupRetentionDays": 35.0})),
    ),
    (
        "production-managed-database",
        "other parameters may be off, secure transport ON",
        _extend(
            [
                _parameter("prod", "pg-log-connections", configurationName="log_connections", value="off"),
                _parameter("prod", value="ON"),
            ]
        ),
    ),
    ("production-no-shared-key", "fernet key and storage account name in the vault", _extend(_production())),
    (
        "production-no-shared-key",
        "the account's name is no key",
        _add(_kv_secret("prod", "kv-account-name", secretName="AKS-AIRFLOW-LOGS-STORAGE-ACCOUNT-NAME")),
    ),
    ("production-private-paas", "vault and storage private", _extend(_production())),
    ("production-observed", "metrics, container logs with Entra ID", _extend(_production())),
    ("production-observed", "the UI over TLS", _add(_airflow_ui("prod"))),
    (
        "production-observed",
        "add-ons not known yet",
        _add(_aks_in("prod", azureMonitorProfile=Unknown(), addonProfiles=Unknown())),
    ),
    ("production-observed", "the UI's TLS not known yet", _add(_airflow_ui("prod", enabled=Unknown()))),
    (
        "production-private-paas",
        "vault private, as the portal spells it",
        _add(_vault("prod", publicNetworkAccess="Disabled")),
    ),
    # a preview: values not known yet are judged on `up`
    (
        "production-managed-database",
        "bundling not known yet",
        _add(_airflow("prod", enabled=Unknown(), auth={"existingSecret": "airflow-postgresql"})),
    ),
    (
        "production-managed-database",
        "HA mode not known yet",
        _add(_server("prod", highAvailability={"mode": Unknown()})),
    ),
    ("production-managed-database", "HA settings not known yet", _add(_server("prod", highAvailability=Unknown()))),
    (
        "production-managed-database",
        "retention not known yet",
        _add(_server("prod", backup={"backupRetentionDays": Unknown()})),
    ),
    ("production-managed-database", "network not known yet", _add(_server("prod", network=Unknown()))),
    (
        "production-managed-database",
        "subnet and access not known yet",
        _add(_server("prod", network=_network(publicNetworkAccess=Unknown(), delegatedSubnetResourceId=Unknown()))),
    ),
    ("production-managed-database", "parameter value not known yet", _add(_parameter("prod", value=Unknown()))),
    (
        "production-managed-database",
        "parameter name not known yet",
        _add(_parameter("prod", configurationName=Unknown(), value="off")),
    ),
    ("production-no-shared-key", "shared key not known yet", _add(_account("prod", allowSharedKeyAccess=Unknown()))),
    (
        "production-no-shared-key",
        "secret name not known yet",
        _add(_kv_secret("prod", "kv-account-key", secretName=Unknown())),
    ),
    ("production-private-paas", "vault access not known yet", _add(_vault("prod", publicNetworkAccess=Unknown()))),
    ("production-private-paas", "vault properties not known yet", _add(_vault("prod", properties=Unknown()))),
    ("production-private-paas", "storage access not known yet", _add(_account("prod", publicNetworkAccess=Unknown()))),
]


# ------------------------------------------------------------------------------ the pack itself
def test_policies_are_named_uniquely_with_one_line_rationales() -> None:
    assert len(POLICY_NAMES) == len(POLICIES) == 14
    for policy in POLICIES:
        assert policy.rationale.strip(), policy.name
        assert "\n" not in policy.rationale, policy.name
        assert policy.mandatory
        assert policy.resource_check or policy.stack_check, policy.name


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    return {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module} | {
        a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names
    }


def test_rules_module_is_free_of_pulumi_policy() -> None:
    import policy
    import policy.kube
    import policy.rules

    assert "pulumi_policy" not in sys.modules
    assert "policy.__main__" not in sys.modules
    for module in (policy, policy.rules, policy.kube):
        imported = _imports(Path(str(module.__file__)))
        assert not {m for m in imported if m.split(".")[0] in {"pulumi_policy", "pulumi", "synth"}}


def test_rules_and_kube_need_only_the_standard_library() -> None:
    """Nothing of the product (components, settings, config, plan) nor any package: the pack runs
    standalone, from its own venv that holds pulumi-policy only."""
    siblings = {"policy", "policy.kube", "kube"}
    for name in ("rules.py", "kube.py"):
        foreign = {m for m in _imports(POLICY_DIR / name) if m not in siblings}
        assert {m for m in foreign if m.split(".")[0] not in sys.stdlib_module_names} == set(), name


def test_rules_import_kube_as_a_sibling_in_script_mode() -> None:
    """The Pulumi CLI runs policy/__main__.py as a script, with only policy/ on sys.path: there
    rules imports kube as a top-level module. -S -E: no site-packages, no PYTHONPATH."""
    code = (
        "import sys, rules, kube\n"
        "assert 'policy' not in sys.modules and 'policy.kube' not in sys.modules\n"
        "assert rules.images is kube.images and rules.subject_of is kube.service_account_subject\n"
        "print(rules.service_account_subject(rules.PolicyResource('u', rules.SERVICE_ACCOUNT, 'sa', "
        "{'metadata': {'name': 'default', 'namespace': 'kube-system'}})))\n"
    )
    run = subprocess.run(  # noqa: S603 - this interpreter, a fixed script
        [sys.executable, "-S", "-E", "-c", code], cwd=POLICY_DIR, capture_output=True, text=True, check=False
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout == "system:serviceaccount:kube-system:default\n"


def test_pack_entry_point_wraps_every_policy_from_rules() -> None:
    """Read (not import) __main__.py: it builds its CrossGuard policies from rules.POLICIES."""
    source = (POLICY_DIR / "__main__.py").read_text()
    assert 'PACK_NAME = "airflow-aks-guardrails"' in source
    assert "for policy in rules.POLICIES" in source
    assert "EnforcementLevel.MANDATORY" in source
    assert "secret_markers=False" in source


def test_is_secret_recognises_wrapped_values_only() -> None:
    class Secret:  # the shape of pulumi_policy.Secret
        def __init__(self, value: Any) -> None:
            self.value = value

    assert is_secret(Secret("x"))
    assert is_secret(sys.modules[__name__].Secret("x"))  # synth.mocks.Secret
    assert not is_secret("x")
    assert not is_secret({"value": "x"})


def test_compliant_stack_has_no_violation() -> None:
    outputs = {
        "kubeconfig": ("apiVersion: v1", True),
        "keyVaultName": ("kv", False),
        "adminCredentialsSecret": ({"name": "airflow-admin", "passwordKey": "password"}, False),
    }
    assert evaluate(_stack(), CONFIG, outputs) == []


def test_stack_urn_is_derived_from_resource_urns() -> None:
    assert stack_urn(_stack()) == "urn:pulumi:dev::airflow-aks::pulumi:pulumi:Stack::airflow-aks-dev"
    assert stack_urn([]) == ""


# ------------------------------------------------------------------------------ one violation per case
_OTHER_SECRET = _res(KUBERNETES_SECRET, "plain-secret", {"stringData": {"password": "hunter2"}})

VIOLATIONS: list[tuple[str, str, Callable[[list[PolicyResource]], Any]]] = [
    # 1. credentials
    ("no-unmarked-credentials", "kv secret value unmarked", _set("kv-secret", "properties", "value", value="plain")),
    ("no-unmarked-credentials", "kubeconfig unmarked", _set("k8s", "kubeconfig", value="apiVersion: v1")),
    ("no-unmarked-credentials", "kubernetes Secret data unmarked", _add(_OTHER_SECRET)),
    (
        "no-unmarked-credentials",
        "postgres password in values",
        _set("airflow", "values", "postgresql", "auth", "postgresPassword", value="postgres"),
    ),
    (
        "no-unmarked-credentials",
        "fernet key in values even marked secret",
        _set("airflow", "values", "fernetKey", value=Secret("a2V5")),
    ),
    (
        "no-unmarked-credentials",
        "webserver secret key in values",
        _set("airflow", "values", "webserverSecretKey", value="abc"),
    ),
    (
        "no-unmarked-credentials",
        "api secret key in list item",
        _set("eso", "values", "extra", value=[{"apiSecretKey": "abc"}]),
    ),
    # 2. Key Vault
    ("key-vault-least-privilege", "soft delete off", _set("vault", "properties", "enableSoftDelete", value=False)),
    (
        "key-vault-least-privilege",
        "access policy writes secrets",
        _set(
            "vault",
            "properties",
            value={"enableRbacAuthorization": False, "accessPolicies": [{"permissions": {"secrets": ["get", "set"]}}]},
        ),
    ),
    (
        "key-vault-least-privilege",
        "access policy grants keys",
        _set("vault", "properties", value={"accessPolicies": [{"permissions": {"secrets": ["get"], "keys": ["get"]}}]}),
    ),
    ("key-vault-least-privilege", "role at resource group", _set("grant", "scope", value=f"{SUB}/resourceGroups/rg")),
    ("key-vault-least-privilege", "role at subscription", _set("grant", "scope", value=SUB)),
    (
        "key-vault-least-privilege",
        "role at management group",
        _set("grant", "scope", value="/providers/Microsoft.Management/managementGroups/root"),
    ),
    # 4b. AKS: Kubernetes RBAC (the cases for OIDC and workload identity are below)
    ("aks-workload-identity", "kubernetes RBAC off", _set("aks", "enableRBAC", value=False)),
    ("aks-workload-identity", "kubernetes RBAC unset", _drop("aks", "enableRBAC")),
    # 9. protected state: a prod stack's stateful resource without `protect`
    (
        "stateful-resources-protected",
        "prod vault unprotected",
        _add(
            PolicyResource(
                f"urn:pulumi:prod::airflow-aks::{KEY_VAULT}::vault",
                KEY_VAULT,
                "vault",
                {"properties": {"enableRbacAuthorization": True, "publicNetworkAccess": "disabled"}},
            )
        ),
    ),
    (
        "stateful-resources-protected",
        "prod claim unprotected",
        _add(
            PolicyResource(
                "urn:pulumi:prod::airflow-aks::kubernetes:core/v1:PersistentVolumeClaim::logs-pvc",
                "kubernetes:core/v1:PersistentVolumeClaim",
                "logs-pvc",
                {},
            )
        ),
    ),
    # 8. secrets operator
    ("secrets-operator-scoped", "cluster-wide RBAC (chart default)", _drop("eso", "values", "scopedRBAC")),
    ("secrets-operator-scoped", "scoped RBAC off", _set("eso", "values", "scopedRBAC", value=False)),
    ("secrets-operator-scoped", "cluster stores processed", _set("eso", "values", "processClusterStore", value=True)),
    (
        "secrets-operator-scoped",
        "cluster external secrets processed",
        _drop("eso", "values", "processClusterExternalSecret"),
    ),
    ("secrets-operator-scoped", "cert controller installed", _drop("eso", "values", "certController")),
    ("secrets-operator-scoped", "no namespace", _drop("eso", "values", "scopedNamespace")),
    ("secrets-operator-scoped", "push secrets processed", _drop("eso", "values", "processPushSecret")),
    ("secrets-operator-scoped", "may mint any token", _set("eso", "values", "rbac", value={})),
    ("secrets-operator-scoped", "runs in the namespace it serves", _set("eso", "namespace", value="airflow")),
    # 3. storage
    ("storage-private-and-tls", "http allowed", _set("account", "enableHttpsTrafficOnly", value=False)),
    ("storage-private-and-tls", "https unset", _drop("account", "enableHttpsTrafficOnly")),
    ("storage-private-and-tls", "TLS 1.0", _set("account", "minimumTlsVersion", value="TLS1_0")),
    ("storage-private-and-tls", "public blobs", _set("account", "allowBlobPublicAccess", value=True)),
    ("storage-private-and-tls", "public blobs unset", _drop("account", "allowBlobPublicAccess")),
    ("storage-private-and-tls", "public container", _set("container", "publicAccess", value="Blob")),
    # 4. AKS
    ("aks-workload-identity", "no OIDC issuer", _set("aks", "oidcIssuerProfile", "enabled", value=False)),
    ("aks-workload-identity", "no workload identity", _drop("aks", "securityProfile")),
    ("aks-workload-identity", "Entra ID with local accounts", _set("aks", "aadProfile", value={"managed": True})),
    # 5. Helm sources
    ("helm-pinned-sources", "caret range", _set("airflow", "version", value="^1.15.0")),
    ("helm-pinned-sources", "x range", _set("eso", "version", value="2.x")),
    ("helm-pinned-sources", "no version", _set("eso", "version", value="")),
    ("helm-pinned-sources", "other exact version", _set("airflow", "version", value="1.16.0")),
    ("helm-pinned-sources", "other repository", _set("eso", "repositoryOpts", "repo", value="https://evil.example")),
    ("helm-pinned-sources", "unapproved chart", _set("eso", "chart", value="ingress-nginx")),
    (
        "helm-pinned-sources",
        "image from docker hub",
        _set("airflow", "values", "images", "statsd", value={"repository": "quay.io/prometheus/statsd", "tag": "v1"}),
    ),
    (
        "helm-pinned-sources",
        "image registry key elsewhere",
        _set("airflow", "values", "postgresql", "image", "registry", value="docker.io"),
    ),
    (
        "helm-pinned-sources",
        "registry prefix lookalike",
        _set("eso", "values", "image", "repository", value=f"{REGISTRY}.evil.io/eso"),
    ),
    ("helm-pinned-sources", "latest tag", _set("eso", "values", "image", "tag", value="latest")),
    ("helm-pinned-sources", "missing tag", _drop("airflow", "values", "images", "gitSync", "tag")),
    (
        "helm-pinned-sources",
        "default repository elsewhere",
        _set("airflow", "values", "defaultAirflowRepository", value="apache/airflow"),
    ),
    # 6. federated credential
    (
        "federated-subject-matches-service-account",
        "other account",
        _set("fic", "subject", value="system:serviceaccount:airflow:other"),
    ),
    (
        "federated-subject-matches-service-account",
        "other namespace",
        _set("sa", "metadata", "namespace", value="default"),
    ),
    # 7. Airflow
    (
        "airflow-hardened-release",
        "admin password",
        _set("airflow", "values", "webserver", "defaultUser", "password", value="admin"),
    ),
    ("airflow-hardened-release", "chart's create-user args", _drop("airflow", "values", "createUserJob", "args")),
    (
        "airflow-hardened-release",
        "args template the password",
        _set(
            "airflow",
            "values",
            "createUserJob",
            "args",
            value=["bash", "-c", "airflow users create -p {{ .Values.webserver.defaultUser.password }}"],
        ),
    ),
    ("airflow-hardened-release", "no static secret key", _drop("airflow", "values", "webserverSecretKeySecretName")),
    (
        "airflow-hardened-release",
        "empty static secret key",
        _set("airflow", "values", "webserverSecretKeySecretName", value=""),
    ),
    ("airflow-hardened-release", "migration hook on", _set("airflow", "values", "migrateDatabaseJob", value={})),
    (
        "airflow-hardened-release",
        "create-user hook on",
        _set("airflow", "values", "createUserJob", "useHelmHooks", value=True),
    ),
    (
        "airflow-hardened-release",
        "metadata connection from values",
        _drop("airflow", "values", "data", "metadataSecretName"),
    ),
    (
        "airflow-hardened-release",
        "Celery by chart default, broker from a hook",
        lambda rs: (
            _drop("airflow", "values", "executor")(rs),
            _drop("airflow", "values", "data", "brokerUrlSecretName")(rs),
        ),
    ),
    (
        "airflow-hardened-release",
        "bundled PostgreSQL keeps postgres/postgres",
        _drop("airflow", "values", "postgresql", "auth"),
    ),
    (
        "airflow-hardened-release",
        "bundled PostgreSQL by chart default",
        _set("airflow", "values", "postgresql", value={"image": {"registry": REGISTRY}}),
    ),
    (
        "airflow-hardened-release",
        "pgbouncer users from values",
        _drop("airflow", "values", "pgbouncer", "configSecretName"),
    ),
    (
        "airflow-hardened-release",
        "pgbouncer stats from values",
        _set("airflow", "values", "pgbouncer", "metricsExporterSidecar", value={}),
    ),
    (
        "airflow-hardened-release",
        "broker URL from a hook",
        _set("airflow", "values", "data", value={"metadataSecretName": "airflow-db"}),
    ),
    (
        "airflow-hardened-release",
        "redis password from a hook",
        _drop("airflow", "values", "redis", "passwordSecretName"),
    ),
    (
        "airflow-hardened-release",
        "Airflow 3 without a JWT secret",
        lambda rs: (
            _set("airflow", "values", "airflowVersion", value="3.1.7")(rs),
            _set("airflow", "values", "apiSecretKeySecretName", value="airflow-api-secret-key")(rs),
        ),
    ),
    (
        "airflow-hardened-release",
        "Airflow 3 with only the webserver key",
        lambda rs: (
            _set("airflow", "values", "airflowVersion", value="3.1.7")(rs),
            _set("airflow", "values", "jwtSecretName", value="airflow-jwt-secret")(rs),
        ),
    ),
    (
        "airflow-hardened-release",
        "CeleryKubernetesExecutor on Airflow 3",
        lambda rs: (
            _set("airflow", "values", "airflowVersion", value="3.1.7")(rs),
            _set("airflow", "values", "apiSecretKeySecretName", value="airflow-api-secret-key")(rs),
            _set("airflow", "values", "jwtSecretName", value="airflow-jwt-secret")(rs),
        ),
    ),
    (
        "airflow-hardened-release",
        "createUserJob.defaultUser password admin",
        _set("airflow", "values", "createUserJob", "defaultUser", value={"password": "admin"}),
    ),
    (
        "airflow-hardened-release",
        "args template createUserJob.defaultUser.password",
        lambda rs: (
            _drop("airflow", "values", "webserver")(rs),
            _set(
                "airflow",
                "values",
                "createUserJob",
                "args",
                value=["bash", "-c", "airflow users create -p {{ .Values.createUserJob.defaultUser.password }}"],
            )(rs),
        ),
    ),
    # 10. network isolation: a prod cluster outside the stack's network, or without an engine
    (
        "production-network-isolation",
        "prod cluster without a policy engine",
        _add(_prod_aks(networkProfile={"networkPlugin": "azure", "networkPolicy": "none"})),
    ),
    (
        "production-network-isolation",
        "prod cluster with no network profile",
        _add(_prod_aks(networkProfile=None)),
    ),
    (
        "production-network-isolation",
        "prod cluster in AKS's own VNet",
        _add(_prod_aks(agentPoolProfiles=[{"name": "system", "mode": "System"}])),
    ),
    # 11-13. production: each violating resource in the prod stack
    *[(policy, case, _add(make("prod"))) for policy, case, make in PRODUCTION_VIOLATIONS],
]


# A default admin password in values is also credential material.
ALSO_REPORTED = {
    "admin password": {"no-unmarked-credentials"},
    "createUserJob.defaultUser password admin": {"no-unmarked-credentials"},
}


def test_every_policy_has_violation_cases() -> None:
    assert {policy for policy, _, _ in VIOLATIONS} == POLICY_NAMES


@pytest.mark.parametrize(("policy", "case", "mutate"), VIOLATIONS, ids=[c for _, c, _ in VIOLATIONS])
def test_violation_is_reported_by_its_policy(
    policy: str, case: str, mutate: Callable[[list[PolicyResource]], Any]
) -> None:
    violations = _violations(mutate)
    assert _policies(violations) == {policy, *ALSO_REPORTED.get(case, ())}, [v.message for v in violations]
    assert all(
        v.mandatory and v.urn.startswith(("urn:pulumi:dev::airflow-aks::", "urn:pulumi:prod::airflow-aks::"))
        for v in violations
    )


def _sdk_permission_kinds() -> dict[str, type]:
    """Every permission kind an access policy entry can grant, with its enum, from the
    azure-native SDK's PermissionsArgs (the final word on the API's shape)."""
    import inspect

    from pulumi_azure_native import keyvault

    params = inspect.signature(keyvault.PermissionsArgs.__init__).parameters.values()
    kinds: dict[str, type] = {}
    for param in params:
        if not param.name.startswith("_"):  # the SDK types each list by its enum, by name
            (enum_name,) = set(re.findall(r"ForwardRef\('(\w+Permissions)'\)", str(param.annotation)))
            kinds[param.name] = getattr(keyvault, enum_name)
    return kinds


def _airflow2_only_executors() -> list[str]:
    """What chart 1.19.0's own values.yaml says Airflow 3 no longer runs."""
    from synth.reference import find

    text = find("airflow-chart/1.19.0/values.yaml").read_text(encoding="utf-8")
    (names,) = re.findall(r"# For Airflow <3\.0, (.+) are also supported\.", text)
    return sorted(re.findall(r"\w+Executor", names))


def test_the_chart_names_the_executors_airflow_3_dropped() -> None:
    assert _airflow2_only_executors() == ["CeleryKubernetesExecutor", "LocalKubernetesExecutor"]


@pytest.mark.parametrize("executor", _airflow2_only_executors())
def test_an_executor_airflow_3_dropped_is_flagged_on_airflow_3(executor: str) -> None:
    violations = _violations(
        lambda rs: (
            _set("airflow", "values", "airflowVersion", value="3.1.7")(rs),
            _set("airflow", "values", "apiSecretKeySecretName", value="airflow-api-secret-key")(rs),
            _set("airflow", "values", "jwtSecretName", value="airflow-jwt-secret")(rs),
            _set("airflow", "values", "executor", value=executor)(rs),
        )
    )
    assert [v.policy for v in violations] == ["airflow-hardened-release"]
    assert executor in violations[0].message


def test_a_foreign_subject_is_named_with_every_account_of_the_stack() -> None:
    second = _res(SERVICE_ACCOUNT, "sa2", {"metadata": {"name": "kv-reader", "namespace": "data"}})
    violations = _violations(
        lambda rs: (rs.append(second), _set("fic", "subject", value="system:serviceaccount:airflow:other")(rs))
    )
    (message,) = [v.message for v in violations]
    assert message.endswith(
        "(ServiceAccounts: system:serviceaccount:airflow:airflow, system:serviceaccount:data:kv-reader)"
    )


def test_the_policy_engines_are_the_sdks_network_policies_except_none() -> None:
    from pulumi_azure_native import containerservice

    from policy.rules import NETWORK_POLICY_ENGINES

    assert {p.value for p in containerservice.NetworkPolicy} - {"none"} == NETWORK_POLICY_ENGINES


def test_network_isolation_applies_to_the_configured_stacks_only() -> None:
    dev_cluster = next(r for r in _stack() if r.type == MANAGED_CLUSTER)
    assert dev_cluster.props.get("networkProfile") is None  # the dev stack's cluster: AKS's own network
    assert check_network_isolation(dev_cluster, CONFIG) == []
    staging = PolicyConfig(registry=REGISTRY, isolated_stacks=("prod", "dev"))
    (message,) = check_network_isolation(dev_cluster, staging)
    assert message.startswith("AKS cluster aks: no network policy engine")


def test_the_sdk_knows_the_permission_kinds_the_tests_cover() -> None:
    assert set(_sdk_permission_kinds()) == {"keys", "secrets", "certificates", "storage"}


@pytest.mark.parametrize("kind", sorted(set(_sdk_permission_kinds()) - {"secrets"}))
def test_every_access_policy_permission_beyond_secrets_is_flagged(kind: str) -> None:
    """Each non-secret permission kind of the SDK, each of its values: the vault needs none."""
    enum = _sdk_permission_kinds()[kind]
    for perm in enum:
        entry = {"permissions": {"secrets": ["get"], kind: [perm.value]}}
        violations = _violations(_set("vault", "properties", value={"accessPolicies": [entry]}))
        assert [v.message for v in violations] == [
            f"Key Vault vault: accessPolicies[0] grants {kind} permissions (secrets get/list only)"
        ], perm


# ------------------------------------------------------------------------------ compliant variants
COMPLIANT: list[tuple[str, str, Callable[[list[PolicyResource]], Any]]] = [
    (
        "no-unmarked-credentials",
        "whole properties marked",
        _set("kv-secret", "properties", value=Secret({"value": "generated"})),
    ),
    (
        "no-unmarked-credentials",
        "names and references of secrets",
        _set(
            "airflow",
            "values",
            "extra",
            value={
                "adminPasswordKey": "postgres-password",
                "existingSecret": "db",
                "secretKeyRef": {"name": "x", "key": "y"},
                "passwordSecretName": "pw",
                "token": "",
                "automountServiceAccountToken": True,
            },
        ),
    ),
    ("no-unmarked-credentials", "ambient kubeconfig", _set("k8s", "kubeconfig", value="")),
    (
        "key-vault-least-privilege",
        "access policy get/list secrets",
        _set(
            "vault",
            "properties",
            value={
                "enableRbacAuthorization": False,
                "enableSoftDelete": True,
                "accessPolicies": [{"permissions": {"secrets": ["Get", "list"]}}],
            },
        ),
    ),
    (
        "key-vault-least-privilege",
        "role on a registry",
        _set(
            "grant", "scope", value=f"{SUB}/resourceGroups/shared/providers/Microsoft.ContainerRegistry/registries/acr"
        ),
    ),
    (
        "storage-private-and-tls",
        "TLS 1.3 and no container access setting",
        lambda rs: (_set("account", "minimumTlsVersion", value="TLS1_3")(rs), _drop("container", "publicAccess")(rs)),
    ),
    (
        "aks-workload-identity",
        "Entra ID without local accounts",
        lambda rs: (
            _set("aks", "aadProfile", value={"managed": True})(rs),
            _set("aks", "disableLocalAccounts", value=True)(rs),
        ),
    ),
    (
        "helm-pinned-sources",
        "image pinned by digest, repo URL with slash",
        lambda rs: (
            _set("eso", "values", "image", value={"repository": f"{REGISTRY}/eso@sha256:{'0' * 64}"})(rs),
            _set("eso", "repositoryOpts", "repo", value="https://charts.external-secrets.io/")(rs),
        ),
    ),
    ("helm-pinned-sources", "chart pins from config", _set("eso", "version", value="2.10.0")),
    (
        "federated-subject-matches-service-account",
        "second identity for a second account",
        lambda rs: (
            _add(_res(SERVICE_ACCOUNT, "sa2", {"metadata": {"name": "worker"}}))(rs),
            _add(_res(FEDERATED_CREDENTIAL, "fic2", {"subject": "system:serviceaccount:default:worker"}))(rs),
        ),
    ),
    (
        "airflow-hardened-release",
        "Airflow 3 API secret key, no default user",
        lambda rs: (
            _drop("airflow", "values", "webserverSecretKeySecretName")(rs),
            _set("airflow", "values", "apiSecretKeySecretName", value="airflow-api-secret-key")(rs),
            _set("airflow", "values", "webserver", "defaultUser", value={"enabled": False})(rs),
            _drop("airflow", "values", "createUserJob", "args")(rs),
        ),
    ),
    (
        "airflow-hardened-release",
        "external database, no PgBouncer, KubernetesExecutor",
        lambda rs: (
            _set("airflow", "values", "postgresql", value={"enabled": False})(rs),
            _set("airflow", "values", "pgbouncer", value={"enabled": False})(rs),
            _set("airflow", "values", "executor", value="KubernetesExecutor")(rs),
            _set("airflow", "values", "data", value={"metadataSecretName": "my-external-db"})(rs),
        ),
    ),
    (
        "airflow-hardened-release",
        "Airflow 3 as chart 1.19 gets it",
        lambda rs: (
            _drop("airflow", "values", "webserverSecretKeySecretName")(rs),
            _drop("airflow", "values", "webserver")(rs),
            _set("airflow", "values", "airflowVersion", value="3.1.7")(rs),
            _set("airflow", "values", "apiSecretKeySecretName", value="airflow-api-secret-key")(rs),
            _set("airflow", "values", "jwtSecretName", value="airflow-jwt-secret")(rs),
            _set("airflow", "values", "createUserJob", "defaultUser", value={"enabled": True, "password": ""})(rs),
            _set("airflow", "values", "executor", value="CeleryExecutor,KubernetesExecutor")(rs),
        ),
    ),
    (
        "airflow-hardened-release",
        "external broker, no bundled Redis",
        _set("airflow", "values", "redis", value={"enabled": False}),
    ),
    (
        "stateful-resources-protected",
        "prod vault protected, prod secret (not stateful) unprotected",
        lambda rs: (
            _add(
                PolicyResource(
                    f"urn:pulumi:prod::airflow-aks::{KEY_VAULT}::vault",
                    KEY_VAULT,
                    "vault",
                    {"properties": {"enableRbacAuthorization": True, "publicNetworkAccess": "disabled"}},
                    protect=True,
                )
            )(rs),
            _add(
                PolicyResource(
                    f"urn:pulumi:prod::airflow-aks::{KEY_VAULT_SECRET}::s",
                    KEY_VAULT_SECRET,
                    "s",
                    {"secretName": "s", "properties": {"value": Secret("x")}},
                )
            )(rs),
        ),
    ),
    (
        "secrets-operator-scoped",
        "webhook off as well, another namespace",
        lambda rs: (
            _set("eso", "values", "webhook", value={"create": False})(rs),
            _set("eso", "values", "scopedNamespace", value="data")(rs),
        ),
    ),
    ("production-network-isolation", "prod cluster in its subnet with Cilium", _add(_prod_aks())),
    # a preview: values a resource computes are not known yet, and are judged on `up`
    (
        "no-unmarked-credentials",
        "secret value not known yet",
        _set("kv-secret", "properties", "value", value=Unknown()),
    ),
    (
        "federated-subject-matches-service-account",
        "subject not known yet",
        _set("fic", "subject", value=Unknown()),
    ),
    (
        "production-network-isolation",
        "prod cluster with Calico, engine name in capitals",
        _add(_prod_aks(networkProfile={"networkPolicy": "Calico"})),
    ),
    *PRODUCTION_COMPLIANT,
]
_CHARTS = {
    "airflow": ("https://airflow.apache.org", "1.15.0"),
    "external-secrets": ("https://charts.external-secrets.io", "2.10.0"),
}


def test_every_policy_has_compliant_cases() -> None:
    assert {policy for policy, _, _ in COMPLIANT} == POLICY_NAMES


@pytest.mark.parametrize(("case", "mutate"), [(c, m) for _, c, m in COMPLIANT], ids=[c for _, c, _ in COMPLIANT])
def test_compliant_variant_passes(case: str, mutate: Callable[[list[PolicyResource]], Any]) -> None:
    config = PolicyConfig(registry=REGISTRY, charts=_CHARTS) if case == "chart pins from config" else CONFIG
    assert _violations(mutate, config) == []


def test_chart_pins_default_to_the_supported_versions() -> None:
    from components.secrets_operator import ESO_CHART_REPO
    from profiles import SUPPORTED_CHART_VERSIONS

    assert CONFIG.charts["airflow"] == ("https://airflow.apache.org", SUPPORTED_CHART_VERSIONS)
    assert CONFIG.charts["external-secrets"][0] == ESO_CHART_REPO
    assert _violations(_set("airflow", "version", value="1.19.0")) == []
    assert _policies(_violations(_set("airflow", "version", value="1.18.0"))) == {"helm-pinned-sources"}
    assert CONFIG.charts["external-secrets"] == ("https://charts.external-secrets.io", "2.9.0")
    assert _policies(_violations(_set("eso", "version", value="2.10.0"))) == {"helm-pinned-sources"}


def test_empty_registry_fails_closed() -> None:
    violations = _violations(lambda _: None, PolicyConfig(registry=""))
    assert _policies(violations) == {"helm-pinned-sources"}
    assert len(violations) == 5  # every image of both releases


def test_airflow_checks_skip_other_charts() -> None:
    def eso_like_airflow(resources: list[PolicyResource]) -> None:
        _props(resources, "eso")["values"]["webserver"] = {"defaultUser": {"password": "admin"}}

    assert "airflow-hardened-release" not in _policies(_violations(eso_like_airflow))


def test_marker_checks_are_skipped_without_markers_but_content_checks_stay() -> None:
    """CrossGuard hands plaintext: marker checks cannot run there, Helm-value checks still do."""
    config = PolicyConfig(registry=REGISTRY, secret_markers=False)

    def unmarked(resources: list[PolicyResource]) -> None:
        _props(resources, "kv-secret")["properties"]["value"] = "plain"
        _props(resources, "k8s")["kubeconfig"] = "apiVersion: v1"

    assert _violations(unmarked, config) == []
    leaked = _violations(_set("airflow", "values", "fernetKey", value="a2V5"), config)
    assert _policies(leaked) == {"no-unmarked-credentials"}


@pytest.mark.parametrize(
    ("outputs", "flagged"),
    [
        ({"kubeconfig": ("apiVersion: v1", False)}, True),
        ({"logsStorageAccountKey": ("c2VjcmV0", False)}, True),
        ({"adminPassword": ("hunter2", False)}, True),
        ({"db": ({"host": "h", "password": "hunter2"}, False)}, True),
        ({"kubeconfig": ("apiVersion: v1", True)}, False),
        ({"keyVaultName": ("kv", False), "keyVaultUri": ("https://kv.vault.azure.net/", False)}, False),
        ({"adminCredentialsSecret": ({"name": "airflow-admin", "passwordKey": "password"}, False)}, False),
    ],
)
def test_stack_outputs_with_credentials_must_be_secret(outputs: dict[str, tuple[Any, bool]], flagged: bool) -> None:
    violations = evaluate(_stack(), CONFIG, outputs)
    assert _policies(violations) == ({"no-unmarked-credentials"} if flagged else set())
    assert all(v.urn == "urn:pulumi:dev::airflow-aks::pulumi:pulumi:Stack::airflow-aks-dev" for v in violations)


# ------------------------------------------------------------------------------ production rules
PRODUCTION_POLICIES = {
    "production-managed-database",
    "production-no-shared-key",
    "production-private-paas",
    "production-observed",
}


def test_a_production_stack_as_planned_passes_every_policy() -> None:
    resources = _production()
    assert {r.type for r in resources} >= {
        POSTGRESQL_FLEXIBLE_SERVER,
        POSTGRESQL_CONFIGURATION,
        STORAGE_ACCOUNT,
        KEY_VAULT,
        KEY_VAULT_SECRET,
        HELM_RELEASE,
    }
    assert evaluate(resources, CONFIG) == []


@pytest.mark.parametrize(
    ("policy", "make"), [(p, m) for p, _, m in PRODUCTION_VIOLATIONS], ids=[c for _, c, _ in PRODUCTION_VIOLATIONS]
)
def test_production_rules_judge_the_configured_stacks_only(policy: str, make: Make) -> None:
    assert evaluate([make("dev")], CONFIG) == []
    assert evaluate([make("staging")], CONFIG) == []
    staging = PolicyConfig(registry=REGISTRY, isolated_stacks=("prod", "staging"))
    violations = evaluate([make("staging")], staging)
    assert _policies(violations) == {policy}
    assert all(v.urn.startswith("urn:pulumi:staging::") for v in violations)
    assert evaluate([make("prod")], PolicyConfig(registry=REGISTRY, isolated_stacks=())) == []


def test_every_production_policy_has_cases_in_and_out_of_production() -> None:
    assert {p for p, _, _ in PRODUCTION_VIOLATIONS} == PRODUCTION_POLICIES
    assert {p for p, _, _ in PRODUCTION_COMPLIANT} == PRODUCTION_POLICIES
    assert PRODUCTION_POLICIES <= POLICY_NAMES


def test_each_production_rule_reads_the_production_stack_list_in_crossguard() -> None:
    """Read (not import) __main__.py: every production-* policy declares isolatedStacks, the one
    setting policy_config turns into PolicyConfig.isolated_stacks."""
    tree = ast.parse((POLICY_DIR / "__main__.py").read_text())
    (schemas,) = [
        n.value
        for n in ast.walk(tree)
        if isinstance(n, ast.Assign)
        and any(isinstance(t, ast.Name) and t.id == "PRODUCTION_SCHEMAS" for t in n.targets)
    ]
    assert isinstance(schemas, ast.Dict)
    declared = {}
    for key, value in zip(schemas.keys, schemas.values, strict=True):
        assert isinstance(key, ast.Constant)
        assert isinstance(value, ast.Call)
        declared[key.value] = ast.literal_eval(value.args[0])
    production = {p.name for p in POLICIES if p.name.startswith("production-")}
    assert declared == dict.fromkeys(production, "isolatedStacks")
    assert 'isolated_stacks=_stacks(raw.get("isolatedStacks")' in (POLICY_DIR / "__main__.py").read_text()


def test_known_at_tells_unknown_from_unset() -> None:
    from policy.rules import known_at

    unknown = Unknown()
    assert known_at({"network": unknown}, "network", "publicNetworkAccess") is unknown
    assert known_at({"network": {"publicNetworkAccess": unknown}}, "network", "publicNetworkAccess") is unknown
    assert known_at({"network": {}}, "network", "publicNetworkAccess") is None
    assert known_at({"network": "x"}, "network", "publicNetworkAccess") is None
    assert known_at({"network": Secret({"publicNetworkAccess": "Disabled"})}, "network", "publicNetworkAccess") == (
        "Disabled"
    )


# PostgreSQL's own reading of a boolean parameter (src/backend/utils/adt/bool.c, parse_bool_with_len)
@pytest.mark.parametrize(
    ("value", "off"),
    [
        ("off", True),
        ("OFF", True),
        ("of", True),
        ("false", True),
        ("f", True),
        ("fal", True),
        ("no", True),
        ("n", True),
        ("0", True),
        (False, True),
        ("on", False),
        ("ON", False),
        ("o", False),  # ambiguous: PostgreSQL refuses it
        ("true", False),
        ("yes", False),
        ("1", False),
        ("offf", False),
        ("00", False),
        ("", False),
        (None, False),
        (0, False),
    ],
)
def test_postgres_false_reads_booleans_as_postgresql_does(value: Any, off: bool) -> None:
    from policy.rules import postgres_false

    assert postgres_false(value) is off


@pytest.mark.parametrize(
    ("name", "flagged"),
    [
        ("AKS-AIRFLOW-LOGS-STORAGE-ACCOUNT-KEY", True),
        ("logs-account-key", True),
        ("logsAccountKey", True),
        ("storage_accountkey", True),
        ("AKS-AIRFLOW-LOGS-STORAGE-ACCOUNT-NAME", False),
        ("airflow-fernet-key", False),
        ("account-keeper", False),
    ],
)
def test_account_key_names_are_recognised(name: str, flagged: bool) -> None:
    from policy.rules import is_account_key_name

    assert is_account_key_name(name) is flagged


# ------------------------------------------------------------------------------ production rules against the SDK
def _wire(value: Any) -> Any:
    """An SDK input value as the engine sends it: input types as dicts under their camelCase
    Pulumi names, enums as their values."""
    from enum import Enum

    from pulumi._types import input_type_to_dict, is_input_type

    if isinstance(value, Enum):
        return value.value
    if is_input_type(type(value)):
        return {k: _wire(v) for k, v in input_type_to_dict(value).items()}
    if isinstance(value, dict):
        return {k: _wire(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_wire(v) for v in value]
    return value


def _sdk(typ: str, name: str, args: Any) -> PolicyResource:
    return _in("prod", typ, name, _wire(args))


def _sdk_messages(typ: str, args: Any) -> list[str]:
    return [v.message for v in evaluate([_sdk(typ, "r", args)], CONFIG) if v.policy in PRODUCTION_POLICIES]


def test_the_high_availability_modes_are_the_sdks_but_disabled() -> None:
    from pulumi_azure_native import dbforpostgresql

    from policy.rules import HIGH_AVAILABILITY_MODES

    modes = {m.value for m in dbforpostgresql.PostgreSqlFlexibleServerHighAvailabilityMode}
    assert modes - {"Disabled"} == set(HIGH_AVAILABILITY_MODES)


def test_a_flexible_server_built_with_the_sdk_is_judged_on_its_wire_names() -> None:
    from pulumi_azure_native import dbforpostgresql as pg

    good = pg.ServerArgs(
        resource_group_name="rg",
        high_availability=pg.HighAvailabilityArgs(mode=pg.PostgreSqlFlexibleServerHighAvailabilityMode.ZONE_REDUNDANT),
        backup=pg.BackupArgs(backup_retention_days=14),
        network=pg.NetworkArgs(
            public_network_access=pg.ServerPublicNetworkAccessState.DISABLED,
            delegated_subnet_resource_id=f"{SUBNETS}/postgres",
        ),
    )
    assert _sdk_messages(POSTGRESQL_FLEXIBLE_SERVER, good) == []
    # the SDK's defaults: HA Disabled, 7 days (the floor, allowed), no network
    defaults = pg.ServerArgs(
        resource_group_name="rg", high_availability=pg.HighAvailabilityArgs(), backup=pg.BackupArgs()
    )
    assert _wire(defaults)["backup"] == {"backupRetentionDays": 7, "geoRedundantBackup": "Disabled"}
    messages = _sdk_messages(POSTGRESQL_FLEXIBLE_SERVER, defaults)
    assert [m.split(": ")[1].split(" ")[0] for m in messages] == [
        "highAvailability.mode",
        "network.publicNetworkAccess",
        "network.delegatedSubnetResourceId",
    ]
    public = pg.NetworkArgs(public_network_access=pg.ServerPublicNetworkAccessState.ENABLED)
    assert any(
        "publicNetworkAccess is 'Enabled'" in m
        for m in _sdk_messages(POSTGRESQL_FLEXIBLE_SERVER, pg.ServerArgs(resource_group_name="rg", network=public))
    )


def test_a_server_parameter_built_with_the_sdk_is_judged_on_its_wire_names() -> None:
    from pulumi_azure_native import dbforpostgresql as pg

    def parameter(name: str, value: str) -> Any:
        return pg.ConfigurationArgs(
            resource_group_name="rg", server_name="pg", configuration_name=name, value=value, source="user-override"
        )

    assert _sdk_messages(POSTGRESQL_CONFIGURATION, parameter("require_secure_transport", "on")) == []
    (message,) = _sdk_messages(POSTGRESQL_CONFIGURATION, parameter("require_secure_transport", "off"))
    assert "require_secure_transport is 'off'" in message


def test_storage_built_with_the_sdk_is_judged_on_its_wire_names() -> None:
    from pulumi_azure_native import storage

    def account(**changes: Any) -> Any:
        settings: dict[str, Any] = {
            "enable_https_traffic_only": True,
            "minimum_tls_version": storage.MinimumTlsVersion.TLS1_2,
            "allow_blob_public_access": False,
            "allow_shared_key_access": False,
            "public_network_access": storage.PublicNetworkAccess.DISABLED,
        }
        return storage.StorageAccountArgs(
            kind="StorageV2",
            resource_group_name="rg",
            sku=storage.SkuArgs(name="Standard_ZRS"),
            **{**settings, **changes},
        )

    assert _sdk_messages(STORAGE_ACCOUNT, account()) == []
    (shared,) = _sdk_messages(STORAGE_ACCOUNT, account(allow_shared_key_access=None))
    assert shared.startswith("storage account r: allowSharedKeyAccess is None")
    for access in set(storage.PublicNetworkAccess) - {storage.PublicNetworkAccess.DISABLED}:
        (message,) = _sdk_messages(STORAGE_ACCOUNT, account(public_network_access=access))
        assert f"publicNetworkAccess is {access.value!r}" in message


def test_a_vault_built_with_the_sdk_is_judged_on_its_wire_names() -> None:
    from pulumi_azure_native import keyvault

    def vault(**changes: Any) -> Any:
        properties = keyvault.VaultPropertiesArgs(
            sku=keyvault.SkuArgs(family="A", name=keyvault.SkuName.STANDARD),
            tenant_id="t",
            enable_rbac_authorization=True,
            **changes,
        )
        return keyvault.VaultArgs(resource_group_name="rg", properties=properties)

    assert _sdk_messages(KEY_VAULT, vault(public_network_access="disabled")) == []
    # the SDK's default, when the program says nothing
    assert _wire(vault())["properties"]["publicNetworkAccess"] == "enabled"
    (message,) = _sdk_messages(KEY_VAULT, vault())
    assert "properties.publicNetworkAccess is 'enabled'" in message


def test_a_vault_secret_built_with_the_sdk_is_judged_on_its_wire_names() -> None:
    from pulumi_azure_native import keyvault

    def secret(name: str) -> Any:
        return keyvault.SecretArgs(
            resource_group_name="rg",
            vault_name="kv",
            secret_name=name,
            properties=keyvault.SecretPropertiesArgs(value="x"),
        )

    assert _sdk_messages(KEY_VAULT_SECRET, secret("airflow-fernet-key")) == []
    (message,) = _sdk_messages(KEY_VAULT_SECRET, secret("AKS-AIRFLOW-LOGS-STORAGE-ACCOUNT-KEY"))
    assert "'AKS-AIRFLOW-LOGS-STORAGE-ACCOUNT-KEY' looks like a storage account key" in message


# ------------------------------------------------------------------------------ the real dev stack
@pytest.fixture(scope="module")
def dev_stack(dev_run: Any) -> Any:
    resources = [PolicyResource(r.urn, r.type, r.name, r.inputs) for r in dev_run.records if r.custom]
    return resources, dev_run.outputs


def test_dev_stack_satisfies_every_policy(dev_stack: Any) -> None:
    resources, outputs = dev_stack
    types = {r.type for r in resources}
    # Not vacuous: every resource type a policy checks is in the stack.
    assert {
        KEY_VAULT,
        KEY_VAULT_SECRET,
        ROLE_ASSIGNMENT,
        STORAGE_ACCOUNT,
        BLOB_CONTAINER,
        MANAGED_CLUSTER,
        KUBERNETES_PROVIDER,
        SERVICE_ACCOUNT,
        FEDERATED_CREDENTIAL,
        HELM_RELEASE,
    } <= types
    assert "kubeconfig" in outputs
    violations = evaluate(resources, PolicyConfig(registry=REGISTRY), outputs)
    assert violations == [], "\n".join(f"{v.policy}: {v.message}" for v in violations)


def test_dev_stack_images_fail_against_another_registry(dev_stack: Any) -> None:
    resources, outputs = dev_stack
    violations = evaluate(resources, PolicyConfig(registry="other.azurecr.io"), outputs)
    assert _policies(violations) == {"helm-pinned-sources"}
    assert len({v.urn for v in violations}) == 2  # both releases


# ------------------------------------------------------------------------------ credential names, from outside lists
# Which values keys hold a credential is read from the charts the stack pins, never typed here:
# a property of the chart's values.schema.json holds one when its type admits a string and its
# description names credential material, and does not describe a reference to it (a name, a
# path, a file, a Secret containing it).
_CREDENTIAL_WORDS = re.compile(r"\b(password|private key|secret key|fernet key|keytab)\b|\bcontent\b.*\bsecret\b", re.I)
_REFERENCE_WORDS = re.compile(r"\b(names?|path|file|containing)\b|\bsecret\.?$", re.I)
# A key's schema path: property names, `[]` for a list item, `*` for any key of a map.
SchemaPath = tuple[str, ...]


def _schema_properties(node: Any, path: SchemaPath = ()) -> Iterator[tuple[SchemaPath, dict[str, Any], Any]]:
    """(path, property schema, parent schema) of every property the chart's schema defines
    (Kubernetes definitions behind `$ref` are not the chart's values)."""
    if not isinstance(node, dict):
        return
    for key, sub in (node.get("properties") or {}).items():
        yield (*path, key), sub, node
        yield from _schema_properties(sub, (*path, key))
    if isinstance(node.get("items"), dict):
        yield from _schema_properties(node["items"], (*path, "[]"))
    if isinstance(node.get("additionalProperties"), dict):
        yield from _schema_properties(node["additionalProperties"], (*path, "*"))
    for key in ("anyOf", "oneOf", "allOf"):
        for sub in node.get(key) or []:
            yield from _schema_properties(sub, path)


def _admits_string(schema: dict[str, Any]) -> bool:
    kind = schema.get("type")
    return "string" in (kind if isinstance(kind, list) else [kind])


def chart_credential_keys(schema: Any) -> dict[SchemaPath, str]:
    """Schema path -> description, for every values key the chart describes as a credential."""
    found = {}
    for path, prop, _ in _schema_properties(schema):
        description = str(prop.get("description") or "")
        if _admits_string(prop) and _CREDENTIAL_WORDS.search(description) and not _REFERENCE_WORDS.search(description):
            found[path] = description
    return found


def chart_credential_references(schema: Any) -> dict[SchemaPath, SchemaPath]:
    """The key that names where a credential lives instead (fernetKey -> fernetKeySecretName,
    jwtSecret -> jwtSecretName, sshKey -> sshKeySecret), for each credential key that has one."""
    credentials = chart_credential_keys(schema)
    pairs = {}
    for path, _, parent in _schema_properties(schema):
        if path not in credentials:
            continue
        for suffix in ("SecretName", "Name", "Secret"):
            if path[-1] + suffix in (parent.get("properties") or {}):
                pairs[path] = (*path[:-1], path[-1] + suffix)
    return pairs


def _values_at(path: SchemaPath, leaf: str) -> tuple[Any, str]:
    """Helm values with `leaf` at `path` (one list item, one map key `example`), and the path
    the policy names for it."""
    if not path:
        return leaf, ""
    inner, where = _values_at(path[1:], leaf)
    if path[0] == "[]":
        return [inner], f"[0]{where}"
    key = "example" if path[0] == "*" else path[0]
    return {key: inner}, f".{key}{where}"


def _airflow_release(values: Any) -> PolicyResource:
    return _res(HELM_RELEASE, "airflow", {"chart": "airflow", "values": values})


def _chart_versions() -> tuple[str, ...]:
    _, versions = DEFAULT_CHARTS[AIRFLOW_CHART]
    return (versions,) if isinstance(versions, str) else tuple(versions)


@pytest.mark.parametrize("version", _chart_versions())
def test_the_schema_rule_finds_the_charts_credentials(version: str) -> None:
    """A guard on the rule above (not on the code): it finds credentials, and not their names."""
    found = {".".join(p) for p in chart_credential_keys(airflow_chart_schema(version))}
    assert {"fernetKey", "webserverSecretKey", "redis.password", "data.metadataConnection.pass"} <= found
    assert {"postgresql.auth.postgresPassword", "dags.gitSync.sshKey", "pgbouncer.ssl.key"} <= found
    assert not {"fernetKeySecretName", "redis.passwordSecretName", "dags.gitSync.sshKeySecret"} & found
    assert not {"kerberos.keytabPath", "dags.gitSync.knownHosts", "pgbouncer.auth_file"} & found
    if version >= "1.16":  # Airflow 3 charts: the API secret key and the JWT secret
        assert {"apiSecretKey", "jwtSecret"} <= found


@pytest.mark.parametrize("version", _chart_versions())
def test_every_credential_key_of_the_chart_is_flagged_in_helm_values(version: str) -> None:
    schema = airflow_chart_schema(version)
    missed = []
    for path, description in chart_credential_keys(schema).items():
        values, where = _values_at(path, "s3cr3t-value")
        messages = check_credentials(_airflow_release(values), CONFIG)
        if not any(f"values{where} carries credential material" in m for m in messages):
            missed.append(f"{'.'.join(path)} ({description})")
    assert missed == []


@pytest.mark.parametrize("version", _chart_versions())
def test_the_key_that_names_a_credentials_secret_is_not_flagged(version: str) -> None:
    pairs = chart_credential_references(airflow_chart_schema(version))
    assert len(pairs) >= 4  # fernetKey, webserverSecretKey, redis.password, sshKey (+ apiSecretKey, jwtSecret)
    for reference in pairs.values():
        values, _ = _values_at(reference, "airflow-some-secret")
        assert credential_material(values, "values") == [], ".".join(reference)


def test_a_credential_name_dropped_from_the_code_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    from policy import rules

    schema = airflow_chart_schema("1.19.0")
    keys = chart_credential_keys(schema)
    for dropped, path in (("jwtsecret", ("jwtSecret",)), ("sshkey", ("dags", "gitSync", "sshKey"))):
        suffixes = tuple(s for s in rules._CREDENTIAL_KEY_SUFFIXES if s != dropped)
        monkeypatch.setattr(rules, "_CREDENTIAL_KEY_SUFFIXES", suffixes)
        assert path in keys
        values, _ = _values_at(path, "s3cr3t-value")
        assert credential_material(values, "values") == [], dropped
        monkeypatch.undo()


_AIRFLOW_KEYWORDS = yaml.safe_load((PROJECT_DIR / "facts" / "airflow-sensitive-keywords.yaml").read_text())["facts"][
    "sensitive_keywords"
]


def _camel(snake: str) -> str:
    head, *rest = snake.split("_")
    return head + "".join(w.capitalize() for w in rest)


@pytest.mark.parametrize(
    "keyword", [k for k in _AIRFLOW_KEYWORDS["value"] if k not in (_AIRFLOW_KEYWORDS.get("not_applicable") or {})]
)
def test_every_keyword_airflow_masks_is_a_credential_name(keyword: str) -> None:
    """facts/airflow-sensitive-keywords.yaml: the names Airflow itself treats as sensitive."""
    for spelling in {keyword, _camel(keyword), keyword.upper()}:
        assert is_credential_key(spelling), spelling
        assert credential_material({"release": {spelling: "s3cr3t-value"}}) == [f"release.{spelling}"]


def test_airflows_keywords_come_with_a_reason_where_they_are_skipped() -> None:
    skipped = _AIRFLOW_KEYWORDS.get("not_applicable") or {}
    assert set(skipped) <= set(_AIRFLOW_KEYWORDS["value"])
    assert all(str(reason).strip() for reason in skipped.values())


def _federated(values: Any, subject: str, namespace: str = "airflow") -> list[str]:
    release = _res(HELM_RELEASE, "airflow", {"chart": "airflow", "namespace": namespace, "values": values})
    fic = _res(FEDERATED_CREDENTIAL, "fic", {"subject": subject})
    return [
        v.message for v in evaluate([release, fic], CONFIG) if v.policy == "federated-subject-matches-service-account"
    ]


def test_a_federated_subject_may_be_a_service_account_the_release_creates_by_name() -> None:
    """logsMode=remote: the chart makes Airflow's ServiceAccounts, named by the values; a
    credential for one of them is for an account of this stack."""
    created = {"scheduler": {"serviceAccount": {"create": True, "name": "airflow-scheduler"}}}
    assert _federated(created, "system:serviceaccount:airflow:airflow-scheduler") == []
    # not created by the release, another namespace, another name: no account of this stack
    not_created = {"scheduler": {"serviceAccount": {"create": False, "name": "airflow-scheduler"}}}
    assert _federated(not_created, "system:serviceaccount:airflow:airflow-scheduler") != []
    assert _federated(created, "system:serviceaccount:airflow:airflow-scheduler", namespace="other") != []
    assert _federated(created, "system:serviceaccount:airflow:airflow-worker") != []
    unnamed = {"scheduler": {"serviceAccount": {"create": True}}}
    assert _federated(unnamed, "system:serviceaccount:airflow:None") != []


def test_the_charts_env_from_secret_list_names_a_key_not_a_credential() -> None:
    """The Airflow chart's `secret: [{envName, secretName, secretKey}]` reads an env var from a
    key of a Kubernetes Secret; a `secretKey` anywhere else still holds one."""
    reference = {"secret": [{"envName": "AIRFLOW_CONN_WASB_DEFAULT", "secretName": "conn", "secretKey": "connection"}]}
    assert credential_material(reference, "values") == []
    assert credential_material({"webserver": {"secretKey": "s3cr3t-value"}}, "values") == ["values.webserver.secretKey"]
    assert credential_material({"secrets": {"secretKey": "s3cr3t-value"}}, "values") == ["values.secrets.secretKey"]

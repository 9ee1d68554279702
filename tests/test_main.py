"""The whole stack program (__main__.py) under the mocks.

The dev stack (Pulumi.dev.yaml = the article): graph, wiring, order, secrets. Then every stack
file: synth passes, no policy violation, no unmarked secret, the output contract holds.
"""

import re
import urllib.parse
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from config import parse_settings
from policy.rules import PolicyConfig, PolicyResource, evaluate
from synth.__main__ import main
from synth.project import load_stack_config, stacks
from synth.runner import ResourceRecord, RunResult, run_stack
from tests.conftest import DistinctRun
from tests.helpers import deps_of, render_release, secret_paths, unmarked_leaks, workloads

# The outputs each stack file exports: the contract's tables (tests/test_outputs_contract.py).
from tests.test_outputs_contract import CONTRACT


@pytest.fixture
def dev(dev_run: RunResult) -> RunResult:
    return dev_run


def test_graph_has_every_resource_of_the_article(dev: RunResult) -> None:
    counts = Counter(r.type for r in dev.records)
    assert counts == {
        "airflow-aks:cluster:Cluster": 1,
        "airflow-aks:namespace:Namespace": 1,
        "airflow-aks:identity:Identity": 1,
        "airflow-aks:key_vault:KeyVault": 1,
        "airflow-aks:log_storage:LogStorage": 1,
        "airflow-aks:secrets_operator:SecretsOperator": 1,
        "airflow-aks:airflow:Airflow": 1,
        "azure-native:resources:ResourceGroup": 1,
        "azure-native:containerservice:ManagedCluster": 1,
        "azure-native:authorization:RoleAssignment": 2,
        "pulumi:providers:kubernetes": 1,
        "azure-native:managedidentity:UserAssignedIdentity": 1,
        "azure-native:managedidentity:FederatedIdentityCredential": 1,
        # the one Airflow runs in, and the operator's
        "kubernetes:core/v1:Namespace": 2,
        # the one token the operator may mint: the workload-identity ServiceAccount's
        "kubernetes:rbac.authorization.k8s.io/v1:Role": 1,
        "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding": 1,
        "kubernetes:core/v1:ServiceAccount": 1,
        "azure-native:keyvault:Vault": 1,
        # admin, webserver key, fernet key, PostgreSQL password; storage account name and key
        "azure-native:keyvault:Secret": 6,
        "random:index/randomString:RandomString": 2,
        "random:index/randomPassword:RandomPassword": 3,
        "random:index/randomBytes:RandomBytes": 1,
        "kubernetes:helm.sh/v3:Release": 2,
        "kubernetes:external-secrets.io/v1:SecretStore": 1,
        # logs storage, admin, webserver key, fernet key, and the database's four:
        # postgresql, metadata, pgbouncer config and stats (dev runs no Redis)
        "kubernetes:external-secrets.io/v1:ExternalSecret": 8,
        "azure-native:storage:StorageAccount": 1,
        "azure-native:storage:BlobContainer": 1,
        # soft delete, and the lifecycle rule that expires task logs
        "azure-native:storage:BlobServiceProperties": 1,
        "azure-native:storage:ManagementPolicy": 1,
        "kubernetes:core/v1:PersistentVolume": 1,
        "kubernetes:core/v1:PersistentVolumeClaim": 1,
    }


@pytest.mark.parametrize("run", ["dev_run", "prod_run"])
def test_children_are_parented_and_kubernetes_objects_use_the_cluster_provider(
    run: str, request: pytest.FixtureRequest
) -> None:
    """Every resource sits under a component and is named after it (`<component>-<role>`), as
    the components' contract says; every Kubernetes object goes through the cluster's provider."""
    result: RunResult = request.getfixturevalue(run)
    components = {r.urn: r for r in result.records if not r.custom}
    provider = result.one("pulumi:providers:kubernetes").urn
    for rec in result.records:
        if rec.custom:
            assert rec.parent in components, rec.name
            assert rec.name.startswith(components[rec.parent].name + "-"), rec.name
        if rec.custom and rec.type.startswith("kubernetes:"):
            assert rec.provider.startswith(provider + "::"), rec.name


def test_identity_wiring(dev: RunResult) -> None:
    aks = dev.one("azure-native:containerservice:ManagedCluster")
    uami = dev.one("azure-native:managedidentity:UserAssignedIdentity")
    fic = dev.one("azure-native:managedidentity:FederatedIdentityCredential").inputs
    sa = dev.one("kubernetes:core/v1:ServiceAccount").inputs["metadata"]
    assert fic["issuer"] == aks.state["oidcIssuerProfile"]["issuerURL"]
    assert (
        fic["subject"]
        == f"system:serviceaccount:{sa['namespace']}:{sa['name']}"
        == "system:serviceaccount:airflow:airflow"
    )
    assert sa["annotations"]["azure.workload.identity/client-id"] == uami.state["clientId"]
    grant = next(
        r for r in dev.by_type("azure-native:authorization:RoleAssignment") if r.name == "keyvault-secrets-user"
    )
    assert grant.inputs["principalId"] == uami.state["principalId"]
    assert grant.inputs["scope"].endswith("/vaults/" + dev.one("azure-native:keyvault:Vault").inputs["vaultName"])


def test_secret_wiring(dev: RunResult) -> None:
    vault = dev.one("azure-native:keyvault:Vault")
    store = dev.one("kubernetes:external-secrets.io/v1:SecretStore").inputs
    assert store["spec"]["provider"]["azurekv"]["vaultUrl"] == vault.state["properties"]["vaultUri"]
    targets = {
        es.inputs["spec"]["target"]["name"]: es.inputs
        for es in dev.by_type("kubernetes:external-secrets.io/v1:ExternalSecret")
    }
    pv = dev.one("kubernetes:core/v1:PersistentVolume").inputs
    assert pv["spec"]["csi"]["nodeStageSecretRef"]["name"] in targets
    kv_names = {r.inputs["secretName"] for r in dev.by_type("azure-native:keyvault:Secret")}
    for es in targets.values():
        assert {d["remoteRef"]["key"] for d in es["spec"]["data"]} <= kv_names
    airflow = next(r for r in dev.by_type("kubernetes:helm.sh/v3:Release") if r.inputs["chart"] == "airflow").inputs
    pvc = dev.one("kubernetes:core/v1:PersistentVolumeClaim").inputs
    assert airflow["values"]["logs"]["persistence"]["existingClaim"] == pvc["metadata"]["name"]
    assert pvc["spec"]["volumeName"] == pv["metadata"]["name"]
    for name in (
        airflow["values"]["webserverSecretKeySecretName"],
        airflow["values"]["fernetKeySecretName"],
        airflow["values"]["createUserJob"]["env"][0]["valueFrom"]["secretKeyRef"]["name"],
    ):
        assert name in targets


def test_namespace_flows_from_one_setting(dev: RunResult) -> None:
    namespaced = [
        r
        for r in dev.records
        if r.type.startswith("kubernetes:")
        and r.type not in {"kubernetes:core/v1:Namespace", "kubernetes:core/v1:PersistentVolume"}
    ]
    for rec in namespaced:
        ns = rec.inputs.get("namespace") or rec.inputs["metadata"]["namespace"]
        # the operator runs beside, in a namespace derived from the same setting
        assert ns == ("airflow-eso" if rec.name == "secrets-eso" else "airflow"), rec.name
    operator_ns = next(r for r in dev.by_type("kubernetes:core/v1:Namespace") if r.name == "secrets-namespace")
    assert operator_ns.inputs["metadata"]["name"] == "airflow-eso"


def test_creation_order_is_real_dependencies(dev: RunResult) -> None:
    store = dev.one("kubernetes:external-secrets.io/v1:SecretStore")
    assert {
        "kubernetes:helm.sh/v3:Release::secrets-eso",
        "azure-native:managedidentity:FederatedIdentityCredential::identity-fic-external-secrets-operator",
        "azure-native:authorization:RoleAssignment::keyvault-secrets-user",
    } <= deps_of(dev, store)
    for es in dev.by_type("kubernetes:external-secrets.io/v1:ExternalSecret"):
        deps = deps_of(dev, es)
        assert "kubernetes:external-secrets.io/v1:SecretStore::secrets-store" in deps
        assert any(d.startswith("azure-native:keyvault:Secret::") for d in deps), es.name
    release = next(r for r in dev.by_type("kubernetes:helm.sh/v3:Release") if r.inputs["chart"] == "airflow")
    deps = deps_of(dev, release)
    assert "kubernetes:core/v1:PersistentVolumeClaim::logs-pvc" in deps
    assert sum(d.startswith("kubernetes:external-secrets.io/v1:ExternalSecret::") for d in deps) == 8
    eso = next(r for r in dev.by_type("kubernetes:helm.sh/v3:Release") if r.inputs["chart"] == "external-secrets")
    assert "kubernetes:core/v1:Namespace::namespace-ns" in deps_of(dev, eso)
    # both releases pull images: neither starts before the kubelet identity may pull
    for helm_release in (release, eso):
        assert "azure-native:authorization:RoleAssignment::cluster-acr-pull" in deps_of(dev, helm_release)


def test_no_generated_secret_reaches_an_input_or_output_unmarked(dev: RunResult) -> None:
    assert len(dev.mocks.sensitive_values) >= 6  # passwords, fernet key, storage key, kubeconfig: not vacuous
    assert unmarked_leaks(dev) == []
    marked = [rec.name for rec in dev.records if secret_paths(rec.inputs)]
    assert {
        "cluster-k8s",
        "logs-kv-account-key",
        "keyvault-airflow-admin-password",
        "keyvault-airflow-postgres-password",
    } <= set(marked)


def test_stack_outputs_are_the_documented_contract(dev: RunResult) -> None:
    assert set(dev.outputs) == set(CONTRACT["dev"])
    assert dev.outputs["kubeconfig"][1] is True
    assert [k for k, (_, secret) in dev.outputs.items() if secret] == ["kubeconfig"]
    values = {k: v for k, (v, _) in dev.outputs.items()}
    assert values["namespace"] == "airflow"
    assert values["airflowUiPortForward"] == "kubectl port-forward svc/airflow-webserver 8080:8080 --namespace airflow"
    assert values["adminCredentialsSecret"] == {
        "namespace": "airflow",
        "name": "airflow-admin",
        "passwordKey": "password",
        "username": "admin",
    }
    assert values["keyVaultUri"] == f"https://{values['keyVaultName']}.vault.azure.net/"
    assert values["identityClientId"] == dev.one("azure-native:managedidentity:UserAssignedIdentity").state["clientId"]


def test_every_invoke_is_answered(dev: RunResult) -> None:
    tokens = {t for t, _ in dev.mocks.invokes}
    assert tokens == {
        "azure-native:authorization:getClientConfig",
        "azure-native:containerregistry:getRegistry",
        "azure-native:containerservice:listManagedClusterUserCredentials",
        "azure-native:storage:listStorageAccountKeys",
    }


def test_leak_check_flags_an_unmarked_credential(dev: RunResult) -> None:
    """The check above can fail: the same record with its secret unwrapped is reported."""
    import dataclasses

    from synth.mocks import unwrap

    provider = dev.one("pulumi:providers:kubernetes")
    leaky = dataclasses.replace(provider, inputs=unwrap(provider.inputs))
    assert unmarked_leaks(dataclasses.replace(dev, records=[leaky], outputs={})) == [
        "pulumi:providers:kubernetes::cluster-k8s"
    ]
    # every credential the mocks hand out is caught in an output, multi-line kubeconfig included
    for value in sorted(dev.mocks.sensitive_values):
        fake = dataclasses.replace(dev, records=[], outputs={"out": ({"nested": [value]}, False)})
        assert unmarked_leaks(fake) == ["output out"], value[:20]


# ------------------------------------------------------------------------------ every stack file

STACKS = stacks()


def test_there_is_a_dev_and_a_prod_stack() -> None:
    assert {"dev", "prod"} <= set(STACKS)


@pytest.mark.parametrize("stack", STACKS)
def test_stack_synthesizes_strictly(stack: str) -> None:
    assert main([stack, "--strict", "--no-write"]) == 0


@pytest.mark.parametrize("stack", STACKS)
def test_stack_has_no_violation_and_no_leak(stack: str) -> None:
    config = load_stack_config(stack)
    settings = parse_settings(stack, config.values)
    result = run_stack(config)
    resources = [PolicyResource(r.urn, r.type, r.name, r.inputs, r.protect) for r in result.records if r.custom]
    assert evaluate(resources, PolicyConfig(registry=settings.registry_server), result.outputs) == []
    assert result.mocks.sensitive_values
    assert unmarked_leaks(result) == []
    assert set(result.outputs) == set(CONTRACT[stack])
    release = next(r for r in result.by_type("kubernetes:helm.sh/v3:Release") if r.inputs["chart"] == "airflow")
    assert release.inputs["values"]["executor"] == settings.executor


# What holds data, by type: deleting one (or replacing it) loses it. Every stack has the first
# five; the logs volume exists with logsMode=pv, the flexible server and its database with
# databaseMode=managed.
HOLDS_DATA = frozenset(
    {
        "azure-native:resources:ResourceGroup",
        "azure-native:containerservice:ManagedCluster",
        "azure-native:keyvault:Vault",
        "azure-native:storage:StorageAccount",
        "azure-native:storage:BlobContainer",
    }
)
LOGS_VOLUME = frozenset({"kubernetes:core/v1:PersistentVolume", "kubernetes:core/v1:PersistentVolumeClaim"})
MANAGED_DATABASE = frozenset({"azure-native:dbforpostgresql:Server", "azure-native:dbforpostgresql:Database"})
# prod's monitoring: the Log Analytics (container logs) and Azure Monitor (metrics) workspaces
MONITORING_STORES = frozenset(
    {"azure-native:operationalinsights:Workspace", "azure-native:monitor:AzureMonitorWorkspace"}
)
# prod as its stack file says (a managed database, remote logs), and prod on the bundled
# database with the logs volume (the article's choices, under prod's protection)
PROD_VARIANTS = {
    "prod": ({}, HOLDS_DATA | MANAGED_DATABASE | MONITORING_STORES),
    "prod-bundled-pv": ({"databaseMode": "bundled", "logsMode": "pv"}, HOLDS_DATA | LOGS_VOLUME | MONITORING_STORES),
}
_PROD_RUNS: dict[str, RunResult] = {}


def _prod_variant(variant: str, prod_run: RunResult) -> RunResult:
    """The prod stack file run under the mocks, with the variant's keys changed (once each)."""
    import dataclasses

    overrides, _ = PROD_VARIANTS[variant]
    if not overrides:
        return prod_run
    if variant not in _PROD_RUNS:
        config = load_stack_config("prod")
        values = {**config.values, **{f"airflow-aks:{k}": v for k, v in overrides.items()}}
        _PROD_RUNS[variant] = run_stack(dataclasses.replace(config, values=values))
    return _PROD_RUNS[variant]


@pytest.mark.parametrize("variant", PROD_VARIANTS)
def test_prod_protects_everything_that_holds_data(variant: str, prod_run: RunResult) -> None:
    from policy.rules import STATEFUL_TYPES

    result = _prod_variant(variant, prod_run)
    _, holds_data = PROD_VARIANTS[variant]
    stateful = [r for r in result.records if r.type in holds_data]
    assert {r.type for r in stateful} == holds_data
    # a managed database and remote logs leave nothing stateful in the cluster, and the other way round
    others = (LOGS_VOLUME | MANAGED_DATABASE) - holds_data
    assert [r.name for r in result.records if r.type in others] == []
    assert all(r.protect for r in stateful), [r.name for r in stateful if not r.protect]
    # ... and nothing else: a protected Helm release or secret would block ordinary updates
    assert {r.name for r in result.records if r.protect} == {r.name for r in stateful}
    # ... and the policy guards each of them: one left unprotected fails stateful-resources-protected
    assert holds_data <= STATEFUL_TYPES, sorted(holds_data - STATEFUL_TYPES)


@pytest.mark.parametrize("variant", PROD_VARIANTS)
def test_prod_without_protection_fails_the_policy(
    variant: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], prod_run: RunResult
) -> None:
    import yaml

    from synth.project import PROJECT_DIR

    overrides, holds_data = PROD_VARIANTS[variant]
    text = (PROJECT_DIR / "Pulumi.prod.yaml").read_text()
    data = yaml.safe_load(text)
    data["config"].update({f"airflow-aks:{k}": v for k, v in overrides.items()})
    data["config"]["airflow-aks:protectStatefulResources"] = False
    path = tmp_path / "Pulumi.prod.yaml"
    path.write_text(yaml.safe_dump(data))
    assert main(["prod", "--stack-file", str(path), "--no-write"]) == 1
    out = capsys.readouterr().out
    # one violation for each resource that holds data (the protected run names them)
    stateful = [r for r in _prod_variant(variant, prod_run).records if r.type in holds_data]
    assert out.count("MANDATORY [stateful-resources-protected]") == len(stateful) == 9
    for r in stateful:
        assert f"{r.type.rsplit(':', 1)[-1]} {r.name} holds data in stack 'prod' but is not protected" in out, r.name
    assert "Vault keyvault-vault holds data in stack 'prod' but is not protected" in out


# prod's Secrets besides the database's and the logs': Airflow 3's API secret key and JWT secret
# replace the webserver key, and Celery's Redis password and broker URL join them.
PROD_COMMON_TARGETS = {
    "airflow-admin",
    "airflow-api-secret-key",
    "airflow-jwt-secret",
    "airflow-fernet-key",
    "airflow-redis-auth",
    "airflow-celery-broker",
}
# variant -> (the database's and the logs' Secrets: target -> the Key Vault secrets ESO reads)
PROD_VARIANT_TARGETS: dict[str, dict[str, set[str]]] = {
    # the managed server's connection (its administrator password and host); remote logging's
    # connection (the account name only: no key)
    "prod": {
        "airflow-metadata-connection": {"airflow-database-admin-password", "airflow-database-host"},
        "airflow-remote-logs-connection": {"AKS-AIRFLOW-LOGS-STORAGE-ACCOUNT-NAME"},
    },
    # the bundled PostgreSQL's four, from its one password; the Blob CSI driver's account name and key
    "prod-bundled-pv": {
        "airflow-postgresql-auth": {"airflow-postgres-password"},
        "airflow-metadata-connection": {"airflow-postgres-password"},
        "airflow-pgbouncer-auth": {"airflow-postgres-password"},
        "airflow-pgbouncer-exporter": {"airflow-postgres-password"},
        "airflow-logs-storage": {"AKS-AIRFLOW-LOGS-STORAGE-ACCOUNT-NAME", "AKS-AIRFLOW-LOGS-STORAGE-ACCOUNT-KEY"},
    },
}


@pytest.mark.parametrize("variant", PROD_VARIANTS)
def test_prod_celery_credentials_come_from_key_vault_through_eso(variant: str, prod_run: RunResult) -> None:
    """prod runs Airflow 3 with Celery and Kubernetes executors side by side: the API secret key and
    JWT secret replace the webserver key, and the Redis password and broker URL join the database's
    credentials (the managed server's, or on the bundled database its four), every one assembled by
    ESO from Key Vault."""
    result = _prod_variant(variant, prod_run)
    external = {
        es.inputs["spec"]["target"]["name"]: es.inputs["spec"]
        for es in result.by_type("kubernetes:external-secrets.io/v1:ExternalSecret")
    }
    own = PROD_VARIANT_TARGETS[variant]
    assert set(external) == PROD_COMMON_TARGETS | set(own)
    remote = {target: {d["remoteRef"]["key"] for d in spec["data"]} for target, spec in external.items()}
    assert remote["airflow-redis-auth"] == remote["airflow-celery-broker"] == {"airflow-redis-password"}
    for target, keys in own.items():
        assert remote[target] == keys, target
    vault = {r.inputs["secretName"] for r in result.by_type("azure-native:keyvault:Secret")}
    assert {kv for keys in remote.values() for kv in keys} <= vault
    # no password for a database the variant does not run
    unused = {"airflow-postgres-password"} if variant == "prod" else {"airflow-database-admin-password"}
    assert not unused & vault
    release = next(r for r in result.by_type("kubernetes:helm.sh/v3:Release") if r.inputs["chart"] == "airflow")
    values = release.inputs["values"]
    assert values["redis"]["passwordSecretName"] == "airflow-redis-auth"
    assert values["data"]["brokerUrlSecretName"] == "airflow-celery-broker"
    assert values["data"]["metadataSecretName"] == "airflow-metadata-connection"
    assert sum(
        d.startswith("urn:pulumi:prod::airflow-aks::") and "ExternalSecret::" in d for d in release.dependencies
    ) == len(external)


def test_synth_lists_what_is_protected(capsys: pytest.CaptureFixture[str]) -> None:
    import json

    assert main(["prod", "--json", "--no-write"]) == 0
    protected = json.loads(capsys.readouterr().out)["protected"]
    assert "azure-native:keyvault:Vault keyvault-vault" in protected
    assert len(protected) == 9
    assert main(["dev", "--json", "--no-write"]) == 0
    assert json.loads(capsys.readouterr().out)["protected"] == []


# ------------------------------------------------------------------ names that a swap would confuse
# Two test-only stack files (tests/stacks, tests/helpers.py: DISTINCT) where the namespace, the
# Airflow release, the ServiceAccount, the operator's namespace, the resource group, the cluster,
# the registry and the logs container all differ: each name must land in its own field of its
# own resource. The expected names are the stack file's literals, never the plan's.
def _release(result: RunResult, chart: str) -> ResourceRecord:
    return next(r for r in result.by_type("kubernetes:helm.sh/v3:Release") if r.inputs["chart"] == chart)


_RENDERS: dict[tuple[str, str], list[dict[str, Any]]] = {}


def _rendered(run: DistinctRun, chart: str = "airflow") -> list[dict[str, Any]]:
    """What the real chart renders for the release the program registered (once per stack)."""
    key = (run.names.stack, chart)
    if key not in _RENDERS:
        kube_version = parse_settings(run.names.stack, run.names.config().values).kubernetes_version
        _RENDERS[key] = render_release(_release(run.result, chart), kube_version)
    return _RENDERS[key]


def test_the_distinct_stack_files_say_what_the_tests_expect(distinct_run: DistinctRun) -> None:
    """The literals the tests below compare with are what the stack file holds (and a stack
    file that is not distinct would prove nothing)."""
    n = distinct_run.names
    settings = parse_settings(n.stack, n.config().values)
    assert (settings.namespace, settings.service_account_name) == (n.namespace, n.service_account)
    assert (settings.resource_group_name, settings.cluster_name) == (n.resource_group, n.cluster)
    assert (settings.cluster_mode, settings.effective_cluster_resource_group) == (
        n.cluster_mode,
        n.cluster_resource_group,
    )
    assert (settings.acr_name, settings.acr_resource_group) == (n.acr, n.acr_resource_group)
    assert (settings.logs_container_name, settings.location) == (n.logs_container, n.location)
    assert (settings.admin_username, settings.admin_email) == (n.admin_username, n.admin_email)
    assert settings.airflow_chart_version == n.chart_version
    confusable = [
        n.namespace,
        n.operator_namespace,
        n.service_account,
        n.airflow_release,
        n.operator_release,
        n.resource_group,
        n.cluster,
        n.acr,
        n.acr_resource_group,
        n.logs_container,
        n.admin_username,
    ]
    assert len(set(confusable)) == len(confusable)
    # and none is the dev or prod stack's, nor the chart's default user
    for stack in ("dev", "prod"):
        other = parse_settings(stack, load_stack_config(stack).values)
        assert n.namespace != other.namespace
        assert n.service_account != other.service_account_name
        assert n.registry_server != other.registry_server
        assert n.resource_group != other.effective_resource_group
    assert (n.admin_username, n.admin_email) != ("admin", "admin@example.com")


def test_distinct_stack_files_synthesize_strictly(distinct_run: DistinctRun) -> None:
    """synth's cross-references (federated subject = ServiceAccount, PVC = PV = chart values,
    every Secret a pod reads = an ExternalSecret, images = registry) hold with distinct names."""
    n = distinct_run.names
    assert main([n.stack, "--stack-file", str(n.stack_file()), "--strict", "--no-write"]) == 0


def test_each_release_is_named_and_placed_apart(distinct_run: DistinctRun) -> None:
    n, result = distinct_run.names, distinct_run.result
    airflow = _release(result, "airflow").inputs
    assert (airflow["name"], airflow["namespace"]) == (n.airflow_release, n.namespace)
    assert airflow["version"] == n.chart_version
    eso = _release(result, "external-secrets").inputs
    assert (eso["name"], eso["namespace"]) == (n.operator_release, n.operator_namespace)
    # the operator runs in its own namespace and serves Airflow's
    assert eso["values"]["scopedNamespace"] == n.namespace
    namespaces = {r.name: r.inputs["metadata"]["name"] for r in result.by_type("kubernetes:core/v1:Namespace")}
    assert namespaces == {"namespace-ns": n.namespace, "secrets-namespace": n.operator_namespace}


def test_the_operators_token_grant_names_each_account_in_its_namespace(distinct_run: DistinctRun) -> None:
    """The Role and its binding live where the ServiceAccount is (Airflow's namespace); the
    Role names the workload-identity account; the binding's subject is the controller's
    account (named after its release) in the operator's namespace."""
    n, result = distinct_run.names, distinct_run.result
    role = result.one("kubernetes:rbac.authorization.k8s.io/v1:Role").inputs
    binding = result.one("kubernetes:rbac.authorization.k8s.io/v1:RoleBinding").inputs
    assert role["metadata"]["namespace"] == binding["metadata"]["namespace"] == n.namespace
    assert role["rules"] == [
        {
            "apiGroups": [""],
            "resources": ["serviceaccounts/token"],
            "verbs": ["create"],
            "resourceNames": [n.service_account],
        }
    ]
    assert binding["roleRef"]["name"] == role["metadata"]["name"]
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": n.operator_release, "namespace": n.operator_namespace}
    ]
    # ... which is the account the real ESO chart runs its controller as, where it runs it
    controller = next(o for o in _rendered(distinct_run, "external-secrets") if o["kind"] == "Deployment")
    assert (controller["spec"]["template"]["spec"]["serviceAccountName"], controller["metadata"]["namespace"]) == (
        n.operator_release,
        n.operator_namespace,
    )


def test_store_secrets_and_account_share_airflows_namespace(distinct_run: DistinctRun) -> None:
    """A SecretStore's serviceAccountRef has no namespace: the account must be in the store's.
    Every ExternalSecret is in that namespace too (it names the store by name only), and so
    is every Secret the pods mount."""
    n, result = distinct_run.names, distinct_run.result
    store = result.one("kubernetes:external-secrets.io/v1:SecretStore").inputs
    sa = result.one("kubernetes:core/v1:ServiceAccount").inputs["metadata"]
    assert (sa["name"], sa["namespace"]) == (n.service_account, n.namespace)
    assert store["metadata"]["namespace"] == n.namespace
    assert store["spec"]["provider"]["azurekv"]["serviceAccountRef"] == {"name": n.service_account}
    externals = result.by_type("kubernetes:external-secrets.io/v1:ExternalSecret")
    assert externals
    for es in externals:
        assert es.inputs["metadata"]["namespace"] == n.namespace, es.name
        assert es.inputs["spec"]["secretStoreRef"] == {"kind": "SecretStore", "name": store["metadata"]["name"]}


def test_the_federated_subject_is_the_service_accounts_token_subject(distinct_run: DistinctRun) -> None:
    """Kubernetes issues the account's token for `system:serviceaccount:<namespace>:<name>`
    (namespace first): that exact string is what Entra must trust."""
    n, result = distinct_run.names, distinct_run.result
    fic = result.one("azure-native:managedidentity:FederatedIdentityCredential").inputs
    assert fic["subject"] == f"system:serviceaccount:{n.namespace}:{n.service_account}"
    uami = result.one("azure-native:managedidentity:UserAssignedIdentity").inputs
    assert fic["resourceName"] == uami["resourceName"]
    assert fic["resourceGroupName"] == uami["resourceGroupName"] == n.resource_group


def test_the_logs_claim_and_its_volume_are_wired_to_airflows_namespace(distinct_run: DistinctRun) -> None:
    n, result = distinct_run.names, distinct_run.result
    pvc = result.one("kubernetes:core/v1:PersistentVolumeClaim").inputs
    pv = result.one("kubernetes:core/v1:PersistentVolume").inputs
    assert pvc["metadata"]["namespace"] == n.namespace
    assert pvc["spec"]["volumeName"] == pv["metadata"]["name"]
    # the driver reads the account key from a Secret ESO makes in Airflow's namespace
    ref = pv["spec"]["csi"]["nodeStageSecretRef"]
    targets = {
        (es.inputs["metadata"]["namespace"], es.inputs["spec"]["target"]["name"])
        for es in result.by_type("kubernetes:external-secrets.io/v1:ExternalSecret")
    }
    assert (ref["namespace"], ref["name"]) in targets
    assert ref["namespace"] == n.namespace
    values = _release(result, "airflow").inputs["values"]
    assert values["logs"]["persistence"]["existingClaim"] == pvc["metadata"]["name"]


def test_the_storage_names_land_in_their_own_fields(distinct_run: DistinctRun) -> None:
    n, result = distinct_run.names, distinct_run.result
    account = result.one("azure-native:storage:StorageAccount").inputs
    container = result.one("azure-native:storage:BlobContainer").inputs
    assert account["resourceGroupName"] == container["resourceGroupName"] == n.resource_group
    assert (container["containerName"], container["accountName"]) == (n.logs_container, account["accountName"])
    assert account["accountName"] != n.logs_container
    attributes = result.one("kubernetes:core/v1:PersistentVolume").inputs["spec"]["csi"]["volumeAttributes"]
    # the Blob CSI driver's documented attributes: storageAccount, containerName, resourceGroup
    assert attributes["storageAccount"] == account["accountName"]
    assert attributes["containerName"] == n.logs_container
    assert attributes["resourceGroup"] == n.resource_group
    # the lifecycle rule matches blobs by `<container>/` prefix (Azure: the prefix starts with the container)
    policy = result.one("azure-native:storage:ManagementPolicy").inputs
    assert policy["accountName"] == account["accountName"]
    (rule,) = policy["policy"]["rules"]
    assert rule["definition"]["filters"]["prefixMatch"] == [f"{n.logs_container}/"]
    secrets = {r.inputs["secretName"]: r.inputs for r in result.by_type("azure-native:keyvault:Secret")}
    vault = result.one("azure-native:keyvault:Vault").inputs
    assert vault["resourceGroupName"] == n.resource_group
    for name, secret in secrets.items():
        assert (secret["vaultName"], secret["resourceGroupName"]) == (vault["vaultName"], n.resource_group), name
    assert result.outputs["logsContainer"][0] == n.logs_container
    assert result.outputs["logsStorageAccount"][0] == account["accountName"]


def test_the_objects_the_stack_makes_outside_charts_carry_the_projects_label(distinct_run: DistinctRun) -> None:
    """`kubectl get ns,pv -l app.kubernetes.io/part-of=<project>` finds every Namespace and
    volume the stack made (the project name as Pulumi.yaml says it)."""
    import yaml

    from synth.project import PROJECT_DIR

    project = yaml.safe_load((PROJECT_DIR / "Pulumi.yaml").read_text(encoding="utf-8"))["name"]
    n, result = distinct_run.names, distinct_run.result
    labelled = result.by_type("kubernetes:core/v1:Namespace") + result.by_type("kubernetes:core/v1:PersistentVolume")
    assert {r.inputs["metadata"]["name"] for r in labelled} >= {n.namespace, n.operator_namespace}
    for r in labelled:
        assert r.inputs["metadata"]["labels"] == {"app.kubernetes.io/part-of": project}, r.name


def test_each_component_records_what_it_built_in_its_state_outputs(distinct_run: DistinctRun) -> None:
    """A component's register_outputs are what `pulumi stack export` shows for it: each names
    the objects that component registered, as registered."""
    n, result = distinct_run.names, distinct_run.result
    components = {r.type.split(":")[1]: r.outputs for r in result.records if not r.custom}

    def names(typ: str) -> list[str]:
        return sorted(r.inputs["metadata"]["name"] for r in result.by_type(typ))

    (store,) = names("kubernetes:external-secrets.io/v1:SecretStore")
    assert components["secrets_operator"] == {
        "secretStore": store,
        "externalSecrets": names("kubernetes:external-secrets.io/v1:ExternalSecret"),
    }
    assert components["namespace"] == {"name": n.namespace}
    uami = next(
        r.state
        for r in result.by_type("azure-native:managedidentity:UserAssignedIdentity")
        if r.name == "identity-uami"
    )
    assert components["identity"] == {
        "serviceAccountName": n.service_account,
        "clientId": uami["clientId"],
        "principalId": uami["principalId"],
    }
    vault = result.one("azure-native:keyvault:Vault").inputs["vaultName"]
    assert components["key_vault"] == {"vaultName": vault, "vaultUri": f"https://{vault}.vault.azure.net/"}
    (claim,) = names("kubernetes:core/v1:PersistentVolumeClaim")
    account = result.one("azure-native:storage:StorageAccount").inputs["accountName"]
    assert components["log_storage"] == {"claimName": claim, "containerName": n.logs_container, "accountName": account}
    releases = {r.inputs["name"] for r in result.by_type("kubernetes:helm.sh/v3:Release")}
    assert n.airflow_release in releases
    assert components["airflow"] == {
        "releaseName": n.airflow_release,
        "portForward": result.outputs["airflowUiPortForward"][0],
    }
    outputs = {k: v for k, (v, _) in result.outputs.items()}
    from synth.mocks import Secret

    # the kubeconfig stays secret in the component's state too
    assert isinstance(components["cluster"].pop("kubeconfig"), Secret)
    assert components["cluster"] == {
        "clusterResourceGroup": n.cluster_resource_group,
        "resourceGroupName": n.resource_group,
        "clusterName": n.cluster,
        "oidcIssuerUrl": outputs["oidcIssuerUrl"],
    }


def _sdk_accepts_location(type_token: str) -> bool:
    """Whether the installed azure-native SDK's class for this type token takes `location`."""
    import importlib
    import inspect

    _, module, name = type_token.split(":")
    cls = getattr(importlib.import_module(f"pulumi_azure_native.{module}"), name)
    return "location" in inspect.signature(cls._internal_init).parameters


def test_every_azure_resource_with_a_region_is_placed_in_the_stacks_region(distinct_run: DistinctRun) -> None:
    """A resource whose SDK class takes `location` gets the stack's region explicitly: left
    out, azure-native falls back to the resource group's region, which for a group the stack
    did not create (resourceGroupName given) may be another one."""
    n, result = distinct_run.names, distinct_run.result
    regional = [r for r in result.records if r.type.startswith("azure-native:") and _sdk_accepts_location(r.type)]
    assert {r.type for r in regional} >= {"azure-native:keyvault:Vault", "azure-native:storage:StorageAccount"}
    for r in regional:
        assert r.inputs.get("location") == n.location, (r.type, r.name)


def test_the_cluster_is_looked_up_and_reached_by_its_own_group_and_name(distinct_run: DistinctRun) -> None:
    n, result = distinct_run.names, distinct_run.result
    group = result.one("azure-native:resources:ResourceGroup").inputs
    assert (group["resourceGroupName"], group["location"]) == (n.resource_group, n.location)
    if n.cluster_mode == "create":
        aks = result.one("azure-native:containerservice:ManagedCluster").inputs
        assert (aks["resourceName"], aks["resourceGroupName"]) == (n.cluster, n.resource_group)
    else:
        assert result.by_type("azure-native:containerservice:ManagedCluster") == []
        lookups = [a for t, a in result.mocks.invokes if t == "azure-native:containerservice:getManagedCluster"]
        assert lookups == [{"resourceGroupName": n.cluster_resource_group, "resourceName": n.cluster}]
    credentials = [a for t, a in result.mocks.invokes if t.endswith(":listManagedClusterUserCredentials")]
    assert credentials == [{"resourceGroupName": n.cluster_resource_group, "resourceName": n.cluster}]
    outputs = {k: v for k, (v, _) in result.outputs.items()}
    assert (outputs["resourceGroupName"], outputs["clusterName"], outputs["clusterResourceGroup"]) == (
        n.resource_group,
        n.cluster,
        n.cluster_resource_group,
    )


def test_images_come_from_this_stacks_registry_by_its_own_group(distinct_run: DistinctRun) -> None:
    n, result = distinct_run.names, distinct_run.result
    registries = [a for t, a in result.mocks.invokes if t == "azure-native:containerregistry:getRegistry"]
    assert registries == [{"registryName": n.acr, "resourceGroupName": n.acr_resource_group}]
    grant = next(r for r in result.by_type("azure-native:authorization:RoleAssignment") if r.name == "cluster-acr-pull")
    assert grant.inputs["scope"].endswith(
        f"/resourceGroups/{n.acr_resource_group}/providers/Microsoft.ContainerRegistry/registries/{n.acr}"
    )
    for chart in ("airflow", "external-secrets"):
        images = [
            c["image"]
            for o in _rendered(distinct_run, chart)
            if o.get("kind") in ("Deployment", "StatefulSet", "Job")
            for c in [
                *o["spec"]["template"]["spec"].get("initContainers", []),
                *o["spec"]["template"]["spec"]["containers"],
            ]
        ]
        assert images, chart
        assert [i for i in images if not i.startswith(n.registry_server + "/")] == [], chart


def _service_at(objs: list[dict[str, Any]], host: str, release_namespace: str) -> dict[str, Any] | None:
    """The rendered Service a cluster DNS name resolves to: `<svc>.<namespace>`, or `<svc>`
    in the pod's own namespace (Kubernetes DNS for Services)."""
    name, _, namespace = host.partition(".")
    namespace = namespace.removesuffix(".svc.cluster.local").removesuffix(".svc") or release_namespace
    for obj in objs:
        if obj["kind"] == "Service" and obj["metadata"]["name"] == name and obj["metadata"]["namespace"] == namespace:
            return obj
    return None


def test_credential_urls_reach_services_the_chart_renders(distinct_run: DistinctRun) -> None:
    """The database and broker URLs ESO assembles name hosts by `<service>.<namespace>`: each
    must be a Service the real chart renders, under the release's name, in the release's
    namespace, on a port it serves (a release/namespace swap names a Service nobody runs)."""
    n, result = distinct_run.names, distinct_run.result
    objs = _rendered(distinct_run)
    template = re.compile(r"\{\{[^}]*\}\}")
    checked = 0
    for es in result.by_type("kubernetes:external-secrets.io/v1:ExternalSecret"):
        for key, raw in ((es.inputs["spec"]["target"].get("template") or {}).get("data") or {}).items():
            text = template.sub("pw", raw)
            endpoints = [
                (u.hostname, u.port)
                for u in (urllib.parse.urlsplit(text),)
                if u.scheme in ("postgresql", "redis") and u.hostname not in ("127.0.0.1", "localhost")
            ]
            endpoints += [(h, int(p)) for h, p in re.findall(r"host=(\S+) .*?port=(\d+)", text)]
            for host, port in endpoints:
                service = _service_at(objs, str(host), n.namespace)
                assert service is not None, (es.name, key, host)
                assert port in {p["port"] for p in service["spec"]["ports"]}, (es.name, key, host, port)
                checked += 1
    assert checked >= 4  # metadata, two pgbouncer.ini databases, broker


def test_the_ui_port_forward_names_the_ui_service_where_it_runs(distinct_run: DistinctRun) -> None:
    n, result = distinct_run.names, distinct_run.result
    command = result.outputs["airflowUiPortForward"][0]
    assert command == f"kubectl port-forward svc/{n.airflow_release}-{n.ui_service} 8080:8080 --namespace {n.namespace}"
    match = re.fullmatch(r"kubectl port-forward svc/(\S+) (\d+):(\d+) --namespace (\S+)", command)
    assert match
    service = _service_at(_rendered(distinct_run), f"{match[1]}.{match[4]}", n.namespace)
    assert service is not None
    assert int(match[3]) in {p["port"] for p in service["spec"]["ports"]}
    outputs = {k: v for k, (v, _) in result.outputs.items()}
    assert (outputs["namespace"], outputs["airflowReleaseName"], outputs["serviceAccountName"]) == (
        n.namespace,
        n.airflow_release,
        n.service_account,
    )
    assert outputs["adminCredentialsSecret"]["namespace"] == n.namespace
    assert outputs["adminCredentialsSecret"]["username"] == n.admin_username


# ------------------------------------------------------------------ how long a first install may take
# pulumi-kubernetes: a Release without `timeout` waits 300 s (provider/pkg/provider/helm_release.go,
# `defaultTimeoutSeconds = 300`, applied when the input is absent).
PROVIDER_DEFAULT_TIMEOUT = 300
# Kubernetes documents the kubelet's retry delays: an image pull "with an increasing back-off
# delay ... until it reaches a compiled-in limit, which is 300 seconds (5 minutes)"
# (kubernetes.io/docs/concepts/containers/images/#imagepullbackoff); a failed container is
# restarted "with an exponential back-off delay (10s, 20s, 40s, ...), that is capped at five
# minutes" (kubernetes.io/docs/concepts/workloads/pods/pod-lifecycle/#container-restarts).
BACKOFF_FIRST = 10
BACKOFF_CAP = 300


def _backoff_ladder() -> int:
    """The kubelet's delays from the first retry until the first capped one: 10+20+...+300."""
    delays, delay = [], BACKOFF_FIRST
    while delay < BACKOFF_CAP:
        delays.append(delay)
        delay *= 2
    return sum(delays) + BACKOFF_CAP


def _timeout(release: ResourceRecord) -> int:
    return int(release.inputs.get("timeout", PROVIDER_DEFAULT_TIMEOUT))


def test_the_operator_release_outlasts_the_image_pull_back_off(distinct_run: DistinctRun) -> None:
    """The operator's pods are the first to pull from the registry after the kubelet's AcrPull
    grant is created (the release depends on it): while the grant propagates every pull fails,
    and the kubelet backs off. The release must still be waiting when the kubelet retries at
    its capped delay, or a first install fails on a grant that is merely slow."""
    eso = _release(distinct_run.result, "external-secrets")
    assert "azure-native:authorization:RoleAssignment::cluster-acr-pull" in deps_of(distinct_run.result, eso)
    assert _timeout(eso) >= _backoff_ladder() == 610


def test_the_airflow_release_outlasts_the_migrations_its_pods_wait_for(distinct_run: DistinctRun) -> None:
    """The release waits for every component to be Ready; each waits in an init container
    for the schema the migration Job creates, for the chart's rendered timeout, then fails and
    is restarted by the kubelet. A first install must allow, in a row: one capped image-pull
    back-off, the wait as rendered, one capped restart back-off, and the migration Job's own
    deadline if the chart renders one (read off the real render, not the code)."""
    release = _release(distinct_run.result, "airflow")
    objs = _rendered(distinct_run)
    waits = {
        int(arg.split("=", 1)[1])
        for o in workloads(objs)
        for c in o["spec"]["template"]["spec"].get("initContainers") or []
        for arg in [*(c.get("command") or []), *(c.get("args") or [])]
        if arg.startswith("--migration-wait-timeout=")
    }
    assert len(waits) == 1, waits  # every component waits the same (images.migrationsWaitTimeout)
    (wait,) = waits
    (migrations,) = [
        o for o in objs if o["kind"] == "Job" and o["metadata"]["name"].endswith("-run-airflow-migrations")
    ]
    deadline = migrations["spec"].get("activeDeadlineSeconds", 0)
    needed = BACKOFF_CAP + wait + BACKOFF_CAP + deadline
    assert needed > PROVIDER_DEFAULT_TIMEOUT  # the provider's default would not do
    assert _timeout(release) >= needed


def test_prod_releases_wait_for_the_pool_their_pods_run_on(prod_run: RunResult) -> None:
    """prod's system pool is tainted CriticalAddonsOnly: until the user pool exists, a release's
    pods have no node, and the release would spend its timeout Pending."""
    (pool,) = prod_run.by_type("azure-native:containerservice:AgentPool")
    for release in prod_run.by_type("kubernetes:helm.sh/v3:Release"):
        assert f"{pool.type}::{pool.name}" in deps_of(prod_run, release), release.name

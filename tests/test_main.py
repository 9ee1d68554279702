"""The whole stack program (__main__.py) under the mocks.

The dev stack (Pulumi.dev.yaml = the article): graph, wiring, order, secrets. Then every stack
file: synth passes, no policy violation, no unmarked secret, the output contract holds.
"""

from collections import Counter
from pathlib import Path

import pytest

from config import parse_settings
from policy.rules import PolicyConfig, PolicyResource, evaluate
from synth.__main__ import main
from synth.project import load_stack_config, stacks
from synth.runner import RunResult, run_stack
from tests.helpers import deps_of, secret_paths, unmarked_leaks

OUTPUT_CONTRACT = {
    "resourceGroupName",
    "clusterName",
    "clusterResourceGroup",
    "oidcIssuerUrl",
    "kubeconfig",
    "namespace",
    "serviceAccountName",
    "identityClientId",
    "identityPrincipalId",
    "keyVaultName",
    "keyVaultUri",
    "logsStorageAccount",
    "logsContainer",
    "airflowReleaseName",
    "airflowUiPortForward",
    "adminCredentialsSecret",
}


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


def test_children_are_parented_and_kubernetes_objects_use_the_cluster_provider(dev: RunResult) -> None:
    components = {r.urn for r in dev.records if not r.custom}
    provider = dev.one("pulumi:providers:kubernetes").urn
    for rec in dev.records:
        if rec.custom:
            assert rec.parent in components, rec.name
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
    assert set(dev.outputs) == OUTPUT_CONTRACT
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
    assert set(result.outputs) == OUTPUT_CONTRACT
    release = next(r for r in result.by_type("kubernetes:helm.sh/v3:Release") if r.inputs["chart"] == "airflow")
    assert release.inputs["values"]["executor"] == settings.executor


def test_prod_protects_everything_that_holds_data(prod_run: RunResult) -> None:
    from policy.rules import STATEFUL_TYPES

    result = prod_run
    stateful = [r for r in result.records if r.type in STATEFUL_TYPES]
    assert {r.type for r in stateful} == {
        "azure-native:resources:ResourceGroup",
        "azure-native:containerservice:ManagedCluster",
        "azure-native:keyvault:Vault",
        "azure-native:storage:StorageAccount",
        "azure-native:storage:BlobContainer",
        "kubernetes:core/v1:PersistentVolume",
        "kubernetes:core/v1:PersistentVolumeClaim",
    }
    assert all(r.protect for r in stateful), [r.name for r in stateful if not r.protect]
    # ... and nothing else: a protected Helm release or secret would block ordinary updates
    assert {r.name for r in result.records if r.protect} == {r.name for r in stateful}


def test_prod_without_protection_fails_the_policy(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import yaml

    from synth.project import PROJECT_DIR

    text = (PROJECT_DIR / "Pulumi.prod.yaml").read_text()
    data = yaml.safe_load(text)
    data["config"]["airflow-aks:protectStatefulResources"] = False
    path = tmp_path / "Pulumi.prod.yaml"
    path.write_text(yaml.safe_dump(data))
    assert main(["prod", "--stack-file", str(path), "--no-write"]) == 1
    out = capsys.readouterr().out
    assert out.count("MANDATORY [stateful-resources-protected]") == 7
    assert "Vault keyvault-vault holds data in stack 'prod' but is not protected" in out


def test_prod_celery_credentials_come_from_key_vault_through_eso(prod_run: RunResult) -> None:
    """prod runs Airflow 3 with Celery and Kubernetes executors side by side: the API secret key and
    JWT secret replace the webserver key, and the Redis password and broker URL join the database's."""
    result = prod_run
    targets = {
        es.inputs["spec"]["target"]["name"] for es in result.by_type("kubernetes:external-secrets.io/v1:ExternalSecret")
    }
    assert targets == {
        "airflow-logs-storage",
        "airflow-admin",
        "airflow-api-secret-key",
        "airflow-jwt-secret",
        "airflow-fernet-key",
        "airflow-postgresql-auth",
        "airflow-metadata-connection",
        "airflow-pgbouncer-auth",
        "airflow-pgbouncer-exporter",
        "airflow-redis-auth",
        "airflow-celery-broker",
    }
    vault = {r.inputs["secretName"] for r in result.by_type("azure-native:keyvault:Secret")}
    assert {"airflow-postgres-password", "airflow-redis-password"} <= vault
    release = next(r for r in result.by_type("kubernetes:helm.sh/v3:Release") if r.inputs["chart"] == "airflow")
    values = release.inputs["values"]
    assert values["redis"]["passwordSecretName"] == "airflow-redis-auth"
    assert values["data"]["brokerUrlSecretName"] == "airflow-celery-broker"
    assert (
        sum(d.startswith("urn:pulumi:prod::airflow-aks::") and "ExternalSecret::" in d for d in release.dependencies)
        == 11
    )


def test_synth_lists_what_is_protected(capsys: pytest.CaptureFixture[str]) -> None:
    import json

    assert main(["prod", "--json", "--no-write"]) == 0
    protected = json.loads(capsys.readouterr().out)["protected"]
    assert "azure-native:keyvault:Vault keyvault-vault" in protected
    assert len(protected) == 7
    assert main(["dev", "--json", "--no-write"]) == 0
    assert json.loads(capsys.readouterr().out)["protected"] == []

"""Cluster component under the mocks: AKS as the article series builds it, or an existing one."""

import base64

import pytest
import yaml
from helpers import deps_of, is_secret_output, resolve, run_component, settings_for

from components.cluster import (
    ACR_PULL_ROLE_ID,
    AKS_AAD_SERVER_ID,
    AKS_RBAC_CLUSTER_ADMIN_ROLE_ID,
    Cluster,
    ClusterArgs,
    azurecli_kubeconfig,
    deployer_principal_type,
)
from synth.mocks import DEPLOYER_OBJECT_ID, SUBSCRIPTION_ID, TENANT_ID, AzureMocks, Secret, exec_kubeconfig_for
from synth.runner import run


def _create():
    return run_component(
        lambda: Cluster("cluster", ClusterArgs(settings=settings_for(), subscription_id=SUBSCRIPTION_ID))
    )


def test_aks_has_oidc_workload_identity_and_blob_csi() -> None:
    result, _ = _create()
    aks = result.one("azure-native:containerservice:ManagedCluster").inputs
    assert aks["oidcIssuerProfile"] == {"enabled": True}
    assert aks["securityProfile"]["workloadIdentity"] == {"enabled": True}
    assert aks["storageProfile"]["blobCSIDriver"] == {"enabled": True}
    assert aks["sku"] == {"name": "Base", "tier": "Standard"}
    assert aks["networkProfile"]["networkPlugin"] == "azure"
    assert aks["autoUpgradeProfile"] == {"upgradeChannel": "stable", "nodeOSUpgradeChannel": "NodeImage"}
    pool = aks["agentPoolProfiles"][0]
    assert pool["availabilityZones"] == ["1", "2", "3"]
    assert pool["count"] == 3
    assert pool["mode"] == "System"
    assert aks["resourceName"] == "airflow-dev-aks"


def test_kubelet_identity_gets_acr_pull_on_the_configured_registry() -> None:
    result, _ = _create()
    grant = result.one("azure-native:authorization:RoleAssignment")
    assert grant.inputs["scope"].endswith(
        "/resourceGroups/airflow-dev-shared-rg/providers/Microsoft.ContainerRegistry/registries/airflowdevacr"
    )
    assert grant.inputs["roleDefinitionId"].endswith(f"/roleDefinitions/{ACR_PULL_ROLE_ID}")
    assert grant.inputs["principalType"] == "ServicePrincipal"
    kubelet = result.one("azure-native:containerservice:ManagedCluster").state["identityProfile"]["kubeletidentity"]
    assert grant.inputs["principalId"] == kubelet["objectId"]
    assert "azure-native:containerservice:ManagedCluster::cluster-aks" in deps_of(result, grant)
    assert (
        "azure-native:containerregistry:getRegistry",
        {"registryName": "airflowdevacr", "resourceGroupName": "airflow-dev-shared-rg"},
    ) in result.mocks.invokes


def test_kubeconfig_comes_from_list_credentials_and_stays_secret() -> None:
    result, cluster = _create()
    assert is_secret_output(cluster.kubeconfig)
    kubeconfig = resolve(cluster.kubeconfig)
    assert "current-context: airflow-dev-aks" in kubeconfig
    provider = result.one("pulumi:providers:kubernetes")
    assert isinstance(provider.inputs["kubeconfig"], Secret)
    assert provider.inputs["kubeconfig"].value == kubeconfig
    listed = [
        args
        for token, args in result.mocks.invokes
        if token == "azure-native:containerservice:listManagedClusterUserCredentials"
    ]
    assert listed == [{"resourceGroupName": "airflow-dev-rg", "resourceName": "airflow-dev-aks"}]
    assert base64.b64encode(kubeconfig.encode()).decode() in result.mocks.sensitive_values


def test_oidc_issuer_is_the_clusters() -> None:
    result, cluster = _create()
    aks = result.one("azure-native:containerservice:ManagedCluster")
    assert resolve(cluster.oidc_issuer_url) == aks.state["oidcIssuerProfile"]["issuerURL"]
    assert resolve(cluster.oidc_issuer_url).startswith("https://eastus.oic.prod-aks.azure.com/")


def test_existing_cluster_is_looked_up_not_created() -> None:
    settings = settings_for(clusterMode="existing", clusterName="shared-aks", clusterResourceGroup="platform-rg")
    result, cluster = run_component(
        lambda: Cluster("cluster", ClusterArgs(settings=settings, subscription_id=SUBSCRIPTION_ID))
    )
    assert result.by_type("azure-native:containerservice:ManagedCluster") == []
    assert result.by_type("azure-native:authorization:RoleAssignment") == []
    assert resolve(cluster.cluster_name) == "shared-aks"
    assert resolve(cluster.cluster_resource_group) == "platform-rg"
    assert resolve(cluster.oidc_issuer_url) == result.mocks.issuer_url("shared-aks")
    assert result.one("azure-native:resources:ResourceGroup").inputs["resourceGroupName"] == "airflow-dev-rg"


def test_existing_cluster_without_workload_identity_is_a_clear_error() -> None:
    settings = settings_for(clusterMode="existing", clusterName="old-aks", clusterResourceGroup="platform-rg")
    mocks = AzureMocks(existing_cluster={"oidcIssuerProfile": {"enabled": False}, "securityProfile": {}})

    def program() -> None:
        Cluster("cluster", ClusterArgs(settings=settings, subscription_id=SUBSCRIPTION_ID))

    with pytest.raises(Exception, match="enable the OIDC issuer and workload identity"):
        run(program, "airflow-aks", "test", {}, mocks=mocks)


# ------------------------------------------------------------------ clusterAuth=entra
def _entra(**overrides: str):
    settings = settings_for(clusterAuth="entra", **overrides)
    return run_component(
        lambda: Cluster(
            "cluster",
            ClusterArgs(
                settings=settings,
                subscription_id=SUBSCRIPTION_ID,
                tenant_id=TENANT_ID,
                deployer_object_id=DEPLOYER_OBJECT_ID,
                deployer_client_id="04b07795-8ddb-461a-bbee-02f9e1bf7b46",  # a person, through `az login`
            ),
        )
    )


def test_entra_cluster_has_azure_rbac_and_no_local_accounts() -> None:
    result, _ = _entra()
    aks = result.one("azure-native:containerservice:ManagedCluster").inputs
    assert aks["aadProfile"] == {"managed": True, "enableAzureRBAC": True, "tenantID": TENANT_ID}
    assert aks["disableLocalAccounts"] is True
    local, _ = _create()
    assert "aadProfile" not in local.one("azure-native:containerservice:ManagedCluster").inputs


def test_entra_deployer_is_cluster_admin_before_the_provider_is_used() -> None:
    result, _ = _entra()
    grants = {r.name: r for r in result.by_type("azure-native:authorization:RoleAssignment")}
    admin = grants["cluster-cluster-admins"].inputs
    aks = result.one("azure-native:containerservice:ManagedCluster")
    assert admin["scope"] == aks.state["id"]  # the one cluster, not its group or the subscription
    assert admin["roleDefinitionId"].endswith(f"/roleDefinitions/{AKS_RBAC_CLUSTER_ADMIN_ROLE_ID}")
    assert admin["principalId"] == DEPLOYER_OBJECT_ID
    assert admin["principalType"] == "User"
    provider = result.one("pulumi:providers:kubernetes")
    assert "azure-native:authorization:RoleAssignment::cluster-cluster-admins" in deps_of(result, provider)


def test_entra_admin_group_gets_the_grant_instead_of_whoever_deploys() -> None:
    group = "5b6c3a1e-9d5f-4c2b-8f0e-2a7d9c1b3e4f"
    result, _ = _entra(clusterAdminGroupObjectId=group)
    admin = next(
        r.inputs
        for r in result.by_type("azure-native:authorization:RoleAssignment")
        if r.name == "cluster-cluster-admins"
    )
    assert admin["principalId"] == group
    assert admin["principalType"] == "Group"
    assert DEPLOYER_OBJECT_ID not in repr(
        [r.inputs for r in result.by_type("azure-native:authorization:RoleAssignment")]
    )


def test_entra_kubeconfig_uses_kubelogin_with_the_azure_cli_login() -> None:
    result, cluster = _entra()
    listed = [a for t, a in result.mocks.invokes if t.endswith(":listManagedClusterUserCredentials")]
    assert listed == [{"resourceGroupName": "airflow-dev-rg", "resourceName": "airflow-dev-aks", "format": "exec"}]
    assert is_secret_output(cluster.kubeconfig)
    config = yaml.safe_load(resolve(cluster.kubeconfig))
    exec_ = config["users"][0]["user"]["exec"]
    assert exec_["command"] == "kubelogin"
    assert exec_["args"] == ["get-token", "--login", "azurecli", "--server-id", AKS_AAD_SERVER_ID]
    assert "token" not in config["users"][0]["user"]


def test_azurecli_kubeconfig_keeps_everything_but_the_login() -> None:
    original = yaml.safe_load(exec_kubeconfig_for("c1", "eastus"))
    converted = yaml.safe_load(azurecli_kubeconfig(exec_kubeconfig_for("c1", "eastus")))
    assert converted["clusters"] == original["clusters"]
    assert converted["contexts"] == original["contexts"]
    assert "--login" in original["users"][0]["user"]["exec"]["args"]
    assert original["users"][0]["user"]["exec"]["args"][-1] == "devicecode"
    assert converted["users"][0]["user"]["exec"]["args"][-3:] == ["azurecli", "--server-id", AKS_AAD_SERVER_ID]
    # a token kubeconfig passes through unchanged
    token = "apiVersion: v1\nusers:\n- name: u\n  user:\n    token: abc\n"
    assert yaml.safe_load(azurecli_kubeconfig(token)) == yaml.safe_load(token)


def test_entra_with_an_existing_cluster_creates_no_grant_but_uses_kubelogin() -> None:
    result, cluster = _entra(clusterMode="existing", clusterName="shared-aks", clusterResourceGroup="platform-rg")
    assert result.by_type("azure-native:authorization:RoleAssignment") == []
    assert yaml.safe_load(resolve(cluster.kubeconfig))["users"][0]["user"]["exec"]["args"][2] == "azurecli"


@pytest.mark.parametrize(
    ("client_id", "expected"),
    [
        ("04b07795-8ddb-461a-bbee-02f9e1bf7b46", "User"),  # az login as a person
        ("04B07795-8DDB-461A-BBEE-02F9E1BF7B46", "User"),
        ("3f1c8a2e-0000-4000-8000-000000000001", "ServicePrincipal"),  # CI: an app registration or identity
    ],
)
def test_the_deployers_principal_type_follows_how_it_signed_in(client_id: str, expected: str) -> None:
    assert deployer_principal_type(client_id) == expected

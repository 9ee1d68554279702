"""Cluster component under the mocks: AKS as the article series builds it, or an existing one."""

import base64

import pytest
from helpers import deps_of, is_secret_output, resolve, run_component, settings_for

from components.cluster import ACR_PULL_ROLE_ID, Cluster, ClusterArgs
from synth.mocks import SUBSCRIPTION_ID, AzureMocks, Secret
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

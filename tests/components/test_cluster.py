"""Cluster component under the mocks: AKS as the article series builds it, or an existing one."""

import base64

import pytest
import yaml

from components.cluster import (
    Cluster,
    ClusterArgs,
    azurecli_kubeconfig,
    deployer_principal_type,
)
from synth.mocks import DEPLOYER_OBJECT_ID, SUBSCRIPTION_ID, TENANT_ID, AzureMocks, Secret, exec_kubeconfig_for
from synth.reference import load_json
from synth.runner import run
from tests.helpers import deps_of, is_secret_output, resolve, run_component, settings_for

# Role ids from Microsoft's table (the reference), by name: never the code's own constants.
_ROLES = load_json("azure/built-in-roles.json")["roles"]
# The application id of "Azure Kubernetes Service AAD Server", the audience AKS puts in the
# `--server-id` of every Entra kubeconfig it returns (Microsoft's AKS-managed Entra ID docs;
# kubelogin's README), here as AKS returns it (the mocks' exec kubeconfig).
_AKS_RETURNED_ARGS = yaml.safe_load(exec_kubeconfig_for("c1", "eastus"))["users"][0]["user"]["exec"]["args"]
AKS_SERVER_ID = _AKS_RETURNED_ARGS[_AKS_RETURNED_ARGS.index("--server-id") + 1]


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


def test_a_zonal_cluster_sits_behind_the_standard_load_balancer() -> None:
    """Nodes spread over availability zones need the Standard load balancer: Basic has no zone
    support and was retired on 30 September 2025 (learn.microsoft.com/azure/aks/availability-zones,
    /azure/load-balancer/skus). Stated in the request, not left to an API version's default."""
    from pulumi_azure_native import containerservice

    result, _ = _create()
    aks = result.one("azure-native:containerservice:ManagedCluster").inputs
    assert len(aks["agentPoolProfiles"][0]["availabilityZones"]) > 1
    assert aks["networkProfile"]["loadBalancerSku"] == containerservice.LoadBalancerSku.STANDARD.value


def test_kubelet_identity_gets_acr_pull_on_the_configured_registry() -> None:
    result, _ = _create()
    grant = result.one("azure-native:authorization:RoleAssignment")
    assert grant.name == "cluster-acr-pull"
    assert grant.inputs["scope"].endswith(
        "/resourceGroups/airflow-dev-shared-rg/providers/Microsoft.ContainerRegistry/registries/airflowdevacr"
    )
    assert grant.inputs["roleDefinitionId"] == (
        f"/subscriptions/{SUBSCRIPTION_ID}/providers/Microsoft.Authorization/roleDefinitions/{_ROLES['AcrPull']}"
    )
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
    assert resolve(cluster.cluster_name) == "shared-aks"
    assert resolve(cluster.cluster_resource_group) == "platform-rg"
    assert resolve(cluster.oidc_issuer_url) == result.mocks.issuer_url("shared-aks")
    assert result.one("azure-native:resources:ResourceGroup").inputs["resourceGroupName"] == "airflow-dev-rg"


def test_an_existing_cluster_attached_to_the_registry_gets_no_second_grant() -> None:
    """Azure refuses an identical role assignment (RoleAssignmentExists): grantAcrPull=false."""
    settings = settings_for(
        clusterMode="existing", clusterName="shared-aks", clusterResourceGroup="platform-rg", grantAcrPull="false"
    )
    result, cluster = run_component(
        lambda: Cluster("cluster", ClusterArgs(settings=settings, subscription_id=SUBSCRIPTION_ID))
    )
    assert result.by_type("azure-native:authorization:RoleAssignment") == []
    assert cluster.image_pull_access == []
    assert not [t for t, _ in result.mocks.invokes if t.endswith(":getRegistry")]


def test_existing_clusters_kubelet_identity_gets_acr_pull() -> None:
    settings = settings_for(clusterMode="existing", clusterName="shared-aks", clusterResourceGroup="platform-rg")
    result, _ = run_component(
        lambda: Cluster("cluster", ClusterArgs(settings=settings, subscription_id=SUBSCRIPTION_ID))
    )
    grant = result.one("azure-native:authorization:RoleAssignment")
    kubelet = result.mocks.cluster_state("shared-aks", "platform-rg", "eastus")["identityProfile"]["kubeletidentity"]
    assert grant.inputs["principalId"] == kubelet["objectId"]
    assert grant.inputs["roleDefinitionId"].endswith(f"/roleDefinitions/{_ROLES['AcrPull']}")
    assert grant.inputs["scope"].endswith("/registries/airflowdevacr")


_MISSING_FEATURES = {
    "oidcIssuerProfile": ({"oidcIssuerProfile": {"enabled": False}}, "the OIDC issuer is off"),
    "workloadIdentity": ({"securityProfile": {}}, "workload identity is off"),
    "blobCSIDriver": ({"storageProfile": {"blobCSIDriver": {"enabled": False}}}, "the Blob CSI driver is off"),
    "kubeletIdentity": ({"identityProfile": None}, "no kubelet managed identity to grant AcrPull to"),
}


def _existing(mocks: AzureMocks) -> None:
    settings = settings_for(clusterMode="existing", clusterName="old-aks", clusterResourceGroup="platform-rg")

    def program() -> None:
        Cluster("cluster", ClusterArgs(settings=settings, subscription_id=SUBSCRIPTION_ID))

    run(program, "airflow-aks", "test", {}, mocks=mocks)


@pytest.mark.parametrize("feature", sorted(_MISSING_FEATURES))
def test_existing_cluster_lacking_a_feature_is_a_clear_error(feature: str) -> None:
    state, message = _MISSING_FEATURES[feature]
    with pytest.raises(Exception, match=f"existing cluster old-aks cannot host this stack: (it has )?{message}"):
        _existing(AzureMocks(existing_cluster=state))


# Each capability the stack relies on, missing ALONE (everything else as a healthy AKS reports
# it), in each shape ARM returns it: the flag false, or the whole profile absent.
_SINGLE_MISSING = {
    "oidc-issuer-disabled": ({"oidcIssuerProfile": {"enabled": False}}, "the OIDC issuer is off"),
    "oidc-issuer-absent": ({"oidcIssuerProfile": None}, "the OIDC issuer is off"),
    "oidc-issuer-without-url": ({"oidcIssuerProfile": {"enabled": True, "issuerURL": ""}}, "the OIDC issuer is off"),
    "workload-identity-disabled": (
        {"securityProfile": {"workloadIdentity": {"enabled": False}}},
        "workload identity is off",
    ),
    "workload-identity-unset": ({"securityProfile": {"workloadIdentity": None}}, "workload identity is off"),
    "security-profile-absent": ({"securityProfile": None}, "workload identity is off"),
    "blob-csi-disabled": ({"storageProfile": {"blobCSIDriver": {"enabled": False}}}, "the Blob CSI driver is off"),
    "storage-profile-absent": ({"storageProfile": None}, "the Blob CSI driver is off"),
    "no-identity-profile": ({"identityProfile": None}, "no kubelet managed identity"),
    "kubelet-identity-without-object-id": (
        {"identityProfile": {"kubeletidentity": {"clientId": "c1b2a3d4-0000-4000-8000-000000000001"}}},
        "no kubelet managed identity",
    ),
}


def _problems_of(state: dict) -> list[str]:
    """The problems the run stops with for an existing cluster reporting `state` ([] if it runs)."""
    try:
        _existing(AzureMocks(existing_cluster=state))
    except Exception as err:  # noqa: BLE001 - the engine wraps the program's RunError
        text = str(err)
        prefix = "existing cluster old-aks cannot host this stack: "
        assert prefix in text, text
        return text.split(prefix, 1)[1].splitlines()[0].split("; ")
    return []


def test_an_existing_cluster_with_every_capability_runs() -> None:
    assert _problems_of({}) == []


@pytest.mark.parametrize("case", sorted(_SINGLE_MISSING))
def test_each_missing_capability_alone_stops_the_run(case: str) -> None:
    """One capability missing is enough: the run stops, naming that one and nothing else
    (a guard that needed two of them missing, `and` for `or`, would let this cluster pass)."""
    state, message = _SINGLE_MISSING[case]
    problems = _problems_of(state)
    assert len(problems) == 1, problems
    assert message in problems[0]


def test_existing_cluster_errors_name_every_missing_feature_at_once() -> None:
    state: dict = {}
    for part, _ in _MISSING_FEATURES.values():
        state.update(part)
    with pytest.raises(Exception, match="cannot host this stack") as err:
        _existing(AzureMocks(existing_cluster=state))
    for _, message in _MISSING_FEATURES.values():
        assert message in str(err.value)


def test_protect_covers_the_group_and_the_cluster() -> None:
    settings = settings_for()
    result, _ = run_component(
        lambda: Cluster("cluster", ClusterArgs(settings=settings, subscription_id=SUBSCRIPTION_ID, protect=True))
    )
    assert {r.type for r in result.records if r.protect} == {
        "azure-native:resources:ResourceGroup",
        "azure-native:containerservice:ManagedCluster",
    }
    unprotected, _ = _create()
    assert [r.name for r in unprotected.records if r.protect] == []


def test_minor_upgrade_channels_leave_the_version_to_aks() -> None:
    for channel, ignored in (("stable", True), ("rapid", True), ("patch", False), ("none", False)):
        settings = settings_for(autoUpgradeChannel=channel)
        result, _ = run_component(
            lambda s=settings: Cluster("cluster", ClusterArgs(settings=s, subscription_id=SUBSCRIPTION_ID))
        )
        aks = result.one("azure-native:containerservice:ManagedCluster")
        assert ("kubernetesVersion" in aks.ignore_changes) is ignored, channel


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
    assert admin["roleDefinitionId"].endswith(
        f"/roleDefinitions/{_ROLES['Azure Kubernetes Service RBAC Cluster Admin']}"
    )
    assert admin["principalId"] == DEPLOYER_OBJECT_ID
    assert admin["principalType"] == "User"


def test_entra_provider_waits_for_the_grant_to_reach_the_api_server() -> None:
    result, _ = _entra()
    wait = result.one("time:index/sleep:Sleep")
    # "New role assignments can take up to five minutes to propagate and be updated by the
    # authorization server" (learn.microsoft.com/azure/aks/manage-azure-rbac)
    assert wait.inputs["createDuration"] == "300s"
    grant = next(r for r in result.by_type("azure-native:authorization:RoleAssignment") if r.name.endswith("admins"))
    # a new grant (another group, another deployer) is a new id: the wait runs again
    assert wait.inputs["triggers"] == {
        "grant": f"{grant.inputs['scope']}/providers/Microsoft.Authorization/roleAssignments/{grant.state['name']}"
    }
    assert "azure-native:authorization:RoleAssignment::cluster-cluster-admins" in deps_of(result, wait)
    provider = result.one("pulumi:providers:kubernetes")
    assert "time:index/sleep:Sleep::cluster-rbac-propagation" in deps_of(result, provider)
    local, _ = _create()
    assert local.by_type("time:index/sleep:Sleep") == []


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
    assert exec_["args"] == ["get-token", "--login", "azurecli", "--server-id", AKS_SERVER_ID]
    assert "token" not in config["users"][0]["user"]


def test_azurecli_kubeconfig_keeps_everything_but_the_login() -> None:
    original = yaml.safe_load(exec_kubeconfig_for("c1", "eastus"))
    converted = yaml.safe_load(azurecli_kubeconfig(exec_kubeconfig_for("c1", "eastus")))
    assert converted["clusters"] == original["clusters"]
    assert converted["contexts"] == original["contexts"]
    assert "--login" in original["users"][0]["user"]["exec"]["args"]
    assert original["users"][0]["user"]["exec"]["args"][-1] == "devicecode"
    assert converted["users"][0]["user"]["exec"]["args"][-3:] == ["azurecli", "--server-id", AKS_SERVER_ID]
    assert AKS_SERVER_ID == "6dae42f8-4368-4678-94ff-3960e28e3630"
    # a kubeconfig that names another server id (a sovereign cloud) keeps it
    sovereign = exec_kubeconfig_for("c1", "eastus").replace(AKS_SERVER_ID, "11111111-2222-4333-8444-555555555555")
    args = yaml.safe_load(azurecli_kubeconfig(sovereign))["users"][0]["user"]["exec"]["args"]
    assert args[-2:] == ["--server-id", "11111111-2222-4333-8444-555555555555"]
    # a token kubeconfig passes through unchanged
    token = "apiVersion: v1\nusers:\n- name: u\n  user:\n    token: abc\n"
    assert yaml.safe_load(azurecli_kubeconfig(token)) == yaml.safe_load(token)


def test_entra_with_an_existing_cluster_grants_no_admin_but_uses_kubelogin() -> None:
    result, cluster = _entra(clusterMode="existing", clusterName="shared-aks", clusterResourceGroup="platform-rg")
    assert [r.name for r in result.by_type("azure-native:authorization:RoleAssignment")] == ["cluster-acr-pull"]
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


# ------------------------------------------------------------ the stack's own network (issue 12)
def _named(result, typ: str, name: str) -> list:
    return [r for r in result.by_type(typ) if r.name == name]


def _placed(**overrides: str):
    from plan import build_plan

    settings = settings_for(**overrides)
    plan = build_plan(settings)
    result, cluster = run_component(
        lambda: Cluster(
            "cluster", ClusterArgs(settings=settings, subscription_id=SUBSCRIPTION_ID, network=plan.network)
        )
    )
    return result, cluster, plan


def test_a_cluster_in_the_stacks_vnet_joins_its_node_subnet_with_an_identity_granted_first() -> None:
    result, cluster, plan = _placed(networkMode="create")
    assert plan.network is not None
    aks = result.one("azure-native:containerservice:ManagedCluster")
    identity = result.one("azure-native:managedidentity:UserAssignedIdentity")
    (grant,) = _named(result, "azure-native:authorization:RoleAssignment", "cluster-subnet-join")
    subnet_id = resolve(cluster.network.node_subnet_id)
    assert subnet_id.endswith(f"/subnets/{plan.network.node_subnet_name}")

    assert identity.inputs["resourceName"] == plan.network.cluster_identity == "airflow-dev-aks-identity"
    # Microsoft's role table, by name: the role AKS documents for a BYO subnet, on that subnet only
    assert grant.inputs["roleDefinitionId"].endswith(f"/roleDefinitions/{_ROLES['Network Contributor']}")
    assert grant.inputs["scope"] == subnet_id
    assert grant.inputs["principalId"] == identity.state["principalId"]
    assert grant.inputs["principalType"] == "ServicePrincipal"
    # the control plane is that identity, and the cluster waits for its grant
    (uid,) = aks.inputs["identity"].pop("userAssignedIdentities")
    assert aks.inputs["identity"] == {"type": "UserAssigned"}
    assert uid.endswith(f"/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{plan.network.cluster_identity}")
    assert "azure-native:authorization:RoleAssignment::cluster-subnet-join" in deps_of(result, aks)
    assert aks.inputs["agentPoolProfiles"][0]["vnetSubnetID"] == subnet_id


def test_the_cluster_network_is_overlay_with_cilium_and_its_ranges_do_not_collide() -> None:
    import ipaddress

    result, _, plan = _placed(networkMode="create", vnetAddressSpace="10.90.0.0/16")
    assert plan.network is not None
    profile = result.one("azure-native:containerservice:ManagedCluster").inputs["networkProfile"]
    assert (profile["networkPlugin"], profile["networkPluginMode"]) == ("azure", "overlay")
    assert (profile["networkDataplane"], profile["networkPolicy"]) == ("cilium", "cilium")
    pods, services = ipaddress.ip_network(profile["podCidr"]), ipaddress.ip_network(profile["serviceCidr"])
    vnet = ipaddress.ip_network("10.90.0.0/16")
    # AKS refuses overlapping ranges, and a DNS service address outside the service range
    assert not pods.overlaps(services)
    assert not pods.overlaps(vnet)
    assert not services.overlaps(vnet)
    dns = ipaddress.ip_address(profile["dnsServiceIP"])
    assert dns in services
    assert dns not in (services.network_address, services.broadcast_address)


def test_the_overlay_ranges_are_the_aks_apis_own_defaults() -> None:
    """The pod, service and DNS addresses the stack states (and config checks a VNet against)
    are the defaults the AKS API spec gives them, as the installed SDK fills them in."""
    from pulumi_azure_native import containerservice

    from config import DNS_SERVICE_IP, POD_CIDR, SERVICE_CIDR

    defaults = containerservice.ContainerServiceNetworkProfileArgs()
    assert (defaults.pod_cidr, defaults.service_cidr, defaults.dns_service_ip) == (
        POD_CIDR,
        SERVICE_CIDR,
        DNS_SERVICE_IP,
    )


def test_an_existing_subnet_is_joined_as_given() -> None:
    subnet = (
        "/subscriptions/00000000-0000-0000-0000-00000000c0de/resourceGroups/hub-rg"
        "/providers/Microsoft.Network/virtualNetworks/hub-vnet/subnets/aks"
    )
    result, _, _ = _placed(networkMode="existing", nodeSubnetId=subnet)
    assert result.by_type("azure-native:network:VirtualNetwork") == []
    aks = result.one("azure-native:containerservice:ManagedCluster").inputs
    assert aks["agentPoolProfiles"][0]["vnetSubnetID"] == subnet
    (grant,) = _named(result, "azure-native:authorization:RoleAssignment", "cluster-subnet-join")
    assert grant.inputs["scope"] == subnet


def test_aks_managed_networking_is_the_articles_cluster_unchanged() -> None:
    result, cluster, plan = _placed()
    assert plan.network is None
    assert cluster.network is None
    aks = result.one("azure-native:containerservice:ManagedCluster").inputs
    assert aks["identity"] == {"type": "SystemAssigned"}
    assert "vnetSubnetID" not in aks["agentPoolProfiles"][0]
    profile = aks["networkProfile"]
    assert (profile["networkPlugin"], profile["loadBalancerSku"]) == ("azure", "standard")
    assert {"networkPluginMode", "networkDataplane", "networkPolicy"}.isdisjoint(profile)
    assert "apiServerAccessProfile" not in aks
    assert result.by_type("azure-native:managedidentity:UserAssignedIdentity") == []


def test_authorized_ranges_restrict_the_api_server() -> None:
    result, _, _ = _placed(apiServerAuthorizedIpRanges='["203.0.113.7", "198.51.100.0/24"]')
    aks = result.one("azure-native:containerservice:ManagedCluster").inputs
    assert aks["apiServerAccessProfile"] == {"authorizedIPRanges": ["203.0.113.7", "198.51.100.0/24"]}


# ------------------------------------------------------------ an autoscaling pool for Airflow (issue 12)
def test_a_user_pool_autoscales_and_the_system_pool_keeps_to_critical_add_ons() -> None:
    result, cluster, _ = _placed(networkMode="create", userPoolMinCount="3", userPoolMaxCount="10", maxPodsPerNode="60")
    aks = result.one("azure-native:containerservice:ManagedCluster")
    (system,) = aks.inputs["agentPoolProfiles"]
    # the taint AKS documents for a system pool that runs critical add-ons only
    assert system["nodeTaints"] == ["CriticalAddonsOnly=true:NoSchedule"]
    assert system["maxPods"] == 60
    pool = result.one("azure-native:containerservice:AgentPool")
    assert pool.inputs["mode"] == "User"
    assert (pool.inputs["enableAutoScaling"], pool.inputs["minCount"], pool.inputs["maxCount"]) == (True, 3, 10)
    assert pool.inputs["count"] == 3
    assert pool.inputs["maxPods"] == 60
    assert pool.inputs["availabilityZones"] == system["availabilityZones"]
    assert pool.inputs["vnetSubnetID"] == system["vnetSubnetID"]
    assert pool.inputs["resourceName"] == aks.inputs["resourceName"]
    assert pool.ignore_changes == ["count"]  # the autoscaler's, once it runs
    assert cluster.workload_pools
    assert "azure-native:containerservice:ManagedCluster::cluster-aks" in deps_of(result, pool)


def test_without_a_user_pool_the_articles_single_pool_runs_everything() -> None:
    result, cluster, _ = _placed()
    (system,) = result.one("azure-native:containerservice:ManagedCluster").inputs["agentPoolProfiles"]
    assert "nodeTaints" not in system
    assert "maxPods" not in system  # AKS's default; a pool's max pods cannot change in place
    assert result.by_type("azure-native:containerservice:AgentPool") == []
    assert cluster.workload_pools == []

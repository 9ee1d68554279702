"""Cluster: resource group and AKS (or an existing cluster), and the Kubernetes provider."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import pulumiverse_time as time
import yaml
from pulumi_azure_native import authorization, containerregistry, containerservice, managedidentity, resources

from components.azure_roles import ACR_PULL, AKS_RBAC_CLUSTER_ADMIN, NETWORK_CONTRIBUTOR, role_definition_id
from components.monitoring import MonitoringWorkspaces, MonitoringWorkspacesArgs
from components.network import Network, NetworkArgs
from config import Settings
from plan import NetworkPlan

# The application id of the AKS AAD server (the audience of every Entra kubeconfig token).
AKS_AAD_SERVER_ID = "6dae42f8-4368-4678-94ff-3960e28e3630"
# The Azure CLI's application id: the client id Azure reports for a person signed in with `az login`.
AZURE_CLI_APP_ID = "04b07795-8ddb-461a-bbee-02f9e1bf7b46"


def deployer_principal_type(client_id: str) -> authorization.PrincipalType:
    """Who runs `pulumi up`: a person through the Azure CLI, or else a service principal or
    managed identity (CI). A role assignment must say which (the SDK would claim 'User', and
    ARM rejects a service principal assigned as a user)."""
    return (
        authorization.PrincipalType.USER
        if client_id.lower() == AZURE_CLI_APP_ID
        else authorization.PrincipalType.SERVICE_PRINCIPAL
    )


# The autoscaling pool Airflow runs on when userPoolMaxCount > 0 (AKS: lowercase letters and
# digits, at most 12 characters for a Linux pool).
USER_POOL = "airflow"
# With a user pool the system pool runs only what AKS marks critical (CoreDNS, metrics-server,
# the CSI drivers...): AKS documents this taint for system pools.
CRITICAL_ADDONS_ONLY = "CriticalAddonsOnly=true:NoSchedule"

# How long a new Azure RBAC grant on the cluster takes to reach its API server: Microsoft
# documents "New role assignments can take up to five minutes to propagate and be updated by the
# authorization server" (https://learn.microsoft.com/en-us/azure/aks/manage-azure-rbac); the wait
# runs once, when the grant is created (or replaced), never on later updates.
ENTRA_RBAC_PROPAGATION = "300s"
# Auto-upgrade channels that move the cluster to a new minor version by themselves (their
# values: the settings hold plain strings).
MINOR_UPGRADE_CHANNELS = frozenset(
    {containerservice.UpgradeChannel.STABLE.value, containerservice.UpgradeChannel.RAPID.value}
)


def _decode_kubeconfig(creds: Any) -> str:
    return base64.b64decode(creds.kubeconfigs[0].value).decode()


def azurecli_kubeconfig(kubeconfig: str) -> str:
    """An Entra ID (exec) kubeconfig that gets its token from the Azure CLI login.

    AKS returns `kubelogin get-token --login devicecode ...`: fine for a person at a
    terminal, a hang for `pulumi up` in CI. This is what `kubelogin convert-kubeconfig
    -l azurecli` does: the same server id, the token from `az login` (a user, a service
    principal or a workload identity in CI alike).
    """
    config = yaml.safe_load(kubeconfig)
    for user in config.get("users") or []:
        exec_ = (user.get("user") or {}).get("exec")
        if not exec_ or exec_.get("command") != "kubelogin":
            continue
        args = list(exec_.get("args") or [])
        server_id = args[args.index("--server-id") + 1] if "--server-id" in args else AKS_AAD_SERVER_ID
        exec_["args"] = ["get-token", "--login", "azurecli", "--server-id", server_id]
    return str(yaml.safe_dump(config, sort_keys=False))


def existing_cluster_problems(cluster: Any) -> list[str]:
    """What an existing cluster lacks that the stack relies on (every problem, not the first)."""
    issuer = cluster.oidc_issuer_profile.issuer_url if cluster.oidc_issuer_profile else None
    wi = cluster.security_profile.workload_identity if cluster.security_profile else None
    blob = cluster.storage_profile.blob_csi_driver if cluster.storage_profile else None
    kubelet = (cluster.identity_profile or {}).get("kubeletidentity")
    problems = []
    if not issuer:
        problems.append("the OIDC issuer is off (az aks update --enable-oidc-issuer)")
    if not (wi and wi.enabled):
        problems.append("workload identity is off (az aks update --enable-workload-identity)")
    if not (blob and blob.enabled):
        problems.append(
            "the Blob CSI driver is off, so the logs volume would stay Pending (az aks update --enable-blob-driver)"
        )
    if not (kubelet and kubelet.object_id):
        problems.append("it has no kubelet managed identity to grant AcrPull to (a service-principal cluster)")
    return problems


def _require_existing_cluster(cluster: Any) -> Any:
    problems = existing_cluster_problems(cluster)
    if problems:
        raise pulumi.RunError(f"existing cluster {cluster.name} cannot host this stack: " + "; ".join(problems))
    return cluster


# uiIngress -> the application routing add-on's default controller type (its load balancer)
APP_ROUTING_LOAD_BALANCER = {
    "internal": containerservice.NginxIngressControllerType.INTERNAL.value,
    "public": containerservice.NginxIngressControllerType.EXTERNAL.value,
}


def _addon_profiles(
    args: ClusterArgs, log_analytics_workspace_id: pulumi.Output[str] | None
) -> dict[str, containerservice.ManagedClusterAddonProfileArgs]:
    """The AKS add-ons the operate keys turn on, by AKS's add-on name."""
    addons = {}
    if log_analytics_workspace_id is not None:
        # containerInsights: the monitoring add-on (ama-logs), authenticating to the workspace
        # with its managed identity rather than the workspace key.
        addons["omsagent"] = containerservice.ManagedClusterAddonProfileArgs(
            enabled=True,
            config={"logAnalyticsWorkspaceResourceID": log_analytics_workspace_id, "useAADAuth": "true"},
        )
    if args.app_routing is not None:
        # uiIngress: the Secrets Store CSI driver with the Azure Key Vault provider, which the
        # application routing add-on syncs the UI certificate through (what `az aks approuting
        # update --enable-kv` turns on); rotation picks up a renewed certificate.
        addons["azureKeyvaultSecretsProvider"] = containerservice.ManagedClusterAddonProfileArgs(
            enabled=True, config={"enableSecretRotation": "true"}
        )
    return addons


def _app_routing_object_id(ingress_profile: Any) -> str:
    """The application routing add-on's identity (AKS makes it when the add-on is turned on)."""
    routing = ingress_profile.web_app_routing if ingress_profile else None
    identity = routing.identity if routing else None
    return str(identity.object_id) if identity and identity.object_id else ""


def _kubelet_object_id(identity_profile: Any) -> str:
    return str(identity_profile["kubeletidentity"].object_id) if identity_profile else ""


@dataclass(frozen=True)
class _Placement:
    """What a cluster placed in the stack's network is created with."""

    plan: NetworkPlan
    identity_id: pulumi.Output[str]  # the control-plane identity
    node_subnet_id: pulumi.Output[str]
    join: authorization.RoleAssignment  # its grant on the node subnet


def _pool_alike(s: Settings, placement: _Placement | None) -> dict[str, Any]:
    """What every node pool the stack creates shares: the zones, Linux on VM scale sets, and
    the subnet (AKS's own VNet when the stack places none)."""
    return {
        "availability_zones": list(s.availability_zones),
        "os_type": containerservice.OSType.LINUX,
        "type": containerservice.AgentPoolType.VIRTUAL_MACHINE_SCALE_SETS,
        "vnet_subnet_id": placement.node_subnet_id if placement else None,
    }


@dataclass
class ClusterArgs:
    settings: Settings
    subscription_id: pulumi.Input[str]
    tenant_id: pulumi.Input[str] = ""
    # The identity running Pulumi: with clusterAuth=entra and no admin group it gets RBAC
    # Cluster Admin on the cluster it creates (local accounts are off).
    deployer_object_id: pulumi.Input[str] = ""
    deployer_client_id: pulumi.Input[str] = ""
    # protect the resource group and the cluster: `pulumi destroy` (or a change that would
    # replace them) stops with an error instead of deleting them
    protect: bool = False
    # plan.network: the VNet/subnet the nodes join (None: AKS makes its own, the article)
    network: NetworkPlan | None = None
    # monitoring: the managed Prometheus agent (the metrics profile); its data collection
    # rule, endpoint and association are components.monitoring's, made after the cluster.
    metrics: bool = False
    # containerInsights: a Log Analytics workspace (name, retention days) made in the cluster's
    # group BEFORE the cluster, whose monitoring add-on sends to it with Entra ID authentication
    # (no workspace key on the nodes).
    log_analytics: tuple[str, int] | None = None
    # uiIngress: the application routing add-on; its default NGINX controller on a private
    # (Internal) or public (External) load balancer.
    app_routing: str | None = None


class Cluster(pulumi.ComponentResource):
    """AKS as the article series builds it (or an existing cluster) plus a Kubernetes provider."""

    resource_group_name: pulumi.Output[str]
    cluster_name: pulumi.Output[str]
    cluster_resource_group: pulumi.Output[str]
    oidc_issuer_url: pulumi.Output[str]
    kubeconfig: pulumi.Output[str]
    provider: k8s.Provider
    # The kubelet identity's AcrPull grant on the registry (none when grantAcrPull is false:
    # the existing cluster is attached already): anything that pulls an image (every Helm
    # release) depends on it, or its pods burn their timeout in ImagePullBackOff.
    image_pull_access: list[pulumi.Resource]
    # The network the stack placed the nodes in (None: AKS made its own, or an existing cluster).
    network: Network | None
    # The pool Airflow's pods run on when it is not the system pool: every Helm release waits
    # for it (with the system pool tainted, a pod has nowhere else to go).
    workload_pools: list[pulumi.Resource]
    # The created cluster's resource ID (monitoring associations and alert scopes).
    cluster_id: pulumi.Output[str]
    # containerInsights: the Log Analytics workspace the monitoring add-on sends to.
    log_analytics_workspace_id: pulumi.Output[str] | None
    # uiIngress: the object id of the application routing add-on's managed identity (the
    # identity that reads the UI certificate from Key Vault); None without the add-on.
    app_routing_object_id: pulumi.Output[str] | None

    def __init__(self, name: str, args: ClusterArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("airflow-aks:cluster:Cluster", name, None, opts)
        s = args.settings
        child = pulumi.ResourceOptions(parent=self)

        # Deleting the group deletes everything in it, whatever Pulumi protects inside.
        group = resources.ResourceGroup(
            f"{name}-rg",
            resource_group_name=s.effective_resource_group,
            location=s.location,
            opts=pulumi.ResourceOptions(parent=self, protect=args.protect),
        )
        self.resource_group_name = group.name

        access: list[pulumi.Resource] = []
        self.log_analytics_workspace_id = None
        if args.log_analytics is not None and s.cluster_mode == "create":
            workspace_name, retention_days = args.log_analytics
            self.log_analytics_workspace_id = MonitoringWorkspaces(
                f"{name}-monitoring",
                MonitoringWorkspacesArgs(
                    resource_group_name=group.name,
                    location=s.location,
                    log_analytics_name=workspace_name,
                    azure_monitor_name="",
                    retention_in_days=retention_days,
                    protect=args.protect,
                ),
                opts=child,
            ).log_analytics_workspace_id
        self.network = None
        self.workload_pools = []
        if s.cluster_mode == "create":
            placement = None
            if args.network is not None:
                self.network = Network(
                    f"{name}-network",
                    NetworkArgs(resource_group_name=group.name, location=s.location, plan=args.network),
                    opts=child,
                )
                placement = self._control_plane_identity(name, s, group, args.network, self.network, args)
            aks = self._create_aks(name, s, group, args, placement, self.log_analytics_workspace_id)
            if s.has_user_pool:
                self.workload_pools.append(self._user_pool(name, s, group, aks, placement))
            if s.cluster_auth == "entra":
                access.append(self._grant_admins(name, s, aks, args))
            self.cluster_name = aks.name
            self.cluster_id = aks.id
            self.app_routing_object_id = (
                aks.ingress_profile.apply(_app_routing_object_id) if args.app_routing is not None else None
            )
            self.cluster_resource_group = group.name
            self.oidc_issuer_url = aks.oidc_issuer_profile.apply(lambda p: str(p.issuer_url) if p else "")
            kubelet_object_id = aks.identity_profile.apply(_kubelet_object_id)
        else:
            existing = containerservice.get_managed_cluster_output(
                resource_group_name=s.effective_cluster_resource_group, resource_name=s.cluster_name
            ).apply(_require_existing_cluster)
            self.cluster_name = existing.name
            self.cluster_id = existing.id
            self.app_routing_object_id = None
            self.cluster_resource_group = pulumi.Output.from_input(s.effective_cluster_resource_group)
            self.oidc_issuer_url = existing.oidc_issuer_profile.apply(lambda p: str(p.issuer_url))
            kubelet_object_id = existing.identity_profile.apply(_kubelet_object_id)

        self.image_pull_access = []
        if s.grant_acr_pull:
            registry = containerregistry.get_registry_output(
                registry_name=s.acr_name, resource_group_name=s.acr_resource_group
            )
            self.image_pull_access.append(
                authorization.RoleAssignment(
                    f"{name}-acr-pull",
                    scope=registry.id,
                    role_definition_id=role_definition_id(args.subscription_id, ACR_PULL),
                    principal_id=kubelet_object_id,
                    principal_type=authorization.PrincipalType.SERVICE_PRINCIPAL,
                    opts=child,
                )
            )

        entra = s.cluster_auth == "entra"
        creds = containerservice.list_managed_cluster_user_credentials_output(
            resource_group_name=self.cluster_resource_group,
            resource_name=self.cluster_name,
            format="exec" if entra else None,
        )
        kubeconfig = creds.apply(_decode_kubeconfig)
        self.kubeconfig = pulumi.Output.secret(kubeconfig.apply(azurecli_kubeconfig) if entra else kubeconfig)
        # With Entra ID the provider's calls need the role assignment above first.
        self.provider = k8s.Provider(
            f"{name}-k8s", kubeconfig=self.kubeconfig, opts=pulumi.ResourceOptions(parent=self, depends_on=access)
        )

        self.register_outputs(
            {
                "resourceGroupName": self.resource_group_name,
                "clusterName": self.cluster_name,
                "clusterResourceGroup": self.cluster_resource_group,
                "oidcIssuerUrl": self.oidc_issuer_url,
                "kubeconfig": self.kubeconfig,
            }
        )

    def _grant_admins(
        self, name: str, s: Settings, aks: containerservice.ManagedCluster, args: ClusterArgs
    ) -> time.Sleep:
        """RBAC Cluster Admin on the one cluster for the admin group, or else the deployer,
        then a wait for the grant to reach the API server (scoped to the cluster, as the
        least-privilege policy requires). The Kubernetes provider depends on the wait, so
        the first `pulumi up` does not meet `Forbidden`."""
        admins = s.cluster_admin_group_object_id
        grant = authorization.RoleAssignment(
            f"{name}-cluster-admins",
            scope=aks.id,
            role_definition_id=role_definition_id(args.subscription_id, AKS_RBAC_CLUSTER_ADMIN),
            principal_id=admins or args.deployer_object_id,
            principal_type=authorization.PrincipalType.GROUP
            if admins
            else pulumi.Output.from_input(args.deployer_client_id).apply(deployer_principal_type),
            opts=pulumi.ResourceOptions(parent=self),
        )
        return time.Sleep(
            f"{name}-rbac-propagation",
            create_duration=ENTRA_RBAC_PROPAGATION,
            # a new grant (another admin group, another deployer) waits again
            triggers={"grant": grant.id},
            opts=pulumi.ResourceOptions(parent=self, depends_on=[grant]),
        )

    def _user_pool(
        self,
        name: str,
        s: Settings,
        group: resources.ResourceGroup,
        aks: containerservice.ManagedCluster,
        placement: _Placement | None,
    ) -> containerservice.AgentPool:
        """The pool Airflow runs on: the cluster autoscaler between userPoolMinCount and
        userPoolMaxCount, over the system pool's zones, in the same subnet."""
        return containerservice.AgentPool(
            f"{name}-user-pool",
            agent_pool_name=USER_POOL,
            resource_name_=aks.name,
            resource_group_name=group.name,
            mode=containerservice.AgentPoolMode.USER,
            vm_size=s.user_pool_vm_size,
            enable_auto_scaling=True,
            min_count=s.user_pool_min_count,
            max_count=s.user_pool_max_count,
            count=s.user_pool_min_count,
            max_pods=s.max_pods_per_node,
            **_pool_alike(s, placement),
            # the autoscaler owns the node count once the pool exists
            opts=pulumi.ResourceOptions(parent=self, ignore_changes=["count"]),
        )

    def _control_plane_identity(
        self,
        name: str,
        s: Settings,
        group: resources.ResourceGroup,
        plan: NetworkPlan,
        net: Network,
        args: ClusterArgs,
    ) -> _Placement:
        """A user-assigned identity for the AKS control plane, allowed to join the node subnet
        BEFORE the cluster exists: a cluster created through ARM in a subnet of its own VNet
        is not granted that by AKS (only `az aks create` assigns it), and a system-assigned
        identity cannot be granted anything before the cluster, and so it, exists. Network
        Contributor on the one subnet is the role Microsoft documents for it."""
        identity = managedidentity.UserAssignedIdentity(
            f"{name}-identity",
            resource_name_=plan.cluster_identity,
            resource_group_name=group.name,
            location=s.location,
            opts=pulumi.ResourceOptions(parent=self),
        )
        join = authorization.RoleAssignment(
            f"{name}-subnet-join",
            scope=net.node_subnet_id,
            role_definition_id=role_definition_id(args.subscription_id, NETWORK_CONTRIBUTOR),
            principal_id=identity.principal_id,
            # said, not looked up: a principal created seconds ago may not have replicated yet
            principal_type=authorization.PrincipalType.SERVICE_PRINCIPAL,
            opts=pulumi.ResourceOptions(parent=self),
        )
        return _Placement(plan, identity.id, net.node_subnet_id, join)

    def _create_aks(
        self,
        name: str,
        s: Settings,
        group: resources.ResourceGroup,
        args: ClusterArgs,
        placement: _Placement | None,
        log_analytics_workspace_id: pulumi.Output[str] | None,
    ) -> containerservice.ManagedCluster:
        entra = s.cluster_auth == "entra"
        if placement is None:
            identity = containerservice.ManagedClusterIdentityArgs(
                type=containerservice.ResourceIdentityType.SYSTEM_ASSIGNED
            )
            network_profile = containerservice.ContainerServiceNetworkProfileArgs(
                network_plugin=containerservice.NetworkPlugin.AZURE,
                load_balancer_sku=containerservice.LoadBalancerSku.STANDARD,
            )
        else:
            plan = placement.plan
            identity = containerservice.ManagedClusterIdentityArgs(
                type=containerservice.ResourceIdentityType.USER_ASSIGNED,
                user_assigned_identities=[placement.identity_id],
            )
            # Azure CNI Overlay (pods outside the VNet's address space) with the Cilium
            # dataplane, which also enforces NetworkPolicy.
            network_profile = containerservice.ContainerServiceNetworkProfileArgs(
                network_plugin=containerservice.NetworkPlugin.AZURE,
                network_plugin_mode=containerservice.NetworkPluginMode.OVERLAY,
                network_dataplane=containerservice.NetworkDataplane.CILIUM,
                network_policy=containerservice.NetworkPolicy.CILIUM,
                pod_cidr=plan.pod_cidr,
                service_cidr=plan.service_cidr,
                dns_service_ip=plan.dns_service_ip,
                outbound_type=containerservice.OutboundType.LOAD_BALANCER,
                load_balancer_sku=containerservice.LoadBalancerSku.STANDARD,
            )
        authorized = list(s.api_server_authorized_ip_ranges)
        return containerservice.ManagedCluster(
            f"{name}-aks",
            resource_name_=s.effective_cluster_name,
            resource_group_name=group.name,
            location=s.location,
            dns_prefix=s.effective_cluster_name,
            kubernetes_version=s.kubernetes_version,
            sku=containerservice.ManagedClusterSKUArgs(
                name=containerservice.ManagedClusterSKUName.BASE,
                tier=containerservice.ManagedClusterSKUTier(s.cluster_tier),
            ),
            identity=identity,
            agent_pool_profiles=[
                containerservice.ManagedClusterAgentPoolProfileArgs(
                    name="system",
                    mode=containerservice.AgentPoolMode.SYSTEM,
                    count=s.node_count,
                    vm_size=s.node_vm_size,
                    **_pool_alike(s, placement),
                    # a pool's max pods cannot change in place: the article's cluster (AKS's
                    # own VNet) keeps AKS's default
                    max_pods=s.max_pods_per_node if placement else None,
                    node_taints=[CRITICAL_ADDONS_ONLY] if s.has_user_pool else None,
                )
            ],
            network_profile=network_profile,
            # Only these source ranges reach the API server (empty: any, as AKS defaults).
            api_server_access_profile=containerservice.ManagedClusterAPIServerAccessProfileArgs(
                authorized_ip_ranges=authorized
            )
            if authorized
            else None,
            auto_upgrade_profile=containerservice.ManagedClusterAutoUpgradeProfileArgs(
                upgrade_channel=containerservice.UpgradeChannel(s.auto_upgrade_channel),
                node_os_upgrade_channel=containerservice.NodeOSUpgradeChannel(s.node_os_upgrade_channel),
            ),
            oidc_issuer_profile=containerservice.ManagedClusterOIDCIssuerProfileArgs(enabled=True),
            security_profile=containerservice.ManagedClusterSecurityProfileArgs(
                workload_identity=containerservice.ManagedClusterSecurityProfileWorkloadIdentityArgs(enabled=True)
            ),
            storage_profile=containerservice.ManagedClusterStorageProfileArgs(
                blob_csi_driver=containerservice.ManagedClusterStorageProfileBlobCSIDriverArgs(enabled=True)
            ),
            enable_rbac=True,
            # Entra ID: Azure RBAC decides who may do what; no local admin account exists.
            aad_profile=containerservice.ManagedClusterAADProfileArgs(
                managed=True, enable_azure_rbac=True, tenant_id=args.tenant_id
            )
            if entra
            else None,
            disable_local_accounts=True if entra else None,
            # monitoring: the managed Prometheus agent (ama-metrics), with its default
            # kube-state-metrics (crash-looping pods are alerted on from it).
            azure_monitor_profile=containerservice.ManagedClusterAzureMonitorProfileArgs(
                metrics=containerservice.ManagedClusterAzureMonitorProfileMetricsArgs(enabled=True)
            )
            if args.metrics
            else None,
            addon_profiles=_addon_profiles(args, log_analytics_workspace_id) or None,
            # uiIngress: the application routing add-on (managed NGINX); its default
            # controller's load balancer is private (Internal) or public (External).
            ingress_profile=containerservice.ManagedClusterIngressProfileArgs(
                web_app_routing=containerservice.ManagedClusterIngressProfileWebAppRoutingArgs(
                    enabled=True,
                    nginx=containerservice.ManagedClusterIngressProfileNginxArgs(
                        default_ingress_controller_type=containerservice.NginxIngressControllerType(args.app_routing)
                    ),
                )
            )
            if args.app_routing is not None
            else None,
            # With a channel that upgrades minors, kubernetesVersion is the version the
            # cluster starts at: a later `up` must not try to take it back down.
            opts=pulumi.ResourceOptions(
                parent=self,
                protect=args.protect,
                ignore_changes=["kubernetesVersion"] if s.auto_upgrade_channel in MINOR_UPGRADE_CHANNELS else None,
                # the control plane may join the node subnet only once the grant exists
                depends_on=[placement.join] if placement else None,
            ),
        )

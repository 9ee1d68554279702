"""Network: the VNet and node subnet the cluster joins (networkMode=create), or an existing
subnet (networkMode=existing). With networkMode=aks-managed (the article) there is none.
Beside the nodes: the Flexible Server's delegated subnet (databaseMode=managed) and the
private endpoints' subnet (privateNetworking)."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
from pulumi_azure_native import network

from plan import DATABASE_DELEGATION, NetworkPlan


@dataclass
class NetworkArgs:
    resource_group_name: pulumi.Input[str]
    location: str
    plan: NetworkPlan  # plan.network


class Network(pulumi.ComponentResource):
    """The subnet the AKS nodes join, by its ARM id."""

    node_subnet_id: pulumi.Output[str]
    vnet_id: pulumi.Output[str]
    database_subnet_id: pulumi.Output[str] | None  # databaseMode=managed
    endpoint_subnet_id: pulumi.Output[str] | None  # privateNetworking

    def __init__(self, name: str, args: NetworkArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("airflow-aks:network:Network", name, None, opts)
        plan = args.plan
        self.database_subnet_id = self.endpoint_subnet_id = None
        if plan.mode == "existing":
            self.node_subnet_id = pulumi.Output.from_input(str(plan.node_subnet_id))
            self.vnet_id = pulumi.Output.from_input(str(plan.vnet_id))
            if plan.database_subnet_id:
                self.database_subnet_id = pulumi.Output.from_input(plan.database_subnet_id)
            if plan.endpoint_subnet_id:
                self.endpoint_subnet_id = pulumi.Output.from_input(plan.endpoint_subnet_id)
        else:
            subnets = [
                network.SubnetArgs(
                    name=plan.node_subnet_name,
                    address_prefix=plan.node_subnet_prefix,
                    # no implicit internet access: the nodes leave through the cluster's
                    # Standard load balancer (outboundType loadBalancer)
                    default_outbound_access=False,
                )
            ]
            if plan.database_subnet_name:
                subnets.append(
                    network.SubnetArgs(
                        name=plan.database_subnet_name,
                        address_prefix=plan.database_subnet_prefix,
                        default_outbound_access=False,
                        # a private-access Flexible Server needs a subnet delegated to it alone
                        delegations=[network.DelegationArgs(name="flexible-servers", service_name=DATABASE_DELEGATION)],
                    )
                )
            if plan.endpoint_subnet_name:
                subnets.append(
                    network.SubnetArgs(
                        name=plan.endpoint_subnet_name,
                        address_prefix=plan.endpoint_subnet_prefix,
                        default_outbound_access=False,
                    )
                )
            # Subnets inline, every one of them: a VNet PUT replaces the subnet list, so a
            # standalone Subnet resource beside it would be deleted by the next VNet update.
            vnet = network.VirtualNetwork(
                f"{name}-vnet",
                virtual_network_name=plan.vnet_name,
                resource_group_name=args.resource_group_name,
                location=args.location,
                address_space=network.AddressSpaceArgs(address_prefixes=[str(plan.address_space)]),
                subnets=subnets,
                opts=pulumi.ResourceOptions(parent=self),
            )
            self.vnet_id = vnet.id
            self.node_subnet_id = _subnet_id(vnet, str(plan.node_subnet_name))
            if plan.database_subnet_name:
                self.database_subnet_id = _subnet_id(vnet, plan.database_subnet_name)
            if plan.endpoint_subnet_name:
                self.endpoint_subnet_id = _subnet_id(vnet, plan.endpoint_subnet_name)
        self.register_outputs({"nodeSubnetId": self.node_subnet_id, "vnetId": self.vnet_id})


def _subnet_id(vnet: network.VirtualNetwork, name: str) -> pulumi.Output[str]:
    """A subnet's ARM id, from Azure's answer for the VNet."""
    return vnet.subnets.apply(lambda subnets: next(str(s.id) for s in subnets or [] if s.name == name))

"""Network: the VNet and node subnet the cluster joins (networkMode=create), or an existing
subnet (networkMode=existing). With networkMode=aks-managed (the article) there is none."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
from pulumi_azure_native import network

from plan import NetworkPlan


@dataclass
class NetworkArgs:
    resource_group_name: pulumi.Input[str]
    location: str
    plan: NetworkPlan  # plan.network


class Network(pulumi.ComponentResource):
    """The subnet the AKS nodes join, by its ARM id."""

    node_subnet_id: pulumi.Output[str]

    def __init__(self, name: str, args: NetworkArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("airflow-aks:network:Network", name, None, opts)
        plan = args.plan
        if plan.mode == "existing":
            self.node_subnet_id = pulumi.Output.from_input(str(plan.node_subnet_id))
        else:
            # Subnets inline, every one of them: a VNet PUT replaces the subnet list, so a
            # standalone Subnet resource beside it would be deleted by the next VNet update.
            vnet = network.VirtualNetwork(
                f"{name}-vnet",
                virtual_network_name=plan.vnet_name,
                resource_group_name=args.resource_group_name,
                location=args.location,
                address_space=network.AddressSpaceArgs(address_prefixes=[str(plan.address_space)]),
                subnets=[
                    network.SubnetArgs(
                        name=plan.node_subnet_name,
                        address_prefix=plan.node_subnet_prefix,
                        # no implicit internet access: the nodes leave through the cluster's
                        # Standard load balancer (outboundType loadBalancer)
                        default_outbound_access=False,
                    )
                ],
                opts=pulumi.ResourceOptions(parent=self),
            )
            subnet_name = str(plan.node_subnet_name)
            self.node_subnet_id = vnet.subnets.apply(
                lambda subnets: next(str(s.id) for s in subnets or [] if s.name == subnet_name)
            )
        self.register_outputs({"nodeSubnetId": self.node_subnet_id})

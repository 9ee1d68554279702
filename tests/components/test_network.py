"""Network component: the VNet and node subnet the stack creates, or an existing subnet."""

import ipaddress

from components.network import Network, NetworkArgs
from plan import NetworkPlan
from tests.helpers import plan_for, resolve, run_component

VNET = "azure-native:network:VirtualNetwork"
SUBNET_ID = (
    "/subscriptions/00000000-0000-0000-0000-00000000c0de/resourceGroups/hub-rg"
    "/providers/Microsoft.Network/virtualNetworks/hub-vnet/subnets/aks"
)


def _network(plan: NetworkPlan):
    return run_component(
        lambda: Network("network", NetworkArgs(resource_group_name="net-rg", location="westeurope", plan=plan))
    )


def _created() -> NetworkPlan:
    network = plan_for(networkMode="create", vnetAddressSpace="10.60.0.0/20").network
    assert network is not None
    return network


def test_a_created_vnet_holds_the_node_subnet_inline_in_the_first_half_of_its_space() -> None:
    plan = _created()
    result, net = _network(plan)
    vnet = result.one(VNET)
    assert vnet.name == "network-vnet"
    assert vnet.inputs["virtualNetworkName"] == plan.vnet_name == "airflow-dev-vnet"
    assert (vnet.inputs["resourceGroupName"], vnet.inputs["location"]) == ("net-rg", "westeurope")
    assert vnet.inputs["addressSpace"] == {"addressPrefixes": ["10.60.0.0/20"]}
    (subnet,) = vnet.inputs["subnets"]
    assert subnet["name"] == plan.node_subnet_name
    space, nodes = ipaddress.ip_network("10.60.0.0/20"), ipaddress.ip_network(subnet["addressPrefix"])
    assert nodes.subnet_of(space)
    assert nodes.num_addresses == space.num_addresses // 2
    assert nodes.network_address == space.network_address
    assert subnet["defaultOutboundAccess"] is False
    # the id Azure answered for that subnet, not one made up from a naming convention
    assert resolve(net.node_subnet_id) == f"{vnet.state['subnets'][0]['id']}"
    assert resolve(net.node_subnet_id).endswith(f"/virtualNetworks/airflow-dev-vnet/subnets/{subnet['name']}")


def test_an_existing_subnet_is_used_as_given_and_nothing_is_created() -> None:
    network = plan_for(networkMode="existing", nodeSubnetId=SUBNET_ID).network
    assert network is not None
    result, net = _network(network)
    assert [r.type for r in result.records if r.custom] == []
    assert resolve(net.node_subnet_id) == SUBNET_ID


def test_aks_managed_has_no_network_plan() -> None:
    assert plan_for().network is None
    assert plan_for(networkMode="aks-managed").network is None

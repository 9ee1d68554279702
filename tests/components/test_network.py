"""Network component: the VNet and node subnet the stack creates, or an existing subnet."""

import ipaddress

import pytest

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


DB_SUBNET_ID = (
    "/subscriptions/00000000-0000-0000-0000-00000000c0de/resourceGroups/hub-rg"
    "/providers/Microsoft.Network/virtualNetworks/hub-vnet/subnets/postgres"
)
PE_SUBNET_ID = (
    "/subscriptions/00000000-0000-0000-0000-00000000c0de/resourceGroups/hub-rg"
    "/providers/Microsoft.Network/virtualNetworks/hub-vnet/subnets/endpoints"
)


def _data_plane(space: str = "10.60.0.0/20") -> NetworkPlan:
    network = plan_for(
        networkMode="create", vnetAddressSpace=space, databaseMode="managed", privateNetworking="true"
    ).network
    assert network is not None
    return network


def test_the_database_and_endpoint_subnets_exist_only_when_asked() -> None:
    plain = _created()
    assert (plain.database_subnet_name, plain.endpoint_subnet_name) == (None, None)
    result, net = _network(plain)
    assert [s["name"] for s in result.one(VNET).inputs["subnets"]] == [plain.node_subnet_name]
    assert (net.database_subnet_id, net.endpoint_subnet_id) == (None, None)


@pytest.mark.parametrize("space", ["10.60.0.0/16", "10.60.0.0/20", "172.16.4.0/22"])
def test_database_and_endpoint_subnets_share_the_second_half_without_overlap(space: str) -> None:
    plan = _data_plane(space)
    result, net = _network(plan)
    vnet = result.one(VNET)
    by_name = {s["name"]: s for s in vnet.inputs["subnets"]}
    assert set(by_name) == {plan.node_subnet_name, plan.database_subnet_name, plan.endpoint_subnet_name}
    whole = ipaddress.ip_network(space)
    nets = {name: ipaddress.ip_network(s["addressPrefix"]) for name, s in by_name.items()}
    second_half = list(whole.subnets(prefixlen_diff=1))[1]
    for name, net_ in nets.items():
        assert net_.subnet_of(whole), name
        assert by_name[name]["defaultOutboundAccess"] is False
    assert nets[plan.database_subnet_name].subnet_of(second_half)
    assert nets[plan.endpoint_subnet_name].subnet_of(second_half)
    names = list(nets)
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            assert not nets[a].overlaps(nets[b]), (a, b)
    # Azure: a private-access Flexible Server needs a subnet delegated to it (the service name
    # as ARM spells it); nothing else is delegated
    (delegation,) = by_name[plan.database_subnet_name]["delegations"]
    assert delegation["serviceName"] == "Microsoft.DBforPostgreSQL/flexibleServers"
    assert "delegations" not in by_name[plan.node_subnet_name]
    assert "delegations" not in by_name[plan.endpoint_subnet_name]
    # ids from Azure's answer, by name
    ids = {s["name"]: s["id"] for s in vnet.state["subnets"]}
    assert resolve(net.database_subnet_id) == ids[plan.database_subnet_name]
    assert resolve(net.endpoint_subnet_id) == ids[plan.endpoint_subnet_name]
    assert resolve(net.vnet_id).endswith(f"/Microsoft.Network/virtualNetworks/{plan.vnet_name}")
    assert resolve(net.node_subnet_id).startswith(resolve(net.vnet_id) + "/subnets/")


def test_existing_subnets_are_used_as_given_and_the_vnet_is_the_node_subnets() -> None:
    network = plan_for(
        networkMode="existing",
        nodeSubnetId=SUBNET_ID,
        databaseMode="managed",
        databaseSubnetId=DB_SUBNET_ID,
        privateNetworking="true",
        privateEndpointSubnetId=PE_SUBNET_ID,
    ).network
    assert network is not None
    result, net = _network(network)
    assert [r.type for r in result.records if r.custom] == []
    assert resolve(net.database_subnet_id) == DB_SUBNET_ID
    assert resolve(net.endpoint_subnet_id) == PE_SUBNET_ID
    assert resolve(net.vnet_id) == SUBNET_ID.rsplit("/subnets/", 1)[0]
    assert resolve(net.vnet_id).endswith("/virtualNetworks/hub-vnet")

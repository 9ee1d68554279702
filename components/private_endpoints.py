"""Private endpoints: a private IP in the VNet for each PaaS target (Key Vault, a storage
account's blob service), with the private DNS zone that makes the target's own name resolve
to that IP inside the VNet."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
from pulumi_azure_native import network, privatedns


@dataclass(frozen=True)
class PrivateLink:
    """A private-link sub-resource (`groupIds` of the endpoint's connection) and the private DNS
    zone Microsoft recommends for it."""

    group_id: str
    dns_zone: str


# Microsoft, "Azure Private Endpoint private DNS zone values"
# (https://learn.microsoft.com/en-us/azure/private-link/private-endpoint-dns), Commercial:
#   Security: | Azure Key Vault (Microsoft.KeyVault/vaults) | vault | privatelink.vaultcore.azure.net |
#             vault.azure.net <br> vaultcore.azure.net |
#   Storage:  | Storage account (Microsoft.Storage/storageAccounts) | blob </br> blob_secondary |
#             privatelink.blob.core.windows.net | blob.core.windows.net |
# "Private endpoint private DNS zone configurations will only automatically generate if you use
# the recommended naming scheme in the following tables."
KEY_VAULT_LINK = PrivateLink(group_id="vault", dns_zone="privatelink.vaultcore.azure.net")
BLOB_LINK = PrivateLink(group_id="blob", dns_zone="privatelink.blob.core.windows.net")

# Private DNS zones and their virtual network links are global resources.
GLOBAL_LOCATION = "global"
# The name of the endpoint's (one) zone group.
ZONE_GROUP_NAME = "default"


@dataclass(frozen=True)
class PrivateEndpointTarget:
    role: str  # in resource names: "vault", "blob"
    resource_id: pulumi.Input[str]  # the target's ARM id
    group_id: str  # the private-link sub-resource: KEY_VAULT_LINK.group_id, BLOB_LINK.group_id
    dns_zone: str  # its private DNS zone: KEY_VAULT_LINK.dns_zone, BLOB_LINK.dns_zone

    @classmethod
    def of(cls, role: str, resource_id: pulumi.Input[str], link: PrivateLink) -> PrivateEndpointTarget:
        return cls(role=role, resource_id=resource_id, group_id=link.group_id, dns_zone=link.dns_zone)


@dataclass
class PrivateEndpointsArgs:
    resource_group_name: pulumi.Input[str]
    location: str
    subnet_id: pulumi.Input[str]  # the private-endpoint subnet
    vnet_id: pulumi.Input[str]  # the VNet whose resolver must see the zones
    targets: Sequence[PrivateEndpointTarget]


def _check(targets: Sequence[PrivateEndpointTarget]) -> None:
    """One endpoint per role, one zone per DNS zone name: a zone's name is unique in its resource
    group, so a second target on the same zone would register the same zone twice."""
    for what, values in (("role", [t.role for t in targets]), ("dns_zone", [t.dns_zone for t in targets])):
        repeated = sorted({v for v in values if values.count(v) > 1})
        if repeated:
            raise ValueError(f"PrivateEndpoints: {what} {', '.join(repeated)} given more than once")


class PrivateEndpoints(pulumi.ComponentResource):
    """Per target: a private DNS zone linked to the VNet, a private endpoint in the endpoint
    subnet, and a zone group on the endpoint that writes (and keeps) the target's A record."""

    # What a workload reaching a target must wait for: each endpoint and its zone group (the
    # endpoint alone has no DNS record yet; the name still resolves to the public address).
    endpoints: list[pulumi.Resource]
    zone_ids: dict[str, pulumi.Output[str]]  # role -> the private DNS zone's ARM id

    def __init__(self, name: str, args: PrivateEndpointsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("airflow-aks:private_endpoints:PrivateEndpoints", name, None, opts)
        _check(args.targets)
        child = pulumi.ResourceOptions(parent=self)
        self.endpoints = []
        self.zone_ids = {}
        for target in args.targets:
            prefix = f"{name}-{target.role}"
            zone = privatedns.PrivateZone(
                f"{prefix}-zone",
                private_zone_name=target.dns_zone,
                resource_group_name=args.resource_group_name,
                location=GLOBAL_LOCATION,
                opts=child,
            )
            # Without the link the VNet's resolver never consults the zone.
            link = privatedns.VirtualNetworkLink(
                f"{prefix}-link",
                private_zone_name=zone.name,
                resource_group_name=args.resource_group_name,
                location=GLOBAL_LOCATION,
                virtual_network=privatedns.SubResourceArgs(id=args.vnet_id),
                registration_enabled=False,  # no VM auto-registration in a privatelink zone
                opts=child,
            )
            endpoint = network.PrivateEndpoint(
                f"{prefix}-pe",
                resource_group_name=args.resource_group_name,
                location=args.location,
                subnet=network.SubnetArgs(id=args.subnet_id),
                private_link_service_connections=[
                    network.PrivateLinkServiceConnectionArgs(
                        name=target.role,
                        private_link_service_id=target.resource_id,
                        group_ids=[target.group_id],
                    )
                ],
                opts=child,
            )
            # The zone group has Azure write the endpoint's A record into the zone and keep it
            # in step with the endpoint; it waits for the VNet link so that, once it exists,
            # the name resolves privately from the VNet.
            zone_group = network.PrivateDnsZoneGroup(
                f"{prefix}-dns",
                private_endpoint_name=endpoint.name,
                resource_group_name=args.resource_group_name,
                private_dns_zone_group_name=ZONE_GROUP_NAME,
                private_dns_zone_configs=[
                    network.PrivateDnsZoneConfigArgs(
                        name=target.dns_zone.replace(".", "-"),
                        private_dns_zone_id=zone.id,
                    )
                ],
                opts=pulumi.ResourceOptions(parent=self, depends_on=[link]),
            )
            self.endpoints += [endpoint, zone_group]
            self.zone_ids[target.role] = zone.id
        self.register_outputs({"zoneIds": self.zone_ids})

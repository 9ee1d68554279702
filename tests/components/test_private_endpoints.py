"""Private endpoints component: per target a private DNS zone linked to the VNet, a private
endpoint in the endpoint subnet and a zone group writing the A record; the sub-resources and
zone names are Microsoft's (facts/key-vault-network-security.yaml), never the code's own copy."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from components.private_endpoints import (
    BLOB_LINK,
    KEY_VAULT_LINK,
    PrivateEndpoints,
    PrivateEndpointsArgs,
    PrivateEndpointTarget,
    PrivateLink,
)
from synth.mocks import SUBSCRIPTION_ID
from synth.project import PROJECT_DIR
from synth.runner import ResourceRecord, RunResult
from tests.helpers import deps_of, resolve, run_component
from tests.test_external_facts import fact_problems

FACTS_FILE = PROJECT_DIR / "facts" / "key-vault-network-security.yaml"

ZONE = "azure-native:privatedns:PrivateZone"
LINK = "azure-native:privatedns:VirtualNetworkLink"
ENDPOINT = "azure-native:network:PrivateEndpoint"
ZONE_GROUP = "azure-native:network:PrivateDnsZoneGroup"
COMPONENT = "airflow-aks:private_endpoints:PrivateEndpoints"

RG = "net-rg"
LOCATION = "westeurope"
RG_ID = f"/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/{RG}"
VNET_ID = f"{RG_ID}/providers/Microsoft.Network/virtualNetworks/hub-vnet"
SUBNET_ID = f"{VNET_ID}/subnets/private-endpoints"
VAULT_ID = f"/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/app-rg/providers/Microsoft.KeyVault/vaults/airflow-kv-x1"
ACCOUNT_ID = f"/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/app-rg/providers/Microsoft.Storage/storageAccounts/logs1"

# Roles differ from the group ids on purpose: a swap of the two is seen in names and connections.
VAULT_ROLE, BLOB_ROLE = "secrets", "tasklogs"


# ------------------------------------------------------------------ the facts: Microsoft's values
def _facts() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(FACTS_FILE.read_text())
    return data["facts"]


def fact(name: str) -> Any:
    return _facts()[name]["value"]


def _table_row(quote: str, first_cell: str) -> dict[str, str]:
    """The row of a quoted markdown table whose first cell starts with `first_cell`, keyed by the
    quoted header row (`| Private link resource type | Subresource | ... |`)."""

    def cells(line: str) -> list[str]:
        return [c.strip() for c in line.lstrip("> ").strip().strip("|").split("|")]

    rows = [cells(line) for line in quote.splitlines() if line.lstrip("> ").startswith("|")]
    header = next(r for r in rows if r[0] == "Private link resource type")
    (row,) = [r for r in rows if r[0].startswith(first_cell)]
    return dict(zip(header, row, strict=True))


def _subresources(cell: str) -> list[str]:
    return [s.strip() for s in cell.replace("<br>", "</br>").split("</br>")]


def test_every_entry_of_the_facts_file_carries_its_source_and_the_sources_words() -> None:
    header = FACTS_FILE.read_text().splitlines()[0]
    assert header.startswith("# Why this file exists:")
    assert {name: problems for name, entry in _facts().items() if (problems := fact_problems(entry))} == {}


@pytest.mark.parametrize(
    ("group_fact", "zone_fact", "resource_type"),
    [
        ("key_vault_group_id", "key_vault_dns_zone", "Azure Key Vault (Microsoft.KeyVault/vaults)"),
        ("blob_group_id", "blob_dns_zone", "Storage account (Microsoft.Storage/storageAccounts)"),
    ],
)
def test_each_value_stands_in_its_own_column_of_microsofts_row(
    group_fact: str, zone_fact: str, resource_type: str
) -> None:
    # not merely somewhere in the quote ("vault" is in "vault.azure.net" too): in the row's own cells
    for name in (group_fact, zone_fact):
        row = _table_row(_facts()[name]["quote"], resource_type)
        assert fact(group_fact) in _subresources(row["Subresource"])
        assert row["Private DNS zone name"] == fact(zone_fact)


@pytest.mark.parametrize(
    ("link", "group_fact", "zone_fact"),
    [(KEY_VAULT_LINK, "key_vault_group_id", "key_vault_dns_zone"), (BLOB_LINK, "blob_group_id", "blob_dns_zone")],
)
def test_the_module_constants_are_microsofts_values(link: PrivateLink, group_fact: str, zone_fact: str) -> None:
    assert (link.group_id, link.dns_zone) == (fact(group_fact), fact(zone_fact))


def test_the_sdks_key_vault_secret_is_the_arm_secrets_resource() -> None:
    # what the facts' management-plane answers are about: keyvault.Secret goes through ARM
    # (Microsoft.KeyVault/vaults/secrets PUT), not the vault's data-plane endpoint
    import inspect

    from pulumi_azure_native import keyvault

    assert "'azure-native:keyvault:Secret'" in inspect.getsource(keyvault.Secret._internal_init)
    assert "intended for internal use in ARM deployments" in (keyvault.SecretPropertiesArgs.__init__.__doc__ or "")
    # ... the same words as Microsoft's reference of the ARM operation the facts quote
    assert "This API is intended for internal use in ARM deployments" in _facts()["arm_secret_put_path"]["quote"]


# ------------------------------------------------------------------ the component under the mocks
def _targets() -> list[PrivateEndpointTarget]:
    # built the way the program builds them: from the component's constants
    return [
        PrivateEndpointTarget.of(VAULT_ROLE, VAULT_ID, KEY_VAULT_LINK),
        PrivateEndpointTarget.of(BLOB_ROLE, ACCOUNT_ID, BLOB_LINK),
    ]


def _endpoints(targets: list[PrivateEndpointTarget] | None = None) -> tuple[RunResult, PrivateEndpoints]:
    return run_component(
        lambda: PrivateEndpoints(
            "pe",
            PrivateEndpointsArgs(
                resource_group_name=RG,
                location=LOCATION,
                subnet_id=SUBNET_ID,
                vnet_id=VNET_ID,
                targets=_targets() if targets is None else targets,
            ),
        )
    )


# role -> (target id, Microsoft's sub-resource, Microsoft's zone)
EXPECTED = {
    VAULT_ROLE: (VAULT_ID, "key_vault_group_id", "key_vault_dns_zone"),
    BLOB_ROLE: (ACCOUNT_ID, "blob_group_id", "blob_dns_zone"),
}


def _one(result: RunResult, typ: str, name: str) -> ResourceRecord:
    (record,) = [r for r in result.by_type(typ) if r.name == name]
    return record


def _zone_id(zone: str) -> str:
    return f"{RG_ID}/providers/Microsoft.Network/privateDnsZones/{zone}"


@pytest.mark.parametrize("role", sorted(EXPECTED))
def test_each_target_gets_a_zone_a_vnet_link_an_endpoint_and_a_zone_group(role: str) -> None:
    resource_id, group_fact, zone_fact = EXPECTED[role]
    result, _ = _endpoints()

    zone = _one(result, ZONE, f"pe-{role}-zone").inputs
    assert zone == {"privateZoneName": fact(zone_fact), "resourceGroupName": RG, "location": "global"}

    link = _one(result, LINK, f"pe-{role}-link").inputs
    assert link == {
        "privateZoneName": fact(zone_fact),
        "resourceGroupName": RG,
        "location": "global",
        "virtualNetwork": {"id": VNET_ID},
        "registrationEnabled": False,
    }

    endpoint = _one(result, ENDPOINT, f"pe-{role}-pe")
    # the subnet by its id (the SDK's SubnetArgs adds its network-policy defaults beside it)
    assert endpoint.inputs["subnet"]["id"] == SUBNET_ID
    assert {k: v for k, v in endpoint.inputs.items() if k != "subnet"} == {
        "resourceGroupName": RG,
        "location": LOCATION,
        "privateLinkServiceConnections": [
            {"name": role, "privateLinkServiceId": resource_id, "groupIds": [fact(group_fact)]}
        ],
    }

    group = _one(result, ZONE_GROUP, f"pe-{role}-dns").inputs
    assert group["privateEndpointName"] == endpoint.state["name"]
    assert group["resourceGroupName"] == RG
    (config,) = group["privateDnsZoneConfigs"]
    assert config["privateDnsZoneId"] == _zone_id(fact(zone_fact))


@pytest.mark.parametrize("role", sorted(EXPECTED))
def test_the_zone_group_waits_for_the_vnet_link(role: str) -> None:
    result, _ = _endpoints()
    group = _one(result, ZONE_GROUP, f"pe-{role}-dns")
    assert f"{LINK}::pe-{role}-link" in deps_of(result, group)
    assert f"{ENDPOINT}::pe-{role}-pe" in deps_of(result, group)


def test_every_resource_is_named_after_its_role_and_parented_by_the_component() -> None:
    result, _ = _endpoints()
    component = result.one(COMPONENT)
    custom = [r for r in result.records if r.custom]
    assert sorted((r.type, r.name) for r in custom) == sorted(
        (typ, f"pe-{role}-{suffix}")
        for role in EXPECTED
        for typ, suffix in ((ZONE, "zone"), (LINK, "link"), (ENDPOINT, "pe"), (ZONE_GROUP, "dns"))
    )
    assert [r.name for r in custom if r.parent != component.urn] == []


def test_outputs_are_each_endpoint_with_its_zone_group_and_the_zone_ids_by_role() -> None:
    result, built = _endpoints()
    urns = [resolve(r.urn) for r in built.endpoints]
    assert urns == [
        _one(result, typ, f"pe-{role}-{suffix}").urn
        for role in (VAULT_ROLE, BLOB_ROLE)
        for typ, suffix in ((ENDPOINT, "pe"), (ZONE_GROUP, "dns"))
    ]
    zone_ids = {role: resolve(output) for role, output in built.zone_ids.items()}
    assert zone_ids == {role: _zone_id(fact(zone_fact)) for role, (_, _, zone_fact) in EXPECTED.items()}
    assert result.one(COMPONENT).outputs == {"zoneIds": zone_ids}


def test_no_target_no_resources() -> None:
    result, built = _endpoints([])
    assert [r.type for r in result.records if r.custom] == []
    assert (built.endpoints, built.zone_ids) == ([], {})


@pytest.mark.parametrize(
    ("targets", "message"),
    [
        (
            [
                PrivateEndpointTarget.of("kv", VAULT_ID, KEY_VAULT_LINK),
                PrivateEndpointTarget.of("kv", ACCOUNT_ID, BLOB_LINK),
            ],
            "role kv given more than once",
        ),
        (
            [PrivateEndpointTarget.of("a", ACCOUNT_ID, BLOB_LINK), PrivateEndpointTarget.of("b", VAULT_ID, BLOB_LINK)],
            f"dns_zone {BLOB_LINK.dns_zone} given more than once",
        ),
    ],
)
def test_a_repeated_role_or_zone_is_refused(targets: list[PrivateEndpointTarget], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        _endpoints(targets)

"""Database component: a private-access PostgreSQL flexible server, its DNS zone and VNet link,
Airflow's database and the server parameters, as the program registers them. Expected values
come from the installed SDK's enums (or Azure's documented strings where the SDK has none),
never from the component's own constants."""

import gc
from typing import Any

import pulumi
import pulumi_random as random
import pytest
from pulumi_azure_native import dbforpostgresql

from components.database import Database, DatabaseArgs
from synth.mocks import SUBSCRIPTION_ID, Secret
from synth.runner import ResourceRecord, RunResult
from tests.helpers import (
    deps_of,
    names_a_suffix_could_make,
    plain_strings,
    random_string_alphabet,
    resolve,
    run_component,
    unmarked_leaks,
)

SERVER = "azure-native:dbforpostgresql:Server"
DATABASE = "azure-native:dbforpostgresql:Database"
CONFIGURATION = "azure-native:dbforpostgresql:Configuration"
ZONE = "azure-native:privatedns:PrivateZone"
LINK = "azure-native:privatedns:VirtualNetworkLink"
SUFFIX = "random:index/randomString:RandomString"

RG = "data-rg"
VNET_ID = f"/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/net-rg/providers/Microsoft.Network/virtualNetworks/hub"
SUBNET_ID = f"{VNET_ID}/subnets/postgres"
DNS_ZONE = "airflow-prod.private.postgres.database.azure.com"
PASSWORD = "Plain4dminPassw0rdNotSecret"

HA = dbforpostgresql.PostgreSqlFlexibleServerHighAvailabilityMode


def _args(**overrides: Any) -> DatabaseArgs:
    values: dict[str, Any] = {
        "resource_group_name": RG,
        "location": "westeurope",
        "name_prefix": "airflow",
        "version": "16",
        "sku_name": "Standard_D2ds_v5",
        "sku_tier": "GeneralPurpose",
        "storage_size_gb": 128,
        "high_availability": "ZoneRedundant",
        "availability_zones": ["2", "3", "1"],
        "backup_retention_days": 14,
        "geo_redundant_backup": True,
        "maintenance": (2, 4, 30),
        "admin_login": "pgadmin",
        "admin_password": pulumi.Output.secret(PASSWORD),
        "database_name": "airflowdb",
        "delegated_subnet_id": SUBNET_ID,
        "vnet_id": VNET_ID,
        "private_dns_zone_name": DNS_ZONE,
        "builtin_pgbouncer": True,
        "vault_name": "airflow-kv-abc123",
        "host_secret": "airflow-database-host",
        "protect": False,
    }
    values.update(overrides)
    return DatabaseArgs(**values)


def _database(**overrides: Any) -> tuple[RunResult, Database]:
    return run_component(lambda: Database("database", _args(**overrides)))


def _server(result: RunResult) -> ResourceRecord:
    return result.one(SERVER)


# ------------------------------------------------------------------ the server


def test_the_server_is_registered_with_every_property_asked_for() -> None:
    result, _ = _database()
    server = _server(result).inputs
    assert (server["resourceGroupName"], server["location"]) == (RG, "westeurope")
    assert server["createMode"] == dbforpostgresql.CreateMode.CREATE.value
    assert server["version"] == dbforpostgresql.PostgresMajorVersion.POSTGRES_MAJOR_VERSION_16.value
    assert server["sku"] == {"name": "Standard_D2ds_v5", "tier": dbforpostgresql.SkuTier.GENERAL_PURPOSE.value}
    assert server["storage"] == {"storageSizeGB": 128, "autoGrow": dbforpostgresql.StorageAutoGrow.ENABLED.value}
    assert server["backup"] == {
        "backupRetentionDays": 14,
        "geoRedundantBackup": dbforpostgresql.GeographicallyRedundantBackup.ENABLED.value,
    }
    assert server["highAvailability"]["mode"] == HA.ZONE_REDUNDANT.value
    assert server["availabilityZone"] == "2"  # the stack's first zone
    assert server["network"] == {
        "delegatedSubnetResourceId": SUBNET_ID,
        # the ARM id of the zone the component created, in the server's resource group
        "privateDnsZoneArmResourceId": (
            f"/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/{RG}/providers/Microsoft.Network/privateDnsZones/{DNS_ZONE}"
        ),
        "publicNetworkAccess": dbforpostgresql.ServerPublicNetworkAccessState.DISABLED.value,
    }
    # (day of week 0 = Sunday, hour, minute): each in its own field, none swapped
    assert server["maintenanceWindow"] == {"customWindow": "Enabled", "dayOfWeek": 2, "startHour": 4, "startMinute": 30}
    auth = server["authConfig"]
    assert auth["passwordAuth"] == dbforpostgresql.PasswordBasedAuth.ENABLED.value
    assert auth["activeDirectoryAuth"] == dbforpostgresql.MicrosoftEntraAuth.DISABLED.value
    assert server["administratorLogin"] == "pgadmin"
    assert server["administratorLoginPassword"] == Secret(PASSWORD)


def test_geo_redundant_backup_off_is_disabled() -> None:
    result, _ = _database(geo_redundant_backup=False, backup_retention_days=7)
    assert _server(result).inputs["backup"] == {
        "backupRetentionDays": 7,
        "geoRedundantBackup": dbforpostgresql.GeographicallyRedundantBackup.DISABLED.value,
    }


@pytest.mark.parametrize("zones", [["1", "2", "3"], ["2", "3", "1"], ["3", "1"]])
def test_zone_redundant_standby_is_in_another_of_the_stacks_zones(zones: list[str]) -> None:
    result, _ = _database(high_availability="ZoneRedundant", availability_zones=zones)
    server = _server(result).inputs
    primary, standby = server["availabilityZone"], server["highAvailability"]["standbyAvailabilityZone"]
    assert primary == zones[0]
    assert standby in zones
    assert standby != primary


def test_same_zone_and_disabled_name_no_standby_zone() -> None:
    # (the SDK sends "" for an unset standby zone: Azure places a SameZone standby itself)
    same, _ = _database(high_availability="SameZone", availability_zones=["1", "2", "3"])
    assert _server(same).inputs["highAvailability"] == {"mode": HA.SAME_ZONE.value, "standbyAvailabilityZone": ""}
    assert _server(same).inputs["availabilityZone"] == "1"
    off, _ = _database(high_availability="Disabled")
    assert _server(off).inputs["highAvailability"] == {"mode": HA.DISABLED.value, "standbyAvailabilityZone": ""}


@pytest.mark.parametrize("mode", ["ZoneRedundant", "SameZone", "Disabled"])
def test_no_zones_names_no_zone_and_azure_picks(mode: str) -> None:
    result, _ = _database(high_availability=mode, availability_zones=[])
    server = _server(result).inputs
    # the SDK sends "" for an unset zone
    assert server["availabilityZone"] == ""
    assert server["highAvailability"]["standbyAvailabilityZone"] == ""
    assert server["highAvailability"]["mode"] == HA(mode).value


@pytest.mark.parametrize(
    "field",
    [{"version": "9"}, {"sku_tier": "General Purpose"}, {"high_availability": "Zoned"}],
    ids=["version", "tier", "high availability"],
)
def test_values_the_sdk_has_no_enum_member_for_are_refused(field: dict[str, str]) -> None:
    try:
        with pytest.raises(ValueError, match="is not a valid"):
            _database(**field)
    finally:
        gc.collect()  # the refused run's futures (see tests/synth/test_mocks.py)


# ------------------------------------------------------------------ name


def server_name_problems(name: str) -> list[str]:
    """Microsoft, "Naming rules and restrictions for Azure resources":
    Microsoft.DBforPostgreSQL/flexibleServers: 3-63 characters; lowercase letters, hyphens and
    numbers; can't start or end with a hyphen (globally unique)."""
    out = []
    if not 3 <= len(name) <= 63:
        out.append(f"{name!r}: {len(name)} characters, not 3-63")
    if any(c not in "abcdefghijklmnopqrstuvwxyz0123456789-" for c in name):
        out.append(f"{name!r}: a character other than lowercase letters, digits and hyphens")
    if name.startswith("-") or name.endswith("-"):
        out.append(f"{name!r}: starts or ends with a hyphen")
    return out


def test_the_name_rules_catch_what_azure_refuses() -> None:
    assert server_name_problems("airflow-pg-abc123") == []
    for bad in ("pg", "a" * 64, "Airflow-pg", "airflow_pg", "-airflow", "airflow-", "airflow-pg-é"):
        assert server_name_problems(bad), bad


@pytest.mark.parametrize("prefix", ["ab", "airflow", "abcdefghij"])
def test_every_server_name_the_suffix_could_make_follows_azures_rules(prefix: str) -> None:
    result, _ = _database(name_prefix=prefix)
    name = _server(result).inputs["serverName"]
    suffix = result.one(SUFFIX)
    assert name == f"{prefix}-pg-{suffix.state['result']}"
    assert server_name_problems(name) == []
    alphabet = random_string_alphabet(suffix.inputs)
    broken = [
        p for n in names_a_suffix_could_make(name, suffix.state["result"], alphabet) for p in server_name_problems(n)
    ]
    assert broken == []
    # generated once and kept in state: the server's name follows the suffix resource
    assert f"{SUFFIX}::database-suffix" in deps_of(result, _server(result))


# ------------------------------------------------------------------ private DNS


def test_the_private_dns_zone_is_global_and_linked_to_the_vnet_without_registration() -> None:
    result, _ = _database()
    zone = result.one(ZONE)
    assert zone.inputs["privateZoneName"] == DNS_ZONE
    assert (zone.inputs["resourceGroupName"], zone.inputs["location"]) == (RG, "global")
    link = result.one(LINK).inputs
    assert link["privateZoneName"] == DNS_ZONE
    assert link["virtualNetwork"] == {"id": VNET_ID}
    assert link["registrationEnabled"] is False
    assert (link["resourceGroupName"], link["location"]) == (RG, "global")
    # the server's network names the zone the component created, and waits for it
    assert zone.urn in _server(result).property_dependencies["network"]


def test_the_server_waits_for_the_vnet_link() -> None:
    """Azure creates a private-access server only into a zone already linked to the VNet; the
    zone id orders the server after the zone alone, so the link must be an explicit dependency."""
    result, _ = _database()
    assert f"{LINK}::database-dns-link" in deps_of(result, _server(result))


# ------------------------------------------------------------------ database and parameters


def test_the_database_is_utf8_on_the_server() -> None:
    result, db = _database()
    database = result.one(DATABASE)
    assert database.inputs == {
        "databaseName": "airflowdb",
        "serverName": _server(result).inputs["serverName"],
        "resourceGroupName": RG,
        "charset": "UTF8",
        "collation": "en_US.utf8",
    }
    assert f"{SERVER}::database-server" in deps_of(result, database)
    assert resolve(db.database_name) == "airflowdb"


def test_parameters_are_written_one_after_another() -> None:
    """Azure refuses concurrent writes on one server (ServerIsBusy): each parameter waits for the
    one before it, the first for the database."""
    result, _ = _database(builtin_pgbouncer=True)
    configurations = result.by_type(CONFIGURATION)
    server_name = _server(result).inputs["serverName"]
    assert {c.inputs["configurationName"]: c.inputs["value"] for c in configurations} == {
        "require_secure_transport": "on",
        "pgbouncer.enabled": "true",
    }
    for c in configurations:
        assert (c.inputs["serverName"], c.inputs["resourceGroupName"]) == (server_name, RG)
        assert c.inputs["source"] == "user-override"
    before = [result.one(DATABASE), *configurations]
    for previous, configuration in zip(before, configurations, strict=False):
        assert f"{previous.type}::{previous.name}" in deps_of(result, configuration)


def test_without_builtin_pgbouncer_only_tls_is_set_and_the_port_is_postgres() -> None:
    result, db = _database(builtin_pgbouncer=False)
    (configuration,) = result.by_type(CONFIGURATION)
    assert (configuration.inputs["configurationName"], configuration.inputs["value"]) == (
        "require_secure_transport",
        "on",
    )
    assert f"{DATABASE}::database-db" in deps_of(result, configuration)
    assert db.port == 5432
    _, pooled = _database(builtin_pgbouncer=True)
    assert pooled.port == 6432


# ------------------------------------------------------------------ the password


def test_the_password_is_never_registered_in_plain_text() -> None:
    """Given unmarked, the password is still registered secret: it appears in no registered input
    and no component output as plain text."""
    result, db = _database(admin_password=pulumi.Output.from_input(PASSWORD))
    assert _server(result).inputs["administratorLoginPassword"] == Secret(PASSWORD)
    assert [r.name for r in result.records if any(PASSWORD in s for s in plain_strings(r.inputs))] == []
    assert [r.name for r in result.records if any(PASSWORD in s for s in plain_strings(r.outputs or {}))] == []
    assert resolve(db.fqdn)  # the outputs resolve without it


def test_a_generated_password_does_not_leak() -> None:
    def build() -> Database:
        password = random.RandomPassword("pg-admin-password", length=32, special=False)
        return Database("database", _args(admin_password=password.result))

    result, _ = run_component(build)
    assert unmarked_leaks(result) == []
    generated = result.one("random:index/randomPassword:RandomPassword").state["result"]
    assert _server(result).inputs["administratorLoginPassword"] == Secret(generated)


def test_the_password_is_an_additional_secret_output(monkeypatch: pytest.MonkeyPatch) -> None:
    from synth import runner

    seen: dict[str, list[str]] = {}
    register = runner.RecordingMonitor.RegisterResource

    def recording(self: runner.RecordingMonitor, request: Any) -> Any:
        seen[request.name] = list(request.additionalSecretOutputs)
        return register(self, request)

    monkeypatch.setattr(runner.RecordingMonitor, "RegisterResource", recording)
    _database()
    assert "administratorLoginPassword" in seen["database-server"]


# ------------------------------------------------------------------ outputs and protection


def test_outputs_are_the_servers_and_the_databases() -> None:
    result, db = _database()
    server = _server(result)
    assert resolve(db.server_name) == server.inputs["serverName"]
    assert resolve(db.fqdn) == server.state["fullyQualifiedDomainName"]
    assert resolve(db.fqdn).startswith(f"{server.inputs['serverName']}.")
    component = result.one("airflow-aks:database:Database")
    assert component.outputs == {
        "serverName": server.inputs["serverName"],
        "fqdn": server.state["fullyQualifiedDomainName"],
        "databaseName": "airflowdb",
        "port": 6432,
    }
    assert all(r.parent == component.urn for r in result.records if r.custom)


def test_ready_is_the_server_the_database_and_every_parameter() -> None:
    result, db = _database(builtin_pgbouncer=True)
    expected = [_server(result).urn, result.one(DATABASE).urn, *(c.urn for c in result.by_type(CONFIGURATION))]
    assert [resolve(r.urn) for r in db.ready] == expected


def test_protect_covers_the_server_and_the_database_only() -> None:
    protected, _ = _database(protect=True)
    assert {r.type for r in protected.records if r.protect} == {SERVER, DATABASE}
    unprotected, _ = _database()
    assert [r.name for r in unprotected.records if r.protect] == []


def test_the_servers_host_name_goes_into_key_vault_marked_secret() -> None:
    """Azure names the host once the server exists: ESO builds the metadata connection from
    this Key Vault secret (plan.DATABASE_HOST_SECRET)."""
    result, database = _database()
    (secret,) = result.by_type("azure-native:keyvault:Secret")
    server = result.one("azure-native:dbforpostgresql:Server")
    assert secret.inputs["secretName"] == "airflow-database-host"
    assert secret.inputs["vaultName"] == "airflow-kv-abc123"
    value = secret.inputs["properties"]["value"]
    assert isinstance(value, Secret)
    assert value.value == server.state["fullyQualifiedDomainName"] == resolve(database.fqdn)
    assert f"{server.type}::{server.name}" in deps_of(result, secret)
    assert set(database.vault_secrets) == {"airflow-database-host"}

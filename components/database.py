"""Database: Azure Database for PostgreSQL flexible server with private access (VNet
integration), its private DNS zone linked to the VNet, Airflow's database, server parameters,
and the server's host name in Key Vault (ESO builds the metadata connection from it)."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_random as random
from pulumi_azure_native import dbforpostgresql, keyvault, privatedns

from components.key_vault import vault_secret
from plan import BUILTIN_PGBOUNCER_PORT, POSTGRES_PORT

# A server parameter set by the user (the value the SDK documents as required to change one).
USER_OVERRIDE = "user-override"
# MaintenanceWindow.customWindow has no enum in the SDK: "Enabled" or "Disabled".
CUSTOM_WINDOW_ENABLED = "Enabled"
CHARSET = "UTF8"
COLLATION = "en_US.utf8"


def server_name(prefix: str, suffix: str) -> str:
    """3-63 lowercase letters, digits and hyphens, globally unique through the suffix (the
    name is also the server's host name under postgres.database.azure.com)."""
    return f"{prefix}-pg-{suffix}"


def server_parameters(builtin_pgbouncer: bool, pgbouncer_metrics: bool = False) -> dict[str, str]:
    """Server parameter -> value: TLS always required; the built-in PgBouncer when asked, and
    its metrics in Azure Monitor (off by default on the server; the PgBouncer alert reads them)."""
    parameters = {"require_secure_transport": "on"}
    if builtin_pgbouncer:
        parameters["pgbouncer.enabled"] = "true"
        if pgbouncer_metrics:
            parameters["metrics.pgbouncer_diagnostics"] = "on"
    return parameters


@dataclass
class DatabaseArgs:
    resource_group_name: pulumi.Input[str]
    location: str
    name_prefix: str
    version: str  # PostgreSQL major version, e.g. "16"
    sku_name: str  # e.g. "Standard_D2ds_v5"
    sku_tier: str  # "Burstable" | "GeneralPurpose" | "MemoryOptimized"
    storage_size_gb: int
    high_availability: str  # "Disabled" | "SameZone" | "ZoneRedundant"
    availability_zones: list[str]  # the stack's zones, e.g. ["1", "2", "3"], or [] (Azure picks)
    backup_retention_days: int
    geo_redundant_backup: bool
    maintenance: tuple[int, int, int]  # (day_of_week 0=Sunday, start hour, start minute)
    admin_login: str
    admin_password: pulumi.Input[str]  # a secret Output
    database_name: str  # e.g. "airflow"
    delegated_subnet_id: pulumi.Input[str]  # a subnet delegated to Microsoft.DBforPostgreSQL/flexibleServers
    vnet_id: pulumi.Input[str]  # the VNet the private DNS zone is linked to
    private_dns_zone_name: str  # e.g. "airflow-prod.private.postgres.database.azure.com"
    builtin_pgbouncer: bool
    # the vault the server's host name goes into, as Key Vault secret `host_secret`
    # (plan.DATABASE_HOST_SECRET): Azure names the host only once the server exists
    vault_name: pulumi.Input[str]
    host_secret: str
    # protect the server and the database: `pulumi destroy` (or a replacing change) stops
    # instead of deleting them
    protect: bool = False
    # monitoring: the built-in PgBouncer's metrics (metrics.pgbouncer_diagnostics), alerted on
    pgbouncer_metrics: bool = False


class Database(pulumi.ComponentResource):
    """A private PostgreSQL server and the database Airflow's metadata lives in."""

    server_name: pulumi.Output[str]
    server_id: pulumi.Output[str]  # the flexible server's ARM id (the PgBouncer alert's scope)
    fqdn: pulumi.Output[str]
    database_name: pulumi.Output[str]
    port: int
    configurations: list[dbforpostgresql.Configuration]  # in the order Azure applies them
    # What Airflow's release must wait for: the server, the database and every parameter.
    ready: list[pulumi.Resource]
    vault_secrets: dict[str, keyvault.Secret]  # Key Vault secret name -> secret (the host)

    def __init__(self, name: str, args: DatabaseArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("airflow-aks:database:Database", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        # Server names are global and a dropped server's name is not free at once: a generated
        # suffix, stable in state, keeps names unique per stack instance.
        suffix = random.RandomString(f"{name}-suffix", length=6, special=False, upper=False, opts=child)

        zone = privatedns.PrivateZone(
            f"{name}-dns-zone",
            private_zone_name=args.private_dns_zone_name,
            resource_group_name=args.resource_group_name,
            location="global",  # private DNS zones and their links are global resources
            opts=child,
        )
        link = privatedns.VirtualNetworkLink(
            f"{name}-dns-link",
            virtual_network_link_name=f"{args.name_prefix}-pg-vnet",
            private_zone_name=zone.name,
            resource_group_name=args.resource_group_name,
            location="global",
            virtual_network=privatedns.SubResourceArgs(id=args.vnet_id),
            # resolution only: the server writes its own record into the zone
            registration_enabled=False,
            opts=child,
        )

        zones = list(args.availability_zones)
        ha_mode = dbforpostgresql.PostgreSqlFlexibleServerHighAvailabilityMode(args.high_availability)
        primary = zones[0] if zones else None
        standby = (
            next((z for z in zones if z != primary), None)
            if ha_mode == dbforpostgresql.PostgreSqlFlexibleServerHighAvailabilityMode.ZONE_REDUNDANT
            else None
        )
        day_of_week, start_hour, start_minute = args.maintenance
        server = dbforpostgresql.Server(
            f"{name}-server",
            server_name=suffix.result.apply(lambda sfx: server_name(args.name_prefix, sfx)),
            resource_group_name=args.resource_group_name,
            location=args.location,
            create_mode=dbforpostgresql.CreateMode.CREATE,
            version=dbforpostgresql.PostgresMajorVersion(args.version),
            sku=dbforpostgresql.SkuArgs(name=args.sku_name, tier=dbforpostgresql.SkuTier(args.sku_tier)),
            storage=dbforpostgresql.StorageArgs(
                storage_size_gb=args.storage_size_gb,
                auto_grow=dbforpostgresql.StorageAutoGrow.ENABLED,
            ),
            backup=dbforpostgresql.BackupArgs(
                backup_retention_days=args.backup_retention_days,
                geo_redundant_backup=(
                    dbforpostgresql.GeographicallyRedundantBackup.ENABLED
                    if args.geo_redundant_backup
                    else dbforpostgresql.GeographicallyRedundantBackup.DISABLED
                ),
            ),
            high_availability=dbforpostgresql.HighAvailabilityArgs(mode=ha_mode, standby_availability_zone=standby),
            availability_zone=primary,
            network=dbforpostgresql.NetworkArgs(
                delegated_subnet_resource_id=args.delegated_subnet_id,
                private_dns_zone_arm_resource_id=zone.id,
                public_network_access=dbforpostgresql.ServerPublicNetworkAccessState.DISABLED,
            ),
            maintenance_window=dbforpostgresql.MaintenanceWindowArgs(
                custom_window=CUSTOM_WINDOW_ENABLED,
                day_of_week=day_of_week,
                start_hour=start_hour,
                start_minute=start_minute,
            ),
            auth_config=dbforpostgresql.AuthConfigArgs(
                password_auth=dbforpostgresql.PasswordBasedAuth.ENABLED,
                active_directory_auth=dbforpostgresql.MicrosoftEntraAuth.DISABLED,
            ),
            administrator_login=args.admin_login,
            administrator_login_password=pulumi.Output.secret(args.admin_password),
            opts=pulumi.ResourceOptions(
                parent=self,
                protect=args.protect,
                # Azure requires the private DNS zone linked to the server's VNet before it
                # creates a private-access server in it. The zone id orders the server after
                # the zone only, not after the link: wait for the link explicitly.
                depends_on=[link],
                additional_secret_outputs=["administratorLoginPassword"],
            ),
        )
        database = dbforpostgresql.Database(
            f"{name}-db",
            database_name=args.database_name,
            server_name=server.name,
            resource_group_name=args.resource_group_name,
            charset=CHARSET,
            collation=COLLATION,
            opts=pulumi.ResourceOptions(parent=self, protect=args.protect),
        )

        # Azure rejects concurrent writes on one server (ServerIsBusy: "busy processing another
        # operation"): each parameter waits for the one before it, the first for the database.
        self.configurations = []
        previous: list[pulumi.Resource] = [database]
        for parameter, value in server_parameters(args.builtin_pgbouncer, args.pgbouncer_metrics).items():
            configuration = dbforpostgresql.Configuration(
                f"{name}-param-{parameter.replace('.', '-').replace('_', '-')}",
                configuration_name=parameter,
                server_name=server.name,
                resource_group_name=args.resource_group_name,
                value=value,
                source=USER_OVERRIDE,
                opts=pulumi.ResourceOptions(parent=self, depends_on=previous),
            )
            self.configurations.append(configuration)
            previous = [configuration]

        self.server_name = server.name
        self.server_id = server.id
        self.fqdn = server.fully_qualified_domain_name
        self.database_name = database.name
        self.port = BUILTIN_PGBOUNCER_PORT if args.builtin_pgbouncer else POSTGRES_PORT
        self.vault_secrets = {
            args.host_secret: vault_secret(
                f"{name}-kv-host", args.vault_name, args.resource_group_name, args.host_secret, self.fqdn, parent=self
            )
        }
        self.ready = [server, database, *self.configurations]
        self.register_outputs(
            {
                "serverName": self.server_name,
                "fqdn": self.fqdn,
                "databaseName": self.database_name,
                "port": self.port,
            }
        )

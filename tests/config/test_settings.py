"""config: the dev stack parses, defaults come from Pulumi.yaml, and every problem is reported at once."""

from __future__ import annotations

import json
from typing import Any, get_args, get_origin

import pytest

from config import (
    CONFIG_KEYS,
    DNS_SERVICE_IP,
    POD_CIDR,
    PROJECT,
    PROVIDER_LOCATION_KEY,
    SERVICE_CIDR,
    STACK_KEY,
    ConfigError,
    Problem,
    Resources,
    Settings,
    advisories,
    parse_settings,
)
from config.checks import _longest_stack
from config.loader import _secret_config_keys
from synth.project import load_project, load_stack_config, project_defaults
from synth.runner import RunResult

# Keys without a default in Pulumi.yaml: every stack file must set them.
REQUIRED = {f"{PROJECT}:acrName", f"{PROJECT}:acrResourceGroup", PROVIDER_LOCATION_KEY}
# A subnet for networkMode=existing.
SUBNET = (
    "/subscriptions/5b6c3a1e-9d5f-4c2b-8f0e-2a7d9c1b3e4f/resourceGroups/net-rg/providers/Microsoft.Network"
    "/virtualNetworks/hub-vnet/subnets/aks-nodes"
)


def dev(**overrides: str) -> dict[str, str]:
    """The dev stack's config as the engine passes it, with some keys replaced (engine encoding)."""
    values = dict(load_stack_config("dev").values)
    values.update({f"{PROJECT}:{key}": value for key, value in overrides.items()})
    return values


def problems_of(values: dict[str, Any], stack: str = "dev") -> list[Problem]:
    with pytest.raises(ConfigError) as caught:
        parse_settings(stack, values)
    return caught.value.problems


def _field(key: str) -> str:
    return next(name for name, f in Settings.model_fields.items() if f.alias == key)


# ------------------------------------------------------------------ the dev stack
def test_dev_stack_parses_with_its_own_values() -> None:
    s = parse_settings("dev", load_stack_config("dev").values)

    assert s.stack == "dev"
    assert s.location == "eastus"
    assert s.acr_name == "airflowdevacr"
    assert s.acr_resource_group == "airflow-dev-shared-rg"
    assert s.kubernetes_version == "1.33"
    assert s.key_vault_purge_protection is False
    assert s.key_vault_soft_delete_retention_days == 7
    assert s.executor == "KubernetesExecutor"
    assert s.timezone == "America/New_York"
    assert (s.database_mode, s.postgresql_enabled, s.managed_database) == ("bundled", True, False)
    assert s.pgbouncer_enabled is True
    assert (s.logs_mode, s.remote_logs, s.private_networking) == ("pv", False, False)
    assert s.dags_git_repo == "https://github.com/donhighmsft/airflowexamples.git"
    assert (s.dags_git_branch, s.dags_git_rev, s.dags_git_sub_path, s.dags_git_depth) == ("main", "HEAD", "dags", 1)
    assert s.logs_volume_size == "5Gi"


def test_dev_stack_derived_values() -> None:
    s = parse_settings("dev", dev())

    assert s.effective_resource_group == "airflow-dev-rg"
    assert s.effective_cluster_name == "airflow-dev-aks"
    assert s.effective_cluster_resource_group == "airflow-dev-rg"
    assert s.registry_server == "airflowdevacr.azurecr.io"
    assert s.env_vars == {"ENVIRONMENT": "dev"}


def test_derived_values_follow_overrides() -> None:
    s = parse_settings(
        "prod",
        dev(
            namePrefix="af",
            resourceGroupName="platform-rg",
            clusterName="shared-aks",
            acrName="CorpRegistry01",
            namespace="data",
            serviceAccountName="airflow.workers",
            airflowEnv=json.dumps(["A=1", "B=x=y", "EMPTY="]),
        ),
    )

    assert s.effective_resource_group == "platform-rg"
    assert s.effective_cluster_name == "shared-aks"
    assert s.effective_cluster_resource_group == "platform-rg"
    assert s.registry_server == "corpregistry01.azurecr.io"  # login servers are lower case
    assert s.env_vars == {"A": "1", "B": "x=y", "EMPTY": ""}  # split at the first '=' only


def test_existing_cluster_resolves_its_own_resource_group() -> None:
    s = parse_settings("dev", dev(clusterMode="existing", clusterName="corp-aks", clusterResourceGroup="corp-aks-rg"))

    assert s.cluster_mode == "existing"
    assert s.effective_cluster_name == "corp-aks"
    assert s.effective_cluster_resource_group == "corp-aks-rg"
    assert s.effective_resource_group == "airflow-dev-rg"


def test_settings_are_frozen() -> None:
    s = parse_settings("dev", dev())
    with pytest.raises(ValueError, match="frozen"):
        s.node_count = 5  # type: ignore[misc]


# ------------------------------------------------------------ Pulumi.yaml defaults
def test_defaults_come_from_pulumi_yaml() -> None:
    """Only the required keys set: everything else is Pulumi.yaml's default, decoded to its type."""
    values = {
        **project_defaults(),
        PROVIDER_LOCATION_KEY: "westeurope",
        f"{PROJECT}:acrName": "corpacr",
        f"{PROJECT}:acrResourceGroup": "corp-rg",
    }
    s = parse_settings("staging", values)

    declared = load_project()["config"]
    checked = 0
    for full, decl in declared.items():
        if "default" not in decl:
            continue
        key = full.removeprefix(f"{PROJECT}:")
        value = getattr(s, _field(key))
        assert (str(value) if isinstance(value, Resources) else value) == decl["default"], full
        checked += 1
    assert checked == len(CONFIG_KEYS) - 2  # all but acrName and acrResourceGroup
    # a few spelled out, so a changed default is a visible diff here
    assert s.node_count == 3
    assert s.availability_zones == ["1", "2", "3"]
    assert s.key_vault_purge_protection is True
    assert s.key_vault_soft_delete_retention_days == 90
    assert s.airflow_env == []
    assert s.namespace == "airflow"
    assert s.airflow_chart_version == "1.15.0"
    assert s.logs_retention_days == 30
    assert s.scheduler_resources == Resources(cpu="500m", memory="1Gi", cpu_limit="1", memory_limit="2Gi")
    assert s.effective_resource_group == "airflow-staging-rg"
    assert (s.network_mode, s.vnet_address_space, s.node_subnet_id) == ("aks-managed", "10.42.0.0/16", "")
    assert s.api_server_authorized_ip_ranges == []
    assert (s.user_pool_max_count, s.user_pool_min_count, s.user_pool_vm_size, s.max_pods_per_node) == (
        0,
        1,
        "Standard_D8ds_v5",
        110,
    )
    assert not s.has_user_pool  # the article's single pool
    assert (s.database_mode, s.postgresql_enabled, s.managed_database) == ("bundled", True, False)
    assert (s.database_sku, s.database_sku_tier, s.database_version) == ("Standard_D2ds_v5", "GeneralPurpose", "16")
    assert (s.database_storage_size_gb, s.database_high_availability) == (128, "Disabled")
    assert (s.database_backup_retention_days, s.database_geo_redundant_backup) == (7, False)
    assert (s.database_maintenance_window, s.database_maintenance) == ("Sun 02:00", (0, 2, 0))
    assert (s.database_admin_login, s.database_subnet_id) == ("airflowadmin", "")
    assert (s.logs_mode, s.private_networking, s.private_endpoint_subnet_id) == ("pv", False, "")


def test_project_defaults_are_encoded_as_the_engine_passes_them() -> None:
    defaults = project_defaults()
    assert defaults[f"{PROJECT}:nodeCount"] == "3"
    assert defaults[f"{PROJECT}:keyVaultPurgeProtection"] == "true"
    assert (defaults[f"{PROJECT}:userPoolMaxCount"], defaults[f"{PROJECT}:maxPodsPerNode"]) == ("0", "110")
    assert json.loads(defaults[f"{PROJECT}:availabilityZones"]) == ["1", "2", "3"]
    assert set(defaults) == {f"{PROJECT}:{k}" for k in CONFIG_KEYS} - REQUIRED


def test_only_the_documented_keys_are_required() -> None:
    problems = problems_of(project_defaults())

    assert {p.key for p in problems} == REQUIRED
    assert all(p.message.startswith("required") for p in problems)
    assert all("<missing>" in str(p) for p in problems)


def test_missing_required_keys_are_reported() -> None:
    values = dev()
    del values[f"{PROJECT}:acrName"]
    del values[PROVIDER_LOCATION_KEY]

    problems = problems_of(values)

    assert {p.key for p in problems} == {f"{PROJECT}:acrName", PROVIDER_LOCATION_KEY}
    location = next(p for p in problems if p.key == PROVIDER_LOCATION_KEY)
    assert "pulumi config set azure-native:location" in location.message


# ---------------------------------------------------------- declared in Pulumi.yaml
# Resources are written as one string per component (cpu=..,memory=..,cpuLimit=..,memoryLimit=..).
_PULUMI_TYPES = {int: "integer", bool: "boolean", list: "array", str: "string", Resources: "string"}


def _pulumi_type(annotation: Any) -> str:
    base = get_origin(annotation) or annotation
    if base is not list and get_args(annotation) and all(isinstance(a, str) for a in get_args(annotation)):
        return "string"  # Literal["a", "b"]
    return _PULUMI_TYPES[base]


def test_every_config_key_is_declared_with_a_description_and_vice_versa() -> None:
    declared: dict[str, dict[str, Any]] = load_project()["config"]
    project_keys = {k.removeprefix(f"{PROJECT}:") for k in declared if k.startswith(f"{PROJECT}:")}

    assert project_keys == set(CONFIG_KEYS)
    assert set(declared) == {f"{PROJECT}:{k}" for k in CONFIG_KEYS} | {PROVIDER_LOCATION_KEY}
    for full, decl in declared.items():
        assert isinstance(decl, dict), full
        assert len(str(decl.get("description", "")).strip()) >= 10, f"{full} has no description"


@pytest.mark.parametrize("key", CONFIG_KEYS)
def test_declared_type_matches_the_settings_field(key: str) -> None:
    decl = load_project()["config"][f"{PROJECT}:{key}"]
    assert decl["type"] == _pulumi_type(Settings.model_fields[_field(key)].annotation)
    if decl["type"] == "array":
        assert decl["items"] == {"type": "string"}


def test_config_keys_are_unique_and_namespaced_once() -> None:
    assert len(CONFIG_KEYS) == len(set(CONFIG_KEYS))
    assert all(":" not in key for key in CONFIG_KEYS)
    assert "stack" not in CONFIG_KEYS
    assert "location" not in CONFIG_KEYS


# -------------------------------------------------------------- all problems at once
def test_several_problems_are_reported_in_one_error() -> None:
    values = dev(
        nodeCount="three",
        namespace="Airflow",
        timezone="Mars/Olympus",
        airflowImageTag="latest",
        exectuor="LocalExecutor",  # typo'd key
    )
    del values[f"{PROJECT}:acrName"]

    with pytest.raises(ConfigError) as caught:
        parse_settings("dev", values)
    err = caught.value

    assert len(err.problems) == 6
    assert {p.key for p in err.problems} == {
        f"{PROJECT}:nodeCount",
        f"{PROJECT}:namespace",
        f"{PROJECT}:timezone",
        f"{PROJECT}:airflowImageTag",
        f"{PROJECT}:exectuor",
        f"{PROJECT}:acrName",
    }
    text = str(err)
    assert text.startswith("invalid stack configuration (6 problems):\n")
    assert len(text.splitlines()) == 7
    assert all(line.startswith("  - airflow-aks:") for line in text.splitlines()[1:])
    assert 'airflow-aks:nodeCount = "three": must be a whole number from 1 to 100' in text
    assert 'airflow-aks:namespace = "Airflow": must be a DNS-1123 label' in text
    assert 'airflow-aks:timezone = "Mars/Olympus": must be an IANA time zone' in text
    assert "airflow-aks:acrName = <missing>: required" in text


def test_conflicts_are_reported_together_with_bad_values() -> None:
    """A conflict between valid keys is not held back until the unrelated bad value is fixed."""
    problems = problems_of(
        dev(nodeCount="0", clusterMode="existing", databaseMode="external", pgbouncerEnabled="false")
    )

    assert [p.key for p in problems] == [
        f"{PROJECT}:nodeCount",
        f"{PROJECT}:clusterName",
        f"{PROJECT}:clusterResourceGroup",
        f"{PROJECT}:externalDatabaseSecretName",
    ]


def test_a_conflict_is_skipped_when_one_of_its_keys_is_itself_invalid() -> None:
    """clusterMode is bad: report that, not a 'clusterName required' that depends on its value."""
    problems = problems_of(dev(clusterMode="Existing"))

    assert [p.key for p in problems] == [f"{PROJECT}:clusterMode"]
    assert "'create' or 'existing'" in problems[0].message


def test_one_problem_reads_singular() -> None:
    with pytest.raises(ConfigError, match=r"^invalid stack configuration \(1 problem\):\n  - "):
        parse_settings("dev", dev(nodeCount="0"))


def test_unknown_key_is_reported_with_a_suggestion() -> None:
    problems = problems_of(dev(exectuor="CeleryExecutor"))

    assert len(problems) == 1
    (p,) = problems
    assert p.key == "airflow-aks:exectuor"
    assert p.value == "CeleryExecutor"
    assert "unknown key" in p.message
    assert "did you mean airflow-aks:executor?" in p.message
    assert all(k in p.message for k in CONFIG_KEYS)


def test_unknown_key_far_from_any_known_key_lists_the_known_keys() -> None:
    (p,) = problems_of(dev(zzz="1"))
    assert p.key == "airflow-aks:zzz"
    assert "did you mean" not in p.message
    assert "known keys: acrName, acrResourceGroup," in p.message


def test_keys_of_other_namespaces_are_not_ours_to_judge() -> None:
    values = {**dev(), "azure-native:subscriptionId": "x", "kubernetes:context": "y"}
    assert parse_settings("dev", values).location == "eastus"


def test_a_stack_name_with_characters_azure_names_refuse_is_reported_on_the_stack() -> None:
    """The stack name is part of the managed identity (<namePrefix>-<stack>-identity) whatever
    else is set, and of the AKS DNS prefix: '_' and '.' (Pulumi allows both) break them."""
    for stack in ("prod_eu", "prod.eu"):
        (p,) = problems_of(dev(), stack=stack)
        assert p.key == STACK_KEY
        assert p.value == stack
        assert "must be letters, digits and '-' only: the stack name is part of Azure names" in p.message
        assert "<namePrefix>-<stack>-identity" in p.message
        assert str(p).startswith(f'stack = "{stack}": ')
    # an explicit cluster name does not help: the identity is always named after the stack
    (p,) = problems_of(dev(clusterName="airflow-prod-eu"), stack="prod_eu")
    assert p.key == STACK_KEY


# ------------------------------------------------------------ edge values accepted
@pytest.mark.parametrize(
    ("key", "value", "field", "parsed"),
    [
        ("nodeCount", "100", "node_count", 100),
        ("keyVaultSoftDeleteRetentionDays", "90", "key_vault_soft_delete_retention_days", 90),
        ("dagsGitDepth", "0", "dags_git_depth", 0),
        ("keyVaultPurgeProtection", "True", "key_vault_purge_protection", True),
        ("installSecretsOperator", "False", "install_secrets_operator", False),
        ("availabilityZones", '["2"]', "availability_zones", ["2"]),
        ("airflowEnv", "[]", "airflow_env", []),
        ("logsVolumeSize", "512Mi", "logs_volume_size", "512Mi"),
        ("logsVolumeSize", "1.5Ti", "logs_volume_size", "1.5Ti"),
        ("logsVolumeSize", "5Pi", "logs_volume_size", "5Pi"),  # an account's maximum, exactly
        ("logsVolumeSize", "5120Ti", "logs_volume_size", "5120Ti"),
        ("namespace", "a" * 59, "namespace", "a" * 59),  # <namespace>-eso has 63
        ("serviceAccountName", "airflow.workers-1", "service_account_name", "airflow.workers-1"),
        ("serviceAccountName", "a" * 253, "service_account_name", "a" * 253),
        ("kubernetesVersion", "1.37", "kubernetes_version", "1.37"),
        ("airflowImageTag", "2.9.3-python3.11", "airflow_image_tag", "2.9.3-python3.11"),
        (
            "dagsGitRepo",
            "https://dev.azure.com/org/proj/_git/dags",
            "dags_git_repo",
            "https://dev.azure.com/org/proj/_git/dags",
        ),
        (
            "dagsGitRepo",
            "https://git.example.com:8443/team/dags.git",
            "dags_git_repo",
            "https://git.example.com:8443/team/dags.git",
        ),
        ("dagsGitRepo", "", "dags_git_repo", ""),
        ("dagsGitBranch", "release/2024.1", "dags_git_branch", "release/2024.1"),
        ("dagsGitRev", "v1.2.3", "dags_git_rev", "v1.2.3"),
        (
            "dagsGitRev",
            "4b825dc642cb6eb9a060e54bf8d69288fbee4904",
            "dags_git_rev",
            "4b825dc642cb6eb9a060e54bf8d69288fbee4904",
        ),
        ("dagsGitSubPath", "airflow/dags", "dags_git_sub_path", "airflow/dags"),
        ("timezone", "Europe/Berlin", "timezone", "Europe/Berlin"),
        ("executor", "CeleryKubernetesExecutor", "executor", "CeleryKubernetesExecutor"),
        ("clusterName", "a" * 54, "cluster_name", "a" * 54),
        ("logsRetentionDays", "1", "logs_retention_days", 1),
        ("logsRetentionDays", "3650", "logs_retention_days", 3650),
        ("userPoolMaxCount", "1000", "user_pool_max_count", 1000),
        ("userPoolMinCount", "0", "user_pool_min_count", 0),
        ("userPoolMinCount", "1000", "user_pool_min_count", 1000),  # no user pool: unused, not compared
        ("userPoolVmSize", "Standard_E8-4ds_v5", "user_pool_vm_size", "Standard_E8-4ds_v5"),
        ("maxPodsPerNode", "30", "max_pods_per_node", 30),
        ("maxPodsPerNode", "250", "max_pods_per_node", 250),
        ("databaseStorageSizeGb", "32", "database_storage_size_gb", 32),
        ("databaseStorageSizeGb", "32767", "database_storage_size_gb", 32767),  # Azure's largest, not 32768
        ("databaseBackupRetentionDays", "7", "database_backup_retention_days", 7),
        ("databaseBackupRetentionDays", "35", "database_backup_retention_days", 35),
        ("databaseGeoRedundantBackup", "true", "database_geo_redundant_backup", True),
        ("databaseVersion", "17", "database_version", "17"),
        ("databaseMaintenanceWindow", "Sat 23:59", "database_maintenance_window", "Sat 23:59"),
        ("databaseMaintenanceWindow", "Wed 00:00", "database_maintenance_window", "Wed 00:00"),
        ("databaseMaintenanceWindow", "Thu 13:17", "database_maintenance_window", "Thu 13:17"),  # any minute
        ("databaseAdminLogin", "a", "database_admin_login", "a"),
        ("databaseAdminLogin", "a" * 63, "database_admin_login", "a" * 63),
        ("databaseAdminLogin", "Airflow_Admin_1", "database_admin_login", "Airflow_Admin_1"),
        ("databaseAdminLogin", "administrators", "database_admin_login", "administrators"),  # not a reserved name
        ("databaseAdminLogin", "pgadmin", "database_admin_login", "pgadmin"),  # pg without the '_'
        ("databaseAdminLogin", "airflow_pg_admin", "database_admin_login", "airflow_pg_admin"),
        ("databaseSku", "Standard_E64ads_v5", "database_sku", "Standard_E64ads_v5"),
        ("logsMode", "remote", "logs_mode", "remote"),
        (
            "workerResources",
            "cpu=2,memory=4Gi,cpuLimit=2,memoryLimit=4Gi",
            "worker_resources",
            Resources(cpu="2", memory="4Gi", cpu_limit="2", memory_limit="4Gi"),
        ),
        (
            "statsdResources",
            " cpu=0.05, memory=64M, cpuLimit=100m, memoryLimit=1.5Gi ",
            "statsd_resources",
            Resources(cpu="0.05", memory="64M", cpu_limit="100m", memory_limit="1.5Gi"),
        ),
        (
            "redisResources",
            "memoryLimit=256Ki,cpuLimit=1,memory=256Ki,cpu=1m",
            "redis_resources",
            Resources(cpu="1m", memory="256Ki", cpu_limit="1", memory_limit="256Ki"),
        ),
    ],
    ids=lambda v: v if isinstance(v, str) and len(v) < 40 else None,
)
def test_edge_values_are_accepted(key: str, value: str, field: str, parsed: Any) -> None:
    assert getattr(parse_settings("dev", dev(**{key: value})), field) == parsed


def test_an_external_database_without_pgbouncer_is_accepted() -> None:
    s = parse_settings(
        "dev", dev(databaseMode="external", pgbouncerEnabled="false", externalDatabaseSecretName="airflow-db")
    )
    assert (s.postgresql_enabled, s.pgbouncer_enabled, s.external_database_secret_name) == (False, False, "airflow-db")
    assert (s.database_mode, s.managed_database) == ("external", False)


def test_native_python_values_are_accepted_too() -> None:
    """parse_settings takes the engine's strings, but typed values (tests, tools) work the same."""
    s = parse_settings(
        "dev",
        {
            **dev(),
            f"{PROJECT}:nodeCount": 5,
            f"{PROJECT}:keyVaultPurgeProtection": True,
            f"{PROJECT}:availabilityZones": ["1", "3"],
        },
    )
    assert (s.node_count, s.key_vault_purge_protection, s.availability_zones) == (5, True, ["1", "3"])


# ------------------------------------------------------------------ the dev and prod stacks
def _prod_values(**overrides: str) -> dict[str, str]:
    """The prod stack's config as the engine passes it, with some keys replaced."""
    return {**load_stack_config("prod").values, **{f"{PROJECT}:{k}": v for k, v in overrides.items()}}


# A size no stack file uses: set on one Resources key, it shows where that key ends up.
_MARKER_SIZE = "cpu=7m,memory=7Mi,cpuLimit=7m,memoryLimit=7Mi"
# The one Resources key that sizes the secrets operator's release, not a container of the Airflow chart.
_OPERATOR_SIZE = "secrets_operator_resources"


def _sized_by_the_airflow_values(stack: str, values: dict[str, str]) -> set[str]:
    """The Resources fields that reach the Airflow chart's values with these settings: a field
    whose own size, changed alone, changes the values (a field the chart does not run is unused)."""
    from components.airflow_values import airflow_values
    from plan import build_plan

    def built(config: dict[str, str]) -> dict[str, Any]:
        settings = parse_settings(stack, config)
        plan = build_plan(settings)
        return airflow_values(settings, plan, {i.name: f"client-id-of-{i.name}" for i in plan.log_identities})

    base = built(values)
    fields = [name for name, f in Settings.model_fields.items() if f.annotation is Resources]
    return {
        name
        for name in fields
        if built({**values, f"{PROJECT}:{Settings.model_fields[name].alias}": _MARKER_SIZE}) != base
    }


# What prod does not run: the bundled PostgreSQL and the chart's PgBouncer (databaseMode=managed:
# the flexible server, through its built-in PgBouncer).
PROD_UNUSED_SIZES = {"postgresql_resources", "pgbouncer_resources", "pgbouncer_exporter_resources"}


def test_prod_stack_sizes_every_component_and_keeps_logs_longer() -> None:
    dev_s = parse_settings("dev", load_stack_config("dev").values)
    prod = parse_settings("prod", load_stack_config("prod").values)

    assert (dev_s.logs_retention_days, prod.logs_retention_days) == (30, 90)
    fields = [name for name, f in Settings.model_fields.items() if f.annotation is Resources]
    assert len(fields) == 14  # 13 containers of the Airflow chart, and the secrets operator
    # prod runs every container the 13 size but the in-cluster database's ...
    assert (prod.database_mode, prod.postgresql_enabled, prod.logs_mode) == ("managed", False, "remote")
    used = _sized_by_the_airflow_values("prod", load_stack_config("prod").values) | {_OPERATOR_SIZE}
    assert used == set(fields) - PROD_UNUSED_SIZES
    # prod sizes every component it runs ...
    for name in sorted(used):
        assert getattr(prod, name) != getattr(dev_s, name), f"prod keeps the dev size for {name}"
    # ... and its stack file sets no size (nor a logs volume) for what it does not run
    import yaml

    from synth.project import PROJECT_DIR

    raw = yaml.safe_load((PROJECT_DIR / "Pulumi.prod.yaml").read_text(encoding="utf-8"))["config"]
    assert f"{PROJECT}:schedulerResources" in raw  # the file as read sets its sizes
    for name in sorted(PROD_UNUSED_SIZES):
        assert f"{PROJECT}:{Settings.model_fields[name].alias}" not in raw, name
    assert f"{PROJECT}:logsVolumeSize" not in raw
    # ... which prod on the bundled database runs again: the same keys then size containers
    bundled = _sized_by_the_airflow_values("prod", _prod_values(databaseMode="bundled"))
    assert bundled | {_OPERATOR_SIZE} == set(fields)


def _long_running_requests(settings: Settings) -> dict[str, tuple[int, list[tuple[int, float]]]]:
    """What the real chart runs for these settings: component -> (replicas, each container's
    requests as (millicores, bytes)) for every Deployment and StatefulSet. Skips without a Helm
    engine."""
    from components.airflow_values import airflow_values
    from config import cpu_millicores, memory_bytes
    from plan import build_plan
    from synth import helm

    plan = build_plan(settings)
    values = airflow_values(settings, plan, {i.name: f"client-id-of-{i.name}" for i in plan.log_identities})
    try:
        objects = helm.render_objects(
            "airflow",
            settings.airflow_chart_version,
            values,
            release=plan.airflow_release,
            namespace=plan.namespace,
            kube_version=settings.kubernetes_version,
        )
    except helm.NotRendered as err:  # pragma: no cover - the dev requirements install the engine
        pytest.skip(str(err))
    out: dict[str, tuple[int, list[tuple[int, float]]]] = {}
    for o in objects:
        if o["kind"] not in ("Deployment", "StatefulSet"):
            continue
        template = o["spec"]["template"]
        out[template["metadata"]["labels"]["component"]] = (
            o["spec"].get("replicas", 1),
            [
                (cpu_millicores(c["resources"]["requests"]["cpu"]) or 0,
                 memory_bytes(c["resources"]["requests"]["memory"]) or 0)
                for c in template["spec"]["containers"]
            ],
        )  # fmt: skip
    return out


def test_prod_requests_fit_its_user_pool_with_one_node_drained() -> None:
    """Pulumi.prod.yaml's sizing arithmetic: Airflow runs on the user pool (the system pool,
    tainted CriticalAddonsOnly, runs add-ons only). The long-running pods (two of each HA
    component) fit on the minimum pool less one draining node, and every pod fits one node;
    the numbers the comment there states. The metadata database runs outside the cluster
    (databaseMode=managed, through the server's built-in PgBouncer): no PostgreSQL or PgBouncer pod."""
    from config import cpu_millicores, memory_bytes

    s = parse_settings("prod", load_stack_config("prod").values)
    assert (s.node_vm_size, s.node_count, s.high_availability) == ("Standard_D4ds_v5", 3, True)
    assert (s.user_pool_vm_size, s.user_pool_min_count, s.user_pool_max_count) == ("Standard_D8ds_v5", 3, 10)
    assert (s.database_mode, s.pgbouncer_enabled) == ("managed", True)
    git = s.git_sync_resources
    pods = {  # pod -> (replicas, containers)
        "scheduler": (2, [s.scheduler_resources]),  # chart 1.19: DAGs parsed by the DAG processor
        "api-server": (2, [s.webserver_resources]),
        "triggerer": (2, [s.triggerer_resources, git]),
        "dag-processor": (1, [s.dag_processor_resources, git]),
        "worker": (2, [s.worker_resources, git]),
        "statsd": (1, [s.statsd_resources]),
        "redis": (1, [s.redis_resources]),
        "external-secrets": (1, [s.secrets_operator_resources]),  # no add-on: the user pool too
    }
    # the table is what the chart runs for prod: each long-running workload, its replicas, its
    # containers' requests (the operator is the other release's)
    airflow = {name: pod for name, pod in pods.items() if name != "external-secrets"}
    assert _long_running_requests(s) == {
        name: (n, [(cpu_millicores(c.cpu) or 0, memory_bytes(c.memory) or 0) for c in cs])
        for name, (n, cs) in airflow.items()
    }
    cpu = sum(n * sum(cpu_millicores(c.cpu) or 0 for c in cs) for n, cs in pods.values())
    memory = sum(n * sum(memory_bytes(c.memory) or 0 for c in cs) for n, cs in pods.values())
    assert (cpu, memory / 2**30) == (8_950, 17.375)
    assert (cpu / 1000, round(memory / 2**30, 1)) == (8.95, 17.4)  # "8.95 vCPU and 17.4 GiB"
    # per D8ds_v5 node, allocatable after AKS reservations (about 7.8 vCPU, 27+ GiB) less ~1 vCPU /
    # 3 GiB of per-node DaemonSets (Cilium, CSI node drivers, ...)
    node_cpu, node_memory = 6800, 24 * 2**30
    task_pod_cpu = cpu_millicores(s.worker_resources.cpu) or 0
    assert task_pod_cpu == 1000  # "1 vCPU each"
    drained = s.user_pool_min_count - 1  # one node of the minimum pool draining
    assert (drained * node_cpu, drained * node_memory / 2**30) == (13_600, 48)  # "(13.6 vCPU, 48 GiB)"
    assert cpu <= drained * node_cpu, cpu  # "the release alone still fits on the other two"
    assert memory <= drained * node_memory, memory / 2**30
    assert (drained * node_cpu - cpu) // 100 / 10 == 4.6  # "about 4.6 vCPU to spare"
    assert s.user_pool_min_count * node_cpu == 20_400  # "(about 20.4 vCPU)"
    assert round((s.user_pool_min_count * node_cpu - cpu) / 1000) == 11  # "about 11 vCPU" on 3 nodes
    assert round((s.user_pool_max_count * node_cpu - cpu) / 1000) == 59  # "at 10 nodes about 59"
    for name, (_, containers) in pods.items():
        assert sum(cpu_millicores(c.cpu_limit) or 0 for c in containers) <= node_cpu, name
        assert sum(memory_bytes(c.memory_limit) or 0 for c in containers) <= node_memory, name


def test_kubernetes_patch_version_is_accepted_where_nothing_upgrades_the_cluster() -> None:
    for channel in ("none", "node-image"):
        s = parse_settings("dev", dev(kubernetesVersion="1.28.5", autoUpgradeChannel=channel))
        assert s.kubernetes_version == "1.28.5"


@pytest.mark.parametrize("channel", ["patch", "stable", "rapid"])
def test_kubernetes_patch_version_fights_an_upgrading_channel(channel: str) -> None:
    (p,) = problems_of(dev(kubernetesVersion="1.31.2", autoUpgradeChannel=channel))
    assert p.key == f"{PROJECT}:kubernetesVersion"
    assert p.value == "1.31.2"
    assert f"autoUpgradeChannel={channel} upgrades the cluster itself" in p.message
    assert "give 1.MINOR (1.31)" in p.message
    # the minor alone is what such a channel takes
    assert parse_settings("dev", dev(kubernetesVersion="1.31", autoUpgradeChannel=channel)).kubernetes_version == "1.31"


def test_resources_report_every_problem_of_one_value_at_once() -> None:
    (p,) = problems_of(dev(schedulerResources="cpu=2 cores,memory=512,cpuLimit=1,mem=1Gi"))
    assert p.key == f"{PROJECT}:schedulerResources"
    assert p.message.startswith("must be cpu=<request>,memory=<request>,cpuLimit=<limit>,memoryLimit=<limit>")
    for part in (
        "unknown field 'mem'",
        "missing memoryLimit",
        "cpu '2 cores' is not a CPU quantity",
        "memory '512' is not a memory quantity",
    ):
        assert part in p.message, p.message


def test_a_field_given_with_a_bad_value_is_not_also_called_missing() -> None:
    for value, said in (
        ("cpu=lots,memory=1Gi,cpuLimit=1,memoryLimit=1Gi", "cpu 'lots' is not a CPU quantity"),
        ("cpu=,memory=1Gi,cpuLimit=1,memoryLimit=1Gi", "cpu is empty"),
    ):
        (p,) = problems_of(dev(schedulerResources=value))
        assert said in p.message
        assert "missing" not in p.message


def test_resources_limits_below_requests_are_refused_with_both_values() -> None:
    (p,) = problems_of(dev(workerResources="cpu=2,memory=4Gi,cpuLimit=1500m,memoryLimit=4000Mi"))
    assert "cpuLimit 1500m is below cpu 2" in p.message
    assert "memoryLimit 4000Mi is below memory 4Gi" in p.message
    assert "a limit must be at least its request" in p.message


@pytest.mark.parametrize(
    ("memory", "limit"),
    # Kubernetes' units: Ki/Mi/Gi/Ti are powers of 1024, k/M/G/T of 1000
    [("1024Ki", "1Mi"), ("1024Mi", "1Gi"), ("1024Gi", "1Ti"), ("1000k", "1M"), ("1000M", "1G"), ("1000G", "1T")],
)
def test_a_limit_equal_to_its_request_in_another_unit_is_accepted(memory: str, limit: str) -> None:
    value = f"cpu=1,memory={memory},cpuLimit=1000m,memoryLimit={limit}"
    assert parse_settings("dev", dev(workerResources=value)).worker_resources.memory == memory


def test_resources_are_typed_for_the_builder() -> None:
    s = parse_settings("dev", dev(gitSyncResources="cpu=50m,memory=64Mi,cpuLimit=200m,memoryLimit=256Mi"))
    assert s.git_sync_resources.kubernetes() == {
        "requests": {"cpu": "50m", "memory": "64Mi"},
        "limits": {"cpu": "200m", "memory": "256Mi"},
    }
    assert str(s.git_sync_resources) == "cpu=50m,memory=64Mi,cpuLimit=200m,memoryLimit=256Mi"


def test_resources_as_typed_values_take_yaml_numbers() -> None:
    resources = {"cpu": 1, "memory": "1Gi", "cpuLimit": 2.5, "memoryLimit": "2Gi"}
    s = parse_settings("dev", {**dev(), f"{PROJECT}:schedulerResources": resources})
    assert s.scheduler_resources == Resources(cpu="1", memory="1Gi", cpu_limit="2.5", memory_limit="2Gi")
    (p,) = problems_of({**dev(), f"{PROJECT}:schedulerResources": {**resources, "memory": True}})
    assert "memory is not a quantity" in p.message


# ------------------------------------------------------------ issue 9: bounds and edges
def test_a_one_node_pool_in_one_zone_is_accepted() -> None:
    s = parse_settings("dev", dev(nodeCount="1", availabilityZones='["1"]'))
    assert (s.node_count, s.availability_zones) == (1, ["1"])


def test_namespace_limits_without_the_secrets_operator() -> None:
    """Without ESO there is no <namespace>-eso: a 63-character namespace and 'kube' are fine."""
    for namespace in ("a" * 63, "kube"):
        s = parse_settings("dev", dev(namespace=namespace, installSecretsOperator="false"))
        assert s.namespace == namespace


def test_timezone_check_turns_every_zoneinfo_error_into_a_bad_value() -> None:
    """zoneinfo raises OSError (ENAMETOOLONG), ValueError (NUL, not a TZif file, absolute or
    parent paths) and ZoneInfoNotFoundError: each is 'not a time zone', never a traceback."""
    from config.validators import timezone

    for name in ("a" * 300, "a\x00b", "/etc/passwd", "zone.tab", "tzdata.zi", "Mars/Olympus", "\ud800"):
        with pytest.raises(ValueError, match="an IANA time zone") as caught:
            timezone(name)
        assert type(caught.value) is ValueError


# ---------------------------------------------------------- issue 9: the stack name
# Microsoft's limits ("Naming rules and restrictions for Azure resources": resourcegroups 1-90,
# userAssignedIdentities 3-128; AKS: the node resource group "can be up to 80 characters"),
# written here, not imported from config.limits, which they check.
RESOURCE_GROUP_LIMIT = 90
IDENTITY_LIMIT = 128
NODE_RESOURCE_GROUP_LIMIT = 80
VNET_LIMIT = 64  # Microsoft.Network/virtualNetworks: 2-64


def _names_fit(s: Settings) -> bool:
    """Every Azure name built from the stack, against Microsoft's limits, computed here
    independently of config.checks._derived_names."""
    checks = [len(s.identity_name) <= IDENTITY_LIMIT]
    if not s.resource_group_name:
        checks.append(len(s.effective_resource_group) <= RESOURCE_GROUP_LIMIT)
    if s.cluster_mode == "create":
        checks.append(
            len(f"MC_{s.effective_resource_group}_{s.effective_cluster_name}_{s.location}") <= NODE_RESOURCE_GROUP_LIMIT
        )
        if not s.cluster_name:
            checks.append(len(s.effective_cluster_name) <= 54)
        if s.network_mode != "aks-managed":
            checks.append(len(f"{s.name_prefix}-{s.stack}-aks-identity") <= IDENTITY_LIMIT)
    if s.logs_mode == "remote":
        checks += [len(f"{s.name_prefix}-{s.stack}-logs-{role}") <= IDENTITY_LIMIT for role in ("writer", "reader")]
    if s.network_mode == "create":
        checks.append(len(f"{s.name_prefix}-{s.stack}-vnet") <= VNET_LIMIT)
    return all(checks)


@pytest.mark.parametrize(
    ("overrides", "longest"),
    [
        # MC_<prefix>-<stack>-rg_<prefix>-<stack>-aks_<location> <= 80: (80 - 34) / 2
        ({}, 23),
        ({"azure-native:location": "germanywestcentral"}, 17),
        ({"namePrefix": "af"}, 28),
        ({"namePrefix": "airflowprd"}, 20),
        # an explicit cluster name: MC_<prefix>-<stack>-rg_corp-aks_eastus <= 80
        ({"clusterName": "corp-aks"}, 50),
        # an existing cluster: only the stack's resource group (90) and the identity (128)
        ({"clusterMode": "existing", "clusterName": "corp-aks", "clusterResourceGroup": "corp-rg"}, 79),
        # every name explicit: the identity alone, 128 - len("airflow--identity")
        (
            {"clusterMode": "existing", "clusterName": "cc", "clusterResourceGroup": "c-rg", "resourceGroupName": "r"},
            111,
        ),
        # a created VNet with the groups and cluster named: <namePrefix>-<stack>-vnet <= 64
        ({"networkMode": "create", "resourceGroupName": "r", "clusterName": "cc"}, 51),
        # an existing subnet, the same: the cluster identity, 128 - len("airflow--aks-identity")
        ({"networkMode": "existing", "nodeSubnetId": SUBNET, "resourceGroupName": "r", "clusterName": "cc"}, 107),
        # a created VNet on defaults: the node resource group still binds first
        ({"networkMode": "create"}, 23),
        # remote logs with every other name explicit: the log identities, 128 - len("airflow--logs-writer")
        ({"logsMode": "remote", "resourceGroupName": "r", "clusterName": "cc"}, 108),
        # remote logs on defaults: the node resource group still binds first
        ({"logsMode": "remote"}, 23),
    ],
    ids=[
        "defaults",
        "long-region",
        "short-prefix",
        "longest-prefix",
        "explicit-cluster",
        "existing",
        "all-explicit",
        "created-vnet",
        "existing-subnet",
        "created-vnet-defaults",
        "remote-logs",
        "remote-logs-defaults",
    ],
)
def test_the_longest_stack_name_follows_the_tightest_derived_name(overrides: dict[str, str], longest: int) -> None:
    values = dev()
    values.update({k if ":" in k else f"{PROJECT}:{k}": v for k, v in overrides.items()})

    ok = parse_settings("a" * longest, values)
    assert _names_fit(ok)
    assert _longest_stack(ok) == longest
    (p,) = problems_of(values, stack="a" * (longest + 1))
    assert p.key == STACK_KEY
    assert f"is {longest + 1} characters long, but with these settings" in p.message
    assert f"a stack name can have at most {longest}:" in p.message
    over = ok.model_copy(update={"stack": "a" * (longest + 1)})
    assert not _names_fit(over)


def test_a_100_character_stack_is_refused_with_every_name_it_breaks() -> None:
    """Before issue 9 this made a 111-character resource group and a 234-character node group."""
    (p,) = problems_of(dev(), stack="s" * 100)

    assert p.key == STACK_KEY
    assert "a stack name can have at most 23" in p.message
    assert "resource group <namePrefix>-<stack>-rg = " in p.message
    assert "has 111 characters, at most 90" in p.message
    assert "AKS DNS prefix <namePrefix>-<stack>-aks = " in p.message
    assert "has 112 characters, at most 54" in p.message
    assert "has 111 characters, at most 90; AKS DNS prefix" in p.message  # one clause per name
    assert "AKS node resource group MC_<resource group>_<cluster>_<location>" in p.message
    assert "or set resourceGroupName and clusterName explicitly" in p.message


def test_a_stack_too_long_for_the_managed_identity_alone_names_it() -> None:
    """With the resource group and cluster named explicitly only the identity is derived from
    the stack; Azure allows 3-128 characters for a user-assigned identity name."""
    (p,) = problems_of(dev(resourceGroupName="rg", clusterName="cc"), stack="s" * 125)

    assert p.key == STACK_KEY
    assert "managed identity <namePrefix>-<stack>-identity = " in p.message
    assert "has 142 characters, at most 128; use a shorter stack name" in p.message
    assert "a stack name can have at most 111" in p.message


def test_explicit_names_too_long_for_the_node_resource_group_are_their_problem() -> None:
    """No stack name could fix it: the longer explicit name is blamed, not the stack."""
    (p,) = problems_of(dev(resourceGroupName="r" * 60, clusterName="c" * 20), stack="x")
    assert p.key == f"{PROJECT}:resourceGroupName"
    assert "has 91 characters, at most 80: AKS refuses the cluster" in p.message
    (p,) = problems_of(dev(resourceGroupName="r" * 20, clusterName="c" * 54), stack="x")
    assert p.key == f"{PROJECT}:clusterName"


def test_the_program_builds_exactly_the_names_settings_checks() -> None:
    """The longest allowed stack through __main__.py: the names the program registers are
    the ones settings derives, and each is within Azure's limit."""
    from synth.project import StackConfig
    from synth.runner import run_stack

    dev_config = load_stack_config("dev")
    stack = "s" * 23
    config = StackConfig(dev_config.project, stack, dev_config.values, dev_config.secret_keys)
    s = parse_settings(stack, config.values)
    result = run_stack(config)

    group = result.one("azure-native:resources:ResourceGroup").inputs
    aks = result.one("azure-native:containerservice:ManagedCluster").inputs
    identity = result.one("azure-native:managedidentity:UserAssignedIdentity").inputs
    assert group["resourceGroupName"] == s.effective_resource_group
    assert aks["resourceName"] == aks["dnsPrefix"] == s.effective_cluster_name
    assert identity["resourceName"] == s.identity_name
    assert "nodeResourceGroup" not in aks  # AKS names it MC_<group>_<cluster>_<location>
    assert len(s.node_resource_group) == NODE_RESOURCE_GROUP_LIMIT
    assert _names_fit(s)


# -------------------------------------------------- issue 9: wrong even when well-formed
@pytest.mark.parametrize(
    ("chart", "executor"), [("1.15.0", "CeleryKubernetesExecutor"), ("1.19.0", "CeleryExecutor,KubernetesExecutor")]
)
def test_no_service_account_the_chart_renders_may_be_the_workload_identity_account(
    chart: str, executor: str, dev_run: RunResult
) -> None:
    """Read off the real chart, rendered under the release name the program installs with every
    optional component on: the settings refuse each ServiceAccount it creates as
    serviceAccountName (the Key Vault identity would reach those pods)."""
    from components.airflow_values import airflow_values
    from plan import build_plan
    from synth import helm, reference

    release = next(r for r in dev_run.by_type("kubernetes:helm.sh/v3:Release") if r.inputs["chart"] == "airflow")
    settings = parse_settings("dev", dev(airflowChartVersion=chart, executor=executor, highAvailability="true"))
    values = airflow_values(settings, build_plan(settings))
    schema = reference.airflow_chart_schema(chart)["properties"]
    for optional in ("flower", "cleanup", "databaseCleanup", "dagProcessor"):
        if optional in schema:
            values.setdefault(optional, {})["enabled"] = True
    try:
        objs = helm.render_objects(
            "airflow", chart, values, release=release.inputs["name"], namespace="airflow", kube_version="1.33"
        )
    except helm.NotRendered as err:  # pragma: no cover - the dev requirements install the engine
        pytest.skip(str(err))
    accounts = sorted(o["metadata"]["name"] for o in objs if o["kind"] == "ServiceAccount")
    assert len(accounts) >= 12  # scheduler, workers, flower, cleanup, ... : not vacuous
    for account in accounts:
        (p,) = problems_of(dev(serviceAccountName=account))
        assert p.key == f"{PROJECT}:serviceAccountName", account
        assert "is a ServiceAccount the Airflow chart creates" in p.message, account


@pytest.mark.parametrize(
    ("chart", "tag"),
    [
        ("1.15.0", "2.9.3"),
        ("1.15.0", "2.9.0"),  # an older patch of the same minor
        ("1.15.0", "2.10.5"),  # a newer minor of the same major
        ("1.15.0", "2.9.3-python3.11"),
        ("1.15.0", "slim-2.9.3"),
        ("1.15.0", "2.9.3-custom1"),
        ("1.19.0", "3.1.7"),
        ("1.19.0", "3.2.0-corp.5"),
        ("1.19.0", "3.1.7rc1"),
    ],
)
def test_image_tags_of_the_charts_airflow_line_are_accepted(chart: str, tag: str) -> None:
    executor = {"executor": "KubernetesExecutor"}
    assert (
        parse_settings("dev", dev(airflowChartVersion=chart, airflowImageTag=tag, **executor)).airflow_image_tag == tag
    )


@pytest.mark.parametrize(
    "entry",
    [
        "AIRFLOW__CORE__LOAD_EXAMPLES=True",  # the chart's default, not the stack's business
        "AIRFLOW__SECRETS__BACKEND=airflow.providers.microsoft.azure.secrets.key_vault.AzureKeyVaultBackend",
        "AIRFLOW__CORE__PARALLELISM=64",
        "AIRFLOW__WEBSERVER__BASE_URL=https://airflow.example.com/",
        "NOTIFY=mailto:team@example.com",
        "GREETING=grüß dich, 世界",
        "EMPTY=",
        "X=" + "v" * 30_000,
    ],
)
def test_ordinary_airflow_env_entries_are_accepted(entry: str) -> None:
    s = parse_settings("dev", dev(airflowEnv=json.dumps([entry])))
    assert s.airflow_env == [entry]


def test_high_availability_with_the_local_executor_is_accepted() -> None:
    """Two schedulers each running their own tasks is a supported Airflow setup."""
    s = parse_settings("dev", dev(highAvailability="true", executor="LocalExecutor"))
    assert (s.high_availability, s.executor) == (True, "LocalExecutor")


def test_node_count_checks_apply_to_a_created_cluster_only() -> None:
    """An existing cluster's nodes are its own: nodeCount and availabilityZones are unused."""
    s = parse_settings(
        "dev",
        dev(
            clusterMode="existing",
            clusterName="corp-aks",
            clusterResourceGroup="corp-rg",
            highAvailability="true",
            nodeCount="1",
        ),
    )
    assert (s.node_count, s.availability_zones) == (1, ["1", "2", "3"])


def test_entra_on_an_existing_cluster_is_accepted() -> None:
    s = parse_settings(
        "dev", dev(clusterMode="existing", clusterName="corp-aks", clusterResourceGroup="corp-rg", clusterAuth="entra")
    )
    assert (s.cluster_mode, s.cluster_auth) == ("existing", "entra")


def test_advisories_name_risky_but_valid_choices() -> None:
    # prod as it is: a zone-redundant managed database, Key Vault purge protection on
    assert advisories(parse_settings("prod", _prod_values())) == []
    # HA on the bundled PostgreSQL
    (note,) = advisories(parse_settings("prod", _prod_values(databaseMode="bundled")))
    assert "the bundled PostgreSQL (databaseMode=bundled) stays one pod on one zonal disk" in note
    assert "for production use databaseMode=managed" in note
    # HA on a managed server without a standby
    (note,) = advisories(parse_settings("prod", _prod_values(databaseHighAvailability="Disabled")))
    assert "the managed flexible server has no standby (databaseHighAvailability=Disabled)" in note
    assert "set databaseHighAvailability to ZoneRedundant (or SameZone)" in note
    assert advisories(parse_settings("prod", _prod_values(databaseHighAvailability="SameZone"))) == []
    # without highAvailability neither database is a weak link among redundant components
    for database in ({"databaseMode": "bundled"}, {"databaseHighAvailability": "Disabled"}):
        assert advisories(parse_settings("prod", _prod_values(highAvailability="false", **database))) == [], database

    for stack in ("prod", "prod-eu", "eu-production", "PROD"):
        (note,) = advisories(parse_settings(stack, dev()))  # dev's keyVaultPurgeProtection is false
        assert f"keyVaultPurgeProtection is false on stack {stack!r}" in note
    for stack in ("dev", "product", "preprod2"):
        assert advisories(parse_settings(stack, dev())) == []


@pytest.mark.parametrize(
    ("overrides", "warning"),
    [
        ({"databaseMode": "bundled"}, "stays one pod on one zonal disk"),
        ({"databaseHighAvailability": "Disabled"}, "the managed flexible server has no standby"),
    ],
    ids=["bundled", "managed-without-standby"],
)
def test_load_settings_warns_about_advisories(
    overrides: dict[str, str], warning: str, caplog: pytest.LogCaptureFixture
) -> None:
    import dataclasses

    from synth.runner import run_stack

    config = load_stack_config("prod")
    run_stack(dataclasses.replace(config, values=_prod_values(**overrides)))
    assert [r.getMessage() for r in caplog.records if warning in r.getMessage()]


# ------------------------------------------------------- issue 9: never echo a secret
TOKEN = "ghp_Zx9s3cr3tT0ken4711"


def test_a_secret_key_shows_neither_its_value_nor_fragments_of_it() -> None:
    values = dev(dagsGitRepo=f"https://user:{TOKEN}@github.com/org/dags.git", airflowEnv=json.dumps([f"BAD {TOKEN}"]))
    secrets = [f"{PROJECT}:dagsGitRepo", f"{PROJECT}:airflowEnv"]

    with pytest.raises(ConfigError) as caught:
        parse_settings("dev", values, secret_keys=secrets)
    err = caught.value

    assert TOKEN not in str(err)
    assert TOKEN not in repr(err.problems)
    assert f"  - {PROJECT}:dagsGitRepo = [secret]: must not carry credentials" in str(err)
    assert f"  - {PROJECT}:airflowEnv = [secret]: entry '***' must look like NAME=value" in str(err)


def test_credentials_in_a_url_are_masked_even_when_the_key_is_not_secret() -> None:
    (p,) = problems_of(dev(dagsGitRepo=f"https://oauth2:{TOKEN}@dev.azure.com/org/_git/dags"))
    assert TOKEN not in str(p)
    assert str(p).startswith(f'{PROJECT}:dagsGitRepo = "https://[redacted]@dev.azure.com/org/_git/dags": ')

    (p,) = problems_of(dev(airflowEnv=json.dumps([f"BROKER=redis://:{TOKEN}@redis:6379/0"])))
    assert TOKEN not in str(p)
    assert '"BROKER=redis://[redacted]@redis:6379/0"' in str(p)


def test_a_secret_value_is_masked_in_other_keys_messages_too() -> None:
    """The node resource group message repeats resourceGroupName: masked there as well."""
    group = "corp-" + "x" * 70
    with pytest.raises(ConfigError) as caught:
        parse_settings(
            "dev", dev(resourceGroupName=group, clusterName="cc"), secret_keys=[f"{PROJECT}:resourceGroupName"]
        )
    text = str(caught.value)
    assert group not in text
    assert f"  - {PROJECT}:resourceGroupName = [secret]: makes AKS node resource group" in text
    assert "'MC_***_cc_eastus'" in text


def test_long_values_are_clipped_where_they_are_shown() -> None:
    (p,) = problems_of(dev(timezone="z" * 100_000))
    shown = str(p)
    assert len(shown) < 600
    assert "... (100002 characters): is 100000 characters long, more than 64" in shown


def test_load_settings_learns_the_secret_keys_from_the_runtime(monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI passes them in PULUMI_CONFIG_SECRET_KEYS; the Automation API (and synth)
    through set_all_config."""
    import pulumi.runtime

    monkeypatch.setenv("PULUMI_CONFIG_SECRET_KEYS", json.dumps([f"{PROJECT}:adminEmail"]))
    pulumi.runtime.set_all_config(
        {f"{PROJECT}:dagsGitRepo": "x", f"{PROJECT}:namespace": "y"}, [f"{PROJECT}:dagsGitRepo"]
    )
    try:
        assert _secret_config_keys() == {f"{PROJECT}:adminEmail", f"{PROJECT}:dagsGitRepo"}
    finally:
        pulumi.runtime.set_all_config({}, [])


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        (["eastus"], "a list"),
        ({"a": 1}, "a mapping"),
        (5, "a number"),
        (None, "null"),
        (b"x", "bytes"),
        (True, "a boolean"),
    ],
)
def test_a_non_string_where_a_string_belongs_is_named_as_such(value: Any, kind: str) -> None:
    """A typed caller's list, mapping or number for a string key: a Problem that says what
    it got and what is allowed (not a TypeError, not pydantic's wording)."""
    values = dev()
    values.update({f"{PROJECT}:timezone": value, f"{PROJECT}:acrName": value})
    problems = {p.key: p.message for p in problems_of(values)}
    assert problems == {
        f"{PROJECT}:timezone": f"must be a string, not {kind}: an IANA time zone such as UTC or America/New_York",
        f"{PROJECT}:acrName": f"must be a string, not {kind}: an Azure Container Registry name: 5-50 letters "
        "and digits",
    }


# ------------------------------------------------------------------- issue 12: the network


def test_a_created_network_with_the_default_address_space_is_accepted() -> None:
    s = parse_settings("dev", dev(networkMode="create"))

    assert (s.network_mode, s.vnet_address_space, s.node_subnet_id) == ("create", "10.42.0.0/16", "")
    assert s.vnet_name == "airflow-dev-vnet"
    assert s.cluster_identity_name == "airflow-dev-aks-identity"
    assert s.identity_name == "airflow-dev-identity"  # the workload identity stays what it was


def test_the_derived_network_names_follow_prefix_and_stack() -> None:
    s = parse_settings("prod-eu", dev(namePrefix="af", networkMode="create"))
    assert (s.vnet_name, s.cluster_identity_name) == ("af-prod-eu-vnet", "af-prod-eu-aks-identity")


@pytest.mark.parametrize(
    "space", ["10.42.0.0/16", "10.1.0.0/22", "172.16.0.0/16", "172.31.252.0/22", "192.168.0.0/16", "10.245.0.0/16"]
)
def test_private_address_spaces_outside_the_cluster_ranges_are_accepted(space: str) -> None:
    s = parse_settings("dev", dev(networkMode="create", vnetAddressSpace=space))
    assert s.vnet_address_space == space


def test_an_address_space_is_only_held_to_the_cluster_ranges_when_the_stack_creates_the_vnet() -> None:
    """10.0.0.0/16 is the service CIDR: refused with networkMode=create, unused otherwise."""
    assert parse_settings("dev", dev(vnetAddressSpace="10.0.0.0/16")).vnet_address_space == "10.0.0.0/16"
    (p,) = problems_of(dev(networkMode="create", vnetAddressSpace="10.0.0.0/16"))
    assert p.key == f"{PROJECT}:vnetAddressSpace"


def test_an_existing_subnet_in_mixed_case_is_accepted() -> None:
    """ARM compares the fixed segments of a resource ID case-insensitively (az prints them
    as the resource was created; portal copies differ)."""
    subnet_id = (
        "/SUBSCRIPTIONS/5B6C3A1E-9D5F-4C2B-8F0E-2A7D9C1B3E4F/resourcegroups/Net-RG_(1)/providers"
        "/microsoft.network/VirtualNetworks/hub.vnet_01/Subnets/aks_"
    )
    s = parse_settings("dev", dev(networkMode="existing", nodeSubnetId=subnet_id))

    assert (s.network_mode, s.node_subnet_id) == ("existing", subnet_id)  # kept as written
    assert s.cluster_identity_name == "airflow-dev-aks-identity"


def test_the_longest_subnet_id_is_accepted() -> None:
    """90-character group, 64-character VNet, 80-character subnet: 355 characters, the cap."""
    subnet_id = (
        f"/subscriptions/5b6c3a1e-9d5f-4c2b-8f0e-2a7d9c1b3e4f/resourceGroups/{'g' * 90}/providers/"
        f"Microsoft.Network/virtualNetworks/{'v' * 64}/subnets/{'s' * 80}"
    )
    assert len(subnet_id) == 355
    assert parse_settings("dev", dev(networkMode="existing", nodeSubnetId=subnet_id)).node_subnet_id == subnet_id
    (p,) = problems_of(dev(networkMode="existing", nodeSubnetId=subnet_id.replace("/subnets/", "/subnets/s")))
    assert "is 356 characters long, more than 355" in p.message


def test_one_character_subnet_and_two_character_vnet_are_accepted() -> None:
    subnet_id = SUBNET.replace("/hub-vnet/", "/v_/").replace("aks-nodes", "a")
    assert parse_settings("dev", dev(networkMode="existing", nodeSubnetId=subnet_id)).node_subnet_id == subnet_id


def test_authorized_ranges_take_an_address_and_a_cidr() -> None:
    ranges = ["203.0.113.7", "198.51.100.0/24"]
    s = parse_settings("dev", dev(apiServerAuthorizedIpRanges=json.dumps(ranges)))
    assert s.api_server_authorized_ip_ranges == ranges


def test_authorized_ranges_take_200_entries_and_work_with_every_network_mode() -> None:
    ranges = [f"198.51.{i // 256}.{i % 256}" for i in range(200)]
    for mode, subnet in (("aks-managed", ""), ("create", ""), ("existing", SUBNET)):
        s = parse_settings(
            "dev", dev(apiServerAuthorizedIpRanges=json.dumps(ranges), networkMode=mode, nodeSubnetId=subnet)
        )
        assert len(s.api_server_authorized_ip_ranges) == 200


def test_the_cluster_ranges_are_the_aks_defaults_the_plan_imports() -> None:
    """Azure CNI Overlay's pod CIDR and AKS's service CIDR and DNS IP, exported from config."""
    import ipaddress

    assert (POD_CIDR, SERVICE_CIDR, DNS_SERVICE_IP) == ("10.244.0.0/16", "10.0.0.0/16", "10.0.0.10")
    assert ipaddress.IPv4Address(DNS_SERVICE_IP) in ipaddress.IPv4Network(SERVICE_CIDR)
    assert not ipaddress.IPv4Network(POD_CIDR).overlaps(ipaddress.IPv4Network(SERVICE_CIDR))
    default = ipaddress.IPv4Network(project_defaults()[f"{PROJECT}:vnetAddressSpace"])
    assert not default.overlaps(ipaddress.IPv4Network(POD_CIDR))
    assert not default.overlaps(ipaddress.IPv4Network(SERVICE_CIDR))


def test_prod_creates_its_own_network_and_dev_keeps_the_articles() -> None:
    prod = parse_settings("prod", load_stack_config("prod").values)
    dev_s = parse_settings("dev", load_stack_config("dev").values)
    assert (prod.network_mode, prod.vnet_address_space, prod.vnet_name) == (
        "create",
        "10.42.0.0/16",
        "airflow-prod-vnet",
    )
    assert prod.cluster_identity_name == "airflow-prod-aks-identity"
    assert dev_s.network_mode == "aks-managed"


def test_a_network_conflict_is_reported_beside_a_bad_network_value() -> None:
    """networkMode on an existing cluster and a bad authorized range: both at once."""
    values = dev(
        clusterMode="existing",
        clusterName="corp-aks",
        clusterResourceGroup="corp-rg",
        networkMode="create",
        apiServerAuthorizedIpRanges='["0.0.0.0/0"]',
    )
    assert [p.key for p in problems_of(values)] == [
        f"{PROJECT}:apiServerAuthorizedIpRanges",
        f"{PROJECT}:networkMode",
    ]


# ------------------------------------------------------------- issue 12: a user pool
def test_prod_has_an_autoscaling_user_pool_and_dev_keeps_the_articles_single_pool() -> None:
    prod = parse_settings("prod", load_stack_config("prod").values)
    dev_s = parse_settings("dev", load_stack_config("dev").values)

    assert prod.has_user_pool
    assert (prod.user_pool_min_count, prod.user_pool_max_count, prod.user_pool_vm_size) == (3, 10, "Standard_D8ds_v5")
    assert (prod.node_count, prod.node_vm_size, prod.max_pods_per_node) == (3, "Standard_D4ds_v5", 110)
    assert (prod.high_availability, prod.cluster_mode) == (True, "create")
    assert not dev_s.has_user_pool
    assert dev_s.user_pool_max_count == 0
    assert (dev_s.node_count, dev_s.node_vm_size) == (3, "Standard_DS4_v2")


def test_a_user_pool_may_scale_to_zero_without_high_availability() -> None:
    s = parse_settings("dev", dev(userPoolMaxCount="5", userPoolMinCount="0"))
    assert (s.has_user_pool, s.user_pool_min_count, s.user_pool_max_count) == (True, 0, 5)
    s = parse_settings("dev", dev(userPoolMaxCount="1", userPoolMinCount="1"))
    assert (s.user_pool_min_count, s.user_pool_max_count) == (1, 1)


def test_without_a_user_pool_its_minimum_is_not_compared() -> None:
    """userPoolMaxCount 0: no pool, so userPoolMinCount (and highAvailability's rule on it) is unused."""
    s = parse_settings("dev", dev(userPoolMinCount="5", highAvailability="true"))
    assert (s.has_user_pool, s.user_pool_min_count) == (False, 5)
    s = parse_settings("dev", dev(userPoolMinCount="0", highAvailability="true"))
    assert (s.has_user_pool, s.user_pool_min_count) == (False, 0)


def test_high_availability_needs_two_nodes_where_airflow_runs() -> None:
    """Without a user pool Airflow runs on the system pool (nodeCount); with one, on the user
    pool, which may shrink to userPoolMinCount: the rule follows Airflow, not both pools."""
    one_system_node = {"nodeCount": "1", "availabilityZones": '["1"]', "highAvailability": "true"}
    (p,) = problems_of(dev(**one_system_node))
    assert (p.key, p.value) == (f"{PROJECT}:highAvailability", True)
    assert p.message == "needs at least 2 nodes to spread two replicas over (nodeCount is 1)"

    s = parse_settings("dev", dev(**one_system_node, userPoolMaxCount="4", userPoolMinCount="2"))
    assert (s.node_count, s.user_pool_min_count, s.high_availability) == (1, 2, True)

    (p,) = problems_of(dev(highAvailability="true", userPoolMaxCount="4", userPoolMinCount="1"))
    assert (p.key, p.value) == (f"{PROJECT}:userPoolMinCount", 1)
    assert "the autoscaler may shrink the pool to userPoolMinCount (1); raise it to 2" in p.message
    assert "userPoolMaxCount (4) with it" not in p.message  # 4 is enough


def test_a_user_pool_on_an_existing_cluster_is_reported_with_its_other_problems() -> None:
    """All at once: the pool belongs to a created cluster, and its bounds are crossed."""
    values = dev(
        clusterMode="existing",
        clusterName="corp-aks",
        clusterResourceGroup="corp-rg",
        userPoolMaxCount="3",
        userPoolMinCount="5",
        maxPodsPerNode="5",
    )
    problems = {p.key: p for p in problems_of(values)}
    assert set(problems) == {f"{PROJECT}:userPoolMaxCount", f"{PROJECT}:userPoolMinCount", f"{PROJECT}:maxPodsPerNode"}
    assert "needs clusterMode=create" in problems[f"{PROJECT}:userPoolMaxCount"].message
    assert problems[f"{PROJECT}:userPoolMinCount"].message.startswith("must be at most userPoolMaxCount (3)")
    assert problems[f"{PROJECT}:maxPodsPerNode"].message == "must be a whole number from 30 to 250"


def test_high_availability_on_an_existing_cluster_reads_no_pool_size() -> None:
    """An existing cluster's nodes are its own: neither nodeCount nor userPoolMinCount is held to 2."""
    existing = {"clusterMode": "existing", "clusterName": "corp-aks", "clusterResourceGroup": "corp-rg"}
    s = parse_settings("dev", dev(**existing, highAvailability="true", nodeCount="1", userPoolMinCount="0"))
    assert (s.node_count, s.user_pool_min_count, s.has_user_pool) == (1, 0, False)


def test_zones_are_held_to_the_system_pool_only() -> None:
    """The user pool spans the same zones with the autoscaler, which balances them as it
    grows: a minimum below the zone count is no problem; the system pool's fixed count is."""
    s = parse_settings("dev", dev(userPoolMaxCount="6", userPoolMinCount="1"))
    assert (s.availability_zones, s.user_pool_min_count) == (["1", "2", "3"], 1)
    (p,) = problems_of(dev(nodeCount="2", userPoolMaxCount="6", userPoolMinCount="3"))
    assert p.key == f"{PROJECT}:availabilityZones"
    assert "but nodeCount is 2" in p.message


# ------------------------------- the metadata database, remote task logs, private networking
DB_SUBNET = SUBNET.replace("aks-nodes", "postgres")
PE_SUBNET = SUBNET.replace("aks-nodes", "endpoints")


def test_the_database_strings_are_the_sdks_own() -> None:
    """What the Database component passes to the SDK's enums: every tier, version and
    high-availability mode the settings accept is a value of the installed SDK's enum."""
    from pulumi_azure_native import dbforpostgresql

    from config.model import DatabaseHighAvailability, DatabaseVersion
    from config.validators import DATABASE_SKU_TIERS

    assert sorted(DATABASE_SKU_TIERS.values()) == sorted(t.value for t in dbforpostgresql.SkuTier)
    assert set(get_args(DatabaseVersion)) <= {v.value for v in dbforpostgresql.PostgresMajorVersion}
    modes = dbforpostgresql.PostgreSqlFlexibleServerHighAvailabilityMode
    assert sorted(get_args(DatabaseHighAvailability)) == sorted(m.value for m in modes)
    for size, tier in (("Standard_B1ms", "Burstable"), ("Standard_D2ds_v5", "GeneralPurpose")):
        s = parse_settings("dev", dev(databaseSku=size))
        assert dbforpostgresql.SkuTier(s.database_sku_tier).value == tier
    for version in get_args(DatabaseVersion):
        s = parse_settings("dev", dev(databaseVersion=version))
        assert dbforpostgresql.PostgresMajorVersion(s.database_version).value == version


@pytest.mark.parametrize(
    ("sku", "tier"),
    [
        ("Standard_B1ms", "Burstable"),
        ("Standard_B2s", "Burstable"),
        ("Standard_B20ms", "Burstable"),
        ("Standard_D2s_v3", "GeneralPurpose"),
        ("Standard_D2ds_v5", "GeneralPurpose"),
        ("Standard_D96ads_v5", "GeneralPurpose"),
        ("Standard_E2ds_v4", "MemoryOptimized"),
        ("Standard_E4ds_v5", "MemoryOptimized"),
        ("Standard_E64ads_v5", "MemoryOptimized"),
    ],
)
def test_the_database_tier_follows_the_sku_family(sku: str, tier: str) -> None:
    s = parse_settings("dev", dev(databaseSku=sku))
    assert (s.database_sku, s.database_sku_tier) == (sku, tier)


def test_the_maintenance_window_uses_azures_day_numbering() -> None:
    """maintenanceWindow.dayOfWeek: 0 is Sunday, 6 Saturday; the time is UTC, any minute."""
    for number, day in enumerate(("Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat")):
        s = parse_settings("dev", dev(databaseMaintenanceWindow=f"{day} 23:45"))
        assert s.database_maintenance == (number, 23, 45)
    assert parse_settings("dev", dev(databaseMaintenanceWindow="Mon 00:07")).database_maintenance == (1, 0, 7)


def test_a_managed_database_in_a_created_vnet_is_accepted() -> None:
    """The default size (General Purpose) with the built-in PgBouncer and zone-redundant HA."""
    s = parse_settings(
        "prod",
        dev(
            databaseMode="managed",
            networkMode="create",
            databaseHighAvailability="ZoneRedundant",
            databaseGeoRedundantBackup="true",
            databaseBackupRetentionDays="35",
            databaseStorageSizeGb="512",
            databaseVersion="17",
        ),
    )
    assert (s.database_mode, s.managed_database, s.postgresql_enabled) == ("managed", True, False)
    assert (s.pgbouncer_enabled, s.database_sku_tier, s.database_high_availability) == (
        True,
        "GeneralPurpose",
        "ZoneRedundant",
    )
    assert (s.database_geo_redundant_backup, s.database_backup_retention_days) == (True, 35)
    assert (s.database_storage_size_gb, s.database_version, s.database_subnet_id) == (512, "17", "")


def test_a_managed_database_in_an_existing_network_takes_its_delegated_subnet() -> None:
    s = parse_settings(
        "dev", dev(databaseMode="managed", networkMode="existing", nodeSubnetId=SUBNET, databaseSubnetId=DB_SUBNET)
    )
    assert (s.database_subnet_id, s.node_subnet_id) == (DB_SUBNET, SUBNET)


def test_a_burstable_managed_database_without_ha_or_pgbouncer_is_accepted() -> None:
    s = parse_settings(
        "dev", dev(databaseMode="managed", networkMode="create", databaseSku="Standard_B1ms", pgbouncerEnabled="false")
    )
    assert (s.database_sku_tier, s.pgbouncer_enabled, s.database_high_availability) == ("Burstable", False, "Disabled")


@pytest.mark.parametrize("mode", ["bundled", "external"])
def test_the_flexible_server_keys_are_unused_without_a_managed_database(mode: str) -> None:
    """High availability and the built-in PgBouncer on a Burstable size would be refused with
    databaseMode=managed; without it these keys are unused: still validated, never compared."""
    external = {"pgbouncerEnabled": "false", "externalDatabaseSecretName": "db"} if mode == "external" else {}
    s = parse_settings(
        "dev",
        dev(
            databaseMode=mode,
            databaseSku="Standard_B1ms",
            databaseHighAvailability="ZoneRedundant",
            databaseGeoRedundantBackup="true",
            **external,
        ),
    )
    assert (s.database_mode, s.managed_database, s.database_sku_tier) == (mode, False, "Burstable")


def test_postgresql_enabled_is_retired_with_what_replaced_it() -> None:
    from config.model import RETIRED_KEYS

    for value, meaning in (("true", "bundled"), ("false", "external")):
        (p,) = problems_of({**dev(), f"{PROJECT}:postgresqlEnabled": value})
        assert (p.key, p.value) == (f"{PROJECT}:postgresqlEnabled", value)
        assert p.message.startswith(
            "postgresqlEnabled was replaced by databaseMode: true -> bundled, false -> external (or managed for "
            "Azure Database for PostgreSQL Flexible Server)"
        )
        assert f"-> {meaning}" in p.message
        assert "unknown key" not in p.message
    # typed, secret or hostile: still the retired-key problem, the value never shown when secret
    (p,) = problems_of({**dev(), f"{PROJECT}:postgresqlEnabled": True})
    assert "was replaced by databaseMode" in p.message
    with pytest.raises(ConfigError) as caught:
        parse_settings(
            "dev", {**dev(), f"{PROJECT}:postgresqlEnabled": "s3cr3t-v4lue"}, [f"{PROJECT}:postgresqlEnabled"]
        )
    assert "s3cr3t-v4lue" not in str(caught.value)
    assert f"{PROJECT}:postgresqlEnabled = [secret]: postgresqlEnabled was replaced" in str(caught.value)
    # a retired key is no config key, and Pulumi.yaml no longer declares it
    assert not set(RETIRED_KEYS) & set(CONFIG_KEYS)
    assert not {f"{PROJECT}:{k}" for k in RETIRED_KEYS} & set(load_project()["config"])


def test_a_retired_key_is_reported_with_every_other_problem() -> None:
    problems = problems_of(dev(postgresqlEnabled="false", nodeCount="0", databaseMode="external"))
    assert {p.key for p in problems} == {
        f"{PROJECT}:postgresqlEnabled",
        f"{PROJECT}:nodeCount",
        f"{PROJECT}:externalDatabaseSecretName",  # databaseMode=external needs it
        f"{PROJECT}:pgbouncerEnabled",  # and dev's PgBouncer does not work with an external database
    }


def test_every_database_and_network_conflict_is_reported_at_once() -> None:
    """Conflicts between valid keys come with the bad values: one run shows them all."""
    problems = problems_of(
        dev(
            databaseMode="managed",
            databaseSku="Standard_B2s",
            databaseHighAvailability="SameZone",
            databaseSubnetId=DB_SUBNET,
            privateNetworking="true",
            privateEndpointSubnetId=PE_SUBNET,
            databaseAdminLogin="pg_admin",
            databaseMaintenanceWindow="Sunday 2am",
        )
    )
    assert sorted(p.key for p in problems) == sorted(
        f"{PROJECT}:{key}"
        for key in (
            "databaseAdminLogin",
            "databaseMaintenanceWindow",
            "databaseMode",  # managed on the aks-managed network
            "databaseHighAvailability",  # on Burstable
            "pgbouncerEnabled",  # the built-in PgBouncer on Burstable
            "databaseSubnetId",  # only with networkMode=existing
            "privateNetworking",  # on the aks-managed network
            "privateEndpointSubnetId",  # only with networkMode=existing
        )
    )


def test_private_networking_in_a_created_vnet_is_accepted() -> None:
    s = parse_settings("dev", dev(privateNetworking="true", networkMode="create"))
    assert (s.private_networking, s.private_endpoint_subnet_id) == (True, "")


def test_private_endpoints_may_share_the_node_subnet_of_an_existing_network() -> None:
    for subnet in (PE_SUBNET, SUBNET):
        s = parse_settings(
            "dev",
            dev(privateNetworking="true", networkMode="existing", nodeSubnetId=SUBNET, privateEndpointSubnetId=subnet),
        )
        assert s.private_endpoint_subnet_id == subnet


def test_everything_private_in_an_existing_network_is_accepted() -> None:
    s = parse_settings(
        "dev",
        dev(
            databaseMode="managed",
            networkMode="existing",
            nodeSubnetId=SUBNET,
            databaseSubnetId=DB_SUBNET,
            privateNetworking="true",
            privateEndpointSubnetId=PE_SUBNET,
            logsMode="remote",
        ),
    )
    assert (s.managed_database, s.private_networking, s.remote_logs) == (True, True, True)


def test_remote_logs_name_their_identities_after_the_stack() -> None:
    s = parse_settings("prod-eu", dev(namePrefix="af", logsMode="remote"))
    assert (s.logs_mode, s.remote_logs) == ("remote", True)
    assert (s.logs_writer_identity_name, s.logs_reader_identity_name) == (
        "af-prod-eu-logs-writer",
        "af-prod-eu-logs-reader",
    )


def test_a_managed_database_without_a_standby_under_high_availability_is_an_advisory() -> None:
    managed = {"databaseMode": "managed", "networkMode": "create", "highAvailability": "true"}
    (note,) = advisories(parse_settings("dev", dev(**managed)))
    assert "the managed flexible server has no standby (databaseHighAvailability=Disabled)" in note
    assert advisories(parse_settings("dev", dev(**managed, databaseHighAvailability="ZoneRedundant"))) == []


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("databaseMode", True, "must be 'bundled', 'managed' or 'external'"),
        ("databaseMode", ["managed"], "must be 'bundled', 'managed' or 'external'"),
        ("databaseSku", 2, "must be a string, not a number: an Azure Database for PostgreSQL flexible server"),
        ("databaseVersion", 16, "must be '16' or '17'"),
        ("databaseStorageSizeGb", True, "must be one of 32, 64, 128,"),
        ("databaseStorageSizeGb", 128.0, "must be one of 32, 64, 128,"),
        ("databaseStorageSizeGb", [128], "must be one of 32, 64, 128,"),
        ("databaseHighAvailability", None, "must be 'Disabled', 'SameZone' or 'ZoneRedundant'"),
        ("databaseBackupRetentionDays", 7.5, "must be a whole number from 7 to 35"),
        ("databaseGeoRedundantBackup", 1, "must be true or false"),
        ("databaseMaintenanceWindow", {"day": "Sun"}, "must be a string, not a mapping: a weekly start time in UTC"),
        ("databaseAdminLogin", b"airflow", "must be a string, not bytes: a PostgreSQL administrator login"),
        ("databaseSubnetId", 0, "must be a string, not a number: an Azure subnet resource ID"),
        ("logsMode", None, "must be 'pv' or 'remote'"),
        ("privateNetworking", "1", "must be true or false"),
        ("privateEndpointSubnetId", [PE_SUBNET], "must be a string, not a list: an Azure subnet resource ID"),
    ],
)
def test_a_value_of_the_wrong_type_for_a_new_key_is_a_problem(key: str, value: Any, message: str) -> None:
    (p,) = problems_of({**dev(), f"{PROJECT}:{key}": value})
    assert p.key == f"{PROJECT}:{key}"
    assert p.message.startswith(message), p.message


def test_typed_values_for_the_database_keys_are_accepted() -> None:
    s = parse_settings(
        "dev",
        {
            **dev(),
            f"{PROJECT}:databaseStorageSizeGb": 1024,
            f"{PROJECT}:databaseBackupRetentionDays": 14,
            f"{PROJECT}:databaseGeoRedundantBackup": True,
            f"{PROJECT}:privateNetworking": False,
        },
    )
    assert (s.database_storage_size_gb, s.database_backup_retention_days) == (1024, 14)
    assert (s.database_geo_redundant_backup, s.private_networking) == (True, False)


def test_array_keys_are_exactly_the_list_fields() -> None:
    """The loader decodes JSON text for ARRAY_KEYS only: every list field, nothing else."""
    from config.model import ARRAY_KEYS, FIELD_BY_KEY

    lists = {f.alias for f in Settings.model_fields.values() if get_origin(f.annotation) is list}
    assert lists == ARRAY_KEYS
    assert all(FIELD_BY_KEY[key] in Settings.model_fields for key in CONFIG_KEYS)
    declared = load_project()["config"]
    assert {k.removeprefix(f"{PROJECT}:") for k, d in declared.items() if d.get("type") == "array"} == ARRAY_KEYS

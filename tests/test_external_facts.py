"""Facts from outside the project, checked against an outside source, never against the
constant the code uses:

* Microsoft's built-in role table (the shared reference's ``azure/built-in-roles.json``);
* facts no installed file holds (the workload-identity token audience, well-known Entra
  application ids, the Azure RBAC propagation delay): ``facts/*.yaml``, one file per source,
  each value with the source's own words (see facts/README.md);
* the Blob CSI driver's parameter reference (the shared reference);
* the installed SDKs: every enum-typed input the stack registers holds a value of the SDK's
  enum, components pass enum members (not strings) wherever the SDK has an enum, every type
  token the policies, the mocks and the stack use is one an installed SDK registers, and every
  security switch of the cluster is what the SDK documents it to mean.
"""

from __future__ import annotations

import ast
import collections.abc
import dataclasses
import datetime
import enum
import functools
import importlib
import importlib.util
import inspect
import re
import sys
import typing
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

from components import azure_roles, cluster, identity, log_storage
from synth.mocks import unwrap
from synth.project import PROJECT_DIR, load_stack_config
from synth.reference import eso_crd, find, load_json, load_yaml
from synth.runner import ResourceRecord, RunResult, run_stack
from tests.helpers import dev_values

REFERENCE_ROLES: dict[str, str] = load_json("azure/built-in-roles.json")["roles"]
ROLE_ID = re.compile(
    r"^/subscriptions/[^/]+/providers/Microsoft\.Authorization/roleDefinitions/(?P<guid>[0-9a-f-]{36})$"
)


def role_mismatches(table: Mapping[str, str], reference: Mapping[str, str]) -> list[str]:
    """Every entry of `table` whose name is not in `reference` or whose id differs."""
    problems = []
    for name, guid in table.items():
        if name not in reference:
            problems.append(f"{name}: not in Microsoft's built-in role table")
        elif reference[name] != guid:
            problems.append(f"{name}: {guid} in code, {reference[name]} in Microsoft's table")
    return problems


def test_every_role_the_program_assigns_has_microsofts_id() -> None:
    assert azure_roles.BUILT_IN_ROLES, "the table is empty"
    assert role_mismatches(azure_roles.BUILT_IN_ROLES, REFERENCE_ROLES) == []


@pytest.mark.parametrize(
    ("table", "expected"),
    [
        # the GUID that shipped for AcrPull, typed from memory
        ({"AcrPull": "7f951dcb-4ce2-4c62-a3b7-2a5b3b5d2b2d"}, "AcrPull: 7f951dcb-4ce2-4c62-a3b7-2a5b3b5d2b2d in code"),
        ({"Acr Pull": REFERENCE_ROLES["AcrPull"]}, "Acr Pull: not in Microsoft's built-in role table"),
    ],
)
def test_a_wrong_role_id_or_name_is_caught(table: dict[str, str], expected: str) -> None:
    assert [p for p in role_mismatches(table, REFERENCE_ROLES) if p.startswith(expected)]


def _run(stack: str, **overrides: str) -> RunResult:
    config = load_stack_config(stack)
    if overrides:
        assert stack == "dev", "overrides apply to the dev stack"
        config = type(config)(config.project, config.stack, dev_values(**overrides), config.secret_keys)
    return run_stack(config)


# Every way the program assigns roles: both stacks, an existing cluster, an Entra admin group.
_VARIANTS = {
    "dev": ("dev", {}),
    "prod": ("prod", {}),
    "dev-existing-cluster": ("dev", {"clusterMode": "existing", "clusterName": "x-aks", "clusterResourceGroup": "x"}),
    "dev-entra-group": (
        "dev",
        {"clusterAuth": "entra", "clusterAdminGroupObjectId": "5b6c3a1e-9d5f-4c2b-8f0e-2a7d9c1b3e4f"},
    ),
}


@pytest.mark.parametrize("variant", sorted(_VARIANTS))
def test_every_role_assignment_uses_a_built_in_role_from_microsofts_table(variant: str) -> None:
    result = _variant(variant)
    by_id = {guid: name for name, guid in REFERENCE_ROLES.items()}
    assigned = []
    for grant in result.by_type("azure-native:authorization:RoleAssignment"):
        match = ROLE_ID.match(str(grant.inputs["roleDefinitionId"]))
        assert match, f"{grant.name}: {grant.inputs['roleDefinitionId']} is not a built-in role definition id"
        assert match["guid"] in by_id, f"{grant.name}: {match['guid']} is no built-in role in Microsoft's table"
        # ... and the code knows it under Microsoft's name, in the one table the test above checks
        assert azure_roles.BUILT_IN_ROLES.get(by_id[match["guid"]]) == match["guid"], grant.name
        assigned.append(by_id[match["guid"]])
    assert "AcrPull" in assigned  # every stack pulls from the registry


@functools.cache
def _variant(name: str) -> RunResult:
    stack, overrides = _VARIANTS[name]
    return _run(stack, **overrides)


# ------------------------------------------------------------ facts/: outside facts with their evidence
FACTS_DIR = PROJECT_DIR / "facts"
_FACT_KEYS = {"value", "source_url", "quote", "retrieved"}
_FACT_OPTIONAL = {"evidence", "not_applicable"}


def _facts_file(source: str) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((FACTS_DIR / f"{source}.yaml").read_text())
    return data


def fact(source: str, name: str) -> Any:
    """The value of fact `name` from `facts/<source>.yaml`."""
    return _facts_file(source)["facts"][name]["value"]


def fact_problems(entry: Mapping[str, Any]) -> list[str]:
    """What keeps a facts entry from being evidence: a missing key, a non-https source, a quote
    that does not state the value, a date that is not one."""
    problems = [f"missing {k}" for k in sorted(_FACT_KEYS - set(entry))]
    problems += [f"unknown key {k}" for k in sorted(set(entry) - _FACT_KEYS - _FACT_OPTIONAL)]
    if not str(entry.get("source_url", "")).startswith("https://"):
        problems.append(f"source_url {entry.get('source_url')!r} is not an https URL")
    quote, value = str(entry.get("quote", "")), entry.get("value")
    stated = [str(v) for v in value] if isinstance(value, list) else [str(entry.get("evidence") or value)]
    problems += [f"the quote does not state {s!r}" for s in stated if s not in quote]
    try:
        day = datetime.date.fromisoformat(str(entry.get("retrieved")))
        if day > datetime.date.today():
            problems.append(f"retrieved {day} is in the future")
    except ValueError:
        problems.append(f"retrieved {entry.get('retrieved')!r} is not an ISO date")
    return problems


_FACT_FILES = sorted(p.stem for p in FACTS_DIR.glob("*.yaml"))


@pytest.mark.parametrize("source", _FACT_FILES)
def test_every_fact_carries_its_source_and_the_sources_words(source: str) -> None:
    data = _facts_file(source)
    header = (FACTS_DIR / f"{source}.yaml").read_text().splitlines()[0]
    assert header.startswith("# Why this file exists:"), "the header says why the file exists"
    assert data["facts"], "no fact"
    for name, entry in data["facts"].items():
        assert fact_problems(entry) == [], name


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ({"value": "api://AzureADTokenExchange", "source_url": "https://x", "quote": "api://AzureAD"}, "missing"),
        (
            {"value": "api://X", "source_url": "https://x", "quote": "value api://Y", "retrieved": "2026-01-01"},
            "the quote does not state 'api://X'",
        ),
        ({"value": 1, "source_url": "http://x", "quote": "1", "retrieved": "2026-01-01"}, "is not an https URL"),
        ({"value": 1, "source_url": "https://x", "quote": "1", "retrieved": "yesterday"}, "is not an ISO date"),
    ],
)
def test_a_fact_without_evidence_is_caught(entry: dict[str, Any], expected: str) -> None:
    assert [p for p in fact_problems(entry) if expected in p]


def test_product_code_never_reads_the_facts_folder() -> None:
    # the facts are the tests' second, independent copy: the code keeps its own constant
    product = [PROJECT_DIR / "__main__.py", PROJECT_DIR / "plan.py", PROJECT_DIR / "profiles.py"]
    for folder in ("components", "config", "synth", "policy"):
        product += sorted((PROJECT_DIR / folder).rglob("*.py"))
    assert [str(p) for p in product if re.search(r"(?<![\w/])facts/|\bFACTS_DIR\b", p.read_text())] == []


# ------------------------------------------------------------ well-known Entra values (facts/)
@pytest.mark.parametrize("source", ["entra-workload-identity-federation", "aks-workload-identity-deploy-cluster"])
def test_workload_identity_token_audience_is_microsofts(source: str) -> None:
    assert fact(source, "token_audience") == identity.TOKEN_AUDIENCE


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_every_federated_credential_has_microsofts_audience(stack: str) -> None:
    audience = fact("entra-workload-identity-federation", "token_audience")
    credentials = _variant(stack).by_type("azure-native:managedidentity:FederatedIdentityCredential")
    assert credentials
    for fic in credentials:
        # Entra takes exactly one audience, and that one
        assert fic.inputs["audiences"] == [audience], fic.name


def test_aks_aad_server_application_id() -> None:
    assert fact("kubelogin-aks", "aks_aad_server_app_id") == cluster.AKS_AAD_SERVER_ID


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_every_chart_comes_from_its_projects_documented_repository(stack: str) -> None:
    """Each release's chart name is the one in the reference archive's Chart.yaml, its
    repository the one the chart's project documents (facts/), in both stacks; the policy
    pack pins the same repositories."""
    from policy.rules import DEFAULT_CHARTS, HELM_RELEASE

    documented = {
        load_yaml("airflow-chart/1.15.0/Chart.yaml")["name"]: fact("airflow-helm-chart", "chart_repository"),
        load_yaml("external-secrets/2.9.0/chart/Chart.yaml")["name"]: fact(
            "external-secrets-getting-started", "chart_repository"
        ),
    }
    releases = {r.inputs["chart"]: r.inputs["repositoryOpts"]["repo"] for r in _variant(stack).by_type(HELM_RELEASE)}
    assert releases == documented
    assert {chart: repo for chart, (repo, _) in DEFAULT_CHARTS.items()} == documented


def test_azure_cli_application_id() -> None:
    cli = fact("azure-cli-client-id", "azure_cli_client_id")
    assert cli == cluster.AZURE_CLI_APP_ID
    # a person through `az login` is a User; anything else (CI) a service principal
    assert cluster.deployer_principal_type(cli.upper()) == "User"
    assert cluster.deployer_principal_type("00000000-0000-0000-0000-000000000001") == "ServicePrincipal"


def _seconds(duration: str) -> int:
    """ "300s", "5m", "1h" -> seconds (the time provider's Go durations, whole units)."""
    match = re.fullmatch(r"(\d+)([smh])", duration)
    assert match, duration
    return int(match[1]) * {"s": 1, "m": 60, "h": 3600}[match[2]]


def test_the_wait_after_an_entra_grant_covers_microsofts_propagation_delay() -> None:
    documented = fact("aks-azure-rbac", "role_assignment_propagation_seconds")
    assert _seconds(cluster.ENTRA_RBAC_PROPAGATION) >= documented
    (sleep,) = _variant("prod").by_type("time:index/sleep:Sleep")
    assert _seconds(sleep.inputs["createDuration"]) >= documented


# ------------------------------------------------------------ Blob CSI driver parameters
_DRIVER_DOC = find("blob-csi-driver/v1.27.9/driver-parameters.md").read_text()


def _documented_volume_attributes() -> dict[str, str]:
    """`volumeAttributes.<name>` rows of the static-provisioning table -> allowed values."""
    rows = {}
    for line in _DRIVER_DOC.splitlines():
        cells = [c.strip() for c in line.split("|")]
        if len(cells) >= 3 and cells[0].startswith("volumeAttributes."):
            rows[cells[0].removeprefix("volumeAttributes.")] = cells[2]
    return rows


def test_pv_uses_only_documented_volume_attributes_and_values() -> None:
    result = _variant("dev")
    pv = result.one("kubernetes:core/v1:PersistentVolume").inputs["spec"]
    documented = _documented_volume_attributes()
    assert {"storageAccount", "containerName", "protocol"} <= set(documented)
    for key in pv["csi"]["volumeAttributes"]:
        assert key in documented, f"volumeAttributes.{key} is not a Blob CSI driver parameter"
    assert f"`{pv['csi']['volumeAttributes']['protocol']}`" in documented["protocol"]
    # the driver's recommended volumeHandle: {account-name}_{container-name}
    attrs = pv["csi"]["volumeAttributes"]
    assert pv["csi"]["volumeHandle"] == f"{attrs['storageAccount']}_{attrs['containerName']}"
    assert pv["csi"]["driver"] == "blob.csi.azure.com"


def test_node_stage_secret_has_the_keys_the_driver_reads() -> None:
    # The driver's own example: kubectl create secret generic azure-secret
    #   --from-literal=azurestorageaccountname=... --from-literal azurestorageaccountkey=...
    example = next(line for line in _DRIVER_DOC.splitlines() if "azurestorageaccountkey" in line and "kubectl" in line)
    documented_keys = set(re.findall(r"--from-literal[= ](\w+)=", example))
    assert documented_keys == {"azurestorageaccountname", "azurestorageaccountkey"}
    # the Secret the PV names is the one ESO assembles, with exactly those keys
    result = _variant("dev")
    ref = result.one("kubernetes:core/v1:PersistentVolume").inputs["spec"]["csi"]["nodeStageSecretRef"]
    (external,) = [
        es.inputs
        for es in result.by_type("kubernetes:external-secrets.io/v1:ExternalSecret")
        if es.inputs["spec"]["target"]["name"] == ref["name"]
    ]
    assert external["metadata"]["namespace"] == ref["namespace"]
    assert "template" not in external["spec"]["target"]  # the keys are the Secret's keys as they are
    assert {d["secretKey"] for d in external["spec"]["data"]} == documented_keys
    # and each key holds what its name says: the account's name, the account's key
    remote = {d["secretKey"]: d["remoteRef"]["key"] for d in external["spec"]["data"]}
    vault = {
        r.inputs["secretName"]: unwrap(r.inputs["properties"]["value"])
        for r in result.by_type("azure-native:keyvault:Secret")
    }
    account = result.one("azure-native:storage:StorageAccount").inputs["accountName"]
    assert vault[remote["azurestorageaccountname"]] == account
    assert vault[remote["azurestorageaccountkey"]] in result.mocks.sensitive_values


def test_blobfuse_ownership_comes_from_mount_options() -> None:
    # "blobfuse volume mount does not respect securityContext.fsGroup. Instead, you could
    # utilize -o gid=1000 in mountOptions"
    assert "does not respect `securityContext.fsGroup`" in _DRIVER_DOC
    assert any(o.startswith("-o gid=") for o in log_storage.MOUNT_OPTIONS)
    assert any(o.startswith("-o uid=") for o in log_storage.MOUNT_OPTIONS)


# ------------------------------------------------------------ enums, by the installed SDK's own type annotations
def _named_types(annotation: Any, in_list: bool = False) -> Iterator[tuple[Any, bool]]:
    """(class or forward-ref name, inside a Sequence) for every type an SDK annotation names."""
    if isinstance(annotation, typing.ForwardRef):
        yield annotation.__forward_arg__, in_list
    elif isinstance(annotation, str):
        yield annotation, in_list
    else:
        listy = typing.get_origin(annotation) is collections.abc.Sequence
        for arg in typing.get_args(annotation):
            yield from _named_types(arg, in_list or listy)
        if isinstance(annotation, type) and typing.get_origin(annotation) is None:
            yield annotation, in_list


def _resolved(annotation: Any, namespace: Mapping[str, Any]) -> Iterator[tuple[type, bool]]:
    for named, in_list in _named_types(annotation):
        target = namespace.get(named) if isinstance(named, str) else named
        if isinstance(target, type):
            yield target, in_list


def _is_enum(cls: type) -> bool:
    return issubclass(cls, enum.Enum)


def enum_paths(args_class: type, prefix: str = "", seen: frozenset[type] = frozenset()) -> dict[str, type]:
    """Input path (as on the wire: `agentPoolProfiles[].mode`) -> the enum the SDK types it
    with, for every property of an azure-native `*Args` class, nested args included."""
    from pulumi._types import input_type_py_to_pulumi_names, is_input_type

    found: dict[str, type] = {}
    for python_name, wire_name in input_type_py_to_pulumi_names(args_class).items():
        getter = getattr(args_class.__dict__.get(python_name), "fget", None)
        if getter is None:
            continue
        namespace = vars(sys.modules[getter.__module__])
        for target, in_list in _resolved(getter.__annotations__.get("return"), namespace):
            path = f"{prefix}{wire_name}{'[]' if in_list else ''}"
            if _is_enum(target):
                found[path] = target
            elif is_input_type(target) and target not in seen:
                found.update(enum_paths(target, f"{path}.", seen | {args_class}))
    return found


def _args_class(token: str) -> type | None:
    """`azure-native:storage:StorageAccount` -> pulumi_azure_native.storage.StorageAccountArgs."""
    package, module, name = token.split(":")
    if package != "azure-native":
        return None
    return getattr(importlib.import_module(f"pulumi_azure_native.{module.replace('/', '.')}"), f"{name}Args", None)


def _at(value: object, path: str) -> list[object]:
    """Values at a dotted path; `key[]` walks every item of a list."""
    found = [value]
    for part in path.split("."):
        key, many = part.removesuffix("[]"), part.endswith("[]")
        found = [v.get(key) for v in found if isinstance(v, dict) and v.get(key) is not None]
        if many:
            found = [item for v in found if isinstance(v, list) for item in v]
    return found


def enum_mismatches(records: list[ResourceRecord]) -> tuple[list[str], set[str]]:
    """Every registered input whose SDK type is an enum and whose value is none of its values;
    and the `type path` pairs that were checked."""
    problems, checked = [], set()
    for record in records:
        args_class = _args_class(record.type)
        if args_class is None:
            continue
        for path, sdk_enum in enum_paths(args_class).items():
            for value in _at(record.inputs, path):
                checked.add(f"{record.type} {path}")
                if str(value) in {str(m.value) for m in sdk_enum}:  # type: ignore[attr-defined]
                    continue
                # A `Known...` enum is the API's own open list (the spec's modelAsString): a value
                # beyond it must be one Microsoft documents, quoted in the facts folder.
                if sdk_enum.__name__.startswith("Known") and str(value) in DOCUMENTED_OPEN_VALUES.get(path, ()):
                    continue
                problems.append(f"{record.name} {path} = {value!r}: not a value of {sdk_enum.__name__}")
    return problems, checked


# Values of open (`Known...`) enums the SDK lists no member for, by input path -> the values
# Microsoft documents (facts/azure-monitor-data-collection.yaml quotes the stream table).
DOCUMENTED_OPEN_VALUES: dict[str, frozenset[str]] = {
    "dataFlows[].streams[]": frozenset(
        {
            fact("azure-monitor-data-collection", "container_insights_group_stream"),
            fact("azure-monitor-data-collection", "prometheus_stream"),
        }
    ),
    "dataSources.extensions[].streams[]": frozenset(
        {fact("azure-monitor-data-collection", "container_insights_group_stream")}
    ),
}


# What the derivation must find at least (a guard on the derivation, not the list it checks).
_MUST_CHECK = {
    "azure-native:containerservice:ManagedCluster sku.tier",
    "azure-native:containerservice:ManagedCluster agentPoolProfiles[].type",
    "azure-native:containerservice:ManagedCluster networkProfile.networkPlugin",
    "azure-native:containerservice:ManagedCluster autoUpgradeProfile.upgradeChannel",
    "azure-native:storage:StorageAccount kind",
    "azure-native:storage:StorageAccount sku.name",
    "azure-native:storage:StorageAccount minimumTlsVersion",
    "azure-native:storage:BlobContainer publicAccess",
    "azure-native:keyvault:Vault properties.sku.name",
    "azure-native:authorization:RoleAssignment principalType",
}


@pytest.mark.parametrize("variant", sorted(_VARIANTS))
def test_every_enum_typed_input_holds_a_value_of_the_sdks_enum(variant: str) -> None:
    problems, checked = enum_mismatches(_variant(variant).records)
    assert problems == []
    if variant in ("dev", "prod"):
        assert checked >= _MUST_CHECK, sorted(_MUST_CHECK - checked)


def test_an_access_policy_grant_is_checked_against_the_sdks_permissions() -> None:
    result = _run("dev", keyVaultAuthorization="accessPolicy")
    problems, checked = enum_mismatches(result.records)
    assert problems == []
    assert "azure-native:keyvault:Vault properties.accessPolicies[].permissions.secrets[]" in checked


@pytest.mark.parametrize(
    ("path", "misspelt", "expected"),
    [
        ("kind", "StorageV3", "logs-account kind = 'StorageV3': not a value of Kind"),
        ("minimumTlsVersion", "TLS1.2", "logs-account minimumTlsVersion = 'TLS1.2': not a value of MinimumTlsVersion"),
    ],
)
def test_a_misspelt_enum_string_is_caught(path: str, misspelt: str, expected: str) -> None:
    records = [
        dataclasses.replace(r, inputs={**r.inputs, path: misspelt})
        if r.type == "azure-native:storage:StorageAccount"
        else r
        for r in _variant("dev").records
    ]
    assert enum_mismatches(records)[0] == [expected]


def test_a_misspelt_nested_enum_string_is_caught() -> None:
    (aks,) = _variant("dev").by_type("azure-native:containerservice:ManagedCluster")
    pools = [{**pool, "type": "VirtualMachineScaleSet"} for pool in aks.inputs["agentPoolProfiles"]]
    broken = dataclasses.replace(aks, inputs={**aks.inputs, "agentPoolProfiles": pools})
    assert enum_mismatches([broken])[0] == [
        "cluster-aks agentPoolProfiles[].type = 'VirtualMachineScaleSet': not a value of AgentPoolType"
    ]


def _azure_imports(tree: ast.Module) -> dict[str, Any]:
    """Local name -> azure-native module, from `from pulumi_azure_native import x, y`."""
    return {
        alias.asname or alias.name: importlib.import_module(f"pulumi_azure_native.{alias.name}")
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module == "pulumi_azure_native"
        for alias in node.names
    }


def _parameter_enums(target: Any, keyword: str) -> list[type]:
    """The enums the SDK callable `target` (a resource, an args class, a function) types
    parameter `keyword` with."""
    function = getattr(target, "_internal_init", None) or (target.__init__ if inspect.isclass(target) else target)
    parameter = inspect.signature(function).parameters.get(keyword)
    if parameter is None:
        return []
    namespace = vars(sys.modules[function.__module__])
    return [t for t, _ in _resolved(parameter.annotation, namespace) if _is_enum(t)]


def plain_strings_for_enums(source: str, filename: str = "<source>") -> list[str]:
    """Every string literal passed to an azure-native resource, args class or function where
    the SDK types the parameter with an enum: the enum member would make a misspelling fail
    at import instead of at `pulumi up`."""
    tree = ast.parse(source)
    modules = _azure_imports(tree)
    found = []
    for node in ast.walk(tree):
        if not (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id in modules
        ):
            continue
        target = getattr(modules[node.func.value.id], node.func.attr, None)
        for kw in node.keywords:
            if kw.arg is None:
                continue
            literals = kw.value.elts if isinstance(kw.value, ast.List) else [kw.value]
            strings = [x.value for x in literals if isinstance(x, ast.Constant) and isinstance(x.value, str)]
            enums = _parameter_enums(target, kw.arg) if strings else []
            found += [
                f"{filename}:{node.lineno} {node.func.value.id}.{node.func.attr}({kw.arg}={s!r}): "
                f"use {enums[0].__name__}"
                for s in strings
                if enums
            ]
    return found


_COMPONENT_FILES = sorted((PROJECT_DIR / "components").glob("*.py"))


@pytest.mark.parametrize("path", _COMPONENT_FILES, ids=lambda p: p.name)
def test_components_pass_enum_members_where_the_sdk_has_an_enum(path: Path) -> None:
    assert plain_strings_for_enums(path.read_text(), path.name) == []


def test_a_plain_enum_string_in_a_component_is_caught() -> None:
    source = (PROJECT_DIR / "components" / "log_storage.py").read_text()
    broken = source.replace("kind=storage.Kind.STORAGE_V2", 'kind="StorageV2"')
    assert broken != source
    (found,) = plain_strings_for_enums(broken, "log_storage.py")
    assert "storage.StorageAccount(kind='StorageV2'): use Kind" in found


def test_config_choices_are_values_the_sdk_accepts() -> None:
    from pulumi_azure_native import containerservice

    from config import Settings

    for field, sdk_enum in (
        ("cluster_tier", containerservice.ManagedClusterSKUTier),
        ("auto_upgrade_channel", containerservice.UpgradeChannel),
        ("node_os_upgrade_channel", containerservice.NodeOSUpgradeChannel),
    ):
        choices = set(typing.get_args(Settings.model_fields[field].annotation))
        values = {str(m.value) for m in sdk_enum}
        assert choices, field
        assert choices <= values, f"{field}: {choices - values}"


def test_lifecycle_rule_blob_type_is_the_sdks() -> None:
    from pulumi_azure_native import storage

    # the SDK documents the allowed blob types of a lifecycle filter in prose, not as an enum
    assert "Currently blockBlob supports all tiering and delete actions" in (
        storage.ManagementPolicyFilterArgs.__init__.__doc__ or ""
    )
    rule = _variant("dev").one("azure-native:storage:ManagementPolicy").inputs["policy"]["rules"][0]
    assert rule["definition"]["filters"]["blobTypes"] == ["blockBlob"]


# ------------------------------------------------------------ type tokens, by the installed SDKs
# Package of a token -> the installed Python package that registers its types.
_SDK_PACKAGES = {
    "azure-native": "pulumi_azure_native",
    "kubernetes": "pulumi_kubernetes",
    "random": "pulumi_random",
    "time": "pulumiverse_time",
    "tls": "pulumi_tls",
}
TYPE_TOKEN = re.compile(r"^(?P<package>[a-z][a-z0-9-]*):(?P<module>[A-Za-z0-9./_-]+):(?P<name>[A-Za-z][A-Za-z0-9]*)$")


def _sdk_root(package: str) -> Path | None:
    spec = importlib.util.find_spec(_SDK_PACKAGES[package]) if package in _SDK_PACKAGES else None
    return Path(spec.origin).parent if spec and spec.origin else None


def _sdk_folder(package: str, module: str) -> Path | None:
    """Where an SDK keeps a module's classes: azure-native `storage` -> storage/, kubernetes
    `helm.sh/v3` -> helm/v3/, random and time `index/...` -> the package itself."""
    root = _sdk_root(package)
    if root is None:
        return None
    if package == "azure-native":
        return root / module
    if package == "kubernetes":
        group, _, version = module.rpartition("/")
        return root / group.split(".")[0] / version
    return root


@functools.cache
def sdk_registration(token: str) -> Path | None:
    """The installed SDK file whose resource class registers `token` (`super().__init__(
    '<token>', ...)`), whose function invokes it (`invoke('<token>', ...)`), or, for
    `pulumi:providers:<package>`, whose Provider registers that package; None if none does."""
    match = TYPE_TOKEN.match(token)
    if not match:
        return None
    if match["package"] == "pulumi" and match["module"] == "providers":
        root = _sdk_root(match["name"])
        provider = root / "provider.py" if root else None
        text = provider.read_text() if provider and provider.is_file() else ""
        registers = re.search(r"__init__\(\s*['\"]" + re.escape(match["name"]) + r"['\"]\s*,", text)
        return provider if registers and "(pulumi.ProviderResource)" in text else None
    folder = _sdk_folder(match["package"], match["module"])
    if folder is None or not folder.is_dir():
        return None
    call = re.compile(r"\(\s*['\"]" + re.escape(token) + r"['\"]\s*,")  # never an alias's type_="..."
    return next((f for f in sorted(folder.glob("*.py")) if call.search(f.read_text())), None)


def _crd_registration(token: str) -> str | None:
    """A custom resource the stack creates (`kubernetes:<group>/<version>:<Kind>`): the group,
    version (served) and kind of the pinned operator's CRD in the shared reference."""
    from policy.rules import DEFAULT_CHARTS

    match = TYPE_TOKEN.match(token)
    if not match or match["package"] != "kubernetes":
        return None
    group, _, version = match["module"].rpartition("/")
    eso_version = str(DEFAULT_CHARTS["external-secrets"][1])
    try:
        crd = eso_crd(eso_version, match["name"])
    except FileNotFoundError:
        return None
    served = {v["name"] for v in crd["spec"]["versions"] if v.get("served")}
    ok = crd["spec"]["group"] == group and crd["spec"]["names"]["kind"] == match["name"] and version in served
    return f"external-secrets/{eso_version} CRD {crd['metadata']['name']}" if ok else None


def type_tokens(source: str) -> set[str]:
    """Every string literal of a module that is a Pulumi type or invoke token of an SDK package."""
    return {
        node.value
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and (m := TYPE_TOKEN.match(node.value))
        and (m["package"] in _SDK_PACKAGES or (m["package"] == "pulumi" and m["module"] == "providers"))
    }


def unregistered(tokens: set[str]) -> list[str]:
    return sorted(t for t in tokens if sdk_registration(t) is None)


@pytest.mark.parametrize("module", ["policy/rules.py", "synth/mocks.py", "synth/validate.py"])
def test_every_type_token_is_registered_by_an_installed_sdk(module: str) -> None:
    tokens = type_tokens((PROJECT_DIR / module).read_text())
    assert unregistered(tokens) == []
    if module != "synth/validate.py":  # validate.py takes its tokens from policy/rules.py
        assert tokens


def test_every_token_the_policies_compare_with_is_registered() -> None:
    # the module constants the checks and STATEFUL_TYPES use, read as values (not as source)
    from policy import rules

    constants = {v for k, v in vars(rules).items() if k.isupper() and isinstance(v, str) and TYPE_TOKEN.match(v)}
    assert constants >= set(rules.STATEFUL_TYPES)
    assert unregistered(constants) == []


@pytest.mark.parametrize(
    "misspelt",
    [
        "azure-native:storage:StorageAccountx",
        "azure-native:storagex:StorageAccount",
        "kubernetes:core/v1:Secrets",
        "kubernetes:helm.sh/v4:Release",
        "pulumi:providers:kubernetess",
        "azure-native:storage:listStorageAccountKey",
    ],
)
def test_a_misspelt_type_token_is_caught(misspelt: str) -> None:
    source = f"STORAGE_ACCOUNT = {'azure-native:storage:StorageAccount'!r}\nMISSPELT = {misspelt!r}\n"
    assert unregistered(type_tokens(source)) == [misspelt]


@pytest.mark.parametrize("variant", sorted(_VARIANTS))
def test_every_type_the_stack_registers_is_an_sdk_type_or_the_operators_crd(variant: str) -> None:
    types = {r.type for r in _variant(variant).records}
    own = {t for t in types if t.startswith("airflow-aks:")}  # the project's components
    assert [t for t in sorted(types - own) if sdk_registration(t) is None and _crd_registration(t) is None] == []


def test_registration_is_found_in_the_sdk_source() -> None:
    where = sdk_registration("azure-native:storage:StorageAccount")
    assert where is not None
    assert where.name == "storage_account.py"
    assert sdk_registration("kubernetes:helm.sh/v3:Release") == _sdk_root("kubernetes") / "helm" / "v3" / "Release.py"  # type: ignore[operator]
    assert _crd_registration("kubernetes:external-secrets.io/v1:ExternalSecret")
    assert _crd_registration("kubernetes:external-secrets.io/v1beta1:ExternalSecret") is None  # not served by 2.9.0


# ------------------------------------------------------------ the cluster's security switches, as the SDK says
def _sdk_param_doc(args_class: type, python_name: str) -> str:
    """The SDK's docstring of one argument (`:param <type> <name>: <text>`)."""
    doc = args_class.__init__.__doc__ or ""
    match = re.search(rf":param [^\n]*? {python_name}: (.*)", doc)
    return match[1] if match else ""


def _switches() -> list[tuple[str, type, str, str, bool]]:
    """(input path, SDK args class, its argument, what the SDK says it means, Entra only)."""
    from pulumi_azure_native import containerservice as cs

    rbac = "Whether to enable Kubernetes Role-Based Access Control."
    return [
        ("enableRBAC", cs.ManagedClusterArgs, "enable_rbac", rbac, False),
        (
            "oidcIssuerProfile.enabled",
            cs.ManagedClusterOIDCIssuerProfileArgs,
            "enabled",
            "Whether the OIDC issuer is enabled.",
            False,
        ),
        (
            "securityProfile.workloadIdentity.enabled",
            cs.ManagedClusterSecurityProfileWorkloadIdentityArgs,
            "enabled",
            "Whether to enable workload identity.",
            False,
        ),
        (
            "storageProfile.blobCSIDriver.enabled",
            cs.ManagedClusterStorageProfileBlobCSIDriverArgs,
            "enabled",
            "Whether to enable AzureBlob CSI Driver. The default value is false.",
            False,
        ),
        (
            "disableLocalAccounts",
            cs.ManagedClusterArgs,
            "disable_local_accounts",
            "If set to true, getting static credentials will be disabled for this cluster.",
            True,
        ),
        ("aadProfile.managed", cs.ManagedClusterAADProfileArgs, "managed", "Whether to enable managed AAD.", True),
        (
            "aadProfile.enableAzureRBAC",
            cs.ManagedClusterAADProfileArgs,
            "enable_azure_rbac",
            "Whether to enable Azure RBAC for Kubernetes authorization.",
            True,
        ),
    ]


def test_each_security_switch_means_what_the_sdk_documents() -> None:
    from pulumi._types import input_type_py_to_pulumi_names

    for path, args_class, argument, meaning, _ in _switches():
        # the SDK's own words for the argument, and the wire name the stack's input has
        assert meaning in _sdk_param_doc(args_class, argument), f"{args_class.__name__}.{argument}"
        assert input_type_py_to_pulumi_names(args_class)[argument] == path.rsplit(".", 1)[-1]


def security_switches_off(record: ResourceRecord, entra: bool) -> list[str]:
    return [
        f"{record.name} {path} is {_at(record.inputs, path)} ({meaning})"
        for path, _, _, meaning, entra_only in _switches()
        if (entra or not entra_only) and _at(record.inputs, path) != [True]
    ]


@pytest.mark.parametrize(("variant", "entra"), [("dev", False), ("prod", True), ("dev-entra-group", True)])
def test_every_security_switch_of_the_cluster_is_on(variant: str, entra: bool) -> None:
    (aks,) = _variant(variant).by_type("azure-native:containerservice:ManagedCluster")
    assert security_switches_off(aks, entra) == []


@pytest.mark.parametrize("path", [switch for switch, *_ in _switches()])
def test_a_switched_off_security_switch_is_caught(path: str) -> None:
    (aks,) = _variant("prod").by_type("azure-native:containerservice:ManagedCluster")
    inputs: dict[str, Any] = {}
    for switch, *_ in _switches():  # every switch on, then the one off
        *outer, last = switch.split(".")
        node = inputs
        for key in outer:
            node = node.setdefault(key, {})
        node[last] = switch != path
    (problem,) = security_switches_off(dataclasses.replace(aks, inputs=inputs), entra=True)
    assert problem.startswith(f"cluster-aks {path} is [False]")

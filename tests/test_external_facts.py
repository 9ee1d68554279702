"""Facts from outside the project, checked against an outside source, never against the
constant the code uses: Microsoft's built-in role table, the Blob CSI driver's parameter
reference, and well-known Entra identifiers (each pinned here from the public source named
beside it, independently of the code's copy)."""

from __future__ import annotations

import re
from collections.abc import Mapping

import pytest

from components import azure_roles, cluster, identity, log_storage
from synth.mocks import unwrap
from synth.project import load_stack_config
from synth.reference import find, load_json
from synth.runner import RunResult, run_stack
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
    stack, overrides = _VARIANTS[variant]
    result = _run(stack, **overrides)
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


# ------------------------------------------------------------ well-known Entra identifiers
def test_workload_identity_token_audience() -> None:
    # Microsoft Graph, federatedIdentityCredential resource type: audiences "should be set to
    # api://AzureADTokenExchange for Microsoft Entra ID" (learn.microsoft.com/graph/api/
    # resources/federatedidentitycredential).
    assert identity.TOKEN_AUDIENCE == "api://AzureADTokenExchange"


def test_aks_aad_server_application_id() -> None:
    # "a fixed Application ID corresponding to the Azure Kubernetes Service AAD Server globally
    # provided by Azure" (azure.github.io/kubelogin/concepts/aks.html); AKS's own exec
    # kubeconfig passes it as --server-id.
    assert cluster.AKS_AAD_SERVER_ID == "6dae42f8-4368-4678-94ff-3960e28e3630"


def test_azure_cli_application_id() -> None:
    # The Azure CLI's public client id (Microsoft's first-party application "Microsoft Azure CLI").
    assert cluster.AZURE_CLI_APP_ID == "04b07795-8ddb-461a-bbee-02f9e1bf7b46"


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
    result = _run("dev")
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
    result = _run("dev")
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


# ------------------------------------------------------------ enum strings, by the installed SDK
def _enum_values(enum: type) -> set[str]:
    return {str(member.value) for member in enum}  # type: ignore[attr-defined]


def _sdk_enums() -> dict[tuple[str, str], type]:
    """(resource type, input path) -> the azure-native enum that property takes."""
    from pulumi_azure_native import authorization, containerservice, keyvault, storage

    cs = containerservice
    return {
        ("azure-native:containerservice:ManagedCluster", "sku.name"): cs.ManagedClusterSKUName,
        ("azure-native:containerservice:ManagedCluster", "sku.tier"): cs.ManagedClusterSKUTier,
        ("azure-native:containerservice:ManagedCluster", "identity.type"): cs.ResourceIdentityType,
        ("azure-native:containerservice:ManagedCluster", "agentPoolProfiles[].mode"): cs.AgentPoolMode,
        ("azure-native:containerservice:ManagedCluster", "agentPoolProfiles[].type"): cs.AgentPoolType,
        ("azure-native:containerservice:ManagedCluster", "agentPoolProfiles[].osType"): cs.OSType,
        ("azure-native:containerservice:ManagedCluster", "networkProfile.networkPlugin"): cs.NetworkPlugin,
        ("azure-native:containerservice:ManagedCluster", "networkProfile.loadBalancerSku"): cs.LoadBalancerSku,
        ("azure-native:containerservice:ManagedCluster", "autoUpgradeProfile.upgradeChannel"): cs.UpgradeChannel,
        ("azure-native:containerservice:ManagedCluster", "autoUpgradeProfile.nodeOSUpgradeChannel"): (
            cs.NodeOSUpgradeChannel
        ),
        ("azure-native:storage:StorageAccount", "kind"): storage.Kind,
        ("azure-native:storage:StorageAccount", "sku.name"): storage.SkuName,
        ("azure-native:storage:StorageAccount", "minimumTlsVersion"): storage.MinimumTlsVersion,
        ("azure-native:storage:BlobContainer", "publicAccess"): storage.PublicAccess,
        ("azure-native:storage:ManagementPolicy", "policy.rules[].type"): storage.RuleType,
        ("azure-native:keyvault:Vault", "properties.sku.family"): keyvault.SkuFamily,
        ("azure-native:keyvault:Vault", "properties.sku.name"): keyvault.SkuName,
        ("azure-native:authorization:RoleAssignment", "principalType"): authorization.PrincipalType,
    }


def _at(value: object, path: str) -> list[object]:
    """Values at a dotted path; `key[]` walks every item of a list."""
    found = [value]
    for part in path.split("."):
        key, many = part.removesuffix("[]"), part.endswith("[]")
        found = [v.get(key) for v in found if isinstance(v, dict) and v.get(key) is not None]
        if many:
            found = [item for v in found if isinstance(v, list) for item in v]
    return found


def enum_mismatches(result: RunResult) -> list[str]:
    problems, checked = [], 0
    for (typ, path), enum in _sdk_enums().items():
        for record in result.by_type(typ):
            for value in _at(record.inputs, path):
                checked += 1
                if str(value) not in _enum_values(enum):
                    problems.append(f"{record.name} {path} = {value!r}: not a value of {enum.__name__}")
    return problems if checked else ["nothing checked"]


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_every_enum_string_is_one_the_azure_native_sdk_defines(stack: str) -> None:
    assert enum_mismatches(_run(stack)) == []


def test_a_misspelt_enum_string_is_caught() -> None:
    result = _run("dev")
    account = result.one("azure-native:storage:StorageAccount")
    account.inputs["kind"] = "StorageV3"
    assert enum_mismatches(result) == ["logs-account kind = 'StorageV3': not a value of Kind"]


def test_config_choices_are_values_the_sdk_accepts() -> None:
    import typing

    from pulumi_azure_native import containerservice

    from config import Settings

    for field, enum in (
        ("cluster_tier", containerservice.ManagedClusterSKUTier),
        ("auto_upgrade_channel", containerservice.UpgradeChannel),
        ("node_os_upgrade_channel", containerservice.NodeOSUpgradeChannel),
    ):
        choices = set(typing.get_args(Settings.model_fields[field].annotation))
        assert choices, field
        assert choices <= _enum_values(enum), f"{field}: {choices - _enum_values(enum)}"


def test_lifecycle_rule_blob_type_is_the_sdks() -> None:
    from pulumi_azure_native import storage

    # the SDK documents the allowed blob types of a lifecycle filter in prose, not as an enum
    assert "Currently blockBlob supports all tiering and delete actions" in (
        storage.ManagementPolicyFilterArgs.__init__.__doc__ or ""
    )
    result = _run("dev")
    rule = result.one("azure-native:storage:ManagementPolicy").inputs["policy"]["rules"][0]
    assert rule["definition"]["filters"]["blobTypes"] == ["blockBlob"]

"""Log storage component: hardened account, container, KV secrets, Blob CSI PV and claim."""

from typing import Any

import pytest
from pulumi_azure_native import authorization

from components.log_storage import ContainerGrant, LogStorage, LogStorageArgs
from plan import LOGS_SECRET
from synth.mocks import SUBSCRIPTION_ID, Secret, unwrap
from synth.reference import load_json
from tests.helpers import (
    deps_of,
    names_a_suffix_could_make,
    plan_for,
    provider,
    random_string_alphabet,
    resolve,
    run_component,
    storage_account_name_problems,
)

# The article's Key Vault secret names for the logs storage account
ACCOUNT_NAME_SECRET = "AKS-AIRFLOW-LOGS-STORAGE-ACCOUNT-NAME"
ACCOUNT_KEY_SECRET = "AKS-AIRFLOW-LOGS-STORAGE-ACCOUNT-KEY"


def _logs(protect: bool = False, name_prefix: str = "airflow", **extra: Any):
    plan = plan_for(namespace="airflow")
    return run_component(
        lambda: LogStorage(
            "logs",
            LogStorageArgs(
                resource_group_name="airflow-dev-rg",
                location="eastus",
                name_prefix=name_prefix,
                container_name="airflow-logs",
                volume_size="5Gi",
                retention_days=30,
                namespace=plan.namespace,
                claim_name=plan.logs_claim,
                volume_name=plan.logs_volume,
                storage_class=plan.storage_class,
                driver_secret=LOGS_SECRET,
                driver_secret_data=plan.secrets[LOGS_SECRET].data,
                vault_name="airflow-kv-abc123",
                provider=provider(),
                protect=protect,
                **extra,
            ),
        )
    )


def test_protect_covers_account_container_volume_and_claim() -> None:
    result, _ = _logs(protect=True)
    assert {r.type for r in result.records if r.protect} == {
        "azure-native:storage:StorageAccount",
        "azure-native:storage:BlobContainer",
        "kubernetes:core/v1:PersistentVolume",
        "kubernetes:core/v1:PersistentVolumeClaim",
    }
    unprotected, _ = _logs()
    assert [r.name for r in unprotected.records if r.protect] == []


def test_storage_account_is_hardened() -> None:
    result, _ = _logs()
    account = result.one("azure-native:storage:StorageAccount").inputs
    assert account["enableHttpsTrafficOnly"] is True
    assert account["minimumTlsVersion"] == "TLS1_2"
    assert account["allowBlobPublicAccess"] is False
    assert result.one("azure-native:storage:BlobContainer").inputs["publicAccess"] == "None"


@pytest.mark.parametrize("prefix", ["ab", "airflow", "abcdefghij"])  # namePrefix: 2-10 characters
def test_every_account_name_the_suffix_could_make_follows_azures_rules(prefix: str) -> None:
    """Azure's storage account name rules (3-24 lowercase letters and digits; tests/helpers.py
    cites Microsoft's naming-rules page), for the name registered AND for every name the suffix
    generator could draw, by the character set the random provider documents for the
    RandomString's inputs (an upper-case letter or a symbol is refused)."""
    result, _ = _logs(name_prefix=prefix)
    name = result.one("azure-native:storage:StorageAccount").inputs["accountName"]
    assert storage_account_name_problems(name) == []
    suffix = result.one("random:index/randomString:RandomString")
    alphabet = random_string_alphabet(suffix.inputs)
    possible = names_a_suffix_could_make(name, suffix.state["result"], alphabet)
    assert [p for n in possible for p in storage_account_name_problems(n)] == []
    # the rules can fail
    for bad in ("ab", "a" * 25, "airflowLogs1", "airflow-logs", "airflowlogsé"):
        assert storage_account_name_problems(bad), bad


def test_account_name_and_key_go_to_key_vault_key_marked_secret() -> None:
    result, logs = _logs()
    secrets = {r.inputs["secretName"]: r.inputs for r in result.by_type("azure-native:keyvault:Secret")}
    assert set(secrets) == {ACCOUNT_NAME_SECRET, ACCOUNT_KEY_SECRET}
    key = secrets[ACCOUNT_KEY_SECRET]["properties"]["value"]
    assert isinstance(key, Secret)
    assert key.value in result.mocks.sensitive_values
    assert secrets[ACCOUNT_KEY_SECRET]["vaultName"] == "airflow-kv-abc123"
    # each under its own name: the account's name is the name, not the key
    account = result.one("azure-native:storage:StorageAccount").inputs["accountName"]
    assert unwrap(secrets[ACCOUNT_NAME_SECRET]["properties"]["value"]) == account
    assert set(logs.vault_secrets) == {ACCOUNT_NAME_SECRET, ACCOUNT_KEY_SECRET}
    by_resource = {r.urn: r.inputs["secretName"] for r in result.by_type("azure-native:keyvault:Secret")}
    for name, secret in logs.vault_secrets.items():
        assert by_resource[resolve(secret.urn)] == name


def test_persistent_volume_is_the_articles_with_ownership_fixed() -> None:
    result, _ = _logs()
    pv = result.one("kubernetes:core/v1:PersistentVolume").inputs
    account = result.one("azure-native:storage:StorageAccount").inputs["accountName"]
    spec = pv["spec"]
    assert pv["metadata"]["name"] == "pv-airflow-logs"
    assert spec["accessModes"] == ["ReadWriteMany"]
    assert spec["persistentVolumeReclaimPolicy"] == "Retain"
    assert spec["storageClassName"] == "azureblob-fuse-premium"
    assert spec["capacity"] == {"storage": "5Gi"}
    assert spec["mountOptions"][:2] == ["-o allow_other", "--file-cache-timeout-in-seconds=120"]
    assert "-o uid=50000" in spec["mountOptions"]
    assert "-o gid=0" in spec["mountOptions"]
    csi = spec["csi"]
    assert csi["driver"] == "blob.csi.azure.com"
    assert csi["volumeHandle"] == f"{account}_airflow-logs"
    assert csi["volumeAttributes"] == {
        "resourceGroup": "airflow-dev-rg",
        "storageAccount": account,
        "containerName": "airflow-logs",
        "protocol": "fuse2",
    }
    assert csi["nodeStageSecretRef"] == {"name": "airflow-logs-storage", "namespace": "airflow"}


def test_claim_binds_to_the_volume() -> None:
    result, _ = _logs()
    claim = result.one("kubernetes:core/v1:PersistentVolumeClaim")
    spec = claim.inputs["spec"]
    assert claim.inputs["metadata"] == {"name": "pvc-airflow-logs", "namespace": "airflow"}
    assert spec["volumeName"] == "pv-airflow-logs"
    assert spec["accessModes"] == ["ReadWriteMany"]
    assert spec["resources"] == {"requests": {"storage": "5Gi"}}
    assert "kubernetes:core/v1:PersistentVolume::logs-pv" in deps_of(result, claim)


def test_task_logs_expire_after_the_retention_days() -> None:
    result, _ = _logs()
    policy = result.one("azure-native:storage:ManagementPolicy")
    account = result.one("azure-native:storage:StorageAccount").inputs["accountName"]
    assert policy.inputs["accountName"] == account
    assert policy.inputs["managementPolicyName"] == "default"  # the only name Azure accepts
    (rule,) = policy.inputs["policy"]["rules"]
    assert rule["enabled"] is True
    assert rule["type"] == "Lifecycle"
    assert rule["definition"]["filters"] == {"blobTypes": ["blockBlob"], "prefixMatch": ["airflow-logs/"]}
    assert rule["definition"]["actions"] == {"baseBlob": {"delete": {"daysAfterModificationGreaterThan": 30}}}
    # the container exists before a rule names it
    assert "azure-native:storage:BlobContainer::logs-container" in deps_of(result, policy)


def test_blob_and_container_soft_delete_are_on() -> None:
    result, _ = _logs()
    service = result.one("azure-native:storage:BlobServiceProperties").inputs
    assert service["blobServicesName"] == "default"
    # a week for a deleted container; two days for blobs, which blobfuse overwrites whole on
    # every close (each overwrite keeps a soft-deleted snapshot); Azure allows 1 to 365
    assert service["deleteRetentionPolicy"] == {"enabled": True, "days": 2}
    assert service["containerDeleteRetentionPolicy"] == {"enabled": True, "days": 7}


WRITER, READER = "0f6e5a3c-0000-4000-8000-00000000aaaa", "0f6e5a3c-0000-4000-8000-00000000bbbb"
KEYED_TYPES = {"kubernetes:core/v1:PersistentVolume", "kubernetes:core/v1:PersistentVolumeClaim"}


def _remote(**extra: Any):
    grants = [
        ContainerGrant("Storage Blob Data Contributor", WRITER),
        ContainerGrant("Storage Blob Data Reader", READER),
    ]
    return _logs(mode="remote", subscription_id=SUBSCRIPTION_ID, grants=grants, **extra)


def test_remote_logs_keep_no_key_anywhere_and_turn_shared_key_access_off() -> None:
    result, logs = _remote()
    account = result.one("azure-native:storage:StorageAccount").inputs
    assert account["allowSharedKeyAccess"] is False
    assert {r.type for r in result.records} & KEYED_TYPES == set()
    assert (logs.volume, logs.claim, logs.claim_name) == (None, None, None)
    # the account's name goes to Key Vault (ESO builds the wasb connection from it), its key never
    secrets = {r.inputs["secretName"] for r in result.by_type("azure-native:keyvault:Secret")}
    assert secrets == {ACCOUNT_NAME_SECRET}
    assert set(logs.vault_secrets) == {ACCOUNT_NAME_SECRET}
    assert [token for token, _ in result.mocks.invokes if "listStorageAccountKeys" in token] == []


def test_pv_logs_leave_shared_key_access_as_azure_has_it_and_keep_the_key_in_key_vault() -> None:
    result, logs = _logs()
    assert "allowSharedKeyAccess" not in result.one("azure-native:storage:StorageAccount").inputs
    assert {r.type for r in result.records} >= KEYED_TYPES
    assert set(logs.vault_secrets) == {ACCOUNT_NAME_SECRET, ACCOUNT_KEY_SECRET}
    assert logs.ready == [logs.claim]
    assert [token for token, _ in result.mocks.invokes if "listStorageAccountKeys" in token] != []


def test_remote_grants_are_scoped_to_the_logs_container_with_the_microsoft_role_ids() -> None:
    result, logs = _remote()
    roles = load_json("azure/built-in-roles.json")["roles"]
    container = result.one("azure-native:storage:BlobContainer")
    assignments = result.by_type("azure-native:authorization:RoleAssignment")
    # the grants are what Airflow's pods wait for
    assert len(assignments) == len(logs.ready) == 2
    assert all(isinstance(r, authorization.RoleAssignment) for r in logs.ready)
    seen = {}
    for ra in assignments:
        scope = str(ra.inputs["scope"])
        # the container, not the account: the identities reach no other container's blobs
        assert scope.endswith(
            f"/storageAccounts/{container.inputs['accountName']}/blobServices/default/containers/airflow-logs"
        )
        assert ra.inputs["principalType"] == "ServicePrincipal"
        seen[ra.inputs["principalId"]] = ra.inputs["roleDefinitionId"]
    prefix = f"/subscriptions/{SUBSCRIPTION_ID}/providers/Microsoft.Authorization/roleDefinitions/"
    assert seen == {
        WRITER: prefix + roles["Storage Blob Data Contributor"],
        READER: prefix + roles["Storage Blob Data Reader"],
    }


def test_private_logs_account_has_no_public_endpoint() -> None:
    private, _ = _remote(private=True)
    assert private.one("azure-native:storage:StorageAccount").inputs["publicNetworkAccess"] == "Disabled"
    public, _ = _remote()
    assert "publicNetworkAccess" not in public.one("azure-native:storage:StorageAccount").inputs


def test_versioning_keeps_previous_versions_a_week_and_the_rule_removes_them() -> None:
    result, _ = _logs(versioning=True)
    service = result.one("azure-native:storage:BlobServiceProperties").inputs
    assert service["isVersioningEnabled"] is True
    (rule,) = result.one("azure-native:storage:ManagementPolicy").inputs["policy"]["rules"]
    actions = rule["definition"]["actions"]
    assert actions["version"] == {"delete": {"daysAfterCreationGreaterThan": 7}}
    assert actions["baseBlob"] == {"delete": {"daysAfterModificationGreaterThan": 30}}
    # off: nothing about versions is sent (no change for stacks that never had it)
    plain, _ = _logs()
    assert "isVersioningEnabled" not in plain.one("azure-native:storage:BlobServiceProperties").inputs
    (rule,) = plain.one("azure-native:storage:ManagementPolicy").inputs["policy"]["rules"]
    assert "version" not in rule["definition"]["actions"]

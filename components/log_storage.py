"""Log storage: storage account and container, their Key Vault secrets, Blob CSI PV and claim."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random
from pulumi_azure_native import keyvault, storage

from components.key_vault import vault_secret
from plan import PART_OF_LABELS
from profiles import AIRFLOW_GID, AIRFLOW_UID

BLOB_CSI_DRIVER = "blob.csi.azure.com"
# The article's options, plus ownership: blobfuse ignores the pod's fsGroup, so without
# uid/gid Airflow (uid 50000, gid 0) cannot write its task logs (apache/airflow#45405).
MOUNT_OPTIONS = [
    "-o allow_other",
    "--file-cache-timeout-in-seconds=120",
    f"-o uid={AIRFLOW_UID}",
    f"-o gid={AIRFLOW_GID}",
]


# Soft delete: a deleted container can be restored for a week; a deleted or overwritten log
# blob for two days. Short for blobs on purpose: blobfuse uploads a whole file again each
# time Airflow closes it after appending, and every overwrite keeps the previous copy as a
# soft-deleted snapshot for these days. The lifecycle rule's deletions are soft deletes too.
CONTAINER_SOFT_DELETE_DAYS = 7
BLOB_SOFT_DELETE_DAYS = 2
# The SDK's words: the policy "should always be 'default'"; the lifecycle rule deletes
# block blobs (what blobfuse writes) under the logs container once unmodified for N days.
MANAGEMENT_POLICY_NAME = "default"
BLOB_SERVICES_NAME = "default"


def lifecycle_rule(container: str, retention_days: int) -> storage.ManagementPolicyRuleArgs:
    """Delete task logs `retention_days` after their last write (Airflow's log groomers
    are off: logs live in Blob storage, and this rule is what bounds them)."""
    return storage.ManagementPolicyRuleArgs(
        name="expire-task-logs",
        enabled=True,
        type=storage.RuleType.LIFECYCLE,
        definition=storage.ManagementPolicyDefinitionArgs(
            filters=storage.ManagementPolicyFilterArgs(blob_types=["blockBlob"], prefix_match=[f"{container}/"]),
            actions=storage.ManagementPolicyActionArgs(
                base_blob=storage.ManagementPolicyBaseBlobArgs(
                    delete=storage.DateAfterModificationArgs(days_after_modification_greater_than=retention_days)
                )
            ),
        ),
    )


def storage_account_name(prefix: str, suffix: str) -> str:
    """3-24 lowercase letters and digits, globally unique through the suffix."""
    return f"{prefix}logs{suffix}"


@dataclass
class LogStorageArgs:
    resource_group_name: pulumi.Input[str]
    location: str
    name_prefix: str
    container_name: str
    volume_size: str
    retention_days: int
    namespace: pulumi.Input[str]
    # Names from the plan: the claim Airflow mounts, the (cluster-scoped) volume, its class,
    # the Kubernetes Secret the driver reads the account from, and the Key Vault secrets ESO
    # fills it from (Blob CSI key -> Key Vault secret: azurestorageaccountname, ...key).
    claim_name: str
    volume_name: str
    storage_class: str
    driver_secret: str
    driver_secret_data: Mapping[str, str]
    vault_name: pulumi.Input[str]
    provider: k8s.Provider
    # protect the account, the container, the PV and the claim: `pulumi destroy` (or a
    # replacing change) stops instead of deleting them
    protect: bool = False


class LogStorage(pulumi.ComponentResource):
    """Blob storage mounted by Airflow's pods as a ReadWriteMany log volume."""

    account_name: pulumi.Output[str]
    container_name: pulumi.Output[str]
    claim_name: pulumi.Output[str]
    volume: k8s.core.v1.PersistentVolume
    claim: k8s.core.v1.PersistentVolumeClaim
    vault_secrets: dict[str, keyvault.Secret]  # Key Vault secret name -> secret

    def __init__(self, name: str, args: LogStorageArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("airflow-aks:log_storage:LogStorage", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        stateful = pulumi.ResourceOptions(parent=self, protect=args.protect)
        stateful_kube = pulumi.ResourceOptions(parent=self, provider=args.provider, protect=args.protect)

        suffix = random.RandomString(f"{name}-suffix", length=6, special=False, upper=False, opts=child)
        account = storage.StorageAccount(
            f"{name}-account",
            account_name=suffix.result.apply(lambda sfx: storage_account_name(args.name_prefix, sfx)),
            resource_group_name=args.resource_group_name,
            location=args.location,
            kind=storage.Kind.STORAGE_V2,
            sku=storage.SkuArgs(name=storage.SkuName.STANDARD_ZRS),
            enable_https_traffic_only=True,
            minimum_tls_version=storage.MinimumTlsVersion.TLS1_2,
            allow_blob_public_access=False,
            opts=stateful,
        )
        container = storage.BlobContainer(
            f"{name}-container",
            container_name=args.container_name,
            account_name=account.name,
            resource_group_name=args.resource_group_name,
            public_access=storage.PublicAccess.NONE,
            opts=stateful,
        )
        self.account_name = account.name
        self.container_name = container.name
        storage.BlobServiceProperties(
            f"{name}-blob-service",
            account_name=account.name,
            resource_group_name=args.resource_group_name,
            blob_services_name=BLOB_SERVICES_NAME,
            delete_retention_policy=storage.DeleteRetentionPolicyArgs(enabled=True, days=BLOB_SOFT_DELETE_DAYS),
            container_delete_retention_policy=storage.DeleteRetentionPolicyArgs(
                enabled=True, days=CONTAINER_SOFT_DELETE_DAYS
            ),
            opts=child,
        )
        storage.ManagementPolicy(
            f"{name}-lifecycle",
            account_name=account.name,
            resource_group_name=args.resource_group_name,
            management_policy_name=MANAGEMENT_POLICY_NAME,
            policy=storage.ManagementPolicySchemaArgs(rules=[lifecycle_rule(args.container_name, args.retention_days)]),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[container]),
        )

        keys = storage.list_storage_account_keys_output(
            resource_group_name=args.resource_group_name, account_name=account.name
        )
        account_key: pulumi.Output[str] = pulumi.Output.secret(keys.apply(lambda k: str(k.keys[0].value)))
        # what the driver reads, by its documented key: the account's name and key
        account_name_secret = args.driver_secret_data["azurestorageaccountname"]
        account_key_secret = args.driver_secret_data["azurestorageaccountkey"]
        self.vault_secrets = {
            account_name_secret: vault_secret(
                f"{name}-kv-account-name",
                args.vault_name,
                args.resource_group_name,
                account_name_secret,
                account.name,
                parent=self,
            ),
            account_key_secret: vault_secret(
                f"{name}-kv-account-key",
                args.vault_name,
                args.resource_group_name,
                account_key_secret,
                account_key,
                parent=self,
            ),
        }

        namespace = pulumi.Output.from_input(args.namespace)
        self.volume = k8s.core.v1.PersistentVolume(
            f"{name}-pv",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=args.volume_name, labels=dict(PART_OF_LABELS)),
            spec=k8s.core.v1.PersistentVolumeSpecArgs(
                capacity={"storage": args.volume_size},
                access_modes=["ReadWriteMany"],
                # Delete would remove the blob container's data with the claim.
                persistent_volume_reclaim_policy="Retain",
                storage_class_name=args.storage_class,
                mount_options=MOUNT_OPTIONS,
                csi=k8s.core.v1.CSIPersistentVolumeSourceArgs(
                    driver=BLOB_CSI_DRIVER,
                    read_only=False,
                    volume_handle=pulumi.Output.concat(account.name, "_", container.name),
                    volume_attributes={
                        "resourceGroup": args.resource_group_name,
                        "storageAccount": account.name,
                        "containerName": container.name,
                        "protocol": "fuse2",
                    },
                    node_stage_secret_ref=k8s.core.v1.SecretReferenceArgs(name=args.driver_secret, namespace=namespace),
                ),
            ),
            opts=stateful_kube,
        )
        self.claim = k8s.core.v1.PersistentVolumeClaim(
            f"{name}-pvc",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=args.claim_name, namespace=namespace),
            spec=k8s.core.v1.PersistentVolumeClaimSpecArgs(
                storage_class_name=args.storage_class,
                access_modes=["ReadWriteMany"],
                resources=k8s.core.v1.VolumeResourceRequirementsArgs(requests={"storage": args.volume_size}),
                volume_name=self.volume.metadata.name,
            ),
            opts=stateful_kube,
        )
        self.claim_name = self.claim.metadata.name
        self.register_outputs(
            {"accountName": self.account_name, "containerName": self.container_name, "claimName": self.claim_name}
        )

"""Log storage: storage account and container, their Key Vault secrets, and either a Blob CSI
PV and claim (logsMode=pv, the article) or role grants for Airflow's identities on the
container (logsMode=remote: no account key anywhere, shared-key access off)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random
from pulumi_azure_native import authorization, keyvault, storage

from components.azure_roles import role_definition_id
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
# With versioning (logsBlobVersioning), an overwritten or deleted log's previous version; the
# lifecycle rule deletes versions this many days after they were made.
VERSION_RETENTION_DAYS = 7
# The SDK's words: the policy "should always be 'default'"; the lifecycle rule deletes
# block blobs (what blobfuse writes) under the logs container once unmodified for N days.
MANAGEMENT_POLICY_NAME = "default"
BLOB_SERVICES_NAME = "default"


def lifecycle_rule(container: str, retention_days: int, versioning: bool = False) -> storage.ManagementPolicyRuleArgs:
    """Delete task logs `retention_days` after their last write (Airflow's log groomers
    are off: logs live in Blob storage, and this rule is what bounds them), and with
    versioning their previous versions VERSION_RETENTION_DAYS after they were made."""
    return storage.ManagementPolicyRuleArgs(
        name="expire-task-logs",
        enabled=True,
        type=storage.RuleType.LIFECYCLE,
        definition=storage.ManagementPolicyDefinitionArgs(
            filters=storage.ManagementPolicyFilterArgs(blob_types=["blockBlob"], prefix_match=[f"{container}/"]),
            actions=storage.ManagementPolicyActionArgs(
                base_blob=storage.ManagementPolicyBaseBlobArgs(
                    delete=storage.DateAfterModificationArgs(days_after_modification_greater_than=retention_days)
                ),
                version=(
                    storage.ManagementPolicyVersionArgs(
                        delete=storage.DateAfterCreationArgs(days_after_creation_greater_than=VERSION_RETENTION_DAYS)
                    )
                    if versioning
                    else None
                ),
            ),
        ),
    )


def storage_account_name(prefix: str, suffix: str) -> str:
    """3-24 lowercase letters and digits, globally unique through the suffix."""
    return f"{prefix}logs{suffix}"


@dataclass(frozen=True)
class ContainerGrant:
    """A role on the logs container for a principal (logsMode=remote)."""

    role: str  # an Azure built-in role name (components.azure_roles)
    principal_id: pulumi.Input[str]


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
    # pv: the Blob CSI volume mounted with the account key; remote: no volume, no key, and
    # shared-key access off; Airflow's identities get `grants` on the container instead
    mode: str = "pv"
    subscription_id: pulumi.Input[str] = ""
    grants: Sequence[ContainerGrant] = field(default_factory=tuple)
    # privateNetworking: no public endpoint (reached through a private endpoint)
    private: bool = False
    # logsBlobVersioning: keep an overwritten or deleted log's previous version
    versioning: bool = False


class LogStorage(pulumi.ComponentResource):
    """Blob storage mounted by Airflow's pods as a ReadWriteMany log volume."""

    account_name: pulumi.Output[str]
    container_name: pulumi.Output[str]
    account_id: pulumi.Output[str]
    claim_name: pulumi.Output[str] | None  # pv only
    volume: k8s.core.v1.PersistentVolume | None
    claim: k8s.core.v1.PersistentVolumeClaim | None
    vault_secrets: dict[str, keyvault.Secret]  # Key Vault secret name -> secret
    # what Airflow's pods need before they start: the claim (pv), or the grants (remote)
    ready: list[pulumi.Resource]

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
            # remote: Entra ID only; nothing can sign a request with an account key
            allow_shared_key_access=False if args.mode == "remote" else None,
            public_network_access=storage.PublicNetworkAccess.DISABLED if args.private else None,
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
        self.account_id = account.id
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
            is_versioning_enabled=True if args.versioning else None,
            opts=child,
        )
        storage.ManagementPolicy(
            f"{name}-lifecycle",
            account_name=account.name,
            resource_group_name=args.resource_group_name,
            management_policy_name=MANAGEMENT_POLICY_NAME,
            policy=storage.ManagementPolicySchemaArgs(
                rules=[lifecycle_rule(args.container_name, args.retention_days, args.versioning)]
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[container]),
        )

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
        }
        self.volume = None
        self.claim = None
        self.claim_name = None
        if args.mode == "remote":
            self.ready = [
                authorization.RoleAssignment(
                    f"{name}-{grant.role.lower().replace(' ', '-')}",
                    scope=container.id,
                    role_definition_id=role_definition_id(args.subscription_id, grant.role),
                    principal_id=grant.principal_id,
                    # a just-created identity: without the type ARM looks it up and may not find it yet
                    principal_type=authorization.PrincipalType.SERVICE_PRINCIPAL,
                    opts=child,
                )
                for grant in args.grants
            ]
        else:
            self.ready = [self._volume(name, args, account, container, account_key_secret, stateful_kube)]
        self.register_outputs(
            {"accountName": self.account_name, "containerName": self.container_name, "claimName": self.claim_name}
        )

    def _volume(
        self,
        name: str,
        args: LogStorageArgs,
        account: storage.StorageAccount,
        container: storage.BlobContainer,
        account_key_secret: str,
        stateful_kube: pulumi.ResourceOptions,
    ) -> k8s.core.v1.PersistentVolumeClaim:
        """logsMode=pv: the account key into Key Vault, the Blob CSI volume and its claim."""
        keys = storage.list_storage_account_keys_output(
            resource_group_name=args.resource_group_name, account_name=account.name
        )
        account_key: pulumi.Output[str] = pulumi.Output.secret(keys.apply(lambda k: str(k.keys[0].value)))
        self.vault_secrets[account_key_secret] = vault_secret(
            f"{name}-kv-account-key",
            args.vault_name,
            args.resource_group_name,
            account_key_secret,
            account_key,
            parent=self,
        )

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
        claim = self.claim = k8s.core.v1.PersistentVolumeClaim(
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
        self.claim_name = claim.metadata.name
        return claim

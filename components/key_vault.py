"""Key Vault access: the vault, a least-privilege grant for the identity, generated secrets."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

import pulumi
import pulumi_random as random
import pulumi_tls as tls
from pulumi_azure_native import authorization, keyvault

from components.azure_roles import KEY_VAULT_SECRETS_USER, role_definition_id


def vault_name(prefix: str, suffix: str) -> str:
    """3-24 chars, letters/digits/single hyphens, globally unique through the suffix."""
    return f"{prefix}-kv-{suffix}"


def _urlsafe(b64: str) -> str:
    """A Fernet key is url-safe base64 of 32 bytes."""
    return b64.replace("+", "-").replace("/", "_")


@dataclass
class KeyVaultArgs:
    resource_group_name: pulumi.Input[str]
    location: str
    name_prefix: str
    tenant_id: pulumi.Input[str]
    subscription_id: pulumi.Input[str]
    reader_principal_id: pulumi.Input[str]
    authorization: Literal["rbac", "accessPolicy"]
    purge_protection: bool
    soft_delete_retention_days: int
    # Key Vault secret names (plan.ADMIN_PASSWORD_SECRET, plan.FERNET_KEY_SECRET)
    admin_password_secret: str
    fernet_key_secret: str
    # What to generate besides the admin password and Fernet key: Key Vault secret name ->
    # length (plan.generated_passwords). Letters and digits only: they go into connection
    # URLs and pgbouncer's users.txt.
    passwords: Mapping[str, int]
    # protect the vault: `pulumi destroy` (or a replacing change) stops instead of deleting it
    protect: bool = False
    # Of `passwords`, those that must mix upper case, lower case and digits (at least one
    # each): Azure Database for PostgreSQL refuses an administrator password with fewer than
    # three character classes, which 32 random letters and digits miss now and then.
    mixed_passwords: frozenset[str] = frozenset()
    # privateNetworking: no public endpoint; pods reach it through a private endpoint
    private: bool = False
    # An SSH dagsGitRepo: the Key Vault secret to keep a generated ed25519 deploy key in
    # (plan.git_ssh_key_secret; None: no key)
    git_ssh_key_secret: str | None = None


class KeyVault(pulumi.ComponentResource):
    """The vault Airflow's secrets live in; the identity may only read secrets of this vault."""

    vault_name: pulumi.Output[str]
    vault_uri: pulumi.Output[str]
    vault_id: pulumi.Output[str]
    read_grant: pulumi.Resource
    secrets: dict[str, keyvault.Secret]
    # the generated values themselves (secret outputs), for resources that take them as input
    generated: dict[str, pulumi.Output[str]]
    # the deploy key's public half (OpenSSH, one line; public, not secret), None without one
    git_ssh_public_key: pulumi.Output[str] | None

    def __init__(self, name: str, args: KeyVaultArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("airflow-aks:key_vault:KeyVault", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        # A destroyed vault stays soft-deleted and blocks its name: a generated suffix,
        # stable in state, keeps names unique per stack instance.
        suffix = random.RandomString(f"{name}-suffix", length=6, special=False, upper=False, opts=child)
        rbac = args.authorization == "rbac"
        access_policies = (
            None
            if rbac
            else [
                keyvault.AccessPolicyEntryArgs(
                    tenant_id=args.tenant_id,
                    object_id=args.reader_principal_id,
                    permissions=keyvault.PermissionsArgs(secrets=[keyvault.SecretPermissions.GET]),
                )
            ]
        )
        vault = keyvault.Vault(
            f"{name}-vault",
            vault_name=suffix.result.apply(lambda sfx: vault_name(args.name_prefix, sfx)),
            resource_group_name=args.resource_group_name,
            location=args.location,
            properties=keyvault.VaultPropertiesArgs(
                tenant_id=args.tenant_id,
                sku=keyvault.SkuArgs(family=keyvault.SkuFamily.A, name=keyvault.SkuName.STANDARD),
                enable_rbac_authorization=rbac,
                access_policies=access_policies,
                enable_soft_delete=True,
                soft_delete_retention_in_days=args.soft_delete_retention_days,
                # Azure accepts only `true` or an absent value here.
                enable_purge_protection=True if args.purge_protection else None,
                # Secrets are written through Azure Resource Manager (keyvault.Secret is an ARM
                # resource), which the vault's network rules do not apply to (README: "Private
                # networking"); only reads by ESO cross them, through the private endpoint.
                public_network_access=keyvault.PublicNetworkAccess.DISABLED if args.private else None,
                network_acls=(
                    keyvault.NetworkRuleSetArgs(
                        default_action=keyvault.NetworkRuleAction.DENY,
                        bypass=keyvault.NetworkRuleBypassOptions.NONE,
                    )
                    if args.private
                    else None
                ),
            ),
            opts=pulumi.ResourceOptions(parent=self, protect=args.protect),
        )
        self.vault_name = vault.name
        self.vault_id = vault.id
        self.vault_uri = vault.properties.apply(lambda p: str(p.vault_uri))

        if rbac:
            self.read_grant = authorization.RoleAssignment(
                f"{name}-secrets-user",
                scope=vault.id,
                role_definition_id=role_definition_id(args.subscription_id, KEY_VAULT_SECRETS_USER),
                principal_id=args.reader_principal_id,
                # A just-created identity may not have replicated yet: without the type,
                # ARM looks it up and fails with PrincipalNotFound.
                principal_type=authorization.PrincipalType.SERVICE_PRINCIPAL,
                opts=child,
            )
        else:
            self.read_grant = vault

        admin = random.RandomPassword(f"{name}-admin-password", length=24, special=False, opts=child)
        fernet = random.RandomBytes(f"{name}-fernet-key", length=32, opts=child)
        generated = {
            args.admin_password_secret: admin.result,
            args.fernet_key_secret: fernet.base64.apply(_urlsafe),
        }
        for secret_name, length in args.passwords.items():
            role = secret_name.removeprefix("airflow-")
            least = 1 if secret_name in args.mixed_passwords else None  # None: the provider's default, 0
            password = random.RandomPassword(
                f"{name}-{role}",
                length=length,
                special=False,
                min_upper=least,
                min_lower=least,
                min_numeric=least,
                opts=child,
            )
            generated[secret_name] = password.result
        self.git_ssh_public_key = None
        if args.git_ssh_key_secret:
            # The provider marks privateKeyOpenssh (and the PEM forms) secret in state.
            deploy_key = tls.PrivateKey(f"{name}-git-ssh-key", algorithm="ED25519", opts=child)
            generated[args.git_ssh_key_secret] = deploy_key.private_key_openssh
            self.git_ssh_public_key = deploy_key.public_key_openssh.apply(str.strip)
        self.generated = {secret_name: pulumi.Output.secret(value) for secret_name, value in generated.items()}
        self.secrets = {
            secret_name: vault_secret(
                f"{name}-{secret_name}", self.vault_name, args.resource_group_name, secret_name, value, parent=self
            )
            for secret_name, value in generated.items()
        }
        self.register_outputs({"vaultName": self.vault_name, "vaultUri": self.vault_uri})


def vault_secret(
    resource_name: str,
    vault: pulumi.Input[str],
    resource_group_name: pulumi.Input[str],
    secret_name: str,
    value: pulumi.Input[str],
    parent: pulumi.Resource,
) -> keyvault.Secret:
    """A Key Vault secret whose value is always marked secret (in state, diffs and logs)."""
    return keyvault.Secret(
        resource_name,
        secret_name=secret_name,
        vault_name=vault,
        resource_group_name=resource_group_name,
        properties=keyvault.SecretPropertiesArgs(value=pulumi.Output.secret(value)),
        opts=pulumi.ResourceOptions(parent=parent),
    )

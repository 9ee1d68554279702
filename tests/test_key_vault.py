"""Key Vault component: vault, least-privilege grant, generated secrets kept secret."""

import re

import pytest
from helpers import deps_of, run_component

from components.key_vault import (
    ADMIN_PASSWORD_SECRET,
    FERNET_KEY_SECRET,
    OPTIONAL_PASSWORDS,
    WEBSERVER_SECRET_KEY_SECRET,
    KeyVault,
    KeyVaultArgs,
)
from synth.mocks import SUBSCRIPTION_ID, TENANT_ID, Secret
from synth.reference import load_json

PRINCIPAL = "f3fb9e49-4ea6-539b-adf6-adfa14b20d92"


def _vault(
    mode: str = "rbac",
    purge: bool = False,
    passwords: tuple[str, ...] = (WEBSERVER_SECRET_KEY_SECRET,),
    protect: bool = False,
):
    return run_component(
        lambda: KeyVault(
            "keyvault",
            KeyVaultArgs(
                resource_group_name="airflow-dev-rg",
                location="eastus",
                name_prefix="airflow",
                tenant_id=TENANT_ID,
                subscription_id=SUBSCRIPTION_ID,
                reader_principal_id=PRINCIPAL,
                authorization=mode,  # type: ignore[arg-type]
                purge_protection=purge,
                soft_delete_retention_days=7,
                passwords=passwords,
                protect=protect,
            ),
        )
    )


def test_protect_covers_the_vault_only() -> None:
    result, _ = _vault(protect=True)
    assert {r.type for r in result.records if r.protect} == {"azure-native:keyvault:Vault"}
    unprotected, _ = _vault()
    assert [r.name for r in unprotected.records if r.protect] == []


def test_rbac_vault_grants_secrets_user_scoped_to_the_vault_only() -> None:
    result, _ = _vault()
    vault = result.one("azure-native:keyvault:Vault")
    props = vault.inputs["properties"]
    assert props["enableRbacAuthorization"] is True
    assert props["enableSoftDelete"] is True
    assert "accessPolicies" not in props
    grant = result.one("azure-native:authorization:RoleAssignment").inputs
    rg_id = f"/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/airflow-dev-rg"
    vault_id = f"{rg_id}/providers/Microsoft.KeyVault/vaults/{vault.inputs['vaultName']}"
    assert grant["scope"] == vault_id
    assert grant["roleDefinitionId"] == (
        f"/subscriptions/{SUBSCRIPTION_ID}/providers/Microsoft.Authorization/roleDefinitions/"
        + load_json("azure/built-in-roles.json")["roles"]["Key Vault Secrets User"]
    )
    assert grant["principalId"] == PRINCIPAL
    assert grant["principalType"] == "ServicePrincipal"


def test_access_policy_mode_grants_get_only_and_no_role() -> None:
    result, _ = _vault("accessPolicy")
    props = result.one("azure-native:keyvault:Vault").inputs["properties"]
    assert props["enableRbacAuthorization"] is False
    assert props["accessPolicies"] == [
        {"tenantId": TENANT_ID, "objectId": PRINCIPAL, "permissions": {"secrets": ["get"]}}
    ]
    assert result.by_type("azure-native:authorization:RoleAssignment") == []


def test_purge_protection_is_set_only_when_asked() -> None:
    off, _ = _vault(purge=False)
    on, _ = _vault(purge=True)
    assert "enablePurgeProtection" not in off.one("azure-native:keyvault:Vault").inputs["properties"]
    assert on.one("azure-native:keyvault:Vault").inputs["properties"]["enablePurgeProtection"] is True


def test_vault_name_is_valid_and_globally_unique_by_suffix() -> None:
    result, _ = _vault()
    name = result.one("azure-native:keyvault:Vault").inputs["vaultName"]
    assert re.fullmatch(r"[a-zA-Z][a-zA-Z0-9-]{1,22}[a-zA-Z0-9]", name)
    assert "--" not in name
    suffix = result.one("random:index/randomString:RandomString")
    assert name == f"airflow-kv-{suffix.state['result']}"
    assert "random:index/randomString:RandomString::keyvault-suffix" in deps_of(
        result, result.one("azure-native:keyvault:Vault")
    )


def test_generated_credentials_are_in_the_vault_and_marked_secret() -> None:
    result, _ = _vault()
    secrets = {r.inputs["secretName"]: r for r in result.by_type("azure-native:keyvault:Secret")}
    assert set(secrets) == {ADMIN_PASSWORD_SECRET, WEBSERVER_SECRET_KEY_SECRET, FERNET_KEY_SECRET}
    passwords = {r.name: r.state["result"] for r in result.by_type("random:index/randomPassword:RandomPassword")}
    for name, record in secrets.items():
        assert isinstance(record.inputs["properties"]["value"], Secret), name
    admin = secrets[ADMIN_PASSWORD_SECRET].inputs["properties"]["value"].value
    assert admin == passwords["keyvault-admin-password"]
    fernet = secrets[FERNET_KEY_SECRET].inputs["properties"]["value"].value
    assert "+" not in fernet
    assert "/" not in fernet
    import base64

    assert len(base64.urlsafe_b64decode(fernet)) == 32


def test_optional_passwords_are_generated_only_when_asked() -> None:
    plain, _ = _vault(passwords=())
    assert [r.name for r in plain.by_type("random:index/randomPassword:RandomPassword")] == ["keyvault-admin-password"]
    assert {r.inputs["secretName"] for r in plain.by_type("azure-native:keyvault:Secret")} == {
        ADMIN_PASSWORD_SECRET,
        FERNET_KEY_SECRET,
    }

    result, vault = _vault(passwords=tuple(OPTIONAL_PASSWORDS))
    assert set(OPTIONAL_PASSWORDS) <= set(vault.secrets)
    passwords = {r.name: r for r in result.by_type("random:index/randomPassword:RandomPassword")}
    secrets = {r.inputs["secretName"]: r for r in result.by_type("azure-native:keyvault:Secret")}
    for secret_name, length in OPTIONAL_PASSWORDS.items():
        role = secret_name.removeprefix("airflow-")
        generated = passwords[f"keyvault-{role}"]
        # letters and digits: safe inside connection URLs and pgbouncer's users.txt
        assert generated.inputs["length"] == length
        assert generated.inputs["special"] is False
        value = secrets[secret_name].inputs["properties"]["value"]
        assert isinstance(value, Secret)
        assert value.value == generated.state["result"]
        assert f"random:index/randomPassword:RandomPassword::keyvault-{role}" in deps_of(result, secrets[secret_name])
    assert passwords["keyvault-postgres-password"].inputs["length"] == 32
    assert passwords["keyvault-jwt-secret"].inputs["length"] == 64


def test_an_unknown_password_name_is_refused() -> None:
    with pytest.raises(ValueError, match="no generated password named airflow-typo"):
        _vault(passwords=("airflow-typo",))

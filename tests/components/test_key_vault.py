"""Key Vault component: vault, least-privilege grant, generated secrets kept secret."""

from collections.abc import Mapping
from typing import Any

import pytest

from components.key_vault import KeyVault, KeyVaultArgs
from synth.mocks import SUBSCRIPTION_ID, TENANT_ID, Secret
from synth.reference import load_json
from tests.helpers import (
    deps_of,
    is_secret_output,
    key_vault_name_problems,
    names_a_suffix_could_make,
    plan_for,
    random_string_alphabet,
    resolve,
    run_component,
)

PRINCIPAL = "f3fb9e49-4ea6-539b-adf6-adfa14b20d92"
ADMIN_PASSWORD_SECRET = "airflow-admin-password"
FERNET_KEY_SECRET = "airflow-fernet-key"
WEBSERVER_SECRET_KEY_SECRET = "airflow-webserver-secret-key"


def _vault(
    mode: str = "rbac",
    purge: bool = False,
    passwords: Mapping[str, int] | None = None,
    protect: bool = False,
    name_prefix: str = "airflow",
    **extra: Any,
):
    return run_component(
        lambda: KeyVault(
            "keyvault",
            KeyVaultArgs(
                resource_group_name="airflow-dev-rg",
                location="eastus",
                name_prefix=name_prefix,
                tenant_id=TENANT_ID,
                subscription_id=SUBSCRIPTION_ID,
                reader_principal_id=PRINCIPAL,
                authorization=mode,  # type: ignore[arg-type]
                purge_protection=purge,
                soft_delete_retention_days=7,
                admin_password_secret=ADMIN_PASSWORD_SECRET,
                fernet_key_secret=FERNET_KEY_SECRET,
                passwords={WEBSERVER_SECRET_KEY_SECRET: 64} if passwords is None else passwords,
                protect=protect,
                **extra,
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


@pytest.mark.parametrize("prefix", ["ab", "airflow", "abcdefghij"])  # namePrefix: 2-10 characters
def test_every_vault_name_the_suffix_could_make_follows_azures_rules(prefix: str) -> None:
    """Azure's Key Vault name rules (tests/helpers.py cites Microsoft's naming-rules page), for
    the name registered AND for every name the suffix generator could draw, by the character set
    the random provider documents for the RandomString's inputs (a special character would end
    the name in a symbol or put a second hyphen after `-kv-`)."""
    result, _ = _vault(name_prefix=prefix)
    name = result.one("azure-native:keyvault:Vault").inputs["vaultName"]
    assert key_vault_name_problems(name) == []
    suffix = result.one("random:index/randomString:RandomString")
    assert suffix.state["result"] in name
    alphabet = random_string_alphabet(suffix.inputs)
    broken = [
        p for n in names_a_suffix_could_make(name, suffix.state["result"], alphabet) for p in key_vault_name_problems(n)
    ]
    assert broken == []


def test_the_name_rules_catch_what_azure_refuses() -> None:
    """The rules above can fail, one per rule."""
    assert key_vault_name_problems("airflow-kv-abc123") == []
    for bad in (
        "kv",
        "a" * 25,
        "airflow_kv",
        "1airflow",
        "airflow-kv-",
        "airflow--kv",
        "airflow-kv-abc!",
        "airflow-kv-é",
    ):
        assert key_vault_name_problems(bad), bad
    assert set(random_string_alphabet({"special": False, "upper": False})) == set(
        "abcdefghijklmnopqrstuvwxyz0123456789"
    )
    assert {"-", "!", "_"} <= set(random_string_alphabet({}))  # the provider's defaults draw symbols


def test_vault_name_is_globally_unique_by_suffix() -> None:
    """Vault names are global and a deleted vault keeps its name while soft-deleted: a suffix
    generated once per stack instance (and kept in state) makes each name its own."""
    result, _ = _vault()
    name = result.one("azure-native:keyvault:Vault").inputs["vaultName"]
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
    plain, _ = _vault(passwords={})
    assert [r.name for r in plain.by_type("random:index/randomPassword:RandomPassword")] == ["keyvault-admin-password"]
    assert {r.inputs["secretName"] for r in plain.by_type("azure-native:keyvault:Secret")} == {
        ADMIN_PASSWORD_SECRET,
        FERNET_KEY_SECRET,
    }

    # the most the plan asks for: Airflow 3's two static keys, PostgreSQL and Redis
    wanted = plan_for(airflowChartVersion="1.19.0", executor="CeleryExecutor").generated_passwords
    assert set(wanted) == {
        "airflow-api-secret-key",
        "airflow-jwt-secret",
        "airflow-postgres-password",
        "airflow-redis-password",
    }
    result, vault = _vault(passwords=wanted)
    assert set(wanted) <= set(vault.secrets)
    passwords = {r.name: r for r in result.by_type("random:index/randomPassword:RandomPassword")}
    secrets = {r.inputs["secretName"]: r for r in result.by_type("azure-native:keyvault:Secret")}
    for secret_name, length in wanted.items():
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
    assert passwords["keyvault-redis-password"].inputs["length"] == 32
    assert passwords["keyvault-jwt-secret"].inputs["length"] == 64
    assert passwords["keyvault-api-secret-key"].inputs["length"] == 64


VARIANTS = {
    "dev": {},
    "Celery": {"executor": "CeleryExecutor"},
    "external database": {
        "executor": "CeleryExecutor",
        "databaseMode": "external",
        "pgbouncerEnabled": "false",
        "externalDatabaseSecretName": "my-db",
    },
    "Airflow 3": {"airflowChartVersion": "1.19.0"},
    "Airflow 3, Celery and Kubernetes": {
        "airflowChartVersion": "1.19.0",
        "executor": "CeleryExecutor,KubernetesExecutor",
    },
}


@pytest.mark.parametrize("overrides", VARIANTS.values(), ids=list(VARIANTS))
def test_every_generated_secret_is_read_and_every_read_secret_is_generated(overrides: dict[str, str]) -> None:
    """No generated password under a name nothing reads (a typo), and none read that the
    vault does not generate: what the vault registers is exactly what ESO fetches from it
    (the logs account's name and key come from the log storage, not from the vault)."""
    plan = plan_for(**overrides)
    _, vault = _vault(passwords=plan.generated_passwords)
    # (not the logs Secret: the Blob CSI driver's account name and key, from the log storage)
    blob_csi_keys = {"azurestorageaccountname", "azurestorageaccountkey"}
    read = {kv for source in plan.secrets.values() if set(source.data) != blob_csi_keys for kv in source.data.values()}
    assert set(vault.secrets) == read
    # the check can fail: a misspelt name is generated but read by nothing
    _, typo = _vault(passwords={**plan.generated_passwords, "airflow-typo": 32})
    assert set(typo.secrets) - read == {"airflow-typo"}


DB_ADMIN = "airflow-database-admin-password"


def test_a_mixed_password_has_upper_lower_and_digit_and_the_others_keep_their_inputs() -> None:
    """Azure Database for PostgreSQL refuses an administrator password with fewer than three
    character classes; 32 random letters and digits miss one now and then. Only the passwords
    asked for get the minimums: the others keep the inputs they had, so no existing stack's
    password is regenerated."""
    before, _ = _vault(passwords={DB_ADMIN: 32, WEBSERVER_SECRET_KEY_SECRET: 64})
    after, vault = _vault(
        passwords={DB_ADMIN: 32, WEBSERVER_SECRET_KEY_SECRET: 64}, mixed_passwords=frozenset({DB_ADMIN})
    )
    old = {r.name: r.inputs for r in before.by_type("random:index/randomPassword:RandomPassword")}
    new = {r.name: r for r in after.by_type("random:index/randomPassword:RandomPassword")}
    mixed = new["keyvault-database-admin-password"]
    assert (mixed.inputs["minUpper"], mixed.inputs["minLower"], mixed.inputs["minNumeric"]) == (1, 1, 1)
    assert mixed.inputs["special"] is False
    result = mixed.state["result"]
    assert any(c.isupper() for c in result)
    assert any(c.islower() for c in result)
    assert any(c.isdigit() for c in result)
    for name, inputs in old.items():
        if name != "keyvault-database-admin-password":
            assert new[name].inputs == inputs, name
            assert {"minUpper", "minLower", "minNumeric"}.isdisjoint(inputs), name
    # the value itself, for the server that takes it as input: secret, and the vault's copy
    generated = vault.generated[DB_ADMIN]
    assert (resolve(generated), is_secret_output(generated)) == (result, True)
    stored = {r.inputs["secretName"]: r for r in after.by_type("azure-native:keyvault:Secret")}[DB_ADMIN]
    assert stored.inputs["properties"]["value"].value == result


def test_a_private_vault_has_no_public_endpoint_and_denies_by_default() -> None:
    result, _ = _vault(private=True)
    props = result.one("azure-native:keyvault:Vault").inputs["properties"]
    assert props["publicNetworkAccess"] == "Disabled"
    assert props["networkAcls"] == {"defaultAction": "Deny", "bypass": "None"}
    public, _ = _vault()
    props = public.one("azure-native:keyvault:Vault").inputs["properties"]
    # the SDK's own default (keyvault VaultPropertiesArgs), as before privateNetworking existed
    assert props["publicNetworkAccess"] == "enabled"
    assert "networkAcls" not in props

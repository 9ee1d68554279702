"""AppRoutingIngress (components/ingress.py): the UI's certificate in Key Vault as a PEM
secret, the application routing add-on's read grant on that one secret, and (internal) the
add-on's NginxIngressController, as the program registers them under the shared mocks.

Expected values come from outside the component: the operator's and the CSI driver's logic
(ported below from the source facts/aks-app-routing-tls.yaml quotes), the add-on's CRD, the
shared reference's role table and the installed SDKs. Each check is a function returning its
findings; a parametrized negative case shows each one catching a broken input.

The shared mocks (synth/mocks.py) answer ED25519 keys only and know no tls:SelfSignedCert:
_TlsMocks below adds REAL ECDSA/RSA keys and self-signed certificates (cryptography), so the
bundle the stack writes is parsed the way the CSI driver parses it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
import urllib.parse
from collections.abc import Mapping
from typing import Any

import pulumi
import pytest
from pulumi.runtime import mocks as pulumi_mocks

from components import ingress as ingress_module
from components.airflow_values import APP_ROUTING_NAMESPACE, UiIngress
from components.ingress import AppRoutingIngress, AppRoutingIngressArgs, pem_bundle_problems
from plan import UI_KEYVAULT_URI_ANNOTATION, UI_TLS_SECRET_PREFIX
from synth.mocks import SUBSCRIPTION_ID, TLS_PRIVATE_KEY, AzureMocks, Secret, decode_wire, unwrap
from synth.project import PROJECT_DIR
from synth.reference import load_json
from synth.runner import RunResult, run
from tests.helpers import is_secret_output, plain_strings, resolve, unmarked_leaks
from tests.test_external_facts import fact

SECRET = "azure-native:keyvault:Secret"
GRANT = "azure-native:authorization:RoleAssignment"
KEY = TLS_PRIVATE_KEY
CERT = "tls:index/selfSignedCert:SelfSignedCert"
NIC = "kubernetes:approuting.kubernetes.azure.com/v1alpha1:NginxIngressController"

HOST = "airflow.corp.example.org"
VAULT = "airflow-kv-abc123"
RG = "data-rg"
SECRET_NAME = "airflow-ui-tls"
INGRESS_NAME = "airflow-ingress"
ADDON_OBJECT_ID = "0f5d3c2b-8a7e-4d1f-9b6c-3e2a1d0c9b8a"
REFERENCE_ROLES: dict[str, str] = load_json("azure/built-in-roles.json")["roles"]


# ------------------------------------------------------------------ mocks that answer real TLS
def _real_private_key(name: str, inputs: Mapping[str, Any]) -> dict[str, Any]:
    """A REAL ECDSA (P256) or RSA key, deterministic per resource name, in the forms the
    provider answers (PEM traditional, PKCS#8, public)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec, rsa

    if inputs["algorithm"] == "ECDSA":
        assert inputs.get("ecdsaCurve") == "P256", inputs
        secret = int.from_bytes(hashlib.sha256(f"tls/{name}".encode()).digest(), "big") % (2**255)
        key: Any = ec.derive_private_key(secret, ec.SECP256R1())
    else:
        key = rsa.generate_private_key(public_exponent=65537, key_size=int(inputs["rsaBits"]))
    enc, fmt, none = serialization.Encoding, serialization.PrivateFormat, serialization.NoEncryption()
    return {
        **inputs,
        "privateKeyPem": key.private_bytes(enc.PEM, fmt.TraditionalOpenSSL, none).decode(),
        "privateKeyPemPkcs8": key.private_bytes(enc.PEM, fmt.PKCS8, none).decode(),
        "privateKeyOpenssh": key.private_bytes(enc.PEM, fmt.OpenSSH, none).decode(),
        "publicKeyPem": key.public_key()
        .public_bytes(enc.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode(),
    }


def _plain(value: Any) -> str:
    """A string input as the mocks get it (a secret may come in its wire form)."""
    value = unwrap(decode_wire(value))
    return str(value)


class _TlsMocks(AzureMocks):
    """The stock mocks answer ECDSA P-256 keys and self-signed certificates (deterministic);
    RSA keys, which only this test asks for, are answered here with a real (random) key."""

    def new_resource(self, args: pulumi_mocks.MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        inputs = dict(args.inputs)
        if args.typ == TLS_PRIVATE_KEY and inputs.get("algorithm") == "RSA":
            state = _real_private_key(args.name, inputs)
            for k in ("privateKeyPem", "privateKeyPemPkcs8", "privateKeyOpenssh"):
                self._sensitive(state[k])
                for line in state[k].splitlines():
                    if "PRIVATE KEY" not in line:
                        self._sensitive(line)
            return f"{args.name}-id", state
        return super().new_resource(args)


def _args(**overrides: Any) -> AppRoutingIngressArgs:
    values: dict[str, Any] = {
        "host": HOST,
        "ingress_name": INGRESS_NAME,
        "vault_name": VAULT,
        "resource_group_name": RG,
        "subscription_id": SUBSCRIPTION_ID,
        "secret_name": SECRET_NAME,
        "addon_identity_object_id": ADDON_OBJECT_ID,
    }
    values.update(overrides)
    return AppRoutingIngressArgs(**values)


def _run(**overrides: Any) -> tuple[RunResult, AppRoutingIngress]:
    built: dict[str, AppRoutingIngress] = {}

    def program() -> None:

        built["c"] = AppRoutingIngress("ui", _args(**overrides))

    result = run(program, "airflow-aks", "test", {"azure-native:location": "eastus"}, mocks=_TlsMocks())
    return result, built["c"]


# ------------------------------------------------------------------ what the add-on's side does with it
def operator_parse(uri: str) -> tuple[str, str, str]:
    """(vault, object name, version) from a tls-cert-keyvault-uri, as the operator's
    parseKeyVaultCertURI does it (facts: operator_takes_the_name_from_the_second_path_segment):
    the host's first label, the path's 2nd and 3rd segments. Raises like it does."""
    parsed = urllib.parse.urlparse(uri)
    chunks = parsed.path.split("/")
    if len(chunks) < 3:
        raise ValueError(f"uri Path contains too few segments: {parsed.path!r}")
    return (parsed.netloc.split(".")[0], chunks[2], chunks[3] if len(chunks) > 3 else "")


def csi_tls_split(pem: str) -> tuple[list[str], str]:
    """(tls.crt blocks, tls.key block type) the Secrets Store CSI driver makes of a file for a
    kubernetes.io/tls secretObject (GetCertPart): the CERTIFICATE blocks, and the last other
    block, which must parse as a PKCS#1, PKCS#8 or SEC 1 EC key."""
    blocks = re.findall(r"-----BEGIN ([A-Z ]+)-----\n.*?\n-----END \1-----", pem, re.S)
    bodies = re.findall(r"(-----BEGIN ([A-Z ]+)-----\n.*?\n-----END \2-----)", pem, re.S)
    certs = [b for b, kind in bodies if kind == "CERTIFICATE"]
    keys = [kind for kind in blocks if kind != "CERTIFICATE"]
    return certs, keys[-1] if keys else ""


def bundle_problems(pem: str, host: str) -> list[str]:
    """What keeps the add-on from serving `pem` for `host`: the driver's split, the key
    matching the certificate, the host among its DNS names."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    certs, key_kind = csi_tls_split(pem)
    out = []
    if not certs:
        out.append("tls.crt would be empty (no CERTIFICATE block)")
    if key_kind not in ("RSA PRIVATE KEY", "EC PRIVATE KEY", "PRIVATE KEY"):
        out.append(f"tls.key: no PKCS#1/PKCS#8/SEC 1 key block (found {key_kind!r})")
    if out:
        return out
    key_pem = re.search(r"-----BEGIN [A-Z ]*PRIVATE KEY-----\n.*?\n-----END [A-Z ]*PRIVATE KEY-----", pem, re.S)
    assert key_pem
    key: Any = serialization.load_pem_private_key(key_pem[0].encode(), None)
    leaf = x509.load_pem_x509_certificate(certs[0].encode())
    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    if key.public_key().public_bytes(serialization.Encoding.DER, spki) != leaf.public_key().public_bytes(
        serialization.Encoding.DER, spki
    ):
        out.append("the key is not the certificate's")
    names = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(x509.DNSName)
    if host not in names:
        out.append(f"{host} not among the certificate's DNS names {names}")
    return out


def _stored_pem(result: RunResult) -> str:
    value = result.one(SECRET).inputs["properties"]["value"]
    assert isinstance(value, Secret), "the PEM bundle is not marked secret"
    return str(value.value)


# ------------------------------------------------------------------ the certificate
@pytest.mark.parametrize(("algorithm", "key_kind"), [("ECDSA", "EC PRIVATE KEY"), ("RSA", "RSA PRIVATE KEY")])
def test_a_generated_certificate_is_a_pem_secret_the_add_on_can_serve(algorithm: str, key_kind: str) -> None:
    result, ui = _run(key_algorithm=algorithm, validity_hours=4380, early_renewal_hours=336)
    key = result.one(KEY).inputs
    assert key["algorithm"] == algorithm
    assert (key.get("ecdsaCurve"), key.get("rsaBits")) == (("P256", None) if algorithm == "ECDSA" else (None, 2048))
    cert = result.one(CERT).inputs
    assert cert["dnsNames"] == [HOST]
    assert cert["subject"] == {"commonName": HOST}
    assert (cert["validityPeriodHours"], cert["earlyRenewalHours"]) == (4380, 336)
    assert "server_auth" in cert["allowedUses"]
    secret = result.one(SECRET).inputs
    assert (secret["secretName"], secret["vaultName"], secret["resourceGroupName"]) == (SECRET_NAME, VAULT, RG)
    assert secret["properties"]["contentType"] == "application/x-pem-file"
    pem = _stored_pem(result)
    assert bundle_problems(pem, HOST) == []
    assert csi_tls_split(pem)[1] == key_kind
    assert unmarked_leaks(result) == []
    # the public certificate is an output (clients of a self-signed one trust it), not secret
    assert resolve(ui.certificate_pem) in pem
    assert not is_secret_output(ui.certificate_pem)


def test_an_imported_bundle_is_stored_as_given_and_stays_secret() -> None:
    generated, _ = _run()
    pem = _stored_pem(generated)
    result, ui = _run(certificate="imported", imported_pem=pulumi.Output.secret(pem))
    assert result.by_type(KEY) == []
    assert result.by_type(CERT) == []
    assert _stored_pem(result) == pem
    assert all("PRIVATE KEY" not in s for s in plain_strings(result.one(SECRET).inputs))
    assert "PRIVATE KEY" not in resolve(ui.certificate_pem)
    assert "BEGIN CERTIFICATE" in resolve(ui.certificate_pem)


@pytest.mark.parametrize(
    ("broken", "expected"),
    [
        (lambda pem: re.sub(r"-----BEGIN CERTIFICATE-----.*", "", pem, flags=re.S), "no CERTIFICATE block"),
        (lambda pem: re.sub(r"-----BEGIN EC PRIVATE KEY-----.*?-----END EC PRIVATE KEY-----\n", "", pem, flags=re.S),
         "no PRIVATE KEY block"),
        (lambda pem: pem.replace("EC PRIVATE KEY", "ENCRYPTED PRIVATE KEY"),
         "the private key is encrypted (the CSI driver reads unencrypted keys only)"),
    ],
)  # fmt: skip
def test_a_broken_imported_bundle_is_refused_without_echoing_it(broken: Any, expected: str) -> None:
    generated, _ = _run()
    pem = broken(_stored_pem(generated))
    assert pem_bundle_problems(pem) == [expected]  # that problem, said that way, and no other
    with pytest.raises(Exception, match="not a PEM key \\+ certificate bundle") as err:
        _run(certificate="imported", imported_pem=pulumi.Output.secret(pem))
    assert "-----BEGIN" not in str(err.value)


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda pem: re.sub(r"-----BEGIN CERTIFICATE-----.*", "", pem, flags=re.S), "tls.crt would be empty"),
        (lambda pem: pem.replace("EC PRIVATE KEY", "OPENSSH PRIVATE KEY"), "no PKCS#1/PKCS#8/SEC 1 key block"),
    ],
)
def test_the_csi_split_catches_a_bundle_it_cannot_serve(mutate: Any, expected: str) -> None:
    generated, _ = _run()
    assert [p for p in bundle_problems(mutate(_stored_pem(generated)), HOST) if expected in p]


def test_a_certificate_for_another_host_or_key_is_caught() -> None:
    one, _ = _run()
    other, _ = _run(host="elsewhere.example.org", key_algorithm="RSA")  # (the mocks' ECDSA key is per name)
    assert [p for p in bundle_problems(_stored_pem(other), HOST) if "not among" in p]
    # one's key with the other's certificate
    key = re.search(r"-----BEGIN EC PRIVATE KEY-----.*?-----END EC PRIVATE KEY-----\n", _stored_pem(one), re.S)
    cert = re.search(r"-----BEGIN CERTIFICATE-----.*", _stored_pem(other), re.S)
    assert key
    assert cert
    mixed = key[0] + cert[0]
    assert "the key is not the certificate's" in bundle_problems(mixed, "elsewhere.example.org")


# ------------------------------------------------------------------ the annotation the operator parses
def test_the_annotation_names_the_secret_the_operator_will_fetch() -> None:
    _result, ui = _run()
    annotations = resolve(pulumi.Output.from_input(ui.annotations))
    uri = annotations[fact("aks-app-routing-tls", "operator_annotation_constant")]
    assert operator_parse(uri) == (VAULT, SECRET_NAME, "")  # versionless: rotation is picked up
    assert uri == f"https://{VAULT}.vault.azure.net/secrets/{SECRET_NAME}"
    assert resolve(ui.secret_uri) == uri
    assert resolve(ui.secret_id) == (
        f"/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/{RG}/providers/Microsoft.KeyVault/vaults/{VAULT}/secrets/{SECRET_NAME}"
    )


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        # the operator looks at the 2nd segment only: the docs' certificate URI names the same object
        (f"https://{VAULT}.vault.azure.net/certificates/{SECRET_NAME}", (VAULT, SECRET_NAME, "")),
        (f"https://{VAULT}.vault.azure.net/secrets/{SECRET_NAME}/abc123", (VAULT, SECRET_NAME, "abc123")),
    ],
)
def test_the_operator_parse_port_agrees_with_its_tests(uri: str, expected: tuple[str, str, str]) -> None:
    assert operator_parse(uri) == expected


@pytest.mark.parametrize("uri", [f"https://{VAULT}.vault.azure.net/secrets", "not-a-url", ""])
def test_a_uri_without_an_object_name_is_refused_like_the_operator_does(uri: str) -> None:
    with pytest.raises(ValueError, match="too few segments"):
        operator_parse(uri)


def test_the_ui_values_carry_the_component_outputs() -> None:
    _, ui = _run()
    assert isinstance(ui.ui, UiIngress)
    default_class = fact("aks-app-routing-tls", "default_ingress_class")
    assert (ui.ui.host, ui.ui.class_name, ui.ui.tls_secret) == (HOST, default_class, "keyvault-" + INGRESS_NAME)
    assert ui.ui.url == ui.url == f"https://{HOST}"
    assert ui.tls_secret_name == fact("aks-app-routing-tls", "tls_secret_name_prefix") + INGRESS_NAME


# ------------------------------------------------------------------ the add-on's read grant
def _vault_id() -> str:
    return f"/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/{RG}/providers/Microsoft.KeyVault/vaults/{VAULT}"


def _role_id(name: str) -> str:
    return f"/subscriptions/{SUBSCRIPTION_ID}/providers/Microsoft.Authorization/roleDefinitions/{REFERENCE_ROLES[name]}"


def grant_problems(result: RunResult, addon_object_id: str) -> list[str]:
    """The add-on's identity may read the certificate secret, and only it: Key Vault Secrets
    User (Microsoft's id, from the reference table) scoped to that secret's ARM id."""
    (secret,) = result.by_type(SECRET)
    secret_id = f"{_vault_id()}/secrets/{secret.inputs['secretName']}"
    wanted_role = (
        f"/subscriptions/{SUBSCRIPTION_ID}/providers/Microsoft.Authorization/roleDefinitions/"
        f"{REFERENCE_ROLES['Key Vault Secrets User']}"
    )
    out = []
    grants = result.by_type(GRANT)
    if len(grants) != 1:
        return [f"{len(grants)} role assignments, not one"]
    g = grants[0].inputs
    if g["scope"] != secret_id:
        out.append(f"scope {g['scope']}, not the secret {secret_id}")
    if g["roleDefinitionId"] != wanted_role:
        out.append(f"role {g['roleDefinitionId']}, not Key Vault Secrets User")
    if g["principalId"] != addon_object_id:
        out.append(f"principal {g['principalId']}, not the add-on's identity")
    if g.get("principalType") != "ServicePrincipal":
        out.append(f"principalType {g.get('principalType')}")
    return out


def test_the_add_on_identity_reads_that_one_secret() -> None:
    result, _ = _run()
    assert grant_problems(result, ADDON_OBJECT_ID) == []
    assert fact("aks-app-routing-tls", "secrets_user_reads_secret_contents") == ingress_module.READ_ROLE


def _with_grant(result: RunResult, **changes: Any) -> RunResult:
    records = [dataclasses.replace(r, inputs={**r.inputs, **changes}) if r.type == GRANT else r for r in result.records]
    return dataclasses.replace(result, records=records)


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"scope": _vault_id()}, "not the secret"),
        ({"roleDefinitionId": _role_id("Key Vault Certificate User")}, "not Key Vault Secrets User"),
        ({"principalId": "kubelet"}, "not the add-on's identity"),
        ({"principalType": "User"}, "principalType User"),
    ],
)  # fmt: skip
def test_a_wrong_grant_is_caught(changes: dict[str, Any], expected: str) -> None:
    result, _ = _run()
    assert [p for p in grant_problems(_with_grant(result, **changes), ADDON_OBJECT_ID) if expected in p]


# ------------------------------------------------------------------ the controller
def test_the_ui_uses_the_add_ons_default_controller_and_creates_none() -> None:
    """Internal or public is the cluster's defaultIngressControllerType (components.cluster):
    the component registers no NginxIngressController and no Kubernetes object at all."""
    result, ui = _run()
    assert [r.type for r in result.records if r.type.startswith("kubernetes:")] == []
    assert ui.class_name == fact("aks-app-routing-tls", "default_ingress_class")
    assert grant_problems(result, ADDON_OBJECT_ID) == []


# ------------------------------------------------------------------ constants against their sources
@pytest.mark.parametrize(
    ("constant", "source", "name"),
    [
        (UI_KEYVAULT_URI_ANNOTATION, "aks-app-routing-tls", "keyvault_uri_annotation"),
        (UI_KEYVAULT_URI_ANNOTATION, "aks-app-routing-tls", "operator_annotation_constant"),
        (UI_TLS_SECRET_PREFIX, "aks-app-routing-tls", "tls_secret_name_prefix"),
        (ingress_module.DEFAULT_INGRESS_CLASS, "aks-app-routing-tls", "default_ingress_class"),
        (APP_ROUTING_NAMESPACE, "aks-app-routing-nginx", "operator_namespace"),
    ],
)
def test_each_add_on_name_is_the_sources(constant: str, source: str, name: str) -> None:
    assert constant == fact(source, name)


def test_the_read_role_is_microsofts() -> None:
    from components.azure_roles import BUILT_IN_ROLES

    assert BUILT_IN_ROLES[ingress_module.READ_ROLE] == REFERENCE_ROLES["Key Vault Secrets User"]


# ------------------------------------------------------------------ what the installed SDKs say
def test_azure_native_has_no_key_vault_certificate_resource_and_secrets_go_through_arm() -> None:
    from pulumi_azure_native import keyvault

    assert issubclass(keyvault.Secret, pulumi.CustomResource)
    resources = [
        n
        for n in dir(keyvault)
        if "ertificate" in n
        and isinstance(getattr(keyvault, n), type)
        and issubclass(getattr(keyvault, n), pulumi.CustomResource)
    ]
    assert resources == []  # (CertificatePermissions: an access-policy enum, no resource)
    assert [n for n in dir(keyvault) if "ertificate" in n]  # the names were looked at
    doc = keyvault.SecretPropertiesArgs.__init__.__doc__ or ""
    assert "intended for internal use in ARM deployments" in doc
    assert ":param pulumi.Input[_builtins.str] content_type: The content type of the secret." in doc


def test_the_add_on_identity_is_a_managed_cluster_output() -> None:
    """Where __main__ finds the object id to grant: ManagedCluster
    ingress_profile.web_app_routing.identity.object_id (an output only)."""
    import inspect

    from pulumi_azure_native.containerservice import outputs

    web = outputs.ManagedClusterIngressProfileWebAppRoutingResponse
    assert "identity" in inspect.signature(web.__init__).parameters
    assert "get certificates from Azure Key Vault" in (web.__init__.__doc__ or "")
    assert "object_id" in inspect.signature(outputs.UserAssignedIdentityManagedClusterResponse.__init__).parameters


def test_the_generated_certificate_lives_as_long_as_the_readme_says(prod_run: RunResult) -> None:
    """README: a generated certificate is valid "one year, replaced by the first `pulumi up` in
    its last 30 days"; prod (uiCertificate left at its default) registers exactly that."""
    readme = (PROJECT_DIR / "README.md").read_text()
    said = re.search(
        r"`uiCertificate: generated` \(default\): .*?one\s+year, replaced by .*? in its last (\d+) days", readme, re.S
    )
    assert said, "README no longer says how long the generated certificate lives"
    cert = prod_run.one(CERT).inputs
    assert (cert["validityPeriodHours"], cert["earlyRenewalHours"]) == (365 * 24, int(said.group(1)) * 24)

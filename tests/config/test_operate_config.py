"""Config of the operate keys (issue 13): the imported UI certificate is a private key, so it
is refused unless the stack marks it secret, and never shown; its shape is checked against a
real certificate and key made by `cryptography`, not against a string this file invents."""

from __future__ import annotations

import datetime

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from config import ConfigError, parse_settings
from synth.project import load_stack_config

PEM_KEY = "airflow-aks:uiCertificatePem"


def _bundle(key_format: serialization.PrivateFormat = serialization.PrivateFormat.PKCS8) -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "airflow.example.com")])
    now = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=90))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("airflow.example.com")]), critical=False)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(serialization.Encoding.PEM, key_format, serialization.NoEncryption())
    return cert.public_bytes(serialization.Encoding.PEM).decode() + key_pem.decode()


def _values(**overrides: str) -> dict[str, str]:
    values = dict(load_stack_config("dev").values)
    values.update(
        {
            "airflow-aks:uiIngress": "public",
            "airflow-aks:uiHost": "airflow.example.com",
            "airflow-aks:uiCertificate": "imported",
        }
    )
    values.update({f"airflow-aks:{k}": v for k, v in overrides.items()})
    return values


@pytest.mark.parametrize(
    "key_format", [serialization.PrivateFormat.PKCS8, serialization.PrivateFormat.TraditionalOpenSSL]
)
def test_a_real_bundle_marked_secret_is_accepted(key_format: serialization.PrivateFormat) -> None:
    bundle = _bundle(key_format)
    settings = parse_settings("dev", _values(uiCertificatePem=bundle), secret_keys=[PEM_KEY])
    assert settings.ui_certificate_pem == bundle


def test_a_real_bundle_in_plain_text_is_refused_and_not_shown() -> None:
    bundle = _bundle()
    with pytest.raises(ConfigError) as caught:
        parse_settings("dev", _values(uiCertificatePem=bundle))
    text = str(caught.value)
    assert f"{PEM_KEY} = [secret]: holds a private key, so it must be a secret value" in text
    assert "PRIVATE KEY" not in text
    assert bundle.splitlines()[1] not in text


@pytest.mark.parametrize(
    "broken",
    [
        lambda b: b.split("-----BEGIN PRIVATE KEY-----")[0],  # the certificate alone
        lambda b: "-----BEGIN PRIVATE KEY-----" + b.split("-----BEGIN PRIVATE KEY-----")[1],  # the key alone
        lambda b: b + b.split("-----END CERTIFICATE-----\n")[1],  # two keys
        lambda b: b.replace("CERTIFICATE-----\n", "CERTIFICATE-----\n!", 1),  # not base64
        lambda b: b.replace("-----END CERTIFICATE-----", "-----END CERT-----"),  # unbalanced block
    ],
    ids=["certificate-only", "key-only", "two-keys", "not-base64", "unbalanced"],
)
def test_a_broken_bundle_is_refused_without_showing_it(broken: object) -> None:
    bundle = broken(_bundle())  # type: ignore[operator]
    with pytest.raises(ConfigError) as caught:
        parse_settings("dev", _values(uiCertificatePem=bundle), secret_keys=[PEM_KEY])
    text = str(caught.value)
    assert f"{PEM_KEY} = [secret]: must be a PEM bundle" in text
    assert "BEGIN" not in text.split("must be", maxsplit=1)[0]
    assert bundle.splitlines()[1] not in text

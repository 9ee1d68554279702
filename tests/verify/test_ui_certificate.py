"""--airflow-url over TLS (uiIngress): the UI's certificate from the stack outputs
(`airflowUiCertificate`, self-signed when the stack generated it) is trusted besides the
system's CAs, so verify reaches the UI through its Ingress; without it, or with another
certificate, the TLS handshake fails and health says so. Real certificates (cryptography), a
real TLS server (the fake Airflow on 127.0.0.1)."""

from __future__ import annotations

import datetime
import ipaddress
import ssl
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.verify.conftest import Stack


def _self_signed(tmp_path: Path, name: str) -> tuple[str, ssl.SSLContext]:
    """A self-signed certificate for 127.0.0.1 (as the stack generates one for uiHost) and a
    server context serving it."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .sign(key, hashes.SHA256())
    )
    pem = cert.public_bytes(serialization.Encoding.PEM).decode()
    (tmp_path / f"{name}.crt").write_text(pem)
    (tmp_path / f"{name}.key").write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(tmp_path / f"{name}.crt", tmp_path / f"{name}.key")
    return pem, ctx


def _run(prod: Stack, served: Any, verify_cli: Any, tmp_path: Path, trusted: str | None) -> Any:
    pem, tls = _self_signed(tmp_path, "airflow-ui")
    assert prod.cluster.airflow is not None
    ui = served(prod.cluster.airflow.handle, tls)
    assert ui.url.startswith("https://127.0.0.1:")
    outputs = dict(prod.outputs)
    if trusted == "its own":
        outputs["airflowUiCertificate"] = pem
    elif trusted is not None:
        outputs["airflowUiCertificate"] = trusted
    timeout = ["--timeout", "0"] if trusted != "its own" else []
    return verify_cli(prod, "--airflow-url", ui.url, *timeout, outputs=outputs, server=served(prod.cluster).url)


def test_the_uis_own_certificate_is_trusted_at_its_url(prod: Stack, served, verify_cli, tmp_path: Path) -> None:
    run = _run(prod, served, verify_cli, tmp_path, "its own")
    assert run.code == 0, run.out
    assert run.lines["health"].startswith("PASS health")


@pytest.mark.parametrize("trusted", [None, "another"], ids=["not-in-the-outputs", "another-certificate"])
def test_without_the_uis_certificate_the_handshake_fails(
    trusted: str | None, prod: Stack, served, verify_cli, tmp_path: Path
) -> None:
    other = _self_signed(tmp_path, "other")[0] if trusted == "another" else None
    run = _run(prod, served, verify_cli, tmp_path, other)
    assert run.code == 1
    assert "/api/v2/monitor/health: TLS certificate not trusted: self-signed certificate" in run.lines["health"]


def test_an_output_that_is_no_certificate_is_a_usage_error(prod: Stack, verify_cli) -> None:
    outputs = {**prod.outputs, "airflowUiCertificate": "not a certificate"}
    run = verify_cli(prod, "--airflow-url", "https://127.0.0.1:1", outputs=outputs)
    assert run.code == 2
    assert "`airflowUiCertificate` is not a PEM certificate" in run.err

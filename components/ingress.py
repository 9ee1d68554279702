"""The Airflow UI over TLS through the AKS application routing add-on (issue 13, item 4).

What the add-on does with an Ingress of one of its classes that carries the annotation
``kubernetes.azure.com/tls-cert-keyvault-uri`` (read from Azure/aks-app-routing-operator;
the facts folder's aks-app-routing-tls.yaml quotes it): it takes the vault name from the
URI's host and the object name from the path's second segment, whatever the first one says (``/certificates/<name>``
or ``/secrets/<name>``), and builds a SecretProviderClass that fetches that name as
``objectType: secret`` with the add-on's own managed identity, syncing it into the
``kubernetes.io/tls`` Secret ``keyvault-<ingress name>`` (the Secrets Store CSI driver
splits the PEM into ``tls.crt`` and ``tls.key``). A plain Key Vault *secret* holding a PEM
bundle therefore works: exactly what the stack can write through Azure Resource Manager
(``keyvault.Secret``; the SDK has no certificate resource, and prod's vault refuses
data-plane traffic from outside its VNet). The add-on's identity needs to read that one
secret: *Key Vault Secrets User* scoped to it.

The certificate is generated here (a self-signed one from pulumi_tls, renewed by ``pulumi
up`` inside its early-renewal window) or imported (a PEM bundle from a secret config value).
Its PEM stays a secret output end to end: Key Vault, the state, never a plain value.

The controller is the add-on's default one, IngressClass ``webapprouting.kubernetes.azure.com``;
whether its load balancer is internal (prod's default) or public is the cluster's setting
(ManagedCluster ingressProfile.webAppRouting.nginx.defaultIngressControllerType Internal or
External, components.cluster), so no NginxIngressController custom resource is needed here:
nothing waits for a CRD the add-on installs, and nothing a second controller could expose.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import pulumi
import pulumi_tls as tls
from pulumi_azure_native import authorization, keyvault

from components.airflow_values import UiIngress
from components.azure_roles import KEY_VAULT_SECRETS_USER, role_definition_id
from plan import UI_KEYVAULT_URI_ANNOTATION, ui_tls_secret_name

# --- the add-on's names (the facts folder quotes each with its source: aks-app-routing-*.yaml);
# the annotation the operator turns into a SecretProviderClass and the name of the Secret it
# fills are plan's (UI_KEYVAULT_URI_ANNOTATION, ui_tls_secret_name), which synth's checks share.
# The IngressClass of the default controller the add-on creates (its load balancer internal
# or public as the cluster's defaultIngressControllerType says).
DEFAULT_INGRESS_CLASS = "webapprouting.kubernetes.azure.com"
# The content type the Azure Key Vault provider (and Key Vault) give a PEM bundle.
PEM_CONTENT_TYPE = "application/x-pem-file"
# What the add-on's identity needs to read a Key Vault secret's value (secrets/getSecret).
READ_ROLE = KEY_VAULT_SECRETS_USER

KeyAlgorithm = Literal["ECDSA", "RSA"]


def pem_bundle(private_key_pem: str, certificate_pem: str) -> str:
    """Key first, then the chain: the order the Azure Key Vault provider itself writes a
    certificate's PEM in. The CSI driver picks the blocks by type, so either order parses."""
    return private_key_pem.rstrip("\n") + "\n" + certificate_pem.rstrip("\n") + "\n"


def pem_bundle_problems(pem: str) -> list[str]:
    """What keeps `pem` from being a key + certificate bundle the CSI driver can split
    (it looks for CERTIFICATE blocks and one other block, the key). Never echoes the PEM."""
    problems = []
    if "-----BEGIN CERTIFICATE-----" not in pem:
        problems.append("no CERTIFICATE block")
    if "PRIVATE KEY-----" not in pem:
        problems.append("no PRIVATE KEY block")
    if "ENCRYPTED PRIVATE KEY" in pem:
        problems.append("the private key is encrypted (the CSI driver reads unencrypted keys only)")
    return problems


@dataclass
class AppRoutingIngressArgs:
    host: str  # the UI's DNS name: the certificate's name, the Ingress host, base_url
    # The Ingress the chart renders for the UI (airflow_values.ui_ingress_name(release)):
    # the add-on names the TLS Secret after it.
    ingress_name: str
    # Key Vault: where the certificate is kept (ARM writes only)
    vault_name: pulumi.Input[str]
    resource_group_name: pulumi.Input[str]
    subscription_id: pulumi.Input[str]
    secret_name: str  # the Key Vault secret holding the PEM bundle
    # The add-on's identity: ManagedCluster ingressProfile.webAppRouting.identity.objectId
    addon_identity_object_id: pulumi.Input[str]
    certificate: Literal["generated", "imported"] = "generated"
    # certificate=imported: the PEM bundle (key + chain), a secret config value
    imported_pem: pulumi.Input[str] | None = None
    # certificate=generated
    key_algorithm: KeyAlgorithm = "ECDSA"
    validity_hours: int = 8760  # one year
    early_renewal_hours: int = 720  # `pulumi up` in the last 30 days issues a new one


class AppRoutingIngress(pulumi.ComponentResource):
    """The certificate in Key Vault and the add-on's read grant on it: everything the chart's
    UI Ingress needs besides its own values."""

    host: str
    url: str
    class_name: str
    tls_secret_name: str
    secret: keyvault.Secret
    secret_id: pulumi.Output[str]  # ARM id of the Key Vault secret
    secret_uri: pulumi.Output[str]  # its versionless data-plane URI (the annotation's value)
    certificate_pem: pulumi.Output[str]  # the public certificate (clients trust it), not secret
    read_grant: authorization.RoleAssignment
    annotations: dict[str, pulumi.Output[str]]
    ui: UiIngress

    def __init__(self, name: str, args: AppRoutingIngressArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("airflow-aks:ingress:AppRoutingIngress", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.host = args.host
        self.url = f"https://{args.host}"
        self.tls_secret_name = ui_tls_secret_name(args.ingress_name)

        bundle: pulumi.Output[str]
        if args.certificate == "generated":
            key = _private_key(f"{name}-key", args.key_algorithm, child)
            cert = tls.SelfSignedCert(
                f"{name}-cert",
                private_key_pem=key.private_key_pem,
                subject=tls.SelfSignedCertSubjectArgs(common_name=args.host),
                dns_names=[args.host],
                validity_period_hours=args.validity_hours,
                early_renewal_hours=args.early_renewal_hours,
                allowed_uses=["digital_signature", "key_encipherment", "server_auth"],
                opts=child,
            )
            bundle = pulumi.Output.all(key.private_key_pem, cert.cert_pem).apply(lambda kc: pem_bundle(kc[0], kc[1]))
            self.certificate_pem = cert.cert_pem
        else:
            if args.imported_pem is None:
                raise ValueError(f"{name}: certificate=imported needs the PEM bundle (imported_pem)")
            bundle = pulumi.Output.from_input(args.imported_pem).apply(_checked_bundle)
            self.certificate_pem = pulumi.Output.unsecret(bundle.apply(_certificates_only))
        self.secret = keyvault.Secret(
            f"{name}-certificate",
            secret_name=args.secret_name,
            vault_name=args.vault_name,
            resource_group_name=args.resource_group_name,
            properties=keyvault.SecretPropertiesArgs(
                value=pulumi.Output.secret(bundle),
                content_type=PEM_CONTENT_TYPE,
            ),
            opts=child,
        )
        self.secret_id = self.secret.id
        self.secret_uri = self.secret.properties.apply(lambda p: str(p.secret_uri))
        self.read_grant = authorization.RoleAssignment(
            f"{name}-certificate-reader",
            scope=self.secret.id,  # this one secret, not the vault
            role_definition_id=role_definition_id(args.subscription_id, READ_ROLE),
            principal_id=args.addon_identity_object_id,
            principal_type=authorization.PrincipalType.SERVICE_PRINCIPAL,
            opts=child,
        )

        self.class_name = DEFAULT_INGRESS_CLASS
        self.annotations = {UI_KEYVAULT_URI_ANNOTATION: self.secret_uri}
        self.ui = UiIngress(
            host=args.host,
            class_name=self.class_name,
            tls_secret=self.tls_secret_name,
            annotations=dict(self.annotations),
        )
        self.register_outputs(
            {
                "host": self.host,
                "url": self.url,
                "className": self.class_name,
                "secretId": self.secret_id,
                "secretUri": self.secret_uri,
            }
        )


def _private_key(name: str, algorithm: KeyAlgorithm, opts: pulumi.ResourceOptions) -> tls.PrivateKey:
    # The provider marks every private form secret in state.
    if algorithm == "ECDSA":
        return tls.PrivateKey(name, algorithm="ECDSA", ecdsa_curve="P256", opts=opts)
    return tls.PrivateKey(name, algorithm="RSA", rsa_bits=2048, opts=opts)


def _checked_bundle(pem: str) -> str:
    problems = pem_bundle_problems(pem)
    if problems:
        raise ValueError(f"the imported TLS certificate is not a PEM key + certificate bundle: {'; '.join(problems)}")
    return pem


def _certificates_only(pem: str) -> str:
    """The CERTIFICATE blocks of a bundle (public), in order."""
    out, inside = [], False
    for line in pem.splitlines():
        if line.startswith("-----BEGIN CERTIFICATE-----"):
            inside = True
        if inside:
            out.append(line)
        if line.startswith("-----END CERTIFICATE-----"):
            inside = False
    return "\n".join(out) + "\n"

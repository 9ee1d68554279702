"""Identity: managed identity, annotated ServiceAccount, federated credentials."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s
from pulumi_azure_native import managedidentity

TOKEN_AUDIENCE = "api://AzureADTokenExchange"


@dataclass
class IdentityArgs:
    resource_group_name: pulumi.Input[str]
    location: str
    identity_name: str
    namespace: pulumi.Input[str]  # where the ServiceAccount lives (the Namespace's output)
    service_account_name: str
    # The workloads trusting this identity: credential name -> exact token subject
    # (plan.federated_subjects; the ServiceAccount's among them).
    subjects: Mapping[str, str]
    tenant_id: pulumi.Input[str]
    oidc_issuer_url: pulumi.Input[str]
    provider: k8s.Provider


class Identity(pulumi.ComponentResource):
    """A user-assigned identity that pods of one ServiceAccount assume via workload identity."""

    client_id: pulumi.Output[str]
    principal_id: pulumi.Output[str]
    identity_name: pulumi.Output[str]
    service_account_name: pulumi.Output[str]
    federated_credentials: list[managedidentity.FederatedIdentityCredential]

    def __init__(self, name: str, args: IdentityArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("airflow-aks:identity:Identity", name, None, opts)
        azure = pulumi.ResourceOptions(parent=self)
        kube = pulumi.ResourceOptions(parent=self, provider=args.provider)

        uami = managedidentity.UserAssignedIdentity(
            f"{name}-uami",
            resource_name_=args.identity_name,
            resource_group_name=args.resource_group_name,
            location=args.location,
            opts=azure,
        )
        self.identity_name = uami.name
        self.client_id = uami.client_id
        self.principal_id = uami.principal_id

        sa = k8s.core.v1.ServiceAccount(
            f"{name}-sa",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=args.service_account_name,
                namespace=args.namespace,
                annotations={
                    "azure.workload.identity/client-id": uami.client_id,
                    "azure.workload.identity/tenant-id": args.tenant_id,
                },
            ),
            opts=kube,
        )
        self.service_account_name = sa.metadata.name

        self.federated_credentials = chained_credentials(
            name, uami, args.subjects, args.resource_group_name, args.oidc_issuer_url, parent=self
        )

        self.register_outputs(
            {
                "clientId": self.client_id,
                "principalId": self.principal_id,
                "serviceAccountName": self.service_account_name,
            }
        )


def chained_credentials(
    name: str,
    uami: managedidentity.UserAssignedIdentity,
    subjects: Mapping[str, str],
    resource_group_name: pulumi.Input[str],
    oidc_issuer_url: pulumi.Input[str],
    parent: pulumi.Resource,
) -> list[managedidentity.FederatedIdentityCredential]:
    """One federated credential per subject (credential name -> exact token subject).

    Azure rejects concurrent credential writes on one identity
    (ConcurrentFederatedIdentityCredentialsWritesForSingleManagedIdentity): each credential
    waits for the one before it."""
    credentials: list[managedidentity.FederatedIdentityCredential] = []
    previous: list[pulumi.Resource] = []
    for role, subject in subjects.items():
        fic = managedidentity.FederatedIdentityCredential(
            f"{name}-fic-{role}",
            federated_identity_credential_resource_name=role,
            resource_name_=uami.name,
            resource_group_name=resource_group_name,
            issuer=oidc_issuer_url,
            subject=subject,
            audiences=[TOKEN_AUDIENCE],
            opts=pulumi.ResourceOptions(parent=parent, depends_on=previous),
        )
        credentials.append(fic)
        previous = [fic]
    return credentials


@dataclass
class PodIdentityArgs:
    resource_group_name: pulumi.Input[str]
    location: str
    identity_name: str
    # the chart's ServiceAccounts that assume it: credential name -> exact token subject
    subjects: Mapping[str, str]
    oidc_issuer_url: pulumi.Input[str]


class PodIdentity(pulumi.ComponentResource):
    """A user-assigned identity for ServiceAccounts someone else creates (the Airflow chart,
    annotated with `client_id` through its values): the identity and its federated
    credentials, no ServiceAccount."""

    client_id: pulumi.Output[str]
    principal_id: pulumi.Output[str]
    federated_credentials: list[managedidentity.FederatedIdentityCredential]

    def __init__(self, name: str, args: PodIdentityArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("airflow-aks:identity:PodIdentity", name, None, opts)
        uami = managedidentity.UserAssignedIdentity(
            f"{name}-uami",
            resource_name_=args.identity_name,
            resource_group_name=args.resource_group_name,
            location=args.location,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.client_id = uami.client_id
        self.principal_id = uami.principal_id
        self.federated_credentials = chained_credentials(
            name, uami, args.subjects, args.resource_group_name, args.oidc_issuer_url, parent=self
        )
        self.register_outputs({"clientId": self.client_id, "principalId": self.principal_id})

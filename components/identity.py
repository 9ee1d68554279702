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

        # Azure rejects concurrent credential writes on one identity
        # (ConcurrentFederatedIdentityCredentialsWritesForSingleManagedIdentity):
        # each credential waits for the one before it.
        self.federated_credentials = []
        previous: list[pulumi.Resource] = []
        for role, subject in args.subjects.items():
            fic = managedidentity.FederatedIdentityCredential(
                f"{name}-fic-{role}",
                federated_identity_credential_resource_name=role,
                resource_name_=uami.name,
                resource_group_name=args.resource_group_name,
                issuer=args.oidc_issuer_url,
                subject=subject,
                audiences=[TOKEN_AUDIENCE],
                opts=pulumi.ResourceOptions(parent=self, depends_on=previous),
            )
            self.federated_credentials.append(fic)
            previous = [fic]

        self.register_outputs(
            {
                "clientId": self.client_id,
                "principalId": self.principal_id,
                "serviceAccountName": self.service_account_name,
            }
        )

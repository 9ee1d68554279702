"""Identity: managed identity, namespace, annotated ServiceAccount, federated credential."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pulumi
import pulumi_kubernetes as k8s
from pulumi_azure_native import managedidentity

TOKEN_AUDIENCE = "api://AzureADTokenExchange"


def federated_subject(namespace: str, service_account: str) -> str:
    """The exact subject AKS puts in a ServiceAccount token."""
    return f"system:serviceaccount:{namespace}:{service_account}"


@dataclass
class IdentityArgs:
    resource_group_name: pulumi.Input[str]
    location: str
    identity_name: str
    namespace: str
    service_account_name: str
    tenant_id: pulumi.Input[str]
    oidc_issuer_url: pulumi.Input[str]
    provider: k8s.Provider
    # More workloads trusting this identity: credential name -> exact subject.
    extra_subjects: Mapping[str, str] = field(default_factory=dict)


class Identity(pulumi.ComponentResource):
    """A user-assigned identity that pods of one ServiceAccount assume via workload identity."""

    client_id: pulumi.Output[str]
    principal_id: pulumi.Output[str]
    identity_name: pulumi.Output[str]
    namespace: pulumi.Output[str]
    service_account_name: pulumi.Output[str]
    federated_credentials: list[managedidentity.FederatedIdentityCredential]
    namespace_resource: k8s.core.v1.Namespace

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

        self.namespace_resource = k8s.core.v1.Namespace(
            f"{name}-namespace",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=args.namespace, labels={"app.kubernetes.io/part-of": "airflow-aks"}
            ),
            opts=kube,
        )
        self.namespace = self.namespace_resource.metadata.name

        sa = k8s.core.v1.ServiceAccount(
            f"{name}-sa",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=args.service_account_name,
                namespace=self.namespace,
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
        subjects = {
            "external-secrets-operator": federated_subject(args.namespace, args.service_account_name),
            **args.extra_subjects,
        }
        previous: list[pulumi.Resource] = []
        for role, subject in subjects.items():
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
                "namespace": self.namespace,
                "serviceAccountName": self.service_account_name,
            }
        )

"""Identity component: UAMI, namespace, annotated ServiceAccount, federated credentials."""

from helpers import deps_of, provider, resolve, run_component

from components.identity import TOKEN_AUDIENCE, Identity, IdentityArgs, federated_subject
from synth.mocks import TENANT_ID

ISSUER = "https://eastus.oic.prod-aks.azure.com/tenant/cluster/"


def _identity(**extra):
    return run_component(
        lambda: Identity(
            "identity",
            IdentityArgs(
                resource_group_name="rg",
                location="eastus",
                identity_name="airflow-dev-identity",
                namespace="airflow",
                service_account_name="airflow-sa",
                tenant_id=TENANT_ID,
                oidc_issuer_url=ISSUER,
                provider=provider(),
                **extra,
            ),
        )
    )


def test_federated_credential_trusts_exactly_the_service_account() -> None:
    result, _ = _identity()
    fic = result.one("azure-native:managedidentity:FederatedIdentityCredential").inputs
    assert fic["subject"] == "system:serviceaccount:airflow:airflow-sa"
    assert fic["issuer"] == ISSUER
    assert fic["audiences"] == [TOKEN_AUDIENCE]
    assert fic["resourceName"] == "airflow-dev-identity"


def test_service_account_is_annotated_with_client_and_tenant_id() -> None:
    result, identity = _identity()
    sa = result.one("kubernetes:core/v1:ServiceAccount").inputs["metadata"]
    uami = result.one("azure-native:managedidentity:UserAssignedIdentity").state
    assert sa["name"] == "airflow-sa"
    assert sa["namespace"] == "airflow"
    assert sa["annotations"] == {
        "azure.workload.identity/client-id": uami["clientId"],
        "azure.workload.identity/tenant-id": TENANT_ID,
    }
    assert resolve(identity.client_id) == uami["clientId"]
    assert resolve(identity.principal_id) == uami["principalId"]


def test_service_account_waits_for_its_namespace_and_uses_the_cluster_provider() -> None:
    result, _ = _identity()
    sa = result.one("kubernetes:core/v1:ServiceAccount")
    assert "kubernetes:core/v1:Namespace::identity-namespace" in deps_of(result, sa)
    assert sa.provider.startswith(result.one("pulumi:providers:kubernetes").urn)


def test_federated_credentials_are_created_one_after_another() -> None:
    result, _ = _identity(
        extra_subjects={
            "scheduler": federated_subject("airflow", "airflow-scheduler"),
            "worker": federated_subject("airflow", "airflow-worker"),
        }
    )
    fics = result.by_type("azure-native:managedidentity:FederatedIdentityCredential")
    assert [f.name for f in fics] == [
        "identity-fic-external-secrets-operator",
        "identity-fic-scheduler",
        "identity-fic-worker",
    ]
    assert (
        "azure-native:managedidentity:FederatedIdentityCredential::identity-fic-external-secrets-operator"
        in deps_of(result, fics[1])
    )
    assert "azure-native:managedidentity:FederatedIdentityCredential::identity-fic-scheduler" in deps_of(
        result, fics[2]
    )

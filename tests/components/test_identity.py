"""Identity component: UAMI, annotated ServiceAccount, federated credentials."""

import itertools

from components.identity import Identity, IdentityArgs, PodIdentity, PodIdentityArgs
from components.namespace import Namespace, NamespaceArgs
from policy.kube import service_account_subject
from synth.mocks import TENANT_ID
from tests.helpers import deps_of, plan_for, provider, resolve, run_component

ISSUER = "https://eastus.oic.prod-aks.azure.com/tenant/cluster/"


def _identity(subjects: dict[str, str] | None = None):
    plan = plan_for(namespace="airflow", serviceAccountName="airflow-sa")

    def build():
        k8s = provider()
        namespace = Namespace("namespace", NamespaceArgs(name=plan.namespace, provider=k8s))
        return Identity(
            "identity",
            IdentityArgs(
                resource_group_name="rg",
                location="eastus",
                identity_name="airflow-dev-identity",
                namespace=namespace.name,
                service_account_name=plan.service_account,
                subjects=plan.federated_subjects if subjects is None else subjects,
                tenant_id=TENANT_ID,
                oidc_issuer_url=ISSUER,
                provider=k8s,
            ),
        )

    return run_component(build)


def test_federated_credential_trusts_exactly_the_service_account() -> None:
    result, _ = _identity()
    fic = result.one("azure-native:managedidentity:FederatedIdentityCredential").inputs
    sa = result.one("kubernetes:core/v1:ServiceAccount").inputs["metadata"]
    # the subject Kubernetes puts in the ServiceAccount's token: the one the stack registers
    assert fic["subject"] == f"system:serviceaccount:{sa['namespace']}:{sa['name']}"
    assert fic["subject"] == "system:serviceaccount:airflow:airflow-sa"
    assert fic["federatedIdentityCredentialResourceName"] == "external-secrets-operator"
    assert fic["issuer"] == ISSUER
    # the audience Microsoft Entra workload identity federation expects (AKS workload identity
    # overview: "api://AzureADTokenExchange"), the one the webhook-injected token carries
    assert fic["audiences"] == ["api://AzureADTokenExchange"]
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
    assert resolve(identity.service_account_name) == "airflow-sa"


def test_service_account_waits_for_its_namespace_and_uses_the_cluster_provider() -> None:
    result, _ = _identity()
    sa = result.one("kubernetes:core/v1:ServiceAccount")
    assert "kubernetes:core/v1:Namespace::namespace-ns" in deps_of(result, sa)
    assert sa.provider.startswith(result.one("pulumi:providers:kubernetes").urn)
    # the Namespace is the Namespace component's: Identity registers none of its own
    identity = result.one("airflow-aks:identity:Identity").urn
    assert [r.name for r in result.records if r.parent == identity and r.type == "kubernetes:core/v1:Namespace"] == []


def test_federated_credentials_are_created_one_after_another() -> None:
    result, _ = _identity(
        {
            "external-secrets-operator": service_account_subject("airflow", "airflow-sa"),
            "scheduler": service_account_subject("airflow", "airflow-scheduler"),
            "worker": service_account_subject("airflow", "airflow-worker"),
        }
    )
    fics = result.by_type("azure-native:managedidentity:FederatedIdentityCredential")
    assert [f.name for f in fics] == [
        "identity-fic-external-secrets-operator",
        "identity-fic-scheduler",
        "identity-fic-worker",
    ]
    assert [f.inputs["subject"] for f in fics] == [
        "system:serviceaccount:airflow:airflow-sa",
        "system:serviceaccount:airflow:airflow-scheduler",
        "system:serviceaccount:airflow:airflow-worker",
    ]
    assert (
        "azure-native:managedidentity:FederatedIdentityCredential::identity-fic-external-secrets-operator"
        in deps_of(result, fics[1])
    )
    assert "azure-native:managedidentity:FederatedIdentityCredential::identity-fic-scheduler" in deps_of(
        result, fics[2]
    )


def _pod_identity(stack_overrides: dict[str, str]):
    plan = plan_for(**stack_overrides)
    (writer, _reader) = plan.log_identities
    return writer, run_component(
        lambda: PodIdentity(
            "logs-writer",
            PodIdentityArgs(
                resource_group_name="rg",
                location="eastus",
                identity_name=writer.name,
                subjects=writer.subjects(plan.namespace),
                oidc_issuer_url=ISSUER,
            ),
        )
    )


def test_a_pod_identity_trusts_each_chart_account_in_turn_and_makes_no_service_account() -> None:
    """logsMode=remote: the chart makes the ServiceAccounts (named by the plan); the identity
    only trusts them, one credential after another (Azure refuses concurrent writes)."""
    writer, (result, identity) = _pod_identity({"logsMode": "remote", "airflowChartVersion": "1.19.0"})
    assert result.by_type("kubernetes:core/v1:ServiceAccount") == []
    uami = result.one("azure-native:managedidentity:UserAssignedIdentity")
    assert uami.inputs["resourceName"] == writer.name == "airflow-dev-logs-writer"
    fics = result.by_type("azure-native:managedidentity:FederatedIdentityCredential")
    # Airflow 3's writers: scheduler, workers (and every KubernetesExecutor task pod), triggerer,
    # DAG processor; each by the name the chart values give its ServiceAccount
    assert [f.inputs["subject"] for f in fics] == [
        f"system:serviceaccount:{plan_ns}:airflow-{component}"
        for plan_ns in ["airflow"]
        for component in ("scheduler", "worker", "triggerer", "dag-processor")
    ]
    for f in fics:
        assert f.inputs["issuer"] == ISSUER
        assert f.inputs["audiences"] == ["api://AzureADTokenExchange"]
        assert f.inputs["resourceName"] == writer.name
    for before, after in itertools.pairwise(fics):
        assert f"{before.type}::{before.name}" in deps_of(result, after)
    assert (resolve(identity.client_id), resolve(identity.principal_id)) == (
        uami.state["clientId"],
        uami.state["principalId"],
    )


def test_pv_logs_have_no_log_identities() -> None:
    assert plan_for().log_identities == ()
    assert plan_for(logsMode="pv", airflowChartVersion="1.19.0").log_identities == ()

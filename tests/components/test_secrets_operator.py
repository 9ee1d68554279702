"""Secrets operator: pinned ESO release, SecretStore and ExternalSecrets, checked against the CRDs."""

import jsonschema
import pulumi_random as random

from components.secrets_operator import (
    ExternalSecretSpec,
    SecretsOperator,
    SecretsOperatorArgs,
    eso_values,
    external_secret_spec,
)
from synth import reference
from tests.helpers import deps_of, plan_for, provider, run_component

VAULT_URI = "https://airflow-kv-abc123.vault.azure.net/"
# The operator's release (the chart names its controller's ServiceAccount after it).
OPERATOR_RELEASE = "external-secrets"


def _served_api_version(kind: str) -> str:
    """`<group>/<version>` the pinned operator's CRD serves for `kind` (exactly one version)."""
    crd = reference.eso_crd("2.9.0", kind)
    (version,) = [v["name"] for v in crd["spec"]["versions"] if v["served"]]
    return f"{crd['spec']['group']}/{version}"


_RESOURCES = {"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"cpu": "500m", "memory": "256Mi"}}


def _operator(install: bool = True):
    def build():
        marker = random.RandomString("grant", length=4)
        return SecretsOperator(
            "secrets",
            SecretsOperatorArgs(
                namespace="airflow",
                operator_namespace="airflow-eso",
                release_name=OPERATOR_RELEASE,
                service_account_name="airflow",
                vault_uri=VAULT_URI,
                registry="airflowdevacr.azurecr.io",
                chart_version="2.9.0",
                install=install,
                resources=_RESOURCES,
                provider=provider(),
                store_depends_on=[marker],
                release_depends_on=[random.RandomString("acr-pull", length=4)],
                external_secrets=[
                    ExternalSecretSpec("airflow-logs-storage", {"azurestorageaccountkey": "KEY"}, [marker])
                ],
            ),
        )

    return run_component(build)


def test_eso_release_is_pinned_with_crds_and_images_from_the_registry() -> None:
    result, _ = _operator()
    release = result.one("kubernetes:helm.sh/v3:Release").inputs
    assert release["chart"] == "external-secrets"
    assert release["name"] == "external-secrets"
    assert release["version"] == "2.9.0"
    assert release["repositoryOpts"]["repo"] == "https://charts.external-secrets.io"
    assert release["values"]["installCRDs"] is True
    for path in (("image",), ("webhook", "image"), ("certController", "image")):
        node = release["values"]
        for key in path:
            node = node[key]
        assert node == {"repository": "airflowdevacr.azurecr.io/external-secrets/external-secrets", "tag": "v2.9.0"}


def test_eso_values_validate_against_the_chart_schema() -> None:
    schema = reference.eso_chart_schema("2.9.0")
    values = eso_values("r.azurecr.io", "2.9.0", "airflow", _RESOURCES)
    assert list(jsonschema.Draft7Validator(schema).iter_errors(values)) == []


def test_store_waits_for_operator_identity_and_grant_and_secrets_wait_for_store() -> None:
    result, _ = _operator()
    store = result.one("kubernetes:external-secrets.io/v1:SecretStore")
    assert {"kubernetes:helm.sh/v3:Release::secrets-eso", "random:index/randomString:RandomString::grant"} <= deps_of(
        result, store
    )
    es = result.one("kubernetes:external-secrets.io/v1:ExternalSecret")
    assert {
        "kubernetes:external-secrets.io/v1:SecretStore::secrets-store",
        "random:index/randomString:RandomString::grant",
    } <= deps_of(result, es)


def test_without_install_the_store_does_not_wait_for_a_release() -> None:
    result, _ = _operator(install=False)
    assert result.by_type("kubernetes:helm.sh/v3:Release") == []
    assert "random:index/randomString:RandomString::grant" in deps_of(
        result, result.one("kubernetes:external-secrets.io/v1:SecretStore")
    )


def test_objects_use_the_served_api_and_validate_against_the_pinned_crds() -> None:
    result, _ = _operator()
    for kind, crd_file in (("SecretStore", "SecretStore"), ("ExternalSecret", "ExternalSecret")):
        obj = result.one(f"kubernetes:external-secrets.io/v1:{kind}").inputs
        assert obj["apiVersion"] == _served_api_version(crd_file)
        crd = reference.eso_crd("2.9.0", crd_file)
        served = {v["name"]: v for v in crd["spec"]["versions"] if v["served"]}
        assert set(served) == {"v1"}
        schema = served["v1"]["schema"]["openAPIV3Schema"]
        assert list(jsonschema.Draft7Validator(schema).iter_errors(obj)) == [], kind


def test_store_points_at_the_vault_with_workload_identity() -> None:
    result, _ = _operator()
    store = result.one("kubernetes:external-secrets.io/v1:SecretStore").inputs
    # pulumi-kubernetes waits for the operator's Ready condition: the vault was reached
    assert store["metadata"] == {
        "name": "azure-store",
        "namespace": "airflow",
        "annotations": {"pulumi.com/waitFor": "condition=Ready"},
    }
    assert store["spec"] == {
        "provider": {
            "azurekv": {"authType": "WorkloadIdentity", "vaultUrl": VAULT_URI, "serviceAccountRef": {"name": "airflow"}}
        }
    }
    es = result.one("kubernetes:external-secrets.io/v1:ExternalSecret").inputs
    assert es["metadata"]["annotations"] == {"pulumi.com/waitFor": "condition=Ready"}
    assert es["spec"]["target"] == {"name": "airflow-logs-storage", "creationPolicy": "Owner"}
    assert es["spec"]["data"] == [{"secretKey": "azurestorageaccountkey", "remoteRef": {"key": "KEY"}}]


def test_the_articles_v1beta1_is_not_served_by_the_pinned_operator() -> None:
    crd = reference.eso_crd("2.9.0", "ExternalSecret")
    served = [v["name"] for v in crd["spec"]["versions"] if v["served"]]
    assert "v1beta1" not in served


def test_a_templated_external_secret_validates_against_the_crd() -> None:
    spec = external_secret_spec(
        "airflow-metadata",
        {"password": "airflow-postgres-password"},
        {"connection": "postgresql://postgres:{{ .password | urlquery }}@db:5432/postgres"},
    )
    assert spec["target"]["template"] == {
        "engineVersion": "v2",
        "data": {"connection": "postgresql://postgres:{{ .password | urlquery }}@db:5432/postgres"},
    }
    assert spec["data"] == [{"secretKey": "password", "remoteRef": {"key": "airflow-postgres-password"}}]
    obj = {
        "apiVersion": _served_api_version("ExternalSecret"),
        "kind": "ExternalSecret",
        "metadata": {"name": "x"},
        "spec": spec,
    }
    crd = reference.eso_crd("2.9.0", "ExternalSecret")
    schema = next(v for v in crd["spec"]["versions"] if v["name"] == "v1")["schema"]["openAPIV3Schema"]
    assert list(jsonschema.Draft7Validator(schema).iter_errors(obj)) == []
    # and the check can fail: an engine the CRD does not know
    spec["target"]["template"]["engineVersion"] = "v3"
    assert any("v3" in e.message for e in jsonschema.Draft7Validator(schema).iter_errors(obj))


def test_the_operator_runs_in_its_own_namespace() -> None:
    """Airflow's pod-launcher role lets DAG code create and exec into pods in the namespace it
    serves: the operator, which writes that namespace's Secrets, runs elsewhere."""
    result, _ = _operator()
    (namespace,) = result.by_type("kubernetes:core/v1:Namespace")
    assert namespace.inputs["metadata"]["name"] == "airflow-eso"
    release = result.one("kubernetes:helm.sh/v3:Release")
    assert release.inputs["namespace"] == "airflow-eso"
    assert release.inputs["values"]["scopedNamespace"] == "airflow"
    assert "kubernetes:core/v1:Namespace::secrets-namespace" in deps_of(result, release)
    # beside the namespace it serves, named after it
    assert plan_for(namespace="airflow").operator_namespace == "airflow-eso"
    assert plan_for(namespace="data").operator_namespace == "data-eso"


def test_the_operator_may_mint_a_token_for_the_workload_identity_account_only() -> None:
    result, _ = _operator()
    role = result.one("kubernetes:rbac.authorization.k8s.io/v1:Role").inputs
    assert role["metadata"]["namespace"] == "airflow"
    assert role["rules"] == [
        {"apiGroups": [""], "resources": ["serviceaccounts/token"], "verbs": ["create"], "resourceNames": ["airflow"]}
    ]
    binding = result.one("kubernetes:rbac.authorization.k8s.io/v1:RoleBinding")
    assert binding.inputs["roleRef"] == {
        "apiGroup": "rbac.authorization.k8s.io",
        "kind": "Role",
        "name": "external-secrets-token",
    }
    assert binding.inputs["subjects"] == [
        {"kind": "ServiceAccount", "name": "external-secrets", "namespace": "airflow-eso"}
    ]
    store = result.one("kubernetes:external-secrets.io/v1:SecretStore")
    assert "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding::secrets-token-binding" in deps_of(result, store)


def test_the_chart_grants_no_token_minting_of_its_own_and_names_the_bound_account() -> None:
    """Against the real chart: the stack's binding is what lets the controller mint a token
    (the chart's own controller Role no longer can), and its subject is the account the
    chart's Deployment runs as."""
    result, _ = _operator()
    release = result.one("kubernetes:helm.sh/v3:Release").inputs
    objects = _rendered_eso("airflow", release_namespace=release["namespace"], release=release["name"])
    for obj in objects:
        if obj["kind"] in ("Role", "ClusterRole"):
            assert not [r for r in obj.get("rules", []) if "serviceaccounts/token" in r.get("resources", [])], obj
    deployment = next(o for o in objects if o["kind"] == "Deployment")
    assert deployment["metadata"]["namespace"] == "airflow-eso"
    assert deployment["spec"]["template"]["spec"]["serviceAccountName"] == "external-secrets"
    # the binding the stack registers names exactly that account, where the chart runs it
    (subject,) = result.one("kubernetes:rbac.authorization.k8s.io/v1:RoleBinding").inputs["subjects"]
    assert (subject["name"], subject["namespace"]) == (
        deployment["spec"]["template"]["spec"]["serviceAccountName"],
        deployment["metadata"]["namespace"],
    )


def test_ready_waits_outlast_a_propagating_grant() -> None:
    result, _ = _operator()
    for typ in ("kubernetes:external-secrets.io/v1:SecretStore", "kubernetes:external-secrets.io/v1:ExternalSecret"):
        assert result.one(typ).inputs["metadata"]["annotations"] == {"pulumi.com/waitFor": "condition=Ready"}


def _minutes(duration: str) -> int:
    assert duration.endswith("m"), duration
    return int(duration[:-1])


def test_ready_waits_on_create_and_update_are_longer_than_the_providers_default() -> None:
    """pulumi-kubernetes awaits an object for 10 minutes unless told otherwise; a Key Vault grant
    or federated credential still propagating keeps ESO retrying with a growing back-off, on
    the first create and again on an update (a changed ExternalSecret is awaited Ready anew)."""
    result, _ = _operator()
    waited = [*result.by_type("kubernetes:external-secrets.io/v1:SecretStore")]
    waited += result.by_type("kubernetes:external-secrets.io/v1:ExternalSecret")
    assert waited
    for record in waited:
        timeouts = record.custom_timeouts
        assert _minutes(timeouts["create"]) > 10, record.name
        assert _minutes(timeouts["update"]) > 10, record.name


def test_release_waits_for_the_registry_grant() -> None:
    result, _ = _operator()
    release = result.one("kubernetes:helm.sh/v3:Release")
    assert "random:index/randomString:RandomString::acr-pull" in deps_of(result, release)


def _rendered_eso(
    namespace: str, values: dict | None = None, release_namespace: str | None = None, release: str = OPERATOR_RELEASE
) -> list[dict]:
    """The REAL ESO 2.9.0 chart, rendered by Helm's engine (the stack's values and release
    name by default)."""
    from synth import helm

    values = eso_values("r.azurecr.io", "2.9.0", namespace, _RESOURCES) if values is None else values
    return helm.render_objects(
        "external-secrets", "2.9.0", values, release=release, namespace=release_namespace or namespace
    )


def _secret_rules(rules: list[dict]) -> list[dict]:
    return [
        r for r in rules if "" in r.get("apiGroups", []) and {"secrets", "serviceaccounts/token"} & set(r["resources"])
    ]


def test_the_rendered_operator_touches_secrets_only_in_its_own_namespace() -> None:
    objects = _rendered_eso("airflow")
    kinds = {(o["kind"], o["metadata"]["name"]) for o in objects if o["kind"] != "CustomResourceDefinition"}
    # one controller, no webhook or certificate controller (their ClusterRole reads every Secret)
    assert [n for k, n in kinds if k == "Deployment"] == ["external-secrets"]
    for obj in objects:
        if obj["kind"] == "ClusterRole":
            assert _secret_rules(obj.get("rules", [])) == [], obj["metadata"]["name"]
        if obj["kind"] in ("Role", "RoleBinding"):
            assert obj["metadata"].get("namespace", "airflow") == "airflow"
    controller = next(
        o for o in objects if o["kind"] == "Role" and o["metadata"]["name"] == "external-secrets-controller"
    )
    assert _secret_rules(controller["rules"]), "the controller must still write the namespace's Secrets"
    deployment = next(o for o in objects if o["kind"] == "Deployment")
    args = deployment["spec"]["template"]["spec"]["containers"][0]["args"]
    assert "--namespace=airflow" in args
    assert "--enable-cluster-store-reconciler=false" in args


def test_with_the_charts_defaults_the_operator_could_read_every_secret() -> None:
    """The check above can fail: the chart's own defaults grant Secrets cluster-wide."""
    cluster_roles = [o for o in _rendered_eso("airflow", values={}) if o["kind"] == "ClusterRole"]
    assert any(_secret_rules(r.get("rules", [])) for r in cluster_roles)


def test_the_controller_has_requests_and_limits() -> None:
    deployment = next(o for o in _rendered_eso("airflow") if o["kind"] == "Deployment")
    pod = deployment["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["resources"] == _RESOURCES
    # a pod-level context too, and a high uid: the image's own `nobody` (65534)
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert container["securityContext"]["runAsUser"] == pod["securityContext"]["runAsUser"] == 65534
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    sc = container["securityContext"]
    assert sc["allowPrivilegeEscalation"] is False
    assert sc["capabilities"] == {"drop": ["ALL"]}
    assert sc["seccompProfile"] == {"type": "RuntimeDefault"}

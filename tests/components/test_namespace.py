"""Namespace component: Airflow's namespace (the article's `kubectl create namespace`), kept
across its move out of the Identity component by an alias to its former URN."""

import pulumi
import pulumi_kubernetes as k8s

from components.namespace import Namespace, NamespaceArgs
from synth.render import render
from tests.helpers import plan_for, provider, resolve, run_component

NAMESPACE = "kubernetes:core/v1:Namespace"
# Where stacks deployed before the move hold it: a child of the Identity component
# (run_component's project and stack: airflow-aks, test).
FORMER_URN = (
    "urn:pulumi:test::airflow-aks::airflow-aks:identity:Identity$kubernetes:core/v1:Namespace::identity-namespace"
)


def _namespace(name: str = "airflow"):
    return run_component(lambda: Namespace("namespace", NamespaceArgs(name=name, provider=provider())))


def test_the_namespace_is_named_by_the_plan_and_labelled() -> None:
    plan = plan_for(namespace="data")
    result, namespace = _namespace(plan.namespace)
    (record,) = result.by_type(NAMESPACE)
    assert record.name == "namespace-ns"
    assert record.inputs["metadata"] == {"name": "data", "labels": {"app.kubernetes.io/part-of": "airflow-aks"}}
    # what the other components place their objects in: the registered name
    assert resolve(namespace.name) == "data"


def test_the_namespace_is_a_child_of_its_component_on_the_cluster_provider() -> None:
    result, _ = _namespace()
    record = result.one(NAMESPACE)
    assert record.parent == result.one("airflow-aks:namespace:Namespace").urn
    assert record.provider.startswith(result.one("pulumi:providers:kubernetes").urn + "::")


def test_the_alias_is_the_former_urn_so_up_adopts_the_namespace() -> None:
    result, _ = _namespace()
    record = result.one(NAMESPACE)
    assert record.aliases == [FORMER_URN]
    assert record.urn != FORMER_URN
    # synth writes it to resources.json, where a reviewer sees the move
    (entry,) = [r for r in render(result).resources if r["urn"] == record.urn]
    assert entry["aliases"] == [FORMER_URN]


def test_the_former_urn_is_what_the_former_layout_registered() -> None:
    """The alias against a real registration: the Namespace as the Identity component used
    to register it (a child `identity-namespace` of component `identity`) gets exactly the
    URN the alias names."""

    class FormerIdentity(pulumi.ComponentResource):
        def __init__(self) -> None:
            super().__init__("airflow-aks:identity:Identity", "identity", None, None)
            self.namespace = k8s.core.v1.Namespace(
                "identity-namespace",
                metadata=k8s.meta.v1.ObjectMetaArgs(name="airflow"),
                opts=pulumi.ResourceOptions(parent=self, provider=provider()),
            )

    former, _ = run_component(FormerIdentity)
    assert former.one(NAMESPACE).urn == FORMER_URN
    assert former.one(NAMESPACE).aliases == []  # nothing to adopt where nothing moved


def test_with_a_policy_engine_the_namespace_denies_ingress_by_default() -> None:
    result, namespace = run_component(
        lambda: Namespace("namespace", NamespaceArgs(name="data", provider=provider(), deny_ingress=True))
    )
    (policy,) = result.by_type("kubernetes:networking.k8s.io/v1:NetworkPolicy")
    assert policy.inputs["metadata"]["namespace"] == "data"
    # every pod selected (the empty selector), Ingress isolated, no rule: nothing allowed
    assert policy.inputs["spec"] == {"podSelector": {}, "policyTypes": ["Ingress"]}
    assert policy.parent == result.one("airflow-aks:namespace:Namespace").urn
    assert namespace.deny_ingress is not None


def test_without_one_no_policy_is_made() -> None:
    result, namespace = _namespace()
    assert result.by_type("kubernetes:networking.k8s.io/v1:NetworkPolicy") == []
    assert namespace.deny_ingress is None

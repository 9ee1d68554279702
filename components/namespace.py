"""Namespace: the Kubernetes namespace Airflow, its Secrets and its ServiceAccount live in."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import cast

import pulumi
import pulumi_kubernetes as k8s

from plan import PART_OF_LABELS

# Where the Namespace was registered before it had a component of its own: the alias keeps
# existing stacks' Namespace (and everything in it) instead of replacing it.
_FORMER_PARENT = ("identity", "airflow-aks:identity:Identity")
_FORMER_NAME = "identity-namespace"


@dataclass
class NamespaceArgs:
    name: str  # plan.namespace
    provider: k8s.Provider
    # With a network policy engine: deny every ingress the charts' policies do not allow.
    deny_ingress: bool = False
    # ...and let in what they should but do not: name -> NetworkPolicy spec (plan.network_policies)
    allow: Mapping[str, Mapping[str, object]] = field(default_factory=dict)


# Selects every pod in the namespace and allows no ingress: NetworkPolicies add up, so a pod
# receives only what another policy (the chart's) allows it.
DEFAULT_DENY = "default-deny-ingress"


class Namespace(pulumi.ComponentResource):
    """The article's `kubectl create namespace`: Airflow's namespace, created by the stack."""

    name: pulumi.Output[str]
    resource: k8s.core.v1.Namespace
    # deny_ingress and allow are typed where they are set: Pulumi resolves a component class's
    # annotations when it registers it, which would import the networking SDK (31 ms) for
    # stacks that have no NetworkPolicy.

    def __init__(self, name: str, args: NamespaceArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("airflow-aks:namespace:Namespace", name, None, opts)
        former_parent = pulumi.create_urn(*_FORMER_PARENT)
        self.resource = k8s.core.v1.Namespace(
            f"{name}-ns",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=args.name, labels=dict(PART_OF_LABELS)),
            opts=pulumi.ResourceOptions(
                parent=self,
                provider=args.provider,
                aliases=[pulumi.Alias(name=_FORMER_NAME, parent=former_parent)],
            ),
        )
        self.name = self.resource.metadata.name
        self.deny_ingress: k8s.networking.v1.NetworkPolicy | None = (
            k8s.networking.v1.NetworkPolicy(
                f"{name}-default-deny",
                metadata=k8s.meta.v1.ObjectMetaArgs(
                    name=DEFAULT_DENY, namespace=self.name, labels=dict(PART_OF_LABELS)
                ),
                spec=k8s.networking.v1.NetworkPolicySpecArgs(
                    pod_selector=k8s.meta.v1.LabelSelectorArgs(), policy_types=["Ingress"]
                ),
                opts=pulumi.ResourceOptions(parent=self, provider=args.provider),
            )
            if args.deny_ingress
            else None
        )
        self.allow: list[k8s.networking.v1.NetworkPolicy] = [
            k8s.networking.v1.NetworkPolicy(
                f"{name}-{policy}",
                metadata=k8s.meta.v1.ObjectMetaArgs(name=policy, namespace=self.name, labels=dict(PART_OF_LABELS)),
                spec=cast("k8s.networking.v1.NetworkPolicySpecArgsDict", dict(spec)),
                opts=pulumi.ResourceOptions(parent=self, provider=args.provider),
            )
            for policy, spec in args.allow.items()
        ]
        self.register_outputs({"name": self.name})

"""Namespace: the Kubernetes namespace Airflow, its Secrets and its ServiceAccount live in."""

from __future__ import annotations

from dataclasses import dataclass

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


class Namespace(pulumi.ComponentResource):
    """The article's `kubectl create namespace`: Airflow's namespace, created by the stack."""

    name: pulumi.Output[str]
    resource: k8s.core.v1.Namespace

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
        self.register_outputs({"name": self.name})

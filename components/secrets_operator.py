"""Secrets operator: External Secrets Operator, a SecretStore on the vault, ExternalSecrets."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from plan import PART_OF_LABELS
from profiles import ESO_CHART_NAME, ESO_CHART_REPO, ESO_IMAGES

# The API version the pinned operator serves (2.x serves v1 only; the article's v1beta1 is gone).
ESO_API_VERSION = "external-secrets.io/v1"
SECRET_STORE_NAME = "azure-store"


# The user the ESO image itself runs as (its Dockerfile: `USER 65534`, "nobody").
ESO_UID = 65534
# Ask pulumi-kubernetes to wait for the operator's own verdict on an object (its `Ready`
# condition), not just for the API server to accept it; longer than the provider's default
# 10 minutes: a Key Vault grant or federated credential that is still propagating makes ESO
# retry with a growing back-off.
WAIT_FOR_READY = {"pulumi.com/waitFor": "condition=Ready"}
READY_TIMEOUT = pulumi.CustomTimeouts(create="20m", update="20m")


def eso_values(registry: str, chart_version: str, namespace: str, resources: Mapping[str, Any]) -> dict[str, Any]:
    """Pure: Helm values for the pinned ESO chart, images pulled from the configured registry.

    Least privilege: the chart's default is a ClusterRole that reads and writes every Secret
    in the cluster and can mint a token for any ServiceAccount. Here the controller is
    scoped to the one namespace it serves, `namespace` (namespaced Roles only; cluster-wide
    stores, secrets and generators and push secrets not processed), may mint a token only
    for the one workload-identity ServiceAccount (a Role of the stack's, see
    SecretsOperator), and the validating webhook and its certificate controller are not
    installed: that controller holds its own cluster-wide read/write on Secrets, and every
    ESO object here comes from code that synth validates against the CRD schemas.
    """
    values: dict[str, Any] = {
        "installCRDs": True,
        "scopedRBAC": True,
        "scopedNamespace": namespace,
        "processClusterExternalSecret": False,
        "processClusterStore": False,
        "processClusterPushSecret": False,
        "processClusterGenerator": False,
        "processPushSecret": False,
        "rbac": {"serviceAccountTokenCreate": False, "servicebindings": {"create": False}},
        "webhook": {"create": False},
        "certController": {"create": False},
        # the controller's requests and limits (the chart sets none)
        "resources": dict(resources),
        # The chart's container securityContext is already hardened (no escalation, ALL
        # capabilities dropped, read-only root, RuntimeDefault seccomp); its pod-level one is
        # empty and it would run as uid 1000; the image's own user is 65534.
        "podSecurityContext": {
            "enabled": True,
            "runAsNonRoot": True,
            "runAsUser": ESO_UID,
            "runAsGroup": ESO_UID,
            "fsGroup": ESO_UID,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "securityContext": {"runAsUser": ESO_UID, "runAsGroup": ESO_UID},
    }
    for path, repository in ESO_IMAGES.items():
        node = values
        for part in path.split("."):
            node = node.setdefault(part, {})
        node.update({"repository": f"{registry}/{repository}", "tag": f"v{chart_version}"})
    return values


def secret_store_spec(vault_uri: str, service_account: str) -> dict[str, Any]:
    return {
        "provider": {
            "azurekv": {
                "authType": "WorkloadIdentity",
                "vaultUrl": vault_uri,
                "serviceAccountRef": {"name": service_account},
            }
        }
    }


def external_secret_spec(
    target: str, data: Mapping[str, str], template: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """`data` maps each key of the Kubernetes Secret to the Key Vault secret it comes from.

    With a `template`, the Secret holds the template's keys instead, each rendered by ESO
    (engine v2) with the keys of `data` as variables: ``{{ .password }}``.
    """
    target_spec: dict[str, Any] = {"name": target, "creationPolicy": "Owner"}
    if template is not None:
        target_spec["template"] = {"engineVersion": "v2", "data": dict(template)}
    return {
        "refreshInterval": "1h",
        "secretStoreRef": {"kind": "SecretStore", "name": SECRET_STORE_NAME},
        "target": target_spec,
        "data": [{"secretKey": key, "remoteRef": {"key": remote}} for key, remote in data.items()],
    }


@dataclass
class ExternalSecretSpec:
    """One Kubernetes Secret that ESO assembles from Key Vault secrets."""

    target: str
    data: Mapping[str, str]
    depends_on: Sequence[pulumi.Resource] = field(default_factory=list)
    template: Mapping[str, str] | None = None


@dataclass
class SecretsOperatorArgs:
    namespace: pulumi.Input[str]  # the namespace it serves (SecretStore, ExternalSecrets)
    operator_namespace: str  # where the operator runs (plan.operator_namespace)
    release_name: str  # the operator's release, and its controller's ServiceAccount (the chart's fullname)
    service_account_name: pulumi.Input[str]
    vault_uri: pulumi.Input[str]
    registry: str
    chart_version: str
    install: bool
    resources: Mapping[str, Any]  # the controller's `resources` block
    provider: k8s.Provider
    # What the store needs before ESO can read the vault: the federated credential and the grant.
    store_depends_on: Sequence[pulumi.Resource]
    external_secrets: Sequence[ExternalSecretSpec]
    # What the release needs before its pods can start: the registry grant (AcrPull).
    release_depends_on: Sequence[pulumi.Resource] = field(default_factory=list)


class SecretsOperator(pulumi.ComponentResource):
    """ESO (Helm, pinned), the SecretStore on the vault, and one ExternalSecret per target Secret."""

    release: k8s.helm.v3.Release | None
    token_grant: k8s.rbac.v1.RoleBinding | None
    store: k8s.apiextensions.CustomResource
    external_secrets: dict[str, k8s.apiextensions.CustomResource]

    def __init__(self, name: str, args: SecretsOperatorArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("airflow-aks:secrets_operator:SecretsOperator", name, None, opts)

        kube = pulumi.ResourceOptions(parent=self, provider=args.provider)
        self.release = None
        self.token_grant = None
        if args.install:
            namespace = k8s.core.v1.Namespace(
                f"{name}-namespace",
                metadata=k8s.meta.v1.ObjectMetaArgs(name=args.operator_namespace, labels=dict(PART_OF_LABELS)),
                opts=kube,
            )
            self.release = k8s.helm.v3.Release(
                f"{name}-eso",
                name=args.release_name,
                chart=ESO_CHART_NAME,
                version=args.chart_version,
                repository_opts=k8s.helm.v3.RepositoryOptsArgs(repo=ESO_CHART_REPO),
                namespace=namespace.metadata.name,
                values=pulumi.Output.from_input(args.namespace).apply(
                    lambda ns: eso_values(args.registry, args.chart_version, ns, args.resources)
                ),
                # kubelet retries an image pull with a back-off of at most 5 minutes while a
                # new AcrPull grant propagates
                timeout=1200,
                opts=pulumi.ResourceOptions(
                    parent=self, provider=args.provider, depends_on=list(args.release_depends_on)
                ),
            )
            self.token_grant = self._token_grant(name, args, kube)

        store_deps = [
            *args.store_depends_on,
            *([self.release] if self.release else []),
            *([self.token_grant] if self.token_grant else []),
        ]
        self.store = k8s.apiextensions.CustomResource(
            f"{name}-store",
            api_version=ESO_API_VERSION,
            kind="SecretStore",
            # Ready: the operator accepted the store (the vault itself is first read by an
            # ExternalSecret, which is awaited Ready too).
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=SECRET_STORE_NAME, namespace=args.namespace, annotations=WAIT_FOR_READY
            ),
            spec=pulumi.Output.all(args.vault_uri, args.service_account_name).apply(
                lambda v: secret_store_spec(v[0], v[1])
            ),
            opts=pulumi.ResourceOptions(
                parent=self, provider=args.provider, depends_on=store_deps, custom_timeouts=READY_TIMEOUT
            ),
        )

        self.external_secrets = {}
        for spec in args.external_secrets:
            self.external_secrets[spec.target] = k8s.apiextensions.CustomResource(
                f"{name}-es-{spec.target}",
                api_version=ESO_API_VERSION,
                kind="ExternalSecret",
                # Ready: the Kubernetes Secret exists with every key; the Airflow release
                # depends on these, so its pods never start against a missing Secret.
                metadata=k8s.meta.v1.ObjectMetaArgs(
                    name=spec.target, namespace=args.namespace, annotations=WAIT_FOR_READY
                ),
                spec=external_secret_spec(spec.target, spec.data, spec.template),
                opts=pulumi.ResourceOptions(
                    parent=self,
                    provider=args.provider,
                    depends_on=[self.store, *spec.depends_on],
                    custom_timeouts=READY_TIMEOUT,
                ),
            )
        self.register_outputs({"secretStore": SECRET_STORE_NAME, "externalSecrets": sorted(self.external_secrets)})

    def _token_grant(
        self, name: str, args: SecretsOperatorArgs, kube: pulumi.ResourceOptions
    ) -> k8s.rbac.v1.RoleBinding:
        """The one token the operator may mint: the workload-identity ServiceAccount's, in the
        namespace it serves (the chart's own rule would let it mint any ServiceAccount's)."""
        role = k8s.rbac.v1.Role(
            f"{name}-token-role",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=f"{args.release_name}-token", namespace=args.namespace),
            rules=[
                k8s.rbac.v1.PolicyRuleArgs(
                    api_groups=[""],
                    resources=["serviceaccounts/token"],
                    verbs=["create"],
                    resource_names=[args.service_account_name],
                )
            ],
            opts=kube,
        )
        return k8s.rbac.v1.RoleBinding(
            f"{name}-token-binding",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=f"{args.release_name}-token", namespace=args.namespace),
            role_ref=k8s.rbac.v1.RoleRefArgs(
                api_group="rbac.authorization.k8s.io", kind="Role", name=role.metadata.name
            ),
            subjects=[
                k8s.rbac.v1.SubjectArgs(
                    kind="ServiceAccount", name=args.release_name, namespace=args.operator_namespace
                )
            ],
            opts=kube,
        )

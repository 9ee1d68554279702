"""What forces a replacement, per resource type: the rules the providers apply, mirrored.

A provider, not the engine, decides whether a change is an update or a replacement (its Diff
answers `replaces`). This module mirrors the rules of the providers this stack uses, each with
the source it is read from, so that `python -m synth <stack> --diff <rev>` can say which field
forces which replacement without credentials or a state backend:

* Kubernetes (pulumi-kubernetes `provider/pkg/provider/diff.go`, `forceNewProperties`): every
  object's `.metadata.name` and `.metadata.namespace`, plus a per group/version/kind list
  (`forceNew`), matched as a prefix (`.spec.csi` covers `.spec.csi.volumeAttributes.x`). The
  Helm release (`provider/pkg/provider/helm_release.go`, `Diff`: `forceNewFields := []string
  {".name", ".namespace"}`). Fields the provider would *update* but the API server refuses to
  change (a PVC shrink, a PV's `volumeMode`) are listed apart (`K8S_API_IMMUTABLE`): applying
  them needs a replacement too, and the reason says so.
* azure-native (`provider/pkg/provider/diff.go`, `calculateDetailedDiff`): "All the parameters
  that are part of the resource path cause a replacement" (the resource group, the parent's
  and the resource's own name), plus the body properties marked ForceNew at generation time
  (`provider/pkg/gen/properties.go`, `forceNew`): `x-ms-mutability` without `update` in the
  Azure REST spec, or the hand-kept `forceNewMap` in `provider/pkg/gen/replacement.go`. The
  Python SDK does not carry these marks (no `replace_on_changes` in pulumi_azure_native), so
  `AZURE` below keeps them per type, each entry naming its source;
  tests/synth/test_diff.py checks every entry against the installed SDK's inputs.
* pulumi-random / pulumiverse-time: the bridged Terraform providers mark every input of
  random_string/random_password/random_bytes, and time_sleep's `triggers`, RequiresReplace.
* the resource's own `replaceOnChanges` option, when the run recorded it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from policy.rules import STATEFUL_TYPES

K8S_SOURCE = "pulumi-kubernetes provider/pkg/provider/diff.go"
HELM_SOURCE = "pulumi-kubernetes provider/pkg/provider/helm_release.go"
K8S_API_SOURCE = "Kubernetes API server validation (ValidatePersistentVolume[Claim]Update)"
AZURE_PATH_SOURCE = "pulumi-azure-native provider/pkg/provider/diff.go"
AZURE_FORCE_NEW_MAP = "pulumi-azure-native provider/pkg/gen/replacement.go forceNewMap"
AZURE_MUTABILITY = (
    "Azure REST spec x-ms-mutability [create, read], read by pulumi-azure-native provider/pkg/gen/properties.go"
)
RANDOM_SOURCE = "terraform-provider-random (bridged by pulumi-random): every input has RequiresReplace"
TLS_SOURCE = (
    "terraform-provider-tls (bridged by pulumi-tls): every input of tls_private_key and tls_self_signed_cert has "
    "RequiresReplace except early_renewal_hours (internal/provider/resource_self_signed_cert.go)"
)
TIME_SOURCE = "terraform-provider-time (bridged by pulumiverse-time): time_sleep.triggers has RequiresReplace"
OPTION_SOURCE = "the resource's replaceOnChanges option"

# Resources that hold data: a replacement or deletion loses it (refused unless --allow-replace).
# The policy pack's list (stateful-resources-protected), one list for both: a resource group is
# there because deleting it deletes everything in it.
STATEFUL = STATEFUL_TYPES


@dataclass(frozen=True)
class Reason:
    """One field that forces a replacement: which, what changed, why, and where the rule is from."""

    field: str
    why: str
    source: str


# ----------------------------------------------------------------------------- Kubernetes
def _selector(prefix: str) -> tuple[str, ...]:
    return (
        prefix,
        f"{prefix}.matchExpressions",
        f"{prefix}.matchLabels",
    )


def _containers(*prefixes: str) -> tuple[str, ...]:
    fields = [
        "args",
        "command",
        "env",
        "image",
        "imagePullPolicy",
        "lifecycle",
        "livenessProbe",
        "ports",
        "readinessProbe",
        "resources",
        "securityContext",
        "stdin",
        "stdinOnce",
        "terminationMessagePath",
        "terminationMessagePolicy",
        "tty",
        "volumeDevices",
        "volumeMounts",
        "workingDir",
    ]
    return tuple(f"{p}.{f}" for p in prefixes for f in fields)


_DEPLOYMENT = _selector("spec.selector")
_STATEFUL_SET = (
    "spec.podManagementPolicy",
    "spec.revisionHistoryLimit",
    "spec.serviceName",
    "spec.volumeClaimTemplates",
)
_JOB = ("spec.completions", "spec.parallelism", "spec.template", *_selector("spec.selector"))
_PV_SOURCES = tuple(
    f"spec.{s}"
    for s in [
        "awsElasticBlockStore",
        "azureDisk",
        "azureFile",
        "cephfs",
        "cinder",
        "csi",
        "fc",
        "flexVolume",
        "flocker",
        "gcePersistentDisk",
        "glusterfs",
        "hostPath",
        "iscsi",
        "local",
        "nfs",
        "photonPersistentDisk",
        "portworxVolume",
        "quobyte",
        "rbd",
        "scaleIO",
        "storageos",
        "vsphereVolume",
    ]
)
_POD = (
    *(
        f"spec.{f}"
        for f in [
            "affinity",
            "automountServiceAccountToken",
            "dnsConfig",
            "dnsPolicy",
            "enableServiceLinks",
            "hostAliases",
            "hostIPC",
            "hostNetwork",
            "hostPID",
            "hostname",
            "imagePullSecrets",
            "nodeName",
            "nodeSelector",
            "overhead",
            "preemptionPolicy",
            "priority",
            "priorityClassName",
            "readinessGates",
            "restartPolicy",
            "runtimeClassName",
            "schedulerName",
            "securityContext",
            "serviceAccount",
            "serviceAccountName",
            "shareProcessNamespace",
            "subdomain",
            "terminationGracePeriodSeconds",
            "volumes",
        ]
    ),
    *_containers("spec.containers[*]", "spec.initContainers[*]"),
)

# group/version/Kind -> fields (besides metadata.name/namespace), as pulumi-kubernetes'
# `forceNew` table has them (core listed under "core"; the provider also accepts "").
K8S_FORCE_NEW: dict[str, tuple[str, ...]] = {
    **{f"apps/{v}/{k}": _DEPLOYMENT for v in ("v1", "v1beta2") for k in ("Deployment", "DaemonSet")},
    **{f"apps/{v}/StatefulSet": (*_STATEFUL_SET, *_selector("spec.selector")) for v in ("v1", "v1beta1", "v1beta2")},
    **{f"batch/{v}/Job": _JOB for v in ("v1", "v1beta1", "v2alpha1")},
    "core/v1/PersistentVolume": _PV_SOURCES,
    "core/v1/PersistentVolumeClaim": (
        "spec.accessModes",
        *_selector("spec.selector"),
        "spec.storageClassName",
        "spec.volumeName",
    ),
    "core/v1/Pod": _POD,
    "core/v1/ResourceQuota": ("spec.scopes",),
    "core/v1/Secret": ("type",),
    "core/v1/Service": ("spec.clusterIP",),
    "policy/v1beta1/PodDisruptionBudget": ("spec",),
    **{
        f"rbac.authorization.k8s.io/{v}/{k}": ("roleRef",)
        for v in ("v1", "v1beta1", "v1alpha1")
        for k in ("RoleBinding", "ClusterRoleBinding")
    },
    "storage.k8s.io/v1/StorageClass": ("parameters", "provisioner"),
}
K8S_METADATA = ("metadata.name", "metadata.namespace")

# Immutable in the API server although the provider would try an update (which then fails).
K8S_API_IMMUTABLE: dict[str, tuple[str, ...]] = {
    "core/v1/PersistentVolume": ("spec.volumeMode", "spec.nodeAffinity"),
    "core/v1/PersistentVolumeClaim": ("spec.volumeMode", "spec.dataSource", "spec.dataSourceRef"),
}

# A ConfigMap's or Secret's contents: pulumi-kubernetes replaces the object when they change
# unless its provider allows changing them (enableConfigMapMutable / enableSecretMutable, a
# "BETA FEATURE ... disabled by default") and the object is not `immutable: true`
# (forceNewProperties; a Secret's `type` is in K8S_FORCE_NEW). Only for objects Pulumi applies:
# Helm patches the objects a release renders in place.
K8S_CONTENTS: dict[str, tuple[tuple[str, ...], str]] = {
    "core/v1/ConfigMap": (("binaryData", "data"), "enableConfigMapMutable"),
    "core/v1/Secret": (("stringData", "data"), "enableSecretMutable"),
}


def k8s_gvk(type_token: str) -> str | None:
    """'kubernetes:core/v1:PersistentVolume' -> 'core/v1/PersistentVolume'; None if not a k8s object."""
    parts = type_token.split(":")
    if len(parts) != 3 or parts[0] != "kubernetes" or parts[1].startswith("helm.sh"):
        return None
    return f"{parts[1]}/{parts[2]}"


def api_version_gvk(api_version: str, kind: str) -> str:
    """An object's apiVersion and kind ('v1', 'Pod') as a table key ('core/v1/Pod')."""
    return f"{api_version if '/' in api_version else 'core/' + api_version}/{kind}"


# ----------------------------------------------------------------------------- Azure
@dataclass(frozen=True)
class AzureRule:
    """One azure-native type: the ARM path parameters of its id (wire names), the body
    properties marked ForceNew (dotted; `a.b` is property b of object property a), and where
    each list comes from."""

    path: tuple[str, ...]
    force_new: tuple[str, ...] = ()
    force_new_source: str = ""
    arm_path: str = ""  # the resource's ARM id template, for the reader


def _azure(arm_path: str, force_new: Sequence[str] = (), source: str = "") -> AzureRule:
    params = tuple(p for p in re.findall(r"\{(\w+)\}", arm_path) if p != "subscriptionId")
    return AzureRule(params, tuple(force_new), source, arm_path)


_RG = "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}"
# The cluster's network profile: forceNewMap listed the whole `networkProfile` until
# pulumi-azure-native#4771 (merged 2026-07-16, fixing #4756) narrowed it to these leaves;
# `loadBalancerProfile`, `loadBalancerSku`, `natGatewayProfile`, `advancedNetworking` update in place.
_AKS_NETWORK = tuple(
    f"networkProfile.{p}"
    for p in [
        "serviceCidr",
        "serviceCidrs",
        "dnsServiceIP",
        "networkMode",
        "networkPlugin",
        "networkPluginMode",
        "podCidr",
        "networkDataplane",
        "networkPolicy",
        "outboundType",
    ]
)

# Every azure-native type this stack registers (dev and prod). The ARM paths are the REST API's
# PUT paths (https://learn.microsoft.com/rest/api/<service>/), whose parameters the provider
# reads as `PutParameters` with Location "path".
AZURE: dict[str, AzureRule] = {
    "azure-native:resources:ResourceGroup": _azure(_RG, ["location"], AZURE_FORCE_NEW_MAP),
    "azure-native:authorization:RoleAssignment": _azure(
        "/{scope}/providers/Microsoft.Authorization/roleAssignments/{roleAssignmentName}",
        ["principalId", "scope"],
        AZURE_FORCE_NEW_MAP,
    ),
    "azure-native:containerservice:ManagedCluster": _azure(
        _RG + "/providers/Microsoft.ContainerService/managedClusters/{resourceName}",
        [
            "diskEncryptionSetID",
            "dnsPrefix",
            "fqdnSubdomain",
            "linuxProfile",
            "location",
            "nodeResourceGroup",
            "windowsProfile",
            *_AKS_NETWORK,
        ],
        AZURE_FORCE_NEW_MAP,
    ),
    "azure-native:containerservice:AgentPool": _azure(
        _RG + "/providers/Microsoft.ContainerService/managedClusters/{resourceName}/agentPools/{agentPoolName}",
        ["gpuInstanceProfile", "vmSize"],
        AZURE_FORCE_NEW_MAP,
    ),
    "azure-native:dbforpostgresql:Server": _azure(
        _RG + "/providers/Microsoft.DBforPostgreSQL/flexibleServers/{serverName}", ["location"], AZURE_MUTABILITY
    ),
    "azure-native:dbforpostgresql:Database": _azure(
        _RG + "/providers/Microsoft.DBforPostgreSQL/flexibleServers/{serverName}/databases/{databaseName}"
    ),
    "azure-native:dbforpostgresql:Configuration": _azure(
        _RG + "/providers/Microsoft.DBforPostgreSQL/flexibleServers/{serverName}/configurations/{configurationName}"
    ),
    "azure-native:keyvault:Vault": _azure(
        _RG + "/providers/Microsoft.KeyVault/vaults/{vaultName}", ["location"], AZURE_MUTABILITY
    ),
    "azure-native:keyvault:Secret": _azure(
        _RG + "/providers/Microsoft.KeyVault/vaults/{vaultName}/secrets/{secretName}"
    ),
    "azure-native:managedidentity:UserAssignedIdentity": _azure(
        _RG + "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{resourceName}",
        ["location"],
        AZURE_MUTABILITY,
    ),
    "azure-native:managedidentity:FederatedIdentityCredential": _azure(
        _RG + "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{resourceName}"
        "/federatedIdentityCredentials/{federatedIdentityCredentialResourceName}"
    ),
    "azure-native:network:VirtualNetwork": _azure(
        _RG + "/providers/Microsoft.Network/virtualNetworks/{virtualNetworkName}", ["location"], AZURE_FORCE_NEW_MAP
    ),
    "azure-native:network:PrivateEndpoint": _azure(
        _RG + "/providers/Microsoft.Network/privateEndpoints/{privateEndpointName}", ["subnet"], AZURE_FORCE_NEW_MAP
    ),
    "azure-native:network:PrivateDnsZoneGroup": _azure(
        _RG + "/providers/Microsoft.Network/privateEndpoints/{privateEndpointName}"
        "/privateDnsZoneGroups/{privateDnsZoneGroupName}"
    ),
    "azure-native:privatedns:PrivateZone": _azure(
        _RG + "/providers/Microsoft.Network/privateDnsZones/{privateZoneName}", ["location"], AZURE_MUTABILITY
    ),
    "azure-native:privatedns:VirtualNetworkLink": _azure(
        _RG
        + "/providers/Microsoft.Network/privateDnsZones/{privateZoneName}/virtualNetworkLinks/{virtualNetworkLinkName}",
        ["location"],
        AZURE_MUTABILITY,
    ),
    "azure-native:storage:StorageAccount": _azure(
        _RG + "/providers/Microsoft.Storage/storageAccounts/{accountName}",
        ["isHnsEnabled", "location"],
        AZURE_FORCE_NEW_MAP,
    ),
    # forceNewMap: "BlobContainer": no force-news; only its path (account, container name)
    "azure-native:storage:BlobContainer": _azure(
        _RG
        + "/providers/Microsoft.Storage/storageAccounts/{accountName}/blobServices/default/containers/{containerName}"
    ),
    "azure-native:storage:BlobServiceProperties": _azure(
        _RG + "/providers/Microsoft.Storage/storageAccounts/{accountName}/blobServices/{blobServicesName}"
    ),
    "azure-native:storage:ManagementPolicy": _azure(
        _RG + "/providers/Microsoft.Storage/storageAccounts/{accountName}/managementPolicies/{managementPolicyName}"
    ),
    # operate (monitoring, Container Insights, Grafana): their ARM paths only (no forceNewMap
    # entry for these types; location is not listed: not verified for them)
    "azure-native:operationalinsights:Workspace": _azure(
        _RG + "/providers/Microsoft.OperationalInsights/workspaces/{workspaceName}"
    ),
    "azure-native:monitor:AzureMonitorWorkspace": _azure(
        _RG + "/providers/Microsoft.Monitor/accounts/{azureMonitorWorkspaceName}"
    ),
    "azure-native:monitor:DataCollectionEndpoint": _azure(
        _RG + "/providers/Microsoft.Insights/dataCollectionEndpoints/{dataCollectionEndpointName}"
    ),
    "azure-native:monitor:DataCollectionRule": _azure(
        _RG + "/providers/Microsoft.Insights/dataCollectionRules/{dataCollectionRuleName}"
    ),
    "azure-native:monitor:DataCollectionRuleAssociation": _azure(
        "/{resourceUri}/providers/Microsoft.Insights/dataCollectionRuleAssociations/{associationName}"
    ),
    "azure-native:monitor:MetricAlert": _azure(_RG + "/providers/Microsoft.Insights/metricAlerts/{ruleName}"),
    "azure-native:alertsmanagement:PrometheusRuleGroup": _azure(
        _RG + "/providers/Microsoft.AlertsManagement/prometheusRuleGroups/{ruleGroupName}"
    ),
    "azure-native:dashboard:Grafana": _azure(_RG + "/providers/Microsoft.Dashboard/grafana/{workspaceName}"),
}

HELM_RELEASE = "kubernetes:helm.sh/v3:Release"
TIME_SLEEP = "time:index/sleep:Sleep"
TLS_TYPES = ("tls:index/privateKey:PrivateKey", "tls:index/selfSignedCert:SelfSignedCert")
TLS_IN_PLACE = frozenset({"earlyRenewalHours"})
RANDOM_TYPES = (
    "random:index/randomString:RandomString",
    "random:index/randomPassword:RandomPassword",
    "random:index/randomBytes:RandomBytes",
)


# ----------------------------------------------------------------------------- matching
ABSENT = object()  # a value a path does not reach


def parse_path(path: str) -> tuple[str, ...]:
    """'spec.containers[*].image' -> ('spec', 'containers', '*', 'image'); `[]` is `[*]`."""
    out: list[str] = []
    for part in path.split("."):
        name, _, rest = part.partition("[")
        if name:
            out.append(name)
        if rest:
            out.extend("*" for _ in range(rest.count("]")))
    return tuple(out)


def values_at(obj: Any, segments: Sequence[str]) -> list[Any]:
    """Every value `segments` reaches in obj (`*` expands a list), ABSENT where one is missing."""
    if not segments:
        return [obj]
    head, rest = segments[0], segments[1:]
    if head == "*":
        if isinstance(obj, list):
            return [v for item in obj for v in values_at(item, rest)] or [ABSENT]
        return [ABSENT]
    if isinstance(obj, Mapping) and head in obj:
        return values_at(obj[head], rest)
    return [ABSENT]


def _changed(old: Any, new: Any, path: str) -> bool:
    segments = parse_path(path)
    return values_at(old, segments) != values_at(new, segments)


def _check(old: Any, new: Any, paths: Sequence[str], why: str, source: str) -> list[Reason]:
    return [Reason(p, why, source) for p in paths if _changed(old, new, p)]


# Kubernetes' suffixes: binary Ki..Ei, decimal n u m k M G T P E (a bare `K` is not one)
_QUANTITY = re.compile(r"^([+-]?[0-9.]+(?:[eE][+-]?[0-9]+)?)([KMGTPE]i|[numkMGTPE])?$")
_FACTORS: dict[str | None, int | Decimal] = {
    None: 1,
    "": 1,
    "n": Decimal("1e-9"),
    "u": Decimal("1e-6"),
    "m": Decimal("1e-3"),
    "k": 10**3,
    "M": 10**6,
    "G": 10**9,
    "T": 10**12,
    "P": 10**15,
    "E": 10**18,
    "Ki": 2**10,
    "Mi": 2**20,
    "Gi": 2**30,
    "Ti": 2**40,
    "Pi": 2**50,
    "Ei": 2**60,
}


def quantity(text: Any) -> Decimal | None:
    """A Kubernetes resource quantity ('5Gi', '500M', '1.5') as a number; None if not one."""
    match = _QUANTITY.match(str(text).strip())
    if not match:
        return None
    try:
        return Decimal(match.group(1)) * Decimal(_FACTORS[match.group(2)])
    except (InvalidOperation, KeyError):
        return None


def _pvc_shrinks(old: Any, new: Any) -> list[Reason]:
    path = ("spec", "resources", "requests", "storage")
    (before,), (after,) = values_at(old, path), values_at(new, path)
    if before is ABSENT or after is ABSENT:
        return []
    b, a = quantity(before), quantity(after)
    if b is not None and a is not None and a < b:
        return [
            Reason(
                "spec.resources.requests.storage",
                f"shrinks {before} -> {after}: a claim can only grow (the provider would try an update the API "
                "server refuses; only a new claim applies it)",
                K8S_API_SOURCE,
            )
        ]
    return []


def k8s_reasons(gvk: str, old: Any, new: Any) -> list[Reason]:
    """Why a Kubernetes object (its manifest, old and new) must be replaced; [] if it need not."""
    reasons = _check(old, new, K8S_METADATA, "the object's identity (a new name is a new object)", K8S_SOURCE)
    reasons += _check(old, new, K8S_FORCE_NEW.get(gvk, ()), "immutable once created", K8S_SOURCE)
    reasons += _check(
        old,
        new,
        K8S_API_IMMUTABLE.get(gvk, ()),
        "immutable in the API server (the provider's update would fail)",
        K8S_API_SOURCE,
    )
    if gvk == "core/v1/PersistentVolumeClaim":
        reasons += _pvc_shrinks(old, new)
    return _dedupe(reasons)


def k8s_contents_reasons(gvk: str, old: Any, new: Any, provider: Mapping[str, Any] | None = None) -> list[Reason]:
    """Why changed ConfigMap or Secret contents replace the object: the provider's inputs
    (`provider`; none: its defaults) say whether they may change in place."""
    rule = K8S_CONTENTS.get(gvk)
    if rule is None:
        return []
    fields, flag = rule
    immutable = isinstance(new, Mapping) and new.get("immutable") is True
    if not immutable and str((provider or {}).get(flag)).strip().lower() == "true":
        return []
    why = "the object is immutable: true" if immutable else f"its provider leaves {flag} off (the default)"
    return _check(old, new, fields, f"changed contents replace the object: {why}", K8S_SOURCE)


def _dedupe(reasons: list[Reason]) -> list[Reason]:
    """Keep the outermost field of nested matches (spec.selector covers spec.selector.matchLabels)."""
    fields = {r.field for r in reasons}
    return [r for r in reasons if not any(r.field.startswith(f + ".") for f in fields if f != r.field)]


def azure_reasons(rule: AzureRule, old: Any, new: Any) -> list[Reason]:
    reasons = _check(
        old,
        new,
        rule.path,
        f"part of the ARM id (.../{'/'.join(rule.arm_path.split('/')[-2:])}): a new id is a new resource",
        AZURE_PATH_SOURCE,
    )
    reasons += _check(old, new, rule.force_new, "cannot be changed once created", rule.force_new_source)
    return _dedupe(reasons)


def replacement_reasons(
    type_token: str,
    old: Any,
    new: Any,
    replace_on_changes: Sequence[str] = (),
    provider: Mapping[str, Any] | None = None,
) -> list[Reason]:
    """Why a resource of `type_token` whose inputs change from `old` to `new` is replaced by
    `pulumi up` (the fields and their rules); [] for an update in place. `provider`: the
    inputs of the provider resource it is registered with (None: a default provider)."""
    reasons: list[Reason] = []
    gvk = k8s_gvk(type_token)
    if gvk is not None:
        reasons = k8s_reasons(gvk, old, new) + k8s_contents_reasons(gvk, old, new, provider)
    elif type_token == HELM_RELEASE:
        reasons = _check(old, new, ("name", "namespace"), "the release's identity", HELM_SOURCE)
    elif type_token in AZURE:
        reasons = azure_reasons(AZURE[type_token], old, new)
    elif type_token in RANDOM_TYPES:
        keys = sorted(set(old or {}) | set(new or {}))
        reasons = _check(old, new, keys, "any change generates a new value", RANDOM_SOURCE)
    elif type_token in TLS_TYPES:
        keys = sorted((set(old or {}) | set(new or {})) - TLS_IN_PLACE)
        reasons = _check(old, new, keys, "a new key or certificate is made", TLS_SOURCE)
    elif type_token == TIME_SLEEP:
        reasons = _check(old, new, ("triggers",), "a trigger changed", TIME_SOURCE)
    for path in replace_on_changes:
        if path == "*":
            if old != new:
                reasons.append(Reason("*", "any change (replaceOnChanges: ['*'])", OPTION_SOURCE))
        elif _changed(old, new, path):
            reasons.append(Reason(path, "listed in replaceOnChanges", OPTION_SOURCE))
    return reasons


def has_rules(type_token: str) -> bool:
    """Whether this module knows the type's replacement rules (else only the generic ones apply)."""
    return (
        k8s_gvk(type_token) is not None
        or type_token in AZURE
        or type_token in RANDOM_TYPES
        or type_token in TLS_TYPES
        or type_token in (HELM_RELEASE, TIME_SLEEP)
        or type_token.startswith("pulumi:providers:")
    )

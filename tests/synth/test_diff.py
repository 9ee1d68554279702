"""python -m synth <stack> --diff <rev>: the replacement rules, the diff engine, and the command
end to end (a temporary git repository holding this working tree, a commit, a changed stack file)."""

from __future__ import annotations

import importlib
import inspect
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from synth import diff as synth_diff
from synth import replacement
from synth.__main__ import main
from synth.mocks import Secret
from synth.project import PROJECT_DIR

# ----------------------------------------------------------------------------- the rules
PVC = {
    "apiVersion": "v1",
    "kind": "PersistentVolumeClaim",
    "metadata": {"name": "logs", "namespace": "airflow", "labels": {"a": "1"}},
    "spec": {
        "accessModes": ["ReadWriteMany"],
        "storageClassName": "azureblob-fuse",
        "volumeName": "pv-logs",
        "resources": {"requests": {"storage": "5Gi"}},
    },
}
PV = {
    "apiVersion": "v1",
    "kind": "PersistentVolume",
    "metadata": {"name": "pv-logs"},
    "spec": {
        "capacity": {"storage": "5Gi"},
        "mountOptions": ["-o allow_other"],
        "csi": {"driver": "blob.csi.azure.com", "volumeAttributes": {"containerName": "airflow-logs"}},
    },
}
JOB = {
    "apiVersion": "batch/v1",
    "kind": "Job",
    "metadata": {"name": "migrate", "labels": {"a": "1"}},
    "spec": {"template": {"spec": {"containers": [{"name": "m", "image": "airflow:2.9"}]}}},
}
DEPLOYMENT = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "web"},
    "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}}},
}
STATEFUL_SET = {
    "apiVersion": "apps/v1",
    "kind": "StatefulSet",
    "metadata": {"name": "pg"},
    "spec": {"replicas": 1, "volumeClaimTemplates": [{"metadata": {"name": "data"}, "spec": {"storage": "8Gi"}}]},
}
CONFIG_MAP = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "airflow"}, "data": {}}
PDB = {"metadata": {"name": "p"}, "spec": {"minAvailable": 1}}
ROLE_BINDING = {"metadata": {"name": "b"}, "roleRef": {"kind": "ClusterRole", "name": "view"}, "subjects": []}
SECRET = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "type": "Opaque", "stringData": {"k": "v"}}
CONTAINER = {"accountName": "acct", "containerName": "airflow-logs", "resourceGroupName": "rg", "publicAccess": "None"}
VAULT = {
    "vaultName": "kv",
    "resourceGroupName": "rg",
    "location": "eastus",
    "properties": {"sku": {"name": "standard"}},
}
ACCOUNT = {"accountName": "acct", "resourceGroupName": "rg", "location": "eastus", "allowSharedKeyAccess": True}
AKS = {
    "resourceName": "aks",
    "resourceGroupName": "rg",
    "location": "eastus",
    "kubernetesVersion": "1.33",
    "networkProfile": {"networkPlugin": "azure", "loadBalancerSku": "standard"},
}
RELEASE = {"name": "airflow", "namespace": "airflow", "chart": "airflow", "values": {"a": 1}}


def changed(obj: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A deep copy of obj with `path` (dotted; [i] indexes a list) set to value."""
    out: Any = json.loads(json.dumps(obj))
    parts = [int(p) if p.isdigit() else p for p in re.split(r"\.|\[|\]\.?", path) if p != ""]
    target = out
    for p in parts[:-1]:
        target = target[p]
    target[parts[-1]] = value
    result: dict[str, Any] = out
    return result


K8S = "kubernetes:core/v1:"
REPLACED = [
    (K8S + "PersistentVolumeClaim", PVC, "spec.storageClassName", "managed-csi", "spec.storageClassName"),
    (K8S + "PersistentVolumeClaim", PVC, "spec.volumeName", "pv-other", "spec.volumeName"),
    (K8S + "PersistentVolumeClaim", PVC, "spec.accessModes", ["ReadWriteOnce"], "spec.accessModes"),
    (K8S + "PersistentVolumeClaim", PVC, "spec.resources.requests.storage", "2Gi", "spec.resources.requests.storage"),
    (K8S + "PersistentVolumeClaim", PVC, "metadata.namespace", "airflow2", "metadata.namespace"),
    (K8S + "PersistentVolume", PV, "spec.csi.volumeAttributes.containerName", "task-logs", "spec.csi"),
    ("kubernetes:batch/v1:Job", JOB, "spec.template.spec.containers[0].image", "airflow:3.0", "spec.template"),
    ("kubernetes:apps/v1:Deployment", DEPLOYMENT, "spec.selector.matchLabels.app", "web2", "spec.selector"),
    ("kubernetes:apps/v1:StatefulSet", STATEFUL_SET, "spec.volumeClaimTemplates[0].spec.storage", "16Gi", None),
    (K8S + "ConfigMap", CONFIG_MAP, "metadata.name", "c2", "metadata.name"),
    # contents, with the provider's defaults (enableConfigMapMutable / enableSecretMutable off)
    (K8S + "ConfigMap", CONFIG_MAP, "data", {"k": "v"}, "data"),
    (K8S + "ConfigMap", CONFIG_MAP, "binaryData", {"k": "dg=="}, "binaryData"),
    (K8S + "Secret", SECRET, "stringData.k", "v2", "stringData"),
    (K8S + "Secret", SECRET, "type", "kubernetes.io/tls", "type"),
    # pulumi-kubernetes diff.go: `"policy": {"v1beta1": {"PodDisruptionBudget": {".spec"}}}`,
    # `"rbac.authorization.k8s.io": {"v1": {"RoleBinding": {".roleRef"}, ...}}`
    ("kubernetes:policy/v1beta1:PodDisruptionBudget", PDB, "spec.minAvailable", 2, "spec"),
    ("kubernetes:rbac.authorization.k8s.io/v1:RoleBinding", ROLE_BINDING, "roleRef.name", "admin", "roleRef"),
    ("kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding", ROLE_BINDING, "roleRef.name", "admin", "roleRef"),
    ("azure-native:storage:BlobContainer", CONTAINER, "containerName", "task-logs", "containerName"),
    ("azure-native:storage:BlobContainer", CONTAINER, "accountName", "acct2", "accountName"),
    ("azure-native:keyvault:Vault", VAULT, "location", "westeurope", "location"),
    ("azure-native:keyvault:Vault", VAULT, "resourceGroupName", "rg2", "resourceGroupName"),
    ("azure-native:storage:StorageAccount", ACCOUNT, "isHnsEnabled", True, "isHnsEnabled"),
    ("azure-native:containerservice:ManagedCluster", AKS, "networkProfile.networkPlugin", "kubenet", None),
    ("azure-native:containerservice:ManagedCluster", AKS, "resourceName", "aks2", "resourceName"),
    ("kubernetes:helm.sh/v3:Release", RELEASE, "namespace", "airflow2", "namespace"),
    ("random:index/randomPassword:RandomPassword", {"length": 32}, "length", 40, "length"),
]
# The same resources, changed where the providers update in place: no replacement.
UPDATED = [
    (K8S + "PersistentVolumeClaim", PVC, "spec.resources.requests.storage", "10Gi"),  # a claim may grow
    (K8S + "PersistentVolumeClaim", PVC, "metadata.labels.a", "2"),
    (K8S + "PersistentVolume", PV, "spec.mountOptions", ["-o ro"]),
    (K8S + "PersistentVolume", PV, "spec.capacity.storage", "10Gi"),
    ("kubernetes:batch/v1:Job", JOB, "metadata.labels.a", "2"),
    ("kubernetes:apps/v1:Deployment", DEPLOYMENT, "spec.replicas", 3),
    ("kubernetes:apps/v1:StatefulSet", STATEFUL_SET, "spec.replicas", 3),
    (K8S + "ConfigMap", CONFIG_MAP, "metadata.labels", {"a": "2"}),
    (K8S + "Secret", SECRET, "metadata.annotations", {"a": "2"}),
    ("azure-native:storage:BlobContainer", CONTAINER, "publicAccess", "Blob"),
    ("azure-native:keyvault:Vault", VAULT, "properties.sku.name", "premium"),
    ("azure-native:storage:StorageAccount", ACCOUNT, "allowSharedKeyAccess", False),
    ("azure-native:containerservice:ManagedCluster", AKS, "kubernetesVersion", "1.34"),
    ("azure-native:containerservice:ManagedCluster", AKS, "networkProfile.loadBalancerSku", "basic"),
    ("kubernetes:helm.sh/v3:Release", RELEASE, "values.a", 2),
    ("kubernetes:rbac.authorization.k8s.io/v1:RoleBinding", ROLE_BINDING, "subjects", [{"kind": "User", "name": "u"}]),
]


@pytest.mark.parametrize(("typ", "obj", "path", "value", "field"), REPLACED)
def test_a_change_of_an_immutable_field_is_a_replacement(
    typ: str, obj: dict[str, Any], path: str, value: Any, field: str | None
) -> None:
    reasons = replacement.replacement_reasons(typ, obj, changed(obj, path, value))
    assert reasons, f"{typ}: {path} should force a replacement"
    assert all(r.source for r in reasons)
    if field:
        assert [r.field for r in reasons] == [field]


@pytest.mark.parametrize(("typ", "obj", "path", "value"), UPDATED)
def test_a_change_of_a_mutable_field_is_an_update(typ: str, obj: dict[str, Any], path: str, value: Any) -> None:
    assert replacement.replacement_reasons(typ, obj, changed(obj, path, value)) == []


def test_replace_on_changes_option_and_quantities() -> None:
    old, new = {"spec": {"x": 1}, "y": 1}, {"spec": {"x": 2}, "y": 1}
    assert [r.field for r in replacement.replacement_reasons("custom:T", old, new, ["spec.x"])] == ["spec.x"]
    assert replacement.replacement_reasons("custom:T", old, new, ["y"]) == []
    assert replacement.quantity("5Gi") == 5 * 2**30
    assert replacement.quantity("500M") == 500 * 10**6
    assert replacement.quantity("1.5") == replacement.quantity("1500m")
    assert replacement.quantity("five") is None


def _snake(wire: str) -> str:
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", wire).lower()


@pytest.mark.parametrize("typ", sorted(replacement.AZURE))
def test_azure_table_matches_the_installed_sdk(typ: str) -> None:
    """What of the table the SDK carries: the type exists; every ARM path parameter and ForceNew
    property is an input; every required `*Name` input (a parent in the ARM id) is a path parameter."""
    _, module_name, cls = typ.split(":")
    module = importlib.import_module(f"pulumi_azure_native.{module_name}")
    resource = getattr(module, cls)
    inputs = set(inspect.signature(resource._internal_init).parameters)
    rule = replacement.AZURE[typ]
    for wire in (*rule.path, *rule.force_new):
        top = wire.split(".")[0]
        assert _snake(top) in inputs or f"{_snake(top)}_" in inputs, f"{typ}: {top} is not an input"
        if "." in wire:
            nested = _snake(wire.split(".")[-1])
            inputs_source = Path(inspect.getfile(module)).with_name("_inputs.py").read_text()
            assert f"{nested}:" in inputs_source, f"{typ}: {wire} is not in the module's input types"
    required = set(re.findall(r"Missing required property '(\w+)'", inspect.getsource(resource)))
    path = {_snake(p) for p in rule.path} | {f"{_snake(p)}_" for p in rule.path}
    parents = {r for r in required if r.endswith("_name")}
    assert parents <= path, f"{typ}: required name inputs {parents - path} are not path parameters"
    assert rule.path
    assert rule.arm_path.startswith("/")
    assert rule.force_new_source or not rule.force_new


@pytest.mark.parametrize("gvk", sorted(k for k in replacement.K8S_FORCE_NEW if "/v1/" in k))
def test_kubernetes_table_matches_the_installed_sdk(gvk: str) -> None:
    group, version, kind = gvk.split("/")
    package = {"rbac.authorization.k8s.io": "rbac", "storage.k8s.io": "storage"}.get(group, group)
    module = importlib.import_module(f"pulumi_kubernetes.{package}.{version}")
    assert hasattr(module, kind), gvk
    spec_args = getattr(module, f"{kind}SpecArgs", None)
    for path in replacement.K8S_FORCE_NEW[gvk]:
        parts = replacement.parse_path(path)
        if parts[0] == "spec" and len(parts) > 1 and spec_args is not None:
            assert _snake(parts[1]) in inspect.signature(spec_args.__init__).parameters, f"{gvk}: {path}"


# ----------------------------------------------------------------------------- the engine
KEY = b"k" * 32
URN = "urn:pulumi:dev::airflow-aks::airflow-aks:log_storage:LogStorage$"


def _snap(resources: dict[str, tuple[str, dict[str, Any]]], **extra: Any) -> dict[str, Any]:
    return {
        "stack": "dev",
        "resources": {
            URN + f"{typ}::{name}": {
                "type": typ,
                "name": name,
                "custom": True,
                "inputs": synth_diff.normalize(inputs, KEY),
                **extra.get(name, {}),
            }
            for name, (typ, inputs) in resources.items()
        },
    }


def test_compare_classifies_and_refuses_stateful_replacement() -> None:
    container = "azure-native:storage:BlobContainer"
    old = _snap({"logs": (container, CONTAINER), "gone": (K8S + "ConfigMap", CONFIG_MAP)})
    new = _snap({"logs": (container, changed(CONTAINER, "containerName", "x")), "new": (K8S + "ConfigMap", CONFIG_MAP)})
    result = synth_diff.compare(old, new)
    assert [(e.op, e.name) for e in result.entries] == [("replace", "logs"), ("delete", "gone"), ("create", "new")]
    assert result.exit_code == 1
    assert [e.name for e in result.refused] == ["logs"]
    assert synth_diff.compare(old, new, [container]).exit_code == 0
    assert synth_diff.compare(old, new, [URN + f"{container}::logs"]).exit_code == 0


def test_an_alias_matches_the_old_urn_and_ignore_changes_hides_a_field() -> None:
    old = _snap({"pvc": (K8S + "PersistentVolumeClaim", PVC)})
    moved = URN.replace("log_storage:LogStorage", "storage:Storage") + f"{K8S}PersistentVolumeClaim::pvc"
    new_inputs = changed(PVC, "metadata.labels.a", "2")
    new = {
        "resources": {
            moved: {
                "type": K8S + "PersistentVolumeClaim",
                "name": "pvc",
                "custom": True,
                "aliases": [next(iter(old["resources"]))],
                "inputs": new_inputs,
            }
        }
    }
    result = synth_diff.compare(old, new)
    assert [(e.op, e.old_urn) for e in result.entries] == [("update", next(iter(old["resources"])))]
    new["resources"][moved]["ignoreChanges"] = ["metadata.labels"]
    assert synth_diff.compare(old, new).entries == []


def test_a_changed_secret_never_prints_its_value() -> None:
    typ = "azure-native:keyvault:Secret"
    inputs = {"vaultName": "kv", "secretName": "s", "resourceGroupName": "rg"}
    old = _snap({"s": (typ, {**inputs, "properties": {"value": Secret("hunter2-old-value")}})})
    new = _snap({"s": (typ, {**inputs, "properties": {"value": Secret("hunter2-new-value")}})})
    assert "hunter2" not in json.dumps([old, new])  # not even in the snapshots the subprocess writes
    result = synth_diff.compare(old, new)
    outputs = [
        synth_diff.format_text(result),
        synth_diff.format_markdown(result),
        json.dumps(synth_diff.to_json(result)),
    ]
    assert all("hunter2" not in out for out in outputs)
    assert "properties.value: [secret] -> [secret] (changed)" in outputs[0]
    same = synth_diff.compare(
        old, _snap({"s": (typ, {**inputs, "properties": {"value": Secret("hunter2-old-value")}})})
    )
    assert same.entries == []
    assert same.unchanged == 1


def test_markdown_is_a_pull_request_comment() -> None:
    container = "azure-native:storage:BlobContainer"
    old = _snap({"logs": (container, CONTAINER)})
    new = _snap({"logs": (container, changed(CONTAINER, "containerName", "a|b"))})
    md = synth_diff.format_markdown(synth_diff.compare(old, new, old_label="main (abc)", new_label="working tree"))
    assert md.startswith("### `synth dev --diff`: main (abc) → working tree")
    assert "⛔ refused" in md
    assert "> [!CAUTION]" in md
    assert "| | resource | type | why |" in md
    row = next(line for line in md.splitlines() if line.startswith("| +- replace"))
    assert "`containerName`" in row
    assert "stateful, refused" in row
    assert "<details><summary>Full diff</summary>" in md
    assert md.count("```") == 2
    ok = synth_diff.format_markdown(synth_diff.compare(old, new, [container]))
    assert "✅" in ok
    assert "[!CAUTION]" not in ok


def test_rendered_chart_objects_are_compared_under_their_release() -> None:
    release = "kubernetes:helm.sh/v3:Release"
    job = synth_diff.normalize(JOB, KEY)
    old = _snap({"airflow": (release, RELEASE)})
    new = _snap({"airflow": (release, changed(RELEASE, "values.a", 2))})
    old["charts"] = {"airflow": {"rendered": True, "objects": {"Job migrate": job}}}
    new["charts"] = {
        "airflow": {
            "rendered": True,
            "objects": {"Job migrate": changed(job, "spec.template.spec.containers[0].image", "airflow:3")},
        }
    }
    (entry,) = synth_diff.compare(old, new).entries
    assert entry.op == "update"
    assert entry.chart is not None
    assert list(entry.chart.updated) == ["Job migrate"]
    text = synth_diff.format_text(synth_diff.compare(old, new))
    assert "helm upgrade would fail: spec.template" in text


def test_a_chart_rendered_secret_is_compared_by_digest_and_never_shown() -> None:
    """A Secret the chart renders is plain in the render: the diff sees its data as keyed
    digests, so a changed value is an update of that object and no value reaches the output."""
    release = "kubernetes:helm.sh/v3:Release"

    def secret(value: str) -> dict[str, Any]:
        return {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "airflow-broker-url", "namespace": "airflow"},
            "data": {"connection": value},
        }

    def snap(value: str) -> dict[str, Any]:
        out = _snap({"airflow": (release, RELEASE)})
        obj = secret(value)
        out["charts"] = {
            "airflow": {"rendered": True, "objects": {synth_diff.object_key(obj): synth_diff._chart_object(obj, KEY)}}
        }
        return out

    old, new = snap("aHVudGVyMi1vbGQ="), snap("aHVudGVyMi1uZXc=")
    assert "aHVudGVy" not in json.dumps([old, new])
    (entry,) = synth_diff.compare(old, new).entries
    assert entry.chart is not None
    assert list(entry.chart.updated) == ["Secret airflow/airflow-broker-url"]
    assert "aHVudGVy" not in synth_diff.format_text(synth_diff.compare(old, new))
    assert synth_diff.compare(old, snap("aHVudGVyMi1vbGQ=")).entries == []


def test_a_release_rendered_on_one_side_only_says_so() -> None:
    """No Helm engine on one side (or a chart that failed): the release's objects are not
    compared, and the diff says which side and why instead of listing every object."""
    release = "kubernetes:helm.sh/v3:Release"
    job = synth_diff.normalize(JOB, KEY)
    old = _snap({"airflow": (release, RELEASE)})
    new = _snap({"airflow": (release, changed(RELEASE, "values.a", 2))})
    old["charts"] = {"airflow": {"rendered": False, "why": "no Helm engine", "objects": {}}}
    new["charts"] = {"airflow": {"rendered": True, "objects": {"Job migrate": job}}}
    (entry,) = synth_diff.compare(old, new).entries
    assert entry.chart is not None
    assert entry.chart.note == "rendered objects not compared (old side not rendered: no Helm engine)"
    assert entry.chart.created == []
    del old["charts"], new["charts"]  # neither side rendered anything: nothing to say
    (entry,) = synth_diff.compare(old, new).entries
    assert entry.chart is None


def test_a_read_resource_is_never_planned() -> None:
    """A resource the program only reads (a `get`) is not managed: `pulumi up` neither creates,
    updates nor deletes it, whatever its inputs say."""
    cluster = "azure-native:containerservice:ManagedCluster"  # clusterMode=existing reads it
    inputs = {"resourceName": "aks", "resourceGroupName": "rg"}
    read = {"aks": {"read": True}}
    old = _snap({"aks": (cluster, inputs)}, **read)
    new = _snap({"aks": (cluster, {**inputs, "resourceGroupName": "rg2"})}, **read)
    assert synth_diff.compare(old, new).entries == []
    assert synth_diff.compare(old, _snap({})).entries == []
    managed = _snap({"aks": (cluster, {**inputs, "resourceGroupName": "rg2"})})
    assert [e.op for e in synth_diff.compare(_snap({"aks": (cluster, inputs)}), managed).entries] == ["replace"]


def test_quantities_read_as_kubernetes_documents_them() -> None:
    """Kubernetes' resource docs: "the following represent roughly the same value: 128974848,
    129e6, 129M, 128974848000m, 123Mi" (suffixes E, P, T, G, M, k decimal; Ei ... Ki binary)."""
    q = replacement.quantity
    assert q("128974848") == q("128974848000m") == q("123Mi") == 128974848
    assert q("129e6") == q("129M") == 129 * 10**6
    decimal = {"k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}
    for n, (suffix, exp) in enumerate(decimal.items()):
        assert q(f"{n + 2}{suffix}") == (n + 2) * 10**exp, suffix
        assert q(f"{n + 2}{suffix.upper()}i") == (n + 2) * 2 ** (10 * (n + 1)), suffix
    assert q("0.1") == q("100m")
    for bad in ("5x", "1K", "1ki", "1mi"):  # not Kubernetes suffixes
        assert q(bad) is None, bad


def test_protection_and_replace_on_changes_are_read_from_the_new_side() -> None:
    """A resource newly protected (prod's stateful resources) is flagged where a replacement
    would stop `pulumi up`; a property named in replaceOnChanges forces a replacement even
    where the type's own rules do not."""
    config_map = K8S + "ConfigMap"
    old = _snap({"cm": (config_map, CONFIG_MAP)})
    moved = changed(CONFIG_MAP, "metadata.name", "renamed")
    result = synth_diff.compare(old, _snap({"cm": (config_map, moved)}, cm={"protect": True}))
    (entry,) = result.entries
    assert (entry.op, entry.protected) == ("replace", True)
    assert "protected: pulumi up stops before deleting it" in synth_diff.format_text(result)
    edited = changed(CONFIG_MAP, "metadata.labels", {"a": "2"})
    (plain,) = synth_diff.compare(old, _snap({"cm": (config_map, edited)})).entries
    assert plain.op == "update"
    forced = synth_diff.compare(old, _snap({"cm": (config_map, edited)}, cm={"replaceOnChanges": ["metadata.labels"]}))
    assert [e.op for e in forced.entries] == ["replace"]


@pytest.mark.parametrize(
    ("gvk", "obj", "flag"),
    [("core/v1/ConfigMap", CONFIG_MAP, "enableConfigMapMutable"), ("core/v1/Secret", SECRET, "enableSecretMutable")],
)
def test_contents_are_replaced_unless_the_provider_allows_changing_them(
    gvk: str, obj: dict[str, Any], flag: str
) -> None:
    """pulumi-kubernetes (forceNewProperties): changed contents replace a ConfigMap or Secret,
    unless its provider sets the flag and the object is not `immutable: true`."""
    typ = "kubernetes:" + gvk.rsplit("/", 1)[0] + ":" + gvk.rsplit("/", 1)[1]
    new = changed(obj, "data", {"k": "dg=="})
    default = replacement.replacement_reasons(typ, obj, new)
    assert [(r.field, r.source) for r in default] == [("data", replacement.K8S_SOURCE)]
    assert f"leaves {flag} off" in default[0].why
    for on in (True, "true"):  # a provider input as the engine may carry it
        assert replacement.replacement_reasons(typ, obj, new, provider={flag: on}) == []
    assert replacement.replacement_reasons(typ, obj, new, provider={flag: False}) == default
    frozen = replacement.replacement_reasons(
        typ, {**obj, "immutable": True}, {**new, "immutable": True}, provider={flag: True}
    )
    assert [r.field for r in frozen] == ["data"]
    assert "immutable: true" in frozen[0].why


def test_the_contents_rule_is_the_providers() -> None:
    """K8S_CONTENTS against pulumi-kubernetes' own source (facts/pulumi-kubernetes-force-new.yaml)
    and the installed SDK: both flags are off unless set."""
    from tests.test_external_facts import fact

    config_map, _ = replacement.K8S_CONTENTS["core/v1/ConfigMap"]
    secret, _ = replacement.K8S_CONTENTS["core/v1/Secret"]
    assert sorted(config_map) == sorted(fact("pulumi-kubernetes-force-new", "configmap_contents"))
    assert sorted((*replacement.K8S_FORCE_NEW["core/v1/Secret"], *secret)) == sorted(
        fact("pulumi-kubernetes-force-new", "secret_contents")
    )
    import pulumi_kubernetes

    for _gvk, (_fields, flag) in replacement.K8S_CONTENTS.items():
        doc = getattr(pulumi_kubernetes.ProviderArgs, _snake(flag)).__doc__ or ""
        assert "is disabled by default" in doc, flag


def test_the_aks_network_profile_rule_is_the_providers() -> None:
    """The cluster's networkProfile leaves that force a replacement, and those that do not, as
    pulumi-azure-native#4771 lists them (facts/pulumi-azure-native-force-new.yaml)."""
    from tests.test_external_facts import fact

    rule = replacement.AZURE["azure-native:containerservice:ManagedCluster"]
    leaves = sorted(p.removeprefix("networkProfile.") for p in rule.force_new if p.startswith("networkProfile."))
    assert leaves == sorted(fact("pulumi-azure-native-force-new", "aks_network_profile_force_new"))
    assert "networkProfile" not in rule.force_new
    for leaf in fact("pulumi-azure-native-force-new", "aks_network_profile_in_place"):
        new = changed(AKS, f"networkProfile.{leaf}", "x")
        assert replacement.replacement_reasons("azure-native:containerservice:ManagedCluster", AKS, new) == [], leaf


def test_a_stack_configmap_edit_is_a_replacement_and_a_chart_configmap_edit_is_not() -> None:
    """Through compare(): the provider resource the object is registered with decides; a
    ConfigMap a Helm release renders is patched by Helm, not replaced."""
    cm, provider = K8S + "ConfigMap", "pulumi:providers:kubernetes"
    edited = changed(CONFIG_MAP, "data", {"a": "2"})
    old = _snap({"cm": (cm, CONFIG_MAP), "k8s": (provider, {})})
    for inputs, op in (({}, "replace"), ({"enableConfigMapMutable": True}, "update")):
        new = _snap({"cm": (cm, edited), "k8s": (provider, inputs)}, cm={"provider": URN + f"{provider}::k8s"})
        entry = next(e for e in synth_diff.compare(old, new).entries if e.name == "cm")
        assert entry.op == op, inputs
    assert replacement.k8s_reasons("core/v1/ConfigMap", CONFIG_MAP, edited) == []  # a chart's object


def test_a_property_added_or_removed_reads_none_on_the_other_side() -> None:
    container = "azure-native:storage:BlobContainer"
    old = _snap({"logs": (container, CONTAINER)})
    new = _snap({"logs": (container, {**CONTAINER, "metadata": {"team": "data"}})})
    text = synth_diff.format_text(synth_diff.compare(old, new))
    assert 'metadata: (none) -> {"team": "data"}' in text
    assert 'metadata: {"team": "data"} -> (none)' in synth_diff.format_text(synth_diff.compare(new, old))


def test_no_change_says_so_and_labels_cannot_break_the_markdown() -> None:
    container = "azure-native:storage:BlobContainer"
    same = synth_diff.compare(_snap({"logs": (container, CONTAINER)}), _snap({"logs": (container, CONTAINER)}))
    assert "\nno changes\n" in synth_diff.format_text(same)
    # a branch name is the reader's text: a backtick or a pipe in it must not end the code
    # span or the table cell it is shown in
    md = synth_diff.format_markdown(
        synth_diff.compare(_snap({}), _snap({}), old_label="feat`x|y", new_label="working tree")
    )
    heading = md.splitlines()[0]
    assert heading == "### `synth dev --diff`: feat'x\\|y → working tree"


def test_a_secret_digest_does_not_depend_on_key_order() -> None:
    """The same secret map in another order (a provider answering in its own order) is no change."""
    one = synth_diff.normalize(Secret({"user": "u", "password": "p"}), KEY)
    other = synth_diff.normalize(Secret({"password": "p", "user": "u"}), KEY)
    assert one == other
    assert one != synth_diff.normalize(Secret({"user": "u", "password": "q"}), KEY)


def test_usage_errors_exit_2_without_a_traceback(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["dev", "--format", "markdown"]) == 2
    assert "need --diff" in capsys.readouterr().err
    assert main(["dev", "--diff", "no-such-revision-anywhere"]) == 2
    err = capsys.readouterr().err
    assert "unknown git revision 'no-such-revision-anywhere'" in err
    assert "Traceback" not in err
    assert main(["dev", "--diff=--upload-pack=x"]) == 2  # never an option to git


# ----------------------------------------------------------------------------- end to end
def _git(repo: Path, *args: str) -> str:
    command = ["git", "-C", str(repo), *args]
    return subprocess.run(command, capture_output=True, text=True, check=True).stdout  # noqa: S603


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A git repository holding this working tree (tracked and untracked files), one commit."""
    root = tmp_path_factory.mktemp("diff") / "repo"
    files = _git(PROJECT_DIR, "ls-files", "-co", "--exclude-standard", "-z").split("\0")
    for name in filter(None, files):
        src = PROJECT_DIR / name
        if src.is_file():
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, root / name)
    _git(root, "init", "-q", "-b", "main")
    _git(root, "add", "-A")
    _git(root, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-q", "-m", "base")
    return root


def _run(repo: Path, extra_config: str, *args: str) -> subprocess.CompletedProcess[str]:
    """`python -m synth dev --diff HEAD` in `repo` with lines added to Pulumi.dev.yaml's config."""
    stack = repo / "Pulumi.dev.yaml"
    original = stack.read_text()
    stack.write_text(original.rstrip("\n") + "\n" + extra_config + "\n")
    env = dict(os.environ, AIRFLOW_AKS_OFFLINE="1")
    env.setdefault("AIRFLOW_AKS_REFERENCE_DIR", str(PROJECT_DIR.parent / "shared" / "reference"))
    env.pop("PYTHONPATH", None)
    try:
        done = subprocess.run(  # noqa: S603 - this interpreter, this module
            [sys.executable, "-m", "synth", "dev", "--diff", "HEAD", *args],
            cwd=repo,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
    finally:
        stack.write_text(original)
    assert "Traceback" not in done.stderr, done.stderr
    assert _git(repo, "worktree", "list").count("\n") == 1  # the temporary worktree is gone
    assert _git(repo, "status", "--porcelain") == ""  # nothing else touched
    return done


def test_logs_container_rename_replaces_the_container_and_is_refused(repo: Path) -> None:
    done = _run(repo, "  airflow-aks:logsContainerName: task-logs")
    assert done.returncode == 1, done.stdout + done.stderr
    out = done.stdout
    assert "+- REPLACE azure-native:storage:BlobContainer logs-container  [STATEFUL, REFUSED]" in out
    assert 'containerName: "airflow-logs" -> "task-logs"' in out
    assert "forces replacement: containerName: part of the ARM id" in out
    assert "error: refused:" in out
    assert "no replacement rules" not in out

    report = repo.parent / "diff.md"
    allowed = _run(
        repo,
        "  airflow-aks:logsContainerName: task-logs",
        "--allow-replace",
        "azure-native:storage:BlobContainer",
        "--allow-replace",
        "kubernetes:core/v1:PersistentVolume",
        "--format",
        "markdown",
        "--out",
        str(report),
    )
    assert allowed.returncode == 0, allowed.stdout + allowed.stderr
    md = report.read_text()
    assert "✅" in md
    assert "`logs-container`" in md
    assert "(stateful, allowed)" in md


def test_namespace_change_replaces_namespaced_objects_and_refuses_the_claim(repo: Path) -> None:
    done = _run(repo, "  airflow-aks:namespace: airflow-two")
    assert done.returncode == 1, done.stdout + done.stderr
    replaced = {line.split()[3] for line in done.stdout.splitlines() if line.startswith("+- REPLACE")}
    assert {"namespace-ns", "logs-pvc", "identity-sa", "secrets-store", "airflow-release"} <= replaced
    assert "+- REPLACE kubernetes:core/v1:PersistentVolumeClaim logs-pvc  [STATEFUL, REFUSED]" in done.stdout
    assert "metadata.namespace" in done.stdout


def test_helm_value_change_updates_the_release_in_place(repo: Path) -> None:
    done = _run(repo, "  airflow-aks:schedulerResources: cpu=750m,memory=2Gi,cpuLimit=2,memoryLimit=4Gi")
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert "~ update kubernetes:helm.sh/v3:Release airflow-release" in out
    assert 'values.scheduler.resources.requests.cpu: "500m" -> "750m"' in out
    assert "~ Deployment airflow/airflow-scheduler" in out  # the rendered object, under its release
    assert "REPLACE" not in out
    assert "0 to replace" in out
    # the release and nothing else: both sides digest the secrets with one key, so the vault's
    # secrets, unchanged, are no change
    changed = [line.split()[2:4] for line in out.splitlines() if line.startswith(("~ update", "+ create", "- delete"))]
    assert changed == [["kubernetes:helm.sh/v3:Release", "airflow-release"]]


@pytest.mark.parametrize(
    ("type_token", "old", "new", "replaced"),
    [
        ("tls:index/privateKey:PrivateKey", {"algorithm": "ECDSA"}, {"algorithm": "RSA"}, ["algorithm"]),
        (
            "tls:index/selfSignedCert:SelfSignedCert",
            {"dnsNames": ["a.example"]},
            {"dnsNames": ["b.example"]},
            ["dnsNames"],
        ),
        # terraform-provider-tls: early_renewal_hours has no RequiresReplace (an update in place)
        ("tls:index/selfSignedCert:SelfSignedCert", {"earlyRenewalHours": 720}, {"earlyRenewalHours": 240}, []),
    ],
)
def test_tls_inputs_replace_except_early_renewal(type_token: str, old: Any, new: Any, replaced: list[str]) -> None:
    from synth.replacement import has_rules, replacement_reasons

    assert has_rules(type_token)
    assert [r.field for r in replacement_reasons(type_token, old, new)] == replaced


def test_the_monitoring_types_are_replaced_by_a_new_name_and_are_stateful_where_they_hold_data() -> None:
    from synth.replacement import STATEFUL, replacement_reasons

    reasons = replacement_reasons(
        "azure-native:operationalinsights:Workspace", {"workspaceName": "a-law"}, {"workspaceName": "b-law"}
    )
    assert [r.field for r in reasons] == ["workspaceName"]
    assert (
        replacement_reasons(
            "azure-native:operationalinsights:Workspace", {"retentionInDays": 30}, {"retentionInDays": 90}
        )
        == []
    )
    assert {"azure-native:operationalinsights:Workspace", "azure-native:monitor:AzureMonitorWorkspace"} <= STATEFUL

"""Validate a rendered stack against reference schemas and its own cross-references."""

from __future__ import annotations

import functools
import re
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import jsonschema

from policy import kube
from policy.rules import (
    AIRFLOW_CHART,
    ESO_CHART,
    FEDERATED_CREDENTIAL,
    KEY_VAULT_SECRET,
    ROLE_ASSIGNMENT,
    STORAGE_ACCOUNT,
    airflow_bundles_postgresql,
    airflow_uses_celery,
    is_credential_key,
)
from synth import reference
from synth.render import Rendered
from synth.runner import RunResult, frozen_heap

if TYPE_CHECKING:
    from synth.helm import ReleaseRender

Severity = Literal["error", "warning"]
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")


@dataclass(frozen=True)
class Finding:
    check: str
    subject: str
    message: str
    severity: Severity = "error"

    def __str__(self) -> str:
        return f"[{self.check}] {self.subject}: {self.message}"


@dataclass
class Report:
    findings: list[Finding] = field(default_factory=list)
    validated: Counter[str] = field(default_factory=Counter)

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "error"]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "warning"]

    def add(self, check: str, subject: str, message: str, severity: Severity = "error") -> None:
        self.findings.append(Finding(check, subject, message, severity))


def _path(err: jsonschema.ValidationError) -> str:
    return "/".join(str(p) for p in err.absolute_path) or "(root)"


def _schema_errors(schema: Any, instance: Any) -> list[str]:
    validator = jsonschema.Draft7Validator(schema)
    errors = sorted(validator.iter_errors(instance), key=lambda e: list(map(str, e.absolute_path)))
    return [f"{_path(e)}: {e.message}" for e in errors]


def _missing(report: Report, check: str, subject: str, err: Exception, strict: bool) -> None:
    report.add(check, subject, f"schema not found, NOT validated: {err}", "error" if strict else "warning")


# ----------------------------------------------------------------- schema checks
def check_helm_values(rendered: Rendered, report: Report, strict: bool) -> None:
    loaders = {AIRFLOW_CHART: reference.airflow_chart_schema, ESO_CHART: reference.eso_chart_schema}
    for release, values in rendered.helm.items():
        meta = rendered.helm_meta[release]
        chart, version = str(meta["chart"]), str(meta["version"])
        loader = loaders.get(chart)
        if loader is None:
            report.add("helm-values", release, f"no schema source known for chart {chart}", "warning")
            continue
        try:
            schema = loader(version)
        except reference.ReferenceNotFoundError as err:
            _missing(report, "helm-values", release, err, strict)
            continue
        report.validated[f"helm values ({chart} {version})"] += 1
        for msg in _schema_errors(schema, values):
            report.add("helm-values", f"{release} ({chart} {version})", msg)


def check_custom_resources(rendered: Rendered, report: Report, eso_version: str, strict: bool) -> None:
    for fname, obj in rendered.manifests.items():
        api = str(obj.get("apiVersion", ""))
        if not api.startswith("external-secrets.io/"):
            continue
        kind = str(obj.get("kind"))
        version = api.split("/", 1)[1]
        try:
            crd = reference.eso_crd(eso_version, kind)
        except reference.ReferenceNotFoundError as err:
            _missing(report, "crd", fname, err, strict)
            continue
        served = {v["name"]: v for v in crd["spec"]["versions"] if v.get("served")}
        if version not in served:
            report.add(
                "crd",
                fname,
                f"{api} {kind} is not served by External Secrets {eso_version} "
                f"(served: {', '.join(sorted(served)) or 'none'})",
            )
            continue
        report.validated[f"{kind} ({api})"] += 1
        schema = served[version]["schema"]["openAPIV3Schema"]
        for msg in _schema_errors(schema, obj):
            report.add("crd", fname, msg)


class KubernetesSchemaMissing(LookupError):  # noqa: N818 - a state, reported as a warning
    """kubernetes-validate has no schema for this kind / API version / Kubernetes version."""


@functools.cache
def _kubernetes_definitions(schema_dir: str) -> Any:
    from kubernetes_validate import utils as kv
    from referencing import Resource

    return Resource.from_contents(kv.schema_contents(f"kubernetes-json-schema/{schema_dir}/_definitions.json", ""))


@functools.cache
def kubernetes_validator(kind: str, api_version: str, kubernetes_version: str) -> Any:
    """kubernetes-validate's strict schema for `kind` in `api_version` at `kubernetes_version`,
    as one cached validator. Same files and version choice as ``kubernetes_validate.validate(
    obj, version, strict=True)``, which re-reads the 1.4 MB definitions file per object and
    stops at the first error; this reports every error, ~20x faster."""
    from kubernetes_validate import utils as kv
    from referencing import Registry, Resource

    def key(v: str) -> tuple[int, ...]:
        return tuple(int(p) for p in kv.major_minor(v).split("."))

    wanted = kubernetes_version.lstrip("v")
    versions = kv.all_versions()
    usable = [v for v in versions if key(v) <= key(wanted)]
    if not usable or key(wanted) > key(versions[-1]):
        raise KubernetesSchemaMissing(
            f"kubernetes-validate has no schemas for Kubernetes {kv.major_minor(wanted)} "
            f"(it has {kv.major_minor(versions[0])} to {kv.major_minor(versions[-1])})"
        )
    schema_dir = f"v{usable[-1]}-local-strict"
    group = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
    try:
        schema = kv.schema_contents(f"kubernetes-json-schema/{schema_dir}/{kind.lower()}-{group}.json", wanted)
    except (FileNotFoundError, kv.VersionNotSupportedError) as err:
        raise KubernetesSchemaMissing(
            f"no Kubernetes {kv.major_minor(wanted)} schema for {kind} in {api_version}"
        ) from err
    registry = _kubernetes_definitions(schema_dir) @ (Resource.from_contents(schema) @ Registry())
    return jsonschema.Draft202012Validator(schema, registry=registry)


def kubernetes_schema_errors(obj: Mapping[str, Any], kubernetes_version: str) -> list[str]:
    """`path: message` for each way `obj` breaks its strict Kubernetes schema (raises
    KubernetesSchemaMissing for a kind the schemas do not know, e.g. a custom resource)."""
    validator = kubernetes_validator(str(obj.get("kind")), str(obj.get("apiVersion")), kubernetes_version)
    errors = sorted(validator.iter_errors(obj), key=lambda e: list(map(str, e.absolute_path)))
    return [f"{_path(e)}: {_short(e.message)}" for e in errors]


def _short(message: str, limit: int = 300) -> str:
    return message if len(message) <= limit else message[: limit - 3] + "..."


def check_core_objects(rendered: Rendered, report: Report, kubernetes_version: str) -> None:
    for fname, obj in rendered.manifests.items():
        if str(obj.get("apiVersion", "")).startswith("external-secrets.io/"):
            continue
        try:
            problems = kubernetes_schema_errors(obj, kubernetes_version)
        except KubernetesSchemaMissing as err:
            report.add("kubernetes", fname, f"NOT validated: {err}", "warning")
            continue
        for msg in problems:
            report.add("kubernetes", fname, msg)
        report.validated[f"{obj.get('kind')} (Kubernetes {kubernetes_version})"] += 1
        name = str((obj.get("metadata") or {}).get("name", ""))
        if not _DNS_SUBDOMAIN.match(name):
            report.add("kubernetes", fname, f"metadata.name {name!r} is not a DNS-1123 subdomain")


# ----------------------------------------------------------------- cross references
def _objects(rendered: Rendered, kind: str) -> list[dict[str, Any]]:
    return [o for o in rendered.manifests.values() if o.get("kind") == kind]


def _meta(obj: Mapping[str, Any]) -> tuple[str, str]:
    m = obj.get("metadata") or {}
    return str(m.get("namespace", "")), str(m.get("name", ""))


def check_cross_references(result: RunResult, rendered: Rendered, report: Report, registry: str) -> None:
    def xref(subject: str, ok: bool, message: str) -> None:
        report.validated["cross-reference"] += 1
        if not ok:
            report.add("xref", subject, message)

    outputs = {k: v for k, (v, _) in result.outputs.items()}
    targets = {(_meta(es)[0], es["spec"]["target"]["name"]) for es in _objects(rendered, "ExternalSecret")}
    stores = {_meta(s) for s in _objects(rendered, "SecretStore")}
    accounts = {_meta(sa) for sa in _objects(rendered, "ServiceAccount")}
    # the ServiceAccounts a release's values create by name (logsMode=remote: Airflow's,
    # federated by name; the charts render while these checks run, check_remote_logs reads
    # the render)
    chart_accounts = {
        (str(rendered.helm_meta[release]["namespace"]), str(account["name"]))
        for release, values in rendered.helm.items()
        for _where, _parents, node in kube.walk(values)
        if isinstance(node, Mapping)
        and isinstance(account := node.get("serviceAccount"), Mapping)
        and account.get("create") is True
        and account.get("name")
    }
    vault_secrets = {str(r.inputs.get("secretName")) for r in result.by_type(KEY_VAULT_SECRET)}

    pvs = {_meta(pv)[1]: pv for pv in _objects(rendered, "PersistentVolume")}
    for pv_name, pv in pvs.items():
        ref = pv["spec"]["csi"].get("nodeStageSecretRef") or {}
        xref(
            f"PersistentVolume/{pv_name}",
            (ref.get("namespace"), ref.get("name")) in targets,
            f"nodeStageSecretRef {ref.get('namespace')}/{ref.get('name')} is not produced by any ExternalSecret",
        )
    claims = {_meta(c): c for c in _objects(rendered, "PersistentVolumeClaim")}
    for (ns, name), claim in claims.items():
        spec = claim["spec"]
        volume = pvs.get(str(spec.get("volumeName")))
        xref(
            f"PersistentVolumeClaim/{ns}/{name}",
            volume is not None,
            f"volumeName {spec.get('volumeName')} names no PersistentVolume",
        )
        if volume is not None:
            xref(
                f"PersistentVolumeClaim/{ns}/{name}",
                spec.get("storageClassName") == volume["spec"].get("storageClassName"),
                "storageClassName differs from its PersistentVolume's",
            )
            xref(
                f"PersistentVolumeClaim/{ns}/{name}",
                spec["resources"]["requests"]["storage"] == volume["spec"]["capacity"]["storage"],
                "requested size differs from the PersistentVolume's capacity",
            )

    for es_obj in _objects(rendered, "ExternalSecret"):
        ns, name = _meta(es_obj)
        store = es_obj["spec"]["secretStoreRef"]["name"]
        xref(f"ExternalSecret/{ns}/{name}", (ns, store) in stores, f"secretStoreRef {store} is no SecretStore in {ns}")
        for item in es_obj["spec"].get("data", []):
            key = item["remoteRef"]["key"]
            xref(
                f"ExternalSecret/{ns}/{name}",
                key in vault_secrets,
                f"Key Vault secret {key} is not created by this stack",
            )
    for store_obj in _objects(rendered, "SecretStore"):
        ns, name = _meta(store_obj)
        kv = store_obj["spec"]["provider"]["azurekv"]
        xref(
            f"SecretStore/{ns}/{name}",
            kv.get("vaultUrl") == outputs.get("keyVaultUri"),
            f"vaultUrl {kv.get('vaultUrl')} is not this stack's vault {outputs.get('keyVaultUri')}",
        )
        sa = kv.get("serviceAccountRef", {}).get("name")
        xref(f"SecretStore/{ns}/{name}", (ns, sa) in accounts, f"serviceAccountRef {sa} is no ServiceAccount in {ns}")

    subjects = {kube.service_account_subject(ns or kube.DEFAULT_NAMESPACE, n) for ns, n in accounts | chart_accounts}
    for fic in result.by_type(FEDERATED_CREDENTIAL):
        subject = str(fic.inputs.get("subject"))
        xref(
            f"FederatedIdentityCredential/{fic.name}",
            subject in subjects,
            f"subject {subject} matches no ServiceAccount",
        )
        xref(
            f"FederatedIdentityCredential/{fic.name}",
            fic.inputs.get("issuer") == outputs.get("oidcIssuerUrl"),
            "issuer is not the cluster's OIDC issuer URL",
        )
    for sa_obj in _objects(rendered, "ServiceAccount"):
        annotations = (sa_obj.get("metadata") or {}).get("annotations") or {}
        xref(
            f"ServiceAccount/{_meta(sa_obj)[1]}",
            annotations.get("azure.workload.identity/client-id") == outputs.get("identityClientId"),
            "azure.workload.identity/client-id is not the managed identity's client id",
        )

    for release, values in rendered.helm.items():
        ns = str(rendered.helm_meta[release]["namespace"])
        for path, ref, _tag in kube.images(values):
            xref(
                f"helm/{release}",
                kube.registry_path(ref, registry) is not None,
                f"{path}: image {ref} is not from {registry}",
            )
        if rendered.helm_meta[release]["chart"] != AIRFLOW_CHART:
            continue
        if not remote_logging(values):
            existing = (values.get("logs", {}).get("persistence", {}) or {}).get("existingClaim")
            xref(
                f"helm/{release}",
                (ns, existing) in claims,
                f"logs.persistence.existingClaim {existing} is no claim in {ns}",
            )
        for path, secret in _airflow_secret_refs(values):
            xref(
                f"helm/{release}",
                (ns, secret) in targets,
                f"{path}: Secret {secret} is not produced by any ExternalSecret in {ns}",
            )


def remote_logging(values: Mapping[str, Any]) -> bool:
    """The release's Airflow writes task logs to remote storage ([logging] remote_logging)."""
    return str(_dig(values, "config.logging.remote_logging")).lower() == "true"


def _dig(values: Mapping[str, Any], path: str) -> Any:
    """The value at a dotted values path (`logs.persistence.existingClaim`), None when missing."""
    return kube.lookup(values, *path.split("."))


# Values that name a Secret the stack must produce (ESO); the metadata secret only when
# the stack runs the database (an external one is the user's Secret).
_AIRFLOW_SECRET_PATHS = (
    "webserverSecretKeySecretName",
    "apiSecretKeySecretName",
    "jwtSecretName",
    "fernetKeySecretName",
    "postgresql.auth.existingSecret",
    "pgbouncer.configSecretName",
    "pgbouncer.metricsExporterSidecar.statsSecretName",
    "redis.passwordSecretName",
    "data.brokerUrlSecretName",
)


def _airflow_secret_refs(values: Mapping[str, Any]) -> list[tuple[str, str]]:
    paths = list(_AIRFLOW_SECRET_PATHS)
    if airflow_bundles_postgresql(values):
        paths.append("data.metadataSecretName")
    if not airflow_uses_celery(values):  # only Celery reads the broker URL
        paths.remove("data.brokerUrlSecretName")
    refs = [(p, str(v)) for p in paths if isinstance(v := _dig(values, p), str) and v]
    refs += [
        (f"createUserJob.env.{e['name']}", e["valueFrom"]["secretKeyRef"]["name"])
        for e in _dig(values, "createUserJob.env") or []
        if "valueFrom" in e
    ]
    return refs


def check_chart_default_images(rendered: Rendered, report: Report, registry: str, strict: bool) -> None:
    """Every image the chart would pull by default is overridden to come from the registry
    (an image the values do not mention would come from Docker Hub, Quay or GHCR)."""
    for release, values in rendered.helm.items():
        meta = rendered.helm_meta[release]
        chart, version = str(meta["chart"]), str(meta["version"])
        try:
            defaults = reference.chart_default_values(chart, version)
        except reference.ReferenceNotFoundError as err:
            _missing(report, "images", release, err, strict)
            continue
        overrides = {path: ref for path, ref, _tag in kube.images(values)}
        for path, default, _tag in kube.images(defaults):
            if not default:  # `repository: ""`/`~`: the chart falls back to another key
                continue
            if _dig(values, f"{path.split('.')[0]}.enabled") is False:
                continue  # a subchart the values turn off (postgresql with databaseMode external/managed)
            report.validated["chart default image overridden"] += 1
            repository = overrides.get(path)
            if repository is None or kube.registry_path(repository, registry) is None:
                report.add(
                    "images",
                    f"helm/{release}",
                    f"{path}: the chart's default image is not overridden to come from {registry}",
                )


def check_image_mirrors(rendered: Rendered, report: Report, registry: str, mirrors: Mapping[str, Any]) -> None:
    """Every image a release pulls is in the mirror list (images.txt), so the first install
    finds it in the registry."""
    for release, values in rendered.helm.items():
        for path, repository, tag in kube.images(values):
            if not tag:
                continue
            ref = f"{repository}:{tag}"
            report.validated["image mirror"] += 1
            if kube.registry_path(ref, registry) not in mirrors:
                report.add("images", f"helm/{release}", f"{path}: {ref} is not in the mirror list")


# ----------------------------------------------------------------- rendered charts
# What a real Helm engine renders from each release (synth.helm), checked as the cluster
# would receive it. Subjects read `helm/<release> <Kind>/<name>`; fields are dotted paths with
# list items by name: `spec.template.spec.containers[scheduler].resources.limits.cpu`.
_WORKLOAD_TEMPLATES: dict[str, tuple[str, ...]] = {
    "Deployment": ("spec", "template"),
    "StatefulSet": ("spec", "template"),
    "DaemonSet": ("spec", "template"),
    "ReplicaSet": ("spec", "template"),
    "Job": ("spec", "template"),
    "CronJob": ("spec", "jobTemplate", "spec", "template"),
}


@dataclass(frozen=True)
class ChartPod:
    """A pod a chart runs: a workload's pod template, or a pod template file in a ConfigMap."""

    release: str
    subject: str
    prefix: str  # path of the PodSpec inside the object
    namespace: str
    labels: Mapping[str, Any]
    spec: Mapping[str, Any]


def _subject(release: str, obj: Mapping[str, Any]) -> str:
    return f"helm/{release} {obj.get('kind')}/{(obj.get('metadata') or {}).get('name')}"


def _rendered(charts: Mapping[str, ReleaseRender]) -> list[tuple[str, ReleaseRender]]:
    return [(name, rel) for name, rel in sorted(charts.items()) if rel.rendered]


def chart_pods(charts: Mapping[str, ReleaseRender]) -> list[ChartPod]:
    pods: list[ChartPod] = []
    for release, rel in _rendered(charts):
        for _, obj in rel.objects:
            path = _WORKLOAD_TEMPLATES.get(str(obj.get("kind")))
            node = kube.lookup(obj, *(path or ()))
            if path is None or not isinstance(node, Mapping) or not isinstance(node.get("spec"), Mapping):
                continue
            ns = str((obj.get("metadata") or {}).get("namespace") or rel.namespace)
            labels = (node.get("metadata") or {}).get("labels") or {}
            pods.append(ChartPod(release, _subject(release, obj), ".".join(path) + ".spec", ns, labels, node["spec"]))
        for embedded in rel.pods:
            meta = embedded.pod.get("metadata") or {}
            pods.append(
                ChartPod(
                    release,
                    f"helm/{release} ConfigMap/{embedded.configmap}[{embedded.key}] Pod",
                    "spec",
                    str(meta.get("namespace") or rel.namespace),
                    meta.get("labels") or {},
                    embedded.pod.get("spec") or {},
                )
            )
    return pods


def _containers(pod: ChartPod) -> list[tuple[str, Mapping[str, Any]]]:
    return [
        (f"{pod.prefix}.{group}[{c.get('name', i)}]", c)
        for group in ("initContainers", "containers", "ephemeralContainers")
        for i, c in enumerate(pod.spec.get(group) or [])
        if isinstance(c, Mapping)
    ]


def check_chart_renders(charts: Mapping[str, ReleaseRender], report: Report) -> None:
    """A release that could not be rendered here is a warning (in --strict too): no engine or
    no chart archive says nothing about the stack. A chart that refuses the values is an error."""
    for release, rel in sorted(charts.items()):
        if rel.not_rendered is not None:
            report.add(
                "helm-render",
                f"helm/{release}",
                f"not rendered, its objects NOT validated: {rel.not_rendered}",
                "warning",
            )
        elif rel.error is not None:
            report.add(
                "helm-render", f"helm/{release}", f"chart {rel.chart} {rel.version} does not render: {rel.error}"
            )
        else:
            report.validated[f"helm release rendered ({rel.chart} {rel.version})"] += 1


def check_chart_schemas(charts: Mapping[str, ReleaseRender], report: Report, kubernetes_version: str) -> None:
    """Every rendered object (install render) and embedded pod template against the strict
    Kubernetes schema; a kind the schemas do not know (a custom resource) is a warning. The
    charts' CustomResourceDefinitions are upstream's, kept as text: not schema-validated."""
    for release, rel in _rendered(charts):
        subjects = [
            (_subject(release, obj), obj, str(obj.get("kind")))
            for template, obj in rel.objects
            if (template, str((obj.get("metadata") or {}).get("name"))) not in rel.crd_texts
        ]
        subjects += [
            (f"helm/{release} ConfigMap/{p.configmap}[{p.key}] Pod", p.pod, "Pod (pod template file)") for p in rel.pods
        ]
        for subject, obj, label in subjects:
            try:
                problems = kubernetes_schema_errors(obj, kubernetes_version)
            except KubernetesSchemaMissing as err:
                report.add("kubernetes", subject, f"NOT validated: {err}", "warning")
                continue
            report.validated[f"rendered {label} (Kubernetes {kubernetes_version})"] += 1
            for msg in problems:
                report.add("kubernetes", subject, msg)


HOOK_ANNOTATION = "helm.sh/hook"


def check_chart_hooks(charts: Mapping[str, ReleaseRender], report: Report) -> None:
    """No rendered object is a Helm hook, on install nor on upgrade: a hook runs outside the
    release's objects, and a release that waits for readiness deadlocks on a post-install one."""
    for release, rel in _rendered(charts):
        found: dict[tuple[str, str], list[str]] = {}
        for label, objs in (("install", rel.objects), ("upgrade", rel.upgrade_objects)):
            for _, obj in objs:
                report.validated[f"hook-free rendered object ({label} render)"] += 1
                hook = ((obj.get("metadata") or {}).get("annotations") or {}).get(HOOK_ANNOTATION)
                if hook:
                    found.setdefault((_subject(release, obj), str(hook)), []).append(label)
        for (subject, hook), labels in sorted(found.items()):
            report.add(
                "helm-hooks",
                subject,
                f"metadata.annotations.{HOOK_ANNOTATION}: {hook!r} in the {' and '.join(labels)} "
                f"render{'s' if len(labels) > 1 else ''}: Helm runs it outside the release's objects",
            )


def _strings(node: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """(dotted path, string) for every string key and value under `node`."""
    if isinstance(node, str):
        yield path or "(root)", node
    elif isinstance(node, Mapping):
        for key, value in node.items():
            child = f"{path}.{key}" if path else str(key)
            if isinstance(key, str):
                yield f"{child} (key)", key
            yield from _strings(value, child)
    elif isinstance(node, list):
        for i, value in enumerate(node):
            name = value.get("name") if isinstance(value, Mapping) else None
            yield from _strings(value, f"{path}[{name if isinstance(name, str) else i}]")


def _decoded_fields(obj: Mapping[str, Any]) -> list[tuple[str, str]]:
    """A Secret's values as the pod would read them (base64 decoded)."""
    if obj.get("kind") != "Secret":
        return []
    from synth.helm import decoded_secret_data

    return [(f"data.{k} (decoded)", v) for k, v in sorted(decoded_secret_data(obj).items())]


# Go's text/template and fmt leave these in the output for a missing or nil value.
UNRESOLVED_MARKS = ("<no value>", "<nil>", "%!")
UNRESOLVED = re.compile("|".join(map(re.escape, UNRESOLVED_MARKS)))


def _has_unresolved(text: str) -> bool:
    """UNRESOLVED.search(text) is not None, by substring search: over the 4 MB a dev synth
    renders (mostly the ESO CRDs), 10 ms where the regex takes 24 ms."""
    return any(mark in text for mark in UNRESOLVED_MARKS)


def _excerpt(text: str, match: re.Match[str], width: int = 30) -> str:
    return text[max(0, match.start() - width) : match.end() + width].replace("\n", " ")


def check_chart_unresolved(charts: Mapping[str, ReleaseRender], report: Report) -> None:
    """No `<no value>`, `<nil>` or `%!verb(...)` anywhere in what the charts render (install
    and upgrade), nor inside a Secret's base64 data."""
    for release, rel in _rendered(charts):
        for label, texts, objs in (
            ("install", rel.install, rel.objects),
            ("upgrade", rel.upgrade, rel.upgrade_objects),
        ):
            hits = {path for path, text in texts.items() if _has_unresolved(text)}
            named: set[str] = set()
            for path, obj in objs:
                report.validated[f"rendered object without unresolved template output ({label} render)"] += 1
                fields = _decoded_fields(obj) + (list(_strings(obj)) if path in hits else [])
                for where, text in fields:
                    if (match := UNRESOLVED.search(text)) is not None:
                        named.add(path)
                        report.add(
                            "helm-template",
                            _subject(release, obj),
                            f"{where}: unresolved template output {_excerpt(text, match)!r} ({label} render)",
                        )
            # in a comment, or in a CustomResourceDefinition kept as text: name the template
            for path in sorted(hits - named):
                if not path.endswith("NOTES.txt"):
                    text = texts[path]
                    match = UNRESOLVED.search(text)
                    assert match is not None
                    report.add(
                        "helm-template",
                        f"helm/{release} {path}",
                        f"unresolved template output {_excerpt(text, match)!r} ({label} render)",
                    )


def _external_secret_keys(es_obj: Mapping[str, Any]) -> tuple[str, set[str] | None]:
    """(target Secret name, its keys) of an ExternalSecret; keys None when not knowable here."""
    spec = es_obj.get("spec") or {}
    target = spec.get("target") or {}
    name = str(target.get("name") or (es_obj.get("metadata") or {}).get("name"))
    data_keys = {str(d.get("secretKey")) for d in spec.get("data") or [] if isinstance(d, Mapping)}
    template = target.get("template") or {}
    if spec.get("dataFrom") or template.get("templateFrom"):
        return name, None
    if template.get("data") is not None:
        keys = {str(k) for k in template["data"]}
        return name, keys | data_keys if template.get("mergePolicy") == "Merge" else keys
    return name, data_keys


@dataclass
class _Inventory:
    """What exists in each namespace: rendered by a chart, or created by the stack."""

    secrets: dict[tuple[str, str], set[str] | None] = field(default_factory=dict)  # keys; None: any
    configmaps: dict[tuple[str, str], set[str] | None] = field(default_factory=dict)
    claims: set[tuple[str, str]] = field(default_factory=set)
    accounts: dict[tuple[str, str], Mapping[str, Any]] = field(default_factory=dict)
    bound_accounts: set[tuple[str, str]] = field(default_factory=set)  # subjects of a (Cluster)RoleBinding

    def add(self, obj: Mapping[str, Any], default_ns: str) -> None:
        meta = obj.get("metadata") or {}
        key = (str(meta.get("namespace") or default_ns), str(meta.get("name")))
        kind = obj.get("kind")
        if kind == "Secret":
            self.secrets[key] = {*(obj.get("data") or {}), *(obj.get("stringData") or {})}
        elif kind == "ConfigMap":
            self.configmaps[key] = {*(obj.get("data") or {}), *(obj.get("binaryData") or {})}
        elif kind == "PersistentVolumeClaim":
            self.claims.add(key)
        elif kind == "ServiceAccount":
            self.accounts[key] = obj
        elif kind in ("RoleBinding", "ClusterRoleBinding"):
            for s in obj.get("subjects") or []:
                if s.get("kind") == "ServiceAccount":
                    self.bound_accounts.add((str(s.get("namespace") or key[0]), str(s.get("name"))))
        elif kind == "ExternalSecret":
            name, keys = _external_secret_keys(obj)
            self.secrets[(key[0], name)] = keys


def inventory(rendered: Rendered) -> _Inventory:
    inv = _Inventory()
    for obj in rendered.manifests.values():
        inv.add(obj, "")
    for _, rel in _rendered(rendered.charts):
        for _, obj in rel.objects:
            inv.add(obj, rel.namespace)
    return inv


_MISSING = object()
# Every namespace has these without anyone creating them.
_BUILT_IN_CONFIGMAPS = {"kube-root-ca.crt": {"ca.crt"}}
_BUILT_IN_ACCOUNTS = {"default"}


def check_chart_references(rendered: Rendered, report: Report) -> None:
    """Every Secret (and key), ConfigMap (and key), PersistentVolumeClaim and ServiceAccount a
    rendered pod uses exists: rendered by a chart, or created by the stack (an ExternalSecret's
    target Secret with the keys it writes). `optional: true` references may dangle."""
    inv = inventory(rendered)

    for pod in chart_pods(rendered.charts):
        ns = pod.namespace

        def need(kind: str, name: Any, key: Any, optional: Any, where: str, ns: str = ns, pod: ChartPod = pod) -> None:
            report.validated[f"pod reference ({kind})"] += 1
            if optional is True:
                return
            table = inv.secrets if kind == "Secret" else inv.configmaps
            built_in = _BUILT_IN_CONFIGMAPS.get(str(name)) if kind == "ConfigMap" else None
            keys = table.get((ns, str(name)), built_in if built_in is not None else _MISSING)
            if keys is _MISSING:
                made = (
                    "rendered by no chart and made by no ExternalSecret" if kind == "Secret" else "rendered by no chart"
                )
                report.add("references", pod.subject, f"{where}: {kind} {name} does not exist in {ns} ({made})")
            elif key is not None and isinstance(keys, set) and str(key) not in keys:
                report.add(
                    "references",
                    pod.subject,
                    f"{where}: {kind} {name} has no key {key!r} (it has {', '.join(sorted(keys)) or 'none'})",
                )

        for volume in pod.spec.get("volumes") or []:
            where = f"{pod.prefix}.volumes[{volume.get('name')}]"
            sources = [(where, volume)]
            sources += [
                (f"{where}.projected.sources[{i}]", src)
                for i, src in enumerate((volume.get("projected") or {}).get("sources") or [])
            ]
            for at, src in sources:
                if isinstance(src.get("secret"), Mapping):
                    sec = src["secret"]
                    name = sec.get("secretName", sec.get("name"))
                    for item in sec.get("items") or [{"key": None}]:
                        need("Secret", name, item.get("key"), sec.get("optional"), f"{at}.secret")
                if isinstance(src.get("configMap"), Mapping):
                    cm = src["configMap"]
                    for item in cm.get("items") or [{"key": None}]:
                        need("ConfigMap", cm.get("name"), item.get("key"), cm.get("optional"), f"{at}.configMap")
            claim = (volume.get("persistentVolumeClaim") or {}).get("claimName")
            if claim is not None:
                report.validated["pod reference (PersistentVolumeClaim)"] += 1
                if (ns, str(claim)) not in inv.claims:
                    report.add(
                        "references",
                        pod.subject,
                        f"{where}.persistentVolumeClaim.claimName: PersistentVolumeClaim {claim} "
                        f"does not exist in {ns}",
                    )
        for where, container in _containers(pod):
            for env in container.get("env") or []:
                ref = env.get("valueFrom") or {}
                at = f"{where}.env[{env.get('name')}].valueFrom"
                if isinstance(ref.get("secretKeyRef"), Mapping):
                    r = ref["secretKeyRef"]
                    need("Secret", r.get("name"), r.get("key"), r.get("optional"), f"{at}.secretKeyRef")
                if isinstance(ref.get("configMapKeyRef"), Mapping):
                    r = ref["configMapKeyRef"]
                    need("ConfigMap", r.get("name"), r.get("key"), r.get("optional"), f"{at}.configMapKeyRef")
            for i, source in enumerate(container.get("envFrom") or []):
                if isinstance(source.get("secretRef"), Mapping):
                    r = source["secretRef"]
                    need("Secret", r.get("name"), None, r.get("optional"), f"{where}.envFrom[{i}].secretRef")
                if isinstance(source.get("configMapRef"), Mapping):
                    r = source["configMapRef"]
                    need("ConfigMap", r.get("name"), None, r.get("optional"), f"{where}.envFrom[{i}].configMapRef")
        for i, pull in enumerate(pod.spec.get("imagePullSecrets") or []):
            need("Secret", pull.get("name"), None, False, f"{pod.prefix}.imagePullSecrets[{i}]")
        account = str(pod.spec.get("serviceAccountName") or pod.spec.get("serviceAccount") or "default")
        report.validated["pod reference (ServiceAccount)"] += 1
        if account not in _BUILT_IN_ACCOUNTS and (ns, account) not in inv.accounts:
            report.add(
                "references",
                pod.subject,
                f"{pod.prefix}.serviceAccountName: ServiceAccount {account} does not exist in {ns}",
            )


def check_chart_images(
    charts: Mapping[str, ReleaseRender], report: Report, registry: str, mirrors: Mapping[str, Any] | None
) -> None:
    """Every container a chart runs pulls from the registry, an image on the mirror list."""
    for pod in chart_pods(charts):
        for where, container in _containers(pod):
            image = container.get("image")
            report.validated["rendered container image"] += 1
            if not isinstance(image, str) or not image:
                report.add("images", pod.subject, f"{where}.image is not set")
            elif (path := kube.registry_path(image, registry)) is None:
                report.add("images", pod.subject, f"{where}.image: {image} is not from {registry}")
            elif mirrors is not None and path not in mirrors:
                report.add("images", pod.subject, f"{where}.image: {image} is not in the mirror list (images.txt)")


# Airflow components whose pods write task or component logs, by the chart's `component`
# label, and the container in each that runs Airflow (a pod template file's is `base`).
LOG_WRITING_COMPONENTS: dict[str, tuple[str, ...]] = {
    "scheduler": ("scheduler",),
    "webserver": ("webserver",),
    "api-server": ("api-server",),
    "triggerer": ("triggerer",),
    "worker": ("worker", "base"),
    "dag-processor": ("dag-processor",),
}
DEFAULT_AIRFLOW_HOME = "/opt/airflow"
_MOUNT_ID = re.compile(r"\b(uid|gid)=(\d+)")


def _airflow_cfg_log_folder(rel: ReleaseRender) -> str | None:
    """[logging] base_log_folder of the airflow.cfg the chart renders, if it sets one."""
    import configparser

    for _, obj in rel.objects:
        text = (obj.get("data") or {}).get("airflow.cfg") if obj.get("kind") == "ConfigMap" else None
        if isinstance(text, str):
            cfg = configparser.ConfigParser(interpolation=None, strict=False)
            try:
                cfg.read_string(text)
            except configparser.Error:
                return None
            value = cfg.get("logging", "base_log_folder", fallback=None)
            return value.strip() if value else None
    return None


def _log_folder(cfg_folder: str | None, container: Mapping[str, Any]) -> str:
    """Where Airflow in `container` writes logs: AIRFLOW__LOGGING__BASE_LOG_FOLDER, airflow.cfg,
    else Airflow's default `$AIRFLOW_HOME/logs`."""
    env = {e.get("name"): e.get("value") for e in container.get("env") or [] if isinstance(e.get("value"), str)}
    folder = env.get("AIRFLOW__LOGGING__BASE_LOG_FOLDER") or cfg_folder
    return str(folder or f"{env.get('AIRFLOW_HOME') or DEFAULT_AIRFLOW_HOME}/logs").rstrip("/")


def _mount_ids(volume: Mapping[str, Any] | None) -> dict[str, int]:
    options = " ".join(str(o) for o in ((volume or {}).get("spec") or {}).get("mountOptions") or [])
    return {k: int(v) for k, v in _MOUNT_ID.findall(options)}


def check_chart_logs_volume(rendered: Rendered, report: Report) -> None:
    """The logs claim (values logs.persistence.existingClaim) is mounted where Airflow writes
    logs in every pod that writes them, and the PersistentVolume behind it (blobfuse ignores
    fsGroup) mounts files as the pod's runAsUser / fsGroup."""
    claims = {_meta(c): c for c in _objects(rendered, "PersistentVolumeClaim")}
    volumes = {_meta(v)[1]: v for v in _objects(rendered, "PersistentVolume")}
    for release, rel in _rendered(rendered.charts):
        if rel.chart != AIRFLOW_CHART:
            continue
        if remote_logging(rendered.helm.get(release) or {}):
            continue  # check_remote_logs
        claim = _dig(rendered.helm.get(release) or {}, "logs.persistence.existingClaim")
        claim_obj = claims.get((rel.namespace, str(claim)))
        pv_name = str((claim_obj or {}).get("spec", {}).get("volumeName"))
        ids = _mount_ids(volumes.get(pv_name))
        cfg_folder = _airflow_cfg_log_folder(rel)
        pods = [p for p in chart_pods({release: rel}) if p.labels.get("component") in LOG_WRITING_COMPONENTS]
        if not pods:
            report.add("logs", f"helm/{release}", "no Airflow pod that writes logs found in the render")
        for pod in pods:
            report.validated["logs volume (Airflow pod)"] += 1
            names = LOG_WRITING_COMPONENTS[str(pod.labels.get("component"))]
            containers = [(w, c) for w, c in _containers(pod) if ".containers[" in w]
            if not containers:
                continue  # the schema check reports a pod without containers
            where, main = next(((w, c) for w, c in containers if c.get("name") in names), containers[0])
            folder = _log_folder(cfg_folder, main)
            if not claim:
                report.add("logs", pod.subject, "logs.persistence.existingClaim is not set: task logs stay in the pod")
                continue
            claim_volumes = {
                str(v.get("name"))
                for v in pod.spec.get("volumes") or []
                if (v.get("persistentVolumeClaim") or {}).get("claimName") == claim
            }
            mounted = [
                m
                for m in main.get("volumeMounts") or []
                if m.get("name") in claim_volumes and str(m.get("mountPath", "")).rstrip("/") == folder
            ]
            if not claim_volumes:
                report.add(
                    "logs",
                    pod.subject,
                    f"{pod.prefix}.volumes: the logs claim {claim} is not mounted: Airflow's logs "
                    f"({folder}) stay in the pod",
                )
                continue
            if not mounted or any(m.get("subPath") or m.get("readOnly") for m in mounted):
                report.add(
                    "logs",
                    pod.subject,
                    f"{where}.volumeMounts: the logs claim {claim} is not mounted writable at {folder}, "
                    "where Airflow writes its logs",
                )
                continue
            pod_ctx = pod.spec.get("securityContext") or {}
            run_as = (main.get("securityContext") or {}).get("runAsUser", pod_ctx.get("runAsUser"))
            for option, field_name, value in (
                ("uid", f"{where}.securityContext.runAsUser", run_as),
                ("gid", f"{pod.prefix}.securityContext.fsGroup", pod_ctx.get("fsGroup")),
            ):
                if ids.get(option) != value:
                    report.add(
                        "logs",
                        pod.subject,
                        f"{field_name} is {value}, but PersistentVolume {pv_name} mounts the logs with "
                        f"{option}={ids.get(option, '(unset)')} (spec.mountOptions): the pod cannot write its logs",
                    )


# ----------------------------------------------------------------- container hardening
# The exact list is data: drop a rule, or make it a "warning", to tune it.
@dataclass(frozen=True)
class ContainerRule:
    requirement: str  # shown in the finding
    severity: Severity
    holds: Callable[[Mapping[str, Any], Mapping[str, Any]], bool]  # (pod spec, container) -> ok


def _set_at(container: Mapping[str, Any], *path: str) -> bool:
    return kube.lookup(container, *path) not in (None, "", {}, [])


def _drops_all(container: Mapping[str, Any]) -> bool:
    dropped = ((container.get("securityContext") or {}).get("capabilities") or {}).get("drop") or []
    return "ALL" in {str(x).upper() for x in dropped}


def _seccomp(pod: Mapping[str, Any], container: Mapping[str, Any]) -> bool:
    own = (container.get("securityContext") or {}).get("seccompProfile")
    profile = own if own is not None else (pod.get("securityContext") or {}).get("seccompProfile")
    return isinstance(profile, Mapping) and profile.get("type") in ("RuntimeDefault", "Localhost")


CONTAINER_RULES: tuple[ContainerRule, ...] = (
    ContainerRule("resources.requests.cpu", "error", lambda _p, c: _set_at(c, "resources", "requests", "cpu")),
    ContainerRule("resources.requests.memory", "error", lambda _p, c: _set_at(c, "resources", "requests", "memory")),
    ContainerRule("resources.limits.cpu", "error", lambda _p, c: _set_at(c, "resources", "limits", "cpu")),
    ContainerRule("resources.limits.memory", "error", lambda _p, c: _set_at(c, "resources", "limits", "memory")),
    ContainerRule(
        "securityContext.allowPrivilegeEscalation: false",
        "error",
        lambda _p, c: (c.get("securityContext") or {}).get("allowPrivilegeEscalation") is False,
    ),
    ContainerRule("securityContext.capabilities.drop: [ALL]", "error", lambda _p, c: _drops_all(c)),
    ContainerRule("seccompProfile.type: RuntimeDefault (container or pod securityContext)", "error", _seccomp),
)
# A pod whose ServiceAccount no (Cluster)RoleBinding names does not call the Kubernetes API:
# it should not get the API token mounted. A pod spec that sets `automountServiceAccountToken:
# true` itself declares that it needs the token (ESO's webhook, which has no RBAC of its own).
AUTOMOUNT_SEVERITY: Severity | None = "error"  # None: do not check


USER_ASSIGNED_IDENTITY = "azure-native:managedidentity:UserAssignedIdentity"
# Components that only read task logs (the UI); every other log-writing component writes them.
LOG_READING_COMPONENTS = frozenset({"webserver", "api-server"})
_WRITE_ROLES = ("Storage Blob Data Contributor", "Storage Blob Data Owner")
_READ_ROLES = (*_WRITE_ROLES, "Storage Blob Data Reader")


def check_remote_logs(result: RunResult, rendered: Rendered, report: Report) -> None:
    """logsMode=remote, from the real render outward: every Airflow pod that writes or reads
    task logs carries the workload-identity label; its ServiceAccount (as rendered) is
    annotated with the client id of the managed identity that has a federated credential for
    exactly that account, and that identity holds a Storage Blob Data role on the logs
    container (Contributor to write, Reader enough for the UI); the pod's main container gets
    the `wasb_default` connection from a Secret the stack makes; and no storage account
    accepts shared keys."""
    from components.azure_roles import BUILT_IN_ROLES

    releases = [
        (name, rel)
        for name, rel in _rendered(rendered.charts)
        if rel.chart == AIRFLOW_CHART and remote_logging(rendered.helm.get(name) or {})
    ]
    if not releases:
        return
    outputs = {k: v for k, (v, _) in result.outputs.items()}
    client_ids = {
        str(r.inputs.get("resourceName")): (str(r.state.get("clientId")), str(r.state.get("principalId")))
        for r in result.by_type(USER_ASSIGNED_IDENTITY)
    }
    federated = {
        str(r.inputs.get("subject")): str(r.inputs.get("resourceName"))
        for r in result.by_type(FEDERATED_CREDENTIAL)
        if r.inputs.get("issuer") == outputs.get("oidcIssuerUrl")
    }
    role_names = {guid: role for role, guid in BUILT_IN_ROLES.items()}
    for account in result.by_type(STORAGE_ACCOUNT):
        report.validated["remote logs (no shared key)"] += 1
        if account.inputs.get("allowSharedKeyAccess") is not False:
            report.add(
                "logs", f"StorageAccount/{account.name}", "allowSharedKeyAccess is not false: account keys still work"
            )
    inv = inventory(rendered)
    for release, rel in releases:
        values = rendered.helm.get(release) or {}
        container = str(_dig(values, "config.azure_remote_logging.remote_wasb_log_container"))
        folder = str(_dig(values, "config.logging.remote_base_log_folder"))
        if not folder.startswith("wasb"):
            report.add("logs", f"helm/{release}", f"remote_base_log_folder {folder!r} does not start with 'wasb'")
        grants = {
            (str(r.inputs.get("principalId")), role_names.get(str(r.inputs.get("roleDefinitionId")).rsplit("/", 1)[-1]))
            for r in result.by_type(ROLE_ASSIGNMENT)
            if str(r.inputs.get("scope")).endswith(f"/blobServices/default/containers/{container}")
        }
        pods = [p for p in chart_pods({release: rel}) if p.labels.get("component") in LOG_WRITING_COMPONENTS]
        if not pods:
            report.add("logs", f"helm/{release}", "no Airflow pod that writes logs found in the render")
        for pod in pods:
            report.validated["remote logs (Airflow pod)"] += 1
            component = str(pod.labels.get("component"))
            if str(pod.labels.get("azure.workload.identity/use")).lower() != "true":
                report.add("logs", pod.subject, "no azure.workload.identity/use label: the pod gets no Azure token")
            sa = str(pod.spec.get("serviceAccountName") or "default")
            sa_obj = inv.accounts.get((pod.namespace, sa)) or {}
            annotated = ((sa_obj.get("metadata") or {}).get("annotations") or {}).get(
                "azure.workload.identity/client-id"
            )
            identity = federated.get(kube.service_account_subject(pod.namespace, sa))
            if identity is None:
                report.add("logs", pod.subject, f"ServiceAccount {sa}: no federated credential for it")
                continue
            client_id, principal_id = client_ids.get(identity, ("", ""))
            if annotated != client_id:
                report.add(
                    "logs",
                    pod.subject,
                    f"ServiceAccount {sa}: client-id annotation {annotated!r} is not identity {identity}'s",
                )
            wanted = _READ_ROLES if component in LOG_READING_COMPONENTS else _WRITE_ROLES
            if not any((principal_id, role) in grants for role in wanted):
                report.add(
                    "logs",
                    pod.subject,
                    f"identity {identity} has none of {', '.join(wanted)} on the logs container {container}",
                )
            names = LOG_WRITING_COMPONENTS[component]
            containers = [c for w, c in _containers(pod) if ".containers[" in w]
            main = next((c for c in containers if c.get("name") in names), containers[0] if containers else {})
            refs = [
                (e.get("valueFrom") or {}).get("secretKeyRef") or {}
                for e in main.get("env") or []
                if e.get("name") == "AIRFLOW_CONN_WASB_DEFAULT"
            ]
            if not refs:
                report.add("logs", pod.subject, "no AIRFLOW_CONN_WASB_DEFAULT: the wasb handler has no connection")
            for ref in refs:
                keys = inv.secrets.get((pod.namespace, str(ref.get("name"))), set())
                if keys is not None and ref.get("key") not in keys:
                    report.add(
                        "logs",
                        pod.subject,
                        f"AIRFLOW_CONN_WASB_DEFAULT: Secret {ref.get('name')} has no key {ref.get('key')}",
                    )


def check_chart_hardening(rendered: Rendered, report: Report) -> None:
    inv = inventory(rendered)
    for pod in chart_pods(rendered.charts):
        for where, container in _containers(pod):
            report.validated["container hardening"] += 1
            failed: dict[Severity, list[str]] = {}
            for rule in CONTAINER_RULES:
                if not rule.holds(pod.spec, container):
                    failed.setdefault(rule.severity, []).append(rule.requirement)
            for severity, requirements in sorted(failed.items()):
                report.add("hardening", pod.subject, f"{where}: missing {'; '.join(requirements)}", severity)
        if AUTOMOUNT_SEVERITY is None:
            continue
        report.validated["pod service-account token"] += 1
        account = str(pod.spec.get("serviceAccountName") or pod.spec.get("serviceAccount") or "default")
        own = pod.spec.get("automountServiceAccountToken")
        by_account = (inv.accounts.get((pod.namespace, account)) or {}).get("automountServiceAccountToken")
        mounted = own if own is not None else (by_account if by_account is not None else True)
        if mounted and own is not True and (pod.namespace, account) not in inv.bound_accounts:
            report.add(
                "hardening",
                pod.subject,
                f"{pod.prefix}.automountServiceAccountToken: the API token is mounted, but ServiceAccount "
                f"{account} has no Role or ClusterRole binding (the pod does not call the Kubernetes API): "
                "set automountServiceAccountToken: false",
                AUTOMOUNT_SEVERITY,
            )


# ----------------------------------------------------------------- credentials
_URL_PASSWORD = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^/\s:@]*:([^@\s/]+)@")


def check_chart_credentials(result: RunResult, rendered: Rendered, report: Report) -> None:
    """No plaintext credential in what the charts render: no credential the stack generated
    (the mocks' values), no Secret whose value the chart renders itself (it would sit in the
    Helm release and in state; the stack's Secrets come from ESO), no password inside a URL in
    a ConfigMap or an env value, no credential-named env var with a literal value."""
    sensitive = sorted(result.mocks.sensitive_values, key=len, reverse=True)
    pattern = re.compile("|".join(re.escape(v) for v in sensitive)) if sensitive else None
    for release, rel in _rendered(rendered.charts):
        leaking = {p for p, text in rel.install.items() if pattern is not None and pattern.search(text)}
        for path, obj in rel.objects:
            kind = obj.get("kind")
            subject = _subject(release, obj)
            decoded = _decoded_fields(obj)
            if pattern is not None:
                for where, text in decoded + (list(_strings(obj)) if path in leaking else []):
                    if pattern.search(text):
                        report.add("credentials", subject, f"{where}: carries a credential the stack generated")
            if kind == "Secret":
                report.validated["rendered Secret (no value rendered by the chart)"] += 1
                for where, text in decoded:
                    if text.strip():
                        report.add(
                            "credentials",
                            subject,
                            f"{where.removesuffix(' (decoded)')}: the chart renders this value itself, so it is "
                            "plain text in the Helm release and state; let ESO make this Secret",
                        )
            elif kind == "ConfigMap":
                report.validated["rendered ConfigMap (no password in a URL)"] += 1
                for key, text in sorted((obj.get("data") or {}).items()):
                    if isinstance(text, str) and _URL_PASSWORD.search(text):
                        report.add("credentials", subject, f"data.{key}: a URL with a password in it")
    for pod in chart_pods(rendered.charts):
        for where, container in _containers(pod):
            for env in container.get("env") or []:
                value = env.get("value")
                if not isinstance(value, str) or not value.strip():
                    continue
                report.validated["rendered env value (no literal credential)"] += 1
                name = str(env.get("name"))
                if is_credential_key(name) or _URL_PASSWORD.search(value):
                    report.add(
                        "credentials",
                        pod.subject,
                        f"{where}.env[{name}].value: a credential as a literal value; use valueFrom.secretKeyRef",
                    )


def check_charts(
    result: RunResult,
    rendered: Rendered,
    report: Report,
    *,
    kubernetes_version: str,
    registry: str,
    mirrors: Mapping[str, Any] | None,
) -> None:
    """Every check on what the charts render (nothing to do for a release not rendered)."""
    check_chart_renders(rendered.charts, report)
    check_chart_schemas(rendered.charts, report, kubernetes_version)
    check_chart_hooks(rendered.charts, report)
    check_chart_unresolved(rendered.charts, report)
    check_chart_references(rendered, report)
    check_chart_images(rendered.charts, report, registry, mirrors)
    check_chart_logs_volume(rendered, report)
    check_remote_logs(result, rendered, report)
    from synth.operate_checks import check_operate

    check_operate(result, rendered, report)
    check_chart_hardening(rendered, report)
    check_chart_credentials(result, rendered, report)


def validate(
    result: RunResult,
    rendered: Rendered,
    *,
    kubernetes_version: str,
    eso_version: str,
    registry: str,
    strict: bool,
    mirrors: Mapping[str, Any] | None = None,
) -> Report:
    report = Report()
    with frozen_heap():  # the reference files parsed here add ~100,000 objects: no full rescans
        check_helm_values(rendered, report, strict)
        check_custom_resources(rendered, report, eso_version, strict)
        check_core_objects(rendered, report, kubernetes_version)
        check_cross_references(result, rendered, report, registry)
        check_chart_default_images(rendered, report, registry, strict)
        if mirrors is not None:
            check_image_mirrors(rendered, report, registry, mirrors)
        if rendered.charts:
            check_charts(
                result, rendered, report, kubernetes_version=kubernetes_version, registry=registry, mirrors=mirrors
            )
    return report

"""Validate a rendered stack against reference schemas and its own cross-references."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import jsonschema

from synth import reference
from synth.render import Rendered
from synth.runner import RunResult

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
    loaders = {"airflow": reference.airflow_chart_schema, "external-secrets": reference.eso_chart_schema}
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


def check_core_objects(rendered: Rendered, report: Report, kubernetes_version: str) -> None:
    import kubernetes_validate  # heavy: imported only when validating

    for fname, obj in rendered.manifests.items():
        if str(obj.get("apiVersion", "")).startswith("external-secrets.io/"):
            continue
        try:
            kubernetes_validate.validate(obj, kubernetes_version, strict=True)
        except kubernetes_validate.ValidationError as err:
            report.add("kubernetes", fname, f"{_path(err)}: {err.message}")
        except (kubernetes_validate.SchemaNotFoundError, kubernetes_validate.VersionNotSupportedError) as err:
            report.add("kubernetes", fname, f"no Kubernetes {kubernetes_version} schema: {err}", "warning")
            continue
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


def _image_ref(node: Any) -> str | None:
    """`registry/repository` of an image mapping (bitnami charts split the two), else None."""
    if not isinstance(node, dict) or not isinstance(node.get("repository"), str):
        return None
    registry = node.get("registry")
    return f"{registry}/{node['repository']}" if isinstance(registry, str) and registry else node["repository"]


def _images(values: Any) -> Iterable[tuple[str, str, Any]]:
    """(path, image reference, tag) for every `repository` in Helm values."""
    stack: list[tuple[str, Any]] = [("", values)]
    while stack:
        path, node = stack.pop()
        if isinstance(node, dict):
            ref = _image_ref(node)
            if ref is not None:
                yield path or "(root)", ref, node.get("tag")
            stack.extend((f"{path}.{k}" if path else k, v) for k, v in node.items())
        elif isinstance(node, list):
            stack.extend((f"{path}[{i}]", v) for i, v in enumerate(node))


def check_cross_references(result: RunResult, rendered: Rendered, report: Report, registry: str) -> None:
    def xref(subject: str, ok: bool, message: str) -> None:
        report.validated["cross-reference"] += 1
        if not ok:
            report.add("xref", subject, message)

    outputs = {k: v for k, (v, _) in result.outputs.items()}
    targets = {(_meta(es)[0], es["spec"]["target"]["name"]) for es in _objects(rendered, "ExternalSecret")}
    stores = {_meta(s) for s in _objects(rendered, "SecretStore")}
    accounts = {_meta(sa) for sa in _objects(rendered, "ServiceAccount")}
    vault_secrets = {str(r.inputs.get("secretName")) for r in result.by_type("azure-native:keyvault:Secret")}

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

    for fic in result.by_type("azure-native:managedidentity:FederatedIdentityCredential"):
        subject = str(fic.inputs.get("subject"))
        subjects = {f"system:serviceaccount:{ns}:{n}" for ns, n in accounts}
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
        for path, ref, _tag in _images(values):
            xref(f"helm/{release}", ref.startswith(registry + "/"), f"{path}: image {ref} is not from {registry}")
        if rendered.helm_meta[release]["chart"] != "airflow":
            continue
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


def _dig(values: Mapping[str, Any], path: str) -> Any:
    node: Any = values
    for part in path.split("."):
        node = node.get(part) if isinstance(node, Mapping) else None
    return node


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
    if _dig(values, "postgresql.enabled") is not False:
        paths.append("data.metadataSecretName")
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
        for path, default, _tag in _images(defaults):
            if not default:  # `repository: ""`/`~`: the chart falls back to another key
                continue
            report.validated["chart default image overridden"] += 1
            repository = _image_ref(_dig(values, path))
            if not (repository and repository.startswith(registry + "/")):
                report.add(
                    "images",
                    f"helm/{release}",
                    f"{path}: the chart's default image is not overridden to come from {registry}",
                )


def check_image_mirrors(rendered: Rendered, report: Report, registry: str, mirrors: Mapping[str, Any]) -> None:
    """Every image a release pulls is in the mirror list (images.txt), so the first install
    finds it in the registry."""
    prefix = registry + "/"
    for release, values in rendered.helm.items():
        for path, repository, tag in _images(values):
            if not tag:
                continue
            ref = f"{repository}:{tag}"
            report.validated["image mirror"] += 1
            if ref.removeprefix(prefix) not in mirrors:
                report.add("images", f"helm/{release}", f"{path}: {ref} is not in the mirror list")


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
    check_helm_values(rendered, report, strict)
    check_custom_resources(rendered, report, eso_version, strict)
    check_core_objects(rendered, report, kubernetes_version)
    check_cross_references(result, rendered, report, registry)
    check_chart_default_images(rendered, report, registry, strict)
    if mirrors is not None:
        check_image_mirrors(rendered, report, registry, mirrors)
    return report

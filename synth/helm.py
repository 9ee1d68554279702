"""Render the stack's Helm releases with a real Helm engine, offline, so synth can validate
what the charts would actually apply (not only the values going in).

One small interface, :class:`Engine`, chosen at run time by :func:`engine`:

1. ``helm-python-sdk`` (``import helm_python``): Helm v4's Go SDK through ctypes, no binary,
   no cluster, no network (pinned in requirements-dev.txt);
2. else a ``helm`` binary on PATH: ``helm template <release> <archive> -n <ns> -f values.yaml
   --kube-version <v>``, its output split on ``---`` and grouped by ``# Source:``;
3. else none: every release is reported "not rendered" (a warning, never an error on its own).

``AIRFLOW_AKS_HELM_ENGINE=sdk|binary|none`` forces a choice (``auto`` is the default).

The chart archive (what ``helm pull`` gives) comes through the ONE reference resolver,
:func:`synth.reference.find`: ``airflow-chart/<v>/airflow-<v>.tgz``,
``external-secrets/<v>/external-secrets-<v>.tgz``. If it is missing (offline, no reference
directory, not in the cache) the release is "not rendered" too.

For tests and other code, the one call to remember::

    from synth import helm
    objs = helm.render_objects("airflow", "1.15.0", values, release="airflow", namespace="airflow")
    # -> [{"apiVersion": ..., "kind": ..., ...}, ...]; raises helm.NotRendered / helm.RenderError
"""

from __future__ import annotations

import base64
import concurrent.futures
import functools
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import yaml

from synth import reference

if TYPE_CHECKING:
    from synth.render import Rendered

ENGINE_VAR = "AIRFLOW_AKS_HELM_ENGINE"
SDK_REQUIREMENT = "helm-python-sdk==0.2.2"
# chart name -> archive path in the reference layout (what `helm pull` gives)
ARCHIVES = {
    "airflow": "airflow-chart/{version}/airflow-{version}.tgz",
    "external-secrets": "external-secrets/{version}/external-secrets-{version}.tgz",
}
BINARY_TIMEOUT_SECONDS = 120.0


def sdk_allowed() -> bool:
    """Whether the SDK may be the engine here (AIRFLOW_AKS_HELM_ENGINE unset, auto or sdk)."""
    return os.environ.get(ENGINE_VAR, "").strip().lower() in {"", "auto", "sdk"}


class NotRendered(Exception):  # noqa: N818 - a state to report, not a failure
    """The release could not be rendered here: no engine, or no chart archive. A warning."""


class RenderError(Exception):
    """The engine refused the chart with these values (a template `fail`, values the chart's
    schema rejects, output that is not YAML). An error: the real install would fail too."""


class Engine(Protocol):
    """What synth needs from Helm: render a packaged chart to {template path: text}."""

    name: str

    def render(
        self,
        archive: Path,
        values: Mapping[str, Any],
        *,
        release: str,
        namespace: str,
        kube_version: str | None = None,
        upgrade: bool = False,
    ) -> dict[str, str]: ...


def helm_kube_version(version: str) -> str:
    """`1.33` -> `v1.33.0`: the form `--kube-version` and the SDK both parse."""
    parts = version.lstrip("v").split(".")
    while len(parts) < 3:
        parts.append("0")
    return "v" + ".".join(parts[:3])


# ----------------------------------------------------------------- engines
class SdkEngine:
    """helm-python-sdk: Helm v4's Go SDK in-process (ctypes releases the GIL while it renders,
    so releases render in parallel threads)."""

    def __init__(self) -> None:
        import helm_python

        self._helm = helm_python
        self.name = f"helm-python-sdk {helm_python.__version__} (Helm {helm_python.helm_sdk_version()})"

    def _chart(self, archive: Path) -> Any:
        """A fresh load per render (~20 ms), never a shared one: Helm's dependency processing
        edits the loaded chart, so a chart rendered once with a subchart disabled
        (`postgresql.enabled: false`) would lack that subchart in every later render, and
        two threads rendering one loaded chart would race."""
        return self._helm.Chart.load(str(archive))

    def render(
        self,
        archive: Path,
        values: Mapping[str, Any],
        *,
        release: str,
        namespace: str,
        kube_version: str | None = None,
        upgrade: bool = False,
    ) -> dict[str, str]:
        try:
            chart = self._chart(archive)
            return self._render(chart, dict(values), release, namespace, kube_version, upgrade)
        except self._helm.HelmError as err:
            raise RenderError(f"{type(err).__name__}: {err}") from err
        except OSError as err:
            raise RenderError(f"{archive}: {err}") from err

    def _render(
        self, chart: Any, values: dict[str, Any], release: str, namespace: str, kube_version: str | None, upgrade: bool
    ) -> dict[str, str]:
        opts: dict[str, Any] = {
            "name": release,
            "namespace": namespace,
            "is_install": not upgrade,
            "is_upgrade": upgrade,
            "revision": 2 if upgrade else 1,
        }
        if kube_version is None:
            return dict(chart.render(values, **opts))
        # Chart.render() has no kube_version parameter in 0.2.2, but the library's render
        # options do (`kube_version`, the `--kube-version` of `helm template`): the charts
        # branch on .Capabilities.KubeVersion (ESO adds hostUsers from 1.33 on).
        native = getattr(self._helm, "_native", None)
        if native is None or not hasattr(native, "call_string"):  # pragma: no cover - another SDK version
            return dict(chart.render(values, **opts))
        text = native.call_string(
            "helm_render", chart._raw(), json.dumps(values), json.dumps({**opts, "kube_version": kube_version})
        )
        rendered: dict[str, str] = json.loads(text)
        return rendered


class BinaryEngine:
    """A `helm` binary (v3 or v4): `helm template`, output split on `---` by `# Source:`."""

    def __init__(self, path: str) -> None:
        self.path = path
        try:
            proc = subprocess.run(  # noqa: S603 - the helm found on PATH, fixed arguments
                [path, "version", "--short"], capture_output=True, text=True, timeout=30, check=False
            )
            version = proc.stdout.strip() or "version unknown"
        except (OSError, subprocess.SubprocessError) as err:
            version = f"version unknown: {err}"
        self.name = f"helm binary {version} ({path})"

    def render(
        self,
        archive: Path,
        values: Mapping[str, Any],
        *,
        release: str,
        namespace: str,
        kube_version: str | None = None,
        upgrade: bool = False,
    ) -> dict[str, str]:
        with tempfile.TemporaryDirectory(prefix="synth-helm-") as tmp:
            values_file = Path(tmp) / "values.yaml"
            values_file.write_text(json.dumps(values))  # JSON is YAML
            cmd = [self.path, "template", release, str(archive), "--namespace", namespace, "-f", str(values_file)]
            if kube_version:
                cmd += ["--kube-version", kube_version]
            if upgrade:
                cmd.append("--is-upgrade")
            try:
                proc = subprocess.run(  # noqa: S603 - our own arguments
                    cmd, capture_output=True, text=True, timeout=BINARY_TIMEOUT_SECONDS, check=False
                )
            except (OSError, subprocess.SubprocessError) as err:
                raise RenderError(f"{self.path} template: {err}") from err
        if proc.returncode != 0:
            raise RenderError(f"helm template exited {proc.returncode}: {proc.stderr.strip()}")
        return split_stream(proc.stdout)


_SOURCE = re.compile(r"^# Source: (\S.*)$", re.MULTILINE)
_SEPARATOR = re.compile(r"^---[ \t]*$", re.MULTILINE)


def split_stream(stream: str) -> dict[str, str]:
    """`helm template` output -> {template path: its documents}, like the SDK's render."""
    out: dict[str, list[str]] = {}
    for i, doc in enumerate(_SEPARATOR.split(stream)):
        if not doc.strip():
            continue
        source = _SOURCE.search(doc)
        out.setdefault(source.group(1).strip() if source else f"(stream)/{i}", []).append(doc)
    return {path: "\n---\n".join(docs) for path, docs in out.items()}


@functools.cache
def _sdk_engine() -> SdkEngine | None:
    try:
        return SdkEngine()
    except Exception:  # noqa: BLE001 - not installed, or its native library does not load here
        return None


@functools.cache
def _binary_engine(path: str) -> BinaryEngine:
    return BinaryEngine(path)


def engine() -> Engine | None:
    """The engine to use here: the SDK if importable, else `helm` on PATH, else None."""
    choice = os.environ.get(ENGINE_VAR, "").strip().lower() or "auto"
    if sdk_allowed():
        sdk = _sdk_engine()
        if sdk is not None or choice == "sdk":
            return sdk
    if choice in {"auto", "binary"}:
        path = shutil.which("helm")
        if path:
            return _binary_engine(path)
    return None


def no_engine_reason() -> str:
    choice = os.environ.get(ENGINE_VAR, "").strip().lower() or "auto"
    if choice == "none":
        return f"no Helm engine ({ENGINE_VAR}=none)"
    if choice == "sdk":
        return f"helm-python-sdk is not importable ({ENGINE_VAR}=sdk; pip install {SDK_REQUIREMENT})"
    if choice == "binary":
        return f"no `helm` binary on PATH ({ENGINE_VAR}=binary)"
    return f"no Helm engine: helm-python-sdk is not importable (pip install {SDK_REQUIREMENT}) and no `helm` on PATH"


def chart_archive(chart: str, version: str) -> Path:
    """The packaged chart, through the reference resolver (raises ReferenceNotFoundError)."""
    pattern = ARCHIVES.get(chart)
    if pattern is None:
        raise reference.ReferenceNotFoundError(f"no chart archive known for chart {chart}")
    return reference.find(pattern.format(version=version))


# ----------------------------------------------------------------- parsing
_CRD_DOC = re.compile(r"^kind:[ \t]*CustomResourceDefinition[ \t]*$", re.MULTILINE)
_HEAD_KEYS = ("apiVersion:", "kind:", "metadata:")


def _crd_head(doc: str) -> dict[str, Any] | None:
    """apiVersion, kind and metadata of a CRD document, read without parsing its schema (the
    External Secrets chart renders 2 MB of CRDs: parsing them fully was a third of synth)."""
    keep: list[str] = []
    inside = False
    for line in doc.splitlines():
        if line and not line[0].isspace() and not line.startswith("#"):
            inside = line.startswith(_HEAD_KEYS)
        if inside:
            keep.append(line)
    try:
        head = yaml.load("\n".join(keep), Loader=reference.YAML_LOADER)  # noqa: S506 - a safe loader
    except yaml.YAMLError:
        return None
    return head if isinstance(head, dict) and head.get("kind") == "CustomResourceDefinition" else None


def _load_docs(path: str, text: str) -> list[Any]:
    try:
        return list(yaml.load_all(text, Loader=reference.YAML_LOADER))
    except yaml.YAMLError as err:
        raise RenderError(f"{path} rendered text that is not YAML: {err}") from err


def documents(
    outputs: Mapping[str, str], crd_texts: dict[tuple[str, str], str] | None = None
) -> Iterator[tuple[str, dict[str, Any]]]:
    """(template path, object) for every non-empty document, in template-path order;
    NOTES.txt and partials are not manifests. Raises RenderError on output that is not YAML.

    With `crd_texts`, a CustomResourceDefinition comes back as its apiVersion, kind and
    metadata only, and its document text goes into crd_texts[(path, name)]."""
    for path in sorted(outputs):
        name = path.rsplit("/", 1)[-1]
        if name == "NOTES.txt" or name.startswith("_"):
            continue
        text = outputs[path]
        if crd_texts is not None and _CRD_DOC.search(text):
            docs: list[Any] = []
            for doc in _SEPARATOR.split(text):
                head = _crd_head(doc) if _CRD_DOC.search(doc) else None
                if head is not None:
                    crd_texts[(path, str((head.get("metadata") or {}).get("name")))] = doc
                    docs.append(head)
                else:
                    docs.extend(_load_docs(path, doc))
        else:
            docs = _load_docs(path, text)
        for doc in docs:
            if doc is None:
                continue
            if not isinstance(doc, dict):
                raise RenderError(f"{path} rendered a document that is not an object: {str(doc)[:80]!r}")
            yield path, doc


def objects(outputs: Mapping[str, str]) -> list[dict[str, Any]]:
    """The parsed objects of one render (empty documents and NOTES.txt skipped)."""
    return [obj for _, obj in documents(outputs)]


# Kinds with no namespace (of those charts render); every other kind is namespaced.
CLUSTER_SCOPED_KINDS = frozenset(
    {
        "APIService",
        "ClusterRole",
        "ClusterRoleBinding",
        "CustomResourceDefinition",
        "IngressClass",
        "MutatingWebhookConfiguration",
        "Namespace",
        "PersistentVolume",
        "PriorityClass",
        "StorageClass",
        "ValidatingAdmissionPolicy",
        "ValidatingAdmissionPolicyBinding",
        "ValidatingWebhookConfiguration",
    }
)


def in_namespace(obj: dict[str, Any], namespace: str) -> dict[str, Any]:
    """What `helm install -n <namespace>` applies: a namespaced object the template left
    without a namespace lands in the release's (most chart templates omit it)."""
    if obj.get("kind") not in CLUSTER_SCOPED_KINDS and isinstance(obj.get("metadata"), dict):
        obj["metadata"].setdefault("namespace", namespace)
    return obj


def render_objects(
    chart: str,
    version: str,
    values: Mapping[str, Any],
    *,
    release: str,
    namespace: str,
    kube_version: str | None = None,
    upgrade: bool = False,
) -> list[dict[str, Any]]:
    """Render `chart` `version` (found through the reference resolver) with `values` and
    return its objects. Raises NotRendered (no engine or archive) or RenderError."""
    eng = engine()
    if eng is None:
        raise NotRendered(no_engine_reason())
    try:
        archive = chart_archive(chart, version)
    except reference.ReferenceNotFoundError as err:
        raise NotRendered(str(err)) from err
    outputs = eng.render(
        archive,
        values,
        release=release,
        namespace=namespace,
        kube_version=helm_kube_version(kube_version) if kube_version else None,
        upgrade=upgrade,
    )
    return [in_namespace(obj, namespace) for obj in objects(outputs)]


@dataclass(frozen=True)
class EmbeddedPod:
    """A Pod manifest a chart ships inside a ConfigMap (Airflow's pod_template_file)."""

    configmap: str
    key: str
    pod: dict[str, Any]

    @property
    def file_name(self) -> str:
        return f"Pod.{self.configmap}.{self.key.rsplit('.', 1)[0]}.yaml"


def embedded_pods(objs: list[tuple[str, dict[str, Any]]]) -> list[EmbeddedPod]:
    """Every `kind: Pod` document inside a rendered ConfigMap's *.yaml / *.yml key."""
    found: list[EmbeddedPod] = []
    for _, obj in objs:
        if obj.get("kind") != "ConfigMap":
            continue
        name = str((obj.get("metadata") or {}).get("name", ""))
        for key, text in sorted((obj.get("data") or {}).items()):
            if not key.endswith((".yaml", ".yml")) or not isinstance(text, str) or "Pod" not in text:
                continue
            try:
                docs = list(yaml.load_all(text, Loader=reference.YAML_LOADER))
            except yaml.YAMLError:
                continue  # not ours to judge: it is a string in a ConfigMap
            found.extend(
                EmbeddedPod(name, key, doc) for doc in docs if isinstance(doc, dict) and doc.get("kind") == "Pod"
            )
    return found


# ----------------------------------------------------------------- the stack's releases
@dataclass
class ReleaseRender:
    """One Helm release of the stack, rendered for an install and for an upgrade."""

    release: str
    chart: str
    version: str
    namespace: str
    install: dict[str, str] = field(default_factory=dict)  # template path -> text
    upgrade: dict[str, str] = field(default_factory=dict)
    objects: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # (template, object), install
    upgrade_objects: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    pods: list[EmbeddedPod] = field(default_factory=list)  # pod templates inside ConfigMaps
    # CustomResourceDefinitions are kept as rendered text (objects has their metadata only)
    crd_texts: dict[tuple[str, str], str] = field(default_factory=dict)  # (template, name) -> text
    seconds: float = 0.0
    not_rendered: str | None = None  # why not (a warning)
    error: str | None = None  # the engine refused (an error)

    @property
    def rendered(self) -> bool:
        return self.not_rendered is None and self.error is None


def _render(
    eng: Engine, rel: ReleaseRender, archive: Path, values: Mapping[str, Any], kube: str, upgrade: bool
) -> dict[str, str]:
    try:
        return eng.render(
            archive, values, release=rel.release, namespace=rel.namespace, kube_version=kube, upgrade=upgrade
        )
    except RenderError as err:
        raise RenderError(f"{'upgrade' if upgrade else 'install'} render: {err}") from err


def _parse(
    rel: ReleaseRender,
    install: concurrent.futures.Future[dict[str, str]],
    upgrade: concurrent.futures.Future[dict[str, str]],
    started: float,
) -> None:
    """A release's two renders, once both are done, parsed into its objects (or its error)."""
    try:
        rel.install, rel.upgrade = install.result(), upgrade.result()
        rel.objects = list(documents(rel.install, rel.crd_texts))
        # An upgrade render mostly repeats the install one: parse only templates that differ.
        same = {p for p, text in rel.upgrade.items() if rel.install.get(p) == text}
        reused = [(p, o) for p, o in rel.objects if p in same]
        changed = list(documents({p: t for p, t in rel.upgrade.items() if p not in same}, {}))
        rel.upgrade_objects = sorted([*reused, *changed], key=lambda po: po[0])
        for _, obj in [*rel.objects, *changed]:
            in_namespace(obj, rel.namespace)
        rel.pods = embedded_pods(rel.objects)
        for pod in rel.pods:  # the executor launches its task pods in the release's namespace
            in_namespace(pod.pod, rel.namespace)
    except RenderError as err:
        rel.error = str(err)
    rel.seconds = time.perf_counter() - started


def render_workers(renders: int) -> int:
    """Renders at once: at most one per CPU. Go runs on as many threads as CPUs, so more at once
    run no faster, and each holds a heap of its own (bench/synth_bench.py --runs 9, 2 CPUs: two
    at once instead of four, the same wall time, peak memory dev -11 MB, prod -14 MB)."""
    return max(1, min(renders, os.cpu_count() or 1))


def render_releases(rendered: Rendered, kubernetes_version: str) -> dict[str, ReleaseRender]:
    """Render every Helm release of a synth run for an install and for an upgrade."""
    return render_values(rendered.helm, rendered.helm_meta, kubernetes_version)


def render_values(
    values: Mapping[str, Mapping[str, Any]],
    metas: Mapping[str, Mapping[str, Any]],
    kubernetes_version: str,
    workers: int | None = None,
) -> dict[str, ReleaseRender]:
    """Render releases (name -> values, name -> chart, version and namespace) for an install
    and for an upgrade: every install is queued before any upgrade, so each release's first
    render starts at once. `workers`: renders at once (default: render_workers)."""
    eng = engine()
    kube = helm_kube_version(kubernetes_version)
    out: dict[str, ReleaseRender] = {}
    jobs: list[tuple[ReleaseRender, Path]] = []
    for release in sorted(values):
        meta = metas[release]
        rel = ReleaseRender(release, str(meta["chart"]), str(meta["version"]), str(meta["namespace"]))
        out[release] = rel
        if eng is None:
            rel.not_rendered = no_engine_reason()
            continue
        try:
            jobs.append((rel, chart_archive(rel.chart, rel.version)))
        except reference.ReferenceNotFoundError as err:
            rel.not_rendered = f"no chart archive: {err}"
    if eng is not None and jobs:
        started = time.perf_counter()
        with concurrent.futures.ThreadPoolExecutor(workers or render_workers(2 * len(jobs))) as pool:
            renders = {
                (rel.release, upgrade): pool.submit(_render, eng, rel, path, values[rel.release], kube, upgrade)
                for upgrade in (False, True)
                for rel, path in jobs
            }
            for rel, _ in jobs:
                _parse(rel, renders[rel.release, False], renders[rel.release, True], started)
    return out


def engine_name() -> str | None:
    eng = engine()
    return eng.name if eng is not None else None


def decoded_secret_data(obj: Mapping[str, Any]) -> dict[str, str]:
    """A Secret's data (base64-decoded, as text) and stringData, by key."""
    out: dict[str, str] = {}
    for key, value in (obj.get("data") or {}).items():
        try:
            out[key] = base64.b64decode(str(value), validate=True).decode("utf-8", errors="replace")
        except ValueError:
            out[key] = str(value)
    out.update({k: str(v) for k, v in (obj.get("stringData") or {}).items()})
    return out


# ----------------------------------------------------------------- RBAC, for review
RBAC_KINDS = ("ClusterRole", "Role", "ClusterRoleBinding", "RoleBinding")


def _rule(rule: Mapping[str, Any]) -> str:
    verbs = ",".join(str(v) for v in rule.get("verbs") or []) or "(no verbs)"
    if rule.get("nonResourceURLs"):
        return f"{verbs} on {','.join(str(u) for u in rule['nonResourceURLs'])}"
    groups = [str(g) for g in rule.get("apiGroups") or [""]]
    resources = ",".join(str(r) for r in rule.get("resources") or []) or "(no resources)"
    where = "; ".join(f"{g}/{resources}" if g else resources for g in groups)
    names = rule.get("resourceNames")
    return f"{verbs} on {where}" + (f" (only {','.join(str(n) for n in names)})" if names else "")


def rbac_summary(objs: list[tuple[str, dict[str, Any]]]) -> list[dict[str, Any]]:
    """Roles and bindings a release renders: kind, name, and what they allow / to whom."""
    out: list[dict[str, Any]] = []
    for _, obj in objs:
        kind = obj.get("kind")
        if kind not in RBAC_KINDS:
            continue
        meta = obj.get("metadata") or {}
        entry: dict[str, Any] = {"kind": kind, "name": meta.get("name")}
        if meta.get("namespace"):
            entry["namespace"] = meta["namespace"]
        if kind in ("ClusterRole", "Role"):
            entry["rules"] = [_rule(r) for r in obj.get("rules") or []]
            aggregated = sorted(
                k.rsplit("aggregate-to-", 1)[1]
                for k, v in (meta.get("labels") or {}).items()
                if "/aggregate-to-" in k and str(v).lower() == "true"
            )
            if aggregated:
                entry["aggregatedInto"] = aggregated
        else:
            ref = obj.get("roleRef") or {}
            entry["role"] = f"{ref.get('kind')}/{ref.get('name')}"
            entry["subjects"] = [
                f"{s.get('kind')} {s['namespace'] + '/' if s.get('namespace') else ''}{s.get('name')}"
                for s in obj.get("subjects") or []
            ]
        out.append(entry)
    return out

"""Turn a mock run into reviewable artifacts: resources.json, manifests, Helm values, graphs."""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from policy.rules import HELM_RELEASE
from synth.graph import provider_urn
from synth.mocks import redact
from synth.runner import ResourceRecord, RunResult

if TYPE_CHECKING:
    from synth.helm import ReleaseRender


def short_urn(urn: str) -> str:
    """type::name of a URN (providers and components included)."""
    if not urn:
        return ""
    parts = urn.split("::")
    return f"{parts[2].split('$')[-1]}::{parts[3]}" if len(parts) >= 4 else urn


def _clean(value: Any) -> Any:
    """Drop SDK-internal keys (`__defaults`, ...) and sort maps, for stable, diffable output."""
    if isinstance(value, dict):
        return {k: _clean(value[k]) for k in sorted(value) if not k.startswith("__")}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


def is_manifest(record: ResourceRecord) -> bool:
    return (
        record.custom
        and record.type.startswith("kubernetes:")
        and record.type != HELM_RELEASE
        and not record.type.startswith("kubernetes:helm.sh")
    )


def manifest(record: ResourceRecord) -> dict[str, Any]:
    """The object `kubectl apply` would receive, secrets redacted."""
    obj: dict[str, Any] = _clean(redact(record.inputs))
    ordered: dict[str, Any] = {k: obj[k] for k in ("apiVersion", "kind", "metadata") if k in obj}
    ordered.update({k: v for k, v in obj.items() if k not in ordered})
    return ordered


def helm_values(record: ResourceRecord) -> dict[str, Any]:
    values: dict[str, Any] = _clean(redact(record.inputs.get("values") or {}))
    return values


@dataclass
class Rendered:
    stack: str
    resources: list[dict[str, Any]]
    manifests: dict[str, dict[str, Any]]  # file name -> object
    helm: dict[str, dict[str, Any]]  # release name -> values
    helm_meta: dict[str, dict[str, Any]]  # release name -> chart, version, repo, namespace
    mermaid: str
    dot: str
    counts: dict[str, int] = field(default_factory=dict)
    # release name -> what a real Helm engine rendered (filled by synth.helm.render_releases)
    charts: dict[str, ReleaseRender] = field(default_factory=dict)


def _release_name(record: ResourceRecord) -> str:
    return str(record.inputs.get("name") or record.name)


def _manifest_file(obj: dict[str, Any]) -> str:
    meta = obj.get("metadata") or {}
    ns = meta.get("namespace")
    name = meta.get("name", "unnamed")
    return f"{obj.get('kind', 'Object')}.{ns + '.' if ns else ''}{name}.yaml"


def render(result: RunResult) -> Rendered:
    resources: list[dict[str, Any]] = []
    manifests: dict[str, dict[str, Any]] = {}
    helm: dict[str, dict[str, Any]] = {}
    helm_meta: dict[str, dict[str, Any]] = {}
    for rec in result.records:
        resources.append(
            {
                "type": rec.type,
                "name": rec.name,
                "urn": rec.urn,
                "parent": short_urn(rec.parent),
                "component": not rec.custom,
                "provider": short_urn(provider_urn(rec.provider)),
                "dependencies": sorted(short_urn(d) for d in rec.dependencies),
                "inputs": _clean(redact(rec.inputs)),
                # former URNs, where a resource moved: `pulumi up` adopts instead of replacing
                **({"aliases": rec.aliases} if rec.aliases else {}),
            }
        )
        if is_manifest(rec):
            obj = manifest(rec)
            manifests[_manifest_file(obj)] = obj
        elif rec.type == HELM_RELEASE:
            release = _release_name(rec)
            helm[release] = helm_values(rec)
            helm_meta[release] = {
                "chart": rec.inputs.get("chart"),
                "version": rec.inputs.get("version"),
                "repository": (rec.inputs.get("repositoryOpts") or {}).get("repo"),
                "namespace": rec.inputs.get("namespace"),
            }
    counts = dict(sorted(Counter(r.type for r in result.records if r.custom).items()))
    # The engine registers resources in whatever order their inputs resolve: sort, so that
    # resources.json is the same bytes on every run.
    resources.sort(key=lambda r: str(r["urn"]))
    return Rendered(
        stack=result.stack,
        resources=resources,
        manifests=manifests,
        helm=helm,
        helm_meta=helm_meta,
        mermaid=mermaid(result),
        dot=dot(result),
        counts=counts,
    )


# ---------------------------------------------------------------------- graphs
def _node_id(urn: str) -> str:
    return "n_" + re.sub(r"[^A-Za-z0-9_]", "_", short_urn(urn))


def _label(rec: ResourceRecord) -> str:
    kind = rec.type.rsplit(":", 1)[-1]
    return f"{kind}<br/>{rec.name}"


def _graph_parts(result: RunResult) -> tuple[dict[str, list[ResourceRecord]], list[tuple[str, str]]]:
    """Custom resources grouped by component, and dependency edges between them."""
    known = {r.urn for r in result.records if r.custom}
    groups: dict[str, list[ResourceRecord]] = {}
    for rec in sorted(result.records, key=lambda r: (r.parent, r.type, r.name)):
        if rec.custom and not rec.type.startswith("pulumi:providers:"):
            groups.setdefault(rec.parent, []).append(rec)
    edges: list[tuple[str, str]] = []
    for rec in result.records:
        if not rec.custom:
            continue
        for dep in sorted(set(rec.dependencies)):
            if dep in known and not dep.split("::")[2].split("$")[-1].startswith("pulumi:providers:"):
                edges.append((dep, rec.urn))
    return groups, sorted(edges)


def mermaid(result: RunResult) -> str:
    groups, edges = _graph_parts(result)
    lines = ["flowchart LR"]
    for parent, recs in groups.items():
        title = short_urn(parent).split("::")[-1] or "stack"
        lines.append(f'  subgraph {_node_id(parent)}["{title}"]')
        lines.extend(f'    {_node_id(r.urn)}["{_label(r)}"]' for r in recs)
        lines.append("  end")
    lines.extend(f"  {_node_id(a)} --> {_node_id(b)}" for a, b in edges)
    return "\n".join(lines) + "\n"


def dot(result: RunResult) -> str:
    groups, edges = _graph_parts(result)
    lines = [f'digraph "{result.stack}" {{', "  rankdir=LR;", "  node [shape=box, fontsize=10];"]
    for parent, recs in groups.items():
        title = short_urn(parent).split("::")[-1] or "stack"
        lines.append(f'  subgraph "cluster_{_node_id(parent)}" {{ label="{title}";')
        lines.extend(f'    {_node_id(r.urn)} [label="{_label(r).replace("<br/>", chr(92) + "n")}"];' for r in recs)
        lines.append("  }")
    lines.extend(f"  {_node_id(a)} -> {_node_id(b)};" for a, b in edges)
    lines.append("}")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------- output
def stable_order(records: list[ResourceRecord]) -> list[ResourceRecord]:
    """The records in a topological order of their parents and dependencies whose ties go by
    URN (synth.graph.topological_order). The engine's registration order varies from run
    to run (outputs resolve concurrently, RPCs go through a thread pool); what synth prints
    must not (deterministic output), and a parent or a dependency still comes before what
    waits for it, as in a preview."""
    from synth.graph import topological_order

    by_urn = {r.urn: r for r in records}
    return [by_urn[u] for u in topological_order({r.urn: [r.parent, *r.dependencies] for r in records})]


def tree(result: RunResult) -> str:
    """A preview-like tree: component -> children, `+ type name`, in stable_order; a component
    sits where its first resource does (a component has no dependencies of its own)."""
    ordered = stable_order(result.records)
    children: dict[str, list[ResourceRecord]] = {}
    for rec in ordered:
        children.setdefault(rec.parent, []).append(rec)
    index = {r.urn: i for i, r in enumerate(ordered)}

    def first(urn: str) -> int:
        return min((first(c.urn) for c in children[urn]), default=index[urn]) if urn in children else index[urn]

    for siblings in children.values():
        siblings.sort(key=lambda r: (first(r.urn), index[r.urn]))
    urns = {r.urn for r in result.records}
    stack_urn = next((r.parent for r in result.records if r.parent not in urns), "")
    lines = [f"+ pulumi:pulumi:Stack {stack_urn.split('::')[-1] or result.stack}"]

    def walk(parent: str, depth: int) -> None:
        for rec in children.get(parent, []):
            lines.append(f"{'    ' * depth}+ {rec.type} {rec.name}")
            walk(rec.urn, depth + 1)

    walk(stack_urn, 1)
    return "\n".join(lines)


class _ReviewDumper(yaml.SafeDumper):
    """Multi-line strings (pgbouncer.ini, scripts) as literal blocks, readable in a diff."""


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value and not any(line != line.rstrip() for line in value.splitlines()) else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_ReviewDumper.add_representer(str, _str)


def to_yaml(obj: Any) -> str:
    return yaml.dump(obj, Dumper=_ReviewDumper, sort_keys=False)


class _FastReviewDumper(getattr(yaml, "CSafeDumper", yaml.SafeDumper)):  # type: ignore[misc]
    """The same style through libyaml's emitter: the charts' CRDs are megabytes of YAML."""


_FastReviewDumper.add_representer(str, _str)


def chart_yaml(obj: Any) -> str:
    return yaml.dump(obj, Dumper=_FastReviewDumper, sort_keys=False)


def _redacted_secret(obj: dict[str, Any]) -> dict[str, Any]:
    """A rendered Secret as written to disk: every value `[secret]` (keys stay, for review)."""
    if obj.get("kind") != "Secret":
        return obj
    out = dict(obj)
    for key in ("data", "stringData"):
        if isinstance(out.get(key), dict):
            out[key] = dict.fromkeys(out[key], "[secret]")
    return out


def chart_files(charts: dict[str, ReleaseRender]) -> dict[str, str]:
    """`<release>/<Kind>.<name>.yaml` -> text for every rendered object (install render) and
    every pod template a chart embeds in a ConfigMap (`<release>/Pod.<configmap>.<key>.yaml`)."""
    files: dict[str, str] = {}
    for release, rel in sorted(charts.items()):
        if not rel.rendered:
            continue
        for template, obj in rel.objects:
            meta = obj.get("metadata") or {}
            name = f"{release}/{obj.get('kind', 'Object')}.{meta.get('name', 'unnamed')}.yaml"
            if name in files:  # the same kind and name in two namespaces
                name = f"{release}/{obj.get('kind', 'Object')}.{meta.get('namespace')}.{meta.get('name')}.yaml"
            text = rel.crd_texts.get((template, str(meta.get("name"))))
            files[name] = text.strip("\n") + "\n" if text is not None else chart_yaml(_redacted_secret(obj))
        for pod in rel.pods:
            files[f"{release}/{pod.file_name}"] = chart_yaml(pod.pod)
    return files


def foreign_output(out: Path) -> str | None:
    """Why `out` is not synth's to overwrite, or None. Writing cleans stale *.yaml under
    out/manifests; a folder that holds such files but no earlier synth output
    (resources.json) is someone else's, and nothing in it is deleted."""
    manifests_dir = out / "manifests"
    if out.exists() and not out.is_dir():
        return f"{out} is not a directory"
    if manifests_dir.is_dir() and any(manifests_dir.rglob("*.yaml")) and not (out / "resources.json").is_file():
        return (
            f"{manifests_dir} holds YAML files but {out} has no resources.json from an earlier synth: "
            "refusing to clean it; give --out a new or empty directory"
        )
    return None


def write(rendered: Rendered, out: Path) -> list[Path]:
    """Write build/<stack>/: resources.json, manifests/, manifests/helm/ (values, and each
    release's rendered objects in manifests/helm/<release>/), graph.mmd, graph.dot."""
    refused = foreign_output(out)
    if refused:
        raise FileExistsError(refused)
    written: list[Path] = []
    manifests_dir = out / "manifests"
    helm_dir = manifests_dir / "helm"
    for d in (out, manifests_dir, helm_dir):
        d.mkdir(parents=True, exist_ok=True)
    for stale in manifests_dir.rglob("*.yaml"):
        stale.unlink()
    for folder in sorted((p for p in helm_dir.rglob("*") if p.is_dir()), reverse=True):
        if not any(folder.iterdir()):
            folder.rmdir()

    def put(path: Path, text: str) -> None:
        path.write_text(text)
        written.append(path)

    put(out / "resources.json", json.dumps(rendered.resources, indent=2, sort_keys=False) + "\n")
    for fname, obj in sorted(rendered.manifests.items()):
        put(manifests_dir / fname, to_yaml(obj))
    for release, values in sorted(rendered.helm.items()):
        put(helm_dir / f"{release}.values.yaml", to_yaml(values))
    for fname, text in chart_files(rendered.charts).items():
        (helm_dir / fname).parent.mkdir(exist_ok=True)
        put(helm_dir / fname, text)
    put(out / "graph.mmd", rendered.mermaid)
    put(out / "graph.dot", rendered.dot)
    return written

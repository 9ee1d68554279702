"""`python -m synth <stack> --diff <rev>`: what `pulumi up` would do to a stack deployed from <rev>.

Both sides are rendered offline under the mocks: the working tree in this process, <rev> in a
temporary `git worktree` (removed afterwards; nothing else in the repository is touched) by a
subprocess that runs *that* tree's program and stack file under *this* synth runner and dumps
the registrations as JSON (an old revision needs no dump flag of its own). Resources are matched
by URN (a new resource whose aliases name an old URN is that resource), and each match is
classified the way the providers would (synth/replacement.py): update or REPLACE, with the
field that forces it. The Helm releases' rendered objects are compared too, under their release.

Secrets never cross the process boundary nor reach the output: a secret input is carried as a
keyed digest (HMAC with a per-run random key), shown as `[secret]`, "changed" when it did.

Exit codes: 0 nothing refused; 1 a stateful resource would be replaced or deleted (unless
`--allow-replace` names its URN or type) or a side failed to render; 2 bad usage (bad rev, ...).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from synth.graph import provider_urn
from synth.replacement import (
    HELM_RELEASE,
    STATEFUL,
    Reason,
    api_version_gvk,
    has_rules,
    k8s_reasons,
    replacement_reasons,
)

if TYPE_CHECKING:
    from synth.helm import ReleaseRender
    from synth.project import StackConfig
    from synth.runner import RunResult

EXIT_OK, EXIT_REFUSED, EXIT_USAGE = 0, 1, 2
SECRET = "\x00secret"  # noqa: S105 - a marker: a secret's digest travels as {SECRET: hex}
KEY_VAR = "AIRFLOW_AKS_DIFF_KEY"
MAX_VALUE = 100  # characters of a value shown
MAX_OBJECT_CHANGES = 8  # changed fields shown per rendered chart object


class DiffError(Exception):
    """A side could not be rendered, or git refused: one message, no traceback."""

    def __init__(self, message: str, code: int = EXIT_USAGE) -> None:
        super().__init__(message)
        self.code = code


# ----------------------------------------------------------------------------- snapshots
def normalize(value: Any, key: bytes) -> Any:
    """Plain JSON values; a synth.mocks.Secret becomes {SECRET: keyed digest of its value};
    SDK-internal keys (`__defaults`) dropped, as resources.json drops them."""
    from synth.mocks import Secret, Unknown

    if isinstance(value, Secret):
        plain = json.dumps(normalize(value.value, key), sort_keys=True, default=str)
        return {SECRET: hmac.new(key, plain.encode(), hashlib.sha256).hexdigest()}
    if isinstance(value, Unknown):
        return "[unknown]"
    if isinstance(value, Mapping):
        return {str(k): normalize(v, key) for k, v in value.items() if not str(k).startswith("__")}
    if isinstance(value, list | tuple):
        return [normalize(v, key) for v in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def _chart_object(obj: Mapping[str, Any], key: bytes) -> Any:
    """A rendered object with a Secret's values as digests (a chart-rendered Secret is plain)."""
    out = dict(obj)
    if obj.get("kind") == "Secret":
        for part in ("data", "stringData"):
            if isinstance(out.get(part), Mapping):
                out[part] = {k: _digest(v, key) for k, v in out[part].items()}
    return normalize(out, key)


def _digest(value: Any, key: bytes) -> dict[str, str]:
    plain = json.dumps(value, sort_keys=True, default=str)
    return {SECRET: hmac.new(key, plain.encode(), hashlib.sha256).hexdigest()}


def object_key(obj: Mapping[str, Any]) -> str:
    meta = obj.get("metadata") or {}
    where = f"{meta['namespace']}/" if meta.get("namespace") else ""
    return f"{obj.get('kind', 'Object')} {where}{meta.get('name', 'unnamed')}"


def snapshot(result: RunResult, charts: Mapping[str, ReleaseRender], key: bytes) -> dict[str, Any]:
    """A run as JSON: resources by URN (inputs normalized) and each release's rendered objects."""
    resources: dict[str, Any] = {}
    for rec in result.records:
        resources[rec.urn] = {
            "type": rec.type,
            "name": rec.name,
            "custom": rec.custom,
            "read": rec.read,
            "protect": rec.protect,
            "aliases": list(rec.aliases),
            "ignoreChanges": list(rec.ignore_changes),
            # recorded by synth/runner.py where it carries them (older runners do not)
            "replaceOnChanges": list(getattr(rec, "replace_on_changes", []) or []),
            "deleteBeforeReplace": bool(getattr(rec, "delete_before_replace", False)),
            "inputs": normalize(rec.inputs, key),
            "provider": provider_urn(rec.provider),  # its provider resource ("": a default provider)
        }
    rendered: dict[str, Any] = {}
    for release, rel in charts.items():
        rendered[release] = {
            "rendered": rel.rendered,
            "why": rel.not_rendered or rel.error,
            "objects": {object_key(obj): _chart_object(obj, key) for _, obj in rel.objects} if rel.rendered else {},
        }
    return {"stack": result.stack, "resources": resources, "charts": rendered}


def render_snapshot(config: StackConfig, project_dir: Path, kubernetes_version: str, key: bytes) -> dict[str, Any]:
    """Run the program in `project_dir` for `config` under the mocks, render its Helm releases."""
    from synth import helm
    from synth.render import render
    from synth.runner import run_stack

    result = run_stack(config, project_dir)
    charts = helm.render_releases(render(result), kubernetes_version)
    return snapshot(result, charts, key)


def _kubernetes_version(values: Mapping[str, str], stack: str, secret_keys: Sequence[str]) -> str:
    """The stack's Kubernetes version as the tree's own config module reads it (a fallback: the key)."""
    try:
        from config import parse_settings

        return str(parse_settings(stack, values, secret_keys).kubernetes_version)
    except Exception:  # noqa: BLE001 - an older tree's config: the raw key is good enough for Helm
        return str(values.get("airflow-aks:kubernetesVersion", "1.33")).strip('"')


def dump_main(argv: Sequence[str]) -> int:
    """The old side, in a subprocess: `<project dir> <stack> <out.json>`. The synth package is
    this one (imported first); every other module (config, plan, components, policy) is the
    tree's own. Exit 0 and the JSON written; else 1 (program failed) or 2 (stack file), a message."""
    project_dir, stack, out = Path(argv[0]), argv[1], Path(argv[2])
    import synth.helm
    import synth.mocks
    import synth.render
    import synth.runner  # noqa: F401 - loaded from this tree before the path moves
    from synth.project import StackFileError, StackNotFoundError, read_stack
    from synth.stackfile import redact

    here = Path(__file__).resolve().parent.parent
    mine = {
        name
        for name, module in sys.modules.items()
        if "." not in name
        and name != "synth"
        and Path(str(getattr(module, "__file__", None) or "/")).resolve()
        in (here / f"{name}.py", here / name / "__init__.py")
    }
    for name in list(sys.modules):
        if name.split(".")[0] in mine:
            del sys.modules[name]  # config, plan, policy...: the old tree brings its own
    sys.path[:] = [str(project_dir), *(p for p in sys.path if p not in ("", ".", str(here)))]

    key = bytes.fromhex(os.environ.get(KEY_VAR, "00"))
    try:
        read = read_stack(stack, project_dir)
    except StackNotFoundError:
        out.write_text(json.dumps({"missing": True}))
        return 0
    except StackFileError as err:
        print(f"the stack file is not valid: {err}", file=sys.stderr)
        return 2
    if read.problems:
        problems = "; ".join(str(p) for p in read.problems)
        print(redact(f"the stack file is not valid: {problems}", read.sensitive), file=sys.stderr)
        return 2
    config = read.config
    try:
        snap = render_snapshot(
            config, project_dir, _kubernetes_version(config.values, config.stack, config.secret_keys), key
        )
    except Exception as err:  # noqa: BLE001 - reported without a traceback
        print(redact(f"the program failed under mocks: {type(err).__name__}: {err}", read.sensitive), file=sys.stderr)
        return 1
    snap["sensitive"] = sorted(read.sensitive)
    out.write_text(json.dumps(snap))
    return 0


# ----------------------------------------------------------------------------- git
def _git(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, check=False)  # noqa: S603, S607


def resolve_rev(repo: Path, rev: str) -> tuple[str, Path]:
    """The commit `rev` names, and the repository's top level; DiffError (exit 2) if neither."""
    if not rev or rev.startswith("-"):
        raise DiffError(f"not a git revision: {rev!r}")
    top = _git(repo, "rev-parse", "--show-toplevel")
    if top.returncode != 0:
        raise DiffError(f"{repo} is not in a git repository: --diff needs one ({top.stderr.strip()})")
    found = _git(repo, "rev-parse", "--verify", "--quiet", "--end-of-options", f"{rev}^{{commit}}")
    if found.returncode != 0:
        raise DiffError(f"unknown git revision {rev!r}: git rev-parse finds no commit by that name")
    return found.stdout.strip(), Path(top.stdout.strip())


class OldSide:
    """The stack rendered at a revision: a temporary worktree and a subprocess, started at once
    so that the working tree renders meanwhile; `result()` waits; `close()` removes everything."""

    def __init__(self, project_dir: Path, rev: str, stack: str, key: bytes) -> None:
        self.commit, top = resolve_rev(project_dir, rev)
        self.rev = rev
        self.repo = top
        self.tmp = Path(tempfile.mkdtemp(prefix="synth-diff-"))
        self.tree = self.tmp / "tree"
        self.out = self.tmp / "old.json"
        self.proc: subprocess.Popen[str] | None = None
        try:
            added = _git(top, "worktree", "add", "--detach", "--quiet", str(self.tree), self.commit)
            if added.returncode != 0:
                raise DiffError(f"git worktree add failed: {added.stderr.strip()}")
            old_project = self.tree / project_dir.resolve().relative_to(top.resolve())
            env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
            env[KEY_VAR] = key.hex()
            boot = (
                f"import sys; sys.path.insert(0, {str(Path(__file__).resolve().parent.parent)!r}); "
                "from synth.diff import dump_main; sys.exit(dump_main(sys.argv[1:]))"
            )
            self.proc = subprocess.Popen(  # noqa: S603 - our own interpreter and module
                [sys.executable, "-c", boot, str(old_project), stack, str(self.out)],
                cwd=str(old_project),
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
            )
        except BaseException:
            self.close()
            raise

    def result(self) -> dict[str, Any]:
        assert self.proc is not None
        _, err = self.proc.communicate()
        if self.proc.returncode != 0:
            last = [line for line in err.strip().splitlines() if line.strip()][-5:]
            raise DiffError(
                f"cannot render the stack at {self.rev} ({self.commit[:12]}): " + ("\n".join(last) or "no message"),
                EXIT_REFUSED if self.proc.returncode == 1 else EXIT_USAGE,
            )
        data: dict[str, Any] = json.loads(self.out.read_text())
        return data

    def close(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        if self.tree.exists():
            removed = _git(self.repo, "worktree", "remove", "--force", str(self.tree))
            if removed.returncode != 0:
                shutil.rmtree(self.tree, ignore_errors=True)
                _git(self.repo, "worktree", "prune")
        shutil.rmtree(self.tmp, ignore_errors=True)


# ----------------------------------------------------------------------------- the diff
ABSENT: Any = None  # shown as (none); a path one side lacks
_MISSING = object()


@dataclass(frozen=True)
class Change:
    path: str
    old: Any
    new: Any


@dataclass
class ChartDiff:
    created: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    updated: dict[str, list[Change]] = field(default_factory=dict)
    # objects whose change the API server refuses in a `helm upgrade` patch (Helm never replaces)
    immutable: dict[str, list[Reason]] = field(default_factory=dict)
    note: str | None = None

    def __bool__(self) -> bool:
        return bool(self.created or self.deleted or self.updated or self.note)


@dataclass
class Entry:
    op: str  # create | delete | update | replace
    urn: str
    type: str
    name: str
    changes: list[Change] = field(default_factory=list)
    reasons: list[Reason] = field(default_factory=list)
    stateful: bool = False
    protected: bool = False
    allowed: bool = False
    old_urn: str | None = None  # matched through an alias
    chart: ChartDiff | None = None

    @property
    def refused(self) -> bool:
        return self.op in ("replace", "delete") and self.stateful and not self.allowed


@dataclass
class DiffResult:
    stack: str
    old_label: str
    new_label: str
    entries: list[Entry]
    unchanged: int
    warnings: list[str] = field(default_factory=list)

    def of(self, op: str) -> list[Entry]:
        return [e for e in self.entries if e.op == op]

    @property
    def refused(self) -> list[Entry]:
        return [e for e in self.entries if e.refused]

    @property
    def exit_code(self) -> int:
        return EXIT_REFUSED if self.refused else EXIT_OK


def _path(parts: Sequence[str | int]) -> str:
    out = ""
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out


def changes(old: Any, new: Any, at: tuple[str | int, ...] = ()) -> list[Change]:
    """The leaf-most differences between two JSON values (absent on one side: None)."""
    if old == new:
        return []
    if isinstance(old, dict) and isinstance(new, dict) and SECRET not in old and SECRET not in new:
        out: list[Change] = []
        for k in sorted(set(old) | set(new)):
            if k not in old:
                if new[k] is not None:  # an explicit null is no value (the engine skips nulls)
                    out.append(Change(_path((*at, k)), ABSENT, new[k]))
            elif k not in new:
                if old[k] is not None:
                    out.append(Change(_path((*at, k)), old[k], ABSENT))
            else:
                out += changes(old[k], new[k], (*at, k))
        return out
    if isinstance(old, list) and isinstance(new, list) and any(isinstance(v, dict | list) for v in (*old, *new)):
        out = []
        for i in range(max(len(old), len(new))):
            a = old[i] if i < len(old) else ABSENT
            b = new[i] if i < len(new) else ABSENT
            out += changes(a, b, (*at, i)) if i < len(old) and i < len(new) else [Change(_path((*at, i)), a, b)]
        return out
    return [Change(_path(at), old, new)]


def _without_ignored(old: Any, new: Any, ignored: Iterable[str]) -> Any:
    """`new` with each ignoreChanges path set back to its old value, as the engine does."""
    from synth.replacement import parse_path

    new = json.loads(json.dumps(new))
    for path in ignored:
        segments = parse_path(path)
        if not segments or "*" in segments:
            continue
        src: Any = old
        for s in segments:
            src = src.get(s, _MISSING) if isinstance(src, dict) else _MISSING
        dst = new
        for s in segments[:-1]:
            if not isinstance(dst, dict):
                break
            dst = dst.setdefault(s, {})
        if isinstance(dst, dict):
            if src is _MISSING:
                dst.pop(segments[-1], None)
            else:
                dst[segments[-1]] = src
    return new


def _allowed(allow: Iterable[str], *names: str | None) -> bool:
    wanted = set(allow)
    return bool(wanted & {n for n in names if n})


def _chart_diff(old: Mapping[str, Any] | None, new: Mapping[str, Any] | None) -> ChartDiff | None:
    if old is None and new is None:
        return None
    if not (old and old.get("rendered")) or not (new and new.get("rendered")):
        missing = [s for s, side in (("old", old), ("new", new)) if not (side and side.get("rendered"))]
        why = "; ".join(str(s.get("why")) for s in (old, new) if s and not s.get("rendered") and s.get("why"))
        return ChartDiff(note=f"rendered objects not compared ({' and '.join(missing)} side not rendered: {why})")
    a, b = old["objects"], new["objects"]
    out = ChartDiff(created=sorted(set(b) - set(a)), deleted=sorted(set(a) - set(b)))
    for k in sorted(set(a) & set(b)):
        found = changes(a[k], b[k])
        if found:
            out.updated[k] = found
            gvk = api_version_gvk(str(b[k].get("apiVersion", "v1")), str(b[k].get("kind", "")))
            reasons = k8s_reasons(gvk, a[k], b[k])
            if reasons:
                out.immutable[k] = reasons
    return out


def compare(
    old: Mapping[str, Any], new: Mapping[str, Any], allow: Sequence[str] = (), old_label: str = "", new_label: str = ""
) -> DiffResult:
    """What `pulumi up` of `new` would do to a stack deployed from `old` (two snapshots)."""
    olds: Mapping[str, Any] = old.get("resources", {})
    news: Mapping[str, Any] = new.get("resources", {})
    old_charts: Mapping[str, Any] = old.get("charts", {})
    new_charts: Mapping[str, Any] = new.get("charts", {})

    def managed(r: Mapping[str, Any]) -> bool:
        return bool(r["custom"]) and not r.get("read")

    matched: dict[str, str] = {}  # new urn -> old urn
    for urn, rec in news.items():
        if urn in olds:
            matched[urn] = urn
        else:
            alias = next((a for a in rec.get("aliases", []) if a in olds), None)
            if alias:
                matched[urn] = alias
    entries: list[Entry] = []
    unchanged = 0
    warnings: list[str] = []
    for urn, rec in sorted(news.items()):
        if not managed(rec):
            continue
        if not has_rules(rec["type"]):
            warnings.append(f"no replacement rules for {rec['type']}: only its replaceOnChanges option is applied")
        common = {
            "urn": urn,
            "type": rec["type"],
            "name": rec["name"],
            "stateful": rec["type"] in STATEFUL,
            "protected": bool(rec.get("protect")),
        }
        if urn not in matched:
            entries.append(Entry("create", **common))
            continue
        before = olds[matched[urn]]
        inputs = _without_ignored(before["inputs"], rec["inputs"], rec.get("ignoreChanges", []))
        found = changes(before["inputs"], inputs)
        provider = news.get(str(rec.get("provider") or ""), {}).get("inputs")
        reasons = replacement_reasons(
            rec["type"], before["inputs"], inputs, rec.get("replaceOnChanges", []), provider=provider
        )
        if before["type"] != rec["type"]:
            reasons.insert(
                0, Reason("type", f"{before['type']} -> {rec['type']}", "Pulumi: a resource's type is its identity")
            )
        chart = None
        if rec["type"] == HELM_RELEASE:
            chart = _chart_diff(
                old_charts.get(str(before["inputs"].get("name") or before["name"])),
                new_charts.get(str(rec["inputs"].get("name") or rec["name"])),
            )
        if not found and not reasons and not chart:
            unchanged += 1
            continue
        op = "replace" if reasons else "update"
        entry = Entry(op, changes=found, reasons=reasons, chart=chart, **common)
        entry.protected = entry.protected or bool(before.get("protect"))
        entry.old_urn = matched[urn] if matched[urn] != urn else None
        entry.allowed = _allowed(allow, urn, entry.old_urn, rec["type"])
        entries.append(entry)
    gone = set(olds) - set(matched.values())
    for urn in sorted(gone):
        rec = olds[urn]
        if not managed(rec):
            continue
        entry = Entry(
            "delete",
            urn,
            rec["type"],
            rec["name"],
            stateful=rec["type"] in STATEFUL,
            protected=bool(rec.get("protect")),
        )
        entry.allowed = _allowed(allow, urn, rec["type"])
        entries.append(entry)
    order = {"replace": 0, "delete": 1, "create": 2, "update": 3}
    entries.sort(key=lambda e: (order[e.op], not e.stateful, e.type, e.name))
    return DiffResult(
        stack=str(new.get("stack") or old.get("stack") or ""),
        old_label=old_label,
        new_label=new_label,
        entries=entries,
        unchanged=unchanged,
        warnings=sorted(set(warnings)),
    )


# ----------------------------------------------------------------------------- output
def shown(value: Any, limit: int = MAX_VALUE) -> str:
    """A value for a reader: secrets `[secret]`, absent `(none)`, long values cut."""
    if value is ABSENT:
        return "(none)"

    def plain(v: Any) -> Any:
        if isinstance(v, dict):
            return "[secret]" if SECRET in v else {k: plain(x) for k, x in v.items()}
        if isinstance(v, list):
            return [plain(x) for x in v]
        return v

    v = plain(value)
    text = v if v == "[secret]" else json.dumps(v, sort_keys=True, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def change_line(c: Change) -> str:
    a, b = shown(c.old), shown(c.new)
    if a == b:  # two different secrets (or values cut alike)
        return f"{c.path}: {a} -> {b} (changed)"
    return f"{c.path}: {a} -> {b}"


_SYMBOL = {"create": "+", "delete": "-", "update": "~", "replace": "+-"}


def _flags(e: Entry) -> str:
    flags = []
    if e.stateful and e.op in ("replace", "delete"):
        flags.append("STATEFUL, " + ("allowed by --allow-replace" if e.allowed else "REFUSED"))
    if e.protected and e.op in ("replace", "delete"):
        flags.append("protected: pulumi up stops before deleting it")
    return f"  [{'; '.join(flags)}]" if flags else ""


def entry_lines(e: Entry) -> list[str]:
    label = "REPLACE" if e.op == "replace" else e.op
    lines = [f"{_SYMBOL[e.op]} {label} {e.type} {e.name}{_flags(e)}"]
    if e.old_urn:
        lines.append(f"    (was {e.old_urn}: adopted through its alias)")
    for r in e.reasons:
        lines.append(f"    forces replacement: {r.field}: {r.why} [{r.source}]")
    lines.extend(f"    {change_line(c)}" for c in e.changes)
    if e.chart:
        lines.extend(f"    {line}" for line in chart_lines(e.chart))
    return lines


def chart_lines(chart: ChartDiff) -> list[str]:
    if chart.note:
        return [chart.note]
    lines = [
        f"rendered objects: {len(chart.created)} created, {len(chart.deleted)} deleted, {len(chart.updated)} changed"
    ]
    lines.extend(f"  + {k}" for k in chart.created)
    lines.extend(f"  - {k}" for k in chart.deleted)
    for k, found in chart.updated.items():
        lines.append(f"  ~ {k}")
        lines.extend(
            f"      helm upgrade would fail: {r.field} is {r.why} (the chart's objects are patched, never replaced)"
            for r in chart.immutable.get(k, [])
        )
        lines.extend(f"      {change_line(c)}" for c in found[:MAX_OBJECT_CHANGES])
        if len(found) > MAX_OBJECT_CHANGES:
            lines.append(f"      ... and {len(found) - MAX_OBJECT_CHANGES} more")
    return lines


def summary_line(d: DiffResult) -> str:
    n = {op: len(d.of(op)) for op in ("create", "update", "replace", "delete")}
    refused = len(d.refused)
    return (
        f"{n['create']} to create, {n['update']} to update, {n['replace']} to replace, {n['delete']} to delete, "
        f"{d.unchanged} unchanged" + (f"; {refused} stateful replacement/deletion REFUSED" if refused else "")
    )


def refusal(d: DiffResult) -> str | None:
    if not d.refused:
        return None
    names = ", ".join(f"{e.name} ({e.type})" for e in d.refused)
    return (
        f"refused: this change would {'/'.join(sorted({e.op for e in d.refused}))} resources that hold data: {names}. "
        "If that is intended, re-run with --allow-replace <urn-or-type> for each."
    )


def format_text(d: DiffResult) -> str:
    lines = [f"synth {d.stack} --diff: {d.old_label} -> {d.new_label}"]
    for e in d.entries:
        lines.extend(entry_lines(e))
    if not d.entries:
        lines.append("no changes")
    lines.append(f"Summary: {summary_line(d)}")
    lines.extend(f"warning: {w}" for w in d.warnings)
    message = refusal(d)
    if message:
        lines.append(f"error: {message}")
    return "\n".join(lines) + "\n"


def _cell(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("`", "'").replace("\n", " ")


def format_markdown(d: DiffResult) -> str:
    """A pull-request comment: the verdict, a table of what is replaced or deleted, the full text."""
    verdict = "⛔ refused" if d.refused else "✅ no stateful resource replaced or deleted"
    out = [
        f"### `synth {_cell(d.stack)} --diff`: {_cell(d.old_label)} → {_cell(d.new_label)}",
        "",
        f"**{verdict}**: {summary_line(d)}.",
        "",
    ]
    message = refusal(d)
    if message:
        out += ["> [!CAUTION]", f"> {_cell(message)}", ""]
    shown_entries = [e for e in d.entries if e.op != "update"] + [e for e in d.entries if e.op == "update"]
    if shown_entries:
        out += ["| | resource | type | why |", "|---|---|---|---|"]
        for e in shown_entries:
            why = "; ".join(f"`{_cell(r.field)}` {_cell(r.why)}" for r in e.reasons)
            if not why and e.op == "update":
                why = ", ".join(f"`{_cell(c.path)}`" for c in e.changes[:5]) + (" …" if len(e.changes) > 5 else "")
                if e.chart and e.chart.updated:
                    why += (", " if why else "") + f"{len(e.chart.updated)} rendered objects changed"
            flag = (
                " ⛔ **stateful, refused**"
                if e.refused
                else (" (stateful, allowed)" if e.stateful and e.op in ("replace", "delete") else "")
            )
            out.append(f"| {_SYMBOL[e.op]} {e.op}{flag} | `{_cell(e.name)}` | `{_cell(e.type)}` | {why} |")
        out.append("")
    body = format_text(d).replace("```", "`\u200b``")
    out += ["<details><summary>Full diff</summary>", "", "```text", body.rstrip("\n"), "```", "", "</details>", ""]
    return "\n".join(out)


def to_json(d: DiffResult) -> dict[str, Any]:
    def entry(e: Entry) -> dict[str, Any]:
        return {
            "op": e.op,
            "urn": e.urn,
            "type": e.type,
            "name": e.name,
            "stateful": e.stateful,
            "refused": e.refused,
            "protected": e.protected,
            "aliasOf": e.old_urn,
            "reasons": [{"field": r.field, "why": r.why, "source": r.source} for r in e.reasons],
            "changes": [{"path": c.path, "old": shown(c.old, 10_000), "new": shown(c.new, 10_000)} for c in e.changes],
            "renderedObjects": None
            if e.chart is None
            else {
                "note": e.chart.note,
                "created": e.chart.created,
                "deleted": e.chart.deleted,
                "changed": {k: [change_line(c) for c in v] for k, v in e.chart.updated.items()},
            },
        }

    return {
        "stack": d.stack,
        "old": d.old_label,
        "new": d.new_label,
        "summary": summary_line(d),
        "refused": [e.urn for e in d.refused],
        "entries": [entry(e) for e in d.entries],
        "unchanged": d.unchanged,
        "warnings": d.warnings,
    }


# ----------------------------------------------------------------------------- the command
def run_diff(
    rev: str,
    config: StackConfig,
    kubernetes_version: str,
    sensitive: Iterable[str],
    project_dir: Path,
    allow: Sequence[str] = (),
) -> tuple[DiffResult, list[str]]:
    """Render the stack at `rev` (subprocess, worktree) and here (this process) at once, and
    compare; returns the diff and every string no output may show. DiffError on failure."""
    key = os.urandom(32)
    old_side = OldSide(project_dir, rev, config.stack, key)
    try:
        try:
            new = render_snapshot(config, project_dir, kubernetes_version, key)
        except Exception as err:  # noqa: BLE001 - the working tree's program: no traceback
            raise DiffError(f"the program failed under mocks: {type(err).__name__}: {err}", EXIT_REFUSED) from None
        old = old_side.result()
    finally:
        old_side.close()
    hidden = [*sensitive, *old.get("sensitive", [])]
    label = f"{rev} ({old_side.commit[:12]})" if rev != old_side.commit else old_side.commit[:12]
    result = compare(old, new, allow, old_label=label, new_label="working tree")
    if old.get("missing"):
        result.warnings.insert(0, f"Pulumi.{config.stack}.yaml does not exist at {rev}: every resource is created")
    return result, hidden

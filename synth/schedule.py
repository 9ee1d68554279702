"""How long `pulumi up` takes, and what it waits on: a list schedule of the registered graph.

The graph is the one Pulumi's engine sees. A custom resource is registered (and its step can
start) only once the SDK has resolved everything it waits on:

* its ``dependencies``: the explicit ``depends_on`` resources plus every resource an input
  Output came from (the runner records both; ``property_dependencies`` names the input);
  a dependency on a component stands for the component's custom descendants, as the SDK
  expands it;
* its provider (``ResourceRecord.provider``, a ``urn::id`` reference): the SDK awaits the
  provider's URN and ID, i.e. the provider resource's own registration, which waits for
  *its* inputs (the Kubernetes provider's ``kubeconfig`` comes from the cluster);
* its parent, when the parent is a custom resource (the SDK awaits ``parent.urn``, which a
  custom resource resolves only when its step is done). A component's registration is
  instant (no provider call), so component parents cost 0 and are not waited on: components
  are not scheduled at all.

The engine runs at most P steps at once (``pulumi up --parallel``; default ``4 x NumCPU`` since
pulumi/pulumi#15016, see ``DEFAULT_PARALLEL_SOURCE``). The schedule is greedy: whenever a
step slot is free, the ready resource that became ready first starts (ties: registration
order). Durations come from ``synth/durations.yaml`` (a public source per figure).
"""

from __future__ import annotations

import dataclasses
import email.utils
import heapq
import os
import re
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from synth.graph import provider_urn, topological_order

DURATIONS_FILE = Path(__file__).with_name("durations.yaml")
DEFAULT_PARALLEL_SOURCE = (
    "pulumi/pulumi#15016 (Jan 2024, fixes #14989): `defaultParallel = int32(runtime.NumCPU()) * 4`, "
    "'Defaults to 4 * number of CPUs'; before it, unbounded (pulumi/pulumi#2065)"
)
OPERATIONS = ("create", "update", "replace")
STACK_TYPE = "pulumi:pulumi:Stack"


def default_parallel(cpus: int | None = None) -> int:
    """Pulumi's default `--parallel`: 4 x the number of CPUs of the machine running `pulumi up`."""
    return 4 * (cpus if cpus is not None else (os.cpu_count() or 1))


# --------------------------------------------------------------------------- durations


@dataclass(frozen=True)
class Duration:
    create: float
    update: float
    source: str
    default: bool = False  # the table's fallback, not a figure for this type


@dataclass(frozen=True)
class Durations:
    """Per type token: create/update seconds, each with its source; `variants` refine a type by
    an input (e.g. a Helm release by its chart); components cost 0."""

    types: Mapping[str, Duration]
    variants: Mapping[str, Sequence[tuple[str, str, Duration]]]  # type -> [(input path, value, d)]
    fallback: Duration
    defaulted: frozenset[str] = frozenset()  # types that use `fallback` by decision

    def covers(self, typ: str) -> bool:
        """A figure of its own, or the default by an explicit listing."""
        return typ in self.types or typ in self.defaulted

    def for_record(self, typ: str, inputs: Mapping[str, Any], custom: bool = True) -> Duration:
        if not custom:
            return Duration(0, 0, "component: registration only, no provider call")
        for path, value, d in self.variants.get(typ, ()):
            if str(_lookup(inputs, path)) == value:
                return d
        return self.types.get(typ, self.fallback)


def _lookup(obj: Any, path: str) -> Any:
    for part in path.split("."):
        if not isinstance(obj, Mapping):
            return None
        obj = obj.get(part)
    return obj


MIN_SAMPLES = 2
# a Terraform apply log's completion line: "Creation complete after 4m18s", "... after 15m"
_COMPLETE_AFTER = re.compile(r"complete after ((?:\d+h)?(?:\d+m)?(?:\d+s)?)\b")
# an HTTP `date:` header (RFC 9110 IMF-fixdate), as a recorded ARM response carries it
_HTTP_DATE = re.compile(r"\b(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT\b")


def _sample_seconds(sample: Any, where: str) -> float:
    """One published timing: `seconds`, its `url` and the source's own words (`quote`). When the
    quote is a completion line ("Creation complete after 4m18s") the seconds must be what it
    says; any other quote (start and end timestamps) needs a `note` saying how they were read,
    and a quote of two HTTP `date:` headers (a recorded request and its completion) must be
    `seconds` apart."""
    if not isinstance(sample, Mapping):
        raise ValueError(f"{where}: a sample is a mapping of seconds, url, quote")
    url, quote = sample.get("url"), sample.get("quote")
    if not isinstance(url, str) or not url.startswith("https://") or not isinstance(quote, str) or not quote.strip():
        raise ValueError(f"{where}: needs an https `url` and the source's `quote`")
    try:
        seconds = float(sample["seconds"])
    except (KeyError, TypeError, ValueError) as err:
        raise ValueError(f"{where}: needs numeric `seconds`") from err
    said = _COMPLETE_AFTER.search(quote)
    if said and said.group(1):
        if go_duration_seconds(said.group(1)) != seconds:
            raise ValueError(f"{where}: seconds {seconds:g} but the quote says {said.group(1)}")
        return seconds
    if not str(sample.get("note") or "").strip():
        raise ValueError(f"{where}: the quote is not a completion line: a `note` must say how {seconds:g}s was read")
    dates = _HTTP_DATE.findall(quote)
    if len(dates) == 2:  # a recorded request's and its completion's `date:` headers
        try:
            start, end = (email.utils.parsedate_to_datetime(d) for d in dates)
        except ValueError as err:
            raise ValueError(f"{where}: not a date in the quote: {err}") from None
        apart = (end - start).total_seconds()
        if apart != seconds:
            raise ValueError(f"{where}: seconds {seconds:g} but the quote's two dates are {apart:g}s apart")
    elif dates:
        raise ValueError(f"{where}: a quote of HTTP dates holds two (start, end), not {len(dates)}")
    return seconds


def _sampled(entry: Mapping[str, Any], where: str) -> Duration:
    """A figure that is the median of several published timings (`samples`), not one: a single
    apply log is one cluster, one region, one day."""
    samples = entry["samples"]
    if "create" in entry:
        raise ValueError(f"{where}: with `samples`, `create` is their median: drop `create`")
    if not isinstance(samples, list) or len(samples) < MIN_SAMPLES:
        raise ValueError(f"{where}: `samples` needs at least {MIN_SAMPLES} published timings")
    seconds = [_sample_seconds(x, f"{where} sample {i}") for i, x in enumerate(samples)]
    create = float(statistics.median(seconds))
    try:
        update = float(entry.get("update", create))
    except (TypeError, ValueError) as err:
        raise ValueError(f"{where}: `update` must be numeric seconds") from err
    if update < 0:
        raise ValueError(f"{where}: a duration cannot be negative")
    if entry.get("confidence") != "measured":
        raise ValueError(f"{where}: published timings are `confidence: measured`")
    urls = "; ".join(f"{x['url']} ({fmt_seconds(v)})" for x, v in zip(samples, seconds, strict=True))
    return Duration(create, update, f"[measured] median of {len(seconds)} published timings: {urls}")


def _duration(entry: Mapping[str, Any], where: str) -> Duration:
    if "samples" in entry:
        return _sampled(entry, where)
    try:
        create, update = float(entry["create"]), float(entry["update"])
    except (KeyError, TypeError, ValueError) as err:
        raise ValueError(f"{where}: needs numeric `create` and `update` seconds") from err
    if create < 0 or update < 0:
        raise ValueError(f"{where}: a duration cannot be negative")
    source = entry.get("source")
    default = bool(entry.get("default", False))
    if (create or update) and not default:
        if not isinstance(source, Mapping) or not source.get("url") or not source.get("quote"):
            raise ValueError(f"{where}: a non-zero duration needs `source: {{url, quote}}`")
        text = f"{source['url']} ({source['quote']})"
        if entry.get("confidence") not in ("measured", "estimate"):
            raise ValueError(f"{where}: `confidence` must be measured or estimate")
        text = f"[{entry['confidence']}] {text}"
    else:
        text = str(entry.get("why") or (source or {}).get("quote") or "")
        if not text:
            raise ValueError(f"{where}: a zero duration needs `why`")
    return Duration(create, update, text, default=default)


def load_durations(path: Path = DURATIONS_FILE) -> Durations:
    data = yaml.safe_load(path.read_text())
    types: dict[str, Duration] = {}
    variants: dict[str, list[tuple[str, str, Duration]]] = {}
    for typ, entry in (data.get("types") or {}).items():
        types[typ] = _duration(entry, typ)
        for i, v in enumerate(entry.get("variants") or []):
            when = v.get("when") or {}
            if len(when) != 1:
                raise ValueError(f"{typ} variant {i}: `when` needs exactly one input path")
            ((key, value),) = when.items()
            variants.setdefault(typ, []).append((str(key), str(value), _duration(v, f"{typ} variant {i}")))
    fallback = _duration({**data["default"], "default": True}, "default")
    defaulted = frozenset(data.get("defaulted") or [])
    both = defaulted & types.keys()
    if both:
        raise ValueError(f"both a figure and `defaulted`: {sorted(both)}")
    return Durations(types, variants, fallback, defaulted)


_GO_DURATION = re.compile(r"(\d+(?:\.\d+)?)(h|ms|m|s)")


def go_duration_seconds(text: str) -> float:
    """`300s`, `5m`, `1h30m` (time.Sleep's createDuration, customTimeouts) -> seconds."""
    parts = _GO_DURATION.findall(text.strip())
    if not parts or "".join(n + u for n, u in parts) != text.strip():
        raise ValueError(f"not a duration: {text!r}")
    scale = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}
    return sum(float(n) * scale[u] for n, u in parts)


# --------------------------------------------------------------------------- the graph


@dataclass(frozen=True)
class Edge:
    """`after` waits for `before`; `why` says what makes it wait."""

    before: str
    after: str
    kind: str  # "input" | "depends_on" | "provider" | "parent"
    properties: tuple[str, ...] = ()  # the inputs that carry it (kind "input")

    @property
    def why(self) -> str:
        if self.kind == "input":
            return "input " + ", ".join(self.properties)
        return {
            "depends_on": "depends_on (no input carries it)",
            "provider": "provider (the resource's provider is registered from it)",
            "parent": "parent (a custom parent's URN resolves when its step is done)",
        }[self.kind]


@dataclass(frozen=True)
class Task:
    urn: str
    type: str
    name: str
    duration: float
    order: int  # registration order
    source: str = ""
    default: bool = False


@dataclass
class Graph:
    tasks: dict[str, Task]  # by URN, registration order
    edges: dict[str, list[Edge]]  # by `after`: what it waits for
    section: dict[str, str] = field(default_factory=dict)  # URN -> top-level component name

    def preds(self, urn: str) -> list[str]:
        return [e.before for e in self.edges.get(urn, [])]

    def edge(self, before: str, after: str) -> Edge:
        for e in self.edges.get(after, []):
            if e.before == before:
                return e
        raise KeyError(f"no edge {before} -> {after}")


def _short(urn: str) -> str:
    return urn.rsplit("::", 1)[-1]


def build_graph(
    records: Iterable[Any],
    durations: Durations | None = None,
    *,
    operation: Mapping[str, str] | None = None,
) -> Graph:
    """The dependency DAG of custom resources (components cost 0 and are not scheduled).

    `operation` (URN -> create/update/replace) picks each duration; absent: create."""
    durations = durations or load_durations()
    recs = [r for r in records if r.type != STACK_TYPE]
    by_urn = {r.urn: r for r in recs}
    children: dict[str, list[str]] = {}
    for r in recs:
        children.setdefault(r.parent, []).append(r.urn)

    def custom_descendants(urn: str) -> list[str]:
        out: list[str] = []
        for c in children.get(urn, []):
            out.extend([c] if by_urn[c].custom else custom_descendants(c))
        return out

    def expand(urn: str) -> list[str]:
        r = by_urn.get(urn)
        if r is None:
            raise ValueError(f"dependency on an unregistered resource: {urn}")
        return [urn] if r.custom else custom_descendants(urn)

    def top_component(r: Any) -> str:
        name, parent = str(r.name), r.parent
        while parent in by_urn:
            name, parent = str(by_urn[parent].name), by_urn[parent].parent
        return name

    tasks: dict[str, Task] = {}
    edges: dict[str, list[Edge]] = {}
    section: dict[str, str] = {}
    for i, r in enumerate(recs):
        if not r.custom:
            continue
        d = durations.for_record(r.type, r.inputs)
        op = (operation or {}).get(r.urn, "create")
        if op not in OPERATIONS:
            raise ValueError(f"{r.urn}: unknown operation {op!r} (one of {', '.join(OPERATIONS)})")
        seconds = d.update if op == "update" else d.create  # replace: create-before-delete
        source = d.source
        if r.type == "time:index/sleep:Sleep":
            key = "updateDuration" if op == "update" else "createDuration"
            seconds = go_duration_seconds(str(r.inputs.get(key) or "0s"))
            source = f"its own input {key} = {r.inputs.get(key) or '0s'}"
        tasks[r.urn] = Task(r.urn, r.type, r.name, seconds, i, source, d.default)
        section[r.urn] = top_component(r)
        waits: dict[str, Edge] = {}
        for dep in r.dependencies:
            props = tuple(sorted(k for k, v in r.property_dependencies.items() if dep in v))
            for target in expand(dep):
                if target != r.urn and target not in waits:
                    waits[target] = Edge(target, r.urn, "input" if props else "depends_on", props)
        prov = provider_urn(r.provider)
        if prov and prov in by_urn and prov not in waits:
            waits[prov] = Edge(prov, r.urn, "provider")
        if r.parent in by_urn and by_urn[r.parent].custom and r.parent not in waits:
            waits[r.parent] = Edge(r.parent, r.urn, "parent")
        edges[r.urn] = list(waits.values())
    for after, es in edges.items():
        for e in es:
            if e.before not in tasks:
                raise ValueError(f"{after} waits for {e.before}, which is not a custom resource")
    _check_acyclic(tasks, edges)
    return Graph(_stable_order(tasks, edges), edges, section)


def _stable_order(tasks: Mapping[str, Task], edges: Mapping[str, list[Edge]]) -> dict[str, Task]:
    """The tasks renumbered in topological_order: the plan must not vary from run to run
    (deterministic output). Dependencies still come first, as they register first."""
    order = topological_order({u: [e.before for e in edges.get(u, [])] for u in tasks})
    return {u: dataclasses.replace(tasks[u], order=i) for i, u in enumerate(order)}


def graph_from_tasks(tasks: Sequence[Task], edges: Iterable[tuple[str, str]], kind: str = "input") -> Graph:
    """A hand-built graph (tests): `edges` are (before, after) URN pairs."""
    by = {t.urn: t for t in tasks}
    out: dict[str, list[Edge]] = {t.urn: [] for t in tasks}
    for before, after in edges:
        if before not in by or after not in by:
            raise ValueError(f"edge {before} -> {after} names an unknown task")
        out[after].append(Edge(before, after, kind, ("x",) if kind == "input" else ()))
    _check_acyclic(by, out)
    return Graph(by, out, {t.urn: "tasks" for t in tasks})


def _check_acyclic(tasks: Mapping[str, Task], edges: Mapping[str, list[Edge]]) -> None:
    state: dict[str, int] = {}
    for start in tasks:
        if start in state:
            continue
        stack: list[tuple[str, int]] = [(start, 0)]
        state[start] = 1
        while stack:
            node, i = stack.pop()
            preds = [e.before for e in edges.get(node, [])]
            if i < len(preds):
                stack.append((node, i + 1))
                nxt = preds[i]
                if state.get(nxt) == 1:
                    raise ValueError(f"dependency cycle through {_short(nxt)} and {_short(node)}")
                if nxt not in state:
                    state[nxt] = 1
                    stack.append((nxt, 0))
            else:
                state[node] = 2


# --------------------------------------------------------------------------- the schedule


@dataclass(frozen=True)
class Slot:
    task: Task
    start: float
    end: float


@dataclass
class Schedule:
    graph: Graph
    parallel: int
    slots: dict[str, Slot]  # by URN, in start order
    critical: list[str]  # URNs, first to last: the longest duration-weighted path
    done_at_zero: frozenset[str] = frozenset()  # (diff) unchanged resources

    @property
    def makespan(self) -> float:
        return max((s.end for s in self.slots.values()), default=0.0)

    @property
    def critical_length(self) -> float:
        return sum(self.graph.tasks[u].duration for u in self.critical)

    @property
    def serial_sum(self) -> float:
        return sum(s.task.duration for s in self.slots.values())

    @property
    def ratio(self) -> float:
        return self.makespan / self.serial_sum if self.serial_sum else 0.0

    def critical_edges(self) -> list[Edge]:
        return [self.graph.edge(a, b) for a, b in zip(self.critical, self.critical[1:], strict=False)]

    def depends_on_only(self) -> list[Edge]:
        """Critical-path edges no input carries: each is a defect unless it is a real ordering."""
        return [e for e in self.critical_edges() if e.kind == "depends_on"]


def schedule(graph: Graph, parallel: int | None = None, *, done: Iterable[str] = ()) -> Schedule:
    """Greedy list schedule: at most `parallel` steps at once; a freed slot goes to the ready task
    that became ready first (ties: registration order). Tasks in `done` count as finished at 0."""
    p = default_parallel() if parallel is None else parallel
    if p < 1:
        raise ValueError("parallel must be at least 1")
    finished = set(done)
    unknown = finished - graph.tasks.keys()
    if unknown:
        raise ValueError(f"done names unknown resources: {sorted(unknown)[:3]}")
    todo = [u for u in graph.tasks if u not in finished]
    waiting = {u: {e.before for e in graph.edges.get(u, [])} - finished for u in todo}
    dependents: dict[str, list[str]] = {}
    for u in todo:
        for b in waiting[u]:
            dependents.setdefault(b, []).append(u)
    ready: list[tuple[float, int, str]] = [(0.0, graph.tasks[u].order, u) for u in todo if not waiting[u]]
    heapq.heapify(ready)
    running: list[tuple[float, int, str]] = []
    slots: dict[str, Slot] = {}
    now = 0.0
    while ready or running:
        while ready and len(running) < p:
            _, order, u = heapq.heappop(ready)
            t = graph.tasks[u]
            slots[u] = Slot(t, now, now + t.duration)
            heapq.heappush(running, (now + t.duration, order, u))
        now = running[0][0]
        while running and running[0][0] == now:  # every step ending now frees its slot first
            _, _, u = heapq.heappop(running)
            for v in dependents.get(u, []):
                waiting[v].discard(u)
                if not waiting[v]:
                    heapq.heappush(ready, (now, graph.tasks[v].order, v))
    if len(slots) != len(todo):  # unreachable after _check_acyclic; kept as the invariant
        raise AssertionError("not every task was scheduled")
    return Schedule(graph, p, slots, _critical_path(graph, todo, finished), frozenset(finished))


def _critical_path(graph: Graph, todo: Sequence[str], finished: set[str]) -> list[str]:
    """The longest duration-weighted path among `todo` (ties: the earlier-registered
    predecessor, then the earlier-registered end), first to last."""
    longest: dict[str, float] = {}
    best_pred: dict[str, str | None] = {}
    remaining = set(todo)
    order = sorted(todo, key=lambda u: graph.tasks[u].order)
    while remaining:  # topological passes (the graph is acyclic)
        for u in order:
            if u not in remaining:
                continue
            preds = [b for b in graph.preds(u) if b not in finished]
            if any(b in remaining for b in preds):
                continue
            pred = max(preds, key=lambda b: (longest[b], -graph.tasks[b].order), default=None)
            longest[u] = graph.tasks[u].duration + (longest[pred] if pred else 0.0)
            best_pred[u] = pred
            remaining.discard(u)
    if not longest:
        return []
    end: str | None = max(order, key=lambda u: (longest[u], -graph.tasks[u].order))
    path: list[str] = []
    while end is not None:
        path.append(end)
        end = best_pred[end]
    return path[::-1]


# --------------------------------------------------------------------------- entry points


def plan(result: Any, *, parallel: int | None = None, durations: Durations | None = None) -> Schedule:
    """`pulumi up` from zero: every custom resource created."""
    return schedule(build_graph(result.records, durations), parallel)


def plan_changes(
    result: Any,
    changes: Mapping[str, str],
    *,
    parallel: int | None = None,
    durations: Durations | None = None,
) -> Schedule:
    """`pulumi up` of a diff: `changes` maps URN -> create/update/replace; every other
    resource exists already (done at t=0). A replacement counts its create (Pulumi creates the
    new one before deleting the old, and deletes run after every create and update)."""
    graph = build_graph(result.records, durations, operation=changes)
    unknown = set(changes) - graph.tasks.keys()
    if unknown:
        raise ValueError(f"changes name resources that are not custom resources here: {sorted(unknown)[:3]}")
    return schedule(graph, parallel, done=[u for u in graph.tasks if u not in changes])


def fmt_seconds(s: float) -> str:
    s = round(s)
    h, rest = divmod(s, 3600)
    m, sec = divmod(rest, 60)
    if h:
        return f"{h}h{m:02d}m{sec:02d}s"
    return f"{m}m{sec:02d}s" if m else f"{sec}s"


def plan_lines(
    result: Any,
    *,
    parallel: int | None = None,
    changes: Mapping[str, str] | None = None,
    durations: Durations | None = None,
) -> list[str]:
    """What `python -m synth <stack> --plan` prints."""
    durations = durations or load_durations()
    sched = (
        plan(result, parallel=parallel, durations=durations)
        if changes is None
        else plan_changes(result, changes, parallel=parallel, durations=durations)
    )
    g = sched.graph
    components = sum(1 for r in result.records if not r.custom and r.type != STACK_TYPE)
    what = "from zero" if changes is None else f"of {len(sched.slots)} changed resources"
    p_note = (
        f"Pulumi's default: 4 x {os.cpu_count() or 1} CPUs"
        if parallel is None
        else "as given; Pulumi's default is 4 x CPUs"
    )
    lines = [
        f"Plan: pulumi up {what}, stack {result.stack} ({len(sched.slots)} resource steps; "
        f"{components} components cost 0)",
        f"  parallel       {sched.parallel} ({p_note})",
        f"  makespan       {fmt_seconds(sched.makespan)}",
        f"  critical path  {fmt_seconds(sched.critical_length)} ({len(sched.critical)} resources)",
        f"  serial sum     {fmt_seconds(sched.serial_sum)} (one step after another)",
        f"  ratio          {sched.ratio:.2f} (makespan / serial sum)",
    ]
    if sched.makespan > sched.critical_length + 1e-9:
        lines.append(
            f"  the parallelism bound adds {fmt_seconds(sched.makespan - sched.critical_length)} over the critical path"
        )
    lines.append("Critical path (start, duration, resource; <- what it waits for and why):")
    for i, u in enumerate(sched.critical):
        s, t = sched.slots[u], g.tasks[u]
        lines.append(f"  {fmt_seconds(s.start):>8} +{fmt_seconds(t.duration):<7} {t.type} {t.name}")
        if i:
            e = g.edge(sched.critical[i - 1], u)
            lines.append(f"  {'':>8}  {'':<7}   <- {g.tasks[e.before].name}: {e.why}")
    flagged = sched.depends_on_only()
    lines.append(f"Critical-path edges from depends_on only: {len(flagged) or 'none'}")
    lines += [f"  {g.tasks[e.before].name} -> {g.tasks[e.after].name}" for e in flagged]
    defaulted = sorted({t.type for t in g.tasks.values() if t.default})
    if defaulted:
        lines.append(f"Default duration (no figure in the table) for: {', '.join(defaulted)}")
    return lines


def _mermaid_text(text: str) -> str:
    return re.sub(r"[:;#\n]", "_", text)


def gantt(result_or_schedule: Any, *, parallel: int | None = None) -> str:
    """A Mermaid gantt of the schedule: one section per top-level component, critical tasks
    tagged `crit`, zero-length steps as milestones; times in seconds from 0 (dateFormat X)."""
    if isinstance(result_or_schedule, Schedule):
        sched = result_or_schedule
    else:
        sched = plan(result_or_schedule, parallel=parallel)
    g = sched.graph
    crit = set(sched.critical)
    stack = getattr(result_or_schedule, "stack", None)
    title = (
        f"pulumi up{' ' + stack if stack else ''} - makespan {fmt_seconds(sched.makespan)}, parallel {sched.parallel}"
    )
    out = ["gantt", f"    title {_mermaid_text(title)}", "    dateFormat X", "    axisFormat %M:%S"]
    sections: dict[str, list[Slot]] = {}
    for u, s in sorted(sched.slots.items(), key=lambda kv: (kv[1].start, kv[1].task.order)):
        sections.setdefault(g.section.get(u, "resources"), []).append(s)
    ids = {u: f"t{i}" for i, u in enumerate(sorted(sched.slots, key=lambda u: g.tasks[u].order))}
    for name, slots in sections.items():
        out.append(f"    section {_mermaid_text(name)}")
        for s in slots:
            tags = (["crit"] if s.task.urn in crit else []) + (["milestone"] if s.task.duration == 0 else [])
            tag = ", ".join([*tags, ids[s.task.urn]])
            out.append(f"    {_mermaid_text(s.task.name)} :{tag}, {round(s.start)}, {round(s.end)}")
    return "\n".join(out) + "\n"

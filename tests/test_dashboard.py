"""The Airflow dashboard (monitoring/dashboards/airflow.json) and the PromQL the project writes.

External truth: the metric names the REAL chart's statsd exporter exposes (its mapping, read
from the chart rendered by the project's Helm engine, for every chart line the project supports)
and the kube-state-metrics / cAdvisor names managed Prometheus collects by default.

No PromQL parser is installed (the one on PyPI, promql-parser, is a compiled Rust extension, not
the small pure-Python package we may add), so :func:`promql_problems` is a conservative
checker written here: balanced brackets, quoted strings, label matchers, range durations, known
functions and aggregations, and operands separated by operators. It accepts a subset of PromQL
(what the project writes) and refuses what it does not understand.
"""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

DASHBOARD = Path(__file__).resolve().parent.parent / "monitoring" / "dashboards" / "airflow.json"
CHART_LINES = ("1.15.0", "1.19.0")  # profiles.py's chart lines
GRID_WIDTH = 24

# kube-state-metrics and cAdvisor series that managed Prometheus' default targets (kube-state-
# metrics, cadvisor) keep in its default ingestion profile, and that the project reads.
# kube-state-metrics docs/metrics/workload/pod-metrics.md names each of these.
KUBE_METRICS = frozenset(
    {
        "kube_pod_container_status_waiting_reason",
        "kube_pod_container_status_restarts_total",
        "kube_pod_info",
        "kube_pod_status_phase",
        "container_cpu_usage_seconds_total",
        "container_memory_working_set_bytes",
    }
)

# ------------------------------------------------------------------ PromQL (conservative)
FUNCTIONS = frozenset(
    [
        "abs",
        "absent",
        "absent_over_time",
        "avg_over_time",
        "ceil",
        "changes",
        "clamp",
        "clamp_max",
        "clamp_min",
        "count_over_time",
        "deriv",
        "exp",
        "floor",
        "histogram_quantile",
        "delta",
        "idelta",
        "increase",
        "irate",
        "label_join",
        "label_replace",
        "last_over_time",
        "ln",
        "log2",
        "log10",
        "max_over_time",
        "min_over_time",
        "predict_linear",
        "quantile_over_time",
        "rate",
        "resets",
        "round",
        "scalar",
        "sort",
        "sort_desc",
        "sqrt",
        "stddev_over_time",
        "sum_over_time",
        "time",
        "timestamp",
        "vector",
    ]
)
AGGREGATIONS = frozenset(
    ["sum", "min", "max", "avg", "count", "stddev", "stdvar", "topk", "bottomk", "quantile", "count_values", "group"]
)
KEYWORDS = frozenset(
    ["and", "or", "unless", "by", "without", "on", "ignoring", "group_left", "group_right", "bool", "offset"]
)
GROUPING = frozenset(["by", "without", "on", "ignoring", "group_left", "group_right"])
BINARY = frozenset(["+", "-", "*", "/", "%", "^", "==", "!=", ">", "<", ">=", "<=", "and", "or", "unless"])

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
      | (?P<duration>(?:\d+[smhdwy])+)(?![\w.])
      | (?P<number>\d+(?:\.\d+)?(?:e[+-]?\d+)?)
      | (?P<ident>[A-Za-z_:][A-Za-z0-9_:]*)
      | (?P<op>==|!=|=~|!~|>=|<=|[-+*/%^<>=,()\[\]{}:])
    )""",
    re.VERBOSE,
)


def tokens(expr: str) -> list[tuple[str, str]]:
    out, pos = [], 0
    while pos < len(expr):
        if expr[pos:].strip() == "":
            break
        match = _TOKEN.match(expr, pos)
        if not match or match.end() == pos:
            raise ValueError(f"unexpected character at {pos}: {expr[pos : pos + 10]!r}")
        kind = match.lastgroup or ""
        out.append((kind, match.group(kind)))
        pos = match.end()
    return out


def promql_problems(expr: str) -> list[str]:
    """What keeps `expr` from being PromQL this checker understands (empty: it parses)."""
    try:
        toks = tokens(expr)
    except ValueError as err:
        return [str(err)]
    problems: list[str] = []
    stack: list[str] = []
    pairs = {")": "(", "]": "[", "}": "{"}
    prev: tuple[str, str] | None = None
    i = 0
    while i < len(toks):
        kind, text = toks[i]
        nxt = toks[i + 1] if i + 1 < len(toks) else None
        if text in "([{" and kind == "op":
            stack.append(text)
            if text == "{":  # label matchers: name op "value" (, ...)
                j = i + 1
                while j < len(toks) and toks[j][1] != "}":
                    if not (
                        j + 2 < len(toks)
                        and toks[j][0] == "ident"
                        and toks[j + 1][1] in ("=", "!=", "=~", "!~")
                        and toks[j + 2][0] == "string"
                    ):
                        problems.append(f"bad label matcher near {' '.join(t for _, t in toks[j : j + 3])!r}")
                        return problems
                    j += 3
                    if j < len(toks) and toks[j][1] == ",":
                        j += 1
                i = j
                continue
            if text == "[" and not (nxt and nxt[0] == "duration"):  # a range: [duration]
                problems.append(f"bad range near {expr!r}")
                return problems
            if text == "(" and prev is not None and prev[0] == "ident" and prev[1] in GROUPING:
                # a label list: identifiers and commas
                j = i + 1
                while j < len(toks) and toks[j][1] != ")":
                    if toks[j][0] != "ident" and toks[j][1] != ",":
                        problems.append(f"bad label list near {toks[j][1]!r}")
                        return problems
                    j += 1
                i = j
                continue
        elif text in ")]}" and kind == "op":
            if not stack or stack.pop() != pairs[text]:
                problems.append(f"unbalanced {text!r}")
                return problems
        elif kind == "ident":
            followed_by_call = nxt is not None and nxt[1] == "("
            if followed_by_call and text not in FUNCTIONS | AGGREGATIONS | GROUPING:
                problems.append(f"unknown function {text!r}")
        if prev is not None and _operand_end(prev) and _operand_start(toks[i]) and not _allows(prev, toks[i]):
            problems.append(f"two operands without an operator: {prev[1]!r} {text!r}")
        prev = toks[i]
        i += 1
    if stack:
        problems.append(f"unclosed {stack[-1]!r}")
    return problems


def _operand_end(tok: tuple[str, str]) -> bool:
    return tok[0] in ("number", "string") or (tok[0] == "ident" and tok[1] not in KEYWORDS) or tok[1] in (")", "}", "]")


def _operand_start(tok: tuple[str, str]) -> bool:
    return tok[0] in ("number", "string") or (tok[0] == "ident" and tok[1] not in KEYWORDS)


def _allows(prev: tuple[str, str], tok: tuple[str, str]) -> bool:
    # `sum by (x) (...)` and `max(...) by (x)` are the only juxtapositions PromQL has
    return prev[1] == ")" and tok[0] == "ident" and tok[1] in GROUPING


def metric_names(expr: str) -> set[str]:
    """The metric names an expression reads: identifiers that are no function, aggregation,
    keyword, label (inside braces or a grouping list) or duration."""
    toks = tokens(expr)
    names: set[str] = set()
    depth_braces = 0
    skip_list = False
    for i, (kind, text) in enumerate(toks):
        if text == "{":
            depth_braces += 1
        elif text == "}":
            depth_braces -= 1
        if kind == "ident" and text in GROUPING:
            skip_list = i + 1 < len(toks) and toks[i + 1][1] == "("
            continue
        if skip_list:
            if text == ")":
                skip_list = False
            continue
        nxt = toks[i + 1][1] if i + 1 < len(toks) else ""
        aggregation = text in AGGREGATIONS and nxt in GROUPING
        if kind == "ident" and depth_braces == 0 and text not in KEYWORDS and nxt != "(" and not aggregation:
            names.add(text)
    return names


# ------------------------------------------------------------------ the chart's statsd mapping
@functools.cache
def chart_statsd_metrics(version: str) -> frozenset[str]:
    """Every metric name the chart's statsd exporter mapping (its rendered ConfigMap) produces."""
    from synth import helm

    try:
        objs = helm.render_objects("airflow", version, {}, release="probe", namespace="probe")
    except helm.NotRendered as err:  # pragma: no cover - the dev requirements install the engine
        pytest.skip(str(err))
    (configmap,) = [o for o in objs if o["kind"] == "ConfigMap" and o["metadata"]["name"] == "probe-statsd"]
    docs = [d for d in yaml.safe_load_all(configmap["data"]["mappings.yml"]) if d]
    return frozenset(m["name"] for d in docs for m in d["mappings"] if "name" in m)


def unknown_metrics(names: set[str], known: frozenset[str]) -> list[str]:
    return sorted(names - known)


# ------------------------------------------------------------------ the dashboard
def load_dashboard(path: Path = DASHBOARD) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def panel_exprs(dash: dict[str, Any]) -> list[str]:
    return [t["expr"] for p in dash["panels"] for t in p.get("targets", [])]


def duplicate_ids(dash: dict[str, Any]) -> list[int]:
    ids = [p["id"] for p in dash["panels"]]
    return sorted({i for i in ids if ids.count(i) > 1})


def overlaps(dash: dict[str, Any]) -> list[str]:
    """Pairs of panels whose grid rectangles intersect, and panels outside the 24-column grid."""
    out = []
    boxes = [(p["id"], p["gridPos"]) for p in dash["panels"]]
    for pid, g in boxes:
        if g["x"] < 0 or g["y"] < 0 or g["w"] <= 0 or g["h"] <= 0 or g["x"] + g["w"] > GRID_WIDTH:
            out.append(f"panel {pid} is outside the grid")
    for n, (a, ga) in enumerate(boxes):
        for b, gb in boxes[n + 1 :]:
            if (
                ga["x"] < gb["x"] + gb["w"]
                and gb["x"] < ga["x"] + ga["w"]
                and ga["y"] < gb["y"] + gb["h"]
                and gb["y"] < ga["y"] + ga["h"]
            ):
                out.append(f"panels {a} and {b} overlap")
    return out


def known_dashboard_metrics() -> frozenset[str]:
    return frozenset().union(*(chart_statsd_metrics(v) for v in CHART_LINES)) | KUBE_METRICS


def test_the_dashboard_is_grafana_json_with_a_prometheus_datasource_variable() -> None:
    dash = load_dashboard()
    assert dash["schemaVersion"] >= 36
    assert dash["uid"]
    assert dash["title"]
    (ds,) = [v for v in dash["templating"]["list"] if v["name"] == "datasource"]
    assert (ds["type"], ds["query"]) == ("datasource", "prometheus")
    for panel in dash["panels"]:
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, panel["id"]
        assert panel["targets"], panel["id"]
        for target in panel["targets"]:
            assert target["datasource"] == {"type": "prometheus", "uid": "${datasource}"}


def test_the_dashboard_covers_what_the_on_call_watches() -> None:
    exprs = " ".join(panel_exprs(load_dashboard()))
    for metric in (
        "airflow_scheduler_heartbeat",
        "airflow_dag_processing_last_run_seconds_ago",
        "airflow_operator_successes",
        "airflow_operator_failures",
        "airflow_executor_open_slots",
        "airflow_pool_open_slots",
        "kube_pod_container_status_restarts_total",
    ):
        assert metric in exprs, metric


def test_panel_ids_are_unique_and_the_grid_has_no_overlap() -> None:
    dash = load_dashboard()
    assert duplicate_ids(dash) == []
    assert overlaps(dash) == []


def test_every_panel_query_parses() -> None:
    for expr in panel_exprs(load_dashboard()):
        assert promql_problems(expr) == [], expr


def test_every_panel_metric_is_one_the_chart_or_kubernetes_exposes() -> None:
    known = known_dashboard_metrics()
    for expr in panel_exprs(load_dashboard()):
        assert unknown_metrics(metric_names(expr), known) == [], expr


# ------------------------------------------------------------------ each check catches its fault
@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        ("sum(rate(airflow_scheduler_heartbeat[5m])", "unclosed"),
        ("sum(rate(airflow_scheduler_heartbeat[5m])))", "unbalanced"),
        ('airflow_pool_open_slots{pool="default"', "unclosed"),
        ("airflow_pool_open_slots{pool=default}", "bad label matcher"),
        ("rate(airflow_scheduler_heartbeat[5 minutes])", "bad range"),
        ("rat(airflow_scheduler_heartbeat[5m])", "unknown function"),
        ("airflow_pool_open_slots airflow_pool_used_slots", "two operands"),
    ],
)
def test_a_broken_expression_is_caught(expr: str, expected: str) -> None:
    assert [p for p in promql_problems(expr) if expected in p]


def test_metric_names_are_read_as_promql_reads_them() -> None:
    expr = (
        'sum by (pool) (rate(airflow_pool_open_slots{job="j", pool=~"a|b"}[5m])) '
        "/ on (pool) group_left max(airflow_pool_used_slots) > 0 or vector(0)"
    )
    assert promql_problems(expr) == []
    assert metric_names(expr) == {"airflow_pool_open_slots", "airflow_pool_used_slots"}


@pytest.mark.parametrize(
    "misspelt", ["airflow_scheduler_heartbeats", "airflow_dag_processing_last_run_seconds", "kube_pod_restarts_total"]
)
def test_a_misspelt_metric_name_is_caught(misspelt: str) -> None:
    assert unknown_metrics(metric_names(f"sum(rate({misspelt}[5m]))"), known_dashboard_metrics()) == [misspelt]


def test_a_duplicate_id_or_an_overlap_is_caught() -> None:
    dash = load_dashboard()
    first, second = dash["panels"][0], dash["panels"][1]
    broken = {**dash, "panels": [first, {**second, "id": first["id"], "gridPos": dict(first["gridPos"])}]}
    assert duplicate_ids(broken) == [first["id"]]
    assert overlaps(broken) == [f"panels {first['id']} and {first['id']} overlap"]
    wide = {**dash, "panels": [{**first, "gridPos": {**first["gridPos"], "x": 20, "w": 12}}]}
    assert overlaps(wide) == [f"panel {first['id']} is outside the grid"]

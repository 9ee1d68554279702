"""synth/schedule.py: the list schedule against graphs with known answers, the durations table
against every type the stacks register, and the dev/prod plans (every critical edge explained)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from synth import schedule as sch
from synth.project import PROJECT_DIR
from synth.runner import ResourceRecord


def task(name: str, duration: float, order: int) -> sch.Task:
    return sch.Task(urn=name, type="t", name=name, duration=duration, order=order)


def graph(durations: dict[str, float], edges: list[tuple[str, str]], kind: str = "input") -> sch.Graph:
    return sch.graph_from_tasks([task(n, d, i) for i, (n, d) in enumerate(durations.items())], edges, kind)


# --------------------------------------------------------------------------- hand-built graphs


def test_chain_makespan_is_the_sum_and_the_whole_chain_is_critical() -> None:
    s = sch.schedule(graph({"a": 3, "b": 4, "c": 5}, [("a", "b"), ("b", "c")]), 8)
    assert s.makespan == 12
    assert s.critical == ["a", "b", "c"]
    assert s.serial_sum == 12
    assert s.ratio == 1
    assert [(s.slots[u].start, s.slots[u].end) for u in "abc"] == [(0, 3), (3, 7), (7, 12)]


def test_diamond_waits_for_the_longer_branch() -> None:
    g = graph({"a": 1, "b": 10, "c": 2, "d": 1}, [("a", "b"), ("a", "c"), ("b", "d"), ("c", "d")])
    s = sch.schedule(g, 8)
    assert s.makespan == 12
    assert s.critical == ["a", "b", "d"]
    assert s.slots["d"].start == 11
    assert s.serial_sum == 14


def test_parallelism_bound_serialises_independent_steps() -> None:
    g = graph({"a": 5, "b": 5, "c": 5, "d": 5}, [])
    assert sch.schedule(g, 4).makespan == 5
    assert sch.schedule(g, 2).makespan == 10
    assert sch.schedule(g, 1).makespan == 20
    # the bound never beats the critical path, and never exceeds the serial sum
    s = sch.schedule(g, 3)
    assert s.critical_length <= s.makespan <= s.serial_sum
    assert s.makespan == 10


def test_ready_order_is_registration_order_when_slots_are_scarce() -> None:
    s = sch.schedule(graph({"x": 2, "y": 3, "z": 1}, []), 1)
    assert [u for u, _ in sorted(s.slots.items(), key=lambda kv: kv[1].start)] == ["x", "y", "z"]


def test_critical_path_is_the_longest_not_the_most_steps() -> None:
    g = graph({"a": 1, "b": 1, "c": 1, "long": 10, "end": 1}, [("a", "b"), ("b", "c"), ("c", "end"), ("long", "end")])
    s = sch.schedule(g, 8)
    assert s.critical == ["long", "end"]
    assert s.critical_length == 11 == s.makespan


def test_ties_are_broken_by_registration_order() -> None:
    g = graph({"p": 5, "q": 5, "end": 1}, [("q", "end"), ("p", "end")])
    assert sch.schedule(g, 8).critical == ["p", "end"]
    g2 = graph({"q": 5, "p": 5, "end": 1}, [("q", "end"), ("p", "end")])
    assert sch.schedule(g2, 8).critical == ["q", "end"]
    assert sch.gantt(sch.schedule(g, 8)) == sch.gantt(sch.schedule(g, 8))  # deterministic


def test_done_tasks_count_as_finished_at_zero() -> None:
    g = graph({"a": 100, "b": 4, "c": 6}, [("a", "b"), ("b", "c")])
    s = sch.schedule(g, 8, done=["a"])
    assert s.makespan == 10
    assert s.critical == ["b", "c"]
    assert "a" not in s.slots


def test_a_cycle_is_refused() -> None:
    with pytest.raises(ValueError, match="cycle"):
        graph({"a": 1, "b": 1}, [("a", "b"), ("b", "a")])


def test_an_edge_to_an_unknown_task_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown task"):
        graph({"a": 1}, [("a", "ghost")])


def test_parallel_must_be_positive_and_done_must_exist() -> None:
    g = graph({"a": 1}, [])
    with pytest.raises(ValueError, match="at least 1"):
        sch.schedule(g, 0)
    with pytest.raises(ValueError, match="unknown"):
        sch.schedule(g, 1, done=["ghost"])


def test_depends_on_only_edges_are_flagged_and_input_edges_are_not() -> None:
    s = sch.schedule(graph({"a": 1, "b": 1}, [("a", "b")], kind="depends_on"), 8)
    assert [(e.before, e.after) for e in s.depends_on_only()] == [("a", "b")]
    assert "depends_on" in s.critical_edges()[0].why
    s2 = sch.schedule(graph({"a": 1, "b": 1}, [("a", "b")], kind="input"), 8)
    assert s2.depends_on_only() == []


def test_go_durations() -> None:
    assert sch.go_duration_seconds("300s") == 300
    assert sch.go_duration_seconds("1h30m") == 5400
    for bad in ("", "5 minutes", "10x"):
        with pytest.raises(ValueError, match="not a duration"):
            sch.go_duration_seconds(bad)


def test_default_parallel_is_four_per_cpu() -> None:
    assert sch.default_parallel(2) == 8
    assert sch.default_parallel(4) == 16


# --------------------------------------------------------------------------- records -> graph


def rec(name: str, typ: str = "azure-native:x:Y", **kw: Any) -> ResourceRecord:
    base: dict[str, Any] = {
        "urn": f"urn:pulumi:s::p::{typ}::{name}",
        "type": typ,
        "name": name,
        "parent": "",
        "custom": True,
        "provider": "",
        "dependencies": [],
        "property_dependencies": {},
        "inputs": {},
    }
    base.update(kw)
    return ResourceRecord(**base)


def test_edges_name_the_input_or_the_depends_on_provider_and_custom_parent() -> None:
    comp = rec("comp", "my:comp:C", custom=False)
    a = rec("a", parent=comp.urn)
    b = rec("b", dependencies=[a.urn], property_dependencies={"scope": [a.urn]})
    prov = rec(
        "k8s", "pulumi:providers:kubernetes", dependencies=[b.urn], property_dependencies={"kubeconfig": [b.urn]}
    )
    c = rec("c", "kubernetes:core/v1:Namespace", provider=f"{prov.urn}::some-id")
    d = rec("d", dependencies=[comp.urn])  # depends_on a component: waits for its custom children
    e = rec("e", parent=a.urn)  # a custom parent
    g = sch.build_graph([comp, a, b, prov, c, d, e])
    assert comp.urn not in g.tasks
    assert g.edge(a.urn, b.urn).why == "input scope"
    assert g.edge(prov.urn, c.urn).kind == "provider"
    assert g.edge(a.urn, d.urn).kind == "depends_on"
    assert g.edge(a.urn, e.urn).kind == "parent"
    assert g.section[a.urn] == "comp"


def test_a_dependency_on_an_unregistered_resource_is_refused() -> None:
    with pytest.raises(ValueError, match="unregistered"):
        sch.build_graph([rec("a", dependencies=["urn:pulumi:s::p::x::ghost"])])


def test_sleep_takes_its_own_duration_and_variants_pick_by_input() -> None:
    sleep = rec("wait", "time:index/sleep:Sleep", inputs={"createDuration": "300s"})
    airflow = rec("af", "kubernetes:helm.sh/v3:Release", inputs={"chart": "airflow"})
    eso = rec("eso", "kubernetes:helm.sh/v3:Release", inputs={"chart": "external-secrets"})
    g = sch.build_graph([sleep, airflow, eso])
    assert g.tasks[sleep.urn].duration == 300
    assert g.tasks[airflow.urn].duration > g.tasks[eso.urn].duration


def test_unknown_types_use_the_marked_default() -> None:
    g = sch.build_graph([rec("odd", "azure-native:nothing:Here")])
    t = g.tasks[rec("odd", "azure-native:nothing:Here").urn]
    assert t.default
    assert t.duration == sch.load_durations().fallback.create


# --------------------------------------------------------------------------- the durations table


def write_table(tmp_path: Path, data: dict[str, Any]) -> Path:
    p = tmp_path / "d.yaml"
    p.write_text(yaml.safe_dump(data))
    return p


def test_every_nonzero_figure_has_a_source_with_url_and_quote() -> None:
    data = yaml.safe_load(sch.DURATIONS_FILE.read_text())
    for typ, entry in data["types"].items():
        for e in [entry, *(entry.get("variants") or [])]:
            if "samples" in e:  # each published timing carries its own source
                assert len(e["samples"]) >= sch.MIN_SAMPLES, typ
                for sample in e["samples"]:
                    assert sample["url"].startswith("https://"), typ
                    assert sample["quote"].strip(), typ
                assert e["confidence"] == "measured", typ
            elif e["create"] or e["update"]:
                assert e["source"]["url"].startswith("https://"), typ
                assert e["source"]["quote"].strip(), typ
                assert e["confidence"] in ("measured", "estimate"), typ
            else:
                assert e["why"].strip(), typ
    assert "DEFAULT" in data["default"]["why"]


def test_a_figure_without_a_source_is_refused(tmp_path: Path) -> None:
    table = {"default": {"create": 1, "update": 1, "why": "DEFAULT"}, "types": {"a:b:C": {"create": 5, "update": 5}}}
    with pytest.raises(ValueError, match="source"):
        sch.load_durations(write_table(tmp_path, table))
    table["types"]["a:b:C"] = {"create": 0, "update": 0}
    with pytest.raises(ValueError, match="why"):
        sch.load_durations(write_table(tmp_path, table))
    table["types"]["a:b:C"] = {"create": -1, "update": 0, "why": "x"}
    with pytest.raises(ValueError, match="negative"):
        sch.load_durations(write_table(tmp_path, table))


def _sample(seconds: float, quote: str, **extra: str) -> dict[str, Any]:
    return {"seconds": seconds, "url": "https://example.org/log", "quote": quote, **extra}


_GOOD = [_sample(1, "complete after 1s"), _sample(2, "complete after 2s")]


def _sampled_table(samples: list[dict[str, Any]], **entry: Any) -> dict[str, Any]:
    return {
        "default": {"create": 1, "update": 1, "why": "DEFAULT"},
        "types": {"a:b:C": {"confidence": "measured", "samples": samples, **entry}},
    }


def test_samples_give_their_median_and_each_is_read_from_its_quote(tmp_path: Path) -> None:
    samples = [
        _sample(258, "aks: Creation complete after 4m18s [id=/subscriptions/...]"),
        _sample(450, "module.aks.azurerm_kubernetes_cluster.aks: Creation complete after 7m30s"),
        _sample(900, "aks: Creation complete after 15m"),
        _sample(799, "08:39:03 creating | 08:52:22 done", note="08:39:03 -> 08:52:22"),
        # a recorded request's `date:` header and its completion's, across midnight
        _sample(242, "date: Sat, 10 Jul 2021 23:59:07 GMT | date: Sun, 11 Jul 2021 00:03:09 GMT", note="PUT, done"),
    ]
    d = sch.load_durations(write_table(tmp_path, _sampled_table(samples))).types["a:b:C"]
    assert (d.create, d.update) == (450, 450)
    assert d.source.startswith("[measured] median of 5 published timings")
    assert "https://example.org/log (4m02s)" in d.source
    d = sch.load_durations(write_table(tmp_path, _sampled_table(samples[:4]))).types["a:b:C"]
    assert (d.create, d.update) == ((450 + 799) / 2, (450 + 799) / 2)  # even count: the middle two
    assert "https://example.org/log (4m18s)" in d.source
    d = sch.load_durations(write_table(tmp_path, _sampled_table(samples[:3], update=60))).types["a:b:C"]
    assert (d.create, d.update) == (450, 60)


@pytest.mark.parametrize(
    ("samples", "entry", "message"),
    [
        # the figure typed beside the quote disagrees with what the quote says
        ([_sample(250, "Creation complete after 4m18s"), *_GOOD], {}, "seconds 250 but the quote says 4m18s"),
        # a timestamp pair without saying how it was read
        ([_sample(799, "08:39:03 | 08:52:22"), *_GOOD], {}, "a `note` must say how 799s was read"),
        # the figure beside two HTTP dates is not their difference (a minute off)
        (
            [_sample(302, "Sat, 10 Jul 2021 23:59:07 GMT | Sun, 11 Jul 2021 00:03:09 GMT", note="n"), *_GOOD],
            {},
            "seconds 302 but the quote's two dates are 242s apart",
        ),
        (
            [
                _sample(
                    60,
                    "Mon, 15 Feb 2021 10:11:13 GMT, Mon, 15 Feb 2021 10:12:13 GMT, Mon, 15 Feb 2021 10:13:13 GMT",
                    note="n",
                ),
                *_GOOD,
            ],
            {},
            "holds two (start, end), not 3",
        ),
        (
            [_sample(60, "Mon, 31 Feb 2021 10:11:13 GMT | Mon, 31 Feb 2021 10:12:13 GMT", note="n"), *_GOOD],
            {},
            "not a date",
        ),
        # HTTP dates without saying how they were read
        ([_sample(242, "Sat, 10 Jul 2021 23:59:07 GMT | Sun, 11 Jul 2021 00:03:09 GMT"), *_GOOD], {}, "a `note`"),
        ([_sample(1, "complete after 1s")], {}, "at least 2"),
        ([_sample(1, "complete after 1s")] * 3, {"create": 5}, "drop `create`"),
        ([_sample(1, "complete after 1s")] * 3, {"confidence": "estimate"}, "measured"),
        ([{**_sample(1, "complete after 1s"), "url": "http://x"}] * 3, {}, "https"),
        ([{"url": "https://x", "quote": "complete after 1s"}] * 3, {}, "numeric `seconds`"),
    ],
)
def test_bad_samples_are_refused(
    tmp_path: Path, samples: list[dict[str, Any]], entry: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        sch.load_durations(write_table(tmp_path, _sampled_table(samples, **entry)))


def test_a_type_both_sourced_and_defaulted_is_refused(tmp_path: Path) -> None:
    table = {
        "default": {"create": 1, "update": 1, "why": "DEFAULT"},
        "defaulted": ["a:b:C"],
        "types": {"a:b:C": {"create": 0, "update": 0, "why": "x"}},
    }
    with pytest.raises(ValueError, match="both"):
        sch.load_durations(write_table(tmp_path, table))


# --------------------------------------------------------------------------- dev and prod


@pytest.fixture(scope="module", params=["dev", "prod"])
def stack_result(request: pytest.FixtureRequest) -> Any:
    from synth.project import load_stack_config
    from synth.runner import run_stack

    return run_stack(load_stack_config(request.param))


def test_the_table_covers_every_type_the_stack_registers(stack_result: Any) -> None:
    durations = sch.load_durations()
    missing = sorted({r.type for r in stack_result.records if r.custom and not durations.covers(r.type)})
    assert missing == [], f"add a figure (with its source) or list under `defaulted:` in durations.yaml: {missing}"


def test_the_coverage_check_fails_on_an_unlisted_type() -> None:
    assert not sch.load_durations().covers("azure-native:compute:VirtualMachine")


def test_plan_numbers_hold_and_every_critical_edge_is_explained(stack_result: Any) -> None:
    s = sch.plan(stack_result, parallel=8)
    assert 0 < s.critical_length <= s.makespan <= s.serial_sum
    assert s.critical[0] in s.slots
    for e in s.critical_edges():
        assert e.kind in ("input", "depends_on", "provider", "parent")
        if e.kind == "input":
            assert e.properties  # the input that carries it is named
        after = next(r for r in stack_result.records if r.urn == e.after)
        if e.kind in ("input", "depends_on"):
            assert e.before in after.dependencies
        if e.kind == "input":
            assert all(e.before in after.property_dependencies[p] for p in e.properties)
        else:
            assert not any(e.before in v for v in after.property_dependencies.values())
    lines = sch.plan_lines(stack_result, parallel=8)
    text = "\n".join(lines)
    assert f"stack {stack_result.stack}" in text
    assert sum(line.lstrip().startswith("<- ") for line in lines) == len(s.critical) - 1
    for label in ("makespan", "critical path", "serial sum", "ratio"):
        assert label in text


def test_makespan_meets_the_critical_path_unbounded_and_nearly_at_the_default(stack_result: Any) -> None:
    unbounded = sch.plan(stack_result, parallel=10_000)
    assert unbounded.makespan == pytest.approx(unbounded.critical_length)
    s = sch.plan(stack_result, parallel=8)  # Pulumi's default on a 2-CPU machine
    assert s.makespan - s.critical_length <= 60  # the bound costs at most a minute
    if stack_result.stack == "prod":
        assert s.ratio <= 0.5


def test_from_zero_meets_issue_14s_goal_at_pulumis_default_on_four_cpus(stack_result: Any) -> None:
    """From zero at `--parallel 16` (4 x 4 CPUs): the makespan is the critical path and at most
    20 minutes; prod's is at most half its serial sum. An edge that lengthens the path fails here."""
    s = sch.plan(stack_result, parallel=sch.default_parallel(4))
    assert s.makespan == s.critical_length
    assert s.makespan <= 20 * 60
    if stack_result.stack == "prod":
        assert s.makespan <= 0.5 * s.serial_sum


def test_the_header_counts_the_components_and_the_bound_line_shows_only_what_it_adds(stack_result: Any) -> None:
    components = sum(1 for r in stack_result.records if r.type.startswith("airflow-aks:"))  # ours, by token
    unbounded = sch.plan_lines(stack_result, parallel=10_000)
    assert unbounded[0].endswith(f"; {components} components cost 0)")
    assert not any("the parallelism bound adds" in line for line in unbounded)
    serial = sch.plan(stack_result, parallel=1)
    added = sch.fmt_seconds(serial.makespan - serial.critical_length)
    assert f"  the parallelism bound adds {added} over the critical path" in sch.plan_lines(stack_result, parallel=1)


def test_mermaid_text_replaces_what_mermaid_parses_one_character_for_one() -> None:
    """`:` ends a gantt task's name, `;` a statement, `#` starts an entity: each becomes `_`."""
    assert sch._mermaid_text("a:b;c#d\ne") == "a_b_c_d_e"


def test_gantt_is_mermaid_shaped(stack_result: Any) -> None:
    text = sch.gantt(stack_result, parallel=8)
    lines = text.splitlines()
    assert lines[0] == "gantt"
    assert "    dateFormat X" in lines
    assert any(line.startswith("    section ") for line in lines)
    tasks = [line for line in lines if " :" in line]
    assert len(tasks) == len(sch.plan(stack_result, parallel=8).slots)
    for line in tasks:
        assert re.fullmatch(r"    [^:;#]+ :((crit|milestone), )*t\d+, \d+, \d+", line), line
    assert sum(", crit" in line or ":crit" in line for line in tasks) >= 2
    assert text == sch.gantt(stack_result, parallel=8)


def test_a_diff_schedules_only_the_changes(stack_result: Any) -> None:
    release = next(
        r for r in stack_result.records if r.type == "kubernetes:helm.sh/v3:Release" and r.name == "airflow-release"
    )
    s = sch.plan_changes(stack_result, {release.urn: "update"}, parallel=8)
    assert list(s.slots) == [release.urn]
    assert s.makespan == sch.load_durations().for_record(release.type, release.inputs).update
    with pytest.raises(ValueError, match="unknown operation"):
        sch.plan_changes(stack_result, {release.urn: "explode"}, parallel=8)


_README_PLAN = re.compile(r"```text\n\$ python -m synth (\w+) --plan +# [^\n]*--parallel (\d+)\n(.*?)```", re.S)


def test_the_readme_plan_excerpt_is_what_plan_prints(stack_result: Any) -> None:
    """The README's `--plan` excerpt is this table's output today, not a stale copy."""
    readme = (PROJECT_DIR / "README.md").read_text()
    excerpts = [(int(p), body) for name, p, body in _README_PLAN.findall(readme) if name == stack_result.stack]
    assert excerpts or stack_result.stack != "prod", "README shows prod's --plan"
    for parallel, body in excerpts:
        lines = sch.plan_lines(stack_result, parallel=parallel)
        start = next(i for i, line in enumerate(lines) if line.lstrip().startswith("makespan"))
        shown = body.rstrip("\n").split("\n")
        assert lines[start : start + len(shown)] == shown

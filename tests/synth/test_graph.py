"""synth/graph.py: one order for a dependency graph, whatever order it was registered in."""

from __future__ import annotations

import itertools

from synth.graph import topological_order


def test_what_a_node_waits_for_comes_first_ties_by_name() -> None:
    graph = {"c": ["a"], "b": ["a"], "a": [], "d": ["c", "b"]}
    assert topological_order(graph) == ["a", "b", "c", "d"]


def test_every_registration_order_gives_one_order() -> None:
    graph = {"app": ["db", "net"], "db": ["net"], "net": [], "logs": ["net"], "dns": []}
    orders = {tuple(topological_order(dict(p))) for p in itertools.permutations(graph.items())}
    assert orders == {("dns", "net", "db", "app", "logs")}  # the ready node first by name, each step


def test_unknown_names_and_self_edges_are_ignored_a_cycle_comes_last_by_name() -> None:
    graph = {"a": ["outside", "a"], "y": ["x"], "x": ["y"], "b": ["a"]}
    assert topological_order(graph) == ["a", "b", "x", "y"]

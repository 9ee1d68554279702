"""synth/graph.py: one order for a dependency graph, whatever order it was registered in."""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING

from synth.graph import provider_urn, topological_order

if TYPE_CHECKING:
    from synth.runner import RunResult


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


def test_a_provider_reference_names_a_provider_the_program_registered(dev_run: RunResult) -> None:
    """The Pulumi SDK writes `<urn>::<id>`: the URN is that of the provider resource."""
    providers = {r.urn for r in dev_run.records if r.type.startswith("pulumi:providers:")}
    referenced = {provider_urn(r.provider) for r in dev_run.records if r.provider}
    assert providers
    assert referenced == providers
    assert provider_urn("") == ""  # a default provider

"""Pulumi's dependency graph as synth reads it, shared by the tree synth prints (synth.render),
the deploy-time plan (synth.schedule) and the diff (synth.diff): one order for the graph,
whatever order the engine registered it in, and the provider a resource's reference names. A
module of its own, so that printing the tree does not import the scheduler (11 ms)."""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Mapping


def topological_order(waits_for: Mapping[str, Iterable[str]]) -> list[str]:
    """Every key of `waits_for` after everything it waits for (names outside the keys are
    ignored), ties by name: one order for one graph, whatever order the engine registered it
    in (its registration order varies from run to run: outputs resolve concurrently). Names
    left in a cycle (never in a Pulumi graph) come last, by name."""
    waiting = {u: {b for b in before if b in waits_for and b != u} for u, before in waits_for.items()}
    dependents: dict[str, list[str]] = {u: [] for u in waiting}
    for u, before in waiting.items():
        for b in before:
            dependents[b].append(u)
    ready = [u for u, before in waiting.items() if not before]
    heapq.heapify(ready)
    ordered: list[str] = []
    while ready:
        u = heapq.heappop(ready)
        ordered.append(u)
        for v in dependents[u]:
            waiting[v].discard(u)
            if not waiting[v]:
                heapq.heappush(ready, v)
    done = set(ordered)
    return ordered + sorted(u for u in waiting if u not in done)


def provider_urn(ref: str) -> str:
    """A provider reference is `<urn>::<id>`; the URN is everything before the last `::`."""
    return ref.rsplit("::", 1)[0] if ref else ""

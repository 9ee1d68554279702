"""synth/render.py's printed tree: the same stack prints the same tree whatever order the engine
registered it in (registration order varies from run to run), parents and dependencies first."""

from __future__ import annotations

import dataclasses
import random
from typing import TYPE_CHECKING

import pytest

from synth.project import PROJECT_DIR
from synth.render import stable_order, tree

if TYPE_CHECKING:
    from synth.runner import RunResult


@pytest.mark.parametrize("stack", ["dev_run", "prod_run"])
def test_the_tree_does_not_depend_on_registration_order(stack: str, request: pytest.FixtureRequest) -> None:
    result: RunResult = request.getfixturevalue(stack)
    printed = tree(result)
    for seed in range(5):
        shuffled = list(result.records)
        random.Random(seed).shuffle(shuffled)  # noqa: S311 - an order to test, not a secret
        assert shuffled != result.records
        assert tree(dataclasses.replace(result, records=shuffled)) == printed
    assert printed.count("\n") == len(result.records)  # the stack line plus one per record


def test_parents_and_dependencies_come_first(prod_run: RunResult) -> None:
    order = stable_order(list(reversed(prod_run.records)))
    position = {r.urn: i for i, r in enumerate(order)}
    checked = 0
    for r in order:
        for before in [r.parent, *r.dependencies]:
            if before in position:
                assert position[before] < position[r.urn], (before, r.urn)
                checked += 1
    assert checked > len(order)  # parents and real dependency edges, not a vacuous pass


def test_the_cluster_comes_before_what_runs_on_it(dev_run: RunResult) -> None:
    top = [line.split()[-1] for line in tree(dev_run).split("\n") if line.startswith("    + ")]
    assert top[0] == "cluster"
    assert top.index("secrets") < top.index("airflow") == len(top) - 1


def test_the_readme_tree_is_how_dev_prints(dev_run: RunResult) -> None:
    """README step 1 shows the start of dev's tree: the same lines, in the same order."""
    readme = (PROJECT_DIR / "README.md").read_text()
    start = readme.index("+ pulumi:pulumi:Stack airflow-aks-dev")
    shown = readme[start:].split("\n    ...\n", 1)[0].split("\n")
    assert len(shown) > 5
    assert tree(dev_run).split("\n")[: len(shown)] == shown

"""Shared pytest setup and fixtures. The project root is importable through pyproject's
`pythonpath = ["."]`; the tests themselves are the `tests` package (helpers: `tests.helpers`)."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from synth.runner import RunResult
    from tests.helpers import Distinct

# No test touches the network: a reference schema that is not on disk is not downloaded.
# The fetch tests (tests/synth/test_fetch.py) lift this for their own file:// repositories.
os.environ["AIRFLOW_AKS_OFFLINE"] = "1"
# No test reads or writes the user's render hints (synth/helm_process.py): every synth run here is
# a first run. tests/synth/test_helm_process.py turns them on, in a cache of its own.
os.environ["AIRFLOW_AKS_HELM_HINT"] = "off"


def _run(stack: str) -> RunResult:
    from synth.project import load_stack_config
    from synth.runner import run_stack

    return run_stack(load_stack_config(stack))


@pytest.fixture(scope="session")
def dev_run() -> RunResult:
    """The dev stack file run once under the mocks: everything it registers and exports.
    Shared by every test that reads it; a test that needs a changed record copies it
    (`dataclasses.replace`)."""
    return _run("dev")


@pytest.fixture(scope="session")
def prod_run() -> RunResult:
    """The prod stack file run once under the mocks (see dev_run)."""
    return _run("prod")


class DistinctRun:
    """A test-only stack whose names all differ (tests/helpers.py: DISTINCT), run through
    __main__.py under the mocks: `names` is what the stack file says, `result` what the
    program registered and exported."""

    def __init__(self, names: Distinct, result: RunResult) -> None:
        self.names = names
        self.result = result


@pytest.fixture(scope="session", params=["distinct", "distinct3"])
def distinct_run(request: pytest.FixtureRequest) -> DistinctRun:
    """Each test-only stack file under tests/stacks (chart 1.15 on a created cluster, chart
    1.19 on an existing one), read as the Pulumi CLI reads it and run once per session."""
    from synth.runner import run_stack
    from tests.helpers import DISTINCT

    names = DISTINCT[request.param]
    return DistinctRun(names, run_stack(names.config()))

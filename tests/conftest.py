"""Shared pytest setup and fixtures. The project root is importable through pyproject's
`pythonpath = ["."]`; the tests themselves are the `tests` package (helpers: `tests.helpers`)."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from synth.runner import RunResult

# No test touches the network: a reference schema that is not on disk is not downloaded.
# The fetch tests (tests/synth/test_fetch.py) lift this for their own file:// repositories.
os.environ["AIRFLOW_AKS_OFFLINE"] = "1"


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

"""Shared pytest setup. The project root is importable through pyproject's `pythonpath = ["."]`;
the tests themselves are the `tests` package (shared helpers: `tests.helpers`)."""

import os

# No test touches the network: a reference schema that is not on disk is not downloaded.
# The fetch tests (tests/synth/test_fetch.py) lift this for their own file:// repositories.
os.environ["AIRFLOW_AKS_OFFLINE"] = "1"

"""Shared pytest setup: the project root (settings, components, synth) is importable."""

import os
import sys
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent

if str(PROJECT_ROOT) not in sys.path:
    sys.path.insert(0, str(PROJECT_ROOT))

# No test touches the network: a reference schema that is not on disk is not downloaded.
# The fetch tests (tests/test_fetch.py) lift this for their own file:// repositories.
os.environ["AIRFLOW_AKS_OFFLINE"] = "1"

"""The ONE resolver for upstream reference files (chart schemas, CRDs).

Order: the AIRFLOW_AKS_REFERENCE_DIR environment variable, then the local cache
(~/.cache/airflow-aks/reference, or $XDG_CACHE_HOME), then ../shared/reference next to the
project (this repository's CI layout). Files are never copied into the repository.
"""

from __future__ import annotations

import functools
import json
import os
from pathlib import Path
from typing import Any

import yaml

ENV_VAR = "AIRFLOW_AKS_REFERENCE_DIR"
PROJECT_DIR = Path(__file__).resolve().parent.parent


class ReferenceNotFoundError(FileNotFoundError):
    pass


def _cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "airflow-aks" / "reference"


def search_path() -> list[Path]:
    dirs: list[Path] = []
    if os.environ.get(ENV_VAR):
        dirs.append(Path(os.environ[ENV_VAR]))
    dirs.append(_cache_dir())
    dirs.append(PROJECT_DIR.parent / "shared" / "reference")
    return dirs


def find(relative: str) -> Path:
    """The first existing `relative` file along the search path."""
    for base in search_path():
        candidate = base / relative
        if candidate.is_file():
            return candidate
    raise ReferenceNotFoundError(
        f"reference file {relative} not found in {', '.join(str(p) for p in search_path())}; "
        f"set {ENV_VAR} to a directory holding it"
    )


@functools.cache
def load_json(relative: str) -> Any:
    return json.loads(find(relative).read_text())


# libyaml's C loader parses the ESO CRDs ~10x faster than the pure-Python one.
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@functools.cache
def load_yaml(relative: str) -> Any:
    return yaml.load(find(relative).read_text(), Loader=_YAML_LOADER)  # noqa: S506 - a safe loader


def airflow_chart_schema(version: str) -> Any:
    return load_json(f"airflow-chart/{version}/values.schema.json")


def eso_chart_schema(version: str) -> Any:
    return load_json(f"external-secrets/{version}/chart/values.schema.json")


_ESO_CRD_FILES = {
    "SecretStore": "external-secrets.io_secretstores.yaml",
    "ExternalSecret": "external-secrets.io_externalsecrets.yaml",
    "ClusterSecretStore": "external-secrets.io_clustersecretstores.yaml",
    "ClusterExternalSecret": "external-secrets.io_clusterexternalsecrets.yaml",
}


def eso_crd(version: str, kind: str) -> Any:
    if kind not in _ESO_CRD_FILES:
        raise ReferenceNotFoundError(f"no External Secrets CRD for kind {kind}")
    return load_yaml(f"external-secrets/{version}/crds/{_ESO_CRD_FILES[kind]}")

"""The ONE resolver for upstream reference files (chart schemas, CRDs, packaged charts).

Order: the AIRFLOW_AKS_REFERENCE_DIR environment variable, then the local cache
(~/.cache/airflow-aks/reference, or $XDG_CACHE_HOME), then ../shared/reference next to the
project (this repository's CI layout), and last, for a user who is online, the charts'
upstream sources: :mod:`synth.fetch` downloads the pinned version into the cache (set
AIRFLOW_AKS_OFFLINE=1, or pass ``--offline`` to synth, to never touch the network).
Files are never copied into the repository.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import sys
import threading
from pathlib import Path
from typing import Any

import yaml

ENV_VAR = "AIRFLOW_AKS_REFERENCE_DIR"
OFFLINE_VAR = "AIRFLOW_AKS_OFFLINE"
PROJECT_DIR = Path(__file__).resolve().parent.parent


class ReferenceNotFoundError(FileNotFoundError):
    pass


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "airflow-aks" / "reference"


def fetch_allowed() -> bool:
    return os.environ.get(OFFLINE_VAR, "").strip().lower() not in {"1", "true", "yes", "on"}


def search_path() -> list[Path]:
    dirs: list[Path] = []
    if os.environ.get(ENV_VAR):
        dirs.append(Path(os.environ[ENV_VAR]))
    dirs.append(cache_dir())
    dirs.append(PROJECT_DIR.parent / "shared" / "reference")
    return dirs


def find(relative: str) -> Path:
    """The first existing `relative` file along the search path, else fetched into the cache."""
    for base in search_path():
        candidate = base / relative
        if candidate.is_file():
            return candidate
    searched = ", ".join(str(p) for p in search_path())
    if not fetch_allowed():
        fetched = f"not fetched ({OFFLINE_VAR} is set)"
    else:
        fetched = _fetch_into_cache(relative)
        candidate = cache_dir() / relative
        if candidate.is_file():
            return candidate
    raise ReferenceNotFoundError(
        f"reference file {relative} not found in {searched}; {fetched}; set {ENV_VAR} to a directory holding it"
    )


# (cache, folder, version) -> the outcome of the one attempt this process makes
_attempts: dict[tuple[Path, str, str], str] = {}


def _fetch_into_cache(relative: str) -> str:
    """Fetch the chart version `relative` belongs to; say what happened (never raises)."""
    parts = Path(relative).parts
    if len(parts) < 3:
        return "no upstream source for it"
    key = (cache_dir(), parts[0], parts[1])
    if key not in _attempts:
        from synth import fetch

        if parts[0] not in fetch.SOURCES:
            _attempts[key] = f"no upstream source known for {parts[0]}"
        else:
            print(f"synth: fetching {parts[0]} {parts[1]} into {key[0]} ...", file=sys.stderr)
            try:
                got = fetch.fetch(parts[0], parts[1], key[0])
                _attempts[key] = f"fetched {len(got.files)} files into {got.path}"
            except (fetch.FetchError, OSError, ValueError) as err:  # never a traceback from here
                _attempts[key] = f"fetching it failed: {err}"
            print(f"synth: {_attempts[key]}", file=sys.stderr)
    return _attempts[key]


@functools.cache
def load_json(relative: str) -> Any:
    return json.loads(find(relative).read_text())


# libyaml's C loader parses the ESO CRDs ~10x faster than the pure-Python one.
YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
# A reference YAML file this large is parsed once per machine: its data is kept as JSON, which
# loads ~30x faster (a 690 kB ESO CRD: 68 ms as YAML, 2 ms as JSON). Smaller files are not worth
# a cache file.
PARSED_CACHE_MIN_CHARS = 32 * 1024


def parsed_cache_dir() -> Path:
    """Where parsed reference files are kept (beside the reference cache, never searched for
    reference files): <sha256 of the YAML text>.json."""
    return cache_dir().parent / "parsed"


@functools.cache
def load_yaml(relative: str) -> Any:
    return parse_yaml_text(find(relative).read_text())


def parse_yaml_text(text: str) -> Any:
    """`text` parsed as YAML; a large text's data comes from the parsed cache when it holds it,
    keyed by the text's hash (another text, another file), and is stored there after a parse.
    The cache is an optimisation only: a missing, unreadable, unwritable or corrupt entry means
    a parse, and data JSON cannot hold exactly (dates, non-string keys) is never stored."""
    if len(text) < PARSED_CACHE_MIN_CHARS:
        return yaml.load(text, Loader=YAML_LOADER)  # noqa: S506 - a safe loader
    path = parsed_cache_dir() / f"{hashlib.sha256(text.encode()).hexdigest()}.json"
    with contextlib.suppress(OSError, ValueError):
        return json.loads(path.read_bytes())
    data = yaml.load(text, Loader=YAML_LOADER)  # noqa: S506 - a safe loader
    _store_parsed(path, data)
    return data


def _store_parsed(path: Path, data: Any) -> None:
    encoded = exact_json(data)
    if encoded is not None:
        write_whole(path, encoded.encode())


def exact_json(data: Any, *, sort_keys: bool = False) -> str | None:
    """`data` as compact JSON, or None when JSON would not give back exactly `data`: a date,
    bytes, a set, NaN (not encodable), a tuple or an integer key (decoded as a list, a string)."""
    try:
        encoded = json.dumps(data, allow_nan=False, separators=(",", ":"), sort_keys=sort_keys)
    except (TypeError, ValueError):
        return None
    return encoded if json.loads(encoded) == data else None


def write_whole(path: Path, data: bytes) -> None:
    """Write a cache file whole or not at all (a reader never sees half a file); a failure is
    ignored: a cache is an optimisation only."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_bytes(data)
        tmp.replace(path)
    except OSError:
        with contextlib.suppress(OSError):
            tmp.unlink()


def airflow_chart_schema(version: str) -> Any:
    return load_json(f"airflow-chart/{version}/values.schema.json")


def eso_chart_schema(version: str) -> Any:
    return load_json(f"external-secrets/{version}/chart/values.schema.json")


def chart_default_values(chart: str, version: str) -> Any:
    """The chart's own values.yaml (its defaults), for the charts the stack installs."""
    relative = {
        "airflow": f"airflow-chart/{version}/values.yaml",
        "external-secrets": f"external-secrets/{version}/chart/values.yaml",
    }.get(chart)
    if relative is None:
        raise ReferenceNotFoundError(f"no reference values.yaml known for chart {chart}")
    return load_yaml(relative)


ESO_CRD_FILES = {
    "SecretStore": "external-secrets.io_secretstores.yaml",
    "ExternalSecret": "external-secrets.io_externalsecrets.yaml",
    "ClusterSecretStore": "external-secrets.io_clustersecretstores.yaml",
    "ClusterExternalSecret": "external-secrets.io_clusterexternalsecrets.yaml",
}


def eso_crd(version: str, kind: str) -> Any:
    if kind not in ESO_CRD_FILES:
        raise ReferenceNotFoundError(f"no External Secrets CRD for kind {kind}")
    return load_yaml(f"external-secrets/{version}/crds/{ESO_CRD_FILES[kind]}")

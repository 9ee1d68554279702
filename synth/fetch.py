"""Fetch reference files (chart schemas, CRDs) from their upstream sources into a cache.

The last step of the resolver in :mod:`synth.reference`, for a real user who is online and
has no reference directory: the pinned chart is downloaded from its Helm repository
(``index.yaml`` → the chart archive, whose sha256 must equal the index's ``digest``) and
``values.schema.json``, ``values.yaml`` and ``Chart.yaml`` are taken from it. The External
Secrets chart ships its CRDs as Helm *templates* (wrapped in ``{{ if }}`` blocks), which are
not YAML, so those come untemplated from the operator's source at the chart's release tag
(``config/crds/bases/``, the files the chart's templates are generated from).

Nothing is extracted blindly: only named members are read from the archive, each file is
checked (JSON/YAML parses, ``Chart.yaml`` names the requested version, a CRD names the kind
we asked for), and a version directory appears in the cache only once complete (written
beside it, then renamed). ``SOURCE.json`` in it records every URL and sha256. The archive
itself is kept too, as ``<chart>-<version>.tgz`` in the version directory (byte for byte what
the index's digest names), for :mod:`synth.helm` to render; it is never unpacked to disk.
A version directory an earlier fetch left without the archive is fetched again.

    python -m synth.fetch dev               # the chart versions the dev stack pins
    python -m synth.fetch dev --into DIR    # e.g. to copy into an air-gapped machine
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import io
import json
import re
import shutil
import sys
import tarfile
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from profiles import AIRFLOW_CHART_NAME, AIRFLOW_CHART_REPO, ESO_CHART_NAME, ESO_CHART_REPO
from synth.reference import ESO_CRD_FILES, YAML_LOADER, cache_dir

MAX_INDEX_BYTES = 64 * 1024 * 1024
MAX_ARCHIVE_BYTES = 32 * 1024 * 1024
MAX_FILE_BYTES = 16 * 1024 * 1024
TIMEOUT_SECONDS = 30.0  # per socket operation
DEADLINE_SECONDS = 300.0  # per download, against a server that trickles bytes
_CHUNK = 1 << 16
USER_AGENT = "airflow-aks-synth (+reference fetch)"
_VERSION = re.compile(r"v?[0-9]+(\.[0-9]+){1,2}([-+][0-9A-Za-z.-]+)?")


class FetchError(RuntimeError):
    """A reference could not be fetched; the message names the URL and what was wrong."""


@dataclass(frozen=True)
class CrdSource:
    """Untemplated CRDs at the chart's release tag: ``url`` has ``{version}`` and ``{file}``."""

    url: str
    files: Mapping[str, str]  # kind -> file name (the same names under crds/ in the cache)


@dataclass(frozen=True)
class ChartSource:
    """Where a chart's reference files come from and where they go in the cache."""

    folder: str  # top-level folder in the reference layout
    repo: str  # Helm repository URL (must equal the URL the component installs from)
    chart: str  # chart name in the repository's index
    chart_dir: str  # cache sub-directory for the chart files, "" = the version folder itself
    files: tuple[str, ...] = ("values.schema.json", "values.yaml", "Chart.yaml")
    crds: CrdSource | None = None


SOURCES: dict[str, ChartSource] = {
    "airflow-chart": ChartSource(
        folder="airflow-chart",
        repo=AIRFLOW_CHART_REPO,
        chart=AIRFLOW_CHART_NAME,
        chart_dir="",
    ),
    "external-secrets": ChartSource(
        folder="external-secrets",
        repo=ESO_CHART_REPO,
        chart=ESO_CHART_NAME,
        chart_dir="chart",
        crds=CrdSource(
            url=(
                "https://raw.githubusercontent.com/external-secrets/external-secrets/"
                "helm-chart-{version}/config/crds/bases/{file}"
            ),
            files=ESO_CRD_FILES,
        ),
    ),
}


@dataclass(frozen=True)
class Fetched:
    folder: str
    version: str
    path: Path
    files: dict[str, str]  # relative path -> sha256
    seconds: float


class _SameSchemeRedirects(urllib.request.HTTPRedirectHandler):
    """Follow redirects only within one scheme: no https -> http downgrade."""

    def redirect_request(
        self,
        req: urllib.request.Request,
        fp: Any,
        code: int,
        msg: str,
        headers: Any,
        newurl: str,
    ) -> urllib.request.Request | None:
        old, new = urllib.parse.urlparse(req.full_url).scheme, urllib.parse.urlparse(newurl).scheme
        if old != new:
            raise urllib.error.HTTPError(newurl, code, f"redirect from {old} to {new} refused", headers, fp)
        return super().redirect_request(req, fp, code, msg, headers, newurl)


_OPENER = urllib.request.build_opener(_SameSchemeRedirects)


def _download(url: str, limit: int, *, scheme: str | None = None) -> bytes:
    """GET `url`: at most `limit` bytes, within DEADLINE_SECONDS, with the expected `scheme`."""
    got = urllib.parse.urlparse(url).scheme
    allowed = {scheme} if scheme else {"https", "http", "file"}
    if got not in allowed:
        raise FetchError(f"{url}: URL scheme {got!r} refused (expected {' or '.join(sorted(allowed))})")
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})  # noqa: S310 - scheme checked above
    deadline = time.monotonic() + DEADLINE_SECONDS
    chunks: list[bytes] = []
    size = 0
    try:
        with _OPENER.open(request, timeout=TIMEOUT_SECONDS) as response:
            while chunk := response.read(_CHUNK):
                chunks.append(chunk)
                size += len(chunk)
                if size > limit:
                    raise FetchError(f"{url}: larger than {limit} bytes, refused")
                if time.monotonic() > deadline:
                    raise FetchError(f"{url}: not done after {DEADLINE_SECONDS:.0f} s, abandoned")
    except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError) as err:
        if isinstance(err, urllib.error.HTTPError):
            raise FetchError(f"{url}: HTTP {err.code} {err.reason}") from err
        raise FetchError(f"{url}: {getattr(err, 'reason', err)}") from err
    return b"".join(chunks)


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _chart_entry(index: Any, source: ChartSource, version: str, index_url: str) -> Mapping[str, Any]:
    entries = index.get("entries") if isinstance(index, Mapping) else None
    if not isinstance(entries, Mapping) or source.chart not in entries:
        raise FetchError(f"{index_url}: no chart named {source.chart!r} in the repository index")
    listed = entries[source.chart]
    if not isinstance(listed, list):
        raise FetchError(f"{index_url}: entries.{source.chart} is not a list of chart versions")
    versions = [e for e in listed if isinstance(e, Mapping)]
    for entry in versions:
        if str(entry.get("version")) == version:
            return entry
    known = ", ".join(str(e.get("version")) for e in versions[:8])
    raise FetchError(f"{index_url}: chart {source.chart} has no version {version!r} (newest listed: {known or 'none'})")


def _archive_bytes(entry: Mapping[str, Any], source: ChartSource, version: str) -> tuple[str, bytes]:
    digest = str(entry.get("digest") or "").lower()
    if len(digest) != 64:
        raise FetchError(f"{source.repo}: index entry {source.chart} {version} has no sha256 digest; refusing it")
    listed = entry.get("urls")
    urls = [u for u in listed if isinstance(u, str)] if isinstance(listed, list) else []
    if not urls:
        raise FetchError(f"{source.repo}: index entry {source.chart} {version} lists no download URL")
    # The archive comes over the repository's own scheme: an index cannot send us to file://.
    scheme = urllib.parse.urlparse(source.repo).scheme
    problems = []
    for raw in urls:
        url = urllib.parse.urljoin(source.repo.rstrip("/") + "/", raw)
        try:
            data = _download(url, MAX_ARCHIVE_BYTES, scheme=scheme)
        except FetchError as err:
            problems.append(str(err))
            continue
        actual = _sha256(data)
        if actual != digest:
            raise FetchError(f"{url}: sha256 {actual} does not match the index digest {digest}; refusing it")
        return url, data
    raise FetchError("; ".join(problems))


def _read_members(archive: bytes, source: ChartSource, url: str) -> dict[str, bytes]:
    """The wanted files from the chart archive: named members only, nothing extracted to disk."""
    wanted = {f"{source.chart}/{name}": name for name in source.files}
    found: dict[str, bytes] = {}
    try:
        with tarfile.open(fileobj=io.BytesIO(archive), mode="r:gz") as tar:
            for member in tar.getmembers():
                name = wanted.get(member.name)
                if name is None or not member.isfile():
                    continue
                if member.size > MAX_FILE_BYTES:
                    raise FetchError(f"{url}: {member.name} is larger than {MAX_FILE_BYTES} bytes, refused")
                handle = tar.extractfile(member)
                if handle is not None:
                    found[name] = handle.read()
    except (tarfile.TarError, OSError, EOFError) as err:
        raise FetchError(f"{url}: not a readable chart archive: {err}") from err
    missing = sorted(set(source.files) - set(found))
    if missing:
        raise FetchError(f"{url}: the chart archive has no {', '.join(f'{source.chart}/{m}' for m in missing)}")
    return found


def _check_chart_files(files: Mapping[str, bytes], source: ChartSource, version: str, url: str) -> None:
    try:
        json.loads(files["values.schema.json"])
        chart = yaml.load(files["Chart.yaml"], Loader=YAML_LOADER)  # noqa: S506 - a safe loader
        yaml.load(files["values.yaml"], Loader=YAML_LOADER)  # noqa: S506 - a safe loader
    except (ValueError, yaml.YAMLError) as err:
        raise FetchError(f"{url}: a chart file does not parse: {err}") from err
    if not isinstance(chart, Mapping) or str(chart.get("version")) != version:
        got = chart.get("version") if isinstance(chart, Mapping) else None
        raise FetchError(f"{url}: Chart.yaml says version {got!r}, expected {version!r}")
    if str(chart.get("name")) != source.chart:
        raise FetchError(f"{url}: Chart.yaml names chart {chart.get('name')!r}, expected {source.chart!r}")


def _fetch_crds(crds: CrdSource, version: str) -> tuple[dict[str, bytes], dict[str, str]]:
    files: dict[str, bytes] = {}
    urls: dict[str, str] = {}
    for kind, name in crds.files.items():
        url = crds.url.format(version=version, file=name)
        data = _download(url, MAX_FILE_BYTES, scheme=urllib.parse.urlparse(crds.url).scheme)
        try:
            doc = yaml.load(data, Loader=YAML_LOADER)  # noqa: S506 - a safe loader
        except yaml.YAMLError as err:
            raise FetchError(f"{url}: not YAML: {err}") from err
        spec = doc.get("spec") if isinstance(doc, Mapping) else None
        names = spec.get("names") if isinstance(spec, Mapping) else None
        got_kind = names.get("kind") if isinstance(names, Mapping) else None
        if not isinstance(doc, Mapping) or doc.get("kind") != "CustomResourceDefinition" or got_kind != kind:
            raise FetchError(f"{url}: expected the CustomResourceDefinition of {kind}, got something else")
        files[name] = data
        urls[name] = url
    return files, urls


def fetch(
    folder: str,
    version: str,
    into: Path,
    *,
    sources: Mapping[str, ChartSource] | None = None,
    force: bool = False,
) -> Fetched:
    """Fetch ``folder``/``version`` (e.g. ``airflow-chart``/``1.15.0``) into ``into``.

    ``into/<folder>/<version>/`` appears whole or not at all. An existing, complete version
    directory is kept unless ``force``.
    """
    table = SOURCES if sources is None else sources
    if folder not in table:
        raise FetchError(f"no upstream source known for {folder!r} (known: {', '.join(sorted(table))})")
    source = table[folder]
    if not _VERSION.fullmatch(version):
        raise FetchError(f"{version!r} is not a chart version (expected e.g. 1.15.0)")
    target = into / folder / version
    try:
        return _fetch(source, folder, version, target, force)
    except (OSError, ValueError) as err:  # the cache or target directory, not the network
        if isinstance(err, FetchError):
            raise
        raise FetchError(f"{target}: {type(err).__name__}: {err}") from err


def archive_name(source: ChartSource, version: str) -> str:
    """The kept chart archive, in the version directory: what `helm pull` names it."""
    return f"{source.chart}-{version}.tgz"


def _recorded(target: Path) -> Fetched | None:
    """The complete version directory a previous fetch left, if any."""
    record = target / "SOURCE.json"
    if not record.is_file():
        return None
    recorded = json.loads(record.read_text())
    files = recorded.get("files") if isinstance(recorded, Mapping) else None
    return Fetched(target.parent.name, target.name, target, dict(files or {}), 0.0)


def _fetch(source: ChartSource, folder: str, version: str, target: Path, force: bool) -> Fetched:
    replace = force
    if not force:
        done = _recorded(target)
        if done is not None and archive_name(source, version) in done.files:
            return done
        if done is not None:  # ours, from before the archive was kept: fetch it whole again
            replace = True
        elif target.exists():
            raise FetchError(
                f"{target} exists but was not fetched here (no SOURCE.json); not touching it: "
                "fetch into another directory, or pass --force to replace it"
            )

    started = time.perf_counter()
    index_url = source.repo.rstrip("/") + "/index.yaml"
    raw_index = _download(index_url, MAX_INDEX_BYTES)
    try:
        index = yaml.load(raw_index, Loader=YAML_LOADER)  # noqa: S506 - a safe loader
    except yaml.YAMLError as err:
        raise FetchError(f"{index_url}: not a Helm repository index: {err}") from err
    entry = _chart_entry(index, source, version, index_url)
    archive_url, archive = _archive_bytes(entry, source, version)
    chart_files = _read_members(archive, source, archive_url)
    _check_chart_files(chart_files, source, version, archive_url)

    layout: dict[str, bytes] = {
        f"{source.chart_dir}/{name}" if source.chart_dir else name: data for name, data in chart_files.items()
    }
    origins = {rel: f"{archive_url}#{source.chart}/{rel.rsplit('/', 1)[-1]}" for rel in layout}
    layout[archive_name(source, version)] = archive
    origins[archive_name(source, version)] = archive_url
    if source.crds is not None:
        crd_files, crd_urls = _fetch_crds(source.crds, version)
        for name, data in crd_files.items():
            layout[f"crds/{name}"] = data
            origins[f"crds/{name}"] = crd_urls[name]

    hashes = {rel: _sha256(data) for rel, data in sorted(layout.items())}
    record = {
        "folder": folder,
        "version": version,
        "repository": source.repo,
        "archive": {"url": archive_url, "sha256": str(entry["digest"]).lower()},
        "files": hashes,
        "origins": origins,
        "fetched": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    _write_atomically(target, layout, record, replace=replace)
    return Fetched(folder, version, target, hashes, time.perf_counter() - started)


def _write_atomically(target: Path, layout: Mapping[str, bytes], record: Mapping[str, Any], *, replace: bool) -> None:
    """Write beside `target`, then rename: readers see the old directory or the new one,
    never a half-written one. Without `replace`, a directory another process completed
    meanwhile wins and ours is discarded."""
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-new-", dir=target.parent))
    retired: Path | None = None
    try:
        for rel, data in layout.items():
            path = staging / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        (staging / "SOURCE.json").write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")
        if replace and target.exists():
            retired = Path(tempfile.mkdtemp(prefix=f".{target.name}-old-", dir=target.parent))
            target.rename(retired / target.name)
        try:
            staging.rename(target)
        except OSError:
            if _recorded(target) is None:  # not another process that finished first
                raise
    finally:
        for leftover in (staging, retired):
            if leftover is not None and leftover.exists():
                shutil.rmtree(leftover, ignore_errors=True)


# ----------------------------------------------------------------- command line
def pinned_versions(stack: str) -> dict[str, str]:
    """folder -> version that a stack pins (through its validated settings)."""
    from config import parse_settings
    from synth.project import load_stack_config

    config = load_stack_config(stack)
    settings = parse_settings(config.stack, config.values)
    return {
        "airflow-chart": settings.airflow_chart_version,
        "external-secrets": settings.secrets_operator_chart_version,
    }


def main(argv: list[str] | None = None) -> int:
    from synth.project import StackFileError, StackNameError, StackNotFoundError

    parser = argparse.ArgumentParser(prog="python -m synth.fetch", description=__doc__.splitlines()[0])
    parser.add_argument("stack", help="fetch the chart versions this stack pins")
    parser.add_argument("--into", type=Path, help=f"reference directory (default: the cache, {cache_dir()})")
    parser.add_argument("--force", action="store_true", help="fetch again even if the cache has the version")
    args = parser.parse_args(argv)

    from config import ConfigError

    try:
        wanted = pinned_versions(args.stack)
    except (StackNotFoundError, StackFileError, StackNameError, ConfigError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    into = args.into or cache_dir()
    failed = False
    for folder, version in wanted.items():
        try:
            got = fetch(folder, version, into, force=args.force)
        except FetchError as err:
            print(f"error: {folder} {version}: {err}", file=sys.stderr)
            failed = True
            continue
        print(f"{folder} {version}: {len(got.files)} files in {got.path} ({got.seconds:.1f}s)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

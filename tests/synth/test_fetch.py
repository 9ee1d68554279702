"""The resolver's last step: fetching reference files from upstream into the cache.

There is no network here, so each test builds a real Helm repository (index.yaml + chart
archive with its sha256 digest) and a CRD source tree on disk, out of the real reference
files (the packaged charts `helm pull` gives, and the CRDs), and points the sources at them
with file:// URLs. The code under test is the same download, digest check, archive reading
and atomic write a user gets over https.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import hashlib
import http.server
import io
import json
import tarfile
import threading
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import pytest
import yaml

from components.secrets_operator import ESO_CHART_NAME, ESO_CHART_REPO
from profiles import AIRFLOW_CHART_NAME, AIRFLOW_CHART_REPO
from synth import fetch, reference
from synth.__main__ import main as synth_main

AIRFLOW = "1.15.0"
ESO = "2.9.0"
CHART_FILES = ("values.schema.json", "values.yaml", "Chart.yaml")
AIRFLOW_ARCHIVE = f"airflow-{AIRFLOW}.tgz"
ESO_ARCHIVE = f"external-secrets-{ESO}.tgz"


def _reference_bytes(relative: str) -> bytes:
    return reference.find(relative).read_bytes()


def _airflow_files() -> dict[str, bytes]:
    return {name: _reference_bytes(f"airflow-chart/{AIRFLOW}/{name}") for name in CHART_FILES}


def _eso_files() -> dict[str, bytes]:
    return {name: _reference_bytes(f"external-secrets/{ESO}/chart/{name}") for name in CHART_FILES}


def _eso_crds() -> dict[str, bytes]:
    return {n: _reference_bytes(f"external-secrets/{ESO}/crds/{n}") for n in reference.ESO_CRD_FILES.values()}


def _packaged(relative: str) -> bytes:
    """A real packaged chart from the reference directory (what `helm pull` gives)."""
    return _reference_bytes(relative)


def _members(archive: bytes, chart: str) -> dict[str, bytes]:
    """The chart files inside a packaged chart, by name (the truth a fetch must copy)."""
    with tarfile.open(fileobj=io.BytesIO(archive), mode="r:gz") as tar:
        out = {}
        for name in CHART_FILES:
            handle = tar.extractfile(f"{chart}/{name}")
            assert handle is not None
            out[name] = handle.read()
        return out


def _archive(chart: str, files: Mapping[str, bytes], extra: Mapping[str, bytes] | None = None) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        members = {f"{chart}/{name}": data for name, data in files.items()}
        members[f"{chart}/templates/NOTES.txt"] = b"not a reference file\n"
        members.update(extra or {})
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def _helm_repo(
    root: Path,
    chart: str,
    version: str,
    archive: bytes,
    *,
    digest: str | None = None,
    absolute_url: bool = False,
) -> Path:
    """A Helm repository on disk: index.yaml listing two versions, and the archive."""
    root.mkdir(parents=True, exist_ok=True)
    name = f"{chart}-{version}.tgz"
    (root / name).write_bytes(archive)
    entry = {
        "name": chart,
        "version": version,
        "digest": digest if digest is not None else hashlib.sha256(archive).hexdigest(),
        "urls": [(root / name).as_uri() if absolute_url else name],
    }
    other = {**entry, "version": "0.0.1", "urls": ["gone.tgz"]}
    (root / "index.yaml").write_text(yaml.safe_dump({"apiVersion": "v1", "entries": {chart: [entry, other]}}))
    return root


def _crd_tree(root: Path, version: str, crds: Mapping[str, bytes]) -> str:
    bases = root / f"helm-chart-{version}" / "config" / "crds" / "bases"
    bases.mkdir(parents=True)
    for name, data in crds.items():
        (bases / name).write_bytes(data)
    return root.as_uri() + "/helm-chart-{version}/config/crds/bases/{file}"


@pytest.fixture
def sources(tmp_path: Path) -> dict[str, fetch.ChartSource]:
    """Both charts served from tmp_path: the real layout, the real packaged charts."""
    airflow_repo = _helm_repo(
        tmp_path / "airflow-repo", AIRFLOW_CHART_NAME, AIRFLOW, _packaged(f"airflow-chart/{AIRFLOW}/{AIRFLOW_ARCHIVE}")
    )
    eso_repo = _helm_repo(
        tmp_path / "eso-repo",
        ESO_CHART_NAME,
        ESO,
        _packaged(f"external-secrets/{ESO}/{ESO_ARCHIVE}"),
        absolute_url=True,
    )
    crd_url = _crd_tree(tmp_path / "eso-src", ESO, _eso_crds())
    return {
        "airflow-chart": dataclasses.replace(fetch.SOURCES["airflow-chart"], repo=airflow_repo.as_uri()),
        "external-secrets": dataclasses.replace(
            fetch.SOURCES["external-secrets"],
            repo=eso_repo.as_uri(),
            crds=fetch.CrdSource(url=crd_url, files=reference.ESO_CRD_FILES),
        ),
    }


def test_sources_are_the_repositories_the_components_install_from() -> None:
    assert fetch.SOURCES["airflow-chart"].repo == AIRFLOW_CHART_REPO
    assert fetch.SOURCES["airflow-chart"].chart == AIRFLOW_CHART_NAME
    assert fetch.SOURCES["external-secrets"].repo == ESO_CHART_REPO
    assert fetch.SOURCES["external-secrets"].chart == ESO_CHART_NAME
    crds = fetch.SOURCES["external-secrets"].crds
    assert crds is not None
    assert crds.url.startswith(
        "https://raw.githubusercontent.com/external-secrets/external-secrets/helm-chart-{version}/"
    )


def test_fetches_the_airflow_chart_files_verbatim(sources: dict[str, fetch.ChartSource], tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    got = fetch.fetch("airflow-chart", AIRFLOW, cache, sources=sources)

    assert got.path == cache / "airflow-chart" / AIRFLOW
    assert sorted(got.files) == sorted([*CHART_FILES, AIRFLOW_ARCHIVE])
    served = (tmp_path / "airflow-repo" / AIRFLOW_ARCHIVE).read_bytes()
    for name, data in _members(served, "airflow").items():
        assert (got.path / name).read_bytes() == data
        assert got.files[name] == hashlib.sha256(data).hexdigest()
    # the schema and defaults are the reference's own
    assert (got.path / "values.schema.json").read_bytes() == _airflow_files()["values.schema.json"]
    record = json.loads((got.path / "SOURCE.json").read_text())
    index = yaml.safe_load((tmp_path / "airflow-repo" / "index.yaml").read_text())
    assert record["archive"]["sha256"] == index["entries"]["airflow"][0]["digest"]
    assert record["archive"]["url"].endswith(f"/airflow-repo/airflow-{AIRFLOW}.tgz")  # relative URL resolved
    # the archive itself is kept, byte for byte the one the index's digest names
    assert (got.path / AIRFLOW_ARCHIVE).read_bytes() == served
    assert got.files[AIRFLOW_ARCHIVE] == index["entries"]["airflow"][0]["digest"]
    assert not (got.path / "templates").exists()  # nothing is unpacked: only named members are read
    assert [p.name for p in got.path.parent.iterdir()] == [AIRFLOW]  # no staging directory left


def test_fetches_the_eso_chart_and_its_untemplated_crds(sources: dict[str, fetch.ChartSource], tmp_path: Path) -> None:
    got = fetch.fetch("external-secrets", ESO, tmp_path / "cache", sources=sources)

    assert len(got.files) == len(CHART_FILES) + len(reference.ESO_CRD_FILES) + 1  # + the archive
    served = (tmp_path / "eso-repo" / ESO_ARCHIVE).read_bytes()
    assert (got.path / ESO_ARCHIVE).read_bytes() == served
    for name, data in _members(served, "external-secrets").items():
        assert (got.path / "chart" / name).read_bytes() == data
    for name, data in _eso_crds().items():
        assert (got.path / "crds" / name).read_bytes() == data
    origins = json.loads((got.path / "SOURCE.json").read_text())["origins"]
    assert origins["crds/external-secrets.io_secretstores.yaml"].endswith(
        f"/helm-chart-{ESO}/config/crds/bases/external-secrets.io_secretstores.yaml"
    )


def test_a_cached_version_is_not_fetched_again(sources: dict[str, fetch.ChartSource], tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    fetch.fetch("airflow-chart", AIRFLOW, cache, sources=sources)
    (tmp_path / "airflow-repo" / "index.yaml").unlink()  # the repository is gone

    again = fetch.fetch("airflow-chart", AIRFLOW, cache, sources=sources)
    assert again.seconds == 0.0
    assert sorted(again.files) == sorted([*CHART_FILES, AIRFLOW_ARCHIVE])
    with pytest.raises(fetch.FetchError, match=r"index\.yaml"):
        fetch.fetch("airflow-chart", AIRFLOW, cache, sources=sources, force=True)


def test_a_cached_version_without_the_archive_is_fetched_again(
    sources: dict[str, fetch.ChartSource], tmp_path: Path
) -> None:
    """A cache an earlier fetch wrote (SOURCE.json, no archive kept then) gains the archive."""
    cache = tmp_path / "cache"
    first = fetch.fetch("airflow-chart", AIRFLOW, cache, sources=sources)
    (first.path / AIRFLOW_ARCHIVE).unlink()
    record = json.loads((first.path / "SOURCE.json").read_text())
    del record["files"][AIRFLOW_ARCHIVE]
    (first.path / "SOURCE.json").write_text(json.dumps(record))

    again = fetch.fetch("airflow-chart", AIRFLOW, cache, sources=sources)
    assert again.seconds > 0.0  # downloaded, not the recorded folder
    assert (again.path / AIRFLOW_ARCHIVE).read_bytes() == (tmp_path / "airflow-repo" / AIRFLOW_ARCHIVE).read_bytes()
    assert sorted(p.name for p in again.path.parent.iterdir()) == [AIRFLOW]  # replaced in place


def test_a_digest_mismatch_is_refused_and_nothing_is_cached(
    sources: dict[str, fetch.ChartSource], tmp_path: Path
) -> None:
    archive = _archive("airflow", _airflow_files())
    _helm_repo(tmp_path / "airflow-repo", "airflow", AIRFLOW, archive, digest="0" * 64)
    cache = tmp_path / "cache"

    with pytest.raises(fetch.FetchError, match=f"sha256 {hashlib.sha256(archive).hexdigest()} does not match"):
        fetch.fetch("airflow-chart", AIRFLOW, cache, sources=sources)
    assert not (cache / "airflow-chart").exists() or not any((cache / "airflow-chart").iterdir())


def test_an_index_entry_without_digest_is_refused(sources: dict[str, fetch.ChartSource], tmp_path: Path) -> None:
    _helm_repo(tmp_path / "airflow-repo", "airflow", AIRFLOW, _archive("airflow", _airflow_files()), digest="")
    with pytest.raises(fetch.FetchError, match="no sha256 digest; refusing it"):
        fetch.fetch("airflow-chart", AIRFLOW, tmp_path / "cache", sources=sources)


def test_an_unknown_version_lists_what_the_repository_has(
    sources: dict[str, fetch.ChartSource], tmp_path: Path
) -> None:
    with pytest.raises(fetch.FetchError, match=r"has no version '9\.9\.9' \(newest listed: 1\.15\.0, 0\.0\.1\)"):
        fetch.fetch("airflow-chart", "9.9.9", tmp_path / "cache", sources=sources)


@pytest.mark.parametrize(
    ("files", "message"),
    [
        (
            {"values.yaml": b"{}\n", "Chart.yaml": b"name: airflow\nversion: 1.15.0\n"},
            "has no airflow/values.schema.json",
        ),
        (
            {"values.schema.json": b"{}", "values.yaml": b"{}\n", "Chart.yaml": b"name: airflow\nversion: 1.14.0\n"},
            "Chart.yaml says version '1.14.0', expected '1.15.0'",
        ),
        (
            {"values.schema.json": b"{", "values.yaml": b"{}\n", "Chart.yaml": b"name: airflow\nversion: 1.15.0\n"},
            "a chart file does not parse",
        ),
    ],
    ids=["missing-schema", "wrong-version", "broken-json"],
)
def test_a_wrong_archive_is_refused(
    sources: dict[str, fetch.ChartSource], tmp_path: Path, files: dict[str, bytes], message: str
) -> None:
    _helm_repo(tmp_path / "airflow-repo", "airflow", AIRFLOW, _archive("airflow", files))
    with pytest.raises(fetch.FetchError, match=message):
        fetch.fetch("airflow-chart", AIRFLOW, tmp_path / "cache", sources=sources)


def test_a_crd_of_the_wrong_kind_is_refused(sources: dict[str, fetch.ChartSource], tmp_path: Path) -> None:
    bases = tmp_path / "eso-src" / f"helm-chart-{ESO}" / "config" / "crds" / "bases"
    (bases / "external-secrets.io_secretstores.yaml").write_bytes(
        (bases / "external-secrets.io_externalsecrets.yaml").read_bytes()
    )
    with pytest.raises(fetch.FetchError, match="expected the CustomResourceDefinition of SecretStore"):
        fetch.fetch("external-secrets", ESO, tmp_path / "cache", sources=sources)


def test_archive_members_outside_the_chart_are_never_written(
    sources: dict[str, fetch.ChartSource], tmp_path: Path
) -> None:
    archive = _archive("airflow", _airflow_files(), extra={"../../escaped.txt": b"x", "/abs.txt": b"x"})
    _helm_repo(tmp_path / "airflow-repo", "airflow", AIRFLOW, archive)
    got = fetch.fetch("airflow-chart", AIRFLOW, tmp_path / "cache", sources=sources)
    assert sorted(p.name for p in got.path.iterdir()) == sorted([*CHART_FILES, AIRFLOW_ARCHIVE, "SOURCE.json"])
    assert (got.path / AIRFLOW_ARCHIVE).read_bytes() == archive  # kept whole, never unpacked
    assert not list(tmp_path.rglob("escaped.txt"))


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *_args: object) -> None:
        pass


@contextlib.contextmanager
def _serving(handler: Callable[..., http.server.BaseHTTPRequestHandler]) -> Iterator[str]:
    """An HTTP server on a free loopback port for the block; yields its base URL."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


# ----------------------------------------------------------------- through the resolver
@pytest.fixture
def fresh_machine(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, sources: dict[str, fetch.ChartSource]
) -> Iterator[Path]:
    """No env var, no ../shared, an empty cache, network allowed; upstream = the file:// sources."""
    monkeypatch.delenv(reference.ENV_VAR, raising=False)
    monkeypatch.delenv(reference.OFFLINE_VAR, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setattr(reference, "PROJECT_DIR", tmp_path / "no-shared" / "project")
    monkeypatch.setattr(fetch, "SOURCES", sources)
    reference.load_json.cache_clear()
    reference.load_yaml.cache_clear()
    reference._attempts.clear()
    yield tmp_path / "xdg" / "airflow-aks" / "reference"
    reference.load_json.cache_clear()
    reference.load_yaml.cache_clear()
    reference._attempts.clear()


def test_synth_on_a_fresh_machine_fetches_and_validates(
    fresh_machine: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert synth_main(["dev", "--no-write", "--strict", "--json"]) == 0
    captured = capsys.readouterr()
    summary = json.loads(captured.out)  # progress goes to stderr: --json output stays parseable
    assert summary["warnings"] == []
    assert summary["validated"][f"helm values (airflow {AIRFLOW})"] == 1
    assert summary["validated"][f"helm values (external-secrets {ESO})"] == 1
    assert summary["validated"]["ExternalSecret (external-secrets.io/v1)"] == 8
    # the fetched archives are what the charts were rendered from
    assert summary["helmRenders"]["airflow"]["rendered"] is True
    assert summary["helmRenders"]["external-secrets"]["rendered"] is True
    assert summary["validated"][f"helm release rendered (airflow {AIRFLOW})"] == 1
    assert (fresh_machine / "airflow-chart" / AIRFLOW / AIRFLOW_ARCHIVE).is_file()
    assert f"synth: fetching airflow-chart {AIRFLOW} into {fresh_machine}" in captured.err
    assert (fresh_machine / "airflow-chart" / AIRFLOW / "SOURCE.json").is_file()
    assert (fresh_machine / "external-secrets" / ESO / "SOURCE.json").is_file()

    # a second run reads the cache: nothing is fetched
    reference.load_json.cache_clear()
    reference.load_yaml.cache_clear()
    reference._attempts.clear()
    assert synth_main(["dev", "--no-write", "--strict", "--json"]) == 0
    assert "fetching" not in capsys.readouterr().err


def test_offline_never_fetches(
    fresh_machine: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def no_network(*_args: object, **_kwargs: object) -> fetch.Fetched:
        raise AssertionError("fetched while offline")

    monkeypatch.setattr(fetch, "fetch", no_network)
    monkeypatch.setenv(reference.OFFLINE_VAR, "1")
    with pytest.raises(reference.ReferenceNotFoundError, match=f"not fetched \\({reference.OFFLINE_VAR} is set\\)"):
        reference.find(f"airflow-chart/{AIRFLOW}/values.schema.json")

    monkeypatch.delenv(reference.OFFLINE_VAR)
    assert synth_main(["dev", "--no-write", "--offline", "--strict"]) == 1
    assert "schema not found, NOT validated" in capsys.readouterr().out
    assert not fresh_machine.exists()


def test_an_unreachable_source_is_reported_once_and_synth_warns(
    fresh_machine: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    gone = (tmp_path / "no-such-repo").as_uri()
    monkeypatch.setattr(fetch, "SOURCES", {k: dataclasses.replace(v, repo=gone) for k, v in fetch.SOURCES.items()})
    calls: list[tuple[str, str]] = []
    real = fetch.fetch

    def counting(folder: str, version: str, into: Path, **kwargs: object) -> fetch.Fetched:
        calls.append((folder, version))
        return real(folder, version, into)

    monkeypatch.setattr(fetch, "fetch", counting)
    with pytest.raises(reference.ReferenceNotFoundError, match=f"fetching it failed: {gone}/index.yaml"):
        reference.find(f"airflow-chart/{AIRFLOW}/values.schema.json")
    with pytest.raises(reference.ReferenceNotFoundError):
        reference.find(f"airflow-chart/{AIRFLOW}/values.yaml")
    assert calls == [("airflow-chart", AIRFLOW)]  # one attempt per chart version and process

    assert synth_main(["dev", "--no-write"]) == 0  # a missing schema is a warning ...
    assert "warning: [helm-values] airflow, external-secrets (x2): schema not found" in capsys.readouterr().out
    assert synth_main(["dev", "--no-write", "--strict"]) == 1  # ... and an error with --strict


def test_fetch_command_prefetches_what_a_stack_pins(
    fresh_machine: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    into = tmp_path / "air-gap"
    assert fetch.main(["dev", "--into", str(into)]) == 0
    out = capsys.readouterr().out
    assert f"airflow-chart {AIRFLOW}: 4 files in {into / 'airflow-chart' / AIRFLOW}" in out
    assert f"external-secrets {ESO}: 8 files in {into / 'external-secrets' / ESO}" in out
    # what synth renders the charts from, on a machine that prepared this folder
    assert (into / "airflow-chart" / AIRFLOW / AIRFLOW_ARCHIVE).is_file()
    assert (into / "external-secrets" / ESO / ESO_ARCHIVE).is_file()

    assert fetch.main(["nosuchstack"]) == 2
    assert "nosuchstack" in capsys.readouterr().err


def test_fetches_over_http(sources: dict[str, fetch.ChartSource], tmp_path: Path) -> None:
    """The same fetch over a real HTTP server on loopback (the user's case is https)."""
    with _serving(functools.partial(_Quiet, directory=str(tmp_path))) as base:
        over_http = {"airflow-chart": dataclasses.replace(sources["airflow-chart"], repo=f"{base}/airflow-repo")}
        got = fetch.fetch("airflow-chart", AIRFLOW, tmp_path / "cache", sources=over_http)
        assert (got.path / "values.schema.json").read_bytes() == _airflow_files()["values.schema.json"]
        assert json.loads((got.path / "SOURCE.json").read_text())["archive"]["url"] == (
            f"{base}/airflow-repo/airflow-{AIRFLOW}.tgz"
        )
        with pytest.raises(fetch.FetchError, match=r"no-repo/index\.yaml: HTTP 404 File not found"):
            fetch.fetch(
                "airflow-chart",
                AIRFLOW,
                tmp_path / "other",
                sources={"airflow-chart": dataclasses.replace(sources["airflow-chart"], repo=f"{base}/no-repo")},
            )


@pytest.mark.parametrize("version", ["../../etc", "latest", "1.15.0/x", ""])
def test_a_version_that_is_not_a_version_is_refused(tmp_path: Path, version: str) -> None:
    with pytest.raises(fetch.FetchError, match="is not a chart version"):
        fetch.fetch("airflow-chart", version, tmp_path)
    assert not any(tmp_path.iterdir())


def test_a_directory_not_fetched_here_is_never_replaced_without_force(
    sources: dict[str, fetch.ChartSource], tmp_path: Path
) -> None:
    mine = tmp_path / "refs" / "airflow-chart" / AIRFLOW
    mine.mkdir(parents=True)
    (mine / "values.schema.json").write_text("{}")
    (mine / "my-notes.txt").write_text("keep me")
    with pytest.raises(fetch.FetchError, match="exists but was not fetched here"):
        fetch.fetch("airflow-chart", AIRFLOW, tmp_path / "refs", sources=sources)
    assert (mine / "my-notes.txt").read_text() == "keep me"

    got = fetch.fetch("airflow-chart", AIRFLOW, tmp_path / "refs", sources=sources, force=True)
    assert not (got.path / "my-notes.txt").exists()
    assert (got.path / "values.schema.json").read_bytes() == _airflow_files()["values.schema.json"]
    assert sorted(p.name for p in got.path.parent.iterdir()) == [AIRFLOW]  # nothing left aside


def test_an_unusable_cache_is_a_fetch_error_and_synth_only_warns(
    fresh_machine: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fresh_machine.parent.mkdir(parents=True)
    fresh_machine.write_text("a file where the cache directory should be")
    with pytest.raises(fetch.FetchError, match=r"NotADirectoryError|FileExistsError"):
        fetch.fetch("airflow-chart", AIRFLOW, fresh_machine, sources=fetch.SOURCES)
    assert synth_main(["dev", "--no-write"]) == 0  # no traceback: missing schemas are warnings
    out = capsys.readouterr().out
    assert "warning: [helm-values] airflow: schema not found, NOT validated" in out
    assert "fetching it failed" in out


def test_oversized_downloads_are_refused(
    sources: dict[str, fetch.ChartSource], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(fetch, "MAX_ARCHIVE_BYTES", 1024)
    with pytest.raises(fetch.FetchError, match="larger than 1024 bytes, refused"):
        fetch.fetch("airflow-chart", AIRFLOW, tmp_path / "cache", sources=sources)
    assert not (tmp_path / "cache" / "airflow-chart" / AIRFLOW).exists()


def test_a_chart_of_another_name_is_refused(sources: dict[str, fetch.ChartSource], tmp_path: Path) -> None:
    files = {**_airflow_files(), "Chart.yaml": b"name: not-airflow\nversion: 1.15.0\n"}
    _helm_repo(tmp_path / "airflow-repo", "airflow", AIRFLOW, _archive("airflow", files))
    with pytest.raises(fetch.FetchError, match=r"Chart\.yaml names chart 'not-airflow', expected 'airflow'"):
        fetch.fetch("airflow-chart", AIRFLOW, tmp_path / "cache", sources=sources)


def test_an_index_cannot_send_the_archive_download_to_another_scheme(tmp_path: Path) -> None:
    """A remote index naming a file:// archive (or any other scheme) is refused."""
    archive = _archive("airflow", _airflow_files())
    repo = _helm_repo(tmp_path / "repo", "airflow", AIRFLOW, archive, absolute_url=True)  # file:// archive URL

    with _serving(functools.partial(_Quiet, directory=str(repo))) as base:
        source = dataclasses.replace(fetch.SOURCES["airflow-chart"], repo=base)
        with pytest.raises(fetch.FetchError, match="URL scheme 'file' refused \\(expected http\\)"):
            fetch.fetch("airflow-chart", AIRFLOW, tmp_path / "cache", sources={"airflow-chart": source})


def test_redirects_that_change_scheme_are_refused(tmp_path: Path) -> None:
    class Redirect(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(302)
            self.send_header("Location", "ftp://example.invalid/index.yaml")
            self.end_headers()

        def log_message(self, *_args: object) -> None:
            pass

    with _serving(Redirect) as base:
        source = dataclasses.replace(fetch.SOURCES["airflow-chart"], repo=base)
        with pytest.raises(fetch.FetchError, match="redirect from http to ftp refused"):
            fetch.fetch("airflow-chart", AIRFLOW, tmp_path / "cache", sources={"airflow-chart": source})


@pytest.mark.parametrize(
    ("entries", "message"),
    [
        ({"airflow": "1.15.0"}, "entries.airflow is not a list"),
        ({"airflow": [{"version": AIRFLOW, "digest": "0" * 64, "urls": "airflow.tgz"}]}, "lists no download URL"),
    ],
    ids=["entries-not-a-list", "urls-not-a-list"],
)
def test_a_malformed_index_is_a_fetch_error(tmp_path: Path, entries: dict[str, object], message: str) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "index.yaml").write_text(yaml.safe_dump({"apiVersion": "v1", "entries": entries}))
    source = dataclasses.replace(fetch.SOURCES["airflow-chart"], repo=repo.as_uri())
    with pytest.raises(fetch.FetchError, match=message):
        fetch.fetch("airflow-chart", AIRFLOW, tmp_path / "cache", sources={"airflow-chart": source})

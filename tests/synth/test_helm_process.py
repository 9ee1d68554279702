"""synth/helm_process.py: Helm in a worker process, started early with the last run's request.

The promise under test: wherever the renders run (the early worker, a late one, this process)
and whatever the hint holds (nothing, this run's request, another run's, garbage), synth gets
the renders of THIS run's request, and they are the renders this process would make.
"""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from synth import PROJECT_DIR, helm, helm_process
from synth.helm_process import EarlyRenders, hint_path, read_hint, request_bytes, write_hint

pytestmark = pytest.mark.skipif(helm.engine() is None, reason="no Helm engine")

ESO = "2.9.0"  # a pinned chart in the reference (renders in ~40 ms)
RELEASE = "external-secrets"


def _request(namespace: str, values: dict[str, Any] | None = None) -> tuple[dict[str, Any], dict[str, Any], str]:
    meta = {"chart": "external-secrets", "version": ESO, "namespace": namespace, "repository": None}
    return {RELEASE: values or {}}, {RELEASE: meta}, "1.33"


@pytest.fixture
def hints(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Hints on (conftest turns them off), in a cache of this test's own: the hint file of
    stack `s` of a project at tmp_path."""
    monkeypatch.setenv(helm_process.HINT_VAR, "on")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return hint_path(tmp_path, "s")


def _same_renders(got: dict[str, helm.ReleaseRender], want: dict[str, helm.ReleaseRender]) -> None:
    assert sorted(got) == sorted(want)
    for name, b in want.items():
        a = got[name]
        assert (a.release, a.chart, a.version, a.namespace) == (b.release, b.chart, b.version, b.namespace)
        assert (a.error, a.not_rendered) == (b.error, b.not_rendered)
        assert a.install == b.install
        assert a.upgrade == b.upgrade
        assert a.objects == b.objects
        assert a.upgrade_objects == b.upgrade_objects
        assert a.crd_texts == b.crd_texts
        assert a.pods == b.pods


def _namespaces(rel: helm.ReleaseRender) -> set[str]:
    """The namespaces of a release's namespaced objects (CRDs and cluster-wide kinds have none)."""
    found = {(obj.get("metadata") or {}).get("namespace") for _, obj in rel.objects}
    return {str(ns) for ns in found if ns is not None}


# ------------------------------------------------------------------ the request
def test_the_request_is_canonical_bytes() -> None:
    values, metas, kube = _request("ns", {"b": 1, "a": {"y": [1, 2], "x": None}})
    reordered = {RELEASE: {"a": {"x": None, "y": [1, 2]}, "b": 1}}
    assert request_bytes(values, metas, kube) == request_bytes(reordered, metas, kube)
    assert request_bytes(values, metas, kube) != request_bytes({RELEASE: {"b": 2, "a": {}}}, metas, kube)
    assert request_bytes(values, metas, kube) != request_bytes(values, metas, "1.34")
    assert json.loads(request_bytes(values, metas, kube) or b"") == {
        "helm": values,
        "helmMeta": metas,
        "kubernetesVersion": kube,
    }


@pytest.mark.parametrize("value", [math.nan, math.inf, (1, 2), {1: "a"}, {"a"}, b"x"])
def test_values_json_would_change_are_no_request(value: Any) -> None:
    """JSON would give back something else (or nothing): those values render in-process."""
    assert request_bytes(*_request("ns", {"k": value})) is None


# ------------------------------------------------------------------ where the renders run
def test_the_worker_renders_what_this_process_renders() -> None:
    values, metas, kube = _request("eso")
    with EarlyRenders(PROJECT_DIR, "any") as early:  # hints off (conftest): a worker waits
        assert len(early.workers) == 1
        renders = early.renders(values, metas, kube).result()
    assert renders.where == "worker"
    assert renders.engine == helm.engine_name()
    _same_renders(renders.charts, helm.render_values(values, metas, kube))
    assert renders.charts[RELEASE].rendered
    assert _namespaces(renders.charts[RELEASE]) == {"eso"}


def test_a_matching_hint_is_rendered_before_synth_asks(hints: Path, tmp_path: Path) -> None:
    values, metas, kube = _request("eso")
    write_hint(hints, request_bytes(values, metas, kube) or b"")
    with EarlyRenders(tmp_path, "s") as early:
        (worker,) = early.workers
        early_renders = worker.result(timeout=120)  # done without being asked: it had the hint
        got = early.renders(values, metas, kube).result()
    assert got is early_renders  # the very renders, no second worker
    assert len(early.workers) == 1
    assert early.hint_state == "matched"
    _same_renders(got.charts, helm.render_values(values, metas, kube))


def test_a_stale_hint_is_never_what_synth_gets(hints: Path, tmp_path: Path) -> None:
    """The last run rendered namespace `old`; this run's request says `new`: the renders are
    `new`'s, from a second worker, and the hint is now `new`."""
    write_hint(hints, request_bytes(*_request("old")) or b"")
    values, metas, kube = _request("new")
    with EarlyRenders(tmp_path, "s") as early:
        stale = early.workers[0]
        got = early.renders(values, metas, kube).result()
        # stopped at once (it was still loading Helm), not left to render the old namespace
        assert stale._proc is not None
        assert stale._proc.returncode == -signal.SIGKILL
    assert early.hint_state == "stale"
    assert len(early.workers) == 2
    assert stale.request != early.workers[1].request
    assert _namespaces(got.charts[RELEASE]) == {"new"}
    _same_renders(got.charts, helm.render_values(values, metas, kube))
    assert read_hint(hints) == request_bytes(values, metas, kube)


@pytest.mark.parametrize("junk", [b"", b"\xff\xfe", b"[]", b'{"helm": {}}', b"{" * 10_000])
def test_a_corrupt_hint_is_ignored_and_replaced(hints: Path, tmp_path: Path, junk: bytes) -> None:
    hints.parent.mkdir(parents=True, exist_ok=True)
    hints.write_bytes(junk)
    assert read_hint(hints) is None
    values, metas, kube = _request("eso")
    with EarlyRenders(tmp_path, "s") as early:
        assert early.hint is None
        assert early.hint_state == "none"
        got = early.renders(values, metas, kube).result()
    assert got.where == "worker"
    assert _namespaces(got.charts[RELEASE]) == {"eso"}
    assert read_hint(hints) == request_bytes(values, metas, kube)


def test_an_unchanged_request_leaves_the_hint_file_alone(hints: Path, tmp_path: Path) -> None:
    values, metas, kube = _request("eso")
    write_hint(hints, request_bytes(values, metas, kube) or b"")
    os.utime(hints, (1_000_000, 1_000_000))
    with EarlyRenders(tmp_path, "s") as early:
        early.renders(values, metas, kube).result()
    assert hints.stat().st_mtime == 1_000_000


def test_hints_off_read_and_write_nothing(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv(helm_process.HINT_VAR, "on")
    path = hint_path(tmp_path, "s")
    write_hint(path, request_bytes(*_request("old")) or b"")
    monkeypatch.setenv(helm_process.HINT_VAR, "off")
    with EarlyRenders(tmp_path, "s") as early:
        assert early.hint is None
        assert early.hint_state == "off"
        got = early.renders(*_request("new")).result()
    assert _namespaces(got.charts[RELEASE]) == {"new"}
    assert read_hint(path) == request_bytes(*_request("old"))


def test_an_early_worker_gets_one_core_and_a_memory_limit_unless_the_user_chose(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: list[dict[str, str]] = []

    argvs: list[list[str]] = []

    class Recorder:
        def __init__(self, argv: list[str], **kwargs: Any) -> None:
            seen.append(kwargs["env"])
            argvs.append(argv)
            assert kwargs["start_new_session"] is True  # stop() kills its process group

    monkeypatch.setattr(helm_process.subprocess, "Popen", Recorder)
    for var in ("GOMAXPROCS", "GOMEMLIMIT", "GOGC"):
        monkeypatch.delenv(var, raising=False)
    workers = [helm_process.Worker.start(early=True)]
    workers.append(helm_process.Worker.start(early=False))  # synth waits for it: every core, Go's defaults
    monkeypatch.setenv("GOMAXPROCS", "4")
    monkeypatch.setenv("GOGC", "50")
    workers.append(helm_process.Worker.start(early=True))
    for worker in workers:
        assert worker is not None
        worker._close_files()  # no process to answer: its output files are closed here
    early, late, chosen = seen
    assert (early["GOMAXPROCS"], early["GOMEMLIMIT"]) == ("1", helm_process.EARLY_GO_MEMORY_LIMIT)
    assert "GOMAXPROCS" not in late
    assert "GOMEMLIMIT" not in late
    assert chosen["GOMAXPROCS"] == "4"
    assert "GOMEMLIMIT" not in chosen  # GOGC set: the user tunes Go's collector
    for env in seen:  # the worker imports this project's synth, wherever synth was started from
        assert env["PYTHONPATH"].split(os.pathsep)[0] == str(PROJECT_DIR)
    # an early worker yields the CPU to synth; one synth waits for does not
    assert ["--background" in argv for argv in argvs] == [True, False, True]


# ------------------------------------------------------------------ when the worker cannot help
@pytest.mark.parametrize(
    "command",
    [
        [sys.executable, "-c", "import sys; sys.exit(3)"],  # fails
        [sys.executable, "-c", "import sys; sys.stdin.buffer.read(); print('not a pickle')"],  # says nonsense
        [sys.executable, "-c", "import pickle, sys; sys.stdin.buffer.read(); sys.stdout.buffer.write(pickle.dumps(1))"],
    ],
)
def test_a_worker_that_fails_means_rendering_here(monkeypatch: pytest.MonkeyPatch, command: list[str]) -> None:
    monkeypatch.setattr(helm_process, "worker_command", lambda **_: command)
    values, metas, kube = _request("eso")
    with EarlyRenders(PROJECT_DIR, "any") as early:
        got = early.renders(values, metas, kube).result()
    assert got.where == "in-process"
    _same_renders(got.charts, helm.render_values(values, metas, kube))
    with pytest.raises(helm_process.WorkerError):
        early.workers[0].result()


def test_a_worker_that_hangs_is_stopped_and_rendering_happens_here(monkeypatch: pytest.MonkeyPatch) -> None:
    sleeper = [sys.executable, "-c", "import time; time.sleep(60)"]
    monkeypatch.setattr(helm_process, "worker_command", lambda **_: sleeper)
    monkeypatch.setattr(helm_process, "WORKER_START_SECONDS", 0.5)
    monkeypatch.setattr(helm, "BINARY_TIMEOUT_SECONDS", 0.0)
    with EarlyRenders(PROJECT_DIR, "any") as early:
        got = early.renders(*_request("eso")).result(timeout=120)
        (hung,) = early.workers
    assert got.where == "in-process"
    assert got.charts[RELEASE].rendered
    assert hung._proc is not None
    assert hung._proc.returncode == -signal.SIGKILL


def test_synth_done_means_no_render_at_all() -> None:
    """Ctrl-C or an error after synth asked for the renders: the worker is stopped, and its
    renders are not made in-process instead (Python would wait for them at exit)."""
    early = EarlyRenders(PROJECT_DIR, "any")
    future = early.renders(*_request("eso"))
    early.close()  # the worker is still loading Helm
    with pytest.raises(helm_process.WorkerStoppedError):
        future.result(timeout=60)


def test_stopping_a_worker_stops_what_it_started(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A worker on the binary engine runs `helm template`: stopped, it goes with the worker."""
    pid_file = tmp_path / "grandchild"
    script = (
        "import subprocess, sys, time\n"
        "p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
        f"open({str(pid_file)!r}, 'w').write(str(p.pid))\n"
        "time.sleep(60)\n"
    )
    monkeypatch.setattr(helm_process, "worker_command", lambda **_: [sys.executable, "-c", script])
    with EarlyRenders(PROJECT_DIR, "any"):
        for _ in range(600):
            if pid_file.exists() and pid_file.read_text():
                break
            time.sleep(0.05)
        grandchild = int(pid_file.read_text())
    for _ in range(100):  # gone, or a zombie awaiting its reaper
        stat = Path(f"/proc/{grandchild}/stat")
        if not stat.exists() or stat.read_text().split(")")[-1].split()[0] == "Z":
            break
        time.sleep(0.05)
    else:
        pytest.fail(f"the worker's child {grandchild} still runs")


def test_no_process_at_all_means_rendering_here(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(helm_process, "worker_command", lambda **_: [str(tmp_path / "no-such-python")])
    with EarlyRenders(PROJECT_DIR, "any") as early:
        assert early.workers == []
        got = early.renders(*_request("eso")).result()
    assert got.where == "in-process"
    assert got.charts[RELEASE].rendered


def test_worker_off_renders_here(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(helm_process.WORKER_VAR, "off")
    with EarlyRenders(PROJECT_DIR, "any") as early:
        assert early.workers == []
        got = early.renders(*_request("eso")).result()
    assert got.where == "in-process"
    assert got.charts[RELEASE].rendered


def test_values_json_cannot_hold_render_here() -> None:
    with EarlyRenders(PROJECT_DIR, "any") as early:
        got = early.renders(*_request("eso", {"installCRDs": True, "x": (1, 2)})).result()
    assert got.where == "in-process"
    assert got.charts[RELEASE].rendered


def test_a_worker_left_running_is_stopped() -> None:
    with EarlyRenders(PROJECT_DIR, "any") as early:
        (worker,) = early.workers
    proc = worker._proc
    assert proc is not None
    assert proc.poll() is not None


# ------------------------------------------------------------------ python -m synth, end to end
def _synth(env: dict[str, str], *argv: str) -> dict[str, Any]:
    out = subprocess.run(  # noqa: S603 - this interpreter, synth, the test's own arguments
        [sys.executable, "-m", "synth", *argv, "--no-write", "--json"],
        cwd=PROJECT_DIR,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    summary: dict[str, Any] = json.loads(out.stdout)
    return summary


def _timeless(summary: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in summary.items() if k not in {"seconds", "helmWorker"}}
    out["helmRenders"] = {
        name: {k: v for k, v in info.items() if k != "seconds"} for name, info in out["helmRenders"].items()
    }
    return out


def test_python_m_synth_warm_stale_and_cold_give_the_same_output(tmp_path: Path) -> None:
    """dev run twice (no hint, then its own hint), then another dev file under the same stack
    name (its hint is dev's: stale), then that file with hints off: each output is its own
    stack's, whatever the hint was."""
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache"), helm_process.HINT_VAR: "on"}
    first = _synth(env, "dev")
    second = _synth(env, "dev")
    assert first["helmWorker"] == {"renderedIn": "worker", "hint": "none"}
    assert second["helmWorker"] == {"renderedIn": "worker", "hint": "matched"}
    assert _timeless(first) == _timeless(second)

    other = tmp_path / "Pulumi.dev.yaml"
    text = (PROJECT_DIR / "Pulumi.dev.yaml").read_text()
    other.write_text(text.replace("airflow-aks:pgbouncerEnabled: true", "airflow-aks:pgbouncerEnabled: false"))
    stale = _synth(env, "dev", "--stack-file", str(other))
    cold = _synth({**env, helm_process.HINT_VAR: "off"}, "dev", "--stack-file", str(other))
    assert stale["helmWorker"] == {"renderedIn": "worker", "hint": "stale"}
    assert cold["helmWorker"] == {"renderedIn": "worker", "hint": "off"}
    assert _timeless(stale) == _timeless(cold)
    assert stale["helmRenders"]["airflow"]["objects"] < first["helmRenders"]["airflow"]["objects"]  # no PgBouncer

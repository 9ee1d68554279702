"""synth's Helm renders in a worker process, started before the program runs.

`python -m synth <stack>` renders its Helm releases (synth.helm.render_values) in a child,
``python -m synth.helm_worker``: on stdin a header line and one request (every release's values,
chart, version and namespace, and the Kubernetes version: all that the renders read, as JSON); on
stdout (a temporary file) its renders, pickled; then it exits. Why:

- **Memory.** Helm's Go library (51 MB resident) and its heaps (30-60 MB while it renders) live
  and die with the worker: synth's own process never holds them.
- **Time.** The worker starts as synth starts, before synth imports the SDKs and runs the program
  (about 1.3 s for dev), and runs on another core meanwhile.

What the worker is given at once is the request the last run of this stack made (the *hint*,
kept in the cache: ``<cache>/airflow-aks/renders/<sha256 of project dir and stack>.json``). It
renders it one release at a time, beside synth, and exits (dev: about 0.7 s after synth starts,
while synth is at 90 MB of its 141). After the program has run, synth builds the real request
and compares the bytes: the same, and the worker's renders are this run's renders (the request
is everything they read; the charts and the engine are this run's); different, and that worker
is stopped and another renders the real request (a *stale* hint). Without a hint (the first run
here, or AIRFLOW_AKS_HELM_HINT=off) the worker loads the library and waits for the real request.
A hint is only ever a guess: a missing, stale, corrupt or unwritable one costs time, never
correctness.

Helm values hold no secrets (synth.render redacts them; the builders are secret-free), so the
hint does not either. If the worker fails, or a request cannot be JSON exactly, the renders
happen in synth's own process, as synth.helm.render_releases does for tests.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import hashlib
import json
import os
import pickle
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from synth import PROJECT_DIR, helm, reference

HINT_VAR = "AIRFLOW_AKS_HELM_HINT"
WORKER_VAR = "AIRFLOW_AKS_HELM_WORKER"
# An early worker's Go heap: the runtime collects harder as it nears this (a soft limit). Measured
# on dev's renders, one at a time, 2 CPUs: peak 109 MB instead of 114 MB, +0.02 s; lower (24 MiB)
# makes it collect without end (+0.5 s). The worker renders early, so the time is not synth's.
EARLY_GO_MEMORY_LIMIT = "32MiB"
# How long a worker may take before synth gives up on it and renders in its own process: its
# start (and, for an early worker, the program it runs beside), then the binary engine's own
# bound for each render, one after another at worst.
WORKER_START_SECONDS = 120.0


@dataclass
class Renders:
    """What rendering a request gives: the engine's name (None: no engine) and each release."""

    engine: str | None
    charts: dict[str, helm.ReleaseRender]
    where: str  # "worker" or "in-process": where the renders ran (--json, tests)


def request_bytes(
    values: Mapping[str, Mapping[str, Any]], metas: Mapping[str, Mapping[str, Any]], kubernetes_version: str
) -> bytes | None:
    """The canonical request (sorted keys, no spaces): equal bytes, equal renders. None when
    JSON would not give back exactly these values (NaN, a non-string key, a tuple): those are
    rendered in-process."""
    encoded = reference.exact_json(
        {"helm": values, "helmMeta": metas, "kubernetesVersion": kubernetes_version}, sort_keys=True
    )
    return None if encoded is None else encoded.encode()


def _render_request(request: bytes, renderers: int | None = None) -> Renders:
    """The worker's job, and the in-process fallback's: the same call either way."""
    data = json.loads(request)
    return _render_here(data["helm"], data["helmMeta"], data["kubernetesVersion"], renderers)


# ----------------------------------------------------------------- the hint
def hint_path(project_dir: Path, stack: str) -> Path:
    # any stack name, even one the shell gave as undecodable bytes: it is checked only later
    key = hashlib.sha256(f"{project_dir.resolve()}\0{stack}".encode(errors="surrogateescape")).hexdigest()
    return reference.cache_dir().parent / "renders" / f"{key}.json"


def read_hint(path: Path) -> bytes | None:
    """The last run's request, if it is one (a JSON object with the request's keys)."""
    try:
        raw = path.read_bytes()
        data = json.loads(raw)
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or set(data) != {"helm", "helmMeta", "kubernetesVersion"}:
        return None
    return raw


def write_hint(path: Path, request: bytes) -> None:
    reference.write_whole(path, request)


# ----------------------------------------------------------------- the worker, seen from synth
def worker_command(background: bool = False) -> list[str]:
    """The worker's argv: --load-sdk where the SDK may be the engine (it loads it at once);
    --background for an early worker (it yields the CPU to synth; one synth waits for does not)."""
    return [
        sys.executable,
        "-m",
        "synth.helm_worker",
        *(["--load-sdk"] if helm.sdk_allowed() else []),
        *(["--background"] if background else []),
    ]


class WorkerError(Exception):
    """The worker did not give renders: it failed, timed out or wrote something else."""


class WorkerStoppedError(WorkerError):
    """synth stopped the worker (a stale hint, or synth is done): nothing to fall back to."""


@dataclass
class Worker:
    """One child process for one request: started (it loads Helm's library and waits), then
    given the request; its renders arrive in the background.

    Its output goes to an unnamed temporary file, not a pipe: the worker writes its 4 MB
    (dev) and exits at once, whatever synth is doing. Through a pipe it waited for synth's
    reading thread, which gets the GIL between synth's own imports: 32 KB at a time, up to
    5 ms apart, and the worker lived (and held its 100 MB) twice as long."""

    request: bytes | None = None
    _stopped: bool = False
    _proc: subprocess.Popen[bytes] | None = None
    _out: IO[bytes] | None = None
    _err: IO[bytes] | None = None
    _done: concurrent.futures.Future[Renders] = field(default_factory=concurrent.futures.Future)

    @classmethod
    def start(cls, early: bool = False) -> Worker | None:
        """A new worker, or None if no process can be started here. `early`: it will render
        beside synth (the hint), one release at a time, on one core and under a soft Go memory
        limit (EARLY_GO_MEMORY_LIMIT), unless the environment sets GOMAXPROCS, GOMEMLIMIT or GOGC.
        Measured (bench/synth_bench.py, dev, 11 runs interleaved): one core -4 MB tree peak, the
        same wall time."""
        env = dict(os.environ)
        # the worker imports this synth, wherever synth was started from
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(PROJECT_DIR), env.get("PYTHONPATH", "")) if p)
        if early and "GOMEMLIMIT" not in env and "GOGC" not in env:
            env["GOMEMLIMIT"] = EARLY_GO_MEMORY_LIMIT
        if early:  # Go on one core: the other is synth's own (it renders one release at a time anyway)
            env.setdefault("GOMAXPROCS", "1")
        out = err = None
        try:
            # closed by _close_files once the worker has answered or been stopped
            out, err = tempfile.TemporaryFile(), tempfile.TemporaryFile()  # noqa: SIM115
            proc = subprocess.Popen(  # noqa: S603 - this interpreter, this project's module
                worker_command(background=early),
                stdin=subprocess.PIPE,
                stdout=out,
                stderr=err,
                env=env,
                start_new_session=True,  # a process group of its own: stop() kills what it starts
            )
        except OSError:
            for file in (out, err):
                if file is not None:
                    file.close()
            return None
        return cls(_proc=proc, _out=out, _err=err)

    def submit(self, request: bytes, renderers: int | None = None) -> None:
        """Give the worker its one request: `renderers` renders at once (None: one per CPU)."""
        self.request = request
        header = json.dumps({"renderers": renderers}).encode() + b"\n"
        threading.Thread(target=self._communicate, args=(header + request,), name="synth-helm", daemon=True).start()

    def _communicate(self, stdin: bytes) -> None:
        proc, out, err = self._proc, self._out, self._err
        try:
            if proc is None or out is None or err is None:
                raise WorkerError("not started")
            releases = len(json.loads(self.request or b"{}").get("helm") or {})
            timeout = WORKER_START_SECONDS + 2 * releases * helm.BINARY_TIMEOUT_SECONDS
            proc.communicate(stdin, timeout=timeout)  # writes, then waits for the exit
            if self._stopped:
                raise WorkerStoppedError("stopped")
            if proc.returncode != 0:
                err.seek(0)
                last = err.read().decode(errors="replace").strip().splitlines()[-1:] or ["no message"]
                raise WorkerError(f"exit {proc.returncode}: {last[0][:300]}")
            out.seek(0)
            data = out.read()  # one read: each read of a buffered load would wait for the GIL
            renders = pickle.loads(data)  # noqa: S301 - from the child this process just started
            if not isinstance(renders, Renders):
                raise WorkerError(f"wrote a {type(renders).__name__}, not renders")
            renders.where = "worker"
            self._done.set_result(renders)
        except Exception as exc:  # noqa: BLE001 - any failure means: render in-process instead
            by_synth = self._stopped  # before this stop: a worker that timed out is a failure
            self.stop()
            failure = exc if isinstance(exc, WorkerError) else WorkerError(repr(exc))
            self._done.set_exception(WorkerStoppedError("stopped by synth") if by_synth else failure)
        finally:
            self._close_files()

    def result(self, timeout: float | None = None) -> Renders:
        return self._done.result(timeout)

    def stop(self) -> None:
        """Kill it, and any `helm` it started, if it still runs (a no-op once it has answered);
        its result is then WorkerStoppedError."""
        proc = self._proc
        if proc is None:
            return
        if proc.poll() is None:
            self._stopped = True
            try:  # its own process group (start_new_session): a `helm template` it runs goes too
                os.killpg(proc.pid, signal.SIGKILL)
            except (AttributeError, OSError):  # no process groups (Windows), or already gone
                proc.kill()
            with contextlib.suppress(Exception):
                proc.wait(timeout=5)
        if self.request is None:  # never given a request: nothing else closes its stdin and files
            if proc.stdin is not None:
                with contextlib.suppress(Exception):
                    proc.stdin.close()
            self._close_files()

    def _close_files(self) -> None:
        for file in (self._out, self._err):
            if file is not None:
                with contextlib.suppress(Exception):
                    file.close()


def _switched_off(var: str) -> bool:
    return os.environ.get(var, "").strip().lower() in {"off", "0", "false", "no"}


def hints_enabled() -> bool:
    """AIRFLOW_AKS_HELM_HINT=off: no hint is read or written (every run is a first run: the
    tests, bench --cold)."""
    return not _switched_off(HINT_VAR) and worker_enabled()


def worker_enabled() -> bool:
    """AIRFLOW_AKS_HELM_WORKER=off: Helm renders in synth's own process, after the program (where
    no process may be started, or a test changes synth.helm or synth.reference in-process)."""
    return not _switched_off(WORKER_VAR)


class EarlyRenders:
    """A worker started now, given the last run's request if there is one (see the module's
    docstring); :meth:`renders` then answers for this run's request. A context manager: a
    worker still running when synth is done is stopped."""

    def __init__(self, project_dir: Path, stack: str) -> None:
        self.hint_file = hint_path(project_dir, stack)
        self.enabled = hints_enabled()
        self.hint = read_hint(self.hint_file) if self.enabled else None
        self.hint_state = "off" if not self.enabled else "none" if self.hint is None else "unused"
        self.workers: list[Worker] = []  # every worker used (tests count them)
        self._worker = self._adopt(Worker.start(early=self.hint is not None)) if worker_enabled() else None
        if self._worker is not None and self.hint is not None:
            # one render at a time: it runs beside synth's own thread, and one Go heap is smaller
            self._worker.submit(self.hint, renderers=1)

    def _adopt(self, worker: Worker | None) -> Worker | None:
        if worker is not None:
            self.workers.append(worker)
        return worker

    def renders(
        self, values: Mapping[str, Mapping[str, Any]], metas: Mapping[str, Mapping[str, Any]], kubernetes_version: str
    ) -> concurrent.futures.Future[Renders]:
        """The renders of this run's releases: from the early worker when it was given this very
        request, else from a worker given it now; in-process if there is no worker to ask, it
        fails, or the request cannot be JSON. The request becomes the hint for the next run."""
        request = request_bytes(values, metas, kubernetes_version)
        if request is None:
            return _in_process(lambda: _render_here(values, metas, kubernetes_version))
        if self.hint is not None:
            self.hint_state = "matched" if request == self.hint else "stale"
        if self.enabled and request != self.hint:
            write_hint(self.hint_file, request)
        worker = self._worker
        if worker is not None and worker.request is not None and worker.request != request:
            worker.stop()  # it renders the last run's values, not this run's
            worker = self._worker = self._adopt(Worker.start())
        if worker is None:
            return _in_process(lambda: _render_request(request))
        if worker.request is None:
            worker.submit(request)  # synth waits for these: every CPU

        def wait() -> Renders:
            try:
                return worker.result()
            except WorkerStoppedError:  # synth is done (Ctrl-C, an error): no render is wanted now
                raise
            except WorkerError:
                return _render_request(request)

        return _in_process(wait)

    def close(self) -> None:
        for worker in self.workers:
            worker.stop()

    def __enter__(self) -> EarlyRenders:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _render_here(
    values: Mapping[str, Mapping[str, Any]],
    metas: Mapping[str, Mapping[str, Any]],
    kubernetes_version: str,
    renderers: int | None = None,
) -> Renders:
    charts = helm.render_values(values, metas, kubernetes_version, renderers)
    return Renders(helm.engine_name(), charts, "in-process")


def _in_process(job: Callable[[], Renders]) -> concurrent.futures.Future[Renders]:
    """`job` in a thread of this process (Helm renders outside the GIL): its future."""
    pool = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="synth-helm")
    future = pool.submit(job)
    pool.shutdown(wait=False)
    return future


# ----------------------------------------------------------------- the worker itself
def main() -> int:
    """Render the request on stdin (after a header line), write the renders to stdout."""
    header = json.loads(sys.stdin.buffer.readline())
    renders = _render_request(sys.stdin.buffer.read(), header.get("renderers"))
    # streamed, not built first as one bytes object: the worker's peak is 4 MB lower for dev
    pickle.dump(renders, sys.stdout.buffer, protocol=pickle.HIGHEST_PROTOCOL)
    sys.stdout.buffer.flush()
    return 0

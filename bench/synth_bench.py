"""Benchmark: synth wall time and peak memory per stack, beside the import floor.

    .venv/bin/python bench/synth_bench.py [--runs 5] [--json] [--baseline DIR] [stack ...]

Each synth run is a fresh `python -m synth <stack> --no-write` (imports included, chart
rendering on, as a user runs it); its wall time is measured around the process. Memory, two ways:
- `peak RSS`: the kernel's rusage of that child (os.wait4): the largest peak of any one process
  of its tree (synth, or the Helm worker it starts: synth/helm_process.py);
- `tree peak`: the largest sum of the resident sets of synth and its children at one time,
  sampled every 10 ms from /proc (Linux): what the machine needs at once. A child that lives
  less than 10 ms can be missed; a longer one is seen within 10 ms of its peak.
The import floor is a fresh process that only imports what synth's own process needs and runs
nothing: the modules a probe run of the same stack left in sys.modules, imported again in the
same order. Medians of --runs.

The first (probe) run of a stack leaves synth's render hint (the last run's Helm request) in the
cache, so the timed runs are repeat runs, as on a developer's machine. --cold adds rows run
with AIRFLOW_AKS_HELM_HINT=off: the first run on a machine (a CI job without a cache), where the
worker renders only once the program has run.

--baseline DIR runs the same measurements on another checkout of the project (a copy of the
tree before a change) interleaved with this one, run for run, so both are measured in the
same sitting under the same load; the table then has a `before` and an `after` row per stack.

--bytecode-cache DIR lets the children write and reuse compiled bytecode there
(PYTHONPYCACHEPREFIX, with PYTHONDONTWRITEBYTECODE unset): what a user's second run costs
where Python may cache the project's own modules (a checkout normally does, in __pycache__).
Without it the children inherit this environment as it is.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent

# Run synth as a user does, then list the modules it imported (in import order) into a file.
PROBE = """
import os, runpy, sys
out, sys.argv = sys.argv[1], ["synth", *sys.argv[2:]]
os._exit = sys.exit  # synth ends with os._exit (synth.__main__.exit_now): here, the listing comes first
try:
    runpy.run_module("synth", run_name="__main__", alter_sys=True)
except SystemExit:
    pass
finally:
    with open(out, "w") as f:
        f.write("\\n".join(sys.modules))
"""

# Import these modules in this order, nothing else (a module that cannot be imported on its
# own, e.g. one a package registers under another name, is skipped). The heap is frozen before
# exit, as synth's runner does, so the interpreter's final collection (~0.4 s over these
# modules' objects) is not counted as importing.
FLOOR = """
import gc, importlib, sys
with open(sys.argv[1]) as f:
    names = f.read().split()
for name in names:
    if name not in sys.modules:
        try:
            importlib.import_module(name)
        except Exception:
            pass
gc.freeze()
"""

# Not importable by name, or not what synth needs: the probe's own and the interpreter's.
_SKIP_PREFIXES = ("__main__", "__mp_main__", "_pytest", "pytest", "runpy")


@dataclass(frozen=True)
class Run:
    wall: float  # seconds, around the process
    cpu: float  # user + system seconds of that process (all its threads) and its waited children
    rss_mb: float  # the largest peak resident set of one process of its tree (rusage)
    code: int  # its exit code
    tree_mb: float = 0.0  # the largest sum of its tree's resident sets at one time (sampled)
    processes: int = 1  # processes seen in its tree


SAMPLE_SECONDS = 0.010
# synth/helm_process.py's switch; spelled here too, since a baseline tree may predate it
HINT_VAR = "AIRFLOW_AKS_HELM_HINT"


def _kib(status: str, key: str) -> int:
    for line in status.splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return 0


def tree_rss_kib(root: int) -> dict[int, int]:
    """pid -> resident set (KiB) of `root` and every descendant alive now (Linux /proc)."""
    out: dict[int, int] = {}
    todo = [root]
    while todo:
        pid = todo.pop()
        try:
            out[pid] = _kib(Path(f"/proc/{pid}/status").read_text(), "VmRSS")
            tasks = list(Path(f"/proc/{pid}/task").iterdir())
        except OSError:  # gone meanwhile
            continue
        for task in tasks:
            try:
                todo += [int(child) for child in (task / "children").read_text().split()]
            except OSError:
                continue
    return out


class TreeSampler:
    """Samples a process tree's total resident set until stopped: the peak sum, the pids seen."""

    def __init__(self, root: int) -> None:
        self.root, self.peak_kib, self.pids = root, 0, {root}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            sample = tree_rss_kib(self.root)
            self.peak_kib = max(self.peak_kib, sum(sample.values()))
            self.pids.update(sample)
            self._stop.wait(SAMPLE_SECONDS)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def run_child(argv: list[str], cwd: Path, env: dict[str, str] | None = None) -> Run:
    """Run one child process to completion: wall time, peak RSS (its own rusage), exit code.
    Its output is discarded (kept in a temporary file, for an error message)."""
    with tempfile.TemporaryFile() as out:
        start = time.perf_counter()
        proc = subprocess.Popen(argv, cwd=cwd, stdout=out, stderr=out, env=env)  # noqa: S603 - our own argv
        sampler = TreeSampler(proc.pid)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        sampler.stop()
        proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here: Popen must not wait again
    # ru_maxrss is in KiB on Linux; the tree's sampled peak is never below one process's peak
    rss = usage.ru_maxrss / 1024
    return Run(
        wall=wall,
        cpu=usage.ru_utime + usage.ru_stime,
        rss_mb=rss,
        code=proc.returncode,
        tree_mb=max(rss, sampler.peak_kib / 1024),
        processes=len(sampler.pids),
    )


def synth_argv(stack: str) -> list[str]:
    return [sys.executable, "-m", "synth", stack, "--no-write"]


def floor_modules(stack: str, root: Path, env: dict[str, str] | None = None) -> list[str]:
    """The modules a synth run of `stack` imports, in import order (one probe run, untimed)."""
    with tempfile.TemporaryDirectory(prefix="synth-bench-") as tmp:
        listing = Path(tmp) / "modules.txt"
        subprocess.run(  # noqa: S603 - our own interpreter and script
            [sys.executable, "-c", PROBE, str(listing), stack, "--no-write"],
            cwd=root,
            env=env,
            capture_output=True,
            check=False,
        )
        names = listing.read_text().split() if listing.is_file() else []
    modules = [n for n in names if not n.startswith(_SKIP_PREFIXES)]
    # runpy ran synth/__main__.py as __main__: import it by its own name, as a module
    return [*modules, "synth.__main__"] if "synth" in modules else modules


def floor_run(modules_file: Path, root: Path, env: dict[str, str] | None = None) -> Run:
    return run_child([sys.executable, "-c", FLOOR, str(modules_file)], root, env)


def summarize(label: str, stack: str, synth: list[Run], floor: list[Run], modules: int) -> dict[str, Any]:
    return {
        "stack": stack,
        "tree": label,
        "runs": len(synth),
        "wall_s_median": round(statistics.median(r.wall for r in synth), 3),
        "wall_s_min": round(min(r.wall for r in synth), 3),
        "cpu_s_median": round(statistics.median(r.cpu for r in synth), 3),
        "peak_rss_mb_median": round(statistics.median(r.rss_mb for r in synth), 1),
        "tree_peak_mb_median": round(statistics.median(r.tree_mb for r in synth), 1),
        "processes_max": max(r.processes for r in synth),
        "floor_s_median": round(statistics.median(r.wall for r in floor), 3) if floor else None,
        "floor_rss_mb_median": round(statistics.median(r.rss_mb for r in floor), 1) if floor else None,
        "floor_modules": modules,
        "exit_codes": sorted({r.code for r in synth}),
    }


def bench(
    stacks: list[str],
    runs: int,
    trees: dict[str, Path],
    env: dict[str, str] | None = None,
    argv_for: Any = synth_argv,
    cold: bool = False,
) -> list[dict[str, Any]]:
    """Per stack and tree: `runs` synth runs and `runs` import-floor runs, the trees
    interleaved run for run (same sitting, same load); with `cold`, each tree also as
    `<tree> cold`: synth run with its render hint off."""
    base = dict(env if env is not None else os.environ)
    variants: dict[str, tuple[Path, dict[str, str] | None]] = {}
    for label, root in trees.items():
        variants[label] = (root, env)
        if cold:
            variants[f"{label} cold"] = (root, {**base, HINT_VAR: "off"})
    rows = []
    with tempfile.TemporaryDirectory(prefix="synth-bench-") as tmp:
        for stack in stacks:
            lists: dict[str, tuple[Path, int]] = {}
            for label, (root, variant_env) in variants.items():
                modules = floor_modules(stack, root, variant_env)
                path = Path(tmp) / f"{stack}.{label}.modules"
                path.write_text("\n".join(modules))
                lists[label] = (path, len(modules))
            synth: dict[str, list[Run]] = {label: [] for label in variants}
            floor: dict[str, list[Run]] = {label: [] for label in variants}
            for _ in range(runs):
                for label, (root, variant_env) in variants.items():
                    synth[label].append(run_child(argv_for(stack), root, variant_env))
                    floor[label].append(floor_run(lists[label][0], root, variant_env))
            rows += [summarize(label, stack, synth[label], floor[label], lists[label][1]) for label in variants]
    return rows


def table(rows: list[dict[str, Any]]) -> str:
    lines = [
        f"{'stack':<8} {'tree':<12} {'runs':>4} {'wall median':>12} {'wall min':>9} {'CPU':>7} {'peak RSS':>10} "
        f"{'tree peak':>10} {'procs':>5} {'import floor':>13} {'floor RSS':>10}  exit"
    ]
    for r in rows:
        floor = f"{r['floor_s_median']:.2f}s" if r["floor_s_median"] is not None else "-"
        floor_rss = f"{r['floor_rss_mb_median']:.1f}MB" if r["floor_rss_mb_median"] is not None else "-"
        lines.append(
            f"{r['stack']:<8} {r['tree']:<12} {r['runs']:>4} {r['wall_s_median']:>11.2f}s {r['wall_s_min']:>8.2f}s "
            f"{r['cpu_s_median']:>6.2f}s "
            f"{r['peak_rss_mb_median']:>8.1f}MB {r['tree_peak_mb_median']:>8.1f}MB {r['processes_max']:>5} "
            f"{floor:>13} {floor_rss:>10}  {r['exit_codes']}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("stacks", nargs="*", help="default: every Pulumi.<stack>.yaml")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--baseline", type=Path, metavar="DIR", help="another checkout, measured interleaved")
    parser.add_argument("--bytecode-cache", type=Path, metavar="DIR", help="let the children cache bytecode here")
    parser.add_argument("--cold", action="store_true", help="also run each tree with synth's render hint off")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be 1 or more")
    env = None
    if args.bytecode_cache:
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env["PYTHONPYCACHEPREFIX"] = str(args.bytecode_cache.resolve())
    stacks = args.stacks or sorted(p.name[len("Pulumi.") : -len(".yaml")] for p in ROOT.glob("Pulumi.*.yaml"))
    trees = {"before": args.baseline.resolve(), "after": ROOT} if args.baseline else {"tree": ROOT}
    rows = bench(stacks, args.runs, trees, env, cold=args.cold)
    print(json.dumps(rows, indent=2) if args.json else table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())

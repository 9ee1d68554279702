"""Benchmark: synth wall time and peak memory per stack file (median of N fresh processes).

    .venv/bin/python bench/synth_bench.py [--runs 5] [stack ...]

Each run is a new interpreter (imports included, as a user sees it) that runs
`python -m synth <stack> --no-write` and reports its own peak RSS.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHILD = """
import resource, runpy, sys
sys.argv = ["synth", sys.argv[1], "--no-write", "--json"]
try:
    runpy.run_module("synth", run_name="__main__", alter_sys=True)
except SystemExit as exit:
    code = exit.code
else:
    code = 0
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, code, file=sys.stderr)
"""


def measure(stack: str) -> tuple[float, float, int]:
    start = time.perf_counter()
    proc = subprocess.run(  # noqa: S603 - our own interpreter and script
        [sys.executable, "-c", CHILD, stack], cwd=ROOT, capture_output=True, text=True, check=False
    )
    wall = time.perf_counter() - start
    rss_kb, code = proc.stderr.strip().splitlines()[-1].split()
    return wall, int(rss_kb) / 1024, int(code)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("stacks", nargs="*")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    stacks = args.stacks or sorted(p.name[len("Pulumi.") : -len(".yaml")] for p in ROOT.glob("Pulumi.*.yaml"))
    rows = []
    for stack in stacks:
        runs = [measure(stack) for _ in range(args.runs)]
        rows.append(
            {
                "stack": stack,
                "runs": args.runs,
                "wall_s_median": round(statistics.median(r[0] for r in runs), 2),
                "wall_s_min": round(min(r[0] for r in runs), 2),
                "peak_rss_mb_median": round(statistics.median(r[1] for r in runs), 1),
                "exit_codes": sorted({r[2] for r in runs}),
            }
        )
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        print(f"{'stack':<10} {'runs':>4} {'wall median':>12} {'wall min':>9} {'peak RSS':>10}  exit")
        for r in rows:
            print(
                f"{r['stack']:<10} {r['runs']:>4} {r['wall_s_median']:>11.2f}s {r['wall_s_min']:>8.2f}s "
                f"{r['peak_rss_mb_median']:>8.1f}MB  {r['exit_codes']}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""`python -m synth.helm_worker [--load-sdk] [--background]`: the Helm worker of synth/helm_process.py.

A module of its own, so that the worker's first steps come before it imports synth.helm:
- with --background (an early worker, given the last run's request) it lowers its priority:
  where synth's own thread and the worker both want a CPU, synth's wins (those renders are
  early, not urgent). A worker synth waits for keeps its priority;
- with --load-sdk, Helm's Go library (85 MB) starts loading in a thread meanwhile: the worker
  is ready to render ~50 ms sooner.
Then synth.helm_process.main reads the request and writes the renders.
"""

import contextlib
import os
import sys
import threading

NICENESS = 10


def _load_sdk() -> None:
    with contextlib.suppress(Exception):  # synth.helm.engine() finds a failure again when it matters
        import helm_python  # noqa: F401


if __name__ == "__main__":
    if "--background" in sys.argv[1:]:
        with contextlib.suppress(AttributeError, OSError):  # no os.nice on Windows
            os.nice(NICENESS)
    if "--load-sdk" in sys.argv[1:]:
        threading.Thread(target=_load_sdk, name="synth-helm-import", daemon=True).start()
    from synth.helm_process import main

    sys.exit(main())

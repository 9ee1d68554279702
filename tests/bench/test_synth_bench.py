"""bench/synth_bench.py: the measuring machinery, run on a tiny project of its own (a stand-in
`synth` package), never on this project's stacks. No timing is asserted: performance is
measured by bench/, not by timed tests."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from bench import synth_bench


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    """A project whose `python -m synth <stack> --no-write` imports one module of its own and
    exits 0, or 1 for the stack `bad`, through os._exit as synth does."""
    root = tmp_path / "tiny"
    (root / "synth").mkdir(parents=True)
    (root / "synth" / "__init__.py").write_text("")
    (root / "tinydep.py").write_text("import json\nVALUE = json.dumps([1])\n")
    (root / "synth" / "__main__.py").write_text(
        textwrap.dedent(
            """\
            import os
            import subprocess
            import sys

            import tinydep

            if __name__ == "__main__":
                assert sys.argv[2:] == ["--no-write"], sys.argv
                if sys.argv[1] == "pair":  # 40 MB here while a child holds 60 MB
                    mine = b"p" * (40 << 20)
                    child = "import time; held = b'c' * (60 << 20); time.sleep(0.5)"
                    subprocess.run([sys.executable, "-c", child], check=True)
                if sys.argv[1] == "hint":
                    sys.exit(3 if os.environ.get("AIRFLOW_AKS_HELM_HINT") == "off" else 0)
                sys.stdout.flush()
                os._exit(1 if sys.argv[1] == "bad" else 0)  # as synth ends: no interpreter teardown
            """
        )
    )
    return root


def test_run_child_reports_its_own_exit_code_time_and_memory(tiny: Path) -> None:
    ok = synth_bench.run_child(synth_bench.synth_argv("dev"), tiny)
    bad = synth_bench.run_child(synth_bench.synth_argv("bad"), tiny)
    assert (ok.code, bad.code) == (0, 1)
    for run in (ok, bad):
        assert run.wall > 0
        assert run.cpu >= 0
        assert 1 < run.rss_mb < 10_000  # the child's own peak (MiB), not the bench's


def test_floor_is_what_the_run_imported_in_order_and_nothing_of_the_probe(tiny: Path) -> None:
    modules = synth_bench.floor_modules("dev", tiny)
    assert "tinydep" in modules
    assert "json" in modules
    assert modules.index("json") < modules.index("tinydep")  # import order kept
    assert modules[-1] == "synth.__main__"  # run as __main__ by runpy: imported by its name
    assert not [m for m in modules if m.startswith(("__main__", "runpy"))]
    listing = tiny / "modules.txt"
    listing.write_text("\n".join([*modules, "no_such_module_here"]))  # a name that fails is skipped
    assert synth_bench.floor_run(listing, tiny).code == 0


def test_bench_interleaves_trees_and_summarizes_each(tiny: Path, tmp_path: Path) -> None:
    rows = synth_bench.bench(["dev", "bad"], 2, {"before": tiny, "after": tiny})
    assert [(r["stack"], r["tree"]) for r in rows] == [
        ("dev", "before"),
        ("dev", "after"),
        ("bad", "before"),
        ("bad", "after"),
    ]
    for row in rows:
        assert row["runs"] == 2
        assert row["wall_s_min"] <= row["wall_s_median"]
        assert row["floor_modules"] >= 3
        assert row["floor_s_median"] is not None
        assert row["exit_codes"] == ([1] if row["stack"] == "bad" else [0])
    text = synth_bench.table(rows)
    assert text.splitlines()[0].split()[:3] == ["stack", "tree", "runs"]
    assert len(text.splitlines()) == 5
    assert "import floor" in text


def test_tree_peak_adds_up_processes_alive_at_once(tiny: Path) -> None:
    """synth beside its Helm worker: the tree peak is their sum at one time (40 MB held here,
    60 MB in the child, each with its interpreter: more than 100 MB, which neither is alone)."""
    proc = subprocess.Popen(synth_bench.synth_argv("pair"), cwd=tiny)  # noqa: S603 - our own argv
    sampler = synth_bench.TreeSampler(proc.pid)
    assert proc.wait() == 0
    sampler.stop()
    assert len(sampler.pids) == 2
    assert sampler.peak_kib / 1024 > 100
    run = synth_bench.run_child(synth_bench.synth_argv("pair"), tiny)  # run_child samples too
    assert run.code == 0
    assert run.processes == 2
    assert synth_bench.run_child(synth_bench.synth_argv("dev"), tiny).processes == 1


def test_cold_rows_run_with_the_hint_off(tiny: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(synth_bench.HINT_VAR, raising=False)  # conftest turns hints off for tests
    rows = synth_bench.bench(["hint"], 1, {"tree": tiny}, cold=True)
    assert [(r["tree"], r["exit_codes"]) for r in rows] == [("tree", [0]), ("tree cold", [3])]


def test_main_refuses_zero_runs(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        synth_bench.main(["--runs", "0", "dev"])
    assert "--runs" in capsys.readouterr().err


def test_the_hint_switch_is_synths() -> None:
    from synth import helm_process

    assert synth_bench.HINT_VAR == helm_process.HINT_VAR


def test_children_use_this_interpreter() -> None:
    assert synth_bench.synth_argv("dev")[:3] == [sys.executable, "-m", "synth"]

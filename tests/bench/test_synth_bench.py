"""bench/synth_bench.py: the measuring machinery, run on a tiny project of its own (a stand-in
`synth` package), never on this project's stacks. No timing is asserted: performance is
measured by bench/, not by timed tests."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest

from bench import synth_bench


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    """A project whose `python -m synth <stack> --no-write` imports one module of its own and
    exits 0, or 1 for the stack `bad`."""
    root = tmp_path / "tiny"
    (root / "synth").mkdir(parents=True)
    (root / "synth" / "__init__.py").write_text("")
    (root / "tinydep.py").write_text("import json\nVALUE = json.dumps([1])\n")
    (root / "synth" / "__main__.py").write_text(
        textwrap.dedent(
            """\
            import sys

            import tinydep

            if __name__ == "__main__":
                assert sys.argv[2:] == ["--no-write"], sys.argv
                sys.exit(1 if sys.argv[1] == "bad" else 0)
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


def test_main_refuses_zero_runs(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        synth_bench.main(["--runs", "0", "dev"])
    assert "--runs" in capsys.readouterr().err


def test_children_use_this_interpreter() -> None:
    assert synth_bench.synth_argv("dev")[:3] == [sys.executable, "-m", "synth"]

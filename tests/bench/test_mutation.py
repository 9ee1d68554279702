"""bench/mutation.py: mutant generation is deterministic and exact, and the driver's score moves
both ways on a tiny project of its own (no run of this project's suite)."""

from __future__ import annotations

import ast
import functools
import json
import textwrap
from pathlib import Path

import pytest

from bench import mutation

ROOT = Path(__file__).resolve().parents[2]

# Everything the operators must leave alone, next to code they must mutate.
SAMPLE = textwrap.dedent(
    '''\
    """Module docstring."""

    from __future__ import annotations

    from typing import TYPE_CHECKING

    if TYPE_CHECKING:
        from collections.abc import Sequence

        LIMIT: int = 3

    __all__ = ["size_of", "Box"]


    class Problem:
        def __init__(self, key: str, value: object, message: str) -> None:
            self.key, self.value, self.message = key, value, message


    class Box:
        """A box."""

        width: int = 2
        label: "str" = "box"

        def fits(self, other: Box, strict: bool = True) -> bool:
            """Whether other fits."""
            "a bare string statement"
            if not strict and other.width == self.width:
                return True
            return other.width < self.width and other.label in ("box", "crate")


    def size_of(items: Sequence[int], unit: str = "cm") -> str:
        if len(items) > 10 or unit != "cm":
            raise ValueError(f"too many items: {len(items)} > 10")
        assert items, "no items at all"
        problems = [Problem("size", items, "must hold fewer than ten items")]
        notes = [f"item {items[0]!r} of {unit!r} is not a valid size"]
        total = sum(items, start=len(notes))
        return f"{total}{unit}" if problems else "none"
    '''
)
DOCSTRINGS = ("Module docstring.", "A box.", "Whether other fits.", "a bare string statement")
OPERATORS = {"string", "bool", "number", "boolop", "compare", "keyword", "not", "return"}
MESSAGES = ("too many items", "no items at all", "must hold fewer than ten items", "is not a valid size")


def _annotations(tree: ast.AST) -> list[str]:
    return [
        ast.dump(value)
        for node in ast.walk(tree)
        for name in ("annotation", "returns")
        if isinstance(value := getattr(node, name, None), ast.AST)
    ]


def _walk_diffs(a: ast.AST, b: ast.AST) -> list[mutation.NodePath]:
    return mutation.ast_diff(a, b)


@functools.cache
def _product_mutants() -> tuple[list[mutation.Mutant], dict[str, str]]:
    files = mutation.product_files(ROOT)
    mutants, dropped = mutation.generate(ROOT, files)
    assert dropped == 0
    return mutants, {f: (ROOT / f).read_text(encoding="utf-8") for f in files}


def test_sample_is_deterministic_for_a_seed_and_spread_over_files() -> None:
    mutants, _ = _product_mutants()
    first = [m.id for m in mutation.sample(mutants, 120, seed=1)]
    assert first == [m.id for m in mutation.sample(mutants, 120, seed=1)]
    assert first != [m.id for m in mutation.sample(mutants, 120, seed=2)]
    assert len(first) == len(set(first)) == 120
    files = {m.file for m in mutants}
    assert {m.split(":")[0] for m in first} == files  # a floor per file
    # the generation itself is deterministic too
    some = ["plan.py", "policy/kube.py"]
    again, _ = mutation.generate(ROOT, some)
    assert [m.id for m in again] == [m.id for m in mutants if m.file in some]


def test_sample_takes_everything_when_asked_for_more() -> None:
    mutants, _ = mutation.mutants_of("sample.py", SAMPLE)
    assert mutation.sample(mutants, None, seed=0) == mutants
    assert mutation.sample(mutants, len(mutants) + 5, seed=0) == mutants
    assert len(mutation.sample(mutants, 3, seed=0)) == 3


def test_product_files_are_the_product_code_only() -> None:
    files = mutation.product_files(ROOT)
    assert "plan.py" in files
    assert "policy/rules.py" in files
    assert "components/cluster.py" in files
    assert not [f for f in files if f.startswith(("synth/", "tests/", "bench/")) or f == "policy/__main__.py"]


def test_product_mutants_parse_and_change_exactly_one_node() -> None:
    """Every mutant was verified on its own statement when generated (dropped == 0 above);
    here a sample is checked again against the whole file, independently."""
    mutants, texts = _product_mutants()
    assert {m.operator for m in mutants} == OPERATORS
    originals = {f: ast.parse(text) for f, text in texts.items()}
    for m in mutation.sample(mutants, 150, seed=7):
        text = texts[m.file]
        mutated = m.apply(text)
        assert mutated != text
        # outside the replaced span the file is byte-for-byte the same
        assert mutated[: m.start] == text[: m.start]
        assert mutated[m.start + len(m.replacement) :] == text[m.end :]
        assert len(_walk_diffs(originals[m.file], ast.parse(mutated))) == 1, m.id


def test_sample_module_mutants_change_one_node_each() -> None:
    original = ast.parse(SAMPLE)
    mutants, dropped = mutation.mutants_of("sample.py", SAMPLE)
    assert dropped == 0
    assert {m.operator for m in mutants} == OPERATORS
    for m in mutants:
        assert len(_walk_diffs(original, ast.parse(m.apply(SAMPLE)))) == 1, m.id


def test_operators_never_touch_docstrings_annotations_type_checking_or_messages() -> None:
    mutants, _ = mutation.mutants_of("sample.py", SAMPLE)
    lines = SAMPLE.splitlines()
    for m in mutants:
        touched = SAMPLE[m.start : m.end]
        assert not any(d in m.original and d in touched for d in DOCSTRINGS), m.id
        assert not any(msg in touched for msg in MESSAGES), m.id
        assert "LIMIT" not in m.original, m.id  # under `if TYPE_CHECKING`
        assert "__all__" not in m.original, m.id
    # annotations: `label: "str"`, `strict: bool`, `-> bool`, `-> str`, ... are never changed
    for m in mutants:
        assert _annotations(ast.parse(m.apply(SAMPLE))) == _annotations(ast.parse(SAMPLE)), m.id
    # and what is code IS mutated
    details = {(lines[m.line - 1].strip(), m.operator, m.detail) for m in mutants}
    assert ("width: int = 2", "number", "2 -> 3") in details
    assert ('label: "str" = "box"', "string", "'box' -> 'boxx'") in details
    assert ("if not strict and other.width == self.width:", "compare", "'==' -> '!='") in details
    assert ("if not strict and other.width == self.width:", "boolop", "and -> or") in details
    assert ("if not strict and other.width == self.width:", "not", "not x -> x") in details
    assert ("return True", "bool", "True -> False") in details
    assert ("return True", "return", "return None") in details
    assert ("total = sum(items, start=len(notes))", "keyword", "drop start=") in details
    assert ('return f"{total}{unit}" if problems else "none"', "string", "f-string + 'x'") in details
    assert (
        'problems = [Problem("size", items, "must hold fewer than ten items")]',
        "string",
        "'size' -> 'sizex'",
    ) in details


def test_prose_reads_as_a_message_and_names_do_not() -> None:
    assert mutation.looks_like_prose("the OIDC issuer is off (az aks update --enable-oidc-issuer)")
    assert not mutation.looks_like_prose("Key Vault Secrets User")
    assert not mutation.looks_like_prose("azure-native:keyvault:Vault")
    assert not mutation.looks_like_prose("0 3 * * *")
    # an f-string by its literal text: a message, though its placeholders are not words
    line = 'out.append(f"storage account {r.name}: minimumTlsVersion {tls!r} (TLS1_2 or TLS1_3 required)")'
    assert not [m for m in mutation.mutants_of("rules.py", line + "\n")[0] if m.operator == "string"]


def test_relevant_tests_follow_imports_and_whole_program_runs() -> None:
    tests = mutation.TestMap(ROOT)
    mirror, near, far = tests.relevant("components/cluster.py")
    assert sorted(mirror) == ["tests/components/test_cluster.py", "tests/components/test_cluster_addons.py"]
    assert "tests/test_main.py" in near + far  # runs the whole program
    mirror, near, far = tests.relevant("policy/rules.py")
    assert mirror == ["tests/policy/test_rules.py"]
    assert "tests/synth/test_main.py" in near + far
    mirror, near, far = tests.relevant("config/validators.py")
    assert set(mirror) >= {"tests/config/test_bad_config.py", "tests/config/test_settings.py"}
    mirror, _, _ = tests.relevant("plan.py")
    assert sorted(mirror) == ["tests/test_plan.py", "tests/test_plan_data_plane.py"]


def _fixture(root: Path) -> Path:
    project = root / "project"
    (project / "tests").mkdir(parents=True)
    (project / "calc.py").write_text(
        textwrap.dedent(
            """\
            def is_small(n):
                return n < 10


            def label(n):
                return "small"


            def halve(n):
                while n != 0:
                    n -= 2
                return n
            """
        ),
        encoding="utf-8",
    )
    (project / "tests" / "__init__.py").write_text("", encoding="utf-8")
    (project / "tests" / "test_calc.py").write_text(
        textwrap.dedent(
            """\
            from calc import halve, is_small


            def test_is_small():
                assert is_small(9)
                assert not is_small(10)


            def test_halve():
                assert halve(4) == 0
            """
        ),
        encoding="utf-8",
    )
    (project / "tests" / "test_other.py").write_text("def test_nothing_of_calc():\n    assert True\n", encoding="utf-8")
    return project


def test_driver_reports_killed_survived_and_timeout_on_a_tiny_project(tmp_path: Path) -> None:
    project = _fixture(tmp_path)
    out = tmp_path / "result.json"
    # --timeout: room for a slow start on a loaded machine (a mutation run beside it), still
    # short for the mutant that never ends
    argv = ["--tree", str(project), "--file", "calc.py", "--jobs", "2", "--timeout", "15", "--json", str(out)]
    assert mutation.main([*argv, "--min-score", "100"]) == 1  # a survivor: the score is not met
    data = json.loads(out.read_text(encoding="utf-8"))
    by_line: dict[int, set[str]] = {}
    for r in data["results"]:
        by_line.setdefault(r["line"], set()).add(r["status"])
    assert by_line[2] == {"killed"}  # the tested line: `<` -> `<=`, 10 -> 11, return None
    assert by_line[6] == {"survived"}  # the untested line: "small" -> "smallx", return None
    assert "timeout" in by_line[11]  # n -= 3 never reaches 0
    survivors = [r for r in data["results"] if r["status"] == "survived"]
    assert all(r["file"] == "calc.py" and r["line"] == 6 for r in survivors)
    # a survivor was run against the rest of the suite too
    assert all(any(run["stage"] == "full" for run in r["runs"]) for r in survivors)
    assert 0 < data["score"] < 100
    assert data["killed"] + len(survivors) == data["total"]
    assert data["counts"]["timeout"] >= 1

    # a test for the untested line, a line added above it: --rerun finds both survivors again
    # by their text and now kills them
    calc = project / "calc.py"
    calc.write_text("LIMIT = 10\n" + calc.read_text(encoding="utf-8"), encoding="utf-8")
    test = project / "tests" / "test_calc.py"
    test.write_text(
        test.read_text(encoding="utf-8") + "\n\ndef test_label():\n    from calc import label\n\n"
        "    assert label(1) == 'small'\n",
        encoding="utf-8",
    )
    again = tmp_path / "again.json"
    rerun = ["--tree", str(project), "--file", "calc.py", "--rerun", str(out), "--json", str(again)]
    assert mutation.main([*rerun, "--min-score", "100"]) == 0
    data = json.loads(again.read_text(encoding="utf-8"))
    assert [(r["line"], r["status"]) for r in data["results"]] == [(7, "killed"), (7, "killed")]


def test_list_prints_mutants_without_running(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    project = _fixture(tmp_path)
    assert mutation.main(["--tree", str(project), "--file", "calc.py", "--list", "--sample", "2", "--seed", "1"]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert printed[0].endswith("running 2")
    assert len(printed) == 3
    assert all(line.startswith("calc.py:") for line in printed[1:])


def test_the_snapshot_is_a_one_commit_repository_of_the_project(tmp_path: Path) -> None:
    """synth --diff and its tests ask git for the project's revisions: the copy the mutants run
    in is a repository, as a clone is, holding exactly the project's files."""
    import subprocess

    project = _fixture(tmp_path)
    dest = tmp_path / "snap"
    mutation.snapshot(dest, project, "HEAD")

    def git(*args: str) -> str:
        return subprocess.run(["git", "-C", str(dest), *args], capture_output=True, text=True, check=True).stdout  # noqa: S603, S607

    assert git("rev-list", "--count", "HEAD").strip() == "1"
    tracked = set(git("ls-files").split())
    on_disk = {str(p.relative_to(project)) for p in project.rglob("*") if p.is_file()}
    assert tracked == on_disk
    assert git("status", "--porcelain") == ""

"""synth's terminal output (synth/output.py): plain when not a terminal, coloured with rich when
it is (or FORCE_COLOR says so), the same text either way; near-identical warnings grouped into one
line, errors never."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from rich.console import Console

from components import secrets_operator
from synth import helm_process, output, reference
from synth.__main__ import main
from synth.output import Printer, compact, finding_lines, grouped_line, styled, terminal_console
from synth.validate import Finding

ANSI = re.compile(r"\x1b\[[0-9;]*m")
MISSING = "schema not found, NOT validated: reference file {} not found in /nowhere; not fetched (offline)"


@pytest.fixture(autouse=True)
def _no_colour_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """The tests set what they test: none of the caller's colour variables leak in."""
    for var in ("NO_COLOR", "FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE", "COLUMNS"):
        monkeypatch.delenv(var, raising=False)


@pytest.fixture
def no_reference(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """A newcomer's machine, offline: no reference schema, no chart archive (for this process:
    Helm renders here too, not in a worker that would not see the search path)."""
    monkeypatch.setattr(reference, "search_path", lambda: [tmp_path])
    monkeypatch.setenv(helm_process.WORKER_VAR, "off")
    reference.load_json.cache_clear()
    reference.load_yaml.cache_clear()
    yield
    reference.load_json.cache_clear()
    reference.load_yaml.cache_clear()


def _normal(text: str) -> list[str]:
    """Lines without escape codes, timings masked, sorted: the tree's order among siblings
    follows registration order, which varies between runs."""
    return sorted(re.sub(r"\d+\.\d+s\b", "N.NNs", ANSI.sub("", line)) for line in text.splitlines())


# ------------------------------------------------------------------ plain and coloured
def test_not_a_terminal_prints_plain_text(capsys: pytest.CaptureFixture[str]) -> None:
    assert terminal_console() is None  # captured stdout is not a terminal: rich is not even asked
    assert main(["dev", "--no-write"]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out
    lines = out.splitlines()
    assert lines[0] == "+ pulumi:pulumi:Stack airflow-aks-dev"
    assert "    + airflow-aks:cluster:Cluster cluster" in lines
    headers = [
        line.split(":")[0] for line in lines if re.match(r"(Resources|Helm engine|Data plane|Validated|Pol)", line)
    ]
    assert headers == ["Resources", "Helm engine", "Data plane", "Validated", "Policy violations"]
    assert re.fullmatch(r"synth dev: OK in \d+\.\d\ds \(0 errors, 0 warnings\)", lines[-1])


@given(st.text(st.characters(blacklist_categories=("Cc", "Cs")), max_size=80), st.sampled_from([*output.RULES, ""]))
def test_plain_printer_is_print(text: str, kind: str) -> None:
    buffer = io.StringIO()
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("sys.stdout", buffer)
        Printer(auto=False)(text, kind)
    assert buffer.getvalue() == text + "\n"


@given(
    st.text(st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp")), max_size=200),
    st.sampled_from([*output.RULES]),
)
def test_styling_never_changes_the_text(line: str, kind: str) -> None:
    assert styled(line, kind).plain == line
    console = Console(file=io.StringIO(), force_terminal=True, width=20, color_system="truecolor")
    Printer(console)(line, kind)
    assert ANSI.sub("", console.file.getvalue()) == line + "\n"


def test_forced_colour_is_the_same_text_in_colour(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["dev", "--no-write"]) == 0
    plain = capsys.readouterr().out
    monkeypatch.setenv("FORCE_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "40")  # narrower than most lines: nothing wraps or is cut
    assert terminal_console() is not None
    assert main(["dev", "--no-write"]) == 0
    coloured = capsys.readouterr().out
    assert "\x1b[" in coloured
    assert "\x1b[1;32mOK\x1b[0m" in coloured  # the verdict in bold green
    assert _normal(coloured) == _normal(plain)


def test_an_injected_terminal_console_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    console = Console(file=io.StringIO(), force_terminal=True, color_system="standard")
    monkeypatch.setattr(output, "terminal_console", lambda: console)
    assert main(["dev", "--no-write"]) == 0
    text = console.file.getvalue()
    assert "\x1b[" in text
    assert ANSI.sub("", text).splitlines()[0] == "+ pulumi:pulumi:Stack airflow-aks-dev"


@pytest.mark.parametrize(
    ("environ", "coloured"),
    [
        ({}, False),  # not a terminal
        ({"FORCE_COLOR": "1"}, True),
        ({"FORCE_COLOR": ""}, False),  # as rich reads it: set but empty is "no"
        ({"FORCE_COLOR": "1", "NO_COLOR": "1"}, False),  # NO_COLOR wins: plain, no escape code at all
        ({"FORCE_COLOR": "1", "TTY_COMPATIBLE": "0"}, False),
        ({"FORCE_COLOR": "1", "TERM": "dumb"}, False),
        ({"TTY_COMPATIBLE": "1"}, True),
    ],
)
def test_when_rich_colours(environ: dict[str, str], coloured: bool) -> None:
    assert (terminal_console(environ) is not None) is coloured


# ------------------------------------------------------------------ grouping warnings
def _warn(check: str, subject: str, message: str) -> Finding:
    return Finding(check, subject, message, "warning")


def test_a_single_warning_is_printed_as_before() -> None:
    f = _warn("helm-values", "airflow", MISSING.format("airflow-chart/1.15.0/values.schema.json"))
    assert finding_lines([f]) == [f"warning: {f}"]


def test_near_identical_warnings_are_one_line_with_a_count() -> None:
    es = "external-secrets/2.9.0/crds/external-secrets.io_externalsecrets.yaml"
    ss = "external-secrets/2.9.0/crds/external-secrets.io_secretstores.yaml"
    findings = [
        _warn("crd", "SecretStore.airflow.azure-store.yaml", MISSING.format(ss)),
        *(_warn("crd", f"ExternalSecret.airflow.{n}.yaml", MISSING.format(es)) for n in ("b", "a", "c")),
    ]
    assert finding_lines(findings) == [
        "warning: [crd] ExternalSecret.airflow.a.yaml, ExternalSecret.airflow.b.yaml, ExternalSecret.airflow.c.yaml, "
        "SecretStore.airflow.azure-store.yaml (x4): schema not found, NOT validated: reference file "
        "external-secrets/2.9.0/crds/{external-secrets.io_externalsecrets.yaml, external-secrets.io_secretstores.yaml}"
        " not found in /nowhere; not fetched (offline)"
    ]
    values = [
        _warn("helm-values", r, MISSING.format(p))
        for r, p in (("airflow", "airflow-chart/1.15.0/values.schema.json"), ("eso", "eso/2.9.0/values.schema.json"))
    ]
    assert finding_lines(values) == [
        "warning: [helm-values] airflow, eso (x2): schema not found, NOT validated: reference file "
        "{airflow-chart/1.15.0, eso/2.9.0}/values.schema.json not found in /nowhere; not fetched (offline)"
    ]


def test_many_subjects_are_cut_short() -> None:
    findings = [_warn("kubernetes", f"obj-{i:02d}", "NOT validated: no schemas for Kubernetes 1.99") for i in range(25)]
    (line,) = finding_lines(findings)
    assert line.startswith("warning: [kubernetes] obj-00, obj-01, ")
    assert (
        f"obj-{output.MAX_SUBJECTS - 2:02d}, ... and {25 - output.MAX_SUBJECTS + 1} more (x25): NOT validated" in line
    )


def test_different_warnings_are_never_merged() -> None:
    path = "airflow-chart/1.15.0/values.schema.json"
    findings = [
        _warn("helm-values", "airflow", MISSING.format(path)),
        _warn("images", "airflow", MISSING.format(path)),  # another check, same message
        _warn("helm-values", "eso", MISSING.format(path).replace("/nowhere", "/elsewhere")),  # a literal part differs
        _warn("helm-values", "x", "no schema source known for chart x"),
        _warn("helm-values", "y", "no schema source known for chart y"),  # the chart name is no varying part
    ]
    assert finding_lines(findings) == [f"warning: {f}" for f in findings]


def test_errors_are_never_grouped() -> None:
    message = MISSING.format("external-secrets/2.9.0/crds/external-secrets.io_externalsecrets.yaml")
    errors = [Finding("crd", f"ExternalSecret.airflow.{n}.yaml", message, "error") for n in "abc"]
    warnings = [_warn("crd", f"ExternalSecret.airflow.{n}.yaml", message) for n in "de"]
    lines = finding_lines([errors[0], warnings[0], errors[1], warnings[1], errors[2]])
    assert lines == [
        "warning: [crd] ExternalSecret.airflow.d.yaml, ExternalSecret.airflow.e.yaml (x2): " + message,
        *(f"error: {e}" for e in errors),  # warnings first, then every error on its own line, as before
    ]


# Near-identical, defined here independently of synth/output.py: the same severity and check,
# and the same message once each reference file path and each "<kind> in <apiVersion>" of a
# missing Kubernetes schema is replaced by a placeholder.
def _near_identical_key(f: Finding) -> tuple[str, str, str]:
    message = re.sub(r"reference file \S+ not found", "reference file * not found", f.message)
    message = re.sub(r"no Kubernetes (\S+) schema for \S+ in \S+", r"no Kubernetes \1 schema for *", message)
    return f.severity, f.check, message


_VALUES = ["a/1/x.json", "a/2/x.json", "b/1/y.yaml", "Pod in v1", "Job in batch/v1"]
_MESSAGES = [
    "schema not found, NOT validated: reference file {} not found in /r",
    "schema not found, NOT validated: reference file {} not found in /s",
    "NOT validated: no Kubernetes 1.33 schema for {}",
    "NOT validated: no Kubernetes 1.34 schema for {}",
    "not rendered: {}",
]
_findings = st.lists(
    st.builds(
        Finding,
        st.sampled_from(["crd", "helm-values", "kubernetes"]),
        st.just(""),  # numbered below: every subject distinct, and no subject inside another
        st.builds(str.format, st.sampled_from(_MESSAGES), st.sampled_from(_VALUES)),
        st.sampled_from(["warning", "error"]),
    ),
    max_size=output.MAX_SUBJECTS,
)


def _assert_faithful(findings: list[Finding]) -> None:
    """Each finding is on exactly one line (found by its subject); two findings share a line
    only when they are near-identical warnings; every error has a line of its own."""
    numbered = [Finding(f.check, f"subject-{i:03d}", f.message, f.severity) for i, f in enumerate(findings)]
    lines = output.finding_lines(numbered)
    where: dict[str, int] = {}
    for f in numbered:
        holding = [i for i, line in enumerate(lines) if f.subject in line]
        assert len(holding) == 1, (f, lines)
        where[f.subject] = holding[0]
        assert lines[holding[0]].startswith(f"{f.severity}: [{f.check}] ")
    for f in numbered:
        for g in numbered:
            same_line = where[f.subject] == where[g.subject]
            assert same_line == (
                f is g or (f.severity == "warning" and _near_identical_key(f) == _near_identical_key(g))
            )
    assert len([line for line in lines if line.startswith("error: ")]) == len(
        [f for f in numbered if f.severity == "error"]
    )


@given(_findings)
def test_grouping_is_faithful(findings: list[Finding]) -> None:
    _assert_faithful(findings)


def test_the_faithfulness_check_catches_a_broken_grouping(monkeypatch: pytest.MonkeyPatch) -> None:
    """Group by check alone (a difference in the message ignored), or group errors: it fails."""
    warnings = [_warn("crd", "", "not rendered: a/1/x.json"), _warn("crd", "", "not rendered: b/1/y.yaml")]
    errors = [Finding("crd", "", "not rendered: a/1/x.json", "error")] * 2
    _assert_faithful(warnings + errors)
    real = output.finding_lines

    monkeypatch.setattr(output, "group_key", lambda f: ("warning", f.check, ()))
    with pytest.raises(AssertionError):
        _assert_faithful(warnings)
    monkeypatch.undo()

    def errors_as_warnings(findings: list[Finding]) -> list[str]:
        return real([Finding(f.check, f.subject, f.message, "warning") for f in findings])

    monkeypatch.setattr(output, "finding_lines", errors_as_warnings)
    with pytest.raises(AssertionError):
        _assert_faithful(errors)


_PART = st.text(st.sampled_from("ab./-_1"), min_size=1, max_size=8).filter(lambda s: s.strip())


def _expand(text: str) -> set[str]:
    m = re.fullmatch(r"([^{]*)\{(.*)\}([^}]*)", text)
    return {text} if m is None else {m[1] + middle + m[3] for middle in m[2].split(", ")}


@given(st.lists(_PART, min_size=1, max_size=6))
def test_compact_lists_every_value(values: list[str]) -> None:
    assert _expand(compact(values)) == set(values)


def test_grouped_line_of_one_is_the_finding() -> None:
    f = Finding("crd", "s", MISSING.format("p"), "warning")
    assert grouped_line([f]) == str(f)


# ------------------------------------------------------------------ end to end, offline
def test_a_newcomer_offline_sees_grouped_warnings(no_reference: None, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["dev", "--no-write"]) == 0
    out = capsys.readouterr().out
    warnings = [line for line in out.splitlines() if line.startswith("warning: ")]
    assert [line.split("]")[0] for line in warnings] == [
        "warning: [helm-values",
        "warning: [crd",
        "warning: [images",
        "warning: [helm-render",
    ]
    (crd,) = (line for line in warnings if line.startswith("warning: [crd] "))
    assert "SecretStore.airflow.azure-store.yaml (x9): schema not found, NOT validated: reference file" in crd
    assert "external-secrets/2.9.0/crds/{external-secrets.io_externalsecrets.yaml, " in crd
    assert re.search(r"\(0 errors, 15 warnings\)$", out.rstrip())  # the count is of warnings, not of lines

    assert main(["dev", "--no-write", "--json"]) == 0  # --json: every warning, as before
    assert len([w for w in json.loads(capsys.readouterr().out)["warnings"] if w.startswith("[crd]")]) == 9


def test_identical_errors_each_keep_their_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    real = secrets_operator.external_secret_spec

    def wrong(target, data, template=None):
        spec = real(target, data, template)
        spec["refreshInterval"] = 3600  # the same schema error in every ExternalSecret
        return spec

    monkeypatch.setattr(secrets_operator, "external_secret_spec", wrong)
    assert main(["dev", "--no-write"]) == 1
    errors = [line for line in capsys.readouterr().out.splitlines() if line.startswith("error: [crd] ")]
    assert len(errors) == 8
    assert len({line.split(":")[1] for line in errors}) == 8  # eight subjects, eight lines

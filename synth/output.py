"""How `python -m synth` prints: plain text, or the same text coloured with `rich` on a terminal.

Plain (exactly the text, through print()) when stdout is not a terminal or NO_COLOR is set
(https://no-color.org: present and not empty); otherwise rich decides, as rich does
(FORCE_COLOR, TTY_COMPATIBLE, TERM=dumb), and rich is only imported then. Styling never changes
the text: a styled line is the plain line with colour spans (no wrapping, no cropping, no
markup or emoji interpretation), so stripping the escape codes gives back the plain output.

Repeated warnings are grouped (:func:`finding_lines`); errors never are.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from rich.console import Console
    from rich.text import Text


# ------------------------------------------------------------------ grouping warnings
class FindingLike(Protocol):
    @property
    def check(self) -> str: ...
    @property
    def subject(self) -> str: ...
    @property
    def message(self) -> str: ...
    @property
    def severity(self) -> str: ...


# The parts of a warning's message that differ between near-identical warnings: each capturing
# group of each pattern is one varying part (which reference file is missing; which kind in
# which API version has no Kubernetes schema). Everything else in a message must match exactly.
VARYING: tuple[re.Pattern[str], ...] = (
    re.compile(r"reference file (\S+) not found"),
    re.compile(r"no Kubernetes \S+ schema for (\S+ in \S+)"),
)
MAX_SUBJECTS = 10  # a grouped line names at most this many subjects: more are "... and N more"


def split_message(message: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The message's literal segments and, between them, its varying parts (see VARYING):
    ``literals[0] + values[0] + literals[1] + ... + literals[-1] == message``."""
    spans = sorted(
        (m.start(g), m.end(g))
        for pattern in VARYING
        for m in pattern.finditer(message)
        for g in range(1, 1 + pattern.groups)
    )
    literals, values, at = [], [], 0
    for start, end in spans:
        if start < at:  # overlapping matches: the first one wins
            continue
        literals.append(message[at:start])
        values.append(message[start:end])
        at = end
    literals.append(message[at:])
    return tuple(literals), tuple(values)


def group_key(finding: FindingLike) -> tuple[str, str, tuple[str, ...]]:
    """Near-identical warnings share this key: the same severity, the same check and the same
    message once each varying part is abstracted (their subjects may differ)."""
    return finding.severity, finding.check, split_message(finding.message)[0]


def compact(values: Sequence[str]) -> str:
    """Distinct values, sorted, as one: `a` when all are the same, else a brace list with the
    path segments they share factored out: `external-secrets/2.9.0/crds/{a.yaml, b.yaml}`."""
    distinct = sorted(set(values))
    if len(distinct) == 1:
        return distinct[0]
    prefix = _common_start(distinct)
    prefix = prefix[: prefix.rfind("/") + 1]
    suffix = _common_start([v[len(prefix) :][::-1] for v in distinct])[::-1]
    suffix = suffix[suffix.find("/") :] if "/" in suffix else ""
    middles = [v[len(prefix) : len(v) - len(suffix)] for v in distinct]
    if not all(middles):
        prefix, suffix, middles = "", "", distinct
    return f"{prefix}{{{', '.join(middles)}}}{suffix}"


def _common_start(strings: Sequence[str]) -> str:
    """The longest string every one of `strings` starts with (character by character)."""
    first, last = min(strings), max(strings)
    n = 0
    while n < min(len(first), len(last)) and first[n] == last[n]:
        n += 1
    return first[:n]


def grouped_line(findings: Sequence[FindingLike]) -> str:
    """One line for near-identical findings (same group_key): `[check] subjects (xN): message`,
    each varying part of the message the compacted list of its values. One finding: str(it)."""
    first = findings[0]
    if len(findings) == 1:
        return str(first)
    literals, _ = split_message(first.message)
    columns = list(zip(*(split_message(f.message)[1] for f in findings), strict=True))
    message = literals[0] + "".join(compact(col) + lit for col, lit in zip(columns, literals[1:], strict=True))
    subjects = sorted({f.subject for f in findings})
    if len(subjects) > MAX_SUBJECTS:
        subjects = [*subjects[: MAX_SUBJECTS - 1], f"... and {len(subjects) - MAX_SUBJECTS + 1} more"]
    shown = ", ".join(subjects)
    return f"[{first.check}] {shown} (x{len(findings)}): {message}"


def finding_lines(findings: Iterable[FindingLike]) -> list[str]:
    """`warning: ...` lines, near-identical warnings grouped into one line (where the first of
    them was), then `error: ...` lines, one per error: an error is never grouped."""
    groups: dict[tuple[str, str, tuple[str, ...]], list[FindingLike]] = {}
    errors: list[FindingLike] = []
    for f in findings:
        if f.severity == "warning":
            groups.setdefault(group_key(f), []).append(f)
        else:
            errors.append(f)
    return [f"warning: {grouped_line(g)}" for g in groups.values()] + [f"error: {f}" for f in errors]


# ------------------------------------------------------------------ styling
# Per kind of line: (pattern, a style per capturing group). Every pattern is searched in the
# line and each group it matches is styled; the text itself never changes.
_FINDING = [
    (r"^(warning:)", ("bold yellow",)),
    (r"^warning: (\[[^\]]*\])", ("yellow",)),
    (r"^warning: .*?(\(x\d+\))", ("bold yellow",)),
    (r"^(error:) (.*)$", ("bold red", "red")),
]
RULES: Mapping[str, Sequence[tuple[str, tuple[str, ...]]]] = {
    "tree": [(r"^\s*(\+) (\S+) (.+)$", ("bold green", "green", "bold"))],
    "heading": [(r"^([A-Z][^:]*):", ("bold",))],
    "count": [(r"^\s+(\d+)  ", ("cyan",))],
    "release": [
        (r"^  (\S+) (\([^)]*\)):", ("bold", "dim")),
        (r"\): (rendered) ", ("green",)),
        (r"\): (not rendered: .*)$", ("yellow",)),
    ],
    "rbac": [(r"^  (\S+) (\S+?)(?=:| \()", ("dim", "bold")), (r" (->) ", ("dim",))],
    "data": [(r"^  ([a-z][a-z ]*):", ("bold",)), (r"(not for production)", ("yellow",))],
    "violation": [(r"^  - (MANDATORY)", ("bold red",)), (r"^  - (advisory)", ("yellow",))],
    "finding": _FINDING,
    "summary": [
        (r"^synth \S+: (OK)", ("bold green",)),
        (r"^synth \S+: (FAILED)", ("bold red",)),
        (r"\(([1-9]\d* errors?)", ("bold red",)),
        (r"([1-9]\d* warnings?)\)$", ("yellow",)),
    ],
    "plan": [
        (r"^([A-Z][^:(]*)", ("bold",)),
        (r"^  (makespan|critical path) ", ("bold",)),
        (r"^\s+(<-) ", ("dim",)),
    ],
    "diff": [
        (r"^(\+) (create) ", ("bold green", "green")),
        (r"^(-) (delete) ", ("bold red", "red")),
        (r"^(~) (update) ", ("bold yellow", "yellow")),
        (r"^(\+-) (REPLACE) ", ("bold magenta", "bold magenta")),
        (r"(REFUSED)", ("bold red",)),
        (r"^    (forces replacement:)", ("magenta",)),
        (r"^\s{6}(\+) ", ("green",)),
        (r"^\s{6}(-) ", ("red",)),
        (r"^\s{6}(~) ", ("yellow",)),
        (r"^(Summary:)", ("bold",)),
        (r"^(no changes)$", ("dim",)),
        *_FINDING,
    ],
}
_COMPILED = {kind: [(re.compile(p), styles) for p, styles in rules] for kind, rules in RULES.items()}


def styled(line: str, kind: str) -> Text:
    """`line` as a rich Text with the spans its kind's rules give; its plain text is `line`."""
    from rich.text import Text

    text = Text(line, end="")
    for pattern, styles in _COMPILED.get(kind, []):
        for m in pattern.finditer(line):
            for group, style in enumerate(styles, start=1):
                if m.start(group) >= 0:
                    text.stylize(style, m.start(group), m.end(group))
    return text


def terminal_console(environ: Mapping[str, str] | None = None) -> Console | None:
    """A rich Console for stdout when rich would colour it, else None (print plain); rich is
    not imported when stdout is plainly not a terminal."""
    env = os.environ if environ is None else environ
    if env.get("NO_COLOR"):
        return None
    isatty = getattr(sys.stdout, "isatty", None)
    try:
        tty = bool(isatty and isatty())
    except ValueError:  # a closed stream
        tty = False
    if not tty and "FORCE_COLOR" not in env and env.get("TTY_COMPATIBLE") != "1":
        return None
    from rich.console import Console

    console = Console(highlight=False, markup=False, emoji=False, soft_wrap=True, _environ=environ)
    # not a terminal to rich (FORCE_COLOR="", TTY_COMPATIBLE=0, Jupyter), or a dumb one: plain
    return console if console.is_terminal and console.color_system is not None else None


class Printer:
    """print() for synth's report: `out(text, kind)` prints each line of `text`, styled by the
    rules of `kind` when the console is a colour terminal, else exactly as print(text) would."""

    def __init__(self, console: Console | None = None, *, auto: bool = True) -> None:
        self.console = console if console is not None or not auto else terminal_console()

    @property
    def coloured(self) -> bool:
        return self.console is not None

    def __call__(self, text: str = "", kind: str = "") -> None:
        if self.console is None:
            print(text)
            return
        for line in text.split("\n"):
            self.console.print(styled(line, kind), soft_wrap=True, highlight=False)

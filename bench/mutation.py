"""Mutation testing of the product code: would the test suite notice a small, wrong change?

    .venv/bin/python bench/mutation.py [--sample N --seed S] [--file PATH ...] [--list]
        [--jobs 2] [--timeout 300] [--no-full-for-survivors] [--json OUT] [--min-score X]
        [--tree DIR | --rev REV] [--no-baseline] [--messages] [--rerun OLD.json]

Our own driver: the standard library, plus the project's interpreter running pytest.

Snapshot. The project is copied to a temporary folder from the COMMITTED tree
(``git archive REV | tar -x``, REV defaults to HEAD; read-only git), or from ``--tree DIR``,
and committed there as a one-commit repository of its own (a clone is a repository, and
``synth --diff`` asks git for revisions).
Every job gets its own copy; mutants are generated from and applied to those copies only, so
the working tree is never touched. ``.venv`` is symlinked into the copy, tests run with this
interpreter, ``PYTHONDONTWRITEBYTECODE=1`` (no stale ``.pyc`` of a mutated file), and
``AIRFLOW_AKS_REFERENCE_DIR`` defaults to ``../shared/reference`` beside the project.

Mutants. Product code only: ``components/*.py``, ``config/*.py``, ``plan.py``, ``profiles.py``,
``policy/rules.py``, ``policy/kube.py`` (``--file PATH`` restricts to some files, or names any
Python file of the tree). Each mutant is ONE change to ONE AST node, applied as an exact
replacement of that node's source segment (line/column offsets), so the rest of the file is
byte-for-byte the same; every mutant is re-parsed and checked to differ from the original AST
in exactly that node, or it is dropped. Operators:

    string   a string constant gets an "x" appended ("" -> "x"); an f-string gets an "x"
             before its closing quote
    bool     True <-> False
    number   an int or float constant + 1
    boolop   and <-> or
    compare  one comparison operator flipped: == <-> !=, < <-> <=, > <-> >=, in <-> not in,
             is <-> is not
    keyword  one keyword argument removed from a call
    not      not x -> x
    return   the returned value replaced by None, in functions of at most
             SMALL_FUNCTION_LINES lines (not generators)

Never mutated: docstrings and other bare string statements, annotations, ``if TYPE_CHECKING``
blocks, ``__all__``, the inside of f-strings, ``assert`` messages, and messages: the arguments
of exception constructors (anything under ``raise``), of logging/``print``/``warn`` calls, the
message of ``Problem`` and ``Violation``, a ``Policy``'s rationale, ``message=``/``msg=``
keywords, and the type argument of ``cast``/``TypeVar``; and strings that read as prose (4+
words, mostly lowercase ones; an f-string by its literal text: messages built away from a
``raise``), unless ``--messages``.

Sampling. ``--sample N --seed S`` is deterministic: every file gets a floor of
``max(1, N // (4 * files))`` mutants (or all it has), the rest is spread in proportion to each
file's remaining mutants (largest remainder), and each file's share is drawn with its own
``random.Random(f"{seed}:{file}")``. Without ``--sample``, every mutant runs. ``--list`` prints
the mutants without running them.

Running. First the unmutated copy runs the whole suite once (``--no-baseline`` skips it): it
must pass, and its per-file durations order the test files and scale the timeouts. For each
mutant, in a job's copy: write it, run the RELEVANT tests, restore the file. Relevant tests come
from the test tree's static import graph (imports inside functions included): a test file is
relevant to a module it imports directly or transitively; a test that runs the whole program
(the ``dev_run``/``prod_run`` fixtures, ``run_stack``, ``synth.__main__``, ``runpy``,
``python -m synth``) is relevant to everything ``__main__.py`` and ``synth/__main__.py`` import;
a test that names the module's path is relevant too. They run as ``pytest -x -q -p
no:cacheprovider``, each step only if the mutant is still alive, fastest files first within a
step: the mirror tests (``tests/<dir>/test_<name>*.py``, else the relevant tests in
``tests/<dir>/``), then the other tests that import the module (themselves or through a
``tests/`` helper), then those that reach it transitively. A mutant that survives them is run
against every other test file (``--full-for-survivors``, default on), so a reported survivor
has passed the whole suite; the map only decides how soon a mutant dies. Any pytest failure
(a failing test, a collection or import error, a crash) kills the mutant; "no tests
collected" does not.
``--timeout`` (300 s) bounds each pytest run, raised to 3x the baseline time of the files it
runs (without the baseline, give a ``--timeout`` above the whole suite's time on a loaded
machine); a timeout counts as killed and is reported separately.

Rerun. ``--rerun OLD.json`` runs only the survivors of an earlier run, found again by file,
operator and source text (lines may have moved): the check that new tests kill them.

Output. A progress line per mutant, then ``killed/total = x%``, counts by operator and by file,
and every survivor with file:line, the operator, and the original and mutated source.
``--json OUT`` writes everything. The exit code is 0, or 1 when ``--min-score X`` is not met
(2: bad usage, or the unmutated tree fails its own tests).
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import copy
import json
import os
import queue
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PRODUCT = ("components/*.py", "config/*.py", "plan.py", "profiles.py", "policy/rules.py", "policy/kube.py")
TESTS = "tests"
# Modules whose import closure is "the whole program" (the stack and the synth that runs it).
ENTRY_MODULES = ("__main__", "synth.__main__")
# A test file that matches runs the whole program, whatever it imports.
WHOLE_PROGRAM = re.compile(
    r"\b(dev_run|prod_run|run_stack)\b|synth\.__main__|\brunpy\b|__main__\.py|['\"]-m['\"],\s*['\"]synth['\"]"
)
COPY_IGNORE = (
    ".git",
    ".venv",
    ".venv-*",
    "build",
    "__pycache__",
    "*.pyc",
    ".mypy_cache",
    ".pytest_cache",
    ".ruff_cache",
    ".hypothesis",
)
SMALL_FUNCTION_LINES = 20
DEFAULT_TIMEOUT = 300.0
TIMEOUT_FACTOR = 3.0
BASELINE_TIMEOUT = 3600.0

# Calls whose arguments are only a message.
LOGGERS = frozenset({"log", "logger", "logging", "_log", "_logger", "LOG", "LOGGER", "warnings"})
LOG_METHODS = frozenset({"debug", "info", "warn", "warning", "error", "exception", "critical", "log"})
PRINTERS = frozenset({"print", "warn"})
EXCEPTION_SUFFIXES = ("Error", "Exception", "Warning")
# callee -> (position, keyword) of its message argument
MESSAGE_ARGS = {"Problem": (2, "message"), "Violation": (2, "message"), "Policy": (1, "rationale")}
MESSAGE_KEYWORDS = frozenset({"message", "msg", "rationale"})
TYPING_CALLS = frozenset({"cast", "TypeVar", "NewType", "ParamSpec", "TypeVarTuple"})
# Prose (a message, not a name or a pattern): 4+ words, 3+ of them lowercase words, half or more.
WORD = re.compile(r"^[a-z]{2,}[,;:.)]?$")

FLIPPED: dict[type[ast.cmpop], tuple[type[ast.cmpop], str]] = {
    ast.Eq: (ast.NotEq, "!="),
    ast.NotEq: (ast.Eq, "=="),
    ast.Lt: (ast.LtE, "<="),
    ast.LtE: (ast.Lt, "<"),
    ast.Gt: (ast.GtE, ">="),
    ast.GtE: (ast.Gt, ">"),
    ast.In: (ast.NotIn, "not in"),
    ast.NotIn: (ast.In, "in"),
    ast.Is: (ast.IsNot, "is not"),
    ast.IsNot: (ast.Is, "is"),
}
OPERATOR_TEXT: dict[type[ast.cmpop], str] = {
    ast.Eq: r"==",
    ast.NotEq: r"!=",
    ast.Lt: r"<(?![<=])",
    ast.LtE: r"<=",
    ast.Gt: r">(?![>=])",
    ast.GtE: r">=",
    ast.In: r"(?<![\w.])in\b",
    ast.NotIn: r"(?<![\w.])not\s+in\b",
    ast.Is: r"(?<![\w.])is\b",
    ast.IsNot: r"(?<![\w.])is\s+not\b",
}
# Operands that need no parentheses wherever the `not` they lose stood.
ATOMIC = (ast.Name, ast.Attribute, ast.Call, ast.Subscript, ast.Constant, ast.List, ast.Dict, ast.Set, ast.JoinedStr)

NodePath = tuple[tuple[str, int | None], ...]


# ------------------------------------------------------------------------------------ mutants
@dataclass(frozen=True)
class Mutant:
    file: str  # path inside the project, POSIX
    line: int  # 1-based line of the change
    col: int  # 0-based character column of the change
    operator: str
    detail: str  # what changed, e.g. "'==' -> '!='"
    start: int  # character offsets of the replaced text in the file
    end: int
    replacement: str
    original: str  # the source line(s) the change touches
    mutated: str  # the same line(s) after it

    @property
    def id(self) -> str:
        return f"{self.file}:{self.line}:{self.col}:{self.operator}:{self.detail}"

    def apply(self, source: str) -> str:
        return source[: self.start] + self.replacement + source[self.end :]


@dataclass(frozen=True)
class _Candidate:
    path: NodePath  # the node that changes
    expected: ast.AST  # that node after the change
    start: int
    end: int
    replacement: str
    operator: str
    detail: str


class _Source:
    """Offsets of a source text: AST columns are UTF-8 byte offsets, slicing needs characters."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.lines = text.split("\n")
        self.starts = [0]
        for line in self.lines:
            self.starts.append(self.starts[-1] + len(line) + 1)

    def offset(self, lineno: int, col: int) -> int:
        line = self.lines[lineno - 1]
        return self.starts[lineno - 1] + len(line.encode()[:col].decode(errors="replace"))

    def start(self, node: ast.AST) -> int:
        return self.offset(node.lineno, node.col_offset)  # type: ignore[attr-defined]

    def end(self, node: ast.AST) -> int:
        return self.offset(node.end_lineno, node.end_col_offset)  # type: ignore[attr-defined]

    def line_of(self, offset: int) -> int:
        lo, hi = 0, len(self.starts) - 1
        while lo < hi:  # the last start <= offset
            mid = (lo + hi + 1) // 2
            if self.starts[mid] <= offset:
                lo = mid
            else:
                hi = mid - 1
        return lo + 1


def _name(node: ast.AST) -> str:
    """The last name of a callee or receiver: `pulumi.log.warn` -> `warn`."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return ""


def _is_type_checking(test: ast.AST) -> bool:
    return _name(test) == "TYPE_CHECKING"


def _is_main_guard(test: ast.AST) -> bool:
    return (
        isinstance(test, ast.Compare)
        and isinstance(test.left, ast.Name)
        and test.left.id == "__name__"
        and any(isinstance(c, ast.Constant) and c.value == "__main__" for c in test.comparators)
    )


def _is_bare_string(node: ast.AST) -> bool:
    """A docstring, or any other string used as a statement."""
    return isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant | ast.JoinedStr)


def _targets(node: ast.AST) -> list[ast.expr]:
    if isinstance(node, ast.Assign):
        return node.targets
    if isinstance(node, ast.AnnAssign | ast.AugAssign):
        return [node.target]
    return []


def _message_call(call: ast.Call) -> bool:
    """Every argument of this call is a message: an exception, a log line, a print."""
    name = _name(call.func)
    if name.endswith(EXCEPTION_SUFFIXES) or (isinstance(call.func, ast.Name) and name in PRINTERS):
        return True
    return isinstance(call.func, ast.Attribute) and name in LOG_METHODS and _name(call.func.value) in LOGGERS


def _skips(parent: ast.AST, name: str, index: int | None, child: ast.AST) -> bool:
    """Whether `child` (field `name` of `parent`) and everything under it stays unmutated."""
    if name in ("annotation", "returns"):
        return True
    if isinstance(parent, ast.JoinedStr) or _is_bare_string(child):
        return True
    guard = isinstance(parent, ast.If) and (_is_type_checking(parent.test) or _is_main_guard(parent.test))
    if guard and name in ("test", "body"):
        return True
    if any(isinstance(t, ast.Name) and t.id == "__all__" for t in _targets(parent)):
        return True
    if isinstance(parent, ast.Assert) and name == "msg":
        return True
    if isinstance(parent, ast.Raise) and name == "exc":
        return True
    if isinstance(parent, ast.Call) and name in ("args", "keywords"):
        if _message_call(parent):
            return True
        callee = _name(parent.func)
        if name == "keywords":
            assert isinstance(child, ast.keyword)
            return child.arg in MESSAGE_KEYWORDS or (callee in MESSAGE_ARGS and child.arg == MESSAGE_ARGS[callee][1])
        if callee in MESSAGE_ARGS and index == MESSAGE_ARGS[callee][0]:
            return True
        if callee in TYPING_CALLS and index == 0:
            return True
    return False


def looks_like_prose(text: str) -> bool:
    tokens = text.split()
    words = sum(bool(WORD.match(t)) for t in tokens)
    return len(tokens) >= 4 and words >= 3 and 2 * words >= len(tokens)


def _mask_comments(text: str) -> str:
    return re.sub(r"#[^\n]*", lambda m: " " * len(m.group()), text)


def _is_generator(func: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    stack: list[ast.AST] = list(func.body)
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Yield | ast.YieldFrom):
            return True
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda | ast.ClassDef):
            stack.extend(ast.iter_child_nodes(node))
    return False


class _Collector:
    """Every candidate change of one module, in source order."""

    def __init__(self, text: str, messages: bool = False) -> None:
        self.messages = messages  # mutate prose strings too
        self.src = _Source(text)
        self.tree: ast.Module = ast.parse(text)
        self.found: list[_Candidate] = []

    def collect(self) -> list[_Candidate]:
        self._visit(self.tree, (), False, None)
        return self.found

    def _visit(
        self, node: ast.AST, path: NodePath, skip: bool, func: ast.FunctionDef | ast.AsyncFunctionDef | None
    ) -> None:
        if not skip:
            self._mutate(node, path, func)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            func = node
        for name, value in ast.iter_fields(node):
            children = list(enumerate(value)) if isinstance(value, list) else [(None, value)]
            for index, child in children:
                if isinstance(child, ast.AST):
                    child_skip = skip or _skips(node, name, index, child)
                    self._visit(child, (*path, (name, index)), child_skip, func)

    def _add(self, path: NodePath, expected: ast.AST, start: int, end: int, text: str, op: str, detail: str) -> None:
        self.found.append(_Candidate(path, expected, start, end, text, op, detail))

    def _mutate(self, node: ast.AST, path: NodePath, func: ast.FunctionDef | ast.AsyncFunctionDef | None) -> None:
        src = self.src
        if isinstance(node, ast.Constant):
            value = node.value
            if isinstance(value, bool):
                new_bool = not value
                detail = f"{value!r} -> {new_bool!r}"
                self._add(path, ast.Constant(new_bool), src.start(node), src.end(node), repr(new_bool), "bool", detail)
            elif isinstance(value, int | float):
                new_number = value + 1
                detail = f"{value!r} -> {new_number!r}"
                self._add(
                    path, ast.Constant(new_number), src.start(node), src.end(node), repr(new_number), "number", detail
                )
            elif isinstance(value, str) and (self.messages or not looks_like_prose(value)):
                new_text = value + "x"
                detail = f"{_short(value)} -> {_short(new_text)}"
                start, end = src.start(node), src.end(node)
                literal = repr(new_text)
                if src.text.startswith('"', start) and literal.startswith("'") and '"' not in new_text:
                    literal = f'"{literal[1:-1]}"'  # the file's quotes (repr escapes no quote here)
                self._add(path, ast.Constant(new_text), start, end, literal, "string", detail)
        elif isinstance(node, ast.JoinedStr):
            self._fstring(node, path)
        elif isinstance(node, ast.BoolOp):
            self._boolop(node, path)
        elif isinstance(node, ast.Compare):
            self._compare(node, path)
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            operand = src.text[src.start(node.operand) : src.end(node.operand)]
            if not isinstance(node.operand, ATOMIC):
                operand = f"({operand})"
            self._add(path, node.operand, src.start(node), src.end(node), operand, "not", "not x -> x")
        elif isinstance(node, ast.Call):
            self._keywords(node, path)
        elif isinstance(node, ast.Return) and node.value is not None and func is not None:
            self._return(node, path, func)

    def _fstring(self, node: ast.JoinedStr, path: NodePath) -> None:
        start, end = self.src.start(node), self.src.end(node)
        text = self.src.text[start:end]
        quote = next((q for q in ('"""', "'''", '"', "'") if text.endswith(q)), None)
        # an f-string reads as prose by its literal text, the placeholders left out
        literal = " ".join(v.value for v in node.values if isinstance(v, ast.Constant) and isinstance(v.value, str))
        if quote is None or (not self.messages and looks_like_prose(literal)):
            return
        expected = copy.copy(node)
        values = list(node.values)
        last = values[-1] if values else None
        if isinstance(last, ast.Constant) and isinstance(last.value, str):
            values[-1] = ast.Constant(last.value + "x")
        else:
            values.append(ast.Constant("x"))
        expected.values = values
        self._add(path, expected, start, end, text[: -len(quote)] + "x" + quote, "string", "f-string + 'x'")

    def _boolop(self, node: ast.BoolOp, path: NodePath) -> None:
        src = self.src
        old, new, new_op = ("and", "or", ast.Or()) if isinstance(node.op, ast.And) else ("or", "and", ast.And())
        start, end = src.start(node), src.end(node)
        pieces: list[str] = []
        cursor = start
        for left, right in zip(node.values, node.values[1:], strict=False):
            gap_start, gap_end = src.end(left), src.start(right)
            found = re.search(rf"\b{old}\b", _mask_comments(src.text[gap_start:gap_end]))
            if found is None:
                return
            pieces += [src.text[cursor : gap_start + found.start()], new]
            cursor = gap_start + found.end()
        pieces.append(src.text[cursor:end])
        expected = copy.copy(node)
        expected.op = new_op
        self._add(path, expected, start, end, "".join(pieces), "boolop", f"{old} -> {new}")

    def _compare(self, node: ast.Compare, path: NodePath) -> None:
        src = self.src
        operands = [node.left, *node.comparators]
        for i, op in enumerate(node.ops):
            flipped = FLIPPED.get(type(op))
            if flipped is None:
                continue
            gap_start, gap_end = src.end(operands[i]), src.start(operands[i + 1])
            found = re.search(OPERATOR_TEXT[type(op)], _mask_comments(src.text[gap_start:gap_end]))
            if found is None:
                continue
            new_type, new_text = flipped
            expected = copy.copy(node)
            expected.ops = [new_type() if j == i else o for j, o in enumerate(node.ops)]
            old_text = " ".join(found.group().split())
            self._add(
                path,
                expected,
                gap_start + found.start(),
                gap_start + found.end(),
                new_text,
                "compare",
                f"{old_text!r} -> {new_text!r}",
            )

    def _keywords(self, node: ast.Call, path: NodePath) -> None:
        src = self.src
        items: list[ast.AST] = sorted([*node.args, *node.keywords], key=lambda n: (n.lineno, n.col_offset))  # type: ignore[attr-defined]
        for k, item in enumerate(items):
            if not isinstance(item, ast.keyword) or item.arg is None:
                continue
            if k + 1 < len(items):  # `kw=v, next` -> `next`
                start, end = src.start(item), src.start(items[k + 1])
            elif k > 0:  # `prev, kw=v` -> `prev`
                start, end = src.end(items[k - 1]), src.end(item)
            else:  # the only argument, maybe with a trailing comma
                start, end = src.start(item), src.end(item)
                after = re.match(r"\s*,", src.text[end:])
                if after:
                    end += after.end()
            expected = copy.copy(node)
            expected.keywords = [kw for kw in node.keywords if kw is not item]
            self._add(path, expected, start, end, "", "keyword", f"drop {item.arg}=")

    def _return(self, node: ast.Return, path: NodePath, func: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        value = node.value
        assert value is not None
        if isinstance(value, ast.Constant) and value.value is None:
            return
        if isinstance(func.returns, ast.Constant) and func.returns.value is None:
            return
        if (func.end_lineno or func.lineno) - func.lineno + 1 > SMALL_FUNCTION_LINES or _is_generator(func):
            return
        src = self.src
        expected = ast.Return(value=ast.Constant(None))
        self._add(path, expected, src.start(value), src.end(value), "None", "return", "return None")


def _short(value: str, limit: int = 40) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 4] + "...'"


def node_at(tree: ast.AST, path: NodePath) -> Any:
    node: Any = tree
    for name, index in path:
        node = getattr(node, name)
        if index is not None:
            node = node[index]
    return node


def ast_diff(a: Any, b: Any, path: NodePath = ()) -> list[NodePath]:
    """The paths of the smallest nodes where two trees differ (positions ignored): a node whose
    own values or list lengths differ is one difference, whatever is under it."""
    if type(a) is not type(b):
        return [path]
    if not isinstance(a, ast.AST):
        return [] if a == b else [path]
    diffs: list[NodePath] = []
    for name in a._fields:
        x, y = getattr(a, name, None), getattr(b, name, None)
        if isinstance(x, list) and isinstance(y, list):
            if len(x) != len(y):
                return [path]
            for i, (p, q) in enumerate(zip(x, y, strict=True)):
                diffs += ast_diff(p, q, (*path, (name, i)))
        elif isinstance(x, ast.AST) or isinstance(y, ast.AST):
            diffs += ast_diff(x, y, (*path, (name, None)))
        elif type(x) is not type(y) or x != y:
            return [path]
    return diffs


def _lines(text: str, start: int, end: int) -> str:
    """The whole lines of `text` that hold [start, end)."""
    first = text.rfind("\n", 0, start) + 1
    last = text.find("\n", max(end - 1, start))
    return text[first : len(text) if last < 0 else last]


def _region(tree: ast.Module, src: _Source, index: int) -> tuple[int, int] | None:
    """Character offsets of the whole lines of top-level statement `index` (decorators
    included), or None when another statement shares one of those lines."""
    stmt = tree.body[index]
    first = min([stmt.lineno] + [d.lineno for d in getattr(stmt, "decorator_list", [])])
    last = stmt.end_lineno or stmt.lineno
    for other in tree.body[index - 1 : index] + tree.body[index + 1 : index + 2]:
        if first <= (other.end_lineno or other.lineno) and other.lineno <= last:
            return None
    return src.starts[first - 1], src.starts[last] - 1


def _changed_as_intended(before: ast.AST, after: ast.AST, path: NodePath, expected: ast.AST) -> bool:
    diffs = ast_diff(before, after)
    return len(diffs) == 1 and diffs[0][: len(path)] == path and ast.dump(node_at(after, path)) == ast.dump(expected)


def _verified(rel: str, text: str, tree: ast.Module, src: _Source, cand: _Candidate) -> Mutant | None:
    """The candidate as a mutant, if its text parses to the original tree changed in exactly
    its node, as intended. Only the top-level statement holding the change is re-parsed: the
    text around it is untouched, and a statement that parses alone on whole lines cannot
    change how the rest of the file parses."""
    mutated_text = text[: cand.start] + cand.replacement + text[cand.end :]
    (field_name, index), inner = cand.path[0], cand.path[1:]
    region = _region(tree, src, index) if field_name == "body" and index is not None else None
    try:
        if region is None:  # the slow, whole-file check
            if not _changed_as_intended(tree, ast.parse(mutated_text), cand.path, cand.expected):
                return None
        else:
            lo, hi = region
            part = text[lo : cand.start] + cand.replacement + text[cand.end : hi]
            body = ast.parse(part).body
            if len(body) != 1 or not _changed_as_intended(tree.body[index], body[0], inner, cand.expected):  # type: ignore[index]
                return None
    except SyntaxError:
        return None
    line = src.line_of(cand.start)
    shift = len(cand.replacement) - (cand.end - cand.start)
    return Mutant(
        file=rel,
        line=line,
        col=cand.start - src.starts[line - 1],
        operator=cand.operator,
        detail=cand.detail,
        start=cand.start,
        end=cand.end,
        replacement=cand.replacement,
        original=_lines(text, cand.start, cand.end),
        mutated=_lines(mutated_text, cand.start, cand.end + shift),
    )


def mutants_of(rel: str, text: str, messages: bool = False) -> tuple[list[Mutant], int]:
    """Every mutant of one module, and how many candidates failed verification (dropped)."""
    collector = _Collector(text, messages)
    candidates = collector.collect()
    found: dict[str, Mutant] = {}
    dropped = 0
    for cand in candidates:
        mutant = _verified(rel, text, collector.tree, collector.src, cand)
        if mutant is None:
            dropped += 1
        else:
            found.setdefault(mutant.id, mutant)
    return sorted(found.values(), key=lambda m: (m.start, m.operator, m.detail)), dropped


def product_files(root: Path, only: Sequence[str] = ()) -> list[str]:
    if only:
        missing = [f for f in only if not (root / f).is_file()]
        if missing:
            raise SystemExit(f"mutation: no such file in the tree: {', '.join(missing)}")
        return sorted({Path(f).as_posix() for f in only})
    files = {p.relative_to(root).as_posix() for pattern in PRODUCT for p in root.glob(pattern)}
    return sorted(files)


def generate(root: Path, files: Sequence[str], messages: bool = False) -> tuple[list[Mutant], int]:
    mutants: list[Mutant] = []
    dropped = 0
    for rel in files:
        found, lost = mutants_of(rel, (root / rel).read_text(encoding="utf-8"), messages)
        mutants += found
        dropped += lost
    return mutants, dropped


def sample(mutants: Sequence[Mutant], n: int | None, seed: int) -> list[Mutant]:
    """`n` mutants spread over the files (floor per file, the rest proportional), deterministic
    for a seed; all of them when `n` is None or not smaller."""
    if n is None or n >= len(mutants):
        return list(mutants)
    by_file: dict[str, list[Mutant]] = defaultdict(list)
    for m in mutants:
        by_file[m.file].append(m)
    files = sorted(by_file)
    floor = max(1, n // (4 * len(files)))
    quota = {f: min(floor, len(by_file[f])) for f in files}
    if sum(quota.values()) > n:  # fewer mutants than files: one each from the biggest files
        biggest = sorted(files, key=lambda f: (-len(by_file[f]), f))[:n]
        quota = {f: int(f in biggest) for f in files}
    remaining = n - sum(quota.values())
    spare = {f: len(by_file[f]) - quota[f] for f in files}
    total_spare = sum(spare.values())
    if remaining and total_spare:
        shares = {f: remaining * spare[f] / total_spare for f in files}
        for f in files:
            quota[f] += int(shares[f])
        leftover = remaining - sum(int(s) for s in shares.values())
        for f in sorted(files, key=lambda f: (-(shares[f] - int(shares[f])), f)):
            if leftover <= 0:
                break
            if quota[f] < len(by_file[f]):
                quota[f] += 1
                leftover -= 1
    picked: list[Mutant] = []
    for f in files:
        rng = random.Random(f"{seed}:{f}")  # noqa: S311 - sampling, not security
        picked += sorted(rng.sample(by_file[f], quota[f]), key=lambda m: (m.start, m.operator, m.detail))
    return picked


def _identity(file: str, operator: str, original: str, mutated: str) -> tuple[str, ...]:
    """What a mutant is, whatever line it has moved to: its file, operator and text."""
    return file, operator, original.strip(), mutated.strip()


def rerun(mutants: Sequence[Mutant], previous: Path) -> list[Mutant]:
    """The mutants that survived an earlier run (its --json), found again by their text;
    one whose code has changed since is reported and left out."""
    data = json.loads(previous.read_text(encoding="utf-8"))
    wanted = [r for r in data["results"] if r["status"] == "survived"]
    current: dict[tuple[str, ...], list[Mutant]] = defaultdict(list)
    for m in mutants:
        current[_identity(m.file, m.operator, m.original, m.mutated)].append(m)
    found: list[Mutant] = []
    for r in wanted:
        same = current.get(_identity(r["file"], r["operator"], r["original"], r["mutated"]), [])
        # the same text twice in a file: the one nearest the line it had
        mutant = min(same, key=lambda m: (abs(m.line - r["line"]), m.line), default=None)
        if mutant is None:
            print(f"mutation: {r['file']}:{r['line']} {r['operator']} {r['detail']}: that code has changed, not rerun")
        elif mutant not in found:
            found.append(mutant)
    return found


# --------------------------------------------------------------------------- which tests run
def _module_name(rel: Path) -> str:
    parts = list(rel.with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def python_files(root: Path) -> list[Path]:
    out = []
    for path in root.rglob("*.py"):
        rel = path.relative_to(root)
        if any(part.startswith(".") or part in ("build", "__pycache__") for part in rel.parts[:-1]):
            continue
        out.append(rel)
    return sorted(out)


def _runtime_imports(tree: ast.Module) -> Iterator[ast.Import | ast.ImportFrom]:
    """Every import that can execute: nested ones included, `if TYPE_CHECKING` ones not."""
    stack: list[ast.AST] = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        elif isinstance(node, ast.If) and _is_type_checking(node.test):
            stack.extend(node.orelse)
        else:
            stack.extend(ast.iter_child_nodes(node))


class TestMap:
    """Which test files may notice a change to which module, from the static import graph."""

    def __init__(self, root: Path) -> None:
        self.root = root
        files = python_files(root)
        self.modules = {_module_name(rel): rel for rel in files}
        self.texts = {rel: (root / rel).read_text(encoding="utf-8") for rel in files}
        self.imports = {_module_name(rel): self._imports_of(rel) for rel in files}
        self.tests = sorted(
            rel.as_posix()
            for rel in files
            if rel.parts[0] == TESTS and (rel.name.startswith("test_") or rel.name.endswith("_test.py"))
        )
        whole: set[str] = set()
        for entry in ENTRY_MODULES:
            if entry in self.modules:
                whole |= self.closure(entry)
        self.reach: dict[str, set[str]] = {}
        self.near: dict[str, set[str]] = {}  # imported by the test itself or by a tests/ helper it imports
        for test in self.tests:
            name = _module_name(Path(test))
            near = set(self.imports[name])
            near |= {m for helper in near if helper.split(".")[0] == TESTS for m in self.imports[helper]}
            self.near[test] = near
            reach = self.closure(name)
            if WHOLE_PROGRAM.search(self.texts[Path(test)]):
                reach |= whole
            # a conftest's module-level imports run for every test below it
            for parent in Path(test).parents:
                conftest = _module_name(parent / "conftest.py")
                if conftest in self.modules:
                    reach |= self.closure(conftest, top_level_only=True)
            self.reach[test] = reach

    def _imports_of(self, rel: Path, top_level_only: bool = False) -> set[str]:
        try:
            tree = ast.parse(self.texts[rel])
        except SyntaxError:
            return set()
        package = (
            _module_name(rel) if rel.name == "__init__.py" else _module_name(rel.parent / "x.py").rpartition(".")[0]
        )
        nodes: Iterable[ast.AST] = tree.body if top_level_only else _runtime_imports(tree)
        found: set[str] = set()
        for node in nodes:
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".") if package else []
                    anchor = anchor[: len(anchor) - (node.level - 1)] if node.level > 1 else anchor
                    base = ".".join([*anchor, *([node.module] if node.module else [])])
                names = [base, *(f"{base}.{alias.name}" if base else alias.name for alias in node.names)]
            for name in names:
                parts = name.split(".")
                found.update(".".join(parts[:i]) for i in range(1, len(parts) + 1))
        return {name for name in found if name in self.modules}

    def closure(self, module: str, top_level_only: bool = False) -> set[str]:
        first = self._imports_of(self.modules[module], top_level_only) if top_level_only else self.imports[module]
        seen = {module}
        todo = list(first)
        while todo:
            name = todo.pop()
            if name not in seen:
                seen.add(name)
                todo.extend(self.imports.get(name, ()))
        return seen

    def relevant(self, rel: str) -> tuple[list[str], list[str], list[str]]:
        """The relevant tests of a module in three groups, each sorted by path: the mirror tests,
        the others that import it (or name its path), the others that reach it transitively."""
        module = _module_name(Path(rel))
        tests = {t for t in self.tests if module in self.reach[t] or rel in self.texts[Path(t)]}
        parent = Path(rel).parent
        mirror_dir = Path(TESTS, *parent.parts).as_posix()
        stem = Path(rel).stem
        mirror = {
            t for t in self.tests if Path(t).parent.as_posix() == mirror_dir and Path(t).stem.startswith(f"test_{stem}")
        }
        if not mirror and parent.parts:
            mirror = {t for t in tests if Path(t).parent.as_posix() == mirror_dir}
        near = {t for t in tests - mirror if module in self.near[t] or rel in self.texts[Path(t)]}
        return sorted(mirror), sorted(near), sorted(tests - mirror - near)


# ------------------------------------------------------------------------------------ running
@dataclass
class Run:
    stage: str  # "mirror", "importers", "transitive" or "full"
    files: int
    exit_code: int | None  # None: timed out
    seconds: float
    failed: str | None = None  # the first FAILED/ERROR line's test


@dataclass
class Result:
    mutant: Mutant
    status: str  # "killed", "timeout" or "survived"
    seconds: float
    runs: list[Run] = field(default_factory=list)

    @property
    def killed_by(self) -> str | None:
        return next((r.failed or r.stage for r in self.runs if r.exit_code not in (0, 5)), None)

    def to_json(self) -> dict[str, Any]:
        data = {k: v for k, v in asdict(self.mutant).items() if k not in ("start", "end", "replacement")}
        return {
            "id": self.mutant.id,
            **data,
            "status": self.status,
            "killed_by": self.killed_by,
            "seconds": round(self.seconds, 2),
            "runs": [asdict(r) for r in self.runs],
        }


class Runner:
    """Runs pytest in the job copies; kills a run's whole process group on timeout or interrupt."""

    def __init__(self, python: str, env: dict[str, str], timeout: float) -> None:
        self.python = python
        self.env = env
        self.timeout = timeout
        self.durations: dict[str, float] = {}  # test file -> seconds, from the baseline
        self.stopping = threading.Event()
        self._running: set[subprocess.Popen[str]] = set()
        self._lock = threading.Lock()

    def pytest(
        self, cwd: Path, files: Sequence[str], extra: Sequence[str] = (), limit: float | None = None
    ) -> tuple[int | None, str, float]:
        """(exit code or None on timeout, output, seconds) of one pytest run."""
        if limit is None:
            limit = max(self.timeout, TIMEOUT_FACTOR * sum(self.durations.get(f, 0.0) for f in files))
        cmd = [self.python, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", "-rfE", *extra, *files]
        start = time.perf_counter()
        proc = subprocess.Popen(  # noqa: S603 - our interpreter, pytest, our file list
            cmd,
            cwd=cwd,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        with self._lock:
            self._running.add(proc)
        try:
            out, _ = proc.communicate(timeout=limit)
            code: int | None = proc.returncode
        except subprocess.TimeoutExpired:
            self._kill(proc)
            out, _ = proc.communicate()
            code = None
        finally:
            with self._lock:
                self._running.discard(proc)
        if self.stopping.is_set() and code is not None and code < 0:
            raise KeyboardInterrupt
        return code, out, time.perf_counter() - start

    @staticmethod
    def _kill(proc: subprocess.Popen[str]) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)

    def stop(self) -> None:
        self.stopping.set()
        with self._lock:
            for proc in list(self._running):
                self._kill(proc)


def _failed_test(output: str) -> str | None:
    found = re.search(r"^(?:FAILED|ERROR) (\S+)", output, re.MULTILINE)
    return found.group(1) if found else None


def _order(files: Iterable[str], durations: dict[str, float], root: Path) -> list[str]:
    """Fastest first: baseline durations when known, else file size."""
    return sorted(files, key=lambda f: (durations.get(f, (root / f).stat().st_size / 1e6), f))


def run_mutant(mutant: Mutant, workdir: Path, original: str, tests: TestMap, runner: Runner, full: bool) -> Result:
    mirror, near, far = tests.relevant(mutant.file)
    ran = {*mirror, *near, *far}
    rest = [t for t in tests.tests if t not in ran]
    stages = [("mirror", mirror), ("importers", near), ("transitive", far)] + ([("full", rest)] if full else [])
    stages = [(stage, _order(files, runner.durations, workdir)) for stage, files in stages]
    target = workdir / mutant.file
    result = Result(mutant, "survived", 0.0)
    start = time.perf_counter()
    target.write_text(mutant.apply(original), encoding="utf-8")
    try:
        for stage, files in stages:
            if not files:
                continue
            code, output, seconds = runner.pytest(workdir, files)
            result.runs.append(Run(stage, len(files), code, round(seconds, 2), _failed_test(output)))
            if code is None:
                result.status = "timeout"
                break
            if code not in (0, 5):  # 5: no tests collected
                result.status = "killed"
                break
    finally:
        target.write_text(original, encoding="utf-8")
    result.seconds = time.perf_counter() - start
    return result


# --------------------------------------------------------------------------------- snapshot
def snapshot(dest: Path, tree: Path | None, rev: str) -> tuple[Path, str]:
    """Copy the project into `dest`: the committed tree at `rev`, or the folder `tree`.
    Returns where the copy came from and what it is (a commit, or the folder)."""
    if tree is not None:
        shutil.copytree(tree, dest, symlinks=True, ignore=shutil.ignore_patterns(*COPY_IGNORE))
        source, what = tree, str(tree)
    else:
        source = ROOT
        commit = subprocess.run(  # noqa: S603
            ["git", "-C", str(ROOT), "rev-parse", "--verify", f"{rev}^{{commit}}"],  # noqa: S607
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dest.mkdir(parents=True)
        archive = subprocess.Popen(["git", "-C", str(ROOT), "archive", commit], stdout=subprocess.PIPE)  # noqa: S603, S607
        extract = subprocess.run(["tar", "-x", "-C", str(dest)], stdin=archive.stdout, check=False)  # noqa: S603, S607
        if archive.stdout is not None:
            archive.stdout.close()
        if archive.wait() != 0 or extract.returncode != 0:
            raise SystemExit(f"mutation: could not extract {rev} of {ROOT}")
        what = commit
    as_checkout(dest)
    venv = source / ".venv"
    if venv.is_dir() and not (dest / ".venv").exists():
        (dest / ".venv").symlink_to(venv.resolve())
    return source, what


def as_checkout(dest: Path) -> None:
    """Make the copy a git repository of one commit, as a clone is: `python -m synth --diff REV`
    and its tests ask git for the project's revisions (in a plain folder they fail before any
    mutant runs). Each job's copy carries it along; mutants only touch the working tree."""
    git = ["git", "-C", str(dest), "-c", "user.name=mutation", "-c", "user.email=mutation@localhost"]
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-q", "--no-gpg-sign", "-m", "mutation snapshot"]):
        done = subprocess.run([*git, *args], capture_output=True, text=True, check=False)  # noqa: S603
        if done.returncode != 0:
            raise SystemExit(f"mutation: git {args[0]} in the snapshot failed: {done.stderr.strip()[:300]}")


def child_env(source: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env.setdefault("AIRFLOW_AKS_OFFLINE", "1")
    if "AIRFLOW_AKS_REFERENCE_DIR" not in env:
        for candidate in (source.resolve().parent / "shared" / "reference", ROOT.parent / "shared" / "reference"):
            if candidate.is_dir():
                env["AIRFLOW_AKS_REFERENCE_DIR"] = str(candidate)
                break
    return env


def baseline(runner: Runner, workdir: Path, tests: TestMap) -> tuple[bool, float]:
    """Run the whole suite on the unmutated copy; learn each test file's duration."""
    limit = max(BASELINE_TIMEOUT, runner.timeout)  # no mutant here: only a hung suite stops it
    code, output, seconds = runner.pytest(workdir, tests.tests, ["--durations=0"], limit)
    durations: dict[str, float] = defaultdict(float)
    for found in re.finditer(r"^\s*([0-9.]+)s\s+(?:setup|call|teardown)\s+([^\s:]+)::", output, re.MULTILINE):
        durations[found.group(2)] += float(found.group(1))
    runner.durations = dict(durations)
    if code is None:
        print(f"mutation: the baseline run timed out after {limit:.0f}s", file=sys.stderr)
    if code != 0:
        print(output[-6000:], file=sys.stderr)
    return code == 0, seconds


# ---------------------------------------------------------------------------------- reports
def _minutes(seconds: float) -> str:
    seconds = round(seconds)
    return (
        f"{seconds // 3600}h{seconds % 3600 // 60:02d}m" if seconds >= 3600 else f"{seconds // 60}m{seconds % 60:02d}s"
    )


def _score(results: Sequence[Result]) -> tuple[int, int, float]:
    killed = sum(r.status != "survived" for r in results)
    total = len(results)
    return killed, total, 100.0 * killed / total if total else 100.0


def _table(title: str, groups: dict[str, list[Result]]) -> list[str]:
    lines = [f"by {title}:"]
    width = max((len(k) for k in groups), default=0)
    for key in sorted(groups):
        killed, total, pct = _score(groups[key])
        lines.append(f"  {key:<{width}}  {killed:>4}/{total:<4} {pct:6.1f}%")
    return lines


def report(results: Sequence[Result], seconds: float, jobs: int) -> str:
    killed, total, pct = _score(results)
    counts = Counter(r.status for r in results)
    lines = [
        "",
        f"mutation score: killed/total = {killed}/{total} = {pct:.1f}%"
        f"  (killed {counts['killed']}, timeout {counts['timeout']}, survived {counts['survived']})",
        f"time: {_minutes(seconds)} with {jobs} job(s): {seconds / max(total, 1):.1f}s of wall time per mutant, "
        f"{sum(r.seconds for r in results) / max(total, 1):.1f}s of test runs per mutant (one job)",
    ]
    by_operator: dict[str, list[Result]] = defaultdict(list)
    by_file: dict[str, list[Result]] = defaultdict(list)
    for r in results:
        by_operator[r.mutant.operator].append(r)
        by_file[r.mutant.file].append(r)
    lines += _table("operator", by_operator) + _table("file", by_file)
    survivors = sorted((r for r in results if r.status == "survived"), key=lambda r: (r.mutant.file, r.mutant.start))
    lines.append(f"survivors ({len(survivors)}):")
    for r in survivors:
        m = r.mutant
        lines.append(f"  {m.file}:{m.line}  {m.operator}  {m.detail}")
        lines += [f"    - {line}" for line in m.original.strip("\n").splitlines()]
        lines += [f"    + {line}" for line in m.mutated.strip("\n").splitlines()] or ["    + (nothing)"]
    return "\n".join(lines)


# -------------------------------------------------------------------------------------- main
def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="mutation", description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--sample", type=int, metavar="N", help="run N mutants (default: all)")
    parser.add_argument("--seed", type=int, default=0, help="the sample's seed (default 0)")
    parser.add_argument("--file", action="append", default=[], metavar="PATH", help="only this file (repeatable)")
    parser.add_argument("--list", action="store_true", help="print the mutants, run nothing")
    parser.add_argument("--messages", action="store_true", help="mutate strings that read as prose too")
    parser.add_argument("--jobs", type=int, default=2, help="parallel jobs, each in its own copy (default 2)")
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT, help="seconds per pytest run (default 300)")
    parser.add_argument(
        "--full-for-survivors",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="run a survivor of its relevant tests against the whole suite (default on)",
    )
    parser.add_argument(
        "--baseline", action=argparse.BooleanOptionalAction, default=True, help="check the unmutated tree"
    )
    parser.add_argument("--json", type=Path, metavar="OUT", help="write every result here")
    parser.add_argument("--min-score", type=float, metavar="X", help="exit 1 when the score (%%) is below X")
    parser.add_argument("--tree", type=Path, metavar="DIR", help="copy this folder instead of the committed tree")
    parser.add_argument("--rev", default="HEAD", help="the commit to copy (default HEAD)")
    parser.add_argument(
        "--rerun", type=Path, metavar="JSON", help="run the survivors of an earlier --json run again (no sampling)"
    )
    args = parser.parse_args(argv)
    if args.jobs < 1 or (args.sample is not None and args.sample < 1):
        parser.error("--jobs and --sample must be positive")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="mutation-") as tmp:
        snap = Path(tmp) / "w0"
        source, what = snapshot(snap, args.tree.resolve() if args.tree else None, args.rev)
        files = product_files(snap, args.file)
        everything, dropped = generate(snap, files, args.messages)
        mutants = rerun(everything, args.rerun) if args.rerun else sample(everything, args.sample, args.seed)
        print(f"mutation: {what}: {len(everything)} mutants in {len(files)} files, running {len(mutants)}", flush=True)
        if dropped:
            print(f"mutation: {dropped} candidate changes dropped (did not re-parse to exactly one change)")
        if args.list:
            for m in mutants:
                mutated = " \\ ".join(line.strip() for line in m.mutated.splitlines()) or "(nothing)"
                print(f"{m.file}:{m.line}:{m.col}  {m.operator:<8} {m.detail}  |  {mutated}")
            return 0
        tests = TestMap(snap)
        runner = Runner(sys.executable, child_env(source), args.timeout)
        baseline_seconds = None
        if args.baseline:
            print(f"mutation: baseline: the whole suite ({len(tests.tests)} files) on the unmutated tree", flush=True)
            ok, baseline_seconds = baseline(runner, snap, tests)
            if not ok:
                print("mutation: the unmutated tree fails its own tests; nothing to measure", file=sys.stderr)
                return 2
            print(f"mutation: baseline passed in {baseline_seconds:.0f}s", flush=True)
        workdirs: queue.Queue[Path] = queue.Queue()
        workdirs.put(snap)
        for i in range(1, min(args.jobs, max(len(mutants), 1))):
            shutil.copytree(snap, Path(tmp) / f"w{i}", symlinks=True)
            workdirs.put(Path(tmp) / f"w{i}")
        originals = {f: (snap / f).read_text(encoding="utf-8") for f in files}
        results = _run_all(mutants, workdirs, originals, tests, runner, args)
    seconds = time.perf_counter() - started
    print(report(results, seconds, args.jobs))
    killed, total, score = _score(results)
    if args.json:
        payload = {
            "source": what,
            "files": files,
            "mutants_total": len(everything),
            "sample": args.sample,
            "seed": args.seed,
            "jobs": args.jobs,
            "complete": len(results) == len(mutants),
            "baseline_seconds": None if baseline_seconds is None else round(baseline_seconds, 1),
            "seconds": round(seconds, 1),
            "score": round(score, 2),
            "killed": killed,
            "total": total,
            "counts": dict(Counter(r.status for r in results)),
            "results": [r.to_json() for r in results],
        }
        args.json.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    if args.min_score is not None and score < args.min_score:
        print(f"mutation: score {score:.1f}% is below --min-score {args.min_score}")
        return 1
    return 0


def _run_all(
    mutants: Sequence[Mutant],
    workdirs: queue.Queue[Path],
    originals: dict[str, str],
    tests: TestMap,
    runner: Runner,
    args: argparse.Namespace,
) -> list[Result]:
    results: list[Result] = []
    started = time.perf_counter()
    jobs = workdirs.qsize()

    def task(mutant: Mutant) -> Result:
        workdir = workdirs.get()
        try:
            return run_mutant(mutant, workdir, originals[mutant.file], tests, runner, args.full_for_survivors)
        finally:
            workdirs.put(workdir)

    with ThreadPoolExecutor(max_workers=jobs) as pool:
        futures: list[Future[Result]] = [pool.submit(task, m) for m in mutants]
        try:
            for future in as_completed(futures):
                r = future.result()
                results.append(r)
                done = len(results)
                eta = (time.perf_counter() - started) / done * (len(mutants) - done)
                where = f"{r.killed_by}, " if r.status != "survived" else ""
                print(
                    f"[{done:>{len(str(len(mutants)))}}/{len(mutants)}] {r.status:<8} {r.mutant.file}:{r.mutant.line} "
                    f"{r.mutant.operator} {r.mutant.detail} ({where}{r.seconds:.1f}s) eta {_minutes(eta)}",
                    flush=True,
                )
        except KeyboardInterrupt:
            print("mutation: interrupted; reporting what finished", file=sys.stderr)
            for f in futures:
                f.cancel()
            runner.stop()
    order = {m.id: i for i, m in enumerate(mutants)}
    return sorted(results, key=lambda r: order[r.mutant.id])


if __name__ == "__main__":
    sys.exit(main())

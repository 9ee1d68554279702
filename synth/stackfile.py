"""Read Pulumi.yaml and Pulumi.<stack>.yaml as the Pulumi CLI reads them, or refuse them.

How the CLI reads a stack file (pulumi/pulumi, sdk/go/common/workspace/loaders.go,
``LoadProjectStackBytes``): the bytes (a UTF-8 BOM stripped) are decoded with gopkg.in/yaml.v3
into a generic value, non-string keys are refused (``SimplifyMarshalledProject``: "expected
only string keys"), a document that is not a mapping is refused ("expected project to be an
object"), unqualified config keys get the project's namespace
(``stackConfigNamespacedWithProject``), and the result is encoded again and decoded into
``ProjectStack``, whose ``config`` is a ``config.Map``. Each value goes through
``config.Value.UnmarshalYAML`` -> ``object.UnmarshalYAML`` -> ``unmarshalObject`` and
``object.MarshalString`` (sdk/go/common/resource/config/value.go, object.go): a string is
passed as is; a bool, integer or float as its JSON text (``2.10`` -> "2.1", ``010`` -> "8",
``0x10`` -> "16"); a YAML timestamp as Go's ``time.Time.String()``; a mapping
``{secure: <ciphertext>}`` is a secret; any other mapping or list as compact JSON (marked as an
object; it is secret if it holds a ``secure`` value anywhere); a null as "" with a warning that
this will change. Duplicate keys are errors in yaml.v3. yaml.v3 types plain scalars by YAML 1.2
rules (resolve.go): only true/True/TRUE/false/False/FALSE are booleans, so yes/no/on/off/y/n are
strings; ~, null, Null, NULL and nothing are null; integers are read by Go's ``ParseInt`` with
base 0 (a leading 0 is octal, 0x, 0o, 0b prefixes, '_' ignored); then YAML floats; and
YYYY-M-D dates and times are timestamps.

This module does the same where the CLI passes the text as written, and refuses (naming the key
and the line, and how to write it) every value the CLI would pass as something other than what
the file says: nulls, True/FALSE spellings, numbers not in plain decimal, floats whose text
changes, timestamps, .inf/.nan, merge keys, YAML tags other than !!str, and anchors/aliases
(refused outright: no alias expansion, so no "billion laughs"). Files are read only if they are
regular files up to 1 MiB of UTF-8 text, and nesting is bounded.

Values are never copied into a message: a message names the key, the line and the rule.
"""

from __future__ import annotations

import difflib
import json
import math
import re
import stat
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from config.report import URL_CREDENTIALS, redact_url_credentials

MAX_FILE_BYTES = 1 << 20  # 1 MiB: a stack file is a few KiB
MAX_DEPTH = 32  # nesting of lists and mappings
PROVIDER_NAMESPACES = ("azure-native", "kubernetes", "random", "time", "pulumi")
# The fields of workspace.ProjectStack (sdk/go/common/workspace/project.go).
STACK_FILE_KEYS = ("config", "secretsprovider", "encryptedkey", "encryptionsalt", "environment")
# pkg/backend: validateStackName, "^[A-Za-z0-9_.-]{1,100}$" and no slashes.
STACK_NAME = re.compile(r"[A-Za-z0-9_.-]{1,100}")
STACK_NAME_RULE = "1-100 letters, digits, '-', '_' and '.' (Pulumi's rule for stack names), not '.' or '..'"
CONFIG_TYPES = ("string", "integer", "boolean", "array")

_PLAIN = "tag:synth:plain"  # a plain (unquoted, untagged) scalar, typed below as yaml.v3 types it
_STR = "tag:yaml.org,2002:str"
_SEQ = "tag:yaml.org,2002:seq"
_MAP = "tag:yaml.org,2002:map"
_BOM = b"\xef\xbb\xbf"


# ----------------------------------------------------------------------------- problems
@dataclass(frozen=True)
class FileProblem:
    """One problem in a file: the key (or None for the whole file), the line, what is wrong."""

    file: str
    key: str | None
    line: int | None
    message: str

    def __str__(self) -> str:
        where = f"{self.file} line {self.line}" if self.line else self.file
        return f"{self.key} ({where}): {self.message}" if self.key else f"{where}: {self.message}"


class StackFileError(ValueError):
    """A stack or project file that cannot be read as the Pulumi CLI reads it."""

    def __init__(self, file: str, problems: list[FileProblem], what: str = "stack file") -> None:
        self.file = file
        self.problems = problems
        self.what = what
        if len(problems) == 1 and problems[0].key is None:
            line = f" line {problems[0].line}" if problems[0].line else ""
            text = f"invalid {what} {file}{line}: {problems[0].message}"
        else:
            lines = "\n".join(f"  - {p}" for p in problems)
            text = f"invalid {what} {file} ({len(problems)} problem{'s' * (len(problems) != 1)}):\n{lines}"
        super().__init__(text)


def printable(text: str, limit: int = 80) -> str:
    """`text` safe to print: control and invisible characters escaped, URL credentials hidden,
    at most `limit` characters."""
    shown = redact_url_credentials(text)
    shown = "".join(c if c.isprintable() and c not in "\u2028\u2029" else repr(c)[1:-1] for c in shown)
    return shown if len(shown) <= limit else shown[: limit - 1] + "…"


# A key whose name says it holds a credential: its values are never printed.
_SECRET_NAME = re.compile(
    r"(?i)password|passwd|passphrase|secret|token|credential|api_?key|private_?key|connection_?string"
)


def redact(text: str, sensitive: Iterable[str] = ()) -> str:
    """`text` with every sensitive string and every credential inside a URL replaced."""
    for value in sorted(set(sensitive), key=len, reverse=True):
        text = text.replace(value, "[redacted]")
    return redact_url_credentials(text)


# ----------------------------------------------------------------------- stack names
class StackNameError(ValueError):
    """A stack name synth refuses (it would also be a path: Pulumi.<stack>.yaml, build/<stack>)."""


def stack_name_problem(name: str) -> str | None:
    """Why `name` is not a stack name synth accepts (None if it is). A stack name is never a path."""
    if STACK_NAME.fullmatch(name) and name.strip(".") != "":
        return None
    return f"invalid stack name {printable(name, 40)!r}: must be {STACK_NAME_RULE}"


# ----------------------------------------------------------------------- reading a file
def read_text(path: Path, display: str, what: str = "stack file") -> str:
    """The text of a regular UTF-8 file of at most MAX_FILE_BYTES (a UTF-8 BOM dropped, as the
    CLI's readFileStripUTF8BOM does). Everything else is a StackFileError naming the file."""

    def refuse(message: str) -> StackFileError:
        return StackFileError(display, [FileProblem(display, None, None, message)], what)

    try:
        info = path.stat()
    except FileNotFoundError:
        raise refuse("no such file") from None
    except OSError as err:
        raise refuse(f"cannot be read ({err.strerror or type(err).__name__})") from None
    if stat.S_ISDIR(info.st_mode):
        raise refuse(f"is a directory, not a {what}")
    if not stat.S_ISREG(info.st_mode):
        raise refuse(f"is not a regular file (a device, pipe or socket), not a {what}")
    if info.st_size > MAX_FILE_BYTES:
        raise refuse(f"is {info.st_size} bytes; a {what} may be at most {MAX_FILE_BYTES} bytes (1 MiB)")
    try:
        with open(path, "rb") as handle:  # noqa: PTH123 - tests replace this module's `open`
            data = handle.read(MAX_FILE_BYTES + 1)
    except OSError as err:
        raise refuse(f"cannot be read ({err.strerror or type(err).__name__})") from None
    if len(data) > MAX_FILE_BYTES:
        raise refuse(f"is more than {MAX_FILE_BYTES} bytes; a {what} may be at most 1 MiB")
    if data.startswith(_BOM):
        data = data[len(_BOM) :]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        raise StackFileError(
            display,
            [FileProblem(display, None, line, f"is not UTF-8 text (byte {err.start}): a {what} is UTF-8 YAML")],
            what,
        ) from None
    if "\x00" in text:
        line = text[: text.index("\x00")].count("\n") + 1
        raise StackFileError(
            display, [FileProblem(display, None, line, f"contains a NUL byte: a {what} is YAML text")], what
        )
    return text


# ------------------------------------------------------------------------- YAML nodes
class _RefusalError(Exception):
    def __init__(self, mark: Any, message: str) -> None:
        super().__init__(message)
        self.line = mark.line + 1 if mark is not None else None
        self.message = message


class _Loader(yaml.SafeLoader):
    """Composes nodes only (no construction): plain scalars keep their text under _PLAIN, anchors
    are fine but aliases are refused, and nesting is bounded."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def resolve(self, kind: Any, value: Any, implicit: Any) -> Any:
        if kind is yaml.ScalarNode:
            return _PLAIN if implicit[0] else _STR
        return super().resolve(kind, value, implicit)  # type: ignore[no-untyped-call] # PyYAML is untyped

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            raise _RefusalError(
                self.peek_event().start_mark,  # type: ignore[no-untyped-call]
                "uses a YAML alias (*name): stack and project files may not use aliases; write the value out",
            )
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise _RefusalError(
                    self.peek_event().start_mark,  # type: ignore[no-untyped-call]
                    f"nests lists or mappings more than {MAX_DEPTH} levels deep",
                )
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def compose(text: str, display: str, what: str = "stack file") -> yaml.Node | None:
    """The single YAML document of `text` as a node tree (None if empty), or a StackFileError."""
    loader: _Loader | None = None

    def refuse(line: int | None, message: str) -> StackFileError:
        return StackFileError(display, [FileProblem(display, None, line, message)], what)

    try:
        loader = _Loader(text)  # the reader checks every character here
        node: yaml.Node | None = loader.get_single_node()
    except _RefusalError as err:
        raise refuse(err.line, err.message) from None
    except yaml.reader.ReaderError as err:
        line = text[: err.position].count("\n") + 1 if isinstance(err.position, int) else None
        code = err.character if isinstance(err.character, int) else ord(str(err.character)[:1] or "?")
        raise refuse(
            line,
            f"contains the character U+{code:04X}, which YAML does not allow in a file "
            "(write it as an escape inside double quotes)",
        ) from None
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        line = mark.line + 1 if mark is not None else None
        problem = str(err.problem or err.context or "syntax error")
        if "another document" in problem:
            raise refuse(line, f"holds more than one YAML document: a {what} is one document") from None
        raise refuse(line, f"is not valid YAML: {printable(problem)}") from None
    except yaml.YAMLError as err:
        raise refuse(None, f"is not valid YAML ({type(err).__name__})") from None
    except RecursionError:
        raise refuse(None, "nests too deeply") from None
    finally:
        if loader is not None:
            loader.dispose()
    return node


# -------------------------------------------------- scalars, typed as yaml.v3 types them
_YAML_FLOAT = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?")
_DOT_FLOAT = re.compile(r"\.[0-9]+([eE][-+]?[0-9]+)?")
_GO_INT = re.compile(r"([+-]?)(0[xX][0-9a-fA-F]+|0[bB][01]+|0[oO][0-7]+|0[0-7]*|[1-9][0-9]*)")
# yaml.v3 parseTimestamp: four digits and '-', then Go's time.Parse with "2006-1-2",
# "2006-1-2 15:4:5.999999999" or "2006-1-2T15:4:5.999999999Z07:00" (ranges not checked here:
# anything shaped like a date is treated as one).
_TIMESTAMP = re.compile(
    r"[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}"
    r"([Tt ][0-9]{1,2}:[0-9]{1,2}:[0-9]{1,2}(\.[0-9]*)?([Zz]|[-+][0-9]{1,2}(:[0-9]{2})?)?)?"
)
_CANONICAL_INT = re.compile(r"0|-?[1-9][0-9]*")
_CANONICAL_FLOAT = re.compile(r"-?(0|[1-9][0-9]*)\.[0-9]*[1-9]")
_RESOLVE_MAP: dict[str, tuple[str, Any]] = {
    **dict.fromkeys(("true", "True", "TRUE"), ("bool", True)),
    **dict.fromkeys(("false", "False", "FALSE"), ("bool", False)),
    **dict.fromkeys(("", "~", "null", "Null", "NULL"), ("null", None)),
    **dict.fromkeys((".nan", ".NaN", ".NAN"), ("float", math.nan)),
    **dict.fromkeys((".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF"), ("float", math.inf)),
    **dict.fromkeys(("-.inf", "-.Inf", "-.INF"), ("float", -math.inf)),
    "<<": ("merge", "<<"),
}
_HINT = {**dict.fromkeys("0123456789", "D"), "+": "S", "-": "S", ".": ".", **dict.fromkeys("yYnNtTfFoO~", "M")}
_INT64 = (-(2**63), 2**63 - 1)


def _go_int(plain: str) -> int | None:
    """strconv.ParseInt(plain, 0, 64), then ParseUint(plain, 0, 64); None if both fail."""
    match = _GO_INT.fullmatch(plain)
    if not match:
        return None
    sign, body = match.groups()
    prefix = body[:2].lower()
    if prefix in ("0x", "0b", "0o"):
        number = int(body[2:], {"0x": 16, "0b": 2, "0o": 8}[prefix])
    elif body.startswith("0") and len(body) > 1:
        number = int(body[1:], 8)
    else:
        number = int(body)
    number = -number if sign == "-" else number
    if _INT64[0] <= number <= _INT64[1] or (not sign and number < 2**64):
        return number
    return None


def resolve_plain(text: str) -> tuple[str, Any]:
    """How gopkg.in/yaml.v3 (resolve.go, `resolve`) types a plain scalar: (kind, value) with kind
    str, null, bool, int, float, timestamp or merge."""
    if text in _RESOLVE_MAP:
        return _RESOLVE_MAP[text]
    hint = _HINT.get(text[0]) if text else None
    if hint is None or hint == "M":
        return "str", text
    if hint == ".":
        return ("float", float(text)) if _DOT_FLOAT.fullmatch(text) else ("str", text)
    if _TIMESTAMP.fullmatch(text):
        return "timestamp", text
    plain = text.replace("_", "")
    number = _go_int(plain)
    if number is not None:
        return "int", number
    if _YAML_FLOAT.fullmatch(plain):
        value = float(plain)
        if not math.isinf(value):  # Go's ParseFloat reports a range error: the text stays a string
            return "float", value
    return "str", text


def passed_as_written(text: str, kind: str, value: Any) -> bool:
    """Whether the Pulumi CLI passes this typed plain scalar to the program as the same text."""
    if kind == "bool":
        return text in ("true", "false")
    if kind == "int":
        return bool(_CANONICAL_INT.fullmatch(text))
    if kind == "float":
        return bool(_CANONICAL_FLOAT.fullmatch(text)) and repr(value) == text and 1e-6 <= abs(value) < 1e21
    return kind == "str"


_MESSAGES = {
    "null": (
        "has no value (YAML null: nothing, ~ or null after the colon); the Pulumi CLI passes it as an empty "
        'string and warns that this will change: write "" for an empty value, or delete the line to get '
        "the default"
    ),
    "bool": (
        "is an unquoted YAML boolean spelled True, TRUE, False or FALSE, which the Pulumi CLI passes as "
        "lowercase true or false: write true or false, or quote it to keep the text"
    ),
    "int": (
        "is an unquoted YAML number that the Pulumi CLI would not pass as written (YAML 1.2 reads 010 as "
        "octal 8, 0x10 as 16, 0b11 as 3, 1_000 as 1000, +5 as 5): write the number in plain decimal, or "
        "quote it to keep the text"
    ),
    "float": (
        "is an unquoted YAML number that the Pulumi CLI would not pass as written (2.10 becomes 2.1, 1.0 "
        "becomes 1, 1e3 becomes 1000, and .inf or .nan cannot be passed): quote it to keep the text "
        '(for example "2.10"), or write the number as the CLI would'
    ),
    "timestamp": (
        "is an unquoted YAML date or time, which the Pulumi CLI passes reformatted (2024-01-02 becomes "
        '"2024-01-02 00:00:00 +0000 UTC"): quote it to keep the text'
    ),
    "merge": "is the YAML merge key <<, which stack and project files may not use",
}


def _tag_name(tag: str) -> str:
    if tag.startswith("tag:yaml.org,2002:"):
        name = tag.removeprefix("tag:yaml.org,2002:")
        return f"!!{name}" if re.fullmatch(r"[A-Za-z0-9/._-]{1,30}", name) else "a YAML tag"
    return "a custom YAML tag"


class _Bad:
    """A value that was refused (a problem was recorded for it)."""


BAD = _Bad()


@dataclass(frozen=True)
class Secure:
    """A `secure:` value: the ciphertext `pulumi config set --secret` wrote."""

    ciphertext: str


@dataclass
class _Walker:
    """Turns nodes into Python values the way the CLI would see them, recording a problem for
    everything it refuses."""

    file: str
    problems: list[FileProblem] = field(default_factory=list)

    def problem(self, key: str | None, node: yaml.Node | None, message: str) -> None:
        line = node.start_mark.line + 1 if node is not None else None
        self.problems.append(FileProblem(self.file, key, line, message))

    def key_of(self, node: yaml.Node, where: str | None, prefix: bool = True) -> str | None:
        """A mapping key as a string, or None (with a problem) if YAML would not make it one."""
        label = f"{where}: a key" if where else "a key"
        if not isinstance(node, yaml.ScalarNode):
            self.problem(where, node, f"{label} is a list or mapping; keys are names")
            return None
        if node.tag == _PLAIN:
            kind, _ = resolve_plain(node.value)
            if kind != "str":
                shown = printable(node.value, 40) or "(empty key)"
                shown = _join(where, shown) if prefix else shown
                if kind == "merge":
                    self.problem(shown, node, _MESSAGES["merge"])
                else:
                    self.problem(
                        shown,
                        node,
                        f"is not a name: YAML reads this key as a {kind}, and the Pulumi CLI refuses non-string "
                        "keys; quote it if it is meant as a name",
                    )
                return None
        elif node.tag != _STR:
            self.problem(where, node, f"{label} carries {_tag_name(node.tag)}; keys are plain names")
            return None
        if _SURROGATE.search(node.value):
            self.problem(where, node, f"{label} holds an invalid \\u escape (a lone UTF-16 surrogate)")
            return None
        return str(node.value)

    def pairs(
        self, node: yaml.MappingNode, where: str | None, prefix: bool = True
    ) -> list[tuple[str, yaml.Node, yaml.Node]]:
        """The (key, key node, value node) of a mapping; duplicates are problems (yaml.v3 refuses them).
        Problems name a key as where.key (or the key alone without `prefix`)."""
        seen: dict[str, int] = {}
        out: list[tuple[str, yaml.Node, yaml.Node]] = []
        for key_node, value_node in node.value:
            key = self.key_of(key_node, where, prefix)
            if key is None:
                continue
            line = key_node.start_mark.line + 1
            if key in seen:
                self.problem(
                    printable(_join(where, key) if prefix else key),
                    key_node,
                    f"is given twice (lines {seen[key]} and {line}); YAML and the Pulumi CLI refuse a key given "
                    "twice: keep one",
                )
                continue
            seen[key] = line
            out.append((key, key_node, value_node))
        return out

    def value(self, node: yaml.Node, where: str) -> Any:
        """The Python value (str, int, float, bool, list, dict or Secure), or BAD."""
        if isinstance(node, yaml.ScalarNode):
            return self.scalar(node, where)
        if isinstance(node, yaml.SequenceNode):
            if node.tag != _SEQ:
                self.problem(where, node, f"carries {_tag_name(node.tag)}; values are plain YAML lists")
                return BAD
            items = [self.value(item, f"{where}[{index}]") for index, item in enumerate(node.value)]
            return BAD if any(item is BAD for item in items) else items
        if isinstance(node, yaml.MappingNode):
            if node.tag != _MAP:
                self.problem(where, node, f"carries {_tag_name(node.tag)}; values are plain YAML mappings")
                return BAD
            pairs = self.pairs(node, where)
            if len(node.value) == 1 and len(pairs) == 1 and pairs[0][0] == "secure":
                return self.secure(pairs[0][2], where)
            mapping = {key: self.value(value_node, _join(where, key)) for key, _, value_node in pairs}
            bad = len(pairs) != len(node.value) or any(v is BAD for v in mapping.values())
            return BAD if bad else mapping
        self.problem(where, node, "is not a YAML value")
        return BAD

    def secure(self, node: yaml.Node, where: str) -> Any:
        if isinstance(node, yaml.ScalarNode) and (
            node.tag == _STR or (node.tag == _PLAIN and resolve_plain(node.value)[0] == "str")
        ):
            return Secure(str(node.value))
        self.problem(
            where,
            node,
            "secure: must be the ciphertext string that `pulumi config set --secret` writes",
        )
        return BAD

    def scalar(self, node: yaml.ScalarNode, where: str) -> Any:
        text = str(node.value)
        if node.tag == _STR:
            if _SURROGATE.search(text):
                self.problem(where, node, "holds an invalid \\u escape (a lone UTF-16 surrogate)")
                return BAD
            return text
        if node.tag != _PLAIN:
            self.problem(
                where,
                node,
                f"carries {_tag_name(node.tag)}: values are plain YAML (only !!str is allowed); "
                "remove the tag, and quote the value if it is text",
            )
            return BAD
        kind, value = resolve_plain(text)
        if passed_as_written(text, kind, value):
            return value
        self.problem(where, node, _MESSAGES[kind])
        return BAD


_SURROGATE = re.compile("[\ud800-\udfff]")


def _join(where: str | None, key: str) -> str:
    return f"{where}.{key}" if where else key


# ------------------------------------------------------------------ encoding for the program
def go_json(value: Any) -> str:
    """JSON as Go's encoding/json writes it (what the CLI passes for a list or mapping): compact,
    keys sorted, non-ASCII kept, <, >, &, U+2028 and U+2029 escaped."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True, allow_nan=False)
    for char, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("\u2028", "\\u2028")):
        text = text.replace(char, escaped)
    return text.replace("\u2029", "\\u2029")


def encode(value: Any) -> str:
    """The string the CLI hands the program for an accepted value (object.MarshalString)."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)  # accepted floats are exactly the ones whose text is repr's
    return go_json(_plain(value))


def _plain(value: Any) -> Any:
    """`value` with each Secure as the {"secure": ciphertext} object the CLI keeps."""
    if isinstance(value, Secure):
        return {"secure": value.ciphertext}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def has_secure(value: Any) -> bool:
    if isinstance(value, Secure):
        return True
    if isinstance(value, list):
        return any(has_secure(v) for v in value)
    if isinstance(value, dict):
        return any(has_secure(v) for v in value.values())
    return False


def string_leaves(value: Any) -> list[str]:
    if isinstance(value, Secure):
        return [value.ciphertext]
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [s for v in value for s in string_leaves(v)]
    if isinstance(value, dict):
        return [s for v in value.values() for s in string_leaves(v)]
    return []


# -------------------------------------------------------------------- declared types
@dataclass(frozen=True)
class ConfigDecl:
    """A key declared in Pulumi.yaml's config block."""

    key: str  # with namespace
    type: str | None
    items: Mapping[str, Any] | None
    secret: bool
    default: Any  # BAD when there is none


def _items(items: Any) -> Mapping[str, Any] | None:
    return items if isinstance(items, Mapping) else None


def _type_name(decl_type: str, items: Mapping[str, Any] | None) -> str:
    if decl_type == "array" and items:
        return f"array<{_type_name(str(items.get('type')), _items(items.get('items')))}>"
    return decl_type


_ALLOWED = {
    "string": "one value (text, a number or a boolean), not a list or mapping",
    "integer": "a whole number such as 3",
    "boolean": "true or false",
    "array": "a YAML list",
}


def cli_type_ok(decl_type: str, items: Mapping[str, Any] | None, content: Any) -> bool:
    """workspace.ValidateConfigValue (sdk/go/common/workspace/project.go) on what the CLI checks: the
    text for a scalar, the JSON-decoded value for a list or mapping."""
    if decl_type == "string":
        return isinstance(content, str)
    if decl_type == "integer":
        if isinstance(content, bool):
            return False
        if isinstance(content, int | float):
            return float(content).is_integer()
        return isinstance(content, str) and bool(re.fullmatch(r"[+-]?[0-9]+", content)) and _int64(content)
    if decl_type == "boolean":
        return isinstance(content, bool) or content in ("true", "false")
    if decl_type == "array":
        if not isinstance(content, list) or not items:
            return False
        return all(cli_type_ok(str(items.get("type")), _items(items.get("items")), item) for item in content)
    return False


def _int64(text: str) -> bool:
    return _INT64[0] <= int(text) <= _INT64[1]


def _content(value: Any) -> Any:
    """What validateStackConfigValue type-checks: the passed text, or for an object its JSON."""
    if isinstance(value, list | dict):
        return json.loads(encode(value))
    return encode(value)


# ------------------------------------------------------------------------ the project file
@dataclass(frozen=True)
class Project:
    name: str
    data: dict[str, Any]  # the whole file as Python values
    config: dict[str, ConfigDecl]  # by key with namespace

    def defaults(self) -> dict[str, str]:
        """Declared defaults (or values) encoded as the CLI applies them (workspace createConfigValue)."""
        return {key: encode(d.default) for key, d in self.config.items() if d.default is not BAD}


def qualify(project: str, key: str) -> tuple[str | None, str]:
    """config.ParseKey after stackConfigNamespacedWithProject: (namespaced key, or None, and why not)."""
    parts = key.split(":")
    if len(parts) == 1:
        namespace, name = project, key
    elif len(parts) == 2:
        namespace, name = parts
    elif len(parts) == 3 and parts[1] == "config":  # the CLI's old <namespace>:config:<name> form
        namespace, name = parts[0], parts[2]
    else:
        return None, "is not a configuration key: write <namespace>:<name>, such as airflow-aks:nodeCount"
    if not name:
        return None, "has no name after the namespace"
    return f"{namespace}:{name}", ""


def namespace_problem(project: str, key: str, known_names: Iterable[str]) -> str | None:
    """A key outside the project's and the used providers' namespaces: the "did you mean" message."""
    namespace, _, name = key.partition(":")
    allowed = (project, *PROVIDER_NAMESPACES)
    if namespace in allowed:
        return None
    close_provider = difflib.get_close_matches(namespace, PROVIDER_NAMESPACES, n=1, cutoff=0.5)
    if close_provider and not difflib.get_close_matches(namespace, [project], n=1, cutoff=0.6):
        suggestion = f"{close_provider[0]}:{name}"
    else:
        close = difflib.get_close_matches(name, list(known_names), n=1, cutoff=0.6)
        suggestion = f"{project}:{close[0] if close else name}"
    return (
        f"unknown namespace {printable(namespace, 40)!r}: the program reads {project}:<key> and the "
        f"providers' {', '.join(PROVIDER_NAMESPACES)}; did you mean {printable(suggestion)}?"
    )


def parse_project(text: str, display: str) -> Project:
    """Pulumi.yaml as the CLI reads it (LoadProjectBytes, ValidateProject, Project.Validate)."""
    what = "project file"
    node = compose(text, display, what)
    walker = _Walker(display)
    if not isinstance(node, yaml.MappingNode):
        raise StackFileError(display, [FileProblem(display, None, None, "must be a YAML mapping")], what)
    data = walker.value(node, "")
    if walker.problems or not isinstance(data, dict):
        raise StackFileError(display, walker.problems or [FileProblem(display, None, None, "is not readable")], what)
    problems: list[FileProblem] = []

    def problem(key: str | None, message: str) -> None:
        problems.append(FileProblem(display, key, None, message))

    name = data.get("name")
    if not isinstance(name, str) or not name:
        problem("name", "the project needs a non-empty name")
        name = ""
    if "runtime" not in data:
        problem("runtime", "the project needs a runtime")
    config = data.get("config", {})
    decls: dict[str, ConfigDecl] = {}
    if not isinstance(config, dict):
        problem("config", "must be a mapping of config keys to their declarations")
        config = {}
    names = [k.rpartition(":")[2] for k in config]
    for raw_key, decl in config.items():
        key, why = qualify(name, raw_key)
        if key is None:
            problem(f"config.{raw_key}", why)
            continue
        outside = namespace_problem(name, key, names)
        if outside:
            problem(key, outside)
            continue
        if key in decls:
            problem(key, "is declared twice (once with its namespace, once without): keep one")
            continue
        # the short form `key: value` is {type: <inferred>, default: value} (RewriteShorthandConfigValues)
        spec = decl if isinstance(decl, dict) else {"type": _infer_type(decl), "default": decl}
        decl_type = spec.get("type")
        items = _items(spec.get("items"))
        if decl_type is not None and decl_type not in CONFIG_TYPES:
            problem(key, f"type must be one of {', '.join(CONFIG_TYPES)}")
            continue
        if decl_type == "array" and not _valid_items(items):
            problem(key, f"an array needs items: {{type: ...}} with a type of {', '.join(CONFIG_TYPES)}")
            continue
        default = spec["default"] if "default" in spec else spec.get("value", BAD)
        if default is not BAD and decl_type and not cli_type_ok(decl_type, items, default):
            problem(key, f"the default is not of the declared type {_type_name(decl_type, items)}")
            continue
        decls[key] = ConfigDecl(key, decl_type, items, spec.get("secret") is True, default)
    if problems:
        raise StackFileError(display, problems, what)
    return Project(name=name, data=data, config=decls)


def _valid_items(items: Mapping[str, Any] | None) -> bool:
    if items is None or items.get("type") not in CONFIG_TYPES:
        return False
    return items.get("type") != "array" or _valid_items(_items(items.get("items")))


def _infer_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, list):
        return "array"
    return "string"


def load_project_file(path: Path) -> Project:
    display = path.name
    return parse_project(read_text(path, display, "project file"), display)


# -------------------------------------------------------------------------- the stack file
@dataclass(frozen=True)
class Entry:
    key: str  # with namespace
    value: Any  # Python value; Secure anywhere inside makes it a secret
    line: int

    @property
    def secret(self) -> bool:
        return has_secure(self.value)


@dataclass(frozen=True)
class StackFile:
    """A stack file as the CLI reads it: its entries, and what the file gets wrong, per key."""

    entries: dict[str, Entry]
    problems: list[FileProblem]
    problem_keys: frozenset[str]  # namespaced config keys with a problem
    sensitive: frozenset[str]  # strings never to print: secure ciphertexts, credential-named values
    sensitive_keys: frozenset[str] = frozenset()  # keys whose value is never shown, even in part


def parse_stack(text: str, display: str, project: Project) -> StackFile:
    """Pulumi.<stack>.yaml as LoadProjectStackBytes and ValidateStackConfigAndApplyProjectConfig read
    it. A file that is not a mapping (or has no readable config block) is a StackFileError; problems
    with single keys are returned, so they can be reported together with the settings' own."""
    node = compose(text, display)
    walker = _Walker(display)

    def fatal(message: str, at: yaml.Node | None = None, key: str | None = None) -> StackFileError:
        line = at.start_mark.line + 1 if at is not None else None
        return StackFileError(display, [FileProblem(display, key, line, message)])

    if node is None or _is_null(node):
        return StackFile({}, [], frozenset(), frozenset())  # the CLI reads an empty stack file as no config
    if not isinstance(node, yaml.MappingNode):
        kind = "a list" if isinstance(node, yaml.SequenceNode) else "a single value"
        raise fatal(f"is {kind}; a stack file is a YAML mapping with a config: block", node)
    config_node: yaml.Node | None = None
    for key, key_node, value_node in walker.pairs(node, None):
        if key not in STACK_FILE_KEYS:
            close = difflib.get_close_matches(key, STACK_FILE_KEYS, n=1)
            hint = f"did you mean {close[0]}? " if close else ""
            walker.problem(
                printable(key, 40),
                key_node,
                f"unknown top-level key; {hint}a stack file holds {', '.join(STACK_FILE_KEYS)}",
            )
        elif key == "environment":
            walker.problem(
                key,
                key_node,
                "imports Pulumi ESC environments, which synth cannot read offline: their values would be "
                "missing here; put the values in config: to synth this stack",
            )
        elif key == "config":
            config_node = value_node
        elif not isinstance(value_node, yaml.ScalarNode):
            walker.problem(key, value_node, "must be a single text value")
    if walker.problems:
        raise StackFileError(display, walker.problems)
    if config_node is None or _is_null(config_node):
        return StackFile({}, [], frozenset(), frozenset())
    if not isinstance(config_node, yaml.MappingNode) or config_node.tag != _MAP:
        kind = "a list" if isinstance(config_node, yaml.SequenceNode) else "a single value"
        raise fatal(f"is {kind}; config: is a mapping of <namespace>:<key> to values", config_node, "config")

    entries: dict[str, Entry] = {}
    problem_keys: set[str] = set()
    sensitive: set[str] = set()
    sensitive_keys: set[str] = set()
    names = [k.rpartition(":")[2] for k in project.config]
    for raw_key, key_node, value_node in walker.pairs(config_node, "config", prefix=False):
        line = key_node.start_mark.line + 1
        shown = printable(raw_key)
        qualified, why = qualify(project.name, raw_key)
        if qualified is None:
            walker.problem(shown or "config", key_node, why)
            continue
        key = qualified
        outside = namespace_problem(project.name, key, names)
        if outside:
            walker.problem(shown, key_node, outside)
            continue
        before = len(walker.problems)
        value = walker.value(value_node, printable(key))
        if key in entries:
            walker.problem(
                printable(key),
                key_node,
                f"is given twice (lines {entries[key].line} and {line}, spelled with and without its namespace); "
                "keep one",
            )
            problem_keys.add(key)
            continue
        if value is not BAD:
            entries[key] = Entry(key, value, line)
            leaves = string_leaves(value)
            if has_secure(value) or _secretish(key):
                sensitive.update(s for s in leaves if len(s) >= 4)
                sensitive_keys.add(key)
            for leaf in leaves:
                credentials = [c for m in URL_CREDENTIALS.finditer(leaf) if (c := m.group(0)[len(m.group(1)) : -1])]
                sensitive.update(credentials)
                if credentials:
                    sensitive_keys.add(key)
            _check_declared(walker, project.config.get(key), entries[key], key_node)
        else:
            sensitive.update(s for s in string_leaves_of_node(value_node) if len(s) >= 4 and _secretish(key))
            entries[key] = Entry(key, BAD, line)
        if len(walker.problems) > before:
            problem_keys.add(key)
    return StackFile(
        {k: e for k, e in entries.items() if e.value is not BAD},
        sorted(walker.problems, key=lambda p: p.line or 0),
        frozenset(problem_keys),
        frozenset(s for s in sensitive if s),
        frozenset(sensitive_keys),
    )


def _is_null(node: yaml.Node) -> bool:
    return isinstance(node, yaml.ScalarNode) and node.tag == _PLAIN and resolve_plain(node.value)[0] == "null"


def _secretish(key: str) -> bool:
    return bool(_SECRET_NAME.search(key.partition(":")[2]))


def string_leaves_of_node(node: yaml.Node) -> list[str]:
    """Every scalar text under a node (for values refused before they became Python values)."""
    if isinstance(node, yaml.ScalarNode):
        return [str(node.value)]
    if isinstance(node, yaml.SequenceNode):
        return [s for item in node.value for s in string_leaves_of_node(item)]
    if isinstance(node, yaml.MappingNode):
        return [s for pair in node.value for part in pair for s in string_leaves_of_node(part)]
    return []


def _check_declared(walker: _Walker, decl: ConfigDecl | None, entry: Entry, node: yaml.Node) -> None:
    """validateStackConfigValue: a secret must be secure, a typed key's value of its type."""
    if decl is None:
        return
    if decl.secret and not entry.secret:
        walker.problem(
            printable(entry.key),
            node,
            "Pulumi.yaml marks it secret: set it with `pulumi config set --secret`, not as plain text",
        )
        return
    if entry.secret or decl.type is None:
        return  # a secret is checked by the CLI after decryption, which synth cannot do
    if not cli_type_ok(decl.type, decl.items, _content(entry.value)):
        allowed = _ALLOWED.get(decl.type, decl.type)
        if decl.type == "array" and decl.items and decl.items.get("type") == "string":
            allowed = 'a YAML list of text items, such as ["1", "2"] (quote numbers)'
        walker.problem(
            printable(entry.key),
            node,
            f"Pulumi.yaml declares it {_type_name(decl.type, decl.items)}: give {allowed} "
            f"(the Pulumi CLI refuses anything else)",
        )

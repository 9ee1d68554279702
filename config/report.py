"""The error report: one :class:`Problem` per bad value, all of them in one :class:`ConfigError`.

How a value is shown: as JSON text, clipped, with credentials inside a URL masked and the
value of every key the stack marks secret hidden wherever it would appear. The URL
redaction here is the project's one: ``synth.stackfile`` uses it too.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from config.limits import ARRAY_JSON_MAX, CONTROL

MISSING: Any = object()  # the value of a key that is not set at all
SHOW_MAX = 320  # characters of a bad value shown in a problem
KEY_MAX = 120

# Credentials in a URL: `scheme://user:password@` or `scheme://token@`. Linear on any
# input: a scheme is short, and the userinfo scan stops at the next '/', which every
# further `://` has.
URL_CREDENTIALS = re.compile(r"(?i)([a-z][a-z0-9+.-]{0,31}://)[^/\s]*@")
REDACTED = "[redacted]"


def has_url_credentials(value: str) -> bool:
    """A URL with userinfo (`scheme://user:password@`, `scheme://token@`)."""
    return "://" in value and "@" in value and bool(URL_CREDENTIALS.search(value))


def redact_url_credentials(text: str) -> str:
    """`text` with the userinfo of every URL in it replaced: `https://[redacted]@host/...`."""
    if "://" not in text or "@" not in text:  # the common case, without a regex pass
        return text
    return URL_CREDENTIALS.sub(rf"\1{REDACTED}@", text)


def clip(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} characters)"


def json_text(value: Any) -> str:
    """JSON text of any value; something JSON cannot hold (bytes, a 5000-digit int, a
    cycle) is named by its type."""
    try:
        return json.dumps(value)
    except (TypeError, ValueError, RecursionError):
        return f"<{type(value).__name__}>"


def redact_value(value: Any, depth: int = 0) -> Any:
    """The value with URL credentials masked in every string inside it."""
    if isinstance(value, str):
        return redact_url_credentials(value)
    if isinstance(value, list | tuple) and depth < 20:
        return [redact_value(v, depth + 1) for v in value]
    if isinstance(value, Mapping) and depth < 20:
        return {k: redact_value(v, depth + 1) for k, v in value.items()}
    return value


def scrub(text: str, hidden: tuple[str, ...]) -> str:
    """`text` without secret values (`hidden`, longest first) and without URL credentials."""
    for fragment in hidden:
        if fragment in text:
            text = text.replace(fragment, "***")
    return redact_url_credentials(text)


def show_key(key: str) -> str:
    """A key as the engine spells it; an odd one (control characters, very long) escaped."""
    return key if len(key) <= KEY_MAX and not CONTROL.search(key) else clip(json.dumps(key), KEY_MAX)


def secret_fragments(raw: Any) -> set[str]:
    """The text forms a secret value can take inside an error message: the whole value and
    every item of an array (as written, JSON-escaped or repr-quoted), and the value part of
    NAME=value and field=value entries when it is long enough to mask without mangling the
    rest of the message."""
    out: set[str] = set()

    def add(text: str, whole: bool) -> None:
        if text and (whole or len(text) >= 4):
            out.update({text, json.dumps(text)[1:-1], repr(text)[1:-1]})

    items: list[Any] = [raw]
    if isinstance(raw, str) and raw.lstrip().startswith("[") and len(raw) <= ARRAY_JSON_MAX:
        try:
            decoded = json.loads(raw)
        except (ValueError, RecursionError):
            decoded = None
        if isinstance(decoded, list):
            items += decoded
    elif isinstance(raw, list):
        items += raw
    for item in items:
        if isinstance(item, str):
            add(item, whole=True)
            for part in item.split(","):
                add(part.strip(), whole=False)
                add(part.partition("=")[2].strip(), whole=False)
    return out


@dataclass(frozen=True)
class Problem:
    """One bad value. `secret`: the key is marked secret, so its value is never shown;
    `hidden`: every secret value of the stack, masked wherever it would appear in the text."""

    key: str
    value: Any
    message: str
    secret: bool = False
    hidden: tuple[str, ...] = ()  # longest first

    def __str__(self) -> str:
        if self.value is MISSING:
            shown = "<missing>"
        elif self.secret:
            shown = "[secret]"
        else:
            shown = clip(scrub(json_text(redact_value(self.value)), self.hidden), SHOW_MAX)
        return f"{show_key(self.key)} = {shown}: {scrub(self.message, self.hidden)}"

    def __repr__(self) -> str:
        return f"Problem({str(self)!r})"


class ConfigError(ValueError):
    """Every problem found in a stack's configuration, reported at once."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"invalid stack configuration ({len(problems)} problem{'s' * (len(problems) != 1)}):\n{lines}")

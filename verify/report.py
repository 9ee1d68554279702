"""What verify prints: the final line per check on stdout, the waiting display on stderr.

Every string goes through the Redactor first: the kubeconfig's credentials, exec tokens, the
admin password, Airflow's tokens and session cookies are registered as they become known, and
any occurrence is printed as `[secret]` (defence in depth: no message is built from them).
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterable, Sequence
from typing import TextIO

from verify.model import FAIL, PASS, SKIP, WAIT, Result

MIN_SECRET = 4  # shorter strings would redact ordinary words
NAME_WIDTH = 16
SPINNER = "|/-\\"
_AGES = re.compile(r"\d+s ago")


class Redactor:
    def __init__(self) -> None:
        self._secrets: set[str] = set()

    def add(self, *values: str | None) -> None:
        for value in values:
            if value and len(value) >= MIN_SECRET:
                self._secrets.add(value)

    def __call__(self, text: str) -> str:
        for secret in sorted(self._secrets, key=len, reverse=True):
            if secret in text:
                text = text.replace(secret, "[secret]")
        return text


def check_line(result: Result) -> str:
    return f"{result.status} {result.name.ljust(NAME_WIDTH)} {result.reason}"


class Printer:
    """stdout: the header, one line per check, the verdict. stderr: waiting progress, which on
    a terminal is one line rewritten in place, and otherwise a plain line per change."""

    def __init__(self, out: TextIO, err: TextIO, redact: Redactor, timeout: float) -> None:
        self.out = out
        self.err = err
        self.redact = redact
        self.timeout = timeout
        self.tty = bool(getattr(err, "isatty", lambda: False)())
        self._last: dict[str, str] = {}
        self._frame = 0
        self._live = False

    def line(self, text: str) -> None:
        self._clear()
        self.out.write(self.redact(text) + "\n")
        self.out.flush()

    def note(self, text: str) -> None:
        """A remark on stderr (a warning, a plugin hint)."""
        self._clear()
        self.err.write(self.redact(text) + "\n")
        self.err.flush()

    def results(self, results: Iterable[Result]) -> None:
        for result in results:
            self.line(check_line(result))

    def progress(self, elapsed: float, results: Sequence[Result]) -> None:
        """While waiting: what is not there yet, and why."""
        pending = [r for r in results if r.status != PASS]
        if self.tty:
            self._frame += 1
            done = sum(r.status == PASS for r in results)
            summary = "; ".join(f"{r.name}: {r.reason}" for r in pending) or "all passed"
            spin = SPINNER[self._frame % len(SPINNER)]
            text = f"{spin} [{elapsed:4.0f}s/{self.timeout:.0f}s] {done}/{len(results)} passed; waiting for {summary}"
            width = max(20, shutil.get_terminal_size((100, 20)).columns - 1)
            text = self.redact(text)
            if len(text) > width:
                text = text[: width - 3] + "..."
            self.err.write("\r\x1b[2K" + text)
            self.err.flush()
            self._live = True
            return
        for result in results:
            line = check_line(result)
            shape = _AGES.sub("…", line)  # a heartbeat's age changes every round: not news
            if result.status in (WAIT, FAIL, SKIP) and self._last.get(result.name) != shape:
                self.err.write(self.redact(f"[{elapsed:5.0f}s] {line}") + "\n")
            self._last[result.name] = shape
        self.err.flush()

    def _clear(self) -> None:
        if self._live:
            self.err.write("\r\x1b[2K")
            self.err.flush()
            self._live = False

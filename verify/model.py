"""What every part of verify shares: the result of one check, and the error that means exit 2."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

EXIT_OK: Final = 0
EXIT_FAILED: Final = 1
EXIT_USAGE: Final = 2

Status = Literal["PASS", "WAIT", "FAIL", "SKIP"]
PASS: Final = "PASS"  # noqa: S105 - a status, not a password
WAIT: Final = "WAIT"  # not there yet: polled again until the timeout, then a FAIL
FAIL: Final = "FAIL"
SKIP: Final = "SKIP"  # could not be checked (an earlier check failed)


class UsageError(Exception):
    """Bad usage, unreadable outputs or an unusable kubeconfig: one message, exit 2, nothing
    checked. Messages never contain a secret (they name fields and files, not values)."""


@dataclass(frozen=True)
class Result:
    """One check's verdict: a status and a one-line reason. `final` marks a FAIL that waiting
    cannot fix (credentials refused, a Job failed, a DAG run failed): polling stops."""

    name: str
    status: Status
    reason: str
    final: bool = False

    @property
    def passed(self) -> bool:
        return self.status == PASS


def passed(name: str, reason: str) -> Result:
    return Result(name, PASS, reason)


def waiting(name: str, reason: str) -> Result:
    return Result(name, WAIT, reason)


def failed(name: str, reason: str) -> Result:
    """A failure no amount of waiting fixes."""
    return Result(name, FAIL, reason, final=True)


def skipped(name: str, reason: str) -> Result:
    return Result(name, SKIP, reason)

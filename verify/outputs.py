"""The stack outputs verify needs, read from `pulumi stack output --json --show-secrets` or a
file holding that JSON, checked before anything connects (README: "Stack outputs").

What it takes from them: `kubeconfig` (unless --kubeconfig), `namespace`, `airflowReleaseName`,
`airflowUiPortForward` (`kubectl port-forward svc/<release>-<ui> <local>:<port> ...`: the UI
Service and its port; the chart line is the profile whose `ui_service` that is: `webserver`
for Airflow 2, `api-server` for Airflow 3), and, for --trigger-dag, `adminCredentialsSecret`.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from profiles import PROFILES
from verify.model import UsageError

PULUMI_TIMEOUT = 180.0
SECRET_PLACEHOLDER = "[secret]"  # noqa: S105 - what `pulumi stack output` prints without --show-secrets
_PORT_FORWARD = re.compile(r"\bsvc/(?P<service>[a-z0-9]([-a-z0-9]*[a-z0-9])?)\s+(?:\d+:)?(?P<port>\d+)\b")
# Airflow's health endpoint per major version (check-health.rst of each line: the webserver's
# `/health` on Airflow 2, the API server's `/api/v2/monitor/health` on Airflow 3).
HEALTH_PATHS = {2: "/health", 3: "/api/v2/monitor/health"}


@dataclass(frozen=True)
class AdminSecret:
    namespace: str
    name: str
    key: str
    username: str


@dataclass(frozen=True)
class Target:
    """The deployment to check, as the outputs describe it."""

    stack: str
    namespace: str
    release: str
    ui_service: str  # the Service's name: `<release>-<profile.ui_service>`
    ui_port: int
    airflow_major: int | None  # None: a UI Service no profile names (both health paths are tried)
    kubeconfig: str | None  # the secret output; None when --kubeconfig is given
    admin: AdminSecret | None
    # `airflowUiCertificate` (uiIngress): the UI's certificate, trusted at --airflow-url besides
    # the system's CAs (a generated one is self-signed); None without the output
    ui_certificate: str | None = None

    @property
    def ui_component(self) -> str:
        prefix = f"{self.release}-"
        return self.ui_service[len(prefix) :] if self.ui_service.startswith(prefix) else self.ui_service

    @property
    def health_paths(self) -> tuple[str, ...]:
        if self.airflow_major in HEALTH_PATHS:
            return (HEALTH_PATHS[self.airflow_major],)
        return (HEALTH_PATHS[3], HEALTH_PATHS[2])


def run_pulumi(stack: str, runner: Callable[..., subprocess.CompletedProcess[str]] = subprocess.run) -> Any:
    """`pulumi stack output --json --show-secrets --stack <stack>`, parsed."""
    argv = ["pulumi", "stack", "output", "--json", "--show-secrets", "--stack", stack]
    try:
        proc = runner(argv, capture_output=True, text=True, timeout=PULUMI_TIMEOUT, check=False)
    except FileNotFoundError:
        raise UsageError(
            "the Pulumi CLI is not on the PATH: install it, or pass --outputs FILE "
            "(from `pulumi stack output --json --show-secrets > FILE`)"
        ) from None
    except subprocess.TimeoutExpired:
        raise UsageError(f"`pulumi stack output` did not answer within {PULUMI_TIMEOUT:.0f}s") from None
    if proc.returncode != 0:
        said = " ".join((proc.stderr or "").split())[:400]
        raise UsageError(f"`pulumi stack output --stack {stack}` failed (exit {proc.returncode}): {said}")
    try:
        return json.loads(proc.stdout)
    except ValueError:
        raise UsageError("`pulumi stack output --json` did not print JSON") from None


def read_outputs_file(path: Path, stdin: TextIO | None = None) -> Any:
    """The outputs JSON from `path`, or from `stdin` when the path is `-` (a pipe from
    `pulumi stack output`: the kubeconfig never touches the disk)."""
    try:
        text = (stdin or sys.stdin).read() if str(path) == "-" else path.read_text(encoding="utf-8")
    except OSError as err:
        raise UsageError(f"cannot read the outputs file {path} ({err.strerror})") from None
    except UnicodeDecodeError:
        raise UsageError(f"the outputs file {path} is not UTF-8 text") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:  # position only: the file holds the kubeconfig
        raise UsageError(
            f"the outputs file {path} is not JSON (line {err.lineno}, column {err.colno}); "
            "write it with `pulumi stack output --json --show-secrets`"
        ) from None


def _text(outputs: dict[str, Any], key: str, problems: list[str]) -> str:
    value = outputs.get(key)
    if value is None:
        problems.append(f"`{key}` is missing")
        return ""
    if not isinstance(value, str) or not value.strip():
        problems.append(f"`{key}` is not a non-empty string")
        return ""
    return value.strip()


def airflow_major(ui_component: str) -> int | None:
    """The Airflow major version of the chart line whose UI Service is `ui_component`."""
    majors = {profile.airflow_major for profile in PROFILES.values() if profile.ui_service == ui_component}
    return majors.pop() if len(majors) == 1 else None


def parse_outputs(stack: str, outputs: Any, *, need_kubeconfig: bool, need_admin: bool) -> Target:
    """Check the outputs and name what verify checks; every problem in one UsageError."""
    if not isinstance(outputs, dict):
        raise UsageError("the stack outputs are not a JSON object of output names")
    problems: list[str] = []
    namespace = _text(outputs, "namespace", problems)
    release = _text(outputs, "airflowReleaseName", problems)
    forward = _text(outputs, "airflowUiPortForward", problems)
    kubeconfig: str | None = None
    if need_kubeconfig:
        kubeconfig = _text(outputs, "kubeconfig", problems)
        if kubeconfig == SECRET_PLACEHOLDER:
            problems.append("`kubeconfig` is `[secret]`: read the outputs with --show-secrets")
    service, port = "", 0
    if forward:
        match = _PORT_FORWARD.search(forward)
        if match is None:
            problems.append(f"`airflowUiPortForward` names no `svc/<name> <port>`: {forward!r}")
        else:
            service, port = match["service"], int(match["port"])
    admin: AdminSecret | None = None
    if need_admin:
        ref = outputs.get("adminCredentialsSecret")
        fields = ("namespace", "name", "passwordKey", "username")
        if not isinstance(ref, dict) or not all(isinstance(ref.get(f), str) and ref.get(f) for f in fields):
            problems.append(
                f"`adminCredentialsSecret` is not an object with {', '.join(fields)} (needed by --trigger-dag)"
            )
        else:
            admin = AdminSecret(ref["namespace"], ref["name"], ref["passwordKey"], ref["username"])
    certificate = outputs.get("airflowUiCertificate")
    if certificate is not None and (
        not isinstance(certificate, str) or "-----BEGIN CERTIFICATE-----" not in certificate
    ):
        problems.append("`airflowUiCertificate` is not a PEM certificate")
        certificate = None
    if problems:
        body = "".join(f"\n  - {p}" for p in problems)
        count = f"{len(problems)} problem{'s' * (len(problems) != 1)}"
        raise UsageError(f"the outputs of stack {stack!r} cannot be used ({count}):{body}")
    component = service[len(release) + 1 :] if service.startswith(f"{release}-") else service
    return Target(
        stack=stack,
        namespace=namespace,
        release=release,
        ui_service=service,
        ui_port=port,
        airflow_major=airflow_major(component),
        kubeconfig=kubeconfig,
        admin=admin,
        ui_certificate=certificate,
    )

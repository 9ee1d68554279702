"""python -m verify <stack> [--outputs FILE] [--kubeconfig FILE] [--timeout SECONDS]
[--interval SECONDS] [--trigger-dag DAG_ID [--unpause]] [--airflow-url URL]

Runs every check, then again every --interval seconds until all pass or --timeout passes (a
check that cannot pass by waiting stops it at once). Prints one line per check on stdout:
PASS, FAIL or SKIP with the reason; while waiting, what is not there yet on stderr (one line
rewritten in place on a terminal, a line per change otherwise).

Exit codes: 0 every check passed; 1 a check failed (or never passed before the timeout);
2 bad usage, unusable outputs or kubeconfig (nothing was checked).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn, TextIO

from verify.airflow import AirflowHttp, DagRunCheck, check_health
from verify.checks import (
    Pods,
    admin_password,
    api_problem,
    check_api,
    check_external_secrets,
    check_logs_volume,
    check_pods,
    list_release_pods,
)
from verify.kube import REQUEST_TIMEOUT, ApiError, KubeClient
from verify.kubeconfig import load_kubeconfig, read_kubeconfig_file
from verify.model import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    FAIL,
    WAIT,
    Result,
    UsageError,
    skipped,
    waiting,
)
from verify.outputs import Target, parse_outputs, read_outputs_file, run_pulumi
from verify.report import Printer, Redactor
from verify.transport import UnreachableError

DEFAULT_TIMEOUT = 600.0
DEFAULT_INTERVAL = 5.0
MIN_REQUEST_TIMEOUT = 2.0  # even the last round of a short --timeout gives a server this long
CHECKS = ("api", "pods", "externalsecrets", "logs-volume", "health")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see --help)")


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not value >= 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"not a number of seconds >= 0: {text!r}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="python -m verify",
        description="Check a deployed airflow-aks stack through the Kubernetes API.",
        epilog="Exit codes: 0 all checks passed, 1 a check failed, 2 bad usage, outputs or kubeconfig.",
    )
    parser.add_argument("stack", help="the Pulumi stack (for `pulumi stack output --stack`)")
    parser.add_argument(
        "--outputs",
        type=Path,
        metavar="FILE",
        help="the stack outputs as `pulumi stack output --json --show-secrets` prints them; `-` reads them "
        "from stdin (default: run that command)",
    )
    parser.add_argument(
        "--kubeconfig", type=Path, metavar="FILE", help="use this kubeconfig instead of the `kubeconfig` output"
    )
    parser.add_argument(
        "--timeout",
        type=_seconds,
        default=DEFAULT_TIMEOUT,
        metavar="SECONDS",
        help=f"how long to wait for every check to pass (default {DEFAULT_TIMEOUT:.0f}; 0: check once)",
    )
    parser.add_argument(
        "--interval",
        type=_seconds,
        default=DEFAULT_INTERVAL,
        metavar="SECONDS",
        help=f"pause between rounds of checks (default {DEFAULT_INTERVAL:.0f})",
    )
    parser.add_argument(
        "--trigger-dag",
        metavar="DAG_ID",
        help="once everything else passes, trigger a run of this DAG as the admin user and wait for it to succeed",
    )
    parser.add_argument(
        "--unpause", action="store_true", help="with --trigger-dag: unpause the DAG if it is paused (it stays unpaused)"
    )
    parser.add_argument(
        "--airflow-url",
        metavar="URL",
        help="reach Airflow at this URL (e.g. http://localhost:8080 behind `kubectl port-forward`) "
        "instead of through the API server's service proxy",
    )
    return parser


class Verifier:
    """One deployment's checks, run round after round."""

    def __init__(self, kube: KubeClient, http: AirflowHttp, target: Target, dag: DagRunCheck | None) -> None:
        self.kube = kube
        self.http = http
        self.target = target
        self.dag = dag

    @property
    def names(self) -> tuple[str, ...]:
        return CHECKS + (("dag-run",) if self.dag else ())

    def round(self, budget: float = REQUEST_TIMEOUT) -> list[Result]:
        """Every check once; no request waits longer than `budget` seconds for an answer."""
        self.kube.timeout = self.http.timeout = min(REQUEST_TIMEOUT, max(MIN_REQUEST_TIMEOUT, budget))
        results = [check_api(self.kube)]
        if not results[0].passed:
            return results + [
                skipped(name, "not checked: the API server did not answer as it should") for name in self.names[1:]
            ]
        pods, listed = Pods(), None
        try:
            pods = list_release_pods(self.kube, self.target)
        except (ApiError, UnreachableError) as err:
            listed = api_problem("pods", err, "list pods", self.kube.server)
        results.append(listed or check_pods(self.kube, self.target, pods))
        results.append(check_external_secrets(self.kube, self.target))
        results.append(
            check_logs_volume(self.kube, self.target, pods)
            if listed is None
            else skipped("logs-volume", "needs the pods")
        )
        results.append(check_health(self.http, self.target, pods.components))
        if self.dag is not None:
            if self.dag.run_id is not None or all(r.passed for r in results):
                results.append(self.dag.step())
            else:
                results.append(waiting(self.dag.name, "waits for the checks above to pass"))
        return results


def finish(results: list[Result], timeout: float, elapsed: float) -> list[Result]:
    """The last round's results as the verdict: what still waits has failed."""
    why = "not waited for: --timeout 0" if timeout == 0 else f"still so after {elapsed:.0f}s"
    return [Result(r.name, FAIL, f"{r.reason} ({why})") if r.status == WAIT else r for r in results]


def main(
    argv: Sequence[str] | None = None,
    *,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
    stdin: TextIO | None = None,
    pulumi: Callable[..., Any] = subprocess.run,
    plugin_runner: Callable[..., Any] = subprocess.run,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    out = stdout or sys.stdout
    err = stderr or sys.stderr
    redact = Redactor()
    try:
        return _main(argv, out, err, stdin, redact, pulumi, plugin_runner, clock, sleep)
    except UsageError as problem:
        err.write(redact(f"verify: error: {problem}") + "\n")
        return EXIT_USAGE
    except KeyboardInterrupt:
        err.write("\nverify: interrupted\n")
        return 130


def _main(
    argv: Sequence[str] | None,
    out: TextIO,
    err: TextIO,
    stdin: TextIO | None,
    redact: Redactor,
    pulumi: Callable[..., Any],
    plugin_runner: Callable[..., Any],
    clock: Callable[[], float],
    sleep: Callable[[float], None],
) -> int:
    args = build_parser().parse_args(argv)
    if args.interval == 0:
        raise UsageError("--interval must be more than 0 seconds")
    if args.unpause and not args.trigger_dag:
        raise UsageError("--unpause goes with --trigger-dag")
    raw = read_outputs_file(args.outputs, stdin) if args.outputs else run_pulumi(args.stack, pulumi)
    if isinstance(raw, dict) and isinstance(raw.get("kubeconfig"), str):
        redact.add(raw["kubeconfig"])
    target = parse_outputs(args.stack, raw, need_kubeconfig=args.kubeconfig is None, need_admin=bool(args.trigger_dag))
    if args.kubeconfig is not None:
        text, base, source = (
            read_kubeconfig_file(args.kubeconfig),
            args.kubeconfig.resolve().parent,
            str(args.kubeconfig),
        )
    else:
        text, base, source = target.kubeconfig or "", Path.cwd(), "the `kubeconfig` output"
    try:
        access = load_kubeconfig(text, base=base, secret=redact.add, runner=plugin_runner)
        access.credentials.prepare()
    except UsageError as problem:
        raise UsageError(f"kubeconfig ({source}): {problem}") from None
    kube = KubeClient(access)
    try:
        http = (
            AirflowHttp.at_url(args.airflow_url, redact.add, target.ui_certificate)
            if args.airflow_url
            else AirflowHttp.through_proxy(kube, target, redact.add)
        )
    except ValueError as problem:
        raise UsageError(f"--airflow-url: {problem}") from None
    dag = None
    if args.trigger_dag:
        if target.airflow_major is None or target.admin is None:
            ui = target.ui_component
            raise UsageError(f"--trigger-dag: no chart profile serves its UI as {ui!r}: which Airflow is it?")
        admin = target.admin
        dag = DagRunCheck(
            http=http,
            dag_id=args.trigger_dag,
            airflow_major=target.airflow_major,
            username=admin.username,
            password=lambda: admin_password(kube, admin, redact.add),
            unpause=args.unpause,
        )

    printer = Printer(out, err, redact, args.timeout)
    major = f"Airflow {target.airflow_major}" if target.airflow_major else "Airflow version unknown"
    via = f", Airflow at {http.where}" if not http.proxied else ""
    printer.line(
        f"verify {args.stack}: release {target.release} in namespace {target.namespace} "
        f"({major}, UI svc/{target.ui_service}:{target.ui_port}{via}), "
        f"API {access.server} ({access.credentials.describe()})"
    )
    if access.insecure:
        printer.note("warning: the kubeconfig skips TLS verification of the API server (insecure-skip-tls-verify)")

    verifier = Verifier(kube, http, target, dag)
    start = clock()
    deadline = start + args.timeout
    while True:
        results = verifier.round(deadline - clock())
        elapsed = clock() - start
        if all(r.passed for r in results) or any(r.final for r in results) or clock() >= deadline:
            break
        printer.progress(elapsed, results)
        sleep(max(0.0, min(args.interval, deadline - clock())))
    results = finish(results, args.timeout, elapsed)
    printer.results(results)
    bad = [r.name for r in results if not r.passed]
    if not bad:
        printer.line(f"verify {args.stack}: OK, all {len(results)} checks passed ({elapsed:.0f}s)")
        return EXIT_OK
    stop = next((r.name for r in results if r.final), None)
    how = f"stopped: {stop} cannot pass by waiting" if stop else f"after {elapsed:.0f}s"
    names = ", ".join(bad)
    printer.line(f"verify {args.stack}: FAILED, {len(bad)} of {len(results)} checks did not pass ({names}; {how})")
    return EXIT_FAILED

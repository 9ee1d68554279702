"""python -m synth <stack>: render and validate a whole stack offline (like `cdk synth`).

Exit codes: 0 valid; 1 validation (or the program) failed; 2 bad usage or bad config; 120 the
output could not be written (a full disk, a reader that closed the pipe: as Python's own exit).
With --diff REV (synth/diff.py): 0 nothing refused; 1 a stateful resource would be replaced or
deleted (unless --allow-replace names it) or a side failed to render; 2 bad usage (a bad rev).
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from synth import PROJECT_DIR, helm_process
from synth.reference import OFFLINE_VAR

# Imported where used, not here: synth.project and synth.stackfile import config (pydantic, about
# 0.15 s), and Helm's worker starts before that (synth/helm_process.py).
if TYPE_CHECKING:
    from synth.project import StackConfig

EXIT_OK, EXIT_INVALID, EXIT_USAGE = 0, 1, 2
EXIT_OUTPUT_LOST = 120  # what Python exits with when flushing its output fails at exit
# What a key the stack file gets wrong is given to the settings instead of its value: invalid for
# every key (a NUL), so the settings report nothing that depends on it; its problem is the file's.
_REFUSED = "\x00"
MAX_PROBLEMS_SHOWN = 100  # a file with thousands of bad keys still gets a readable message


class UsageError(Exception):
    """Bad usage or bad configuration: one message, exit 2, no traceback."""


def configure(stack: str, stack_file: Path | None) -> tuple[StackConfig, Any, frozenset[str]]:
    """The stack's config and validated settings, and the strings no message may show; every
    problem (stack name, file, keys, settings) is a UsageError whose message lists all of them."""
    from synth.project import StackFileError, StackNameError, StackNotFoundError, read_stack, read_stack_file
    from synth.stackfile import redact, stack_name_problem

    problem = stack_name_problem(stack)
    if problem:
        raise UsageError(problem)
    try:
        read = read_stack_file(stack_file, PROJECT_DIR, stack) if stack_file else read_stack(stack, PROJECT_DIR)
    except (StackNotFoundError, StackFileError, StackNameError) as err:
        raise UsageError(str(err)) from None
    except Exception as err:  # noqa: BLE001 - no traceback, ever: name what failed instead
        raise UsageError(
            f"cannot read the stack file: unexpected {type(err).__name__} (a bug in synth: please report it)"
        ) from None

    from config import ConfigError, parse_settings

    values = dict(read.config.values)
    values.update(dict.fromkeys(read.problem_keys, _REFUSED))
    lines = [str(p) for p in read.problems]
    settings: Any = None
    try:
        settings = parse_settings(read.config.stack, values)
    except ConfigError as err:
        problems = getattr(err, "problems", None)
        if problems is None:
            lines.append(str(err))
        else:
            lines += [
                _shown(p, read.sensitive_keys) for p in problems if getattr(p, "key", None) not in read.problem_keys
            ]
    except Exception as err:  # noqa: BLE001
        lines.append(f"the settings could not be validated: unexpected {type(err).__name__} (a bug: please report it)")
    if lines:
        count = f"{len(lines)} problem{'s' * (len(lines) != 1)}"
        shown = lines[:MAX_PROBLEMS_SHOWN] + [f"... and {len(lines) - MAX_PROBLEMS_SHOWN} more"] * (
            len(lines) > MAX_PROBLEMS_SHOWN
        )
        body = "\n".join(f"  - {line}" for line in shown)
        raise UsageError(redact(f"invalid stack configuration ({count}):\n{body}", read.sensitive))
    return read.config, settings, read.sensitive


def _shown(problem: Any, sensitive_keys: frozenset[str]) -> str:
    """A settings problem as a line; the value of a secret, credential-named or credential-carrying
    key is never shown, not even the part a shortened value would."""
    key, message = getattr(problem, "key", None), getattr(problem, "message", None)
    if key in sensitive_keys and isinstance(message, str):
        return f"{key} = [redacted]: {message}"
    return str(problem)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m synth", description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("stack", help="stack name: reads Pulumi.<stack>.yaml")
    p.add_argument("--stack-file", type=Path, help="read this stack file instead of Pulumi.<stack>.yaml")
    p.add_argument("--out", type=Path, help="output directory (default: build/<stack>)")
    p.add_argument("--json", action="store_true", help="print a machine-readable summary instead of the tree")
    p.add_argument("--strict", action="store_true", help="a missing reference schema is an error, not a warning")
    p.add_argument(
        "--no-write",
        action="store_true",
        help="validate only; write no output files (the Helm render hint is still kept in the cache)",
    )
    p.add_argument(
        "--offline",
        action="store_true",
        help="never download a missing reference schema (same as AIRFLOW_AKS_OFFLINE=1)",
    )
    p.add_argument(
        "--diff",
        metavar="REV",
        help="compare with the stack at git revision REV (rendered in a temporary worktree): what is created, "
        "updated, deleted and REPLACED; --out then names the report file",
    )
    p.add_argument(
        "--allow-replace",
        metavar="URN_OR_TYPE",
        action="append",
        default=[],
        help="with --diff: accept replacing or deleting this stateful resource (a URN or a type token; repeatable)",
    )
    p.add_argument(
        "--plan",
        action="store_true",
        help="simulate `pulumi up` from zero: the schedule of the dependency graph with per-type durations "
        "(synth/durations.yaml): makespan, critical path (each edge explained), serial sum",
    )
    p.add_argument("--plan-out", type=Path, metavar="FILE", help="with --plan: write the schedule as a Mermaid gantt")
    p.add_argument(
        "--parallel",
        type=int,
        metavar="N",
        help="with --plan: resource operations at once (default: Pulumi's, 4 x this machine's CPUs)",
    )
    p.add_argument(
        "--format",
        choices=("text", "markdown"),
        help="with --diff: text (default) or markdown (a pull-request comment)",
    )
    return p


def main(argv: list[str] | None = None) -> int:
    """synth's entry point: the cycle collector stays off while it runs (and is restored after,
    for a caller in the same process). What synth builds (the SDKs' modules and classes, the
    records, the parsed reference files) lives until exit; each full collection would rescan
    it all (bench/synth_bench.py measured them at a fifth of the time), for little garbage."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        return _main(argv)
    finally:
        if enabled:
            gc.enable()


def _main(argv: list[str] | None) -> int:
    args = _parser().parse_args(argv)
    started = time.perf_counter()
    if args.offline:
        os.environ[OFFLINE_VAR] = "1"
    if not args.diff and (args.allow_replace or args.format):
        print("error: --allow-replace and --format need --diff REV", file=sys.stderr)
        return EXIT_USAGE
    if not args.plan and (args.plan_out or args.parallel is not None):
        print("error: --plan-out and --parallel need --plan", file=sys.stderr)
        return EXIT_USAGE
    if args.parallel is not None and args.parallel < 1:
        print(f"error: --parallel {args.parallel}: must be 1 or more", file=sys.stderr)
        return EXIT_USAGE
    if args.diff:
        try:
            config, settings, sensitive = configure(args.stack, args.stack_file)
        except UsageError as err:
            return _usage(err)
        return _diff(args, config, settings, sensitive)
    # Helm renders in a worker on another core, given the last run's values now (synth/helm_process.py)
    with helm_process.EarlyRenders(PROJECT_DIR, args.stack) as early:
        try:
            config, settings, sensitive = configure(args.stack, args.stack_file)
        except UsageError as err:
            return _usage(err)
        return _synth(args, config, settings, sensitive, early, started)


def _usage(err: UsageError) -> int:
    """Every line printable: nothing from a file can steer the terminal."""
    from synth.stackfile import printable

    print("\n".join(printable(line, 10_000) for line in f"error: {err}".split("\n")), file=sys.stderr)
    return EXIT_USAGE


def _synth(
    args: argparse.Namespace,
    config: StackConfig,
    settings: Any,
    sensitive: frozenset[str],
    early: helm_process.EarlyRenders,
    started: float,
) -> int:
    from synth.stackfile import printable, redact

    out = args.out or PROJECT_DIR / "build" / config.stack
    if not args.out and not out.resolve().is_relative_to((PROJECT_DIR / "build").resolve()):
        print(f"error: {out} is not inside build/: refusing to write there (give --out)", file=sys.stderr)
        return EXIT_USAGE

    from synth.render import foreign_output

    refused = None if args.no_write else foreign_output(out)
    if refused:
        print(f"error: {printable(refused, 10_000)}", file=sys.stderr)
        return EXIT_USAGE

    from plan import build_plan
    from synth.render import render, tree, write
    from synth.runner import run_stack
    from synth.validate import check_charts, validate

    try:
        result = run_stack(config)
    except Exception as err:  # noqa: BLE001 - the program's own failure, reported without a traceback
        print(redact(f"error: the program failed under mocks: {type(err).__name__}: {err}", sensitive), file=sys.stderr)
        return EXIT_INVALID
    rendered = render(result)
    charts = early.renders(rendered.helm, rendered.helm_meta, settings.kubernetes_version)  # meanwhile: the checks
    mirrors = dict(build_plan(settings).images)  # the images the stack runs, from the same plan
    report = validate(
        result,
        rendered,
        kubernetes_version=settings.kubernetes_version,
        eso_version=settings.secrets_operator_chart_version,
        registry=settings.registry_server,
        strict=args.strict,
        mirrors=mirrors,
    )
    violations = _policy_violations(result, settings.registry_server)
    renders = charts.result()
    rendered.charts = renders.charts
    check_charts(
        result,
        rendered,
        report,
        kubernetes_version=settings.kubernetes_version,
        registry=settings.registry_server,
        mirrors=mirrors,
    )
    written = [] if args.no_write else [*write(rendered, out), _write_mirrors(mirrors, out)]
    elapsed = time.perf_counter() - started
    failed = bool(report.errors) or any(v["mandatory"] for v in violations)

    releases = _chart_summary(rendered)
    # what `pulumi destroy` cannot delete (protectStatefulResources)
    protected = sorted(f"{r.type} {r.name}" for r in result.records if r.protect)
    if args.json:
        summary = _summary(config.stack, rendered, report, violations, out, written, elapsed, failed)
        summary.update(
            helmEngine=renders.engine,
            helmRenders=releases,
            # where the renders ran and whether the last run's request was this one (helm_process)
            helmWorker={"renderedIn": renders.where, "hint": early.hint_state},
            protected=protected,
        )
        print(json.dumps(summary, indent=2))
    else:
        from synth.output import Printer, finding_lines

        say = Printer()
        say(tree(result), "tree")
        say()
        say(
            f"Resources: {sum(rendered.counts.values())} ({len(rendered.manifests)} Kubernetes objects, "
            f"{len(rendered.helm)} Helm releases)",
            "heading",
        )
        for typ, n in rendered.counts.items():
            say(f"  {n:3d}  {typ}", "count")
        say()
        say(f"Helm engine: {renders.engine or 'none'}", "heading")
        for release, info in releases.items():
            pods = info["podTemplates"]
            what = (
                f"rendered {info['objects']} objects"
                + (f" + {pods} pod template file{'s' if pods != 1 else ''}" if pods else "")
                + (
                    f" ({info['crdsNotSchemaValidated']} CRDs not schema-validated)"
                    if info["crdsNotSchemaValidated"]
                    else ""
                )
                + f" in {info['seconds']:.2f}s (install and upgrade renders)"
                if info["rendered"]
                else f"not rendered: {info['notRendered'] or info['error']}"
            )
            say(f"  {release} ({info['chart']} {info['version']}): {what}", "release")
        for release, info in releases.items():
            if info["rbac"]:
                say(f"RBAC rendered by {release}:", "heading")
                say("\n".join(f"  {line}" for line in _rbac_lines(info["rbac"])), "rbac")
        say()
        say("Data plane:", "heading")
        say("\n".join(f"  {line}" for line in data_plane_lines(result)), "data")
        say("Operate:", "heading")
        say("\n".join(f"  {line}" for line in operate_lines(result)), "data")
        say(f"Protected (pulumi destroy stops before deleting them): {len(protected) or 'none'}", "heading")
        for name in protected:
            say(f"  {name}")
        say("Validated:", "heading")
        for kind, n in sorted(report.validated.items()):
            say(f"  {n:3d}  {kind}", "count")
        if args.plan:
            from synth.schedule import gantt, plan_lines

            say()
            say("\n".join(plan_lines(result, parallel=args.parallel)), "plan")
            if args.plan_out:
                args.plan_out.write_text(gantt(result, parallel=args.parallel))
                say(f"Wrote the gantt to {args.plan_out}")
        say(f"Policy violations: {len(violations)}", "heading")
        for v in violations:
            say(
                f"  - {'MANDATORY' if v['mandatory'] else 'advisory'} [{v['policy']}] {v['urn']}: {v['message']}",
                "violation",
            )
        # near-identical warnings as one line each (synth/output.py), every error on its own line
        for line in finding_lines(report.findings):
            say(line, "finding")
        if not args.no_write:
            say(f"Wrote {len(written)} files to {out}")
        say(
            f"synth {config.stack}: {'FAILED' if failed else 'OK'} in {elapsed:.2f}s "
            f"({len(report.errors)} errors, {len(report.warnings)} warnings)",
            "summary",
        )
    return EXIT_INVALID if failed else EXIT_OK


def _diff(args: argparse.Namespace, config: StackConfig, settings: Any, sensitive: frozenset[str]) -> int:
    """--diff REV: the stack at REV against the working tree (synth/diff.py), as text, markdown
    or JSON, to stdout or to the file --out names."""
    from synth.diff import DiffError, format_markdown, format_text, run_diff, summary_line, to_json
    from synth.output import Printer
    from synth.stackfile import printable, redact

    def emit(text: str, stream: Any) -> None:
        print("\n".join(printable(line, 100_000) for line in text.split("\n")), file=stream, end="")

    try:
        result, hidden = run_diff(
            args.diff, config, settings.kubernetes_version, sensitive, PROJECT_DIR, args.allow_replace
        )
    except DiffError as err:
        emit(redact(f"error: {err}\n", sensitive), sys.stderr)
        return err.code
    matched = (
        {e.urn for e in result.entries}
        | {e.type for e in result.entries}
        | {e.old_urn for e in result.entries if e.old_urn}
    )
    result.warnings += [
        f"--allow-replace {a}: matches no resource in this diff" for a in args.allow_replace if a not in matched
    ]
    if args.json:
        text = json.dumps(to_json(result), indent=2) + "\n"
    elif args.format == "markdown":
        text = format_markdown(result)
    else:
        text = format_text(result)
    text = redact(text, hidden)
    if args.out:
        try:
            args.out.write_text(text)
        except OSError as err:
            print(f"error: cannot write {args.out}: {err.strerror}", file=sys.stderr)
            return EXIT_USAGE
        emit(redact(f"synth {config.stack} --diff: {summary_line(result)}; wrote {args.out}\n", hidden), sys.stdout)
    elif not args.json and args.format != "markdown" and (say := Printer()).coloured:
        say("\n".join(printable(line, 100_000) for line in text.removesuffix("\n").split("\n")), "diff")
    else:
        emit(text, sys.stdout)
    return result.exit_code


def data_plane_lines(result: Any) -> list[str]:
    """What the stack's data plane is, read from the registrations (not from the config): the
    network, the node pools, the metadata database, where task logs go, private endpoints and
    network policies; one line each, for a reviewer."""
    from policy.kube import lookup

    of = result.by_type  # RunResult's own lookup by type token

    lines: list[str] = []
    for vnet in of("azure-native:network:VirtualNetwork"):
        subnets = ", ".join(
            f"{s.get('name')} {s.get('addressPrefix')}"
            + (f" (delegated to {s['delegations'][0].get('serviceName')})" if s.get("delegations") else "")
            for s in vnet.inputs.get("subnets") or []
        )
        space = ", ".join(lookup(vnet.inputs, "addressSpace", "addressPrefixes") or [])
        lines.append(f"network: VNet {vnet.inputs.get('virtualNetworkName')} {space}: {subnets}")
    for aks in of("azure-native:containerservice:ManagedCluster"):
        profile = aks.inputs.get("networkProfile") or {}
        if profile:
            lines.append(
                "cluster network: "
                + ", ".join(
                    f"{k} {profile[k]}"
                    for k in ("networkPlugin", "networkPluginMode", "networkDataplane", "networkPolicy")
                    if profile.get(k)
                )
            )
        for pool in aks.inputs.get("agentPoolProfiles") or []:
            lines.append(f"pool {pool.get('name')} ({pool.get('mode')}): {pool.get('count')} x {pool.get('vmSize')}")
    for pool in of("azure-native:containerservice:AgentPool"):
        i = pool.inputs
        scale = (
            f"{i.get('minCount')}-{i.get('maxCount')} (autoscaler)" if i.get("enableAutoScaling") else i.get("count")
        )
        lines.append(f"pool {i.get('agentPoolName')} ({i.get('mode')}): {scale} x {i.get('vmSize')}")
    servers = of("azure-native:dbforpostgresql:Server")
    for server in servers:
        i = server.inputs
        ha = lookup(i, "highAvailability", "mode")
        standby = lookup(i, "highAvailability", "standbyAvailabilityZone")
        lines.append(
            f"database: PostgreSQL Flexible Server {i.get('version')}, {lookup(i, 'sku', 'tier')} "
            f"{lookup(i, 'sku', 'name')}, HA {ha}"
            + (f" (zone {i.get('availabilityZone')}, standby zone {standby})" if standby else "")
            + f", backups {lookup(i, 'backup', 'backupRetentionDays')} days"
            + f" (geo-redundant {lookup(i, 'backup', 'geoRedundantBackup')})"
            + f", public access {lookup(i, 'network', 'publicNetworkAccess')}"
            + f", {lookup(i, 'storage', 'storageSizeGB')} GiB (auto-grow {lookup(i, 'storage', 'autoGrow')})"
        )
    releases = [r for r in of("kubernetes:helm.sh/v3:Release") if r.inputs.get("chart") == "airflow"]
    for release in releases:
        values = release.inputs.get("values") or {}
        if lookup(values, "postgresql", "enabled") is not False:
            lines.append("database: the chart's bundled PostgreSQL (one pod; not for production)")
        elif not servers:
            lines.append(f"database: external, Secret {lookup(values, 'data', 'metadataSecretName')}")
        remote = str(lookup(values, "config", "logging", "remote_logging")).lower() == "true"
        accounts = of("azure-native:storage:StorageAccount")
        shared_key = "off" if all(a.inputs.get("allowSharedKeyAccess") is False for a in accounts) else "on"
        if remote:
            lines.append(
                "task logs: Airflow remote logging to Blob container "
                f"{lookup(values, 'config', 'azure_remote_logging', 'remote_wasb_log_container')} through workload "
                f"identity; shared-key access {shared_key}"
            )
        else:
            lines.append(
                f"task logs: Blob CSI volume, claim {lookup(values, 'logs', 'persistence', 'existingClaim')}, "
                f"mounted with the account key; shared-key access {shared_key}"
            )
        policies = "on" if lookup(values, "networkPolicies", "enabled") is True else "off"
        own = sorted(
            str(lookup(r.inputs, "metadata", "name")) for r in of("kubernetes:networking.k8s.io/v1:NetworkPolicy")
        )
        lines.append(f"network policies: the chart's {policies}; the stack's: {', '.join(own) or 'none'}")
    for blob in of("azure-native:storage:BlobServiceProperties"):
        i = blob.inputs

        def kept(policy: Any) -> str:
            return f"{policy.get('days')} days" if isinstance(policy, dict) and policy.get("enabled") else "off"

        lines.append(
            f"log backups: blob soft delete {kept(i.get('deleteRetentionPolicy'))}, container soft delete "
            f"{kept(i.get('containerDeleteRetentionPolicy'))}, versioning "
            f"{'on' if i.get('isVersioningEnabled') is True else 'off'}"
        )
    endpoints = of("azure-native:network:PrivateEndpoint")
    groups = sorted(
        g
        for e in endpoints
        for c in e.inputs.get("privateLinkServiceConnections") or []
        for g in c.get("groupIds") or []
    )
    lines.append(f"private endpoints: {', '.join(groups) if groups else 'none (public endpoints)'}")
    return lines


def operate_lines(result: Any) -> list[str]:
    """How the stack is operated, read from the registrations: metrics and alerts, container
    logs, dashboards, and how the UI is reached; one line each, for a reviewer."""
    from plan import SCRAPE_CONFIGMAP
    from policy.kube import lookup

    of = result.by_type
    lines: list[str] = []
    workspaces = of("azure-native:monitor:AzureMonitorWorkspace")
    groups = of("azure-native:alertsmanagement:PrometheusRuleGroup")
    if workspaces:
        rules = [r for g in groups for r in g.inputs.get("rules") or [] if r.get("alert")]
        notified = sorted({a.get("actionGroupId") for r in rules for a in r.get("actions") or []})
        jobs = [
            c for c in of("kubernetes:core/v1:ConfigMap") if lookup(c.inputs, "metadata", "name") == SCRAPE_CONFIGMAP
        ]
        workspace = workspaces[0].inputs.get("azureMonitorWorkspaceName")
        lines.append(
            f"metrics: managed Prometheus to Azure Monitor workspace {workspace}"
            + (", the agent's custom scrape config (Airflow's statsd exporter)" if jobs else ", no custom scrape")
        )
        lines.append(
            f"alerts: {len(rules)} Prometheus rules in {len(groups)} groups"
            + (f" ({', '.join(sorted(str(g.inputs.get('ruleGroupName')) for g in groups))})" if groups else "")
            + f", {len(of('azure-native:monitor:MetricAlert'))} metric alert(s); notify: "
            + (", ".join(str(n).rsplit("/", 1)[-1] for n in notified) if notified else "nobody (no action group)")
        )
    else:
        lines.append("metrics: none (the statsd exporter runs; nothing scrapes it)")
    logs = of("azure-native:operationalinsights:Workspace")
    lines.append(
        f"container logs: Container Insights to Log Analytics {logs[0].inputs.get('workspaceName')}, "
        f"{logs[0].inputs.get('retentionInDays')} days"
        if logs
        else "container logs: none kept (kubectl logs while the pod lives)"
    )
    grafana = of("azure-native:dashboard:Grafana")
    lines.append(
        f"dashboards: Azure Managed Grafana {grafana[0].inputs.get('workspaceName')} "
        "(import monitoring/dashboards/airflow.json)"
        if grafana
        else "dashboards: none"
    )
    ui = "port-forward only"
    for aks in of("azure-native:containerservice:ManagedCluster"):
        routing = lookup(aks.inputs, "ingressProfile", "webAppRouting") or {}
        if routing.get("enabled"):
            kind = lookup(routing, "nginx", "defaultIngressControllerType")
            hosts = [
                h.get("name")
                for r in of("kubernetes:helm.sh/v3:Release")
                if r.inputs.get("chart") == "airflow"
                for spec in (lookup(r.inputs, "values", "ingress") or {}).values()
                if isinstance(spec, dict) and spec.get("enabled")
                for h in spec.get("hosts") or []
            ]
            ui = f"https://{', '.join(map(str, hosts)) or '?'} through application routing ({kind} load balancer)"
    lines.append(f"UI: {ui}")
    return lines


def _write_mirrors(mirrors: dict[str, str | None], out: Path) -> Path:
    """images.txt: `<upstream image> <repository:tag in the registry>` per line, for
    `az acr import`; a custom image (no upstream) is a comment to build and push it."""
    lines = ["# upstream image, then repository:tag in the registry (az acr import --source ... --image ...)"]
    for target, source in sorted(mirrors.items()):
        lines.append(f"{source} {target}" if source else f"# build and push yourself: {target}")
    path = out / "images.txt"
    path.write_text("\n".join(lines) + "\n")
    return path


def _policy_violations(result: Any, registry: str) -> list[dict[str, Any]]:
    from policy.rules import PolicyConfig, PolicyResource, evaluate

    resources = [PolicyResource(r.urn, r.type, r.name, r.inputs, r.protect) for r in result.records if r.custom]
    return [
        {"policy": v.policy, "urn": v.urn, "message": v.message, "mandatory": v.mandatory}
        for v in evaluate(resources, PolicyConfig(registry=registry), result.outputs)
    ]


def _chart_summary(rendered: Any) -> dict[str, dict[str, Any]]:
    """Per Helm release: rendered or why not, objects by kind, render time, RBAC."""
    from synth.helm import rbac_summary

    out: dict[str, dict[str, Any]] = {}
    for release, rel in sorted(rendered.charts.items()):
        kinds: dict[str, int] = {}
        for _, obj in rel.objects:
            kinds[str(obj.get("kind"))] = kinds.get(str(obj.get("kind")), 0) + 1
        out[release] = {
            "chart": rel.chart,
            "version": rel.version,
            "rendered": rel.rendered,
            "notRendered": rel.not_rendered,
            "error": rel.error,
            "objects": len(rel.objects),
            "podTemplates": len(rel.pods),
            # the charts' CustomResourceDefinitions are written as rendered, not schema-validated
            "crdsNotSchemaValidated": len(rel.crd_texts),
            "kinds": dict(sorted(kinds.items())),
            "seconds": round(rel.seconds, 3),
            "rbac": rbac_summary(rel.objects),
        }
    return out


def _rbac_lines(entries: list[dict[str, Any]]) -> list[str]:
    lines = []
    for e in entries:
        where = f"{e['namespace']}/" if e.get("namespace") else ""
        name = f"{e['kind']} {where}{e['name']}"
        if "rules" in e:
            into = f" (aggregated into: {', '.join(e['aggregatedInto'])})" if e.get("aggregatedInto") else ""
            lines.append(f"{name}{into}: {' | '.join(e['rules']) or 'no rules'}")
        else:
            lines.append(f"{name}: {e['role']} -> {', '.join(e['subjects']) or 'nobody'}")
    return lines


def _summary(
    stack: str,
    rendered: Any,
    report: Any,
    violations: list[dict[str, Any]],
    out: Path,
    written: list[Path],
    elapsed: float,
    failed: bool,
) -> dict[str, Any]:
    return {
        "stack": stack,
        "ok": not failed,
        "seconds": round(elapsed, 3),
        "resources": rendered.counts,
        "kubernetesObjects": sorted(rendered.manifests),
        "helmReleases": rendered.helm_meta,
        "validated": dict(sorted(report.validated.items())),
        "errors": [str(f) for f in report.errors],
        "warnings": [str(f) for f in report.warnings],
        "policyViolations": violations,
        "out": str(out),
        "files": [str(p) for p in written],
    }


def exit_now(code: int) -> None:
    """End `python -m synth` without the interpreter's teardown of the ~3,000 modules the SDKs
    load (22 ms of every run, measured from main's return to the process's end). Nothing is
    left to finish: synth's files are closed and its Helm workers stopped when main returns;
    the standard streams are flushed here, and output that cannot be written is exit 120, as
    the interpreter's own exit would make it."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except OSError:  # a full disk, a closed pipe: the output is incomplete
            code = EXIT_OUTPUT_LOST
    os._exit(code)


if __name__ == "__main__":
    try:
        exit_now(main())
    except BrokenPipeError:  # `python -m synth dev | head`: the reader left; no traceback for that
        with contextlib.suppress(OSError):  # nothing more can reach that reader
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        exit_now(EXIT_OUTPUT_LOST)

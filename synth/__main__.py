"""python -m synth <stack>: render and validate a whole stack offline (like `cdk synth`).

Exit codes: 0 valid; 1 validation (or the program) failed; 2 bad usage or bad config.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from synth.project import PROJECT_DIR, StackNotFoundError, load_stack_config, stack_config_from_file
from synth.reference import OFFLINE_VAR

EXIT_OK, EXIT_INVALID, EXIT_USAGE = 0, 1, 2


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m synth", description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("stack", help="stack name: reads Pulumi.<stack>.yaml")
    p.add_argument("--stack-file", type=Path, help="read this stack file instead of Pulumi.<stack>.yaml")
    p.add_argument("--out", type=Path, help="output directory (default: build/<stack>)")
    p.add_argument("--json", action="store_true", help="print a machine-readable summary instead of the tree")
    p.add_argument("--strict", action="store_true", help="a missing reference schema is an error, not a warning")
    p.add_argument("--no-write", action="store_true", help="validate only; write no files")
    p.add_argument(
        "--offline",
        action="store_true",
        help="never download a missing reference schema (same as AIRFLOW_AKS_OFFLINE=1)",
    )
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    started = time.perf_counter()
    if args.offline:
        os.environ[OFFLINE_VAR] = "1"
    try:
        config = (
            stack_config_from_file(args.stack_file, PROJECT_DIR, args.stack)
            if args.stack_file
            else load_stack_config(args.stack)
        )
    except StackNotFoundError as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_USAGE
    except (OSError, ValueError) as err:
        print(f"error: cannot read the stack file: {err}", file=sys.stderr)
        return EXIT_USAGE

    from settings import ConfigError, parse_settings

    try:
        settings = parse_settings(config.stack, config.values)
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_USAGE

    from synth import helm
    from synth.render import render, tree, write
    from synth.runner import run_stack
    from synth.validate import check_charts, validate

    try:
        result = run_stack(config)
    except Exception as err:  # noqa: BLE001 - the program's own failure, reported without a traceback
        print(f"error: the program failed under mocks: {type(err).__name__}: {err}", file=sys.stderr)
        return EXIT_INVALID
    rendered = render(result)
    charts = helm.start_rendering(rendered, settings.kubernetes_version)  # meanwhile: the checks below
    mirrors = _image_mirrors(settings)
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
    rendered.charts = charts.result()
    check_charts(
        result,
        rendered,
        report,
        kubernetes_version=settings.kubernetes_version,
        registry=settings.registry_server,
        mirrors=mirrors,
    )
    out = args.out or PROJECT_DIR / "build" / config.stack
    written = [] if args.no_write else [*write(rendered, out), _write_mirrors(mirrors, out)]
    elapsed = time.perf_counter() - started
    failed = bool(report.errors) or any(v["mandatory"] for v in violations)

    releases = _chart_summary(rendered)
    if args.json:
        summary = _summary(config.stack, rendered, report, violations, out, written, elapsed, failed)
        summary.update(helmEngine=helm.engine_name(), helmRenders=releases)
        print(json.dumps(summary, indent=2))
    else:
        print(tree(result))
        print()
        print(
            f"Resources: {sum(rendered.counts.values())} ({len(rendered.manifests)} Kubernetes objects, "
            f"{len(rendered.helm)} Helm releases)"
        )
        for typ, n in rendered.counts.items():
            print(f"  {n:3d}  {typ}")
        print()
        print(f"Helm engine: {helm.engine_name() or 'none'}")
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
            print(f"  {release} ({info['chart']} {info['version']}): {what}")
        for release, info in releases.items():
            if info["rbac"]:
                print(f"RBAC rendered by {release}:")
                print("\n".join(f"  {line}" for line in _rbac_lines(info["rbac"])))
        print()
        print("Validated:")
        for kind, n in sorted(report.validated.items()):
            print(f"  {n:3d}  {kind}")
        print(f"Policy violations: {len(violations)}")
        for v in violations:
            print(f"  - {'MANDATORY' if v['mandatory'] else 'advisory'} [{v['policy']}] {v['urn']}: {v['message']}")
        for f in report.warnings:
            print(f"warning: {f}")
        for f in report.errors:
            print(f"error: {f}")
        if not args.no_write:
            print(f"Wrote {len(written)} files to {out}")
        print(
            f"synth {config.stack}: {'FAILED' if failed else 'OK'} in {elapsed:.2f}s "
            f"({len(report.errors)} errors, {len(report.warnings)} warnings)"
        )
    return EXIT_INVALID if failed else EXIT_OK


def _image_mirrors(settings: Any) -> dict[str, str | None]:
    from components.airflow_values import image_mirrors
    from components.secrets_operator import eso_image_mirrors

    return {**image_mirrors(settings), **eso_image_mirrors(settings.secrets_operator_chart_version)}


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

    resources = [PolicyResource(r.urn, r.type, r.name, r.inputs) for r in result.records if r.custom]
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


if __name__ == "__main__":
    sys.exit(main())

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

    from synth.render import render, tree, write
    from synth.runner import run_stack
    from synth.validate import validate

    try:
        result = run_stack(config)
    except Exception as err:  # noqa: BLE001 - the program's own failure, reported without a traceback
        print(f"error: the program failed under mocks: {type(err).__name__}: {err}", file=sys.stderr)
        return EXIT_INVALID
    rendered = render(result)
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
    out = args.out or PROJECT_DIR / "build" / config.stack
    written = [] if args.no_write else [*write(rendered, out), _write_mirrors(mirrors, out)]
    elapsed = time.perf_counter() - started
    failed = bool(report.errors) or any(v["mandatory"] for v in violations)

    if args.json:
        print(json.dumps(_summary(config.stack, rendered, report, violations, out, written, elapsed, failed), indent=2))
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

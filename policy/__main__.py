"""CrossGuard entry point: `pulumi preview --policy-pack policy --policy-pack-config <file>`.

A thin adapter over :mod:`rules`: one CrossGuard policy per :data:`rules.POLICIES` entry, all
mandatory. The only module that imports pulumi_policy; nothing imports this file (constructing
`PolicyPack` starts the analyzer's gRPC server and blocks).

What CrossGuard cannot see and only the offline run (synth) checks: the Python SDK hands
validations plaintext with the secret markers stripped, and stack outputs are not analyzed at
all. So "no-unmarked-credentials" checks Helm values for credential material here, while "is
this value marked secret" (Key Vault secrets, provider kubeconfig, Kubernetes Secrets, stack
outputs) runs in synth only. See README.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    PolicyPack,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy import Policy as CrossGuardPolicy

if __package__:  # python -m policy (from the repository root)
    from policy import rules
else:  # the Pulumi CLI runs this directory as a script, with the directory on sys.path
    import rules  # type: ignore[no-redef]

PACK_NAME = "airflow-aks-guardrails"
# Policy config (per policy, as CrossGuard scopes it): the registry and the chart pins.
CONFIGURED_POLICY = "helm-pinned-sources"
CONFIG_SCHEMA = PolicyConfigSchema(
    properties={
        "registry": {"type": "string", "minLength": 1, "description": "ACR login server, e.g. myacr.azurecr.io"},
        "charts": {
            "type": "object",
            "description": "chart name -> {repo, version (one, or a list)}; defaults to the pins in policy/rules.py",
            "additionalProperties": {
                "type": "object",
                "properties": {
                    "repo": {"type": "string"},
                    "version": {"type": ["string", "array"], "items": {"type": "string"}, "minItems": 1},
                },
                "required": ["repo", "version"],
            },
        },
    },
    required=["registry"],
)


def _stacks_schema(key: str, whose: str) -> PolicyConfigSchema:
    """A policy's one setting: the stack names it applies to (default: prod)."""
    description = f'stack names whose {whose}; default ["prod"]'
    setting = {"type": "array", "items": {"type": "string"}, "description": description}
    return PolicyConfigSchema(properties={key: setting})


# Which stacks must protect their stateful resources.
PROTECTION_POLICY = "stateful-resources-protected"
PROTECTION_SCHEMA = _stacks_schema("protectedStacks", "stateful resources must be protected")
# The production stacks: one setting, isolatedStacks (rules.PolicyConfig.isolated_stacks), read by
# every production-* policy. CrossGuard scopes config per policy, so each of them declares it and
# a list other than the default goes into each of their blocks.
PRODUCTION_SCHEMAS = {
    "production-network-isolation": _stacks_schema(
        "isolatedStacks", "AKS clusters must join the stack's network with a policy engine"
    ),
    "production-managed-database": _stacks_schema(
        "isolatedStacks", "Airflow must use a zone-redundant, backed-up, private PostgreSQL Flexible Server"
    ),
    "production-observed": _stacks_schema(
        "isolatedStacks", "clusters must send metrics and container logs to Azure Monitor and the UI serve TLS only"
    ),
    "production-no-shared-key": _stacks_schema(
        "isolatedStacks", "storage accounts must refuse shared keys and Key Vault must hold no account key"
    ),
    "production-private-paas": _stacks_schema(
        "isolatedStacks", "Key Vaults and storage accounts must refuse public network access"
    ),
}
# Each configurable policy's schema, resource and stack policies alike.
SCHEMAS = {CONFIGURED_POLICY: CONFIG_SCHEMA, PROTECTION_POLICY: PROTECTION_SCHEMA, **PRODUCTION_SCHEMAS}


def _stacks(raw: Any, default: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(str(s) for s in raw) if isinstance(raw, list) else default


def _versions(raw: Any) -> str | tuple[str, ...]:
    return tuple(str(v) for v in raw) if isinstance(raw, list) else str(raw)


def policy_config(raw: Mapping[str, Any] | None) -> rules.PolicyConfig:
    raw = raw or {}
    charts = raw.get("charts")
    pins = (
        {name: (str(pin["repo"]), _versions(pin["version"])) for name, pin in charts.items()}
        if isinstance(charts, Mapping)
        else dict(rules.DEFAULT_CHARTS)
    )
    # CrossGuard strips secret markers before validations run: skip the "is it marked" checks.
    return rules.PolicyConfig(
        registry=str(raw.get("registry") or ""),
        charts=pins,
        secret_markers=False,
        protected_stacks=_stacks(raw.get("protectedStacks"), rules.PolicyConfig.protected_stacks),
        isolated_stacks=_stacks(raw.get("isolatedStacks"), rules.PolicyConfig.isolated_stacks),
    )


def _resource(urn: str, typ: str, name: str, props: Mapping[str, Any], opts: Any) -> rules.PolicyResource:
    # props is CrossGuard's unknown-checking proxy (a Mapping): rules only read it as a Mapping.
    return rules.PolicyResource(urn, typ, name, cast(dict[str, Any], props), bool(getattr(opts, "protect", False)))


def _resource_policy(policy: rules.Policy) -> ResourceValidationPolicy:
    check = policy.resource_check
    assert check is not None

    def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
        resource = _resource(args.urn, args.resource_type, args.name, args.props, args.opts)
        for message in check(resource, policy_config(args.get_config())):
            report_violation(message, None)

    return ResourceValidationPolicy(
        name=policy.name,
        description=policy.rationale,
        validate=validate,
        enforcement_level=EnforcementLevel.MANDATORY,
        config_schema=SCHEMAS.get(policy.name),
    )


def _stack_policy(policy: rules.Policy) -> StackValidationPolicy:
    check = policy.stack_check
    assert check is not None

    def validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
        resources = [_resource(r.urn, r.resource_type, r.name, r.props, r.opts) for r in args.resources]
        for urn, message in check(resources, policy_config(args.get_config())):
            report_violation(message, urn)

    return StackValidationPolicy(
        name=policy.name,
        description=policy.rationale,
        validate=validate,
        enforcement_level=EnforcementLevel.MANDATORY,
        config_schema=SCHEMAS.get(policy.name),
    )


def crossguard_policies() -> list[CrossGuardPolicy]:
    names = {policy.name for policy in rules.POLICIES}
    if unknown := sorted(set(SCHEMAS) - names):
        raise ValueError(f"config schemas for no policy of rules.POLICIES: {', '.join(unknown)}")
    policies: list[CrossGuardPolicy] = []
    for policy in rules.POLICIES:
        if policy.resource_check is not None and policy.stack_check is not None:
            raise ValueError(f"{policy.name}: a CrossGuard policy is either per resource or per stack")
        if policy.resource_check is not None:
            policies.append(_resource_policy(policy))
        elif policy.stack_check is not None:
            policies.append(_stack_policy(policy))
        # outputs_check alone: nothing CrossGuard can run (it never sees stack outputs)
    return policies


if __name__ == "__main__":
    PolicyPack(name=PACK_NAME, policies=crossguard_policies(), enforcement_level=EnforcementLevel.MANDATORY)

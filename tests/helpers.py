"""Shared test helpers: run code under the SAME mocks synth uses, resolve Outputs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import pulumi
from pulumi.runtime.sync_await import _sync_await

from config import Settings, parse_settings
from plan import StackPlan, build_plan
from synth.mocks import Secret
from synth.project import load_stack_config
from synth.runner import ResourceRecord, RunResult, run

T = TypeVar("T")


def dev_values(**overrides: str) -> dict[str, str]:
    values = dict(load_stack_config("dev").values)
    values.update({f"airflow-aks:{k}": v for k, v in overrides.items()})
    return values


def settings_for(**overrides: str) -> Settings:
    """The dev stack's settings with some keys overridden (engine encoding: strings)."""
    return parse_settings("dev", dev_values(**overrides))


def plan_for(**overrides: str) -> StackPlan:
    """The plan of the dev stack's settings with some keys overridden."""
    return build_plan(settings_for(**overrides))


def run_component(build: Callable[[], T]) -> tuple[RunResult, T]:
    """Run `build` under the mock runtime; return everything registered and what it built."""
    built: dict[str, T] = {}

    def program() -> None:
        built["value"] = build()

    result = run(program, "airflow-aks", "test", {"azure-native:location": "eastus"})
    return result, built["value"]


def resolve(output: Any) -> Any:
    """The resolved value of an Output (after a run every Output is known)."""
    return _sync_await(pulumi.Output.from_input(output).future())


def is_secret_output(output: Any) -> bool:
    return bool(_sync_await(pulumi.Output.from_input(output).is_secret()))


def provider() -> Any:
    import pulumi_kubernetes as k8s

    return k8s.Provider("test-k8s", kubeconfig=pulumi.Output.secret("apiVersion: v1\nkind: Config\n"))


def get(value: Any, *path: str) -> Any:
    for key in path:
        value = value[key]
    return value


def secret_paths(value: Any, path: str = "") -> list[str]:
    """Paths of every value marked secret."""
    if isinstance(value, Secret):
        return [path or "(root)"]
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in secret_paths(v, f"{path}.{k}" if path else k)]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in secret_paths(v, f"{path}[{i}]")]
    return []


def plain_strings(value: Any) -> list[str]:
    """Every string NOT under a secret marker."""
    if isinstance(value, Secret):
        return []
    if isinstance(value, dict):
        return [s for v in value.values() for s in plain_strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in plain_strings(v)]
    return [value] if isinstance(value, str) else []


def unmarked_leaks(result: RunResult) -> list[str]:
    """Resources and non-secret outputs that carry a credential the mocks produced, unmarked."""
    sensitive = result.mocks.sensitive_values
    leaks = [
        f"{rec.type}::{rec.name}"
        for rec in result.records
        if any(v in s for s in plain_strings(rec.inputs) for v in sensitive)
    ]
    leaks += [
        f"output {name}"
        for name, (value, secret) in result.outputs.items()
        if not secret and any(v in s for s in plain_strings(value) for v in sensitive)
    ]
    return leaks


def deps_of(result: RunResult, record: ResourceRecord) -> set[str]:
    """type::name of each resource `record` depends on."""
    by_urn = result.by_urn()
    return {f"{by_urn[d].type}::{by_urn[d].name}" for d in record.dependencies if d in by_urn}


def mutate_airflow_values(monkeypatch: Any, mutate: Callable[[dict[str, Any]], object]) -> None:
    """Inject a fault a typed stack file cannot express: the values builder's output, changed
    (`monkeypatch` is pytest's fixture)."""
    from components import airflow_values as values_module

    real = values_module.airflow_values

    def mutated(settings: Settings, plan: StackPlan) -> dict[str, Any]:
        values = real(settings, plan)
        mutate(values)
        return values

    monkeypatch.setattr(values_module, "airflow_values", mutated)

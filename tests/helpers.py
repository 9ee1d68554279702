"""Shared test helpers: run code under the SAME mocks synth uses, resolve Outputs."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pulumi
from pulumi.runtime.sync_await import _sync_await

from config import Settings, parse_settings
from plan import StackPlan, build_plan
from synth.mocks import Secret
from synth.project import StackConfig, load_stack_config, stack_config_from_file
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

    def mutated(settings: Settings, plan: StackPlan, *args: Any) -> dict[str, Any]:
        values = real(settings, plan, *args)
        mutate(values)
        return values

    monkeypatch.setattr(values_module, "airflow_values", mutated)


# ------------------------------------------------------------------ stacks whose names all differ
STACKS_DIR = Path(__file__).resolve().parent / "stacks"


@dataclass(frozen=True)
class Distinct:
    """What one test-only stack file (tests/stacks/Pulumi.<stack>.yaml) says, written out as
    literals: the names the program must place, each in its own field. Every pair a swapped
    argument could confuse differs (in the dev stack the namespace, the Airflow release and the
    ServiceAccount are all `airflow`, so a swap among them passes unseen)."""

    stack: str
    location: str
    namespace: str
    operator_namespace: str  # README: ESO runs in `<namespace>-eso`
    service_account: str
    resource_group: str
    cluster: str
    cluster_resource_group: str
    cluster_mode: str
    acr: str
    acr_resource_group: str
    logs_container: str
    admin_username: str
    admin_email: str
    chart_version: str
    ui_service: str  # the Service the chart serves the UI from (webserver / api-server)
    # Fixed by the project, not settings: the Airflow release (README "Stack outputs") and the
    # ESO release, whose controller ServiceAccount the chart names after it.
    airflow_release: str = "airflow"
    operator_release: str = "external-secrets"

    @property
    def registry_server(self) -> str:
        return f"{self.acr}.azurecr.io"

    def stack_file(self) -> Path:
        return STACKS_DIR / f"Pulumi.{self.stack}.yaml"

    def config(self) -> StackConfig:
        return stack_config_from_file(self.stack_file(), stack=self.stack)


DISTINCT = {
    d.stack: d
    for d in (
        Distinct(
            stack="distinct",
            location="westeurope",
            namespace="data-platform",
            operator_namespace="data-platform-eso",
            service_account="airflow-wi",
            resource_group="analytics-rg",
            cluster="analytics-aks",
            cluster_resource_group="analytics-rg",  # a created cluster lives in the stack's group
            cluster_mode="create",
            acr="corpmirroracr",
            acr_resource_group="registry-rg",
            logs_container="task-logs",
            admin_username="opsadmin",
            admin_email="ops.team@corp.example.org",
            chart_version="1.15.0",
            ui_service="webserver",
        ),
        Distinct(
            stack="distinct3",
            location="northeurope",
            namespace="ml-jobs",
            operator_namespace="ml-jobs-eso",
            service_account="kv-reader",
            resource_group="ml-platform-rg",
            cluster="shared-aks",
            cluster_resource_group="platform-rg",
            cluster_mode="existing",
            acr="mlmirroracr",
            acr_resource_group="ml-registry-rg",
            logs_container="airflow-task-logs",
            admin_username="mlops_admin",
            admin_email="ml-ops+airflow@research.example.net",
            chart_version="1.19.0",
            ui_service="api-server",
        ),
    )
}


# ------------------------------------------------------------------ what a Helm release renders
def render_release(record: ResourceRecord, kube_version: str, *, upgrade: bool = False) -> list[dict[str, Any]]:
    """The objects the REAL chart renders for a registered helm.sh/v3 Release: its chart,
    version and values, under the release name and namespace the program registered (a swap
    of the two renders the chart under the wrong ones). Skips without a Helm engine."""
    import pytest

    from synth import helm

    inputs = record.inputs
    try:
        return helm.render_objects(
            inputs["chart"],
            inputs["version"],
            inputs["values"],
            release=inputs["name"],
            namespace=inputs["namespace"],
            kube_version=kube_version,
            upgrade=upgrade,
        )
    except helm.NotRendered as err:  # pragma: no cover - the dev requirements install the engine
        pytest.skip(str(err))


WORKLOAD_KINDS = ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet")


def workloads(objs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rendered objects that run long-lived pods from a template."""
    return [o for o in objs if o.get("kind") in WORKLOAD_KINDS]


def selects(selector: dict[str, Any] | None, labels: dict[str, str]) -> bool:
    """Kubernetes' label selector semantics (meta/v1 LabelSelector): every matchLabels pair
    and every matchExpressions requirement holds; an empty selector selects everything, a
    null one nothing."""
    if selector is None:
        return False
    if any(labels.get(key) != value for key, value in (selector.get("matchLabels") or {}).items()):
        return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr["key"], expr["operator"], expr.get("values") or []
        held = {
            "In": key in labels and labels[key] in values,
            "NotIn": key not in labels or labels[key] not in values,
            "Exists": key in labels,
            "DoesNotExist": key not in labels,
        }[op]
        if not held:
            return False
    return True


# ------------------------------------------------------------------ Azure's naming rules
# Microsoft, "Naming rules and restrictions for Azure resources"
# (https://learn.microsoft.com/azure/azure-resource-manager/management/resource-name-rules):
#   Microsoft.KeyVault/vaults: 3-24 characters; alphanumerics and hyphens; start with a letter,
#   end with a letter or digit; can't contain consecutive hyphens (globally unique).
#   Microsoft.Storage/storageAccounts: 3-24 characters; lowercase letters and numbers (global).
# "Alphanumeric" there is a-z, A-Z and 0-9 only (ASCII: str.isalnum would also pass 'é').
_ASCII_LOWER = "abcdefghijklmnopqrstuvwxyz"
_ASCII_LETTERS = _ASCII_LOWER + _ASCII_LOWER.upper()
_ASCII_DIGITS = "0123456789"
_ASCII_ALNUM = _ASCII_LETTERS + _ASCII_DIGITS


def key_vault_name_problems(name: str) -> list[str]:
    out = []
    if not 3 <= len(name) <= 24:
        out.append(f"{name!r}: {len(name)} characters, not 3-24")
    if any(c not in _ASCII_ALNUM + "-" for c in name):
        out.append(f"{name!r}: a character other than letters, digits and hyphens")
    if not name[:1] or name[0] not in _ASCII_LETTERS:
        out.append(f"{name!r}: does not start with a letter")
    if not name[-1:] or name[-1] not in _ASCII_ALNUM:
        out.append(f"{name!r}: does not end with a letter or digit")
    if "--" in name:
        out.append(f"{name!r}: consecutive hyphens")
    return out


def storage_account_name_problems(name: str) -> list[str]:
    out = []
    if not 3 <= len(name) <= 24:
        out.append(f"{name!r}: {len(name)} characters, not 3-24")
    if any(c not in _ASCII_LOWER + _ASCII_DIGITS for c in name):
        out.append(f"{name!r}: a character other than lowercase letters and digits")
    return out


def random_string_alphabet(inputs: dict[str, Any]) -> str:
    """Every character pulumi_random's RandomString may put in its result for these inputs,
    by the provider's own documentation (the SDK's RandomStringArgs docstring: which character
    classes are on by default, and the default special characters), not by what the mocks do."""
    import re

    import pulumi_random as random

    doc = random.RandomStringArgs.__init__.__doc__ or ""

    def default(option: str) -> bool:
        found = re.search(rf":param [^\n]*\b{option}: [^\n]*Default value is `(true|false)`", doc)
        assert found, f"the SDK no longer documents the default of {option}"
        return found[1] == "true"

    specials = re.search(r"\bspecial: Include special characters in the result\. These are `([^`]+)`", doc)
    assert specials, "the SDK no longer documents the special characters"
    numeric = inputs.get("numeric", inputs.get("number", default("numeric")))
    alphabet = _ASCII_LOWER if inputs.get("lower", default("lower")) else ""
    alphabet += _ASCII_LETTERS[26:] if inputs.get("upper", default("upper")) else ""
    alphabet += _ASCII_DIGITS if numeric else ""
    if inputs.get("special", default("special")):
        alphabet += inputs.get("overrideSpecial") or specials[1]
    return alphabet


def names_a_suffix_could_make(name: str, suffix: str, alphabet: str) -> list[str]:
    """`name` with its generated `suffix` replaced by what the generator could have drawn: each
    character of `alphabet` at each position (the rest as generated). Name rules here are about
    which characters, where, and neighbours, so these cover every way a draw can break them."""
    start = name.rindex(suffix)
    head, tail = name[:start], name[start + len(suffix) :]
    return [head + suffix[:i] + char + suffix[i + 1 :] + tail for i in range(len(suffix)) for char in alphabet]

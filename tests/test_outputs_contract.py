"""The outputs contract: what other stacks read through a StackReference (README: "Stack
outputs"), pinned here as literal tables, one per stack file.

For every stack file (Pulumi.<stack>.yaml at the root), the outputs its run exports must be
exactly its table: an added, removed or renamed output, a changed type (a dict's keys
included) or a changed secret flag fails, naming the output. The README table lists exactly
the contract's names (and marks exactly its secret ones); every `pulumi.export` in
__main__.py is in the contract, the ones no stack file exercises as CONDITIONAL_OUTPUTS.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pulumi
import pytest

from synth.project import PROJECT_DIR, load_stack_config
from synth.runner import RunResult, run_stack

# A type: `str` (and the like), or a dict with exactly these keys, each of its type.
OutputType = type | Mapping[str, Any]
SECRET, PLAIN = True, False

ADMIN_CREDENTIALS = {"namespace": str, "name": str, "passwordKey": str, "username": str}

# The outputs every stack file exports today: name -> (type, secret).
COMMON: dict[str, tuple[OutputType, bool]] = {
    "resourceGroupName": (str, PLAIN),
    "clusterName": (str, PLAIN),
    "clusterResourceGroup": (str, PLAIN),
    "oidcIssuerUrl": (str, PLAIN),
    "kubeconfig": (str, SECRET),
    "namespace": (str, PLAIN),
    "serviceAccountName": (str, PLAIN),
    "identityClientId": (str, PLAIN),
    "identityPrincipalId": (str, PLAIN),
    "keyVaultName": (str, PLAIN),
    "keyVaultUri": (str, PLAIN),
    "logsStorageAccount": (str, PLAIN),
    "logsContainer": (str, PLAIN),
    "airflowReleaseName": (str, PLAIN),
    "airflowUiPortForward": (str, PLAIN),
    "adminCredentialsSecret": (ADMIN_CREDENTIALS, PLAIN),
}

# One table per stack file: a stack whose outputs differ gets its own literal table.
# prod operates: monitoring, Container Insights, Grafana and the UI over TLS.
OPERATE: dict[str, tuple[OutputType, bool]] = {
    "airflowUiUrl": (str, PLAIN),
    "airflowUiCertificate": (str, PLAIN),
    "azureMonitorWorkspaceId": (str, PLAIN),
    "prometheusQueryEndpoint": (str, PLAIN),
    "alertRuleGroups": (list, PLAIN),
    "logAnalyticsWorkspaceId": (str, PLAIN),
    "grafanaEndpoint": (str, PLAIN),
}

CONTRACT: dict[str, dict[str, tuple[OutputType, bool]]] = {
    "dev": COMMON,
    "prod": {**COMMON, **OPERATE},
}

# Outputs the program exports only under a configuration no stack file above uses:
# name -> (type, secret, when).
CONDITIONAL_OUTPUTS: dict[str, tuple[OutputType, bool, str]] = {
    "dagsDeployPublicKey": (str, PLAIN, "an SSH dagsGitRepo: the deploy key's public half"),
}


def stack_files(project_dir: Path = PROJECT_DIR) -> list[str]:
    return sorted(p.name[len("Pulumi.") : -len(".yaml")] for p in project_dir.glob("Pulumi.*.yaml"))


def all_contract_names() -> set[str]:
    return {name for table in CONTRACT.values() for name in table} | set(CONDITIONAL_OUTPUTS)


def all_secret_names() -> set[str]:
    secret = {name for table in CONTRACT.values() for name, (_, s) in table.items() if s}
    return secret | {name for name, (_, s, _) in CONDITIONAL_OUTPUTS.items() if s}


# ------------------------------------------------------------------ the checks (pure)
def _type_name(expected: OutputType) -> str:
    if isinstance(expected, Mapping):
        return "dict {" + ", ".join(f"{k}: {_type_name(v)}" for k, v in expected.items()) + "}"
    return expected.__name__


def type_problems(expected: OutputType, value: Any, where: str) -> list[str]:
    """How `value` differs from `expected` (exact types: a bool is not an int)."""
    if isinstance(expected, Mapping):
        if type(value) is not dict:
            return [f"{where}: {_type_name(expected)} expected, got {type(value).__name__}"]
        problems = [f"{where}: key {k!r} missing" for k in expected if k not in value]
        problems += [f"{where}: key {k!r} not in the contract" for k in value if k not in expected]
        for key in (k for k in expected if k in value):
            problems += type_problems(expected[key], value[key], f"{where}.{key}")
        return problems
    if type(value) is not expected:
        return [f"{where}: {_type_name(expected)} expected, got {type(value).__name__} {value!r:.40}"]
    return []


def _flag(secret: bool) -> str:
    return "secret" if secret else "not secret"


def contract_problems(
    stack: str, outputs: Mapping[str, tuple[Any, bool]], contract: Mapping[str, tuple[OutputType, bool]]
) -> list[str]:
    """Every way a run's outputs (RunResult.outputs: name -> (value, is_secret)) break the
    stack's contract, each naming the output."""
    problems = [
        f"{stack}: output {name!r} missing (removed or renamed? other stacks read it)"
        for name in contract
        if name not in outputs
    ]
    problems += [
        f"{stack}: output {name!r} is not in the contract (add it to tests/test_outputs_contract.py and the README)"
        for name in outputs
        if name not in contract
    ]
    for name in (n for n in contract if n in outputs):
        (expected, secret), (value, is_secret) = contract[name], outputs[name]
        problems += type_problems(expected, value, f"{stack}: output {name!r}")
        if is_secret != secret:
            problems.append(f"{stack}: output {name!r} is {_flag(is_secret)}, the contract says {_flag(secret)}")
    return problems


def readme_outputs_table(readme: str) -> list[tuple[list[str], str]]:
    """The rows of the README's "Stack outputs" table: (the output names of the first cell,
    the meaning cell)."""
    section = re.search(r"^## Stack outputs\b.*?$(.*?)(?=^## )", readme, re.MULTILINE | re.DOTALL)
    assert section, 'README has no "## Stack outputs" section'
    lines = [ln.strip() for ln in section[1].splitlines() if ln.strip().startswith("|")]
    assert len(lines) >= 2, 'README "Stack outputs" has no table'
    header = [c.strip() for c in lines[0].strip("|").split("|")]
    assert header[:1] == ["output"], f"README outputs table header: {header}"
    rows = []
    for line in lines[2:]:  # after the header and the |---| line
        first, _, meaning = line.strip("|").partition("|")
        rows.append((re.findall(r"`([^`]+)`", first), meaning.strip()))
    return rows


def readme_problems(readme: str, names: set[str], secret: set[str], dict_keys: Mapping[str, set[str]]) -> list[str]:
    """How the README table differs from the contract: the names it lists (each once), the
    ones it marks **secret**, and the `{keys}` it gives for each dict output."""
    rows = readme_outputs_table(readme)
    listed = [name for row_names, _ in rows for name in row_names]
    problems = [f"README: output {n!r} listed twice" for n in sorted({n for n in listed if listed.count(n) > 1})]
    problems += [f"README: output {n!r} not listed (it is in the contract)" for n in sorted(names - set(listed))]
    problems += [f"README: output {n!r} listed but not in the contract" for n in sorted(set(listed) - names)]
    marked = {n for row_names, meaning in rows if "**secret**" in meaning for n in row_names}
    problems += [f"README: output {n!r} not marked **secret**" for n in sorted((secret & set(listed)) - marked)]
    problems += [f"README: output {n!r} marked **secret**, the contract says not" for n in sorted(marked - secret)]
    for row_names, meaning in rows:
        for name in (n for n in row_names if n in dict_keys):
            keys = re.search(r"`\{([^}`]*)\}`", meaning)
            expected = sorted(dict_keys[name])
            if not keys:
                problems.append(f"README: output {name!r} documents no keys (as `{{a, b}}`), the contract {expected}")
            elif sorted(k.strip() for k in keys[1].split(",")) != expected:
                documented = sorted(k.strip() for k in keys[1].split(","))
                problems.append(f"README: output {name!r} documents keys {documented}, the contract {expected}")
    return problems


def exported_names(source: str) -> list[str]:
    """The names of every `pulumi.export(...)` call in a program's source (a name that is
    not a literal string is reported as such)."""
    names = []
    for node in sorted(ast.walk(ast.parse(source)), key=lambda n: getattr(n, "lineno", 0)):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        if node.func.attr != "export" or not (isinstance(node.func.value, ast.Name) and node.func.value.id == "pulumi"):
            continue
        first = node.args[0] if node.args else None
        if isinstance(first, ast.Constant) and isinstance(first.value, str):
            names.append(first.value)
        else:
            names.append(f"<not a literal name, line {node.lineno}>")
    return names


def export_problems(source: str, names: set[str]) -> list[str]:
    exported = exported_names(source)
    problems = [f"__main__.py: output {n!r} exported but not in the contract" for n in exported if n not in names]
    problems += [f"__main__.py: output {n!r} in the contract, never exported" for n in sorted(names - set(exported))]
    return problems


def dict_outputs() -> dict[str, set[str]]:
    tables = [{n: t for n, (t, _) in table.items()} for table in CONTRACT.values()]
    tables.append({n: t for n, (t, _, _) in CONDITIONAL_OUTPUTS.items()})
    return {name: set(t) for table in tables for name, t in table.items() if isinstance(t, Mapping)}


def run_of(request: pytest.FixtureRequest, stack: str) -> RunResult:
    """The stack file's run: the session's dev_run/prod_run, or a run of its own."""
    if stack in ("dev", "prod"):
        run: RunResult = request.getfixturevalue(f"{stack}_run")
        return run
    return run_stack(load_stack_config(stack))


# ------------------------------------------------------------------ the contract holds
def test_every_stack_file_has_a_contract() -> None:
    assert stack_files() == sorted(CONTRACT), (
        "each Pulumi.<stack>.yaml needs its literal table in CONTRACT (and each table a stack file)"
    )


@pytest.mark.parametrize("stack", stack_files())
def test_the_stack_exports_exactly_its_contract(request: pytest.FixtureRequest, stack: str) -> None:
    assert stack in CONTRACT, f"Pulumi.{stack}.yaml has no table in CONTRACT"
    problems = contract_problems(stack, run_of(request, stack).outputs, CONTRACT[stack])
    assert not problems, "\n".join(problems)


def test_the_readme_lists_exactly_the_contract() -> None:
    readme = (PROJECT_DIR / "README.md").read_text(encoding="utf-8")
    problems = readme_problems(readme, all_contract_names(), all_secret_names(), dict_outputs())
    assert not problems, "\n".join(problems)


def test_every_export_of_the_program_is_in_the_contract() -> None:
    source = (PROJECT_DIR / "__main__.py").read_text(encoding="utf-8")
    problems = export_problems(source, all_contract_names())
    assert not problems, "\n".join(problems)


def test_conditional_outputs_are_not_exported_by_any_stack_file() -> None:
    # else they belong in that stack's table, checked on its run
    assert [(s, n) for s, table in CONTRACT.items() for n in CONDITIONAL_OUTPUTS if n in table] == []


# ------------------------------------------------------------------ and it catches a break
def _dev_outputs() -> dict[str, tuple[Any, bool]]:
    """What the dev stack exports (a literal copy, so these tests do not need a run)."""
    return {
        **{name: ("text", secret) for name, (_, secret) in COMMON.items()},
        "adminCredentialsSecret": ({"namespace": "a", "name": "b", "passwordKey": "c", "username": "d"}, PLAIN),
    }


def _renamed(outputs: dict[str, Any], old: str, new: str) -> dict[str, Any]:
    return {new if k == old else k: v for k, v in outputs.items()}


def _with(outputs: dict[str, Any], name: str, value: Any) -> dict[str, Any]:
    return {**outputs, name: value}


@pytest.mark.parametrize(
    ("broken", "expected"),
    [
        pytest.param(
            lambda o: {k: v for k, v in o.items() if k != "keyVaultUri"},
            ["dev: output 'keyVaultUri' missing (removed or renamed? other stacks read it)"],
            id="removed",
        ),
        pytest.param(
            lambda o: _renamed(o, "clusterName", "aksClusterName"),
            [
                "dev: output 'clusterName' missing (removed or renamed? other stacks read it)",
                "dev: output 'aksClusterName' is not in the contract (add it to tests/test_outputs_contract.py "
                "and the README)",
            ],
            id="renamed",
        ),
        pytest.param(
            lambda o: _with(o, "extra", ("x", PLAIN)),
            ["dev: output 'extra' is not in the contract (add it to tests/test_outputs_contract.py and the README)"],
            id="added",
        ),
        pytest.param(
            lambda o: _with(o, "namespace", (["airflow"], PLAIN)),
            ["dev: output 'namespace': str expected, got list ['airflow']"],
            id="str became a list",
        ),
        pytest.param(
            lambda o: _with(o, "logsContainer", (True, PLAIN)),
            ["dev: output 'logsContainer': str expected, got bool True"],
            id="str became a bool",
        ),
        pytest.param(
            lambda o: _with(o, "adminCredentialsSecret", ("airflow-admin", PLAIN)),
            [
                "dev: output 'adminCredentialsSecret': "
                "dict {namespace: str, name: str, passwordKey: str, username: str} expected, got str"
            ],
            id="dict became a str",
        ),
        pytest.param(
            lambda o: _with(
                o, "adminCredentialsSecret", ({"namespace": "a", "name": "b", "key": "c", "username": "d"}, PLAIN)
            ),
            [
                "dev: output 'adminCredentialsSecret': key 'passwordKey' missing",
                "dev: output 'adminCredentialsSecret': key 'key' not in the contract",
            ],
            id="dict key renamed",
        ),
        pytest.param(
            lambda o: _with(
                o, "adminCredentialsSecret", ({"namespace": "a", "name": "b", "passwordKey": 1, "username": "d"}, PLAIN)
            ),
            ["dev: output 'adminCredentialsSecret'.passwordKey: str expected, got int 1"],
            id="dict value type",
        ),
        pytest.param(
            lambda o: _with(o, "kubeconfig", ("apiVersion: v1", PLAIN)),
            ["dev: output 'kubeconfig' is not secret, the contract says secret"],
            id="lost secret flag",
        ),
        pytest.param(
            lambda o: _with(o, "keyVaultUri", ("https://v.vault.azure.net/", SECRET)),
            ["dev: output 'keyVaultUri' is secret, the contract says not secret"],
            id="gained secret flag",
        ),
    ],
)
def test_a_broken_output_fails_naming_it(broken: Any, expected: list[str]) -> None:
    assert contract_problems("dev", _dev_outputs(), COMMON) == []
    assert contract_problems("dev", broken(_dev_outputs()), COMMON) == expected


def test_a_run_whose_exports_changed_fails_naming_each(monkeypatch: pytest.MonkeyPatch) -> None:
    """A scratch run of the dev stack whose program drops one export, renames one and loses
    one secret flag (pulumi.export patched, as an edit of __main__.py would do)."""
    real_export = pulumi.export

    def export(name: str, value: Any) -> None:
        if name == "keyVaultUri":
            return
        if name == "kubeconfig":
            value = pulumi.Output.unsecret(value)
        real_export({"clusterName": "aksClusterName"}.get(name, name), value)

    monkeypatch.setattr(pulumi, "export", export)
    result = run_stack(load_stack_config("dev"))
    assert contract_problems("dev", result.outputs, CONTRACT["dev"]) == [
        "dev: output 'clusterName' missing (removed or renamed? other stacks read it)",
        "dev: output 'keyVaultUri' missing (removed or renamed? other stacks read it)",
        "dev: output 'aksClusterName' is not in the contract (add it to tests/test_outputs_contract.py and the README)",
        "dev: output 'kubeconfig' is not secret, the contract says secret",
    ]


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        pytest.param(
            lambda r: r.replace("| `airflowReleaseName` | Helm release name of Airflow |\n", ""),
            ["README: output 'airflowReleaseName' not listed (it is in the contract)"],
            id="row dropped",
        ),
        pytest.param(
            lambda r: r.replace("`keyVaultName`, `keyVaultUri`", "`keyVaultName`, `vaultUri`"),
            [
                "README: output 'keyVaultUri' not listed (it is in the contract)",
                "README: output 'vaultUri' listed but not in the contract",
            ],
            id="name renamed",
        ),
        pytest.param(
            lambda r: r.replace("| `kubeconfig` | **secret**: ", "| `kubeconfig` | "),
            ["README: output 'kubeconfig' not marked **secret**"],
            id="secret mark dropped",
        ),
        pytest.param(
            lambda r: r.replace("`{namespace, name, passwordKey, username}`", "`{namespace, name, username}`"),
            [
                "README: output 'adminCredentialsSecret' documents keys ['name', 'namespace', 'username'], "
                "the contract ['name', 'namespace', 'passwordKey', 'username']"
            ],
            id="dict key undocumented",
        ),
        pytest.param(
            lambda r: r.replace("`{namespace, name, passwordKey, username}` of", "the coordinates of"),
            [
                "README: output 'adminCredentialsSecret' documents no keys (as `{a, b}`), "
                "the contract ['name', 'namespace', 'passwordKey', 'username']"
            ],
            id="dict keys not documented",
        ),
    ],
)
def test_a_readme_drifting_from_the_contract_fails_naming_the_output(edit: Any, expected: list[str]) -> None:
    names, secret = set(COMMON), {n for n, (_, s) in COMMON.items() if s}
    keys = {"adminCredentialsSecret": set(ADMIN_CREDENTIALS)}
    readme = README_EXCERPT
    assert readme_problems(readme, names, secret, keys) == []
    assert readme_problems(edit(readme), names, secret, keys) == expected


def test_an_export_outside_the_contract_fails_naming_it() -> None:
    source = 'import pulumi\npulumi.export("a", 1)\nif x:\n    pulumi.export("b", 2)\npulumi.export(name, 3)\n'
    assert export_problems(source, {"a", "c"}) == [
        "__main__.py: output 'b' exported but not in the contract",
        "__main__.py: output '<not a literal name, line 5>' exported but not in the contract",
        "__main__.py: output 'c' in the contract, never exported",
    ]


# The README's table as it stood when this contract was written (one row shortened): the input
# the drift tests break.
README_EXCERPT = """\
## Stack outputs (the contract other stacks read)

| output | meaning |
|---|---|
| `resourceGroupName` | resource group of the identity, vault and storage |
| `clusterName`, `clusterResourceGroup` | the AKS cluster |
| `oidcIssuerUrl` | the cluster's OIDC issuer (for more federated credentials) |
| `kubeconfig` | **secret**: user kubeconfig of the cluster (`clusterAuth: entra`: kubelogin + Azure CLI) |
| `namespace`, `serviceAccountName` | where Airflow runs; the workload-identity ServiceAccount |
| `identityClientId`, `identityPrincipalId` | the user-assigned managed identity |
| `keyVaultName`, `keyVaultUri` | the vault holding Airflow's secrets |
| `logsStorageAccount`, `logsContainer` | where task logs land |
| `airflowReleaseName` | Helm release name of Airflow |
| `airflowUiPortForward` | the `kubectl port-forward` command for the UI |
| `adminCredentialsSecret` | `{namespace, name, passwordKey, username}` of the Secret holding the admin password |

Other stacks: `pulumi.StackReference("org/airflow-aks/dev").get_output("keyVaultUri")`.

## What this fixes relative to the article
"""

"""examples/consumer, a team's stack that reads this one through a StackReference, run under
Pulumi's mock runtime against the outputs the REAL dev and prod stacks export (the
dev_run/prod_run fixtures: __main__.py of this project under the same mocks)."""

from __future__ import annotations

import ast
import json
import runpy
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jsonschema
import pulumi
import pytest
import yaml
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import settings as runtime_settings

from synth import reference
from synth.mocks import SECRET_SIG, SIG_KEY, AzureMocks, Secret
from synth.project import PROJECT_DIR
from synth.runner import ResourceRecord, RunResult, run
from tests.helpers import is_secret_output, resolve, unmarked_leaks
from tests.test_outputs_contract import CONTRACT, SECRET

CONSUMER_DIR = PROJECT_DIR / "examples" / "consumer"
ORG = "acme"
STACK_REFERENCE = "pulumi:pulumi:StackReference"
ESO = "kubernetes:external-secrets.io/v1"

Outputs = Mapping[str, tuple[Any, bool]]  # RunResult.outputs: name -> (value, is_secret)


class StackReferenceMocks(AzureMocks):
    """The mocks of this project, plus the engine's answer to a StackReference read: the Python
    SDK reads `pulumi:pulumi:StackReference` with the referenced stack's name as its id, and
    takes its state `outputs` (secret values as secrets) and `secretOutputNames` (what
    get_output uses for each output's secret flag), as the engine's builtin provider returns
    them. An unknown stack fails, as it does for the engine."""

    def __init__(self, stacks: Mapping[str, Outputs]) -> None:
        super().__init__()
        self.stacks = stacks

    def new_resource(self, args: pulumi_mocks.MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        if args.typ != STACK_REFERENCE:
            return super().new_resource(args)
        name = args.resource_id or args.inputs["name"]
        if name not in self.stacks:
            raise LookupError(f"unknown stack {name!r} (known: {sorted(self.stacks)})")
        outputs = self.stacks[name]
        for value, secret in outputs.values():
            if secret and isinstance(value, str):
                self._sensitive(value)  # none may reach the consumer's inputs unmarked
        state = {
            "name": name,
            "outputs": {k: {SIG_KEY: SECRET_SIG, "value": v} if s else v for k, (v, s) in outputs.items()},
            "secretOutputNames": sorted(k for k, (_, s) in outputs.items() if s),
        }
        return name, state


def consumer_config(stack: str) -> dict[str, str]:
    """The consumer's config for one of its stack files, as the CLI hands it to the program:
    the project's defaults (Pulumi.yaml), then the stack file; lists and maps as JSON."""
    project = yaml.safe_load((CONSUMER_DIR / "Pulumi.yaml").read_text())
    stack_file = yaml.safe_load((CONSUMER_DIR / f"Pulumi.{stack}.yaml").read_text())
    values = {key: decl["default"] for key, decl in project["config"].items() if "default" in decl}
    values.update(stack_file["config"])
    return {key: value if isinstance(value, str) else json.dumps(value) for key, value in values.items()}


def run_consumer(
    stacks: Mapping[str, Outputs], config: Mapping[str, str], main: Path = CONSUMER_DIR / "__main__.py"
) -> tuple[RunResult, dict[str, Any]]:
    """Run the consumer program (examples/consumer/__main__.py) under the mocks, with the
    organization ORG as the CLI sets it; return what it registered and exported, and its
    module globals (its Outputs)."""
    module: dict[str, Any] = {}

    def program() -> None:
        runtime_settings.SETTINGS.organization = ORG
        module.update(runpy.run_path(str(main), run_name="__main__"))

    result = run(program, "consumer", "test", dict(config), mocks=StackReferenceMocks(stacks))
    return result, module


def k8s_object(record: ResourceRecord) -> dict[str, Any]:
    return {k: record.inputs[k] for k in ("apiVersion", "kind", "metadata", "spec")}


def provider_urn(record: ResourceRecord) -> str:
    return record.provider.rsplit("::", 1)[0]  # "<urn>::<id>"


@pytest.fixture(params=["dev", "prod"])
def stack(request: pytest.FixtureRequest) -> tuple[str, RunResult]:
    """A stack file of this project and its real run (dev_run / prod_run)."""
    return request.param, request.getfixturevalue(f"{request.param}_run")


@pytest.fixture
def consumed(stack: tuple[str, RunResult]) -> tuple[RunResult, RunResult, dict[str, Any]]:
    """The consumer's stack file of the same name, run against that stack's real outputs:
    (the Airflow stack's run, the consumer's run, the consumer's module globals)."""
    name, airflow = stack
    result, module = run_consumer({f"{ORG}/airflow-aks/{name}": airflow.outputs}, consumer_config(name))
    return airflow, result, module


def out(result: RunResult, name: str) -> Any:
    return result.outputs[name][0]


# ------------------------------------------------------------------ the mocks answer like the engine
def test_the_mocks_answer_a_stack_reference_with_each_outputs_own_secret_flag(dev_run: RunResult) -> None:
    got: dict[str, pulumi.Output[Any]] = {}

    def program() -> None:
        ref = pulumi.StackReference("ref", stack_name=f"{ORG}/airflow-aks/dev")
        got.update(kubeconfig=ref.get_output("kubeconfig"), namespace=ref.get_output("namespace"))
        got.update(missing=ref.get_output("noSuchOutput"), names=ref.secret_output_names, all=ref.outputs)

    run(program, "consumer", "test", {}, mocks=StackReferenceMocks({f"{ORG}/airflow-aks/dev": dev_run.outputs}))
    assert resolve(got["kubeconfig"]) == out(dev_run, "kubeconfig")
    assert is_secret_output(got["kubeconfig"]) is True
    assert (resolve(got["namespace"]), is_secret_output(got["namespace"])) == (out(dev_run, "namespace"), False)
    assert resolve(got["missing"]) is None
    assert resolve(got["names"]) == ["kubeconfig"]
    # the map as a whole holds a secret, so it is secret: each output's own flag comes from the names
    assert is_secret_output(got["all"]) is True


# ------------------------------------------------------------------ what the consumer deploys
def test_it_references_the_airflow_stack_its_config_names(consumed: tuple[RunResult, RunResult, Any]) -> None:
    airflow, result, _ = consumed
    ref = result.one(STACK_REFERENCE)
    assert (ref.name, ref.read, ref.inputs["name"]) == ("airflow", True, f"{ORG}/airflow-aks/{airflow.stack}")
    assert out(result, "airflowStack") == f"{ORG}/airflow-aks/{airflow.stack}"


def test_its_cluster_provider_is_the_exported_kubeconfig_kept_secret(
    consumed: tuple[RunResult, RunResult, dict[str, Any]],
) -> None:
    airflow, result, module = consumed
    kubeconfig = out(airflow, "kubeconfig")
    provider = result.one("pulumi:providers:kubernetes")
    assert provider.inputs["kubeconfig"] == Secret(kubeconfig)  # the exported one, marked secret
    assert (resolve(module["kubeconfig"]), is_secret_output(module["kubeconfig"])) == (kubeconfig, True)
    assert kubeconfig in result.mocks.sensitive_values  # the leak check below is not vacuous
    assert unmarked_leaks(result) == []
    assert [name for name, (_, secret) in result.outputs.items() if secret] == []


def test_it_syncs_the_team_secrets_from_the_exported_vault_into_the_airflow_namespace(
    consumed: tuple[RunResult, RunResult, dict[str, Any]],
) -> None:
    airflow, result, module = consumed
    config = consumer_config(airflow.stack)
    wanted = json.loads(config["consumer:vaultSecrets"])
    provider = result.one("pulumi:providers:kubernetes")
    store, external = result.one(f"{ESO}:SecretStore"), result.one(f"{ESO}:ExternalSecret")

    assert store.inputs["metadata"]["name"] == "analytics-vault"
    assert store.inputs["spec"] == {
        "provider": {
            "azurekv": {
                "authType": "WorkloadIdentity",
                "vaultUrl": out(airflow, "keyVaultUri"),
                "serviceAccountRef": {"name": out(airflow, "serviceAccountName")},
            }
        }
    }
    assert external.inputs["metadata"]["name"] == "analytics-secrets"
    assert external.inputs["spec"]["secretStoreRef"] == {"kind": "SecretStore", "name": "analytics-vault"}
    assert external.inputs["spec"]["target"] == {"name": "analytics-secrets", "creationPolicy": "Owner"}
    assert external.inputs["spec"]["data"] == [{"secretKey": s, "remoteRef": {"key": s}} for s in wanted]
    assert store.urn in external.dependencies
    for record in (store, external):
        assert record.inputs["metadata"]["namespace"] == out(airflow, "namespace")
        assert record.inputs["metadata"]["annotations"] == {"pulumi.com/waitFor": "condition=Ready"}
        assert provider_urn(record) == provider.urn
    # every object goes to the Airflow stack's cluster, through the provider built above
    objects = [r for r in result.records if r.type.startswith("kubernetes:")]
    assert [r.type for r in objects] == [f"{ESO}:SecretStore", f"{ESO}:ExternalSecret"]
    # what it exports, resolved
    assert (out(result, "namespace"), out(result, "secretName")) == (out(airflow, "namespace"), "analytics-secrets")
    assert out(result, "secretKeys") == sorted(wanted)
    assert (resolve(module["vault_uri"]), is_secret_output(module["vault_uri"])) == (out(airflow, "keyVaultUri"), False)


def test_its_objects_are_valid_for_the_operator_the_airflow_stack_installs(
    consumed: tuple[RunResult, RunResult, dict[str, Any]],
) -> None:
    airflow, result, _ = consumed
    [eso] = [r for r in airflow.by_type("kubernetes:helm.sh/v3:Release") if r.inputs["chart"] == "external-secrets"]
    for record in (result.one(f"{ESO}:SecretStore"), result.one(f"{ESO}:ExternalSecret")):
        obj = k8s_object(record)
        try:
            crd = reference.eso_crd(eso.inputs["version"], obj["kind"])
        except reference.ReferenceNotFoundError as err:  # pragma: no cover - CI has the reference folder
            pytest.skip(str(err))
        served = {v["name"]: v for v in crd["spec"]["versions"] if v.get("served")}
        version = obj["apiVersion"].split("/", 1)[1]
        assert version in served, f"{obj['kind']} {obj['apiVersion']}: not served by ESO {eso.inputs['version']}"
        schema = served[version]["schema"]["openAPIV3Schema"]
        errors = [e.message for e in jsonschema.Draft7Validator(schema).iter_errors(obj)]
        assert errors == [], f"{obj['kind']}: {errors}"


# ------------------------------------------------------------------ when the contract breaks
def outputs_read(source: str) -> list[str]:
    """The Airflow stack outputs the consumer reads: its `require("<name>")` calls."""
    calls = [
        node
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "require"
    ]
    return [str(ast.literal_eval(call.args[0])) for call in sorted(calls, key=lambda c: c.lineno)]


def test_every_output_it_reads_is_in_the_contract_of_every_stack() -> None:
    reads = outputs_read((CONSUMER_DIR / "__main__.py").read_text(encoding="utf-8"))
    assert reads == ["kubeconfig", "namespace", "keyVaultUri", "serviceAccountName"]
    for stack, table in CONTRACT.items():
        assert [name for name in reads if name not in table] == [], f"{stack}: not in its outputs contract"
        assert table["kubeconfig"][1] is SECRET  # the consumer hands it to a provider only, as a secret


def test_a_consumer_reading_a_renamed_output_fails_naming_it(dev_run: RunResult, tmp_path: Path) -> None:
    source = (CONSUMER_DIR / "__main__.py").read_text(encoding="utf-8")
    assert source.count('require("keyVaultUri")') == 1
    main = tmp_path / "__main__.py"
    main.write_text(source.replace('require("keyVaultUri")', 'require("vaultUri")'), encoding="utf-8")
    assert [n for n in outputs_read(main.read_text()) if n not in CONTRACT["dev"]] == ["vaultUri"]
    with pytest.raises(pulumi.RunError, match=f"stack {ORG}/airflow-aks/dev exports no output 'vaultUri'"):
        run_consumer({f"{ORG}/airflow-aks/dev": dev_run.outputs}, consumer_config("dev"), main)


@pytest.mark.parametrize(("old", "new"), [("keyVaultUri", "vaultUri"), ("kubeconfig", "kubeConfig")])
def test_it_fails_naming_the_output_when_the_airflow_stack_renames_one(dev_run: RunResult, old: str, new: str) -> None:
    renamed = {new if k == old else k: v for k, v in dev_run.outputs.items()}
    with pytest.raises(pulumi.RunError, match=f"stack {ORG}/airflow-aks/dev exports no output '{old}'"):
        run_consumer({f"{ORG}/airflow-aks/dev": renamed}, consumer_config("dev"))


def test_it_fails_naming_the_output_when_its_type_changed(dev_run: RunResult) -> None:
    changed = {**dev_run.outputs, "namespace": (["airflow"], False)}
    with pytest.raises(
        pulumi.RunError, match=f"stack {ORG}/airflow-aks/dev: output 'namespace' is a list, not a string"
    ):
        run_consumer({f"{ORG}/airflow-aks/dev": changed}, consumer_config("dev"))


def test_the_kubeconfig_stays_secret_even_if_the_airflow_stack_lost_its_flag(dev_run: RunResult) -> None:
    unflagged = {k: (value, False) for k, (value, _) in dev_run.outputs.items()}
    result, module = run_consumer({f"{ORG}/airflow-aks/dev": unflagged}, consumer_config("dev"))
    assert result.one("pulumi:providers:kubernetes").inputs["kubeconfig"] == Secret(out(dev_run, "kubeconfig"))
    assert is_secret_output(module["kubeconfig"]) is True


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("consumer:team", "Analytics", "consumer:team 'Analytics' is not a DNS label"),
        ("consumer:vaultSecrets", "[]", "consumer:vaultSecrets must be a non-empty list"),
        ("consumer:vaultSecrets", '["airflow-admin-password"]', "does not start with 'analytics-'"),
        ("consumer:vaultSecrets", '["analytics_dsn"]', "'analytics_dsn' is not a Key Vault secret name"),
        ("consumer:vaultSecrets", '["analytics-a", "analytics-a"]', "'analytics-a' is listed twice"),
        ("consumer:airflowStack", "acme/airflow-aks/dev", "give the stack name only"),
    ],
)
def test_it_refuses_bad_config_naming_the_key(dev_run: RunResult, key: str, value: str, message: str) -> None:
    with pytest.raises(pulumi.RunError, match=message):
        run_consumer({f"{ORG}/airflow-aks/dev": dev_run.outputs}, {**consumer_config("dev"), key: value})


def test_every_stack_file_of_the_consumer_is_run_here() -> None:
    # the `consumed` fixture runs Pulumi.<stack>.yaml of the consumer for each of this
    # project's stacks; a consumer stack file without a run would go untested
    assert sorted(p.name for p in CONSUMER_DIR.glob("Pulumi.*.yaml")) == ["Pulumi.dev.yaml", "Pulumi.prod.yaml"]

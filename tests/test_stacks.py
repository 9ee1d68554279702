"""Every stack file: synth passes, no policy violation, no unmarked secret, the output contract holds."""

from pathlib import Path

import pytest
from helpers import unmarked_leaks
from test_stack_dev import OUTPUT_CONTRACT

from config import parse_settings
from policy.rules import PolicyConfig, PolicyResource, evaluate
from synth.__main__ import main
from synth.project import load_stack_config, stacks
from synth.runner import run_stack

STACKS = stacks()


def test_there_is_a_dev_and_a_prod_stack() -> None:
    assert {"dev", "prod"} <= set(STACKS)


@pytest.mark.parametrize("stack", STACKS)
def test_stack_synthesizes_strictly(stack: str) -> None:
    assert main([stack, "--strict", "--no-write"]) == 0


@pytest.mark.parametrize("stack", STACKS)
def test_stack_has_no_violation_and_no_leak(stack: str) -> None:
    config = load_stack_config(stack)
    settings = parse_settings(stack, config.values)
    result = run_stack(config)
    resources = [PolicyResource(r.urn, r.type, r.name, r.inputs, r.protect) for r in result.records if r.custom]
    assert evaluate(resources, PolicyConfig(registry=settings.registry_server), result.outputs) == []
    assert result.mocks.sensitive_values
    assert unmarked_leaks(result) == []
    assert set(result.outputs) == OUTPUT_CONTRACT
    release = next(r for r in result.by_type("kubernetes:helm.sh/v3:Release") if r.inputs["chart"] == "airflow")
    assert release.inputs["values"]["executor"] == settings.executor


def test_prod_protects_everything_that_holds_data() -> None:
    from policy.rules import STATEFUL_TYPES

    result = run_stack(load_stack_config("prod"))
    stateful = [r for r in result.records if r.type in STATEFUL_TYPES]
    assert {r.type for r in stateful} == {
        "azure-native:resources:ResourceGroup",
        "azure-native:containerservice:ManagedCluster",
        "azure-native:keyvault:Vault",
        "azure-native:storage:StorageAccount",
        "azure-native:storage:BlobContainer",
        "kubernetes:core/v1:PersistentVolume",
        "kubernetes:core/v1:PersistentVolumeClaim",
    }
    assert all(r.protect for r in stateful), [r.name for r in stateful if not r.protect]
    # ... and nothing else: a protected Helm release or secret would block ordinary updates
    assert {r.name for r in result.records if r.protect} == {r.name for r in stateful}


def test_prod_without_protection_fails_the_policy(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import yaml

    from synth.project import PROJECT_DIR

    text = (PROJECT_DIR / "Pulumi.prod.yaml").read_text()
    data = yaml.safe_load(text)
    data["config"]["airflow-aks:protectStatefulResources"] = False
    path = tmp_path / "Pulumi.prod.yaml"
    path.write_text(yaml.safe_dump(data))
    assert main(["prod", "--stack-file", str(path), "--no-write"]) == 1
    out = capsys.readouterr().out
    assert out.count("MANDATORY [stateful-resources-protected]") == 7
    assert "Vault keyvault-vault holds data in stack 'prod' but is not protected" in out


def test_prod_celery_credentials_come_from_key_vault_through_eso() -> None:
    """prod runs Airflow 3 with Celery and Kubernetes executors side by side: the API secret key and
    JWT secret replace the webserver key, and the Redis password and broker URL join the database's."""
    result = run_stack(load_stack_config("prod"))
    targets = {
        es.inputs["spec"]["target"]["name"] for es in result.by_type("kubernetes:external-secrets.io/v1:ExternalSecret")
    }
    assert targets == {
        "airflow-logs-storage",
        "airflow-admin",
        "airflow-api-secret-key",
        "airflow-jwt-secret",
        "airflow-fernet-key",
        "airflow-postgresql-auth",
        "airflow-metadata-connection",
        "airflow-pgbouncer-auth",
        "airflow-pgbouncer-exporter",
        "airflow-redis-auth",
        "airflow-celery-broker",
    }
    vault = {r.inputs["secretName"] for r in result.by_type("azure-native:keyvault:Secret")}
    assert {"airflow-postgres-password", "airflow-redis-password"} <= vault
    release = next(r for r in result.by_type("kubernetes:helm.sh/v3:Release") if r.inputs["chart"] == "airflow")
    values = release.inputs["values"]
    assert values["redis"]["passwordSecretName"] == "airflow-redis-auth"
    assert values["data"]["brokerUrlSecretName"] == "airflow-celery-broker"
    assert (
        sum(d.startswith("urn:pulumi:prod::airflow-aks::") and "ExternalSecret::" in d for d in release.dependencies)
        == 11
    )


def test_synth_lists_what_is_protected(capsys: pytest.CaptureFixture[str]) -> None:
    import json

    assert main(["prod", "--json", "--no-write"]) == 0
    protected = json.loads(capsys.readouterr().out)["protected"]
    assert "azure-native:keyvault:Vault keyvault-vault" in protected
    assert len(protected) == 7
    assert main(["dev", "--json", "--no-write"]) == 0
    assert json.loads(capsys.readouterr().out)["protected"] == []

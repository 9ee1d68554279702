"""Every stack file: synth passes, no policy violation, no unmarked secret, the output contract holds."""

import pytest
from helpers import unmarked_leaks
from test_stack_dev import OUTPUT_CONTRACT

from policy.rules import PolicyConfig, PolicyResource, evaluate
from settings import parse_settings
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
    resources = [PolicyResource(r.urn, r.type, r.name, r.inputs) for r in result.records if r.custom]
    assert evaluate(resources, PolicyConfig(registry=settings.registry_server), result.outputs) == []
    assert result.mocks.sensitive_values
    assert unmarked_leaks(result) == []
    assert set(result.outputs) == OUTPUT_CONTRACT
    release = next(r for r in result.by_type("kubernetes:helm.sh/v3:Release") if r.inputs["chart"] == "airflow")
    assert release.inputs["values"]["executor"] == settings.executor


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

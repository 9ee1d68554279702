"""The plan's data-plane names (managed database, remote task logs) against the outside facts
they rest on: the microsoft-azure provider's WasbHook and remote-logging config, and Azure's
built-in PgBouncer (facts/)."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import yaml

from components.airflow_values import airflow_values
from components.database import server_parameters
from plan import (
    ACCOUNT_VAR,
    BUILTIN_PGBOUNCER_PORT,
    DATABASE_ADMIN_PASSWORD_SECRET,
    DATABASE_HOST_SECRET,
    DATABASE_NAME,
    HOST_VAR,
    LOGS_ACCOUNT_NAME_SECRET,
    PASSWORD_VAR,
    REMOTE_LOG_CONN_ENV,
    REMOTE_LOG_CONN_ID,
    REMOTE_LOG_FOLDER,
    remote_logs_connection,
)
from synth.project import PROJECT_DIR
from tests.helpers import plan_for, settings_for

FACTS = PROJECT_DIR / "facts"


def _facts(name: str) -> dict[str, Any]:
    facts: dict[str, Any] = yaml.safe_load((FACTS / f"{name}.yaml").read_text())["facts"]
    return facts


WASB = _facts("airflow-wasb-remote-logging")
PGBOUNCER = _facts("postgresql-flexible-server-pgbouncer")


def _render(template: str, **variables: str) -> str:
    """ESO's `{{ .name }}` substitution, for the variables these templates use (no filters)."""
    for name, value in variables.items():
        template = template.replace("{{ ." + name + " }}", value)
    assert "{{" not in template, template
    return template


def test_the_wasb_connection_is_the_accounts_blob_endpoint_and_nothing_else() -> None:
    # WasbHook passes every connection extra on to BlobServiceClient as a keyword argument,
    # and with no password and no account_key it falls back to DefaultAzureCredential()
    assert WASB["extras_are_passed_to_the_client"]["value"] in WASB["extras_are_passed_to_the_client"]["quote"]
    conn = json.loads(_render(remote_logs_connection("{{ ." + ACCOUNT_VAR + " }}"), **{ACCOUNT_VAR: "airflowlogsx1"}))
    assert set(conn) == {"conn_type", "host"}  # no extra, no login, no password
    assert conn["conn_type"] == "wasb"
    # the hook's own default when only the account is known, written out as the host
    hook_default = WASB["account_url_from_host"]["value"].split('f"', 1)[1].rstrip('"')
    assert conn["host"] == hook_default.replace("{login}", "airflowlogsx1")


def test_the_connection_id_env_and_folder_are_the_providers() -> None:
    assert WASB["default_connection_id"]["value"] == REMOTE_LOG_CONN_ID
    # Airflow reads a connection from AIRFLOW_CONN_<CONN_ID upper-cased>
    assert f"AIRFLOW_CONN_{REMOTE_LOG_CONN_ID.upper()}" == REMOTE_LOG_CONN_ENV
    assert REMOTE_LOG_FOLDER.startswith(WASB["handler_prefix"]["value"])
    assert not REMOTE_LOG_FOLDER.startswith("wasb://")  # a URL would become part of blob names on 3.0/3.1


def test_the_values_set_the_container_under_the_providers_section_and_key() -> None:
    env = WASB["container_config_key"]["evidence"]  # AIRFLOW__<SECTION>__<KEY>
    _, section, key = env.split("__")
    settings = settings_for(logsMode="remote", airflowChartVersion="1.19.0", logsContainerName="task-logs")
    plan = plan_for(logsMode="remote", airflowChartVersion="1.19.0", logsContainerName="task-logs")
    values = airflow_values(settings, plan, {i.name: "client" for i in plan.log_identities})
    assert values["config"][section.lower()][key.lower()] == "task-logs"
    assert values["config"]["logging"]["remote_log_conn_id"] == REMOTE_LOG_CONN_ID
    assert values["logs"]["persistence"] == {"enabled": False}


def test_the_remote_logs_secret_is_built_from_the_account_name_only() -> None:
    plan = plan_for(logsMode="remote")
    source = plan.secrets[plan.names.remote_logs_connection]
    assert dict(source.data) == {ACCOUNT_VAR: LOGS_ACCOUNT_NAME_SECRET}
    assert all("KEY" not in kv for s in plan.secrets.values() for kv in s.data.values())


@pytest.mark.parametrize("pgbouncer", ["true", "false"])
def test_the_managed_metadata_connection_requires_tls_and_uses_the_builtin_pgbouncer_port(pgbouncer: str) -> None:
    plan = plan_for(
        networkMode="create", databaseMode="managed", pgbouncerEnabled=pgbouncer, databaseAdminLogin="pgadmin1"
    )
    source = plan.secrets[plan.names.metadata]
    assert dict(source.data) == {PASSWORD_VAR: DATABASE_ADMIN_PASSWORD_SECRET, HOST_VAR: DATABASE_HOST_SECRET}
    assert source.template is not None
    url = urlsplit(
        _render(
            source.template["connection"].replace(" | urlquery", ""),
            **{PASSWORD_VAR: "pw", HOST_VAR: "airflow-dev-pg-abc123.postgres.database.azure.com"},
        )
    )
    assert (url.scheme, url.username, url.password) == ("postgresql", "pgadmin1", "pw")
    assert url.hostname == "airflow-dev-pg-abc123.postgres.database.azure.com"
    assert url.path == f"/{DATABASE_NAME}"
    assert parse_qs(url.query) == {"sslmode": ["require"]}
    if pgbouncer == "true":
        assert str(url.port) == PGBOUNCER["port"]["value"] == str(BUILTIN_PGBOUNCER_PORT)
        assert PGBOUNCER["enabling_parameter"]["value"] in server_parameters(True)
        assert server_parameters(True)["pgbouncer.enabled"] == "true"
    else:
        assert url.port == 5432
        assert PGBOUNCER["enabling_parameter"]["value"] not in server_parameters(False)
    # the chart's own PgBouncer and bundled PostgreSQL stay off
    settings = settings_for(networkMode="create", databaseMode="managed", pgbouncerEnabled=pgbouncer)
    values = airflow_values(settings, plan)
    assert values["pgbouncer"]["enabled"] is False
    assert values["postgresql"] == {"enabled": False}
    assert values["data"]["metadataSecretName"] == plan.names.metadata


def test_only_the_managed_database_gets_a_mixed_case_admin_password() -> None:
    assert DATABASE_ADMIN_PASSWORD_SECRET in plan_for(networkMode="create", databaseMode="managed").generated_passwords
    assert DATABASE_ADMIN_PASSWORD_SECRET not in plan_for().generated_passwords


def test_the_pgbouncer_metrics_parameter_is_microsofts_and_only_set_with_monitoring() -> None:
    """The PgBouncer alert reads metrics the server emits only with Microsoft's parameter on."""
    name = PGBOUNCER["metrics_parameter"]["value"]
    assert server_parameters(True, pgbouncer_metrics=True)[name] == "on"
    assert name not in server_parameters(True)
    # without the built-in PgBouncer there is nothing to measure
    assert name not in server_parameters(False, pgbouncer_metrics=True)

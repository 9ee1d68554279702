"""Airflow: the official apache-airflow chart as a Helm release, values from a pure builder."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components.airflow_values import (
    AIRFLOW_CHART_NAME,
    AIRFLOW_CHART_REPO,
    PASSWORD_VAR,
    PROFILES,
    SecretNames,
    credential_templates,
    uses_celery,
)
from components.key_vault import (
    ADMIN_PASSWORD_SECRET,
    FERNET_KEY_SECRET,
    POSTGRES_PASSWORD_SECRET,
    REDIS_PASSWORD_SECRET,
)
from settings import Settings

RELEASE_NAME = "airflow"
ADMIN_SECRET = "airflow-admin"
ADMIN_SECRET_KEY = "password"
WEBSERVER_SECRET = "airflow-webserver-secret-key"
FERNET_SECRET = "airflow-fernet-key"


def static_secret_data(settings: Settings) -> dict[str, dict[str, str]]:
    """Kubernetes Secret -> {key in the Secret: Key Vault secret} for the admin password,
    the Fernet key and the chart line's static keys (`airflow-<key>` everywhere)."""
    data = {
        ADMIN_SECRET: {ADMIN_SECRET_KEY: ADMIN_PASSWORD_SECRET},
        FERNET_SECRET: {"fernet-key": FERNET_KEY_SECRET},
    }
    for key in PROFILES[settings.airflow_chart_version].static_keys:
        data[f"airflow-{key}"] = {key: f"airflow-{key}"}
    return data


@dataclass(frozen=True)
class SecretSource:
    """What ESO puts in one Kubernetes Secret: Key Vault secrets, optionally through a template."""

    data: dict[str, str]  # key (or template variable) -> Key Vault secret
    template: dict[str, str] | None = None  # key -> template over the variables in `data`


def secret_names(logs_claim: str) -> SecretNames:
    return SecretNames(
        admin_password=ADMIN_SECRET,
        admin_password_key=ADMIN_SECRET_KEY,
        webserver_secret_key=WEBSERVER_SECRET,
        fernet_key=FERNET_SECRET,
        logs_claim=logs_claim,
    )


def generated_passwords(settings: Settings) -> list[str]:
    """Key Vault secrets beyond the admin password and Fernet key that these settings need."""
    wanted = [f"airflow-{key}" for key in PROFILES[settings.airflow_chart_version].static_keys]
    wanted += [POSTGRES_PASSWORD_SECRET] if settings.postgresql_enabled else []
    return wanted + ([REDIS_PASSWORD_SECRET] if uses_celery(settings) else [])


def secret_sources(settings: Settings, names: SecretNames) -> dict[str, SecretSource]:
    """Every Kubernetes Secret the chart reads, and where ESO gets its content."""
    sources = {target: SecretSource(dict(data)) for target, data in static_secret_data(settings).items()}
    templates = credential_templates(settings, names, RELEASE_NAME)
    database = {names.postgresql, names.metadata, names.pgbouncer_config, names.pgbouncer_stats}
    for target, template in templates.items():
        password = POSTGRES_PASSWORD_SECRET if target in database else REDIS_PASSWORD_SECRET
        sources[target] = SecretSource({PASSWORD_VAR: password}, template)
    return sources


def port_forward_command(release: str, namespace: str, service: str = "webserver") -> str:
    """The UI: the webserver on Airflow 2, the API server on Airflow 3 (both on 8080)."""
    return f"kubectl port-forward svc/{release}-{service} 8080:8080 --namespace {namespace}"


@dataclass
class AirflowArgs:
    settings: Settings
    namespace: pulumi.Input[str]
    values: dict[str, Any]
    provider: k8s.Provider
    # The claim and the Secrets the pods mount must exist before the release installs.
    depends_on: Sequence[pulumi.Resource]


class Airflow(pulumi.ComponentResource):
    release_name: pulumi.Output[str]
    port_forward: pulumi.Output[str]
    release: k8s.helm.v3.Release

    def __init__(self, name: str, args: AirflowArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("airflow-aks:airflow:Airflow", name, None, opts)
        self.release = k8s.helm.v3.Release(
            f"{name}-release",
            name=RELEASE_NAME,
            chart=AIRFLOW_CHART_NAME,
            version=args.settings.airflow_chart_version,
            repository_opts=k8s.helm.v3.RepositoryOptsArgs(repo=AIRFLOW_CHART_REPO),
            namespace=args.namespace,
            values=args.values,
            # Hooks are off in the values, so waiting for readiness cannot deadlock.
            timeout=1200,
            opts=pulumi.ResourceOptions(parent=self, provider=args.provider, depends_on=list(args.depends_on)),
        )
        self.release_name = self.release.name.apply(lambda n: n or RELEASE_NAME)
        ui_service = PROFILES[args.settings.airflow_chart_version].ui_service
        self.port_forward = pulumi.Output.all(self.release_name, args.namespace).apply(
            lambda v: port_forward_command(v[0], v[1], ui_service)
        )
        self.register_outputs({"releaseName": self.release_name, "portForward": self.port_forward})

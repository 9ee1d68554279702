"""Airflow: the official apache-airflow chart as a Helm release, values from a pure builder."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components.airflow_values import AIRFLOW_CHART_NAME, AIRFLOW_CHART_REPO, SecretNames
from components.key_vault import ADMIN_PASSWORD_SECRET, FERNET_KEY_SECRET, WEBSERVER_SECRET_KEY_SECRET
from settings import Settings

RELEASE_NAME = "airflow"
ADMIN_SECRET = "airflow-admin"
ADMIN_SECRET_KEY = "password"
WEBSERVER_SECRET = "airflow-webserver-secret-key"
FERNET_SECRET = "airflow-fernet-key"
# Kubernetes Secret -> {key in the Secret: Key Vault secret}; the keys are the ones the chart reads.
SECRET_DATA: dict[str, dict[str, str]] = {
    ADMIN_SECRET: {ADMIN_SECRET_KEY: ADMIN_PASSWORD_SECRET},
    WEBSERVER_SECRET: {"webserver-secret-key": WEBSERVER_SECRET_KEY_SECRET},
    FERNET_SECRET: {"fernet-key": FERNET_KEY_SECRET},
}


def secret_names(logs_claim: str) -> SecretNames:
    return SecretNames(
        admin_password=ADMIN_SECRET,
        admin_password_key=ADMIN_SECRET_KEY,
        webserver_secret_key=WEBSERVER_SECRET,
        fernet_key=FERNET_SECRET,
        logs_claim=logs_claim,
    )


def port_forward_command(release: str, namespace: str) -> str:
    return f"kubectl port-forward svc/{release}-webserver 8080:8080 --namespace {namespace}"


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
        self.port_forward = pulumi.Output.all(self.release_name, args.namespace).apply(
            lambda v: port_forward_command(v[0], v[1])
        )
        self.register_outputs({"releaseName": self.release_name, "portForward": self.port_forward})

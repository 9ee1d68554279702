"""Airflow component: the official chart as a Helm release, after its claim and secrets."""

import pulumi_random as random
from helpers import deps_of, provider, resolve, run_component, settings_for

from components.airflow import Airflow, AirflowArgs, port_forward_command


def _airflow(**overrides: str):
    def build():
        claim = random.RandomString("claim", length=4)
        return Airflow(
            "airflow",
            AirflowArgs(
                settings=settings_for(**overrides),
                namespace="airflow",
                values={"executor": "X"},
                provider=provider(),
                depends_on=[claim],
            ),
        )

    return run_component(build)


def test_release_uses_the_official_chart_pinned() -> None:
    result, _ = _airflow()
    release = result.one("kubernetes:helm.sh/v3:Release").inputs
    assert release["chart"] == "airflow"
    assert release["version"] == "1.15.0"
    assert release["repositoryOpts"]["repo"] == "https://airflow.apache.org"
    assert release["name"] == "airflow"
    assert release["namespace"] == "airflow"
    assert release["values"] == {"executor": "X"}


def test_release_waits_for_what_its_pods_mount() -> None:
    result, _ = _airflow()
    assert "random:index/randomString:RandomString::claim" in deps_of(
        result, result.one("kubernetes:helm.sh/v3:Release")
    )


def test_port_forward_command() -> None:
    _, app = _airflow()
    assert resolve(app.port_forward) == "kubectl port-forward svc/airflow-webserver 8080:8080 --namespace airflow"
    assert port_forward_command("af", "ns") == "kubectl port-forward svc/af-webserver 8080:8080 --namespace ns"


def test_airflow_3_ui_is_the_api_server() -> None:
    result, app = _airflow(airflowChartVersion="1.19.0")
    assert result.one("kubernetes:helm.sh/v3:Release").inputs["version"] == "1.19.0"
    assert resolve(app.port_forward) == "kubectl port-forward svc/airflow-api-server 8080:8080 --namespace airflow"

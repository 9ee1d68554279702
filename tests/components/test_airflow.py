"""Airflow component: the official chart as a Helm release, after its claim and secrets."""

import re

import pulumi_random as random
import pytest

from components.airflow import Airflow, AirflowArgs
from components.airflow_values import airflow_values
from plan import build_plan
from profiles import SUPPORTED_CHART_VERSIONS
from synth import helm, reference
from tests.helpers import deps_of, plan_for, provider, resolve, run_component, settings_for


def _airflow(**overrides: str):
    plan = plan_for(**overrides)

    def build():
        claim = random.RandomString("claim", length=4)
        return Airflow(
            "airflow",
            AirflowArgs(
                release_name=plan.airflow_release,
                chart_version=plan.profile.chart_version,
                namespace=plan.namespace,
                port_forward=plan.ui_port_forward,
                values={"executor": "X"},
                provider=provider(),
                depends_on=[claim],
            ),
        )

    return run_component(build)


def test_release_uses_the_official_chart_pinned() -> None:
    result, app = _airflow()
    release = result.one("kubernetes:helm.sh/v3:Release").inputs
    # the chart the reference archive holds, at the dev stack's pinned version
    assert release["chart"] == reference.load_yaml("airflow-chart/1.15.0/Chart.yaml")["name"] == "airflow"
    assert release["version"] == "1.15.0"
    assert release["repositoryOpts"]["repo"] == "https://airflow.apache.org"
    assert release["name"] == "airflow"
    assert release["namespace"] == "airflow"
    assert release["values"] == {"executor": "X"}
    assert resolve(app.release_name) == "airflow"


def test_release_waits_for_what_its_pods_mount() -> None:
    result, _ = _airflow()
    assert "random:index/randomString:RandomString::claim" in deps_of(
        result, result.one("kubernetes:helm.sh/v3:Release")
    )


def test_port_forward_command() -> None:
    _, app = _airflow()
    assert resolve(app.port_forward) == "kubectl port-forward svc/airflow-webserver 8080:8080 --namespace airflow"
    # the release name and the namespace both reach the command
    moved = plan_for(namespace="data")
    assert moved.ui_port_forward == "kubectl port-forward svc/airflow-webserver 8080:8080 --namespace data"


def test_airflow_3_ui_is_the_api_server() -> None:
    result, app = _airflow(airflowChartVersion="1.19.0")
    assert result.one("kubernetes:helm.sh/v3:Release").inputs["version"] == "1.19.0"
    assert resolve(app.port_forward) == "kubectl port-forward svc/airflow-api-server 8080:8080 --namespace airflow"


_PORT_FORWARD = re.compile(r"kubectl port-forward svc/(\S+) (\d+):(\d+) --namespace (\S+)")


@pytest.mark.parametrize("version", SUPPORTED_CHART_VERSIONS)
def test_port_forward_reaches_a_ui_service_the_real_chart_renders(version: str) -> None:
    """The command names a Service the chart renders (from the stack's values, under the
    release name the stack installs), in the release's namespace, with port 8080 on it."""
    settings = settings_for(airflowChartVersion=version)
    plan = build_plan(settings)
    try:
        objects = helm.render_objects(
            "airflow",
            version,
            airflow_values(settings, plan),
            release=plan.airflow_release,
            namespace=plan.namespace,
            kube_version=settings.kubernetes_version,
        )
    except helm.NotRendered as err:  # pragma: no cover - the dev requirements install the engine
        pytest.skip(str(err))
    match = _PORT_FORWARD.fullmatch(plan.ui_port_forward)
    assert match, plan.ui_port_forward
    service, local, remote, namespace = match.groups()
    assert (local, namespace) == ("8080", plan.namespace)
    services = {o["metadata"]["name"]: o for o in objects if o["kind"] == "Service"}
    assert service in services, sorted(services)
    assert services[service]["metadata"].get("namespace", plan.namespace) == plan.namespace
    ports = {str(p["port"]) for p in services[service]["spec"]["ports"]}
    assert remote in ports

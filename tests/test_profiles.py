"""Chart profiles own every difference between chart lines: a new line is a new profile."""

from __future__ import annotations

import dataclasses
import re
from typing import Any

import pytest

import profiles
from components.airflow_values import airflow_values
from config import parse_settings
from plan import StackPlan, build_plan
from synth import helm
from synth.project import PROJECT_DIR, load_stack_config

# The stacks whose settings the fake lines reuse: dev runs chart 1.15.0, prod 1.19.0.
STACK_OF = {"1.15.0": "dev", "1.19.0": "prod"}


def _fake_line(base: profiles.ChartProfile) -> profiles.ChartProfile:
    """A chart line nobody has written code for: the base line's chart, a newer Airflow patch."""
    major, minor, patch = (int(p) for p in base.airflow_version.split("."))
    airflow = f"{major}.{minor}.{patch + 1}"
    images = {
        key: dataclasses.replace(image, tag=airflow) if key in base.airflow_image_keys else image
        for key, image in base.images.items()
    }
    # a version no code could have been written for (a branch on "1.19." would not match it)
    chart = f"99.{base.chart_version.split('.')[1]}.0"
    return dataclasses.replace(base, chart_version=chart, airflow_version=airflow, images=images)


def _client_ids(plan: StackPlan) -> dict[str, str]:
    """A client id for each of the plan's log identities (logsMode=remote), as Azure would
    assign them: the same for the same identity, whatever the chart line."""
    return {identity.name: f"client-id-of-{identity.name}" for identity in plan.log_identities}


def _images(objects: list[dict[str, Any]]) -> set[str]:
    found: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("image"), str):
                found.add(node["image"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(objects)
    return found


@pytest.mark.parametrize("base_version", sorted(STACK_OF))
def test_a_third_chart_line_is_a_new_profile_and_nothing_else(
    base_version: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    base = profiles.PROFILES[base_version]
    fake = _fake_line(base)
    monkeypatch.setitem(profiles.PROFILES, fake.chart_version, fake)
    stack = STACK_OF[base_version]
    values = dict(load_stack_config(stack).values)
    settings = parse_settings(stack, {**values, "airflow-aks:airflowChartVersion": fake.chart_version})
    plan = build_plan(settings)
    assert plan.profile is fake
    built = airflow_values(settings, plan, _client_ids(plan))
    base_plan = build_plan(parse_settings(stack, values))
    before = airflow_values(parse_settings(stack, values), base_plan, _client_ids(base_plan))
    # the new line differs from its base in exactly what its profile says
    assert built["airflowVersion"] == fake.airflow_version != before["airflowVersion"]
    assert built["defaultAirflowTag"] == fake.airflow_version
    changed = {key for key in before if before[key] != built[key]}
    assert changed == {"airflowVersion", "defaultAirflowTag", "images"}
    assert any(ref.endswith(f":{fake.airflow_version}") for ref in plan.images)

    # ... and the real chart (the base line's archive, as the new line would ship it) renders it
    try:
        objects = helm.render_objects(
            "airflow", base_version, built, release=plan.airflow_release, namespace=plan.namespace
        )
    except helm.NotRendered as err:  # pragma: no cover - the dev requirements install the engine
        pytest.skip(str(err))
    airflow_images = {i for i in _images(objects) if re.search(r"/airflow:[0-9]", i)}
    assert airflow_images == {f"{settings.registry_server}/airflow:{fake.airflow_version}"}
    ui = f"{plan.airflow_release}-{fake.ui_service}"
    assert any(o["kind"] == "Deployment" and o["metadata"]["name"] == ui for o in objects)
    # remote logs (prod): the ServiceAccounts the profile's log_writers/log_readers name are the
    # ones the chart renders, annotated with their identity's client id
    annotations = {
        o["metadata"]["name"]: (o["metadata"].get("annotations") or {})
        for o in objects
        if o["kind"] == "ServiceAccount"
    }
    assert bool(plan.log_identities) == (settings.logs_mode == "remote")
    for identity in plan.log_identities:
        for account in identity.service_accounts.values():
            assert annotations[account]["azure.workload.identity/client-id"] == f"client-id-of-{identity.name}"


def test_no_version_string_is_branched_on_outside_the_profiles() -> None:
    """`startswith("1.15.")` and the like belong to profiles.py alone (the policy pack, which
    cannot import the project, reads the Airflow version from the values it checks)."""
    branch = re.compile(r"""(startswith|==|!=)\s*\(?\s*f?["'](v?[0-9]+\.[0-9]+)""")
    offenders = []
    product = [PROJECT_DIR / "__main__.py", PROJECT_DIR / "plan.py", *(PROJECT_DIR / "components").glob("*.py")]
    for path in [*product, *(PROJECT_DIR / "config").glob("*.py")]:
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if branch.search(line):
                offenders.append(f"{path.relative_to(PROJECT_DIR)}:{number}: {line.strip()}")
    assert offenders == []


@pytest.mark.parametrize("version", sorted(profiles.PROFILES))
def test_the_images_that_fall_back_to_the_airflow_image_are_the_airflow_image(version: str) -> None:
    """The chart's values.yaml leaves `images.<key>.repository` empty where a component runs
    the Airflow image itself (the pod template, flower): the profile must mirror exactly that
    image for them, or the mirror list names a repository nothing pulls."""
    from synth.reference import chart_default_values

    defaults = chart_default_values("airflow", version)["images"]
    profile = profiles.PROFILES[version]
    falls_back = {k for k, image in defaults.items() if isinstance(image, dict) and image.get("repository") is None}
    assert falls_back == set(profile.airflow_image_keys)
    for key in falls_back:
        assert profile.images[key] == profile.images["airflow"], key


@pytest.mark.parametrize("version", sorted(profiles.PROFILES))
def test_every_replicated_component_the_chart_can_protect_gets_a_disruption_budget(version: str) -> None:
    """With highAvailability, each component run twice whose values have a
    `podDisruptionBudget` in the chart's own schema gets one; no other does."""
    from synth.reference import airflow_chart_schema
    from tests.helpers import settings_for

    schema = airflow_chart_schema(version)["properties"]
    with_pdb = {
        k for k, p in schema.items() if isinstance(p, dict) and "podDisruptionBudget" in (p.get("properties") or {})
    }
    settings = settings_for(airflowChartVersion=version, executor="CeleryExecutor", highAvailability="true")
    values = airflow_values(settings, build_plan(settings))
    replicated = {k for k, v in values.items() if isinstance(v, dict) and v.get("replicas") == 2}
    assert {"scheduler", "pgbouncer", "workers"} <= replicated
    assert {k for k in replicated if "podDisruptionBudget" in values[k]} == replicated & with_pdb

"""The UI's Ingress values (components/airflow_values.py `ui=`) on both chart lines, read
from what the REAL chart renders: one Ingress of the add-on's class for the host, TLS from
the Secret the add-on names after that Ingress, the path to the UI Service on a port that
Service exposes, valid for Kubernetes' OpenAPI schema; Airflow's base_url in the section the
line reads; and, with NetworkPolicies on, the add-on's namespace let in to the UI. Without
`ui` the values are exactly today's. Each check returns findings; the negative cases break
one thing each."""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable
from typing import Any

import jsonschema
import pytest

from components.airflow_values import (
    APP_ROUTING_NAMESPACE,
    NAMESPACE_NAME_LABEL,
    UiIngress,
    airflow_values,
    ingress_values,
    ui_ingress_name,
)
from config import Settings, parse_settings
from plan import build_plan
from profiles import PROFILES
from synth import reference
from synth.project import load_stack_config
from synth.validate import kubernetes_schema_errors
from tests.components.test_airflow_values_render import airflow_cfg, fake_client_ids, render
from tests.helpers import dev_values
from tests.test_external_facts import fact

Objects = list[dict[str, Any]]
HOST = "airflow.corp.example.org"
ANNOTATION = "kubernetes.azure.com/tls-cert-keyvault-uri"
URI = "https://airflow-kv-abc123.vault.azure.net/secrets/airflow-ui-tls"

# id -> settings: chart 1.15 (Airflow 2, webserver) without and with NetworkPolicies, and the
# prod stack file (chart 1.19, Airflow 3, API server, NetworkPolicies on)
_CASES: dict[str, Callable[[], Settings]] = {
    "1.15.0": lambda: parse_settings("dev", dev_values(airflowChartVersion="1.15.0")),
    "1.15.0-network": lambda: parse_settings("dev", dev_values(airflowChartVersion="1.15.0", networkMode="create")),
    "1.19.0-prod": lambda: parse_settings("prod", load_stack_config("prod").values),
}


def _ui(settings: Settings) -> UiIngress:
    release = build_plan(settings).airflow_release
    return UiIngress(HOST, "airflow-internal", "keyvault-" + ui_ingress_name(release), {ANNOTATION: URI})


@functools.cache
def _rendered(case: str) -> tuple[Settings, dict[str, Any], Objects]:
    settings = _CASES[case]()
    plan = build_plan(settings)
    values = airflow_values(settings, plan, fake_client_ids(plan), _ui(settings))
    return settings, values, render(settings, values)


# ------------------------------------------------------------------ the checks
def ingress_findings(objs: Objects, settings: Settings, ui: UiIngress) -> list[str]:
    plan = build_plan(settings)
    out: list[str] = []
    ingresses = [o for o in objs if o.get("kind") == "Ingress"]
    if len(ingresses) != 1:
        return [f"{len(ingresses)} Ingresses, not one"]
    (ing,) = ingresses
    name, spec = ing["metadata"]["name"], ing["spec"]
    if spec.get("ingressClassName") != ui.class_name:
        out.append(f"ingressClassName {spec.get('ingressClassName')!r}")
    if (ing["metadata"].get("annotations") or {}).get(ANNOTATION) != URI:
        out.append("no Key Vault URI annotation")
    # the add-on syncs the certificate into keyvault-<this Ingress's name>
    wanted_tls = [{"hosts": [ui.host], "secretName": fact("aks-app-routing-tls", "tls_secret_name_prefix") + name}]
    if spec.get("tls") != wanted_tls:
        out.append(f"tls {spec.get('tls')}, not {wanted_tls}")
    rules = spec.get("rules") or []
    if [r.get("host") for r in rules] != [ui.host]:
        out.append(f"hosts {[r.get('host') for r in rules]}")
    service_name = f"{plan.airflow_release}-{plan.profile.ui_service}"
    services = {o["metadata"]["name"]: o for o in objs if o.get("kind") == "Service"}
    ports = {p.get("name"): p for p in (services.get(service_name, {}).get("spec", {}).get("ports") or [])}
    for rule in rules:
        for path in rule["http"]["paths"]:
            backend = path["backend"]["service"]
            if backend["name"] != service_name:
                out.append(f"backend {backend['name']}, not the UI Service {service_name}")
            port = backend["port"]
            if port.get("name") not in ports and port.get("number") not in {p.get("port") for p in ports.values()}:
                out.append(f"backend port {port} not exposed by {service_name} (ports {sorted(map(str, ports))})")
            if (path.get("path"), path.get("pathType")) != ("/", "Prefix"):
                out.append(f"path {path.get('path')} {path.get('pathType')}")
    out += [f"Ingress: {e}" for e in kubernetes_schema_errors(ing, settings.kubernetes_version)]
    return out


def base_url_findings(objs: Objects, settings: Settings, ui: UiIngress) -> list[str]:
    cfg = airflow_cfg(objs)
    section = build_plan(settings).profile.ui_base_url_section
    got = cfg.get(section, "base_url", fallback=None)
    return [] if got == ui.url else [f"[{section}] base_url {got!r}, not {ui.url!r}"]


def policy_findings(objs: Objects, settings: Settings) -> list[str]:
    """With NetworkPolicies on, the UI's policy admits the add-on's namespace on the UI port."""
    plan = build_plan(settings)
    if plan.network is None:
        return []
    component = plan.profile.ui_service
    peer = {"namespaceSelector": {"matchLabels": {NAMESPACE_NAME_LABEL: APP_ROUTING_NAMESPACE}}}
    for pol in (o for o in objs if o.get("kind") == "NetworkPolicy"):
        if (pol["spec"].get("podSelector") or {}).get("matchLabels", {}).get("component") != component:
            continue
        for rule in pol["spec"].get("ingress") or []:
            if peer in (rule.get("from") or []) and {"port": 8080} in (rule.get("ports") or []):
                return []
    return [f"no NetworkPolicy lets {APP_ROUTING_NAMESPACE} in to {component} on 8080"]


def schema_findings(values: dict[str, Any], settings: Settings) -> list[str]:
    schema = reference.airflow_chart_schema(settings.airflow_chart_version)
    return [e.message for e in jsonschema.Draft7Validator(schema).iter_errors(values)]


# ------------------------------------------------------------------ on both chart lines
@pytest.mark.parametrize("case", sorted(_CASES))
def test_the_ui_ingress_renders_as_the_add_on_needs_it(case: str) -> None:
    settings, values, objs = _rendered(case)
    ui = _ui(settings)
    assert schema_findings(values, settings) == []
    assert ingress_findings(objs, settings, ui) == []
    assert base_url_findings(objs, settings, ui) == []
    assert policy_findings(objs, settings) == []


@pytest.mark.parametrize("case", sorted(_CASES))
def test_without_ui_the_values_are_exactly_todays(case: str) -> None:
    settings = _CASES[case]()
    plan = build_plan(settings)
    ids = fake_client_ids(plan)
    assert airflow_values(settings, plan, ids, None) == airflow_values(settings, plan, ids)
    assert not [o for o in render(settings, airflow_values(settings, plan, ids)) if o.get("kind") == "Ingress"]


def test_each_chart_line_has_its_own_ingress_key_and_base_url_section() -> None:
    assert {v: (p.ui_ingress_key, p.ui_base_url_section) for v, p in PROFILES.items()} == {
        "1.15.0": ("web", "webserver"),
        "1.19.0": ("apiServer", "api"),
    }
    for version, profile in PROFILES.items():
        ingress = reference.airflow_chart_schema(version)["properties"]["ingress"]["properties"]
        assert profile.ui_ingress_key in ingress
    # Airflow's own names for the two options (facts/aks-app-routing-nginx.yaml)
    assert fact("aks-app-routing-nginx", "airflow2_base_url_section") == "AIRFLOW__WEBSERVER__BASE_URL"
    assert fact("aks-app-routing-nginx", "airflow3_base_url_section") == "AIRFLOW__API__BASE_URL"
    sections = {p.airflow_major: p.ui_base_url_section.upper() for p in PROFILES.values()}
    assert sections == {2: "WEBSERVER", 3: "API"}


# ------------------------------------------------------------------ each check catches a broken render
def _broken(case: str, mutate: Callable[[dict[str, Any]], object]) -> tuple[Settings, dict[str, Any], Objects]:
    settings, values, _ = _rendered(case)
    values = copy.deepcopy(values)
    mutate(values)
    return settings, values, render(settings, values)


def _ingress(values: dict[str, Any], case: str) -> dict[str, Any]:
    key = PROFILES["1.15.0" if case.startswith("1.15") else "1.19.0"].ui_ingress_key
    ingress: dict[str, Any] = values["ingress"][key]
    return ingress


@pytest.mark.parametrize("case", ["1.15.0", "1.19.0-prod"])
@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda _v, i: i.update(ingressClassName="nginx"), "ingressClassName 'nginx'"),
        (lambda _v, i: i["hosts"][0]["tls"].update(secretName="keyvault-airflow"), "tls "),
        (lambda _v, i: i.update(annotations={}), "no Key Vault URI annotation"),
        (lambda _v, i: i.update(path="/ui"), "path /ui"),
        (
            lambda _v, i: i.update(
                precedingPaths=[{"path": "/x", "pathType": "Prefix", "serviceName": "s", "servicePort": "http"}]
            ),
            "backend port",
        ),
        # a path without its pathType: Kubernetes' schema requires one
        (
            lambda _v, i: i.update(succeedingPaths=[{"path": "/x", "serviceName": "s", "servicePort": "airflow-ui"}]),
            "Ingress: ",
        ),
    ],
)  # fmt: skip
def test_a_broken_ingress_is_caught(case: str, mutate: Callable[..., object], expected: str) -> None:
    settings, _values, objs = _broken(case, lambda v: mutate(v, _ingress(v, case)))
    assert [p for p in ingress_findings(objs, settings, _ui(settings)) if expected in p]


@pytest.mark.parametrize("case", ["1.15.0", "1.19.0-prod"])
def test_a_missing_or_misplaced_base_url_is_caught(case: str) -> None:
    settings, _, _ = _rendered(case)
    section = build_plan(settings).profile.ui_base_url_section
    other = "api" if section == "webserver" else "webserver"

    def move(values: dict[str, Any]) -> None:
        values["config"][other] = {"base_url": values["config"].pop(section)["base_url"]}

    settings, _, objs = _broken(case, move)
    (finding,) = base_url_findings(objs, settings, _ui(settings))
    assert finding.startswith(f"[{section}] base_url ")  # (the chart's own default, or none)


@pytest.mark.parametrize("case", ["1.15.0-network", "1.19.0-prod"])
def test_a_policy_without_the_add_ons_namespace_is_caught(case: str) -> None:
    settings, _values, _ = _rendered(case)
    key = build_plan(settings).profile.ui_service_key

    def drop(v: dict[str, Any]) -> None:
        peers = v[key]["networkPolicy"]["ingress"]["from"]
        v[key]["networkPolicy"]["ingress"]["from"] = [p for p in peers if "namespaceSelector" not in p] or [
            {"podSelector": {"matchLabels": {"tier": "airflow"}}}
        ]

    settings, _, objs = _broken(case, drop)
    assert policy_findings(objs, settings) == [
        f"no NetworkPolicy lets {APP_ROUTING_NAMESPACE} in to {build_plan(settings).profile.ui_service} on 8080"
    ]


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda i: i.update(hosts={"name": HOST}), "is not of type 'array'"),
        (lambda i: i.update(tlsSecret="x"), "Additional properties are not allowed"),
    ],
)
def test_values_the_charts_schema_refuses_are_caught(mutate: Callable[[dict[str, Any]], object], expected: str) -> None:
    settings, values, _ = _rendered("1.19.0-prod")
    values = copy.deepcopy(values)
    mutate(_ingress(values, "1.19.0-prod"))
    assert [p for p in schema_findings(values, settings) if expected in p]


def test_the_ingress_values_alone() -> None:
    ui = UiIngress(HOST, "c", "keyvault-airflow-ingress", {ANNOTATION: URI})
    out = ingress_values(PROFILES["1.15.0"], ui)
    assert out["config"] == {"webserver": {"base_url": f"https://{HOST}"}}
    assert out["ingress"]["web"]["hosts"] == [{"name": HOST, "tls": {"enabled": True, "secretName": ui.tls_secret}}]

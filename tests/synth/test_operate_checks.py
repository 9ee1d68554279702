"""synth's operate checks (synth/operate_checks.py) on the prod stack rendered by the REAL
chart: clean as the stack is, and each check failing on the one broken input it exists for."""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable
from typing import Any

import pytest
import yaml

from synth import helm
from synth.operate_checks import check_alert_rules, check_scrape, check_ui_ingress
from synth.render import Rendered, render
from synth.runner import RunResult
from synth.validate import Report

pytestmark = pytest.mark.skipif(helm.engine() is None, reason="no Helm engine")


@pytest.fixture(scope="module")
def prod(prod_run: RunResult) -> tuple[RunResult, Rendered]:
    rendered = render(prod_run)
    rendered.charts = helm.render_releases(rendered, "1.33")
    return prod_run, rendered


def _errors(check: Callable[[Report], None]) -> list[str]:
    report = Report()
    check(report)
    return [f"{f.subject}: {f.message}" for f in report.errors]


def test_prod_is_clean_and_every_check_ran(prod: tuple[RunResult, Rendered]) -> None:
    result, rendered = prod
    report = Report()
    check_scrape(result, rendered, report)
    check_ui_ingress(result, rendered, report)
    check_alert_rules(result, report)
    assert report.errors == []
    assert report.validated["scrape job (rendered Service port)"] == 1
    assert report.validated["UI ingress (render, vault, base_url)"] == 1
    assert report.validated["alert rule (scope, runbook)"] >= 6


def _with_scrape(result: RunResult, edit: Callable[[dict[str, Any]], None]) -> RunResult:
    records = copy.deepcopy(result.records)
    for r in records:
        if (r.inputs.get("metadata") or {}).get("name") == "ama-metrics-prometheus-config":
            config = yaml.safe_load(r.inputs["data"]["prometheus-config"])
            edit(config["scrape_configs"][0])
            r.inputs["data"]["prometheus-config"] = yaml.safe_dump(config)
    return dataclasses.replace(result, records=records)


def _set_keep(label: str, regex: str) -> Callable[[dict[str, Any]], None]:
    def edit(job: dict[str, Any]) -> None:
        for r in job["relabel_configs"]:
            if r.get("source_labels") == [label] and r.get("action") == "keep":
                r["regex"] = regex

    return edit


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (_set_keep("__meta_kubernetes_service_name", "airflow-statsd-exporter"), "keeps 0 rendered Service ports"),
        (_set_keep("__meta_kubernetes_endpoint_port_name", "statsd-ingest"), "keeps 0 rendered Service ports"),
        (_set_keep("__address__", ".+:9125"), "keeps 0 rendered Service ports"),
        (
            lambda job: job.update(kubernetes_sd_configs=[{"role": "endpoints", "namespaces": {"names": ["other"]}}]),
            "keeps 0",
        ),
        (lambda job: job.update(relabel_configs=[]), "not limited to one namespace, Service, port name and port"),
    ],
    ids=["service", "port-name", "port-number", "namespace", "unfiltered"],
)
def test_a_scrape_that_misses_the_charts_statsd_port_is_caught(
    prod: tuple[RunResult, Rendered], edit: Callable[[dict[str, Any]], None], expected: str
) -> None:
    result, rendered = prod
    errors = _errors(lambda report: check_scrape(_with_scrape(result, edit), rendered, report))
    assert [e for e in errors if expected in e], errors


def _with_ingress(rendered: Rendered, edit: Callable[[dict[str, Any]], None]) -> Rendered:
    charts = copy.deepcopy(rendered.charts)
    for rel in charts.values():
        for _, obj in rel.objects:
            if obj.get("kind") == "Ingress":
                edit(obj)
    broken = copy.copy(rendered)
    broken.charts = charts
    return broken


def _backend(obj: dict[str, Any]) -> dict[str, Any]:
    return obj["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (lambda o: o["spec"]["tls"][0].update(secretName="airflow-tls"), "is not the one the add-on fills"),
        (lambda o: _backend(o).update(name="airflow-webserver"), "which the chart does not render"),
        (lambda o: _backend(o).update(port={"number": 80}), "which the chart does not render"),
        (
            lambda o: o["metadata"]["annotations"].update(
                {"kubernetes.azure.com/tls-cert-keyvault-uri": "https://other.vault.azure.net/secrets/x"}
            ),
            "names no Key Vault secret the stack writes",
        ),
        (lambda o: o["spec"]["rules"][0].update(host="airflow.example.com"), "base_url"),
    ],
    ids=["tls-secret", "service", "port", "vault-uri", "host"],
)
def test_a_ui_ingress_that_cannot_work_is_caught(
    prod: tuple[RunResult, Rendered], edit: Callable[[dict[str, Any]], None], expected: str
) -> None:
    result, rendered = prod
    errors = _errors(lambda report: check_ui_ingress(result, _with_ingress(rendered, edit), report))
    assert [e for e in errors if expected in e], errors


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (lambda g: g["rules"][0]["annotations"].pop("runbook"), "has no runbook annotation"),
        (lambda g: g.update(scopes=g["scopes"][:1]), "are not the Azure Monitor workspace and the cluster"),
    ],
    ids=["runbook", "scope"],
)
def test_an_alert_without_runbook_or_cluster_scope_is_caught(
    prod: tuple[RunResult, Rendered], edit: Callable[[dict[str, Any]], None], expected: str
) -> None:
    result, _ = prod
    records = copy.deepcopy(result.records)
    (group,) = [r for r in records if r.type.endswith(":PrometheusRuleGroup") and "airflow" in r.name]
    edit(group.inputs)
    errors = _errors(lambda report: check_alert_rules(dataclasses.replace(result, records=records), report))
    assert [e for e in errors if expected in e], errors

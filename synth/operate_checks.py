"""Checks of the operate resources against what the real chart renders (synth/validate.py's
check_charts runs them): the Prometheus scrape reaches a Service port the chart really has; the
UI's Ingress (rendered by the chart) routes to a real Service port, takes its TLS Secret from
the name the application routing add-on fills and names a Key Vault secret the stack writes,
with Airflow's base_url on the same host; every alert rule group is scoped to a workspace and
the cluster and every rule carries a runbook line."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import yaml

from plan import (
    SCRAPE_CONFIGMAP,
    SCRAPE_CONFIGMAP_KEY,
    SCRAPE_CONFIGMAP_NAMESPACE,
    UI_KEYVAULT_URI_ANNOTATION,
    ui_tls_secret_name,
)

if TYPE_CHECKING:
    from synth.render import Rendered
    from synth.runner import RunResult
    from synth.validate import Report

CONFIGMAP = "kubernetes:core/v1:ConfigMap"
RULE_GROUP = "azure-native:alertsmanagement:PrometheusRuleGroup"
KEY_VAULT_SECRET = "azure-native:keyvault:Secret"  # noqa: S105 - a type token


def _rendered_objects(rendered: Rendered) -> list[tuple[str, dict[str, Any]]]:
    """(namespace, object) of every object the charts render (install)."""
    out = []
    for _, rel in sorted(rendered.charts.items()):
        if rel.rendered:
            out += [(str((o.get("metadata") or {}).get("namespace") or rel.namespace), o) for _, o in rel.objects]
    return out


def _services(rendered: Rendered) -> dict[tuple[str, str], list[Mapping[str, Any]]]:
    """(namespace, name) -> ports of every Service the charts render."""
    return {
        (ns, str(o["metadata"]["name"])): list((o.get("spec") or {}).get("ports") or [])
        for ns, o in _rendered_objects(rendered)
        if o.get("kind") == "Service"
    }


def _keep(relabels: list[Mapping[str, Any]], label: str) -> str | None:
    for r in relabels:
        if r.get("action") == "keep" and r.get("source_labels") == [label]:
            return str(r.get("regex"))
    return None


def check_scrape(result: RunResult, rendered: Rendered, report: Report) -> None:
    """Every job of the agent's custom scrape config keeps a Service and port name that the
    chart renders in the namespaces it discovers, with the port number its address filter keeps."""
    import re

    services = _services(rendered)
    for record in result.by_type(CONFIGMAP):
        meta = record.inputs.get("metadata") or {}
        if (meta.get("namespace"), meta.get("name")) != (SCRAPE_CONFIGMAP_NAMESPACE, SCRAPE_CONFIGMAP):
            continue
        subject = f"ConfigMap/{SCRAPE_CONFIGMAP_NAMESPACE}/{SCRAPE_CONFIGMAP}"
        try:
            config = yaml.safe_load(str((record.inputs.get("data") or {}).get(SCRAPE_CONFIGMAP_KEY, "")))
        except yaml.YAMLError as err:
            report.add("scrape", subject, f"{SCRAPE_CONFIGMAP_KEY} is not YAML: {err}")
            continue
        jobs = (config or {}).get("scrape_configs") if isinstance(config, Mapping) else None
        if not jobs:
            report.add("scrape", subject, f"{SCRAPE_CONFIGMAP_KEY} has no scrape_configs")
            continue
        for job in jobs:
            report.validated["scrape job (rendered Service port)"] += 1
            name = job.get("job_name")
            relabels = list(job.get("relabel_configs") or [])
            namespaces = [
                n
                for sd in job.get("kubernetes_sd_configs") or []
                for n in (sd.get("namespaces") or {}).get("names") or []
            ]
            service = _keep(relabels, "__meta_kubernetes_service_name")
            port_name = _keep(relabels, "__meta_kubernetes_endpoint_port_name")
            address = _keep(relabels, "__address__")
            if not (namespaces and service and port_name and address):
                report.add(
                    "scrape", f"{subject} job {name}", "not limited to one namespace, Service, port name and port"
                )
                continue
            matches = [
                (ns, svc, p)
                for (ns, svc), ports in services.items()
                if ns in namespaces and re.fullmatch(service, svc)
                for p in ports
                if re.fullmatch(port_name, str(p.get("name"))) and re.fullmatch(address, f"10.0.0.1:{p.get('port')}")
            ]
            if len(matches) != 1:
                found = sorted(f"{ns}/{svc}" for ns, svc in services if ns in namespaces)
                report.add(
                    "scrape",
                    f"{subject} job {name}",
                    f"keeps {len(matches)} rendered Service ports (Service {service!r}, port {port_name!r}, address "
                    f"{address!r} in {namespaces}), not exactly one; the charts render Services {found}",
                )


def check_ui_ingress(result: RunResult, rendered: Rendered, report: Report) -> None:
    """The UI's Ingress as the chart renders it: a backend Service port that exists, the TLS
    Secret the add-on fills for this Ingress's name, a Key Vault URI annotation naming a secret
    the stack writes, and Airflow's base_url on the Ingress's host."""
    services = _services(rendered)
    vault_uris = {
        str((r.state.get("properties") or {}).get("secretUri") or "").rstrip("/")
        for r in result.by_type(KEY_VAULT_SECRET)
    }
    for _, rel in sorted(rendered.charts.items()):
        if not rel.rendered:
            continue
        values = rendered.helm.get(rel.release) or {}
        base_urls = [
            str(section.get("base_url"))
            for section in (values.get("config") or {}).values()
            if isinstance(section, Mapping) and section.get("base_url")
        ]
        for _, obj in rel.objects:
            if obj.get("kind") != "Ingress":
                continue
            meta = obj.get("metadata") or {}
            ns, ingress = str(meta.get("namespace") or rel.namespace), str(meta.get("name"))
            subject = f"Ingress/{ns}/{ingress}"
            report.validated["UI ingress (render, vault, base_url)"] += 1
            spec = obj.get("spec") or {}
            uri = str((meta.get("annotations") or {}).get(UI_KEYVAULT_URI_ANNOTATION) or "")
            if uri.rstrip("/") not in vault_uris:
                named = f"{UI_KEYVAULT_URI_ANNOTATION} {uri!r}"
                report.add("ingress", subject, f"{named} names no Key Vault secret the stack writes")
            tls = spec.get("tls") or []
            hosts = [str(r.get("host")) for r in spec.get("rules") or []]
            if [t.get("secretName") for t in tls] != [ui_tls_secret_name(ingress)]:
                report.add(
                    "ingress",
                    subject,
                    f"tls secretName {[t.get('secretName') for t in tls]} is not the one the add-on fills "
                    f"({ui_tls_secret_name(ingress)})",
                )
            for rule in spec.get("rules") or []:
                for path in (rule.get("http") or {}).get("paths") or []:
                    backend = (path.get("backend") or {}).get("service") or {}
                    port = backend.get("port") or {}
                    ports = services.get((ns, str(backend.get("name"))))
                    if ports is None or not any(
                        p.get("port") == port.get("number") or (port.get("name") and p.get("name") == port.get("name"))
                        for p in ports
                    ):
                        report.add(
                            "ingress",
                            subject,
                            f"routes to {backend.get('name')}:{port}, which the chart does not render",
                        )
            if [urlsplit(u).hostname for u in base_urls] != hosts[:1] * len(base_urls) or not base_urls:
                report.add(
                    "ingress", subject, f"Airflow's base_url {base_urls} is not https://{hosts[0] if hosts else '?'}"
                )


def check_alert_rules(result: RunResult, report: Report) -> None:
    """Every alert rule group is scoped to the stack's Azure Monitor workspace and its cluster,
    and every alert in it tells the on-call what to do (a runbook annotation)."""
    for group in result.by_type(RULE_GROUP):
        subject = f"PrometheusRuleGroup/{group.inputs.get('ruleGroupName')}"
        scopes = [str(s) for s in group.inputs.get("scopes") or []]
        if not any("/providers/Microsoft.Monitor/accounts/" in s for s in scopes) or not any(
            "/providers/Microsoft.ContainerService/managedClusters/" in s for s in scopes
        ):
            report.add("alerts", subject, f"scopes {scopes} are not the Azure Monitor workspace and the cluster")
        for rule in group.inputs.get("rules") or []:
            report.validated["alert rule (scope, runbook)"] += 1
            if rule.get("alert") and not (rule.get("annotations") or {}).get("runbook"):
                report.add("alerts", f"{subject}/{rule.get('alert')}", "has no runbook annotation")


def check_operate(result: RunResult, rendered: Rendered, report: Report) -> None:
    check_scrape(result, rendered, report)
    check_ui_ingress(result, rendered, report)
    check_alert_rules(result, report)

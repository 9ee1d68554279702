"""synth's "Data plane" summary: read from what the stack registers, so a reviewer sees the
database, the task-log path, the network and the private endpoints at a glance."""

from __future__ import annotations

import copy
import dataclasses

from synth.__main__ import data_plane_lines
from synth.runner import RunResult


def _line(lines: list[str], prefix: str) -> str:
    (line,) = [line for line in lines if line.startswith(prefix)]
    return line


def test_prod_shows_the_managed_database_keyless_logs_and_private_endpoints(prod_run: RunResult) -> None:
    lines = data_plane_lines(prod_run)
    database = _line(lines, "database:")
    assert "PostgreSQL Flexible Server 16" in database
    assert "HA ZoneRedundant" in database
    assert "backups 35 days (geo-redundant Enabled)" in database
    assert "public access Disabled" in database
    assert "through workload identity; shared-key access off" in _line(lines, "task logs:")
    assert _line(lines, "private endpoints:") == "private endpoints: blob, vault"
    assert "(delegated to Microsoft.DBforPostgreSQL/flexibleServers)" in _line(lines, "network: VNet")
    assert "networkDataplane cilium, networkPolicy cilium" in _line(lines, "cluster network:")
    assert _line(lines, "pool airflow").endswith("3-10 (autoscaler) x Standard_D8ds_v5")
    assert "the chart's on" in _line(lines, "network policies:")


def test_dev_shows_the_articles_data_plane(dev_run: RunResult) -> None:
    lines = data_plane_lines(dev_run)
    assert _line(lines, "database:") == "database: the chart's bundled PostgreSQL (one pod; not for production)"
    assert "mounted with the account key; shared-key access on" in _line(lines, "task logs:")
    assert _line(lines, "private endpoints:") == "private endpoints: none (public endpoints)"
    assert not [line for line in lines if line.startswith("network: VNet")]


def test_a_storage_account_that_still_takes_keys_shows(prod_run: RunResult) -> None:
    records = copy.deepcopy(prod_run.records)
    for record in records:
        if record.type == "azure-native:storage:StorageAccount":
            record.inputs.pop("allowSharedKeyAccess")
    broken = dataclasses.replace(prod_run, records=records)
    assert _line(data_plane_lines(broken), "task logs:").endswith("shared-key access on")


def test_prod_shows_how_it_is_operated(prod_run: RunResult) -> None:
    from synth.__main__ import operate_lines

    lines = operate_lines(prod_run)
    assert _line(lines, "metrics:").endswith("the agent's custom scrape config (Airflow's statsd exporter)")
    assert _line(lines, "alerts:").startswith("alerts: 6 Prometheus rules in 2 groups")
    assert _line(lines, "alerts:").endswith("notify: nobody (no action group)")
    assert (
        _line(lines, "container logs:")
        == "container logs: Container Insights to Log Analytics airflow-prod-law, 90 days"
    )
    assert (
        _line(lines, "UI:") == "UI: https://airflow.prod.internal through application routing (Internal load balancer)"
    )


def test_dev_is_operated_as_the_article(dev_run: RunResult) -> None:
    from synth.__main__ import operate_lines

    assert operate_lines(dev_run) == [
        "metrics: none (the statsd exporter runs; nothing scrapes it)",
        "container logs: none kept (kubectl logs while the pod lives)",
        "dashboards: none",
        "UI: port-forward only",
    ]


def test_an_action_group_shows_who_is_notified(prod_run: RunResult) -> None:
    from synth.__main__ import operate_lines

    records = copy.deepcopy(prod_run.records)
    group = "/subscriptions/s/resourceGroups/ops/providers/Microsoft.Insights/actionGroups/airflow-oncall"
    for record in records:
        for rule in record.inputs.get("rules") or [] if record.type.endswith(":PrometheusRuleGroup") else []:
            rule["actions"] = [{"actionGroupId": group}]
    lines = operate_lines(dataclasses.replace(prod_run, records=records))
    assert _line(lines, "alerts:").endswith("notify: airflow-oncall")


def test_the_log_backups_show_soft_delete_and_versioning(prod_run: RunResult, dev_run: RunResult) -> None:
    assert _line(data_plane_lines(prod_run), "log backups:") == (
        "log backups: blob soft delete 2 days, container soft delete 7 days, versioning on"
    )
    assert _line(data_plane_lines(dev_run), "log backups:").endswith("versioning off")

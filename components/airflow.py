"""Airflow: the official apache-airflow chart as a Helm release, values from a pure builder."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from profiles import AIRFLOW_CHART_NAME, AIRFLOW_CHART_REPO


@dataclass
class AirflowArgs:
    release_name: str  # plan.airflow_release
    chart_version: str  # plan.profile.chart_version
    namespace: pulumi.Input[str]
    port_forward: str  # plan.ui_port_forward: how to reach the UI
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
            name=args.release_name,
            chart=AIRFLOW_CHART_NAME,
            version=args.chart_version,
            repository_opts=k8s.helm.v3.RepositoryOptsArgs(repo=AIRFLOW_CHART_REPO),
            namespace=args.namespace,
            values=args.values,
            # Hooks are off in the values, so waiting for readiness cannot deadlock.
            timeout=1200,
            opts=pulumi.ResourceOptions(parent=self, provider=args.provider, depends_on=list(args.depends_on)),
        )
        self.release_name = self.release.name.apply(lambda n: n or args.release_name)
        # known once the release and the namespace are
        self.port_forward = pulumi.Output.all(self.release_name, args.namespace).apply(lambda _: args.port_forward)
        self.register_outputs({"releaseName": self.release_name, "portForward": self.port_forward})

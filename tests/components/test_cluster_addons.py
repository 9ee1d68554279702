"""The cluster add-ons the operate keys turn on (monitoring, containerInsights, uiIngress):
what the ManagedCluster request carries, checked against the azure-native SDK's own wire
names (its input classes' getters) and, where the SDK has none (the monitoring add-on's name
and config keys), against Microsoft's own words in facts/aks-monitoring-addon.yaml; not
against strings this file repeats from the code."""

from __future__ import annotations

from typing import Any

import pulumi
import pytest
from pulumi_azure_native import containerservice

from components.cluster import Cluster, ClusterArgs
from synth.mocks import SUBSCRIPTION_ID
from tests.helpers import deps_of, resolve, run_component, settings_for
from tests.test_external_facts import fact

WORKSPACE = (
    f"/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/airflow-dev-rg"
    "/providers/Microsoft.OperationalInsights/workspaces/airflow-dev-law"
)


# the monitoring add-on (Container Insights), as Microsoft's onboarding template and the Azure CLI write it
MONITORING = "aks-monitoring-addon"
# the Secrets Store CSI driver with the Key Vault provider, as the Azure CLI names it
KEY_VAULT = "aks-keyvault-secrets-provider-addon"


def _wire(cls: type, attr: str) -> str:
    """The JSON name the SDK sends for a property (its @pulumi.getter(name=...))."""
    return str(getattr(cls, attr).fget._pulumi_name)  # type: ignore[attr-defined]


def _run(**kw: Any) -> tuple[Any, Cluster]:
    return run_component(
        lambda: Cluster("cluster", ClusterArgs(settings=settings_for(), subscription_id=SUBSCRIPTION_ID, **kw))
    )


def _aks(**kw: Any) -> tuple[dict[str, Any], Cluster]:
    result, cluster = _run(**kw)
    return result.one("azure-native:containerservice:ManagedCluster").inputs, cluster


def test_the_articles_cluster_has_no_add_on_turned_on() -> None:
    aks, cluster = _aks()
    for cls, attr in [
        (containerservice.ManagedClusterArgs, "azure_monitor_profile"),
        (containerservice.ManagedClusterArgs, "addon_profiles"),
        (containerservice.ManagedClusterArgs, "ingress_profile"),
    ]:
        assert _wire(cls, attr) not in aks
    assert cluster.app_routing_object_id is None


def test_monitoring_turns_on_the_managed_prometheus_agent() -> None:
    aks, _ = _aks(metrics=True)
    profile = aks[_wire(containerservice.ManagedClusterArgs, "azure_monitor_profile")]
    metrics = profile[_wire(containerservice.ManagedClusterAzureMonitorProfileArgs, "metrics")]
    assert metrics == {_wire(containerservice.ManagedClusterAzureMonitorProfileMetricsArgs, "enabled"): True}


def test_container_insights_sends_to_the_workspace_with_entra_auth() -> None:
    aks, cluster = _aks(log_analytics=("airflow-dev-law", 45))
    assert resolve(cluster.log_analytics_workspace_id) == WORKSPACE
    addons = aks[_wire(containerservice.ManagedClusterArgs, "addon_profiles")]
    # the add-on's name and config keys are no SDK properties: Microsoft's managed identity
    # onboarding template states them (facts/aks-monitoring-addon.yaml)
    assert list(addons) == [fact(MONITORING, "addon_name")]
    assert addons[fact(MONITORING, "addon_name")] == {
        _wire(containerservice.ManagedClusterAddonProfileArgs, "enabled"): True,
        _wire(containerservice.ManagedClusterAddonProfileArgs, "config"): {
            fact(MONITORING, "workspace_config_key"): WORKSPACE,
            fact(MONITORING, "aad_auth_config_key"): fact(MONITORING, "aad_auth_value"),
        },
    }


@pytest.mark.parametrize("name", ["addon_name", "workspace_config_key", "aad_auth_config_key"])
def test_the_template_and_the_azure_cli_name_the_monitoring_add_on_alike(name: str) -> None:
    """Two independent Microsoft sources for each name the cluster writes: the ARM template
    Microsoft Learn links and the constants `az aks enable-addons -a monitoring` uses."""
    assert fact(MONITORING, name) == fact(MONITORING, f"azure_cli_{name}")


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        ("Internal", containerservice.NginxIngressControllerType.INTERNAL),
        ("External", containerservice.NginxIngressControllerType.EXTERNAL),
    ],
)
def test_app_routing_puts_its_default_controller_on_the_chosen_load_balancer(
    mode: str, expected: containerservice.NginxIngressControllerType
) -> None:
    result, cluster = _run(app_routing=mode)
    aks = result.one("azure-native:containerservice:ManagedCluster").inputs
    state = result.one("azure-native:containerservice:ManagedCluster").state
    routing = aks[_wire(containerservice.ManagedClusterArgs, "ingress_profile")][
        _wire(containerservice.ManagedClusterIngressProfileArgs, "web_app_routing")
    ]
    nginx = routing[_wire(containerservice.ManagedClusterIngressProfileWebAppRoutingArgs, "nginx")]
    assert routing["enabled"] is True
    assert nginx == {
        _wire(containerservice.ManagedClusterIngressProfileNginxArgs, "default_ingress_controller_type"): expected.value
    }
    # the add-on reads the certificate through the Key Vault CSI provider (--enable-kv)
    addons = aks[_wire(containerservice.ManagedClusterArgs, "addon_profiles")]
    assert addons == {
        fact(KEY_VAULT, "addon_name"): {
            _wire(containerservice.ManagedClusterAddonProfileArgs, "enabled"): True,
            _wire(containerservice.ManagedClusterAddonProfileArgs, "config"): {
                fact(KEY_VAULT, "rotation_config_key"): fact(KEY_VAULT, "rotation_on_value")
            },
        }
    }
    assert cluster.app_routing_object_id is not None
    # the identity AKS reports for the add-on (the mocks answer as Azure does)
    assert resolve(cluster.app_routing_object_id) == state["ingressProfile"]["webAppRouting"]["identity"]["objectId"]


def test_an_unknown_controller_type_is_refused_by_the_sdk_enum() -> None:
    with pytest.raises(ValueError, match="'Private' is not a valid NginxIngressControllerType"):
        _aks(app_routing="Private")


def test_the_cluster_id_is_the_clusters_arm_id() -> None:
    _, cluster = _aks()
    assert resolve(cluster.cluster_id).endswith("/providers/Microsoft.ContainerService/managedClusters/airflow-dev-aks")
    assert isinstance(cluster.cluster_id, pulumi.Output)


@pytest.mark.parametrize(
    ("member", "says"),
    [
        (containerservice.NginxIngressControllerType.INTERNAL, "provision an internal loadbalancer"),
        (containerservice.NginxIngressControllerType.EXTERNAL, "provision an external loadbalancer"),
    ],
)
def test_the_controller_types_do_what_the_api_documents(
    member: containerservice.NginxIngressControllerType, says: str
) -> None:
    """uiIngress internal/public rely on these two values: the SDK carries the AKS API's own
    description of each (generated from its OpenAPI spec)."""
    import inspect

    source = inspect.getsource(containerservice.NginxIngressControllerType)
    doc = source.split(f'{member.name} = "{member.value}"')[1].split('"""')[1]
    assert says in doc


def test_both_add_ons_together() -> None:
    aks, _ = _aks(log_analytics=("airflow-dev-law", 30), app_routing="Internal", metrics=True)
    assert sorted(aks["addonProfiles"]) == sorted([fact(KEY_VAULT, "addon_name"), fact(MONITORING, "addon_name")])


def test_the_workspace_is_made_in_the_clusters_group_before_the_cluster() -> None:
    result, _ = run_component(
        lambda: Cluster(
            "cluster",
            ClusterArgs(
                settings=settings_for(), subscription_id=SUBSCRIPTION_ID, log_analytics=("airflow-dev-law", 45)
            ),
        )
    )
    workspace = result.one("azure-native:operationalinsights:Workspace")
    assert workspace.inputs["retentionInDays"] == 45
    assert workspace.inputs["resourceGroupName"] == "airflow-dev-rg"
    aks = result.one("azure-native:containerservice:ManagedCluster")
    assert "azure-native:operationalinsights:Workspace::cluster-monitoring-logs" in deps_of(result, aks)

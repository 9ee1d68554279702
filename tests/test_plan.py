"""The stack plan: pure, and the one source of every shared name the stack registers."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest

from config import parse_settings
from plan import StackPlan, build_plan
from synth.project import PROJECT_DIR, load_stack_config, stacks
from synth.runner import RunResult, run_stack

ESO_API = "kubernetes:external-secrets.io/v1"


def _stack(stack: str) -> tuple[StackPlan, RunResult]:
    config = load_stack_config(stack)
    return build_plan(parse_settings(stack, config.values)), run_stack(config)


def _names(result: RunResult, typ: str) -> set[str]:
    return {r.inputs["metadata"]["name"] for r in result.by_type(typ)}


@pytest.mark.parametrize("module", ["plan", "config", "profiles"])
def test_the_pure_layers_import_no_pulumi_and_no_component(module: str) -> None:
    """plan, config and profiles: plain data over plain data (ARCHITECTURE: config imports no
    component; the plan imports config only), checked in a fresh interpreter."""
    code = (
        f"import sys, {module}\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in "
        "{'pulumi', 'pulumi_azure_native', 'pulumi_kubernetes', 'pulumi_random', 'components', 'synth'})\n"
        "print(heavy)"
    )
    out = subprocess.run(  # noqa: S603 - this interpreter, our own code
        [sys.executable, "-c", code], cwd=PROJECT_DIR, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize("stack", stacks())
def test_every_shared_name_the_stack_registers_is_the_plans(stack: str) -> None:
    from components.azure_roles import BUILT_IN_ROLES

    plan, result = _stack(stack)
    assert _names(result, "kubernetes:core/v1:Namespace") == {plan.namespace, plan.operator_namespace}
    assert _names(result, "kubernetes:core/v1:ServiceAccount") == {plan.service_account}
    identities = result.by_type("azure-native:managedidentity:UserAssignedIdentity")
    uamis = {r.name: r.inputs["resourceName"] for r in identities}
    assert uamis.pop("identity-uami") == plan.identity_name
    # logsMode=remote: the identities Airflow's pods write and read task logs with
    assert {i.key: uamis.pop(f"logs-{i.key}-uami", None) for i in plan.log_identities} == {
        i.key: i.name for i in plan.log_identities
    }
    # the stack's own network: its VNet and subnets, and the control plane's identity
    vnets = {r.inputs["virtualNetworkName"]: r.inputs for r in result.by_type("azure-native:network:VirtualNetwork")}
    if plan.network is None:
        assert (uamis, vnets) == ({}, {})
    else:
        assert uamis == {"cluster-identity": plan.network.cluster_identity}
        if plan.network.mode == "create":
            assert set(vnets) == {plan.network.vnet_name}
            (vnet,) = vnets.values()
            assert vnet["addressSpace"]["addressPrefixes"] == [plan.network.address_space]
            planned = {
                plan.network.node_subnet_name: plan.network.node_subnet_prefix,
                plan.network.database_subnet_name: plan.network.database_subnet_prefix,
                plan.network.endpoint_subnet_name: plan.network.endpoint_subnet_prefix,
            }
            planned.pop(None, None)  # the subnets the settings do not call for
            assert {n["name"]: n["addressPrefix"] for n in vnet["subnets"]} == planned
        else:
            assert vnets == {}
    # every federated credential: the operator's, and one per ServiceAccount of each log identity
    fics = result.by_type("azure-native:managedidentity:FederatedIdentityCredential")
    by_identity = {
        plan.identity_name: dict(plan.federated_subjects),
        **{i.name: i.subjects(plan.namespace) for i in plan.log_identities},
    }
    registered: dict[str, dict[str, str]] = {}
    for f in fics:
        registered.setdefault(f.inputs["resourceName"], {})[f.inputs["federatedIdentityCredentialResourceName"]] = (
            f.inputs["subject"]
        )
    assert registered == by_identity
    # ... and each log identity holds the plan's role on the logs container
    principals = {r.inputs["resourceName"]: r.state["principalId"] for r in identities}
    container = result.one("azure-native:storage:BlobContainer").inputs["containerName"]
    grants = {
        (r.inputs["principalId"], r.inputs["roleDefinitionId"].rsplit("/", 1)[-1])
        for r in result.by_type("azure-native:authorization:RoleAssignment")
        if r.inputs["scope"].endswith(f"/blobServices/default/containers/{container}")
    }
    assert grants == {(principals[i.name], BUILT_IN_ROLES[i.role]) for i in plan.log_identities}
    # databaseMode=managed: the private DNS zone the flexible server registers in, linked to the VNet
    zones = {r.name: r.inputs["privateZoneName"] for r in result.by_type("azure-native:privatedns:PrivateZone")}
    assert zones.get("database-dns-zone") == plan.database_dns_zone
    links = {r.name: r.inputs for r in result.by_type("azure-native:privatedns:VirtualNetworkLink")}
    assert (links.get("database-dns-link") or {}).get("privateZoneName") == plan.database_dns_zone
    servers = result.by_type("azure-native:dbforpostgresql:Server")
    if plan.database_dns_zone is None:
        assert servers == []
    else:
        (server,) = servers
        assert server.inputs["network"]["privateDnsZoneArmResourceId"].endswith(
            f"/privateDnsZones/{plan.database_dns_zone}"
        )
        assert plan.network is not None  # a managed database needs the stack's network
        subnet = server.inputs["network"]["delegatedSubnetResourceId"]
        if plan.network.mode == "create":
            assert subnet.endswith(
                f"/virtualNetworks/{plan.network.vnet_name}/subnets/{plan.network.database_subnet_name}"
            )
            subnets = {n["name"]: n for n in vnets[plan.network.vnet_name]["subnets"]}
            assert [d["serviceName"] for d in subnets[plan.network.database_subnet_name]["delegations"]] == [
                "Microsoft.DBforPostgreSQL/flexibleServers"
            ]
        else:
            assert subnet == plan.network.database_subnet_id
    releases = {r.inputs["chart"]: r.inputs for r in result.by_type("kubernetes:helm.sh/v3:Release")}
    airflow_values = releases["airflow"]["values"]
    logs = airflow_values["logs"]["persistence"]
    if plan.log_identities:
        # remote logs: no volume; each log identity's ServiceAccounts are the ones the chart creates
        assert result.by_type("kubernetes:core/v1:PersistentVolume") == []
        assert result.by_type("kubernetes:core/v1:PersistentVolumeClaim") == []
        assert logs == {"enabled": False}
        for identity in plan.log_identities:
            for key, account in identity.service_accounts.items():
                assert airflow_values[key]["serviceAccount"]["name"] == account, key
    else:
        pv = result.one("kubernetes:core/v1:PersistentVolume")
        pvc = result.one("kubernetes:core/v1:PersistentVolumeClaim")
        assert pv.inputs["metadata"]["name"] == plan.logs_volume
        assert pvc.inputs["metadata"]["name"] == plan.logs_claim
        assert pvc.inputs["spec"]["volumeName"] == plan.logs_volume
        assert pv.inputs["spec"]["storageClassName"] == pvc.inputs["spec"]["storageClassName"] == plan.storage_class
        # the driver's Secret: one ESO assembles, in the claim's namespace, with the keys the Blob
        # CSI driver documents for an account name and key (driver-parameters.md)
        ref = pv.inputs["spec"]["csi"]["nodeStageSecretRef"]
        assert ref["namespace"] == pvc.inputs["metadata"]["namespace"] == plan.namespace
        assert set(plan.secrets[ref["name"]].data) == {"azurestorageaccountname", "azurestorageaccountkey"}
        assert (logs["existingClaim"], logs["storageClassName"]) == (plan.logs_claim, plan.storage_class)
    # every Secret ESO assembles, from exactly the Key Vault secrets the plan names
    external = {r.inputs["metadata"]["name"]: r.inputs["spec"] for r in result.by_type(f"{ESO_API}:ExternalSecret")}
    assert set(external) == set(plan.secrets)
    for target, source in plan.secrets.items():
        refs = {d["secretKey"]: d["remoteRef"]["key"] for d in external[target]["data"]}
        assert refs == dict(source.data), target
    vault_secrets = {r.inputs["secretName"] for r in result.by_type("azure-native:keyvault:Secret")}
    # ... plus, with uiIngress, the UI's certificate, which the application routing add-on reads
    from plan import UI_CERTIFICATE_SECRET

    ui_certificate = {UI_CERTIFICATE_SECRET} if plan.ui_ingress else set()
    assert vault_secrets == {kv for source in plan.secrets.values() for kv in source.data.values()} | ui_certificate
    assert releases["airflow"]["name"] == plan.airflow_release
    assert releases["airflow"]["namespace"] == plan.namespace
    assert releases["airflow"]["version"] == plan.profile.chart_version
    assert releases["external-secrets"]["name"] == plan.operator_release
    assert releases["external-secrets"]["namespace"] == plan.operator_namespace
    assert result.outputs["airflowUiPortForward"][0] == plan.ui_port_forward


def test_one_namespace_setting_moves_every_name_that_carries_it() -> None:
    config = load_stack_config("dev")
    base = build_plan(parse_settings("dev", config.values))
    moved = build_plan(parse_settings("dev", {**config.values, "airflow-aks:namespace": "data"}))
    assert (base.namespace, moved.namespace) == ("airflow", "data")
    assert moved.operator_namespace == "data-eso"
    assert (moved.logs_claim, moved.logs_volume) == ("pvc-data-logs", "pv-data-logs")
    assert moved.federated_subjects == {"external-secrets-operator": "system:serviceaccount:data:airflow"}
    assert "airflow-pgbouncer.data" in moved.secrets["airflow-metadata-connection"].template["connection"]  # type: ignore[index]
    assert moved.ui_port_forward.endswith("--namespace data")


def test_the_namespace_keeps_its_former_urn_as_an_alias(dev_run: RunResult) -> None:
    """The Namespace moved out of Identity: without the alias `pulumi up` would delete the
    namespace, and everything in it, and create it again. The former URN is what the state
    of a stack deployed before the move holds (synth dev, commit e4d6824)."""
    namespace = next(r for r in dev_run.by_type("kubernetes:core/v1:Namespace") if r.name == "namespace-ns")
    former = (
        "urn:pulumi:dev::airflow-aks::airflow-aks:identity:Identity$kubernetes:core/v1:Namespace::identity-namespace"
    )
    assert namespace.aliases == [former]


def test_the_plan_is_deterministic() -> None:
    config = load_stack_config("prod")
    first: Any = build_plan(parse_settings("prod", config.values))
    assert first == build_plan(parse_settings("prod", config.values))

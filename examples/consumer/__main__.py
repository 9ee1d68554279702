"""A team's stack on the shared Airflow: reads the airflow-aks stack's outputs (its contract,
README "Stack outputs") and syncs the team's Key Vault secrets into Airflow's namespace.

What it deploys, on the cluster the Airflow stack exports (`kubeconfig`, secret):

* a SecretStore `<team>-vault` in the Airflow `namespace`: the vault at `keyVaultUri`, read with
  the workload identity of the Airflow stack's ServiceAccount (`serviceAccountName`). The
  Airflow stack's External Secrets Operator serves that namespace only, namespaced stores
  only, and may mint a token for that one ServiceAccount only: so the store goes there.
* an ExternalSecret `<team>-secrets`: the Kubernetes Secret `<team>-secrets`, one key per Key
  Vault secret in `vaultSecrets`, which the team's DAGs mount (KubernetesPodOperator) or read.
  pulumi-kubernetes waits for the operator's Ready: an `up` fails while a secret is missing
  from the vault or the identity cannot read it.
"""

from __future__ import annotations

import re
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

AIRFLOW_PROJECT = "airflow-aks"
# The API version the Airflow stack's External Secrets Operator (chart 2.x) serves.
ESO_API_VERSION = "external-secrets.io/v1"
WAIT_FOR_READY = {"pulumi.com/waitFor": "condition=Ready"}

# A DNS label short enough for "<team>-secrets" and "<team>-vault" to stay one.
TEAM_NAME = re.compile(r"[a-z0-9]([-a-z0-9]{0,53}[a-z0-9])?")
# Key Vault secret names: 1-127 letters, digits and hyphens (also a valid Secret key).
VAULT_SECRET_NAME = re.compile(r"[0-9A-Za-z-]{1,127}")

config = pulumi.Config("consumer")
team = config.get("team") or "analytics"
vault_secrets: Any = config.require_object("vaultSecrets")
airflow_stack = config.require("airflowStack")
airflow_org = config.get("airflowOrg") or pulumi.get_organization()

problems = []
if not TEAM_NAME.fullmatch(team):
    problems.append(f"consumer:team {team!r} is not a DNS label of at most 55 characters")
if not isinstance(vault_secrets, list) or not vault_secrets or not all(isinstance(s, str) for s in vault_secrets):
    problems.append("consumer:vaultSecrets must be a non-empty list of Key Vault secret names")
else:
    problems += [
        f"consumer:vaultSecrets: {s!r} is not a Key Vault secret name"
        for s in vault_secrets
        if not VAULT_SECRET_NAME.fullmatch(s)
    ]
    # A convention, not a boundary: the identity reads the whole vault (Airflow's own secrets
    # too); the prefix keeps a team from syncing another team's, or Airflow's, by mistake.
    problems += [
        f"consumer:vaultSecrets: {s!r} does not start with {team + '-'!r}"
        for s in vault_secrets
        if not s.startswith(f"{team}-")
    ]
    problems += [
        f"consumer:vaultSecrets: {s!r} is listed twice"
        for s in sorted(set(vault_secrets))
        if vault_secrets.count(s) > 1
    ]
if "/" in airflow_stack:
    problems.append(f"consumer:airflowStack {airflow_stack!r}: give the stack name only (dev, prod)")
if problems:
    # RunError: the CLI prints the message, without a traceback
    raise pulumi.RunError("invalid configuration:\n  " + "\n  ".join(problems))

airflow_ref = f"{airflow_org}/{AIRFLOW_PROJECT}/{airflow_stack}"
airflow = pulumi.StackReference("airflow", stack_name=airflow_ref)


def require(name: str) -> pulumi.Output[str]:
    """A string output of the Airflow stack, failing with its name when the stack does not
    export it or exports something else (StackReference.get_output keeps the output's own
    secret flag)."""

    def present(value: Any) -> str:
        if value is None:
            raise pulumi.RunError(f"stack {airflow_ref} exports no output {name!r} (airflow-aks README: Stack outputs)")
        if not isinstance(value, str):
            raise pulumi.RunError(f"stack {airflow_ref}: output {name!r} is a {type(value).__name__}, not a string")
        return value

    return airflow.get_output(name).apply(present)


# Secret in the Airflow stack; marked again here so this stack's state never holds it in clear
# text, even if the other stack's flag were ever lost.
kubeconfig: pulumi.Output[str] = pulumi.Output.secret(require("kubeconfig"))
namespace = require("namespace")
vault_uri = require("keyVaultUri")
service_account = require("serviceAccountName")

cluster = k8s.Provider("airflow-cluster", kubeconfig=kubeconfig)
labels = {"app.kubernetes.io/managed-by": "pulumi", "airflow-aks/team": team}

store = k8s.apiextensions.CustomResource(
    f"{team}-vault",
    api_version=ESO_API_VERSION,
    kind="SecretStore",
    metadata=k8s.meta.v1.ObjectMetaArgs(
        name=f"{team}-vault", namespace=namespace, labels=labels, annotations=WAIT_FOR_READY
    ),
    spec={
        "provider": {
            "azurekv": {
                "authType": "WorkloadIdentity",
                "vaultUrl": vault_uri,
                "serviceAccountRef": {"name": service_account},
            }
        }
    },
    opts=pulumi.ResourceOptions(provider=cluster),
)

secret_name = f"{team}-secrets"
external_secret = k8s.apiextensions.CustomResource(
    secret_name,
    api_version=ESO_API_VERSION,
    kind="ExternalSecret",
    metadata=k8s.meta.v1.ObjectMetaArgs(
        name=secret_name, namespace=namespace, labels=labels, annotations=WAIT_FOR_READY
    ),
    spec={
        "refreshInterval": "1h",
        "secretStoreRef": {"kind": "SecretStore", "name": f"{team}-vault"},
        "target": {"name": secret_name, "creationPolicy": "Owner"},
        "data": [{"secretKey": s, "remoteRef": {"key": s}} for s in vault_secrets],
    },
    opts=pulumi.ResourceOptions(provider=cluster, depends_on=[store]),
)

# What the team's DAGs need: where their Secret is, and which keys it has.
pulumi.export("airflowStack", airflow_ref)
pulumi.export("namespace", namespace)
pulumi.export("secretName", secret_name)
pulumi.export("secretKeys", sorted(vault_secrets))

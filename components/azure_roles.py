"""Azure built-in roles the stack assigns, by their Microsoft name.

Role definition IDs are the same GUID in every tenant. They are facts from Microsoft's
"Azure built-in roles" reference, never typed from memory: tests/test_external_facts.py
compares every entry of :data:`BUILT_IN_ROLES`, by name, with the reference table
(``azure/built-in-roles.json`` through the reference resolver), and checks that every
role assignment any stack registers uses a role from this table. A role added later is
added here, and so to that test.
"""

from __future__ import annotations

import pulumi

ACR_PULL = "AcrPull"
KEY_VAULT_SECRETS_USER = "Key Vault Secrets User"
AKS_RBAC_CLUSTER_ADMIN = "Azure Kubernetes Service RBAC Cluster Admin"
NETWORK_CONTRIBUTOR = "Network Contributor"
# remote task logs: the writers' and the UI's roles on the logs container (plan.LOGS_*_ROLE)
STORAGE_BLOB_DATA_CONTRIBUTOR = "Storage Blob Data Contributor"
STORAGE_BLOB_DATA_READER = "Storage Blob Data Reader"
# monitoring: Grafana reads the Azure Monitor and Log Analytics workspaces; its admins
MONITORING_DATA_READER = "Monitoring Data Reader"
MONITORING_READER = "Monitoring Reader"
GRAFANA_ADMIN = "Grafana Admin"

# Microsoft's role name -> role definition id
BUILT_IN_ROLES: dict[str, str] = {
    ACR_PULL: "7f951dda-4ed3-4680-a7ca-43fe172d538d",
    KEY_VAULT_SECRETS_USER: "4633458b-17de-408a-b874-0445c86b69e6",
    AKS_RBAC_CLUSTER_ADMIN: "b1ff04bb-8a4e-4dc4-8eb5-8693973ce19b",
    NETWORK_CONTRIBUTOR: "4d97b98b-1d4f-4787-a291-c67834d212e7",
    STORAGE_BLOB_DATA_CONTRIBUTOR: "ba92f5b4-2d11-453d-a403-e96b0029c9fe",
    STORAGE_BLOB_DATA_READER: "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1",
    MONITORING_DATA_READER: "b0d8363b-8ddd-447d-831f-62ca05bff136",
    MONITORING_READER: "43d0d8ad-25c7-4714-9337-8ba259a9fe05",
    GRAFANA_ADMIN: "22926164-76b3-42b3-bc55-97df8dab3e41",
}


def role_definition_id(subscription_id: pulumi.Input[str], role: str) -> pulumi.Output[str]:
    """The subscription-qualified id of a built-in Azure role, by its name in :data:`BUILT_IN_ROLES`."""
    return pulumi.Output.concat(
        "/subscriptions/", subscription_id, "/providers/Microsoft.Authorization/roleDefinitions/", BUILT_IN_ROLES[role]
    )

"""Mocks that answer like Azure and Kubernetes do; shared by `python -m synth` and the tests.

Every resource type and invoke the program uses has an answer here; an unknown invoke is
an error (a mock that silently returns {} would hide a missing answer).
"""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from typing import Any

import pulumi
from google.protobuf import json_format
from pulumi.runtime import mocks as pulumi_mocks

SUBSCRIPTION_ID = "00000000-0000-0000-0000-00000000c0de"
TENANT_ID = "11111111-2222-3333-4444-555555555555"
DEPLOYER_OBJECT_ID = "99999999-8888-7777-6666-555555555555"

# Wire signatures of the Pulumi property protocol.
SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"
RESOURCE_SIG = "5cf8f73096256a8f31e491e813e4eb8e"
UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
SIG_KEY = "4dabf18193072939515e22adb298388d"


def _uuid(*parts: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "/".join(parts)))


def _token(*parts: str, length: int = 24, alphabet: str = "abcdefghijklmnopqrstuvwxyz0123456789") -> str:
    digest = hashlib.sha256("/".join(parts).encode()).digest()
    return "".join(alphabet[b % len(alphabet)] for b in (digest * 4)[:length])


def _arm_id(rg: str, provider: str, name: str) -> str:
    return f"/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/{rg}/providers/{provider}/{name}"


class Secret:
    """A value the program marked secret (kept apart so nothing prints it by accident)."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def __repr__(self) -> str:
        return "[secret]"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other.value == self.value

    def __hash__(self) -> int:
        return hash(repr(self.value))


class Unknown:
    def __repr__(self) -> str:
        return "[unknown]"


def decode_wire(value: Any) -> Any:
    """Turn a JSON-decoded property struct into Python values, keeping secrets wrapped."""
    if isinstance(value, dict):
        sig = value.get(SIG_KEY)
        if sig == SECRET_SIG:
            return Secret(decode_wire(value.get("value")))
        if sig == RESOURCE_SIG:
            return {"$ref": value.get("urn")}
        return {k: decode_wire(v) for k, v in value.items()}
    if isinstance(value, list):
        return [decode_wire(v) for v in value]
    if value == UNKNOWN:
        return Unknown()
    if isinstance(value, float) and value.is_integer():
        return int(value)  # the wire has only doubles; the program's integers come back as ints
    return value


def unwrap(value: Any) -> Any:
    """Plain values with secrets unwrapped (for rendering manifests the cluster would get)."""
    if isinstance(value, Secret):
        return unwrap(value.value)
    if isinstance(value, dict):
        return {k: unwrap(v) for k, v in value.items()}
    if isinstance(value, list):
        return [unwrap(v) for v in value]
    return value


def redact(value: Any) -> Any:
    """Plain values with every secret replaced by '[secret]'."""
    if isinstance(value, Secret):
        return "[secret]"
    if isinstance(value, dict):
        return {k: redact(v) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v) for v in value]
    if isinstance(value, Unknown):
        return "[unknown]"
    return value


def _kubeconfig(cluster: str, location: str, user: str) -> str:
    server = f"https://{cluster}-{_token(cluster, length=8)}.hcp.{location}.azmk8s.io:443"
    return (
        "apiVersion: v1\nkind: Config\n"
        f"clusters:\n- cluster:\n    certificate-authority-data: {base64.b64encode(b'mock-ca').decode()}\n"
        f"    server: {server}\n  name: {cluster}\n"
        f"contexts:\n- context:\n    cluster: {cluster}\n    user: clusterUser_{cluster}\n  name: {cluster}\n"
        f"current-context: {cluster}\n"
        f"users:\n- name: clusterUser_{cluster}\n  user:\n{user}"
    )


def kubeconfig_for(cluster: str, location: str) -> str:
    """A local-accounts cluster's user kubeconfig: a bearer token (a credential)."""
    return _kubeconfig(cluster, location, f"    token: {_token('kubeconfig-token', cluster, length=64)}\n")


def exec_kubeconfig_for(cluster: str, location: str) -> str:
    """What AKS returns for an Entra ID cluster with format=exec: kubelogin, device code."""
    args = [
        "get-token", "--environment", "AzurePublicCloud",
        "--server-id", "6dae42f8-4368-4678-94ff-3960e28e3630",
        "--client-id", "80faf920-1908-4b52-b5ef-a8e7bedfc67a",
        "--tenant-id", TENANT_ID, "--login", "devicecode",
    ]  # fmt: skip
    return _kubeconfig(
        cluster,
        location,
        "    exec:\n      apiVersion: client.authentication.k8s.io/v1beta1\n"
        f"      args: {json.dumps(args)}\n"
        "      command: kubelogin\n      env: null\n      provideClusterInfo: false\n",
    )


class AzureMocks(pulumi.runtime.Mocks):
    """Answers resource registrations and invokes with values shaped like Azure's."""

    def __init__(self, location: str = "eastus", existing_cluster: dict[str, Any] | None = None) -> None:
        self.location = location
        self.existing_cluster = existing_cluster or {}
        # Every credential-like value the mocks produce: none may reach the program's
        # inputs or outputs unmarked.
        self.sensitive_values: set[str] = set()
        self.invokes: list[tuple[str, dict[str, Any]]] = []

    def _sensitive(self, value: str) -> str:
        self.sensitive_values.add(value)
        return value

    # ------------------------------------------------------------------ resources
    def new_resource(self, args: pulumi_mocks.MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        typ, name, inputs = args.typ, args.name, dict(args.inputs)
        state = dict(inputs)
        loc = inputs.get("location", self.location)
        rg = inputs.get("resourceGroupName", "rg")

        if typ == "azure-native:resources:ResourceGroup":
            rg_name = inputs.get("resourceGroupName", name)
            state.update(name=rg_name, location=loc, provisioningState="Succeeded")
            return f"/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/{rg_name}", state
        if typ == "azure-native:containerservice:ManagedCluster":
            cname = inputs.get("resourceName", name)
            state.update(self.cluster_state(cname, rg, loc))
            state.update({k: v for k, v in inputs.items() if k not in state or k == "oidcIssuerProfile"})
            state["oidcIssuerProfile"] = {"enabled": True, "issuerURL": self.issuer_url(cname)}
            return _arm_id(rg, "Microsoft.ContainerService/managedClusters", cname), state
        if typ == "azure-native:managedidentity:UserAssignedIdentity":
            iname = inputs.get("resourceName", name)
            state.update(
                name=iname,
                clientId=_uuid("client", iname),
                principalId=_uuid("principal", iname),
                tenantId=TENANT_ID,
            )
            return _arm_id(rg, "Microsoft.ManagedIdentity/userAssignedIdentities", iname), state
        if typ == "azure-native:managedidentity:FederatedIdentityCredential":
            fname = inputs.get("federatedIdentityCredentialResourceName", name)
            state["name"] = fname
            ident = inputs.get("resourceName", "identity")
            return _arm_id(
                rg, "Microsoft.ManagedIdentity/userAssignedIdentities", f"{ident}/federatedIdentityCredentials/{fname}"
            ), state
        if typ == "azure-native:keyvault:Vault":
            vname = inputs.get("vaultName", name)
            props = dict(inputs.get("properties", {}))
            props["vaultUri"] = f"https://{vname}.vault.azure.net/"
            state.update(name=vname, properties=props)
            return _arm_id(rg, "Microsoft.KeyVault/vaults", vname), state
        if typ == "azure-native:keyvault:Secret":
            sname = inputs.get("secretName", name)
            vname = inputs.get("vaultName", "vault")
            # Azure never returns a secret's value from the control plane.
            props = {"secretUri": f"https://{vname}.vault.azure.net/secrets/{sname}"}
            state = {**{k: v for k, v in inputs.items() if k != "properties"}, "name": sname, "properties": props}
            return _arm_id(rg, "Microsoft.KeyVault/vaults", f"{vname}/secrets/{sname}"), state
        if typ == "azure-native:authorization:RoleAssignment":
            rid = _uuid(
                "role", str(inputs.get("scope")), str(inputs.get("principalId")), str(inputs.get("roleDefinitionId"))
            )
            state.update(name=rid)
            return f"{inputs.get('scope')}/providers/Microsoft.Authorization/roleAssignments/{rid}", state
        if typ == "azure-native:storage:StorageAccount":
            aname = inputs.get("accountName", name)
            state.update(name=aname, primaryEndpoints={"blob": f"https://{aname}.blob.core.windows.net/"})
            return _arm_id(rg, "Microsoft.Storage/storageAccounts", aname), state
        if typ == "azure-native:storage:BlobContainer":
            cname = inputs.get("containerName", name)
            state.update(name=cname)
            acct = inputs.get("accountName", "account")
            return _arm_id(
                rg, "Microsoft.Storage/storageAccounts", f"{acct}/blobServices/default/containers/{cname}"
            ), state
        if typ == "random:index/randomString:RandomString":
            state["result"] = _token("string", name, length=int(inputs.get("length", 8)))
            return f"{name}-id", state
        if typ == "random:index/randomPassword:RandomPassword":
            result = self._sensitive(
                _token(
                    "password",
                    name,
                    length=int(inputs.get("length", 16)),
                    alphabet="ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789",
                )
            )
            state.update(result=result, bcryptHash=self._sensitive("$2a$10$" + _token("bcrypt", name, length=53)))
            return f"{name}-id", state
        if typ == "random:index/randomBytes:RandomBytes":
            raw = hashlib.sha256(("bytes/" + name).encode()).digest()[: int(inputs.get("length", 32))]
            b64 = base64.b64encode(raw).decode()
            state.update(base64=self._sensitive(b64), hex=self._sensitive(raw.hex()))
            self._sensitive(b64.replace("+", "-").replace("/", "_"))
            return f"{name}-id", state
        if typ == "azure-native:storage:ManagementPolicy":
            acct = inputs.get("accountName", "account")
            state.update(name="DefaultManagementPolicy")
            return _arm_id(rg, "Microsoft.Storage/storageAccounts", f"{acct}/managementPolicies/default"), state
        if typ == "azure-native:storage:BlobServiceProperties":
            acct = inputs.get("accountName", "account")
            state.update(name="default")
            return _arm_id(rg, "Microsoft.Storage/storageAccounts", f"{acct}/blobServices/default"), state
        if typ == "time:index/sleep:Sleep":
            return f"{name}-{_token('sleep', name, length=8)}", state
        if typ == "kubernetes:helm.sh/v3:Release":
            state["status"] = {
                "name": inputs.get("name", name),
                "namespace": inputs.get("namespace", "default"),
                "chart": inputs.get("chart"),
                "version": inputs.get("version"),
                "revision": 1,
                "status": "deployed",
            }
            return f"{inputs.get('namespace', 'default')}/{inputs.get('name', name)}", state
        if typ.startswith("kubernetes:"):
            meta = dict(inputs.get("metadata") or {})
            meta.setdefault("name", name)
            meta.setdefault("uid", _uuid("k8s", typ, name))
            state["metadata"] = meta
            ns = meta.get("namespace")
            return (f"{ns}/{meta['name']}" if ns else str(meta["name"])), state
        if typ.startswith("pulumi:providers:"):
            return f"{name}-provider-id", state
        if not args.custom:
            return None, {}
        raise NotImplementedError(f"mocks: no answer for resource type {typ} ({name})")

    # ------------------------------------------------------------------ invokes
    def call(self, args: pulumi_mocks.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        return self._answer(args), []

    def _answer(self, args: pulumi_mocks.MockCallArgs) -> dict[str, Any]:
        token, inputs = args.token, dict(args.args)
        self.invokes.append((token, inputs))
        if token == "azure-native:authorization:getClientConfig":
            return {
                "clientId": _uuid("deployer-client"),
                "objectId": DEPLOYER_OBJECT_ID,
                "subscriptionId": SUBSCRIPTION_ID,
                "tenantId": TENANT_ID,
            }
        if token == "azure-native:containerregistry:getRegistry":
            name = inputs["registryName"]
            return {
                "id": _arm_id(inputs["resourceGroupName"], "Microsoft.ContainerRegistry/registries", name),
                "name": name,
                "location": self.location,
                "loginServer": f"{name.lower()}.azurecr.io",
                "sku": {"name": "Standard"},
                "type": "Microsoft.ContainerRegistry/registries",
            }
        if token == "azure-native:containerservice:listManagedClusterUserCredentials":
            cluster = inputs["resourceName"]
            if inputs.get("format") == "exec":  # Entra ID: kubelogin, no credential inside
                text = exec_kubeconfig_for(cluster, self.location)
            else:
                text = self._sensitive(kubeconfig_for(cluster, self.location))
                self._sensitive(base64.b64encode(text.encode()).decode())
            return {"kubeconfigs": [{"name": "clusterUser", "value": base64.b64encode(text.encode()).decode()}]}
        if token == "azure-native:containerservice:getManagedCluster":
            name, rg = inputs["resourceName"], inputs["resourceGroupName"]
            state = self.cluster_state(name, rg, self.location)
            state.update(self.existing_cluster)
            return state
        if token == "azure-native:storage:listStorageAccountKeys":
            acct = inputs["accountName"]
            key = self._sensitive(base64.b64encode(hashlib.sha512(("key1/" + acct).encode()).digest()).decode())
            return {
                "keys": [
                    {"keyName": "key1", "value": key, "permissions": "FULL", "creationTime": "2026-01-01T00:00:00Z"}
                ]
            }
        raise NotImplementedError(f"mocks: no answer for invoke {token}")

    # ------------------------------------------------------------------ helpers
    def issuer_url(self, cluster: str) -> str:
        return f"https://{self.location}.oic.prod-aks.azure.com/{TENANT_ID}/{_uuid('oidc', cluster)}/"

    def cluster_state(self, name: str, rg: str, location: str) -> dict[str, Any]:
        return {
            "id": _arm_id(rg, "Microsoft.ContainerService/managedClusters", name),
            "name": name,
            "location": location,
            "fqdn": f"{name}-{_token(name, length=8)}.hcp.{location}.azmk8s.io",
            "provisioningState": "Succeeded",
            "oidcIssuerProfile": {"enabled": True, "issuerURL": self.issuer_url(name)},
            "securityProfile": {"workloadIdentity": {"enabled": True}},
            "storageProfile": {"blobCSIDriver": {"enabled": True}},
            "identityProfile": {
                "kubeletidentity": {
                    "clientId": _uuid("kubelet-client", name),
                    "objectId": _uuid("kubelet-object", name),
                    "resourceId": _arm_id(
                        f"MC_{rg}_{name}_{location}",
                        "Microsoft.ManagedIdentity/userAssignedIdentities",
                        f"{name}-agentpool",
                    ),
                }
            },
        }


def struct_to_python(struct: Any) -> Any:
    """Decode a protobuf Struct of resource properties, keeping secret markers."""
    return decode_wire(json_format.MessageToDict(struct, preserving_proto_field_name=True))

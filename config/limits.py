"""The limits every config value is held to: a length cap per string, taken from the Azure
or Kubernetes limit the value ends up in, numeric caps, and the characters no value may
contain. Plain constants: every other config module reads them, this one reads nothing.
"""

from __future__ import annotations

import re

# Where each cap comes from (Azure: "Naming rules and restrictions for Azure resources";
# Kubernetes: the DNS-1123 label/subdomain rules of object names).
RESOURCE_GROUP_MAX = 90  # Microsoft.Resources/resourcegroups: 1-90
NODE_RESOURCE_GROUP_MAX = 80  # AKS: "The maximum length [of the node resource group] is 80"
AKS_NAME_MAX = 63  # Microsoft.ContainerService/managedClusters: 1-63
AKS_DNS_PREFIX_MAX = 54  # managedClusters dnsPrefix: 1-54
IDENTITY_MAX = 128  # Microsoft.ManagedIdentity/userAssignedIdentities: 3-128
VNET_NAME_MAX = 64  # Microsoft.Network/virtualNetworks: 2-64
LOG_ANALYTICS_NAME_MAX = 63  # Microsoft.OperationalInsights/workspaces: 4-63
DATA_COLLECTION_ENDPOINT_MAX = 44  # Microsoft.Insights/dataCollectionEndpoints: 3-44
GRAFANA_NAME_MAX = 23  # Microsoft.Dashboard/grafana: 2-23
SUBNET_NAME_MAX = 80  # Microsoft.Network/virtualNetworks/subnets: 1-80
# /subscriptions/<guid>/resourceGroups/<group>/providers/Microsoft.Network/virtualNetworks/<vnet>/subnets/<subnet>:
# 15 + 36 + 16 + 90 (RESOURCE_GROUP_MAX) + 45 + 64 (VNET_NAME_MAX) + 9 + 80 (SUBNET_NAME_MAX)
SUBNET_ID_MAX = 355
CIDR_MAX = 18  # an IPv4 network in CIDR notation: 255.255.255.255/32
AUTHORIZED_IP_RANGES_MAX = 200  # AKS: API server authorized IP ranges, at most 200
# The prefix lengths a created VNet's address space may have: /16 (65,536 addresses) to /22 (1,024).
VNET_PREFIX_MIN = 16
VNET_PREFIX_MAX = 22
DNS_LABEL_MAX = 63  # Kubernetes namespace (and label value) names
DNS_SUBDOMAIN_MAX = 253  # Kubernetes ServiceAccount and Secret names
IMAGE_TAG_MAX = 128  # OCI distribution spec: [a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}
GIT_REF_MAX = 255  # git: a ref (component) is a file name, NAME_MAX 255
# A leaf certificate, a few intermediates and its key in PEM: Key Vault holds a secret value of at most 25 KiB.
CERTIFICATE_PEM_MAX = 25 * 1024
ACTION_GROUP_ID_MAX = 1024  # an ARM resource ID
LOG_ANALYTICS_RETENTION_MIN = 30  # a PerGB2018 workspace keeps data 30 to 730 days
LOG_ANALYTICS_RETENTION_MAX = 730
KNOWN_HOSTS_MAX = 16384  # a few known_hosts lines (an RSA-4096 line is about 750 characters)
GIT_URL_MAX = 2048  # the common URL limit (browsers, Azure DevOps, GitHub)
SUB_PATH_MAX = 1024  # a path inside the checkout, well inside Linux PATH_MAX (4096)
EMAIL_MAX = 254  # RFC 5321: a 256-octet path less its angle brackets (Airflow's column: 256)
EMAIL_LOCAL_MAX = 64  # RFC 5321 4.5.3.1.1
TIMEZONE_MAX = 64  # the longest IANA name (America/Argentina/ComodRivadavia) has 32
LOCATION_MAX = 32  # Azure region names: the longest (germanywestcentral) has 18
VM_SIZE_MAX = 64  # Azure VM size names (Standard_M416-208ms_v2 and the like)
KUBERNETES_VERSION_MAX = 16  # 1.MINOR.PATCH
USER_POOL_NODES_MAX = 1000  # AKS: the autoscaler's min/max count of a node pool (VM scale set), 0-1000
# AKS: maximum pods per node, 10-250 (Azure CNI and kubenet; Azure CNI Overlay up to 250).
MAX_PODS_MIN = 30  # AKS: a system pool must support at least 30 pods; the stack sets both pools alike
MAX_PODS_MAX = 250
RESOURCES_MAX = 256  # cpu=..,memory=..,cpuLimit=..,memoryLimit=..
QUANTITY_MAX = 32  # one Kubernetes quantity
# airflowEnv is copied into every Airflow container of the Helm release (a dozen pod specs
# and the KubernetesExecutor pod template); Helm keeps the release in ONE Secret, which
# Kubernetes caps at 1 MiB. 32 KiB of entries keeps the release well inside that.
ENV_TOTAL_MAX = 32 * 1024
ARRAY_JSON_MAX = 256 * 1024  # JSON text of an array value, before decoding
STACK_MAX = IDENTITY_MAX  # the loosest derived name; the real maximum is computed per stack
# Container requests and limits: beyond any Azure VM (M-series: hundreds of vCPUs, at most
# tens of TiB), so no node could ever schedule the pod.
CPU_MAX_MILLICORES = 1024 * 1000
MEMORY_MAX_BYTES = 32 * 2**40
LOGS_VOLUME_MAX_BYTES = 5 * 2**50  # an Azure storage account holds at most 5 PiB

# Azure Database for PostgreSQL flexible server (databaseMode=managed).
DATABASE_ADMIN_LOGIN_MAX = 63  # the administrator login: 1-63 characters (a PostgreSQL identifier)
# The storage sizes a server offers, in GiB (P4 to P80 disks; 32767, not 32768, is the largest).
DATABASE_STORAGE_SIZES_GB = (32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32767)
DATABASE_BACKUP_RETENTION_MIN = 7  # backup retention: 7-35 days
DATABASE_BACKUP_RETENTION_MAX = 35
MAINTENANCE_WINDOW_MAX = 9  # "Sun 02:00"

# The cluster-internal ranges the stack gives a cluster it creates (Azure CNI Overlay): pods
# and services take their addresses from these, never from the VNet, so a created VNet's
# address space must not overlap them (AKS refuses the cluster). The DNS service IP lies in
# the service CIDR. These are AKS's own defaults, spelled out.
POD_CIDR = "10.244.0.0/16"
SERVICE_CIDR = "10.0.0.0/16"
DNS_SERVICE_IP = "10.0.0.10"

# NUL, CR, LF and the other C0 and C1 controls, DEL, Unicode line and paragraph separators
# (YAML treats them as line breaks), bidirectional embedding/override/isolate controls (a
# value that displays differently from what it is) and unpaired surrogates (no UTF-8).
# No value may contain one (config.validators), and no key is shown with one (config.report).
CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
CONTROL_RULE = "no config value may contain control characters (NUL, CR, LF, other C0/C1 or bidi controls)"

"""Typed, validated settings for one stack.

Every key lives in the ``airflow-aks`` config namespace and is declared, with its type,
default and description, in ``Pulumi.yaml``'s ``config:`` block: that block is the one
place defaults live (the Pulumi CLI applies them, and so does ``python -m synth``).
This module reads every key once, validates all of them, and raises ONE
:class:`ConfigError` that lists every problem (key, bad value, what is allowed) before
any resource is registered.

Every validator takes any value (a string from the engine, or whatever a typed caller
passes) and either accepts it or reports a :class:`Problem`: no other exception leaves
:func:`parse_settings`. Every string has a length cap taken from the Azure or Kubernetes
limit it ends up in, every number a range, and no value may carry control characters.
Error text never shows the value of a key the stack marks secret, nor credentials inside
a URL.

Nothing here imports a Pulumi resource module: settings know nothing of components.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import json
import re
import zoneinfo
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Literal, get_args

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainValidator,
    TypeAdapter,
    ValidationError,
)

from components.airflow_values import PROFILES, SUPPORTED_CHART_VERSIONS

PROJECT = "airflow-aks"
PROVIDER_LOCATION_KEY = "azure-native:location"
# The pseudo-key problems with the stack name are reported under (it is no config key).
STACK_KEY = "stack"

# ------------------------------------------------------------------------ limits
# Where each cap comes from (Azure: "Naming rules and restrictions for Azure resources";
# Kubernetes: the DNS-1123 label/subdomain rules of object names).
RESOURCE_GROUP_MAX = 90  # Microsoft.Resources/resourcegroups: 1-90
NODE_RESOURCE_GROUP_MAX = 80  # AKS: "The maximum length [of the node resource group] is 80"
AKS_NAME_MAX = 63  # Microsoft.ContainerService/managedClusters: 1-63
AKS_DNS_PREFIX_MAX = 54  # managedClusters dnsPrefix: 1-54
IDENTITY_MAX = 128  # Microsoft.ManagedIdentity/userAssignedIdentities: 3-128
DNS_LABEL_MAX = 63  # Kubernetes namespace (and label value) names
DNS_SUBDOMAIN_MAX = 253  # Kubernetes ServiceAccount and Secret names
IMAGE_TAG_MAX = 128  # OCI distribution spec: [a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}
GIT_REF_MAX = 255  # git: a ref (component) is a file name, NAME_MAX 255
GIT_URL_MAX = 2048  # the common URL limit (browsers, Azure DevOps, GitHub)
SUB_PATH_MAX = 1024  # a path inside the checkout, well inside Linux PATH_MAX (4096)
EMAIL_MAX = 254  # RFC 5321: a 256-octet path less its angle brackets (Airflow's column: 256)
EMAIL_LOCAL_MAX = 64  # RFC 5321 4.5.3.1.1
TIMEZONE_MAX = 64  # the longest IANA name (America/Argentina/ComodRivadavia) has 32
LOCATION_MAX = 32  # Azure region names: the longest (germanywestcentral) has 18
VM_SIZE_MAX = 64  # Azure VM size names (Standard_M416-208ms_v2 and the like)
KUBERNETES_VERSION_MAX = 16  # 1.MINOR.PATCH
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

# NUL, CR, LF and the other C0 and C1 controls, DEL, Unicode line and paragraph separators
# (YAML treats them as line breaks), bidirectional embedding/override/isolate controls (a
# value that displays differently from what it is) and unpaired surrogates (no UTF-8).
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
_CONTROL_RULE = "no config value may contain control characters (NUL, CR, LF, other C0/C1 or bidi controls)"


def _kind(value: Any) -> str:
    """What a non-string value is, in config words."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, bytes | bytearray | memoryview):
        return "bytes"
    if isinstance(value, list | tuple | set | frozenset):
        return "a list"
    if isinstance(value, Mapping):
        return "a mapping"
    return f"a {type(value).__name__}"


def _clip(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} characters)"


def _no_control(value: str) -> None:
    match = _CONTROL.search(value)
    if match:
        char = match.group()
        what = "an unpaired surrogate" if "\ud800" <= char <= "\udfff" else "the control character"
        raise ValueError(f"contains {what} U+{ord(char):04X} at position {match.start()}: {_CONTROL_RULE}")


def _never_raises(validate: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """Defence in depth: a validator reports a bad value as a ValueError (a Problem),
    whatever the value makes the checking code raise (pydantic lets a TypeError through)."""

    @functools.wraps(validate)
    def safe(value: Any) -> Any:
        try:
            return validate(value)
        except ValueError:
            raise
        except Exception as exc:  # noqa: BLE001 - any failure on a hostile value is a bad value
            raise ValueError(f"could not be checked ({type(exc).__name__}): not a valid value here") from None

    return safe


def _text(
    max_len: int, allowed: str, check: Callable[[str], str] | None = None, *, empty: bool = False
) -> PlainValidator:
    """A string field: a str (nothing else), no control characters, at most `max_len`
    characters (checked before any pattern runs), then `check`. `empty`: "" is accepted."""

    def validate(value: Any) -> str:
        if not isinstance(value, str):
            raise ValueError(f"must be a string, not {_kind(value)}: {allowed}")
        _no_control(value)
        if len(value) > max_len:
            raise ValueError(f"is {len(value)} characters long, more than {max_len}: must be {allowed}")
        if empty and value == "":
            return value
        return check(value) if check else value

    return PlainValidator(_never_raises(validate))


def _choice(literal: Any) -> BeforeValidator:
    """One of a Literal's strings, with the options as the message (never the value)."""
    options: tuple[str, ...] = get_args(literal)
    quoted = [f"'{o}'" for o in options]
    allowed = quoted[0] if len(quoted) == 1 else f"{', '.join(quoted[:-1])} or {quoted[-1]}"

    def validate(value: Any) -> str:
        if not isinstance(value, str) or value not in options:
            raise ValueError(f"must be {allowed}")
        return value

    return BeforeValidator(_never_raises(validate))


# --------------------------------------------------------------------------- checks
# Every pattern is applied with fullmatch: `$` alone would let a trailing newline through.
# Lengths are checked before patterns run (no pattern ever sees a 100k-character value).
_DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")
_DNS_SUBDOMAIN = re.compile(r"(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_RESOURCE_GROUP = re.compile(r"[-\w.()]{0,89}[-\w()]")
_QUANTITY = re.compile(r"(?P<num>[0-9]+(\.[0-9]+)?)(?P<unit>Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?")
_QUANTITY_UNITS: dict[str | None, int] = {
    None: 1,
    **{u: 2 ** (10 * (i + 1)) for i, u in enumerate(("Ki", "Mi", "Gi", "Ti", "Pi", "Ei"))},
    **{u: 10 ** (3 * (i + 1)) for i, u in enumerate(("k", "M", "G", "T", "P", "E"))},
}
_IMAGE_TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
# The Airflow version an image tag starts with, as upstream's do: 2.9.3, 3.1.7-python3.12,
# slim-3.1.7, 2.10.0rc1.
_TAG_VERSION = re.compile(r"(?:slim-)?(?P<major>[0-9]{1,4})\.(?P<minor>[0-9]{1,4})(?:\.[0-9]{1,4})?(?=$|[-_.a-zA-Z])")
# git check-ref-format, narrowed to the characters git-sync users need.
_GIT_REF = re.compile(r"(?!.*\.\.)(?!.*//)(?!.*/\.)(?!.*\.lock(/|$))[A-Za-z0-9_][A-Za-z0-9_./-]{0,254}(?<![./])")
_HOST = r"[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*"
_HTTPS_GIT_URL = re.compile(rf"https://{_HOST}(:[0-9]{{1,5}})?/(?!(.*/)?\.\.?(/|$))[A-Za-z0-9_.~-][A-Za-z0-9_.~/-]*")
_SUB_PATH = re.compile(r"(?!/)(?!(.*/)?\.\.(/|$))[A-Za-z0-9_./-]+")
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_INTEGER = re.compile(r"[+-]?[0-9]{1,18}")
_GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_NIL_GUID = "00000000-0000-0000-0000-000000000000"
_KUBERNETES_VERSION = re.compile(r"1\.([0-9]{1,2})(\.[0-9]{1,3})?")
_TIMEZONE = re.compile(r"[A-Za-z0-9_+-]+(/[A-Za-z0-9_+-]+)*")
# Namespaces every cluster already has (the stack creates its namespace) and the reserved prefix.
_SYSTEM_NAMESPACE = re.compile(r"default|kube-.*")
# AKS uses the cluster name as its DNS prefix when the stack creates the cluster.
_AKS_DNS_PREFIX = re.compile(r"[A-Za-z0-9]([A-Za-z0-9-]{0,52}[A-Za-z0-9])?")
_RESOURCE_GROUP_RULE = "1-90 letters, digits, '-', '_', '.', '(', ')', not ending in '.'"
# What a stack name may contain: it is part of the managed identity's name (Microsoft:
# "only alphanumeric characters and the hyphen are supported") and of the created
# cluster's DNS prefix (letters, digits, '-'). Pulumi also allows '_' and '.'.
_STACK_NAME = re.compile(r"[A-Za-z0-9-]+")
# Credentials in a URL: `scheme://user:password@` or `scheme://token@`. Linear on any
# input: a scheme is short, and the userinfo scan stops at the next '/', which every
# further `://` has.
_URL_USERINFO = re.compile(r"(?i)([a-z][a-z0-9+.-]{0,31}://)[^/\s]*@")


def _has_credentials(value: str) -> bool:
    """A URL with userinfo (`scheme://user:password@`, `scheme://token@`)."""
    return "://" in value and "@" in value and bool(_URL_USERINFO.search(value))


def _redact_credentials(text: str) -> str:
    if "://" not in text or "@" not in text:  # the common case, without a regex pass
        return text
    return _URL_USERINFO.sub(r"\1***@", text)


def _check(pattern: re.Pattern[str], allowed: str) -> Callable[[str], str]:
    def validate(value: str) -> str:
        if not pattern.fullmatch(value):
            raise ValueError(f"must be {allowed}")
        return value

    return validate


def _then(*checks: Callable[[str], str]) -> Callable[[str], str]:
    def validate(value: str) -> str:
        for check in checks:
            value = check(value)
        return value

    return validate


def _whole_number(lo: int, hi: int) -> Callable[[Any], int]:
    """Integers as the engine passes them (decimal text); booleans and '3.0' are not integers."""

    def validate(value: Any) -> int:
        number: int | None = None
        if isinstance(value, int) and not isinstance(value, bool):
            number = value
        elif isinstance(value, str) and _INTEGER.fullmatch(value):
            number = int(value)
        if number is None or not lo <= number <= hi:
            raise ValueError(f"must be a whole number from {lo} to {hi}")
        return number

    return _never_raises(validate)


def _boolean(value: Any) -> bool:
    """Booleans as Pulumi's Config.get_bool reads them: not 'yes', '1' or 'off'."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value in ("true", "True"):
        return True
    if isinstance(value, str) and value in ("false", "False"):
        return False
    raise ValueError("must be true or false")


def _string_list(example: str) -> Callable[[Any], list[str]]:
    def validate(value: Any) -> list[str]:
        if isinstance(value, str) and len(value) > ARRAY_JSON_MAX:
            raise ValueError(f"is {len(value)} characters of JSON, more than {ARRAY_JSON_MAX}: must be a JSON array")
        if not isinstance(value, list):
            raise ValueError(f"must be a JSON array of strings, such as {example}")
        for index, item in enumerate(value):
            if not isinstance(item, str):
                raise ValueError(f"item {index} ({_clip(_json(item))}) must be a string, as in {example}")
            try:
                _no_control(item)
            except ValueError as err:
                raise ValueError(f"item {index}: {err}") from None
        return value

    return _never_raises(validate)


def _quantity_bytes(value: str) -> float | None:
    match = _QUANTITY.fullmatch(value)
    return float(match["num"]) * _QUANTITY_UNITS[match["unit"]] if match else None


def _logs_volume_size(value: str) -> str:
    size = _quantity_bytes(value)
    if size is None or size <= 0:
        raise ValueError("must be a positive Kubernetes quantity such as 5Gi, 512Mi or 1Ti")
    if size > LOGS_VOLUME_MAX_BYTES:
        raise ValueError("must be at most 5Pi (an Azure storage account holds at most 5 PiB)")
    return value


def _timezone(value: str) -> str:
    allowed = "an IANA time zone such as UTC or America/New_York"
    if not _TIMEZONE.fullmatch(value):
        raise ValueError(f"must be {allowed}")
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError, UnicodeError):
        # not found, not a TZif file, a name the file system refuses (ENAMETOOLONG, ...)
        raise ValueError(f"must be {allowed}") from None
    return value


def _kubernetes_version(value: str) -> str:
    match = _KUBERNETES_VERSION.fullmatch(value)
    if not match or not 28 <= int(match[1]) <= 37:
        raise ValueError("must be a Kubernetes version 1.28 to 1.37, as 1.MINOR or 1.MINOR.PATCH")
    return value


def _guid(value: str) -> str:
    if not _GUID.fullmatch(value):
        raise ValueError("must be an Entra object id (a GUID such as 5b6c3a1e-9d5f-4c2b-8f0e-2a7d9c1b3e4f)")
    if value == _NIL_GUID:
        raise ValueError("is the nil GUID, which is no object: give the object id of an Entra group")
    return value


# Kubernetes quantities for container requests and limits. CPU: whole millicores (250m) or
# cores with at most three decimals (0.5, 2). Memory: a number WITH a unit (a bare number
# is bytes, and `m` would be thousandths of a byte: both are typos for Mi).
_CPU = re.compile(r"(?P<milli>[0-9]+)m|(?P<cores>[0-9]+(\.[0-9]{1,3})?)")
_MEMORY = re.compile(r"(?P<num>[0-9]+(\.[0-9]+)?)(?P<unit>Ki|Mi|Gi|Ti|k|M|G|T)")
_MEMORY_UNITS = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12}
_CPU_RULE = "a CPU quantity: millicores such as 250m, or cores such as 0.5 or 2"
_MEMORY_RULE = "a memory quantity: a number with a unit Ki, Mi, Gi, Ti, k, M, G or T, such as 512Mi"
RESOURCE_FIELDS = {"cpu": "cpu", "memory": "memory", "cpuLimit": "cpu_limit", "memoryLimit": "memory_limit"}
RESOURCES_EXAMPLE = "cpu=250m,memory=512Mi,cpuLimit=1,memoryLimit=1Gi"
_MAX_ISSUES = 6  # issues of one value named in its message


@dataclass(frozen=True)
class Resources:
    """Requests and limits of one container, as Kubernetes quantities (kept as written)."""

    cpu: str
    memory: str
    cpu_limit: str
    memory_limit: str

    def __str__(self) -> str:
        """The config encoding: cpu=...,memory=...,cpuLimit=...,memoryLimit=..."""
        return ",".join(f"{key}={getattr(self, attr)}" for key, attr in RESOURCE_FIELDS.items())

    def kubernetes(self) -> dict[str, dict[str, str]]:
        """A container's `resources` block."""
        return {
            "requests": {"cpu": self.cpu, "memory": self.memory},
            "limits": {"cpu": self.cpu_limit, "memory": self.memory_limit},
        }


def cpu_millicores(value: str) -> int | None:
    match = _CPU.fullmatch(value) if len(value) <= QUANTITY_MAX else None
    if not match:
        return None
    if match["milli"] is not None:
        return int(match["milli"])
    return round(float(match["cores"]) * 1000)


def memory_bytes(value: str) -> float | None:
    match = _MEMORY.fullmatch(value) if len(value) <= QUANTITY_MAX else None
    return float(match["num"]) * _MEMORY_UNITS[match["unit"]] if match else None


def _resource_pairs(value: Any, issues: list[str]) -> list[tuple[str, Any]]:
    pairs: list[tuple[str, Any]] = []
    if isinstance(value, Mapping):  # typed values (tests, tools); YAML numbers are quantities too
        pairs = [
            (str(k), str(v) if isinstance(v, int | float) and not isinstance(v, bool) else v) for k, v in value.items()
        ]
    elif isinstance(value, str):
        _no_control(value)
        if len(value) > RESOURCES_MAX:
            raise ValueError(f"is {len(value)} characters long, more than {RESOURCES_MAX}: must be {RESOURCES_EXAMPLE}")
        for part in (p.strip() for p in value.split(",")):
            key, sep, item = part.partition("=")
            if sep:
                pairs.append((key.strip(), item.strip()))
            elif part:
                issues.append(f"entry {_clip(part)!r} is not field=quantity")
    else:
        issues.append(f"got {_kind(value)}")
    return pairs


def _resources(value: Any) -> Resources:
    """`cpu=250m,memory=512Mi,cpuLimit=1,memoryLimit=1Gi` (or a mapping with those keys):
    every field required, each a valid quantity within what a node can have, each limit at
    least its request. Every problem of the value is reported in one message."""
    if isinstance(value, Resources):
        return value
    issues: list[str] = []
    pairs = _resource_pairs(value, issues)
    found: dict[str, str] = {}
    for key, item in pairs:
        if key not in RESOURCE_FIELDS:
            issues.append(f"unknown field {_clip(key, 30)!r}")
        elif key in found:
            issues.append(f"{key} is set twice")
        elif not isinstance(item, str) or not item:
            issues.append(f"{key} is {'empty' if item in ('', None) else 'not a quantity'}")
        elif len(item) > QUANTITY_MAX or _CONTROL.search(item):
            issues.append(f"{key} is not {_CPU_RULE if key.startswith('cpu') else _MEMORY_RULE}")
        else:
            found[key] = item
    missing = [key for key in RESOURCE_FIELDS if key not in found and all(k != key for k, _ in pairs)]
    if missing:
        issues.append(f"missing {', '.join(missing)}")
    cpu = {k: cpu_millicores(v) for k, v in found.items() if k in ("cpu", "cpuLimit")}
    memory = {k: memory_bytes(v) for k, v in found.items() if k in ("memory", "memoryLimit")}
    for key, number in (*cpu.items(), *memory.items()):
        if number is None:
            issues.append(f"{key} {found[key]!r} is not {_CPU_RULE if key.startswith('cpu') else _MEMORY_RULE}")
        elif number <= 0:
            issues.append(f"{key} {found[key]!r} must be more than zero")
        elif key.startswith("cpu") and number > CPU_MAX_MILLICORES:
            issues.append(f"{key} {found[key]!r} is more than 1024 cores (no Azure VM has that many)")
        elif key.startswith("memory") and number > MEMORY_MAX_BYTES:
            issues.append(f"{key} {found[key]!r} is more than 32Ti (no Azure VM has that much)")
    for request, limit, numbers in (("cpu", "cpuLimit", cpu), ("memory", "memoryLimit", memory)):
        low, high = numbers.get(request), numbers.get(limit)
        if low and high and high < low:
            issues.append(
                f"{limit} {found[limit]} is below {request} {found[request]} (a limit must be at least its request)"
            )
    if issues:
        more = f"; and {len(issues) - _MAX_ISSUES} more" if len(issues) > _MAX_ISSUES else ""
        raise ValueError(
            f"must be cpu=<request>,memory=<request>,cpuLimit=<limit>,memoryLimit=<limit>, such as "
            f"{RESOURCES_EXAMPLE}: {'; '.join(issues[:_MAX_ISSUES])}{more}"
        )
    return Resources(**{attr: found[key] for key, attr in RESOURCE_FIELDS.items()})


def _image_tag(value: str) -> str:
    if value == "latest":
        raise ValueError("must be a pinned tag, not 'latest'")
    return _check(_IMAGE_TAG, "a container image tag (letters, digits, '_', '.', '-')")(value)


# ------------------------------------------------------------------ airflowEnv
# Environment variables the stack sets itself (through the chart or its values), with why a
# stack may not set them: a duplicate name in a container's env is ambiguous (the chart
# lists the user's entries before its own in most containers and after them in the
# KubernetesExecutor pod template, so the last one wins in some pods and not in others),
# and where the stack's value is a secret, the override would be a plain-text one.
_KEY_VAULT = "the stack generates it into Key Vault and ESO mounts it"
_METADATA_DB = "the metadata database connection comes from Key Vault (or externalDatabaseSecretName)"
_BROKER = "the Celery broker and result backend use a password the stack generates into Key Vault"
_K8S_EXECUTOR = "the stack's RBAC, identity and pod template are scoped to its namespace and registry"
OWNED_ENV: dict[str, str] = {
    "AIRFLOW__CORE__EXECUTOR": "the executor key sets it",
    "AIRFLOW__CORE__DEFAULT_TIMEZONE": "the timezone key sets it",
    "AIRFLOW__CORE__FERNET_KEY": _KEY_VAULT,
    "AIRFLOW__CORE__SQL_ALCHEMY_CONN": _METADATA_DB,
    "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": _METADATA_DB,
    "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC": _METADATA_DB,
    "KEDA_DB_CONN": _METADATA_DB,
    "AIRFLOW__CELERY__BROKER_URL": _BROKER,
    "AIRFLOW__CELERY__RESULT_BACKEND": _BROKER,
    "AIRFLOW__CELERY__CELERY_RESULT_BACKEND": _BROKER,
    "AIRFLOW__WEBSERVER__SECRET_KEY": _KEY_VAULT,
    "AIRFLOW__API__SECRET_KEY": _KEY_VAULT,
    "AIRFLOW__API_AUTH__JWT_SECRET": _KEY_VAULT,
    "AIRFLOW_ADMIN_PASSWORD": "the create-user job reads the generated admin password from Key Vault",
    "AIRFLOW__CORE__AUTH_MANAGER": "the admin user is created with the FAB auth manager's `airflow users create`",
    "AIRFLOW_HOME": "the chart mounts airflow.cfg, the DAGs and the Blob log volume under it",
    "AIRFLOW__CORE__DAGS_FOLDER": "git-sync's checkout decides it (dagsGitRepo, dagsGitSubPath)",
    "AIRFLOW__LOGGING__BASE_LOG_FOLDER": "task logs must land on the Blob-backed log volume the stack mounts",
    **{
        f"AIRFLOW__{section}__{key}": _K8S_EXECUTOR
        for section in ("KUBERNETES", "KUBERNETES_EXECUTOR")
        for key in (
            "NAMESPACE",
            "MULTI_NAMESPACE_MODE",
            "POD_TEMPLATE_FILE",
            "WORKER_CONTAINER_REPOSITORY",
            "WORKER_CONTAINER_TAG",
        )
    },
}
_CONNECTION_PREFIX = "AIRFLOW_CONN_"
_RUN_OR_FETCH_SUFFIXES = ("_CMD", "_SECRET")


def _env_name_refusal(name: str) -> str | None:
    """Why a stack may not set this variable, or None."""
    upper = name.upper()
    if upper in OWNED_ENV:
        return f"is set by the stack itself: {OWNED_ENV[upper]}"
    if upper.startswith(_CONNECTION_PREFIX):
        return (
            "is an Airflow connection, and connections carry credentials: keep them in Key Vault "
            "and read them through a secrets backend, not in plain-text config"
        )
    if upper.endswith(_RUN_OR_FETCH_SUFFIXES):
        return (
            "ends in _CMD or _SECRET: Airflow runs AIRFLOW__<SECTION>__<KEY>_CMD as a shell command and "
            "fetches ..._SECRET from the secrets backend, and honours both only for its sensitive settings "
            "(connections and keys), which this stack sets itself; any other *_SECRET is a secret in plain text"
        )
    return None


def _env(value: list[str]) -> list[str]:
    total = sum(len(item) for item in value)
    if total > ENV_TOTAL_MAX:
        raise ValueError(
            f"entries add up to {total} characters, more than {ENV_TOTAL_MAX}: the list is copied into every "
            "Airflow container of the Helm release, which Kubernetes stores in one Secret of at most 1 MiB"
        )
    names: set[str] = set()
    issues: list[str] = []
    for item in value:
        name, sep, content = item.partition("=")
        refusal = _env_name_refusal(name) if sep else None
        if not sep or not _ENV_NAME.fullmatch(name):
            issues.append(f"entry {_clip(item)!r} must look like NAME=value with NAME a valid variable name")
        elif name in names:
            issues.append(f"variable {name} is set twice")
        elif refusal:
            issues.append(f"variable {name} {refusal}")
        elif _has_credentials(content):
            issues.append(
                f"variable {name} holds a URL with credentials in it (user:password@ or token@): airflowEnv is "
                "plain text in the stack file, the Helm release and every pod spec; keep credentials in Key Vault"
            )
        names.add(name)
    if issues:
        more = f"; and {len(issues) - _MAX_ISSUES} more" if len(issues) > _MAX_ISSUES else ""
        raise ValueError("; ".join(issues[:_MAX_ISSUES]) + more)
    return value


def _zones(value: list[str]) -> list[str]:
    if not value or any(z not in {"1", "2", "3"} for z in value) or len(set(value)) != len(value):
        raise ValueError('must be a non-empty list of distinct zones from "1", "2", "3"')
    return value


def _chart_version(value: str) -> str:
    if value not in SUPPORTED_CHART_VERSIONS:
        supported = ", ".join(SUPPORTED_CHART_VERSIONS)
        raise ValueError(f"has no values profile; supported chart versions: {supported}")
    return value


def _namespace(value: str) -> str:
    if _SYSTEM_NAMESPACE.fullmatch(value):
        raise ValueError("must be a namespace of its own (the stack creates it): not 'default' or 'kube-*'")
    return value


# The Airflow release's name (components.airflow.RELEASE_NAME; a test keeps them equal) and
# the ServiceAccounts its charts create, `<release>-<suffix>`: the apache-airflow chart's
# (1.15 and 1.19, _helpers.yaml `*.serviceAccountName`) and the bundled PostgreSQL's.
AIRFLOW_RELEASE = "airflow"
CHART_SERVICE_ACCOUNT_SUFFIXES = (
    "api-server",
    "cleanup",
    "create-user-job",
    "dag-processor",
    "database-cleanup",
    "flower",
    "migrate-database-job",
    "pgbouncer",
    "postgresql",
    "redis",
    "scheduler",
    "statsd",
    "triggerer",
    "webserver",
    "worker",
)
CHART_SERVICE_ACCOUNTS = frozenset(f"{AIRFLOW_RELEASE}-{suffix}" for suffix in CHART_SERVICE_ACCOUNT_SUFFIXES)


def _service_account(value: str) -> str:
    if value == "default":
        raise ValueError(
            "must not be the namespace's 'default' ServiceAccount: every pod that names no account runs as it, "
            "so the Key Vault identity federated to it would reach every such pod (task pods included)"
        )
    if value in CHART_SERVICE_ACCOUNTS:
        raise ValueError(
            "is a ServiceAccount the Airflow chart creates for its own pods: the Key Vault identity would reach "
            "those pods (and the stack and the chart would both own it); pick a name of its own, such as airflow"
        )
    return value


_GIT_URL_RULE = "an https git URL such as https://github.com/org/repo.git (or empty to turn git-sync off)"


def _git_url(value: str) -> str:
    if value.startswith("https://") and _has_credentials(value):
        raise ValueError(
            "must not carry credentials (user:token@): the URL is plain text in the stack file and the Helm "
            "release; give a public https URL"
        )
    return _check(_HTTPS_GIT_URL, _GIT_URL_RULE)(value)


_EMAIL = re.compile(r"(?P<local>[A-Za-z0-9._%+-]+)@(?P<domain>[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,})")


def _email(value: str) -> str:
    match = _EMAIL.fullmatch(value)
    if not match:
        raise ValueError("must be an e-mail address (letters, digits and . _ % + - before the @)")
    if len(match["local"]) > EMAIL_LOCAL_MAX or any(len(label) > 63 for label in match["domain"].split(".")):
        raise ValueError("must be an e-mail address: at most 64 characters before the @ and 63 per domain label")
    return value


def _between(lo: int, hi: int) -> BeforeValidator:
    return BeforeValidator(_whole_number(lo, hi))


def _pattern(max_len: int, pattern: str | re.Pattern[str], allowed: str, *, empty: bool = False) -> PlainValidator:
    return _text(max_len, allowed, _check(re.compile(pattern), allowed), empty=empty)


ClusterMode = Literal["create", "existing"]
ClusterAuth = Literal["local", "entra"]
ClusterTier = Literal["Free", "Standard", "Premium"]
AutoUpgradeChannel = Literal["none", "patch", "stable", "rapid", "node-image"]
NodeOsUpgradeChannel = Literal["None", "Unmanaged", "NodeImage", "SecurityPatch"]
KeyVaultAuthorization = Literal["rbac", "accessPolicy"]
SecretsOperatorChartVersion = Literal["2.9.0"]
Executor = Literal[
    "LocalExecutor",
    "CeleryExecutor",
    "KubernetesExecutor",
    "CeleryKubernetesExecutor",
    "CeleryExecutor,KubernetesExecutor",
]

Boolean = Annotated[bool, BeforeValidator(_never_raises(_boolean))]
_DNS_LABEL_RULE = "a DNS-1123 label: lowercase letters, digits and '-', 1-63 chars, alphanumeric at both ends"
_SUBDOMAIN_RULE = (
    "a DNS-1123 subdomain: up to 253 lowercase letters, digits, '-' and '.', "
    "each dot-separated part alphanumeric at both ends"
)
ResourceGroupOrEmpty = Annotated[
    str,
    _pattern(RESOURCE_GROUP_MAX, _RESOURCE_GROUP, f"an Azure resource group name: {_RESOURCE_GROUP_RULE}", empty=True),
]
GitRef = Annotated[
    str,
    _pattern(
        GIT_REF_MAX,
        _GIT_REF,
        "a git branch, tag or commit: letters, digits, '_', '.', '-', '/' "
        "(no spaces, no '..' or '//', no part starting with '.' or ending in '.lock')",
    ),
]
ContainerResources = Annotated[Resources, PlainValidator(_never_raises(_resources))]


class Settings(BaseModel):
    """Everything a stack can set. Field aliases are the config keys."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    stack: Annotated[
        str,
        _pattern(
            STACK_MAX,
            _STACK_NAME,
            "letters, digits and '-' only: the stack name is part of Azure names, and the managed identity "
            "<namePrefix>-<stack>-identity and the AKS DNS prefix <namePrefix>-<stack>-aks allow no other characters",
        ),
    ]
    location: Annotated[str, _pattern(LOCATION_MAX, r"[a-z0-9]+", "an Azure region name such as eastus")]
    name_prefix: Annotated[
        str,
        _pattern(
            10,
            r"[a-z][a-z0-9]{1,9}",
            "2-10 lowercase letters and digits, starting with a letter "
            "(it is part of globally unique vault and storage names)",
        ),
    ] = Field(alias="namePrefix")
    resource_group_name: ResourceGroupOrEmpty = Field(alias="resourceGroupName")

    cluster_mode: Annotated[ClusterMode, _choice(ClusterMode)] = Field(alias="clusterMode")
    cluster_name: Annotated[
        str,
        _pattern(
            AKS_NAME_MAX,
            r"[A-Za-z0-9][A-Za-z0-9_-]{0,61}[A-Za-z0-9]",
            "an AKS cluster name: 2-63 letters, digits, '-', '_', alphanumeric at both ends",
            empty=True,
        ),
    ] = Field(alias="clusterName")
    cluster_resource_group: ResourceGroupOrEmpty = Field(alias="clusterResourceGroup")
    kubernetes_version: Annotated[
        str,
        _text(
            KUBERNETES_VERSION_MAX,
            "a Kubernetes version 1.28 to 1.37, as 1.MINOR or 1.MINOR.PATCH",
            _kubernetes_version,
        ),
    ] = Field(alias="kubernetesVersion")
    cluster_auth: Annotated[ClusterAuth, _choice(ClusterAuth)] = Field(alias="clusterAuth")
    cluster_admin_group_object_id: Annotated[str, _text(36, "an Entra object id (a GUID)", _guid, empty=True)] = Field(
        alias="clusterAdminGroupObjectId"
    )
    cluster_tier: Annotated[ClusterTier, _choice(ClusterTier)] = Field(alias="clusterTier")
    # Constrained-vCPU sizes have a '-': Standard_E8-4ds_v5.
    node_vm_size: Annotated[
        str,
        _pattern(VM_SIZE_MAX, r"Standard_[A-Za-z0-9][A-Za-z0-9_-]*", "an Azure VM size such as Standard_DS4_v2"),
    ] = Field(alias="nodeVmSize")
    node_count: Annotated[int, _between(1, 100)] = Field(alias="nodeCount")
    availability_zones: Annotated[
        list[str], BeforeValidator(_string_list('["1", "2", "3"]')), AfterValidator(_zones)
    ] = Field(alias="availabilityZones")
    auto_upgrade_channel: Annotated[AutoUpgradeChannel, _choice(AutoUpgradeChannel)] = Field(alias="autoUpgradeChannel")
    node_os_upgrade_channel: Annotated[NodeOsUpgradeChannel, _choice(NodeOsUpgradeChannel)] = Field(
        alias="nodeOsUpgradeChannel"
    )

    acr_name: Annotated[
        str, _pattern(50, r"[A-Za-z0-9]{5,50}", "an Azure Container Registry name: 5-50 letters and digits")
    ] = Field(alias="acrName")
    acr_resource_group: Annotated[
        str,
        _pattern(RESOURCE_GROUP_MAX, _RESOURCE_GROUP, f"the resource group of the registry ({_RESOURCE_GROUP_RULE})"),
    ] = Field(alias="acrResourceGroup")

    namespace: Annotated[
        str, _text(DNS_LABEL_MAX, _DNS_LABEL_RULE, _then(_check(_DNS_LABEL, _DNS_LABEL_RULE), _namespace))
    ] = Field(alias="namespace")
    service_account_name: Annotated[
        str, _text(DNS_SUBDOMAIN_MAX, _SUBDOMAIN_RULE, _then(_check(_DNS_SUBDOMAIN, _SUBDOMAIN_RULE), _service_account))
    ] = Field(alias="serviceAccountName")

    key_vault_authorization: Annotated[KeyVaultAuthorization, _choice(KeyVaultAuthorization)] = Field(
        alias="keyVaultAuthorization"
    )
    key_vault_purge_protection: Boolean = Field(alias="keyVaultPurgeProtection")
    key_vault_soft_delete_retention_days: Annotated[int, _between(7, 90)] = Field(
        alias="keyVaultSoftDeleteRetentionDays"
    )

    install_secrets_operator: Boolean = Field(alias="installSecretsOperator")
    grant_acr_pull: Boolean = Field(alias="grantAcrPull")
    protect_stateful_resources: Boolean = Field(alias="protectStatefulResources")
    secrets_operator_chart_version: Annotated[SecretsOperatorChartVersion, _choice(SecretsOperatorChartVersion)] = (
        Field(alias="secretsOperatorChartVersion")
    )

    logs_volume_size: Annotated[
        str, _text(QUANTITY_MAX, "a positive Kubernetes quantity such as 5Gi, 512Mi or 1Ti", _logs_volume_size)
    ] = Field(alias="logsVolumeSize")
    logs_container_name: Annotated[
        str,
        _pattern(
            63,
            r"(?!.*--)[a-z0-9][a-z0-9-]{1,61}[a-z0-9]",
            "a blob container name: 3-63 lowercase letters, digits and single '-'",
        ),
    ] = Field(alias="logsContainerName")
    logs_retention_days: Annotated[int, _between(1, 3650)] = Field(alias="logsRetentionDays")

    airflow_chart_version: Annotated[str, _text(32, "a chart version with a values profile", _chart_version)] = Field(
        alias="airflowChartVersion"
    )
    executor: Annotated[Executor, _choice(Executor)] = Field(alias="executor")
    airflow_image_tag: Annotated[
        str, _text(IMAGE_TAG_MAX, "a container image tag (letters, digits, '_', '.', '-')", _image_tag, empty=True)
    ] = Field(alias="airflowImageTag")
    airflow_env: Annotated[list[str], BeforeValidator(_string_list('["NAME=value"]')), AfterValidator(_env)] = Field(
        alias="airflowEnv"
    )
    timezone: Annotated[str, _text(TIMEZONE_MAX, "an IANA time zone such as UTC or America/New_York", _timezone)] = (
        Field(alias="timezone")
    )
    dags_git_repo: Annotated[str, _text(GIT_URL_MAX, _GIT_URL_RULE, _git_url, empty=True)] = Field(alias="dagsGitRepo")
    dags_git_branch: GitRef = Field(alias="dagsGitBranch")
    dags_git_rev: GitRef = Field(alias="dagsGitRev")
    dags_git_sub_path: Annotated[
        str, _pattern(SUB_PATH_MAX, _SUB_PATH, "a relative path inside the repository, without '..'", empty=True)
    ] = Field(alias="dagsGitSubPath")
    dags_git_depth: Annotated[int, _between(0, 10000)] = Field(alias="dagsGitDepth")
    postgresql_enabled: Boolean = Field(alias="postgresqlEnabled")
    pgbouncer_enabled: Boolean = Field(alias="pgbouncerEnabled")
    external_database_secret_name: Annotated[
        str,
        _pattern(DNS_SUBDOMAIN_MAX, _DNS_SUBDOMAIN, f"a Kubernetes Secret name, {_SUBDOMAIN_RULE}", empty=True),
    ] = Field(alias="externalDatabaseSecretName")
    high_availability: Boolean = Field(alias="highAvailability")
    admin_username: Annotated[
        str,
        _pattern(64, r"[A-Za-z][A-Za-z0-9_.-]{2,63}", "3-64 letters, digits, '_', '.', '-', starting with a letter"),
    ] = Field(alias="adminUsername")
    # Restricted to characters that are inert in a shell: the chart's create-user job
    # passes it to `bash -c` unquoted.
    admin_email: Annotated[
        str, _text(EMAIL_MAX, "an e-mail address (letters, digits and . _ % + - before the @)", _email)
    ] = Field(alias="adminEmail")

    # Requests and limits per container, `cpu=..,memory=..,cpuLimit=..,memoryLimit=..`.
    scheduler_resources: ContainerResources = Field(alias="schedulerResources")
    webserver_resources: ContainerResources = Field(alias="webserverResources")
    triggerer_resources: ContainerResources = Field(alias="triggererResources")
    dag_processor_resources: ContainerResources = Field(alias="dagProcessorResources")
    worker_resources: ContainerResources = Field(alias="workerResources")
    git_sync_resources: ContainerResources = Field(alias="gitSyncResources")
    migrate_database_job_resources: ContainerResources = Field(alias="migrateDatabaseJobResources")
    create_user_job_resources: ContainerResources = Field(alias="createUserJobResources")
    pgbouncer_resources: ContainerResources = Field(alias="pgbouncerResources")
    pgbouncer_exporter_resources: ContainerResources = Field(alias="pgbouncerExporterResources")
    statsd_resources: ContainerResources = Field(alias="statsdResources")
    redis_resources: ContainerResources = Field(alias="redisResources")
    postgresql_resources: ContainerResources = Field(alias="postgresqlResources")
    secrets_operator_resources: ContainerResources = Field(alias="secretsOperatorResources")

    # ------------------------------------------------------------ derived values
    @property
    def effective_resource_group(self) -> str:
        return self.resource_group_name or f"{self.name_prefix}-{self.stack}-rg"

    @property
    def effective_cluster_name(self) -> str:
        return self.cluster_name or f"{self.name_prefix}-{self.stack}-aks"

    @property
    def effective_cluster_resource_group(self) -> str:
        return self.cluster_resource_group or self.effective_resource_group

    @property
    def identity_name(self) -> str:
        """The workload identity's managed identity (what __main__ passes to Identity)."""
        return f"{self.name_prefix}-{self.stack}-identity"

    @property
    def node_resource_group(self) -> str:
        """The group AKS creates for a created cluster's nodes (its default name)."""
        return f"MC_{self.effective_resource_group}_{self.effective_cluster_name}_{self.location}"

    @property
    def operator_namespace(self) -> str:
        """Where External Secrets Operator runs (components.secrets_operator.operator_namespace)."""
        return f"{self.namespace}-eso"

    @property
    def registry_server(self) -> str:
        """The ACR login server every image is pulled from."""
        return f"{self.acr_name.lower()}.azurecr.io"

    @property
    def env_vars(self) -> dict[str, str]:
        return dict(item.split("=", 1) for item in self.airflow_env)

    @property
    def federated_subject(self) -> str:
        return f"system:serviceaccount:{self.namespace}:{self.service_account_name}"


# The config keys (without namespace) a stack may set, in declaration order.
CONFIG_KEYS: tuple[str, ...] = tuple(
    f.alias for name, f in Settings.model_fields.items() if f.alias and name not in {"stack", "location"}
)
_ARRAY_KEYS = frozenset({"availabilityZones", "airflowEnv"})
_FIELD_BY_KEY: dict[str, str] = {f.alias or name: name for name, f in Settings.model_fields.items()}


# ----------------------------------------------------------------- problems
_MISSING: Any = object()
_SHOW_MAX = 320  # characters of a bad value shown in a problem
_KEY_MAX = 120


def _json(value: Any) -> str:
    """JSON text of any value; something JSON cannot hold (bytes, a 5000-digit int, a
    cycle) is named by its type."""
    try:
        return json.dumps(value)
    except (TypeError, ValueError, RecursionError):
        return f"<{type(value).__name__}>"


def _redact_value(value: Any, depth: int = 0) -> Any:
    """The value with URL credentials masked in every string inside it."""
    if isinstance(value, str):
        return _redact_credentials(value)
    if isinstance(value, list | tuple) and depth < 20:
        return [_redact_value(v, depth + 1) for v in value]
    if isinstance(value, Mapping) and depth < 20:
        return {k: _redact_value(v, depth + 1) for k, v in value.items()}
    return value


def _scrub(text: str, hidden: tuple[str, ...]) -> str:
    """`text` without secret values (`hidden`, longest first) and without URL credentials."""
    for fragment in hidden:
        if fragment in text:
            text = text.replace(fragment, "***")
    return _redact_credentials(text)


def _show_key(key: str) -> str:
    """A key as the engine spells it; an odd one (control characters, very long) escaped."""
    return key if len(key) <= _KEY_MAX and not _CONTROL.search(key) else _clip(json.dumps(key), _KEY_MAX)


@dataclass(frozen=True)
class Problem:
    """One bad value. `secret`: the key is marked secret, so its value is never shown;
    `hidden`: every secret value of the stack, masked wherever it would appear in the text."""

    key: str
    value: Any
    message: str
    secret: bool = False
    hidden: tuple[str, ...] = ()  # longest first

    def __str__(self) -> str:
        if self.value is _MISSING:
            shown = "<missing>"
        elif self.secret:
            shown = "[secret]"
        else:
            shown = _clip(_scrub(_json(_redact_value(self.value)), self.hidden), _SHOW_MAX)
        return f"{_show_key(self.key)} = {shown}: {_scrub(self.message, self.hidden)}"

    def __repr__(self) -> str:
        return f"Problem({str(self)!r})"


class ConfigError(ValueError):
    """Every problem found in a stack's configuration, reported at once."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"invalid stack configuration ({len(problems)} problem{'s' * (len(problems) != 1)}):\n{lines}")


def _secret_fragments(raw: Any) -> set[str]:
    """The text forms a secret value can take inside an error message: the whole value and
    every item of an array (as written, JSON-escaped or repr-quoted), and the value part of
    NAME=value and field=value entries when it is long enough to mask without mangling the
    rest of the message."""
    out: set[str] = set()

    def add(text: str, whole: bool) -> None:
        if text and (whole or len(text) >= 4):
            out.update({text, json.dumps(text)[1:-1], repr(text)[1:-1]})

    items: list[Any] = [raw]
    if isinstance(raw, str) and raw.lstrip().startswith("[") and len(raw) <= ARRAY_JSON_MAX:
        try:
            decoded = json.loads(raw)
        except (ValueError, RecursionError):
            decoded = None
        if isinstance(decoded, list):
            items += decoded
    elif isinstance(raw, list):
        items += raw
    for item in items:
        if isinstance(item, str):
            add(item, whole=True)
            for part in item.split(","):
                add(part.strip(), whole=False)
                add(part.partition("=")[2].strip(), whole=False)
    return out


# ------------------------------------------------------------------- cross-checks
# Each cross-check runs when the fields it reads are valid, even if other fields are not:
# a conflict is reported together with unrelated bad values, not one run later.
def _key(name: str) -> str:
    return f"{PROJECT}:{name}"


def _check_existing_cluster(s: Settings) -> list[Problem]:
    if s.cluster_mode != "existing":
        return []
    problems: list[Problem] = []
    if not s.cluster_name:
        problems.append(
            Problem(
                _key("clusterName"),
                s.cluster_name,
                "required when clusterMode is 'existing' (the AKS cluster to look up)",
            )
        )
    if s.effective_cluster_resource_group == s.effective_resource_group:
        problems.append(
            Problem(
                _key("clusterResourceGroup"),
                s.cluster_resource_group,
                "must name the existing cluster's resource group, which differs from resourceGroupName "
                "(the stack creates that one)",
            )
        )
    return problems


def _check_created_cluster(s: Settings) -> list[Problem]:
    if s.cluster_mode != "create":
        return []
    problems: list[Problem] = []
    if s.cluster_resource_group and s.cluster_resource_group != s.effective_resource_group:
        problems.append(
            Problem(
                _key("clusterResourceGroup"),
                s.cluster_resource_group,
                f"only used with clusterMode=existing; a created cluster goes into resourceGroupName "
                f"({s.effective_resource_group}): leave it empty",
            )
        )
    # A derived name (<namePrefix>-<stack>-aks) is the stack name's problem: _check_stack_names.
    if s.cluster_name and not _AKS_DNS_PREFIX.fullmatch(s.cluster_name):
        problems.append(
            Problem(
                _key("clusterName"),
                s.cluster_name,
                "must also be the AKS DNS prefix with clusterMode=create: 1-54 letters, digits and '-', "
                "alphanumeric at both ends",
            )
        )
    return problems


@dataclass(frozen=True)
class _Derived:
    what: str  # the Azure resource
    pattern: str  # how the name is made
    name: str
    limit: int


def _derived_names(s: Settings, stack: str) -> list[_Derived]:
    """The Azure names these settings build from the stack name (with `stack` as the stack)."""
    t = s.model_copy(update={"stack": stack})
    names = [_Derived("managed identity", "<namePrefix>-<stack>-identity", t.identity_name, IDENTITY_MAX)]
    if not s.resource_group_name:
        names.append(
            _Derived("resource group", "<namePrefix>-<stack>-rg", t.effective_resource_group, RESOURCE_GROUP_MAX)
        )
    if s.cluster_mode == "create":
        if not s.cluster_name:
            names.append(
                _Derived("AKS DNS prefix", "<namePrefix>-<stack>-aks", t.effective_cluster_name, AKS_DNS_PREFIX_MAX)
            )
        names.append(
            _Derived(
                "AKS node resource group",
                "MC_<resource group>_<cluster>_<location>",
                t.node_resource_group,
                NODE_RESOURCE_GROUP_MAX,
            )
        )
    return names


def _longest_stack(s: Settings) -> int:
    """The longest stack name whose derived names all fit (0: none does)."""
    longest = 0
    for n in range(1, STACK_MAX + 1):
        if all(len(d.name) <= d.limit for d in _derived_names(s, "a" * n)):
            longest = n
        else:
            break
    return longest


def _check_stack_names(s: Settings) -> list[Problem]:
    """Every Azure name built from the stack name stays within its limit.

    The stack's characters are checked on the field (letters, digits, '-'); here the
    lengths, which depend on namePrefix, location and which names are given explicitly. A
    name too long even for a one-character stack is the explicit names' problem."""
    too_long = [d for d in _derived_names(s, s.stack) if len(d.name) > d.limit]
    if not too_long:
        return []
    longest = _longest_stack(s)
    detail = "; ".join(
        f"{d.what} {d.pattern} = {_clip(d.name, 120)!r} has {len(d.name)} characters, at most {d.limit}"
        for d in too_long
    )
    if longest == 0:
        node = next(d for d in too_long if d.what == "AKS node resource group")
        explicit = {
            k: v for k, v in (("resourceGroupName", s.resource_group_name), ("clusterName", s.cluster_name)) if v
        }
        key = max(explicit, key=lambda k: len(explicit[k]))  # a one-character stack fits if neither is set
        return [
            Problem(
                _key(key),
                getattr(s, _FIELD_BY_KEY[key]),
                f"makes {detail}: AKS refuses the cluster; shorten resourceGroupName or clusterName "
                f"(the node resource group has {len(node.name) - NODE_RESOURCE_GROUP_MAX} characters too many)",
            )
        ]
    derived = [k for k, v in (("resourceGroupName", s.resource_group_name), ("clusterName", s.cluster_name)) if not v]
    also = f", or set {' and '.join(derived)} explicitly" if derived else ""
    return [
        Problem(
            STACK_KEY,
            s.stack,
            f"is {len(s.stack)} characters long, but with these settings (namePrefix {s.name_prefix!r}, "
            f"location {s.location!r}) a stack name can have at most {longest}: the stack name is part of Azure "
            f"names, and {detail}; use a shorter stack name{also}",
        )
    ]


def _check_cluster_admins(s: Settings) -> list[Problem]:
    if s.cluster_admin_group_object_id and (s.cluster_auth != "entra" or s.cluster_mode != "create"):
        return [
            Problem(
                _key("clusterAdminGroupObjectId"),
                s.cluster_admin_group_object_id,
                "only used with clusterAuth=entra and clusterMode=create (the stack grants admins on the "
                "cluster it creates): leave it empty",
            )
        ]
    return []


def _check_acr_pull(s: Settings) -> list[Problem]:
    if not s.grant_acr_pull and s.cluster_mode != "existing":
        return [
            Problem(
                _key("grantAcrPull"),
                False,
                "may be false only with clusterMode=existing (a cluster already attached to the registry with "
                "`az aks update --attach-acr`); the cluster the stack creates needs the grant to pull any image",
            )
        ]
    return []


def _check_database(s: Settings) -> list[Problem]:
    problems: list[Problem] = []
    if not s.postgresql_enabled and not s.external_database_secret_name:
        problems.append(
            Problem(
                _key("externalDatabaseSecretName"),
                "",
                "required when postgresqlEnabled is false: a Secret with a 'connection' key for the metadata database",
            )
        )
    if s.postgresql_enabled and s.external_database_secret_name:
        problems.append(
            Problem(
                _key("externalDatabaseSecretName"),
                s.external_database_secret_name,
                "conflicts with postgresqlEnabled=true: use one metadata database, not both",
            )
        )
    if s.pgbouncer_enabled and not s.postgresql_enabled:
        problems.append(
            Problem(
                _key("pgbouncerEnabled"),
                True,
                "only supported with the bundled PostgreSQL (postgresqlEnabled=true); set it to false for an "
                "external database",
            )
        )
    return problems


def _check_executor(s: Settings) -> list[Problem]:
    profile = PROFILES[s.airflow_chart_version]
    if s.executor in profile.executors:
        return []
    hint = (
        "; Airflow 3 dropped CeleryKubernetesExecutor: use CeleryExecutor,KubernetesExecutor"
        if s.executor == "CeleryKubernetesExecutor"
        else "; running executors side by side needs Airflow 2.10+ (airflowChartVersion 1.19.0)"
        if "," in s.executor
        else ""
    )
    return [
        Problem(
            _key("executor"),
            s.executor,
            f"is not supported by chart {profile.chart_version} (Airflow {profile.airflow_version}): "
            f"use one of {', '.join(profile.executors)}{hint}",
        )
    ]


def _check_image_tag(s: Settings) -> list[Problem]:
    """The chart's values are rendered for the profile's Airflow version (`airflowVersion`):
    its commands, config and components follow that line (Airflow 3: an API server and a
    DAG processor; Airflow 2: a webserver). An image of another major version cannot run
    them, nor one older than the minor version they are rendered for."""
    if not s.airflow_image_tag:
        return []
    profile = PROFILES[s.airflow_chart_version]
    major, minor = (int(p) for p in profile.airflow_version.split(".")[:2])
    line = f"chart {profile.chart_version} runs Airflow {major} ({profile.airflow_version})"
    other = next((p.chart_version for p in PROFILES.values() if not p.airflow_version.startswith(f"{major}.")), None)
    match = _TAG_VERSION.match(s.airflow_image_tag)
    if not match:
        message = (
            f"must start with the Airflow version the image contains, as upstream tags do ({profile.airflow_version}, "
            f"{profile.airflow_version}-python3.12, slim-{profile.airflow_version}; a custom build as "
            f"{profile.airflow_version}-corp1), so its Airflow line can be checked: {line}"
        )
    elif int(match["major"]) != major:
        switch = f", or airflowChartVersion {other}" if other else ""
        message = (
            f"is an Airflow {int(match['major'])} image, but {line}: use a {major}.x tag{switch}"
            if int(match["major"]) in (2, 3)
            else f"starts with version {int(match['major'])}.{int(match['minor'])}, which is no Airflow {major} "
            f"release: {line}"
        )
    elif int(match["minor"]) < minor:
        message = (
            f"is Airflow {major}.{int(match['minor'])}, older than the {profile.airflow_version} the chart values are "
            f"rendered for ({line}): use {major}.{minor} or newer"
        )
    else:
        return []
    return [Problem(_key("airflowImageTag"), s.airflow_image_tag, message)]


def _check_high_availability(s: Settings) -> list[Problem]:
    # nodeCount sizes a created cluster only: an existing cluster's nodes are its own.
    if s.cluster_mode == "create" and s.high_availability and s.node_count < 2:
        return [
            Problem(
                _key("highAvailability"),
                True,
                f"needs at least 2 nodes to spread two replicas over (nodeCount is {s.node_count})",
            )
        ]
    return []


def _check_zones(s: Settings) -> list[Problem]:
    zones = len(s.availability_zones)
    if s.cluster_mode == "create" and s.node_count < zones:
        return [
            Problem(
                _key("availabilityZones"),
                s.availability_zones,
                f"spreads the node pool over {zones} zones, but nodeCount is {s.node_count}: at least one zone "
                f"would have no node; list at most {s.node_count} zone{'s' * (s.node_count != 1)} or raise nodeCount",
            )
        ]
    return []


def _check_git_sync(s: Settings) -> list[Problem]:
    if s.dags_git_repo:
        return []
    # Without git-sync these keys do nothing: a value other than the default is a mistake.
    defaults: tuple[tuple[str, str, tuple[object, ...]], ...] = (
        ("dagsGitSubPath", "dags_git_sub_path", ("", "dags")),
        ("dagsGitBranch", "dags_git_branch", ("main",)),
        ("dagsGitRev", "dags_git_rev", ("HEAD",)),
        ("dagsGitDepth", "dags_git_depth", (1,)),
    )
    return [
        Problem(_key(key), getattr(s, attr), "has no effect without dagsGitRepo; set dagsGitRepo or leave the default")
        for key, attr, allowed in defaults
        if getattr(s, attr) not in allowed
    ]


def _check_upgrade_channel(s: Settings) -> list[Problem]:
    """A channel that upgrades the cluster by itself and a pinned patch fight: after AKS
    moves the cluster to a newer patch, the next `pulumi up` would try to take it back."""
    match = _KUBERNETES_VERSION.fullmatch(s.kubernetes_version)
    if s.auto_upgrade_channel in ("patch", "stable", "rapid") and match and match[2]:
        return [
            Problem(
                _key("kubernetesVersion"),
                s.kubernetes_version,
                f"pins a patch release, but autoUpgradeChannel={s.auto_upgrade_channel} upgrades the cluster "
                f"itself: the next pulumi up after an automatic upgrade would try to downgrade it; give "
                f"1.MINOR (1.{match[1]}), or set autoUpgradeChannel to none or node-image to pin the patch",
            )
        ]
    return []


def _check_operator_namespace(s: Settings) -> list[Problem]:
    """External Secrets Operator runs in `<namespace>-eso`, a namespace of its own."""
    if not s.install_secrets_operator:
        return []
    derived = s.operator_namespace
    if len(derived) > DNS_LABEL_MAX or _SYSTEM_NAMESPACE.fullmatch(derived):
        why = (
            f"{len(derived)} characters, more than {DNS_LABEL_MAX}"
            if len(derived) > DNS_LABEL_MAX
            else "a kube-* name, which Kubernetes reserves for its own namespaces"
        )
        return [
            Problem(
                _key("namespace"),
                s.namespace,
                f"with installSecretsOperator the operator runs in <namespace>-eso = {derived!r}, which is {why}: "
                f"use a namespace of at most {DNS_LABEL_MAX - len('-eso')} characters, not 'kube'",
            )
        ]
    return []


_CLUSTER_FIELDS = frozenset(
    {"stack", "name_prefix", "resource_group_name", "cluster_mode", "cluster_name", "cluster_resource_group"}
)
_CROSS_CHECKS: tuple[tuple[frozenset[str], Callable[[Settings], list[Problem]]], ...] = (
    (_CLUSTER_FIELDS, _check_existing_cluster),
    (_CLUSTER_FIELDS, _check_created_cluster),
    (_CLUSTER_FIELDS | {"location"}, _check_stack_names),
    (frozenset({"postgresql_enabled", "pgbouncer_enabled", "external_database_secret_name"}), _check_database),
    (
        frozenset({"dags_git_repo", "dags_git_sub_path", "dags_git_branch", "dags_git_rev", "dags_git_depth"}),
        _check_git_sync,
    ),
    (frozenset({"airflow_chart_version", "executor"}), _check_executor),
    (frozenset({"airflow_chart_version", "airflow_image_tag"}), _check_image_tag),
    (frozenset({"high_availability", "node_count", "cluster_mode"}), _check_high_availability),
    (frozenset({"availability_zones", "node_count", "cluster_mode"}), _check_zones),
    (frozenset({"cluster_admin_group_object_id", "cluster_auth", "cluster_mode"}), _check_cluster_admins),
    (frozenset({"kubernetes_version", "auto_upgrade_channel"}), _check_upgrade_channel),
    (frozenset({"namespace", "install_secrets_operator"}), _check_operator_namespace),
    (frozenset({"grant_acr_pull", "cluster_mode"}), _check_acr_pull),
)


def _cross_checks(s: Settings, valid: frozenset[str] | None = None) -> list[Problem]:
    """Conflicting options; given `valid` field names, only the checks that read nothing else."""
    problems: list[Problem] = []
    for needs, check in _CROSS_CHECKS:
        if valid is None or needs <= valid:
            problems.extend(check(s))
    return problems


# ------------------------------------------------------------------- advisories
_PRODUCTION_STACK = re.compile(r"(?i)(^|[-_.])prod(uction)?([-_.]|$)")


def advisories(s: Settings) -> list[str]:
    """Valid but risky choices, for a warning (load_settings logs them; nothing is refused)."""
    notes: list[str] = []
    if s.high_availability and s.postgresql_enabled:
        notes.append(
            "highAvailability runs two of each Airflow component, but the bundled PostgreSQL (postgresqlEnabled) "
            "stays one pod on one zonal disk: losing its node or zone still stops Airflow; for production use an "
            "external database (postgresqlEnabled=false, externalDatabaseSecretName)"
        )
    if not s.key_vault_purge_protection and _PRODUCTION_STACK.search(s.stack):
        notes.append(
            f"keyVaultPurgeProtection is false on stack {s.stack!r}: anyone who can delete the vault can also purge "
            "its secrets (the Fernet key among them) at once; turn it on for production (it cannot be turned off)"
        )
    return notes


def _adapter(name: str) -> TypeAdapter[Any]:
    f = Settings.model_fields[name]
    annotation: Any = f.annotation  # the field's type without Annotated; its validators are in metadata
    return TypeAdapter(Annotated[(annotation, *f.metadata)] if f.metadata else annotation)


_FIELD_ADAPTERS: dict[str, TypeAdapter[Any]] = {name: _adapter(name) for name in Settings.model_fields}


def _partial(data: Mapping[str, Any], invalid: set[str]) -> tuple[Settings, frozenset[str]]:
    """A Settings holding only the fields that are valid on their own (for the cross-checks)."""
    good: dict[str, Any] = {}
    for key, raw in data.items():
        name = _FIELD_BY_KEY[key]
        if name in invalid:
            continue
        try:
            good[name] = _FIELD_ADAPTERS[name].validate_python(raw)
        except ValidationError:
            continue
    return Settings.model_construct(**good), frozenset(good)


# ------------------------------------------------------------------------ parsing
def _parse_raw(key: str, raw: Any) -> Any:
    """Config values reach the program as strings (JSON for arrays); decode arrays."""
    if key in _ARRAY_KEYS and isinstance(raw, str) and len(raw) <= ARRAY_JSON_MAX:
        try:
            return json.loads(raw)
        except (ValueError, RecursionError):
            return raw  # the field's validator reports it, with the key
    return raw


def _unknown_key(key: str, value: Any) -> Problem:
    name = key.removeprefix(f"{PROJECT}:")
    close = difflib.get_close_matches(name, CONFIG_KEYS, n=1) if len(name) <= 64 else []
    hint = f"did you mean {_key(close[0])}? " if close else ""
    return Problem(key, value, f"unknown key; {hint}known keys: {', '.join(sorted(CONFIG_KEYS))}")


def _problem_key(field: str) -> str:
    if field == "location":
        return PROVIDER_LOCATION_KEY
    return STACK_KEY if field == "stack" else _key(field)


def parse_settings(stack: str, values: Mapping[str, Any], secret_keys: Collection[str] = ()) -> Settings:
    """Validate raw config values (keys with namespace, as the engine passes them).

    `secret_keys`: the keys the stack marks secret (`secure:`); their values never appear
    in the error, nor anywhere else in it. Raises ConfigError listing every problem:
    unknown keys, missing keys, bad values, conflicting options and a stack name that does
    not fit the Azure names made from it. Nothing else is raised, whatever the values.
    """
    problems: list[Problem] = []
    prefix = f"{PROJECT}:"
    keys = [k for k in values if isinstance(k, str)]
    for odd in (k for k in values if not isinstance(k, str)):
        problems.append(Problem(_clip(repr(odd)), values[odd], "config keys are 'namespace:key' strings"))
    for key in sorted(keys):
        if key.startswith(prefix) and key[len(prefix) :] not in CONFIG_KEYS:
            problems.append(_unknown_key(key, values[key]))

    data: dict[str, Any] = {"stack": stack}
    location = values.get(PROVIDER_LOCATION_KEY)
    if location is None:
        problems.append(
            Problem(
                PROVIDER_LOCATION_KEY,
                _MISSING,
                "required: the Azure region, e.g. `pulumi config set azure-native:location eastus`",
            )
        )
    else:
        data["location"] = location
    for key in CONFIG_KEYS:
        full = prefix + key
        if full not in values:
            problems.append(
                Problem(full, _MISSING, "required; declare a default in Pulumi.yaml or set it in the stack file")
            )
            continue
        data[key] = _parse_raw(key, values[full])

    settings: Settings | None = None
    try:
        settings = Settings.model_validate(data)
    except ValidationError as err:
        invalid: set[str] = set()
        for e in err.errors():
            loc = e["loc"]
            field = str(loc[0]) if loc else "?"
            invalid.add(_FIELD_BY_KEY.get(field, field))
            if e["type"] == "missing":
                continue  # missing keys were reported above
            problems.append(
                Problem(_problem_key(field), data.get(field, _MISSING), e["msg"].removeprefix("Value error, "))
            )
        problems.extend(_cross_checks(*_partial(data, invalid)))
    else:
        problems.extend(_cross_checks(settings))
    if problems or settings is None:
        secrets = {k for k in secret_keys if isinstance(k, str)}
        fragments = {f for k in secrets if k in values for f in _secret_fragments(values[k])}
        hidden = tuple(sorted(fragments, key=len, reverse=True))
        raise ConfigError([dataclasses.replace(p, secret=p.key in secrets, hidden=hidden) for p in problems])
    return settings


def _secret_config_keys() -> set[str]:
    """The keys the engine marks secret: the CLI passes them in PULUMI_CONFIG_SECRET_KEYS,
    the Automation API and synth's runner through set_all_config (is_config_secret)."""
    from pulumi.runtime import config as runtime_config

    keys = set(runtime_config.get_config_secret_keys_env())
    merged: dict[str, Any] = {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}
    keys.update(k for k in merged if runtime_config.is_config_secret(k))
    return keys


def load_settings() -> Settings:
    """Read every key once from the Pulumi engine's config and validate it."""
    import pulumi

    cfg = pulumi.Config(PROJECT)
    values: dict[str, Any] = {}
    for key in CONFIG_KEYS:
        raw = cfg.get(key)
        if raw is not None:
            values[f"{PROJECT}:{key}"] = raw
    location = pulumi.Config("azure-native").get("location")
    if location is not None:
        values[PROVIDER_LOCATION_KEY] = location
    values.update(_unknown_project_keys())
    try:
        settings = parse_settings(pulumi.get_stack(), values, _secret_config_keys())
    except ConfigError as err:
        # RunError: the CLI shows the message alone, without a Python traceback.
        raise pulumi.RunError(str(err)) from None
    for note in advisories(settings):
        pulumi.log.warn(note)
    return settings


def _unknown_project_keys() -> dict[str, Any]:
    """Keys set in this project's namespace that the program does not know (typos)."""
    from pulumi.runtime import config as runtime_config

    merged: dict[str, Any] = {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}
    prefix = f"{PROJECT}:"
    return {k: v for k, v in merged.items() if k.startswith(prefix) and k[len(prefix) :] not in CONFIG_KEYS}

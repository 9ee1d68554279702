"""The per-value validators: each takes any value (a string from the engine, or whatever a
typed caller passes) and returns it, or raises a ValueError that says what is allowed.

Every string has a length cap (:mod:`config.limits`) checked before any pattern runs, every
number a range, and no value may carry control characters. Nothing here knows of other
fields: conflicts between values are :mod:`config.checks`' business.
"""

from __future__ import annotations

import base64
import binascii
import functools
import ipaddress
import re
import zoneinfo
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, get_args

from pydantic import BeforeValidator, PlainValidator

from config.limits import (
    ARRAY_JSON_MAX,
    AUTHORIZED_IP_RANGES_MAX,
    CONTROL,
    CONTROL_RULE,
    CPU_MAX_MILLICORES,
    EMAIL_LOCAL_MAX,
    ENV_TOTAL_MAX,
    LOGS_VOLUME_MAX_BYTES,
    MEMORY_MAX_BYTES,
    QUANTITY_MAX,
    RESOURCES_MAX,
    VNET_PREFIX_MAX,
    VNET_PREFIX_MIN,
)
from config.report import clip, has_url_credentials, json_text
from profiles import PROFILES


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


def _no_control(value: str) -> None:
    match = CONTROL.search(value)
    if match:
        char = match.group()
        what = "an unpaired surrogate" if "\ud800" <= char <= "\udfff" else "the control character"
        raise ValueError(f"contains {what} U+{ord(char):04X} at position {match.start()}: {CONTROL_RULE}")


def never_raises(validate: Callable[[Any], Any]) -> Callable[[Any], Any]:
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


def text(
    max_len: int,
    allowed: str,
    check: Callable[[str], str] | None = None,
    *,
    empty: bool = False,
    multiline: bool = False,
) -> PlainValidator:
    """A string field: a str (nothing else), no control characters, at most `max_len`
    characters (checked before any pattern runs), then `check`. `empty`: "" is accepted;
    `multiline`: LF separates lines (no other control character, CR included)."""

    def validate(value: Any) -> str:
        if not isinstance(value, str):
            raise ValueError(f"must be a string, not {_kind(value)}: {allowed}")
        _no_control(value.replace("\n", " ") if multiline else value)
        if len(value) > max_len:
            raise ValueError(f"is {len(value)} characters long, more than {max_len}: must be {allowed}")
        if empty and value == "":
            return value
        return check(value) if check else value

    return PlainValidator(never_raises(validate))


def choice(literal: Any) -> BeforeValidator:
    """One of a Literal's strings, with the options as the message (never the value)."""
    options: tuple[str, ...] = get_args(literal)
    quoted = [f"'{o}'" for o in options]
    allowed = quoted[0] if len(quoted) == 1 else f"{', '.join(quoted[:-1])} or {quoted[-1]}"

    def validate(value: Any) -> str:
        if not isinstance(value, str) or value not in options:
            raise ValueError(f"must be {allowed}")
        return value

    return BeforeValidator(never_raises(validate))


# ------------------------------------------------------------------------- patterns
# Every pattern is applied with fullmatch: `$` alone would let a trailing newline through.
# Lengths are checked before patterns run (no pattern ever sees a 100k-character value).
DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")
DNS_SUBDOMAIN = re.compile(r"(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
RESOURCE_GROUP = re.compile(r"[-\w.()]{0,89}[-\w()]")
_QUANTITY = re.compile(r"(?P<num>[0-9]+(\.[0-9]+)?)(?P<unit>Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?")
_QUANTITY_UNITS: dict[str | None, int] = {
    None: 1,
    **{u: 2 ** (10 * (i + 1)) for i, u in enumerate(("Ki", "Mi", "Gi", "Ti", "Pi", "Ei"))},
    **{u: 10 ** (3 * (i + 1)) for i, u in enumerate(("k", "M", "G", "T", "P", "E"))},
}
_IMAGE_TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
# git check-ref-format, narrowed to the characters git-sync users need.
GIT_REF = re.compile(r"(?!.*\.\.)(?!.*//)(?!.*/\.)(?!.*\.lock(/|$))[A-Za-z0-9_][A-Za-z0-9_./-]{0,254}(?<![./])")
_HOST = r"[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*"
_HTTPS_GIT_URL = re.compile(rf"https://{_HOST}(:[0-9]{{1,5}})?/(?!(.*/)?\.\.?(/|$))[A-Za-z0-9_.~-][A-Za-z0-9_.~/-]*")
SUB_PATH = re.compile(r"(?!/)(?!(.*/)?\.\.(/|$))[A-Za-z0-9_./-]+")
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_INTEGER = re.compile(r"[+-]?[0-9]{1,18}")
_GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_NIL_GUID = "00000000-0000-0000-0000-000000000000"
KUBERNETES_VERSION = re.compile(r"1\.([0-9]{1,2})(\.[0-9]{1,3})?")
_TIMEZONE = re.compile(r"[A-Za-z0-9_+-]+(/[A-Za-z0-9_+-]+)*")
# Namespaces every cluster already has (the stack creates its namespace) and the reserved prefix.
SYSTEM_NAMESPACE = re.compile(r"default|kube-.*")
RESOURCE_GROUP_RULE = "1-90 letters, digits, '-', '_', '.', '(', ')', not ending in '.'"
# What a stack name may contain: it is part of the managed identity's name (Microsoft:
# "only alphanumeric characters and the hyphen are supported") and of the created
# cluster's DNS prefix (letters, digits, '-'). Pulumi also allows '_' and '.'.
STACK_NAME = re.compile(r"[A-Za-z0-9-]+")


def check(regex: re.Pattern[str], allowed: str) -> Callable[[str], str]:
    def validate(value: str) -> str:
        if not regex.fullmatch(value):
            raise ValueError(f"must be {allowed}")
        return value

    return validate


def then(*checks: Callable[[str], str]) -> Callable[[str], str]:
    def validate(value: str) -> str:
        for check in checks:
            value = check(value)
        return value

    return validate


def _integer(value: Any) -> int | None:
    """An integer as the engine passes it (decimal text), or None: booleans and '3.0' are not integers."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and _INTEGER.fullmatch(value):
        return int(value)
    return None


def _whole_number(lo: int, hi: int) -> Callable[[Any], int]:
    def validate(value: Any) -> int:
        number = _integer(value)
        if number is None or not lo <= number <= hi:
            raise ValueError(f"must be a whole number from {lo} to {hi}")
        return number

    return never_raises(validate)


def one_of_numbers(options: tuple[int, ...], what: str) -> BeforeValidator:
    """One of a few whole numbers (`what` says what they are), written as the engine passes them."""
    allowed = f"{', '.join(str(o) for o in options[:-1])} or {options[-1]}"

    def validate(value: Any) -> int:
        number = _integer(value)
        if number is None or number not in options:
            raise ValueError(f"must be one of {allowed} ({what})")
        return number

    return BeforeValidator(never_raises(validate))


def boolean(value: Any) -> bool:
    """Booleans as Pulumi's Config.get_bool reads them: not 'yes', '1' or 'off'."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value in ("true", "True"):
        return True
    if isinstance(value, str) and value in ("false", "False"):
        return False
    raise ValueError("must be true or false")


def string_list(example: str) -> Callable[[Any], list[str]]:
    def validate(value: Any) -> list[str]:
        if isinstance(value, str) and len(value) > ARRAY_JSON_MAX:
            raise ValueError(f"is {len(value)} characters of JSON, more than {ARRAY_JSON_MAX}: must be a JSON array")
        if not isinstance(value, list):
            raise ValueError(f"must be a JSON array of strings, such as {example}")
        for index, item in enumerate(value):
            if not isinstance(item, str):
                raise ValueError(f"item {index} ({clip(json_text(item))}) must be a string, as in {example}")
            try:
                _no_control(item)
            except ValueError as err:
                raise ValueError(f"item {index}: {err}") from None
        return value

    return never_raises(validate)


def _quantity_bytes(value: str) -> float | None:
    match = _QUANTITY.fullmatch(value)
    return float(match["num"]) * _QUANTITY_UNITS[match["unit"]] if match else None


def logs_volume_size(value: str) -> str:
    size = _quantity_bytes(value)
    if size is None or size <= 0:
        raise ValueError("must be a positive Kubernetes quantity such as 5Gi, 512Mi or 1Ti")
    if size > LOGS_VOLUME_MAX_BYTES:
        raise ValueError("must be at most 5Pi (an Azure storage account holds at most 5 PiB)")
    return value


def timezone(value: str) -> str:
    allowed = "an IANA time zone such as UTC or America/New_York"
    if not _TIMEZONE.fullmatch(value):
        raise ValueError(f"must be {allowed}")
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError, UnicodeError):
        # not found, not a TZif file, a name the file system refuses (ENAMETOOLONG, ...)
        raise ValueError(f"must be {allowed}") from None
    return value


def kubernetes_version(value: str) -> str:
    match = KUBERNETES_VERSION.fullmatch(value)
    if not match or not 28 <= int(match[1]) <= 37:
        raise ValueError("must be a Kubernetes version 1.28 to 1.37, as 1.MINOR or 1.MINOR.PATCH")
    return value


def guid(value: str) -> str:
    if not _GUID.fullmatch(value):
        raise ValueError("must be an Entra object id (a GUID such as 5b6c3a1e-9d5f-4c2b-8f0e-2a7d9c1b3e4f)")
    if value == _NIL_GUID:
        raise ValueError("is the nil GUID, which is no object: give the object id of an Entra group")
    return value


# ----------------------------------------- Azure Database for PostgreSQL flexible server
# A compute size: Standard_<family><vCPUs><features>[_v<version>], e.g. Standard_B1ms,
# Standard_D2ds_v5, Standard_E4ads_v5. The family decides the tier (the SDK's SkuTier).
DATABASE_SKU_TIERS = {"B": "Burstable", "D": "GeneralPurpose", "E": "MemoryOptimized"}
DATABASE_SKU = re.compile(r"Standard_(?P<family>[A-Za-z]{1,4})[1-9][0-9]{0,2}[a-z]{0,4}(_v[1-9][0-9]?)?")
DATABASE_SKU_RULE = (
    "an Azure Database for PostgreSQL flexible server compute size Standard_<family><vCPUs><features>[_v<n>] "
    "of family B (Burstable), D (General Purpose) or E (Memory Optimized), such as Standard_B2s, "
    "Standard_D2ds_v5 or Standard_E4ds_v5"
)


def database_sku(value: str) -> str:
    match = DATABASE_SKU.fullmatch(value)
    if not match:
        raise ValueError(f"must be {DATABASE_SKU_RULE}")
    if match["family"] not in DATABASE_SKU_TIERS:
        raise ValueError(
            f"is of family {match['family']!r}, which Azure Database for PostgreSQL flexible server does not offer: "
            f"must be {DATABASE_SKU_RULE}"
        )
    return value


# Azure's day numbering for a server's maintenance window: 0 = Sunday .. 6 = Saturday.
MAINTENANCE_DAYS = ("Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat")
MAINTENANCE_WINDOW = re.compile(
    rf"(?P<day>{'|'.join(MAINTENANCE_DAYS)}) (?P<hour>[01][0-9]|2[0-3]):(?P<minute>[0-5][0-9])"
)
MAINTENANCE_WINDOW_RULE = (
    "a weekly start time in UTC, '<day> HH:MM' with day Sun, Mon, Tue, Wed, Thu, Fri or Sat and a 24-hour "
    "time, such as 'Sun 02:00'"
)

DATABASE_ADMIN_LOGIN = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,62}")
DATABASE_ADMIN_LOGIN_RULE = "a PostgreSQL administrator login: 1-63 letters, digits and '_', starting with a letter"
# Names Azure Database for PostgreSQL refuses as the administrator login, and its reserved prefix.
RESERVED_DATABASE_LOGINS = ("azure_superuser", "azure_pg_admin", "admin", "administrator", "root", "guest", "public")
_RESERVED_LOGIN_PREFIX = "pg_"


def database_admin_login(value: str) -> str:
    check(DATABASE_ADMIN_LOGIN, DATABASE_ADMIN_LOGIN_RULE)(value)
    folded = value.lower()  # ASCII only, by the pattern; PostgreSQL folds unquoted names to lower case
    if folded in RESERVED_DATABASE_LOGINS or folded.startswith(_RESERVED_LOGIN_PREFIX):
        raise ValueError(
            f"is reserved: Azure Database for PostgreSQL refuses {', '.join(RESERVED_DATABASE_LOGINS)} (in any "
            f"case) and every name starting with {_RESERVED_LOGIN_PREFIX} as the administrator login; pick another, "
            "such as airflowadmin"
        )
    return value


# ------------------------------------------------------------------------ network
# IPv4 in dotted-quad form, an optional /0-/32 without leading zeros: the shape is checked
# before ipaddress parses it (which also takes netmask notation, 10.0.0.0/255.255.0.0).
_IPV4 = r"[0-9]{1,3}(\.[0-9]{1,3}){3}"
_PREFIX = r"/(3[0-2]|[12]?[0-9])"
_IPV4_CIDR = re.compile(_IPV4 + _PREFIX)
_IPV4_ADDRESS_OR_CIDR = re.compile(f"{_IPV4}({_PREFIX})?")
# RFC 1918.
PRIVATE_NETWORKS = tuple(ipaddress.IPv4Network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"))
_PRIVATE_RULE = "RFC 1918: 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16"
VNET_ADDRESS_SPACE_RULE = (
    f"an IPv4 private network in CIDR notation, /{VNET_PREFIX_MIN} to /{VNET_PREFIX_MAX}, such as 10.42.0.0/16"
)


def _ipv4_network(value: str, shape: re.Pattern[str]) -> ipaddress.IPv4Network | None:
    """The network `value` names, host bits allowed (None: not of `shape`, or no IPv4 at all:
    an octet above 255 or with a leading zero)."""
    if not shape.fullmatch(value):
        return None
    try:
        return ipaddress.IPv4Network(value, strict=False)
    except ValueError:
        return None


def _host_bits_set(value: str) -> bool:
    """`value` (a network ipaddress reads) has bits set beyond its prefix: 10.42.0.1/16."""
    try:
        ipaddress.IPv4Network(value, strict=True)
    except ValueError:
        return True
    return False


def vnet_address_space(value: str) -> str:
    """The address space of the VNet the stack creates (networkMode=create). Every issue of
    the value in one message."""
    network = _ipv4_network(value, _IPV4_CIDR)
    if network is None:
        raise ValueError(f"must be {VNET_ADDRESS_SPACE_RULE}")
    issues: list[str] = []
    if _host_bits_set(value):
        issues.append(f"host bits are set: write {network}, not {value}")
    if not VNET_PREFIX_MIN <= network.prefixlen <= VNET_PREFIX_MAX:
        issues.append(f"a /{network.prefixlen} is outside /{VNET_PREFIX_MIN} to /{VNET_PREFIX_MAX}")
    if not any(network.subnet_of(private) for private in PRIVATE_NETWORKS):
        issues.append(f"{network} is not a private range ({_PRIVATE_RULE})")
    if issues:
        raise ValueError(f"must be {VNET_ADDRESS_SPACE_RULE}: {'; '.join(issues)}")
    return value


AUTHORIZED_RANGE_RULE = "an IPv4 address such as 203.0.113.7 or an IPv4 CIDR such as 198.51.100.0/24"
AUTHORIZED_RANGES_EXAMPLE = '["203.0.113.7", "198.51.100.0/24"]'


def authorized_ip_ranges(value: list[str]) -> list[str]:
    """The API server's authorized IP ranges: distinct IPv4 addresses and CIDRs, at most
    AKS's 200, never 0.0.0.0/0 (which restricts nothing: an empty list says that)."""
    if len(value) > AUTHORIZED_IP_RANGES_MAX:
        raise ValueError(
            f"has {len(value)} entries, more than {AUTHORIZED_IP_RANGES_MAX} (the most AKS allows on the API "
            "server): merge addresses into CIDRs"
        )
    seen: dict[ipaddress.IPv4Network, str] = {}
    issues: list[str] = []
    for item in value:
        network = _ipv4_network(item, _IPV4_ADDRESS_OR_CIDR)
        if network is None:
            issues.append(f"entry {clip(item)!r} must be {AUTHORIZED_RANGE_RULE}")
        elif network.prefixlen == 0:
            issues.append(
                f"entry {item!r} is every IPv4 address, which restricts nothing: to leave the API server "
                "open to every address, leave the list empty instead"
            )
        elif _host_bits_set(item):
            issues.append(f"entry {item!r} has host bits set: write {network}, not {item}")
        elif network in seen:
            first = seen[network]
            issues.append(f"entry {item!r} is listed twice" if first == item else f"entry {item!r} repeats {first!r}")
        else:
            seen[network] = item
    if issues:
        more = f"; and {len(issues) - _MAX_ISSUES} more" if len(issues) > _MAX_ISSUES else ""
        raise ValueError("; ".join(issues[:_MAX_ISSUES]) + more)
    return value


# ARM resource IDs compare their fixed segments case-insensitively (ASCII).
SUBNET_ID_RULE = (
    "an Azure subnet resource ID: /subscriptions/<subscription GUID>/resourceGroups/<resource group>"
    "/providers/Microsoft.Network/virtualNetworks/<vnet>/subnets/<subnet>"
)
_SUBNET_ID_FIXED = {
    1: "subscriptions",
    3: "resourcegroups",
    5: "providers",
    6: "microsoft.network",
    7: "virtualnetworks",
    9: "subnets",
}
_VNET_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,62}[A-Za-z0-9_]")
_VNET_NAME_RULE = (
    "2-64 letters, digits, '_', '.', '-', starting with a letter or digit, ending with a letter, digit or '_'"
)
_SUBNET_NAME = re.compile(r"[A-Za-z0-9]([A-Za-z0-9_.-]{0,78}[A-Za-z0-9_])?")
_SUBNET_NAME_RULE = (
    "1-80 letters, digits, '_', '.', '-', starting with a letter or digit, ending with a letter, digit or '_'"
)


def subnet_id(value: str) -> str:
    """/subscriptions/<guid>/resourceGroups/<rg>/providers/Microsoft.Network/virtualNetworks/<vnet>/subnets/<subnet>;
    a well-shaped ID with bad names says which."""
    parts = value.split("/")
    shaped = len(parts) == 11 and parts[0] == ""
    if not shaped or any(not parts[i].isascii() or parts[i].lower() != name for i, name in _SUBNET_ID_FIXED.items()):
        raise ValueError(f"must be {SUBNET_ID_RULE}")
    subscription, group, vnet, subnet = parts[2], parts[4], parts[8], parts[10]
    issues: list[str] = []
    if not _GUID.fullmatch(subscription):
        issues.append(f"the subscription {clip(subscription)!r} is not a GUID")
    if not RESOURCE_GROUP.fullmatch(group):
        issues.append(f"the resource group {clip(group)!r} is not {RESOURCE_GROUP_RULE}")
    if not _VNET_NAME.fullmatch(vnet):
        issues.append(f"the virtual network {clip(vnet)!r} is not {_VNET_NAME_RULE}")
    if not _SUBNET_NAME.fullmatch(subnet):
        issues.append(f"the subnet {clip(subnet)!r} is not {_SUBNET_NAME_RULE}")
    if issues:
        raise ValueError(f"must be {SUBNET_ID_RULE}: {'; '.join(issues)}")
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
                issues.append(f"entry {clip(part)!r} is not field=quantity")
    else:
        issues.append(f"got {_kind(value)}")
    return pairs


def resources(value: Any) -> Resources:
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
            issues.append(f"unknown field {clip(key, 30)!r}")
        elif key in found:
            issues.append(f"{key} is set twice")
        elif not isinstance(item, str) or not item:
            issues.append(f"{key} is {'empty' if item in ('', None) else 'not a quantity'}")
        elif len(item) > QUANTITY_MAX or CONTROL.search(item):
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


def image_tag(value: str) -> str:
    if value == "latest":
        raise ValueError("must be a pinned tag, not 'latest'")
    return check(_IMAGE_TAG, "a container image tag (letters, digits, '_', '.', '-')")(value)


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


def env(value: list[str]) -> list[str]:
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
            issues.append(f"entry {clip(item)!r} must look like NAME=value with NAME a valid variable name")
        elif name in names:
            issues.append(f"variable {name} is set twice")
        elif refusal:
            issues.append(f"variable {name} {refusal}")
        elif has_url_credentials(content):
            issues.append(
                f"variable {name} holds a URL with credentials in it (user:password@ or token@): airflowEnv is "
                "plain text in the stack file, the Helm release and every pod spec; keep credentials in Key Vault"
            )
        names.add(name)
    if issues:
        more = f"; and {len(issues) - _MAX_ISSUES} more" if len(issues) > _MAX_ISSUES else ""
        raise ValueError("; ".join(issues[:_MAX_ISSUES]) + more)
    return value


def zones(value: list[str]) -> list[str]:
    if not value or any(z not in {"1", "2", "3"} for z in value) or len(set(value)) != len(value):
        raise ValueError('must be a non-empty list of distinct zones from "1", "2", "3"')
    return value


def chart_version(value: str) -> str:
    if value not in PROFILES:  # a chart line is supported when it has a profile
        supported = ", ".join(PROFILES)
        raise ValueError(f"has no values profile; supported chart versions: {supported}")
    return value


def namespace(value: str) -> str:
    if SYSTEM_NAMESPACE.fullmatch(value):
        raise ValueError("must be a namespace of its own (the stack creates it): not 'default' or 'kube-*'")
    return value


# The Airflow release's name (the plan reads it from here) and
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


def service_account(value: str) -> str:
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


GIT_URL_RULE = (
    "an https git URL such as https://github.com/org/repo.git, or an SSH one such as git@github.com:org/repo.git "
    "or ssh://git@github.com/org/repo.git (or empty to turn git-sync off)"
)
# SSH: the user is a plain name (never a password), the host a DNS name (no IP address, no
# option-looking `-oProxyCommand=...`), the path relative in the scp-like form.
_SSH_USER = r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,31}"
_DNS_HOST = (
    r"(?P<host>(?=[^/:]{1,253}[:/])[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    r"(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.(?=[A-Za-z0-9-]*[A-Za-z])[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)"
)
_GIT_PATH = r"(?!(.*/)?\.\.?(/|$))[A-Za-z0-9_.~-][A-Za-z0-9_.~/-]*"
_SCP_GIT_URL = re.compile(rf"{_SSH_USER}@{_DNS_HOST}:(?!/){_GIT_PATH}")
_SSH_GIT_URL = re.compile(rf"ssh://{_SSH_USER}@{_DNS_HOST}(:(?P<port>[0-9]{{1,5}}))?/{_GIT_PATH}")


def ssh_git_host(value: str) -> str | None:
    """The host of a valid SSH dagsGitRepo, lower case (None: not an SSH URL)."""
    match = _SSH_GIT_URL.fullmatch(value) or _SCP_GIT_URL.fullmatch(value)
    return match["host"].lower() if match else None


def ssh_git_port(value: str) -> int:
    """The port of a valid SSH dagsGitRepo (22 unless ssh://host:port/ says otherwise)."""
    match = _SSH_GIT_URL.fullmatch(value)
    return int(match["port"]) if match and match["port"] else 22


def is_ssh_git_url(value: str) -> bool:
    """dagsGitRepo names an SSH repository (git@host:path or ssh://...): git-sync uses a deploy key."""
    return bool(value) and not value.startswith("https://")


def _ssh_git_url(value: str) -> str:
    if has_url_credentials(value) and re.match(r"ssh://[^@/]*:[^@/]*@", value):
        raise ValueError(
            "must not carry a password (user:password@): the URL is plain text in the stack file and the Helm "
            "release; SSH repositories use the deploy key the stack generates (output dagsDeployPublicKey)"
        )
    match = _SSH_GIT_URL.fullmatch(value) or _SCP_GIT_URL.fullmatch(value)
    if not match:
        raise ValueError(
            f"must be {GIT_URL_RULE}; an SSH URL has a DNS host name (no IP address) and a relative path without '..'"
        )
    port = match.groupdict().get("port")
    if port is not None and not 1 <= int(port) <= 65535:
        raise ValueError(f"has port {port}: an SSH port is 1 to 65535")
    return value


def git_url(value: str) -> str:
    if value.startswith("https://"):
        if has_url_credentials(value):
            raise ValueError(
                "must not carry credentials (user:token@): the URL is plain text in the stack file and the Helm "
                "release; give a public https URL, or an SSH URL (git@host:org/repo.git) to use a deploy key"
            )
        return check(_HTTPS_GIT_URL, GIT_URL_RULE)(value)
    return _ssh_git_url(value)


KNOWN_HOSTS_RULE = (
    "known_hosts lines for the repository's host, '<host>[,<host>...] <key-type> <base64 key>' each, such as "
    "'github.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAA...' (ssh-keyscan <host> prints them; check them "
    "against the fingerprints the host publishes)"
)
_KNOWN_HOST_TYPES = (
    "ssh-ed25519",
    "ssh-rsa",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "sk-ssh-ed25519@openssh.com",
    "sk-ecdsa-sha2-nistp256@openssh.com",
)
_KNOWN_HOST_NAME = r"(\[[A-Za-z0-9.-]+\]:[0-9]{1,5}|[A-Za-z0-9.-]+|\|1\|[A-Za-z0-9+/=]+\|[A-Za-z0-9+/=]+)"
_KNOWN_HOST_LINE = re.compile(
    rf"(?P<hosts>{_KNOWN_HOST_NAME}(,{_KNOWN_HOST_NAME})*) (?P<type>[a-z0-9@.-]+) (?P<key>[A-Za-z0-9+/]+={{0,2}})"
)


def known_hosts(value: str) -> str:
    """dagsGitKnownHosts: one known_hosts line per line (no comment, no marker like
    @cert-authority or @revoked), each key base64 that starts with its own type."""
    lines = value.split("\n")
    if lines and lines[-1] == "":
        lines = lines[:-1]
    if not lines:
        raise ValueError(f"must be {KNOWN_HOSTS_RULE}")
    for number, line in enumerate(lines, 1):
        match = _KNOWN_HOST_LINE.fullmatch(line)
        where = f"line {number}" if len(lines) > 1 else "the line"
        if not match:
            raise ValueError(f"{where} must be {KNOWN_HOSTS_RULE}")
        if match["type"] not in _KNOWN_HOST_TYPES:
            raise ValueError(
                f"{where} has key type {clip(match['type'])!r}: must be one of {', '.join(_KNOWN_HOST_TYPES)}"
            )
        try:
            blob = base64.b64decode(match["key"], validate=True)
        except (binascii.Error, ValueError):
            raise ValueError(f"{where} has a key that is not base64: must be {KNOWN_HOSTS_RULE}") from None
        kind = match["type"].encode()
        if blob[:4] != len(kind).to_bytes(4, "big") or blob[4 : 4 + len(kind)] != kind:
            raise ValueError(
                f"{where}: the key is not an SSH public key of type {match['type']} (its base64 must start with the "
                "type it names, as ssh-keyscan prints it)"
            )
    return value


_EMAIL = re.compile(r"(?P<local>[A-Za-z0-9._%+-]+)@(?P<domain>[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,})")


def email(value: str) -> str:
    match = _EMAIL.fullmatch(value)
    if not match:
        raise ValueError("must be an e-mail address (letters, digits and . _ % + - before the @)")
    if len(match["local"]) > EMAIL_LOCAL_MAX or any(len(label) > 63 for label in match["domain"].split(".")):
        raise ValueError("must be an e-mail address: at most 64 characters before the @ and 63 per domain label")
    return value


def between(lo: int, hi: int) -> BeforeValidator:
    return BeforeValidator(_whole_number(lo, hi))


def pattern(max_len: int, regex: str | re.Pattern[str], allowed: str, *, empty: bool = False) -> PlainValidator:
    return text(max_len, allowed, check(re.compile(regex), allowed), empty=empty)


# --------------------------------------------------------------- operate (issue 13)
ACTION_GROUP_ID_RULE = (
    "an Azure Monitor action group resource ID: /subscriptions/<subscription GUID>/resourceGroups/<resource group>"
    "/providers/Microsoft.Insights/actionGroups/<name>"
)
_ACTION_GROUP_ID_FIXED = {
    1: "subscriptions",
    3: "resourcegroups",
    5: "providers",
    6: "microsoft.insights",
    7: "actiongroups",
}
_ACTION_GROUP_NAME = re.compile(r"[A-Za-z0-9_.-]{1,260}")


def action_group_id(value: str) -> str:
    """/subscriptions/<guid>/resourceGroups/<rg>/providers/Microsoft.Insights/actionGroups/<name>
    (fixed segments compared case-insensitively, as ARM does)."""
    parts = value.split("/")
    shaped = len(parts) == 9 and parts[0] == ""
    if not shaped or any(not parts[i].isascii() or parts[i].lower() != n for i, n in _ACTION_GROUP_ID_FIXED.items()):
        raise ValueError(f"must be {ACTION_GROUP_ID_RULE}")
    if (
        not _GUID.fullmatch(parts[2])
        or not RESOURCE_GROUP.fullmatch(parts[4])
        or not _ACTION_GROUP_NAME.fullmatch(parts[8])
    ):
        raise ValueError(f"must be {ACTION_GROUP_ID_RULE} (a GUID subscription, valid group and action group names)")
    return value


# A host name the UI is served on: at least two DNS labels (a TLS certificate's subject
# alternative name and an Ingress host must be fully qualified; no wildcard, no IP).
UI_HOST = re.compile(r"(?=.{1,253}$)([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\.)+[a-z]([-a-z0-9]{0,61}[a-z0-9])?")
UI_HOST_RULE = (
    "a fully qualified lowercase host name such as airflow.example.com: two or more dot-separated DNS labels, "
    "the last starting with a letter (no wildcard, no IP address, no port)"
)
UI_CERTIFICATE_PEM_RULE = (
    "a PEM bundle holding one '-----BEGIN CERTIFICATE-----' block (the leaf first, then any chain) and one "
    "'-----BEGIN PRIVATE KEY-----' (or RSA/EC PRIVATE KEY) block, set with `pulumi config set --secret`"
)
_PEM_BLOCK = re.compile(r"-----BEGIN ([A-Z ]+)-----\n[A-Za-z0-9+/=\n]+-----END \1-----")


def certificate_pem(value: str) -> str:
    """A certificate chain and its private key as PEM (checked for shape only: the key and the
    certificate are parsed at deploy time by the ingress controller). The message never
    quotes the value."""
    kinds = [m.group(1) for m in _PEM_BLOCK.finditer(value.replace("\r\n", "\n"))]
    keys = [k for k in kinds if k in ("PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY")]
    if "CERTIFICATE" not in kinds or len(keys) != 1 or any(k not in ("CERTIFICATE", *keys) for k in kinds):
        raise ValueError(f"must be {UI_CERTIFICATE_PEM_RULE}")
    return value

"""Mocks that answer like Azure and Kubernetes do; shared by `python -m synth` and the tests.

Every resource type and invoke the program uses has an answer here; an unknown invoke is
an error (a mock that silently returns {} would hide a missing answer). The mocks are as
strict as the providers, and every rule is read from the installed SDKs, not retyped:

* pulumi_random: RandomString/RandomPassword honour every input the SDK's Args class has
  (names and documented defaults from its source), generate from the provider's character
  sets, and reject what the provider rejects; RandomBytes honours `length`.
* invokes: each function the program calls is checked against the SDK function's own
  source (the `__args__` wire names, required = not `Optional[Optional[...]]` in the
  `*_output` signature); a missing required or an unknown argument fails the invoke the way
  the provider does (a check failure naming the function and the argument).
* answers: each invoke's answer is checked against the SDK's `@pulumi.output_type` result
  class: no field the class does not have (a renamed field is caught), every required one.
"""

from __future__ import annotations

import ast
import base64
import collections.abc
import functools
import hashlib
import inspect
import json
import re
import sys
import textwrap
import types
import typing
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_random
from google.protobuf import json_format
from pulumi import _types as pulumi_types
from pulumi.runtime import mocks as pulumi_mocks
from pulumi_azure_native import authorization, containerregistry, containerservice, storage

SUBSCRIPTION_ID = "00000000-0000-0000-0000-00000000c0de"
TENANT_ID = "11111111-2222-3333-4444-555555555555"
DEPLOYER_OBJECT_ID = "99999999-8888-7777-6666-555555555555"

# Wire signatures of the Pulumi property protocol.
SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"
RESOURCE_SIG = "5cf8f73096256a8f31e491e813e4eb8e"
UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
SIG_KEY = "4dabf18193072939515e22adb298388d"

CREATED_AT = "2026-01-01T00:00:00Z"
CURRENT_KUBERNETES_VERSION = "1.33.2"  # what an existing cluster reports (no program reads it)


def _uuid(*parts: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "/".join(parts)))


def _token(*parts: str, length: int = 24, alphabet: str = "abcdefghijklmnopqrstuvwxyz0123456789") -> str:
    """`length` characters of `alphabet`, seeded by `parts`: a SHA-256 stream (the first block
    is the digest of the parts, block i that of the parts and i), so no stretch repeats."""
    seed = "/".join(parts)
    stream = hashlib.sha256(seed.encode()).digest()
    while len(stream) < length:
        stream += hashlib.sha256(f"{seed}/{len(stream) // 32}".encode()).digest()
    return "".join(alphabet[b % len(alphabet)] for b in stream[:length])


# Monitoring resources answered alike: type -> (the input naming it, its ARM provider type).
_MONITORING_TYPES: dict[str, tuple[str, str]] = {
    "azure-native:operationalinsights:Workspace": ("workspaceName", "Microsoft.OperationalInsights/workspaces"),
    "azure-native:monitor:AzureMonitorWorkspace": ("azureMonitorWorkspaceName", "Microsoft.Monitor/accounts"),
    "azure-native:monitor:DataCollectionEndpoint": (
        "dataCollectionEndpointName",
        "Microsoft.Insights/dataCollectionEndpoints",
    ),
    "azure-native:monitor:DataCollectionRule": ("dataCollectionRuleName", "Microsoft.Insights/dataCollectionRules"),
    "azure-native:alertsmanagement:PrometheusRuleGroup": (
        "ruleGroupName",
        "Microsoft.AlertsManagement/prometheusRuleGroups",
    ),
    "azure-native:monitor:MetricAlert": ("ruleName", "Microsoft.Insights/metricAlerts"),
    "azure-native:dashboard:Grafana": ("workspaceName", "Microsoft.Dashboard/grafana"),
}


def _arm_id(rg: str, provider: str, name: str) -> str:
    return f"/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/{rg}/providers/{provider}/{name}"


def _system_data() -> dict[str, Any]:
    return {
        "createdAt": CREATED_AT,
        "createdBy": "deployer@example.com",
        "createdByType": "User",
        "lastModifiedAt": CREATED_AT,
        "lastModifiedBy": "deployer@example.com",
        "lastModifiedByType": "User",
    }


class ProviderError(ValueError):
    """An input the real provider would reject (the run fails, as `pulumi up` would)."""


# ------------------------------------------------------------------ pulumi_random
# The pool's classes in the provider's order (terraform-provider-random internal/random/
# string.go, CreateString: upper, lower, numeric, special).
CHAR_CLASSES = ("upper", "lower", "numeric", "special")
CLASS_CHARS = {"upper": "ABCDEFGHIJKLMNOPQRSTUVWXYZ", "lower": "abcdefghijklmnopqrstuvwxyz", "numeric": "0123456789"}
MIN_INPUTS = {"upper": "minUpper", "lower": "minLower", "numeric": "minNumeric", "special": "minSpecial"}

_DOC_DEFAULT = re.compile(r":param [^:\n]+? (\w+): [^\n]*?Default value is `([^`]+)`")
_DOC_SPECIALS = re.compile(r"Include special characters in the result\. These are `([^`]+)`")


@dataclass(frozen=True)
class RandomInputs:
    """What the installed pulumi_random SDK says about one resource's inputs."""

    type: str  # the resource token
    names: Mapping[str, str]  # SDK parameter -> wire name
    required: frozenset[str]  # wire names without a default in the Args class
    defaults: Mapping[str, bool | int]  # wire name -> the documented default
    default_specials: str  # the documented special characters ("" for RandomBytes)


def random_inputs(resource: type[pulumi.CustomResource], args: type) -> RandomInputs:
    """The input names, required inputs and documented defaults of a pulumi_random resource,
    read from the SDK: the Args class (`@pulumi.input_type`: names; `__init__`: which have no
    default) and its docstring ("Default value is `true`", "These are `!@#...`")."""
    token = _resource_token(resource)
    names = pulumi_types.input_type_py_to_pulumi_names(args)
    init = vars(args)["__init__"]
    params = inspect.signature(init).parameters
    required = frozenset(
        names[p.name] for p in params.values() if p.name in names and p.default is inspect.Parameter.empty
    )
    doc = init.__doc__ or ""
    defaults: dict[str, bool | int] = {}
    for param, text in _DOC_DEFAULT.findall(doc):
        defaults[names[param]] = text == "true" if text in ("true", "false") else int(text)
    specials = _DOC_SPECIALS.search(doc)
    return RandomInputs(token, names, required, defaults, specials.group(1) if specials else "")


def _resource_token(resource: type[pulumi.CustomResource]) -> str:
    """The type token a resource class registers (the literal its `_internal_init` passes)."""
    found = re.findall(r"'(random:index/\w+:\w+)'", inspect.getsource(resource._internal_init))  # type: ignore[attr-defined]
    if len(found) != 1:
        raise RuntimeError(f"mocks: cannot read {resource.__name__}'s type token from the SDK")
    return str(found[0])


@functools.cache
def random_specs() -> dict[str, RandomInputs]:
    """The pulumi_random resources the mocks answer, by type token."""
    specs = [
        random_inputs(pulumi_random.RandomString, pulumi_random.RandomStringArgs),
        random_inputs(pulumi_random.RandomPassword, pulumi_random.RandomPasswordArgs),
        random_inputs(pulumi_random.RandomBytes, pulumi_random.RandomBytesArgs),
    ]
    return {spec.type: spec for spec in specs}


def _check_random_inputs(spec: RandomInputs, name: str, inputs: Mapping[str, Any]) -> None:
    where = f"{spec.type} {name}"
    unknown = sorted(set(inputs) - set(spec.names.values()))
    if unknown:
        raise ProviderError(
            f"{where}: unknown input(s) {', '.join(unknown)} (the SDK has {sorted(spec.names.values())})"
        )
    missing = sorted(spec.required - set(inputs))
    if missing:
        raise ProviderError(f"{where}: missing required input(s) {', '.join(missing)}")


def _integer(where: str, key: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float) or int(value) != value:
        raise ProviderError(f"{where}: {key} must be a whole number, got {value!r}")
    return int(value)


def _flag(where: str, key: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ProviderError(f"{where}: {key} must be true or false, got {value!r}")
    return value


def random_chars(spec: RandomInputs, name: str, inputs: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """The result of a RandomString/RandomPassword (deterministic per resource name) and the
    computed inputs the provider stores with it.

    As the provider (terraform-provider-random: length validators, the number/numeric plan
    modifier, CreateString): length >= 1 and >= the sum of the minimums; number and numeric
    may not disagree; a pool with no class is refused; `overrideSpecial` (when not empty)
    replaces the special set; each minimum is drawn from its class's set even if that class
    is off. Beyond the provider's guarantee, and deliberately: every class that is ON appears
    at least once when the length leaves room (the provider may, at random, produce one, so a
    test can see what a real result could hold).
    """
    where = f"{spec.type} {name}"
    _check_random_inputs(spec, name, inputs)

    def given(key: str) -> Any:
        value = inputs.get(key)
        return spec.defaults[key] if value is None else value

    length = _integer(where, "length", inputs["length"])
    if length < 1:
        raise ProviderError(f"{where}: length must be at least 1, got {length}")
    number, numeric = inputs.get("number"), inputs.get("numeric")
    if number is not None and numeric is not None and number != numeric:
        raise ProviderError(f"{where}: number and numeric are both configured with different values")
    on = {c: _flag(where, c, given(c)) for c in ("upper", "lower", "special")}
    on["numeric"] = _flag(where, "numeric", numeric if numeric is not None else given("number"))
    mins = {c: _integer(where, MIN_INPUTS[c], given(MIN_INPUTS[c])) for c in CHAR_CLASSES}
    for c, count in mins.items():
        if count < 0:
            raise ProviderError(f"{where}: {MIN_INPUTS[c]} must not be negative, got {count}")
    if sum(mins.values()) > length:
        summed = " + ".join(MIN_INPUTS[c] for c in CHAR_CLASSES)
        raise ProviderError(f"{where}: length ({length}) cannot be less than {summed} ({sum(mins.values())})")
    if not any(on.values()):
        raise ProviderError(f"{where}: upper, lower, numeric and special are all false: at least one must be true")

    sets = {**CLASS_CHARS, "special": str(inputs.get("overrideSpecial") or spec.default_specials)}
    kind = "password" if spec.type.endswith(":RandomPassword") else "string"
    result = _chars((kind, name), length, sets, on, mins)
    computed = {**on, "number": on["numeric"], **{MIN_INPUTS[c]: mins[c] for c in CHAR_CLASSES}}
    return result, computed


def _chars(
    seed: tuple[str, ...], length: int, sets: Mapping[str, str], on: Mapping[str, bool], mins: Mapping[str, int]
) -> str:
    """`length` characters from the pool of the classes that are on (the provider's order),
    then, where a class is short of what it needs, characters swapped in at seeded positions
    taken from classes with some to spare."""
    pool = "".join(sets[c] for c in CHAR_CLASSES if on[c])
    out = list(_token(*seed, length=length, alphabet=pool))
    need = dict(mins)
    room = length - sum(need.values())
    for c in CHAR_CLASSES:
        if on[c] and need[c] == 0 and room > 0:
            need[c], room = 1, room - 1
    kinds = [next(c for c in CHAR_CLASSES if on[c] and ch in sets[c]) for ch in out]
    counts = {c: kinds.count(c) for c in CHAR_CLASSES}
    order = sorted(range(length), key=lambda i: hashlib.sha256("/".join((*seed, "slot", str(i))).encode()).digest())
    for c in CHAR_CLASSES:
        for k in range(need[c] - counts[c]):
            pos = next(i for i in order if counts[kinds[i]] > need[kinds[i]])
            counts[kinds[pos]] -= 1
            pick = hashlib.sha256("/".join((*seed, c, str(k))).encode()).digest()[0]
            out[pos], kinds[pos] = sets[c][pick % len(sets[c])], c
            counts[c] += 1
    return "".join(out)


def random_bytes(spec: RandomInputs, name: str, inputs: Mapping[str, Any]) -> bytes:
    """`length` bytes (deterministic per resource name); the provider's minimum is 1."""
    where = f"{spec.type} {name}"
    _check_random_inputs(spec, name, inputs)
    length = _integer(where, "length", inputs["length"])
    if length < 1:
        raise ProviderError(f"{where}: length must be at least 1, got {length}")
    raw = b""
    while len(raw) < length:
        block = f"/{len(raw) // 32}" if raw else ""
        raw += hashlib.sha256(f"bytes/{name}{block}".encode()).digest()
    return raw[:length]


# ------------------------------------------------------------------ pulumi_tls
TLS_PRIVATE_KEY = "tls:index/privateKey:PrivateKey"
# The outputs the provider marks secret (the SDK's additional_secret_outputs).
TLS_PRIVATE_OUTPUTS = ("privateKeyOpenssh", "privateKeyPem", "privateKeyPemPkcs8")


TLS_SELF_SIGNED_CERT = "tls:index/selfSignedCert:SelfSignedCert"
# When the mocks' certificates start (a fixed instant: synth output is byte-identical run to run).
TLS_NOT_BEFORE = "2026-01-01T00:00:00Z"


def _ecdsa_p256_key(name: str) -> dict[str, Any]:
    """A REAL P-256 key, its scalar derived from the resource name (deterministic), in the
    forms the provider answers (its privateKeyPem is the traditional 'EC PRIVATE KEY')."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    scalar = int.from_bytes(hashlib.sha256(f"tls/{name}".encode()).digest(), "big") % (2**255) + 1
    key = ec.derive_private_key(scalar, ec.SECP256R1())
    enc, fmt, none = serialization.Encoding, serialization.PrivateFormat, serialization.NoEncryption()
    return {
        "algorithm": "ECDSA",
        "ecdsaCurve": "P256",
        "rsaBits": 2048,
        "privateKeyOpenssh": key.private_bytes(enc.PEM, fmt.OpenSSH, none).decode(),
        "privateKeyPem": key.private_bytes(enc.PEM, fmt.TraditionalOpenSSL, none).decode(),
        "privateKeyPemPkcs8": key.private_bytes(enc.PEM, fmt.PKCS8, none).decode(),
        "publicKeyPem": key.public_key()
        .public_bytes(enc.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode(),
    }


def tls_self_signed_cert(inputs: Mapping[str, Any]) -> dict[str, Any]:
    """A REAL self-signed certificate for the request's key, subject and DNS names, valid
    from TLS_NOT_BEFORE for validityPeriodHours, signed deterministically (RFC 6979)."""
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    # the key arrives as a secret (its wire form, or wrapped)
    key_pem = str(unwrap(decode_wire(inputs["privateKeyPem"])))
    key: Any = serialization.load_pem_private_key(key_pem.encode(), None)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, inputs["subject"]["commonName"])])
    start = datetime.datetime.fromisoformat(TLS_NOT_BEFORE)
    end = start + datetime.timedelta(hours=int(inputs["validityPeriodHours"]))
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(int.from_bytes(hashlib.sha256(subject.rfc4514_string().encode()).digest()[:16], "big"))
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(d) for d in inputs.get("dnsNames") or []]), False)
        .sign(key, hashes.SHA256(), ecdsa_deterministic=True if isinstance(key, ec.EllipticCurvePrivateKey) else None)
    )
    return {
        "certPem": cert.public_bytes(serialization.Encoding.PEM).decode(),
        "validityStartTime": TLS_NOT_BEFORE,
        "validityEndTime": end.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "readyForRenewal": False,
    }


def _ec_private_scalar(state: Mapping[str, Any]) -> bytes | None:
    """The private scalar of an ECDSA key's state (32 bytes for P-256); None for other keys."""
    if state.get("algorithm") != "ECDSA":
        return None
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = serialization.load_pem_private_key(str(state["privateKeyPem"]).encode(), None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    return key.private_numbers().private_value.to_bytes((key.curve.key_size + 7) // 8, "big")


def _private_lines(pem: str, secret_bytes: bytes | None) -> list[str]:
    """The base64 lines of a PEM (or OpenSSH) block that carry private material: every one
    (None), or those whose bytes overlap `secret_bytes` inside the decoded body."""
    lines = [line for line in pem.splitlines() if line and "-----" not in line]
    if secret_bytes is None:
        return lines
    body = base64.b64decode("".join(lines))
    start = body.find(secret_bytes)
    if start < 0:
        return lines  # not found: keep every line (never fewer than before)
    end, out, pos = start + len(secret_bytes), [], 0
    for line in lines:
        first, last = pos * 3 // 4, -(-(pos + len(line)) * 3 // 4)
        if first < end and last > start:
            out.append(line)
        pos += len(line)
    return out


def tls_private_key(name: str, inputs: Mapping[str, Any]) -> dict[str, Any]:
    """A REAL ed25519 or ECDSA P-256 key, derived from the resource name (deterministic), in
    every form the provider answers (OpenSSH and PEM, fingerprints); RSA is refused (its
    generation cannot be made deterministic here, and this program never asks for it)."""
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519

    where = f"{TLS_PRIVATE_KEY} {name}"
    algorithm = inputs.get("algorithm")
    if algorithm not in ("RSA", "ECDSA", "ED25519"):
        raise ProviderError(f"{where}: algorithm must be one of RSA, ECDSA, ED25519, got {algorithm!r}")
    if algorithm == "ECDSA" and inputs.get("ecdsaCurve") == "P256":
        return _ecdsa_p256_key(name)
    if algorithm != "ED25519":
        raise ProviderError(f"{where}: the mocks answer ED25519 and ECDSA P256 keys only, got {algorithm}")
    key = ed25519.Ed25519PrivateKey.from_private_bytes(hashlib.sha256(f"tls/{name}".encode()).digest())
    public = key.public_key()
    enc, fmt = serialization.Encoding, serialization.PrivateFormat
    none = serialization.NoEncryption()
    public_openssh = public.public_bytes(enc.OpenSSH, serialization.PublicFormat.OpenSSH)
    digest = hashes.Hash(hashes.SHA256())
    digest.update(base64.b64decode(public_openssh.split()[1]))
    raw_public = base64.b64decode(public_openssh.split()[1])
    md5 = hashlib.md5(raw_public, usedforsecurity=False).hexdigest()
    return {
        "algorithm": algorithm,
        "ecdsaCurve": "P224",
        "rsaBits": 2048,
        "privateKeyOpenssh": key.private_bytes(enc.PEM, fmt.OpenSSH, none).decode(),
        "privateKeyPem": key.private_bytes(enc.PEM, fmt.PKCS8, none).decode(),
        "privateKeyPemPkcs8": key.private_bytes(enc.PEM, fmt.PKCS8, none).decode(),
        # the provider ends the authorized_keys line with a newline
        "publicKeyOpenssh": public_openssh.decode() + "\n",
        "publicKeyPem": public.public_bytes(enc.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode(),
        "publicKeyFingerprintSha256": "SHA256:" + base64.b64encode(digest.finalize()).decode().rstrip("="),
        "publicKeyFingerprintMd5": ":".join(md5[i : i + 2] for i in range(0, len(md5), 2)),
    }


# ------------------------------------------------------------------ invokes
# The functions the program calls. Their tokens, wire arguments and result types are read
# from these SDK functions' source (invoke_signature), never retyped here.
INVOKE_FUNCTIONS: tuple[Callable[..., Any], ...] = (
    authorization.get_client_config_output,
    containerregistry.get_registry_output,
    containerservice.get_managed_cluster_output,
    containerservice.list_managed_cluster_admin_credentials_output,
    containerservice.list_managed_cluster_user_credentials_output,
    storage.list_storage_account_keys_output,
)


@dataclass(frozen=True)
class InvokeSignature:
    """One SDK function as the provider sees it."""

    token: str
    function: str  # module.function of the SDK
    arguments: Mapping[str, str]  # wire name -> the SDK function's parameter
    required: frozenset[str]  # wire names the provider requires
    scalar_types: Mapping[str, type]  # wire name -> str/bool/int/float, where the SDK says so
    result: type  # the SDK's @pulumi.output_type result class
    api_version: str  # "Uses Azure REST API version ..." of the function's docstring


_SCALARS: dict[str, type] = {
    "_builtins.str": str,
    "_builtins.bool": bool,
    "_builtins.int": int,
    "_builtins.float": float,
}


def _subscript(node: ast.expr, name: str) -> ast.expr | None:
    """X of `name[X]` (name as written: 'Optional' or 'pulumi.Input'), else None."""
    if isinstance(node, ast.Subscript) and ast.unparse(node.value) == name:
        return node.slice
    return None


def invoke_signature(function: Callable[..., Any]) -> InvokeSignature:
    """Read an SDK `*_output` function's source: the token and result class it invokes
    with, the `__args__['wireName'] = param` lines (every argument the provider accepts),
    and which are required. The generator writes a required argument `pulumi.Input[Optional[T]]`
    (None only so Python accepts the keyword) and an optional one `pulumi.Input[Optional[Optional[T]]]`;
    any other form is an error here, so a changed generator cannot make the mocks lax."""
    where = f"{function.__module__}.{function.__name__}"
    tree = ast.parse(textwrap.dedent(inspect.getsource(function)))
    fn = tree.body[0]
    if not isinstance(fn, ast.FunctionDef):
        raise RuntimeError(f"mocks: {where} is not a function")
    annotations = {a.arg: a.annotation for a in fn.args.args + fn.args.kwonlyargs if a.annotation}
    arguments: dict[str, str] = {}
    token, result_name = "", ""
    for node in ast.walk(fn):
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
            if (
                isinstance(target, ast.Subscript)
                and ast.unparse(target.value) == "__args__"
                and isinstance(target.slice, ast.Constant)
                and isinstance(node.value, ast.Name)
            ):
                arguments[str(target.slice.value)] = node.value.id
        if isinstance(node, ast.Call) and ast.unparse(node.func) == "pulumi.runtime.invoke_output":
            first = node.args[0]
            token = str(first.value) if isinstance(first, ast.Constant) else ""
            result_name = next((ast.unparse(k.value) for k in node.keywords if k.arg == "typ"), "")
    if not token or not result_name:
        raise RuntimeError(f"mocks: {where} does not call pulumi.runtime.invoke_output(token, ..., typ=...)")
    required: set[str] = set()
    scalars: dict[str, type] = {}
    for wire, param in arguments.items():
        outer = _subscript(annotations[param], "pulumi.Input") if param in annotations else None
        inner = _subscript(outer, "Optional") if outer is not None else None
        if inner is None:
            raise RuntimeError(f"mocks: {where}({param}=...): expected pulumi.Input[Optional[...]] in the SDK")
        optional_type = _subscript(inner, "Optional")
        if optional_type is None:
            required.add(wire)
        scalar = _SCALARS.get(ast.unparse(optional_type if optional_type is not None else inner))
        if scalar is not None:
            scalars[wire] = scalar
    version = re.search(r"Uses Azure REST API version (\S+?)\.\s", function.__doc__ or "")
    return InvokeSignature(
        token=token,
        function=where,
        arguments=arguments,
        required=frozenset(required),
        scalar_types=scalars,
        result=getattr(sys.modules[function.__module__], result_name),
        api_version=version.group(1) if version else "",
    )


@functools.cache
def invoke_signatures() -> dict[str, InvokeSignature]:
    """The invokes the mocks answer, by token."""
    return {sig.token: sig for sig in map(invoke_signature, INVOKE_FUNCTIONS)}


def invoke_failures(sig: InvokeSignature, args: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(argument, reason) for each argument the provider would refuse: a required one
    missing, one the function does not have, a scalar of the wrong type."""
    call = f"{sig.function}({{}}=...)"
    failures = [
        (wire, f"missing required argument {wire!r} of {sig.token} ({call.format(sig.arguments[wire])})")
        for wire in sorted(sig.required - set(args))
    ]
    failures += [
        (wire, f"unknown argument {wire!r} of {sig.token} (it takes: {', '.join(sorted(sig.arguments)) or 'none'})")
        for wire in sorted(set(args) - set(sig.arguments))
    ]
    for wire, value in sorted(args.items()):
        expected = sig.scalar_types.get(wire)
        if expected is not None and value is not None and not _is_kind(value, expected):
            failures.append((wire, f"argument {wire!r} of {sig.token} must be {expected.__name__}, got {value!r}"))
    return failures


def _is_kind(value: Any, expected: type) -> bool:
    if expected is bool:
        return isinstance(value, bool)
    if expected in (int, float):
        return (
            isinstance(value, int | float)
            and not isinstance(value, bool)
            and (expected is float or value == int(value))
        )
    return isinstance(value, expected)


@dataclass(frozen=True)
class OutputProperty:
    python_name: str
    hint: Any  # the getter's resolved return type
    required: bool  # the type does not admit None


@functools.cache
def output_properties(cls: type) -> dict[str, OutputProperty]:
    """Wire name -> property of an SDK `@pulumi.output_type` class, read from its getters."""
    if not pulumi_types.is_output_type(cls):
        raise TypeError(f"{cls.__name__} is not a pulumi output type")
    globalns: dict[str, Any] = {}
    for base in reversed(cls.__mro__):
        module = sys.modules.get(base.__module__)
        if module is not None:
            globalns.update(vars(module))
    props: dict[str, OutputProperty] = {}
    for base in reversed(cls.__mro__):
        for python_name, value in vars(base).items():
            wire = getattr(getattr(value, "fget", None), "_pulumi_name", None)
            if isinstance(value, property) and isinstance(wire, str):
                hint = typing.get_type_hints(value.fget, globalns=globalns)["return"]
                props[wire] = OutputProperty(python_name, hint, not _admits_none(hint))
    return props


def _admits_none(hint: Any) -> bool:
    return typing.get_origin(hint) in (typing.Union, types.UnionType) and type(None) in typing.get_args(hint)


def shape_problems(cls: type, value: Any, path: str = "", required_depth: int = 1) -> list[str]:
    """What is wrong with `value` (a wire dict) as the SDK output type `cls`: a field the type
    does not have (a renamed or misspelt one) at any depth, a value of the wrong kind, and a
    required property missing (down to `required_depth` levels; Azure leaves read-only nested
    properties out when they are empty, so by default only the result's own are required)."""
    here = path or cls.__name__
    if not isinstance(value, dict):
        return [f"{here}: expected an object ({cls.__name__}), got {type(value).__name__}"]
    props = output_properties(cls)
    problems = [f"{here}.{k}: {cls.__name__} has no such property" for k in sorted(set(value) - set(props))]
    if required_depth > 0:
        problems += [
            f"{here}.{k}: required by {cls.__name__}, missing"
            for k, prop in sorted(props.items())
            if prop.required and k not in value
        ]
    for key, item in sorted(value.items()):
        if key in props:
            problems += _value_problems(props[key].hint, item, f"{here}.{key}", required_depth - 1)
    return problems


def _value_problems(hint: Any, value: Any, path: str, required_depth: int) -> list[str]:
    if value is None:
        return []
    if _admits_none(hint):
        members = [a for a in typing.get_args(hint) if a is not type(None)]
        if len(members) != 1:
            return []
        hint = members[0]
    origin = typing.get_origin(hint)
    if origin in (list, collections.abc.Sequence):
        if not isinstance(value, list):
            return [f"{path}: expected a list, got {type(value).__name__}"]
        (item,) = typing.get_args(hint)
        return [p for i, v in enumerate(value) for p in _value_problems(item, v, f"{path}[{i}]", required_depth)]
    if origin in (dict, collections.abc.Mapping):
        if not isinstance(value, dict):
            return [f"{path}: expected an object, got {type(value).__name__}"]
        _, item = typing.get_args(hint)
        return [p for k, v in value.items() for p in _value_problems(item, v, f"{path}[{k!r}]", required_depth)]
    if isinstance(hint, type) and pulumi_types.is_output_type(hint):
        return shape_problems(hint, value, path, required_depth)
    if hint in (str, bool, int, float) and not _is_kind(value, hint):
        return [f"{path}: expected {hint.__name__}, got {value!r}"]
    return []


class MockAnswerError(AssertionError):
    """An answer of the mocks that the SDK's result type would not read as Azure's."""


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


def _kubeconfig(cluster: str, location: str, user: str, user_name: str = "clusterUser") -> str:
    server = f"https://{cluster}-{_token(cluster, length=8)}.hcp.{location}.azmk8s.io:443"
    return (
        "apiVersion: v1\nkind: Config\n"
        f"clusters:\n- cluster:\n    certificate-authority-data: {base64.b64encode(b'mock-ca').decode()}\n"
        f"    server: {server}\n  name: {cluster}\n"
        f"contexts:\n- context:\n    cluster: {cluster}\n    user: {user_name}_{cluster}\n  name: {cluster}\n"
        f"current-context: {cluster}\n"
        f"users:\n- name: {user_name}_{cluster}\n  user:\n{user}"
    )


def kubeconfig_for(cluster: str, location: str, admin: bool = False) -> str:
    """A local-accounts cluster's user (or admin) kubeconfig: a bearer token (a credential)."""
    if admin:
        token = _token("kubeconfig-admin-token", cluster, length=64)
        return _kubeconfig(cluster, location, f"    token: {token}\n", user_name="clusterAdmin")
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
        # Read the SDKs now, on the thread that builds the mocks: the monitor answers on
        # worker threads, and CPython 3.11's ast module is not safe to use from two at once.
        invoke_signatures()
        random_specs()

    def _sensitive(self, value: str) -> str:
        self.sensitive_values.add(value)
        return value

    def _sensitive_key(self, state: dict[str, Any]) -> dict[str, Any]:
        """A private key's state, its private forms (and each of their lines) recorded as
        sensitive. An EC key's forms also carry its PUBLIC point, which a certificate for the
        key carries too: of those, only the lines that encode the private scalar count."""
        secret_bytes = _ec_private_scalar(state)
        for key in TLS_PRIVATE_OUTPUTS:
            self._sensitive(state[key])
            for line in _private_lines(state[key], secret_bytes):
                self._sensitive(line)
        return state

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
            identity = dict(inputs.get("identity") or {})
            if isinstance(identity.get("userAssignedIdentities"), list):
                # sent as a list of ids, answered as a map of id -> the identity's ids
                identity["userAssignedIdentities"] = {
                    uid: {"clientId": _uuid("client", uid), "principalId": _uuid("principal", uid)}
                    for uid in identity["userAssignedIdentities"]
                }
                state["identity"] = identity
            routing = dict((inputs.get("ingressProfile") or {}).get("webAppRouting") or {})
            if routing.get("enabled"):
                # AKS makes the add-on's identity, webapprouting-<cluster>, in the node resource group
                uid = f"webapprouting-{cname}"
                routing["identity"] = {
                    "clientId": _uuid("client", uid),
                    "objectId": _uuid("principal", uid),
                    "resourceId": _arm_id(
                        f"MC_{rg}_{cname}_{loc}", "Microsoft.ManagedIdentity/userAssignedIdentities", uid
                    ),
                }
                state["ingressProfile"] = {**inputs["ingressProfile"], "webAppRouting": routing}
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
        spec = random_specs().get(typ)
        if spec is not None and typ.endswith((":RandomString", ":RandomPassword")):
            result, computed = random_chars(spec, name, inputs)
            state.update(computed, result=result)
            if typ.endswith(":RandomPassword"):
                state.update(
                    result=self._sensitive(result),
                    bcryptHash=self._sensitive("$2a$10$" + _token("bcrypt", name, length=53)),
                )
            return f"{name}-id", state
        if spec is not None and typ.endswith(":RandomBytes"):
            raw = random_bytes(spec, name, inputs)
            b64 = base64.b64encode(raw).decode()
            state.update(base64=self._sensitive(b64), hex=self._sensitive(raw.hex()))
            self._sensitive(b64.replace("+", "-").replace("/", "_"))
            return f"{name}-id", state
        if typ == TLS_PRIVATE_KEY:
            state.update(self._sensitive_key(tls_private_key(name, inputs)))
            return f"{name}-id", state
        if typ == TLS_SELF_SIGNED_CERT:
            state.update(tls_self_signed_cert(inputs))
            return f"{name}-id", state
        if typ == "azure-native:storage:ManagementPolicy":
            acct = inputs.get("accountName", "account")
            state.update(name="DefaultManagementPolicy")
            return _arm_id(rg, "Microsoft.Storage/storageAccounts", f"{acct}/managementPolicies/default"), state
        if typ == "azure-native:storage:BlobServiceProperties":
            acct = inputs.get("accountName", "account")
            state.update(name="default")
            return _arm_id(rg, "Microsoft.Storage/storageAccounts", f"{acct}/blobServices/default"), state
        if typ == "azure-native:containerservice:AgentPool":
            pname = inputs.get("agentPoolName", name)
            cluster = inputs.get("resourceName", "cluster")
            state.update(name=pname, provisioningState="Succeeded")
            return _arm_id(rg, "Microsoft.ContainerService/managedClusters", f"{cluster}/agentPools/{pname}"), state
        # private endpoints and their DNS zone groups (components/private_endpoints.py)
        if typ == "azure-native:network:PrivateEndpoint":
            pname = inputs.get("privateEndpointName", name)
            state.update(name=pname, provisioningState="Succeeded")
            return _arm_id(rg, "Microsoft.Network/privateEndpoints", pname), state
        if typ == "azure-native:network:PrivateDnsZoneGroup":
            gname = inputs.get("privateDnsZoneGroupName", name)
            endpoint = inputs.get("privateEndpointName", "endpoint")
            state.update(name=gname, provisioningState="Succeeded")
            return _arm_id(rg, "Microsoft.Network/privateEndpoints", f"{endpoint}/privateDnsZoneGroups/{gname}"), state
        if typ == "azure-native:network:VirtualNetwork":
            vname = inputs.get("virtualNetworkName", name)
            vnet_id = _arm_id(rg, "Microsoft.Network/virtualNetworks", vname)
            # Azure answers each inline subnet with its id and provisioning state
            subnets = [
                {**subnet, "id": f"{vnet_id}/subnets/{subnet.get('name')}", "provisioningState": "Succeeded"}
                for subnet in inputs.get("subnets") or []
            ]
            state.update(name=vname, subnets=subnets, provisioningState="Succeeded")
            return vnet_id, state
        if typ == "azure-native:privatedns:PrivateZone":
            zname = inputs.get("privateZoneName", name)
            state.update(name=zname, provisioningState="Succeeded")
            return _arm_id(rg, "Microsoft.Network/privateDnsZones", zname), state
        if typ == "azure-native:privatedns:VirtualNetworkLink":
            lname = inputs.get("virtualNetworkLinkName", name)
            zname = inputs.get("privateZoneName", "zone")
            state.update(name=lname, provisioningState="Succeeded", virtualNetworkLinkState="Completed")
            return _arm_id(rg, "Microsoft.Network/privateDnsZones", f"{zname}/virtualNetworkLinks/{lname}"), state
        if typ == "azure-native:dbforpostgresql:Server":
            sname = inputs.get("serverName", name)
            # Azure never returns the administrator password.
            state = {k: v for k, v in inputs.items() if k != "administratorLoginPassword"}
            state.update(name=sname, fullyQualifiedDomainName=f"{sname}.postgres.database.azure.com", state="Ready")
            return _arm_id(rg, "Microsoft.DBforPostgreSQL/flexibleServers", sname), state
        if typ == "azure-native:dbforpostgresql:Database":
            dname = inputs.get("databaseName", name)
            state.update(name=dname)
            server = inputs.get("serverName", "server")
            return _arm_id(rg, "Microsoft.DBforPostgreSQL/flexibleServers", f"{server}/databases/{dname}"), state
        if typ == "azure-native:dbforpostgresql:Configuration":
            cname = inputs.get("configurationName", name)
            state.update(name=cname)
            server = inputs.get("serverName", "server")
            return _arm_id(rg, "Microsoft.DBforPostgreSQL/flexibleServers", f"{server}/configurations/{cname}"), state
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
        monitoring = _MONITORING_TYPES.get(typ)
        if monitoring is not None:
            key, provider_type = monitoring
            rname = inputs.get(key, name)
            state.update(name=rname, provisioningState="Succeeded")
            if typ == "azure-native:operationalinsights:Workspace":
                state["customerId"] = _uuid("law-customer", rg, rname)
            if typ == "azure-native:monitor:AzureMonitorWorkspace":
                state["metrics"] = {
                    "internalId": f"mac_{_uuid('amw', rg, rname)}",
                    "prometheusQueryEndpoint": (
                        f"https://{rname}-{_token('amw', rname, length=4)}.{loc}.prometheus.monitor.azure.com"
                    ),
                }
                state["accountId"] = _uuid("amw-account", rg, rname)
            if typ == "azure-native:dashboard:Grafana":
                identity = dict(inputs.get("identity") or {})
                identity.update(principalId=_uuid("grafana-principal", rname), tenantId=TENANT_ID)
                state["identity"] = identity
                props = dict(inputs.get("properties") or {})
                props["endpoint"] = f"https://{rname}-{_token('grafana', rname, length=8)}.{loc[:3]}.grafana.azure.com"
                state["properties"] = props
            return _arm_id(rg, provider_type, rname), state
        if typ == "azure-native:monitor:DataCollectionRuleAssociation":
            aname = inputs.get("associationName", name)
            state.update(name=aname)
            return f"{inputs['resourceUri']}/providers/Microsoft.Insights/dataCollectionRuleAssociations/{aname}", state
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
        """Answer an invoke the way the provider would: refuse bad arguments (check failures,
        which the runtime raises as `invoke of <token> failed: <reason> (<argument>)`), else
        answer with what the SDK's result type reads."""
        token, inputs = args.token, dict(args.args)
        self.invokes.append((token, inputs))
        sig = invoke_signatures().get(token)
        if sig is None:
            raise NotImplementedError(f"mocks: no answer for invoke {token}")
        failures = invoke_failures(sig, inputs)
        if failures:
            return {}, failures
        answer = self._answer(sig, inputs)
        problems = shape_problems(sig.result, answer)
        if problems:
            raise MockAnswerError(f"mocks: the answer to {token} does not fit {sig.function}'s result: {problems}")
        return answer, []

    def _answer(self, sig: InvokeSignature, inputs: dict[str, Any]) -> dict[str, Any]:
        token = sig.token
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
                "azureApiVersion": sig.api_version,
                "id": _arm_id(inputs["resourceGroupName"], "Microsoft.ContainerRegistry/registries", name),
                "name": name,
                "location": self.location,
                "loginServer": f"{name.lower()}.azurecr.io",
                "sku": {"name": "Standard", "tier": "Standard"},
                "type": "Microsoft.ContainerRegistry/registries",
                "creationDate": CREATED_AT,
                "dataEndpointHostNames": [],
                "privateEndpointConnections": [],
                "provisioningState": "Succeeded",
                "status": {"displayStatus": "Succeeded", "message": "", "timestamp": CREATED_AT},
                "systemData": _system_data(),
            }
        if token in (
            "azure-native:containerservice:listManagedClusterUserCredentials",
            "azure-native:containerservice:listManagedClusterAdminCredentials",
        ):
            cluster = inputs["resourceName"]
            admin = token.endswith("AdminCredentials")
            if not admin and inputs.get("format") == "exec":  # Entra ID: kubelogin, no credential inside
                text = exec_kubeconfig_for(cluster, self.location)
            else:
                text = self._sensitive(kubeconfig_for(cluster, self.location, admin=admin))
                self._sensitive(base64.b64encode(text.encode()).decode())
            user = "clusterAdmin" if admin else "clusterUser"
            return {"kubeconfigs": [{"name": user, "value": base64.b64encode(text.encode()).decode()}]}
        if token == "azure-native:containerservice:getManagedCluster":
            name, rg = inputs["resourceName"], inputs["resourceGroupName"]
            state = self.cluster_state(name, rg, self.location)
            state["azureApiVersion"] = sig.api_version
            state.update(self.existing_cluster)
            return state
        if token == "azure-native:storage:listStorageAccountKeys":
            acct = inputs["accountName"]
            keys = []
            for key_name in ("key1", "key2"):
                digest = hashlib.sha512(f"{key_name}/{acct}".encode()).digest()
                value = self._sensitive(base64.b64encode(digest).decode())
                keys.append({"keyName": key_name, "value": value, "permissions": "FULL", "creationTime": CREATED_AT})
            return {"keys": keys}
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
            "type": "Microsoft.ContainerService/ManagedClusters",
            "azurePortalFQDN": f"{name}-{_token(name, length=8)}.portal.hcp.{location}.azmk8s.io",
            "privateFQDN": None,  # a public API server: Azure leaves it empty
            "currentKubernetesVersion": CURRENT_KUBERNETES_VERSION,
            "maxAgentPools": 100,
            "powerState": {"code": "Running"},
            "eTag": _uuid("etag", rg, name),
            "resourceUID": _token("resource-uid", rg, name, length=24, alphabet="0123456789abcdef"),
            "systemData": _system_data(),
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

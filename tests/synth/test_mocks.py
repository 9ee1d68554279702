"""The mocks are as strict as the providers: pulumi_random honours its inputs and refuses what
the provider refuses; an invoke with a missing or unknown argument fails; every answer has
exactly the fields the SDK's result type reads. The rules come from the installed SDKs, so
these tests compare the mocks with the SDKs, never with a list typed here."""

import ast
import base64
import gc
import inspect
import string
import typing
from typing import Any

import pulumi
import pulumi_random as random
import pytest
from pulumi.runtime.mocks import MockCallArgs
from pulumi_azure_native import containerregistry, containerservice, storage

from synth import mocks
from synth.mocks import AzureMocks, MockAnswerError, ProviderError
from synth.project import PROJECT_DIR
from tests.helpers import resolve, run_component

# The provider's documented default special characters (terraform-provider-random:
# internal/random/string.go, and the `special` input's description).
PROVIDER_SPECIALS = "!@#$%&*()-_=+[]{}<>:?"
CLASSES = {
    "upper": set(string.ascii_uppercase),
    "lower": set(string.ascii_lowercase),
    "numeric": set(string.digits),
    "special": set(PROVIDER_SPECIALS),
}


@pytest.fixture(autouse=True)
def _finalize_failed_runs() -> Any:
    """A run the mocks refuse leaves futures holding the error; their finalizer logs it, and
    on CPython 3.11 the traceback's caret anchors call ast.parse. Collected later, inside
    another ast.parse, that re-entry raises SystemError (recursion depth mismatch). Collect
    them here, after each test."""
    yield
    gc.collect()


def _string(cls: Any = random.RandomString, name: str = "s", **inputs: Any) -> str:
    _, built = run_component(lambda: cls(name, **inputs))
    return str(resolve(built.result))


def _classes(value: str) -> set[str]:
    return {c for c, chars in CLASSES.items() if set(value) & chars}


# ------------------------------------------------------------------ pulumi_random


def test_random_inputs_and_defaults_are_read_from_the_sdk() -> None:
    for resource in (random.RandomString, random.RandomPassword):
        spec = mocks.random_specs()[mocks.random_inputs(resource, _args_class(resource)).type]
        init = inspect.signature(resource._internal_init).parameters
        sdk_params = set(init) - {"__self__", "resource_name", "opts", "__props__"}
        assert set(spec.names) == sdk_params
        assert spec.required == {"length"}
        assert spec.default_specials == PROVIDER_SPECIALS
        assert spec.defaults == {
            "upper": True,
            "lower": True,
            "numeric": True,
            "number": True,
            "special": True,
            "minUpper": 0,
            "minLower": 0,
            "minNumeric": 0,
            "minSpecial": 0,
        }


def _args_class(resource: type) -> type:
    return getattr(random, f"{resource.__name__}Args")


def test_random_tokens_are_the_sdks() -> None:
    assert set(mocks.random_specs()) == {
        "random:index/randomString:RandomString",
        "random:index/randomPassword:RandomPassword",
        "random:index/randomBytes:RandomBytes",
    }
    assert mocks.random_specs()["random:index/randomBytes:RandomBytes"].required == {"length"}


def test_special_true_yields_a_special_character_and_false_none() -> None:
    # the Key Vault / storage suffix flipped to special=True is no longer a valid name
    assert _classes(_string(length=6, special=True, upper=False)) == {"lower", "numeric", "special"}
    assert _classes(_string(length=6, special=False, upper=False)) == {"lower", "numeric"}
    assert set(_string(length=64, special=False)) <= CLASSES["upper"] | CLASSES["lower"] | CLASSES["numeric"]


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # `number`, the deprecated name of numeric
def test_every_class_that_is_on_appears_and_none_that_is_off() -> None:
    for name in ("a", "b", "keyvault-suffix", "logs-suffix"):
        assert _classes(_string(name=name, length=4)) == {"upper", "lower", "numeric", "special"}
        assert _classes(_string(name=name, length=6, upper=False, special=False)) == {"lower", "numeric"}
        assert _classes(_string(name=name, length=6, lower=False, numeric=False)) == {"upper", "special"}
        assert _classes(_string(name=name, length=5, number=False, special=False)) == {"upper", "lower"}
    assert _classes(_string(random.RandomPassword, length=24, special=False)) == {"upper", "lower", "numeric"}


@pytest.mark.parametrize("length", [1, 2, 6, 24, 33, 64, 130])
def test_length_is_honoured(length: int) -> None:
    assert len(_string(length=length)) == length
    assert len(_string(random.RandomPassword, length=length, special=False)) == length


def test_minimums_are_honoured() -> None:
    value = _string(length=12, min_upper=3, min_lower=2, min_numeric=4, min_special=3)
    counts = {c: sum(ch in chars for ch in value) for c, chars in CLASSES.items()}
    assert counts["upper"] >= 3
    assert counts["lower"] >= 2
    assert counts["numeric"] >= 4
    assert counts["special"] >= 3
    assert sum(counts.values()) == 12
    # all of it spoken for by minimums
    exact = _string(random.RandomPassword, length=4, min_upper=1, min_lower=1, min_numeric=1, min_special=1)
    assert _classes(exact) == {"upper", "lower", "numeric", "special"}


def test_a_minimum_of_a_class_that_is_off_is_still_drawn_as_the_provider_does() -> None:
    # CreateString draws each minimum from its class's set whatever the class's flag says
    value = _string(length=6, upper=False, min_upper=2, special=False)
    assert sum(ch in CLASSES["upper"] for ch in value) == 2


def test_override_special_replaces_the_special_set() -> None:
    value = _string(length=40, override_special="_%@", min_special=5)
    assert set(value) & CLASSES["special"] <= set("_%@")
    assert sum(ch in "_%@" for ch in value) >= 5
    # an empty override keeps the default set (the provider tests for "")
    assert set(_string(length=40, override_special="", upper=False, lower=False, numeric=False)) <= set(
        PROVIDER_SPECIALS
    )


def test_results_are_deterministic_per_resource_name() -> None:
    assert _string(name="one", length=16) == _string(name="one", length=16)
    assert _string(name="one", length=16) != _string(name="two", length=16)
    assert _string(name="one", length=16) != _string(random.RandomPassword, name="one", length=16)


@pytest.mark.parametrize(
    ("inputs", "message"),
    [
        (
            {"length": 3, "min_upper": 2, "min_lower": 2},
            r"length \(3\) cannot be less than minUpper \+ minLower \+ minNumeric \+ minSpecial \(4\)",
        ),
        (
            {"length": 8, "upper": False, "lower": False, "numeric": False, "special": False},
            "upper, lower, numeric and special are all false",
        ),
        ({"length": 0}, "length must be at least 1, got 0"),
        ({"length": 8, "min_numeric": -1}, "minNumeric must not be negative"),
        (
            {"length": 8, "number": True, "numeric": False},
            "number and numeric are both configured with different values",
        ),
    ],
)
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_impossible_inputs_are_refused_like_the_provider(inputs: dict[str, Any], message: str) -> None:
    for cls in (random.RandomString, random.RandomPassword):
        with pytest.raises(ProviderError, match=message):
            run_component(lambda cls=cls: cls("bad", **inputs))


def test_password_results_are_sensitive_and_strings_are_not() -> None:
    result, (password, plain) = run_component(
        lambda: (random.RandomPassword("p", length=24, special=False), random.RandomString("s", length=6))
    )
    assert resolve(password.result) in result.mocks.sensitive_values
    assert resolve(plain.result) not in result.mocks.sensitive_values


@pytest.mark.parametrize("length", [1, 16, 32, 33, 64, 100])
def test_random_bytes_honour_length_and_agree_in_base64_and_hex(length: int) -> None:
    result, built = run_component(lambda: random.RandomBytes("b", length=length))
    raw = base64.b64decode(resolve(built.base64))
    assert len(raw) == length
    assert bytes.fromhex(resolve(built.hex)) == raw
    assert resolve(built.base64) in result.mocks.sensitive_values


def test_random_bytes_of_length_zero_are_refused() -> None:
    with pytest.raises(ProviderError, match="length must be at least 1, got 0"):
        run_component(lambda: random.RandomBytes("b", length=0))


# ------------------------------------------------------------------ invoke arguments


def _call(token: str, **args: Any) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
    return AzureMocks().call(MockCallArgs(token=token, args=args, provider=""))


def test_invoke_signatures_are_the_sdk_functions() -> None:
    for function in mocks.INVOKE_FUNCTIONS:
        sig = mocks.invoke_signature(function)
        params = set(inspect.signature(function).parameters) - {"opts"}
        assert set(sig.arguments.values()) == params, sig.token
        assert sig.required <= set(sig.arguments), sig.token
        # the token is the one the SDK's own source invokes with
        assert repr(sig.token) in inspect.getsource(function)
        assert mocks.output_properties(sig.result)  # an @pulumi.output_type class
    keys = mocks.invoke_signatures()["azure-native:storage:listStorageAccountKeys"]
    assert dict(keys.arguments) == {
        "accountName": "account_name",
        "expand": "expand",
        "resourceGroupName": "resource_group_name",
    }
    assert keys.required == {"accountName", "resourceGroupName"}
    creds = mocks.invoke_signatures()["azure-native:containerservice:listManagedClusterUserCredentials"]
    assert creds.required == {"resourceGroupName", "resourceName"}


def test_every_invoke_the_program_writes_is_one_the_mocks_check() -> None:
    """Each `<azure-native module>.<function>_output(...)` call in the product code."""
    answered = set(mocks.INVOKE_FUNCTIONS)
    sources = [PROJECT_DIR / "__main__.py", *sorted((PROJECT_DIR / "components").glob("*.py"))]
    called = set()
    for path in sources:
        module_name = "__main__" if path.name == "__main__.py" else f"components.{path.stem}"
        namespace: dict[str, Any] = {}
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("pulumi_azure_native"):
                for alias in node.names:
                    namespace[alias.asname or alias.name] = getattr(
                        __import__(node.module, fromlist=[alias.name]), alias.name
                    )
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id in namespace
                and (node.func.attr.startswith(("get_", "list_")))
            ):
                called.add((module_name, getattr(namespace[node.func.value.id], node.func.attr)))
    assert called, "no invoke found: the scan is broken"
    assert {fn for _, fn in called} <= answered, sorted(f"{m}: {fn.__name__}" for m, fn in called if fn not in answered)


def test_a_missing_required_argument_fails_the_invoke() -> None:
    answer, failures = _call("azure-native:storage:listStorageAccountKeys", accountName="logs")
    assert answer == {}
    assert failures is not None
    assert [arg for arg, _ in failures] == ["resourceGroupName"]
    assert (
        "missing required argument 'resourceGroupName' of azure-native:storage:listStorageAccountKeys" in failures[0][1]
    )
    assert "list_storage_account_keys_output(resource_group_name=...)" in failures[0][1]


def test_dropping_resource_group_name_from_an_sdk_call_fails_the_run() -> None:
    with pytest.raises(
        Exception,
        match=r"invoke of azure-native:storage:listStorageAccountKeys failed: "
        r"missing required argument 'resourceGroupName'",
    ):
        run_component(lambda: storage.list_storage_account_keys_output(account_name="airflowlogsabc123"))
    with pytest.raises(Exception, match="missing required argument 'resourceName'"):
        run_component(lambda: containerservice.get_managed_cluster_output(resource_group_name="rg"))
    with pytest.raises(Exception, match="missing required argument 'registryName'"):
        run_component(lambda: containerregistry.get_registry_output(resource_group_name="rg"))


def test_an_unknown_argument_fails_the_invoke() -> None:
    _, failures = _call(
        "azure-native:containerservice:listManagedClusterUserCredentials",
        resourceGroupName="rg",
        resourceName="aks",
        fromat="exec",  # misspelt
    )
    assert failures == [
        (
            "fromat",
            "unknown argument 'fromat' of azure-native:containerservice:listManagedClusterUserCredentials "
            "(it takes: format, resourceGroupName, resourceName, serverFqdn)",
        )
    ]
    with pytest.raises(
        Exception, match=r"unknown argument 'bogus' of azure-native:authorization:getClientConfig \(it takes: none\)"
    ):
        run_component(lambda: pulumi.runtime.invoke_output("azure-native:authorization:getClientConfig", {"bogus": 1}))


def test_an_argument_of_the_wrong_type_fails_the_invoke() -> None:
    _, failures = _call("azure-native:containerregistry:getRegistry", resourceGroupName="rg", registryName=7)
    assert failures == [
        ("registryName", "argument 'registryName' of azure-native:containerregistry:getRegistry must be str, got 7")
    ]


def test_an_unknown_function_is_an_error() -> None:
    with pytest.raises(NotImplementedError, match="no answer for invoke azure-native:storage:listStorageAccountSas"):
        _call("azure-native:storage:listStorageAccountSas", accountName="a", resourceGroupName="rg")


# ------------------------------------------------------------------ answer shapes


def _valid_args(sig: mocks.InvokeSignature) -> dict[str, Any]:
    return {wire: f"sample-{wire.lower()}" for wire in sorted(sig.required)}


@pytest.mark.parametrize("token", sorted(mocks.invoke_signatures()))
def test_every_answer_is_the_sdk_result_type(token: str) -> None:
    sig = mocks.invoke_signatures()[token]
    answer, failures = _call(token, **_valid_args(sig))
    assert failures == []
    props = mocks.output_properties(sig.result)
    required = {k for k, p in props.items() if p.required}
    assert set(answer) <= set(props), set(answer) - set(props)
    assert required <= set(answer), required - set(answer)
    # required fields all the way down, in the mocks' own answers
    assert mocks.shape_problems(sig.result, answer, required_depth=99) == []


@pytest.mark.parametrize(
    ("token", "nested"),
    [
        ("azure-native:authorization:getClientConfig", None),
        ("azure-native:storage:listStorageAccountKeys", "keys"),
        ("azure-native:containerservice:listManagedClusterUserCredentials", "kubeconfigs"),
        ("azure-native:containerservice:listManagedClusterAdminCredentials", "kubeconfigs"),
    ],
)
def test_small_answers_have_exactly_the_result_types_properties(token: str, nested: str | None) -> None:
    sig = mocks.invoke_signatures()[token]
    answer, _ = _call(token, **_valid_args(sig))
    props = mocks.output_properties(sig.result)
    assert set(answer) == set(props)
    if nested:
        # e.g. ListStorageAccountKeysResult.keys: Sequence[StorageAccountKeyResponse]
        item_type = _item_type(props[nested].hint)
        for item in answer[nested]:
            assert set(item) == set(mocks.output_properties(item_type))


def _item_type(hint: Any) -> type:
    (item,) = typing.get_args(hint)
    assert isinstance(item, type)
    return item


def test_storage_keys_are_the_sdks_key_fields() -> None:
    answer, _ = _call("azure-native:storage:listStorageAccountKeys", accountName="a", resourceGroupName="rg")
    fields = set(mocks.output_properties(storage.outputs.StorageAccountKeyResponse))
    assert fields == {"creationTime", "keyName", "permissions", "value"}  # the SDK's, as of 3.29
    assert {k for key in answer["keys"] for k in key} == fields
    assert {key["keyName"] for key in answer["keys"]} == {"key1", "key2"}


def test_a_renamed_field_in_an_answer_is_caught() -> None:
    class Renamed(AzureMocks):
        def _answer(self, sig: mocks.InvokeSignature, inputs: dict[str, Any]) -> dict[str, Any]:
            answer = super()._answer(sig, inputs)
            if "loginServer" in answer:
                answer["loginServerUrl"] = answer.pop("loginServer")
            return answer

    with pytest.raises(
        MockAnswerError, match=r"GetRegistryResult\.loginServerUrl: GetRegistryResult has no such property"
    ):
        Renamed().call(
            MockCallArgs(
                token="azure-native:containerregistry:getRegistry",
                args={"registryName": "acr", "resourceGroupName": "rg"},
                provider="",
            )
        )


def test_shape_problems_look_inside_lists_and_maps() -> None:
    result = storage.ListStorageAccountKeysResult
    assert mocks.shape_problems(result, {"keys": [{"keyName": "key1", "val": "x"}]}) == [
        "ListStorageAccountKeysResult.keys[0].val: StorageAccountKeyResponse has no such property"
    ]
    assert mocks.shape_problems(result, {}) == [
        "ListStorageAccountKeysResult.keys: required by ListStorageAccountKeysResult, missing"
    ]
    assert mocks.shape_problems(result, {"keys": {"keyName": "key1"}}) == [
        "ListStorageAccountKeysResult.keys: expected a list, got dict"
    ]
    cluster = containerservice.GetManagedClusterResult
    problems = mocks.shape_problems(
        cluster, {"identityProfile": {"kubeletidentity": {"objectID": "x"}}}, required_depth=0
    )
    assert problems == [
        "GetManagedClusterResult.identityProfile['kubeletidentity'].objectID: "
        "UserAssignedIdentityManagedClusterResponse has no such property"
    ]


def test_an_existing_cluster_override_with_a_misspelt_field_is_caught() -> None:
    state = {"oidcIssuerProfile": {"enabled": True, "issuerUrl": "https://x/"}}  # issuerURL
    with pytest.raises(
        MockAnswerError,
        match=r"oidcIssuerProfile\.issuerUrl: ManagedClusterOIDCIssuerProfileResponse has no such property",
    ):
        AzureMocks(existing_cluster=state).call(
            MockCallArgs(
                token="azure-native:containerservice:getManagedCluster",
                args={"resourceGroupName": "rg", "resourceName": "aks"},
                provider="",
            )
        )


def test_the_whole_program_calls_only_checked_invokes(dev_run: Any, prod_run: Any) -> None:
    for run in (dev_run, prod_run):
        tokens = {t for t, _ in run.mocks.invokes}
        assert tokens
        assert tokens <= set(mocks.invoke_signatures())
        for token, args in run.mocks.invokes:
            assert mocks.invoke_failures(mocks.invoke_signatures()[token], args) == [], token


def test_an_ec_keys_sensitive_lines_are_the_ones_that_carry_its_private_scalar() -> None:
    """An EC key's PEM also carries its public point, which its certificate carries too: only
    the lines encoding the private scalar are secret (else a public certificate would count as
    a leak), and every such line is (else a leaked scalar would go unseen)."""
    import base64

    from synth.mocks import _ec_private_scalar, _private_lines, tls_private_key, tls_self_signed_cert

    state = tls_private_key("ui-key", {"algorithm": "ECDSA", "ecdsaCurve": "P256"})
    scalar = _ec_private_scalar(state)
    assert scalar is not None
    assert len(scalar) == 32
    cert = tls_self_signed_cert(
        {
            "privateKeyPem": state["privateKeyPem"],
            "subject": {"commonName": "airflow.example.test"},
            "dnsNames": ["airflow.example.test"],
            "validityPeriodHours": 24,
        }
    )["certPem"]
    for form in ("privateKeyPem", "privateKeyPemPkcs8", "privateKeyOpenssh"):
        pem = state[form]
        every = _private_lines(pem, None)
        chosen = _private_lines(pem, scalar)
        assert chosen, form
        assert set(chosen) <= set(every)
        body = "".join(every)
        offset = base64.b64decode(body).find(scalar)
        # the chosen lines are exactly the ones whose characters encode the scalar's bytes
        covering = body[offset * 4 // 3 : -(-(offset + 32) * 4 // 3)]
        assert covering in "".join(chosen), form
        assert not [line for line in chosen if line in cert], form
    # not an EC key: every line stays sensitive
    assert _ec_private_scalar({"algorithm": "ED25519"}) is None

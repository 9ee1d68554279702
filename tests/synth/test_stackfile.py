"""Hostile stack files, project files, stack names and --stack-file paths: never a traceback,
never a silently changed value. Each ends in exit 2 and one message naming the key (or the file).

Accepted values are what the Pulumi CLI passes the program (gopkg.in/yaml.v3 typing, see
synth/stackfile.py); anything the CLI would pass as something else than the file says is refused.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
import sys
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from synth import __main__ as synth_main
from synth import project, runner, stackfile
from synth.__main__ import main
from synth.project import PROJECT_DIR, StackFileError, read_stack_file, stack_config_from_file

BASE = """\
# the minimal valid stack: the three required keys, everything else Pulumi.yaml's default
config:
  azure-native:location: eastus
  airflow-aks:acrName: airflowdevacr
  airflow-aks:acrResourceGroup: airflow-dev-shared-rg
"""


def stack(*lines: str) -> str:
    """BASE with more lines under config: (each indented two spaces)."""
    return BASE + "".join(f"  {line}\n" for line in lines)


KEY = "airflow-aks:"

# (id, file content, words the message must contain: the key or the file, and the rule)
HOSTILE: list[tuple[str, str | bytes, tuple[str, ...]]] = [
    # ---- the document's shape
    ("document-is-a-list", "- config\n- airflow-aks:acrName\n", ("Pulumi.hostile.yaml", "a list", "mapping")),
    ("document-is-a-scalar", "just some text\n", ("Pulumi.hostile.yaml", "single value")),
    ("document-is-a-number", "42\n", ("Pulumi.hostile.yaml", "single value")),
    ("config-is-a-list", "config:\n  - azure-native:location\n", ("config", "a list", "mapping")),
    ("config-is-a-scalar", "config: eastus\n", ("config", "single value")),
    ("two-documents", BASE + "---\n" + BASE, ("Pulumi.hostile.yaml", "more than one YAML document")),
    ("unknown-top-level-key", BASE.replace("config:", "confg:"), ("confg", "did you mean config?")),
    ("esc-environment", BASE + "environment:\n  - prod-env\n", ("environment", "ESC")),
    ("secretsprovider-is-a-mapping", BASE + "secretsprovider:\n  a: b\n", ("secretsprovider", "single text")),
    ("top-level-integer-key", BASE + "42: x\n", ("42", "not a name")),
    ("config-given-twice", BASE + BASE.split("\n", 1)[1], ("config", "given twice", "lines 2 and 6")),
    # ---- not YAML
    ("unclosed-flow", "config: [\n", ("Pulumi.hostile.yaml", "not valid YAML")),
    ("mapping-in-plain-scalar", stack("airflow-aks:namespace: a: b"), ("Pulumi.hostile.yaml line 6", "not valid YAML")),
    ("tab-indentation", BASE + "\tairflow-aks:namespace: x\n", ("Pulumi.hostile.yaml line 6", "not valid YAML")),
    ("unterminated-quote", stack('airflow-aks:namespace: "airflow'), ("Pulumi.hostile.yaml", "not valid YAML")),
    ("unknown-escape", stack('airflow-aks:namespace: "\\q"'), ("Pulumi.hostile.yaml line 6", "not valid YAML")),
    ("nul-byte", stack("airflow-aks:namespace: air\x00flow"), ("Pulumi.hostile.yaml line 6", "NUL byte")),
    ("control-character", stack("airflow-aks:namespace: air\x07flow"), ("Pulumi.hostile.yaml line 6", "U+0007")),
    ("binary-file", bytes(range(256)) * 4, ("Pulumi.hostile.yaml", "not UTF-8")),
    ("utf16-file", BASE.encode("utf-16"), ("Pulumi.hostile.yaml", "not UTF-8")),
    ("lone-surrogate-escape", stack('airflow-aks:namespace: "\\ud800"'), (f"{KEY}namespace", "surrogate")),
    ("deep-nesting", stack("kubernetes:deep: " + "[" * 200 + "]" * 200), ("Pulumi.hostile.yaml", "levels deep")),
    (
        "billion-laughs",
        "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
        "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nconfig: {}\n",
        ("Pulumi.hostile.yaml line 2", "alias"),
    ),
    ("alias", stack("airflow-aks:namespace: &ns airflow", "airflow-aks:serviceAccountName: *ns"), ("alias",)),
    ("merge-key", stack("kubernetes:obj:", "  <<: {a: 1}"), ("kubernetes:obj", "merge key")),
    # ---- YAML tags
    ("binary-tag", stack("airflow-aks:clusterName: !!binary aGVsbG8="), (f"{KEY}clusterName", "!!binary")),
    ("set-tag", stack("airflow-aks:airflowEnv: !!set {A=b}"), (f"{KEY}airflowEnv", "!!set")),
    ("timestamp-tag", stack("airflow-aks:kubernetesVersion: !!timestamp 2024-01-02"), ("!!timestamp",)),
    ("custom-tag", stack("airflow-aks:namespace: !Ref other"), (f"{KEY}namespace", "custom YAML tag")),
    ("python-tag", stack("airflow-aks:namespace: !!python/name:os.system x"), (f"{KEY}namespace", "tag")),
    ("omap-tag", stack("kubernetes:obj: !!omap [a: 1]"), ("kubernetes:obj", "!!omap")),
    ("int-tag", stack("airflow-aks:nodeCount: !!int 3"), (f"{KEY}nodeCount", "!!int")),
    # ---- values YAML would change: null, booleans, numbers, dates
    ("null-tilde", stack("airflow-aks:namespace: ~"), (f"{KEY}namespace", "no value")),
    ("null-empty", stack("airflow-aks:namespace:"), (f"{KEY}namespace", "no value")),
    ("null-word", stack("airflow-aks:resourceGroupName: null"), (f"{KEY}resourceGroupName", "no value")),
    ("null-capitalised", stack("airflow-aks:clusterName: Null"), (f"{KEY}clusterName", "no value")),
    ("bool-title-case", stack("airflow-aks:keyVaultPurgeProtection: True"), (f"{KEY}keyVaultPurgeProtection",)),
    ("bool-upper-case", stack("airflow-aks:highAvailability: FALSE"), (f"{KEY}highAvailability", "lowercase")),
    ("bool-off", stack("airflow-aks:keyVaultPurgeProtection: off"), (f"{KEY}keyVaultPurgeProtection", "boolean")),
    ("bool-yes", stack("airflow-aks:installSecretsOperator: yes"), (f"{KEY}installSecretsOperator", "boolean")),
    ("bool-quoted-title-case", stack('airflow-aks:pgbouncerEnabled: "True"'), (f"{KEY}pgbouncerEnabled", "boolean")),
    ("no-as-username", stack("airflow-aks:adminUsername: no"), (f"{KEY}adminUsername",)),
    ("float-drops-zero", stack("airflow-aks:airflowImageTag: 2.10"), (f"{KEY}airflowImageTag", "2.10 becomes 2.1")),
    ("k8s-version-1.30", stack("airflow-aks:kubernetesVersion: 1.30"), (f"{KEY}kubernetesVersion", "quote")),
    ("octal-leading-zero", stack("airflow-aks:nodeCount: 010"), (f"{KEY}nodeCount", "octal")),
    ("octal-0o", stack("airflow-aks:nodeCount: 0o10"), (f"{KEY}nodeCount", "plain decimal")),
    ("hexadecimal", stack("airflow-aks:nodeCount: 0x10"), (f"{KEY}nodeCount", "plain decimal")),
    ("binary-number", stack("airflow-aks:nodeCount: 0b11"), (f"{KEY}nodeCount", "plain decimal")),
    ("underscore-number", stack("airflow-aks:logsRetentionDays: 1_0"), (f"{KEY}logsRetentionDays", "decimal")),
    ("plus-sign", stack("airflow-aks:nodeCount: +5"), (f"{KEY}nodeCount", "plain decimal")),
    ("minus-zero", stack("airflow-aks:dagsGitDepth: -0"), (f"{KEY}dagsGitDepth", "plain decimal")),
    ("whole-float", stack("airflow-aks:nodeCount: 5.0"), (f"{KEY}nodeCount", "1.0 becomes 1")),
    ("exponent", stack("airflow-aks:nodeCount: 1e1"), (f"{KEY}nodeCount", "1e3 becomes 1000")),
    ("infinity", stack("airflow-aks:nodeCount: .inf"), (f"{KEY}nodeCount", ".inf")),
    ("not-a-number", stack("airflow-aks:nodeCount: .nan"), (f"{KEY}nodeCount", ".nan")),
    ("beyond-uint64", stack("airflow-aks:nodeCount: 99999999999999999999"), (f"{KEY}nodeCount", "quote")),
    ("date", stack("airflow-aks:kubernetesVersion: 2024-01-02"), (f"{KEY}kubernetesVersion", "date")),
    ("datetime", stack("airflow-aks:timezone: 2024-01-02T10:00:00Z"), (f"{KEY}timezone", "date or time")),
    ("sexagesimal-timezone", stack("airflow-aks:timezone: 1:00"), (f"{KEY}timezone", "IANA")),
    ("quoted-not-an-integer", stack('airflow-aks:nodeCount: "three"'), (f"{KEY}nodeCount", "integer")),
    ("list-for-an-integer", stack("airflow-aks:nodeCount: [3]"), (f"{KEY}nodeCount", "integer")),
    ("mapping-for-a-string", stack("airflow-aks:namespace: {a: b}"), (f"{KEY}namespace", "string")),
    ("zones-as-numbers", stack("airflow-aks:availabilityZones: [1, 2, 3]"), (f"{KEY}availabilityZones", "quote")),
    ("zones-as-a-string", stack('airflow-aks:availabilityZones: "1"'), (f"{KEY}availabilityZones", "array")),
    ("env-with-a-null", stack("airflow-aks:airflowEnv: [ENVIRONMENT=dev, ~]"), (f"{KEY}airflowEnv[1]", "no value")),
    ("env-as-a-mapping", stack("airflow-aks:airflowEnv: {A: b}"), (f"{KEY}airflowEnv", "array")),
    ("env-nested-list", stack("airflow-aks:airflowEnv: [[A=b]]"), (f"{KEY}airflowEnv", "array")),
    # ---- keys
    ("duplicate-key", stack("airflow-aks:nodeCount: 3", "airflow-aks:nodeCount: 4"), (f"{KEY}nodeCount", "6 and 7")),
    ("duplicate-via-namespace", stack("nodeCount: 3", "airflow-aks:nodeCount: 4"), (f"{KEY}nodeCount", "6 and 7")),
    ("duplicate-via-legacy-form", stack("airflow-aks:config:nodeCount: 3", "nodeCount: 4"), (f"{KEY}nodeCount",)),
    ("duplicate-nested-key", stack("kubernetes:obj: {a: 1, a: 2}"), ("kubernetes:obj.a", "given twice")),
    ("wrong-namespace", stack("airflow_aks:namespace: airflow"), ("airflow_aks", "did you mean airflow-aks:namespace")),
    ("namespace-without-dash", stack("airflowaks:nodeCount: 3"), ("did you mean airflow-aks:nodeCount",)),
    ("provider-typo", stack("azure:location: westus"), ("azure", "did you mean azure-native:location")),
    ("foreign-provider", stack("aws:region: us-east-1"), ("aws:region", "unknown namespace")),
    ("too-many-colons", stack("airflow-aks:a:b:c: x"), ("airflow-aks:a:b:c", "<namespace>:<name>")),
    ("empty-name", stack('"airflow-aks:": x'), ("airflow-aks:", "no name")),
    ("empty-namespace", stack('":nodeCount": 3'), (":nodeCount", "unknown namespace")),
    ("integer-key", stack("42: x"), ("42", "not a name")),
    ("boolean-key", stack("true: x"), ("true", "not a name")),
    ("null-key", stack("~: x"), ("~", "not a name")),
    ("complex-key", stack("? [a, b]", ": x"), ("config", "list or mapping")),
    ("control-character-key", stack('"airflow-aks:\\x01": x'), ("airflow-aks:", "unknown key")),
    (
        "typo-key",
        stack("airflow-aks:exectuor: CeleryExecutor"),
        (f"{KEY}exectuor", "did you mean airflow-aks:executor"),
    ),
    # ---- secrets
    ("secure-not-a-string", stack("airflow-aks:adminEmail:", "  secure: 123"), (f"{KEY}adminEmail", "ciphertext")),
    ("secure-null", stack("airflow-aks:adminEmail:", "  secure: ~"), (f"{KEY}adminEmail", "ciphertext")),
    ("secure-for-a-plain-key", stack("airflow-aks:clusterName:", "  secure: v1:CIPHERzzz"), (f"{KEY}clusterName",)),
]


@pytest.fixture
def write_stack(tmp_path: Path):
    def write(content: str | bytes, name: str = "Pulumi.hostile.yaml") -> Path:
        path = tmp_path / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
        return path

    return write


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    """main() in-process; any exception escaping it fails the test (that would be a traceback)."""
    code = main([*argv, "--no-write"])
    captured = capsys.readouterr()
    return code, captured.err + captured.out


def test_there_are_more_than_sixty_hostile_files() -> None:
    assert len(HOSTILE) >= 60
    assert len({case[0] for case in HOSTILE}) == len(HOSTILE)


@pytest.mark.parametrize(("content", "words"), [c[1:] for c in HOSTILE], ids=[c[0] for c in HOSTILE])
def test_a_hostile_stack_file_is_refused_naming_the_key(
    content: str | bytes, words: tuple[str, ...], write_stack, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_stack(content)
    with mock.patch.object(runner, "run_stack", side_effect=AssertionError("the program must not run")):
        code, err = run(capsys, "hostile", "--stack-file", str(path))
    assert code == 2, err
    assert err.startswith("error: "), err
    for word in words:
        assert word in err, f"{word!r} not in:\n{err}"
    assert "Traceback" not in err
    assert not re.search(r"[\x00-\x09\x0b-\x1f\x7f]", err), "a control character from the file was printed"


# ---------------------------------------------------------------- read as the CLI reads
# (line under config:, key, the string the program gets): what the Pulumi CLI passes as written.
ACCEPTED = [
    ("airflow-aks:adminUsername: yes", f"{KEY}adminUsername", "yes"),  # YAML 1.2: a string, not true
    ("airflow-aks:adminUsername: 'no'", f"{KEY}adminUsername", "no"),
    ("airflow-aks:timezone: Europe/Oslo", f"{KEY}timezone", "Europe/Oslo"),
    ("airflow-aks:kubernetesVersion: 1.33", f"{KEY}kubernetesVersion", "1.33"),  # float 1.33 -> "1.33"
    ("airflow-aks:airflowImageTag: 2.9", f"{KEY}airflowImageTag", "2.9"),
    ('airflow-aks:airflowImageTag: "2.10"', f"{KEY}airflowImageTag", "2.10"),
    ("airflow-aks:nodeCount: !!str 010", f"{KEY}nodeCount", "010"),  # explicitly a string
    ("airflow-aks:nodeCount: 5", f"{KEY}nodeCount", "5"),
    ("airflow-aks:dagsGitDepth: 0", f"{KEY}dagsGitDepth", "0"),
    ("airflow-aks:keyVaultPurgeProtection: false", f"{KEY}keyVaultPurgeProtection", "false"),
    ('airflow-aks:keyVaultPurgeProtection: "true"', f"{KEY}keyVaultPurgeProtection", "true"),
    ("airflow-aks:dagsGitRev: 1:00", f"{KEY}dagsGitRev", "1:00"),  # no base 60 in YAML 1.2
    ("airflow-aks:resourceGroupName: ''", f"{KEY}resourceGroupName", ""),
    ("nodeCount: 4", f"{KEY}nodeCount", "4"),  # the project's namespace is implied
    ("airflow-aks:config:nodeCount: 4", f"{KEY}nodeCount", "4"),  # the CLI's old form
    ("airflow-aks:availabilityZones: ['1', '3']", f"{KEY}availabilityZones", '["1","3"]'),
    ("airflow-aks:airflowEnv: [A=<b>&c]", f"{KEY}airflowEnv", '["A=\\u003cb\\u003e\\u0026c"]'),  # Go's JSON
    ("kubernetes:obj: {b: 1, a: [true, 2.5, x]}", "kubernetes:obj", '{"a":[true,2.5,"x"],"b":1}'),
    ("pulumi:tags: {team: data}", "pulumi:tags", '{"team":"data"}'),
    ("airflow-aks:namespace: 'ünïcode'", f"{KEY}namespace", "ünïcode"),
    ("airflow-aks:adminEmail: |\n    a@b.example", f"{KEY}adminEmail", "a@b.example\n"),  # a block keeps its newline
]


@pytest.mark.parametrize(("line", "key", "expected"), ACCEPTED, ids=[a[0] for a in ACCEPTED])
def test_values_reach_the_program_as_the_cli_passes_them(line: str, key: str, expected: str, write_stack) -> None:
    config = stack_config_from_file(write_stack(stack(line)), PROJECT_DIR, "hostile")
    assert config.values[key] == expected


def test_an_empty_or_comment_only_stack_file_is_no_config(write_stack) -> None:
    for content in ("", "# nothing\n", "~\n", "config:\n", b"\xef\xbb\xbf" + BASE.encode()):
        config = stack_config_from_file(write_stack(content), PROJECT_DIR, "x")
        assert config.values[f"{KEY}nodeCount"] == "3"  # Pulumi.yaml's default


def test_a_bom_is_dropped_as_the_cli_does(write_stack) -> None:
    config = stack_config_from_file(write_stack(b"\xef\xbb\xbf" + BASE.encode()), PROJECT_DIR, "x")
    assert config.values["azure-native:location"] == "eastus"


def test_secure_values_are_placeholders_and_never_echoed(write_stack, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_stack(
        stack(
            "airflow-aks:clusterName:",
            "  secure: v1:CIPHERTEXTxyz123",
            "kubernetes:nested: {a: {secure: v1:OTHERSECRET987}}",
            "airflow-aks:adminPassword: hunter2hunter2",
            "airflow-aks:nodeCount: 010",
        )
    )
    read = read_stack_file(path, PROJECT_DIR, "x")
    assert read.config.values[f"{KEY}clusterName"] == f"[secret:{KEY}clusterName]"
    assert read.config.values["kubernetes:nested"] == "[secret:kubernetes:nested]"
    assert set(read.config.secret_keys) == {f"{KEY}clusterName", "kubernetes:nested"}
    code, err = run(capsys, "x", "--stack-file", str(path))
    assert code == 2
    assert f"{KEY}nodeCount" in err
    assert f"{KEY}adminPassword" in err
    for secret in ("CIPHERTEXTxyz123", "OTHERSECRET987", "hunter2hunter2"):
        assert secret not in err


def test_no_part_of_a_long_secret_is_echoed(write_stack, capsys: pytest.CaptureFixture[str]) -> None:
    """A message that shortens a value still shows nothing of a credential-named key's value."""
    secret = "Zq9" * 400
    path = write_stack(
        stack(f"airflow-aks:clientSecret: {secret}", f"airflow-aks:dagsGitRepo: https://u:{secret}@x.io/r.git")
    )
    code, err = run(capsys, "x", "--stack-file", str(path))
    assert code == 2
    assert f"{KEY}clientSecret = [redacted]" in err
    assert "Zq9Zq9" not in err


def test_a_credential_in_a_url_is_never_echoed(write_stack, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_stack(stack("airflow-aks:dagsGitRepo: https://someone:ghp_T0KEN42abc@github.com/org/repo.git"))
    code, err = run(capsys, "x", "--stack-file", str(path))
    assert code == 2
    assert f"{KEY}dagsGitRepo" in err
    assert "ghp_T0KEN42abc" not in err


def test_all_problems_are_reported_at_once(write_stack, capsys: pytest.CaptureFixture[str]) -> None:
    """File problems (with lines) and the settings' problems for other keys, in one message."""
    path = write_stack(
        stack(
            "airflow-aks:nodeCount: 010",
            "airflow-aks:namespace: ~",
            "airflow-aks:executor: SequentialExecutor",
            "airflow_aks:timezone: UTC",
        )
    )
    code, err = run(capsys, "x", "--stack-file", str(path))
    assert code == 2
    assert err.startswith("error: invalid stack configuration (4 problems):")
    assert f"{KEY}nodeCount ({path} line 6)" in err
    assert f"{KEY}namespace ({path} line 7)" in err
    assert f'{KEY}executor = "SequentialExecutor"' in err  # the settings' own message
    assert "airflow_aks:timezone" in err
    assert "\\u0000" not in err  # the refused keys' stand-in never shows


# ------------------------------------------------------------------ --stack-file paths
def test_stack_file_paths_that_are_not_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "dir").mkdir()
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    (tmp_path / "loop").symlink_to(tmp_path / "loop")
    big = tmp_path / "big.yaml"
    big.write_text(BASE + "#" * (1 << 20))
    cases = {
        tmp_path / "dir": "is a directory",
        tmp_path / "missing.yaml": "no such file",
        fifo: "not a regular file",
        Path("/dev/null"): "not a regular file",
        tmp_path / "loop": "cannot be read",
        big: "at most 1048576 bytes",
    }
    for path, words in cases.items():
        code, err = run(capsys, "x", "--stack-file", str(path))
        assert code == 2, (path, err)
        assert err.startswith(f"error: invalid stack file {path}: "), err
        assert words in err


def test_an_unreadable_stack_file(write_stack, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    path = write_stack(BASE)
    path.chmod(0)
    if os.geteuid() == 0:  # root reads anything: make the read fail as it would for a user
        real_open = open

        def denied(file: Any, *args: Any, **kwargs: Any) -> Any:
            if Path(file) == path:
                raise PermissionError(13, "Permission denied")
            return real_open(file, *args, **kwargs)

        monkeypatch.setattr(stackfile, "open", denied, raising=False)
    code, err = run(capsys, "x", "--stack-file", str(path))
    assert code == 2
    assert f"{path}: cannot be read (Permission denied)" in err


def test_a_symlink_to_a_stack_file_is_read(write_stack, tmp_path: Path) -> None:
    link = tmp_path / "Pulumi.link.yaml"
    link.symlink_to(write_stack(stack("airflow-aks:nodeCount: 4")))
    assert stack_config_from_file(link, PROJECT_DIR, "link").values[f"{KEY}nodeCount"] == "4"


# ---------------------------------------------------------------------- stack names
BAD_NAMES = ["../../x", "..", ".", "a/b", "", "x" * 101, "dev prod", "dev\n", "dév", "a\\b", "~", "$(id)"]


@pytest.mark.parametrize("name", BAD_NAMES, ids=[repr(n)[:20] for n in BAD_NAMES])
def test_a_stack_name_is_never_a_path(name: str, write_stack, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_stack(BASE)
    target = (PROJECT_DIR / "build" / name).resolve() if "\n" not in name else PROJECT_DIR / "build"
    existed = target.exists()
    for argv in ([name, "--stack-file", str(path)], [name]):
        code = main(argv)  # writes unless refused: it must be refused
        err = capsys.readouterr().err
        assert code == 2, err
        assert "invalid stack name" in err
        assert "1-100 letters, digits" in err
    assert target.exists() == existed


def test_a_long_valid_stack_name_is_the_settings_business(write_stack) -> None:
    # 100 characters is a valid Pulumi stack name; whether derived Azure names fit is settings'.
    assert stackfile.stack_name_problem("a" * 100) is None
    assert stackfile.stack_name_problem("dev.eu-1_x") is None


def test_listed_stacks_are_valid_names(tmp_path: Path) -> None:
    shutil.copy(PROJECT_DIR / "Pulumi.yaml", tmp_path / "Pulumi.yaml")
    for name in ("ok", "bad name", "..", "also-ok"):
        (tmp_path / f"Pulumi.{name}.yaml").write_text(BASE)
    assert project.stacks(tmp_path) == ["also-ok", "ok"]


# ------------------------------------------------------------------- the project file
PROJECT_CASES = [
    ("project-is-a-list", "- name\n", "must be a YAML mapping"),
    ("project-no-name", "runtime: python\n", "name"),
    ("project-no-runtime", "name: airflow-aks\n", "runtime"),
    ("project-duplicate-key", "name: a\nname: b\nruntime: python\n", "given twice"),
    ("project-alias", "name: &n airflow-aks\nruntime: *n\n", "alias"),
    (
        "project-null-default",
        "name: airflow-aks\nruntime: python\nconfig:\n  airflow-aks:x:\n    default: ~\n",
        "no value",
    ),
    (
        "project-default-of-wrong-type",
        "name: airflow-aks\nruntime: python\nconfig:\n  airflow-aks:x:\n    type: integer\n    default: many\n",
        "not of the declared type integer",
    ),
    ("project-unknown-type", "name: airflow-aks\nruntime: python\nconfig:\n  x:\n    type: float\n", "type must be"),
    ("project-bad-namespace", "name: airflow-aks\nruntime: python\nconfig:\n  airflow_aks:x: 1\n", "namespace"),
    ("project-octal-default", "name: airflow-aks\nruntime: python\nconfig:\n  x:\n    default: 010\n", "decimal"),
]


@pytest.mark.parametrize(("content", "words"), [c[1:] for c in PROJECT_CASES], ids=[c[0] for c in PROJECT_CASES])
def test_a_hostile_project_file_is_refused(
    content: str, words: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    (tmp_path / "Pulumi.yaml").write_text(content)
    (tmp_path / "Pulumi.dev.yaml").write_text(BASE)
    with pytest.raises(StackFileError, match=r"invalid project file Pulumi\.yaml"):
        project.load_project(tmp_path)
    monkeypatch.setattr(synth_main, "PROJECT_DIR", tmp_path)
    monkeypatch.setattr(project, "PROJECT_DIR", tmp_path)
    code = main(["dev", "--no-write"])
    err = capsys.readouterr().err
    assert code == 2
    assert "Pulumi.yaml" in err
    assert words in err


def test_the_real_project_file_reads_as_before() -> None:
    data = project.load_project()
    assert data["name"] == "airflow-aks"
    assert data["config"]["airflow-aks:nodeCount"]["default"] == 3
    assert data["config"]["airflow-aks:availabilityZones"]["default"] == ["1", "2", "3"]
    defaults = project.project_defaults()
    assert defaults[f"{KEY}keyVaultPurgeProtection"] == "true"
    assert defaults[f"{KEY}availabilityZones"] == '["1","2","3"]'  # as Go's encoding/json writes it


# ------------------------------------------------------------------------ determinism
def test_synth_output_is_byte_for_byte_deterministic(tmp_path: Path) -> None:
    """dev and prod, each synthesized twice (separate processes, different hash seeds, in
    parallel): the written trees are identical byte for byte."""
    runs = {}
    for stack_name in ("dev", "prod"):
        for seed in ("1", "2"):
            out = tmp_path / f"{stack_name}-{seed}"
            env = {**os.environ, "PYTHONHASHSEED": seed, "AIRFLOW_AKS_OFFLINE": "1"}
            argv = [sys.executable, "-m", "synth", stack_name, "--out", str(out)]
            runs[out] = subprocess.Popen(argv, cwd=PROJECT_DIR, env=env, stdout=subprocess.DEVNULL)  # noqa: S603
    for process in runs.values():
        assert process.wait(timeout=300) in (0, 1)  # 1: a policy violation; everything is still written
    for stack_name in ("dev", "prod"):
        first, second = (
            {p.relative_to(out): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}
            for out in (tmp_path / f"{stack_name}-1", tmp_path / f"{stack_name}-2")
        )
        assert first.keys() == second.keys(), stack_name
        assert len(first) > 50
        assert not [str(p) for p in first if first[p] != second[p]], f"{stack_name} differs"


# ------------------------------------------------------------- property-based: any file
CONFIG_KEYS = sorted(project.load_project()["config"])
HOSTILE_SCALARS = [
    "~",
    "null",
    "",
    "no",
    "yes",
    "off",
    "On",
    "y",
    "True",
    "FALSE",
    "010",
    "0o17",
    "0x1F",
    "0b11",
    "1_000",
    "+5",
    "-0",
    "2.10",
    "1.0",
    "1e3",
    ".5",
    ".inf",
    "-.inf",
    ".nan",
    "2024-01-02",
    "2024-01-02T10:00:00Z",
    "1:00",
    "<<",
    "!!binary aGk=",
    "!!int 3",
    "!!str 010",
    "!Ref x",
    "*alias",
    "&anchor x",
    "[",
    "{",
    "'",
    '"',
    "|",
    ">",
    "- x",
    "a: b",
    "#",
    "%",
    "@x",
    "`x",
    '"\\ud800"',
    '"\\x00"',
    '"\\q"',
    "\t",
    "99999999999999999999",
    "1e999",
    "https://user:pass@host/x.git",
    "cpu=1,memory=1Gi,cpuLimit=1,memoryLimit=1Gi",
    "eastus",
    "airflow",
    "3",
]
SECRET_MARK = "SECRETCIPHER"


def _scalar() -> st.SearchStrategy[str]:
    text = st.text(st.characters(codec="utf-8"), max_size=30)
    return st.one_of(
        st.sampled_from(HOSTILE_SCALARS),
        text.map(json.dumps),  # a double-quoted YAML string (JSON escapes are YAML escapes)
        text.filter(lambda s: "\n" not in s and "\r" not in s),  # raw, often not YAML at all
        st.integers(-(2**70), 2**70).map(str),
        st.floats(allow_nan=True, allow_infinity=True).map(repr),
        st.booleans().map(str),
        st.text(alphabet="abcdef0123456789", min_size=1, max_size=12).map(lambda s: f"{{secure: {SECRET_MARK}{s}}}"),
        st.just("x" * 5000),
    )


def _value() -> st.SearchStrategy[str]:
    return st.recursive(
        _scalar(),
        lambda inner: st.one_of(
            st.lists(inner, max_size=4).map(lambda items: "[" + ", ".join(items) + "]"),
            st.lists(st.tuples(_key(), inner), max_size=4).map(
                lambda pairs: "{" + ", ".join(f"{k}: {v}" for k, v in pairs) + "}"
            ),
        ),
        max_leaves=10,
    )


def _key() -> st.SearchStrategy[str]:
    return st.one_of(
        st.sampled_from(CONFIG_KEYS),
        st.sampled_from(CONFIG_KEYS).map(lambda k: k.rpartition(":")[2]),
        st.sampled_from(CONFIG_KEYS).map(lambda k: "airflow_aks:" + k.rpartition(":")[2]),
        st.sampled_from(["kubernetes:x", "pulumi:tags", "random:y", "aws:region", "a:b:c:d", ":x", "42", "true", "~"]),
        st.text(st.characters(codec="utf-8", exclude_characters="\n\r"), min_size=1, max_size=20),
    )


def _document() -> st.SearchStrategy[bytes]:
    block = st.lists(st.tuples(_key(), _value()), max_size=8).map(
        lambda pairs: BASE + "".join(f"  {k}: {v}\n" for k, v in pairs)
    )
    other = st.one_of(
        _value(),  # a whole document that is a value
        st.lists(st.tuples(_key(), _value()), max_size=4).map(lambda p: "".join(f"{k}: {v}\n" for k, v in p)),
    )
    as_bytes = st.one_of(block, other).map(lambda s: s.encode("utf-8", "surrogatepass"))
    return st.one_of(as_bytes, as_bytes, as_bytes, st.binary(max_size=200))


class _ConfigAccepted(BaseException):
    """Raised instead of running the program: the config stage passed."""


EXAMPLES = int(os.environ.get("AIRFLOW_AKS_HYPOTHESIS_EXAMPLES", "60"))


@hypothesis_settings(
    max_examples=EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(document=_document())
def test_any_stack_file_is_accepted_or_refused_with_a_message(document: bytes, tmp_path_factory) -> None:
    path = tmp_path_factory.mktemp("hypo") / "Pulumi.hypo.yaml"
    path.write_bytes(document)

    def accepted(*_: Any, **__: Any) -> Any:
        raise _ConfigAccepted

    out, err = io.StringIO(), io.StringIO()
    with mock.patch.object(runner, "run_stack", accepted), redirect_stdout(out), redirect_stderr(err):
        try:
            code = main(["hypo", "--stack-file", str(path), "--no-write"])
        except _ConfigAccepted:
            code = 0
    text = err.getvalue() + out.getvalue()
    assert code in (0, 2), text
    if code == 2:
        assert text.startswith("error: "), text
        assert str(path) in text or re.search(r"\b(airflow-aks|azure-native):", text), text
        assert "a bug" not in text, text  # an exception synth caught (and named): fix it
    assert SECRET_MARK not in text
    assert "Traceback" not in text

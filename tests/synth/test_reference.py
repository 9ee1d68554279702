"""synth/reference.py: the parsed cache of large reference YAML files (data kept as JSON).

The cache may only make a parse faster: the data must be what PyYAML gives for the same text,
for the real ESO CRD (the largest file synth parses) and for YAML that JSON cannot hold."""

from __future__ import annotations

import datetime
import json
import math
from pathlib import Path
from typing import Any

import pytest
import yaml

from synth import reference


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty cache home for this test (the parsed cache lives beside the reference cache)."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    return reference.parsed_cache_dir()


def _pyyaml(text: str) -> Any:
    return yaml.load(text, Loader=reference.YAML_LOADER)  # noqa: S506 - a safe loader


def _large(body: str) -> str:
    """`body` padded with a YAML comment past the cache's size threshold."""
    return body + "#" + "x" * reference.PARSED_CACHE_MIN_CHARS + "\n"


def _no_yaml_parse(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_: Any, **__: Any) -> Any:
        raise AssertionError("parsed YAML although the cache holds the data")

    monkeypatch.setattr(reference.yaml, "load", refuse)


def test_the_real_eso_crd_comes_back_from_the_cache_as_pyyaml_parses_it(
    cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = reference.find("external-secrets/2.9.0/crds/" + reference.ESO_CRD_FILES["SecretStore"]).read_text()
    expected = _pyyaml(text)
    assert reference.parse_yaml_text(text) == expected  # parsed, then stored
    assert len(list(cache.glob("*.json"))) == 1
    _no_yaml_parse(monkeypatch)
    again = reference.parse_yaml_text(text)
    assert again == expected
    assert again["spec"]["names"]["kind"] == "SecretStore"


def test_another_text_is_another_entry(cache: Path) -> None:
    first, second = _large("a: 1\n"), _large("a: 2\n")
    assert reference.parse_yaml_text(first) == {"a": 1}
    assert reference.parse_yaml_text(second) == {"a": 2}
    assert reference.parse_yaml_text(first) == {"a": 1}
    assert len(list(cache.glob("*.json"))) == 2


def test_a_small_text_is_parsed_each_time_and_never_stored(cache: Path) -> None:
    assert reference.parse_yaml_text("a: [1, 2]\n") == {"a": [1, 2]}
    assert not cache.exists()


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("when: 2024-01-02\n", {"when": datetime.date(2024, 1, 2)}),  # JSON has no date
        ("1: one\n", {1: "one"}),  # JSON keys are strings
        ("b: !!binary aGk=\n", {"b": b"hi"}),
    ],
)
def test_data_json_cannot_hold_exactly_is_never_stored(cache: Path, body: str, expected: Any) -> None:
    for _ in range(2):  # the second time parsed again, not read back changed
        got = reference.parse_yaml_text(_large(body))
        assert got == expected
        assert [type(k) for k in got] == [type(k) for k in expected]
    assert not list(cache.glob("*.json"))


def test_nan_is_never_stored(cache: Path) -> None:
    for _ in range(2):
        assert math.isnan(reference.parse_yaml_text(_large("x: .nan\n"))["x"])
    assert not list(cache.glob("*.json"))


@pytest.mark.parametrize("damage", ["", "{", "not json", '{"a": 1'])
def test_a_corrupt_entry_means_a_parse_and_is_replaced(cache: Path, damage: str) -> None:
    text = _large("a: {b: [1, 2, 3]}\n")
    reference.parse_yaml_text(text)
    (entry,) = cache.glob("*.json")
    entry.write_text(damage)
    assert reference.parse_yaml_text(text) == {"a": {"b": [1, 2, 3]}}
    assert json.loads(entry.read_text()) == {"a": {"b": [1, 2, 3]}}


def test_an_unwritable_cache_only_costs_a_parse(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))  # a file where the cache directory would be
    text = _large("a: 1\n")
    assert reference.parse_yaml_text(text) == {"a": 1}
    assert reference.parse_yaml_text(text) == {"a": 1}
    assert not list(tmp_path.glob("**/*.tmp"))

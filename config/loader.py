"""Reading a stack's config: every problem at once, and the Pulumi program's entry point.

:func:`parse_settings` validates raw config values (keys with their namespace, as the
engine passes them) and raises ONE :class:`~config.report.ConfigError` listing every
problem: unknown and missing keys, bad values, conflicting options. Nothing else leaves
it, whatever the values. :func:`load_settings` reads the values from the Pulumi engine.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
from collections.abc import Collection, Mapping
from typing import Annotated, Any

from pydantic import TypeAdapter, ValidationError

from config.checks import advisories, cross_checks
from config.limits import ARRAY_JSON_MAX
from config.model import (
    ARRAY_KEYS,
    CONFIG_KEYS,
    FIELD_BY_KEY,
    PROJECT,
    PROVIDER_LOCATION_KEY,
    RETIRED_KEYS,
    STACK_KEY,
    Settings,
    project_key,
)
from config.report import MISSING, ConfigError, Problem, clip, secret_fragments


def _adapter(name: str) -> TypeAdapter[Any]:
    f = Settings.model_fields[name]
    annotation: Any = f.annotation  # the field's type without Annotated; its validators are in metadata
    return TypeAdapter(Annotated[(annotation, *f.metadata)] if f.metadata else annotation)


_FIELD_ADAPTERS: dict[str, TypeAdapter[Any]] = {name: _adapter(name) for name in Settings.model_fields}


def _partial(data: Mapping[str, Any], invalid: set[str]) -> tuple[Settings, frozenset[str]]:
    """A Settings holding only the fields that are valid on their own (for the cross-checks)."""
    good: dict[str, Any] = {}
    for key, raw in data.items():
        name = FIELD_BY_KEY[key]
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
    if key in ARRAY_KEYS and isinstance(raw, str) and len(raw) <= ARRAY_JSON_MAX:
        try:
            return json.loads(raw)
        except (ValueError, RecursionError):
            return raw  # the field's validator reports it, with the key
    return raw


def _unknown_key(key: str, value: Any) -> Problem:
    name = key.removeprefix(f"{PROJECT}:")
    if name in RETIRED_KEYS:
        return Problem(key, value, RETIRED_KEYS[name])
    close = difflib.get_close_matches(name, CONFIG_KEYS, n=1) if len(name) <= 64 else []
    hint = f"did you mean {project_key(close[0])}? " if close else ""
    return Problem(key, value, f"unknown key; {hint}known keys: {', '.join(sorted(CONFIG_KEYS))}")


def _problem_key(field: str) -> str:
    if field == "location":
        return PROVIDER_LOCATION_KEY
    return STACK_KEY if field == "stack" else project_key(field)


# Keys whose values are never shown in a message, even when the stack forgot to mark them secret.
ALWAYS_SECRET_KEYS = frozenset({project_key("uiCertificatePem")})


def parse_settings(stack: str, values: Mapping[str, Any], secret_keys: Collection[str] = ()) -> Settings:
    """Validate raw config values (keys with namespace, as the engine passes them).

    `secret_keys`: the keys the stack marks secret (`secure:`); their values never appear
    in the error, nor anywhere else in it. Raises ConfigError listing every problem:
    unknown and retired keys, missing keys, bad values, conflicting options and a stack name
    that does not fit the Azure names made from it. Nothing else is raised, whatever the values.
    """
    problems: list[Problem] = []
    prefix = f"{PROJECT}:"
    keys = [k for k in values if isinstance(k, str)]
    for odd in (k for k in values if not isinstance(k, str)):
        problems.append(Problem(clip(repr(odd)), values[odd], "config keys are 'namespace:key' strings"))
    for key in sorted(keys):
        if key.startswith(prefix) and key[len(prefix) :] not in CONFIG_KEYS:
            problems.append(_unknown_key(key, values[key]))

    data: dict[str, Any] = {"stack": stack}
    location = values.get(PROVIDER_LOCATION_KEY)
    if location is None:
        problems.append(
            Problem(
                PROVIDER_LOCATION_KEY,
                MISSING,
                "required: the Azure region, e.g. `pulumi config set azure-native:location eastus`",
            )
        )
    else:
        data["location"] = location
    for key in CONFIG_KEYS:
        full = prefix + key
        if full not in values:
            problems.append(
                Problem(full, MISSING, "required; declare a default in Pulumi.yaml or set it in the stack file")
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
            invalid.add(FIELD_BY_KEY.get(field, field))
            if e["type"] == "missing":
                continue  # missing keys were reported above
            problems.append(
                Problem(_problem_key(field), data.get(field, MISSING), e["msg"].removeprefix("Value error, "))
            )
        problems.extend(cross_checks(*_partial(data, invalid)))
    else:
        problems.extend(cross_checks(settings))
    pem_key = project_key("uiCertificatePem")
    if values.get(pem_key) and pem_key not in secret_keys:
        problems.append(
            Problem(
                pem_key,
                values[pem_key],
                "holds a private key, so it must be a secret value: remove it from the stack file and set it with "
                "`pulumi config set --secret airflow-aks:uiCertificatePem < bundle.pem`",
            )
        )
    if problems or settings is None:
        # A private key is never shown, whether the stack marked it secret or not.
        secrets = {k for k in secret_keys if isinstance(k, str)} | set(ALWAYS_SECRET_KEYS)
        fragments = {f for k in secrets if k in values for f in secret_fragments(values[k])}
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

"""Read Pulumi.yaml and Pulumi.<stack>.yaml the way the Pulumi CLI does."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

PROJECT_DIR = Path(__file__).resolve().parent.parent
SECRET_PLACEHOLDER = "[secret:{key}]"


class StackNotFoundError(LookupError):
    def __init__(self, stack: str, known: list[str]) -> None:
        self.stack = stack
        self.known = known
        super().__init__(f"no stack file Pulumi.{stack}.yaml; stacks: {', '.join(known) or '(none)'}")


@dataclass(frozen=True)
class StackConfig:
    """Config as the engine hands it to a program: 'ns:key' -> string (JSON for non-strings)."""

    project: str
    stack: str
    values: dict[str, str]
    secret_keys: list[str]


def _encode(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def load_project(project_dir: Path = PROJECT_DIR) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((project_dir / "Pulumi.yaml").read_text())
    return data


def stacks(project_dir: Path = PROJECT_DIR) -> list[str]:
    return sorted(p.name[len("Pulumi.") : -len(".yaml")] for p in project_dir.glob("Pulumi.*.yaml"))


def _qualify(project: str, key: str) -> str:
    return key if ":" in key else f"{project}:{key}"


def project_defaults(project_dir: Path = PROJECT_DIR) -> dict[str, str]:
    """The project-level defaults of Pulumi.yaml's config block, encoded as the engine does."""
    project = load_project(project_dir)
    name = project["name"]
    defaults: dict[str, str] = {}
    for key, decl in (project.get("config") or {}).items():
        if isinstance(decl, dict):
            if "default" in decl:
                defaults[_qualify(name, key)] = _encode(decl["default"])
            elif "value" in decl:
                defaults[_qualify(name, key)] = _encode(decl["value"])
        else:  # short form: `key: value`
            defaults[_qualify(name, key)] = _encode(decl)
    return defaults


def stack_config_from_file(path: Path, project_dir: Path = PROJECT_DIR, stack: str | None = None) -> StackConfig:
    """Project defaults overlaid with a stack file; `secure:` values become marked placeholders."""
    name = load_project(project_dir)["name"]
    values = project_defaults(project_dir)
    secret_keys: list[str] = []
    data = yaml.safe_load(path.read_text()) or {}
    for key, value in (data.get("config") or {}).items():
        full = _qualify(name, key)
        if isinstance(value, dict) and set(value) == {"secure"}:
            values[full] = SECRET_PLACEHOLDER.format(key=full)
            secret_keys.append(full)
        else:
            values[full] = _encode(value)
    stack_name = stack or path.name.removeprefix("Pulumi.").removesuffix(".yaml")
    return StackConfig(project=name, stack=stack_name, values=values, secret_keys=secret_keys)


def load_stack_config(stack: str, project_dir: Path = PROJECT_DIR) -> StackConfig:
    path = project_dir / f"Pulumi.{stack}.yaml"
    if not path.is_file():
        raise StackNotFoundError(stack, stacks(project_dir))
    return stack_config_from_file(path, project_dir, stack)

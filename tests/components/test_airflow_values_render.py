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
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import jsonschema
import pytest

from components.airflow_values import airflow_values
from config import Resources, Settings, parse_settings
from plan import AIRFLOW_RELEASE, StackPlan, build_plan
from profiles import PROFILES
from synth import helm, reference
from synth.project import load_stack_config
from tests.helpers import dev_values

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


def test_the_ref_check_finds_the_charts_default_ref_and_the_v3_variables() -> None:
    def chart_default(v: dict[str, Any]) -> None:
        git = v["dags"]["gitSync"]
        del git["ref"], git["branch"], git["rev"]

    found = git_sync_refs(_broken(CELERY_115, chart_default), "main")
    assert f"Deployment/{AIRFLOW_RELEASE}-scheduler/git-sync: GITSYNC_REF is 'v2-2-stable', not 'main'" in found
    assert (
        f"Deployment/{AIRFLOW_RELEASE}-scheduler/git-sync: GIT_SYNC_BRANCH='v2-2-stable' would replace the ref" in found
    )

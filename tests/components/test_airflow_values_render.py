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
fourth row), plus an external database, an Airflow 2 stack with the managed database and
remote task logs, and the real dev and prod stack files (prod: the managed database, remote
task logs). Each case is rendered for an install and an upgrade: 30 renders. Each check is a
function returning its findings; the fault-injection tests at the end show each one finding
a broken render.

logsMode=remote needs each log identity's client id, which Azure assigns (a Pulumi output in
the program): the cases pass made-up ones, a different one per identity (fake_client_ids).
"""

from __future__ import annotations

import configparser
import copy
import functools
import json
import re
import shutil
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from components.airflow_values import WORKLOAD_IDENTITY_CLIENT_ID, WORKLOAD_IDENTITY_LABEL, airflow_values
from config import Resources, Settings, parse_settings
from plan import AIRFLOW_RELEASE, REMOTE_LOG_CONN_ENV, LogIdentity, StackPlan, build_plan
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
        "databaseMode": "external",
        "pgbouncerEnabled": "false",
        "externalDatabaseSecretName": "corp-airflow-db",
    }
    cases.append(Case("1.15.0-external-database", "dev", tuple(external.items())))
    # Airflow 2 (webserver, no DAG processor) with what prod runs on Airflow 3: the managed
    # database behind its built-in PgBouncer, remote task logs; Celery workers and
    # KubernetesExecutor pods both write logs
    managed = {
        "executor": "CeleryKubernetesExecutor",
        "networkMode": "create",
        "databaseMode": "managed",
        "logsMode": "remote",
    }
    cases.append(Case("1.15.0-managed-database-remote-logs", "dev", tuple(managed.items())))
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


def fake_client_ids(plan: StackPlan) -> dict[str, str]:
    """A client id (a GUID, as Azure's) for each of the plan's log identities, each different:
    what the program passes from the identities it creates (none without remote logs)."""
    return {
        identity.name: str(uuid.uuid5(uuid.NAMESPACE_URL, f"client-id/{identity.name}"))
        for identity in plan.log_identities
    }


def values_for(settings: Settings) -> dict[str, Any]:
    plan = build_plan(settings)
    return airflow_values(settings, plan, fake_client_ids(plan))


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
    labels: Mapping[str, str] = field(default_factory=dict)  # the pod's own (its template's metadata)
    # a StatefulSet's volumeClaimTemplates: volume name -> the claim each replica gets
    claim_templates: Mapping[str, dict[str, Any]] = field(default_factory=dict)

    def containers(self) -> Iterator[tuple[str, dict[str, Any]]]:
        for kind in ("initContainers", "containers"):
            for container in self.spec.get(kind) or []:
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
            template = spec["template"]
            claims = {_name(c): c for c in spec.get("volumeClaimTemplates") or []}
            labels = (template.get("metadata") or {}).get("labels") or {}
            out.append(PodSpec(f"{kind}/{_name(obj)}", template["spec"], labels, claims))
        elif kind == "CronJob":
            template = spec["jobTemplate"]["spec"]["template"]
            labels = (template.get("metadata") or {}).get("labels") or {}
            out.append(PodSpec(f"{kind}/{_name(obj)}", template["spec"], labels))
    for pod in helm.embedded_pods([("", o) for o in objs]):
        labels = (pod.pod.get("metadata") or {}).get("labels") or {}
        out.append(PodSpec(f"ConfigMap/{pod.configmap}/{pod.key}", pod.pod["spec"], labels))
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


# ------------------------------------------------------------------ remote task logs (logsMode=remote)
# The components that write or read task logs, by what the chart names their pods (the
# KubernetesExecutor pod template file: every task pod): which identity each needs (writer:
# Storage Blob Data Contributor on the container; reader: Storage Blob Data Reader), the
# ServiceAccount it must run as, and its main container. Written out here, from the chart and
# Airflow, not from profiles.py: tasks, the triggerer (deferred tasks), the scheduler and the
# DAG processor write; the UI only reads.
LOG_COMPONENTS: dict[str, tuple[str, str, str]] = {
    # component: (identity key, ServiceAccount without the release prefix, main container)
    "scheduler": ("writer", "scheduler", "scheduler"),
    "worker": ("writer", "worker", "worker"),
    "pod_template_file": ("writer", "worker", "base"),  # the chart runs task pods as the workers
    "triggerer": ("writer", "triggerer", "triggerer"),
    "dag-processor": ("writer", "dag-processor", "dag-processor"),
    "webserver": ("reader", "webserver", "webserver"),  # Airflow 2
    "api-server": ("reader", "api-server", "api-server"),  # Airflow 3
}


def log_components(settings: Settings) -> set[str]:
    """The log components a stack's render must have (independently of the values builder)."""
    found = {"scheduler", "triggerer", PROFILES[settings.airflow_chart_version].ui_service}
    found |= {"dag-processor"} if settings.airflow_chart_version == "1.19.0" else set()
    found |= {"worker"} if "Celery" in settings.executor else set()
    found |= {"pod_template_file"} if "KubernetesExecutor" in settings.executor else set()
    return found


def _service_accounts(objs: Objects) -> dict[str, dict[str, Any]]:
    return {_name(o): o for o in objs if o.get("kind") == "ServiceAccount"}


def _identity(plan: StackPlan, key: str) -> LogIdentity | None:
    return next((i for i in plan.log_identities if i.key == key), None)


def remote_log_findings(objs: Objects, plan: StackPlan, client_ids: Mapping[str, str]) -> tuple[list[str], set[str]]:
    """Every pod of a log component runs as the ServiceAccount the plan federates with that
    component's identity, carries the workload identity webhook's label (on the POD: the
    webhook reads the pod), that ServiceAccount is rendered with the identity's client id, and
    the main container gets the `wasb_default` connection from the Secret ESO makes. No other
    pod carries the label or runs as an annotated account. Returns (findings, the log
    components seen)."""
    accounts = _service_accounts(objs)
    names = plan.names
    wanted_ref = {"name": names.remote_logs_connection, "key": names.remote_logs_connection_key}
    out: list[str] = []
    seen: set[str] = set()
    for pod in pod_specs(objs):
        component = _component(pod)
        account = pod.spec.get("serviceAccountName") or "default"
        labelled = pod.labels.get(WORKLOAD_IDENTITY_LABEL)
        annotations = (accounts.get(account, {}).get("metadata") or {}).get("annotations") or {}
        if component not in LOG_COMPONENTS:
            if labelled is not None:
                out.append(
                    f"{pod.where}: label {WORKLOAD_IDENTITY_LABEL}={labelled!r}, but it neither writes nor reads logs"
                )
            if WORKLOAD_IDENTITY_CLIENT_ID in annotations:
                out.append(f"{pod.where}: runs as {account}, annotated with a client id, but touches no logs")
            continue
        seen.add(component)
        key, account_suffix, main = LOG_COMPONENTS[component]
        identity = _identity(plan, key)
        if identity is None:
            out.append(f"{pod.where}: the plan has no {key} identity")
            continue
        expected = f"{plan.airflow_release}-{account_suffix}"
        if account != expected:
            out.append(f"{pod.where}: runs as {account}, not {expected}")
        if account not in identity.service_accounts.values():
            out.append(f"{pod.where}: {account} has no federated credential of {identity.name}")
        if labelled != "true":
            out.append(f"{pod.where}: pod label {WORKLOAD_IDENTITY_LABEL} is {labelled!r}, not 'true'")
        if account not in accounts:
            out.append(f"{pod.where}: ServiceAccount {account} is not rendered")
        elif annotations.get(WORKLOAD_IDENTITY_CLIENT_ID) != client_ids[identity.name]:
            out.append(
                f"{pod.where}: ServiceAccount {account} client id {annotations.get(WORKLOAD_IDENTITY_CLIENT_ID)!r}, "
                f"not {identity.name}'s {client_ids[identity.name]!r}"
            )
        containers = {c["name"]: c for kind in ("initContainers", "containers") for c in pod.spec.get(kind) or []}
        if main not in containers:
            out.append(f"{pod.where}: no {main} container")
            continue
        refs = [
            (e.get("valueFrom") or {}).get("secretKeyRef") or {"value": e.get("value")}
            for e in containers[main].get("env") or []
            if e["name"] == REMOTE_LOG_CONN_ENV
        ]
        if refs != [wanted_ref]:
            out.append(f"{pod.where}/{main}: {REMOTE_LOG_CONN_ENV} from {refs}, not once from {wanted_ref}")
    return out, seen


def airflow_cfg(objs: Objects) -> configparser.ConfigParser:
    """The airflow.cfg the chart ships in its `<release>-config` ConfigMap (what every pod reads)."""
    (config,) = [o for o in objs if o.get("kind") == "ConfigMap" and _name(o) == f"{AIRFLOW_RELEASE}-config"]
    parser = configparser.ConfigParser(interpolation=None)
    parser.read_string(config["data"]["airflow.cfg"])
    return parser


def remote_logging_config_findings(objs: Objects, settings: Settings) -> list[str]:
    """airflow.cfg turns on remote logging through the wasb handler (a remote_base_log_folder
    starting with `wasb`), into the stack's logs container, with the connection whose
    AIRFLOW_CONN_<ID> variable the pods get."""
    cfg = airflow_cfg(objs)
    out: list[str] = []
    if cfg.get("logging", "remote_logging", fallback=None) != "True":
        out.append(f"[logging] remote_logging is {cfg.get('logging', 'remote_logging', fallback=None)!r}")
    if not cfg.get("logging", "remote_base_log_folder", fallback="").startswith("wasb"):
        out.append(f"[logging] remote_base_log_folder {cfg.get('logging', 'remote_base_log_folder', fallback=None)!r}")
    conn_id = cfg.get("logging", "remote_log_conn_id", fallback="")
    if f"AIRFLOW_CONN_{conn_id.upper()}" != REMOTE_LOG_CONN_ENV:
        out.append(f"[logging] remote_log_conn_id {conn_id!r} is not the connection {REMOTE_LOG_CONN_ENV} defines")
    container = cfg.get("azure_remote_logging", "remote_wasb_log_container", fallback=None)
    if container != settings.logs_container_name:
        out.append(
            f"[azure_remote_logging] remote_wasb_log_container {container!r}, not {settings.logs_container_name!r}"
        )
    return out


def logs_claim_mounts(objs: Objects, plan: StackPlan, logs_folder: str) -> list[str]:
    """Persistent claims holding task logs: a claim volume or a StatefulSet volumeClaimTemplate
    (one claim per replica) mounted at Airflow's logs folder, or the stack's logs claim anywhere."""
    out: list[str] = []
    for pod in pod_specs(objs):
        claims = {
            v["name"]: f"claim {v['persistentVolumeClaim']['claimName']}"
            for v in pod.spec.get("volumes") or []
            if v.get("persistentVolumeClaim")
        }
        claims.update({name: f"volumeClaimTemplate {name}" for name in pod.claim_templates})
        for where, container in pod.containers():
            for mount in container.get("volumeMounts") or []:
                what = claims.get(mount["name"])
                if what is None:
                    continue
                path = mount["mountPath"].rstrip("/")
                if path == logs_folder or path.startswith(f"{logs_folder}/") or what == f"claim {plan.logs_claim}":
                    out.append(f"{where}: {what} at {mount['mountPath']}")
    return out


def logs_folder(settings: Settings) -> str:
    """Where Airflow writes task logs in the chart's pods: `<airflowHome>/logs` (the chart's
    values.yaml; Airflow's default base_log_folder)."""
    chart = reference.load_yaml(f"airflow-chart/{settings.airflow_chart_version}/values.yaml")
    return f"{chart['airflowHome']}/logs"


# ------------------------------------------------------------------ the managed database
# The variables through which the chart hands Airflow its metadata database connection
# (its _helpers.yaml standard_airflow_environment).
METADATA_VARS = ("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", "AIRFLOW__CORE__SQL_ALCHEMY_CONN", "AIRFLOW_CONN_AIRFLOW_DB")


def airflow_images(values: dict[str, Any], plan: StackPlan) -> set[str]:
    return {
        f"{values['images'][key]['repository']}:{values['images'][key]['tag']}"
        for key in plan.profile.airflow_image_keys
        if key in values["images"]
    }


def managed_database_findings(objs: Objects, plan: StackPlan, images: set[str]) -> tuple[list[str], int]:
    """No PostgreSQL or PgBouncer of the chart (workloads, Services, their addresses anywhere),
    no metadata Secret of the chart's own, and every Airflow container (those running the
    Airflow image) takes its metadata connection, in each variable the chart sets, from the
    Secret ESO assembles (key `connection`), never a value. Returns (findings, Airflow
    containers seen)."""
    release = plan.airflow_release
    out: list[str] = []
    for o in objs:
        name = _name(o)
        if o.get("kind") in ("Deployment", "StatefulSet", "Service") and name in (
            f"{release}-postgresql",
            f"{release}-pgbouncer",
        ):
            out.append(f"{o['kind']}/{name} rendered")
        if o.get("kind") == "Secret" and name in (
            plan.names.metadata,
            f"{release}-metadata",
            f"{release}-pgbouncer-config",
        ):
            out.append(f"Secret/{name} rendered by the chart")
    # the objects, and what the chart's Secrets hold (base64 in the render)
    text = json.dumps(objs) + json.dumps([helm.decoded_secret_data(o) for o in objs if o.get("kind") == "Secret"])
    for service in (f"{release}-postgresql", f"{release}-pgbouncer"):
        if f"{service}." in text or f"{service}:" in text:
            out.append(f"the render addresses {service}")
    wanted = {"name": plan.names.metadata, "key": "connection"}
    seen = 0
    for pod in pod_specs(objs):
        for where, container in pod.containers():
            if container.get("image") not in images:
                continue
            seen += 1
            env = container.get("env") or []
            if not any(e["name"] == METADATA_VARS[0] for e in env):
                out.append(f"{where}: no {METADATA_VARS[0]}")
            for e in env:
                if e["name"] in METADATA_VARS:
                    ref = (e.get("valueFrom") or {}).get("secretKeyRef")
                    if ref != wanted:
                        out.append(f"{where}: {e['name']} from {ref or {'value': e.get('value')}}, not {wanted}")
    return out, seen


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
    # managed: pgbouncerEnabled is the flexible server's built-in PgBouncer, not the chart's
    expected |= {"pgbouncer"} if s.pgbouncer_enabled and s.postgresql_enabled else set()
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
    # the connection ESO assembles: for the bundled database and the managed one (their
    # external database's Secret is the user's)
    assert (plan.names.metadata in read) is (r.settings.postgresql_enabled or r.settings.managed_database)
    # remote logs: the wasb_default connection; a logs volume: the CSI driver reads the
    # account key from its Secret, not a pod
    assert (plan.names.remote_logs_connection in read) is (r.settings.logs_mode == "remote")
    claims = {
        v["persistentVolumeClaim"]["claimName"]
        for p in pod_specs(r.install)
        for v in p.spec.get("volumes") or []
        if v.get("persistentVolumeClaim")
    }
    assert claims == ({plan.logs_claim} if r.settings.logs_mode == "pv" else set())


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


# ------------------------------------------------------------------ remote logs and the managed database
REMOTE_CASES = [c for c in CASES if c.settings().logs_mode == "remote"]
MANAGED_CASES = [c for c in CASES if c.settings().managed_database]


def test_the_matrix_has_remote_logs_and_managed_database_cases_on_both_chart_lines() -> None:
    assert {c.settings().airflow_chart_version for c in REMOTE_CASES} == set(PROFILES)
    assert {c.settings().airflow_chart_version for c in MANAGED_CASES} == set(PROFILES)
    assert "stack-prod" in {c.id for c in REMOTE_CASES} & {c.id for c in MANAGED_CASES}


@pytest.mark.parametrize("case", REMOTE_CASES, ids=lambda c: c.id)
def test_every_log_component_runs_under_its_log_identity(case: Case) -> None:
    """Read off the real render: scheduler, workers and every KubernetesExecutor task pod,
    triggerer, DAG processor (writers) and the UI (reader) each run as the ServiceAccount the
    plan federates with its identity, labelled for the workload identity webhook, the account
    annotated with that identity's client id; each main container gets AIRFLOW_CONN_WASB_DEFAULT
    from the Secret ESO makes; airflow.cfg logs remotely through that connection."""
    r = rendered(case)
    plan = build_plan(r.settings)
    assert {i.key for i in plan.log_identities} == {"writer", "reader"}
    for mode, objs in _both(case):
        findings, seen = remote_log_findings(objs, plan, fake_client_ids(plan))
        assert findings == [], mode
        assert seen == log_components(r.settings), mode
        assert remote_logging_config_findings(objs, r.settings) == [], mode


@pytest.mark.parametrize("case", REMOTE_CASES, ids=lambda c: c.id)
def test_with_remote_logs_no_pod_keeps_task_logs_on_a_claim(case: Case) -> None:
    """No logs volume (logsMode=remote): no pod mounts a persistent claim at the logs folder,
    neither a claim volume nor a StatefulSet's volumeClaimTemplate (a disk per replica)."""
    r = rendered(case)
    plan = build_plan(r.settings)
    for mode, objs in _both(case):
        assert logs_claim_mounts(objs, plan, logs_folder(r.settings)) == [], mode


@pytest.mark.parametrize("case", [c for c in CASES if c not in REMOTE_CASES], ids=lambda c: c.id)
def test_without_remote_logs_no_pod_assumes_a_log_identity(case: Case) -> None:
    r = rendered(case)
    assert build_plan(r.settings).log_identities == ()
    assert [p.where for p in pod_specs(r.install) if WORKLOAD_IDENTITY_LABEL in p.labels] == []
    annotated = [n for n, sa in _service_accounts(r.install).items() if WORKLOAD_IDENTITY_CLIENT_ID in str(sa)]
    assert annotated == []
    # the logs claim instead, mounted at the logs folder (what logs_claim_mounts looks for)
    assert logs_claim_mounts(r.install, build_plan(r.settings), logs_folder(r.settings))


@pytest.mark.parametrize("case", MANAGED_CASES, ids=lambda c: c.id)
def test_the_managed_database_replaces_the_charts_postgresql_and_pgbouncer(case: Case) -> None:
    r = rendered(case)
    plan = build_plan(r.settings)
    assert r.settings.pgbouncer_enabled  # the server's built-in PgBouncer, not the chart's
    for mode, objs in _both(case):
        findings, seen = managed_database_findings(objs, plan, airflow_images(r.values, plan))
        assert findings == [], mode
        # not vacuous: every Airflow pod's containers, wait-for-migrations included
        expected = {"run-airflow-migrations", "create-user", *log_components(r.settings)}
        with_airflow = {
            _component(p)
            for p in pod_specs(objs)
            if any(c.get("image") in airflow_images(r.values, plan) for _, c in p.containers())
        }
        assert with_airflow == expected, mode
        assert seen >= len(expected), mode


def test_the_programs_log_pods_assume_the_identities_the_program_federates(prod_run: Any) -> None:
    """End to end, prod as the program registers it (under the mocks): the REAL chart render
    of its Release; each log pod's ServiceAccount carries the client id of the managed identity
    that holds a federated credential for exactly that account's token subject, and that
    identity is the plan's writer (or, for the UI, reader)."""
    settings = parse_settings("prod", dict(load_stack_config("prod").values))
    plan = build_plan(settings)
    (release,) = [r for r in prod_run.by_type("kubernetes:helm.sh/v3:Release") if r.inputs["chart"] == "airflow"]
    objs = render_release(release, settings.kubernetes_version)
    identities = {
        r.inputs["resourceName"]: r.state["clientId"]
        for r in prod_run.by_type("azure-native:managedidentity:UserAssignedIdentity")
    }
    federated = {
        r.inputs["subject"]: r.inputs["resourceName"]
        for r in prod_run.by_type("azure-native:managedidentity:FederatedIdentityCredential")
    }
    client_ids = {i.name: identities[i.name] for i in plan.log_identities}
    assert len(set(client_ids.values())) == 2  # writer and reader differ: a swap would show
    findings, seen = remote_log_findings(objs, plan, client_ids)
    assert findings == []
    assert seen == log_components(settings)
    accounts = _service_accounts(objs)
    for pod in pod_specs(objs):
        if _component(pod) not in LOG_COMPONENTS:
            continue
        account = pod.spec["serviceAccountName"]
        subject = f"system:serviceaccount:{release.inputs['namespace']}:{account}"
        identity = _identity(plan, LOG_COMPONENTS[_component(pod)][0])
        assert identity is not None
        assert federated[subject] == identity.name, pod.where
        annotations = accounts[account]["metadata"]["annotations"]
        assert annotations[WORKLOAD_IDENTITY_CLIENT_ID] == identities[federated[subject]], pod.where


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


PROD = "stack-prod"
REMOTE_115 = "1.15.0-managed-database-remote-logs"


def _remote_findings(case_id: str, breaks: Callable[[dict[str, Any]], None]) -> list[str]:
    case = next(c for c in CASES if c.id == case_id)
    plan = build_plan(rendered(case).settings)
    findings, _ = remote_log_findings(_broken(case_id, breaks), plan, fake_client_ids(plan))
    return findings


def test_the_log_identity_check_finds_a_pod_the_webhook_skips() -> None:
    """Without the label on the workers, neither the Celery workers nor any task pod the
    KubernetesExecutor launches from the pod template gets the identity's token."""
    found = _remote_findings(PROD, lambda v: v["workers"].pop("labels"))
    assert found == [
        f"Deployment/{AIRFLOW_RELEASE}-worker: pod label {WORKLOAD_IDENTITY_LABEL} is None, not 'true'",
        f"ConfigMap/{AIRFLOW_RELEASE}-config/pod_template_file.yaml: pod label {WORKLOAD_IDENTITY_LABEL} is None, "
        "not 'true'",
    ]


def test_the_log_identity_check_finds_swapped_client_ids() -> None:
    plan = build_plan(rendered(next(c for c in CASES if c.id == PROD)).settings)
    ids = fake_client_ids(plan)
    writer, reader = (next(i.name for i in plan.log_identities if i.key == k) for k in ("writer", "reader"))

    def swap(v: dict[str, Any]) -> None:
        v["apiServer"]["serviceAccount"]["annotations"][WORKLOAD_IDENTITY_CLIENT_ID] = ids[writer]

    assert _remote_findings(PROD, swap) == [
        f"Deployment/{AIRFLOW_RELEASE}-api-server: ServiceAccount {AIRFLOW_RELEASE}-api-server client id "
        f"{ids[writer]!r}, not {reader}'s {ids[reader]!r}"
    ]


def test_the_log_identity_check_finds_an_account_nobody_federated() -> None:
    found = _remote_findings(REMOTE_115, lambda v: v["triggerer"]["serviceAccount"].update(name="airflow-logs"))
    assert found == [
        f"Deployment/{AIRFLOW_RELEASE}-triggerer: runs as airflow-logs, not {AIRFLOW_RELEASE}-triggerer",
        f"Deployment/{AIRFLOW_RELEASE}-triggerer: airflow-logs has no federated credential of airflow-dev-logs-writer",
    ]
    # the chart's own account (create false): rendered by nobody, annotated by nobody
    found = _remote_findings(REMOTE_115, lambda v: v["webserver"]["serviceAccount"].update(create=False))
    assert found == [
        f"Deployment/{AIRFLOW_RELEASE}-webserver: ServiceAccount {AIRFLOW_RELEASE}-webserver is not rendered"
    ]


def test_the_log_identity_check_finds_a_pod_without_the_connection() -> None:
    found = _remote_findings(REMOTE_115, lambda v: v.pop("secret"))
    mains = {
        f"Deployment/{AIRFLOW_RELEASE}-scheduler/scheduler",
        f"Deployment/{AIRFLOW_RELEASE}-worker/worker",
        f"Deployment/{AIRFLOW_RELEASE}-triggerer/triggerer",
        f"Deployment/{AIRFLOW_RELEASE}-webserver/webserver",
        f"ConfigMap/{AIRFLOW_RELEASE}-config/pod_template_file.yaml/base",
    }
    assert {f.split(": ")[0] for f in found} == mains
    assert all(
        f.endswith("not once from {'name': 'airflow-remote-logs-connection', 'key': 'connection'}") for f in found
    )


def test_the_log_identity_check_finds_an_identity_where_no_log_is_touched() -> None:
    found = _remote_findings(PROD, lambda v: v["statsd"].update(labels={WORKLOAD_IDENTITY_LABEL: "true"}))
    assert found == [
        f"Deployment/{AIRFLOW_RELEASE}-statsd: label {WORKLOAD_IDENTITY_LABEL}='true', "
        "but it neither writes nor reads logs"
    ]


def test_the_remote_logging_config_check_finds_local_logging() -> None:
    settings = rendered(next(c for c in CASES if c.id == PROD)).settings

    def local(v: dict[str, Any]) -> None:
        v["config"]["logging"].update(remote_logging="False", remote_log_conn_id="azure_default")
        v["config"]["azure_remote_logging"]["remote_wasb_log_container"] = "logs"

    assert remote_logging_config_findings(_broken(PROD, local), settings) == [
        "[logging] remote_logging is 'False'",
        "[logging] remote_log_conn_id 'azure_default' is not the connection AIRFLOW_CONN_WASB_DEFAULT defines",
        f"[azure_remote_logging] remote_wasb_log_container 'logs', not {settings.logs_container_name!r}",
    ]


def test_the_logs_claim_check_finds_a_claim_per_replica_and_the_shared_claim() -> None:
    case = next(c for c in CASES if c.id == PROD)
    settings = rendered(case).settings
    plan, folder = build_plan(settings), logs_folder(settings)

    def persistent(v: dict[str, Any]) -> None:
        for path in plan.profile.log_disk_keys:  # the chart line's own keys, turned back on
            node = v
            for key in path:
                node = node.setdefault(key, {})
            node["enabled"] = True

    found = logs_claim_mounts(_broken(PROD, persistent), plan, folder)
    assert f"StatefulSet/{AIRFLOW_RELEASE}-worker/worker: volumeClaimTemplate logs at {folder}" in found
    assert f"StatefulSet/{AIRFLOW_RELEASE}-triggerer/triggerer: volumeClaimTemplate logs at {folder}" in found

    def shared(v: dict[str, Any]) -> None:
        v["workers"]["persistence"] = v["triggerer"]["persistence"] = {"enabled": False}
        v["logs"]["persistence"] = {"enabled": True, "existingClaim": plan.logs_claim}

    found = logs_claim_mounts(_broken(PROD, shared), plan, folder)
    assert f"Deployment/{AIRFLOW_RELEASE}-api-server/api-server: claim {plan.logs_claim} at {folder}" in found
    assert (
        f"ConfigMap/{AIRFLOW_RELEASE}-config/pod_template_file.yaml/base: claim {plan.logs_claim} at {folder}" in found
    )


def _managed_findings(case_id: str, breaks: Callable[[dict[str, Any]], None]) -> list[str]:
    r = rendered(next(c for c in CASES if c.id == case_id))
    plan = build_plan(r.settings)
    findings, _ = managed_database_findings(_broken(case_id, breaks), plan, airflow_images(r.values, plan))
    return findings


def test_the_managed_database_check_finds_the_charts_database_and_pgbouncer() -> None:
    found = _managed_findings(PROD, lambda v: v["postgresql"].update(enabled=True))
    assert f"StatefulSet/{AIRFLOW_RELEASE}-postgresql rendered" in found
    found = _managed_findings(PROD, lambda v: v["pgbouncer"].update(enabled=True))
    assert f"Deployment/{AIRFLOW_RELEASE}-pgbouncer rendered" in found
    # PgBouncer's config in the chart's Secret addresses the chart's PostgreSQL
    assert f"the render addresses {AIRFLOW_RELEASE}-postgresql" in found


def test_the_managed_database_check_finds_a_connection_from_elsewhere() -> None:
    # without metadataSecretName the chart makes its own Secret, pointing at its own PostgreSQL
    found = _managed_findings(REMOTE_115, lambda v: v["data"].pop("metadataSecretName"))
    assert f"Secret/{AIRFLOW_RELEASE}-metadata rendered by the chart" in found
    assert f"the render addresses {AIRFLOW_RELEASE}-postgresql" in found
    assert f"Deployment/{AIRFLOW_RELEASE}-scheduler/scheduler: AIRFLOW__DATABASE__SQL_ALCHEMY_CONN from " in "\n".join(
        found
    )
    # a plain value beside the Secret's, in every Airflow container
    plain = {"name": "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", "value": "postgresql://u:p@db:5432/airflow"}
    found = _managed_findings(PROD, lambda v: v["env"].append(plain))
    assert (
        f"Deployment/{AIRFLOW_RELEASE}-api-server/api-server: AIRFLOW__DATABASE__SQL_ALCHEMY_CONN from "
        in "\n".join(found)
    )
    assert all("{'value': 'postgresql://u:p@db:5432/airflow'}" in f for f in found)

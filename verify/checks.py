"""The Kubernetes checks: the API answers, the release's pods are Ready and its Jobs complete,
every ExternalSecret is Ready, the logs claim is Bound.

Each returns one Result: PASS, WAIT (not there yet: polled again until the timeout) or FAIL
with `final` set when waiting cannot help (credentials refused, a Job failed, a claim Lost).
"""

from __future__ import annotations

import base64
import binascii
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from verify.kube import ApiError, KubeClient
from verify.model import Result, failed, passed, waiting
from verify.outputs import AdminSecret, Target
from verify.transport import UnreachableError

SHOWN = 3  # problems named in one line; the rest are counted
MESSAGE = 160  # characters of a Kubernetes message kept in a reason
# The chart's pods carry `release`; its bundled PostgreSQL (the bitnami subchart) the
# standard `app.kubernetes.io/instance` instead.
RELEASE_SELECTORS = ("release={release}", "app.kubernetes.io/instance={release}")
ESO_API = "/apis/external-secrets.io/v1"  # what ESO 2.9 serves (README: "the served API version")
LOGS_VOLUME = "logs"  # the chart's volume name for task logs; a claim behind it is the logs claim


def _short(value: Any, limit: int = MESSAGE) -> str:
    text = " ".join(str(value or "").split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _few(problems: list[str]) -> str:
    shown = "; ".join(problems[:SHOWN])
    return shown + (f"; and {len(problems) - SHOWN} more" if len(problems) > SHOWN else "")


def api_problem(name: str, err: ApiError | UnreachableError, what: str, server: str) -> Result:
    """A failed API call: 401 is final (the kubeconfig's credentials are refused); anything
    else is waited out (a 403 too: a new Azure RBAC grant takes minutes to reach the API server)."""
    if isinstance(err, UnreachableError):
        return waiting(name, f"the API server {server} is unreachable: {err}")
    if err.status == 401:
        return failed(name, f"{what}: 401 Unauthorized: the API server refused the kubeconfig's credentials")
    return waiting(name, f"{what}: {_short(str(err))}")


def check_api(kube: KubeClient) -> Result:
    try:
        version = kube.get_json("/version")
    except (ApiError, UnreachableError) as err:
        return api_problem("api", err, "GET /version", kube.server)
    return passed("api", f"Kubernetes {version.get('gitVersion') or 'version unknown'} at {kube.server}")


def _owner(obj: dict[str, Any]) -> dict[str, Any] | None:
    for ref in obj.get("metadata", {}).get("ownerReferences") or []:
        if isinstance(ref, dict) and ref.get("controller"):
            return ref
    return None


def component(pod: dict[str, Any]) -> str:
    labels = pod.get("metadata", {}).get("labels") or {}
    return str(
        labels.get("component")
        or labels.get("app.kubernetes.io/name")
        or labels.get("app.kubernetes.io/component")
        or pod.get("metadata", {}).get("name", "?")
    )


def _condition(obj: dict[str, Any], kind: str) -> dict[str, Any] | None:
    for cond in obj.get("status", {}).get("conditions") or []:
        if isinstance(cond, dict) and cond.get("type") == kind:
            return cond
    return None


def pod_problem(pod: dict[str, Any]) -> str | None:
    """Why a pod is not Ready (None when it is): a waiting container's reason and message, a
    failed init container, an unschedulable pod, or the phase."""
    ready = _condition(pod, "Ready")
    if ready is not None and ready.get("status") == "True":
        return None
    status = pod.get("status", {})
    for key in ("initContainerStatuses", "containerStatuses"):
        for cs in status.get(key) or []:
            state = cs.get("state") or {}
            if "waiting" in state:
                w = state["waiting"] or {}
                reason = w.get("reason") or "Waiting"
                return f"{cs.get('name')}: {reason}" + (f": {_short(w['message'])}" if w.get("message") else "")
            if key == "initContainerStatuses" and "terminated" in state and (state["terminated"] or {}).get("exitCode"):
                t = state["terminated"]
                return f"init container {cs.get('name')} exited {t.get('exitCode')} ({t.get('reason') or 'Error'})"
            if key == "containerStatuses" and not cs.get("ready"):
                restarts = cs.get("restartCount") or 0
                return f"{cs.get('name')} not ready" + (f" ({restarts} restarts)" if restarts else "")
    scheduled = _condition(pod, "PodScheduled")
    if scheduled is not None and scheduled.get("status") == "False":
        return f"{scheduled.get('reason') or 'not scheduled'}: {_short(scheduled.get('message'))}"
    if ready is not None and ready.get("message"):
        return f"{status.get('phase') or 'not ready'}: {_short(ready.get('message'))}"
    return str(status.get("phase") or "not ready")


@dataclass
class Pods:
    """The release's pods, listed once per round (the logs and health checks read them)."""

    items: list[dict[str, Any]] = field(default_factory=list)

    @property
    def workloads(self) -> list[dict[str, Any]]:
        """Pods a Deployment or StatefulSet keeps, not being deleted. Not: Job pods (their
        Job is judged) and pods with no controller (KubernetesExecutor task pods)."""
        out = []
        for pod in self.items:
            owner = _owner(pod)
            if owner is None or owner.get("kind") == "Job" or pod.get("metadata", {}).get("deletionTimestamp"):
                continue
            out.append(pod)
        return out

    @property
    def components(self) -> set[str]:
        return {component(pod) for pod in self.workloads}


def list_release_pods(kube: KubeClient, target: Target) -> Pods:
    found: dict[str, dict[str, Any]] = {}
    for selector in RELEASE_SELECTORS:
        for pod in kube.items(
            f"/api/v1/namespaces/{quote(target.namespace, safe='')}/pods",
            labelSelector=selector.format(release=target.release),
        ):
            meta = pod.get("metadata", {})
            found[str(meta.get("uid") or meta.get("name"))] = pod
    return Pods(sorted(found.values(), key=lambda p: str(p.get("metadata", {}).get("name"))))


def _job_state(job: dict[str, Any]) -> tuple[str, str]:
    """(complete | failed | running, detail)."""
    for kind, state in (("Complete", "complete"), ("Failed", "failed")):
        cond = _condition(job, kind)
        if cond is not None and cond.get("status") == "True":
            detail = ": ".join(_short(x) for x in (cond.get("reason"), cond.get("message")) if x)
            return state, detail
    status = job.get("status", {})
    return "running", f"active {status.get('active') or 0}, failed {status.get('failed') or 0}"


def check_pods(kube: KubeClient, target: Target, pods: Pods) -> Result:
    name = "pods"
    try:
        jobs = kube.items(
            f"/apis/batch/v1/namespaces/{quote(target.namespace, safe='')}/jobs",
            labelSelector=f"release={target.release}",
        )
    except (ApiError, UnreachableError) as err:
        return api_problem(name, err, "list Jobs", kube.server)
    workloads = pods.workloads
    if not workloads:
        return waiting(name, f"no pods of release {target.release!r} in namespace {target.namespace!r} yet")
    problems = []
    for pod in workloads:
        problem = pod_problem(pod)
        if problem:
            problems.append(f"{pod['metadata'].get('name')}: {problem}")
    job_states = {str(job.get("metadata", {}).get("name")): _job_state(job) for job in jobs}
    for job_name, (state, detail) in job_states.items():
        if state == "failed":
            return failed(name, f"Job {job_name} failed: {detail or 'no reason given'}")
    running = [f"Job {n} running ({d})" for n, (state, d) in job_states.items() if state == "running"]
    ready = len(workloads) - len(problems)
    if problems or running:
        return waiting(name, f"{ready}/{len(workloads)} pods ready; " + _few(problems + running))
    counts = Counter(component(pod) for pod in workloads)
    per = ", ".join(f"{c} {n}" for c, n in sorted(counts.items()))
    jobs_text = f"; {len(job_states)} Jobs complete" if job_states else ""
    return passed(name, f"{len(workloads)}/{len(workloads)} pods ready ({per}){jobs_text}")


def check_external_secrets(kube: KubeClient, target: Target) -> Result:
    name = "externalsecrets"
    try:
        items = kube.items(f"{ESO_API}/namespaces/{quote(target.namespace, safe='')}/externalsecrets")
    except ApiError as err:
        if err.status == 404:
            return waiting(
                name,
                f"the ExternalSecret API ({ESO_API.rsplit('/', 2)[-2]}/v1) is not served: is the operator installed?",
            )
        return api_problem(name, err, "list ExternalSecrets", kube.server)
    except UnreachableError as err:
        return api_problem(name, err, "list ExternalSecrets", kube.server)
    if not items:
        return waiting(name, f"no ExternalSecrets in namespace {target.namespace!r} (the stack creates them)")
    problems = []
    for es in items:
        cond = _condition(es, "Ready")
        es_name = es.get("metadata", {}).get("name")
        if cond is None:
            problems.append(f"{es_name}: no Ready condition yet")
        elif cond.get("status") != "True":
            why = ": ".join(_short(x) for x in (cond.get("reason"), cond.get("message")) if x) or "not Ready"
            problems.append(f"{es_name}: {why}")
    ready = len(items) - len(problems)
    if problems:
        return waiting(name, f"{ready}/{len(items)} Ready; " + _few(problems))
    return passed(name, f"{ready}/{len(items)} Ready")


def _latest_event(kube: KubeClient, namespace: str, kind: str, obj: str) -> str | None:
    try:
        events = kube.items(
            f"/api/v1/namespaces/{quote(namespace, safe='')}/events",
            fieldSelector=f"involvedObject.kind={kind},involvedObject.name={obj}",
        )
    except (ApiError, UnreachableError):
        return None

    def when(event: dict[str, Any]) -> str:
        return str(event.get("lastTimestamp") or event.get("eventTime") or "")

    events.sort(key=when)
    return f"{events[-1].get('reason')}: {_short(events[-1].get('message'))}" if events else None


def logs_claims(pods: Iterable[dict[str, Any]]) -> list[str]:
    """The claims the release's pods mount as their `logs` volume (logsMode pv: one)."""
    claims = set()
    for pod in pods:
        for volume in pod.get("spec", {}).get("volumes") or []:
            claim = (volume.get("persistentVolumeClaim") or {}).get("claimName")
            if volume.get("name") == LOGS_VOLUME and claim:
                claims.add(str(claim))
    return sorted(claims)


def check_logs_volume(kube: KubeClient, target: Target, pods: Pods) -> Result:
    name = "logs-volume"
    if not pods.workloads:
        return waiting(name, "no pods of the release yet to tell which claim holds the logs")
    claims = logs_claims(pods.items)
    if not claims:
        return passed(name, "no logs volume: no pod mounts a claim as `logs` (task logs go to remote storage)")
    try:
        found = {
            str(pvc.get("metadata", {}).get("name")): pvc
            for pvc in kube.items(f"/api/v1/namespaces/{quote(target.namespace, safe='')}/persistentvolumeclaims")
        }
    except (ApiError, UnreachableError) as err:
        return api_problem(name, err, "list PersistentVolumeClaims", kube.server)
    bound, problems = [], []
    for claim in claims:
        pvc = found.get(claim)
        if pvc is None:
            problems.append(f"{claim}: the pods mount it but it does not exist")
            continue
        phase = pvc.get("status", {}).get("phase")
        if phase == "Bound":
            size = (pvc.get("status", {}).get("capacity") or {}).get("storage")
            volume = pvc.get("spec", {}).get("volumeName")
            bound.append(f"{claim} Bound to {volume}" + (f" ({size})" if size else ""))
        elif phase == "Lost":
            return failed(name, f"{claim} is Lost: its volume {pvc.get('spec', {}).get('volumeName')} is gone")
        else:
            event = _latest_event(kube, target.namespace, "PersistentVolumeClaim", claim)
            problems.append(f"{claim} {phase or 'has no phase'}" + (f" ({event})" if event else ""))
    if problems:
        return waiting(name, _few(problems))
    return passed(name, ", ".join(bound))


def admin_password(kube: KubeClient, admin: AdminSecret, secret: Callable[[str], None]) -> str:
    """The admin password from its Secret (ApiError from the API; ValueError if the key is
    missing or not text). Registered with the redactor before it is returned."""
    obj = kube.get_json(f"/api/v1/namespaces/{quote(admin.namespace, safe='')}/secrets/{quote(admin.name, safe='')}")
    data = obj.get("data") or {}
    if admin.key not in data:
        raise ValueError(f"Secret {admin.namespace}/{admin.name} has no key {admin.key!r}")
    try:
        password = base64.b64decode(data[admin.key], validate=True).decode("utf-8")
    except (binascii.Error, ValueError, TypeError):
        raise ValueError(f"Secret {admin.namespace}/{admin.name} key {admin.key!r} is not base64 UTF-8 text") from None
    secret(password)
    return password

"""A fake Kubernetes API server for `python -m verify`: http.server on 127.0.0.1 (TLS optional,
client certificates optional) answering the few paths verify reads with objects in the shapes
the real API server gives (tests/verify/test_shapes.py validates them against the Kubernetes
OpenAPI schema and the External Secrets CRD), and a service proxy to a fake Airflow web server
(Airflow 2's FAB webserver or Airflow 3's API server: health, login, DAG runs).

Like the real API server, the proxy removes the Authorization header before forwarding
(k8s.io/apiserver pkg/endpoints/filters/authentication.go deletes it after authenticating).
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

NOW = "2025-06-02T10:00:00Z"
VERSION = {
    "major": "1",
    "minor": "33",
    "gitVersion": "v1.33.2",
    "gitCommit": "a57b6f7709f6c2722b92f07b8b4c48210a51fc40",
    "gitTreeState": "clean",
    "buildDate": "2025-06-17T18:30:00Z",
    "goVersion": "go1.24.4",
    "compiler": "gc",
    "platform": "linux/amd64",
}


def status(code: int, reason: str, message: str) -> dict[str, Any]:
    """The API server's error body (metav1.Status)."""
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }


def lst(kind: str, api_version: str, items: list[dict[str, Any]]) -> dict[str, Any]:
    return {"kind": kind, "apiVersion": api_version, "metadata": {"resourceVersion": "48213"}, "items": items}


# ------------------------------------------------------------------ objects
def _uid(name: str) -> str:
    digest = hashlib.sha256(name.encode()).hexdigest()
    return f"{digest[:8]}-{digest[8:12]}-{digest[12:16]}-{digest[16:20]}-{digest[20:32]}"


def pod(
    name: str,
    component: str,
    *,
    release: str = "airflow",
    namespace: str = "airflow",
    owner: tuple[str, str] | None = ("ReplicaSet", "rs"),
    ready: bool = True,
    waiting: tuple[str, str] | None = None,
    phase: str = "Running",
    logs_claim: str | None = None,
    labels: dict[str, str] | None = None,
    image: str = "airflowdevacr.azurecr.io/airflow:2.9.3",
) -> dict[str, Any]:
    """A Pod as `kubectl get pod -o json` shows it (the fields verify reads, and what the schema
    requires)."""
    meta: dict[str, Any] = {
        "name": name,
        "namespace": namespace,
        "uid": _uid(name),
        "resourceVersion": "48100",
        "creationTimestamp": "2025-06-02T09:50:00Z",
        "labels": labels if labels is not None else {"tier": "airflow", "component": component, "release": release},
    }
    if owner is not None:
        api = "batch/v1" if owner[0] == "Job" else "apps/v1"
        meta["ownerReferences"] = [
            {
                "apiVersion": api,
                "kind": owner[0],
                "name": owner[1],
                "uid": _uid(owner[1]),
                "controller": True,
                "blockOwnerDeletion": True,
            }
        ]
    volumes: list[dict[str, Any]] = [{"name": "config", "configMap": {"name": f"{release}-config"}}]
    if logs_claim:
        volumes.append({"name": "logs", "persistentVolumeClaim": {"claimName": logs_claim}})
    else:
        volumes.append({"name": "logs", "emptyDir": {}})
    container_status: dict[str, Any] = {
        "name": component,
        "image": image,
        "imageID": "",
        "ready": ready and waiting is None,
        "restartCount": 0,
        "started": ready and waiting is None,
        "state": {"running": {"startedAt": "2025-06-02T09:51:00Z"}},
    }
    if waiting is not None:
        container_status["state"] = {"waiting": {"reason": waiting[0], "message": waiting[1]}}
    if phase == "Succeeded":
        container_status["ready"] = False
        container_status["state"] = {
            "terminated": {
                "exitCode": 0,
                "reason": "Completed",
                "startedAt": "2025-06-02T09:50:10Z",
                "finishedAt": "2025-06-02T09:50:40Z",
            }
        }
    is_ready = ready and waiting is None and phase == "Running"
    conditions: list[dict[str, Any]] = [
        {"type": "PodReadyToStartContainers", "status": "True", "lastTransitionTime": "2025-06-02T09:50:05Z"},
        {"type": "Initialized", "status": "True", "lastTransitionTime": "2025-06-02T09:50:05Z"},
        {
            "type": "Ready",
            "status": "True" if is_ready else "False",
            "lastTransitionTime": "2025-06-02T09:51:30Z",
            **(
                {}
                if is_ready
                else {
                    "reason": "PodCompleted" if phase == "Succeeded" else "ContainersNotReady",
                    "message": f"containers with unready status: [{component}]",
                }
            ),
        },
        {"type": "ContainersReady", "status": "True" if is_ready else "False", "lastTransitionTime": NOW},
        {"type": "PodScheduled", "status": "True", "lastTransitionTime": "2025-06-02T09:50:00Z"},
    ]
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": meta,
        "spec": {
            "containers": [{"name": component, "image": image}],
            "volumes": volumes,
            "restartPolicy": "Never" if owner is None or owner[0] == "Job" else "Always",
            "serviceAccountName": f"{release}-{component}",
        },
        "status": {
            "phase": phase,
            "conditions": conditions,
            "containerStatuses": [container_status],
            "hostIP": "10.224.0.4",
            "podIP": "10.244.1.17",
            "qosClass": "Guaranteed",
            "startTime": "2025-06-02T09:50:00Z",
        },
    }


def unschedulable(p: dict[str, Any], message: str) -> dict[str, Any]:
    """A pod the scheduler could not place (Pending, no container started)."""
    p["status"] = {
        "phase": "Pending",
        "qosClass": "Guaranteed",
        "conditions": [
            {
                "type": "PodScheduled",
                "status": "False",
                "reason": "Unschedulable",
                "message": message,
                "lastTransitionTime": NOW,
            }
        ],
    }
    return p


def job(name: str, *, release: str = "airflow", state: str = "Complete", namespace: str = "airflow") -> dict[str, Any]:
    conditions: list[dict[str, Any]] = []
    status: dict[str, Any] = {"startTime": "2025-06-02T09:50:00Z", "ready": 0, "terminating": 0}
    if state == "Complete":
        conditions = [
            {"type": "SuccessCriteriaMet", "status": "True", "lastProbeTime": NOW, "lastTransitionTime": NOW},
            {"type": "Complete", "status": "True", "lastProbeTime": NOW, "lastTransitionTime": NOW},
        ]
        status.update(succeeded=1, completionTime="2025-06-02T09:50:40Z", uncountedTerminatedPods={})
    elif state == "Failed":
        conditions = [
            {
                "type": "FailureTarget",
                "status": "True",
                "reason": "BackoffLimitExceeded",
                "message": "Job has reached the specified backoff limit",
                "lastProbeTime": NOW,
                "lastTransitionTime": NOW,
            },
            {
                "type": "Failed",
                "status": "True",
                "reason": "BackoffLimitExceeded",
                "message": "Job has reached the specified backoff limit",
                "lastProbeTime": NOW,
                "lastTransitionTime": NOW,
            },
        ]
        status.update(failed=7, uncountedTerminatedPods={})
    else:
        status.update(active=1)
    if conditions:
        status["conditions"] = conditions
    component = name.removeprefix(f"{release}-")
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "uid": _uid(name),
            "labels": {"tier": "airflow", "component": component, "release": release},
        },
        "spec": {
            "backoffLimit": 6,
            "template": {
                "metadata": {"labels": {"tier": "airflow", "component": component, "release": release}},
                "spec": {"containers": [{"name": component, "image": "airflow:2.9.3"}], "restartPolicy": "OnFailure"},
            },
        },
        "status": status,
    }


def external_secret(record_inputs: dict[str, Any], ready: bool = True, message: str = "") -> dict[str, Any]:
    """An ExternalSecret as the stack creates it (its inputs) with the status ESO writes:
    a Ready condition (reason SecretSynced / SecretSyncedError)."""
    obj = {k: v for k, v in record_inputs.items() if k in ("apiVersion", "kind", "metadata", "spec")}
    obj["metadata"] = {**obj["metadata"], "uid": _uid(obj["metadata"]["name"]), "generation": 1}
    cond = {
        "type": "Ready",
        "status": "True" if ready else "False",
        "reason": "SecretSynced" if ready else "SecretSyncedError",
        "message": "secret synced" if ready else (message or "could not get secret data from provider"),
        "lastTransitionTime": NOW,
    }
    obj["status"] = {"conditions": [cond]}
    if ready:
        obj["status"].update(
            refreshTime=NOW,
            syncedResourceVersion="1-5d7f1c2a2f4ac2b31f0f5b1a8c1a2b3c",
            binding={"name": obj["metadata"]["name"]},
        )
    return obj


def pvc(
    name: str, *, phase: str = "Bound", volume: str = "pv-airflow-logs", namespace: str = "airflow"
) -> dict[str, Any]:
    status: dict[str, Any] = {"phase": phase}
    if phase == "Bound":
        status.update(accessModes=["ReadWriteMany"], capacity={"storage": "10Gi"})
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": name, "namespace": namespace, "uid": _uid(name)},
        "spec": {
            "accessModes": ["ReadWriteMany"],
            "resources": {"requests": {"storage": "10Gi"}},
            "storageClassName": "azureblob-fuse-premium",
            "volumeMode": "Filesystem",
            "volumeName": volume,
        },
        "status": status,
    }


def event(
    kind: str, name: str, reason: str, message: str, *, namespace: str = "airflow", at: str = NOW
) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": f"{name}.1844f2a9b7c1d0e3", "namespace": namespace},
        "involvedObject": {"kind": kind, "namespace": namespace, "name": name, "apiVersion": "v1", "uid": _uid(name)},
        "reason": reason,
        "message": message,
        "source": {"component": "persistentvolume-controller"},
        "firstTimestamp": at,
        "lastTimestamp": at,
        "count": 3,
        "type": "Warning",
    }


def secret(name: str, data: dict[str, str], namespace: str = "airflow") -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name, "namespace": namespace},
        "type": "Opaque",
        "data": {k: base64.b64encode(v.encode()).decode() for k, v in data.items()},
    }


# ------------------------------------------------------------------ Airflow's health documents
# airflow/api/common/airflow_health.py (2.x: status per component, null when it never ran) and
# check-health.rst: Airflow 2.9's /health and Airflow 3's /api/v2/monitor/health.
def health(
    *,
    scheduler: str = "healthy",
    triggerer: str | None = "healthy",
    dag_processor: str | None = None,
    metadatabase: str = "healthy",
    heartbeat: str = "2025-06-02T09:59:58.120431+00:00",
) -> dict[str, Any]:
    def beat(state: str | None) -> str | None:
        return heartbeat if state is not None else None

    return {
        "metadatabase": {"status": metadatabase},
        "scheduler": {"status": scheduler, "latest_scheduler_heartbeat": heartbeat},
        "triggerer": {"status": triggerer, "latest_triggerer_heartbeat": beat(triggerer)},
        "dag_processor": {"status": dag_processor, "latest_dag_processor_heartbeat": beat(dag_processor)},
    }


# ------------------------------------------------------------------ a fake Airflow web server
@dataclass
class Reply:
    status: int
    body: bytes = b""
    headers: list[tuple[str, str]] = field(default_factory=list)

    @classmethod
    def of(cls, status: int, obj: Any, *headers: tuple[str, str]) -> Reply:
        return cls(status, json.dumps(obj).encode(), [("Content-Type", "application/json"), *headers])


@dataclass
class FakeAirflow:
    """Airflow 2's webserver (`/health`, FAB login form, session-cookie /api/v1) or Airflow 3's
    API server (`/api/v2/monitor/health`, POST /auth/token, JWT on /api/v2)."""

    major: int
    username: str = "admin"
    password: str = ""
    health: dict[str, Any] = field(default_factory=health)
    dags: dict[str, bool] = field(default_factory=lambda: {"example_smoke": False})  # dag_id -> is_paused
    run_states: list[str] = field(default_factory=lambda: ["queued", "running", "success"])
    accept_jwt_cookie: bool = True  # Airflow 3: does get_user fall back to the `_token` cookie?
    seen: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)
    runs: dict[str, list[str]] = field(default_factory=dict)
    _csrf: str = field(default_factory=lambda: secrets.token_urlsafe(16))
    _sessions: set[str] = field(default_factory=set)
    _tokens: set[str] = field(default_factory=set)

    def handle(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Reply:
        self.seen.append((method, path, dict(headers)))
        parts = urlsplit(path)
        route = parts.path
        kind = headers.get("content-type", "").split(";")[0]
        if body and route == "/login/" and kind != "application/x-www-form-urlencoded":
            return Reply(400, b"<p>The CSRF token is missing.</p>", [("Content-Type", "text/html")])  # no form
        if body and route != "/login/" and kind != "application/json":  # FastAPI / connexion
            return Reply.of(
                422, {"detail": [{"type": "model_attributes_type", "msg": "Input should be a valid dictionary"}]}
            )
        if self.major == 2:
            if route == "/health" and method == "GET":
                return Reply.of(200, self.health)
            if route == "/login/":
                return self._login(method, headers, body)
            if route.startswith("/api/v1/"):
                if not self._session_ok(headers):
                    return Reply.of(
                        401,
                        {
                            "detail": None,
                            "status": 401,
                            "title": "Unauthorized",
                            "type": "https://airflow.apache.org/docs/apache-airflow/2.9.3/stable-rest-api-ref.html#section/Errors/Unauthenticated",
                        },
                    )
                return self._api(method, route.removeprefix("/api/v1"), body)
        else:
            if route == "/api/v2/monitor/health" and method == "GET":
                return Reply.of(200, self.health)
            if route == "/auth/token" and method == "POST":
                creds = json.loads(body or b"{}")
                if creds.get("username") != self.username or creds.get("password") != self.password:
                    return Reply.of(401, {"detail": "Invalid credentials"})
                token = "eyJhbGciOiJIUzUxMiJ9." + secrets.token_urlsafe(24)
                self._tokens.add(token)
                return Reply.of(201, {"access_token": token})
            if route.startswith("/api/v2/"):
                if not self._jwt_ok(headers):
                    return Reply.of(401, {"detail": "Not authenticated"}, ("WWW-Authenticate", "Bearer"))
                return self._api(method, route.removeprefix("/api/v2"), body)
        return Reply.of(404, {"detail": "Not Found"})

    def _cookies(self, headers: dict[str, str]) -> dict[str, str]:
        jar: dict[str, str] = {}
        for part in headers.get("cookie", "").split(";"):
            if "=" in part:
                key, value = part.strip().split("=", 1)
                jar[key] = value
        return jar

    def _session_ok(self, headers: dict[str, str]) -> bool:
        return self._cookies(headers).get("session") in self._sessions

    def _jwt_ok(self, headers: dict[str, str]) -> bool:
        auth = headers.get("authorization", "")
        if auth.startswith("Bearer ") and auth[7:] in self._tokens:
            return True
        return self.accept_jwt_cookie and self._cookies(headers).get("_token") in self._tokens

    def _login(self, method: str, headers: dict[str, str], body: bytes) -> Reply:
        anon = "anon-" + secrets.token_urlsafe(8)
        if method == "GET":
            page = (
                '<html><body><form class="form" action="" method="post" name="login">'
                f'<input id="csrf_token" name="csrf_token" type="hidden" value="{self._csrf}">'
                '<input class="form-control" id="username" name="username" type="text" value="">'
                '<input class="form-control" id="password" name="password" type="password" value="">'
                "</form></body></html>"
            ).encode()
            return Reply(
                200,
                page,
                [
                    ("Content-Type", "text/html; charset=utf-8"),
                    ("Set-Cookie", f"session={anon}; HttpOnly; Path=/; SameSite=Lax"),
                ],
            )
        form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
        if form.get("csrf_token") != self._csrf or not self._cookies(headers).get("session", "").startswith("anon-"):
            return Reply(400, b"<p>The CSRF token is missing.</p>", [("Content-Type", "text/html")])
        if form.get("username") != self.username or form.get("password") != self.password:
            return Reply(302, b"", [("Location", "/login/"), ("Set-Cookie", f"session={anon}; HttpOnly; Path=/")])
        session = "authed-" + secrets.token_urlsafe(16)
        self._sessions.add(session)
        return Reply(
            302, b"", [("Location", "/home"), ("Set-Cookie", f"session={session}; HttpOnly; Path=/; SameSite=Lax")]
        )

    def _api(self, method: str, route: str, body: bytes) -> Reply:
        segments = [unquote(s) for s in route.strip("/").split("/")]
        if len(segments) >= 2 and segments[0] == "dags":
            dag_id = segments[1]
            if dag_id not in self.dags:
                return Reply.of(
                    404, {"detail": f"DAG with dag_id: '{dag_id}' not found", "status": 404, "title": "DAG not found"}
                )
            if len(segments) == 2 and method == "GET":
                return Reply.of(200, {"dag_id": dag_id, "is_paused": self.dags[dag_id], "is_active": True})
            if len(segments) == 2 and method == "PATCH":
                self.dags[dag_id] = bool(json.loads(body).get("is_paused"))
                return Reply.of(200, {"dag_id": dag_id, "is_paused": self.dags[dag_id]})
            if len(segments) == 3 and segments[2] == "dagRuns" and method == "POST":
                request = json.loads(body)
                if self.major >= 3 and "logical_date" not in request:
                    return Reply.of(
                        422, {"detail": [{"type": "missing", "loc": ["body", "logical_date"], "msg": "Field required"}]}
                    )
                run_id = request.get("dag_run_id") or f"manual__{NOW}"
                self.runs[run_id] = list(self.run_states)
                return Reply.of(200, {"dag_run_id": run_id, "dag_id": dag_id, "state": "queued"})
            if len(segments) == 4 and segments[2] == "dagRuns" and method == "GET":
                states = self.runs.get(segments[3])
                if states is None:
                    return Reply.of(404, {"detail": "DagRun not found"})
                state = states.pop(0) if len(states) > 1 else states[0]
                return Reply.of(200, {"dag_run_id": segments[3], "dag_id": dag_id, "state": state})
        return Reply.of(404, {"detail": "Not Found"})


# ------------------------------------------------------------------ the fake API server
@dataclass
class FakeCluster:
    namespace: str = "airflow"
    token: str | None = None  # the bearer token required (None: any request is authenticated)
    forbidden: bool = False  # authenticated, but RBAC denies everything namespaced
    secrets_forbidden: bool = False  # ... or only Secrets
    pods: list[dict[str, Any]] = field(default_factory=list)
    jobs: list[dict[str, Any]] = field(default_factory=list)
    external_secrets: list[dict[str, Any]] | None = field(default_factory=list)  # None: CRD not installed
    pvcs: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    secrets: dict[str, dict[str, Any]] = field(default_factory=dict)
    service: str = "airflow-webserver"
    port: int = 8080
    endpoints: bool = True  # False: the Service has no ready endpoints
    unreachable_service: bool = False  # the proxy cannot dial the pod (a NetworkPolicy)
    airflow: FakeAirflow | None = None
    # round number (counted on GET /version) -> a change made to the cluster before answering
    script: dict[int, Callable[[FakeCluster], None]] = field(default_factory=dict)
    rounds: int = 0
    requests: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)

    def answer(self, method: str, target: str, headers: dict[str, str], body: bytes) -> Reply:
        self.requests.append((method, target, dict(headers)))
        parts = urlsplit(target)
        path, query = parts.path, {k: v[0] for k, v in parse_qs(parts.query).items()}
        if self.token is not None and headers.get("authorization") != f"Bearer {self.token}":
            return Reply.of(401, status(401, "Unauthorized", "Unauthorized"))
        if path == "/version":
            self.rounds += 1
            change = self.script.get(self.rounds)
            if change is not None:
                change(self)
            return Reply.of(200, VERSION)
        if self.forbidden:
            return Reply.of(
                403,
                status(
                    403,
                    "Forbidden",
                    'pods is forbidden: User "alice@contoso.com" cannot list resource "pods" in API group "" '
                    f'in the namespace "{self.namespace}": User does not have access to the resource in Azure. '
                    "Update role assignment to allow access.",
                ),
            )
        ns = f"/api/v1/namespaces/{self.namespace}"
        if path == f"{ns}/pods" and method == "GET":
            return Reply.of(200, lst("PodList", "v1", _select(self.pods, query.get("labelSelector"))))
        if path == f"/apis/batch/v1/namespaces/{self.namespace}/jobs":
            return Reply.of(200, lst("JobList", "batch/v1", _select(self.jobs, query.get("labelSelector"))))
        if path == f"/apis/external-secrets.io/v1/namespaces/{self.namespace}/externalsecrets":
            if self.external_secrets is None:
                return Reply.of(404, status(404, "NotFound", "the server could not find the requested resource"))
            return Reply.of(200, lst("ExternalSecretList", "external-secrets.io/v1", self.external_secrets))
        if path == f"{ns}/persistentvolumeclaims":
            return Reply.of(200, lst("PersistentVolumeClaimList", "v1", self.pvcs))
        if path == f"{ns}/events":
            wanted = dict(pair.split("=", 1) for pair in (query.get("fieldSelector") or "").split(",") if "=" in pair)
            items = [
                e
                for e in self.events
                if all(e["involvedObject"].get(k.split(".", 1)[1]) == v for k, v in wanted.items())
            ]
            return Reply.of(200, lst("EventList", "v1", items))
        if path.startswith(f"{ns}/secrets/"):
            name = path.rsplit("/", 1)[1]
            if self.secrets_forbidden:
                return Reply.of(
                    403, status(403, "Forbidden", f'secrets "{name}" is forbidden: User cannot get resource "secrets"')
                )
            if name not in self.secrets:
                return Reply.of(404, status(404, "NotFound", f'secrets "{name}" not found'))
            return Reply.of(200, self.secrets[name])
        prefix = f"{ns}/services/"
        if path.startswith(prefix) and "/proxy" in path:
            ref, _, rest = path[len(prefix) :].partition("/proxy")
            if ref != f"{self.service}:{self.port}":
                return Reply.of(404, status(404, "NotFound", f'services "{ref.split(":")[0]}" not found'))
            if not self.endpoints:
                return Reply.of(
                    503, status(503, "ServiceUnavailable", f'no endpoints available for service "{self.service}"')
                )
            if self.unreachable_service:
                return Reply.of(
                    503,
                    status(
                        503,
                        "ServiceUnavailable",
                        "error trying to reach service: dial tcp 10.244.1.17:8080: i/o timeout",
                    ),
                )
            if self.airflow is None:
                return Reply.of(503, status(503, "ServiceUnavailable", "no Airflow behind this fake"))
            forwarded = {k: v for k, v in headers.items() if k != "authorization"}  # as the API server does
            reply = self.airflow.handle(
                method, (rest or "/") + (f"?{parts.query}" if parts.query else ""), forwarded, body
            )
            for index, (key, value) in enumerate(reply.headers):  # the proxy rewrites redirects under itself
                if key == "Location" and value.startswith("/"):
                    reply.headers[index] = (key, f"{ns}/services/{ref}/proxy{value}")
            return reply
        return Reply.of(404, status(404, "NotFound", "the server could not find the requested resource"))


def _select(items: list[dict[str, Any]], selector: str | None) -> list[dict[str, Any]]:
    if not selector:
        return list(items)
    key, _, value = selector.partition("=")
    return [i for i in items if (i["metadata"].get("labels") or {}).get(key) == value]


class FakeServer:
    """Serves `answer(method, path, headers, body) -> Reply` on 127.0.0.1 (https with `tls`)."""

    def __init__(
        self, answer: Callable[[str, str, dict[str, str], bytes], Reply], tls: ssl.SSLContext | None = None
    ) -> None:
        handler = _handler(answer)
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.daemon_threads = True
        self.httpd.handle_error = lambda *_: None  # type: ignore[method-assign] # a refused TLS handshake is a test
        if tls is not None:
            self.httpd.socket = tls.wrap_socket(self.httpd.socket, server_side=True)
        self.scheme = "https" if tls is not None else "http"
        self.url = f"{self.scheme}://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)

    def __enter__(self) -> FakeServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def _handler(answer: Callable[[str, str, dict[str, str], bytes], Reply]) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            headers = {k.lower(): v for k, v in self.headers.items()}
            reply = answer(self.command, self.path, headers, body)
            self.send_response(reply.status)
            for key, value in reply.headers:
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(reply.body)))
            self.end_headers()
            self.wfile.write(reply.body)

        do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _serve  # noqa: N815 - http.server's names

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler

"""Airflow over HTTP: its health endpoint, and (--trigger-dag) a DAG run through its REST API.

Reached through the API server's service proxy to the UI Service (no port-forward, no
network path into the cluster needed), or at --airflow-url (for example a `kubectl
port-forward` you run yourself).

The health document (check-health.rst of each line; airflow/api/common/airflow_health.py):
`metadatabase`, `scheduler`, `triggerer`, `dag_processor`, each `{"status": "healthy" |
"unhealthy" | null, "latest_<component>_heartbeat": <iso time> | null}`; a component that never
ran has a null status (Airflow 3 may give `"dag_processor": null`). The HTTP status is 200
whatever the health: only the document counts. Here the metadatabase and the scheduler must be
healthy, and so must the triggerer and the DAG processor when the release runs pods of them;
one the release does not run is "not deployed" whatever its stale status.

Signing in for --trigger-dag, with the admin user and the password in the Secret the
`adminCredentialsSecret` output names:
- Airflow 2 (the FAB webserver): the login form (GET /login/ for its CSRF token, POST it with
  the user and password), then the session cookie on /api/v1. Not basic auth: Airflow 2.9's
  default `[api] auth_backends` is the session backend (the chart and the stack set no other),
  and through the service proxy the API server removes the Authorization header of every
  request it authenticates (k8s.io/apiserver filters/authentication.go), so no Airflow
  credential can travel in that header.
- Airflow 3: POST /auth/token {"username", "password"} (201, {"access_token"}), then /api/v2
  with the token: as `Authorization: Bearer` when Airflow is reached directly, and as the
  `_token` cookie through the proxy (the header would be removed). Airflow releases whose
  public API reads only the header answer 401 through the proxy: use --airflow-url then.
"""

from __future__ import annotations

import json
import secrets
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from html.parser import HTMLParser
from http.cookies import CookieError, SimpleCookie
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

from verify.kube import ApiError, KubeClient, service_proxy_path, status_error
from verify.model import Result, failed, passed, waiting
from verify.outputs import Target
from verify.transport import Endpoint, Response, UnreachableError

HEALTHY = "healthy"
REQUIRED_COMPONENTS = ("metadatabase", "scheduler")
# health document key -> the chart's `component` label of the pods that run it
COMPONENT_PODS = {"triggerer": "triggerer", "dag_processor": "dag-processor"}
ORDER = ("metadatabase", "scheduler", "triggerer", "dag_processor")
JWT_COOKIE = "_token"  # Airflow 3's COOKIE_NAME_JWT_TOKEN
PROXY_HINT = (
    " (the API server cannot reach the pods: a NetworkPolicy admitting only Airflow's pods? "
    "run `kubectl port-forward` and pass --airflow-url)"
)

Send = Callable[[str, str, dict[str, str], bytes | None], Response]


class AirflowHttp:
    """Requests to Airflow's web server, with a cookie jar (session cookies are secrets)."""

    def __init__(self, send: Send, where: str, *, proxied: bool, secret: Callable[[str], None]) -> None:
        self._send = send
        self.where = where
        self.proxied = proxied
        self.secret = secret
        self.cookies: dict[str, str] = {}
        self.timeout = 30.0  # per request (at a URL; through the proxy the KubeClient's)

    @classmethod
    def through_proxy(cls, kube: KubeClient, target: Target, secret: Callable[[str], None]) -> AirflowHttp:
        def send(method: str, path: str, headers: dict[str, str], body: bytes | None) -> Response:
            proxied = service_proxy_path(target.namespace, target.ui_service, target.ui_port, path)
            return kube.request(method, proxied, headers=headers, body=body)

        return cls(send, f"svc/{target.ui_service}:{target.ui_port}", proxied=True, secret=secret)

    @classmethod
    def at_url(cls, url: str, secret: Callable[[str], None], trust: str | None = None) -> AirflowHttp:
        """Airflow at `url`; `trust`: a PEM certificate trusted besides the system's CAs (the
        UI's own, self-signed when the stack generated it)."""
        ctx = ssl.create_default_context()
        if trust:
            try:
                ctx.load_verify_locations(cadata=trust)
            except (ssl.SSLError, ValueError) as err:
                raise ValueError(f"the UI certificate (airflowUiCertificate) cannot be trusted: {err}") from None
        endpoint = Endpoint(url, ctx)

        def send(method: str, path: str, headers: dict[str, str], body: bytes | None) -> Response:
            return endpoint.send(method, path, headers=headers, body=body, timeout=http.timeout)

        http = cls(send, endpoint.url, proxied=False, secret=secret)
        return http

    def request(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        form: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> Response:
        sent = {"Accept": "application/json", **(headers or {})}
        body: bytes | None = None
        if json_body is not None:
            body, sent["Content-Type"] = json.dumps(json_body).encode(), "application/json"
        elif form is not None:
            body, sent["Content-Type"] = urlencode(form).encode(), "application/x-www-form-urlencoded"
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        resp = self._send(method, path, sent, body)
        for header in resp.all("Set-Cookie"):
            jar: SimpleCookie = SimpleCookie()
            try:
                jar.load(header)
            except CookieError:
                continue
            for name, morsel in jar.items():
                self.secret(morsel.value)
                self.cookies[name] = morsel.value
        return resp

    def problem(self, resp: Response, what: str) -> str:
        """Why `resp` is not the answer wanted: the API server's proxy error, or Airflow's."""
        if self.proxied and _is_status(resp):
            err = status_error(resp)
            hint = PROXY_HINT if "error trying to reach service" in err.message else ""
            return f"{what}: the API server's proxy answered {err}{hint}"
        return f"{what}: HTTP {resp.status}: {resp.text(200)}"


def _is_status(resp: Response) -> bool:
    try:
        body = resp.json()
    except ValueError:
        return False
    return isinstance(body, dict) and body.get("kind") == "Status"


def _age(heartbeat: Any, now: datetime) -> str:
    if not isinstance(heartbeat, str):
        return "no heartbeat"
    try:
        seen = datetime.fromisoformat(heartbeat)
    except ValueError:
        return f"last heartbeat {heartbeat}"
    if seen.tzinfo is None:
        seen = seen.replace(tzinfo=UTC)
    return f"last heartbeat {(now - seen).total_seconds():.0f}s ago"


def evaluate_health(doc: Any, deployed: set[str], now: datetime | None = None) -> tuple[bool, str]:
    """(all healthy, one-line summary) of a health document; `deployed` holds the `component`
    labels of the release's pods."""
    now = now or datetime.now(UTC)
    if not isinstance(doc, dict) or not all(isinstance(doc.get(key), dict) for key in REQUIRED_COMPONENTS):
        has = ", ".join(sorted(map(str, doc))) if isinstance(doc, dict) else type(doc).__name__
        return False, f"not an Airflow health document (has: {has or 'nothing'})"
    keys = [k for k in ORDER if k in doc] + sorted(k for k in doc if k not in ORDER)
    ok, parts = True, []
    for key in keys:
        value = doc[key]
        runs = key in REQUIRED_COMPONENTS or key not in COMPONENT_PODS or COMPONENT_PODS[key] in deployed
        if value is not None and not isinstance(value, dict):
            continue
        status = value.get("status") if value is not None else None
        if key not in ORDER and status is None:
            continue  # a key this version does not know, without a status: nothing to judge
        if status == HEALTHY:
            parts.append(f"{key} healthy")
        elif not runs:
            parts.append(f"{key} not deployed")
        else:
            ok = False
            heartbeat = next((v for k, v in (value or {}).items() if k.startswith("latest_")), None)
            parts.append(f"{key} {status or 'not reporting'} ({_age(heartbeat, now)})")
    return ok, ", ".join(parts)


def check_health(http: AirflowHttp, target: Target, deployed: set[str]) -> Result:
    name = "health"
    paths = target.health_paths
    for index, path in enumerate(paths):
        where = f"{http.where}{path}"
        try:
            resp = http.request("GET", path)
        except UnreachableError as err:
            return waiting(name, f"{where}: {err}")
        if resp.status == 404 and index + 1 < len(paths) and not _is_status(resp):
            continue  # the other Airflow line's path
        if resp.status != 200:
            if http.proxied and _is_status(resp) and resp.status == 401:
                return failed(name, http.problem(resp, where))
            return waiting(name, http.problem(resp, where))
        try:
            doc = resp.json()
        except ValueError:
            return waiting(name, f"{where}: the answer is not JSON: {resp.text(120)}")
        ok, summary = evaluate_health(doc, deployed)
        return passed(name, f"{path}: {summary}") if ok else waiting(name, f"{path}: {summary}")
    return waiting(name, f"{http.where}: no health endpoint answered ({', '.join(paths)})")  # pragma: no cover


class _CsrfField(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.value: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "input" and found.get("name") == "csrf_token" and self.value is None:
            self.value = found.get("value")


def csrf_token(html: str) -> str | None:
    parser = _CsrfField()
    parser.feed(html)
    return parser.value


TERMINAL_STATES = ("success", "failed")


@dataclass
class DagRunCheck:
    """--trigger-dag: sign in, trigger one run of `dag_id`, then follow it to success. Each
    `step` does what the last one left to do and says where things are."""

    http: AirflowHttp
    dag_id: str
    airflow_major: int
    username: str
    password: Callable[[], str]  # read from the Secret only when first needed
    unpause: bool = False
    token: str | None = None
    signed_in: bool = False
    run_id: str | None = None
    name: str = "dag-run"

    @property
    def api(self) -> str:
        return "/api/v2" if self.airflow_major >= 3 else "/api/v1"

    def _headers(self) -> dict[str, str]:
        if self.token and not self.http.proxied:
            return {"Authorization": f"Bearer {self.token}"}
        return {}

    def _call(self, method: str, path: str, body: Any = None) -> Response:
        return self.http.request(method, self.api + path, json_body=body, headers=self._headers())

    def _refused(self, resp: Response, what: str) -> Result:
        hint = ""
        if self.http.proxied and resp.status == 401:
            hint = (
                " (through the API server's proxy Airflow gets no Authorization header: "
                "run `kubectl port-forward` and pass --airflow-url)"
            )
        return failed(self.name, f"{self.http.problem(resp, what)}{hint}")

    def _sign_in(self) -> Result | None:
        password = self.password()
        self.http.secret(password)
        if self.airflow_major >= 3:
            resp = self.http.request("POST", "/auth/token", json_body={"username": self.username, "password": password})
            if resp.status in (401, 403):
                return failed(self.name, f"POST /auth/token: the admin user {self.username!r} was refused")
            if resp.status not in (200, 201):
                return waiting(self.name, self.http.problem(resp, "POST /auth/token"))
            try:
                token = resp.json().get("access_token")
            except (ValueError, AttributeError):
                token = None
            if not isinstance(token, str) or not token:
                return waiting(self.name, "POST /auth/token: no access_token in the answer")
            self.http.secret(token)
            self.token = token
            if self.http.proxied:
                self.http.cookies[JWT_COOKIE] = token
            self.signed_in = True
            return None
        page = self.http.request("GET", "/login/", headers={"Accept": "text/html"})
        if page.status != 200:
            return waiting(self.name, self.http.problem(page, "GET /login/"))
        csrf = csrf_token(page.body.decode("utf-8", "replace"))
        if not csrf:
            return waiting(self.name, "GET /login/: no csrf_token field in the login form")
        self.http.secret(csrf)
        form = {"csrf_token": csrf, "username": self.username, "password": password}
        resp = self.http.request("POST", "/login/", form=form, headers={"Accept": "text/html"})
        location = urlsplit(resp.header("Location") or "").path
        if resp.status not in (302, 303) or location.rstrip("/").endswith("/login"):
            return failed(self.name, f"POST /login/: the admin user {self.username!r} was refused (HTTP {resp.status})")
        self.signed_in = True
        return None

    def step(self) -> Result:
        try:
            return self._step()
        except UnreachableError as err:
            return waiting(self.name, f"{self.http.where}: {err}")
        except ApiError as err:  # reading the admin password's Secret
            if err.status in (401, 404):
                return failed(self.name, f"the admin password's Secret: {err}")
            return waiting(self.name, f"the admin password's Secret: {err}")
        except ValueError as err:
            return failed(self.name, str(err))

    def _step(self) -> Result:
        dag = quote(self.dag_id, safe="")
        if not self.signed_in:
            refused = self._sign_in()
            if refused is not None:
                return refused
        if self.run_id is None:
            resp = self._call("GET", f"/dags/{dag}")
            if resp.status in (401, 403):
                return self._refused(resp, f"GET {self.api}/dags/{self.dag_id}")
            if resp.status == 404:
                return waiting(self.name, f"DAG {self.dag_id!r} not found (not parsed yet, or not in the DAGs folder)")
            if resp.status != 200:
                return waiting(self.name, self.http.problem(resp, f"GET {self.api}/dags/{self.dag_id}"))
            paused = _field(resp, "is_paused")
            if paused and not self.unpause:
                return failed(self.name, f"DAG {self.dag_id!r} is paused: unpause it, or pass --unpause")
            if paused:
                resp = self._call("PATCH", f"/dags/{dag}?update_mask=is_paused", {"is_paused": False})
                if resp.status != 200:
                    return self._refused(resp, f"PATCH {self.api}/dags/{self.dag_id}")
            run_id = f"verify__{datetime.now(UTC):%Y%m%dT%H%M%S}_{secrets.token_hex(3)}"
            body: dict[str, Any] = {"dag_run_id": run_id, "conf": {}}
            if self.airflow_major >= 3:
                body["logical_date"] = None
            resp = self._call("POST", f"/dags/{dag}/dagRuns", body)
            if resp.status in (401, 403):
                return self._refused(resp, f"POST {self.api}/dags/{self.dag_id}/dagRuns")
            if resp.status not in (200, 201):
                return failed(self.name, self.http.problem(resp, f"POST {self.api}/dags/{self.dag_id}/dagRuns"))
            self.run_id = str(_field(resp, "dag_run_id") or run_id)
            return waiting(self.name, f"{self.dag_id}: run {self.run_id} triggered")
        resp = self._call("GET", f"/dags/{dag}/dagRuns/{quote(self.run_id, safe='')}")
        if resp.status != 200:
            return waiting(self.name, self.http.problem(resp, f"GET the run {self.run_id}"))
        state = _field(resp, "state")
        if state == "success":
            return passed(self.name, f"{self.dag_id}: run {self.run_id} succeeded")
        if state == "failed":
            return failed(self.name, f"{self.dag_id}: run {self.run_id} failed (see its task logs in the UI)")
        return waiting(self.name, f"{self.dag_id}: run {self.run_id} {state or 'in an unknown state'}")


def _field(resp: Response, key: str) -> Any:
    try:
        body = resp.json()
    except ValueError:
        return None
    return body.get(key) if isinstance(body, dict) else None

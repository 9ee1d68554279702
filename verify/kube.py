"""The Kubernetes API, as verify uses it: authenticated GETs of lists and objects, and requests
through the API server's service proxy (`/api/v1/namespaces/<ns>/services/<name>:<port>/proxy/`).

A 401 with exec credentials runs the plugin again and retries once (its token may have just
expired); the API server's own error answers (a `Status` object) become ApiError with the
server's message.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlencode

from verify.kubeconfig import ClusterAccess
from verify.transport import Endpoint, Response

REQUEST_TIMEOUT = 30.0


class ApiError(Exception):
    """An HTTP error answer: its status code, the Kubernetes `reason` and `message` when the
    body is a Status object (else the body's first characters)."""

    def __init__(self, status: int, reason: str, message: str) -> None:
        super().__init__(f"{status} {reason}: {message}" if reason else f"{status}: {message}")
        self.status = status
        self.reason = reason
        self.message = message


def status_error(resp: Response) -> ApiError:
    reason, message = "", resp.text()
    try:
        body = resp.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and body.get("kind") == "Status":
        reason = str(body.get("reason") or "")
        message = " ".join(str(body.get("message") or "").split()) or message
    return ApiError(resp.status, reason, message)


class KubeClient:
    def __init__(self, access: ClusterAccess, timeout: float = REQUEST_TIMEOUT) -> None:
        self.access = access
        self.timeout = timeout
        self._endpoint: Endpoint | None = None

    @property
    def server(self) -> str:
        return self.access.server

    def _connect(self) -> Endpoint:
        if self._endpoint is None:
            self._endpoint = self.access.endpoint()
        return self._endpoint

    def request(
        self, method: str, path: str, *, headers: dict[str, str] | None = None, body: bytes | None = None
    ) -> Response:
        """One authenticated request (raises transport.UnreachableError when nothing answers)."""
        creds = self.access.credentials
        for attempt in range(2):
            sent = {"Accept": "application/json", **(headers or {}), **creds.headers()}
            resp = self._connect().send(method, path, headers=sent, body=body, timeout=self.timeout)
            if resp.status != 401 or attempt == 1 or not creds.refresh():
                return resp
            self._endpoint = None  # a new client certificate needs a new TLS context
        return resp  # pragma: no cover - the loop always returns

    def get_json(self, path: str, **query: str) -> dict[str, Any]:
        """GET a Kubernetes object or list; ApiError unless 200 with a JSON object."""
        if query:
            path = f"{path}?{urlencode(query)}"
        resp = self.request("GET", path)
        if resp.status != 200:
            raise status_error(resp)
        try:
            body = resp.json()
        except ValueError:
            raise ApiError(resp.status, "NotJSON", f"the answer to GET {path} is not JSON") from None
        if not isinstance(body, dict):
            raise ApiError(resp.status, "NotAnObject", f"the answer to GET {path} is not a JSON object")
        return body

    def items(self, path: str, **query: str) -> list[dict[str, Any]]:
        """The items of a list GET (objects only)."""
        items = self.get_json(path, **query).get("items") or []
        return [item for item in items if isinstance(item, dict)]


def service_proxy_path(namespace: str, service: str, port: int, path: str) -> str:
    """The API server's proxy to `service`'s `port`, then `path` on it."""
    return f"/api/v1/namespaces/{quote(namespace, safe='')}/services/{quote(service, safe='')}:{port}/proxy{path}"

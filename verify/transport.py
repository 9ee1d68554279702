"""HTTP on the standard library: one endpoint (scheme, host, port, path prefix, TLS context),
one request per connection, every answer read whole. No redirects are followed.

Used for the Kubernetes API server (its TLS context carries the cluster's CA and any client
certificate) and, with --airflow-url, for Airflow itself.
"""

from __future__ import annotations

import http.client
import json
import socket
import ssl
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

MAX_BODY = 64 * 1024 * 1024  # a PodList of a busy namespace is a few MiB


class UnreachableError(Exception):
    """No HTTP answer: DNS, connection refused, timeout, TLS handshake or certificate."""


@dataclass(frozen=True)
class Response:
    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes

    def header(self, name: str) -> str | None:
        found = self.all(name)
        return found[0] if found else None

    def all(self, name: str) -> list[str]:
        return [value for key, value in self.headers if key.lower() == name.lower()]

    def json(self) -> Any:
        """The body as JSON (ValueError if it is not)."""
        return json.loads(self.body.decode("utf-8"))

    def text(self, limit: int = 300) -> str:
        """The body as one printable line, cut at `limit` characters."""
        text = " ".join(self.body.decode("utf-8", "replace").split())
        text = "".join(ch if ch.isprintable() else "?" for ch in text)
        return text if len(text) <= limit else text[: limit - 3] + "..."


class _TLSConnection(http.client.HTTPSConnection):
    """An HTTPS connection that can verify the server under another name than the host it
    dials (a kubeconfig's `tls-server-name`)."""

    def __init__(self, host: str, port: int | None, *, ctx: ssl.SSLContext, server_name: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout, context=ctx)
        self._ctx = ctx
        self._server_name = server_name

    def connect(self) -> None:
        sock = socket.create_connection((self.host, self.port), self.timeout)
        self.sock = self._ctx.wrap_socket(sock, server_hostname=self._server_name)


def describe_error(err: BaseException) -> str:
    """A short reason for a failed connection (no secret can be in it: it names the network)."""
    if isinstance(err, ssl.SSLCertVerificationError):
        return f"TLS certificate not trusted: {err.verify_message or err.reason}"
    if isinstance(err, ssl.SSLError):
        return f"TLS error: {err.reason or err}"
    if isinstance(err, socket.gaierror):
        return f"name not resolved ({err.strerror})"
    if isinstance(err, TimeoutError | socket.timeout):
        return "timed out"
    if isinstance(err, OSError) and err.strerror:
        return err.strerror.lower()
    return type(err).__name__


class Endpoint:
    """`scheme://host[:port][/prefix]` with the TLS context to reach it."""

    def __init__(self, url: str, ctx: ssl.SSLContext | None = None, server_name: str | None = None) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL with a host: {url!r}")
        self.url = url.rstrip("/")
        self.scheme = parts.scheme
        self.host = parts.hostname
        self.port = parts.port
        self.prefix = parts.path.rstrip("/")
        self.ctx = ctx if ctx is not None else ssl.create_default_context()
        self.server_name = server_name or self.host

    def send(
        self,
        method: str,
        path: str,
        *,
        headers: dict[str, str] | None = None,
        body: bytes | None = None,
        timeout: float = 30.0,
    ) -> Response:
        """One request; raises UnreachableError when there is no HTTP answer."""
        conn: http.client.HTTPConnection
        if self.scheme == "https":
            conn = _TLSConnection(self.host, self.port, ctx=self.ctx, server_name=self.server_name, timeout=timeout)
        else:
            conn = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
        try:
            conn.request(method, self.prefix + path, body=body, headers=dict(headers or {}))
            resp = conn.getresponse()
            data = resp.read(MAX_BODY + 1)
            if len(data) > MAX_BODY:
                raise UnreachableError(f"answer larger than {MAX_BODY} bytes")
            return Response(resp.status, tuple(resp.getheaders()), data)
        except (OSError, http.client.HTTPException) as err:
            raise UnreachableError(describe_error(err)) from None
        finally:
            conn.close()

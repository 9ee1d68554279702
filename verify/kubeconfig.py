"""A kubeconfig, read the way kubectl reads it, for one purpose: the current context's API
server, its TLS trust and the user's credentials.

Supported user credentials: a bearer `token` (or `tokenFile`), a client certificate
(`client-certificate-data`/`client-key-data` or the file forms), and an `exec` plugin
(client.authentication.k8s.io v1 or v1beta1, the ExecCredential protocol: the plugin gets
KUBERNETES_EXEC_INFO, prints an ExecCredential whose `status` holds a `token` or a client
certificate and key, optionally with an `expirationTimestamp`). That covers what the stack's
`kubeconfig` output holds: a token (clusterAuth local) or `kubelogin get-token --login azurecli`
(clusterAuth entra). `auth-provider` (the removed in-tree Azure provider) and basic auth are
refused with a message; so is an exec plugin that must talk to a person (interactiveMode
Always): verify never prompts.

No message built here contains a credential: errors name fields and files, never values, and
YAML errors give a line and column, not the text.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import shutil
import ssl
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

import yaml

from verify.model import UsageError
from verify.transport import Endpoint

EXEC_API_VERSIONS = ("client.authentication.k8s.io/v1", "client.authentication.k8s.io/v1beta1")
EXEC_TIMEOUT = 120.0  # kubelogin with the Azure CLI answers in seconds; a hang must end
EXPIRY_MARGIN = timedelta(seconds=30)  # re-run the plugin this long before its token expires
STDERR_LINES = 10  # of a failed plugin's messages shown
PEM_LINE = 16  # a line of a PEM private key at least this long is a secret of its own


def register_key(secret: Callable[[str], None], pem: str) -> None:
    """A private key: the whole, and each of its base64 lines (a message could cut it)."""
    secret(pem)
    for line in pem.splitlines():
        if len(line.strip()) >= PEM_LINE and not line.startswith("-----"):
            secret(line.strip())


class KubeconfigError(UsageError):
    pass


def _mapping(value: Any, where: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise KubeconfigError(f"{where} is not a mapping")
    return value


def _named(entries: Any, kind: str, name: str) -> dict[str, Any]:
    """The `kind` (cluster, user, context) entry called `name` in a kubeconfig list."""
    if not isinstance(entries, list):
        raise KubeconfigError(f"`{kind}s` is not a list")
    for entry in entries:
        if isinstance(entry, dict) and entry.get("name") == name:
            return _mapping(entry.get(kind), f"{kind} {name!r}")
    raise KubeconfigError(f"no {kind} named {name!r}")


def _b64(value: Any, where: str) -> bytes:
    if not isinstance(value, str):
        raise KubeconfigError(f"{where} is not a string")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise KubeconfigError(f"{where} is not valid base64") from None


def _read(path: Any, base: Path, where: str) -> bytes:
    if not isinstance(path, str) or not path:
        raise KubeconfigError(f"{where} is not a file path")
    file = Path(path).expanduser()
    if not file.is_absolute():
        file = base / file
    try:
        return file.read_bytes()
    except OSError as err:
        raise KubeconfigError(f"{where}: cannot read {file} ({err.strerror})") from None


def _pem_text(data: bytes, where: str) -> str:
    try:
        text = data.decode("ascii")
    except UnicodeDecodeError:
        raise KubeconfigError(f"{where} is not PEM text") from None
    if "-----BEGIN" not in text:
        raise KubeconfigError(f"{where} is not PEM (no BEGIN line)")
    return text


def tls_context(
    ca_pem: str | None, *, insecure: bool = False, client: tuple[bytes, bytes] | None = None
) -> ssl.SSLContext:
    """Trust `ca_pem` (else the system's roots), present `client` (certificate, key) if given."""
    ctx = ssl.create_default_context()
    if insecure:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    elif ca_pem is not None:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        try:
            ctx.load_verify_locations(cadata=ca_pem)
        except (ssl.SSLError, ValueError):
            raise KubeconfigError("the cluster's certificate authority is not a valid PEM certificate") from None
    if client is not None:
        cert, key = client
        # load_cert_chain reads files: a private folder, removed at once
        with tempfile.TemporaryDirectory(prefix="verify-") as folder:
            cert_file, key_file = Path(folder, "client.crt"), Path(folder, "client.key")
            for file, data in ((cert_file, cert), (key_file, key)):
                fd = os.open(file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(fd, "wb") as handle:
                    handle.write(data)
            try:
                ctx.load_cert_chain(cert_file, key_file)
            except (ssl.SSLError, ValueError):
                raise KubeconfigError("the client certificate and key do not load (not PEM, or not a pair)") from None
    return ctx


class Credentials(Protocol):
    """How each request authenticates: a header, a client certificate, or both."""

    def describe(self) -> str: ...

    def prepare(self) -> None:
        """Acquire what is needed before the first request (an exec plugin runs here)."""

    def headers(self) -> dict[str, str]: ...

    def client_cert(self) -> tuple[bytes, bytes] | None: ...

    def refresh(self) -> bool:
        """After a 401: acquire new credentials; True when there are new ones to retry with."""


@dataclass
class StaticCredentials:
    """A token and/or client certificate written in the kubeconfig: nothing to renew."""

    token: str | None = None
    cert: tuple[bytes, bytes] | None = None

    def prepare(self) -> None:
        pass

    def refresh(self) -> bool:
        return False

    def describe(self) -> str:
        kinds = [kind for kind, value in (("token", self.token), ("client certificate", self.cert)) if value]
        return " + ".join(kinds) or "anonymous"

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    def client_cert(self) -> tuple[bytes, bytes] | None:
        return self.cert


@dataclass
class ExecPlugin:
    command: str
    args: list[str]
    env: dict[str, str]
    api_version: str
    provide_cluster_info: bool
    install_hint: str | None


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)  # RFC 3339, `Z` included (Python 3.11+)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@dataclass
class ExecCredentials:
    """Runs the kubeconfig's exec plugin as client-go does and keeps what it prints."""

    plugin: ExecPlugin
    base: Path
    cluster_info: dict[str, Any]
    secret: Callable[[str], None]  # registers each credential with the redactor
    runner: Callable[..., subprocess.CompletedProcess[bytes]] = subprocess.run
    now: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    token: str | None = None
    cert: tuple[bytes, bytes] | None = None
    expiry: datetime | None = None

    def describe(self) -> str:
        return f"exec plugin {Path(self.plugin.command).name} ({self.plugin.api_version.rsplit('/', 1)[-1]})"

    def prepare(self) -> None:
        self._run()

    def headers(self) -> dict[str, str]:
        if self.expiry is not None and self.now() >= self.expiry - EXPIRY_MARGIN:
            self._run()
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    def client_cert(self) -> tuple[bytes, bytes] | None:
        return self.cert

    def refresh(self) -> bool:
        self._run()
        return True

    def _executable(self) -> str:
        command = self.plugin.command
        if os.sep in command or (os.altsep and os.altsep in command):
            path = Path(command).expanduser()
            return str(path if path.is_absolute() else self.base / path)
        found = shutil.which(command)
        if found is None:
            hint = f" ({' '.join(self.plugin.install_hint.split())})" if self.plugin.install_hint else ""
            raise KubeconfigError(f"the exec plugin `{command}` is not on the PATH{hint}")
        return found

    def _run(self) -> None:
        name = Path(self.plugin.command).name
        info: dict[str, Any] = {
            "apiVersion": self.plugin.api_version,
            "kind": "ExecCredential",
            "spec": {"interactive": False},
        }
        if self.plugin.provide_cluster_info:
            info["spec"]["cluster"] = self.cluster_info
        env = {**os.environ, **self.plugin.env, "KUBERNETES_EXEC_INFO": json.dumps(info)}
        try:
            proc = self.runner(
                [self._executable(), *self.plugin.args],
                env=env,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                timeout=EXEC_TIMEOUT,
                check=False,
            )
        except FileNotFoundError:
            raise KubeconfigError(f"the exec plugin `{self.plugin.command}` was not found") from None
        except PermissionError:
            raise KubeconfigError(f"the exec plugin `{self.plugin.command}` is not executable") from None
        except subprocess.TimeoutExpired:
            raise KubeconfigError(
                f"the exec plugin `{name}` did not answer within {EXEC_TIMEOUT:.0f}s "
                "(a login that waits for a person? verify never prompts: for kubelogin use `--login azurecli`)"
            ) from None
        if proc.returncode != 0:
            lines = proc.stderr.decode("utf-8", "replace").strip().splitlines()[-STDERR_LINES:]
            said = "".join(f"\n    {line}" for line in lines)
            raise KubeconfigError(f"the exec plugin `{name}` failed (exit {proc.returncode}){said}")
        self._accept(proc.stdout, name)

    def _accept(self, stdout: bytes, name: str) -> None:
        try:
            cred = json.loads(stdout.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            raise KubeconfigError(f"the exec plugin `{name}` did not print an ExecCredential (not JSON)") from None
        if not isinstance(cred, dict) or cred.get("kind") != "ExecCredential":
            raise KubeconfigError(f"the exec plugin `{name}` printed JSON that is not an ExecCredential")
        if cred.get("apiVersion") != self.plugin.api_version:
            raise KubeconfigError(
                f"the exec plugin `{name}` answered with apiVersion {str(cred.get('apiVersion'))!r}, "
                f"the kubeconfig asks for {self.plugin.api_version!r}"
            )
        status = cred.get("status")
        if not isinstance(status, dict):
            raise KubeconfigError(f"the exec plugin `{name}` printed an ExecCredential without a status")
        token = status.get("token")
        cert, key = status.get("clientCertificateData"), status.get("clientKeyData")
        if (cert is None) != (key is None):
            raise KubeconfigError(
                f"the exec plugin `{name}` gave clientCertificateData without clientKeyData (or the reverse)"
            )
        if not token and cert is None:
            raise KubeconfigError(f"the exec plugin `{name}` gave neither a token nor a client certificate")
        for value in (token, cert, key):
            if value is not None and not isinstance(value, str):
                raise KubeconfigError(f"the exec plugin `{name}` gave a credential that is not a string")
        if token:
            self.secret(token)
        if key:
            register_key(self.secret, key)
        self.token = token or None
        self.cert = (cert.encode(), key.encode()) if cert is not None and key is not None else None
        self.expiry = _parse_time(status.get("expirationTimestamp"))


@dataclass
class ClusterAccess:
    """The current context, resolved: where the API server is, how to trust it, who we are."""

    server: str
    context: str
    ca_pem: str | None
    insecure: bool
    server_name: str | None
    credentials: Credentials

    def endpoint(self) -> Endpoint:
        ctx = tls_context(self.ca_pem, insecure=self.insecure, client=self.credentials.client_cert())
        return Endpoint(self.server, ctx, self.server_name)


def _exec_plugin(spec: dict[str, Any]) -> ExecPlugin:
    command = spec.get("command")
    if not isinstance(command, str) or not command:
        raise KubeconfigError("the user's exec has no command")
    api_version = spec.get("apiVersion")
    if api_version not in EXEC_API_VERSIONS:
        raise KubeconfigError(
            f"the user's exec apiVersion {str(api_version)!r} is not supported "
            f"(use one of {', '.join(EXEC_API_VERSIONS)})"
        )
    if spec.get("interactiveMode") == "Always":
        raise KubeconfigError("the user's exec plugin needs a person (interactiveMode: Always); verify never prompts")
    args = spec.get("args") or []
    if not isinstance(args, list) or not all(isinstance(a, str) for a in args):
        raise KubeconfigError("the user's exec args are not a list of strings")
    env: dict[str, str] = {}
    for item in spec.get("env") or []:
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            raise KubeconfigError("the user's exec env is not a list of {name, value}")
        env[item["name"]] = str(item.get("value") or "")
    hint = spec.get("installHint")
    return ExecPlugin(
        command=command,
        args=list(args),
        env=env,
        api_version=str(api_version),
        provide_cluster_info=bool(spec.get("provideClusterInfo")),
        install_hint=hint if isinstance(hint, str) else None,
    )


def load_kubeconfig(
    text: str,
    *,
    base: Path,
    secret: Callable[[str], None],
    runner: Callable[..., subprocess.CompletedProcess[bytes]] = subprocess.run,
) -> ClusterAccess:
    """Resolve the current context of the kubeconfig `text` (relative paths against `base`);
    every credential found is passed to `secret` before anything else happens."""
    secret(text)
    try:
        config = yaml.safe_load(text)
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
        raise KubeconfigError(f"not valid YAML{where}") from None
    except yaml.YAMLError:
        raise KubeconfigError("not valid YAML") from None
    if not isinstance(config, dict):
        raise KubeconfigError("not a kubeconfig (not a mapping)")
    contexts = config.get("contexts") or []
    name = config.get("current-context")
    if not name:
        names = [c.get("name") for c in contexts if isinstance(c, dict)] if isinstance(contexts, list) else []
        if len(names) != 1:
            raise KubeconfigError("no current-context (and not exactly one context to default to)")
        name = names[0]
    context = _named(contexts, "context", str(name))
    cluster = _named(config.get("clusters"), "cluster", str(context.get("cluster")))
    user_name = context.get("user")
    user = _named(config.get("users"), "user", str(user_name)) if user_name else {}

    server = cluster.get("server")
    if not isinstance(server, str) or urlsplit(server).scheme not in ("http", "https") or not urlsplit(server).hostname:
        raise KubeconfigError(f"cluster {context.get('cluster')!r} has no http(s) server URL")
    ca_pem: str | None = None
    if "certificate-authority-data" in cluster:
        ca_pem = _pem_text(_b64(cluster["certificate-authority-data"], "certificate-authority-data"), "the CA data")
    elif cluster.get("certificate-authority"):
        ca_pem = _pem_text(_read(cluster["certificate-authority"], base, "certificate-authority"), "the CA file")
    insecure = bool(cluster.get("insecure-skip-tls-verify"))
    server_name = cluster.get("tls-server-name") or None

    for value in (user.get("token"), user.get("client-key-data"), user.get("password")):
        if isinstance(value, str):
            secret(value)
    if user.get("auth-provider"):
        raise KubeconfigError(
            "auth-provider users (the removed in-tree Azure provider) are not supported: "
            "convert it with `kubelogin convert-kubeconfig -l azurecli`"
        )
    if user.get("username") or user.get("password"):
        raise KubeconfigError("basic-auth users (username/password) are not supported by Kubernetes since 1.19")

    cert: tuple[bytes, bytes] | None = None
    if "client-certificate-data" in user or "client-certificate" in user:
        cert_pem = (
            _b64(user["client-certificate-data"], "client-certificate-data")
            if "client-certificate-data" in user
            else _read(user.get("client-certificate"), base, "client-certificate")
        )
        if "client-key-data" in user:
            key_pem = _b64(user["client-key-data"], "client-key-data")
        elif user.get("client-key"):
            key_pem = _read(user["client-key"], base, "client-key")
        else:
            raise KubeconfigError("the user has a client certificate but no client key")
        register_key(secret, key_pem.decode("ascii", "replace"))
        cert = (cert_pem, key_pem)

    credentials: Credentials
    if user.get("exec"):
        cluster_info: dict[str, Any] = {"server": server}
        if ca_pem is not None:
            cluster_info["certificate-authority-data"] = base64.b64encode(ca_pem.encode()).decode()
        if server_name:
            cluster_info["tls-server-name"] = server_name
        if insecure:
            cluster_info["insecure-skip-tls-verify"] = True
        credentials = ExecCredentials(
            plugin=_exec_plugin(_mapping(user["exec"], "the user's exec")),
            base=base,
            cluster_info=cluster_info,
            secret=secret,
            runner=runner,
        )
    else:
        token = user.get("token")
        if not token and user.get("tokenFile"):
            token = _read(user["tokenFile"], base, "tokenFile").decode("utf-8", "replace").strip()
            secret(token)
        if token is not None and not isinstance(token, str):
            raise KubeconfigError("the user's token is not a string")
        credentials = StaticCredentials(token=token or None, cert=cert)
    return ClusterAccess(
        server=server.rstrip("/"),
        context=str(name),
        ca_pem=ca_pem,
        insecure=insecure,
        server_name=server_name,
        credentials=credentials,
    )


def read_kubeconfig_file(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as err:
        raise KubeconfigError(f"cannot read {path} ({err.strerror})") from None
    except UnicodeDecodeError:
        raise KubeconfigError(f"{path} is not UTF-8 text") from None

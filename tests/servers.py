"""Real servers on 127.0.0.1 for tests that must show a credential WORKS, not only that it
looks right: PostgreSQL, PgBouncer and Redis from the Debian packages (`postgresql`,
`pgbouncer`, `redis-server`; `.ci/run` installs them).

Each server gets a free port on 127.0.0.1, a fresh directory under the temp dir, and is
stopped (and its directory removed) when its fixture ends. PostgreSQL and PgBouncer refuse to
run as root: as root they run as the `postgres` user the Debian package creates (else
`nobody`), through `subprocess.Popen(user=..., group=...)`. Redis runs as that user too.

Where a server cannot start here (a package is missing, no unprivileged user), the fixture
skips LOUDLY, naming what is missing; with AIRFLOW_AKS_REQUIRE_SERVERS=1 (what `.ci/run`
sets) it fails instead, so CI never passes by skipping the credential tests.

Fixtures (session-scoped; a test module imports the ones it uses):
- ``postgres_server`` -> :class:`Postgres` (scram-sha-256 over TCP on 127.0.0.1 only; the
  admin path is a private Unix socket);
- ``redis_server`` -> :class:`Redis` (``requirepass``);
- ``pgbouncer_factory`` -> :func:`start_pgbouncer` bound to the session's temp root: a context
  manager that runs PgBouncer with a given pgbouncer.ini and users.txt until the block ends.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import pytest

LOOPBACK = "127.0.0.1"
REQUIRE_VAR = "AIRFLOW_AKS_REQUIRE_SERVERS"
DEBIAN_PACKAGES = ("postgresql", "pgbouncer", "redis-server")
INSTALL_HINT = "apt-get install -y --no-install-recommends " + " ".join(DEBIAN_PACKAGES)
START_TIMEOUT_SECONDS = 30.0
POSTGRES_SUPERUSER = "postgres"


class ServerUnavailable(Exception):  # noqa: N818 - a state to report, like synth.helm.NotRendered
    """A server cannot start on this machine (what is missing is the message)."""


T = TypeVar("T")


def unavailable(reason: str) -> NoReturn:
    """Skip loudly, or fail where real servers are required (CI)."""
    message = (
        f"REAL SERVERS UNAVAILABLE - the live credential tests did NOT run: {reason}. "
        f"Install the Debian packages: {INSTALL_HINT} (.ci/run does)."
    )
    if os.environ.get(REQUIRE_VAR) == "1":
        pytest.fail(f"{message} ({REQUIRE_VAR}=1: required here)", pytrace=False)
    pytest.skip(message)


def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


def _listening(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.2)
        return sock.connect_ex((LOOPBACK, port)) == 0


# ----------------------------------------------------------------- processes
@dataclass(frozen=True)
class RunAs:
    """The OS user the servers run as (None: the current, unprivileged, user)."""

    name: str
    uid: int | None = None
    gid: int | None = None

    def popen_args(self) -> dict[str, Any]:
        if self.uid is None:
            return {}
        return {"user": self.uid, "group": self.gid, "extra_groups": []}

    def own(self, path: Path) -> Path:
        if self.uid is not None:
            os.chown(path, self.uid, self.gid if self.gid is not None else -1)
        return path


def run_as() -> RunAs:
    if os.geteuid() != 0:
        return RunAs(pwd.getpwuid(os.geteuid()).pw_name)
    for name in ("postgres", "nobody"):
        try:
            entry = pwd.getpwnam(name)
        except KeyError:
            continue
        return RunAs(name, entry.pw_uid, entry.pw_gid)
    raise ServerUnavailable("running as root, and no unprivileged user (postgres, nobody) to run PostgreSQL as")


def _env(home: Path) -> dict[str, str]:
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home), "LC_ALL": "C", "LANG": "C"}


@dataclass
class Process:
    """One server process we started (and only that one is ever signalled)."""

    name: str
    popen: subprocess.Popen[bytes]
    log: Path

    def log_tail(self, lines: int = 15) -> str:
        try:
            text = self.log.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def alive(self) -> bool:
        return self.popen.poll() is None

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 10.0) -> None:
        if self.popen.poll() is not None:
            return
        self.popen.send_signal(sig)
        try:
            self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait(timeout)


def _spawn(name: str, argv: list[str], home: Path, user: RunAs) -> Process:
    log = home / f"{name}.log"
    with log.open("wb") as out:
        popen = subprocess.Popen(  # noqa: S603 - a Debian server binary, our own arguments
            argv, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, env=_env(home), **user.popen_args()
        )
    return Process(name, popen, log)


def _wait(process: Process, ready: Callable[[], bool], what: str) -> float:
    """Poll `ready` until it holds; the seconds it took. Raises ServerUnavailable (with the
    server's log) if the process exits or the time runs out."""
    started = time.perf_counter()
    while time.perf_counter() - started < START_TIMEOUT_SECONDS:
        if not process.alive():
            raise ServerUnavailable(f"{what} exited with {process.popen.returncode}:\n{process.log_tail()}")
        if ready():
            return time.perf_counter() - started
        time.sleep(0.005)
    process.stop(signal.SIGKILL)
    raise ServerUnavailable(f"{what} not ready in {START_TIMEOUT_SECONDS:.0f}s:\n{process.log_tail()}")


def _binary(name: str, *dirs: str) -> str:
    found = shutil.which(name) or next((str(Path(d) / name) for d in dirs if (Path(d) / name).is_file()), None)
    if found is None:
        raise ServerUnavailable(f"`{name}` not found (on PATH or in {', '.join(dirs) or 'no other place'})")
    return found


# ----------------------------------------------------------------- PostgreSQL
def postgres_bindir() -> Path:
    """The newest /usr/lib/postgresql/<v>/bin with initdb and postgres (Debian's layout),
    else the directory of an `initdb` on PATH."""
    dirs = [p for p in Path("/usr/lib/postgresql").glob("*/bin") if p.parent.name.isdigit()]
    for bindir in sorted(dirs, key=lambda p: int(p.parent.name), reverse=True):
        if (bindir / "initdb").is_file() and (bindir / "postgres").is_file():
            return bindir
    initdb = shutil.which("initdb")
    if initdb and (Path(initdb).resolve().parent / "postgres").is_file():
        return Path(initdb).resolve().parent
    raise ServerUnavailable("PostgreSQL server binaries (initdb, postgres) not found: no /usr/lib/postgresql/<v>/bin")


# pg_hba.conf: passwords over TCP on 127.0.0.1 only, always SCRAM; the Unix socket (in a
# directory only the server's user and root can enter) is the admin path that sets them.
PG_HBA = f"""\
local   all  all                  trust
host    all  all  {LOOPBACK}/32   scram-sha-256
"""


@dataclass
class Postgres:
    """A PostgreSQL server on 127.0.0.1:`port`; `set_password` gives a role a password."""

    version: str
    port: int
    socket_dir: Path
    process: Process
    started_in: float  # seconds: initdb + start
    _admin: Any = field(default=None, repr=False)

    def admin(self) -> Any:
        """A new superuser connection over the Unix socket (autocommit)."""
        import psycopg2

        conn = psycopg2.connect(host=str(self.socket_dir), port=self.port, user=POSTGRES_SUPERUSER, dbname="postgres")
        conn.autocommit = True
        return conn

    def set_password(self, role: str, password: str) -> str:
        """`ALTER ROLE <role> PASSWORD ...` (hashed by the server: password_encryption =
        scram-sha-256); returns the stored verifier's scheme."""
        from psycopg2 import sql

        if self._admin is None or self._admin.closed:
            self._admin = self.admin()
        with self._admin.cursor() as cur:
            cur.execute(sql.SQL("ALTER ROLE {} PASSWORD %s").format(sql.Identifier(role)), (password,))
            cur.execute("SELECT split_part(rolpassword, '$', 1) FROM pg_authid WHERE rolname = %s", (role,))
            row = cur.fetchone()
        return str(row[0]) if row else ""

    def stop(self) -> None:
        if self._admin is not None:
            self._admin.close()
        self.process.stop(signal.SIGINT)  # a fast shutdown


def start_postgres(root: Path, user: RunAs) -> Postgres:
    started = time.perf_counter()
    bindir = postgres_bindir()
    try:
        import psycopg2  # noqa: F401 - needed to talk to it
    except ImportError as err:
        raise ServerUnavailable(f"psycopg2 is not importable ({err}): pip install -r requirements-dev.txt") from err
    home = root / "postgres"
    home.mkdir()
    user.own(home)
    sockets = home / "socket"  # only its user (and root) may enter: the admin path
    sockets.mkdir(mode=0o700)
    user.own(sockets)
    data = home / "data"
    initdb = [str(bindir / "initdb"), "-D", str(data), "-U", POSTGRES_SUPERUSER, "--auth=trust"]
    initdb += ["--no-locale", "--encoding=UTF8", "--no-sync"]
    proc = subprocess.run(  # noqa: S603 - Debian's initdb, our arguments
        initdb, capture_output=True, text=True, env=_env(home), check=False, timeout=120, **user.popen_args()
    )
    if proc.returncode != 0:
        raise ServerUnavailable(f"initdb failed ({proc.returncode}): {proc.stderr.strip()[-800:]}")
    (data / "pg_hba.conf").write_text(PG_HBA)
    port = free_port()
    settings = {
        "listen_addresses": f"'{LOOPBACK}'",
        "port": str(port),
        "unix_socket_directories": f"'{sockets}'",
        "password_encryption": "'scram-sha-256'",
        "fsync": "off",
        "synchronous_commit": "off",
        "full_page_writes": "off",
        "shared_buffers": "16MB",
        "max_connections": "50",
    }
    with (data / "postgresql.conf").open("a") as conf:
        conf.write("\n# tests/servers.py\n" + "".join(f"{k} = {v}\n" for k, v in settings.items()))
    version = (data / "PG_VERSION").read_text().strip()
    process = _spawn("postgres", [str(bindir / "postgres"), "-D", str(data)], home, user)
    server = Postgres(version, port, sockets, process, 0.0)

    def ready() -> bool:
        try:
            server.admin().close()
        except Exception:  # noqa: BLE001 - not accepting connections yet
            return False
        return True

    _wait(process, ready, f"PostgreSQL {version} ({bindir})")
    server.started_in = time.perf_counter() - started
    return server


# ----------------------------------------------------------------- PgBouncer
@dataclass
class PgBouncer:
    port: int
    ini: str  # the configuration it runs with
    changes: list[str]  # how it differs from the rendered one (pgbouncer_local_ini)
    process: Process
    started_in: float


# `name = key=value key=value ...` in [databases]
_DB_LINE = re.compile(r"^(?P<name>[^=\s][^=]*?)\s*=\s*(?P<spec>.*)$")


def pgbouncer_local_ini(
    rendered: str,
    *,
    listen_port: int,
    auth_file: Path,
    backends: Mapping[tuple[str, int], tuple[str, int]],
    unix_socket_dir: Path | None = None,
) -> tuple[str, list[str]]:
    """The rendered pgbouncer.ini made to run here, and what changed (one line each).

    Changed, and nothing else: in [databases], each entry's `host=`/`port=` (an in-cluster
    address, looked up in `backends`: an address not in it is an error, never guessed); in
    [pgbouncer], `listen_port` (a free port), `listen_addr` (127.0.0.1, not every interface)
    and `auth_file` (the rendered users.txt, written beside it); with `unix_socket_dir`, that
    line is added (the default, /tmp, may hold another run's socket)."""
    out: list[str] = []
    changes: list[str] = []
    section = ""
    for line in rendered.splitlines():
        stripped = line.strip()
        new = line
        if stripped.startswith("[") and stripped.endswith("]"):
            section = stripped[1:-1].strip()
            out.append(line)
            if section == "pgbouncer" and unix_socket_dir is not None:
                out.append(f"unix_socket_dir = {unix_socket_dir}")
                changes.append(f"(added)  ->  {out[-1]}")
            continue
        if section == "databases" and (m := _DB_LINE.match(stripped)) and not stripped.startswith((";", "#")):
            pairs = dict(item.split("=", 1) for item in m["spec"].split())
            where = (pairs.get("host", ""), int(pairs.get("port", "5432")))
            if where not in backends:
                raise KeyError(
                    f"pgbouncer.ini database {m['name']!r} points at {where[0]}:{where[1]}, not a known backend"
                )
            pairs["host"], port = backends[where]
            pairs["port"] = str(port)
            new = f"{m['name']} = " + " ".join(f"{k}={v}" for k, v in pairs.items())
        elif section == "pgbouncer" and "=" in stripped:
            key = stripped.split("=", 1)[0].strip()
            local = {"listen_port": str(listen_port), "listen_addr": LOOPBACK, "auth_file": str(auth_file)}
            if key in local:
                new = f"{key} = {local[key]}"
        if new != line:
            changes.append(f"{line.strip()}  ->  {new}")
        out.append(new)
    return "\n".join(out) + "\n", changes


@contextlib.contextmanager
def start_pgbouncer(root: Path, user: RunAs, ini: str, users: str, **rewrite: Any) -> Iterator[PgBouncer]:
    """Run PgBouncer with the rendered `ini` (made local by :func:`pgbouncer_local_ini`, with
    `rewrite`'s backends) and the rendered users.txt `users`, until the block ends."""
    started = time.perf_counter()
    binary = _binary("pgbouncer", "/usr/sbin")
    home = user.own(Path(tempfile.mkdtemp(prefix="pgbouncer-", dir=root)))
    auth_file = home / "users.txt"
    auth_file.write_text(users)
    port = free_port()
    local, changes = pgbouncer_local_ini(ini, listen_port=port, auth_file=auth_file, unix_socket_dir=home, **rewrite)
    (home / "pgbouncer.ini").write_text(local)
    process = _spawn("pgbouncer", [binary, str(home / "pgbouncer.ini")], home, user)
    try:
        _wait(process, lambda: _listening(port), "PgBouncer")
        yield PgBouncer(port, local, changes, process, time.perf_counter() - started)
    except Exception as err:
        err.add_note(f"PgBouncer's log:\n{process.log_tail(6)}")  # why it refused, in its words
        raise
    finally:
        process.stop(signal.SIGTERM)


# ----------------------------------------------------------------- Redis
@dataclass
class Redis:
    port: int
    process: Process
    started_in: float
    password: str = field(repr=False, default="")

    def set_password(self, password: str) -> None:
        """`CONFIG SET requirepass` (as the admin, with the password in force)."""
        import redis

        client = redis.Redis(host=LOOPBACK, port=self.port, password=self.password, socket_timeout=5)
        try:
            client.config_set("requirepass", password)
        finally:
            client.close()
        self.password = password


def start_redis(root: Path, user: RunAs) -> Redis:
    started = time.perf_counter()
    binary = _binary("redis-server", "/usr/bin", "/usr/sbin")
    try:
        import redis
    except ImportError as err:
        raise ServerUnavailable(f"redis-py is not importable ({err}): pip install -r requirements-dev.txt") from err
    home = root / "redis"
    home.mkdir()
    user.own(home)
    port = free_port()
    admin_password = os.urandom(16).hex()
    argv = [binary, "--port", str(port), "--bind", LOOPBACK, "--dir", str(home), "--save", "", "--appendonly", "no"]
    argv += ["--daemonize", "no", "--protected-mode", "yes", "--requirepass", admin_password]
    process = _spawn("redis", argv, home, user)
    server = Redis(port, process, 0.0, admin_password)

    def ready() -> bool:
        client = redis.Redis(host=LOOPBACK, port=port, password=admin_password, socket_timeout=1)
        try:
            return bool(client.ping())
        except redis.RedisError:
            return False
        finally:
            client.close()

    _wait(process, ready, "redis-server")
    server.started_in = time.perf_counter() - started
    return server


# ----------------------------------------------------------------- fixtures
@pytest.fixture(scope="session")
def servers_root() -> Iterator[tuple[Path, RunAs]]:
    """A temp directory for every server of the session (removed at the end), owned by the
    user they run as."""
    try:
        user = run_as()
    except ServerUnavailable as err:
        unavailable(str(err))
    root = Path(tempfile.mkdtemp(prefix="airflow-aks-servers-"))
    user.own(root)
    try:
        yield root, user
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _serve(what: str, start: Callable[[], T], stop: Callable[[T], None]) -> Iterator[T]:
    """A server for the session: started (or the tests skipped, loudly), stopped at the end."""
    try:
        server = start()
    except ServerUnavailable as err:
        unavailable(f"{what}: {err}")
    try:
        yield server
    finally:
        stop(server)


@pytest.fixture(scope="session")
def postgres_server(servers_root: tuple[Path, RunAs]) -> Iterator[Postgres]:
    root, user = servers_root
    yield from _serve("PostgreSQL", lambda: start_postgres(root, user), Postgres.stop)


@pytest.fixture(scope="session")
def redis_server(servers_root: tuple[Path, RunAs]) -> Iterator[Redis]:
    root, user = servers_root
    yield from _serve("Redis", lambda: start_redis(root, user), lambda server: server.process.stop(signal.SIGTERM))


@pytest.fixture(scope="session")
def pgbouncer_factory(servers_root: tuple[Path, RunAs]) -> Callable[..., contextlib.AbstractContextManager[PgBouncer]]:
    """`with pgbouncer_factory(ini, users, backends={...}) as bouncer:` runs PgBouncer."""
    root, user = servers_root
    try:
        _binary("pgbouncer", "/usr/sbin")
    except ServerUnavailable as err:
        unavailable(f"PgBouncer: {err}")

    def start(ini: str, users: str, **rewrite: Any) -> contextlib.AbstractContextManager[PgBouncer]:
        return start_pgbouncer(root, user, ini, users, **rewrite)

    return start

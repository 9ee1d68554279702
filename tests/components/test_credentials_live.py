"""The generated credentials WORK, shown with real software end to end (issue 11, item 5).

The stack generates the PostgreSQL and Redis passwords (pulumi_random RandomPassword,
`special=False`: components/key_vault.py, plan.generated_passwords) into Key Vault; ESO
renders the Kubernetes Secrets from them with Go templates (plan.credential_templates). Here:

1. the ACTUAL secret catalogue (`plan.build_plan(settings).secrets`) of the dev stack, of a
   Celery variant, of a variant without PgBouncer, of the prod stack (databaseMode=managed,
   through the flexible server's built-in PgBouncer) and of prod without it (straight to the
   server): every templated key, none retyped;
2. rendered by a real Go template engine, Helm's (synth/helm.py: Go text/template + sprig;
   `urlquery` is a text/template builtin, as in ESO's engine v2), each template in a
   throwaway chart;
3. used against real servers on 127.0.0.1 (tests/servers.py): PostgreSQL with scram-sha-256
   and the rendered `postgres-password`, PgBouncer running the RENDERED pgbouncer.ini and
   users.txt, Redis with the rendered password; through the clients Airflow's images pin
   (requirements-dev.txt): SQLAlchemy `create_engine(url)` + psycopg2 with the rendered
   metadata URL (direct, and through PgBouncer), psycopg2 with the exporter's stats URL on
   PgBouncer's admin console (`SHOW STATS`), redis-py and kombu with the rendered broker URL.
   In a URL only the in-cluster host:port is replaced by the local server's.
4. for the managed database, a stand-in for the Azure flexible server (:class:`FlexibleServer`):
   a PostgreSQL that refuses every TCP connection without TLS (what require_secure_transport=on
   does), with the administrator login, the `airflow` database and, as on Azure, the Key Vault
   secret as the administrator's password; and a PgBouncer like the server's built-in one on
   6432 (TLS required from clients, TLS to the server, SCRAM). The rendered URL goes there
   with only its host:port replaced (the host must be the one in Key Vault), `sslmode=require`
   and all: the connection must be encrypted (checked on both ends), and the same URL is
   refused by a server without TLS. The remote-logs `wasb_default` connection holds no
   credential and Blob storage cannot be served here: it is parsed as Airflow reads it (JSON).

Passwords come from the generator's exact alphabet and every character of it is the first
and the last character of some password; hypothesis draws more. A wrong password is refused
by every server (so a connection proves the password), and broken copies of the templates
are refused by the real servers (tests at the end).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import shutil
import string
import subprocess
import tempfile
import time
import urllib.parse
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import kombu
import psycopg2
import pytest
import redis
import sqlalchemy.exc
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from components.database import server_name
from components.log_storage import storage_account_name
from config import Settings, parse_settings
from plan import (
    BUILTIN_PGBOUNCER_PORT,
    DATABASE_ADMIN_PASSWORD_SECRET,
    DATABASE_HOST_SECRET,
    DATABASE_NAME,
    LOGS_ACCOUNT_NAME_SECRET,
    PASSWORD_LENGTH,
    PASSWORD_VAR,
    PGBOUNCER_PORT,
    POSTGRES_PASSWORD_SECRET,
    POSTGRES_PORT,
    POSTGRES_USER,
    REDIS_PASSWORD_SECRET,
    REDIS_PORT,
    StackPlan,
    build_plan,
)
from synth import helm
from synth.project import load_stack_config
from tests.helpers import settings_for
from tests.servers import (  # noqa: F401 - session fixtures, requested by name
    LOOPBACK,
    REQUIRE_VAR,
    PgBouncer,
    Postgres,
    Redis,
    RunAs,
    ServerUnavailable,
    pgbouncer_factory,
    pgbouncer_local_ini,
    postgres_server,
    redis_server,
    servers_root,
    start_postgres,
    unavailable,
)

if TYPE_CHECKING:
    from synth.runner import RunResult

# ----------------------------------------------------------------- the generator's alphabet
# hashicorp/terraform-provider-random, internal/random/string.go (commit 04572027), CreateString:
# the pool is upperChars ("ABCDEFGHIJKLMNOPQRSTUVWXYZ") + lowerChars ("abcdefghijklmnopqrstuvwxyz")
# + numChars ("0123456789") + specialChars ("!@#$%&*()-_=+[]{}<>:?"), each only when its flag is on;
# pulumi_random's RandomPassword documents upper/lower/numeric as "Default value is `true`" and
# special as "Include special characters in the result. These are `!@#$%&*()-_=+[]{}<>:?`".
# The stack passes `special=False` and nothing else (components/key_vault.py), so:
CLASSES = {"upper": string.ascii_uppercase, "lower": string.ascii_lowercase, "numeric": string.digits}
ALPHABET = "".join(CLASSES.values())  # 62 characters, in the provider's order


def _class_of(char: str) -> str:
    return next(name for name, chars in CLASSES.items() if char in chars)


def edge_passwords(length: int = PASSWORD_LENGTH) -> list[str]:
    """len(ALPHABET) passwords: the i-th starts with ALPHABET[i] and ends with ALPHABET[(7i+1)
    mod 62] (7 is prime to 62: a permutation), so every character is first once and last
    once and every (first class, last class) pair occurs; the middle is the alphabet rotated."""
    n = len(ALPHABET)
    middle = length - 2
    return [
        ALPHABET[i] + "".join(ALPHABET[(i + 1 + j) % n] for j in range(middle)) + ALPHABET[(7 * i + 1) % n]
        for i in range(n)
    ]


EDGE_PASSWORDS = edge_passwords()
# one password per (first class, last class) pair: the cases every catalogue runs
CLASS_PAIR_PASSWORDS = list({(_class_of(p[0]), _class_of(p[-1])): p for p in EDGE_PASSWORDS}.values())


def _pair_id(password: str) -> str:
    return f"{_class_of(password[0])}..{_class_of(password[-1])}"


def other_password(password: str) -> str:
    """A second password from the same alphabet (Redis gets it: the two must not be confused)."""
    return password[::-1]


# ----------------------------------------------------------------- the catalogues
def _prod_settings(**overrides: str) -> Settings:
    values = dict(load_stack_config("prod").values)
    values.update({f"airflow-aks:{k}": v for k, v in overrides.items()})
    return parse_settings("prod", values)


CATALOGUE_SETTINGS: dict[str, Callable[[], Settings]] = {
    "dev": settings_for,  # KubernetesExecutor, bundled PostgreSQL behind PgBouncer
    "dev-celery": lambda: settings_for(executor="CeleryExecutor"),  # + Redis and the broker URL
    "dev-no-pgbouncer": lambda: settings_for(pgbouncerEnabled="false"),  # Airflow -> PostgreSQL directly
    # chart 1.19.0 / Airflow 3, CeleryExecutor,KubernetesExecutor; the managed database through
    # the flexible server's built-in PgBouncer; remote task logs
    "prod": _prod_settings,
    "prod-direct": lambda: _prod_settings(pgbouncerEnabled="false"),  # Airflow -> the flexible server
}


@dataclass(frozen=True)
class Catalogue:
    name: str
    plan: StackPlan
    settings: Settings

    @property
    def templates(self) -> dict[str, Mapping[str, str]]:
        """Secret -> {key: ESO template}, for every templated Secret of the plan."""
        return {secret: src.template for secret, src in self.plan.secrets.items() if src.template}

    def sources(self, secret: str) -> Mapping[str, str]:
        return self.plan.secrets[secret].data


def catalogue(name: str) -> Catalogue:
    settings = CATALOGUE_SETTINGS[name]()
    return Catalogue(name, build_plan(settings), settings)


def vault_values(cat: Catalogue, password: str) -> dict[str, str]:
    """What Key Vault holds for the catalogue's templates: the generated `password` for the
    database (bundled or the flexible server's administrator), another for Redis; the host
    Azure gives the flexible server (`<server name>.postgres.database.azure.com`, which the
    stack writes into Key Vault) and the logs account's name, each made as the stack names them."""
    prefix = cat.settings.name_prefix
    return {
        POSTGRES_PASSWORD_SECRET: password,
        DATABASE_ADMIN_PASSWORD_SECRET: password,
        REDIS_PASSWORD_SECRET: other_password(password),
        DATABASE_HOST_SECRET: f"{server_name(f'{prefix}-{cat.settings.stack}', 'q7x2kd')}.postgres.database.azure.com",
        LOGS_ACCOUNT_NAME_SECRET: storage_account_name(prefix, "w9kzho"),
    }


# ----------------------------------------------------------------- rendering (Helm's Go engine)
def render_secrets(
    templates: Mapping[str, Mapping[str, str]], data: Mapping[str, Mapping[str, str]]
) -> dict[str, dict[str, str]]:
    """Every template rendered by Helm's engine as ESO's engine v2 renders it: the template's
    `.` is the Secret's data map ({"password": <the Key Vault secret's value>}).

    One throwaway chart (:func:`eso_chart`), values {Secret: its data}."""
    eng = helm.engine()
    if eng is None:
        reason = f"REAL GO TEMPLATE ENGINE UNAVAILABLE - {helm.no_engine_reason()}"
        if os.environ.get(REQUIRE_VAR) == "1":
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)
    chart, files = eso_chart(templates)
    out = eng.render(chart, {s: dict(data[s]) for s in templates}, release="eso", namespace="eso")
    rendered: dict[str, dict[str, str]] = {}
    for path, (secret, key) in files.items():
        rendered.setdefault(secret, {})[key] = out[path]
    return rendered


_CHARTS: dict[tuple[tuple[str, str, str], ...], tuple[Path, dict[str, tuple[str, str]]]] = {}
_CHARTS_ROOT: list[Path] = []  # one temp directory for them, removed when the module ends


def eso_chart(templates: Mapping[str, Mapping[str, str]]) -> tuple[Path, dict[str, tuple[str, str]]]:
    """A chart with one template file per (Secret, key): `{{ with index .Values "<Secret>" }}<the
    ESO template>{{ end }}`, and {rendered template path: (Secret, key)}. Written once per set
    of templates. No `{{-`/`-}}` trim markers around the template: they would eat its own
    leading/trailing whitespace (users.txt ends with a newline)."""
    cache_key = tuple((s, k, t) for s, keys in templates.items() for k, t in keys.items())
    if cache_key not in _CHARTS:
        if not _CHARTS_ROOT:
            _CHARTS_ROOT.append(Path(tempfile.mkdtemp(prefix="eso-templates-")))
        chart = _CHARTS_ROOT[0] / f"chart-{len(_CHARTS)}"
        (chart / "templates").mkdir(parents=True)
        (chart / "Chart.yaml").write_text("apiVersion: v2\nname: eso-templates\nversion: 0.1.0\n")
        files: dict[str, tuple[str, str]] = {}
        for secret, key, template in cache_key:
            name = f"{len(files):03d}.txt"
            files[f"eso-templates/templates/{name}"] = (secret, key)
            wrapped = "{{ with index .Values " + f'"{secret}"' + " }}" + template + "{{ end }}"
            (chart / "templates" / name).write_text(wrapped)
        _CHARTS[cache_key] = (chart, files)
    return _CHARTS[cache_key]


@pytest.fixture(scope="module", autouse=True)
def _remove_charts() -> Iterator[None]:
    yield
    for root in _CHARTS_ROOT:
        shutil.rmtree(root, ignore_errors=True)
    _CHARTS_ROOT.clear()
    _CHARTS.clear()


def secret_data(cat: Catalogue, passwords: Mapping[str, str]) -> dict[str, dict[str, str]]:
    """Secret -> its data map as ESO reads it from Key Vault (template variable -> value)."""
    return {s: {var: passwords[kv] for var, kv in cat.sources(s).items()} for s in cat.templates}


# ----------------------------------------------------------------- using the rendered values
def local_url(url: str, endpoints: Mapping[tuple[str, int], tuple[str, int]]) -> str:
    """`url` with its in-cluster host:port replaced by the local server's; the scheme, the
    user and the (urlquery-encoded) password, the path and the query stay exactly as rendered."""
    scheme, sep, rest = url.partition("://")
    netloc, slash, tail = rest.partition("/")
    userinfo, at, hostport = netloc.rpartition("@")
    parsed = urllib.parse.urlsplit(url)
    where = (parsed.hostname or "", parsed.port or 0)
    if where not in endpoints:
        raise KeyError(f"{where[0]}:{where[1]} is not a known in-cluster endpoint")
    host, port = endpoints[where]
    out = f"{scheme}{sep}{userinfo}{at}{host}:{port}{slash}{tail}"
    assert out.replace(f"@{host}:{port}", f"@{hostport}", 1) == url  # nothing else changed
    return out


def in_cluster_endpoints(plan: StackPlan, postgres: Postgres, redis: Redis) -> dict[tuple[str, int], tuple[str, int]]:
    """The Services the chart creates (release `plan.airflow_release`, namespace
    `plan.namespace`) -> the local server standing in for each. PgBouncer's are added once it
    runs (it needs the rendered pgbouncer.ini first)."""
    release, ns = plan.airflow_release, plan.namespace
    return {
        (f"{release}-postgresql.{ns}", POSTGRES_PORT): (LOOPBACK, postgres.port),  # the bitnami subchart
        (f"{release}-redis", REDIS_PORT): (LOOPBACK, redis.port),  # the chart's Redis, same namespace
    }


def pgbouncer_endpoints(plan: StackPlan, bouncer: PgBouncer) -> dict[tuple[str, int], tuple[str, int]]:
    return {
        (f"{plan.airflow_release}-pgbouncer.{plan.namespace}", PGBOUNCER_PORT): (LOOPBACK, bouncer.port),
        (LOOPBACK, PGBOUNCER_PORT): (LOOPBACK, bouncer.port),  # the exporter, a sidecar in PgBouncer's pod
    }


# the session's user and database, and whether the server's end of it is encrypted (through
# PgBouncer: PgBouncer's connection to the server)
_WHO = text("SELECT current_user, current_database(), (SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid())")


def check_metadata_url(
    url: str,
    password: str,
    *,
    libpq: bool = True,
    user: str = POSTGRES_USER,
    database: str = "postgres",
    tls: bool = False,
) -> None:
    """Airflow's client stack on the metadata URL: SQLAlchemy create_engine(url) (+ psycopg2),
    and (`libpq`) psycopg2 handing the URL itself to libpq; both decode the password to the
    generated one, and reach `database` as `user`, encrypted (`tls`) or not, on both ends."""
    engine = create_engine(url, poolclass=NullPool)
    try:
        assert engine.url.password == password
        with engine.connect() as conn:
            session = tuple(conn.execute(_WHO).one())
            client_tls = conn.connection.dbapi_connection.info.ssl_in_use
    finally:
        engine.dispose()
    assert session == (user, database, tls)
    assert client_tls is tls
    if not libpq:
        return
    with contextlib.closing(psycopg2.connect(url)) as conn, conn.cursor() as cur:
        assert conn.info.password == password
        assert conn.info.ssl_in_use is tls
        cur.execute("SELECT 1")
        assert cur.fetchone() == (1,)


def check_wasb_connection(connection: str, account: str) -> None:
    """The `wasb_default` connection as Airflow reads an AIRFLOW_CONN_* value that starts with
    `{` (JSON): the logs account's blob endpoint, and no credential (workload identity)."""
    conn = json.loads(connection)
    assert conn == {"conn_type": "wasb", "host": f"https://{account}.blob.core.windows.net/"}
    assert urllib.parse.urlsplit(conn["host"]).hostname == f"{account}.blob.core.windows.net"


def check_stats_url(url: str, password: str) -> list[str]:
    """The PgBouncer exporter's connection: PgBouncer's admin console, `SHOW STATS`."""
    with contextlib.closing(psycopg2.connect(url)) as conn:
        assert conn.info.password == password
        conn.autocommit = True  # the admin console has no transactions
        with conn.cursor() as cur:
            cur.execute("SHOW STATS")
            columns = [c.name for c in cur.description]
            return [row[columns.index("database")] for row in cur.fetchall()]


def check_redis(port: int, password: str) -> None:
    client = redis.Redis(host=LOOPBACK, port=port, password=password, socket_timeout=5)
    try:
        assert client.ping()
    finally:
        client.close()


def check_broker_url(url: str, password: str) -> None:
    """The broker URL as Celery uses it: redis-py's from_url, and kombu's Connection (connect,
    then a message through a queue)."""
    client = redis.Redis.from_url(url, socket_timeout=5)
    try:
        kwargs = client.connection_pool.connection_kwargs
        assert (kwargs.get("password"), kwargs.get("db")) == (password, 0)
        assert client.ping()
    finally:
        client.close()
    with kombu.Connection(url, connect_timeout=5) as conn:
        conn.connect()
        assert conn.connected
        with conn.SimpleQueue("airflow-aks-credential-check") as queue:
            queue.put({"ok": True})
            message = queue.get(timeout=5)
            message.ack()
            assert message.payload == {"ok": True}


# ----------------------------------------------------------------- the flexible server, stood in for
# pg_hba.conf of a server with require_secure_transport=on: passwords over TLS only
FLEXIBLE_HBA = f"""\
local      all  all                  trust
hostssl    all  all  {LOOPBACK}/32   scram-sha-256
hostnossl  all  all  {LOOPBACK}/32   reject
"""
# The flexible server's built-in PgBouncer as Azure documents it: port 6432, every database
# of the server, transaction pooling, SCRAM; TLS from clients (require_secure_transport) and
# to the server. Made local by tests.servers.pgbouncer_local_ini, as the chart's is.
BUILTIN_PGBOUNCER_INI = """\
[databases]
* = host={host} port={port}

[pgbouncer]
listen_addr = *
listen_port = {listen_port}
auth_type = scram-sha-256
auth_file = /etc/pgbouncer/userlist.txt
pool_mode = transaction
ignore_startup_parameters = extra_float_digits
client_tls_sslmode = require
client_tls_cert_file = {cert}
client_tls_key_file = {key}
server_tls_sslmode = require
"""


@dataclass
class FlexibleServer:
    """PostgreSQL requiring TLS for every TCP connection, standing in for the Azure flexible
    server; `bouncer` runs its built-in PgBouncer in front of it."""

    postgres: Postgres
    cert: Path
    key: Path
    pgbouncer: Callable[..., contextlib.AbstractContextManager[PgBouncer]]

    def set_admin(self, login: str, password: str) -> str:
        """The administrator login with the `airflow` database it owns (what the stack creates),
        its password set to `password` (Azure: the Key Vault secret); its SCRAM verifier."""
        from psycopg2 import sql

        with contextlib.closing(self.postgres.admin()) as conn, conn.cursor() as cur:
            cur.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (login,))
            if cur.fetchone() is None:
                cur.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(login)))
            cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE_NAME,))
            if cur.fetchone() is None:
                cur.execute(
                    sql.SQL("CREATE DATABASE {} OWNER {}").format(sql.Identifier(DATABASE_NAME), sql.Identifier(login))
                )
        assert self.postgres.set_password(login, password) == "SCRAM-SHA-256"
        with contextlib.closing(self.postgres.admin()) as conn, conn.cursor() as cur:
            cur.execute("SELECT rolpassword FROM pg_authid WHERE rolname = %s", (login,))
            (verifier,) = cur.fetchone()
        return str(verifier)

    def bouncer(self, host: str, login: str, verifier: str) -> contextlib.AbstractContextManager[PgBouncer]:
        """The built-in PgBouncer for the server at `host` (Key Vault's), knowing `login` by
        its SCRAM verifier (as it would through auth_query), until the block ends."""
        ini = BUILTIN_PGBOUNCER_INI.format(
            host=host, port=POSTGRES_PORT, listen_port=BUILTIN_PGBOUNCER_PORT, cert=self.cert, key=self.key
        )
        return self.pgbouncer(
            ini, f'"{login}" "{verifier}"\n', backends={(host, POSTGRES_PORT): (LOOPBACK, self.postgres.port)}
        )


def _tls_files(home: Path, user: RunAs) -> tuple[Path, Path]:
    """A self-signed certificate and its key, readable by the servers' user only (PostgreSQL
    refuses a key others can read). `sslmode=require` encrypts without verifying the server."""
    openssl = shutil.which("openssl")
    if openssl is None:
        raise ServerUnavailable("`openssl` not found (Debian's postgresql-common installs it through ssl-cert)")
    cert, key = home / "server.crt", home / "server.key"
    argv = [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=flexible-server"]
    done = subprocess.run(  # noqa: S603 - openssl, our own arguments
        [*argv, "-keyout", str(key), "-out", str(cert)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    if done.returncode != 0:
        raise ServerUnavailable(f"openssl could not make a certificate: {done.stderr.strip()[-400:]}")
    key.chmod(0o600)
    return user.own(cert), user.own(key)


def start_flexible_server(root: Path, user: RunAs, pgbouncer: Any) -> FlexibleServer:
    home = user.own(Path(tempfile.mkdtemp(prefix="flexible-server-", dir=root)))
    cert, key = _tls_files(home, user)
    postgres = start_postgres(home, user)
    try:
        with contextlib.closing(postgres.admin()) as conn, conn.cursor() as cur:
            cur.execute("SHOW hba_file")
            (hba,) = cur.fetchone()
            Path(hba).write_text(FLEXIBLE_HBA)
            for setting, value in (("ssl_cert_file", str(cert)), ("ssl_key_file", str(key)), ("ssl", "on")):
                cur.execute(f"ALTER SYSTEM SET {setting} = %s", (value,))
            cur.execute("SELECT pg_reload_conf()")
        deadline = time.monotonic() + 10
        while True:
            with contextlib.closing(postgres.admin()) as conn, conn.cursor() as cur:
                cur.execute("SHOW ssl")
                if cur.fetchone() == ("on",):
                    break
            if time.monotonic() > deadline:
                raise ServerUnavailable(f"PostgreSQL did not turn TLS on:\n{postgres.process.log_tail()}")
            time.sleep(0.05)
    except Exception:
        postgres.stop()
        raise
    return FlexibleServer(postgres, cert, key, pgbouncer)


@dataclass
class Servers:
    postgres: Postgres
    redis: Redis
    pgbouncer: Callable[..., contextlib.AbstractContextManager[PgBouncer]]
    flexible: FlexibleServer


@dataclass
class Exercised:
    keys: set[tuple[str, str]] = field(default_factory=set)
    stats_databases: list[str] = field(default_factory=list)


def check_catalogue(
    cat: Catalogue,
    rendered: Mapping[str, Mapping[str, str]],
    servers: Servers,
    *,
    libpq: bool = True,
    vault: Mapping[str, str] | None = None,
) -> Exercised:
    """Use every rendered credential the way its consumer does; what was used comes back.
    `vault`: what Key Vault holds (the managed database's host and administrator password,
    which Azure sets on the server, and the logs account's name)."""
    names, plan = cat.plan.names, cat.plan
    seen = Exercised()

    def take(secret: str, key: str) -> str:
        seen.keys.add((secret, key))
        return rendered[secret][key]

    endpoints = in_cluster_endpoints(plan, servers.postgres, servers.redis)
    with contextlib.ExitStack() as stack:
        if names.postgresql in rendered:
            # the bitnami subchart sets the `postgres` password from this key (auth.existingSecret)
            password = take(names.postgresql, "postgres-password")
            assert servers.postgres.set_password(POSTGRES_USER, password) == "SCRAM-SHA-256"
        if names.pgbouncer_config in rendered:
            bouncer = stack.enter_context(
                servers.pgbouncer(
                    take(names.pgbouncer_config, "pgbouncer.ini"),
                    take(names.pgbouncer_config, "users.txt"),
                    backends=endpoints,
                )
            )
            endpoints.update(pgbouncer_endpoints(plan, bouncer))
        if cat.settings.managed_database:
            assert vault is not None
            # Azure: the administrator login with the Key Vault secret as its password (the
            # Database component), the server at the host Key Vault holds
            login, password = cat.settings.database_admin_login, vault[DATABASE_ADMIN_PASSWORD_SECRET]
            host = vault[DATABASE_HOST_SECRET]
            verifier = servers.flexible.set_admin(login, password)
            if cat.settings.pgbouncer_enabled:  # only the built-in PgBouncer's port is an endpoint
                bouncer = stack.enter_context(servers.flexible.bouncer(host, login, verifier))
                endpoints[(host, BUILTIN_PGBOUNCER_PORT)] = (LOOPBACK, bouncer.port)
            else:
                endpoints[(host, POSTGRES_PORT)] = (LOOPBACK, servers.flexible.postgres.port)
            url = local_url(take(names.metadata, "connection"), endpoints)
            check_metadata_url(url, password, libpq=libpq, user=login, database=DATABASE_NAME, tls=True)
        elif names.metadata in rendered:
            check_metadata_url(local_url(take(names.metadata, "connection"), endpoints), password, libpq=libpq)
        if names.remote_logs_connection in rendered:
            assert vault is not None
            connection = take(names.remote_logs_connection, names.remote_logs_connection_key)
            check_wasb_connection(connection, vault[LOGS_ACCOUNT_NAME_SECRET])
        if names.pgbouncer_stats in rendered:
            seen.stats_databases = check_stats_url(
                local_url(take(names.pgbouncer_stats, "connection"), endpoints), password
            )
        if names.redis_password in rendered:
            redis_password = take(names.redis_password, "password")
            servers.redis.set_password(redis_password)  # what the chart's Redis runs with
            check_redis(servers.redis.port, redis_password)
        if names.broker_url in rendered:
            check_broker_url(local_url(take(names.broker_url, "connection"), endpoints), redis_password)
    return seen


def run_catalogue(cat: Catalogue, password: str, servers: Servers, *, libpq: bool = True) -> Exercised:
    vault = vault_values(cat, password)
    rendered = render_secrets(cat.templates, secret_data(cat, vault))
    seen = check_catalogue(cat, rendered, servers, libpq=libpq, vault=vault)
    every_key = {(secret, key) for secret, keys in cat.templates.items() for key in keys}
    assert seen.keys == every_key, f"templated keys no test used: {sorted(every_key - seen.keys)}"
    return seen


# ----------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def catalogues() -> dict[str, Catalogue]:
    return {name: catalogue(name) for name in CATALOGUE_SETTINGS}


@pytest.fixture(scope="module")
def flexible_server(
    servers_root: tuple[Path, RunAs],  # noqa: F811 - the session fixtures imported from tests.servers
    pgbouncer_factory: Any,  # noqa: F811
) -> Iterator[FlexibleServer]:
    root, user = servers_root
    try:
        server = start_flexible_server(root, user, pgbouncer_factory)
    except ServerUnavailable as err:
        unavailable(f"the flexible server's stand-in (PostgreSQL with TLS): {err}")
    try:
        yield server
    finally:
        server.postgres.stop()


@pytest.fixture(scope="module")
def servers(
    postgres_server: Postgres,  # noqa: F811 - the session fixtures imported from tests.servers
    redis_server: Redis,  # noqa: F811
    pgbouncer_factory: Any,  # noqa: F811
    flexible_server: FlexibleServer,
) -> Servers:
    return Servers(postgres_server, redis_server, pgbouncer_factory, flexible_server)


# ----------------------------------------------------------------- the alphabet
def test_passwords_cover_the_generators_alphabet_at_both_ends() -> None:
    assert len(ALPHABET) == len(set(ALPHABET)) == 62
    assert all(len(p) == PASSWORD_LENGTH and set(p) <= set(ALPHABET) for p in EDGE_PASSWORDS)
    assert {p[0] for p in EDGE_PASSWORDS} == {p[-1] for p in EDGE_PASSWORDS} == set(ALPHABET)
    assert len(CLASS_PAIR_PASSWORDS) == len(CLASSES) ** 2


def test_the_alphabet_is_what_the_stack_asks_the_generator_for(dev_run: RunResult) -> None:
    """The stack's RandomPasswords (as the mocks, which follow the provider, resolve their
    inputs) draw from exactly ALPHABET, and the generated database password is one of them."""
    from synth.mocks import CLASS_CHARS

    records = {r.name: r for r in dev_run.by_type("random:index/randomPassword:RandomPassword")}
    state = records["keyvault-postgres-password"].state
    assert state["special"] is False
    assert state["length"] == PASSWORD_LENGTH
    assert "".join(CLASS_CHARS[c] for c in ("upper", "lower", "numeric") if state[c]) == ALPHABET
    assert set(state["result"]) <= set(ALPHABET)


# ----------------------------------------------------------------- the credentials work
@pytest.mark.parametrize("password", CLASS_PAIR_PASSWORDS, ids=_pair_id)
@pytest.mark.parametrize("name", list(CATALOGUE_SETTINGS))
def test_every_rendered_credential_connects(
    name: str, password: str, catalogues: dict[str, Catalogue], servers: Servers
) -> None:
    cat = catalogues[name]
    seen = run_catalogue(cat, password, servers)
    if cat.plan.names.pgbouncer_stats in cat.templates:
        # the exporter sees the metadata database Airflow's connection just used
        assert f"{cat.plan.airflow_release}-metadata" in seen.stats_databases


@pytest.mark.parametrize("password", EDGE_PASSWORDS)
def test_every_generator_character_first_and_last(
    password: str, catalogues: dict[str, Catalogue], servers: Servers
) -> None:
    """Every character of the alphabet as the first and as the last character of the
    password, through the Celery variant: PostgreSQL's password, PgBouncer's users.txt and the
    URL to it (SQLAlchemy + psycopg2), its admin console, Redis and the broker URL (the
    matrix above adds PostgreSQL without PgBouncer and libpq's own URL parsing)."""
    run_catalogue(catalogues["dev-celery"], password, servers, libpq=False)


HYPOTHESIS_EXAMPLES = 5  # each runs the whole Celery chain (~0.1 s)


@hypothesis_settings(max_examples=HYPOTHESIS_EXAMPLES, derandomize=True, database=None, deadline=None)
@given(password=st.text(alphabet=ALPHABET, min_size=PASSWORD_LENGTH, max_size=PASSWORD_LENGTH))
def test_any_generated_password_works(password: str, catalogues: dict[str, Catalogue], servers: Servers) -> None:
    run_catalogue(catalogues["dev-celery"], password, servers)


def test_the_stack_generated_password_works(
    dev_run: RunResult, catalogues: dict[str, Catalogue], servers: Servers
) -> None:
    """The database password the dev stack's run generates (under the mocks) works too."""
    records = {r.name: r for r in dev_run.by_type("random:index/randomPassword:RandomPassword")}
    run_catalogue(catalogues["dev"], records["keyvault-postgres-password"].state["result"], servers)


# ----------------------------------------------------------------- the proofs are real
# a server's refusal, as psycopg2 raises it and as SQLAlchemy wraps it
DB_REFUSED = (psycopg2.OperationalError, sqlalchemy.exc.OperationalError)
WRONG = "Wrong" + ALPHABET[: PASSWORD_LENGTH - 5]


def test_a_wrong_password_is_refused_by_every_server(catalogues: dict[str, Catalogue], servers: Servers) -> None:
    """What makes a connection above a proof: PostgreSQL, PgBouncer and Redis refuse a password
    that is not the rendered one."""
    cat = catalogues["dev-celery"]
    password = CLASS_PAIR_PASSWORDS[0]
    rendered = render_secrets(
        cat.templates,
        secret_data(cat, {POSTGRES_PASSWORD_SECRET: password, REDIS_PASSWORD_SECRET: other_password(password)}),
    )
    check_catalogue(cat, rendered, servers)  # the servers now hold the rendered passwords
    names = cat.plan.names
    wrong_url = rendered[names.metadata]["connection"].replace(f":{password}@", f":{WRONG}@")
    assert wrong_url != rendered[names.metadata]["connection"]
    endpoints = in_cluster_endpoints(cat.plan, servers.postgres, servers.redis)
    direct = urllib.parse.urlsplit(wrong_url)._replace(
        netloc=f"{POSTGRES_USER}:{WRONG}@{LOOPBACK}:{servers.postgres.port}", path="/postgres"
    )
    with pytest.raises(psycopg2.OperationalError, match="password authentication failed for user"):
        psycopg2.connect(direct.geturl())
    config = rendered[names.pgbouncer_config]
    with servers.pgbouncer(config["pgbouncer.ini"], config["users.txt"], backends=endpoints) as bouncer:
        endpoints.update(pgbouncer_endpoints(cat.plan, bouncer))
        # PgBouncer answers a failed SCRAM exchange with "SASL authentication failed"
        with pytest.raises(DB_REFUSED, match="SASL authentication failed"):
            check_metadata_url(local_url(wrong_url, endpoints), WRONG)
    with pytest.raises(redis.AuthenticationError):
        check_redis(servers.redis.port, WRONG)
    broker = rendered[names.broker_url]["connection"].replace(f":{other_password(password)}@", f":{WRONG}@")
    with pytest.raises(redis.AuthenticationError):
        check_broker_url(local_url(broker, endpoints), WRONG)


def test_pgbouncer_runs_the_rendered_ini_with_only_addresses_and_paths_changed(
    catalogues: dict[str, Catalogue],
) -> None:
    cat = catalogues["dev"]
    rendered = render_secrets(cat.templates, secret_data(cat, {POSTGRES_PASSWORD_SECRET: "x"}))
    ini = rendered[cat.plan.names.pgbouncer_config]["pgbouncer.ini"]
    pg = (f"{cat.plan.airflow_release}-postgresql.{cat.plan.namespace}", POSTGRES_PORT)
    local, changes = pgbouncer_local_ini(
        ini, listen_port=1234, auth_file=Path("/x/users.txt"), backends={pg: (LOOPBACK, 5555)}
    )
    changed = [c.split("  ->  ")[0].split("=")[0].strip() for c in changes]
    release = cat.plan.airflow_release
    assert changed == [f"{release}-metadata", f"{release}-result-backend", "listen_port", "listen_addr", "auth_file"]
    kept = [line for line in ini.splitlines() if line.split("=")[0].strip() not in changed]
    assert all(line in local.splitlines() for line in kept)
    assert "host=127.0.0.1 dbname=postgres port=5555 pool_size=10" in local


# ----------------------------------------------------------------- broken templates fail
def test_urlquery_changes_nothing_for_this_alphabet() -> None:
    """Why the broken copies below break something else: Go's url.QueryEscape (`urlquery`)
    leaves letters and digits alone, so for these passwords a template without it renders
    the same URL (it is there for any other alphabet)."""
    templates = {"url": {"with": "{{ .password | urlquery }}", "without": "{{ .password }}"}}
    rendered = render_secrets(templates, {"url": {PASSWORD_VAR: ALPHABET}})
    assert rendered["url"]["with"] == rendered["url"]["without"] == ALPHABET
    odd = render_secrets(templates, {"url": {PASSWORD_VAR: "p@ss/w:rd 1+"}})["url"]
    assert odd["with"] == "p%40ss%2Fw%3Ard+1%2B"  # Go's QueryEscape, by the Go engine


def _broken(cat: Catalogue, secret: str, key: str, old: str, new: str) -> Catalogue:
    """A COPY of the catalogue with one template edited (the real plan is untouched)."""
    source = cat.plan.secrets[secret]
    template = dict(source.template or {})
    assert old in template[key], (old, template[key])
    template[key] = template[key].replace(old, new)
    secrets = {**cat.plan.secrets, secret: dataclasses.replace(source, template=template)}
    return Catalogue(f"{cat.name}-broken", dataclasses.replace(cat.plan, secrets=secrets), cat.settings)


BREAKS = {
    # users.txt for a user Airflow does not connect as: PgBouncer has no password for `postgres`
    "users.txt for user airflow": ("pgbouncer_config", "users.txt", '"postgres"', '"airflow"'),
    # the metadata URL to a database PgBouncer does not serve
    "metadata URL database airflow_metadata": ("metadata", "connection", "/airflow-metadata?", "/airflow_metadata?"),
}
# what the client is told, and what PgBouncer logs
REFUSALS = {
    # PgBouncer runs a mock SCRAM exchange for a user it has no password for, then refuses
    "users.txt for user airflow": ("SASL authentication failed", "no such user: postgres"),
    "metadata URL database airflow_metadata": ("no such database: airflow_metadata", "no such database"),
}


@pytest.mark.parametrize("break_name", list(BREAKS))
def test_a_broken_template_is_refused_by_the_real_server(
    break_name: str, catalogues: dict[str, Catalogue], servers: Servers
) -> None:
    attr, key, old, new = BREAKS[break_name]
    told, logged = REFUSALS[break_name]
    cat = catalogues["dev"]
    broken = _broken(cat, getattr(cat.plan.names, attr), key, old, new)
    assert catalogues["dev"].plan.secrets != broken.plan.secrets  # a copy; the real one is intact
    with pytest.raises(DB_REFUSED, match=told) as refused:
        run_catalogue(broken, CLASS_PAIR_PASSWORDS[0], servers)
    assert logged in "\n".join(getattr(refused.value, "__notes__", []))


# ----------------------------------------------------------------- the managed database's proofs
MANAGED = ["prod", "prod-direct"]


def _managed_rendered(cat: Catalogue, password: str) -> tuple[dict[str, str], dict[str, dict[str, str]]]:
    vault = vault_values(cat, password)
    return vault, render_secrets(cat.templates, secret_data(cat, vault))


def test_the_flexible_servers_stand_in_refuses_what_azure_refuses(servers: Servers) -> None:
    """What makes the managed connections above a proof of TLS and of the password: the
    stand-in refuses an unencrypted connection (require_secure_transport) and a wrong password,
    directly and through its built-in PgBouncer."""
    flexible, login, password = servers.flexible, "airflowadmin", CLASS_PAIR_PASSWORDS[1]
    verifier = flexible.set_admin(login, password)
    direct = {"host": LOOPBACK, "port": flexible.postgres.port, "user": login, "dbname": DATABASE_NAME}
    with pytest.raises(psycopg2.OperationalError, match="no encryption"):
        psycopg2.connect(**direct, password=password, sslmode="disable")
    with pytest.raises(psycopg2.OperationalError, match="password authentication failed for user"):
        psycopg2.connect(**direct, password=WRONG, sslmode="require")
    with contextlib.closing(psycopg2.connect(**direct, password=password, sslmode="require")) as conn:
        assert conn.info.ssl_in_use
    with flexible.bouncer("flexible.example", login, verifier) as bouncer:
        pooled = {**direct, "port": bouncer.port}
        with pytest.raises(psycopg2.OperationalError, match="SSL required"):
            psycopg2.connect(**pooled, password=password, sslmode="disable")
        with pytest.raises(psycopg2.OperationalError, match="SASL authentication failed"):
            psycopg2.connect(**pooled, password=WRONG, sslmode="require")
        with contextlib.closing(psycopg2.connect(**pooled, password=password, sslmode="require")) as conn:
            assert conn.info.ssl_in_use


@pytest.mark.parametrize("name", MANAGED)
def test_the_rendered_managed_url_is_refused_by_a_server_without_tls(
    name: str, catalogues: dict[str, Catalogue], servers: Servers
) -> None:
    """The rendered URL itself insists on TLS (sslmode=require): pointed at a PostgreSQL that
    offers none (the session's plain one), libpq refuses before any password goes out, through
    SQLAlchemy and through libpq's own URL parsing."""
    cat = catalogues[name]
    password = CLASS_PAIR_PASSWORDS[0]
    vault, rendered = _managed_rendered(cat, password)
    port = BUILTIN_PGBOUNCER_PORT if cat.settings.pgbouncer_enabled else POSTGRES_PORT
    plain = {(vault[DATABASE_HOST_SECRET], port): (LOOPBACK, servers.postgres.port)}
    url = local_url(rendered[cat.plan.names.metadata]["connection"], plain)
    with pytest.raises(DB_REFUSED, match="server does not support SSL, but SSL was required"):
        check_metadata_url(url, password, user=cat.settings.database_admin_login, database=DATABASE_NAME, tls=True)
    with pytest.raises(psycopg2.OperationalError, match="server does not support SSL, but SSL was required"):
        psycopg2.connect(url)


MANAGED_BREAKS = {
    # no TLS asked for: the server (require_secure_transport) and its PgBouncer refuse
    "sslmode disable": ("?sslmode=require", "?sslmode=disable"),
    # a login the server does not know
    "login airflow": ("postgresql://airflowadmin:", "postgresql://airflow:"),
    # a database the stack does not create
    "database airflow_db": ("/airflow?", "/airflow_db?"),
}
MANAGED_REFUSALS = {
    ("prod", "sslmode disable"): "SSL required",
    ("prod-direct", "sslmode disable"): "no encryption",
    ("prod", "login airflow"): "SASL authentication failed",
    ("prod-direct", "login airflow"): "password authentication failed for user",
    ("prod", "database airflow_db"): 'database "airflow_db" does not exist',
    ("prod-direct", "database airflow_db"): 'database "airflow_db" does not exist',
}


@pytest.mark.parametrize("break_name", list(MANAGED_BREAKS))
@pytest.mark.parametrize("name", MANAGED)
def test_a_broken_managed_template_is_refused(
    name: str, break_name: str, catalogues: dict[str, Catalogue], servers: Servers
) -> None:
    cat = catalogues[name]
    old, new = MANAGED_BREAKS[break_name]
    broken = _broken(cat, cat.plan.names.metadata, "connection", old, new)
    with pytest.raises(DB_REFUSED, match=MANAGED_REFUSALS[name, break_name]):
        run_catalogue(broken, CLASS_PAIR_PASSWORDS[0], servers)

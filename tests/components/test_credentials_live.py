"""The generated credentials WORK, shown with real software end to end (issue 11, item 5).

The stack generates the PostgreSQL and Redis passwords (pulumi_random RandomPassword,
`special=False`: components/key_vault.py, plan.generated_passwords) into Key Vault; ESO
renders the Kubernetes Secrets from them with Go templates (plan.credential_templates). Here:

1. the ACTUAL secret catalogue (`plan.build_plan(settings).secrets`) of the dev stack, of a
   Celery variant, of a variant without PgBouncer and of the prod stack: every templated key,
   none retyped;
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

Passwords come from the generator's exact alphabet and every character of it is the first
and the last character of some password; hypothesis draws more. A wrong password is refused
by every server (so a connection proves the password), and broken copies of the templates
are refused by the real servers (tests at the end).
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import shutil
import string
import tempfile
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

from config import parse_settings
from plan import (
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
    pgbouncer_factory,
    pgbouncer_local_ini,
    postgres_server,
    redis_server,
    servers_root,
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
def _prod_settings() -> Any:
    return parse_settings("prod", dict(load_stack_config("prod").values))


CATALOGUE_SETTINGS: dict[str, Callable[[], Any]] = {
    "dev": settings_for,  # KubernetesExecutor, bundled PostgreSQL behind PgBouncer
    "dev-celery": lambda: settings_for(executor="CeleryExecutor"),  # + Redis and the broker URL
    "dev-no-pgbouncer": lambda: settings_for(pgbouncerEnabled="false"),  # Airflow -> PostgreSQL directly
    "prod": _prod_settings,  # chart 1.19.0 / Airflow 3, CeleryExecutor,KubernetesExecutor
}


@dataclass(frozen=True)
class Catalogue:
    name: str
    plan: StackPlan

    @property
    def templates(self) -> dict[str, Mapping[str, str]]:
        """Secret -> {key: ESO template}, for every templated Secret of the plan."""
        return {secret: src.template for secret, src in self.plan.secrets.items() if src.template}

    def sources(self, secret: str) -> Mapping[str, str]:
        return self.plan.secrets[secret].data


def catalogue(name: str) -> Catalogue:
    return Catalogue(name, build_plan(CATALOGUE_SETTINGS[name]()))


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


def check_metadata_url(url: str, password: str, *, libpq: bool = True) -> None:
    """Airflow's client stack on the metadata URL: SQLAlchemy create_engine(url) (+ psycopg2),
    and (`libpq`) psycopg2 handing the URL itself to libpq; both decode the password to the
    generated one."""
    engine = create_engine(url, poolclass=NullPool)
    try:
        assert engine.url.password == password
        with engine.connect() as conn:
            user, database = conn.execute(text("SELECT current_user, current_database()")).one()
    finally:
        engine.dispose()
    assert (user, database) == (POSTGRES_USER, "postgres")
    if not libpq:
        return
    with contextlib.closing(psycopg2.connect(url)) as conn, conn.cursor() as cur:
        assert conn.info.password == password
        cur.execute("SELECT 1")
        assert cur.fetchone() == (1,)


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


@dataclass
class Servers:
    postgres: Postgres
    redis: Redis
    pgbouncer: Callable[..., contextlib.AbstractContextManager[PgBouncer]]


@dataclass
class Exercised:
    keys: set[tuple[str, str]] = field(default_factory=set)
    stats_databases: list[str] = field(default_factory=list)


def check_catalogue(
    cat: Catalogue, rendered: Mapping[str, Mapping[str, str]], servers: Servers, *, libpq: bool = True
) -> Exercised:
    """Use every rendered credential the way its consumer does; what was used comes back."""
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
        if names.metadata in rendered:
            check_metadata_url(local_url(take(names.metadata, "connection"), endpoints), password, libpq=libpq)
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
    passwords = {POSTGRES_PASSWORD_SECRET: password, REDIS_PASSWORD_SECRET: other_password(password)}
    rendered = render_secrets(cat.templates, secret_data(cat, passwords))
    seen = check_catalogue(cat, rendered, servers, libpq=libpq)
    every_key = {(secret, key) for secret, keys in cat.templates.items() for key in keys}
    assert seen.keys == every_key, f"templated keys no test used: {sorted(every_key - seen.keys)}"
    return seen


# ----------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def catalogues() -> dict[str, Catalogue]:
    return {name: catalogue(name) for name in CATALOGUE_SETTINGS}


@pytest.fixture(scope="module")
def servers(
    postgres_server: Postgres,  # noqa: F811 - the session fixtures imported from tests.servers
    redis_server: Redis,  # noqa: F811
    pgbouncer_factory: Any,  # noqa: F811
) -> Servers:
    return Servers(postgres_server, redis_server, pgbouncer_factory)


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
    return Catalogue(f"{cat.name}-broken", dataclasses.replace(cat.plan, secrets=secrets))


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

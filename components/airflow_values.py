"""Pure builder for the apache-airflow chart's Helm values.

Plain data in, plain data out: no Pulumi import, no secret value. Secrets enter only as
the NAMES of Kubernetes Secrets that the External Secrets Operator fills from Key Vault.

Everything that differs between chart versions lives in :data:`PROFILES` and its branch
in :func:`_version_specific`: chart 1.15.0 (Airflow 2.9.3, the article's) and chart 1.19.0
(Airflow 3.1.7: an API server instead of the webserver, an API secret key and a JWT
secret instead of the webserver secret key, the default user under ``createUserJob``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from settings import Settings

AIRFLOW_CHART_REPO = "https://airflow.apache.org"
AIRFLOW_CHART_NAME = "airflow"
AIRFLOW_UID = 50000
AIRFLOW_GID = 0


@dataclass(frozen=True)
class Image:
    """An image the chart runs, by repository path inside the configured registry, and the
    upstream repository it is mirrored from."""

    path: str
    tag: str
    source: str


_AIRFLOW = "docker.io/apache/airflow"
_STATSD = "quay.io/prometheus/statsd-exporter"
_GIT_SYNC = "registry.k8s.io/git-sync/git-sync"
_REDIS = "docker.io/library/redis"
# docker.io/bitnami/postgresql:16.1.0-debian-11-r15 (chart 1.15's default) is gone upstream;
# the same image lives on as bitnamilegacy/postgresql.
_POSTGRESQL = "docker.io/bitnamilegacy/postgresql"


@dataclass(frozen=True)
class ChartProfile:
    chart_version: str
    airflow_version: str
    # chart `images.<key>` -> image (repository path in the registry, pinned tag)
    images: dict[str, Image]
    postgresql_image: Image
    # Static keys the chart reads from Secrets, besides the Fernet key: each is a Secret
    # `airflow-<key>` with one key `<key>`, generated into Key Vault as `airflow-<key>`.
    static_keys: tuple[str, ...]
    ui_service: str  # the Service serving the UI: `<release>-<ui_service>`, port 8080
    ui_service_key: str  # its values key
    pdb_keys: tuple[str, ...]  # components the chart can give a PodDisruptionBudget
    executors: tuple[str, ...]  # the `executor` values this Airflow runs
    airflow_image_keys: tuple[str, ...] = field(default=("airflow", "pod_template", "flower"))

    @property
    def airflow3(self) -> bool:
        return self.airflow_version.startswith("3.")


PROFILES: dict[str, ChartProfile] = {
    # Chart 1.15.0 / Airflow 2.9.3: the versions and image tags of the Microsoft article.
    "1.15.0": ChartProfile(
        chart_version="1.15.0",
        airflow_version="2.9.3",
        images={
            "airflow": Image("airflow", "2.9.3", _AIRFLOW),
            "pod_template": Image("airflow", "2.9.3", _AIRFLOW),
            "flower": Image("airflow", "2.9.3", _AIRFLOW),
            "statsd": Image("statsd-exporter", "v0.26.1", _STATSD),
            "pgbouncer": Image("airflow", "airflow-pgbouncer-2024.01.19-1.21.0", _AIRFLOW),
            "pgbouncerExporter": Image("airflow", "airflow-pgbouncer-exporter-2024.06.18-0.17.0", _AIRFLOW),
            "gitSync": Image("git-sync", "v4.1.0", _GIT_SYNC),
            "redis": Image("redis", "7.2-bookworm", _REDIS),  # Celery executors only
        },
        postgresql_image=Image("bitnamilegacy/postgresql", "16.1.0-debian-11-r15", _POSTGRESQL),
        static_keys=("webserver-secret-key",),
        ui_service="webserver",
        ui_service_key="webserver",
        pdb_keys=("scheduler", "webserver", "pgbouncer"),
        executors=("LocalExecutor", "CeleryExecutor", "KubernetesExecutor", "CeleryKubernetesExecutor"),
    ),
    # Chart 1.19.0 / Airflow 3.1.7: the chart defaults of that release, mirrored to the ACR.
    # Airflow 2.x no longer gets fixes upstream; this is the line to run in production.
    "1.19.0": ChartProfile(
        chart_version="1.19.0",
        airflow_version="3.1.7",
        images={
            "airflow": Image("airflow", "3.1.7", _AIRFLOW),
            "pod_template": Image("airflow", "3.1.7", _AIRFLOW),
            "flower": Image("airflow", "3.1.7", _AIRFLOW),
            "statsd": Image("statsd-exporter", "v0.28.0", _STATSD),
            "pgbouncer": Image("airflow", "airflow-pgbouncer-2025.03.05-1.23.1", _AIRFLOW),
            "pgbouncerExporter": Image("airflow", "airflow-pgbouncer-exporter-2025.03.05-0.18.0", _AIRFLOW),
            "gitSync": Image("git-sync", "v4.4.2", _GIT_SYNC),
            "redis": Image("redis", "7.2-bookworm", _REDIS),
        },
        postgresql_image=Image("bitnamilegacy/postgresql", "16.1.0-debian-11-r15", _POSTGRESQL),
        # [api] secret_key, and [api_auth] jwt_secret: the chart would otherwise make a
        # new random JWT secret on every upgrade, invalidating every issued token.
        static_keys=("api-secret-key", "jwt-secret"),
        ui_service="api-server",
        ui_service_key="apiServer",
        pdb_keys=("scheduler", "apiServer", "triggerer", "pgbouncer", "workers"),
        # Airflow 3 has no CeleryKubernetesExecutor: several executors side by side replace it
        # (a task picks one with `executor=`; the first is the default).
        executors=("LocalExecutor", "CeleryExecutor", "KubernetesExecutor", "CeleryExecutor,KubernetesExecutor"),
    ),
}
SUPPORTED_CHART_VERSIONS: tuple[str, ...] = tuple(PROFILES)


@dataclass(frozen=True)
class SecretNames:
    """Kubernetes Secrets (made by ESO) and the claim the chart consumes, by name."""

    admin_password: str
    admin_password_key: str
    webserver_secret_key: str
    fernet_key: str
    logs_claim: str
    # Database and broker credentials: generated, in Key Vault, assembled by ESO. Named
    # unlike anything the chart (or its bitnami subchart) would create by default, so a
    # Secret never has two owners.
    postgresql: str = "airflow-postgresql-auth"
    metadata: str = "airflow-metadata-connection"
    pgbouncer_config: str = "airflow-pgbouncer-auth"
    pgbouncer_stats: str = "airflow-pgbouncer-exporter"
    redis_password: str = "airflow-redis-auth"
    broker_url: str = "airflow-celery-broker"
    # Airflow 3 (chart 1.19): [api] secret_key and [api_auth] jwt_secret
    api_secret_key: str = "airflow-api-secret-key"
    jwt_secret: str = "airflow-jwt-secret"


# The template variable ESO fills with the generated password (ExternalSecret data.secretKey).
PASSWORD_VAR = "password"
_PASSWORD = "{{ ." + PASSWORD_VAR + " }}"
_PASSWORD_IN_URL = "{{ ." + PASSWORD_VAR + " | urlquery }}"
POSTGRES_USER = "postgres"
POSTGRES_PORT = 5432
PGBOUNCER_PORT = 6543
REDIS_PORT = 6379


def image_mirrors(settings: Settings) -> dict[str, str | None]:
    """`repository:tag` in the registry -> the upstream image to import it from (None: a
    custom `airflowImageTag`, which you build and push yourself)."""
    profile = PROFILES[settings.airflow_chart_version]
    custom = settings.airflow_image_tag
    mirrors: dict[str, str | None] = {}
    for key, image in profile.images.items():
        if key in profile.airflow_image_keys and custom:
            mirrors[f"{image.path}:{custom}"] = None
        else:
            mirrors[f"{image.path}:{image.tag}"] = f"{image.source}:{image.tag}"
    if settings.postgresql_enabled:
        pg = profile.postgresql_image
        mirrors[f"{pg.path}:{pg.tag}"] = f"{pg.source}:{pg.tag}"
    return mirrors


def uses_celery(settings: Settings) -> bool:
    return "Celery" in settings.executor


def credential_templates(settings: Settings, names: SecretNames, release: str) -> dict[str, dict[str, str]]:
    """Kubernetes Secret -> {key: ESO template} for the database and broker credentials.

    Left to itself the chart builds these from plain-text values: the bundled PostgreSQL
    keeps ``postgres``/``postgres`` and Redis gets a password made up in a Helm hook. Here
    each is a template that ESO renders with ``{{ .password }}``, the generated password
    it reads from Key Vault, so no credential passes through values, state or logs. The
    strings mirror what the chart's own templates render from its default values
    (release ``release``).
    """
    out: dict[str, dict[str, str]] = {}
    ns = settings.namespace
    if settings.postgresql_enabled:
        # the bitnami subchart's auth.existingSecret (auth.secretKeys.adminPasswordKey)
        out[names.postgresql] = {"postgres-password": _PASSWORD}
        if settings.pgbouncer_enabled:
            host, port, database = f"{release}-pgbouncer.{ns}", PGBOUNCER_PORT, f"{release}-metadata"
        else:
            host, port, database = f"{release}-postgresql.{ns}", POSTGRES_PORT, "postgres"
        out[names.metadata] = {
            "connection": f"postgresql://{POSTGRES_USER}:{_PASSWORD_IN_URL}@{host}:{port}/{database}?sslmode=disable"
        }
        if settings.pgbouncer_enabled:
            out[names.pgbouncer_config] = {
                "pgbouncer.ini": pgbouncer_ini(release, ns),
                # one line for the metadata database, one for the result backend (same user)
                "users.txt": f'"{POSTGRES_USER}" "{_PASSWORD}"\n"{POSTGRES_USER}" "{_PASSWORD}"\n',
            }
            out[names.pgbouncer_stats] = {
                "connection": f"postgresql://{POSTGRES_USER}:{_PASSWORD_IN_URL}@127.0.0.1:{PGBOUNCER_PORT}"
                "/pgbouncer?sslmode=disable"
            }
    if uses_celery(settings):
        out[names.redis_password] = {"password": _PASSWORD}
        out[names.broker_url] = {"connection": f"redis://:{_PASSWORD_IN_URL}@{release}-redis:{REDIS_PORT}/0"}
    return out


def pgbouncer_ini(release: str, namespace: str) -> str:
    """The chart's pgbouncer.ini with its default settings (no secret in it)."""
    host = f"{release}-postgresql.{namespace}"
    return (
        "[databases]\n"
        f"{release}-metadata = host={host} dbname=postgres port={POSTGRES_PORT} pool_size=10\n"
        f"{release}-result-backend = host={host} dbname=postgres port={POSTGRES_PORT} pool_size=5\n"
        "\n"
        "[pgbouncer]\n"
        "pool_mode = transaction\n"
        f"listen_port = {PGBOUNCER_PORT}\n"
        "listen_addr = *\n"
        "auth_type = scram-sha-256\n"
        "auth_file = /etc/pgbouncer/users.txt\n"
        f"stats_users = {POSTGRES_USER}\n"
        "ignore_startup_parameters = extra_float_digits\n"
        "max_client_conn = 100\n"
        "verbose = 0\n"
        "log_disconnections = 0\n"
        "log_connections = 0\n"
        "\n"
        "server_tls_sslmode = prefer\n"
        "server_tls_ciphers = normal\n"
    )


def airflow_values(settings: Settings, names: SecretNames) -> dict[str, Any]:
    """The chart values for one stack: deterministic, JSON-serialisable, secret-free."""
    profile = PROFILES[settings.airflow_chart_version]
    registry = settings.registry_server
    airflow_tag = settings.airflow_image_tag or profile.airflow_version

    images: dict[str, Any] = {}
    for key, image in profile.images.items():
        tag = airflow_tag if key in profile.airflow_image_keys else image.tag
        images[key] = {"repository": f"{registry}/{image.path}", "tag": tag, "pullPolicy": "IfNotPresent"}
    images["useDefaultImageForMigration"] = False
    images["migrationsWaitTimeout"] = 60

    values: dict[str, Any] = {
        # Migration/wait containers fall back to the default repository: keep it in the ACR.
        "defaultAirflowRepository": f"{registry}/{profile.images['airflow'].path}",
        "defaultAirflowTag": airflow_tag,
        "airflowVersion": profile.airflow_version,
        "images": images,
        "executor": settings.executor,
        "env": [{"name": k, "value": v} for k, v in settings.env_vars.items()],
        "config": {"core": {"default_timezone": settings.timezone}},
        # Every Airflow pod and container (the chart's global defaults; the non-Airflow
        # images get their own below).
        "securityContexts": {
            "pod": _pod_security(AIRFLOW_UID, AIRFLOW_GID, fs_group=AIRFLOW_GID),
            "containers": _container_security(),
        },
        "pgbouncer": {"enabled": settings.pgbouncer_enabled},
        "statsd": {
            "resources": settings.statsd_resources.kubernetes(),
            "securityContexts": {"pod": _pod_security(STATSD_UID), "container": _container_security()},
            "serviceAccount": _no_token(),
        },
        "logs": {
            "persistence": {
                "enabled": True,
                "existingClaim": names.logs_claim,
                "storageClassName": "azureblob-fuse-premium",
            }
        },
        # Task logs live in Blob storage (lifecycle managed there): no log groomers.
        "scheduler": {
            "logGroomerSidecar": {"enabled": False},
            "resources": settings.scheduler_resources.kubernetes(),
            "serviceAccount": _token(_scheduler_calls_the_api(settings)),
        },
        "triggerer": {
            "logGroomerSidecar": {"enabled": False},
            "resources": settings.triggerer_resources.kubernetes(),
            # The chart binds the triggerer to a pod role: deferrable KubernetesPodOperator
            # triggers watch (1.15: read) their pods from here.
            "serviceAccount": _token(True),
        },
        "workers": {
            "logGroomerSidecar": {"enabled": False},
            # Celery workers, and (the chart's pod_template_file) every KubernetesExecutor task pod.
            "resources": settings.worker_resources.kubernetes(),
            # Tasks launch pods (KubernetesPodOperator): the chart binds workers to its pod launcher role.
            "serviceAccount": _token(settings.executor != "LocalExecutor"),
        },
        # Static keys from Key Vault (via ESO), never generated into the release; the
        # version-specific ones (webserver or API secret key, JWT secret) come below.
        "fernetKeySecretName": names.fernet_key,
        # Plain resources, not Helm hooks: a release that waits for readiness would
        # otherwise deadlock (the scheduler waits for a migration that runs post-install).
        "migrateDatabaseJob": {
            "useHelmHooks": False,
            "resources": settings.migrate_database_job_resources.kubernetes(),
            "serviceAccount": _no_token(),
        },
    }
    values["dags"] = {"gitSync": _git_sync(settings)}
    if settings.postgresql_enabled:
        values["postgresql"] = {
            "enabled": True,
            "image": {
                "registry": registry,
                "repository": profile.postgresql_image.path,
                "tag": profile.postgresql_image.tag,
            },
            # the generated password, not the chart's postgres/postgres
            "auth": {"enablePostgresUser": True, "existingSecret": names.postgresql},
            "primary": {
                "resources": settings.postgresql_resources.kubernetes(),
                "podSecurityContext": {
                    "enabled": True,
                    "fsGroup": POSTGRESQL_UID,
                    "seccompProfile": _runtime_default(),
                },
                "containerSecurityContext": _container_security(
                    enabled=True, runAsUser=POSTGRESQL_UID, runAsNonRoot=True
                ),
            },
            # Its own account without a token (the chart's default is the namespace's
            # `default` account, which mounts one).
            "serviceAccount": {"create": True, "automountServiceAccountToken": False},
        }
        values["data"] = {"metadataSecretName": names.metadata}
        if settings.pgbouncer_enabled:
            values["pgbouncer"].update(
                configSecretName=names.pgbouncer_config,
                resources=settings.pgbouncer_resources.kubernetes(),
                securityContexts={"pod": _pod_security(PGBOUNCER_UID), "container": _container_security()},
                serviceAccount=_no_token(),
                metricsExporterSidecar={
                    "statsSecretName": names.pgbouncer_stats,
                    "resources": settings.pgbouncer_exporter_resources.kubernetes(),
                    "securityContexts": {"container": _container_security()},
                },
            )
    else:
        values["postgresql"] = {"enabled": False}
        values["data"] = {"metadataSecretName": settings.external_database_secret_name}
    # The chart renders a `pre-install` hook Secret `<release>-broker-url` whenever this is
    # unset, for every executor (secrets/redis-secrets.yaml); without Redis its data is the
    # Go template error `%!s(<nil>)`. Naming the Secret ours turns the hook off; only the
    # Celery executors read it (the AIRFLOW__CELERY__BROKER_URL env in _helpers.yaml).
    values["data"]["brokerUrlSecretName"] = names.broker_url
    if uses_celery(settings):
        values["redis"] = {
            "enabled": True,
            "passwordSecretName": names.redis_password,
            "resources": settings.redis_resources.kubernetes(),
            # The redis image's own user; fsGroup makes the data volume its.
            "securityContexts": {
                "pod": _pod_security(REDIS_UID, REDIS_UID, fs_group=REDIS_UID),
                "container": _container_security(),
            },
            "serviceAccount": _no_token(),
        }
    else:
        # Without Celery there is no broker; the chart would still make a Redis password
        # in a pre-install hook while Redis is enabled.
        values["redis"] = {"enabled": False}
    _merge(values, _version_specific(profile, settings, names))
    if settings.high_availability:
        _merge(values, _high_availability(profile, settings))
    return values


# The chart's own user ids for its images (values.yaml `uid`s), and Airflow's: uid 50000 in
# the root group, which the Blob log mount (`-o uid=50000 -o gid=0`) is made for.
STATSD_UID = 65534
PGBOUNCER_UID = 65534
GIT_SYNC_UID = 65533
REDIS_UID = 999  # `redis` in the official image, which owns /data
POSTGRESQL_UID = 1001  # bitnami


def _runtime_default() -> dict[str, str]:
    return {"type": "RuntimeDefault"}


def _container_security(**extra: Any) -> dict[str, Any]:
    """Every container: no privilege escalation, no capabilities, the runtime's seccomp
    profile (a new dict each time: the values are plain data a caller may edit)."""
    return {
        **extra,
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": _runtime_default(),
    }


def _pod_security(uid: int, gid: int | None = None, fs_group: int | None = None) -> dict[str, Any]:
    """A pod that runs as `uid` (never root), under the runtime's seccomp profile."""
    out: dict[str, Any] = {"runAsUser": uid, "runAsNonRoot": True, "seccompProfile": _runtime_default()}
    if gid is not None:
        out["runAsGroup"] = gid
    if fs_group is not None:
        out["fsGroup"] = fs_group
    return out


def _token(needed: bool) -> dict[str, Any]:
    """A component's ServiceAccount: its token is mounted only where the pod calls the
    Kubernetes API."""
    return {"automountServiceAccountToken": needed}


def _no_token() -> dict[str, Any]:
    return _token(False)


def _scheduler_calls_the_api(settings: Settings) -> bool:
    """The scheduler launches and watches pods for the KubernetesExecutor, and runs the
    tasks itself with the LocalExecutor (KubernetesPodOperator); with Celery alone it does
    neither (the chart binds its pod launcher role to the scheduler for the same executors)."""
    return settings.executor != "CeleryExecutor"


def _ui_reads_pod_logs(settings: Settings) -> bool:
    """The webserver (API server on Airflow 3) reads the log of a running KubernetesExecutor
    task from its pod through the API (KubernetesExecutor.get_task_log); no other executor
    has it call the API."""
    return "KubernetesExecutor" in settings.executor


def _merge(into: dict[str, Any], extra: dict[str, Any]) -> None:
    """Deep-merge `extra` into `into` (mappings merge, anything else replaces)."""
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            _merge(into[key], value)
        else:
            into[key] = value


def _high_availability(profile: ChartProfile, settings: Settings) -> dict[str, Any]:
    """Two of each long-running component, spread over zones, with disruption budgets, so a
    node drain (AKS upgrades) or a lost zone leaves every role running. The bundled
    PostgreSQL and Redis stay single: HA for them means a managed service."""

    def spread(component: str) -> list[dict[str, Any]]:
        return [
            {
                "maxSkew": 1,
                "topologyKey": "topology.kubernetes.io/zone",
                "whenUnsatisfiable": "ScheduleAnyway",
                "labelSelector": {"matchLabels": {"tier": "airflow", "component": component}},
            }
        ]

    pdb = {"enabled": True, "config": {"maxUnavailable": 1}}
    # values key -> the chart's `component` label; PDBs where the chart line has them
    components = {"scheduler": "scheduler", profile.ui_service_key: profile.ui_service, "triggerer": "triggerer"}
    if settings.pgbouncer_enabled and settings.postgresql_enabled:
        components["pgbouncer"] = "pgbouncer"
    if uses_celery(settings):
        components["workers"] = "worker"
    out: dict[str, Any] = {}
    for key, label in components.items():
        out[key] = {"replicas": 2, "topologySpreadConstraints": spread(label)}
        if key in profile.pdb_keys:
            out[key]["podDisruptionBudget"] = pdb
    return out


def git_sync_ref(settings: Settings) -> str:
    """What git-sync checks out: the pinned revision, or the branch while the revision is HEAD."""
    return settings.dags_git_branch if settings.dags_git_rev == "HEAD" else settings.dags_git_rev


def _git_sync(settings: Settings) -> dict[str, Any]:
    if not settings.dags_git_repo:
        return {"enabled": False}
    return {
        "enabled": True,
        "repo": settings.dags_git_repo,
        # git-sync v4 checks out --ref (GITSYNC_REF). The chart also passes the v3 variables
        # GIT_SYNC_BRANCH/GIT_SYNC_REV, which v4 turns into --ref over ours when set (and
        # refuses when both are): empty, so `ref` alone decides (chart default: v2-2-stable).
        "ref": git_sync_ref(settings),
        "branch": "",
        "rev": "",
        "depth": settings.dags_git_depth,
        "maxFailures": 0,
        "subPath": settings.dags_git_sub_path,
        # sidecars and init containers of every pod that reads DAGs
        "resources": settings.git_sync_resources.kubernetes(),
        "securityContexts": {"container": _container_security(runAsUser=GIT_SYNC_UID, runAsNonRoot=True)},
    }


def _version_specific(profile: ChartProfile, settings: Settings, names: SecretNames) -> dict[str, Any]:
    """Keys whose shape depends on the chart line: where the default user lives, which
    static keys the chart reads, which components exist."""
    user = {
        "enabled": True,
        "role": "Admin",
        "username": settings.admin_username,
        "email": settings.admin_email,
        "firstName": "Airflow",
        "lastName": "Admin",
        "password": "",
    }
    reads_pod_logs = _ui_reads_pod_logs(settings)
    ui = {
        "resources": settings.webserver_resources.kubernetes(),
        "serviceAccount": _token(reads_pod_logs),
        # the chart's pod log reader role for it: only where it is used
        "allowPodLogReading": reads_pod_logs,
    }
    if profile.chart_version.startswith("1.15."):
        return {
            "webserverSecretKeySecretName": names.webserver_secret_key,
            "webserver": {**ui, "defaultUser": user},
            "createUserJob": _create_user_job(".Values.webserver.defaultUser", names, settings),
        }
    if profile.chart_version.startswith("1.19."):
        return {
            "apiSecretKeySecretName": names.api_secret_key,
            "jwtSecretName": names.jwt_secret,
            "apiServer": ui,
            # Airflow 3 runs the DAG processor on its own; its logs go to Blob too.
            "dagProcessor": {
                "logGroomerSidecar": {"enabled": False},
                "resources": settings.dag_processor_resources.kubernetes(),
                "serviceAccount": _no_token(),
            },
            "createUserJob": {
                **_create_user_job(".Values.createUserJob.defaultUser", names, settings),
                "defaultUser": user,
            },
        }
    raise NotImplementedError(f"no version-specific values for chart {profile.chart_version}")  # pragma: no cover


# What the chart's own wait-for-migrations init containers run (_helpers.yaml
# "wait-for-migrations-command"), with the same timeout value.
WAIT_FOR_MIGRATIONS = "airflow db check-migrations --migration-wait-timeout={{ .Values.images.migrationsWaitTimeout }}"


def _create_user_job(user: str, names: SecretNames, settings: Settings) -> dict[str, Any]:
    """The create-user job reads the generated password from a Secret at run time; the
    password never appears in values, args or release state. The other fields are chart
    templates over `user` (settings restrict them to shell-safe characters).

    Without Helm hooks the migration job and this one start together, and the chart gives
    this job no wait-for-migrations init container (jobs/create-user-job.yaml, 1.15 and
    1.19): it first waits for the schema as the chart's init containers do (and exits
    non-zero on timeout, so the Job retries) and only then creates the user."""
    create_user = (
        f"{WAIT_FOR_MIGRATIONS} && exec airflow users create"
        f" -r {{{{ {user}.role }}}}"
        f" -u {{{{ {user}.username }}}}"
        f" -e {{{{ {user}.email }}}}"
        f" -f {{{{ {user}.firstName }}}}"
        f" -l {{{{ {user}.lastName }}}}"
        ' -p "${AIRFLOW_ADMIN_PASSWORD}"'
    )
    return {
        "useHelmHooks": False,
        "args": ["bash", "-c", create_user],
        "env": [
            {
                "name": "AIRFLOW_ADMIN_PASSWORD",
                "valueFrom": {"secretKeyRef": {"name": names.admin_password, "key": names.admin_password_key}},
            }
        ],
        "resources": settings.create_user_job_resources.kubernetes(),
        "serviceAccount": _no_token(),
    }

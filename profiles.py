"""Chart profiles: everything that differs between the apache-airflow chart lines.

Plain data, no Pulumi import. A profile per supported chart version: its Airflow version,
the images it runs (pinned, with the upstream each is mirrored from), the static keys it
reads from Secrets and the values keys they go under, the Service serving the UI, where the
default user lives, which components exist. Adding a chart line is adding a profile here:
nothing outside this module branches on a version string.
"""

from __future__ import annotations

from dataclasses import dataclass, field

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
    # Static keys the chart reads from Secrets, besides the Fernet key: static key -> the
    # values key naming its Secret. Each is a Secret `airflow-<key>` with one key `<key>`,
    # generated into Key Vault as `airflow-<key>` (names: plan.py).
    static_keys: dict[str, str]
    ui_service: str  # the Service serving the UI: `<release>-<ui_service>`, port 8080
    ui_service_key: str  # its values key
    pdb_keys: tuple[str, ...]  # components the chart can give a PodDisruptionBudget
    executors: tuple[str, ...]  # the `executor` values this Airflow runs
    default_user_key: str  # the values key whose `defaultUser` the create-user job reads
    standalone_dag_processor: bool  # a `dagProcessor` component of its own (Airflow 3)
    # The UI component also serves the Task Execution API every task and component calls
    # (Airflow 3): with NetworkPolicies on, Airflow's pods must be let in.
    execution_api: bool
    # Remote task logs (logsMode=remote): the components that write them and the ones that
    # only read them, values key -> the chart's component name (its ServiceAccount is
    # `<release>-<component>`). KubernetesExecutor task pods run as the workers' account.
    log_writers: dict[str, str]
    log_readers: dict[str, str]
    # The values paths of the per-replica log disks the chart gives Celery workers and the
    # triggerer when `logs.persistence` is off (on by default): remote logs need neither.
    log_disk_keys: tuple[tuple[str, ...], ...]
    # The chart's worker and triggerer NetworkPolicies let the UI component in to their log
    # servers (chart 1.15: `component: webserver`). Chart 1.19 still names the webserver, which
    # Airflow 3 does not run: its API server needs a policy of the stack's own.
    log_servers_admit_ui: bool
    # The UI behind an Ingress (issue 13): the chart's `ingress.<key>` for the UI Service
    # (1.15: `web`; 1.19: `apiServer`, Airflow 3's UI) and the airflow.cfg section whose
    # `base_url` names the URL users reach it at ([webserver] on Airflow 2, [api] on Airflow 3).
    ui_ingress_key: str
    ui_base_url_section: str
    airflow_image_keys: tuple[str, ...] = field(default=("airflow", "pod_template", "flower"))

    @property
    def airflow_major(self) -> int:
        return int(self.airflow_version.split(".")[0])

    @property
    def airflow_minor(self) -> int:
        return int(self.airflow_version.split(".")[1])

    @property
    def airflow3(self) -> bool:
        return self.airflow_major == 3


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
        static_keys={"webserver-secret-key": "webserverSecretKeySecretName"},
        ui_service="webserver",
        ui_service_key="webserver",
        execution_api=False,
        log_writers={"scheduler": "scheduler", "workers": "worker", "triggerer": "triggerer"},
        log_readers={"webserver": "webserver"},
        log_disk_keys=(("workers", "persistence"), ("triggerer", "persistence")),
        log_servers_admit_ui=True,
        ui_ingress_key="web",
        ui_base_url_section="webserver",
        pdb_keys=("scheduler", "webserver", "pgbouncer"),
        executors=("LocalExecutor", "CeleryExecutor", "KubernetesExecutor", "CeleryKubernetesExecutor"),
        default_user_key="webserver",
        standalone_dag_processor=False,
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
        static_keys={"api-secret-key": "apiSecretKeySecretName", "jwt-secret": "jwtSecretName"},
        ui_service="api-server",
        ui_service_key="apiServer",
        execution_api=True,
        log_writers={
            "scheduler": "scheduler",
            "workers": "worker",
            "triggerer": "triggerer",
            "dagProcessor": "dag-processor",
        },
        log_readers={"apiServer": "api-server"},
        # workers.persistence is deprecated in 1.19 for workers.celery.persistence (which
        # falls back to it when unset)
        log_disk_keys=(("workers", "celery", "persistence"), ("triggerer", "persistence")),
        log_servers_admit_ui=False,
        ui_ingress_key="apiServer",
        ui_base_url_section="api",
        pdb_keys=("scheduler", "apiServer", "triggerer", "pgbouncer", "workers"),
        # Airflow 3 has no CeleryKubernetesExecutor: several executors side by side replace it
        # (a task picks one with `executor=`; the first is the default).
        executors=("LocalExecutor", "CeleryExecutor", "KubernetesExecutor", "CeleryExecutor,KubernetesExecutor"),
        default_user_key="createUserJob",
        standalone_dag_processor=True,
    ),
}
SUPPORTED_CHART_VERSIONS: tuple[str, ...] = tuple(PROFILES)


# External Secrets Operator (its chart version is a setting; one image for every controller).
ESO_CHART_REPO = "https://charts.external-secrets.io"
ESO_CHART_NAME = "external-secrets"
ESO_IMAGE_SOURCE = "ghcr.io/external-secrets/external-secrets"
ESO_IMAGES = {
    # chart values path -> repository path inside the configured registry
    "image": "external-secrets/external-secrets",
    "webhook.image": "external-secrets/external-secrets",
    "certController.image": "external-secrets/external-secrets",
}

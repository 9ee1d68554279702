"""Pure builder for the apache-airflow chart's Helm values.

Plain data in, plain data out: no Pulumi import, no secret value. Secrets enter only as
the NAMES of Kubernetes Secrets that the External Secrets Operator fills from Key Vault.

Everything that differs between chart versions lives in :data:`PROFILES`: adding chart
1.19 / Airflow 3 is a new profile (plus its branch in :func:`_version_specific`), not
edits across files.
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
    """An image the chart runs, by repository path inside the configured registry."""

    path: str
    tag: str


@dataclass(frozen=True)
class ChartProfile:
    chart_version: str
    airflow_version: str
    # chart `images.<key>` -> image (repository path in the registry, pinned tag)
    images: dict[str, Image]
    postgresql_image: Image
    airflow_image_keys: tuple[str, ...] = field(default=("airflow", "pod_template", "flower"))


PROFILES: dict[str, ChartProfile] = {
    # Chart 1.15.0 / Airflow 2.9.3: the versions and image tags of the Microsoft article.
    "1.15.0": ChartProfile(
        chart_version="1.15.0",
        airflow_version="2.9.3",
        images={
            "airflow": Image("airflow", "2.9.3"),
            "pod_template": Image("airflow", "2.9.3"),
            "flower": Image("airflow", "2.9.3"),
            "statsd": Image("statsd-exporter", "v0.26.1"),
            "pgbouncer": Image("airflow", "airflow-pgbouncer-2024.01.19-1.21.0"),
            "pgbouncerExporter": Image("airflow", "airflow-pgbouncer-exporter-2024.06.18-0.17.0"),
            "gitSync": Image("git-sync", "v4.1.0"),
            "redis": Image("redis", "7.2-bookworm"),  # Celery executors only
        },
        # docker.io/bitnami/postgresql:16.1.0-debian-11-r15 (the chart default) is gone
        # upstream; the same image lives on as bitnamilegacy/postgresql: mirror it to the ACR.
        postgresql_image=Image("bitnamilegacy/postgresql", "16.1.0-debian-11-r15"),
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
        "pgbouncer": {"enabled": settings.pgbouncer_enabled},
        "logs": {
            "persistence": {
                "enabled": True,
                "existingClaim": names.logs_claim,
                "storageClassName": "azureblob-fuse-premium",
            }
        },
        # Task logs live in Blob storage (lifecycle managed there): no log groomers.
        "scheduler": {"logGroomerSidecar": {"enabled": False}},
        "triggerer": {"logGroomerSidecar": {"enabled": False}},
        "workers": {"logGroomerSidecar": {"enabled": False}},
        # Static keys from Key Vault (via ESO), never generated into the release.
        "webserverSecretKeySecretName": names.webserver_secret_key,
        "fernetKeySecretName": names.fernet_key,
        # Plain resources, not Helm hooks: a release that waits for readiness would
        # otherwise deadlock (the scheduler waits for a migration that runs post-install).
        "migrateDatabaseJob": {"useHelmHooks": False},
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
        }
    else:
        values["postgresql"] = {"enabled": False}
        values["data"] = {"metadataSecretName": settings.external_database_secret_name}
    values.update(_version_specific(profile, settings, names))
    return values


def _git_sync(settings: Settings) -> dict[str, Any]:
    if not settings.dags_git_repo:
        return {"enabled": False}
    return {
        "enabled": True,
        "repo": settings.dags_git_repo,
        "branch": settings.dags_git_branch,
        "rev": settings.dags_git_rev,
        "depth": settings.dags_git_depth,
        "maxFailures": 0,
        "subPath": settings.dags_git_sub_path,
    }


def _version_specific(profile: ChartProfile, settings: Settings, names: SecretNames) -> dict[str, Any]:
    """Keys whose shape depends on the chart major line."""
    if profile.chart_version.startswith("1.15."):
        # The create-user job reads the generated password from a Secret at run time;
        # the password never appears in values, args or release state.
        create_user = (
            "exec airflow users create"
            " -r {{ .Values.webserver.defaultUser.role }}"
            " -u {{ .Values.webserver.defaultUser.username }}"
            " -e {{ .Values.webserver.defaultUser.email }}"
            " -f {{ .Values.webserver.defaultUser.firstName }}"
            " -l {{ .Values.webserver.defaultUser.lastName }}"
            ' -p "${AIRFLOW_ADMIN_PASSWORD}"'
        )
        return {
            "webserver": {
                "defaultUser": {
                    "enabled": True,
                    "role": "Admin",
                    "username": settings.admin_username,
                    "email": settings.admin_email,
                    "firstName": "Airflow",
                    "lastName": "Admin",
                    "password": "",
                }
            },
            "createUserJob": {
                "useHelmHooks": False,
                "args": ["bash", "-c", create_user],
                "env": [
                    {
                        "name": "AIRFLOW_ADMIN_PASSWORD",
                        "valueFrom": {"secretKeyRef": {"name": names.admin_password, "key": names.admin_password_key}},
                    }
                ],
            },
        }
    raise NotImplementedError(f"no version-specific values for chart {profile.chart_version}")  # pragma: no cover

"""Pure builder for the apache-airflow chart's Helm values.

Plain data in, plain data out: no Pulumi import, no secret value. Secrets enter only as
the NAMES of Kubernetes Secrets that the External Secrets Operator fills from Key Vault.

Everything that differs between chart versions comes from the chart profile
(:mod:`profiles`): chart 1.15.0 (Airflow 2.9.3, the article's) and chart 1.19.0 (Airflow
3.1.7: an API server instead of the webserver, an API secret key and a JWT secret instead
of the webserver secret key, the default user under ``createUserJob``). Nothing here
branches on a version string.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from plan import (
    REMOTE_LOG_CONN_ENV,
    REMOTE_LOG_CONN_ID,
    REMOTE_LOG_FOLDER,
    SecretNames,
    StackPlan,
    ui_ingress_name,
    uses_celery,
)

__all__ = ["UiIngress", "airflow_values", "ingress_values", "ui_ingress_name"]
from profiles import AIRFLOW_GID, AIRFLOW_UID, ChartProfile

if TYPE_CHECKING:
    from config import Settings


# The label the AKS workload identity webhook acts on: it gives the pod the token and the
# AZURE_* environment of its ServiceAccount's identity (annotated with the client id).
WORKLOAD_IDENTITY_LABEL = "azure.workload.identity/use"
WORKLOAD_IDENTITY_CLIENT_ID = "azure.workload.identity/client-id"

# The namespace the AKS application routing add-on runs its NGINX controllers in (the
# operator's config.DefaultNs): with NetworkPolicies on, the UI lets it in.
APP_ROUTING_NAMESPACE = "app-routing-system"
# The label Kubernetes gives every namespace, its name (a NetworkPolicy namespaceSelector).
NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"


@dataclass(frozen=True)
class UiIngress:
    """The UI behind an Ingress of the application routing add-on (components/ingress.py):
    its host, IngressClass, the TLS Secret the add-on fills, and the Ingress's annotations
    (the Key Vault URI of the certificate: a Pulumi output, passed through untouched)."""

    host: str
    class_name: str
    tls_secret: str
    annotations: Mapping[str, Any] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"https://{self.host}"


def ingress_values(profile: ChartProfile, ui: UiIngress) -> dict[str, Any]:
    """The chart's Ingress for the UI Service (chart 1.15: `ingress.web`; 1.19: `ingress.apiServer`)
    with TLS from `ui.tls_secret`, and Airflow's base_url (Airflow 2: [webserver]; 3: [api])."""
    return {
        "ingress": {
            profile.ui_ingress_key: {
                "enabled": True,
                "ingressClassName": ui.class_name,
                "annotations": dict(ui.annotations),
                "path": "/",
                "pathType": "Prefix",
                "hosts": [{"name": ui.host, "tls": {"enabled": True, "secretName": ui.tls_secret}}],
            }
        },
        "config": {profile.ui_base_url_section: {"base_url": ui.url}},
    }


def airflow_values(
    settings: Settings,
    plan: StackPlan,
    log_client_ids: Mapping[str, Any] | None = None,
    ui: UiIngress | None = None,
) -> dict[str, Any]:
    """The chart values for one stack: deterministic, JSON-serialisable, secret-free. Every
    name (Secrets, claim, storage class) comes from the plan.

    `log_client_ids` (logsMode=remote): each of the plan's log identities, by name -> its
    client id, which Azure assigns when it creates the identity (a Pulumi output, passed
    through untouched; a string in tests).

    `ui`: the UI behind the application routing add-on's Ingress (None: port-forward only,
    and the values are exactly those without it)."""
    profile, names = plan.profile, plan.names
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
        # With databaseMode=managed, pgbouncerEnabled means the server's built-in PgBouncer.
        "pgbouncer": {"enabled": settings.pgbouncer_enabled and not settings.managed_database},
        "statsd": {
            "resources": settings.statsd_resources.kubernetes(),
            "securityContexts": {"pod": _pod_security(STATSD_UID), "container": _container_security()},
            "serviceAccount": _no_token(),
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
    values["dags"] = {"gitSync": _git_sync(settings, names)}
    # logsMode=pv: the Blob CSI claim every Airflow pod mounts; remote: none (_remote_logs)
    persistence = {"enabled": True, "existingClaim": names.logs_claim, "storageClassName": plan.storage_class}
    values["logs"] = {"persistence": persistence if settings.logs_mode == "pv" else {"enabled": False}}
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
    elif settings.managed_database:
        # The Flexible Server: the connection (its host, sslmode=require) assembled by ESO.
        values["postgresql"] = {"enabled": False}
        values["data"] = {"metadataSecretName": names.metadata}
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
    if settings.logs_mode == "remote":
        _merge(values, _remote_logs(settings, plan, log_client_ids or {}))
    if settings.high_availability:
        _merge(values, _high_availability(profile, settings))
    if plan.network is not None:
        _merge(values, _network_policies(settings, plan))
    if ui is not None:
        _merge(values, ingress_values(profile, ui))
        if plan.network is not None:
            _admit_ingress_controllers(values, profile)
    return values


def _admit_ingress_controllers(values: dict[str, Any], profile: ChartProfile) -> None:
    """With NetworkPolicies on, the chart's policy for the UI admits only its `from` peers:
    add the add-on's namespace (its NGINX pods) to whatever peers are there already."""
    ui = values.setdefault(profile.ui_service_key, {})
    ingress = ui.setdefault("networkPolicy", {}).setdefault("ingress", {})
    peer = {"namespaceSelector": {"matchLabels": {NAMESPACE_NAME_LABEL: APP_ROUTING_NAMESPACE}}}
    ingress["from"] = [*ingress.get("from", []), peer]


def _remote_logs(settings: Settings, plan: StackPlan, client_ids: Mapping[str, Any]) -> dict[str, Any]:
    """logsMode=remote: Airflow's Azure Blob remote logging (the provider's wasb handler)
    into the logs container, authenticated by workload identity: no volume, no key.

    Each component that writes or reads task logs runs under a ServiceAccount named by the
    plan, annotated with its identity's client id, and its pods carry the webhook's label
    (the workers' label also reaches every KubernetesExecutor task pod through the chart's
    pod template). Every Airflow container gets the `wasb_default` connection (the
    account's URL, from Key Vault through ESO)."""
    out: dict[str, Any] = {
        "config": {
            "logging": {
                "remote_logging": "True",
                "remote_base_log_folder": REMOTE_LOG_FOLDER,
                "remote_log_conn_id": REMOTE_LOG_CONN_ID,
                # uploaded logs are the record: no copy piles up on the pods' emptyDirs
                "delete_local_logs": "True",
            },
            "azure_remote_logging": {"remote_wasb_log_container": settings.logs_container_name},
        },
        "secret": [
            {
                "envName": REMOTE_LOG_CONN_ENV,
                "secretName": plan.names.remote_logs_connection,
                "secretKey": plan.names.remote_logs_connection_key,
            }
        ],
    }
    # the chart would otherwise give each Celery worker and triggerer replica a log disk of its own
    for path in plan.profile.log_disk_keys:
        _merge(out, _nested(path, {"enabled": False}))
    for identity in plan.log_identities:
        for values_key, account in identity.service_accounts.items():
            _merge(
                out,
                {
                    values_key: {
                        "labels": {WORKLOAD_IDENTITY_LABEL: "true"},
                        "serviceAccount": {
                            "create": True,
                            "name": account,
                            "annotations": {WORKLOAD_IDENTITY_CLIENT_ID: client_ids[identity.name]},
                        },
                    }
                },
            )
    return out


def _nested(path: tuple[str, ...], leaf: dict[str, Any]) -> dict[str, Any]:
    """{path[0]: {path[1]: ... leaf}}."""
    out = leaf
    for key in reversed(path):
        out = {key: out}
    return out


def _network_policies(settings: Settings, plan: StackPlan) -> dict[str, Any]:
    """With a policy engine (the stack's own network): the chart's NetworkPolicies, and the
    bundled PostgreSQL reachable only from PgBouncer (or, without it, from Airflow's pods).
    Everything else in the namespace is denied by the Namespace's default policy."""
    out: dict[str, Any] = {"networkPolicies": {"enabled": True}}
    airflow_pods = {"tier": "airflow", "release": plan.airflow_release}
    if plan.profile.execution_api:
        # the chart's policy lets nothing in unless told (`from: []`): tasks, the scheduler,
        # the triggerer and the DAG processor call the API server
        out[plan.profile.ui_service_key] = {
            "networkPolicy": {"ingress": {"from": [{"podSelector": {"matchLabels": airflow_pods}}]}}
        }
    if settings.postgresql_enabled:
        clients = dict(airflow_pods)
        if settings.pgbouncer_enabled:
            clients["component"] = "pgbouncer"
        out["postgresql"] = {
            "networkPolicy": {
                "enabled": True,
                "ingressRules": {"primaryAccessOnlyFrom": {"enabled": True, "podSelector": clients}},
            }
        }
    return out


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


def _git_sync(settings: Settings, names: SecretNames) -> dict[str, Any]:
    if not settings.dags_git_repo:
        return {"enabled": False}
    # An SSH repository: the deploy key's Secret (ESO, from Key Vault; only its NAME here) and
    # the host's known_hosts from config (the chart puts it in its ConfigMap and turns on
    # git-sync's host key check). https: neither.
    ssh = (
        {"sshKeySecret": names.git_ssh_key, "knownHosts": settings.dags_git_known_hosts}
        if settings.dags_git_ssh
        else {}
    )
    return {
        **ssh,
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
    out: dict[str, Any] = {values_key: names.static_keys[key] for key, values_key in profile.static_keys.items()}
    out[profile.ui_service_key] = ui
    if profile.standalone_dag_processor:
        # Airflow 3 runs the DAG processor on its own; its logs go to Blob too.
        out["dagProcessor"] = {
            "logGroomerSidecar": {"enabled": False},
            "resources": settings.dag_processor_resources.kubernetes(),
            "serviceAccount": _no_token(),
        }
    out["createUserJob"] = _create_user_job(f".Values.{profile.default_user_key}.defaultUser", names, settings)
    _merge(out, {profile.default_user_key: {"defaultUser": user}})
    return out


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

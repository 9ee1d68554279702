"""The pure values builder, validated against the pinned chart's real values.schema.json."""

import configparser
import urllib.parse

import jsonschema
import pytest

from components.airflow_values import airflow_values
from config import Settings
from plan import AIRFLOW_RELEASE, build_plan, credential_templates
from profiles import PROFILES, SUPPORTED_CHART_VERSIONS
from synth import reference
from tests.helpers import plan_for, settings_for

# The Secrets and claim every stack names the same (the chart line's static keys aside)
NAMES = plan_for().names


def _values_for(settings: Settings) -> dict:
    return airflow_values(settings, build_plan(settings))


def _values(**overrides: str) -> dict:
    return _values_for(settings_for(**overrides))


@pytest.mark.parametrize("version", SUPPORTED_CHART_VERSIONS)
def test_values_validate_against_the_pinned_chart_schema(version: str) -> None:
    values = _values(airflowChartVersion=version)
    schema = reference.airflow_chart_schema(version)
    errors = [e.message for e in jsonschema.Draft7Validator(schema).iter_errors(values)]
    assert errors == []


def test_schema_catches_a_misspelt_key() -> None:
    """The validation above can fail: `images` forbids unknown keys."""
    values = _values()
    values["images"]["airflow"]["tagg"] = "2.9.3"
    schema = reference.airflow_chart_schema("1.15.0")
    assert any("tagg" in e.message for e in jsonschema.Draft7Validator(schema).iter_errors(values))


def test_dev_values_reproduce_the_article() -> None:
    v = _values()
    registry = "airflowdevacr.azurecr.io"
    assert v["executor"] == "KubernetesExecutor"
    assert v["images"]["airflow"] == {"repository": f"{registry}/airflow", "tag": "2.9.3", "pullPolicy": "IfNotPresent"}
    assert v["images"]["statsd"]["repository"] == f"{registry}/statsd-exporter"
    assert v["images"]["statsd"]["tag"] == "v0.26.1"
    assert v["images"]["pgbouncer"]["tag"] == "airflow-pgbouncer-2024.01.19-1.21.0"
    assert v["images"]["pgbouncerExporter"]["tag"] == "airflow-pgbouncer-exporter-2024.06.18-0.17.0"
    assert v["images"]["gitSync"] == {
        "repository": f"{registry}/git-sync",
        "tag": "v4.1.0",
        "pullPolicy": "IfNotPresent",
    }
    assert v["env"] == [{"name": "ENVIRONMENT", "value": "dev"}]
    assert v["config"]["core"]["default_timezone"] == "America/New_York"
    assert v["postgresql"]["enabled"] is True
    assert v["pgbouncer"]["enabled"] is True
    git_sync = dict(v["dags"]["gitSync"])
    assert git_sync.pop("resources") == {
        "requests": {"cpu": "50m", "memory": "64Mi"},
        "limits": {"cpu": "200m", "memory": "256Mi"},
    }
    assert git_sync.pop("securityContexts")["container"]["runAsNonRoot"] is True
    assert git_sync == {
        "enabled": True,
        "repo": "https://github.com/donhighmsft/airflowexamples.git",
        # git-sync v4 checks out `ref`; the v3 branch/rev would override it when set
        "ref": "main",
        "branch": "",
        "rev": "",
        "depth": 1,
        "maxFailures": 0,
        "subPath": "dags",
    }
    assert v["logs"]["persistence"] == {
        "enabled": True,
        "existingClaim": "pvc-airflow-logs",
        "storageClassName": "azureblob-fuse-premium",
    }
    for component in ("scheduler", "triggerer", "workers"):
        assert v[component]["logGroomerSidecar"]["enabled"] is False


def test_article_defects_are_fixed() -> None:
    v = _values()
    # the gone bitnami image comes from the ACR mirror of bitnamilegacy
    assert v["postgresql"]["image"] == {
        "registry": "airflowdevacr.azurecr.io",
        "repository": "bitnamilegacy/postgresql",
        "tag": "16.1.0-debian-11-r15",
    }
    # hooks off: no deadlock with a waiting release
    assert v["migrateDatabaseJob"]["useHelmHooks"] is False
    assert v["createUserJob"]["useHelmHooks"] is False
    # no admin/admin: the password comes from the ESO-made Secret at run time
    assert v["webserver"]["defaultUser"]["password"] == ""
    assert "defaultUser.password" not in " ".join(v["createUserJob"]["args"])
    assert '"${AIRFLOW_ADMIN_PASSWORD}"' in v["createUserJob"]["args"][2]
    assert v["createUserJob"]["env"] == [
        {"name": "AIRFLOW_ADMIN_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "airflow-admin", "key": "password"}}}
    ]
    # static keys from Key Vault
    assert v["webserverSecretKeySecretName"] == "airflow-webserver-secret-key"
    assert v["fernetKeySecretName"] == "airflow-fernet-key"


def _static(sources: dict) -> dict[str, dict[str, str]]:
    """Secret -> {key: Key Vault secret} for the Secrets ESO copies as they are (no template)."""
    return {target: dict(source.data) for target, source in sources.items() if source.template is None}


# The keys the Blob CSI driver reads an account's name and key from (its driver-parameters.md:
# `kubectl create secret generic ... azurestorageaccountname=... azurestorageaccountkey=...`).
BLOB_CSI_KEYS = {"azurestorageaccountname", "azurestorageaccountkey"}


def test_secret_names_match_what_eso_produces() -> None:
    v = _values()
    sources = dict(plan_for().secrets)
    static = _static(sources)
    admin = v["createUserJob"]["env"][0]["valueFrom"]["secretKeyRef"]
    (logs_secret,) = [target for target, data in static.items() if set(data) == BLOB_CSI_KEYS]
    assert set(static) == {v["webserverSecretKeySecretName"], v["fernetKeySecretName"], admin["name"], logs_secret}
    assert set(sources) == {
        *static,
        v["postgresql"]["auth"]["existingSecret"],
        v["data"]["metadataSecretName"],
        v["pgbouncer"]["configSecretName"],
        v["pgbouncer"]["metricsExporterSidecar"]["statsSecretName"],
    }
    # each with the key the chart (and the create-user job) reads from it
    assert static[v["fernetKeySecretName"]] == {"fernet-key": "airflow-fernet-key"}
    assert static[v["webserverSecretKeySecretName"]] == {"webserver-secret-key": "airflow-webserver-secret-key"}
    assert static[admin["name"]] == {admin["key"]: "airflow-admin-password"}
    # the logs Secret is the Blob CSI driver's, not the chart's: the values do not name it
    assert logs_secret not in repr(v)


def test_every_image_comes_from_the_configured_registry() -> None:
    v = _values(acrName="otherregistry")
    for key, image in v["images"].items():
        if isinstance(image, dict):
            assert image["repository"].startswith("otherregistry.azurecr.io/"), key
    assert v["defaultAirflowRepository"] == "otherregistry.azurecr.io/airflow"


def test_image_tag_override_applies_to_airflow_images_only() -> None:
    v = _values(airflowImageTag="2.9.3-custom1")
    assert {v["images"][k]["tag"] for k in ("airflow", "pod_template", "flower")} == {"2.9.3-custom1"}
    assert v["defaultAirflowTag"] == "2.9.3-custom1"
    assert v["images"]["statsd"]["tag"] == "v0.26.1"


def test_git_sync_off_without_a_repository() -> None:
    assert _values(dagsGitRepo="")["dags"]["gitSync"] == {"enabled": False}


def test_external_database_replaces_bundled_postgresql() -> None:
    v = _values(databaseMode="external", pgbouncerEnabled="false", externalDatabaseSecretName="airflow-metadata")
    assert v["postgresql"] == {"enabled": False}
    assert v["data"] == {"metadataSecretName": "airflow-metadata", "brokerUrlSecretName": NAMES.broker_url}
    schema = reference.airflow_chart_schema("1.15.0")
    assert list(jsonschema.Draft7Validator(schema).iter_errors(v)) == []


def test_values_are_deterministic_and_secret_free() -> None:
    a, b = _values(), _values()
    assert a == b
    text = repr(a).lower()
    assert "admin:admin" not in text
    assert "'password': 'admin'" not in text


def test_profile_versions_match_the_reference_charts() -> None:
    for version, profile in PROFILES.items():
        chart = reference.load_yaml(f"airflow-chart/{version}/Chart.yaml")
        assert chart["version"] == version
        assert chart["appVersion"] == profile.airflow_version


def test_profile_values_keys_are_the_charts_own() -> None:
    """The values keys each profile names (static-key Secrets, the UI component, where the
    default user lives) are keys of that chart's values.schema.json and values.yaml."""
    for version, profile in PROFILES.items():
        schema = reference.airflow_chart_schema(version)["properties"]
        chart = reference.load_yaml(f"airflow-chart/{version}/values.yaml")
        for values_key in profile.static_keys.values():
            assert values_key in schema, (version, values_key)
            assert values_key in chart, (version, values_key)
            assert values_key.endswith("SecretName"), (version, values_key)
        assert profile.ui_service_key in schema, version
        assert "defaultUser" in chart[profile.default_user_key], version
        app_version = reference.load_yaml(f"airflow-chart/{version}/Chart.yaml")["appVersion"]
        assert profile.airflow_major == int(app_version.split(".")[0]), version


# ------------------------------------------------------------ database and broker credentials
VARIANTS = {
    "dev: bundled PostgreSQL + PgBouncer, KubernetesExecutor": {},
    "no PgBouncer": {"pgbouncerEnabled": "false"},
    "Celery + PgBouncer": {"executor": "CeleryExecutor"},
    "Celery, external database": {
        "executor": "CeleryExecutor",
        "databaseMode": "external",
        "pgbouncerEnabled": "false",
        "externalDatabaseSecretName": "my-db",
    },
}


@pytest.mark.parametrize("overrides", VARIANTS.values(), ids=list(VARIANTS))
def test_every_credential_secret_the_values_name_is_produced(overrides: dict[str, str]) -> None:
    """Each variant validates against the chart schema, and each Secret it names comes from ESO
    (or, for an external database, is the user's)."""
    settings = settings_for(**overrides)
    plan = build_plan(settings)
    v = airflow_values(settings, plan)
    assert list(jsonschema.Draft7Validator(reference.airflow_chart_schema("1.15.0")).iter_errors(v)) == []
    # Named for every executor, so the chart renders no hook Secret of its own; only the
    # Celery executors read it (tests/components/test_airflow_values_render.py: no pod references it otherwise).
    assert v["data"]["brokerUrlSecretName"] == NAMES.broker_url
    named = {
        v.get("postgresql", {}).get("auth", {}).get("existingSecret"),
        v["data"].get("metadataSecretName"),
        v["data"]["brokerUrlSecretName"] if "Celery" in settings.executor else None,
        v["pgbouncer"].get("configSecretName"),
        v["pgbouncer"].get("metricsExporterSidecar", {}).get("statsSecretName"),
        v.get("redis", {}).get("passwordSecretName"),
    } - {None, settings.external_database_secret_name}
    assert named == set(credential_templates(settings, plan.names, plan.airflow_release))
    assert named <= set(plan.secrets)


def _render(template: str, password: str) -> str:
    """What ESO's engine v2 makes of our templates: the only actions used are
    `{{ .password }}` and `{{ .password | urlquery }}` (Go's url.QueryEscape)."""
    out = template.replace("{{ .password | urlquery }}", urllib.parse.quote_plus(password))
    out = out.replace("{{ .password }}", password)
    assert "{{" not in out, out
    return out


# Generated passwords are letters and digits; the URLs would stay right with '@', '/' or ':'.
# (A space would not: url.QueryEscape, like the chart's own `urlquery`, turns it into '+'.)
PASSWORD = "p@ss/w:rd1"


def test_database_secrets_render_to_what_the_chart_and_pgbouncer_expect() -> None:
    templates = credential_templates(settings_for(), NAMES, AIRFLOW_RELEASE)
    assert _render(templates["airflow-postgresql-auth"]["postgres-password"], PASSWORD) == PASSWORD

    # Airflow connects through PgBouncer, to the database name PgBouncer serves
    url = urllib.parse.urlsplit(_render(templates["airflow-metadata-connection"]["connection"], PASSWORD))
    assert (url.scheme, url.username, urllib.parse.unquote(url.password or "")) == ("postgresql", "postgres", PASSWORD)
    assert (url.hostname, url.port, url.path, url.query) == (
        "airflow-pgbouncer.airflow",
        6543,
        "/airflow-metadata",
        "sslmode=disable",
    )

    ini = configparser.ConfigParser()
    ini.read_string(_render(templates["airflow-pgbouncer-auth"]["pgbouncer.ini"], PASSWORD))
    assert set(ini["databases"]) == {"airflow-metadata", "airflow-result-backend"}
    assert "host=airflow-postgresql.airflow dbname=postgres port=5432" in ini["databases"]["airflow-metadata"]
    assert ini["pgbouncer"]["listen_port"] == "6543"
    assert ini["pgbouncer"]["auth_file"] == "/etc/pgbouncer/users.txt"
    users = _render(templates["airflow-pgbouncer-auth"]["users.txt"], PASSWORD).splitlines()
    assert users == [f'"postgres" "{PASSWORD}"'] * 2

    stats = urllib.parse.urlsplit(_render(templates["airflow-pgbouncer-exporter"]["connection"], PASSWORD))
    assert (stats.hostname, stats.port, stats.path) == ("127.0.0.1", 6543, "/pgbouncer")
    assert urllib.parse.unquote(stats.password or "") == PASSWORD


def test_without_pgbouncer_airflow_connects_to_postgresql_directly() -> None:
    templates = credential_templates(settings_for(pgbouncerEnabled="false"), NAMES, AIRFLOW_RELEASE)
    assert set(templates) == {"airflow-postgresql-auth", "airflow-metadata-connection"}
    url = urllib.parse.urlsplit(_render(templates["airflow-metadata-connection"]["connection"], PASSWORD))
    assert (url.hostname, url.port, url.path) == ("airflow-postgresql.airflow", 5432, "/postgres")


def test_celery_broker_url_points_at_the_bundled_redis_with_the_generated_password() -> None:
    settings = settings_for(executor="CeleryKubernetesExecutor", namespace="data")
    templates = credential_templates(settings, NAMES, AIRFLOW_RELEASE)
    assert _render(templates["airflow-redis-auth"]["password"], PASSWORD) == PASSWORD
    url = urllib.parse.urlsplit(_render(templates["airflow-celery-broker"]["connection"], PASSWORD))
    assert (url.scheme, url.username, url.hostname, url.port, url.path) == ("redis", "", "airflow-redis", 6379, "/0")
    assert urllib.parse.unquote(url.password or "") == PASSWORD
    # the namespace reaches the database hosts
    assert "airflow-pgbouncer.data:6543" in templates["airflow-metadata-connection"]["connection"]
    sources = build_plan(settings).secrets
    assert sources["airflow-celery-broker"].data == {"password": "airflow-redis-password"}
    assert sources["airflow-metadata-connection"].data == {"password": "airflow-postgres-password"}


@pytest.mark.parametrize("version", SUPPORTED_CHART_VERSIONS)
@pytest.mark.parametrize("overrides", VARIANTS.values(), ids=list(VARIANTS))
def test_values_leave_no_credential_to_the_chart(version: str, overrides: dict[str, str]) -> None:
    """Every variant passes the release policy: no credential material, none left to chart defaults."""
    from policy.rules import PolicyConfig, PolicyResource, check_airflow, credential_material

    v = _values(airflowChartVersion=version, **overrides)
    assert credential_material(v) == []
    release = PolicyResource("urn:x", "kubernetes:helm.sh/v3:Release", "airflow", {"chart": "airflow", "values": v})
    assert check_airflow(release, PolicyConfig(registry="")) == []
    if "Celery" not in v["executor"]:
        assert v["redis"] == {"enabled": False}  # no hook-made Redis password without a broker


# Secrets the chart (release "airflow") or its bitnami subchart create when their *SecretName
# value is unset, in every naming the chart has used.
CHART_DEFAULT_SECRETS = {
    "airflow-airflow-metadata",
    "airflow-metadata",
    "airflow-airflow-result-backend",
    "airflow-result-backend",
    "airflow-pgbouncer-config",
    "airflow-pgbouncer-stats",
    "airflow-pgbouncer-certificates",
    "airflow-redis-password",
    "airflow-broker-url",
    "airflow-postgresql",
}


def test_credential_secrets_never_share_a_name_with_a_chart_default() -> None:
    ours = {
        NAMES.postgresql,
        NAMES.metadata,
        NAMES.pgbouncer_config,
        NAMES.pgbouncer_stats,
        NAMES.redis_password,
        NAMES.broker_url,
    }
    assert len(ours) == 6
    assert ours.isdisjoint(CHART_DEFAULT_SECRETS)


# ------------------------------------------------------------ chart 1.19.0 / Airflow 3.1.7
def test_airflow_3_values_use_the_api_secret_key_jwt_secret_and_create_user_job() -> None:
    settings = settings_for(airflowChartVersion="1.19.0")
    plan = build_plan(settings)
    v = airflow_values(settings, plan)
    assert v["airflowVersion"] == "3.1.7"
    assert v["images"]["airflow"]["tag"] == "3.1.7"
    assert v["images"]["gitSync"]["tag"] == "v4.4.2"
    assert "webserverSecretKeySecretName" not in v
    assert "webserver" not in v  # webserver.defaultUser is deprecated in 1.19 and would win
    assert v["apiSecretKeySecretName"] == "airflow-api-secret-key"
    assert v["jwtSecretName"] == "airflow-jwt-secret"
    assert v["createUserJob"]["defaultUser"]["password"] == ""
    assert v["createUserJob"]["defaultUser"]["username"] == "admin"
    assert "{{ .Values.createUserJob.defaultUser.username }}" in v["createUserJob"]["args"][2]
    assert "defaultUser.password" not in v["createUserJob"]["args"][2]
    assert v["dagProcessor"]["logGroomerSidecar"]["enabled"] is False

    static = _static(dict(plan.secrets))
    assert static == {
        "airflow-logs-storage": {
            "azurestorageaccountname": "AKS-AIRFLOW-LOGS-STORAGE-ACCOUNT-NAME",
            "azurestorageaccountkey": "AKS-AIRFLOW-LOGS-STORAGE-ACCOUNT-KEY",
        },
        "airflow-admin": {"password": "airflow-admin-password"},
        "airflow-fernet-key": {"fernet-key": "airflow-fernet-key"},
        "airflow-api-secret-key": {"api-secret-key": "airflow-api-secret-key"},
        "airflow-jwt-secret": {"jwt-secret": "airflow-jwt-secret"},
    }
    assert plan.generated_passwords == {
        "airflow-api-secret-key": 64,
        "airflow-jwt-secret": 64,
        "airflow-postgres-password": 32,
    }
    # every generated password is one a Secret reads
    read = {kv for source in plan.secrets.values() for kv in source.data.values()}
    assert set(plan.generated_passwords) <= read


def test_airflow_2_keeps_the_webserver_secret_key() -> None:
    assert plan_for().generated_passwords == {"airflow-webserver-secret-key": 64, "airflow-postgres-password": 32}
    celery = plan_for(executor="CeleryExecutor").generated_passwords
    assert celery == {**plan_for().generated_passwords, "airflow-redis-password": 32}


def test_profiles_follow_the_charts_own_defaults() -> None:
    """Each profile's image tags are the tags its chart's values.yaml ships (mirrored, not changed)."""
    for version, profile in PROFILES.items():
        chart_images = reference.load_yaml(f"airflow-chart/{version}/values.yaml")["images"]
        for key in ("statsd", "pgbouncer", "pgbouncerExporter", "gitSync", "redis"):
            assert profile.images[key].tag == chart_images[key]["tag"], (version, key)
        assert profile.airflow_version == reference.load_yaml(f"airflow-chart/{version}/Chart.yaml")["appVersion"]


@pytest.mark.parametrize("version", SUPPORTED_CHART_VERSIONS)
def test_pgbouncer_settings_are_the_charts_defaults(version: str) -> None:
    """The PgBouncer config and stats URL we render equal what the chart renders from its
    own values.yaml defaults (read from the reference chart, not restated here)."""
    chart = reference.load_yaml(f"airflow-chart/{version}/values.yaml")
    pgb, conn = chart["pgbouncer"], chart["data"]["metadataConnection"]
    settings = settings_for(airflowChartVersion=version)
    templates = credential_templates(settings, NAMES, AIRFLOW_RELEASE)

    ini = configparser.ConfigParser()
    ini.read_string(templates[NAMES.pgbouncer_config]["pgbouncer.ini"])
    section = ini["pgbouncer"]
    assert section["listen_port"] == str(chart["ports"]["pgbouncer"])
    assert section["auth_type"] == pgb["auth_type"]
    assert section["auth_file"] == pgb["auth_file"]
    assert section["max_client_conn"] == str(pgb["maxClientConn"])
    assert section["verbose"] == str(pgb["verbose"])
    assert section["log_disconnections"] == str(pgb["logDisconnections"])
    assert section["log_connections"] == str(pgb["logConnections"])
    assert section["server_tls_sslmode"] == pgb["sslmode"]
    assert section["server_tls_ciphers"] == pgb["ciphers"]
    assert section["stats_users"] == conn["user"]
    host = f"host=airflow-postgresql.airflow dbname={conn['db']} port={conn['port']}"
    assert ini["databases"]["airflow-metadata"] == f"{host} pool_size={pgb['metadataPoolSize']}"
    assert ini["databases"]["airflow-result-backend"] == f"{host} pool_size={pgb['resultBackendPoolSize']}"

    stats = urllib.parse.urlsplit(_render(templates[NAMES.pgbouncer_stats]["connection"], PASSWORD))
    assert stats.port == chart["ports"]["pgbouncer"]
    assert stats.query == f"sslmode={pgb['metricsExporterSidecar']['sslmode']}"
    metadata = urllib.parse.urlsplit(_render(templates[NAMES.metadata]["connection"], PASSWORD))
    assert (metadata.username, metadata.port) == (conn["user"], chart["ports"]["pgbouncer"])
    assert metadata.query == f"sslmode={conn['sslmode']}"


def test_airflow_3_runs_celery_and_kubernetes_executors_side_by_side() -> None:
    """Airflow 3's replacement for CeleryKubernetesExecutor (which it refuses to start)."""
    settings = settings_for(airflowChartVersion="1.19.0", executor="CeleryExecutor,KubernetesExecutor")
    v = _values_for(settings)
    assert v["executor"] == "CeleryExecutor,KubernetesExecutor"
    assert list(jsonschema.Draft7Validator(reference.airflow_chart_schema("1.19.0")).iter_errors(v)) == []
    assert (v["redis"]["enabled"], v["redis"]["passwordSecretName"]) == (True, NAMES.redis_password)
    assert v["data"]["brokerUrlSecretName"] == NAMES.broker_url
    assert NAMES.broker_url in credential_templates(settings, NAMES, AIRFLOW_RELEASE)


def _normalised(repository: str) -> str:
    """Docker's short names spelled out: `redis` -> docker.io/library/redis."""
    first = repository.split("/", 1)[0]
    if "." in first or ":" in first:
        return repository
    return f"docker.io/{repository}" if "/" in repository else f"docker.io/library/{repository}"


def test_image_sources_are_the_charts_own_repositories() -> None:
    """Each profile mirrors its chart's default images: the upstream source of every image
    is the repository the chart's values.yaml would pull (read from the reference chart)."""
    for version, profile in PROFILES.items():
        chart = reference.load_yaml(f"airflow-chart/{version}/values.yaml")
        for key in ("statsd", "pgbouncer", "pgbouncerExporter", "gitSync", "redis"):
            assert profile.images[key].source == _normalised(chart["images"][key]["repository"]), (version, key)
        for key in profile.airflow_image_keys:
            assert profile.images[key].source == _normalised(chart["defaultAirflowRepository"]), (version, key)
        chart_pg = (chart.get("postgresql") or {}).get("image")
        if chart_pg:  # chart 1.19 names it; 1.15's bitnami default is gone upstream (see the profile)
            assert profile.postgresql_image.source == _normalised(chart_pg["repository"]), version
            assert profile.postgresql_image.tag == str(chart_pg["tag"]), version


@pytest.mark.parametrize("version", SUPPORTED_CHART_VERSIONS)
def test_high_availability_doubles_and_spreads_every_long_running_component(version: str) -> None:
    celery = "CeleryExecutor"
    settings = settings_for(airflowChartVersion=version, highAvailability="true", executor=celery)
    v = _values_for(settings)
    assert list(jsonschema.Draft7Validator(reference.airflow_chart_schema(version)).iter_errors(v)) == []
    ui = PROFILES[version].ui_service_key
    for key in ("scheduler", ui, "triggerer", "pgbouncer", "workers"):
        assert v[key]["replicas"] == 2, key
        (spread,) = v[key]["topologySpreadConstraints"]
        assert spread["topologyKey"] == "topology.kubernetes.io/zone"
        assert spread["whenUnsatisfiable"] == "ScheduleAnyway"  # never unschedulable for lack of a zone
    assert v["scheduler"]["podDisruptionBudget"] == {"enabled": True, "config": {"maxUnavailable": 1}}
    assert v[ui]["podDisruptionBudget"]["enabled"] is True
    # merged, not replaced: what the builder set before stays
    assert v["scheduler"]["logGroomerSidecar"] == {"enabled": False}
    assert v["pgbouncer"]["configSecretName"] == NAMES.pgbouncer_config
    # that each spread selects the pods the chart renders for it is read off the real render
    # (test_airflow_values_render.py: test_high_availability_spreads_select_the_pods_the_chart_renders)


def test_without_high_availability_the_chart_defaults_stand() -> None:
    v = _values()
    assert "replicas" not in v["scheduler"]
    assert "topologySpreadConstraints" not in v["scheduler"]


def test_remote_logs_need_each_log_identitys_client_id() -> None:
    """logsMode=remote: the values annotate each log ServiceAccount with its identity's client
    id (passed through as given: a Pulumi output in the program); without one, no values."""
    settings = settings_for(logsMode="remote")
    plan = build_plan(settings)
    ids = {identity.name: f"client-id-of-{identity.name}" for identity in plan.log_identities}
    assert len(ids) == 2
    v = airflow_values(settings, plan, ids)
    for identity in plan.log_identities:
        for key, account in identity.service_accounts.items():
            assert v[key]["serviceAccount"]["name"] == account
            assert v[key]["serviceAccount"]["annotations"] == {"azure.workload.identity/client-id": ids[identity.name]}
    assert v["logs"]["persistence"] == {"enabled": False}
    with pytest.raises(KeyError):
        airflow_values(settings, plan)
    with pytest.raises(KeyError):
        airflow_values(settings, plan, {plan.log_identities[0].name: "only-one"})


def test_managed_database_turns_the_charts_postgresql_and_pgbouncer_off() -> None:
    """databaseMode=managed: pgbouncerEnabled is the server's built-in PgBouncer, so the chart
    runs neither PostgreSQL nor PgBouncer; Airflow reads the connection ESO assembles."""
    settings = settings_for(databaseMode="managed", networkMode="create")
    assert settings.pgbouncer_enabled
    v = _values_for(settings)
    assert v["postgresql"] == {"enabled": False}
    assert v["pgbouncer"] == {"enabled": False}
    assert v["data"]["metadataSecretName"] == NAMES.metadata

"""policy/kube.py, the Kubernetes facts synth and the policy pack share, checked against outside
truth: the documented form of a ServiceAccount's token subject, the charts' own values.yaml and
the Bitnami template that joins an image's registry and repository."""

from __future__ import annotations

import tarfile
from typing import Any

import pytest
import yaml

from policy import kube
from policy.rules import SERVICE_ACCOUNT, PolicyResource, service_account_subject
from synth import reference
from synth.mocks import Secret


# ---------------------------------------------------------------------------- federated subject
def test_subject_is_the_documented_service_account_username() -> None:
    # Kubernetes docs, "Using RBAC Authorization" / Referring to subjects: the default
    # ServiceAccount in kube-system is the user "system:serviceaccount:kube-system:default".
    assert kube.service_account_subject("kube-system", "default") == "system:serviceaccount:kube-system:default"
    # AKS workload identity docs: --subject system:serviceaccount:"${NAMESPACE}":"${SERVICE_ACCOUNT_NAME}"
    assert kube.service_account_subject("airflow", "airflow-worker") == "system:serviceaccount:airflow:airflow-worker"


def test_the_pack_reads_a_service_account_resource_into_that_subject() -> None:
    def account(metadata: dict[str, Any]) -> PolicyResource:
        return PolicyResource("urn:pulumi:dev::p::sa::sa", SERVICE_ACCOUNT, "sa", {"metadata": metadata})

    assert service_account_subject(account({"name": "default", "namespace": "kube-system"})) == (
        "system:serviceaccount:kube-system:default"
    )
    # no metadata.namespace: the object lands in the namespace "default"
    assert service_account_subject(account({"name": "worker"})) == "system:serviceaccount:default:worker"
    assert service_account_subject(account({"namespace": "airflow"})) is None


# ---------------------------------------------------------------------------- images in Helm values
def test_images_of_the_airflow_chart_values_yaml() -> None:
    """Every image the Airflow chart 1.19.0 pulls by default, as its values.yaml spells them
    (`images.airflow`, `pod_template` and `flower` are `~`: they fall back to
    defaultAirflowRepository, so they are no image of their own)."""
    defaults = reference.chart_default_values("airflow", "1.19.0")
    assert list(kube.images(defaults)) == [
        ("defaultAirflowRepository", "apache/airflow", "3.1.7"),
        ("images.statsd", "quay.io/prometheus/statsd-exporter", "v0.28.0"),
        ("images.redis", "redis", "7.2-bookworm"),
        ("images.pgbouncer", "apache/airflow", "airflow-pgbouncer-2025.03.05-1.23.1"),
        ("images.pgbouncerExporter", "apache/airflow", "airflow-pgbouncer-exporter-2025.03.05-0.18.0"),
        ("images.gitSync", "registry.k8s.io/git-sync/git-sync", "v4.4.2"),
        ("postgresql.image", "bitnamilegacy/postgresql", "16.1.0-debian-11-r15"),
    ]


def test_images_of_the_external_secrets_chart_values_yaml() -> None:
    """ESO 2.9.0: three images at tag "" (the chart's appVersion), and `global.repository: ""`."""
    defaults = reference.chart_default_values("external-secrets", "2.9.0")
    eso = "ghcr.io/external-secrets/external-secrets"
    assert list(kube.images(defaults, "values")) == [
        ("values.global", "", None),
        ("values.image", eso, ""),
        ("values.webhook.image", eso, ""),
        ("values.certController.image", eso, ""),
    ]


def _bitnami_postgresql_values() -> Any:
    archive = reference.find("airflow-chart/1.19.0/airflow-1.19.0.tgz")
    with tarfile.open(archive) as tgz:
        member = tgz.extractfile("airflow/charts/postgresql/values.yaml")
        assert member is not None
        return yaml.safe_load(member.read())


def test_a_split_registry_joins_as_the_bitnami_template_renders_it() -> None:
    """The bundled PostgreSQL chart (Bitnami) splits `registry` from `repository`; its
    common.images.image helper renders `printf "%s/%s%s%s" registry repository ":" tag` when the
    registry is set, as written (a trailing "/" stays: `acr.io//x` is what the pod would pull)."""
    image = _bitnami_postgresql_values()["image"]
    assert (image["registry"], image["repository"]) == ("docker.io", "bitnami/postgresql")
    assert kube.image_ref(image) == "docker.io/bitnami/postgresql"
    assert list(kube.images({"image": image})) == [("image", "docker.io/bitnami/postgresql", image["tag"])]
    assert kube.image_ref({"registry": "acr.io/", "repository": "x"}) == "acr.io//x"
    assert kube.image_ref({"registry": "", "repository": "x"}) == "x"  # `{{- if $registryName }}`
    assert kube.image_ref({"repository": None}) is None  # `~`: the chart falls back to another key


def test_images_see_through_secret_markers_and_lists() -> None:
    values = {"sidecars": [{"image": Secret({"repository": "acr.io/s", "tag": Secret("1")})}]}
    assert list(kube.images(values, "values")) == [("values.sidecars[0].image", "acr.io/s", "1")]


@pytest.mark.parametrize(
    ("ref", "registry", "path"),
    [
        ("myacr.azurecr.io/airflow:3.1.7", "myacr.azurecr.io", "airflow:3.1.7"),
        ("myacr.azurecr.io/airflow:3.1.7", "myacr.azurecr.io/", "airflow:3.1.7"),
        # the registry is everything before the first "/": a lookalike host is another registry
        ("myacr.azurecr.io.evil.io/airflow:3.1.7", "myacr.azurecr.io", None),
        ("docker.io/myacr.azurecr.io/airflow", "myacr.azurecr.io", None),
        ("myacr.azurecr.io", "myacr.azurecr.io", None),
        ("/airflow", "", None),  # no registry configured: nothing comes from it
    ],
)
def test_registry_path(ref: str, registry: str, path: str | None) -> None:
    assert kube.registry_path(ref, registry) == path


# ---------------------------------------------------------------------------- value readers
def test_lookup_and_walk() -> None:
    values = {"logs": Secret({"persistence": {"existingClaim": "airflow-logs"}}), "args": ["a", {"b": 1}]}
    assert kube.lookup(values, "logs", "persistence", "existingClaim") == "airflow-logs"
    assert kube.lookup(values, "logs", "missing", "existingClaim") is None
    assert kube.lookup(values, "args", "0") is None  # keys only, no list indices
    walked = list(kube.walk(values, "values"))
    assert [p for p, _, _ in walked] == [
        "values",
        "values.logs",
        "values.logs.persistence",
        "values.logs.persistence.existingClaim",
        "values.args",
        "values.args[0]",
        "values.args[1]",
        "values.args[1].b",
    ]
    # the mapping keys above each node: a list index is no key
    keys_at = {p: keys for p, keys, _ in walked}
    assert keys_at["values.args[1].b"] == ("args", "b")
    assert keys_at["values.logs.persistence"] == ("logs", "persistence")
    assert kube.is_list(("a",))
    assert not kube.is_list("a")
    assert not kube.is_list(b"a")

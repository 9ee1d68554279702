"""python -m synth: files written, exit codes, validation that can fail, README graph in sync."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

import plan as plan_module
from components import secrets_operator
from synth import helm_process, reference
from synth.__main__ import main
from synth.project import PROJECT_DIR
from tests.helpers import mutate_airflow_values


def test_dev_synth_writes_everything_and_passes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["dev", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "+ airflow-aks:cluster:Cluster cluster" in out
    assert "synth dev: OK" in out
    resources = json.loads((tmp_path / "resources.json").read_text())
    assert len(resources) == 49
    assert {r["type"] for r in resources} >= {
        "azure-native:containerservice:ManagedCluster",
        "kubernetes:helm.sh/v3:Release",
    }
    manifests = sorted(p.name for p in (tmp_path / "manifests").glob("*.yaml"))
    assert manifests == [
        "ExternalSecret.airflow.airflow-admin.yaml",
        "ExternalSecret.airflow.airflow-fernet-key.yaml",
        "ExternalSecret.airflow.airflow-logs-storage.yaml",
        "ExternalSecret.airflow.airflow-metadata-connection.yaml",
        "ExternalSecret.airflow.airflow-pgbouncer-auth.yaml",
        "ExternalSecret.airflow.airflow-pgbouncer-exporter.yaml",
        "ExternalSecret.airflow.airflow-postgresql-auth.yaml",
        "ExternalSecret.airflow.airflow-webserver-secret-key.yaml",
        "Namespace.airflow-eso.yaml",
        "Namespace.airflow.yaml",
        "PersistentVolume.pv-airflow-logs.yaml",
        "PersistentVolumeClaim.airflow.pvc-airflow-logs.yaml",
        "Role.airflow.external-secrets-token.yaml",
        "RoleBinding.airflow.external-secrets-token.yaml",
        "SecretStore.airflow.azure-store.yaml",
        "ServiceAccount.airflow.airflow.yaml",
    ]
    # what is written is what was validated: each file parses back to the same object
    from synth.project import load_stack_config
    from synth.render import render
    from synth.runner import run_stack

    rendered = render(run_stack(load_stack_config("dev")))
    for name, obj in rendered.manifests.items():
        assert yaml.safe_load((tmp_path / "manifests" / name).read_text()) == obj, name
    for release, values in rendered.helm.items():
        assert yaml.safe_load((tmp_path / "manifests" / "helm" / f"{release}.values.yaml").read_text()) == values
    pgbouncer = tmp_path / "manifests" / "ExternalSecret.airflow.airflow-pgbouncer-auth.yaml"
    assert "pgbouncer.ini: |\n" in pgbouncer.read_text()  # multi-line strings as literal blocks
    helm = sorted(p.name for p in (tmp_path / "manifests" / "helm").glob("*.yaml"))
    assert helm == ["airflow.values.yaml", "external-secrets.values.yaml"]
    assert (tmp_path / "graph.mmd").read_text().startswith("flowchart LR")
    assert (tmp_path / "graph.dot").read_text().startswith('digraph "dev"')


def test_secrets_are_redacted_in_every_file(tmp_path: Path) -> None:
    assert main(["dev", "--out", str(tmp_path)]) == 0
    resources = json.loads((tmp_path / "resources.json").read_text())
    by_name = {r["name"]: r for r in resources}
    assert by_name["cluster-k8s"]["inputs"]["kubeconfig"] == "[secret]"
    assert by_name["logs-kv-account-key"]["inputs"]["properties"]["value"] == "[secret]"
    # (the charts' CustomResourceDefinitions are schemas: they name fields `token:`)
    files = [p for p in tmp_path.rglob("*") if p.is_file() and not p.name.startswith("CustomResourceDefinition.")]
    assert any(p.parent.name == "airflow" for p in files)  # the rendered chart objects are in the scan
    text = "\n".join(p.read_text() for p in files)
    assert "token:" not in text
    assert "BEGIN" not in text


def test_json_summary_counts_what_was_validated(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["dev", "--json", "--no-write"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["ok"] is True
    assert summary["validated"]["ExternalSecret (external-secrets.io/v1)"] == 8
    assert summary["validated"]["SecretStore (external-secrets.io/v1)"] == 1
    assert summary["validated"]["helm values (airflow 1.15.0)"] == 1
    assert summary["validated"]["PersistentVolume (Kubernetes 1.33)"] == 1
    assert summary["validated"]["cross-reference"] >= 30
    assert summary["errors"] == []


def test_unknown_stack_is_usage_error_listing_stacks(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["nosuch"]) == 2
    err = capsys.readouterr().err
    assert "Pulumi.nosuch.yaml" in err
    assert "dev" in err


BAD_STACK_FILES = {
    # key -> (bad value, words the message must contain); each ends up in a chart value, a
    # CRD field or a core object, and typed config stops it before anything runs.
    "namespace": ("Airflow_NS", "DNS-1123"),  # Namespace, SecretStore/ExternalSecret metadata
    "serviceAccountName": ("Airflow SA", "DNS-1123"),  # ServiceAccount, SecretStore serviceAccountRef
    "executor": ("SequentialExecutor", "CeleryKubernetesExecutor"),  # chart value `executor`
    "airflowChartVersion": ("1.18.0", "supported chart versions: 1.15.0, 1.19.0"),  # chart version and profile
    "logsVolumeSize": ("5 GB", "Kubernetes quantity"),  # PV capacity, PVC request
}


@pytest.mark.parametrize("key", BAD_STACK_FILES)
def test_a_bad_stack_file_is_a_config_error_naming_the_key(
    key: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    value, allowed = BAD_STACK_FILES[key]
    stack_file = tmp_path / "Pulumi.bad.yaml"
    dev = yaml.safe_load((PROJECT_DIR / "Pulumi.dev.yaml").read_text())
    dev["config"][f"airflow-aks:{key}"] = value
    stack_file.write_text(yaml.safe_dump(dev))
    assert main(["bad", "--stack-file", str(stack_file), "--no-write"]) == 2
    err = capsys.readouterr().err
    assert f"airflow-aks:{key} = {json.dumps(value)}" in err
    assert allowed in err


def test_wrong_chart_value_fails_validation(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    mutate_airflow_values(monkeypatch, lambda values: values["scheduler"].update(replicaz=2))
    assert main(["dev", "--no-write"]) == 1
    out = capsys.readouterr().out
    assert re.search(r"error: \[helm-values\] airflow \(airflow 1\.15\.0\): scheduler: .*replicaz", out)


def test_wrong_crd_field_fails_validation(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    real = secrets_operator.external_secret_spec

    def wrong(target, data, template=None):
        spec = real(target, data, template)
        spec["refreshInterval"] = 3600  # the CRD wants a duration string
        return spec

    monkeypatch.setattr(secrets_operator, "external_secret_spec", wrong)
    assert main(["dev", "--no-write"]) == 1
    out = capsys.readouterr().out
    assert "error: [crd] ExternalSecret.airflow.airflow-admin.yaml: spec/refreshInterval" in out


def test_unserved_api_version_fails(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(secrets_operator, "ESO_API_VERSION", "external-secrets.io/v1beta1")
    assert main(["dev", "--no-write"]) == 1
    assert "external-secrets.io/v1beta1 SecretStore is not served by External Secrets 2.9.0" in capsys.readouterr().out


def test_missing_schema_warns_and_fails_with_strict(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(reference, "search_path", lambda: [tmp_path])
    monkeypatch.setenv(helm_process.WORKER_VAR, "off")  # the search path above is this process's
    reference.load_json.cache_clear()
    reference.load_yaml.cache_clear()
    try:
        assert main(["dev", "--no-write"]) == 0
        assert (
            "warning: [helm-values] airflow, external-secrets (x2): schema not found, NOT validated"
            in capsys.readouterr().out
        )
        assert main(["dev", "--no-write", "--strict"]) == 1
    finally:
        reference.load_json.cache_clear()
        reference.load_yaml.cache_clear()


def test_reference_resolver_prefers_the_env_var(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    target = tmp_path / "airflow-chart" / "9.9.9"
    target.mkdir(parents=True)
    (target / "values.schema.json").write_text("{}")
    monkeypatch.setenv(reference.ENV_VAR, str(tmp_path))
    assert reference.search_path()[0] == tmp_path
    assert reference.find("airflow-chart/9.9.9/values.schema.json") == target / "values.schema.json"


def test_readme_embeds_the_current_dev_graph(tmp_path: Path) -> None:
    assert main(["dev", "--out", str(tmp_path)]) == 0
    graph = (tmp_path / "graph.mmd").read_text()
    readme = (PROJECT_DIR / "README.md").read_text()
    assert f"```mermaid\n{graph}```" in readme, "README graph is stale: run `python -m synth dev` and paste graph.mmd"


def test_policy_violations_are_shown_and_fail(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A stack that breaks guardrails: each violation is listed and synth exits 1."""

    def unsafe(values: dict) -> None:
        values["createUserJob"]["useHelmHooks"] = True
        values["images"]["statsd"]["repository"] = "quay.io/prometheus/statsd-exporter"

    mutate_airflow_values(monkeypatch, unsafe)
    assert main(["dev", "--no-write"]) == 1
    out = capsys.readouterr().out
    assert "MANDATORY [airflow-hardened-release]" in out
    assert "MANDATORY [helm-pinned-sources]" in out
    assert "quay.io/prometheus/statsd-exporter" in out


def test_images_txt_lists_every_image_to_mirror(tmp_path: Path) -> None:
    assert main(["dev", "--out", str(tmp_path)]) == 0
    lines = (tmp_path / "images.txt").read_text().splitlines()
    pairs = dict(reversed(line.split(" ")) for line in lines if not line.startswith("#"))
    assert pairs["airflow:2.9.3"] == "docker.io/apache/airflow:2.9.3"
    assert pairs["bitnamilegacy/postgresql:16.1.0-debian-11-r15"] == (
        "docker.io/bitnamilegacy/postgresql:16.1.0-debian-11-r15"
    )
    assert pairs["external-secrets/external-secrets:v2.9.0"] == "ghcr.io/external-secrets/external-secrets:v2.9.0"
    # every image either release pulls is on the list (the check below proves it can fail)
    values = yaml.safe_load((tmp_path / "manifests" / "helm" / "airflow.values.yaml").read_text())
    assert f"{values['images']['gitSync']['repository'].split('/', 1)[1]}:v4.1.0" in pairs


def test_an_image_missing_from_the_mirror_list_fails(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    real = plan_module.image_mirrors

    def forgetful(settings):
        mirrors = real(settings)
        del mirrors["git-sync:v4.1.0"]
        return mirrors

    monkeypatch.setattr(plan_module, "image_mirrors", forgetful)
    assert main(["dev", "--no-write"]) == 1
    assert "airflowdevacr.azurecr.io/git-sync:v4.1.0 is not in the mirror list" in capsys.readouterr().out


def test_a_custom_airflow_image_is_listed_to_build_yourself(tmp_path: Path) -> None:
    stack_file = tmp_path / "Pulumi.custom.yaml"
    dev = yaml.safe_load((PROJECT_DIR / "Pulumi.dev.yaml").read_text())
    dev["config"]["airflow-aks:airflowImageTag"] = "2.9.3-team1"
    stack_file.write_text(yaml.safe_dump(dev))
    assert main(["custom", "--stack-file", str(stack_file), "--out", str(tmp_path / "out")]) == 0
    text = (tmp_path / "out" / "images.txt").read_text()
    assert "# build and push yourself: airflow:2.9.3-team1" in text
    assert "docker.io/apache/airflow:2.9.3 " not in text
    assert "docker.io/apache/airflow:airflow-pgbouncer-2024.01.19-1.21.0" in text  # not an Airflow image


def test_a_chart_default_image_left_alone_fails(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Dropping the statsd override would pull quay.io's image: synth names it."""
    mutate_airflow_values(monkeypatch, lambda values: values["images"].pop("statsd"))
    assert main(["dev", "--no-write"]) == 1
    out = capsys.readouterr().out
    assert "images.statsd: the chart's default image is not overridden to come from airflowdevacr.azurecr.io" in out


def _prod_on_the_bundled_database(tmp_path: Path) -> Path:
    """Pulumi.prod.yaml with databaseMode=bundled (chart 1.19, the PostgreSQL subchart on), as a
    stack file of its own (a stack name outside the production policies)."""
    stack_file = tmp_path / "Pulumi.bundled.yaml"
    prod = yaml.safe_load((PROJECT_DIR / "Pulumi.prod.yaml").read_text())
    prod["config"]["airflow-aks:databaseMode"] = "bundled"
    stack_file.write_text(yaml.safe_dump(prod))
    return stack_file


def test_chart_default_images_are_counted(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["prod", "--json", "--no-write"]) == 0
    validated = json.loads(capsys.readouterr().out)["validated"]
    # chart 1.19.0: defaultAirflowRepository, statsd, redis, pgbouncer, pgbouncerExporter, gitSync; ESO: 3.
    # prod's database is the flexible server (databaseMode=managed): the bundled PostgreSQL subchart
    # is off, its image never pulled, so not counted
    assert validated["chart default image overridden"] == 9
    # the same stack on the bundled database pulls the subchart's image again: counted again
    stack_file = _prod_on_the_bundled_database(tmp_path)
    assert main(["bundled", "--stack-file", str(stack_file), "--json", "--no-write"]) == 0
    validated = json.loads(capsys.readouterr().out)["validated"]
    assert validated["chart default image overridden"] == 10


def test_a_subchart_image_left_alone_fails_only_where_the_subchart_runs(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The bundled PostgreSQL's image override dropped: with the subchart on, synth names it;
    on prod (subchart off: nothing is pulled from Docker Hub) synth passes."""
    mutate_airflow_values(monkeypatch, lambda values: (values.get("postgresql") or {}).pop("image", None))
    message = "postgresql.image: the chart's default image is not overridden to come from airflowprodacr.azurecr.io"
    stack_file = _prod_on_the_bundled_database(tmp_path)
    assert main(["bundled", "--stack-file", str(stack_file), "--no-write"]) == 1
    assert message in capsys.readouterr().out
    assert main(["prod", "--no-write"]) == 0
    assert "postgresql.image" not in capsys.readouterr().out


def test_the_default_airflow_repository_left_alone_fails(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """defaultAirflowRepository (apache/airflow on Docker Hub) is what every Airflow image without
    a repository of its own falls back to: leaving it to the chart is named like any image."""
    mutate_airflow_values(monkeypatch, lambda values: values.pop("defaultAirflowRepository"))
    assert main(["dev", "--no-write"]) == 1
    out = capsys.readouterr().out
    assert (
        "defaultAirflowRepository: the chart's default image is not overridden to come from airflowdevacr.azurecr.io"
        in out
    )


def test_out_never_cleans_a_folder_synth_did_not_write(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Writing cleans stale manifests; a user's folder given as --out keeps its files."""
    mine = tmp_path / "manifests" / "mine.yaml"
    mine.parent.mkdir()
    mine.write_text("kind: ConfigMap\n")
    assert main(["dev", "--out", str(tmp_path)]) == 2
    assert "refusing to clean it" in capsys.readouterr().err
    assert mine.read_text() == "kind: ConfigMap\n"
    # synth's own output folder is cleaned and rewritten as before
    assert main(["dev", "--out", str(tmp_path / "fresh")]) == 0
    stale = tmp_path / "fresh" / "manifests" / "Stale.yaml"
    stale.write_text("kind: ConfigMap\n")
    assert main(["dev", "--out", str(tmp_path / "fresh")]) == 0
    assert not stale.exists()


def test_main_turns_the_collector_off_while_it_runs_and_back_on_after(monkeypatch: pytest.MonkeyPatch) -> None:
    """synth keeps the cycle collector off (speed: bench/synth_bench.py), but a caller in the
    same process (these tests) gets it back, whatever main returns or raises."""
    import gc

    import synth.__main__ as synth_main

    seen: list[bool] = []

    def fake(argv: list[str] | None) -> int:
        seen.append(gc.isenabled())
        if argv == ["boom"]:
            raise RuntimeError("boom")
        return 2

    monkeypatch.setattr(synth_main, "_main", fake)
    assert gc.isenabled()
    assert main(["dev"]) == 2
    with pytest.raises(RuntimeError):
        main(["boom"])
    assert seen == [False, False]
    assert gc.isenabled()


def test_python_m_synth_into_a_closed_pipe_ends_without_a_traceback() -> None:
    """`python -m synth dev | head -0`: the reader is gone before synth writes; synth exits 120
    (its output is lost, as Python's own exit says it), quietly."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "synth", "dev", "--no-write"],
        cwd=PROJECT_DIR,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None
    assert proc.stderr is not None
    proc.stdout.close()
    with proc.stderr:
        err = proc.stderr.read().decode()
    assert proc.wait(timeout=300) == 120
    assert "Traceback" not in err
    assert "BrokenPipeError" not in err


def test_a_stack_name_the_shell_could_not_decode_is_bad_usage(capsys: pytest.CaptureFixture[str]) -> None:
    """An undecodable argv byte arrives as a lone surrogate: named as a bad stack, no traceback
    (the render hint's key is computed before the name is checked)."""
    assert main(["dev\udcff", "--no-write"]) == 2
    assert capsys.readouterr().err.startswith("error: ")


def test_python_m_synth_exit_code_survives_the_fast_exit() -> None:
    ok = subprocess.run(
        [sys.executable, "-m", "synth", "dev", "--no-write", "--json"],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        check=False,
    )
    assert ok.returncode == 0
    assert json.loads(ok.stdout)["ok"] is True  # every byte of the output was flushed
    bad = subprocess.run(
        [sys.executable, "-m", "synth", "no-such-stack"], cwd=PROJECT_DIR, capture_output=True, text=True, check=False
    )
    assert bad.returncode == 2
    assert "no stack file" in bad.stderr


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="no /dev/full here")
def test_output_that_cannot_be_written_is_exit_120_not_0() -> None:
    """synth's last output is flushed by exit_now: on a full disk (/dev/full) that fails, and the
    exit code says so, where os._exit alone would have said 0."""
    script = "import sys; from synth.__main__ import exit_now; sys.stdout.write('summary'); exit_now(0)"
    buffered = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}  # the write waits for the flush
    with Path("/dev/full").open("w") as full:
        proc = subprocess.run(  # noqa: S603 - this interpreter, a fixed script
            [sys.executable, "-c", script],
            cwd=PROJECT_DIR,
            stdout=full,
            stderr=subprocess.PIPE,
            env=buffered,
            check=False,
        )
    assert proc.returncode == 120

"""Synth renders every Helm release with a real Helm engine and validates what comes out.

Two kinds of test. End to end: a deliberately broken value makes `python -m synth dev` exit 1
naming the object and the field; what it must name is read from the chart's own output as
synth wrote it (build/<stack>/manifests/helm/<release>/), not from constants in the code.
Check by check: the real render of the dev stack, made good or broken in the test, shows that
each check passes good input and fails the broken one.
"""

from __future__ import annotations

import copy
import functools
import json
import os
import shutil
import stat
import threading
import time
import types
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from synth import helm, helm_process, reference
from synth import validate as checks
from synth.__main__ import main
from synth.project import load_stack_config
from tests.helpers import mutate_airflow_values

DEV_CHART = "1.15.0"
LOGS_PATH = "/opt/airflow/logs"  # Airflow's default $AIRFLOW_HOME/logs, which the chart mounts
WI_LABEL = "azure.workload.identity/use"  # the label the AKS workload identity webhook acts on


def _synth(out: Path, capsys: pytest.CaptureFixture[str], *extra: str, stack: str = "dev") -> tuple[int, str]:
    code = main([stack, "--out", str(out), *extra])
    return code, capsys.readouterr().out


def _written(out: Path, release: str = "airflow") -> dict[str, dict[str, Any]]:
    """The rendered objects synth wrote for a release, by file name."""
    folder = out / "manifests" / "helm" / release
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # the ESO CRDs are large
    return {p.name: yaml.load(p.read_text(), Loader=loader) for p in sorted(folder.glob("*.yaml"))}  # noqa: S506


def _pod_specs(objs: dict[str, dict[str, Any]]) -> Iterator[tuple[str, dict[str, Any], dict[str, Any]]]:
    """(subject as synth names it, pod spec, pod labels) for every pod in written objects."""
    for fname, obj in objs.items():
        kind, name = obj["kind"], obj["metadata"]["name"]
        if kind == "Pod":
            configmap, key = fname.removeprefix("Pod.").removesuffix(".yaml").split(".", 1)
            yield f"helm/airflow ConfigMap/{configmap}[{key}.yaml] Pod", obj["spec"], obj["metadata"].get("labels", {})
        elif kind in ("Deployment", "StatefulSet", "Job"):
            template = obj["spec"]["template"]
            yield f"helm/airflow {kind}/{name}", template["spec"], template["metadata"].get("labels", {})


def _errors(out: str) -> set[str]:
    return {line for line in out.splitlines() if line.startswith("error: ")}


@functools.cache
def _baseline_errors() -> frozenset[str]:
    import contextlib
    import io

    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        main(["dev", "--no-write"])
    return frozenset(_errors(buffer.getvalue()))


# ------------------------------------------------------------------ end to end
def test_synth_renders_each_release_and_writes_its_objects(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _code, out = _synth(tmp_path, capsys)
    assert "Helm engine: helm-python-sdk 0.2.2 (Helm v4" in out
    summary_code = main(["dev", "--no-write", "--json"])
    summary = json.loads(capsys.readouterr().out)
    assert summary_code == _code
    assert summary["helmEngine"].startswith("helm-python-sdk 0.2.2 (Helm v4")
    for release in ("airflow", "external-secrets"):
        info = summary["helmRenders"][release]
        written = _written(tmp_path, release)
        pods = [n for n in written if n.startswith("Pod.") and n.count(".") > 2]
        assert info["rendered"] is True
        assert info["objects"] == len(written) - len(pods)  # one file per object
        assert info["podTemplates"] == len(pods)
        assert sum(info["kinds"].values()) == info["objects"]
        assert info["seconds"] > 0
        assert f"  {release} ({info['chart']} {info['version']}): rendered {info['objects']} objects" in out
    # the KubernetesExecutor pod template: the chart's own file, inside its ConfigMap
    written = _written(tmp_path)
    config = next(o for o in written.values() if o["kind"] == "ConfigMap" and "pod_template_file.yaml" in o["data"])
    template = yaml.safe_load(config["data"]["pod_template_file.yaml"])
    # ... in the namespace the executor launches task pods in (the release's)
    assert "namespace" not in template["metadata"]
    template["metadata"]["namespace"] = "airflow"
    assert written[f"Pod.{config['metadata']['name']}.pod_template_file.yaml"] == template
    # every rendered object kind is schema-validated and counted
    for kind, n in summary["helmRenders"]["airflow"]["kinds"].items():
        assert summary["validated"][f"rendered {kind} (Kubernetes 1.33)"] >= n
    assert summary["validated"]["rendered Pod (pod template file) (Kubernetes 1.33)"] == 1


def test_written_objects_are_what_helm_rendered(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Each file parses back to the object the engine rendered (CRDs verbatim, Secret values
    redacted), rendered here again, independently, from the recorded values."""
    _synth(tmp_path, capsys)
    values = yaml.safe_load((tmp_path / "manifests" / "helm" / "airflow.values.yaml").read_text())
    objs = helm.render_objects(
        "airflow", DEV_CHART, values, release="airflow", namespace="airflow", kube_version="1.33"
    )
    written = _written(tmp_path)
    for obj in objs:
        got = written[f"{obj['kind']}.{obj['metadata']['name']}.yaml"]
        redacted = {k: dict.fromkeys(obj[k], "[secret]") for k in ("data", "stringData") if k in obj}
        assert got == ({**obj, **redacted} if obj["kind"] == "Secret" else obj)
    eso = yaml.safe_load((tmp_path / "manifests" / "helm" / "external-secrets.values.yaml").read_text())
    eso_objs = helm.render_objects("external-secrets", "2.9.0", eso, release="external-secrets", namespace="airflow")
    crds = [o for o in eso_objs if o["kind"] == "CustomResourceDefinition"]
    assert crds
    written_eso = _written(tmp_path, "external-secrets")  # parsed once: 25 large CRDs
    for crd in crds:
        assert written_eso[f"CustomResourceDefinition.{crd['metadata']['name']}.yaml"] == crd


def test_two_runs_write_byte_identical_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _synth(tmp_path / "a", capsys)
    _synth(tmp_path / "b", capsys)
    a = {p.relative_to(tmp_path / "a"): p.read_bytes() for p in (tmp_path / "a").rglob("*") if p.is_file()}
    b = {p.relative_to(tmp_path / "b"): p.read_bytes() for p in (tmp_path / "b").rglob("*") if p.is_file()}
    assert sorted(a) == sorted(b)
    assert any(str(p).startswith("manifests/helm/airflow/") for p in a)
    assert [p for p in a if a[p] != b[p]] == []


def test_stale_rendered_files_are_removed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _synth(tmp_path, capsys)  # an earlier run's output, then files it no longer writes
    stale = tmp_path / "manifests" / "helm" / "gone-release" / "Deployment.old.yaml"
    stale.parent.mkdir(parents=True)
    stale.write_text("kind: Deployment\n")
    also = tmp_path / "manifests" / "helm" / "airflow" / "Deployment.renamed.yaml"
    also.parent.mkdir(parents=True, exist_ok=True)
    also.write_text("kind: Deployment\n")
    _synth(tmp_path, capsys)
    assert not stale.exists()
    assert not stale.parent.exists()
    assert not also.exists()


def test_a_secret_nobody_makes_fails_naming_every_pod_and_field(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    mutate_airflow_values(monkeypatch, lambda v: v.update(fernetKeySecretName="airflow-fernet-keyz"))
    code, out = _synth(tmp_path, capsys)
    assert code == 1
    # from the render: every container that reads the Fernet key from that Secret
    expected = []
    for subject, spec, _ in _pod_specs(_written(tmp_path)):
        for group in ("initContainers", "containers"):
            for c in spec.get(group) or []:
                for env in c.get("env") or []:
                    ref = (env.get("valueFrom") or {}).get("secretKeyRef") or {}
                    if ref.get("name") == "airflow-fernet-keyz":
                        prefix = "spec" if subject.endswith(" Pod") else "spec.template.spec"
                        expected.append(
                            f"error: [references] {subject}: {prefix}.{group}[{c['name']}].env[{env['name']}]"
                            ".valueFrom.secretKeyRef: Secret airflow-fernet-keyz does not exist in airflow"
                        )
    assert len(expected) >= 5  # scheduler, webserver, triggerer, jobs, the pod template...
    for line in expected:
        assert any(e.startswith(line) for e in _errors(out)), line


def test_a_helm_hook_turned_back_on_fails(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = _baseline_errors()
    mutate_airflow_values(monkeypatch, lambda v: v["migrateDatabaseJob"].update(useHelmHooks=True))
    code, out = _synth(tmp_path, capsys)
    assert code == 1
    hooks = {
        f"{o['kind']}/{o['metadata']['name']}": o["metadata"]["annotations"]["helm.sh/hook"]
        for o in _written(tmp_path).values()
        if "helm.sh/hook" in (o["metadata"].get("annotations") or {})
    }
    assert hooks  # the chart made the migration job a hook again
    for obj, hook in hooks.items():
        line = (
            f"error: [helm-hooks] helm/airflow {obj}: metadata.annotations.helm.sh/hook: {hook!r} "
            "in the install and upgrade renders"
        )
        assert any(e.startswith(line) for e in _errors(out)), line
        assert not any(obj in e and "helm-hooks" in e for e in before)


def test_an_image_outside_the_registry_fails(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    mutate_airflow_values(monkeypatch, lambda v: v["images"]["statsd"].update(repository="quay.io/prometheus/statsd"))
    code, out = _synth(tmp_path, capsys)
    assert code == 1
    outside = [
        (subject, f"{'spec' if subject.endswith(' Pod') else 'spec.template.spec'}.{group}[{c['name']}]", c["image"])
        for subject, spec, _ in _pod_specs(_written(tmp_path))
        for group in ("initContainers", "containers")
        for c in spec.get(group) or []
        if not c["image"].startswith("airflowdevacr.azurecr.io/")
    ]
    assert [image for *_, image in outside] == ["quay.io/prometheus/statsd:v0.26.1"]
    for subject, where, image in outside:
        assert f"error: [images] {subject}: {where}.image: {image} is not from airflowdevacr.azurecr.io" in out


def test_the_logs_claim_not_mounted_fails_for_every_pod_that_writes_logs(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # from the good render: the pods that mount the logs claim where Airflow writes its logs
    _synth(tmp_path / "good", capsys)
    claim = yaml.safe_load((tmp_path / "good" / "manifests" / "helm" / "airflow.values.yaml").read_text())["logs"][
        "persistence"
    ]["existingClaim"]
    writers = []
    for subject, spec, _ in _pod_specs(_written(tmp_path / "good")):
        volumes = {v["name"]: v for v in spec.get("volumes") or []}
        mounts = [m for c in spec["containers"] for m in c.get("volumeMounts") or [] if m["mountPath"] == LOGS_PATH]
        if any(
            (volumes.get(m["name"], {}).get("persistentVolumeClaim") or {}).get("claimName") == claim for m in mounts
        ):
            writers.append(subject)
    assert len(writers) >= 4  # scheduler, webserver, triggerer, the pod template

    mutate_airflow_values(monkeypatch, lambda v: v["logs"]["persistence"].update(enabled=False))
    code, out = _synth(tmp_path / "bad", capsys)
    assert code == 1
    for subject in writers:
        prefix = "spec" if subject.endswith(" Pod") else "spec.template.spec"
        line = f"error: [logs] {subject}: {prefix}.volumes: the logs claim {claim} is not mounted"
        assert any(e.startswith(line) for e in _errors(out)), line


def test_log_writing_pods_without_the_workload_identity_label_fail(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """prod's remote logs (logsMode=remote, no logs claim): the equivalent of the claim not
    mounted is a pod that gets no Azure token. With the workload-identity label gone from every
    component's values, synth prod names each pod that writes or reads task logs."""
    good, _ = _synth(tmp_path / "good", capsys, stack="prod")
    assert good == 0
    values = yaml.safe_load((tmp_path / "good" / "manifests" / "helm" / "airflow.values.yaml").read_text())
    labelled = sorted(k for k, v in values.items() if isinstance(v, dict) and WI_LABEL in (v.get("labels") or {}))
    assert labelled  # the values give the label per component: scheduler, workers, triggerer, ...

    def unlabel(v: dict[str, Any]) -> None:
        for key in labelled:
            del v[key]["labels"][WI_LABEL]

    mutate_airflow_values(monkeypatch, unlabel)
    code, out = _synth(tmp_path / "bad", capsys, stack="prod")
    assert code == 1
    # from the render: every pod of a component that writes or reads task logs
    unlabelled = [
        subject
        for subject, _spec, labels in _pod_specs(_written(tmp_path / "bad"))
        if labels.get("component") in checks.LOG_WRITING_COMPONENTS
    ]
    assert len(unlabelled) >= 6  # scheduler, api-server, triggerer, dag-processor, worker, the pod template
    assert not any(WI_LABEL in labels for *_, labels in _pod_specs(_written(tmp_path / "bad")))
    for subject in unlabelled:
        line = f"error: [logs] {subject}: no azure.workload.identity/use label: the pod gets no Azure token"
        assert line in _errors(out), line


def test_a_container_without_limits_fails(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    requests_only = {"requests": {"cpu": "100m", "memory": "128Mi"}}
    mutate_airflow_values(monkeypatch, lambda v: v.setdefault("statsd", {}).update(resources=requests_only))
    code, out = _synth(tmp_path, capsys)
    assert code == 1
    statsd = [
        (subject, c["name"])
        for subject, spec, _ in _pod_specs(_written(tmp_path))
        for c in spec["containers"]
        if c.get("resources") == requests_only
    ]
    assert len(statsd) == 1
    subject, name = statsd[0]
    line = f"error: [hardening] {subject}: spec.template.spec.containers[{name}]: missing "
    found = [e for e in _errors(out) if e.startswith(line)]
    assert len(found) == 1
    assert "resources.limits.cpu; resources.limits.memory" in found[0]
    assert "resources.requests" not in found[0]


def test_a_stray_hook_secret_with_go_template_garbage_fails_three_ways(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without data.brokerUrlSecretName the chart renders a pre-install hook Secret whose
    value is Go's `%!s(<nil>)` (no Redis to build a URL from), in plain text in the release."""
    mutate_airflow_values(monkeypatch, lambda v: v.setdefault("data", {}).pop("brokerUrlSecretName", None))
    code, out = _synth(tmp_path, capsys)
    assert code == 1
    secrets = {f"Secret/{o['metadata']['name']}": o for o in _written(tmp_path).values() if o["kind"] == "Secret"}
    hooked = [s for s, o in secrets.items() if "helm.sh/hook" in (o["metadata"].get("annotations") or {})]
    assert hooked
    for secret in hooked:
        key = next(iter(secrets[secret]["data"]))
        assert secrets[secret]["data"][key] == "[secret]"  # written redacted
        errors = [e for e in _errors(out) if f"helm/airflow {secret}:" in e]
        assert any("[helm-hooks]" in e for e in errors)
        assert any(f"[helm-template] helm/airflow {secret}: data.{key} (decoded): unresolved" in e for e in errors)
        assert any(
            f"[credentials] helm/airflow {secret}: data.{key}: the chart renders this value" in e for e in errors
        )


def test_a_literal_credential_in_env_fails(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    mutate_airflow_values(
        monkeypatch, lambda v: v["env"].append({"name": "AIRFLOW__SMTP__SMTP_PASSWORD", "value": "hunter2"})
    )
    code, out = _synth(tmp_path, capsys)
    assert code == 1
    carriers = [
        subject
        for subject, spec, _ in _pod_specs(_written(tmp_path))
        for c in spec["containers"]
        if any(e.get("value") == "hunter2" for e in c.get("env") or [])
    ]
    assert carriers
    for subject in carriers:
        assert f"error: [credentials] {subject}: " in out
    assert "env[AIRFLOW__SMTP__SMTP_PASSWORD].value: a credential as a literal value" in out


def test_a_missing_chart_archive_is_a_warning_not_an_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Schemas there, packaged charts not (a user's machine without them), offline: each
    release is reported "not rendered" as a warning, in --strict too, and synth can pass."""
    refs = tmp_path / "refs"
    shared = reference.find(f"airflow-chart/{DEV_CHART}/values.schema.json").parents[2]
    shutil.copytree(shared, refs, ignore=shutil.ignore_patterns("*.tgz"))
    monkeypatch.setenv(reference.ENV_VAR, str(refs))
    monkeypatch.setenv(reference.OFFLINE_VAR, "1")
    monkeypatch.setattr(reference, "search_path", lambda: [refs])
    monkeypatch.setenv(helm_process.WORKER_VAR, "off")  # the search path above is this process's
    reference.load_json.cache_clear()
    reference.load_yaml.cache_clear()
    try:
        code = main(["dev", "--no-write", "--strict", "--json"])
    finally:
        reference.load_json.cache_clear()
        reference.load_yaml.cache_clear()
    summary = json.loads(capsys.readouterr().out)
    for release in ("airflow", "external-secrets"):
        info = summary["helmRenders"][release]
        assert info["rendered"] is False
        assert "not found" in info["notRendered"]
        assert f"{helm.ARCHIVES[info['chart']].format(version=info['version'])}" in info["notRendered"]
        assert any(w.startswith(f"[helm-render] helm/{release}: not rendered") for w in summary["warnings"])
    assert not any("helm-render" in e for e in summary["errors"])
    assert code == (1 if summary["errors"] else 0)
    assert summary["errors"] == []  # nothing else is wrong with dev: exit 0 is possible


def test_no_engine_is_a_warning_too(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv(helm.ENGINE_VAR, "none")
    code = main(["dev", "--no-write"])
    out = capsys.readouterr().out
    assert "Helm engine: none" in out
    reason = f"no Helm engine ({helm.ENGINE_VAR}=none)"
    assert (
        "warning: [helm-render] helm/airflow, helm/external-secrets (x2): not rendered, its objects NOT validated: "
        f"{reason}" in out
    )
    assert "error: [helm-render]" not in out
    assert code == (1 if "error: " in out else 0)


def test_rbac_of_each_release_is_shown(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _code, out = _synth(tmp_path, capsys)
    main(["dev", "--no-write", "--json"])
    summary = json.loads(capsys.readouterr().out)
    aggregated = 0  # roles the chart aggregates into the built-in view/edit/admin roles
    for release in ("airflow", "external-secrets"):
        rbac = [
            o
            for o in _written(tmp_path, release).values()
            if o["kind"] in ("ClusterRole", "Role", "ClusterRoleBinding", "RoleBinding")
        ]
        listed = summary["helmRenders"][release]["rbac"]
        assert sorted((e["kind"], e["name"]) for e in listed) == sorted(
            (o["kind"], o["metadata"]["name"]) for o in rbac
        )
        assert f"RBAC rendered by {release}:" in out
        for entry, obj in zip(
            sorted(listed, key=lambda e: (e["kind"], e["name"])),
            sorted(rbac, key=lambda o: (o["kind"], o["metadata"]["name"])),
            strict=True,
        ):
            assert entry.get("namespace") == obj["metadata"].get("namespace")
            labels = obj["metadata"].get("labels") or {}
            into = sorted(
                k.removeprefix("rbac.authorization.k8s.io/aggregate-to-")
                for k, v in labels.items()
                if k.startswith("rbac.authorization.k8s.io/aggregate-to-") and v == "true"
            )
            assert entry.get("aggregatedInto", []) == into
            aggregated += bool(into)
            if "rules" in entry:
                assert len(entry["rules"]) == len(obj.get("rules") or [])
                for rule, text in zip(obj.get("rules") or [], entry["rules"], strict=True):
                    assert text.startswith(",".join(rule["verbs"]) + " on ")
                    assert all(r in text for r in rule.get("resources") or [])
            else:
                assert entry["role"] == f"{obj['roleRef']['kind']}/{obj['roleRef']['name']}"
                assert [s.rsplit("/", 1)[-1].split(" ")[-1] for s in entry["subjects"]] == [
                    s["name"] for s in obj["subjects"]
                ]
    assert aggregated >= 1  # ESO's view and edit roles: the check above is not vacuous


# ------------------------------------------------------------------ the engines
def _fake_helm(bin_dir: Path, log: Path, *, fail: bool = False) -> Path:
    """A `helm` that answers like Helm: version, and template printing two templates' YAML."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    script = bin_dir / "helm"
    script.write_text(
        "#!/usr/bin/env python3\n"
        "import json, sys\n"
        f"open({str(log)!r}, 'a').write(json.dumps(sys.argv[1:]) + '\\n')\n"
        "if sys.argv[1:2] == ['version']:\n"
        "    print('v3.99.0+gfake'); sys.exit(0)\n"
        + (
            "sys.stderr.write('Error: execution error at (airflow/templates/x.yaml): boom\\n'); sys.exit(1)\n"
            if fail
            else ""
        )
        + "args = sys.argv[1:]\n"
        "release = args[1]\n"
        "values = json.load(open(args[args.index('-f') + 1]))\n"
        "print('---\\n# Source: chart/templates/cm.yaml\\napiVersion: v1\\nkind: ConfigMap\\nmetadata:\\n'\n"
        '      f\'  name: {release}-a\\ndata:\\n  replicas: "{values["replicas"]}"\\n\'\n'
        "      '---\\n# Source: chart/templates/cm.yaml\\napiVersion: v1\\nkind: ConfigMap\\nmetadata:\\n'\n"
        "      f'  name: {release}-b\\n'\n"
        "      '---\\n# Source: chart/templates/empty.yaml\\n'\n"
        "      '---\\n# Source: chart/templates/sa.yaml\\napiVersion: v1\\nkind: ServiceAccount\\n'\n"
        "      f'metadata:\\n  name: {release}\\n')\n"
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return script


def test_the_helm_binary_engine(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    log = tmp_path / "argv.log"
    script = _fake_helm(tmp_path / "bin", log)
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv(helm.ENGINE_VAR, "binary")
    eng = helm.engine()
    assert isinstance(eng, helm.BinaryEngine)
    assert eng.name == f"helm binary v3.99.0+gfake ({script})"

    objs = helm.render_objects(
        "airflow", DEV_CHART, {"replicas": 3}, release="rel", namespace="ns", kube_version="1.33", upgrade=True
    )
    assert objs == [
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "rel-a", "namespace": "ns"},
            "data": {"replicas": "3"},
        },
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "rel-b", "namespace": "ns"}},
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "rel", "namespace": "ns"}},
    ]
    argv = json.loads(log.read_text().splitlines()[-1])
    archive = str(helm.chart_archive("airflow", DEV_CHART))
    assert argv[:6] == ["template", "rel", archive, "--namespace", "ns", "-f"]
    assert argv[7:] == ["--kube-version", "v1.33.0", "--is-upgrade"]

    # output split by template, like the SDK's {template path: text}
    outputs = eng.render(Path(archive), {"replicas": 1}, release="r", namespace="ns")
    assert sorted(outputs) == ["chart/templates/cm.yaml", "chart/templates/empty.yaml", "chart/templates/sa.yaml"]
    assert "--is-upgrade" not in json.loads(log.read_text().splitlines()[-1])


def test_the_helm_binary_failing_is_a_render_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    _fake_helm(tmp_path / "bin", tmp_path / "argv.log", fail=True)
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv(helm.ENGINE_VAR, "binary")
    with pytest.raises(helm.RenderError, match=r"helm template exited 1: Error: execution error .* boom"):
        helm.render_objects("airflow", DEV_CHART, {}, release="rel", namespace="ns")


def test_no_engine_and_no_archive_are_not_rendered(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(helm.ENGINE_VAR, "binary")
    monkeypatch.setenv("PATH", str(tmp_path))  # no helm there
    assert helm.engine() is None
    with pytest.raises(helm.NotRendered, match="no `helm` binary on PATH"):
        helm.render_objects("airflow", DEV_CHART, {}, release="rel", namespace="ns")
    monkeypatch.delenv(helm.ENGINE_VAR)
    with pytest.raises(helm.NotRendered, match=r"airflow-chart/9\.9\.9/airflow-9\.9\.9\.tgz not found"):
        helm.render_objects("airflow", "9.9.9", {}, release="rel", namespace="ns")


@pytest.mark.skipif(shutil.which("helm") is None, reason="no helm binary on PATH")
def test_a_real_helm_binary_renders_what_the_sdk_renders(monkeypatch: pytest.MonkeyPatch) -> None:
    def render(choice: str) -> list[dict[str, Any]]:
        monkeypatch.setenv(helm.ENGINE_VAR, choice)
        return helm.render_objects(
            "airflow", DEV_CHART, {}, release="airflow", namespace="airflow", kube_version="1.33"
        )

    key = lambda o: (o["kind"], o["metadata"]["name"])  # noqa: E731
    assert sorted(render("binary"), key=key) == sorted(render("sdk"), key=key)


class _RecordingEngine:
    """Stands in for Helm: records the order and overlap of renders; `fail` names a render to refuse."""

    name = "recording"

    def __init__(self, fail: tuple[str, bool] | None = None) -> None:
        self.calls: list[tuple[str, bool]] = []
        self.running = 0
        self.most = 0
        self.fail = fail
        self._lock = threading.Lock()

    def render(self, *_: Any, release: str, **kw: Any) -> dict[str, str]:
        with self._lock:
            self.calls.append((release, kw["upgrade"]))
            self.running += 1
            self.most = max(self.most, self.running)
        time.sleep(0.05)  # long enough for renders that may overlap to overlap
        with self._lock:
            self.running -= 1
        if (release, kw["upgrade"]) == self.fail:
            raise helm.RenderError("refused")
        kind = "ConfigMap" if kw["upgrade"] else "Secret"
        return {f"{release}/templates/x.yaml": f"apiVersion: v1\nkind: {kind}\nmetadata: {{name: {release}}}\n"}


def _two_releases() -> Any:
    meta = {"chart": "airflow", "version": DEV_CHART, "namespace": "ns"}
    return types.SimpleNamespace(helm={"a": {}, "b": {}}, helm_meta={"a": meta, "b": meta})


@pytest.mark.parametrize(("cpus", "most"), [(1, 1), (2, 2), (64, 4)])
def test_renders_run_at_most_one_per_cpu_every_install_queued_first(
    monkeypatch: pytest.MonkeyPatch, cpus: int, most: int
) -> None:
    eng = _RecordingEngine()
    monkeypatch.setattr(helm, "engine", lambda: eng)
    monkeypatch.setattr(helm.os, "cpu_count", lambda: cpus)
    charts = helm.render_releases(_two_releases(), "1.33")
    assert eng.most == most
    assert sorted(eng.calls) == [("a", False), ("a", True), ("b", False), ("b", True)]
    if cpus <= 2:  # each release's first render starts before any upgrade
        assert eng.calls[:2] == [("a", False), ("b", False)]
    for release in ("a", "b"):  # each release's own install and upgrade, parsed
        rel = charts[release]
        assert rel.rendered
        assert [o["kind"] for _, o in rel.objects] == ["Secret"]
        assert [o["kind"] for _, o in rel.upgrade_objects] == ["ConfigMap"]


def test_an_early_worker_renders_one_at_a_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """synth/helm_process.py asks for one render at a time beside synth: whatever the CPUs."""
    eng = _RecordingEngine()
    monkeypatch.setattr(helm, "engine", lambda: eng)
    monkeypatch.setattr(helm.os, "cpu_count", lambda: 64)
    releases = _two_releases()
    helm.render_values(releases.helm, releases.helm_meta, "1.33", workers=1)
    assert eng.most == 1
    assert eng.calls == [("a", False), ("b", False), ("a", True), ("b", True)]


@pytest.mark.parametrize("upgrade", [False, True])
def test_a_refused_render_is_its_release_error_only(monkeypatch: pytest.MonkeyPatch, upgrade: bool) -> None:
    eng = _RecordingEngine(fail=("b", upgrade))
    monkeypatch.setattr(helm, "engine", lambda: eng)
    charts = helm.render_releases(_two_releases(), "1.33")
    assert charts["a"].rendered
    assert charts["b"].error == f"{'upgrade' if upgrade else 'install'} render: refused"


def test_renders_do_not_leak_into_each_other() -> None:
    """A subchart disabled in one render is still there in the next (helm-python-sdk edits a
    loaded chart while rendering, so the engine loads the chart afresh for every render)."""

    def statefulsets(postgresql: bool) -> set[str]:
        values = {"postgresql": {"enabled": postgresql}}
        objs = helm.render_objects("airflow", "1.15.0", values, release="airflow", namespace="airflow")
        return {o["metadata"]["name"] for o in objs if o["kind"] == "StatefulSet"}

    with_db = statefulsets(True)
    assert "airflow-postgresql" in with_db
    assert "airflow-postgresql" not in statefulsets(False)
    assert statefulsets(True) == with_db


def test_namespaced_objects_land_in_the_release_namespace() -> None:
    objs = helm.render_objects("airflow", "1.15.0", {}, release="airflow", namespace="data")
    for obj in objs:
        namespace = obj["metadata"].get("namespace")
        if obj["kind"] in helm.CLUSTER_SCOPED_KINDS:
            assert namespace is None, obj["kind"]
        else:
            assert namespace == "data", f"{obj['kind']}/{obj['metadata']['name']}"
    assert {o["kind"] for o in objs} & {"Deployment", "Service", "ServiceAccount"}


def test_the_sdk_honours_the_kube_version() -> None:
    """ESO renders `hostUsers` only from Kubernetes 1.33 on: the version reaches the chart."""
    values = {"hostUsers": False}

    def host_users(kube: str) -> set[Any]:
        objs = helm.render_objects(
            "external-secrets", "2.9.0", values, release="eso", namespace="ns", kube_version=kube
        )
        return {o["spec"]["template"]["spec"].get("hostUsers") for o in objs if o["kind"] == "Deployment"}

    assert False in host_users("1.33")
    assert host_users("1.32") == {None}


def test_a_chart_that_refuses_the_values_is_an_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    mutate_airflow_values(monkeypatch, lambda v: v.update(executor="NoSuchExecutor"))
    assert main(["dev", "--no-write"]) == 1
    out = capsys.readouterr().out
    assert "error: [helm-render] helm/airflow: chart airflow 1.15.0 does not render: install render: " in out


# ------------------------------------------------------------------ check by check, on the real render
@functools.cache
def _dev_render() -> tuple[Any, Any, Any]:
    from config import parse_settings
    from synth.render import render
    from synth.runner import run_stack

    config = load_stack_config("dev")
    settings = parse_settings(config.stack, config.values)
    result = run_stack(config)
    rendered = render(result)
    rendered.charts = helm.render_releases(rendered, settings.kubernetes_version)
    return result, rendered, settings


def _findings(rendered: Any, *, mirrors: dict[str, Any] | None = None) -> set[str]:
    result, _, settings = _dev_render()
    report = checks.Report()
    checks.check_charts(
        result, rendered, report, kubernetes_version=settings.kubernetes_version, registry=settings.registry_server,
        mirrors=mirrors,
    )  # fmt: skip
    return {f"{f.severity}: {f}" for f in report.findings}


def _fresh() -> Any:
    return copy.deepcopy(_dev_render()[1])


def _workload(rendered: Any, kind: str, component: str) -> dict[str, Any]:
    return next(
        o
        for _, o in rendered.charts["airflow"].objects
        if o["kind"] == kind and o["spec"]["template"]["metadata"]["labels"].get("component") == component
    )


def _harden(rendered: Any) -> None:
    """Make every rendered pod meet the hardening rules (the test's good input)."""
    for pod in checks.chart_pods(rendered.charts):
        spec: dict[str, Any] = pod.spec  # type: ignore[assignment]
        spec["automountServiceAccountToken"] = (pod.namespace, str(spec.get("serviceAccountName"))) in (
            checks.inventory(rendered).bound_accounts
        )
        for group in ("initContainers", "containers"):
            for c in spec.get(group) or []:
                c["resources"] = {"requests": {"cpu": "1", "memory": "1Gi"}, "limits": {"cpu": "1", "memory": "1Gi"}}
                c["securityContext"] = {
                    **(c.get("securityContext") or {}),
                    "allowPrivilegeEscalation": False,
                    "capabilities": {"drop": ["ALL"]},
                    "seccompProfile": {"type": "RuntimeDefault"},
                }


def test_hardening_rules_pass_good_containers_and_name_each_bad_one() -> None:
    rendered = _fresh()
    _harden(rendered)
    assert not [f for f in _findings(rendered) if "[hardening]" in f]

    scheduler = _workload(rendered, "Deployment", "scheduler")
    main_container = next(c for c in scheduler["spec"]["template"]["spec"]["containers"] if c["name"] == "scheduler")
    del main_container["resources"]["limits"]
    main_container["securityContext"]["capabilities"] = {"drop": ["NET_RAW"]}
    init = scheduler["spec"]["template"]["spec"]["initContainers"][0]
    init["securityContext"]["allowPrivilegeEscalation"] = True
    del init["securityContext"]["seccompProfile"]  # and the pod sets none
    scheduler["spec"]["template"]["spec"].pop("securityContext", None)
    scheduler["spec"]["template"]["spec"]["automountServiceAccountToken"] = None
    account = scheduler["spec"]["template"]["spec"]["serviceAccountName"]
    got = sorted(f for f in _findings(rendered) if "[hardening]" in f)
    subject = f"helm/airflow Deployment/{scheduler['metadata']['name']}"
    expected = [
        f"error: [hardening] {subject}: spec.template.spec.containers[scheduler]: missing resources.limits.cpu; "
        "resources.limits.memory; securityContext.capabilities.drop: [ALL]",
        f"error: [hardening] {subject}: spec.template.spec.initContainers[{init['name']}]: missing "
        "securityContext.allowPrivilegeEscalation: false; seccompProfile.type: RuntimeDefault (container or pod "
        "securityContext)",
    ]
    if (  # the chart binds the scheduler to its pod launcher role only when it launches pods
        "airflow",
        account,
    ) not in checks.inventory(rendered).bound_accounts:
        expected.append(f"error: [hardening] {subject}: spec.template.spec.automountServiceAccountToken: ")
    assert len(got) == len(expected)
    for line, want in zip(got, sorted(expected), strict=True):
        assert line.startswith(want), (line, want)


def test_the_token_rule_follows_the_rendered_rbac() -> None:
    """With nobody saying otherwise, exactly the pods whose ServiceAccount no rendered
    (Cluster)RoleBinding names are told not to mount the API token."""
    rendered = _fresh()
    _harden(rendered)
    for _, rel in rendered.charts.items():
        for _, obj in rel.objects:
            if obj["kind"] == "ServiceAccount":
                obj.pop("automountServiceAccountToken", None)
    pods = checks.chart_pods(rendered.charts)
    for pod in pods:
        pod.spec.pop("automountServiceAccountToken", None)  # type: ignore[attr-defined]
    bound = checks.inventory(rendered).bound_accounts
    unbound = {p.subject for p in pods if (p.namespace, str(p.spec.get("serviceAccountName"))) not in bound}
    assert unbound
    assert len(unbound) < len(pods)  # the chart binds its pod launcher / log reader accounts
    flagged = {
        f.split("] ", 1)[1].split(": ", 1)[0] for f in _findings(rendered) if ".automountServiceAccountToken:" in f
    }
    assert flagged == unbound

    # a pod that declares it needs the token (ESO's webhook does) is believed
    declared = next(p for p in pods if p.subject in unbound)
    declared.spec["automountServiceAccountToken"] = True  # type: ignore[index]
    flagged_now = {
        f.split("] ", 1)[1].split(": ", 1)[0] for f in _findings(rendered) if ".automountServiceAccountToken:" in f
    }
    assert flagged_now == unbound - {declared.subject}


def test_schema_check_names_the_field() -> None:
    rendered = _fresh()
    before = _findings(rendered)
    scheduler = _workload(rendered, "Deployment", "scheduler")
    scheduler["spec"]["template"]["spec"]["containers"][0]["imagePullPolicyy"] = "Always"
    scheduler["spec"]["replicas"] = "two"
    added = _findings(rendered) - before
    subject = f"helm/airflow Deployment/{scheduler['metadata']['name']}"
    assert added == {
        f"error: [kubernetes] {subject}: spec/replicas: 'two' is not of type 'integer', 'null'",
        f"error: [kubernetes] {subject}: spec/template/spec/containers/0: Additional properties are not allowed "
        "('imagePullPolicyy' was unexpected)",
    }


def test_reference_check_knows_keys_and_optional() -> None:
    rendered = _fresh()
    before = _findings(rendered)
    scheduler = _workload(rendered, "Deployment", "scheduler")
    container = scheduler["spec"]["template"]["spec"]["containers"][0]
    env = next(e for e in container["env"] if "secretKeyRef" in (e.get("valueFrom") or {}))
    ref = env["valueFrom"]["secretKeyRef"]
    real_keys = checks.inventory(rendered).secrets[("airflow", ref["name"])]
    ref["key"] = "no-such-key"
    container.setdefault("envFrom", []).append({"configMapRef": {"name": "not-there", "optional": True}})
    container["envFrom"].append({"secretRef": {"name": "not-there-either"}})
    scheduler["spec"]["template"]["spec"]["serviceAccountName"] = "ghost"
    added = {f for f in _findings(rendered) - before if "[references]" in f}
    subject = f"helm/airflow Deployment/{scheduler['metadata']['name']}"
    where = f"spec.template.spec.containers[{container['name']}]"
    n = len(container["envFrom"]) - 1
    assert added == {
        f"error: [references] {subject}: {where}.env[{env['name']}].valueFrom.secretKeyRef: Secret {ref['name']} "
        f"has no key 'no-such-key' (it has {', '.join(sorted(real_keys))})",
        f"error: [references] {subject}: {where}.envFrom[{n}].secretRef: Secret not-there-either does not exist in "
        "airflow (rendered by no chart and made by no ExternalSecret)",
        f"error: [references] {subject}: spec.template.spec.serviceAccountName: ServiceAccount ghost does not exist "
        "in airflow",
    }


def test_logs_volume_ownership_must_match_the_pods() -> None:
    rendered = _fresh()
    before = _findings(rendered)
    pv_file = next(f for f, o in rendered.manifests.items() if o["kind"] == "PersistentVolume")
    pv = rendered.manifests[pv_file]
    pv["spec"]["mountOptions"] = [o.replace("uid=50000", "uid=1000") for o in pv["spec"]["mountOptions"]]
    added = sorted(_findings(rendered) - before)
    writers = [
        p
        for p in checks.chart_pods(rendered.charts)
        if any(
            m["mountPath"] == LOGS_PATH
            for c in p.spec["containers"]  # type: ignore[index]
            for m in c.get("volumeMounts") or []
        )
    ]
    assert len(added) == len(writers) >= 4
    for line in added:
        assert "securityContext.runAsUser is 50000, but PersistentVolume" in line
        assert "mounts the logs with uid=1000 (spec.mountOptions): the pod cannot write its logs" in line


# ------------------------------------------------------------------ remote logs, on prod's real render
@functools.cache
def _prod_render() -> tuple[Any, Any]:
    """prod (logsMode=remote) run under the mocks and its charts rendered, once."""
    from config import parse_settings
    from synth.render import render
    from synth.runner import run_stack

    config = load_stack_config("prod")
    settings = parse_settings(config.stack, config.values)
    result = run_stack(config)
    rendered = render(result)
    rendered.charts = helm.render_releases(rendered, settings.kubernetes_version)
    return result, rendered


def _remote_log_findings(result: Any, rendered: Any) -> set[str]:
    report = checks.Report()
    checks.check_remote_logs(result, rendered, report)
    return {f"{f.severity}: {f}" for f in report.findings}


def _log_pods(rendered: Any) -> list[Any]:
    """The rendered pods of the components that write or read task logs."""
    return [p for p in checks.chart_pods(rendered.charts) if p.labels.get("component") in checks.LOG_WRITING_COMPONENTS]


def _without(result: Any, drop: Callable[[Any], bool]) -> Any:
    """The run with the records `drop` picks left out."""
    import dataclasses

    return dataclasses.replace(result, records=[r for r in result.records if not drop(r)])


def _changed(result: Any, pick: Callable[[Any], bool], inputs: Callable[[dict[str, Any]], dict[str, Any]]) -> Any:
    """The run with the inputs of the records `pick` picks replaced by `inputs(their inputs)`."""
    import dataclasses

    return dataclasses.replace(
        result,
        records=[
            dataclasses.replace(r, inputs=inputs(copy.deepcopy(r.inputs))) if pick(r) else r for r in result.records
        ],
    )


def test_remote_logs_pass_the_real_prod_render() -> None:
    result, rendered = _prod_render()
    report = checks.Report()
    checks.check_remote_logs(result, rendered, report)
    assert report.findings == []
    pods = _log_pods(rendered)
    assert len(pods) >= 6  # scheduler, api-server, triggerer, dag-processor, worker, the pod template
    assert report.validated["remote logs (Airflow pod)"] == len(pods)
    assert report.validated["remote logs (no shared key)"] == 1


def test_remote_logs_a_pod_without_the_workload_identity_label_fails() -> None:
    result, rendered = _prod_render()
    rendered = copy.deepcopy(rendered)
    scheduler = _workload(rendered, "Deployment", "scheduler")
    del scheduler["spec"]["template"]["metadata"]["labels"][WI_LABEL]
    assert _remote_log_findings(result, rendered) == {
        f"error: [logs] helm/airflow Deployment/{scheduler['metadata']['name']}: no azure.workload.identity/use "
        "label: the pod gets no Azure token"
    }


def test_remote_logs_a_service_account_without_a_federated_credential_fails() -> None:
    result, rendered = _prod_render()
    pods = [p for p in _log_pods(rendered) if p.labels.get("component") == "worker"]
    account = str(pods[0].spec["serviceAccountName"])
    subject = f"system:serviceaccount:airflow:{account}"
    fic = "azure-native:managedidentity:FederatedIdentityCredential"
    assert [r for r in result.by_type(fic) if r.inputs["subject"] == subject]
    broken = _without(result, lambda r: r.type == fic and r.inputs["subject"] == subject)
    # every pod that runs as that account: the workers, and through the pod template every task pod
    assert len(pods) == 2
    assert _remote_log_findings(broken, rendered) == {
        f"error: [logs] {p.subject}: ServiceAccount {account}: no federated credential for it" for p in pods
    }


def test_remote_logs_an_identity_without_its_storage_blob_role_fails() -> None:
    result, rendered = _prod_render()
    assignment = "azure-native:authorization:RoleAssignment"
    contributor = "ba92f5b4-2d11-453d-a403-e96b0029c9fe"  # Storage Blob Data Contributor
    reader = "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1"  # Storage Blob Data Reader
    container = "/blobServices/default/containers/airflow-logs"

    def writes(r: Any) -> bool:
        return (
            r.type == assignment
            and r.inputs["scope"].endswith(container)
            and r.inputs["roleDefinitionId"].endswith(contributor)
        )

    writers = [p for p in _log_pods(rendered) if p.labels.get("component") not in checks.LOG_READING_COMPONENTS]
    readers = [p for p in _log_pods(rendered) if p.labels.get("component") in checks.LOG_READING_COMPONENTS]
    assert writers
    assert readers
    missing = {
        f"error: [logs] {p.subject}: identity airflow-prod-logs-writer has none of Storage Blob Data Contributor, "
        "Storage Blob Data Owner on the logs container airflow-logs"
        for p in writers
    }
    # the writers' grant gone: every writing pod is named, the UI (a reader) is not
    assert _remote_log_findings(_without(result, writes), rendered) == missing
    # ... and Reader in its place is not enough to write
    downgraded = _changed(
        result, writes, lambda i: {**i, "roleDefinitionId": i["roleDefinitionId"].replace(contributor, reader)}
    )
    assert _remote_log_findings(downgraded, rendered) == missing


def test_remote_logs_a_storage_account_with_shared_keys_fails() -> None:
    result, rendered = _prod_render()
    account = "azure-native:storage:StorageAccount"
    (name,) = [r.name for r in result.by_type(account)]
    assert result.one(account).inputs["allowSharedKeyAccess"] is False
    expected = {f"error: [logs] StorageAccount/{name}: allowSharedKeyAccess is not false: account keys still work"}
    on = _changed(result, lambda r: r.type == account, lambda i: {**i, "allowSharedKeyAccess": True})
    assert _remote_log_findings(on, rendered) == expected
    # unset is Azure's default: shared keys accepted
    unset = _changed(
        result, lambda r: r.type == account, lambda i: {k: v for k, v in i.items() if k != "allowSharedKeyAccess"}
    )
    assert _remote_log_findings(unset, rendered) == expected


def test_images_must_be_on_the_mirror_list() -> None:
    _, rendered, settings = _dev_render()
    from plan import build_plan

    mirrors = dict(build_plan(settings).images)
    assert not [f for f in _findings(rendered, mirrors=mirrors) if "[images]" in f]
    images = {
        c["image"]
        for p in checks.chart_pods(rendered.charts)
        for group in ("initContainers", "containers")
        for c in p.spec.get(group) or []  # type: ignore[attr-defined]
    }
    dropped = sorted(images)[0].removeprefix(settings.registry_server + "/")
    fewer = {k: v for k, v in mirrors.items() if k != dropped}
    found = [f for f in _findings(rendered, mirrors=fewer) if "[images]" in f]
    assert found
    assert all(
        f.endswith(f"{settings.registry_server}/{dropped} is not in the mirror list (images.txt)") for f in found
    )


def test_unresolved_output_anywhere_is_found() -> None:
    rendered = _fresh()
    before = _findings(rendered)
    rel = rendered.charts["airflow"]
    path, config = next((p, o) for p, o in rel.objects if o["kind"] == "ConfigMap")
    key = sorted(config["data"])[0]
    config["data"][key] += "\nbroken = <no value>\n"
    rel.install[path] += "\n# <no value>\n"  # what the engine's text would then hold
    added = _findings(rendered) - before
    assert any(
        f.startswith(f"error: [helm-template] helm/airflow ConfigMap/{config['metadata']['name']}: data.{key}: "
                     "unresolved template output") and "(install render)" in f
        for f in added
    )  # fmt: skip


def test_a_generated_credential_in_the_render_is_found() -> None:
    result, rendered, _ = _dev_render()
    rendered = copy.deepcopy(rendered)
    before = _findings(rendered)
    leaked = sorted(result.mocks.sensitive_values)[0]
    rel = rendered.charts["airflow"]
    path, config = next((p, o) for p, o in rel.objects if o["kind"] == "ConfigMap")
    config["data"]["leak"] = f"password={leaked}"
    rel.install[path] += f"\n# {leaked}\n"
    added = _findings(rendered) - before
    assert added == {
        f"error: [credentials] helm/airflow ConfigMap/{config['metadata']['name']}: data.leak: carries a credential "
        "the stack generated"
    }


def test_check_list_is_data(monkeypatch: pytest.MonkeyPatch) -> None:
    """The lead tunes the hardening rules by editing data: a rule set to warning warns."""
    rendered = _fresh()
    _harden(rendered)
    scheduler = _workload(rendered, "Deployment", "scheduler")
    del scheduler["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]["cpu"]
    tuned = tuple(
        checks.ContainerRule(r.requirement, "warning", r.holds) if r.requirement == "resources.limits.cpu" else r
        for r in checks.CONTAINER_RULES
    )
    monkeypatch.setattr(checks, "CONTAINER_RULES", tuned)
    found = [f for f in _findings(rendered) if "[hardening]" in f]
    assert len(found) == 1
    assert found[0].startswith("warning: [hardening]")
    assert found[0].endswith("missing resources.limits.cpu")


def test_the_cached_schema_validator_agrees_with_kubernetes_validate() -> None:
    """Same files, same verdicts as kubernetes_validate.validate(..., strict=True), which stops
    at the first error: that error is among ours."""
    import kubernetes_validate

    rendered = _fresh()
    scheduler = _workload(rendered, "Deployment", "scheduler")
    for _, obj in rendered.charts["airflow"].objects:
        if obj["kind"] != "CustomResourceDefinition":
            kubernetes_validate.validate(obj, "1.33", strict=True)  # the real render passes both
            assert checks.kubernetes_schema_errors(obj, "1.33") == []
    scheduler["spec"]["template"]["spec"]["containers"][0]["portz"] = []
    with pytest.raises(kubernetes_validate.ValidationError) as caught:
        kubernetes_validate.validate(scheduler, "1.33", strict=True)
    ours = checks.kubernetes_schema_errors(scheduler, "1.33")
    assert any(caught.value.message in line for line in ours)


def test_kinds_and_versions_without_schemas_are_named() -> None:
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": []}}
    with pytest.raises(checks.KubernetesSchemaMissing, match=r"no schemas for Kubernetes 9\.99"):
        checks.kubernetes_schema_errors(pod, "9.99")
    monitor = {"apiVersion": "monitoring.coreos.com/v1", "kind": "ServiceMonitor", "metadata": {"name": "m"}}
    with pytest.raises(checks.KubernetesSchemaMissing, match=r"no Kubernetes 1\.33 schema for ServiceMonitor"):
        checks.kubernetes_schema_errors(monitor, "1.33")
    # the stack's own objects: a version the schemas do not cover is a warning, not a crash
    _, rendered, _ = _dev_render()
    report = checks.Report()
    checks.check_core_objects(rendered, report, "9.99")
    assert report.errors == []
    assert report.warnings
    assert all(
        "NOT validated: kubernetes-validate has no schemas for Kubernetes 9.99" in str(w) for w in report.warnings
    )


@given(st.text(st.sampled_from("<>%!novaluei l\n"), max_size=40))
def test_the_unresolved_prefilter_answers_as_the_regex(text: str) -> None:
    """check_chart_unresolved looks for a mark by substring first: the same answer as the regex."""
    assert checks._has_unresolved(text) == (checks.UNRESOLVED.search(text) is not None)

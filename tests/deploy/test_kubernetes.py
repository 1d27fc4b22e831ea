"""Tests of deploy/kubernetes: schema-valid manifests and the settings a safe scheduled audit needs."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from mlgov.config import parse_config
from mlgov.service.cron import parse_crontab

from .kustomize import build

ROOT = Path(__file__).resolve().parents[2]
BASE = ROOT / "deploy" / "kubernetes" / "base"
SERVICE = ROOT / "deploy" / "kubernetes" / "overlays" / "service"
# The oldest Kubernetes with CronJob timeZone GA that AKS still runs, a middle one, the newest bundled.
VERSIONS = ["1.29.0", "1.33.0", kubernetes_validate.latest_version()]


def by_kind(docs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for doc in docs:
        assert doc["kind"] not in out, f"two {doc['kind']} resources"
        out[doc["kind"]] = doc
    return out


@pytest.fixture(scope="module")
def base() -> dict[str, dict[str, Any]]:
    return by_kind(build(BASE))


@pytest.fixture(scope="module")
def service() -> dict[str, dict[str, Any]]:
    return by_kind(build(SERVICE))


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("variant", [BASE, SERVICE], ids=["base", "service-overlay"])
def test_every_rendered_resource_validates_against_the_kubernetes_schema(variant: Path, version: str) -> None:
    """Each resource of the base and of the overlay passes strict JSON-schema validation (unknown fields fail)."""
    docs = build(variant)
    assert docs
    for doc in docs:
        kubernetes_validate.validate(doc, version, strict=True)


def test_the_validator_rejects_a_misspelt_field(base: dict[str, dict[str, Any]]) -> None:
    """The strict schema check is real: a typo in a CronJob field is an error."""
    broken = copy.deepcopy(base["CronJob"])
    broken["spec"]["concurencyPolicy"] = broken["spec"].pop("concurrencyPolicy")
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, VERSIONS[-1], strict=True)


def test_every_source_file_is_used_by_a_kustomization() -> None:
    """No manifest sits in deploy/kubernetes without a kustomization referencing it."""
    used: set[Path] = set()
    for kfile in (ROOT / "deploy" / "kubernetes").rglob("kustomization.yaml"):
        spec = yaml.safe_load(kfile.read_text(encoding="utf-8"))
        used.add(kfile)
        used.update((kfile.parent / r).resolve() for r in spec.get("resources", []))
        used.update((kfile.parent / p["path"]).resolve() for p in spec.get("patches", []))
    files = set((ROOT / "deploy" / "kubernetes").rglob("*.yaml"))
    assert {f.resolve() for f in files} <= used


def test_cronjob_never_overlaps_and_has_deadlines(base: dict[str, dict[str, Any]]) -> None:
    """The CronJob forbids concurrent runs, bounds start and run time, keeps history and cleans up."""
    spec = base["CronJob"]["spec"]
    assert spec["concurrencyPolicy"] == "Forbid"
    assert spec["startingDeadlineSeconds"] >= 60
    assert spec["timeZone"] and "TZ" not in spec["schedule"]
    parse_crontab(spec["schedule"])  # a line mlgov (and crontab) reads the same way
    assert spec["successfulJobsHistoryLimit"] >= 1 and spec["failedJobsHistoryLimit"] >= 1
    job = spec["jobTemplate"]["spec"]
    assert job["backoffLimit"] <= 1 and job["activeDeadlineSeconds"] > 1800 and job["ttlSecondsAfterFinished"] > 0
    assert job["template"]["spec"]["restartPolicy"] == "Never"
    assert job["template"]["spec"]["containers"][0]["args"][:1] == ["audit"]


def pod_specs(base: dict[str, dict[str, Any]], service: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    return [base["CronJob"]["spec"]["jobTemplate"]["spec"]["template"], service["Deployment"]["spec"]["template"]]


def test_pods_use_workload_identity_on_the_pod_template(
    base: dict[str, dict[str, Any]], service: dict[str, dict[str, Any]]
) -> None:
    """The ServiceAccount names the identity and the `use` label is on the pod template, not the controller."""
    sa = base["ServiceAccount"]
    assert "azure.workload.identity/client-id" in sa["metadata"]["annotations"]
    for template in pod_specs(base, service):
        assert template["metadata"]["labels"]["azure.workload.identity/use"] == "true"
        assert template["spec"]["serviceAccountName"] == sa["metadata"]["name"]
    assert "azure.workload.identity/use" not in base["CronJob"]["metadata"].get("labels", {})


def test_pods_run_non_root_read_only_without_capabilities(
    base: dict[str, dict[str, Any]], service: dict[str, dict[str, Any]]
) -> None:
    """Pods run as uid 10001, non-root, read-only root filesystem, no capabilities, with requests and limits."""
    for template in pod_specs(base, service):
        pod = template["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True and pod["securityContext"]["runAsUser"] == 10001
        assert pod["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault"
        (container,) = pod["containers"]
        sc = container["securityContext"]
        assert sc["readOnlyRootFilesystem"] is True and sc["allowPrivilegeEscalation"] is False
        assert sc["capabilities"]["drop"] == ["ALL"]
        assert container["resources"]["requests"] and container["resources"]["limits"]["memory"]
        assert container["image"].startswith("myregistry.azurecr.io/mlgov")
        mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
        volumes = {v["name"]: v for v in pod["volumes"]}
        assert volumes[mounts["/var/lib/mlgov"]]["persistentVolumeClaim"]["claimName"] == "mlgov-state"
        assert "configMap" in volumes[mounts["/etc/mlgov"]] and "emptyDir" in volumes[mounts["/tmp"]]


def test_webhook_urls_come_from_a_secret_and_the_config_reads_them(
    base: dict[str, dict[str, Any]], service: dict[str, dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every ${env:...} in the mounted config is set from a Secret key, and the config then validates."""
    config_text = base["ConfigMap"]["data"]["config.yaml"]
    for template in pod_specs(base, service):
        env = {e["name"]: e for e in template["spec"]["containers"][0]["env"]}
        for name in ("MLGOV_TEAMS_WEBHOOK_URL",):
            assert f"${{env:{name}}}" in config_text
            assert env[name]["valueFrom"]["secretKeyRef"]["name"] == "mlgov-notifications"
    monkeypatch.setenv("MLGOV_TEAMS_WEBHOOK_URL", "https://default00.0b.environment.api.powerplatform.com/x")
    config = parse_config(yaml.safe_load(config_text), source="configmap")
    assert config.state.path == "/var/lib/mlgov/state.db"
    assert config.azure is not None and config.azure.auth.method == "workload_identity"
    grace = service["Deployment"]["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
    assert config.serve.shutdown_grace_seconds < grace


def test_state_volume_is_a_single_writer_block_disk(base: dict[str, dict[str, Any]]) -> None:
    """The state store's claim is ReadWriteOnce on Azure Disk (managed-csi), not a file share."""
    pvc = base["PersistentVolumeClaim"]["spec"]
    assert pvc["accessModes"] == ["ReadWriteOnce"] and pvc["storageClassName"] == "managed-csi"


def test_service_overlay_runs_one_scheduler_with_probes_and_metrics(service: dict[str, dict[str, Any]]) -> None:
    """The overlay replaces the CronJob by one Recreate-d `mlgov serve` pod with probes, a Service and scrape hints."""
    assert "CronJob" not in service
    deploy = service["Deployment"]
    assert deploy["spec"]["replicas"] == 1 and deploy["spec"]["strategy"]["type"] == "Recreate"
    template = deploy["spec"]["template"]
    (container,) = template["spec"]["containers"]
    assert container["args"][:1] == ["serve"]
    port = container["ports"][0]
    assert (port["name"], port["containerPort"]) == ("metrics", 9464)
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert template["metadata"]["annotations"]["prometheus.io/scrape"] == "true"
    svc = service["Service"]
    assert svc["metadata"]["annotations"]["prometheus.io/port"] == "9464"
    selector = svc["spec"]["selector"]
    assert selector.items() <= template["metadata"]["labels"].items()
    assert deploy["spec"]["selector"]["matchLabels"].items() <= template["metadata"]["labels"].items()


@pytest.mark.parametrize("variant", [BASE, SERVICE], ids=["base", "service-overlay"])
def test_all_namespaced_resources_share_one_namespace(variant: Path) -> None:
    """Everything lands in the `mlgov` namespace, the overlay's own resources included."""
    namespaces = {d["metadata"].get("namespace") for d in build(variant) if d["kind"] != "Namespace"}
    assert namespaces == {"mlgov"}

"""deploy/kubernetes: core resources against the bundled Kubernetes schemas
(kubernetes-validate, strict); KEDA and Kustomize kinds have no schema there, so
their fields are checked here directly."""

from __future__ import annotations

import kubernetes_validate
import pytest
import yaml
from rq import Queue

from producer import defaults, keys
from tests.deploy.conftest import DEPLOY

K8S = DEPLOY / "kubernetes"
KUBERNETES_VERSION = "1.30.0"
"""Oldest version still widely run; the manifests use nothing newer."""


def documents(name: str) -> list[dict]:
    return [d for d in yaml.safe_load_all((K8S / name).read_text()) if d]


def by_kind(name: str) -> dict[str, dict]:
    return {d["kind"]: d for d in documents(name)}


def deployment() -> dict:
    return by_kind("worker-deployment.yaml")["Deployment"]


def worker_container() -> dict:
    (container,) = deployment()["spec"]["template"]["spec"]["containers"]
    return container


@pytest.mark.parametrize("name", ["worker-deployment.yaml", "redis-secret.example.yaml"])
@pytest.mark.parametrize("version", [KUBERNETES_VERSION, kubernetes_validate.latest_version()])
def test_core_manifests_match_kubernetes_schema(name: str, version: str) -> None:
    for doc in documents(name):
        kubernetes_validate.validate(doc, version, strict=True)


def test_every_yaml_file_parses_and_is_listed() -> None:
    files = sorted(p.name for p in K8S.glob("*.yaml"))
    kustomization = by_kind("kustomization.yaml")["Kustomization"]
    for resource in kustomization["resources"]:
        assert resource in files
    # The example Secret holds placeholders: applying it with -k would ship a fake password.
    assert "redis-secret.example.yaml" not in kustomization["resources"]
    for name in files:
        assert all(isinstance(d, dict) and d.get("kind") for d in documents(name)), name


def test_worker_pods_drain_and_probe_health() -> None:
    spec = deployment()["spec"]["template"]["spec"]
    assert spec["terminationGracePeriodSeconds"] > defaults.JOB_TIMEOUT
    container = worker_container()
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        assert container[probe]["exec"]["command"] == ["rerankq", "health"], probe
    assert container["args"] == ["worker"]
    resources = container["resources"]
    assert resources["requests"]["cpu"] and resources["limits"]["memory"]
    env = {e["name"]: e for e in container["env"]}
    assert env["RERANKQ_REDIS_URL"]["valueFrom"]["secretKeyRef"] == {"name": "rerankq-redis", "key": "url"}
    assert env["RERANKQ_THREADS"]["value"] == resources["requests"]["cpu"], "one session thread per requested core"
    assert env["RERANKQ_QUEUE"]["value"] == defaults.QUEUE
    assert spec["securityContext"]["runAsNonRoot"] is True


def test_metrics_annotation_matches_container_port() -> None:
    annotations = deployment()["spec"]["template"]["metadata"]["annotations"]
    ports = {p["name"]: p["containerPort"] for p in worker_container()["ports"]}
    env = {e["name"]: e.get("value") for e in worker_container()["env"]}
    assert annotations["prometheus.io/port"] == str(ports["metrics"]) == env["RERANKQ_METRICS_PORT"]
    assert annotations["prometheus.io/path"] == "/metrics"


def test_keda_scales_on_the_rq_queue_lists() -> None:
    resources = by_kind("keda-scaledobject.yaml")
    scaled = resources["ScaledObject"]
    assert scaled["apiVersion"] == "keda.sh/v1alpha1"
    assert scaled["spec"]["scaleTargetRef"]["name"] == deployment()["metadata"]["name"]
    assert 1 <= scaled["spec"]["minReplicaCount"] < scaled["spec"]["maxReplicaCount"]

    # The RQ list keys of the default queue and its high-priority sibling, as rq names them.
    expected = {
        Queue.redis_queue_namespace_prefix + keys.queue_name(defaults.QUEUE),
        Queue.redis_queue_namespace_prefix + keys.queue_name(defaults.QUEUE, high_priority=True),
    }
    assert "rq:queue:" + keys.queue_name(defaults.QUEUE) in expected
    triggers = scaled["spec"]["triggers"]
    assert {t["metadata"]["listName"] for t in triggers} == expected
    auth = resources["TriggerAuthentication"]
    for trigger in triggers:
        assert trigger["type"] == "redis"
        assert int(trigger["metadata"]["listLength"]) > 0
        assert trigger["authenticationRef"]["name"] == auth["metadata"]["name"]

    # KEDA reads host:port and password from the same Secret the workers use.
    secret = by_kind("redis-secret.example.yaml")["Secret"]
    for ref in auth["spec"]["secretTargetRef"]:
        assert ref["name"] == secret["metadata"]["name"]
        assert ref["key"] in secret["stringData"]
    assert {ref["parameter"] for ref in auth["spec"]["secretTargetRef"]} == {"address", "password"}


def test_kustomize_image_matches_deployment() -> None:
    kustomization = by_kind("kustomization.yaml")["Kustomization"]
    image = worker_container()["image"].rsplit(":", 1)[0]
    assert [i["name"] for i in kustomization["images"]] == [image]

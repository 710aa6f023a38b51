"""Cross-checks between the manifests, the code, the Dockerfile and the docs.

A schema says a manifest is well formed; these say it fits the rest of KubeVision: events the
code emits, settings it reads, images the Dockerfile builds, ports its servers listen on.
"""

from __future__ import annotations

import re

import pytest

from kubevision.settings import load_settings

from .dockerfile import stages
from .manifests import (
    REPO_ROOT,
    Manifest,
    container_env,
    containers,
    find,
    image_repository,
    is_kubevision_image,
    name_of,
    pod_labels,
    workloads,
)
from .settings_contract import PENDING_SETTINGS, secret_keys, setting_variables

DOCS = REPO_ROOT / "docs" / "deploy.md"
PROCESS_REQUESTED = "dev.kubevision.image.process.requested"
# The contract's worker queue; KEDA must watch the queue the worker consumes.
WORKER_QUEUE = "kubevision.process"

Rendered = dict[str, list[Manifest]]


def _knative_services(manifests: list[Manifest]) -> list[Manifest]:
    return [m for m in manifests if m["apiVersion"].startswith("serving.knative.dev/")]


def _kubevision_envs(manifests: list[Manifest]) -> list[tuple[str, dict[str, str | None]]]:
    keys = secret_keys()
    return [
        (f"{name_of(workload)}/{container['name']}", container_env(manifests, container, keys))
        for workload, container in containers(manifests)
        if is_kubevision_image(container["image"])
    ]


# Events ---------------------------------------------------------------------------------------


def test_trigger_filters_name_event_types_the_code_emits(overlay: str, rendered: Rendered) -> None:
    events = pytest.importorskip("kubevision.events", reason="kubevision/events.py not landed")
    filtered = {
        t["spec"]["filter"]["attributes"]["type"] for t in find(rendered[overlay], "Trigger")
    }

    assert filtered <= set(events.EVENT_TYPES)


def test_only_process_requests_reach_the_bridge(overlay: str, rendered: Rendered) -> None:
    to_bridge = [
        t["spec"]["filter"]["attributes"]
        for t in find(rendered[overlay], "Trigger")
        if t["spec"]["subscriber"]["ref"]["name"] == "bridge"
    ]

    assert to_bridge == [{"type": PROCESS_REQUESTED}]


def test_event_delivery_retries_then_dead_letters(overlay: str, rendered: Rendered) -> None:
    for holder in find(rendered[overlay], "Trigger") + find(rendered[overlay], "Broker"):
        delivery = holder["spec"]["delivery"]

        assert delivery["retry"] >= 3, name_of(holder)
        assert delivery["backoffPolicy"] == "exponential", name_of(holder)
        assert re.fullmatch(r"PT\d+(\.\d+)?S", delivery["backoffDelay"]), name_of(holder)
        assert delivery["deadLetterSink"]["ref"]["name"], name_of(holder)


def test_event_emitters_get_k_sink(overlay: str, rendered: Rendered) -> None:
    manifests = rendered[overlay]
    bound = set()
    for binding in find(manifests, "SinkBinding"):
        subject = binding["spec"]["subject"]
        assert binding["spec"]["sink"]["ref"]["kind"] == "Broker"
        candidates = [
            m
            for m in manifests
            if m["apiVersion"] == subject["apiVersion"] and m["kind"] == subject["kind"]
        ]
        labels = subject.get("selector", {}).get("matchLabels", {})
        bound |= {
            m["metadata"]["name"]
            for m in candidates
            if m["metadata"]["name"] == subject.get("name")
            or (labels and labels.items() <= m["metadata"].get("labels", {}).items())
        }

    assert {"upload", "process", "worker"} <= bound


# References -----------------------------------------------------------------------------------


def test_references_name_rendered_objects(overlay: str, rendered: Rendered) -> None:
    manifests = rendered[overlay]
    names = {(m["kind"], m["metadata"]["name"]) for m in manifests}
    wanted: set[tuple[str, str]] = set()
    for _, pod in workloads(manifests):
        for container in pod["containers"]:
            for source in container.get("envFrom", []):
                if "configMapRef" in source:
                    wanted.add(("ConfigMap", source["configMapRef"]["name"]))
        for volume in pod.get("volumes", []):
            if "persistentVolumeClaim" in volume:
                wanted.add(("PersistentVolumeClaim", volume["persistentVolumeClaim"]["claimName"]))
    for holder in find(manifests, "Trigger") + find(manifests, "Broker"):
        spec = holder["spec"]
        for ref in (
            spec.get("subscriber", {}).get("ref"),
            spec["delivery"]["deadLetterSink"]["ref"],
        ):
            if ref:
                wanted.add((ref["kind"], ref["name"]))
        if "broker" in spec:
            wanted.add(("Broker", spec["broker"]))
    for scaled in find(manifests, "ScaledObject"):
        wanted.add(("Deployment", scaled["spec"]["scaleTargetRef"]["name"]))
        for trigger in scaled["spec"]["triggers"]:
            wanted.add(("TriggerAuthentication", trigger["authenticationRef"]["name"]))

    assert wanted - names == set()


def test_secret_references_match_documented_secrets(overlay: str, rendered: Rendered) -> None:
    keys = secret_keys()
    used: set[tuple[str, str | None]] = set()
    for _, container in containers(rendered[overlay]):
        for source in container.get("envFrom", []):
            if "secretRef" in source:
                used.add((source["secretRef"]["name"], None))
        for variable in container.get("env", []):
            ref = variable.get("valueFrom", {}).get("secretKeyRef")
            if ref:
                used.add((ref["name"], ref["key"]))
    for auth in find(rendered[overlay], "TriggerAuthentication"):
        used |= {(ref["name"], ref["key"]) for ref in auth["spec"]["secretTargetRef"]}

    missing = {
        (name, key) for name, key in used if name not in keys or (key and key not in keys[name])
    }
    assert missing == set()


def test_no_secret_is_committed(overlay: str, rendered: Rendered) -> None:
    assert find(rendered[overlay], "Secret") == []


def test_public_route_reaches_each_function_by_its_cluster_local_name(
    overlay: str, rendered: Rendered
) -> None:
    manifests = rendered[overlay]
    (route,) = find(manifests, "HTTPRoute")
    knative = {m["metadata"]["name"]: m for m in _knative_services(manifests)}
    routed = {}
    for rule in route["spec"]["rules"]:
        (rewrite,) = [f["urlRewrite"] for f in rule["filters"] if f["type"] == "URLRewrite"]
        service, namespace = rewrite["hostname"].split(".")[:2]
        assert rewrite["hostname"] == f"{service}.{namespace}.svc.cluster.local"
        assert knative[service]["metadata"]["namespace"] == namespace
        for match in rule["matches"]:
            routed[match["path"]["value"]] = service

    assert routed == {"/upload": "upload", "/process": "process", "/": "status"}
    # The bridge takes events from the Broker only; nothing routes to it from outside.
    assert all(
        m["metadata"]["labels"].get("networking.knative.dev/visibility") == "cluster-local"
        for m in knative.values()
    )


# Settings -------------------------------------------------------------------------------------


def test_every_setting_has_a_value_or_documented_default(rendered: Rendered) -> None:
    provided = {
        name
        for overlay in rendered
        for _, env in _kubevision_envs(rendered[overlay])
        for name in env
    }
    documented = set(re.findall(r"`(K_?[A-Z_]+)`", DOCS.read_text()))

    unaccounted = {
        setting: names
        for setting, names in setting_variables().items()
        if not set(names) & (provided | documented)
    }
    assert unaccounted == {}


def test_every_variable_set_is_a_setting(overlay: str, rendered: Rendered) -> None:
    known = {name for names in setting_variables().values() for name in names} | PENDING_SETTINGS
    set_here = {
        (where, name)
        for where, env in _kubevision_envs(rendered[overlay])
        for name in env
        if name.startswith("KV_")
    }

    assert {(where, name) for where, name in set_here if name not in known} == set()


def test_pending_settings_are_not_in_settings_yet() -> None:
    known = {name for names in setting_variables().values() for name in names}

    assert PENDING_SETTINGS & known == set(), "now a real setting: drop it from PENDING_SETTINGS"


def test_every_container_reaches_the_shared_services(overlay: str, rendered: Rendered) -> None:
    required = {"KV_DATABASE_URL", "KV_REDIS_URL", "KV_BROKER_URL", "KV_BLOB_DIR"}

    missing = {
        where: required - env.keys()
        for where, env in _kubevision_envs(rendered[overlay])
        if required - env.keys()
    }
    assert missing == {}


def test_environment_is_named_after_the_overlay(rendered: Rendered) -> None:
    expected = {"dev": "development", "prod": "production"}
    for overlay, manifests in rendered.items():
        for where, env in _kubevision_envs(manifests):
            assert env["KV_ENVIRONMENT"] == expected[overlay], where


def test_config_values_parse_as_settings(
    overlay: str, rendered: Rendered, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bad value (not only a bad name) must fail here rather than at a pod's start."""
    for where, env in _kubevision_envs(rendered[overlay]):
        with monkeypatch.context() as patched:
            for name, value in env.items():
                if value is not None:
                    patched.setenv(name, value)
            settings = load_settings()

        assert settings.resolved_blob_dir.as_posix() == env["KV_BLOB_DIR"], where


# Images ---------------------------------------------------------------------------------------


def test_every_kubevision_image_is_a_dockerfile_target(overlay: str, rendered: Rendered) -> None:
    targets = set(stages())
    images = {
        c["image"] for _, c in containers(rendered[overlay]) if is_kubevision_image(c["image"])
    }

    missing = {i for i in images if image_repository(i).removeprefix("kubevision-") not in targets}
    assert images and missing == set()


def test_third_party_images_are_pinned(overlay: str, rendered: Rendered) -> None:
    loose = {
        c["image"]
        for _, c in containers(rendered[overlay])
        if not is_kubevision_image(c["image"])
        and not re.search(r"(@sha256:[0-9a-f]{64}|:v?\d+\.\d+[\w.-]*)$", c["image"])
    }

    assert loose == set()


# Ports and probes -----------------------------------------------------------------------------


def _probe_ports(container: Manifest) -> list[int | str]:
    ports = []
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        action = container.get(probe, {})
        for kind in ("httpGet", "tcpSocket"):
            if kind in action:
                ports.append(action[kind]["port"])
    return ports


def test_probes_use_declared_container_ports(overlay: str, rendered: Rendered) -> None:
    wrong = []
    for workload, container in containers(rendered[overlay]):
        declared = {p["containerPort"] for p in container.get("ports", [])}
        declared |= {p["name"] for p in container.get("ports", []) if "name" in p}
        wrong += [
            (name_of(workload), port) for port in _probe_ports(container) if port not in declared
        ]

    assert wrong == []


def test_http_services_have_readiness_and_liveness(overlay: str, rendered: Rendered) -> None:
    for workload, container in containers(rendered[overlay]):
        serves_http = workload["kind"] in {"Service", "Deployment"}
        if is_kubevision_image(container["image"]) and serves_http:
            assert container["readinessProbe"]["httpGet"]["path"] == "/readyz", name_of(workload)
            assert container["livenessProbe"]["httpGet"]["path"] == "/healthz", name_of(workload)


def test_services_select_pods_and_target_their_ports(overlay: str, rendered: Rendered) -> None:
    manifests = rendered[overlay]
    for service in find(manifests, "Service"):
        if service["apiVersion"] != "v1":
            continue
        selector = service["spec"]["selector"]
        pods = [
            (workload, pod)
            for workload, pod in workloads(manifests)
            if selector.items() <= pod_labels(workload).items()
        ]
        assert pods, f"{name_of(service)} selects no pods"
        for _, pod in pods:
            declared = {p.get("name") for c in pod["containers"] for p in c.get("ports", [])}
            declared |= {p["containerPort"] for c in pod["containers"] for p in c.get("ports", [])}
            for port in service["spec"]["ports"]:
                assert port.get("targetPort", port["port"]) in declared, name_of(service)


def test_worker_probes_its_health_port(overlay: str, rendered: Rendered) -> None:
    (worker,) = find(rendered[overlay], "Deployment", "worker")
    (container,) = worker["spec"]["template"]["spec"]["containers"]
    env = {v["name"]: v.get("value") for v in container["env"]}
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    probed = ports[container["readinessProbe"]["httpGet"]["port"]]

    assert probed == int(env["KV_WORKER_HEALTH_PORT"])


# Scaling and time limits ----------------------------------------------------------------------


def test_functions_scale_to_zero_within_bounds(overlay: str, rendered: Rendered) -> None:
    for service in _knative_services(rendered[overlay]):
        template = service["spec"]["template"]
        annotations = template["metadata"]["annotations"]

        assert annotations["autoscaling.knative.dev/min-scale"] == "0", name_of(service)
        assert int(annotations["autoscaling.knative.dev/max-scale"]) >= 1, name_of(service)
        # The soft target sits below the hard limit, or requests queue at the limit.
        target = int(annotations["autoscaling.knative.dev/target"])
        assert 0 < target < template["spec"]["containerConcurrency"], name_of(service)
        assert 0 < template["spec"]["timeoutSeconds"] <= 600, name_of(service)
        (container,) = template["spec"]["containers"]
        assert container["resources"]["limits"]["memory"], name_of(service)
        assert "PORT" not in {v["name"] for v in container.get("env", [])}, "Knative sets PORT"


def test_worker_outlives_its_longest_task(overlay: str, rendered: Rendered) -> None:
    manifests = rendered[overlay]
    (worker,) = find(manifests, "Deployment", "worker")
    (container,) = worker["spec"]["template"]["spec"]["containers"]
    env = container_env(manifests, container, secret_keys())
    time_limit = float(env.get("KV_TASK__TIME_LIMIT_S") or load_settings().task.time_limit_s)

    assert worker["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] > time_limit


def test_keda_counts_in_flight_tasks_and_scales_to_zero(overlay: str, rendered: Rendered) -> None:
    (scaled,) = find(rendered[overlay], "ScaledObject")
    (trigger,) = scaled["spec"]["triggers"]
    metadata = trigger["metadata"]

    assert scaled["spec"]["minReplicaCount"] == 0
    assert trigger["type"] == "rabbitmq"
    assert metadata["queueName"] == WORKER_QUEUE
    assert metadata["mode"] == "QueueLength"
    # Unacked (running) tasks are counted only over the management API.
    assert metadata["protocol"] == "http"
    assert metadata["excludeUnacknowledged"] == "false"


def test_gpu_only_where_asked(rendered: Rendered) -> None:
    gpu = {}
    for overlay, manifests in rendered.items():
        (worker,) = find(manifests, "Deployment", "worker")
        pod = worker["spec"]["template"]["spec"]
        (container,) = pod["containers"]
        limits = container["resources"]["limits"]
        gpu[overlay] = (limits.get("nvidia.com/gpu"), "nodeSelector" in pod, "tolerations" in pod)

    assert gpu == {"prod": (1, True, True), "dev": (None, False, False)}


def test_reaper_runs_every_minute_without_overlap(overlay: str, rendered: Rendered) -> None:
    (reap,) = find(rendered[overlay], "CronJob", "reap")
    (migrate,) = find(rendered[overlay], "Job", "migrate")
    reap_pod = reap["spec"]["jobTemplate"]["spec"]["template"]["spec"]

    assert reap["spec"]["schedule"] == "* * * * *"
    assert reap["spec"]["concurrencyPolicy"] == "Forbid"
    assert reap_pod["containers"][0]["args"] == ["reap"]
    assert migrate["spec"]["template"]["spec"]["containers"][0]["args"] == ["migrate"]

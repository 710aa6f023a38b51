"""Rendering the kustomize overlays and walking what they render.

The rendering is done by the real kustomize inside kubectl (``kubectl kustomize``), never by a
re-implementation, so what is checked is what ``kubectl apply -k`` would send.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
KNATIVE_DIR = REPO_ROOT / "knative"
OVERLAYS = ("dev", "prod")

Manifest = dict[str, Any]


class ToolMissingError(RuntimeError):
    """A command-line tool the deploy checks need is not installed."""


def find_tool(name: str, override_variable: str) -> str:
    """Path of ``name``: the override variable, then this Python's venv, then ``$PATH``.

    The venv comes before ``$PATH`` so that the pinned copy ``scripts/check-deploy`` installed
    wins over whatever else the machine has.
    """
    override = os.environ.get(override_variable)
    if override:
        return override
    beside_python = Path(sys.executable).parent / name
    if beside_python.is_file():
        return str(beside_python)
    on_path = shutil.which(name)
    if on_path:
        return on_path
    raise ToolMissingError(
        f"{name} not found (looked at ${override_variable}, {beside_python.parent}, $PATH); "
        "run scripts/check-deploy --install-only"
    )


def render(kubectl: str, overlay: str) -> list[Manifest]:
    """Every object ``kubectl kustomize knative/overlays/<overlay>`` renders."""
    result = subprocess.run(
        [kubectl, "kustomize", str(KNATIVE_DIR / "overlays" / overlay)],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise AssertionError(f"kustomize failed for overlay {overlay!r}:\n{result.stderr}")
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


def name_of(manifest: Manifest) -> str:
    """``Kind/name`` for messages."""
    return f"{manifest['kind']}/{manifest['metadata']['name']}"


def find(manifests: list[Manifest], kind: str, name: str | None = None) -> list[Manifest]:
    """The manifests of one kind, optionally with one name."""
    return [
        m
        for m in manifests
        if m["kind"] == kind and (name is None or m["metadata"]["name"] == name)
    ]


def pod_spec(manifest: Manifest) -> Manifest | None:
    """The pod spec inside a workload (Deployment, StatefulSet, Job, CronJob, Knative Service)."""
    spec = manifest.get("spec", {})
    if manifest["kind"] == "CronJob":
        spec = spec["jobTemplate"]["spec"]
    template = spec.get("template") if isinstance(spec, dict) else None
    if not isinstance(template, dict) or "containers" not in template.get("spec", {}):
        return None
    pod: Manifest = template["spec"]
    return pod


def pod_labels(manifest: Manifest) -> dict[str, str]:
    """The labels a workload's pods get."""
    spec = manifest["spec"]
    if manifest["kind"] == "CronJob":
        spec = spec["jobTemplate"]["spec"]
    labels: dict[str, str] = spec["template"].get("metadata", {}).get("labels", {})
    return labels


def workloads(manifests: list[Manifest]) -> Iterator[tuple[Manifest, Manifest]]:
    """Each workload with its pod spec."""
    for manifest in manifests:
        pod = pod_spec(manifest)
        if pod is not None:
            yield manifest, pod


def containers(manifests: list[Manifest]) -> Iterator[tuple[Manifest, Manifest]]:
    """Each container (init containers included) with the workload that runs it."""
    for manifest, pod in workloads(manifests):
        for container in pod.get("initContainers", []) + pod["containers"]:
            yield manifest, container


def image_repository(image: str) -> str:
    """The last path segment of an image reference, without tag or digest."""
    without_digest = image.split("@", 1)[0]
    last = without_digest.rsplit("/", 1)[-1]
    return last.split(":", 1)[0]


def is_kubevision_image(image: str) -> bool:
    """True for the images built from this repository's Dockerfile."""
    return image_repository(image).startswith("kubevision-")


def config_map_data(manifests: list[Manifest], name: str) -> dict[str, str]:
    """The data of the ConfigMap called ``name`` (a generated name as rendered)."""
    (config_map,) = find(manifests, "ConfigMap", name)
    data: dict[str, str] = config_map.get("data", {})
    return data


def container_env(
    manifests: list[Manifest], container: Manifest, secret_keys: dict[str, set[str]]
) -> dict[str, str | None]:
    """Every variable a container gets from its manifest: value, or None when from a Secret.

    ``secret_keys`` maps each Secret's name to the keys it must hold; Secrets are created by
    hand, so their keys come from the documented contract, not from the render.
    """
    env: dict[str, str | None] = {}
    for source in container.get("envFrom", []):
        if "configMapRef" in source:
            env.update(config_map_data(manifests, source["configMapRef"]["name"]))
        if "secretRef" in source:
            env.update(dict.fromkeys(secret_keys.get(source["secretRef"]["name"], set())))
    for variable in container.get("env", []):
        env[variable["name"]] = variable.get("value")
    return env

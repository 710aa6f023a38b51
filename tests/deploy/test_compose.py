"""docker-compose.yml runs the Dockerfile's images with what they need, and no secret in it.

There is no Docker engine (nor compose plugin) where these run, so the file is checked as data.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
import yaml

from .dockerfile import stages
from .manifests import REPO_ROOT, image_repository, is_kubevision_image
from .settings_contract import PENDING_SETTINGS, setting_variables

COMPOSE = REPO_ROOT / "docker-compose.yml"
NGINX = REPO_ROOT / "deploy" / "compose" / "nginx.conf"


@pytest.fixture(scope="module")
def services() -> dict[str, dict[str, Any]]:
    loaded: dict[str, dict[str, Any]] = yaml.safe_load(COMPOSE.read_text())["services"]
    return loaded


def _kubevision(services: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {name: s for name, s in services.items() if is_kubevision_image(s["image"])}


def test_images_are_built_from_their_dockerfile_target(services: dict[str, dict[str, Any]]) -> None:
    targets = set(stages())
    for name, service in _kubevision(services).items():
        target = service["build"]["target"]

        assert target in targets, name
        assert image_repository(service["image"]) == f"kubevision-{target}", name


def test_third_party_images_are_pinned(services: dict[str, dict[str, Any]]) -> None:
    for name, service in services.items():
        assert re.search(r":v?\d+\.\d+[\w.-]*$", service["image"]), name


def test_dependencies_exist_and_wait_for_health(services: dict[str, dict[str, Any]]) -> None:
    for name, service in services.items():
        depends_on = service.get("depends_on", {})
        names = depends_on if isinstance(depends_on, list) else list(depends_on)

        assert set(names) <= set(services), name


def test_kubevision_services_reach_the_shared_services(services: dict[str, dict[str, Any]]) -> None:
    for name, service in _kubevision(services).items():
        env = service["environment"]

        assert {"KV_DATABASE_URL", "KV_REDIS_URL", "KV_BROKER_URL", "KV_BLOB_DIR"} <= env.keys()
        # Passwords come from .env, never from this file.
        assert "${POSTGRES_PASSWORD:?" in env["KV_DATABASE_URL"], name
        assert "${RABBITMQ_PASSWORD:?" in env["KV_BROKER_URL"], name


def test_every_variable_set_is_a_setting(services: dict[str, dict[str, Any]]) -> None:
    known = {name for names in setting_variables().values() for name in names} | PENDING_SETTINGS
    for name, service in _kubevision(services).items():
        assert set(service["environment"]) - known == set(), name


def test_event_emitters_send_to_the_bridge(services: dict[str, dict[str, Any]]) -> None:
    for name in ("upload", "process"):
        assert services[name]["environment"]["K_SINK"] == "http://bridge:8080/"


def test_workers_outlive_their_longest_task(services: dict[str, dict[str, Any]]) -> None:
    for name in ("worker", "worker-gpu"):
        service = services[name]
        grace = int(service["stop_grace_period"].removesuffix("s"))

        assert grace > float(service["environment"]["KV_TASK__TIME_LIMIT_S"]), name


def test_gateway_proxies_to_compose_services(services: dict[str, dict[str, Any]]) -> None:
    upstreams = set(re.findall(r"proxy_pass http://([\w-]+):8080", NGINX.read_text()))

    assert upstreams == {"upload", "process", "status"}
    assert upstreams <= set(services)

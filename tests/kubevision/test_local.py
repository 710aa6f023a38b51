"""End to end through `kubevision up`: real processes, real queue, real model, real photos."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import psutil
import pytest

from kubevision.local import LocalSystem
from tests.support.system import upload, wait_for_task

CAT_CLASSES = {"tabby", "tiger cat", "Egyptian cat"}


def _top_labels(task: dict[str, object], n: int) -> list[str]:
    results = task["results"]
    assert isinstance(results, dict)
    return [item["label"] for item in results["classify"]["items"][:n]]


def _process_and_wait(client: httpx.Client, data: bytes, name: str) -> dict[str, object]:
    image = upload(client, data, name)
    accepted = client.post(f"/process/{image['id']}", json={"tasks": ["classify"]})
    assert accepted.status_code in (200, 202), accepted.text
    task = wait_for_task(client, accepted.json()["task_id"])
    assert task["state"] == "done", task
    status = client.get(f"/status/{image['id']}").json()
    assert status["status"] == "done"
    return task


def test_cat_photo_is_classified_as_a_cat(system: LocalSystem, chelsea_png: bytes) -> None:
    with httpx.Client(base_url=system.plan.url("gateway"), timeout=30) as client:
        task = _process_and_wait(client, chelsea_png, "chelsea.png")

    assert CAT_CLASSES & set(_top_labels(task, 3))
    classify = task["results"]["classify"]  # type: ignore[index]
    assert classify["provider"] == "CPUExecutionProvider"
    assert classify["model"]["id"] == "efficientnet-lite0"
    assert task["attempts"] == 1 and task["provider"] == "CPUExecutionProvider"


def test_coffee_photo_is_espresso_first(system: LocalSystem, coffee_png: bytes) -> None:
    with httpx.Client(base_url=system.plan.url("gateway"), timeout=30) as client:
        task = _process_and_wait(client, coffee_png, "coffee.png")

    assert _top_labels(task, 1) == ["espresso"]


def test_task_records_its_timeline(system: LocalSystem, unique_jpeg: bytes) -> None:
    with httpx.Client(base_url=system.plan.url("gateway"), timeout=30) as client:
        task = _process_and_wait(client, unique_jpeg, "astronaut.jpg")

    assert [entry["state"] for entry in task["history"]] == ["queued", "processing", "done"]
    assert task["queue_ms"] is not None and task["run_ms"] is not None
    assert [a["outcome"] for a in task["attempt_log"]] == ["done"]


def test_split_run_processes_a_photo_across_ports(
    system_factory: Callable[..., LocalSystem], chelsea_png: bytes
) -> None:
    split = system_factory(split=True)
    with httpx.Client(timeout=30) as client:
        image = client.post(f"{split.plan.url('upload')}/upload",
                            files={"file": ("chelsea.png", chelsea_png)}).json()
        accepted = client.post(f"{split.plan.url('process')}/process/{image['id']}",
                               json={"tasks": ["classify"]}).json()
    with httpx.Client(base_url=split.plan.url("status"), timeout=30) as status_client:
        task = wait_for_task(status_client, accepted["task_id"])

    assert task["state"] == "done"
    assert CAT_CLASSES & set(_top_labels(task, 3))


@pytest.mark.parametrize("service", ["gateway", "bridge"])
def test_services_report_ready(system: LocalSystem, service: str) -> None:
    response = httpx.get(f"{system.plan.url(service)}/readyz", timeout=10)

    assert response.status_code == 200
    assert all(value == "ok" for value in response.json()["checks"].values())


def test_worker_reports_provider_in_readiness(system: LocalSystem) -> None:
    response = httpx.get(f"http://127.0.0.1:{system.plan.worker_health_port}/readyz", timeout=10)

    assert response.status_code == 200
    assert response.json()["checks"]["models"] == "ok"
    assert response.json()["provider"] == "CPUExecutionProvider"


def test_worker_health_listens_only_on_the_local_run_host(system: LocalSystem) -> None:
    worker = psutil.Process(system.processes["worker"].pid)

    listening = {(c.laddr.ip, c.laddr.port) for c in worker.net_connections("tcp")
                 if c.status == psutil.CONN_LISTEN}

    assert (system.plan.host, system.plan.worker_health_port) in listening
    assert ("0.0.0.0", system.plan.worker_health_port) not in listening


def test_worker_health_answers_json_for_every_request(system: LocalSystem) -> None:
    base = f"http://127.0.0.1:{system.plan.worker_health_port}"

    with_query = httpx.get(f"{base}/readyz?verbose=1", timeout=10)
    posted = httpx.post(f"{base}/readyz", timeout=10)
    unknown = httpx.get(f"{base}/nowhere", timeout=10)

    assert with_query.status_code == 200
    assert posted.status_code == 405
    assert posted.headers["allow"] == "GET, HEAD"
    assert posted.json()["error"]["code"] == "method_not_allowed"
    assert unknown.status_code == 404
    assert unknown.json()["error"]["details"]["paths"] == ["/healthz", "/readyz", "/stats"]


def test_worker_health_answers_head_like_get_without_a_body(system: LocalSystem) -> None:
    base = f"http://127.0.0.1:{system.plan.worker_health_port}"

    for path in ("/healthz", "/readyz", "/stats", "/nowhere"):
        got, head = httpx.get(f"{base}{path}", timeout=10), httpx.head(f"{base}{path}", timeout=10)

        assert head.status_code == got.status_code, path
        assert head.content == b"", path
        assert head.headers["content-type"] == got.headers["content-type"], path

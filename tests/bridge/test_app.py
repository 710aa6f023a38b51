"""The bridge's contract: CloudEvents in both content modes, validation, de-duplication."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from bridge.app import create_app
from kubevision.context import AppContext
from kubevision.db.schema import images, tasks
from kubevision.events import PROCESS_REQUESTED
from kubevision.settings import Settings
from tests.support.system import (
    clear_queue,
    free_port,
    make_task,
    queued_messages,
    serve_in_thread,
    take_message,
)


@pytest.fixture()
def client(settings: Settings) -> Iterator[TestClient]:
    clear_queue(settings)
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def binary_headers(task_image: tuple[str, str], **overrides: str) -> dict[str, str]:
    image_id, _ = task_image
    headers = {
        "ce-specversion": "1.0", "ce-id": str(uuid.uuid4()), "ce-source": "/tests",
        "ce-type": PROCESS_REQUESTED, "ce-subject": image_id,
        "content-type": "application/json",
    }
    headers.update(overrides)
    return headers


@pytest.fixture()
def task_image(context: AppContext, unique_jpeg: bytes) -> tuple[str, str]:
    return make_task(context, unique_jpeg)


def test_binary_mode_event_is_queued_once_confirmed(
    client: TestClient, settings: Settings, task_image: tuple[str, str]
) -> None:
    _, task_id = task_image
    response = client.post("/", headers=binary_headers(task_image),
                           content=json.dumps({"task_id": task_id}))

    assert response.status_code == 202
    assert response.json() == {"status": "queued", "task_id": task_id}
    assert queued_messages(settings) == 1


def test_structured_mode_event_is_queued(
    client: TestClient, settings: Settings, task_image: tuple[str, str]
) -> None:
    image_id, task_id = task_image
    event = {"specversion": "1.0", "id": str(uuid.uuid4()), "source": "/tests",
             "type": PROCESS_REQUESTED, "subject": image_id,
             "datacontenttype": "application/json", "data": {"task_id": task_id}}
    response = client.post("/", content=json.dumps(event),
                           headers={"content-type": "application/cloudevents+json"})

    assert response.status_code == 202
    assert queued_messages(settings) == 1


def test_redelivered_event_makes_no_second_message(
    client: TestClient, settings: Settings, context: AppContext, task_image: tuple[str, str]
) -> None:
    image_id, task_id = task_image
    headers = binary_headers(task_image)
    body = json.dumps({"task_id": task_id})

    first = client.post("/", headers=headers, content=body)
    second = client.post("/", headers=headers, content=body)

    assert (first.status_code, second.status_code) == (202, 200)
    assert second.json()["status"] == "duplicate"
    assert queued_messages(settings) == 1
    with context.engine.connect() as connection:
        count = connection.execute(select(func.count()).select_from(tasks)
                                   .where(tasks.c.image_id == image_id)).scalar_one()
    assert count == 1


@pytest.mark.parametrize("missing", ["ce-id", "ce-source", "ce-type", "ce-specversion"])
def test_event_missing_an_attribute_gets_400_naming_it(
    client: TestClient, settings: Settings, task_image: tuple[str, str], missing: str
) -> None:
    headers = binary_headers(task_image)
    del headers[missing]
    # Without any ce- header left the request is read as structured mode; keep one.
    response = client.post("/", headers=headers,
                           content=json.dumps({"task_id": task_image[1]}))

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_event"
    assert missing.removeprefix("ce-") in error["message"]
    assert queued_messages(settings) == 0


def test_event_of_another_type_gets_400(
    client: TestClient, settings: Settings, task_image: tuple[str, str]
) -> None:
    headers = binary_headers(task_image, **{"ce-type": "dev.kubevision.image.processed"})
    response = client.post("/", headers=headers, content=json.dumps({"task_id": task_image[1]}))

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "unsupported_event_type"
    assert queued_messages(settings) == 0


@pytest.mark.parametrize("body", [b"not json", b"[1, 2]", b'{"task": "x"}'])
def test_event_with_bad_data_gets_400(
    client: TestClient, settings: Settings, task_image: tuple[str, str], body: bytes
) -> None:
    response = client.post("/", headers=binary_headers(task_image), content=body)

    assert response.status_code == 400
    assert queued_messages(settings) == 0


def test_event_for_unknown_task_gets_422_and_no_message(
    client: TestClient, settings: Settings, task_image: tuple[str, str]
) -> None:
    response = client.post("/", headers=binary_headers(task_image),
                           content=json.dumps({"task_id": "no-such-task"}))

    assert response.status_code == 422
    assert response.json()["error"]["code"] == "unknown_task"
    assert queued_messages(settings) == 0


def test_plain_json_without_cloudevent_attributes_gets_400(client: TestClient) -> None:
    response = client.post("/", json={"hello": "world"})

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_event"


def test_readiness_checks_the_broker(client: TestClient) -> None:
    body = client.get("/readyz").json()

    assert body["checks"]["broker"] == "ok"
    assert body["status"] == "ready"


def test_queued_message_carries_the_task_id_and_no_image_bytes(
    client: TestClient, settings: Settings, task_image: tuple[str, str], context: AppContext
) -> None:
    image_id, task_id = task_image
    with context.engine.connect() as connection:
        sha256 = connection.execute(select(images.c.sha256).where(images.c.id == image_id)
                                    ).scalar_one()
    image_bytes = context.blobs.get(sha256)

    client.post("/", headers=binary_headers(task_image), content=json.dumps({"task_id": task_id}))
    raw = take_message(settings)

    assert task_id.encode() in raw or base64.b64encode(task_id.encode())[:20] in raw
    assert len(raw) < 4096, f"a {len(raw)}-byte message is too big to hold only ids"
    for sample in (image_bytes[100:164], base64.b64encode(image_bytes[99:150])):
        assert sample not in raw


def test_an_oversized_chunked_event_is_refused(
    client: TestClient, settings: Settings, task_image: tuple[str, str]
) -> None:
    def body() -> Iterator[bytes]:
        # A chunked body with no Content-Length: only the stream can tell its size.
        for _ in range(4):
            yield b"x" * 65536

    response = client.post("/", headers=binary_headers(task_image), content=body())

    assert response.status_code == 413
    assert response.json()["error"]["details"]["max_bytes"] == 64 * 1024
    assert queued_messages(settings) == 0


def test_a_declared_oversized_event_is_refused_from_its_length(
    client: TestClient, task_image: tuple[str, str]
) -> None:
    response = client.post("/", headers=binary_headers(task_image), content=b"x" * 70_000)

    assert response.status_code == 413
    assert "70000 bytes" in response.json()["error"]["message"]


def test_a_structured_event_that_is_not_json_is_called_so(client: TestClient) -> None:
    response = client.post("/", content=b"{not json",
                           headers={"Content-Type": "application/cloudevents+json"})

    assert response.status_code == 400
    assert "not JSON" in response.json()["error"]["message"]


def test_an_event_with_a_bad_time_gets_400_naming_the_attribute(
    client: TestClient, settings: Settings, task_image: tuple[str, str]
) -> None:
    response = client.post("/", headers=binary_headers(task_image, **{"ce-time": "yesterday"}),
                           content=json.dumps({"task_id": task_image[1]}))

    assert response.status_code == 400
    assert "time" in response.json()["error"]["details"]["attributes"]
    assert queued_messages(settings) == 0


def test_a_structured_event_with_a_bad_time_gets_400_naming_the_attribute(
    client: TestClient, task_image: tuple[str, str]
) -> None:
    event = {"specversion": "1.0", "id": str(uuid.uuid4()), "source": "/tests",
             "type": PROCESS_REQUESTED, "time": "yesterday",
             "data": {"task_id": task_image[1]}}

    response = client.post("/", content=json.dumps(event),
                           headers={"Content-Type": "application/cloudevents+json"})

    assert response.status_code == 400
    assert "time" in response.json()["error"]["details"]["attributes"]


def test_the_same_event_delivered_at_once_queues_one_message(
    settings: Settings, task_image: tuple[str, str]
) -> None:
    clear_queue(settings)
    headers = binary_headers(task_image)
    body = json.dumps({"task_id": task_image[1]})

    with serve_in_thread(create_app(settings), free_port()) as url, ThreadPoolExecutor(8) as pool:
        codes = list(pool.map(
            lambda _: httpx.post(f"{url}/", headers=headers, content=body, timeout=30).status_code,
            range(8)))

    assert sorted(codes) == [200] * 7 + [202]
    assert queued_messages(settings) == 1


def test_an_event_the_broker_refused_is_published_when_delivered_again(
    client: TestClient, settings: Settings, task_image: tuple[str, str]
) -> None:
    # A broker nobody listens on: the publish fails for real, as when RabbitMQ is down.
    unreachable = settings.model_copy(
        update={"broker_url": f"amqp://guest:guest@127.0.0.1:{free_port()}//"})
    headers = binary_headers(task_image)
    body = json.dumps({"task_id": task_image[1]})

    with TestClient(create_app(unreachable)) as down:
        refused = down.post("/", headers=headers, content=body)
    retried = client.post("/", headers=headers, content=body)

    assert refused.status_code == 503
    assert refused.json()["error"]["code"] == "broker_unavailable"
    assert retried.status_code == 202
    assert queued_messages(settings) == 1

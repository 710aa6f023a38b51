"""The process function's contract: one task per identical request, events, and refusals."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI, Response
from fastapi.testclient import TestClient

from bridge.app import create_app as create_bridge_app
from functions.process.app import create_app
from functions.status.app import create_app as create_status_app
from functions.upload.app import create_app as create_upload_app
from kubevision.settings import Settings
from tests.support.system import clear_queue, free_port, queued_messages, serve_in_thread


@pytest.fixture(scope="module")
def bridge_url(settings: Settings) -> Iterator[str]:
    with serve_in_thread(create_bridge_app(settings), free_port()) as url:
        yield url + "/"


@pytest.fixture()
def client(settings: Settings, bridge_url: str) -> Iterator[TestClient]:
    clear_queue(settings)
    with TestClient(create_app(settings.model_copy(update={"sink_url": bridge_url}))) as c:
        yield c


@pytest.fixture()
def image_id(settings: Settings, unique_jpeg: bytes) -> str:
    with TestClient(create_upload_app(settings)) as uploader:
        body = uploader.post("/upload", files={"file": ("a.jpg", unique_jpeg)}).json()
    return str(body["id"])


def test_process_queues_a_task_and_announces_it(
    client: TestClient, settings: Settings, image_id: str
) -> None:
    response = client.post(f"/process/{image_id}", json={"tasks": ["classify"]})

    assert response.status_code == 202
    body = response.json()
    assert body["state"] == "queued" and body["created"] is True
    assert body["models"] == ["classify"]
    assert body["links"]["self"] == f"/task/{body['task_id']}"
    assert queued_messages(settings) == 1


def test_process_without_body_runs_every_task(client: TestClient, image_id: str) -> None:
    from kubevision.inference.tasks import TASK_NAMES

    response = client.post(f"/process/{image_id}")

    assert response.status_code == 202
    assert response.json()["models"] == list(TASK_NAMES)


def test_identical_requests_give_one_task(
    client: TestClient, settings: Settings, image_id: str
) -> None:
    body = {"tasks": ["classify"], "options": {"classify": {"max_results": 3}}}
    first = client.post(f"/process/{image_id}", json=body)
    second = client.post(f"/process/{image_id}", json=body)

    assert (first.status_code, second.status_code) == (202, 200)
    assert first.json()["task_id"] == second.json()["task_id"]
    assert second.json()["created"] is False
    assert queued_messages(settings) == 1


def test_force_makes_a_new_task(client: TestClient, image_id: str) -> None:
    first = client.post(f"/process/{image_id}", json={"tasks": ["classify"]})
    forced = client.post(f"/process/{image_id}", json={"tasks": ["classify"], "force": True})

    assert forced.status_code == 202
    assert forced.json()["task_id"] != first.json()["task_id"]


def test_idempotency_key_returns_the_first_task(client: TestClient, image_id: str) -> None:
    headers = {"Idempotency-Key": "retry-7"}
    first = client.post(f"/process/{image_id}", json={"tasks": ["classify"], "force": True},
                        headers=headers)
    retried = client.post(f"/process/{image_id}", json={"tasks": ["classify"], "force": True},
                          headers=headers)

    assert first.status_code == 202 and retried.status_code == 200
    assert retried.json()["task_id"] == first.json()["task_id"]


def test_idempotency_key_reused_for_another_request_gets_422(
    client: TestClient, image_id: str
) -> None:
    headers = {"Idempotency-Key": f"key-{image_id}"}
    client.post(f"/process/{image_id}", json={"tasks": ["classify"]}, headers=headers)
    other = client.post(f"/process/{image_id}", json={"tasks": ["classify"],
                                                      "options": {"classify": {"max_results": 1}}},
                        headers=headers)

    assert other.status_code == 422
    assert other.json()["error"]["code"] == "idempotency_key_reused"


def test_unknown_task_name_gets_422_naming_the_allowed_ones(
    client: TestClient, settings: Settings, image_id: str
) -> None:
    response = client.post(f"/process/{image_id}", json={"tasks": ["classify", "telepathy"]})

    assert response.status_code == 422
    problem = response.json()["error"]["details"]["problems"][0]
    assert "telepathy" in problem["problem"] and "classify" in problem["problem"]
    assert queued_messages(settings) == 0


@pytest.mark.parametrize("options", [
    {"classify": {"max_results": 0}},
    {"classify": {"score_threshold": 1.5}},
    {"teleport": {}},
])
def test_bad_options_get_422(client: TestClient, image_id: str, options: object) -> None:
    response = client.post(f"/process/{image_id}", json={"tasks": ["classify"],
                                                         "options": options})

    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_request"


def test_unknown_image_gets_404(client: TestClient) -> None:
    response = client.post("/process/does-not-exist")

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "image_not_found"


def test_unreachable_sink_gets_503_and_a_retry_returns_the_same_task(
    settings: Settings, bridge_url: str, image_id: str
) -> None:
    dead_sink = settings.model_copy(update={"sink_url": f"http://127.0.0.1:{free_port()}/"})
    with TestClient(create_app(dead_sink)) as down:
        refused = down.post(f"/process/{image_id}", json={"tasks": ["classify"]})
    with TestClient(create_app(settings.model_copy(update={"sink_url": bridge_url}))) as up:
        retried = up.post(f"/process/{image_id}", json={"tasks": ["classify"]})

    assert refused.status_code == 503
    assert refused.json()["error"]["code"] == "queue_unavailable"
    assert retried.json()["task_id"] == refused.json()["error"]["details"]["task_id"]
    assert retried.json()["state"] == "queued"


def test_a_task_the_broker_accepted_is_marked_dispatched(
    settings: Settings, image_id: str
) -> None:
    # The Knative Broker answers 202 as soon as it holds the event; the bridge has not seen it
    # yet, so the process function itself records the hand-over.
    broker = FastAPI()

    @broker.post("/")
    def accept() -> Response:
        return Response(status_code=202)

    with serve_in_thread(broker, free_port()) as broker_url, TestClient(
        create_app(settings.model_copy(update={"sink_url": broker_url + "/"}))
    ) as client:
        response = client.post(f"/process/{image_id}", json={"tasks": ["faces"]})
    with TestClient(create_status_app(settings)) as status:
        task = status.get(f"/task/{response.json()['task_id']}").json()

    assert response.status_code == 202
    assert task["dispatched_at"] is not None


def test_a_body_that_is_not_json_gets_422_saying_so(client: TestClient, image_id: str) -> None:
    response = client.post(f"/process/{image_id}", content=b'{"tasks": [classify]}',
                           headers={"Content-Type": "application/json"})

    assert response.status_code == 422
    assert "not valid JSON" in response.json()["error"]["message"]


def test_a_misspelt_field_gets_422_instead_of_running_every_model(
    client: TestClient, image_id: str
) -> None:
    response = client.post(f"/process/{image_id}", json={"task": ["classify"]})

    assert response.status_code == 422
    assert "task" in response.json()["error"]["message"]


def test_a_method_the_path_does_not_take_gets_405_with_allow(client: TestClient) -> None:
    response = client.get("/process/someimage")

    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    assert response.json()["error"]["code"] == "method_not_allowed"


def test_a_nan_threshold_gets_422(client: TestClient, image_id: str) -> None:
    # Python's JSON reader accepts the NaN literal; the threshold must still be a number.
    response = client.post(f"/process/{image_id}",
                           content=b'{"options": {"detect": {"score_threshold": NaN}}}',
                           headers={"Content-Type": "application/json"})

    assert response.status_code == 422
    assert "finite" in response.json()["error"]["message"]

"""The status function's contract: records, bytes with ETags, pages, tasks and 404s."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from functions.status.app import create_app as create_status_app
from functions.upload.app import create_app as create_upload_app
from kubevision.settings import Settings


@pytest.fixture()
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_status_app(settings)) as test_client:
        yield test_client


@pytest.fixture()
def uploader(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_upload_app(settings)) as test_client:
        yield test_client


def test_status_of_a_new_image_is_uploaded(
    client: TestClient, uploader: TestClient, unique_jpeg: bytes
) -> None:
    image = uploader.post("/upload", files={"file": ("a.jpg", unique_jpeg)}).json()

    response = client.get(f"/status/{image['id']}")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "uploaded" and body["latest_task"] is None
    assert body["image"]["sha256"] == image["sha256"]


def test_image_bytes_come_back_with_type_and_etag(
    client: TestClient, uploader: TestClient, unique_jpeg: bytes
) -> None:
    image = uploader.post("/upload", files={"file": ("a.jpg", unique_jpeg)}).json()

    response = client.get(f"/image/{image['id']}")

    assert response.status_code == 200
    assert response.content == unique_jpeg
    assert response.headers["content-type"] == "image/jpeg"
    assert response.headers["etag"] == f'"{image["sha256"]}"'
    assert response.headers["x-content-type-options"] == "nosniff"


def test_matching_etag_gets_304_without_body(
    client: TestClient, uploader: TestClient, unique_jpeg: bytes
) -> None:
    image = uploader.post("/upload", files={"file": ("a.jpg", unique_jpeg)}).json()
    etag = client.get(f"/image/{image['id']}").headers["etag"]

    response = client.get(f"/image/{image['id']}", headers={"If-None-Match": etag})

    assert response.status_code == 304
    assert response.content == b""


@pytest.mark.parametrize("path", ["/status/nope", "/image/nope", "/task/nope"])
def test_unknown_ids_get_404_with_a_code(client: TestClient, path: str) -> None:
    response = client.get(path)

    assert response.status_code == 404
    assert response.json()["error"]["code"] in ("image_not_found", "task_not_found")


def test_images_are_paged_newest_first_without_gaps(
    client: TestClient, uploader: TestClient, unique_jpeg: bytes
) -> None:
    import io

    from PIL import Image

    made = []
    for shade in range(5):
        buffer = io.BytesIO()
        Image.open(io.BytesIO(unique_jpeg)).rotate(shade * 10).save(buffer, "PNG")
        made.append(uploader.post("/upload", files={"file": ("p.png", buffer.getvalue())})
                    .json()["id"])

    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = client.get("/images", params=params).json()
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
        assert "next" in page["links"]

    ours = [image_id for image_id in seen if image_id in made]
    assert ours == list(reversed(made))
    assert len(seen) == len(set(seen))


def test_images_filter_by_status(
    client: TestClient, uploader: TestClient, unique_jpeg: bytes
) -> None:
    uploader.post("/upload", files={"file": ("a.jpg", unique_jpeg)})

    uploaded = client.get("/images", params={"status": "uploaded", "limit": 100}).json()
    done = client.get("/images", params={"status": "done", "limit": 100}).json()

    assert uploaded["items"] and all(i["status"] == "uploaded" for i in uploaded["items"])
    assert all(i["status"] == "done" for i in done["items"])


@pytest.mark.parametrize(("params", "location"), [
    ({"limit": 0}, "query.limit"),
    ({"limit": 1000}, "query.limit"),
    ({"status": "sleeping"}, "query.status"),
])
def test_bad_list_parameters_get_422_naming_them(
    client: TestClient, params: dict[str, object], location: str
) -> None:
    response = client.get("/images", params=params)

    assert response.status_code == 422
    problems = response.json()["error"]["details"]["problems"]
    assert [p["location"] for p in problems] == [location]


def test_forged_cursor_gets_422(client: TestClient) -> None:
    response = client.get("/images", params={"cursor": "not-a-cursor"})

    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_cursor"


def test_openapi_documents_error_responses(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()

    responses = spec["paths"]["/image/{image_id}"]["get"]["responses"]
    assert {"200", "304", "404"} <= set(responses)
    assert responses["404"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "ErrorResponse")

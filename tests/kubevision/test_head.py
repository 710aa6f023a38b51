"""HEAD on the GET paths: the same status and headers as GET, and no body."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from kubevision.gateway import create_app
from kubevision.settings import Settings


@pytest.fixture()
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def test_head_answers_like_get_without_a_body(client: TestClient, unique_jpeg: bytes) -> None:
    image = client.post("/upload", files={"file": ("a.jpg", unique_jpeg)}).json()

    for path in (f"/image/{image['id']}", f"/image/{image['id']}?size=thumb",
                 f"/status/{image['id']}", "/images", "/healthz", "/image/nosuchimage"):
        got, head = client.get(path), client.head(path)

        assert head.status_code == got.status_code, path
        assert head.content == b"", path
        for name in ("content-length", "content-type", "etag"):
            assert head.headers.get(name) == got.headers.get(name), (path, name)


def test_head_on_the_event_stream_ends_after_the_headers(client: TestClient) -> None:
    response = client.head("/events")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    assert response.content == b""


def test_a_405_on_a_get_path_lists_head_beside_get(client: TestClient) -> None:
    response = client.post("/images")

    assert response.status_code == 405
    assert response.headers["allow"] == "GET, HEAD"


def test_head_is_not_allowed_where_get_is_not(client: TestClient) -> None:
    response = client.head("/upload")

    assert response.status_code == 405
    assert response.headers["allow"] == "POST"


def test_a_405_names_every_method_of_the_path_across_its_routes(
    client: TestClient, unique_jpeg: bytes
) -> None:
    image = client.post("/upload", files={"file": ("a.jpg", unique_jpeg)}).json()

    response = client.patch(f"/image/{image['id']}")

    assert response.status_code == 405
    assert response.headers["allow"] == "DELETE, GET, HEAD"

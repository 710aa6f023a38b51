"""The web UI's files: served from the status function's own origin, and nothing else."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from functions.status.app import create_app
from kubevision.settings import Settings


@pytest.fixture()
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def test_root_serves_the_page_limited_to_its_own_origin(client: TestClient) -> None:
    response = client.get("/")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert '<script type="module" src="/ui/main.js">' in response.text
    assert "default-src 'self'" in response.headers["content-security-policy"]


@pytest.mark.parametrize(("name", "media_type"), [
    ("main.js", "text/javascript"), ("app.css", "text/css"), ("favicon.svg", "image/svg+xml"),
])
def test_ui_files_come_with_their_media_type(client: TestClient, name: str,
                                             media_type: str) -> None:
    response = client.get(f"/ui/{name}")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith(media_type)
    assert response.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize("name", ["missing.js", "index.html", "..%2Fapp.py", ".hidden.js"])
def test_only_ui_assets_are_served(client: TestClient, name: str) -> None:
    response = client.get(f"/ui/{name}")

    assert response.status_code == 404


def test_ui_is_left_out_of_the_api_description(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]

    assert "/" not in paths and "/events" in paths

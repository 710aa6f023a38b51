"""The status function's contract: records, bytes with ETags, pages, tasks and 404s."""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from functions.status.app import create_app as create_status_app
from functions.upload.app import create_app as create_upload_app
from kubevision.context import AppContext
from kubevision.settings import Settings
from tests.conftest import encode
from tests.support.system import make_task


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


def _exif_rotated_jpeg() -> bytes:
    """A landscape photo stored sideways, with EXIF saying "rotate 90° clockwise to view"."""
    from PIL import Image
    from skimage import data as skdata

    stored = Image.fromarray(skdata.chelsea()).transpose(Image.Transpose.ROTATE_90)
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: the viewer turns it 90° clockwise
    return encode(stored, "JPEG", quality=90, exif=exif.tobytes())


def test_thumbnail_is_an_upright_webp_of_at_most_256_px(
    client: TestClient, uploader: TestClient
) -> None:
    from PIL import Image

    image = uploader.post("/upload", files={"file": ("side.jpg", _exif_rotated_jpeg())}).json()

    response = client.get(f"/image/{image['id']}", params={"size": "thumb"})

    assert response.status_code == 200
    assert response.headers["content-type"] == "image/webp"
    thumb = Image.open(io.BytesIO(response.content))
    # chelsea is 451x300 upright: the thumbnail must be landscape again, 256 px wide.
    assert thumb.format == "WEBP" and thumb.size == (256, 170)


def test_thumbnail_is_made_once_and_answers_304_to_its_etag(
    client: TestClient, uploader: TestClient, unique_jpeg: bytes
) -> None:
    image = uploader.post("/upload", files={"file": ("a.jpg", unique_jpeg)}).json()
    first = client.get(f"/image/{image['id']}?size=thumb")

    again = client.get(f"/image/{image['id']}?size=thumb")
    cached = client.get(f"/image/{image['id']}?size=thumb",
                        headers={"If-None-Match": f"W/{first.headers['etag']}"})

    assert again.content == first.content
    assert first.headers["etag"] != f'"{image["sha256"]}"'
    assert first.headers["content-length"] == str(len(first.content))
    assert "immutable" in first.headers["cache-control"]
    assert first.headers["x-content-type-options"] == "nosniff"
    assert cached.status_code == 304 and cached.content == b""


def test_original_has_length_cache_control_and_answers_304_to_star(
    client: TestClient, uploader: TestClient, unique_jpeg: bytes
) -> None:
    image = uploader.post("/upload", files={"file": ("a.jpg", unique_jpeg)}).json()

    response = client.get(f"/image/{image['id']}")
    starred = client.get(f"/image/{image['id']}", headers={"If-None-Match": "*"})

    assert response.headers["content-length"] == str(len(unique_jpeg))
    assert response.headers["cache-control"].startswith("public")
    assert starred.status_code == 304


def test_delete_removes_rows_tasks_thumbnail_blobs_and_cache(
    client: TestClient, uploader: TestClient, context: AppContext, unique_jpeg: bytes
) -> None:
    image = uploader.post("/upload", files={"file": ("a.jpg", unique_jpeg)}).json()
    thumb_sha = client.get(f"/image/{image['id']}?size=thumb").headers["etag"].strip('"')
    _, task_id = make_task(context, unique_jpeg)

    response = client.delete(f"/image/{image['id']}")

    assert response.status_code == 204
    for path in (f"/status/{image['id']}", f"/image/{image['id']}", f"/task/{task_id}"):
        assert client.get(path).status_code == 404, path
    for sha256 in (image["sha256"], thumb_sha):
        assert not context.blobs.exists(sha256)
        assert context.cache.get(sha256) is None


def test_delete_of_an_unknown_image_is_404(client: TestClient) -> None:
    response = client.delete("/image/nope")

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "image_not_found"


def test_delete_keeps_a_blob_another_image_still_points_at(
    client: TestClient, uploader: TestClient, context: AppContext, unique_jpeg: bytes
) -> None:
    first = uploader.post("/upload", files={"file": ("a.jpg", unique_jpeg)}).json()
    thumb = client.get(f"/image/{first['id']}?size=thumb").content
    # The thumbnail uploaded as an image of its own: one blob, two rows pointing at it.
    second = uploader.post("/upload", files={"file": ("t.webp", thumb)}).json()

    client.delete(f"/image/{first['id']}")

    assert context.blobs.exists(second["sha256"])
    assert client.get(f"/image/{second['id']}").content == thumb
    client.delete(f"/image/{second['id']}")
    assert not context.blobs.exists(second["sha256"])

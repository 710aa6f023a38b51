"""The upload function's contract: what it stores, and each refusal with its status code."""

from __future__ import annotations

import io
import logging
import socket
import time
from collections.abc import Iterator

import httpx
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from functions.upload.app import create_app
from kubevision.blobs import content_key
from kubevision.context import AppContext
from kubevision.settings import Settings
from tests.conftest import encode
from tests.support.system import serve_in_thread


@pytest.fixture()
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def _error_code(response: object) -> str:
    return response.json()["error"]["code"]  # type: ignore[attr-defined,no-any-return]


def test_upload_returns_201_with_server_made_id(client: TestClient, unique_jpeg: bytes) -> None:
    response = client.post("/upload", files={"file": ("holiday.jpg", unique_jpeg, "text/plain")})

    assert response.status_code == 201
    body = response.json()
    assert body["format"] == "JPEG" and body["content_type"] == "image/jpeg"
    assert (body["width"], body["height"]) == (512, 512)
    assert body["status"] == "uploaded"
    assert body["id"] != "holiday.jpg" and len(body["id"]) == 26
    assert response.headers["location"] == f"/status/{body['id']}"


def test_identical_bytes_give_the_same_image(client: TestClient, unique_jpeg: bytes) -> None:
    first = client.post("/upload", files={"file": ("a.jpg", unique_jpeg)})
    second = client.post("/upload", files={"file": ("b.jpg", unique_jpeg)})

    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json()["id"] == second.json()["id"]
    assert second.json()["filename"] == "a.jpg"


def test_raw_body_upload_is_accepted(client: TestClient, unique_jpeg: bytes) -> None:
    response = client.post("/upload?filename=raw.jpg", content=unique_jpeg,
                           headers={"Content-Type": "application/octet-stream"})

    assert response.status_code == 201
    assert response.json()["filename"] == "raw.jpg"


@pytest.mark.parametrize(("given", "kept"), [
    ("../../etc/passwd.jpg", "passwd.jpg"),
    ("C:\\Users\\me\\cat.jpg", "cat.jpg"),
    ("bad\x07name<>.jpg", "badname.jpg"),
    ("...", None),
    ("evil\u202egnp.exe", "evilgnp.exe"),
    ("zero\u200bwidth\u2028.png", "zerowidth.png"),
])
def test_client_filename_is_cleaned_metadata(
    client: TestClient, unique_jpeg: bytes, given: str, kept: str | None
) -> None:
    response = client.post("/upload", content=unique_jpeg, params={"filename": given},
                           headers={"Content-Type": "image/jpeg"})

    assert response.status_code == 201
    assert response.json()["filename"] == kept


def test_empty_file_is_refused_with_400(client: TestClient) -> None:
    response = client.post("/upload", files={"file": ("empty.jpg", b"")})

    assert response.status_code == 400
    assert _error_code(response) == "empty_file"


def test_text_file_is_refused_as_not_an_image(client: TestClient) -> None:
    response = client.post("/upload", files={"file": ("cat.jpg", b"just some text", "image/jpeg")})

    assert response.status_code == 415
    assert _error_code(response) == "not_an_image"
    assert "JPEG" in response.json()["error"]["details"]["allowed_formats"]


def test_known_but_unaccepted_format_is_refused_as_unsupported(client: TestClient) -> None:
    psd = b"8BPS" + b"\x00" * 64
    response = client.post("/upload", files={"file": ("art.png", psd, "image/png")})

    assert response.status_code == 415
    assert _error_code(response) == "unsupported_format"
    assert response.json()["error"]["details"]["format"] == "PSD"


def test_format_not_in_allowed_list_is_refused(settings: Settings, chelsea_png: bytes) -> None:
    only_jpeg = settings.model_copy(update={"limits": settings.limits.model_copy(
        update={"formats": ["JPEG"]})})
    with TestClient(create_app(only_jpeg)) as client:
        response = client.post("/upload", files={"file": ("cat.png", chelsea_png)})

    assert response.status_code == 415
    assert _error_code(response) == "unsupported_format"
    assert response.json()["error"]["details"]["allowed_formats"] == ["JPEG"]


def test_too_many_bytes_is_refused_while_streaming(settings: Settings, port: int) -> None:
    small = settings.model_copy(update={"limits": settings.limits.model_copy(
        update={"max_upload_bytes": 100_000})})
    sent = 0

    def endless_body() -> Iterator[bytes]:
        nonlocal sent
        while sent < 200_000_000:
            sent += 65536
            yield b"\xff\xd8\xff" + b"\x00" * 65533

    with serve_in_thread(create_app(small), port) as url:
        try:
            response = httpx.post(f"{url}/upload", content=endless_body(),
                                  headers={"Content-Type": "image/jpeg"}, timeout=30)
        except httpx.TransportError:
            response = None  # the server hung up mid-body: it stopped reading, as it should

    # The server stopped reading soon after the limit, not at the end of 200 MB.
    assert sent < 20_000_000
    if response is not None:
        assert response.status_code == 413
        assert _error_code(response) == "file_too_large"
        assert response.json()["error"]["details"]["max_upload_bytes"] == 100_000


def test_declared_length_over_the_limit_is_refused_before_reading(settings: Settings) -> None:
    small = settings.model_copy(update={"limits": settings.limits.model_copy(
        update={"max_upload_bytes": 1000})})
    with TestClient(create_app(small)) as client:
        response = client.post("/upload", files={"file": ("big.jpg", b"\xff\xd8\xff" * 50_000)})

    assert response.status_code == 413
    assert _error_code(response) == "file_too_large"


def test_too_many_pixels_is_refused_from_the_header(settings: Settings) -> None:
    # A 20000x20000 PNG compresses to a few hundred kilobytes but would decode to 1.2 GB.
    huge = encode(Image.new("L", (20000, 20000)), "PNG")
    with TestClient(create_app(settings)) as client:
        response = client.post("/upload", files={"file": ("bomb.png", huge)})

    assert response.status_code == 413
    assert _error_code(response) == "too_many_pixels"
    details = response.json()["error"]["details"]
    assert (details["width"], details["height"]) == (20000, 20000)
    assert details["max_pixels"] == settings.limits.max_pixels


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "GIF", "WEBP"])
def test_truncated_image_is_refused_as_corrupt(
    client: TestClient, chelsea_png: bytes, fmt: str
) -> None:
    whole = encode(Image.open(io.BytesIO(chelsea_png)).convert("RGB"), fmt)
    response = client.post("/upload", files={"file": ("cut", whole[: len(whole) * 2 // 3])})

    assert response.status_code == 422
    assert _error_code(response) == "corrupt_image"


def test_a_corrupt_image_leaves_no_bytes_in_the_blob_store(
    client: TestClient, context: AppContext, unique_jpeg: bytes
) -> None:
    cut = unique_jpeg[: len(unique_jpeg) // 2]

    response = client.post("/upload", files={"file": ("cut.jpg", cut)})

    assert response.status_code == 422
    assert not context.blobs.exists(content_key(cut))


def test_multipart_without_file_field_is_refused(client: TestClient, unique_jpeg: bytes) -> None:
    response = client.post("/upload", files={"picture": ("a.jpg", unique_jpeg)})

    assert response.status_code == 422
    assert _error_code(response) == "missing_file"


def test_json_body_is_refused_naming_accepted_types(client: TestClient) -> None:
    response = client.post("/upload", json={"file": "aGVsbG8="})

    assert response.status_code == 415
    assert "multipart/form-data" in response.json()["error"]["details"]["allowed"]


def test_refusals_leave_the_service_working(client: TestClient, unique_jpeg: bytes) -> None:
    for junk in (b"", b"GIF89a", b"\x89PNG\r\n\x1a\n" + b"\x00" * 10, b"\xff\xd8\xff\xe0"):
        assert client.post("/upload", files={"file": ("x", junk)}).status_code >= 400

    assert client.post("/upload", files={"file": ("ok.jpg", unique_jpeg)}).status_code == 201


def test_two_file_parts_are_refused_naming_the_field(
    client: TestClient, unique_jpeg: bytes, chelsea_png: bytes
) -> None:
    response = client.post("/upload", files=[("file", ("a.jpg", unique_jpeg)),
                                             ("file", ("b.png", chelsea_png))])

    assert response.status_code == 422
    assert _error_code(response) == "several_files"


def test_an_overlong_multipart_boundary_is_malformed_not_a_crash(client: TestClient) -> None:
    response = client.post("/upload", content=b"",
                           headers={"Content-Type": f"multipart/form-data; boundary={'B' * 5000}"})

    assert response.status_code == 400
    assert _error_code(response) == "malformed_multipart"


def test_a_client_that_hangs_up_mid_upload_logs_no_error(
    settings: Settings, port: int, caplog: pytest.LogCaptureFixture
) -> None:
    with serve_in_thread(create_app(settings), port) as url:
        with socket.create_connection(("127.0.0.1", port)) as connection:
            connection.sendall(b"POST /upload HTTP/1.1\r\nHost: localhost\r\n"
                               b"Content-Type: image/jpeg\r\nContent-Length: 100000\r\n\r\n"
                               + b"\xff\xd8\xff" + b"\x00" * 1000)
        # Give the server a moment to notice the hang-up, then check it still serves.
        time.sleep(0.5)
        alive = httpx.get(f"{url}/healthz", timeout=10)

    assert alive.status_code == 200
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def test_a_damaged_header_is_refused_in_words(client: TestClient) -> None:
    # A PNG signature followed by nothing that Pillow can read as a header.
    damaged = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
    response = client.post("/upload", files={"file": ("x.png", damaged)})

    assert response.status_code == 422
    assert _error_code(response) == "corrupt_image"
    assert "BytesIO" not in response.json()["error"]["message"]


def _multipart(disposition: str, data: bytes) -> tuple[bytes, dict[str, str]]:
    body = (b"--edge\r\nContent-Disposition: " + disposition.encode("latin-1") + b"\r\n"
            b"Content-Type: image/jpeg\r\n\r\n" + data + b"\r\n--edge--\r\n")
    return body, {"Content-Type": "multipart/form-data; boundary=edge"}


def test_an_rfc5987_filename_wins_over_the_plain_one(
    client: TestClient, unique_jpeg: bytes
) -> None:
    disposition = ('form-data; name="file"; filename="cafe.jpg"; '
                   "filename*=UTF-8''caf%C3%A9%20%E2%98%95.jpg")
    body, headers = _multipart(disposition, unique_jpeg)

    response = client.post("/upload", content=body, headers=headers)

    assert response.status_code == 201
    assert response.json()["filename"] == "café ☕.jpg"


def test_a_filename_longer_than_the_part_header_limit_is_refused_naming_it(
    client: TestClient, unique_jpeg: bytes
) -> None:
    name = "a" * 70_000
    body, headers = _multipart(f'form-data; name="file"; filename="{name}.jpg"', unique_jpeg)

    response = client.post("/upload", content=body, headers=headers)

    assert response.status_code == 400
    assert _error_code(response) == "part_headers_too_large"
    assert "header line over 65536 bytes" in response.json()["error"]["message"]
    assert client.post("/upload", files={"file": ("ok.jpg", unique_jpeg)}).status_code == 201


def test_a_long_filename_within_the_limit_is_kept_shortened(
    client: TestClient, unique_jpeg: bytes, settings: Settings
) -> None:
    response = client.post("/upload", files={"file": ("b" * 20_000 + ".jpg", unique_jpeg)})

    assert response.status_code == 201
    kept = response.json()["filename"]
    assert len(kept) <= settings.limits.max_filename_chars and kept.endswith(".jpg")


def test_a_part_with_too_many_headers_is_refused_naming_the_count(
    client: TestClient, unique_jpeg: bytes
) -> None:
    extra = "".join(f"\r\nX-Extra-{index}: {index}" for index in range(40))
    body, headers = _multipart(f'form-data; name="file"; filename="a.jpg"{extra}', unique_jpeg)

    response = client.post("/upload", content=body, headers=headers)

    assert response.status_code == 400
    assert "more than 32 headers" in response.json()["error"]["message"]


@pytest.mark.parametrize("encoded", ["%ZZ%E7.png", "%FF%FE.png", "caf%C3.png"])
def test_a_badly_encoded_rfc5987_filename_falls_back_to_the_plain_one(
    client: TestClient, unique_jpeg: bytes, encoded: str
) -> None:
    disposition = f"form-data; name=\"file\"; filename=\"plain.jpg\"; filename*=UTF-8''{encoded}"
    body, headers = _multipart(disposition, unique_jpeg)

    response = client.post("/upload", content=body, headers=headers)

    assert response.status_code == 201
    assert response.json()["filename"] == "plain.jpg"

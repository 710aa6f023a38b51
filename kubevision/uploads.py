"""Reading an upload from the request stream with the byte limit enforced as bytes arrive.

A multipart body is parsed incrementally, so a file over the limit is refused as soon as the
limit is crossed, without the rest of it ever being read into memory or onto disk. A raw body
(``Content-Type: image/...`` or ``application/octet-stream``) is accepted the same way.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import ClientDisconnect, Request

from kubevision.errors import ApiError

FILE_FIELD = "file"
# Room for the multipart framing and small form fields beside the file.
_FRAMING_ALLOWANCE = 64 * 1024
# A part's header line carries the filename. Names far longer than any file system allows
# still fit (they are cut to `limits.max_filename_chars` as a raw upload's are); the limit only
# keeps a part's headers from growing without end, as the framing allowance does for the body.
MAX_PART_HEADER_BYTES = 64 * 1024
MAX_PART_HEADERS = 32
# A "%" not followed by two hex digits: RFC 5987 allows no such thing.
_BAD_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")


@dataclass(frozen=True)
class ReceivedFile:
    data: bytes
    filename: str | None


def _too_large(limit: int) -> ApiError:
    # Closing the connection stops the client from sending the rest of a body we will not read.
    return ApiError(413, "file_too_large", f"The file is larger than the limit of {limit} bytes.",
                    {"max_upload_bytes": limit}, headers={"Connection": "close"})


class _FilePart:
    """Collects the bytes of the multipart part named `file`, and only those."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.chunks: list[bytes] = []
        self.size = 0
        self.filename: str | None = None
        self.found = False
        self._in_file = False
        self._header_field = b""
        self._header_value = b""
        self._disposition = b""

    def on_part_begin(self) -> None:
        self._in_file = False
        self._disposition = b""

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_field += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def on_header_end(self) -> None:
        if self._header_field.lower() == b"content-disposition":
            self._disposition = self._header_value
        self._header_field = b""
        self._header_value = b""

    def on_headers_finished(self) -> None:
        _, params = parse_options_header(self._disposition)
        if params.get(b"name") != FILE_FIELD.encode():
            return
        if self.found:
            raise ApiError(422, "several_files",
                           f"Send one image per request; this body has more than one part named "
                           f"{FILE_FIELD!r}.", {"field": FILE_FIELD})
        self._in_file = True
        self.found = True
        self.filename = extended_filename(self._disposition)
        if self.filename is None:
            raw_name = params.get(b"filename")
            self.filename = raw_name.decode("utf-8", "replace") if raw_name else None

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        if not self._in_file:
            return
        self.size += end - start
        if self.size > self.limit:
            raise _too_large(self.limit)
        self.chunks.append(data[start:end])

    def on_part_end(self) -> None:
        self._in_file = False


def extended_filename(disposition: bytes) -> str | None:
    """The RFC 5987 `filename*=charset'lang'percent-encoded` name, which RFC 6266 says wins over
    the plain `filename`; None when absent, badly encoded, or in a charset other than UTF-8
    or ISO-8859-1 (the plain name is used then)."""
    for param in disposition.split(b";")[1:]:
        name, _, value = param.strip().partition(b"=")
        if name.strip().lower() != b"filename*":
            continue
        charset, _, rest = value.strip().strip(b'"').decode("latin-1").partition("'")
        _, _, encoded = rest.partition("'")
        if charset.lower() not in ("utf-8", "iso-8859-1") or _BAD_PERCENT.search(encoded):
            return None
        try:
            return unquote(encoded, encoding=charset, errors="strict") or None
        except UnicodeDecodeError:
            return None
    return None


async def read_upload(request: Request, limit: int, query_filename: str | None) -> ReceivedFile:
    """The uploaded file's bytes and client filename; ApiError for any refusal."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit + _FRAMING_ALLOWANCE:
        raise _too_large(limit)

    content_type, params = parse_options_header(request.headers.get("content-type", ""))
    if content_type == b"multipart/form-data":
        return await _read_multipart(request, limit, params.get(b"boundary"))
    if content_type.startswith(b"image/") or content_type in (b"application/octet-stream", b""):
        return await _read_raw(request, limit, query_filename)
    raise ApiError(415, "unsupported_media_type",
                   f"Content-Type {content_type.decode(errors='replace')!r} is not accepted; "
                   "send multipart/form-data with a 'file' field, or the raw image bytes.",
                   {"allowed": ["multipart/form-data", "image/*", "application/octet-stream"]})


async def _read_raw(request: Request, limit: int, filename: str | None) -> ReceivedFile:
    return ReceivedFile(data=await read_capped(request, limit, _too_large(limit)),
                        filename=filename)


async def read_capped(request: Request, limit: int, too_large: ApiError) -> bytes:
    """The whole body, refused with ``too_large`` as soon as more than ``limit`` bytes have
    arrived, so a large body is never held; a client that hangs up gets a 400, not an error."""
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise too_large
            chunks.append(chunk)
    except ClientDisconnect as exc:
        raise _incomplete() from exc
    return b"".join(chunks)


def _headers_too_large(count: bool) -> ApiError:
    problem = (f"more than {MAX_PART_HEADERS} headers" if count
               else f"a header line over {MAX_PART_HEADER_BYTES} bytes (a filename that long?)")
    return ApiError(400, "part_headers_too_large",
                    f"A part of the multipart body has {problem}.",
                    {"max_header_bytes": MAX_PART_HEADER_BYTES, "max_headers": MAX_PART_HEADERS})


def _incomplete() -> ApiError:
    # Nobody reads this answer; it keeps a client that hung up out of the error log.
    return ApiError(400, "incomplete_upload",
                    "The connection closed before the whole body arrived.")


async def _read_multipart(request: Request, limit: int, boundary: bytes | None) -> ReceivedFile:
    if not boundary:
        raise ApiError(400, "malformed_multipart", "The multipart body has no boundary.")
    part = _FilePart(limit)
    total = 0
    try:
        # The constructor refuses some boundaries (longer than 256 bytes), so it is inside too.
        parser = MultipartParser(boundary, callbacks={
            "on_part_begin": part.on_part_begin,
            "on_header_field": part.on_header_field,
            "on_header_value": part.on_header_value,
            "on_header_end": part.on_header_end,
            "on_headers_finished": part.on_headers_finished,
            "on_part_data": part.on_part_data,
            "on_part_end": part.on_part_end,
        }, max_header_count=MAX_PART_HEADERS, max_header_size=MAX_PART_HEADER_BYTES)
        async for chunk in request.stream():
            total += len(chunk)
            if total > limit + _FRAMING_ALLOWANCE:
                raise _too_large(limit)
            parser.write(chunk)
        parser.finalize()
    except ApiError:
        raise
    except ClientDisconnect as exc:
        raise _incomplete() from exc
    except Exception as exc:  # the parser raises several unrelated types for bad framing
        if isinstance(exc, MultipartParseError) and str(exc).startswith("Maximum header"):
            raise _headers_too_large(count="count" in str(exc)) from exc
        raise ApiError(400, "malformed_multipart",
                       f"The multipart body cannot be parsed: {exc}.") from exc

    if not part.found:
        raise ApiError(422, "missing_file",
                       f"The multipart body has no part named {FILE_FIELD!r}.",
                       {"field": FILE_FIELD})
    return ReceivedFile(data=b"".join(part.chunks), filename=part.filename)

"""Blobs as objects in any S3-compatible service (AWS S3, MinIO, Ceph RGW, R2...).

A PUT is atomic in S3: an object is visible whole or not at all, so no temporary names are
needed. The SHA-256 is sent with each PUT, so the service itself refuses bytes damaged on the
way, and checked again on every read.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from kubevision.blobs.base import BlobNotFound, BlobUnavailable, fan_out, verified
from kubevision.settings import BlobSettings

_MISSING = ("404", "NoSuchKey", "NotFound")


class S3BlobStore:
    def __init__(self, client: Any, bucket: str, prefix: str) -> None:
        self.client = client
        self.bucket = bucket
        self.prefix = prefix

    @classmethod
    def from_settings(cls, blob: BlobSettings) -> S3BlobStore:
        client = boto3.client(
            "s3",
            endpoint_url=blob.s3_endpoint_url,
            region_name=blob.s3_region,
            aws_access_key_id=blob.s3_access_key_id.get_secret_value(),
            aws_secret_access_key=blob.s3_secret_access_key.get_secret_value(),
            # Short timeouts and few retries: callers have their own retry (the task's
            # attempts), and a request handler must not hang on a dead endpoint.
            config=Config(connect_timeout=3, read_timeout=20, retries={"max_attempts": 3,
                                                                        "mode": "standard"}),
        )
        return cls(client, blob.s3_bucket, blob.s3_prefix)

    def _name(self, key: str) -> str:
        return self.prefix + fan_out(key)

    def put(self, key: str, data: bytes) -> None:
        if self.exists(key):
            return
        checksum = base64.b64encode(hashlib.sha256(data).digest()).decode()
        try:
            self.client.put_object(Bucket=self.bucket, Key=self._name(key), Body=data,
                                   ContentType="application/octet-stream",
                                   ChecksumSHA256=checksum)
        except (BotoCoreError, ClientError) as exc:
            raise BlobUnavailable(key, str(exc)) from exc

    def get(self, key: str) -> bytes:
        try:
            answer = self.client.get_object(Bucket=self.bucket, Key=self._name(key))
            data: bytes = answer["Body"].read()
        except ClientError as exc:
            if _error_code(exc) in _MISSING:
                raise BlobNotFound(key) from None
            raise BlobUnavailable(key, str(exc)) from exc
        except BotoCoreError as exc:
            raise BlobUnavailable(key, str(exc)) from exc
        return verified(key, data)

    def exists(self, key: str) -> bool:
        try:
            self.client.head_object(Bucket=self.bucket, Key=self._name(key))
        except ClientError as exc:
            if _error_code(exc) in _MISSING:
                return False
            raise BlobUnavailable(key, str(exc)) from exc
        except BotoCoreError as exc:
            raise BlobUnavailable(key, str(exc)) from exc
        return True

    def delete(self, key: str) -> None:
        try:
            self.client.delete_object(Bucket=self.bucket, Key=self._name(key))
        except (BotoCoreError, ClientError) as exc:
            raise BlobUnavailable(key, str(exc)) from exc

    def keys(self) -> Iterator[str]:
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=self.prefix)
        for page in pages:
            for item in page.get("Contents", []):
                yield item["Key"].rsplit("/", 1)[-1]

    def check(self) -> None:
        """Raise if the bucket cannot be reached with these credentials."""
        self.client.head_bucket(Bucket=self.bucket)


def _error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))

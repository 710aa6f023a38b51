"""CloudEvents 1.0 that KubeVision emits, and sending them to ``$K_SINK`` over HTTP.

Spec: https://github.com/cloudevents/spec/blob/v1.0.2/cloudevents/spec.md
Types are reverse-DNS names; ``source`` names the emitting service; ``subject`` is the image
id; ``id`` is unique per event, and receivers de-duplicate on ``source`` + ``id``.
"""

from __future__ import annotations

import logging
from typing import Any

import httpx
from cloudevents.core.bindings.http import to_binary_event
from cloudevents.core.v1.event import CloudEvent

logger = logging.getLogger(__name__)

PROCESS_REQUESTED = "dev.kubevision.image.process.requested"
IMAGE_PROCESSED = "dev.kubevision.image.processed"
IMAGE_FAILED = "dev.kubevision.image.failed"

EVENT_TYPES = (PROCESS_REQUESTED, IMAGE_PROCESSED, IMAGE_FAILED)


class SinkUnavailable(Exception):
    """The event sink refused the event or could not be reached."""


def make_event(
    event_type: str, *, source: str, subject: str, data: dict[str, Any],
    event_id: str | None = None,
) -> CloudEvent:
    attributes: dict[str, Any] = {
        "type": event_type, "source": source, "subject": subject,
        "datacontenttype": "application/json",
    }
    if event_id is not None:
        attributes["id"] = event_id
    return CloudEvent(attributes=attributes, data=data)


class EventSender:
    """Posts events in binary content mode to one sink URL."""

    def __init__(self, sink_url: str | None, timeout_s: float) -> None:
        self.sink_url = sink_url
        self._client = httpx.Client(timeout=timeout_s)

    def send(self, event: CloudEvent) -> None:
        """Deliver the event; raise SinkUnavailable unless the sink answered 2xx."""
        if self.sink_url is None:
            raise SinkUnavailable("no event sink configured (K_SINK is not set)")
        message = to_binary_event(event)
        try:
            response = self._client.post(self.sink_url, headers=message.headers,
                                         content=message.body)
        except httpx.HTTPError as exc:
            raise SinkUnavailable(f"event sink {self.sink_url} unreachable: {exc}") from exc
        if response.status_code >= 300:
            raise SinkUnavailable(
                f"event sink {self.sink_url} answered {response.status_code}: "
                f"{response.text[:200]}"
            )

    def send_best_effort(self, event: CloudEvent) -> None:
        """For notifications nobody waits on: a failure is logged, never raised."""
        if self.sink_url is None:
            return
        try:
            self.send(event)
        except SinkUnavailable as exc:
            logger.warning("event %s (%s) not delivered: %s", event.get_id(),
                           event.get_type(), exc)

    def close(self) -> None:
        self._client.close()

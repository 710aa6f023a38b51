"""Status changes announced on Redis pub/sub, for the live view.

The database's status_events table is the record; this channel only wakes listeners up
sooner. Without Redis, listeners read the table on their own schedule.
"""

from __future__ import annotations

import json
import logging

import redis

logger = logging.getLogger(__name__)

STATUS_CHANNEL = "kv:status"


def publish_status(client: redis.Redis | None, image_id: str, task_id: str, state: str) -> None:
    if client is None:
        return
    message = json.dumps({"image_id": image_id, "task_id": task_id, "state": state})
    try:
        client.publish(STATUS_CHANNEL, message)
    except redis.RedisError as exc:
        logger.warning("status of task %s not announced: %s", task_id, exc)

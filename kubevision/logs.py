"""One logging set-up for every process: timestamp, level, logger, message."""

from __future__ import annotations

import logging


def configure_logging(level: str = "INFO") -> None:
    level = level.upper()
    root = logging.getLogger()
    if root.handlers:
        root.setLevel(level)
        return
    logging.basicConfig(
        level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )

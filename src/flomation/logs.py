"""Structured logging: one JSON object per line on stderr, so any collector can parse it."""

from __future__ import annotations

import json
import logging
import sys

from flomation.timeutil import format_timestamp


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        payload: dict[str, object] = {
            "at": format_timestamp(record.created),
            "level": record.levelname.lower(),
            "logger": record.name,
        }
        # Access logs are already JSON: merge their fields instead of nesting a string.
        if message.startswith("{"):
            try:
                payload.update(json.loads(message))
            except ValueError:
                payload["message"] = message
        else:
            payload["message"] = message
        if record.exc_info:
            payload["exception"] = self.formatException(record.exc_info)
        return json.dumps(payload, default=str)


def configure_logging(level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # Per-request lines come from our own access log; these would repeat them.
    for noisy in ("uvicorn.access", "httpx", "alembic.runtime.migration"):
        logging.getLogger(noisy).setLevel(logging.WARNING)

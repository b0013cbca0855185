"""LOG_FORMAT=json: one JSON object per log line, for log pipelines.

Faust configures logging itself when the worker starts (mode's
``setup_logging``); ``logging_config`` below is handed to it through the app's
``logging_config`` setting and replaces only the console handler's format.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import orjson

# Attributes a log call may pass with ``extra=`` that the JSON line keeps.
CONTEXT = ("topic", "partition", "offsets", "table")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in CONTEXT:
            value = getattr(record, name, None)
            if value is not None:
                line[name] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(line, default=str).decode()


def logging_config(log_format: str) -> dict[str, Any] | None:
    """The dictConfig merged into Faust's for ``log_format``; None keeps Faust's text lines."""
    if log_format != "json":
        return None
    return {
        "merge": True,
        "formatters": {"json": {"()": "streaming.logs.JsonFormatter"}},
        "handlers": {
            "default": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stdout"}
        },
    }

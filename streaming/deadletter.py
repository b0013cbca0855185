"""Dead letters: the original bytes, plus headers saying why and where from."""

from __future__ import annotations

from typing import Any

from domain.errors import InvalidRecord

_MAX_DETAIL = 1000


def dlq_headers(msg: Any, error: InvalidRecord) -> list[tuple[str, bytes]]:
    """Why, and where from: ``msg`` is a Faust message or a consumer record."""
    return [
        ("dlq.reason", error.reason.encode()),
        ("dlq.detail", error.detail.encode()[:_MAX_DETAIL]),
        ("dlq.topic", msg.topic.encode()),
        ("dlq.partition", str(msg.partition).encode()),
        ("dlq.offset", str(msg.offset).encode()),
    ]

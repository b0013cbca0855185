"""Dead letters: the original bytes, plus headers saying why and where from."""

from __future__ import annotations

from typing import Any

from faust.types import EventT, TopicT

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


async def dead_letter(dlq: TopicT, event: EventT, error: InvalidRecord) -> None:
    # Same partition number as the source: the dead letter rides in the
    # transaction that commits the source offset.
    msg = event.message
    await dlq.send(
        key=msg.key,
        value=msg.value,
        partition=msg.partition,
        headers=dlq_headers(msg, error),
    )

"""What a notification carries: its JSON body and its Idempotency-Key, from the record alone."""

from __future__ import annotations

from typing import Any

import orjson


class Malformed(ValueError):
    """The record's value is not a JSON object: it goes to the dead-letter topic."""


def parse(value: bytes | None) -> dict[str, Any]:
    try:
        event = orjson.loads(value or b"")
    except orjson.JSONDecodeError as exc:
        raise Malformed(f"not JSON: {exc}") from None
    if not isinstance(event, dict):
        raise Malformed(f"expected a JSON object, got {type(event).__name__}")
    return event


def idempotency_key(topic: str, partition: int, offset: int, event: dict[str, Any]) -> str:
    """Stable across retries and restarts: the event's own id where it has one (order events'
    ``event_id``; a budget status change's advertiser and cause), else its place in the log."""
    event_id = event.get("event_id")
    if isinstance(event_id, str) and event_id:
        return f"{topic}:{event_id}"
    cause, advertiser, status = event.get("cause_id"), event.get("advertiser_id"), event.get("status")
    if all(isinstance(v, str) and v for v in (cause, advertiser, status)):
        return f"{topic}:{advertiser}:{cause}:{status}"
    return f"{topic}/{partition}/{offset}"


def body(topic: str, partition: int, offset: int, key: bytes | None, event: dict[str, Any]) -> bytes:
    return orjson.dumps(
        {
            "topic": topic,
            "partition": partition,
            "offset": offset,
            "key": key.decode(errors="replace") if key is not None else None,
            "event": event,
        }
    )

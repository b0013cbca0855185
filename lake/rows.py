"""Kafka records -> rows with a KST day, as the topic holds them (nothing dropped).

Ledger entries are the domain's own records: a row is their JSON fields, so a
field added later is a new column (``schema``). Orders are stored whole (key
and value bytes) with the fields an analyst filters on when the order is valid,
and the reason when it is not: the lake keeps what the topic holds, the
dead-letter decision included.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson

from domain.budgets import kst_day_name
from domain.errors import InvalidRecord
from domain.orders import parse_order

LEDGER, ORDERS = "ledger", "orders"


def _record_day(timestamp_ms: int) -> str:
    return kst_day_name(datetime.fromtimestamp(timestamp_ms / 1000, UTC))


def _meta(partition: int, offset: int, timestamp_ms: int) -> dict[str, Any]:
    return {"kafka_partition": partition, "kafka_offset": offset, "kafka_timestamp": timestamp_ms}


def ledger_row(partition: int, offset: int, timestamp_ms: int, value: bytes | None) -> dict[str, Any]:
    """The entry's fields; its day is the KST day of its ``ts`` (the click's, as the daily statistics')."""
    meta = _meta(partition, offset, timestamp_ms)
    try:
        entry = orjson.loads(value) if value is not None else None
        day = _day_of(entry["ts"])  # type: ignore[index]
    except (orjson.JSONDecodeError, TypeError, KeyError, ValueError, OverflowError):
        entry = None
    if not isinstance(entry, dict):  # never produced by the app; kept, not lost, under the record's day
        return {"undecodable": value, "day": _record_day(timestamp_ms), **meta}
    return {**entry, "day": day, **meta}


_days: dict[str, str] = {}  # ts spelling -> KST day: consecutive entries share their timestamp


def _day_of(ts: str) -> str:
    day = _days.get(ts)
    if day is None:
        if len(_days) >= 4096:
            _days.clear()
        day = _days[ts] = kst_day_name(datetime.fromisoformat(ts))
    return day


def order_row(
    partition: int, offset: int, timestamp_ms: int, key: bytes | None, value: bytes | None
) -> dict[str, Any]:
    """The record's bytes, and the order's ids and time if it is valid (domain.orders decides)."""
    row: dict[str, Any] = {"key": key, "value": value, **_meta(partition, offset, timestamp_ms)}
    try:
        order = parse_order(key, value)
    except InvalidRecord as error:
        row.update(valid=False, reason=error.reason, day=_record_day(timestamp_ms))
        return row
    row.update(
        valid=True,
        order_id=order.order_id,
        user_id=order.user_id,
        created_at=order.created_at.isoformat(),
        day=kst_day_name(order.created_at),
    )
    return row

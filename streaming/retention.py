"""Retention as the handlers apply it: stream time per source partition, expiry
through the batch's transaction, and counters another module can read."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

from streaming.accounting import tally_key

# table name -> keys expired; "<table>.late_skipped" -> bucket writes skipped
# because their bucket was already past retention. Per process, since start.
COUNTS: Counter[str] = Counter()


def load(batch: Any, table: Any, topic: str) -> int | None:
    """The stream time (ms) of ``topic``'s partition as the batch's transaction sees it."""
    value = batch.get(table, tally_key(topic, batch.partition))
    return None if value is None else int(value)


def save(batch: Any, table: Any, topic: str, before: int | None, after: int | None) -> None:
    if after is not None and after != before:
        batch.put(table, tally_key(topic, batch.partition), after)


def cutoff(stream_time_ms: int | None, retention: int) -> int | None:
    """Keys whose time (s) is below this are past retention (None: nothing yet)."""
    return None if stream_time_ms is None else stream_time_ms // 1000 - retention


def expire(
    batch: Any,
    table: Any,
    stream_time_ms: int | None,
    retention: int,
    cutoff_of: Callable[[bytes], int] | None = None,
) -> int:
    """Delete the partition's keys of ``table`` past retention; returns how many.
    ``cutoff_of``: keys that follow another partition's stream time (at most this one's)."""
    bound = cutoff(stream_time_ms, retention)
    if bound is None:
        return 0
    count = batch.expire(table, bound, cutoff_of)
    if count:
        COUNTS[table.name] += count
    return count


def skipped_late(table: Any, count: int) -> None:
    if count:
        COUNTS[f"{table.name}.late_skipped"] += count

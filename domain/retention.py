"""Which time a key of a time-bounded table is about, and whether it is past retention.

A key's "time" is the last instant it speaks for, in epoch seconds: a duplicate
filter entry, the stream time it was applied at (domain.dedup); an hourly
bucket, the last second of its hour; a daily row, the last second of its KST
day. A key is past retention once ``time < stream_time - retention``: nothing
can read or write it again with a different answer (late data for such a
bucket is skipped and counted, never written: it would resurrect it).
"""

from __future__ import annotations

from datetime import date, datetime
from functools import lru_cache

from domain.budgets import KST
from domain.orders import HOUR

DAY = 24 * HOUR


def hour_time(key: bytes) -> int:
    """``category|hour_start`` -> the hour's last second."""
    return int(key.rpartition(b"|")[2]) + HOUR - 1


@lru_cache(maxsize=4096)  # a batch's daily rows share a few days
def day_start(day: str) -> int:
    """``YYYY-MM-DD`` (a KST day) -> its first second, epoch."""
    return int(datetime.combine(date.fromisoformat(day), datetime.min.time(), KST).timestamp())


def day_time(key: bytes) -> int:
    """``advertiser_id|YYYY-MM-DD`` -> the KST day's last second."""
    return day_start(key.rpartition(b"|")[2].decode()) + DAY - 1


def seen_time(value: bytes) -> int:
    """A duplicate filter's entry (JSON integer) -> the stream time it was applied at."""
    return int(value)


def is_expired(time: int, stream_time: int | None, retention: int) -> bool:
    return stream_time is not None and time < stream_time - retention


def first_hour_kept(stream_time: int | None, retention: int) -> int | None:
    """Start of the earliest hour still kept (None: nothing has expired yet)."""
    if stream_time is None:
        return None
    earliest = stream_time - retention - HOUR + 1  # kept iff its last second >= stream_time - retention
    return -(-earliest // HOUR) * HOUR


def first_day_kept(stream_time: int | None, retention: int) -> date | None:
    """The earliest KST day still kept (None: nothing has expired yet)."""
    if stream_time is None:
        return None
    # A day is kept iff its last second >= the cutoff: the day holding the cutoff is the first.
    return datetime.fromtimestamp(stream_time - retention, KST).date()

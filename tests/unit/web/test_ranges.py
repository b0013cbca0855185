"""Query-range parsing for /categories/{c}/hourly and /advertisers/{a}/daily."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from domain.errors import BadQuery, StreamsError
from domain.orders import HOUR, hour_start
from web.budgets import MAX_DAYS, day_range
from web.categories import MAX_HOURS, hour_range


def epoch(*args: int) -> int:
    return int(datetime(*args, tzinfo=UTC).timestamp())


# --- hour_range ------------------------------------------------------------------------------


def test_hour_range_snaps_to_hour_starts() -> None:
    first, last = hour_range("2026-11-24T10:15:00Z", "2026-11-24T12:59:59+00:00")
    assert (first, last) == (epoch(2026, 11, 24, 10), epoch(2026, 11, 24, 12))


def test_hour_range_honours_offsets() -> None:
    # 19:15 KST is 10:15 UTC; 21:00 KST is 12:00 UTC.
    assert hour_range("2026-11-24T19:15:00+09:00", "2026-11-24T21:00:00+09:00") == (
        epoch(2026, 11, 24, 10),
        epoch(2026, 11, 24, 12),
    )


def test_hour_range_single_instant() -> None:
    assert hour_range("2026-11-24T10:00:00Z", "2026-11-24T10:00:00Z") == (epoch(2026, 11, 24, 10),) * 2


def test_hour_range_defaults_to_last_24_hours() -> None:
    before = hour_start(int(datetime.now(UTC).timestamp()))
    first, last = hour_range(None, None)
    after = hour_start(int(datetime.now(UTC).timestamp()))
    assert before <= last <= after
    assert last - first == 24 * HOUR


def test_hour_range_from_defaults_to_24h_before_to() -> None:
    assert hour_range(None, "2026-11-24T10:30:00Z") == (
        epoch(2026, 11, 23, 10),
        epoch(2026, 11, 24, 10),
    )


def test_hour_range_longest_allowed() -> None:
    first, last = hour_range("2026-11-01T00:00:00Z", "2026-11-09T00:00:00Z")  # 192 h apart
    assert (last - first) // HOUR == MAX_HOURS == 192


@pytest.mark.parametrize(
    ("raw_from", "raw_to", "says"),
    [
        ("2026-11-24T12:00:00Z", "2026-11-24T10:00:00Z", "after"),
        ("2026-11-24T10:00:00", "2026-11-24T12:00:00Z", "offset"),
        ("2026-11-24T10:00:00Z", "2026-11-24T12:00:00", "offset"),
        ("2026-11-24", "2026-11-25T00:00:00Z", "offset"),
        ("2026-11-01T00:00:00Z", "2026-11-09T01:00:00Z", "too long"),
        ("2026-01-01T00:00:00Z", "2026-12-31T00:00:00Z", "too long"),
        ("yesterday", "2026-11-24T10:00:00Z", "RFC 3339"),
        ("2026-11-24T10:00:00Z", "24/11/2026 10:15", "RFC 3339"),
        ("2026-11-24T25:00:00Z", "2026-11-25T10:00:00Z", "RFC 3339"),
        (None, "0001-01-01T05:00:00Z", "outside"),
        ("0001-01-01T00:00:00+10:00", "0001-01-01T05:00:00+10:00", "outside"),
    ],
    ids=[
        "from>to",
        "from-no-offset",
        "to-no-offset",
        "date-only",
        "193h",
        "a-year",
        "garbage-from",
        "garbage-to",
        "hour-25",
        "default-from-before-year-1",
        "hour-in-year-0",
    ],
)
def test_hour_range_rejects(raw_from: str, raw_to: str, says: str) -> None:
    with pytest.raises(BadQuery, match=says):
        hour_range(raw_from, raw_to)


def test_bad_query_is_a_streams_error() -> None:
    with pytest.raises(StreamsError):
        hour_range("nope", None)


# --- day_range -------------------------------------------------------------------------------


def test_day_range_good() -> None:
    assert day_range("2026-11-24", "2026-11-30") == (date(2026, 11, 24), date(2026, 11, 30))
    assert day_range("2026-11-24", "2026-11-24") == (date(2026, 11, 24), date(2026, 11, 24))


def test_day_range_longest_allowed_is_366_days_inclusive() -> None:
    first, last = day_range("2026-01-01", "2027-01-01")
    assert (last - first).days + 1 == MAX_DAYS == 366


@pytest.mark.parametrize(
    ("raw_from", "raw_to", "says"),
    [
        ("2026-11-25", "2026-11-24", "after"),
        ("2026-01-01", "2027-01-02", "too long"),
        ("2020-01-01", "2026-01-01", "too long"),
        (None, "2026-11-24", "from is required"),
        ("2026-11-24", None, "to is required"),
        ("yesterday", "2026-11-24", "from must be a date"),
        ("2026-11-24", "24/11/2026", "to must be a date"),
        ("2026-11-24T10:00:00+09:00", "2026-11-25", "from must be a date"),
        ("2026-02-30", "2026-03-01", "from must be a date"),
    ],
    ids=[
        "from>to",
        "367-days",
        "years",
        "no-from",
        "no-to",
        "garbage-from",
        "garbage-to",
        "timestamp-not-date",
        "no-such-day",
    ],
)
def test_day_range_rejects(raw_from: str | None, raw_to: str | None, says: str) -> None:
    with pytest.raises(BadQuery, match=says):
        day_range(raw_from, raw_to)

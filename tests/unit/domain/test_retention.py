"""domain.retention and domain.dedup: a key's time, and what is past retention."""

from __future__ import annotations

from datetime import UTC, date, datetime

from domain.dedup import Filter, applied, expiry_cutoff, is_duplicate
from domain.retention import HOUR, day_start, day_time, first_day_kept, first_hour_kept, hour_time, is_expired

T = int(datetime(2026, 11, 24, tzinfo=UTC).timestamp())  # 09:00 KST


def test_an_hourly_bucket_speaks_for_the_last_second_of_its_hour() -> None:
    assert hour_time(f"books|{T}".encode()) == T + HOUR - 1
    assert hour_time(f"a|b|{T}".encode()) == T + HOUR - 1  # the category may hold a "|"


def test_a_daily_row_speaks_for_the_last_second_of_its_kst_day() -> None:
    assert day_start("2026-11-24") == T - 9 * HOUR
    assert day_time(b"a-1|2026-11-24") == T - 9 * HOUR + 24 * HOUR - 1


def test_the_first_hour_kept_is_the_one_holding_the_cutoff() -> None:
    assert first_hour_kept(None, HOUR) is None
    assert first_hour_kept(T + 2 * HOUR, 2 * HOUR) == T
    assert first_hour_kept(T + 2 * HOUR + 1, 2 * HOUR) == T
    assert first_hour_kept(T + 3 * HOUR, 2 * HOUR) == T + HOUR
    for now in (T + 2 * HOUR - 1, T + 2 * HOUR, T + 3 * HOUR - 1, T + 3 * HOUR):
        kept = first_hour_kept(now, 2 * HOUR)
        assert kept is not None
        assert not is_expired(kept + HOUR - 1, now, 2 * HOUR)
        assert is_expired(kept - 1, now, 2 * HOUR)  # the hour before it


def test_the_first_day_kept_is_the_kst_day_holding_the_cutoff() -> None:
    assert first_day_kept(None, 86400) is None
    assert first_day_kept(T + 2 * 86400, 2 * 86400) == date(2026, 11, 24)
    assert first_day_kept(T + 15 * HOUR + 2 * 86400, 2 * 86400) == date(2026, 11, 25)  # 00:00 KST


def test_a_duplicate_is_within_the_window_of_stream_time() -> None:
    assert not is_duplicate(None, 100, 10)
    assert is_duplicate(90, 100, 10) and not is_duplicate(89, 100, 10)
    assert expiry_cutoff(100, 10) == 90


def test_a_late_record_is_judged_at_stream_time_and_remembered_there() -> None:
    f = Filter(10)
    assert f.offer("a", 100)
    assert f.offer("b", 50)  # late: stream time stays 100
    assert f.seen["b"] == 100
    assert not f.offer("b", 200 - 90)  # 110 - 100 <= 10
    assert f.offer("a", 111)  # 111 - 100 > 10
    assert f.expire() == ["b"]  # 100 < 111 - 10
    assert applied(10, [("x", 0), ("x", 10), ("x", 11), ("x", 5)]) == [True, False, True, False]

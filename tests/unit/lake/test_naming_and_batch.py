"""File names carry topic, partition and the batch's range; batches close by count, age or redo end."""

from __future__ import annotations

from lake.batch import Batch, by_day
from lake.naming import Span, file_path, newest_span, parse_name


def test_a_name_says_topic_partition_and_range_and_sorts_by_offset() -> None:
    path = file_path("/lake", "ad-ledger", "2026-11-25", 3, Span(7, 1_234))
    assert path == (
        "/lake/ad-ledger/day=2026-11-25/partition=3/"
        "ad-ledger+3+00000000000000000007+00000000000000001234.parquet"
    )
    assert parse_name(path, "ad-ledger", 3) == Span(7, 1_234)
    assert parse_name(path, "ad-ledger", 4) is None  # another partition's file
    assert parse_name(path, "orders", 3) is None
    later = file_path("/lake", "ad-ledger", "2026-11-24", 3, Span(1_235, 1_300))
    assert sorted([later, path], key=lambda p: p.rsplit("/", 1)[1]) == [path, later]


def test_topic_names_with_plus_signs_and_stray_files_are_told_apart() -> None:
    assert parse_name("/l/a+b/day=x/partition=0/a+b+0+00000000000000000009+00000000000000000010.parquet",
                      "a+b", 0) == Span(9, 10)  # fmt: skip
    assert parse_name("/l/t/day=x/partition=0/.tmp-abc-t+0+1+2.parquet", "t", 0) is None
    assert parse_name("/l/t/day=x/partition=0/t+0+5+2.parquet", "t", 0) is None  # first > last


def test_the_newest_span_is_the_one_starting_furthest_on_across_days() -> None:
    paths = [
        file_path("/l", "t", "2026-11-24", 0, Span(0, 99)),
        file_path("/l", "t", "2026-11-25", 0, Span(100, 180)),
        file_path("/l", "t", "2026-11-24", 0, Span(100, 180)),  # the same batch, an earlier day
        file_path("/l", "t", "2026-11-25", 1, Span(500, 600)),  # another partition
    ]
    assert newest_span(paths, "t", 0) == Span(100, 180)
    assert newest_span([], "t", 0) is None


def test_a_batch_closes_at_its_record_count() -> None:
    batch = Batch(max_records=3, max_age=3600)
    for offset in (10, 11):
        batch.add(offset, {"day": "d"}, now=0)
    assert not batch.due(now=1)
    batch.add(13, {"day": "d"}, now=1)  # offsets may skip (transaction markers)
    assert batch.due(now=1)
    assert batch.take() == (Span(10, 13), [{"day": "d"}] * 3)
    assert not batch.due(now=1) and batch.first == -1


def test_a_quiet_partition_closes_its_batch_by_age() -> None:
    batch = Batch(max_records=1000, max_age=5)
    assert not batch.due(now=100)  # nothing to flush
    batch.add(0, {"day": "d"}, now=100)
    assert not batch.due(now=104.9) and batch.age(104) == 4
    assert batch.due(now=105)


def test_a_redo_ends_exactly_at_the_published_last_offset() -> None:
    batch = Batch(max_records=2, max_age=1, redo_until=7)
    for offset in (3, 4, 5):  # past the count and the age: still open
        batch.add(offset, {"day": "d"}, now=0)
        assert not batch.due(now=100)
    batch.add(7, {"day": "d"}, now=0)
    assert batch.due(now=0)
    assert batch.take()[0] == Span(3, 7)
    assert batch.redo_until is None  # what follows rotates as usual


def test_a_redo_whose_last_record_is_gone_closes_before_the_next() -> None:
    batch = Batch(max_records=100, max_age=100, redo_until=7)
    batch.add(5, {"day": "d"}, now=0)
    assert not batch.must_close_before(7)
    assert batch.must_close_before(9)


def test_a_batch_over_two_kst_days_is_one_file_per_day_in_offset_order() -> None:
    rows = [{"day": "2026-11-24", "o": 1}, {"day": "2026-11-25", "o": 2}, {"day": "2026-11-24", "o": 3}]
    assert by_day(rows) == {
        "2026-11-24": [{"day": "2026-11-24", "o": 1}, {"day": "2026-11-24", "o": 3}],
        "2026-11-25": [{"day": "2026-11-25", "o": 2}],
    }

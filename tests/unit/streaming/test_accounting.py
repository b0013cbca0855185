"""Tally/merge accounting, dead-letter headers and per-partition batches (streaming/*)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import faust.streams

from domain.errors import InvalidRecord
from streaming import Tally, partition_batches
from streaming.accounting import FIELDS, merge
from streaming.deadletter import dlq_headers


def test_tally_consumed_is_the_sum() -> None:
    tally = Tally(processed=5, duplicates=2, dead_lettered=3)
    assert tally.consumed == 10
    assert Tally().consumed == 0


class DictBatch:
    """A partition's batch over a plain dict, counting writes (streaming.partition_batch's get/put)."""

    def __init__(self, partition: int, table: dict) -> None:
        self.partition, self.table, self.writes = partition, table, 0

    def get(self, table: Any, key: str) -> Any:
        return table.get(key)

    def put(self, table: Any, key: str, value: Any) -> None:
        self.writes += 1
        table[key] = value


def test_tally_save_adds_to_running_totals_per_topic_partition() -> None:
    table: dict[str, dict[str, int]] = {}
    Tally(processed=5, duplicates=2, dead_lettered=1).save(DictBatch(3, table), table, "orders")
    Tally(processed=1, duplicates=0, dead_lettered=4).save(DictBatch(3, table), table, "orders")
    Tally(processed=7).save(DictBatch(4, table), table, "orders")
    assert table == {
        "orders/3": {"consumed": 13, "processed": 6, "duplicates": 2, "dead_lettered": 5},
        "orders/4": {"consumed": 7, "processed": 7, "duplicates": 0, "dead_lettered": 0},
    }
    for counts in table.values():
        assert counts["consumed"] == counts["processed"] + counts["duplicates"] + counts["dead_lettered"]
        assert set(counts) == set(FIELDS)


def test_tally_save_writes_the_table_once_per_batch() -> None:
    table: dict[str, dict[str, int]] = {}
    batch = DictBatch(0, table)
    Tally(processed=3, duplicates=1).save(batch, table, "ad-clicks")
    assert batch.writes == 1
    assert table["ad-clicks/0"]["consumed"] == 4


def test_merge_sums_partitions_and_workers_per_topic() -> None:
    worker_1 = {
        "orders/0": {"consumed": 3, "processed": 2, "duplicates": 1, "dead_lettered": 0},
        "ad-clicks/0": {"consumed": 5, "processed": 5, "duplicates": 0, "dead_lettered": 0},
    }
    worker_2 = {
        "orders/1": {"consumed": 4, "processed": 1, "duplicates": 1, "dead_lettered": 2},
        # a topic name that itself contains a slash: only the last part is the partition
        "team/orders/2": {"consumed": 1, "processed": 1},
    }
    assert merge([worker_1, worker_2]) == {
        "orders": {"consumed": 7, "processed": 3, "duplicates": 2, "dead_lettered": 2},
        "ad-clicks": {"consumed": 5, "processed": 5, "duplicates": 0, "dead_lettered": 0},
        "team/orders": {"consumed": 1, "processed": 1, "duplicates": 0, "dead_lettered": 0},
    }
    assert merge([]) == {}


# --- dead letters ---------------------------------------------------------------------------------


@dataclass
class FakeMessage:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    timestamp: float = 0.0


@dataclass
class FakeEvent:
    message: FakeMessage


def test_dlq_headers() -> None:
    event = FakeEvent(FakeMessage("orders", 4, 1234, b"u-1", b"{oops"))
    headers = dlq_headers(event.message, InvalidRecord("not_json", "expected value at line 1"))
    assert headers == [
        ("dlq.reason", b"not_json"),
        ("dlq.detail", b"expected value at line 1"),
        ("dlq.topic", b"orders"),
        ("dlq.partition", b"4"),
        ("dlq.offset", b"1234"),
    ]
    assert all(isinstance(v, bytes) for _, v in headers)


def test_dlq_detail_is_truncated() -> None:
    event = FakeEvent(FakeMessage("orders", 0, 0, b"k", b"v"))
    headers = dict(dlq_headers(event.message, InvalidRecord("schema", "x" * 5000)))
    assert headers["dlq.detail"] == b"x" * 1000


# --- partition batches ------------------------------------------------------------------------------


def _event(topic: str, partition: int, offset: int) -> FakeEvent:
    return FakeEvent(FakeMessage(topic, partition, offset, b"k", b"v"))


def test_partition_batches_group_by_partition_number_keeping_arrival_order() -> None:
    events = [
        _event("ad-budget", 1, 10),
        _event("ad-clicks", 0, 20),
        _event("ad-clicks", 1, 30),
        _event("ad-budget", 0, 40),
        _event("ad-budget", 1, 11),
    ]
    groups = [(p, [(e.message.topic, e.message.offset) for e in evs]) for p, evs in partition_batches(events)]
    assert groups == [
        (1, [("ad-budget", 10), ("ad-clicks", 30), ("ad-budget", 11)]),
        (0, [("ad-clicks", 20), ("ad-budget", 40)]),
    ]


def test_partition_batches_make_one_of_the_groups_events_current() -> None:
    events = [_event("orders", 0, 1), _event("orders", 5, 2), _event("orders", 0, 3)]
    assert faust.streams.current_event() is None
    seen = []
    for partition, group in partition_batches(events):
        current = faust.streams.current_event()
        assert current is not None
        assert current.message.partition == partition
        assert current in group
        seen.append(partition)
    assert seen == [0, 5]
    assert faust.streams.current_event() is None  # restored afterwards


def test_partition_batches_restore_the_current_event_on_error() -> None:
    events = [_event("orders", 3, 1)]
    try:
        for _ in partition_batches(events):
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    assert faust.streams.current_event() is None

"""Fetched records are delivered in timestamp order across partitions (streaming/timestamp_order.py)."""

from __future__ import annotations

from typing import NamedTuple

from faust.types import TP

from streaming.timestamp_order import TimestampOrder

BUDGET, CLICKS = TP("ad-budget", 0), TP("ad-clicks", 0)


class Rec(NamedTuple):
    name: str
    timestamp: int


def test_a_replayed_backlog_comes_out_in_the_order_it_was_produced() -> None:
    records = {
        CLICKS: [Rec("click-1", 20), Rec("click-2", 21), Rec("click-3", 40)],
        BUDGET: [Rec("top-up-1", 10), Rec("top-up-2", 30)],
    }
    out = list(TimestampOrder().iterate(records))
    assert [r.name for _, r in out] == ["top-up-1", "click-1", "click-2", "top-up-2", "click-3"]


def test_each_record_keeps_its_own_partition_and_partition_order() -> None:
    # Offsets order within a partition wins over timestamps (clocks go backwards).
    records = {
        BUDGET: [Rec("b0", 50), Rec("b1", 5)],
        CLICKS: [Rec("c0", 10), Rec("c1", 60)],
        TP("orders", 3): [],
    }
    out = list(TimestampOrder().iterate(records))
    assert [(tp, r.name) for tp, r in out] == [(CLICKS, "c0"), (BUDGET, "b0"), (BUDGET, "b1"), (CLICKS, "c1")]


def test_ties_go_to_the_partition_listed_first() -> None:
    records = {BUDGET: [Rec("b", 7)], CLICKS: [Rec("c", 7)]}
    assert [r.name for _, r in TimestampOrder().iterate(records)] == ["b", "c"]

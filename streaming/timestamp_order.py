"""Deliver fetched records in timestamp order across partitions (per partition, in offset order).

Faust's default scheduler hands a fetch's records out round-robin by topic, so
when the budget agent reads a backlog of ``ad-budget`` and ``ad-clicks`` (a
replay, a catch-up) a later top-up can overtake an earlier click and charges
differ from the first run. Like Kafka Streams' timestamp synchronization, this
picks the record with the lowest timestamp among the partitions' heads. It is
best effort: it orders what one fetch returned (up to the consumer's per-partition
fetch size), it does not wait for a partition that has not been fetched yet.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator, Mapping
from typing import Any

from faust.transport.utils import DefaultSchedulingStrategy
from faust.types import TP


class TimestampOrder(DefaultSchedulingStrategy):
    def iterate(self, records: Mapping[TP, list[Any]]) -> Iterator[tuple[TP, Any]]:
        # heapq.merge keeps each partition's own order and breaks ties by partition order.
        return heapq.merge(*(_tagged(tp, rs) for tp, rs in records.items()), key=_timestamp)


def _tagged(tp: TP, records: list[Any]) -> Iterator[tuple[TP, Any]]:
    return ((tp, record) for record in records)


def _timestamp(item: tuple[TP, Any]) -> int:
    return item[1].timestamp

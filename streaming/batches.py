"""Batches split by source partition, each processed under that partition's context.

Faust routes a table write to the changelog partition (and the local RocksDB
partition) of the *current event*, a per-task context variable. In a
`take_events` batch that is whichever event arrived last, so a batch mixing
partitions would file state under the wrong partition. Each sub-batch here runs
with the current event set to one of its own events.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from faust.types import EventT

from eos.compat import current_event_var


@contextmanager
def _as_current(event: EventT) -> Iterator[None]:
    token = current_event_var.set(weakref.ref(event))
    try:
        yield
    finally:
        current_event_var.reset(token)


def partition_batches(events: Sequence[EventT]) -> Iterator[tuple[int, list[EventT]]]:
    """Yield (partition number, its events in arrival order) with one of them current.

    Grouped by partition *number*: co-partitioned topics (ad-budget and ad-clicks)
    share partition N's state, and their relative arrival order is kept.
    """
    groups: dict[int, list[EventT]] = {}
    for event in events:
        groups.setdefault(event.message.partition, []).append(event)
    for partition, group in groups.items():
        with _as_current(group[-1]):
            yield partition, group

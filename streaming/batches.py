"""Batches split by source partition, each processed under that partition's context.

Faust routes a table write to the changelog partition (and the local RocksDB
partition) of the *current event*, a per-task context variable. In a
`take_events` batch that is whichever event arrived last, so a batch mixing
partitions would file state under the wrong partition. Each sub-batch here runs
with the current event set to one of its own events.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from typing import Any

from faust.types import EventT

from eos.compat import current_event_var
from eos.gate import log_failed_batch


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


@asynccontextmanager
async def acked_batch(stream: Any, events: Sequence[EventT]) -> AsyncIterator[None]:
    """Ack a batch's events once it is processed (at_least_once: under exactly_once
    eos.batch_path takes these topics' records before any stream sees them).

    A batch that raises is logged with its partitions and offsets, and not acked:
    its records are processed again after the restart.
    """
    try:
        yield
    except BaseException as exc:
        if not isinstance(exc, asyncio.CancelledError):
            by_tp: dict[Any, list[Any]] = {}
            for event in events:
                by_tp.setdefault(event.message.tp, []).append(event.message)
            log_failed_batch(exc, by_tp.items())
        raise
    for event in events:
        await stream.ack(event)

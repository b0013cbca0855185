"""Restore active table partitions from their changelogs in bulk, before Faust's recovery.

Faust restores a changelog record by record through its consumer, conductor and
an Event each (about 7,500 offsets/s here), and under exactly_once it cannot
tell when it is done: the last offset before the last stable offset is always
a transaction marker, which no record ever reaches, so it waits twice for 5 s
of silence (``detect_aborted_tx``) before it believes the changelog ends there.
Every restart paid those 10 s, restored or not.

Here a consumer of our own reads each active changelog partition from the
offset after the persisted one up to its last stable offset, with
``read_committed`` (aborted records and markers never reach the store), in
large fetches, and the store writes each fetch in one WriteBatch per partition
with the offset reached (``TransactionalStore.restore``). A partition is done
when the consumer's position reaches the last stable offset, markers included:
no waiting for silence. Faust then finds nothing left to read.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping, MutableMapping
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from faust.tables.recovery import Recovery
from faust.types import TP

from config.kafka import client_kwargs
from eos.store import TransactionalStore

log = logging.getLogger(__name__)

FETCH_MAX_BYTES = 64 * 1024 * 1024
PARTITION_FETCH_MAX_BYTES = 16 * 1024 * 1024


def restorable(tables: Mapping[TP, Any], tps: set[TP]) -> dict[TP, TransactionalStore]:
    """The partitions this path restores: those whose table keeps a transactional store."""
    stores = {tp: tables[tp].data for tp in tps if tp in tables}
    return {tp: store for tp, store in stores.items() if isinstance(store, TransactionalStore)}


async def bulk_restore(
    client_kwargs: Mapping[str, Any],
    stores: Mapping[TP, TransactionalStore],
    offsets: MutableMapping[TP, int],
    highwaters: Mapping[TP, int],
    budget: float,
) -> int:
    """Read every partition of ``stores`` from ``offsets[tp] + 1`` to its last stable
    offset (``highwaters[tp] + 1``, Faust's highwater being one less) into its store.

    Moves ``offsets[tp]`` to ``highwaters[tp]`` for each partition done, which tells
    Faust's recovery there is nothing left, and a partition stopped by the time
    ``budget`` (seconds) runs out to the offset it reached: Faust's own recovery
    reads the rest (its steps time out, and the whole recovery with them).
    Returns the offsets read past.
    """
    deadline = time.monotonic() + budget
    start = dict(offsets)
    # aiokafka wants its own TopicPartition; it equals and hashes as Faust's TP.
    ends = {
        TopicPartition(*tp): highwaters[tp] + 1
        for tp in stores
        if highwaters.get(tp) is not None and offsets.get(tp) is not None and highwaters[tp] > offsets[tp]
    }
    if not ends:
        return 0
    consumer = AIOKafkaConsumer(
        **client_kwargs,
        isolation_level="read_committed",
        enable_auto_commit=False,
        fetch_max_bytes=FETCH_MAX_BYTES,
        max_partition_fetch_bytes=PARTITION_FETCH_MAX_BYTES,
        fetch_max_wait_ms=50,
    )
    await consumer.start()
    try:
        consumer.assign(list(ends))
        for tp in ends:
            consumer.seek(tp, max(offsets[tp] + 1, 0))
        pending = set(ends)
        while pending:
            for tp in list(pending):
                if await consumer.position(tp) >= ends[tp]:
                    pending.discard(tp)
                    stores[tp].restore(tp.partition, [], highwaters[tp])
                    offsets[tp] = highwaters[tp]
            if not pending or time.monotonic() > deadline:
                break
            fetched = await consumer.getmany(*pending, timeout_ms=200)
            for tp, records in fetched.items():
                end = ends[tp]
                if records[-1].offset >= end:  # written after recovery began: the stream's to read
                    records = [r for r in records if r.offset < end]
                if records:
                    stores[tp].restore(tp.partition, records, records[-1].offset)
                    offsets[tp] = records[-1].offset
    finally:
        await asyncio.shield(consumer.stop())
    return sum(offsets[tp] - start[tp] for tp in ends)


class BulkRestoreRecovery(Recovery):
    """Faust's Recovery with the active partitions restored in bulk before it reads any."""

    async def _seek_offsets(self, consumer: Any, tps: set[TP], offsets: Any, title: str) -> None:
        app: Any = self.app
        if title == "active" and app.in_transaction and app.settings.bulk_restore:
            stores = restorable(self.tp_to_table, tps)
            if stores:
                started = time.monotonic()
                budget = 0.8 * app.conf.broker_request_timeout  # Faust's limit for this step
                read = await bulk_restore(
                    client_kwargs(app.settings), stores, offsets, self.active_highwaters, budget
                )
                if read:
                    took = time.monotonic() - started
                    log.info(
                        "bulk restore: %d changelog offsets of %d partitions in %.2fs (%.0f/s)",
                        read, len(stores), took, read / took if took else 0.0,
                    )  # fmt: skip
        await super()._seek_offsets(consumer, tps, offsets, title)

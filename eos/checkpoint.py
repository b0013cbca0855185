"""The one commit under exactly_once: ``Checkpoint.commit``.

Faust's consumer asks for a commit on its timer, at a rebalance and at
shutdown; ``GatedConsumer.commit`` hands every one of them here, and nothing
else commits. In numbered steps, each marked in ``commit``:

1. Take the gate: a commit runs between batches, never in the middle of one (eos.gate).
2. Refuse if a batch failed half-way: the worker crashes and the open transactions abort.
3. Drain: wait until every record batch sent so far reached the broker (defect 1).
4. Pick the offsets: per assigned partition the batches processed, the offset
   after the last record processed, if past the last commit (defects 4 and 8).
5. Commit the source partitions' transactions side by side; each holds its
   partition's outputs, changelog records and offsets (defect 3). A failure
   closes the gate for good, forgets the pending table writes and crashes the worker.
6. Make durable the table writes of the partitions whose transactions committed,
   one RocksDB WriteBatch per partition (eos.store), which tells the commit listeners.
7. Book it: the offsets this process committed (the seek's tripwire, eos.consumer),
   Faust's record of them and the metrics.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict
from collections.abc import Mapping
from typing import Any

from faust.types import TP

from eos import compat
from eos.gate import BatchFailed
from eos.runtime import gate_of, runtime_of
from eos.store import TransactionalStore
from eos.transactions import transactional_id_for

log = logging.getLogger(__name__)


class Checkpoint:
    """Commits what ``app``'s batches processed, for Faust's ``consumer``."""

    def __init__(self, app: Any, consumer: Any) -> None:
        self.app = app
        self.consumer = consumer

    async def commit(self, topics: Any = None, start_new_transaction: bool = True) -> bool:
        """Commit every processed partition (of ``topics`` if given); False if nothing was to commit."""
        app, gate = self.app, gate_of(self.app)
        async with gate.lock:  # 1. between batches
            try:  # 2. a batch failed half-way: nothing may commit
                gate.check()
            except BatchFailed as exc:
                await app.crash(exc)
                return False
            await gate.drain()  # 3. every record batch delivered (else the gate closes)
            sensor_state = app.sensors.on_commit_initiated(self.consumer)
            offsets = self._offsets(topics)  # 4.
            if not offsets:
                app.sensors.on_commit_completed(self.consumer, sensor_state)
                return False
            started = time.perf_counter()
            committed = await self._commit_transactions(offsets, start_new_transaction)  # 5.
            if committed is None:
                return False
            took = time.perf_counter() - started
            partitions = {tp.partition for tp in committed}
            for store in self._stores():  # 6. durable state, then the listeners
                store.commit(partitions)
            app.tables.on_commit(committed)
            gate.committed.update(committed)  # 7.
            compat.note_committed(self.consumer, committed)
            app.monitor.on_tp_commit(committed)
            if (metrics := runtime_of(app).metrics) is not None and committed:
                metrics.committed(took, gate.uncommitted)
            gate.uncommitted = []
            app.sensors.on_commit_completed(self.consumer, sensor_state)
            return True

    def _offsets(self, topics: Any) -> dict[TP, int]:
        """Faust derives offsets from its acks and the gaps it saw, and loses the
        gaps (commit markers, aborted records) at the head of a fetch after each
        seek (defect 4); it also forgets revoked partitions before a rebalance's
        last commit (defect 8). Batches run in offset order (eos.gate), so the
        offset to commit is the one after the last record processed."""
        consumer = self.consumer
        assigned = consumer.assignment()
        offsets = {}
        for tp, offset in list(gate_of(self.app).processed.items()):
            if topics is not None and tp not in topics and tp.topic not in topics:
                continue
            compat.forget_acks(consumer, tp)  # Faust's bookkeeping, replaced by `processed`
            if tp in assigned and compat.should_commit(consumer, tp, offset):
                offsets[tp] = offset
        return offsets

    async def _commit_transactions(self, offsets: Mapping[TP, int], begin: bool) -> dict[TP, int] | None:
        """Commit each transaction with its offsets; the offsets committed, or None on a failure.

        Stock Faust commits in one call that skips an unknown transaction
        silently and swallows a fenced producer; here each is committed on its
        own, side by side (one round trip per step, not one per partition)."""
        app, producer = self.app, self.app.producer
        by_tid: dict[str, dict[TP, int]] = defaultdict(dict)
        for tp, offset in offsets.items():
            by_tid[transactional_id_for(app, tp.topic, tp.partition)][tp] = offset
        held = compat.transaction_producers(producer)
        known = {}
        for tid, tid_offsets in by_tid.items():
            if tid in held:
                known[tid] = tid_offsets
            else:
                log.warning("no transactional producer %s: offsets %r not committed", tid, tid_offsets)
        commit, group = producer.commit_transactions, app.conf.id
        results = await asyncio.gather(
            *(commit({tid: o}, group, start_new_transaction=begin) for tid, o in known.items()),
            return_exceptions=True,
        )
        failure = next((r for r in results if isinstance(r, BaseException)), None)
        if failure is not None:
            # Transactions that did commit have their changelog records committed
            # too; leaving RocksDB behind them is safe only if nothing is processed
            # or committed on top of it before the restart's recovery: the gate
            # closes for good.
            gate_of(app).fail(failure)
            if (metrics := runtime_of(app).metrics) is not None:
                metrics.aborts.inc()
            for store in self._stores():
                store.discard(store.pending_partitions())
            await app.crash(failure)
            return None
        return {tp: offset for tid_offsets in known.values() for tp, offset in tid_offsets.items()}

    def _stores(self) -> list[TransactionalStore]:
        return [t.data for t in self.app.tables.values() if isinstance(t.data, TransactionalStore)]

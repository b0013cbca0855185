"""Outputs ride in the transaction of the record that caused them.

Defect 3 (non-atomic outputs, upstream #177): stock Faust picks the
transactional producer by the *destination* partition of each send. A record
read from partition 2 that emits to partition 0 of a repartition topic puts
that output in partition 0's transaction, which commits only when partition 0
has consumed offsets to commit. With no traffic on partition 0 the output stays
in an open transaction until the broker aborts it: the sale is lost. Under
traffic it commits independently of its source offset: a crash between the two
commits loses it or applies it twice.

Here the producer is picked by the *source* partition of the current event, so
an output commits in the same transaction as the offset that caused it. Sends
made outside stream processing (none in this app; changelog writes flushed
later by Faust's producer buffer target the source partition number) keep the
stock choice by *destination* partition, under the stable ids below.
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from collections.abc import Awaitable, Mapping
from typing import Any

from faust.streams import current_event
from faust.transport.consumer import TransactionManager
from faust.types import TP, HeadersArg
from faust.types.tuples import RecordMetadata

from eos import compat
from eos.gate import gate_of
from eos.runtime import runtime_of
from eos.store import TransactionalStore


def transactional_id_for(app: Any, topic: str, partition: int) -> str:
    """The id of the transaction owning ``topic``'s ``partition``: the app, the
    topic's partition count and the partition number.

    Defect 11 (transactional ids that change between generations): stock Faust
    names a transaction after the assignor's *group index*, which numbers the
    co-partitioned groups by partition count at each assignment and skips
    topics missing from the metadata. When the 1-partition leader topic was not
    yet in the metadata, the 6-partition inputs were group 0, later group 1: the
    same partitions then had two transactional ids, a restarted owner no longer
    fenced its zombie, and a transaction left open under the old id held the
    last stable offset of a changelog back until recovery failed
    (ConsistencyError: persisted offset 8 > highwater 1). The partition count
    is what the group index stands for, and it does not move.
    """
    count = app.consumer.partition_count(topic)
    if not count:
        raise LookupError(f"no partition count for {topic!r} in the consumer's metadata")
    return f"{app.conf.id}-{count}x-{partition}"


class SourceTransactionManager(TransactionManager):
    _changelog_names: frozenset[str] | None = None

    def _tps_to_transactional_ids(self, tps: set[TP]) -> set[str]:
        # A topic missing from the metadata (Faust's leader topic right after it
        # is created) gets no producer yet: nothing is processed from it then.
        consumer: Any = self.app.consumer
        counts = consumer.partition_count
        standby = self.app.assignor.is_standby
        return {
            transactional_id_for(self.app, tp.topic, tp.partition)
            for tp in tps
            if counts(tp.topic) and not standby(tp)
        }

    async def on_rebalance(self, assigned: set[TP], revoked: set[TP], newly_assigned: set[TP]) -> None:
        """Defect 12 (a kept partition reads its own commit as not yet made):
        committing returns once the transaction coordinator has decided the
        commit, before its markers reach the partitions and the group's offsets.
        Until they do, the group still reports the offsets before it (aiokafka
        has no KIP-447 ``require_stable``) and the changelog's last stable
        offset stops before its records. Stock Faust keeps the producer of a
        partition that stays across a rebalance, seeks that partition to the
        offsets the group reports and recovers its table from the changelog:
        with a broker down the markers can take seconds, and the records of
        the last transaction were processed again on top of their own effects
        (seen as orders counted twice after a broker was killed).

        A producer's InitProducerId returns only once the previous transaction
        of its id is complete, markers written. So every assigned id gets a
        fresh producer at every rebalance, kept ones too, before the tables
        recover and the partitions are sought (Faust runs this first; seeks
        asked for before it is done, by Faust's fetcher while the flow is
        stopped, wait for the recovery's seek: eos.consumer). Ids are stopped
        and started side by side: one round trip, not one per partition.
        """
        gate = gate_of(self.app)
        gate.assignment_ready = False
        producer = self.producer
        held = sorted(compat.transaction_producers(producer))
        await asyncio.gather(*(producer.stop_transaction(tid) for tid in held))
        wanted = sorted(self._tps_to_transactional_ids(assigned))
        if wanted:
            self.log.info("Starting %d fresh transactional producers", len(wanted))
        await asyncio.gather(*(producer.maybe_begin_transaction(tid) for tid in wanted))
        gate.assignment_ready = True

    def _changelogs(self) -> frozenset[str]:
        if self._changelog_names is None:
            self._changelog_names = frozenset(
                t.changelog_topic.get_topic_name() for t in self.app.tables.values()
            )
        return self._changelog_names

    async def send(
        self,
        topic: str,
        key: bytes | None,
        value: bytes | None,
        partition: int | None,
        timestamp: float | None,
        headers: HeadersArg | None,
        *,
        transactional_id: str | None = None,
    ) -> Awaitable[RecordMetadata]:
        event = current_event()
        if event is None or topic in self._changelogs():
            # A changelog record targets its source partition's number already,
            # and is sent from Faust's producer buffer task, whose "current event"
            # is whatever was current when that task started: never trust it.
            dest = self.consumer.key_partition(topic, key, partition)
            tid = None if dest is None else transactional_id_for(self.app, topic, dest)
            return await self.producer.send(topic, key, value, dest, timestamp, headers, transactional_id=tid)
        source = event.message
        dest = self.consumer.key_partition(topic, key, partition)
        return await self.producer.send(
            topic,
            key,
            value,
            dest,
            timestamp,
            headers,
            transactional_id=transactional_id_for(self.app, source.topic, source.partition),
        )


class CommittingTransactionManager(SourceTransactionManager):
    """Commits every transaction (side by side), then makes their table writes durable.

    Stock Faust commits all transactions in one call that skips unknown ones
    silently and swallows a fenced producer; here each partition's buffered
    table writes (eos.store) reach RocksDB only after *its* transaction
    committed, and any failure crashes the worker before anything is applied.
    """

    async def commit(self, offsets: Mapping[TP, int], start_new_transaction: bool = True) -> bool:
        by_tid: dict[str, dict[TP, int]] = defaultdict(dict)
        for tp, offset in offsets.items():
            by_tid[transactional_id_for(self.app, tp.topic, tp.partition)][tp] = offset
        known = {}
        for tid, tid_offsets in by_tid.items():
            if self._has_producer(tid):
                known[tid] = tid_offsets
            else:
                self.log.warning("no transactional producer %s: offsets %r not committed", tid, tid_offsets)
        # Each transaction is atomic on its own and has a producer of its own:
        # commit them side by side (one round trip per step, not one per partition).
        group, commit, begin = self.app.conf.id, self.producer.commit_transactions, start_new_transaction
        started = time.perf_counter()
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
            gate_of(self.app).fail(failure)
            if (metrics := runtime_of(self.app).metrics) is not None:
                metrics.aborts.inc()
            self._discard_all()
            await self.app.crash(failure)
            return False
        gate = gate_of(self.app)
        for tid_offsets in known.values():
            gate.committed.update(tid_offsets)
        if (metrics := runtime_of(self.app).metrics) is not None and known:
            metrics.committed(time.perf_counter() - started, gate.uncommitted)
        gate.uncommitted = []
        committed = {tp.partition for tid_offsets in known.values() for tp in tid_offsets}
        for store in self._stores():
            store.commit(committed)
        return True

    def _has_producer(self, tid: str) -> bool:
        return tid in compat.transaction_producers(self.producer)

    def _stores(self) -> list[TransactionalStore]:
        return [t.data for t in self.app.tables.values() if isinstance(t.data, TransactionalStore)]

    def _discard_all(self) -> None:
        for store in self._stores():
            store.discard(list(store._pending))

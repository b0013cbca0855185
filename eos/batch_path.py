"""The exactly-once batch path: fetched records straight to batch handlers.

Faust hands every record through the consumer thread, the conductor, a
queue, a stream and an Event, and acks it: on the order of 100 microseconds
per record here, which alone caps a worker near 10,000 records/s. Under
exactly_once, GatedConsumer gives the
records of topics that have a batch handler (streaming.partition_batch) to
``run`` instead, as fetched: already per partition, in offset order, and
deduplicated by ContiguousFetchThread.

Per partition number (co-partitioned topics merged in timestamp order, like
streaming.timestamp_order) the handler runs over a ``TransactionBatch``:
- reads see the partition's open transaction (eos.store.TransactionalStore);
- each key written is staged once in that transaction and its changelog
  record appended to one record batch per changelog partition;
- outputs are appended to one record batch per output partition;
- the record batches go to the transactional producer of the source
  partition, so they commit with the source offsets and nothing else.
Then the gate's ``processed`` map moves past the batch; the commit (on
Faust's timer, or at a rebalance) takes the gate lock, waits for every record
batch sent so far, and commits.

The whole batch runs under the gate lock: a commit sees all of it or none.
Records of a partition reset since they were handed out (a revoke, an
assignment, a seek) are dropped: the partition's epoch in the fetch thread
(eos.consumer) tells, and the seek that follows hands them out again. (The
consumer generation would not do: a rebalance can complete during one fetch,
whose records are then already the new assignment's.) While the flow is
stopped the batch waits rather than being dropped.
"""

from __future__ import annotations

import asyncio
import heapq
import time
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from operator import attrgetter
from typing import Any

import orjson
from aiokafka.partitioner import DefaultPartitioner
from faust.types import TP

from eos import compat
from eos.gate import CommitGate, gate_of, log_failed_batch
from eos.runtime import runtime_of
from eos.store import TransactionalStore
from eos.transactions import transactional_id_for
from streaming.partition_batch import Handler, Headers, KeyValue, PartitionBatch, handlers_of

try:  # the Rust kernel's record batches (native/): a list of records in one call
    from budget_kernel import RecordBatch as NativeRecordBatch
except ImportError:  # not installed: aiokafka's builders, a call per record
    NativeRecordBatch = None

Dest = tuple[str, int]  # (topic, partition)
_NO_HEADERS: Headers = []
# Handlers run here, one batch at a time, so the event loop stays free for HTTP
# queries (the GIL switches every few ms) while a large batch is computed.
_handler_thread = ThreadPoolExecutor(1, thread_name_prefix="batch-handler")
_by_timestamp = attrgetter("timestamp")
_partitioner = DefaultPartitioner()


class TransactionBatch(PartitionBatch):
    def __init__(
        self, producer: Any, gate: CommitGate, partition: int, records: Sequence[Any], max_batch_bytes: int
    ) -> None:
        super().__init__(partition, records)
        self._producer = producer  # aiokafka's transactional producer of the source partition
        self._gate = gate
        self._max_batch_bytes = max_batch_bytes
        # One open record batch per destination, aiokafka's or native (with its
        # headers); a full one, or one of the other kind, moves to _full first,
        # so each destination's records go out in the order they were sent.
        self._builders: dict[Dest, Any] = {}
        self._natives: dict[Dest, tuple[Any, Headers]] = {}
        self._full: list[tuple[Dest, Any]] = []
        self._keyed: list[tuple[str, bytes, bytes, Headers]] = []
        self._stores: dict[Dest, TransactionalStore] = {}  # by changelog partition
        self._dests: dict[Any, Dest] = {}  # by topic

    def _read(self, table: Any, key: str) -> Any:
        raw = _store(table).read(self.partition, key.encode())
        return None if raw is None else orjson.loads(raw)

    def _read_many(self, table: Any, keys: list[str]) -> list[Any]:
        raws = _store(table).read_many(self.partition, [key.encode() for key in keys])
        return [None if raw is None else orjson.loads(raw) for raw in raws]

    def get_raw_many(self, table: Any, keys: Sequence[bytes]) -> list[bytes | None]:
        if table.name in self._writes or table.name in self._raw:
            return super().get_raw_many(table, keys)
        return _store(table).read_many(self.partition, keys)

    def send(self, topic: Any, key: bytes | None, value: bytes | None, headers: Headers) -> None:
        self._append(self._dest(topic), key, value, headers)

    def send_many(self, topic: Any, records: Sequence[KeyValue], headers: Headers) -> None:
        self._append_many(self._dest(topic), records, headers)

    def _dest(self, topic: Any) -> Dest:
        dest = self._dests.get(topic)
        if dest is None:  # a Faust topic spells its name through 3 calls; a handler sends per event
            dest = self._dests[topic] = (topic.get_topic_name(), self.partition)
        return dest

    def send_keyed(self, topic: Any, key: bytes, value: bytes, headers: Headers) -> None:
        self._keyed.append((topic.get_topic_name(), key, value, headers))  # partitioned at flush

    def _append(self, dest: Dest, key: bytes | None, value: bytes | None, headers: Headers) -> None:
        builder = self._builders.get(dest)
        if builder is None:
            native = self._natives.pop(dest, None)
            if native is not None:
                self._full.append((dest, native[0]))
            builder = self._builders[dest] = self._producer.create_batch()
        if builder.append(timestamp=None, key=key, value=value, headers=headers) is None:
            self._full.append((dest, builder))  # full: send it, go on in a new one
            builder = self._builders[dest] = self._producer.create_batch()
            if builder.append(timestamp=None, key=key, value=value, headers=headers) is None:
                raise ValueError(f"a record for {dest[0]} does not fit in an empty record batch")

    def _append_many(self, dest: Dest, records: Sequence[KeyValue], headers: Headers) -> None:
        if NativeRecordBatch is None:
            for key, value in records:
                self._append(dest, key, value, headers)
            return
        builder = self._builders.pop(dest, None)
        if builder is not None:
            self._full.append((dest, builder))
        records = records if type(records) is list else list(records)
        start, end = 0, len(records)
        now_ms = int(time.time() * 1000)
        while start < end:
            native = self._natives.get(dest)
            if native is None or native[1] is not headers:
                if native is not None:
                    self._full.append((dest, native[0]))
                batch = NativeRecordBatch(self._max_batch_bytes, now_ms, headers, True)
                native = self._natives[dest] = (batch, headers)
            start = native[0].fill(records, start)
            if start < end:  # full: send it, go on in a new one
                self._full.append((dest, self._natives.pop(dest)[0]))

    def prepare(self) -> None:
        """Serialize the batch's writes, stage them and queue their changelog
        records: CPU only, so it runs off the event loop with the handler."""
        for table, writes in self.writes():
            self._stage(table, {key.encode(): orjson.dumps(value) for key, value in writes.items()})
        for table, raw in self.raw_writes():
            self._stage(table, raw)
        for table, keys in self.expirations():
            self._stage_deletes(table, keys)

    def _stage(self, table: Any, staged: dict[bytes, bytes]) -> None:
        store = _store(table)
        changelog = (table.changelog_topic.get_topic_name(), self.partition)
        self._append_many(changelog, list(staged.items()), _NO_HEADERS)
        store.stage(self.partition, staged)
        self._stores[changelog] = store

    def _stage_deletes(self, table: Any, keys: list[bytes]) -> None:
        """Expiry: tombstones in the changelog, deletions in the open transaction."""
        store = _store(table)
        changelog = (table.changelog_topic.get_topic_name(), self.partition)
        self._append_many(changelog, [(key, None) for key in keys], _NO_HEADERS)
        store.stage_deletes(self.partition, keys)
        self._stores[changelog] = store

    async def deliver(self) -> None:
        """Hand every record batch to the source partition's transactional producer."""
        if self._keyed:
            await self._partition_keyed()
        natives = [(dest, native) for dest, (native, _) in self._natives.items()]
        for dest, builder in [*self._full, *self._builders.items(), *natives]:
            count = builder.record_count()
            fut = await self._producer.send_batch(builder, dest[0], partition=dest[1])
            store = self._stores.get(dest)
            if store is not None:
                fut = asyncio.ensure_future(_note_offset(fut, store, self.partition, count))
            self._gate.track(fut)

    async def flush(self) -> None:
        self.prepare()
        await self.deliver()

    async def _partition_keyed(self) -> None:
        # The producer's own partitioner (murmur2, as Kafka's Java clients):
        # Faust and every other client put the same key in the same partition.
        partitions: dict[str, list[int]] = {}
        for topic, key, value, headers in self._keyed:
            if topic not in partitions:
                partitions[topic] = sorted(await self._producer.partitions_for(topic))
            candidates = partitions[topic]
            self._append((topic, _partitioner(key, candidates, candidates)), key, value, headers)


async def _note_offset(fut: Any, store: TransactionalStore, partition: int, count: int) -> None:
    meta = await fut  # the batch's base offset
    store.note_changelog_offset(partition, meta.offset + count - 1)


def _store(table: Any) -> TransactionalStore:
    store = table.data
    if not isinstance(store, TransactionalStore):
        raise TypeError(f"table {table.name} is not transactional; the batch path needs exactly_once")
    return store


def _handle(handler: Handler, batch: TransactionBatch) -> None:
    handler(batch)
    batch.prepare()


def _merged(parts: list[tuple[TP, list[Any]]]) -> list[Any]:
    return list(heapq.merge(*(batch for _, batch in parts), key=_by_timestamp))


def split(app: Any, records: Mapping[TP, list[Any]]) -> tuple[dict[TP, list[Any]], dict[TP, list[Any]]]:
    """(records for batch handlers, the rest for Faust's path)."""
    handlers = handlers_of(app)
    mine: dict[TP, list[Any]] = {}
    rest: dict[TP, list[Any]] = {}
    for tp, batch in records.items():
        (mine if tp.topic in handlers else rest)[tp] = batch
    return mine, rest


async def run(consumer: Any, records: Mapping[TP, list[Any]], fresh: Callable[[TP], bool]) -> bool:
    """Run the batch handlers over ``records``, once the flow runs.

    ``fresh(tp)`` says whether the partition's records are still current: a
    revoke, an assignment or a seek since they were handed out makes them
    stale, and they are handed out again after the seek. Records are never
    dropped otherwise (the fetch thread has moved past them): while the flow
    is stopped (a rebalance or recovery in progress) this waits. Returns
    whether it had to wait: the rest of that fetch predates the rebalance.
    """
    app = consumer.app
    gate = gate_of(app)
    handlers = handlers_of(app)
    loop = asyncio.get_running_loop()
    waited = False
    while True:
        if consumer.should_stop:
            return waited
        if not consumer.flow_active:
            waited = True
            await consumer.wait(consumer.can_resume_flow)
            continue
        async with gate.lock:
            gate.check()
            if not consumer.flow_active:
                continue
            groups: dict[tuple[Handler, int], list[tuple[TP, list[Any]]]] = defaultdict(list)
            for tp, batch in records.items():
                if fresh(tp):
                    groups[handlers[tp.topic], tp.partition].append((tp, batch))
            for (handler, partition), parts in groups.items():
                await _run_one(app, gate, loop, handler, partition, parts)
            return waited


async def _run_one(
    app: Any,
    gate: CommitGate,
    loop: asyncio.AbstractEventLoop,
    handler: Handler,
    partition: int,
    parts: list[tuple[TP, list[Any]]],
) -> None:
    ordered = parts[0][1] if len(parts) == 1 else _merged(parts)
    tid = transactional_id_for(app, parts[0][0].topic, partition)
    producer = compat.transaction_producers(app.producer)[tid]
    batch = TransactionBatch(producer, gate, partition, ordered, app.settings.producer_max_batch_bytes)
    metrics = runtime_of(app).metrics
    started = time.perf_counter()
    try:
        await loop.run_in_executor(_handler_thread, _handle, handler, batch)
        if metrics is not None:
            metrics.batch(handler.__name__, time.perf_counter() - started, len(ordered))
            oldest = min(records[0].timestamp for _, records in parts) / 1000
            gate.uncommitted.append((oldest, batch.dead_letters))
        await batch.deliver()
    except BaseException as exc:
        gate.fail(exc)  # part of the batch may be in the transaction: never commit it
        if not isinstance(exc, asyncio.CancelledError):
            # The transaction's own error (say, an ACL that denies an output topic) is the
            # cause; what the batch saw is only its consequence.
            cause = compat.transaction_error(producer) or exc
            log_failed_batch(cause, parts)
            await app.crash(cause)
        raise
    processed = gate.processed
    for tp, batch_records in parts:
        processed[tp] = batch_records[-1].offset + 1

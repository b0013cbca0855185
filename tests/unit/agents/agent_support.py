"""Run the agents as a worker does under exactly_once, without a broker (imported by
the agent tests; not a test module).

``Worker.put`` queues records per topic partition; ``process`` hands them, as one
fetch, to ``eos.batch_path.run``: it merges co-partitioned topics by timestamp,
builds a TransactionBatch per partition and calls the handler the agent
registered (``app.runtime.handlers``). The batch stages its table writes in each
table's RocksDB TransactionalStore (a fresh one per test) and sends its outputs
and changelog records, as record batches, to the source partition's
transactional producer: here ``TransactionalProducer``, which keeps them in the
open transaction. ``commit`` then does what
``eos.transactions.CommittingTransactionManager.commit`` does once the broker
has committed: the outputs become visible, the staged writes reach RocksDB.
``abort`` is a transaction that never commits: pending writes are discarded
(the store's ``discard``) and the outputs are never seen.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import orjson
from faust.types import TP

from eos import batch_path, compat
from eos.gate import CommitGate, gate_of
from eos.store import TransactionalStore
from eos.transactions import transactional_id_for
from streaming.partition_batch import Record
from tests.unit.eos.eos_fakes import read_native

# (topic, partition, [{"key", "value", "headers", "partition"}, ...]) per record batch sent
SentBatch = tuple[str, int, list[dict[str, Any]]]


class Sent:
    """Records a read_committed consumer would see, per topic name, in order."""

    def __init__(self) -> None:
        self.by_topic: dict[str, list[dict[str, Any]]] = defaultdict(list)

    def __getitem__(self, topic: str) -> list[dict[str, Any]]:
        return self.by_topic[topic]

    def topics(self) -> set[str]:
        return {t for t, sent in self.by_topic.items() if sent}


class RecordingBuilder:
    """aiokafka's record batch builder, as the batch path uses it (never full)."""

    def __init__(self) -> None:
        self.records: list[tuple[bytes | None, bytes | None, list[tuple[str, bytes]]]] = []

    def append(self, *, timestamp: Any, key: bytes | None, value: bytes | None, headers: list) -> object:
        self.records.append((key, value, list(headers)))
        return object()

    def record_count(self) -> int:
        return len(self.records)


class TransactionalProducer:
    """One source partition's transactional producer: what is sent waits in its
    open transaction. Offsets are a log's, per topic partition (shared)."""

    def __init__(self, partitions: int, log_ends: dict[tuple[str, int], int]) -> None:
        self._partitions = partitions
        self._log_ends = log_ends
        self.open: list[SentBatch] = []

    async def partitions_for(self, topic: str) -> set[int]:
        return set(range(self._partitions))

    def create_batch(self) -> RecordingBuilder:
        return RecordingBuilder()

    async def send_batch(self, builder: Any, topic: str, *, partition: int) -> asyncio.Future:
        if isinstance(builder, RecordingBuilder):
            raw = builder.records
        else:  # the Rust kernel's record batch, read back as the broker would
            raw = [(r.key, r.value, list(r.headers)) for r in read_native(builder)]
        records = [{"key": k, "value": v, "headers": h, "partition": partition} for k, v, h in raw]
        base = self._log_ends.get((topic, partition), 0)
        self._log_ends[topic, partition] = base + len(records)
        self.open.append((topic, partition, records))
        fut = asyncio.get_running_loop().create_future()
        fut.set_result(SimpleNamespace(offset=base))
        return fut


class _WorkerApp:
    """The app as eos.batch_path.run sees it: the real one (settings, runtime with
    its handlers and gate, tables), with the consumer's metadata and the
    transactional producers faked, and a crash recorded rather than raised."""

    def __init__(self, app: Any, producers: dict[str, TransactionalProducer]) -> None:
        self._app = app
        partitions = app.conf.topic_partitions
        self.consumer = SimpleNamespace(partition_count=lambda topic: partitions)
        self.producer = SimpleNamespace(_transaction_producers=producers)
        self.crashes: list[BaseException] = []

    async def crash(self, reason: BaseException) -> None:
        self.crashes.append(reason)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._app, name)


class Worker:
    def __init__(self, app: Any, state_dir: Path) -> None:
        self.app = app
        self._stores: list[TransactionalStore] = []
        for table in app.tables.values():
            # The table's own factory (eos.table.EosTable) picks the store; the URL puts it in state_dir.
            store = table._new_store_by_url(f"rocksdb://{state_dir}/{table.name}")
            assert isinstance(store, TransactionalStore), "production tables are transactional"
            table._data = store
            self._stores.append(store)
        self._changelog_topics = {t.changelog_topic.get_topic_name(): t for t in app.tables.values()}
        self.reset()

    def reset(self) -> None:
        """Start over: empty tables, no outputs, a new gate and new producers."""
        app = self.app
        partitions = app.conf.topic_partitions
        for store in self._stores:
            dbs = compat.open_dbs(store)
            store.discard(set(range(partitions)) | set(dbs))
            for db in dbs.values():  # emptied rather than reopened: an open costs ~10 ms
                db.delete_range(b"", b"\xff" * 64)  # past every key: UTF-8, the index's, Faust's offset
                assert next(iter(db.keys()), None) is None
            if (index := compat.key_index(store)) is not None:
                index.clear()
        app.runtime.gate = CommitGate()
        log_ends: dict[tuple[str, int], int] = {}
        self._view = _WorkerApp(app, {})
        self.producers = {
            transactional_id_for(self._view, "any", p): TransactionalProducer(partitions, log_ends)
            for p in range(partitions)
        }
        self._view.producer._transaction_producers.update(self.producers)
        self.sent = Sent()  # outputs, committed
        self.changelogs = Sent()  # changelog records, committed
        self._queued: dict[TP, list[Record]] = {}
        self._next_offset: dict[TP, int] = defaultdict(int)

    def close(self) -> None:
        for store in self._stores:
            for db in compat.open_dbs(store).values():
                db.close()

    def seed(self, table: Any, key: bytes, value: bytes, partition: int = 0) -> None:
        """Committed state from before this run: in the store and in its changelog."""
        table.data.stage(partition, {key: value})
        table.data.commit({partition})
        topic = table.changelog_topic.get_topic_name()
        self.changelogs[topic].append({"partition": partition, "key": key, "value": value})

    def put(
        self, topic: Any, value: bytes | None, *, key: bytes | None = None, partition: int = 0,
        timestamp: float = 0.0,
    ) -> Record:  # fmt: skip
        """Queue a record, as a producer would append it: ``timestamp`` in seconds."""
        name = topic if isinstance(topic, str) else topic.get_topic_name()
        tp = TP(name, partition)
        offset = self._next_offset[tp]
        self._next_offset[tp] += 1
        record = Record(name, partition, offset, int(timestamp * 1000), key, value)
        self._queued.setdefault(tp, []).append(record)
        return record

    def redeliver(self, records: Iterable[Record]) -> None:
        """Queue records again as they were (after an abort, from the committed offsets)."""
        for record in records:
            self._queued.setdefault(TP(record.topic, record.partition), []).append(record)

    async def process(self) -> None:
        """Everything queued, as one fetch, through the batch path; transactions stay open."""
        records, self._queued = self._queued, {}
        consumer = SimpleNamespace(app=self._view, flow_active=True, should_stop=False)
        await batch_path.run(consumer, records, fresh=lambda tp: True)

    async def commit(self) -> list[SentBatch]:
        """The open transactions commit: returns the record batches they made visible."""
        gate = gate_of(self.app)
        await gate.drain()  # as the commit does: every record batch delivered first
        visible: list[SentBatch] = []
        for producer in self.producers.values():
            visible += producer.open
            producer.open = []
        for topic, _, records in visible:
            (self.changelogs if topic in self._changelog_topics else self.sent)[topic].extend(records)
        committed = {tp.partition for tp in gate.processed}
        for store in self._stores:
            store.commit(committed)
        self._check_changelogs()
        return visible

    def abort(self) -> None:
        """The open transactions abort: their outputs are never seen, their writes discarded."""
        for producer in self.producers.values():
            producer.open = []
        for store in self._stores:
            store.discard(range(self.app.conf.topic_partitions))

    async def run(self) -> list[SentBatch]:
        """``process`` then ``commit``."""
        await self.process()
        return await self.commit()

    def _check_changelogs(self) -> None:
        """Committed state is what its committed changelog restores: nothing else."""
        for topic, table in self._changelog_topics.items():
            restored: dict[int, dict[bytes, bytes]] = defaultdict(dict)
            for record in self.changelogs[topic]:
                if record["value"] is None:
                    restored[record["partition"]].pop(record["key"], None)
                else:
                    restored[record["partition"]][record["key"]] = record["value"]
            assert committed(table) == {p: rows for p, rows in restored.items() if rows}, table.name


def committed(table: Any) -> dict[int, dict[bytes, bytes]]:
    """What RocksDB holds for ``table`` (pending writes excluded), by partition."""
    store = table.data
    out = {}
    for partition, db in compat.open_dbs(store).items():
        if found := dict(store._visible_items(db)):
            out[partition] = found
    return out


def rows(table: Any) -> dict[str, Any]:
    """``table``'s committed state, all partitions: {key: parsed JSON}."""
    out: dict[str, Any] = {}
    for found in committed(table).values():
        for key, value in found.items():
            assert key.decode() not in out, f"{key!r} in two partitions of {table.name}"
            out[key.decode()] = orjson.loads(value)
    return out


def consumed(topic: str) -> int:
    """How many records of `topic` the accounting table has seen, all partitions."""
    from app import app

    accounting = app.runtime.tables.accounting
    return sum(v["consumed"] for k, v in rows(accounting).items() if k.rsplit("/", 1)[0] == topic)


def accounted(topic_counts: dict[str, int]) -> None:
    """Every record put was accounted for, once."""
    assert {t: consumed(t) for t in topic_counts} == topic_counts

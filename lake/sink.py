"""The sink: its own consumer group, read_committed, files first and offsets after.

Where a partition resumes is read from the files, as Connect's HDFS sink does:
the newest published batch (its name's range) is redone, to its recorded last
offset, and what follows continues. A crash at any point therefore leaves
either a batch unpublished (redone from its first offset: nothing committed
past it) or published (rewritten under the same names, same rows). The
committed offset follows each publish, for lag and tools; it never decides.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition

from app.admin import client_kwargs
from config import Settings
from lake import naming, rows, schema, store
from lake.batch import Batch, by_day
from lake.metrics import SinkMetrics

log = logging.getLogger(__name__)

FETCH_MAX = 20_000  # records per fetch


@dataclass
class _Partition:
    batch: Batch
    published: int = 0  # the next offset not yet in a file
    start: int | None = None  # a redo's first offset: the first record read must be it


class Sink:
    def __init__(self, settings: Settings, metrics: SinkMetrics | None = None) -> None:
        self.settings = settings
        self.fs, self.root = store.filesystem(settings)
        self.kinds = {settings.topic_ad_ledger: rows.LEDGER, settings.topic_orders: rows.ORDERS}
        self.group = f"{settings.app_id}-lake"
        self.metrics = metrics or SinkMetrics()
        self.parts: dict[TopicPartition, _Partition] = {}
        self.consumer: AIOKafkaConsumer | None = None
        # Held while a fetch is taken in and a batch published, and by a rebalance:
        # a partition is never handed on, or resumed from the files, mid-publish.
        self.lock = asyncio.Lock()
        self.rebalances = 0

    def _new_batch(self) -> Batch:
        return Batch(self.settings.lake_rotate_records, self.settings.lake_rotate_seconds)

    async def run(self, stop: asyncio.Event) -> None:
        consumer = self.consumer = AIOKafkaConsumer(
            **client_kwargs(self.settings), group_id=self.group, isolation_level="read_committed",
            enable_auto_commit=False, auto_offset_reset="earliest", max_partition_fetch_bytes=4 << 20,
            # Static membership: a sink restarted after a crash takes its partitions
            # back at once, and a second one under the same name fences the first.
            group_instance_id=f"{self.group}@{socket.gethostname()}",
            session_timeout_ms=int(self.settings.session_timeout * 1000),
            heartbeat_interval_ms=int(self.settings.session_timeout * 200),
        )  # fmt: skip
        consumer.subscribe(list(self.kinds), listener=_Listener(self))
        await consumer.start()
        try:
            while not stop.is_set():
                seen = self.rebalances
                fetched = await consumer.getmany(timeout_ms=200, max_records=FETCH_MAX)
                async with self.lock:
                    if seen != self.rebalances:  # fetched before the rebalance's seeks, maybe
                        self._seek_again()
                        continue
                    now = time.monotonic()
                    for tp, records in fetched.items():
                        await self._take(tp, records, now)
                    for tp, part in list(self.parts.items()):
                        if part.batch.due(now):
                            await self._flush(tp)
                    self._observe(now)
        finally:
            await consumer.stop()

    async def _take(self, tp: TopicPartition, records: list, now: float) -> None:
        part = self.parts.get(tp)
        if part is None:  # revoked while fetched
            return
        kind, batch = self.kinds[tp.topic], part.batch
        assert self.consumer is not None
        for r in records:
            # A seek takes effect some fetches later: records fetched from the
            # position before it are told by their offsets, and read again.
            if part.start is not None:
                if r.offset != part.start:
                    self.consumer.seek(tp, part.start)
                    return
                part.start = None
            elif batch.rows and r.offset <= batch.last:
                log.warning(
                    "lake: %s went back from %d to %d: its batch is read again", tp, batch.last, r.offset
                )
                part.start = batch.first
                batch.clear()
                self.consumer.seek(tp, part.start)
                return
                await self._flush(tp)
            if kind == rows.LEDGER:
                row = rows.ledger_row(tp.partition, r.offset, r.timestamp, r.value)
            else:
                row = rows.order_row(tp.partition, r.offset, r.timestamp, r.key, r.value)
            batch.add(r.offset, row, now)
            if batch.due(now):
                await self._flush(tp)

    async def _flush(self, tp: TopicPartition) -> None:
        part = self.parts[tp]
        span, batch_rows = part.batch.take()
        kind = self.kinds[tp.topic]
        written = await asyncio.to_thread(self._publish, tp, kind, span, batch_rows)
        log.info("lake: %s published %s", tp, span)
        # Only now: every file of the batch is published.
        assert self.consumer is not None
        await self.consumer.commit({tp: span.last + 1})
        part.published = span.last + 1
        m = self.metrics
        m.files.labels(tp.topic).inc(len(written))
        m.bytes.labels(tp.topic).inc(sum(written))
        m.rows.labels(tp.topic).inc(len(batch_rows))

    def _publish(self, tp: TopicPartition, kind: str, span: naming.Span, batch_rows: list) -> list[int]:
        sizes = []
        for day, day_rows in by_day(batch_rows).items():
            data = store.parquet_bytes(schema.to_table(kind, day_rows))
            store.publish(self.fs, naming.file_path(self.root, tp.topic, day, tp.partition, span), data)
            sizes.append(len(data))
        return sizes

    def newest(self, tp: TopicPartition) -> naming.Span | None:
        """The partition's newest published batch, read from the store (a thread's work)."""
        store.remove_temporaries(self.fs, self.root, tp.topic, tp.partition)
        paths = store.listing(self.fs, naming.partition_glob(self.root, tp.topic, tp.partition))
        return naming.newest_span(paths, tp.topic, tp.partition)

    def _seek_again(self) -> None:
        assert self.consumer is not None
        for tp, part in self.parts.items():
            if not part.batch.rows:
                self.consumer.seek(tp, part.published)

    async def resume(self, tp: TopicPartition) -> None:
        """Assigned a partition: read on from its newest published batch (redone), else from the start."""
        assert self.consumer is not None
        span = await asyncio.to_thread(self.newest, tp)
        log.info("lake: %s assigned, newest batch %s", tp, span)
        batch = self._new_batch()
        if span is None:
            self.parts[tp] = _Partition(batch)
            if await self.consumer.committed(tp) is not None:  # a lake emptied since: all again
                await self.consumer.seek_to_beginning(tp)
            return  # (no offset committed: the group's reset is to the earliest)
        batch.redo_until = span.last
        log_start = (await self.consumer.beginning_offsets([tp]))[tp]
        # The batch's first record is gone if retention passed it: the redo starts at the log's start.
        self.parts[tp] = _Partition(batch, span.first, span.first if log_start <= span.first else None)
        self.consumer.seek(tp, max(span.first, log_start))

    def _observe(self, now: float) -> None:
        assert self.consumer is not None
        oldest = 0.0
        for tp, part in self.parts.items():
            oldest = max(oldest, part.batch.age(now))
            stable = self.consumer.last_stable_offset(tp)
            if stable is not None:
                self.metrics.lag.labels(tp.topic, str(tp.partition)).set(max(0, stable - part.published))
        self.metrics.oldest.set(oldest)


class _Listener(ConsumerRebalanceListener):
    def __init__(self, sink: Sink) -> None:
        self.sink = sink

    async def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        async with self.sink.lock:
            self.sink.rebalances += 1
            for tp in revoked:  # an unpublished batch is the next owner's to redo
                self.sink.parts.pop(tp, None)

    async def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        async with self.sink.lock:
            self.sink.rebalances += 1
            for tp in assigned:
                await self.sink.resume(tp)

"""The notify loop on aiokafka: fetch, hand records to their lanes, commit what is done.

Its own consumer group (``APP_ID-notify``), ``read_committed``, no auto-commit. Every commit is
the lowest incomplete offset per partition with the completed offsets above it in the metadata
(``notify.encoding``); an assignment reads that back and skips what was done.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import aiohttp
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError
from aiokafka.structs import OffsetAndMetadata

from app.admin import client_kwargs, ensure_topics
from config import Settings
from notify import encoding
from notify.delivery import Policy
from notify.metrics import NotifyMetrics
from notify.offsets import PartitionOffsets
from notify.scheduler import Mode, Scheduler, lane
from notify.worker import Job, Worker

log = logging.getLogger(__name__)


def notify_topics(settings: Settings) -> list[str]:
    names = [t.strip() for t in settings.notify_topics.split(",") if t.strip()]
    return names or [settings.topic_order_events, settings.topic_ad_budget_status]


def group_id(settings: Settings) -> str:
    return f"{settings.app_id}-notify"


class _Topic:
    """What ``ensure_topics`` reads of a declared topic (the DLQ is declared in app.topics too)."""

    compacting = False

    def __init__(self, name: str) -> None:
        self.name = name

    def get_topic_name(self) -> str:
        return self.name


class Notifier:
    def __init__(self, settings: Settings, metrics: NotifyMetrics | None = None) -> None:
        self.settings = s = settings
        self.mode = Mode(s.notify_mode)
        self.group = group_id(s)
        self.metrics = metrics or NotifyMetrics()
        self.policy = Policy(
            s.notify_max_attempts, s.notify_timeout, s.notify_backoff_initial, s.notify_backoff_max
        )
        self.scheduler: Scheduler[Job] = Scheduler()
        self.metrics.waiting.set_function(lambda: self.scheduler.waiting)  # read when scraped
        self.parts: dict[TopicPartition, PartitionOffsets] = {}
        self.outstanding = 0  # records fetched and not done (running or waiting behind their lane)
        self.limit = s.notify_max_in_flight
        self.batch = max(1, min(self.limit // 10, 200))  # room fetched at once when at the limit
        self.per_partition: dict[TopicPartition, int] = {}
        self._room = asyncio.Event()
        self._tasks: dict[asyncio.Task[None], TopicPartition] = {}  # lane tasks, by partition
        self._committed: dict[TopicPartition, tuple[int, str]] = {}
        self._revoking: set[TopicPartition] = set()
        self._failure: BaseException | None = None
        self._stop = asyncio.Event()

    def stop(self) -> None:
        self._stop.set()

    async def run(self) -> None:
        s = self.settings
        await ensure_topics(s, [_Topic(s.topic_notify_dlq)])
        kw = client_kwargs(s)
        self.consumer = AIOKafkaConsumer(
            group_id=self.group, enable_auto_commit=False, isolation_level="read_committed",
            auto_offset_reset="earliest", session_timeout_ms=int(s.session_timeout * 1000), **kw,
        )  # fmt: skip
        self.producer = AIOKafkaProducer(acks="all", enable_idempotence=True, **kw)
        self.admin = AIOKafkaAdminClient(**kw)
        await self.admin.start()
        await self.producer.start()
        await self.consumer.start()
        self.consumer.subscribe(notify_topics(s), listener=_Listener(self))
        connector = aiohttp.TCPConnector(limit=s.notify_max_in_flight)
        try:
            async with aiohttp.ClientSession(connector=connector) as session:
                self.worker = Worker(s, self.policy, self.metrics, session, self.producer)
                await self._loop()
        finally:
            for task in self._tasks:
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
            try:
                await self._commit()
            except KafkaError as exc:
                log.warning("last commit failed (%s): the calls since the previous one will repeat", exc)
            await self.consumer.stop()
            await self.producer.stop()
            await self.admin.close()
        if self._failure is not None:
            raise self._failure

    async def _loop(self) -> None:
        interval = self.settings.notify_commit_interval
        limit = self.settings.notify_max_in_flight
        next_commit = time.monotonic() + interval
        while not self._stop.is_set() and self._failure is None:
            room = limit - self.outstanding
            # Each partition gets its share of the limit, so a partition whose records filled
            # it cannot keep the others waiting (in partition mode it would drain at one call at a time).
            share = max(1, limit // max(1, len(self.consumer.assignment())))
            full = room < self.batch
            self._pause(full, share)
            if full:
                # Woken once a batch's worth of records is done, not at every one: a fetch,
                # a pause/resume and a wake-up per record cost as much as a call.
                self._room.clear()
                try:
                    await asyncio.wait_for(self._room.wait(), max(0.0, next_commit - time.monotonic()))
                except TimeoutError:
                    pass
            else:
                batch = await self.consumer.getmany(timeout_ms=50, max_records=min(room, share))
                for tp, records in batch.items():
                    for record in records:
                        self._take(tp, record)
            if time.monotonic() >= next_commit:
                try:
                    await self._commit()
                except KafkaError as exc:  # a rebalance under way: the next round commits again
                    log.warning("commit failed (%s); retried after the rebalance", exc)
                next_commit = time.monotonic() + interval

    def _pause(self, full: bool, share: int) -> None:
        assigned = self.consumer.assignment()
        held = set(assigned) if full else {tp for tp in assigned if self.per_partition.get(tp, 0) >= share}
        paused = self.consumer.paused()
        if held - paused:
            self.consumer.pause(*(held - paused))
        if paused - held:
            self.consumer.resume(*(paused - held))
        self.metrics.paused.set(len(held))

    def _take(self, tp: TopicPartition, record: Any) -> None:
        state = self.parts.get(tp)
        if state is None or tp in self._revoking:  # revoked while the fetch was on its way
            return
        state.fetched(record.offset)
        if state.is_done(record.offset):
            self.metrics.records.labels(tp.topic, "skipped").inc()
            return
        self.outstanding += 1
        self.per_partition[tp] = self.per_partition.get(tp, 0) + 1
        job = Job(tp, record, state)
        key = lane(self.mode, tp.topic, tp.partition, record.key, record.offset)
        if self.scheduler.submit(key, job):
            task = asyncio.create_task(self._run_lane(key, job))
            self._tasks[task] = tp
            task.add_done_callback(self._done)

    async def _run_lane(self, key: Any, job: Job | None) -> None:
        while job is not None:
            try:
                await self.worker.process(job)
            except asyncio.CancelledError:  # revoked and not done in time: the new owner repeats it
                while job is not None:  # the lane is left idle, should its partition come back
                    self._forget(job.tp, 1)
                    job = self.scheduler.finish(key)
                raise
            job.state.complete(job.record.offset)
            self._forget(job.tp, 1)
            job = self.scheduler.finish(key)

    def _forget(self, tp: TopicPartition, records: int) -> None:
        self.outstanding -= records
        self.per_partition[tp] = self.per_partition.get(tp, 0) - records
        if self.limit - self.outstanding >= self.batch:
            self._room.set()

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.pop(task, None)
        if not task.cancelled() and task.exception() is not None:
            self._failure = task.exception()  # e.g. the DLQ unwritable: stop before committing past it
            log.error("notification failed, stopping", exc_info=self._failure)
            self._room.set()

    async def _commit(self, only: set[TopicPartition] | None = None) -> None:
        offsets = {}
        for tp, state in list(self.parts.items()):
            if state.base is None or (only is not None and tp not in only):
                continue
            try:
                # Trailing transaction markers; not while revoking: the records ``_take`` skips
                # then are behind the position too, and must not count as done.
                if tp not in self._revoking:
                    state.passed(await self.consumer.position(tp))
            except KafkaError:
                pass
            metadata = encoding.encode(
                state.base, state.completed_above, self.settings.notify_metadata_max_bytes
            )
            if metadata is None:
                self.metrics.metadata_fallbacks.inc()
                metadata = ""
            self.metrics.gap.labels(tp.topic, str(tp.partition)).set(state.gap)
            if self._committed.get(tp) != (state.base, metadata):
                offsets[tp] = OffsetAndMetadata(state.base, metadata)
        if offsets:
            await self.consumer.commit(offsets)
            self._committed.update((tp, (om.offset, om.metadata)) for tp, om in offsets.items())

    async def _assigned(self, assigned: set[TopicPartition]) -> None:
        committed = await self.admin.list_consumer_group_offsets(self.group, partitions=list(assigned))
        for tp in assigned:
            om = committed.get(tp)
            if om is None or om.offset < 0:
                self.parts[tp] = PartitionOffsets()
                continue
            try:
                done = encoding.decode(om.offset, om.metadata or "")
            except encoding.MetadataError as exc:
                log.warning(
                    "%s: commit metadata unreadable (%s): resending above offset %d", tp, exc, om.offset
                )
                done = set()
            self.parts[tp] = PartitionOffsets(om.offset, done)
            self._committed[tp] = (om.offset, om.metadata or "")
            self.consumer.seek(tp, om.offset)

    async def _revoked(self, revoked: set[TopicPartition]) -> None:
        # Records waiting behind their key are dropped; the calls in flight may finish (up to
        # NOTIFY_TIMEOUT, within the rebalance timeout) and are committed, so the new owner
        # neither repeats them nor calls a key's next record while this one's call is still out.
        self._revoking |= revoked  # records of theirs still arriving are not taken
        for tp in revoked:
            self._forget(tp, self.scheduler.drop((tp.topic, tp.partition)))
        running = [task for task, tp in self._tasks.items() if tp in revoked]
        if running:
            drain = min(self.settings.notify_timeout, self.settings.session_timeout / 2)
            _, late = await asyncio.wait(running, timeout=drain)
            for task in late:
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)
        try:
            await self._commit(only=revoked)
        except KafkaError as exc:
            log.warning("commit on revocation failed (%s): the new owner repeats calls since the last", exc)
        for tp in revoked:
            self.parts.pop(tp, None)
            self._committed.pop(tp, None)
        self._revoking -= revoked
        self._room.set()


class _Listener(ConsumerRebalanceListener):
    def __init__(self, notifier: Notifier) -> None:
        self.notifier = notifier

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        await self.notifier._revoked(set(revoked))

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        await self.notifier._assigned(set(assigned))

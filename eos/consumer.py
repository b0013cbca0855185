"""Consumer fixes: each partition is handed out once, in order, from its committed offset.

Also: commits pass through the commit gate; recovery sees real highwaters.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from faust.transport.drivers.aiokafka import AIOKafkaConsumerThread, Consumer
from faust.types import TP

from domain.errors import StreamsError
from eos import batch_path, compat
from eos.gate import BatchFailed, gate_of


class Fetched(dict[TP, list[Any]]):
    """A fetch's records by partition, with each stream partition's epoch at hand-out."""

    def __init__(self) -> None:
        super().__init__()
        self.epochs: dict[TP, int] = {}


class StaleCommittedOffset(StreamsError, RuntimeError):
    """The group reports less for a partition than this process committed."""


class ContiguousFetchThread(AIOKafkaConsumerThread):
    """Defect 7 (records lost or handed out twice around a rebalance): after an
    assignment Faust resumes the stream partitions *before* it seeks them to
    their committed offsets, and aiokafka's ``seek_to_committed`` seeks one
    partition at a time with a round trip between each. Records fetched from
    the positions before the seek are handed out, then fetched again after it;
    Faust's own guard (``_read_offset``) is moved by both paths and drops
    records that were never processed. With kill -9 in the middle of traffic
    this committed offsets past records whose effects were never written.

    Here, under exactly_once, the thread that owns the aiokafka consumer keeps
    the next offset to hand out per stream partition. Nothing is handed out
    until this assignment's seek; the seek fetches every committed offset first
    and then moves all positions with no await in between; afterwards each
    record is handed out only if it is at or past the next offset (records
    before it were handed out already). Changelog partitions pass through:
    recovery seeks and reads them itself.

    Faust seeks more than once per assignment (when its fetcher finds the flow
    stopped, and again when recovery completes). A second seek back to the
    committed offset would hand out again records already processed in the
    open transaction, and they would be applied twice on top of their own
    uncommitted state (seen as one batch of category totals counted twice).
    So a seek moves only partitions that have no next offset yet, that is,
    the ones not handed out since this assignment began. Every reset of a
    partition's next offset moves its *epoch*: records handed out in an older
    epoch are stale (eos.batch_path drops them; they are handed out again).

    Defect 5 (recovery under exactly_once): stock Faust takes the highwater of
    a changelog from the consumer's cached last stable offset, which aiokafka
    reports as None until the partition's first fetch; Faust turns that into
    -1 and recovery either skips the partition or raises ConsistencyError. A
    ListOffsets request made by a read_committed consumer answers with the last
    stable offset.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._next: dict[TP, int] = {}
        self.epochs: dict[TP, int] = {}  # moves at every reset or seek of the partition

    def _create_worker_consumer(self, transport: Any) -> Any:
        """Faust hard-codes aiokafka's ``fetch_max_wait_ms`` at 1500. aiokafka
        has one fetch in flight per broker, and leaves out of it the partitions
        whose records are still buffered: when the worker takes more than 0.1 s
        (aiokafka's prefetch backoff) to hand a fetch out, its next fetch holds
        only the idle partitions, the broker parks it for the whole wait, and
        the busy partitions are not fetched meanwhile. On a slower machine that
        was the end-to-end latency: p50 1.5 s at 4,000 clicks/s, 0.4 s with
        100 ms (``python -m bench``, latency phase). FETCH_MAX_WAIT sets it."""
        consumer = super()._create_worker_consumer(transport)
        app: Any = self.consumer.app
        compat.set_fetch_max_wait(consumer, app.settings.fetch_max_wait)
        return consumer

    def _reset(self, tps: Iterable[TP]) -> None:
        for tp in tps:
            self._next.pop(tp, None)
            self.epochs[tp] = self.epochs.get(tp, 0) + 1

    def _guarded(self) -> bool:
        return bool(self.consumer.app.in_transaction)

    def _is_changelog(self, tp: Any) -> bool:
        return tp.topic in self.consumer.app.tables.changelog_topics

    async def _highwaters(self, partitions: list[TP]) -> Mapping[TP, int]:
        highwaters: Mapping[TP, int] = await compat.kafka_consumer(self).end_offsets(partitions)
        return highwaters

    def on_partitions_revoked(self, revoked: set[TP]) -> Any:
        self._reset(revoked)
        return super().on_partitions_revoked(revoked)

    async def on_partitions_assigned(self, assigned: set[TP], generation_id: int = 0) -> None:
        self._reset(assigned)
        await super().on_partitions_assigned(assigned, generation_id)

    async def _seek_wait(self, consumer: Any, partitions: Mapping[TP, int | None]) -> None:
        # Defect 9 (a crash in recovery): after quick successive rebalances
        # Faust's recovery can ask to seek a standby partition to None, which
        # aiokafka rejects ("Offset must be a positive integer") and the worker
        # crashes. None means the position is unknown: read from the start
        # (changelog records are whole values, re-reading them is harmless).
        known = {tp: 0 if offset is None else offset for tp, offset in partitions.items()}
        await super()._seek_wait(consumer, known)

    async def seek_to_committed(self) -> Mapping[TP, int]:
        if not self._guarded():
            return await super().seek_to_committed()
        if not gate_of(self.consumer.app).assignment_ready:
            # Faust's fetcher seeks whenever it finds the flow stopped, also in
            # the middle of a rebalance, before this assignment's producers have
            # made the group's offsets current (eos.transactions). The seek
            # that follows recovery moves these partitions.
            return {}
        try:
            committed: Mapping[TP, int] = await self.call_thread(self._seek_all_to_committed)
            return committed
        except StaleCommittedOffset as exc:
            # Faust logs a failed seek as a warning and goes on; here that would
            # process records twice: stop the worker.
            await self.consumer.app.crash(exc)
            raise

    async def _seek_all_to_committed(self) -> dict[TP, int | None]:
        consumer = compat.kafka_consumer(self)
        tps = [tp for tp in consumer.assignment() if not self._is_changelog(tp) and tp not in self._next]
        committed = {tp: await consumer.committed(tp) for tp in tps}
        ours = gate_of(self.consumer.app).committed
        behind = {tp: (at, ours[tp]) for tp, at in committed.items() if tp in ours and (at or 0) < ours[tp]}
        if behind:
            # eos.transactions restarts every producer at a rebalance so that
            # this cannot happen; if it does, stop rather than process twice.
            raise StaleCommittedOffset(f"group offsets behind this process's commits (group, ours): {behind}")
        never = [tp for tp, offset in committed.items() if offset is None]
        start = dict(committed)
        if never:
            start.update(await consumer.beginning_offsets(never))
        # From here on no await: no fetch is handed out between these seeks.
        for tp, offset in start.items():
            if tp in self._next:  # sought by a seek that ran during our awaits
                continue
            consumer.seek(tp, offset)
            self._next[tp] = offset
            self.epochs[tp] = self.epochs.get(tp, 0) + 1
        return committed

    async def _fetch_records(
        self,
        consumer: Any,
        active_partitions: set[TP],
        timeout: float | None = None,
        max_records: int | None = None,
    ) -> Mapping[TP, list[Any]]:
        records = await super()._fetch_records(consumer, active_partitions, timeout, max_records)
        if not records or not self._guarded():
            return records
        return self._contiguous(records)

    def _contiguous(self, records: Mapping[Any, list[Any]]) -> Fetched:
        out = Fetched()
        for tp, batch in records.items():
            if self._is_changelog(tp):
                out[tp] = batch
                continue
            expected = self._next.get(tp)
            if expected is None:
                continue  # fetched before this assignment's seek: fetched again after it
            fresh = [r for r in batch if r.offset >= expected] if batch[0].offset < expected else batch
            if fresh:
                self._next[tp] = fresh[-1].offset + 1
                out[tp] = fresh
                out.epochs[tp] = self.epochs.get(tp, 0)
        return out


class GatedConsumer(Consumer):
    def _filter_tps_with_pending_acks(self, topics: Any = None) -> Iterator[TP]:
        """Defect 8 (nothing committed when partitions are revoked): Faust drops
        its ack bookkeeping of the revoked partitions *before* it runs the
        rebalance's last commit, which picks partitions from that bookkeeping,
        so the last commit commits nothing. Under exactly_once the open
        transactions then outlive the rebalance: a partition that moves away
        has its processed work aborted and done again (fine), but a partition
        that stays keeps its transaction open across the seek back to the
        committed offset, and commits the records processed before the
        rebalance together with the same records processed again after it.

        Here the partitions to commit are the ones the gate saw processed.
        """
        if not self.app.in_transaction:
            return super()._filter_tps_with_pending_acks(topics)
        return (
            tp
            for tp in list(gate_of(self.app).processed)
            if topics is None or tp in topics or tp.topic in topics
        )

    def _filter_committable_offsets(self, tps: Iterable[TP]) -> dict[TP, int]:
        """Defect 4 (commit gaps): stock Faust derives the offset to commit from
        the acked offsets and the gaps it saw between fetched records, and loses
        track of gaps (commit markers, aborted records) at the head of a fetch
        after every (re)assignment or seek. In a topic written by many
        transactional producers, such as a repartition topic, commits of a
        partition then fall far behind its processing, and the state written
        meanwhile commits with other partitions' offsets: a crash replays
        records whose effects are already committed, counting them twice.

        Under exactly_once each partition is processed in offset order in whole
        batches (eos.gate), so the offset to commit is simply the one after the
        last record processed.
        """
        if not self.app.in_transaction:
            return super()._filter_committable_offsets(tps)
        processed = gate_of(self.app).processed
        assigned = self.assignment()
        offsets = {}
        for tp in tps:
            compat.forget_acks(self, tp)  # bookkeeping replaced by `processed`
            offset = processed.get(tp)
            if offset is not None and tp in assigned and compat.should_commit(self, tp, offset):
                offsets[tp] = offset
        return offsets

    async def on_partitions_revoked(self, revoked: set[TP]) -> None:
        gate_of(self.app).assignment_ready = False  # until the next assignment's producers are fresh
        await super().on_partitions_revoked(revoked)  # waits for batches in flight
        # A partition assigned again starts over from its committed offset:
        # what this process processed past it was never committed.
        gate = gate_of(self.app)
        for tp in revoked:
            gate.processed.pop(tp, None)
        gate.uncommitted = []  # processed before the rebalance's commit and not in it: done again

    async def _wait_next_records(self, timeout: float) -> tuple[Any, Any]:
        """Under exactly_once, records of topics with a batch handler take the
        batch path (eos.batch_path) here; Faust's per-record path gets the rest."""
        records, active = await super()._wait_next_records(timeout)
        app: Any = self.app
        if not records or not app.in_transaction:
            return records, active
        # No filter by the active partitions here (Faust's getmany has one): that
        # set is live, and a partition paused after its records were handed out
        # would lose them; a pause that matters comes with a reset (epochs).
        mine, rest = batch_path.split(self.app, records)
        if mine:
            assert isinstance(records, Fetched)  # exactly_once fetches through ContiguousFetchThread
            epochs, current = records.epochs, compat.consumer_thread(self).epochs
            if await batch_path.run(self, mine, fresh=lambda tp: epochs.get(tp) == current.get(tp)):
                return {}, active  # fetched before a rebalance: like Faust, deliver none of it
        return rest, active

    def partition_count(self, topic: str) -> int | None:
        """Partitions of ``topic`` in the client's metadata (what Faust's
        ``key_partition`` reads); None while the topic is unknown."""
        partitions = compat.metadata_partitions(compat.kafka_consumer(compat.consumer_thread(self)), topic)
        return len(partitions) if partitions else None

    def _new_consumer_thread(self) -> AIOKafkaConsumerThread:
        return ContiguousFetchThread(self, loop=self.loop, beacon=self.beacon)

    async def commit(self, topics=None, start_new_transaction: bool = True) -> bool:  # type: ignore[no-untyped-def]
        if not self.app.in_transaction:
            return await super().commit(topics, start_new_transaction=start_new_transaction)
        gate = gate_of(self.app)
        async with gate.lock:
            try:
                gate.check()
            except BatchFailed as exc:
                await self.app.crash(exc)  # the open transactions abort with the worker
                return False
            await gate.drain()
            return await super().commit(topics, start_new_transaction=start_new_transaction)

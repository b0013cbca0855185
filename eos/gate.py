"""Commits happen between batches, never in the middle of one.

Stock Faust commits on a timer while agents run. Under exactly_once a commit
in the middle of a batch seals that batch's outputs and changelog writes so
far into a transaction with offsets that do not yet include the batch (its
events are acked only at its end); a crash then replays the batch on top of
its own committed effects: the ledger gets an entry twice, a total counts an
order twice. Defect 1 (upstream faust#340) is the same gap from the other
side: changelog writes still queued in Faust's ProducerBuffer when the commit
runs land in the *next* transaction.

The gate: an agent holds it from the start of a batch until every event of
the batch is acked; the commit takes it, then waits until every changelog
record written so far was delivered, and only then commits.

A batch that fails half-way (an exception, or the task cancelled while it
sends) has put part of its outputs into open transactions; the gate then
refuses every later commit, so those transactions can only abort.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from typing import Any

from domain.errors import StreamsError
from eos import compat

log = logging.getLogger(__name__)


class BatchFailed(StreamsError, RuntimeError):
    """A batch failed half-way: nothing of the open transactions may commit."""


def log_failed_batch(exc: BaseException, parts: Iterable[tuple[Any, Sequence[Any]]]) -> None:
    """Name what failed before the worker stops: its records are processed again after the restart."""
    where = ", ".join(
        f"{tp.topic}[{tp.partition}] offsets {records[0].offset}-{records[-1].offset}"
        for tp, records in parts
        if records
    )
    topics = sorted({tp.topic for tp, _ in parts})
    partitions = sorted({tp.partition for tp, _ in parts})
    log.error(
        "batch of %s failed; the worker stops and its open transactions abort", where, exc_info=exc,
        extra={"topic": ",".join(topics), "partition": partitions[0] if len(partitions) == 1 else partitions},
    )  # fmt: skip


class CommitGate:
    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self._changelog: list[asyncio.Future[Any]] = []
        # Next offset to read, per source partition, after what batches processed.
        self.processed: dict[Any, int] = {}
        self.failure: BaseException | None = None
        # Offsets this process committed, per source partition: the group may
        # never report less for a partition we keep (eos.consumer checks).
        self.committed: dict[Any, int] = {}
        # The current assignment's transactional producers are fresh
        # (eos.transactions): only then may its partitions be sought.
        self.assignment_ready = False
        # Per batch processed since the last commit, for the metrics: (the oldest
        # record's timestamp in seconds, dead letters by (topic, reason)).
        self.uncommitted: list[tuple[float, dict[tuple[str, str], int]]] = []

    def fail(self, exc: BaseException) -> None:
        if self.failure is None:
            self.failure = exc

    def check(self) -> None:
        """Raise BatchFailed if a batch failed half-way (before anything commits)."""
        if self.failure is not None:
            raise BatchFailed(f"a batch failed half-way: {self.failure!r}") from self.failure

    def mark_processed(self, events: Sequence[Any]) -> None:
        processed = self.processed
        for event in events:
            msg = event.message
            if msg.offset + 1 > processed.get(msg.tp, -1):
                processed[msg.tp] = msg.offset + 1

    def track(self, fut: asyncio.Future[Any]) -> None:
        self._changelog.append(fut)

    async def drain(self) -> None:
        """Wait until every record batch sent so far reached the broker.

        A batch that did not (aiokafka gives up on it after its timeout, yet
        would still commit the transaction without it) closes the gate.
        """
        while self._changelog:
            futs, self._changelog = self._changelog, []
            try:
                await asyncio.gather(*futs)
            except BaseException as exc:
                self.fail(exc)
                raise


def gate_of(app: Any) -> CommitGate:
    from eos.runtime import runtime_of  # eos.runtime builds on this module

    return runtime_of(app).gate


def _current_generation(app: Any, events: Sequence[Any]) -> list[Any]:
    """Drop events fetched before the latest rebalance.

    Faust's stream skips a message whose generation is not the consumer's
    current one: after a rebalance the consumer seeks back to the committed
    offsets and delivers those records again. ``take_events`` buffers bypass
    that check, so a batch may hold such stale events: processing them would
    count them twice, or run them against tables still being recovered.
    """
    generation = app.consumer_generation_id
    fresh = [e for e in events if e.message.generation_id == generation]
    if len(fresh) != len(events):
        unacked = compat.unacked_messages(app.consumer)  # or a rebalance waits on them
        for event in events:
            if event.message.generation_id != generation:
                unacked.discard(event.message)
    return fresh


@asynccontextmanager
async def atomic_batch(stream: Any, events: Sequence[Any]) -> AsyncIterator[list[Any]]:
    """Process a batch with commits held off; yields the events to process.

    A batch that raises under exactly_once crashes the worker: its outputs are
    already in open transactions, which must abort rather than commit later.
    """
    app = stream.app
    gate = gate_of(app)
    async with gate.lock:
        fresh = _current_generation(app, events) if app.in_transaction else list(events)
        try:
            yield fresh
        except BaseException as exc:
            if app.in_transaction:
                gate.fail(exc)
                if not isinstance(exc, asyncio.CancelledError):
                    by_tp: dict[Any, list[Any]] = {}
                    for event in fresh:
                        by_tp.setdefault(event.message.tp, []).append(event.message)
                    log_failed_batch(exc, by_tp.items())
                    await app.crash(exc)
            raise
        gate.mark_processed(fresh)
        for event in fresh:
            await stream.ack(event)

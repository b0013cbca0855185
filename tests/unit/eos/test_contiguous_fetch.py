"""eos.consumer.ContiguousFetchThread: each stream partition handed out once, in order.

Stock Faust's consumer thread returns whatever aiokafka fetched: records
fetched before the assignment's seek, and the same records again after it
(defect 7). Changelog partitions pass through for recovery.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from faust.types import TP

from eos.consumer import ContiguousFetchThread, StaleCommittedOffset
from eos.gate import gate_of

ORDERS = [TP("orders", p) for p in range(2)]
CHANGELOG = TP("app-seen-changelog", 0)


def thread(next_offsets: dict[TP, int]) -> ContiguousFetchThread:
    t = ContiguousFetchThread.__new__(ContiguousFetchThread)  # no consumer, no OS thread
    t.consumer = SimpleNamespace(
        app=SimpleNamespace(in_transaction=True, tables=SimpleNamespace(changelog_topics={CHANGELOG.topic}))
    )
    t._next = dict(next_offsets)
    t.epochs = {}
    return t


def recs(*offsets: int) -> list[SimpleNamespace]:
    return [SimpleNamespace(offset=o) for o in offsets]


def offsets(out: dict) -> dict[TP, list[int]]:
    return {tp: [r.offset for r in rs] for tp, rs in out.items()}


def test_nothing_is_handed_out_before_the_assignments_seek() -> None:
    t = thread({})
    assert offsets(t._contiguous({ORDERS[0]: recs(5, 6)})) == {}
    assert t._next == {}


def test_records_already_handed_out_are_not_handed_out_again() -> None:
    t = thread({ORDERS[0]: 10, ORDERS[1]: 3})
    out = t._contiguous({ORDERS[0]: recs(8, 9, 10, 11), ORDERS[1]: recs(3, 4)})
    assert offsets(out) == {ORDERS[0]: [10, 11], ORDERS[1]: [3, 4]}
    assert offsets(t._contiguous({ORDERS[0]: recs(10, 11, 12)})) == {ORDERS[0]: [12]}
    assert t._next == {ORDERS[0]: 13, ORDERS[1]: 5}


def test_gaps_from_transaction_markers_pass() -> None:
    t = thread({ORDERS[0]: 10})
    assert offsets(t._contiguous({ORDERS[0]: recs(12, 13)})) == {ORDERS[0]: [12, 13]}
    assert t._next[ORDERS[0]] == 14


def test_changelog_partitions_pass_through_for_recovery() -> None:
    t = thread({})
    assert offsets(t._contiguous({CHANGELOG: recs(0, 1)})) == {CHANGELOG: [0, 1]}


class FakeAioConsumer:
    """Seeks like aiokafka's consumer: an offset that is not a non-negative int is refused."""

    def __init__(self) -> None:
        self.seeks: dict = {}

    def seek(self, tp, offset) -> None:  # type: ignore[no-untyped-def]
        if not isinstance(offset, int) or offset < 0:
            raise ValueError("Offset must be a positive integer")
        self.seeks[tp] = offset

    async def position(self, tp):  # type: ignore[no-untyped-def]
        return self.seeks[tp]


async def test_a_seek_to_an_unknown_offset_reads_from_the_start() -> None:
    t = thread({})
    t.consumer._read_offset = {}
    t.app = SimpleNamespace(conf=SimpleNamespace(broker_request_timeout=5))
    t.log = SimpleNamespace(dev=lambda *a, **k: None)
    aio = FakeAioConsumer()
    await t._seek_wait(aio, {CHANGELOG: None, ORDERS[0]: 7})  # stock: ValueError, the worker crashes
    assert aio.seeks == {CHANGELOG: 0, ORDERS[0]: 7}


class SeekingAioConsumer(FakeAioConsumer):
    def __init__(self, committed: dict) -> None:
        super().__init__()
        self._committed = committed

    def assignment(self) -> set:
        return set(self._committed)

    async def committed(self, tp):  # type: ignore[no-untyped-def]
        return self._committed[tp]


async def test_a_seek_moves_only_partitions_not_handed_out_since_the_assignment() -> None:
    # Faust seeks twice per assignment; the second seek must not hand out again
    # what the first one's records already fed into the open transaction.
    t = thread({})
    aio = SeekingAioConsumer({ORDERS[0]: 4, ORDERS[1]: 7})
    t._ensure_consumer = lambda: aio  # type: ignore[method-assign]
    await t._seek_all_to_committed()
    first = t._contiguous({ORDERS[0]: recs(4, 5)})
    assert offsets(first) == {ORDERS[0]: [4, 5]}
    await t._seek_all_to_committed()  # committed is still 4: records 4, 5 are not processed twice
    assert offsets(t._contiguous({ORDERS[0]: recs(6)})) == {ORDERS[0]: [6]}
    assert first.epochs[ORDERS[0]] == t.epochs[ORDERS[0]]  # the first fetch is still current


async def test_a_reset_makes_records_handed_out_before_it_stale() -> None:
    t = thread({})
    aio = SeekingAioConsumer({ORDERS[0]: 4})
    t._ensure_consumer = lambda: aio  # type: ignore[method-assign]
    await t._seek_all_to_committed()
    before = t._contiguous({ORDERS[0]: recs(4, 5)})
    t._reset({ORDERS[0]})  # a revoke or an assignment
    assert offsets(t._contiguous({ORDERS[0]: recs(6)})) == {}  # nothing until the next seek
    await t._seek_all_to_committed()
    after = t._contiguous({ORDERS[0]: recs(4, 5)})
    assert before.epochs[ORDERS[0]] != t.epochs[ORDERS[0]] == after.epochs[ORDERS[0]]
    assert offsets(after) == {ORDERS[0]: [4, 5]}


async def test_the_group_reporting_less_than_this_process_committed_stops_the_worker() -> None:
    # The group reports a transaction's offsets once its markers are written;
    # seeking to the offsets before them would process its records twice.
    t = thread({})
    gate = gate_of(t.consumer.app)
    gate.committed[ORDERS[0]] = 9  # committed here before the rebalance
    gate.assignment_ready = True
    aio = SeekingAioConsumer({ORDERS[0]: 4, ORDERS[1]: 7})
    t._ensure_consumer = lambda: aio  # type: ignore[method-assign]
    crashes: list[BaseException] = []

    async def crash(exc: BaseException) -> None:
        crashes.append(exc)

    async def call_thread(fn):  # type: ignore[no-untyped-def]
        return await fn()

    t.consumer.app.crash = crash
    t.call_thread = call_thread  # type: ignore[method-assign]
    with pytest.raises(StaleCommittedOffset, match="orders"):
        await t.seek_to_committed()
    assert aio.seeks == {}
    # Faust logs a failed seek as a warning and goes on: the worker must stop itself.
    assert [type(e) for e in crashes] == [StaleCommittedOffset]


async def test_no_seek_before_the_assignments_producers_are_fresh() -> None:
    # Faust's fetcher seeks whenever it finds the flow stopped, also in the middle
    # of a rebalance, before eos.transactions has started this assignment's
    # producers: the group could still report offsets from before a commit.
    t = thread({})
    aio = SeekingAioConsumer({ORDERS[0]: 4})
    t._ensure_consumer = lambda: aio  # type: ignore[method-assign]

    async def call_thread(fn):  # type: ignore[no-untyped-def]
        return await fn()

    t.call_thread = call_thread  # type: ignore[method-assign]
    gate = gate_of(t.consumer.app)
    gate.assignment_ready = False
    assert await t.seek_to_committed() == {}
    assert aio.seeks == {} and t._next == {}
    gate.assignment_ready = True  # set by eos.transactions once the producers are fresh
    assert await t.seek_to_committed() == {ORDERS[0]: 4}
    assert aio.seeks == {ORDERS[0]: 4}


async def test_fetches_wait_at_the_broker_only_as_long_as_fetch_max_wait_says() -> None:
    from app import app

    t = ContiguousFetchThread.__new__(ContiguousFetchThread)  # no OS thread
    t.app, t.consumer = app, app.consumer
    consumer = t._create_worker_consumer(app.transport)  # not started: no broker needed
    assert app.settings.fetch_max_wait == 0.1  # the default
    assert consumer._fetch_max_wait_ms == 100  # Faust's own: 1500
    await consumer.stop()

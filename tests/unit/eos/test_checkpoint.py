"""eos.checkpoint: the one commit; what it commits, what a failure leaves, what it meters."""

from __future__ import annotations

import time
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest
from eos_fakes import FakeConsumer, FakeEvent, FakeSensors, open_store
from faust.types import TP

from app import app as built
from eos.checkpoint import Checkpoint
from eos.gate import BatchFailed
from eos.runtime import gate_of, runtime_of
from eos.store import TransactionalStore
from streaming.batches import _as_current
from streaming.metrics import Metrics

ORDERS_3, ORDERS_4 = TP("orders", 3), TP("orders", 4)


class Tables(dict[str, Any]):
    def __init__(self, *tables: Any) -> None:
        super().__init__((str(i), t) for i, t in enumerate(tables))
        self.on_commits: list[dict[TP, int]] = []

    def on_commit(self, offsets: dict[TP, int]) -> None:
        self.on_commits.append(dict(offsets))


class Producer:
    """The transactional producers of partitions 3 and 4; one may fail to commit."""

    def __init__(self, failing: str = "none", held: tuple[str, ...] = ("app-6x-3", "app-6x-4")) -> None:
        self.failing = failing
        self._transaction_producers = dict.fromkeys(held)
        self.commits: list[dict[str, dict[TP, int]]] = []

    async def commit_transactions(self, offsets: dict, group: str, start_new_transaction: bool) -> None:
        if self.failing in offsets:
            raise RuntimeError("coordinator gone")
        self.commits.append(offsets)


def checkpoint(producer: Producer, *tables: Any) -> tuple[Checkpoint, list[BaseException]]:
    crashes: list[BaseException] = []

    async def crash(exc: BaseException) -> None:
        crashes.append(exc)

    app = SimpleNamespace(
        conf=SimpleNamespace(id="app"),
        consumer=SimpleNamespace(partition_count={"orders": 6}.get),
        crash=crash,
        tables=Tables(*tables),
        producer=producer,
        sensors=FakeSensors(),
        monitor=SimpleNamespace(on_tp_commit=lambda offsets: None),
    )
    return Checkpoint(app, FakeConsumer({ORDERS_3, ORDERS_4})), crashes


def processed(cp: Checkpoint, offsets: dict[TP, int]) -> None:
    gate_of(cp.app).processed.update(offsets)


@pytest.fixture
def store() -> Iterator[TransactionalStore]:
    yield from open_store(built.runtime.tables.budgets, "eos-checkpoint")


async def test_a_failed_commit_closes_the_gate_so_nothing_commits_on_top_of_stale_state() -> None:
    cp, crashes = checkpoint(Producer(failing="app-6x-4"))
    processed(cp, {ORDERS_3: 10, ORDERS_4: 20})
    assert await cp.commit() is False
    assert [str(e) for e in crashes] == ["coordinator gone"]
    with pytest.raises(BatchFailed):
        gate_of(cp.app).check()
    assert await cp.commit() is False  # the next one stops at the gate
    assert [type(e) for e in crashes] == [RuntimeError, BatchFailed]


async def test_a_commit_records_the_offsets_it_committed_for_the_seek_tripwire_and_for_faust() -> None:
    cp, _ = checkpoint(Producer())
    processed(cp, {ORDERS_3: 10, ORDERS_4: 20})
    cp.consumer._acked[ORDERS_3] = [7, 8, 9]
    assert await cp.commit() is True
    assert gate_of(cp.app).committed == {ORDERS_3: 10, ORDERS_4: 20}
    assert dict(cp.consumer._committed_offset) == {ORDERS_3: 10, ORDERS_4: 20}
    assert cp.consumer._acked[ORDERS_3] == []  # Faust's ack bookkeeping does not grow
    assert cp.app.tables.on_commits == [{ORDERS_3: 10, ORDERS_4: 20}]


async def test_only_assigned_partitions_moved_past_the_last_commit_are_committed() -> None:
    producer = Producer()
    cp, _ = checkpoint(producer)
    processed(cp, {ORDERS_3: 10, TP("orders", 0): 5})  # partition 0 is not (or no longer) ours
    assert await cp.commit() is True
    assert producer.commits == [{"app-6x-3": {ORDERS_3: 10}}]
    assert await cp.commit() is False  # nothing processed since
    assert producer.commits == [{"app-6x-3": {ORDERS_3: 10}}]
    processed(cp, {ORDERS_4: 3})
    assert await cp.commit(topics={ORDERS_3}) is False  # limited to partitions with nothing new
    assert await cp.commit(topics={"orders"}) is True
    assert producer.commits[-1] == {"app-6x-4": {ORDERS_4: 3}}


async def test_table_writes_become_durable_only_for_the_transactions_that_committed(store) -> None:  # type: ignore[no-untyped-def]
    # Partition 4's transaction has no producer (a rebalance took it): its offsets and
    # its writes are not committed, partition 3's are.
    cp, _ = checkpoint(Producer(held=("app-6x-3",)), SimpleNamespace(data=store))
    for partition in (3, 4):
        with _as_current(FakeEvent(partition)):
            store._set(b"k", str(partition).encode())
    processed(cp, {ORDERS_3: 10, ORDERS_4: 20})
    assert await cp.commit() is True
    assert store._db_for_partition(3).get(b"k") == b"3"
    assert store._db_for_partition(4).get(b"k") is None
    assert store.pending_partitions() == [4]
    assert gate_of(cp.app).committed == {ORDERS_3: 10}


async def test_a_failed_commit_forgets_the_pending_writes(store) -> None:  # type: ignore[no-untyped-def]
    cp, _ = checkpoint(Producer(failing="app-6x-4"), SimpleNamespace(data=store))
    with _as_current(FakeEvent(3)):
        store._set(b"k", b"3")
    processed(cp, {ORDERS_3: 10, ORDERS_4: 20})
    assert await cp.commit() is False
    assert store.pending_partitions() == []
    assert store._db_for_partition(3).get(b"k") is None


def metered(cp: Checkpoint) -> Metrics:
    metrics = runtime_of(cp.app).metrics = Metrics(cp.app)
    return metrics


async def test_a_failed_commit_counts_one_abort_and_no_commit() -> None:
    cp, _ = checkpoint(Producer(failing="app-6x-4"))
    metrics = metered(cp)
    processed(cp, {ORDERS_3: 10, ORDERS_4: 20})
    assert await cp.commit() is False
    assert metrics.registry.get_sample_value("commerce_aborts_total") == 1
    assert metrics.registry.get_sample_value("commerce_commits_total") == 0


async def test_a_commit_is_timed_once_with_the_age_and_dead_letters_of_each_batch_it_holds() -> None:
    cp, _ = checkpoint(Producer())
    metrics = metered(cp)
    gate = gate_of(cp.app)
    gate.uncommitted = [(time.time() - 3, {("orders", "bad_json"): 2}), (time.time(), {})]
    processed(cp, {ORDERS_3: 10, ORDERS_4: 20})
    assert await cp.commit() is True
    sample = metrics.registry.get_sample_value
    assert sample("commerce_commits_total") == 1  # one round, two transactions
    assert sample("commerce_commit_seconds_count") == 1
    assert sample("commerce_end_to_end_seconds_count") == 2  # one per batch, not per record
    assert sample("commerce_end_to_end_seconds_bucket", {"le": "2.5"}) == 1  # the batch 3 s old is not
    assert sample("commerce_dead_letters_by_reason_total", {"topic": "orders", "reason": "bad_json"}) == 2
    assert gate.uncommitted == []  # counted once: the next commit does not see them again

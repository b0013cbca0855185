"""eos.transactions: stable transactional ids; a failed commit closes the gate; commits and aborts metered."""

from __future__ import annotations

import logging
import time
from types import SimpleNamespace

import pytest
from faust.types import TP

from eos.gate import BatchFailed, gate_of
from eos.runtime import runtime_of
from eos.transactions import CommittingTransactionManager, SourceTransactionManager, transactional_id_for
from streaming.metrics import Metrics


def app_with(groups: dict[str, int]) -> SimpleNamespace:
    counts = {"orders": 6, "ad-clicks": 6, "app-budgets-changelog": 6, "app-__assignor-__leader": 1}
    return SimpleNamespace(
        conf=SimpleNamespace(id="app"),
        consumer=SimpleNamespace(partition_count=counts.get),
        assignor=SimpleNamespace(group_for_topic=groups.__getitem__, is_standby=lambda tp: tp.partition == 5),
    )


def test_the_id_does_not_follow_the_assignors_group_numbering() -> None:
    # Faust numbers co-partitioned groups by partition count at each assignment,
    # skipping topics missing from the metadata: the same inputs can be group 0, then 1.
    without_leader = app_with({"orders": 0, "ad-clicks": 0})
    with_leader = app_with({"app-__assignor-__leader": 0, "orders": 1, "ad-clicks": 1})
    assert transactional_id_for(without_leader, "orders", 3) == transactional_id_for(with_leader, "orders", 3)
    # co-partitioned inputs and their changelogs share the partition's transaction
    assert transactional_id_for(with_leader, "ad-clicks", 3) == transactional_id_for(with_leader, "orders", 3)
    assert transactional_id_for(with_leader, "app-budgets-changelog", 3) == "app-6x-3"
    assert transactional_id_for(with_leader, "app-__assignor-__leader", 0) != "app-6x-0"


def test_producers_started_and_stopped_at_a_rebalance_use_the_same_ids() -> None:
    manager = SourceTransactionManager.__new__(SourceTransactionManager)  # no transport needed
    manager.app = app_with({"app-__assignor-__leader": 0, "orders": 1, "ad-clicks": 1})
    tps = {TP("orders", 3), TP("ad-clicks", 3), TP("orders", 4), TP("orders", 5)}  # 5 is a standby
    assert manager._tps_to_transactional_ids(tps) == {"app-6x-3", "app-6x-4"}
    # a topic not in the metadata yet (the leader topic just created) gets no producer yet
    assert manager._tps_to_transactional_ids({TP("app-new-topic", 0), TP("orders", 3)}) == {"app-6x-3"}


class FailingProducer:
    """Commits every transaction but one."""

    def __init__(self, failing: str) -> None:
        self.failing = failing
        self._transaction_producers = {"app-6x-3": object(), "app-6x-4": object()}

    async def commit_transactions(self, offsets: dict, group: str, start_new_transaction: bool) -> None:
        if self.failing in offsets:
            raise RuntimeError("coordinator gone")


async def test_a_failed_commit_closes_the_gate_so_nothing_commits_on_top_of_stale_state() -> None:
    crashes: list[BaseException] = []

    async def crash(exc: BaseException) -> None:
        crashes.append(exc)

    manager = CommittingTransactionManager.__new__(CommittingTransactionManager)
    manager.app = app_with({"orders": 1})
    manager.app.crash = crash
    manager.app.tables = {}
    manager.producer = FailingProducer("app-6x-4")
    assert await manager.commit({TP("orders", 3): 10, TP("orders", 4): 20}) is False
    assert [str(e) for e in crashes] == ["coordinator gone"]
    with pytest.raises(BatchFailed):
        gate_of(manager.app).check()


class RecordingProducer:
    def __init__(self, held: set[str]) -> None:
        self._transaction_producers = dict.fromkeys(held)
        self.calls: list[tuple[str, str]] = []

    async def stop_transaction(self, tid: str) -> None:
        self.calls.append(("stop", tid))
        self._transaction_producers.pop(tid, None)

    async def maybe_begin_transaction(self, tid: str) -> None:
        self.calls.append(("begin", tid))
        self._transaction_producers[tid] = None


async def test_a_rebalance_starts_a_fresh_producer_even_for_partitions_kept() -> None:
    # Committing returns once the commit is decided, before its markers are
    # written: the group's committed offsets and the changelog's last stable
    # offset can still show the transaction before. Only a fresh InitProducerId
    # for the id waits for the markers, so a kept partition gets one as well.
    manager = SourceTransactionManager.__new__(SourceTransactionManager)
    manager.app = app_with({"orders": 1})
    manager.log = logging.getLogger("test")
    manager.producer = RecordingProducer({"app-6x-3", "app-6x-4"})
    kept, new = {TP("orders", 3)}, {TP("orders", 0)}
    gate_of(manager.app).assignment_ready = False  # the revoke cleared it
    await manager.on_rebalance(assigned=kept | new, revoked={TP("orders", 4)}, newly_assigned=new)
    assert gate_of(manager.app).assignment_ready  # partitions may be sought from now on
    calls = manager.producer.calls
    assert sorted(c for c in calls if c[0] == "stop") == [("stop", "app-6x-3"), ("stop", "app-6x-4")]
    assert sorted(c for c in calls if c[0] == "begin") == [("begin", "app-6x-0"), ("begin", "app-6x-3")]
    assert calls.index(("stop", "app-6x-3")) < calls.index(("begin", "app-6x-3"))
    assert set(manager.producer._transaction_producers) == {"app-6x-0", "app-6x-3"}


async def test_a_commit_records_the_offsets_it_committed_for_the_seek_tripwire() -> None:
    manager = CommittingTransactionManager.__new__(CommittingTransactionManager)
    manager.app = app_with({"orders": 1})
    manager.app.tables = {}
    manager.producer = FailingProducer("none")  # commits everything
    assert await manager.commit({TP("orders", 3): 10, TP("orders", 4): 20}) is True
    assert gate_of(manager.app).committed == {TP("orders", 3): 10, TP("orders", 4): 20}


def metered(app: SimpleNamespace) -> Metrics:
    metrics = runtime_of(app).metrics = Metrics(app)
    return metrics


async def test_a_failed_commit_counts_one_abort_and_no_commit() -> None:
    async def crash(exc: BaseException) -> None:
        pass

    manager = CommittingTransactionManager.__new__(CommittingTransactionManager)
    manager.app = app_with({"orders": 1})
    manager.app.crash = crash
    manager.app.tables = {}
    manager.producer = FailingProducer("app-6x-4")
    metrics = metered(manager.app)
    assert await manager.commit({TP("orders", 3): 10, TP("orders", 4): 20}) is False
    assert metrics.registry.get_sample_value("commerce_aborts_total") == 1
    assert metrics.registry.get_sample_value("commerce_commits_total") == 0


async def test_a_commit_is_timed_once_with_the_age_and_dead_letters_of_each_batch_it_holds() -> None:
    manager = CommittingTransactionManager.__new__(CommittingTransactionManager)
    manager.app = app_with({"orders": 1})
    manager.app.tables = {}
    manager.producer = FailingProducer("none")
    metrics = metered(manager.app)
    gate = gate_of(manager.app)
    gate.uncommitted = [(time.time() - 3, {("orders", "bad_json"): 2}), (time.time(), {})]
    assert await manager.commit({TP("orders", 3): 10, TP("orders", 4): 20}) is True
    sample = metrics.registry.get_sample_value
    assert sample("commerce_commits_total") == 1  # one round, two transactions
    assert sample("commerce_commit_seconds_count") == 1
    assert sample("commerce_end_to_end_seconds_count") == 2  # one per batch, not per record
    assert sample("commerce_end_to_end_seconds_bucket", {"le": "2.5"}) == 1  # the batch 3 s old is not
    assert sample("commerce_dead_letters_by_reason_total", {"topic": "orders", "reason": "bad_json"}) == 2
    assert gate.uncommitted == []  # counted once: the next commit does not see them again

"""eos.transactions: stable transactional ids; a failed commit closes the gate."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from faust.types import TP

from eos.gate import BatchFailed, gate_of
from eos.transactions import CommittingTransactionManager, SourceTransactionManager, transactional_id_for


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

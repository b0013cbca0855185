"""eos.transactions: transactional ids that stay the same from one generation to the next."""

from __future__ import annotations

from types import SimpleNamespace

from faust.types import TP

from eos.transactions import SourceTransactionManager, transactional_id_for


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

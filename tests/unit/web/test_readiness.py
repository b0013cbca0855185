"""/readyz and table reads wait for assignment, recovery and rebalances (web/readiness.py)."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

from web.readiness import readiness, standby_lag


def fake_app(completed: bool, in_recovery: bool = False, rebalancing: bool = False) -> SimpleNamespace:
    done = asyncio.Event()
    if completed:
        done.set()
    recovery = SimpleNamespace(completed=done, in_recovery=in_recovery, active_remaining_total=lambda: 1234)
    return SimpleNamespace(tables=SimpleNamespace(recovery=recovery), rebalancing=rebalancing)


def test_not_ready_before_the_first_assignment_is_recovered() -> None:
    assert readiness(fake_app(completed=False)) == (False, "waiting for partition assignment")


def test_not_ready_while_tables_restore_or_partitions_move() -> None:
    ready, reason = readiness(fake_app(completed=True, in_recovery=True, rebalancing=True))
    assert not ready and reason == "restoring tables: 1234 changelog offsets to go"
    assert readiness(fake_app(completed=True, rebalancing=True)) == (False, "rebalancing")


def test_ready_once_recovered_and_settled() -> None:
    assert readiness(fake_app(completed=True)) == (True, "ready")


def test_standby_lag_counts_what_the_standby_copies_have_not_read() -> None:
    app = fake_app(completed=True)
    app.tables.recovery.standby_highwaters = {"a": 100, "b": 40, "c": None, "d": 7}
    app.tables.recovery.standby_offsets = {"a": 90, "b": 40, "c": 3, "d": None}
    assert standby_lag(app) == 10

"""Is this worker ready to answer from its tables? (``GET /readyz``, and every table read)

Not while partitions are being (re)assigned, nor while tables restore from their
changelogs: until then local state is partial. Faust's Recovery service says
which: ``completed`` is set once the first assignment's recovery is done,
``app.rebalancing`` covers a rebalance up to its recovery's end.
"""

from __future__ import annotations

from typing import Any


def readiness(app: Any) -> tuple[bool, str]:
    recovery = app.tables.recovery
    if not recovery.completed.is_set():
        return False, "waiting for partition assignment"
    if recovery.in_recovery:
        return False, f"restoring tables: {recovery.active_remaining_total()} changelog offsets to go"
    if app.rebalancing:
        return False, "rebalancing"
    return True, "ready"


def standby_lag(app: Any) -> int:
    """Changelog offsets the standby copies still have to read: 0 means a failover
    onto this worker needs no restore."""
    recovery = app.tables.recovery
    lag = 0
    for tp, highwater in recovery.standby_highwaters.items():
        offset = recovery.standby_offsets.get(tp)
        if highwater is not None and offset is not None:
            lag += max(0, highwater - offset)
    return lag

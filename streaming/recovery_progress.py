"""Log table recovery progress: offsets restored / total, rate, estimated time left.

Faust's Recovery service keeps, per changelog partition it must restore, the
highwater and the offset read so far. A task samples them while a recovery
runs and logs one line per interval, then a summary when it ends. Counts are
changelog offsets, so under exactly-once they include transaction markers.

They count from the offsets the recovery started at (``StartAwareRecovery``
notes them), not from the task's first sample: a fast recovery reads most of
its changelogs in the half second before that sample.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from faust.tables import TableManager
from faust.tables.recovery import Recovery

from eos import compat
from eos.restore import BulkRestoreRecovery

log = logging.getLogger(__name__)
INTERVAL = 5.0


@dataclass
class Progress:
    """One recovery run, from the first sample on."""

    started: float
    base: dict[Any, int] = field(default_factory=dict)  # first offset seen per partition
    restored: int = 0
    remaining: int = 0

    def update(self, offsets: Mapping[Any, int | None], highwaters: Mapping[Any, int | None]) -> None:
        restored = remaining = 0
        for tp, highwater in highwaters.items():
            offset = offsets.get(tp)
            if highwater is None or offset is None:
                continue
            base = self.base[tp] = min(self.base.get(tp, offset), offset)
            restored += offset - base
            remaining += max(0, highwater - offset)
        self.restored, self.remaining = restored, remaining

    @property
    def total(self) -> int:
        return self.restored + self.remaining

    def rate(self, now: float) -> float:
        elapsed = now - self.started
        return self.restored / elapsed if elapsed > 0 else 0.0

    def line(self, now: float) -> str:
        rate = self.rate(now)
        left = f"~{self.remaining / rate:.0f}s left" if rate > 0 else "time left unknown"
        pct = 100 * self.restored / self.total if self.total else 100.0
        return f"restoring tables: {self.restored}/{self.total} ({pct:.0f}%), {rate:.0f}/s, {left}"

    def summary(self, now: float) -> str:
        return (
            f"tables restored: {self.restored} changelog offsets in {now - self.started:.1f}s"
            f" ({self.rate(now):.0f}/s)"
        )


class StartAwareRecovery(BulkRestoreRecovery):
    """Our Recovery (eos.restore), noting where each restore of the active partitions
    starts, and logging its summary when it ends (however short it was)."""

    start_offsets: dict[Any, int] = {}
    restore_started: float | None = None

    async def _seek_offsets(self, consumer: Any, tps: set[Any], offsets: Any, title: str) -> None:
        if title == "active":  # offsets built, nothing read yet (the bulk restore runs next)
            self.start_offsets = dict(offsets)
            self.restore_started = time.monotonic()
        await super()._seek_offsets(consumer, tps, offsets, title)

    def _set_recovery_ended(self) -> None:
        super()._set_recovery_ended()
        if self.restore_started is not None:
            run = new_run(self, self.restore_started)
            run.update(self.active_offsets, self.active_highwaters)
            log.info(run.summary(time.monotonic()))
            self.restore_started = None


class ProgressTableManager(TableManager):
    """Faust's TableManager with a StartAwareRecovery (it builds its Recovery itself)."""

    @property
    def recovery(self) -> Recovery:
        if compat.table_manager_recovery(self) is None:
            recovery = StartAwareRecovery(self.app, self, beacon=self.beacon, loop=self.loop)
            compat.set_table_manager_recovery(self, recovery)
        return compat.table_manager_recovery(self)  # type: ignore[no-any-return]


def new_run(recovery: Any, now: float) -> Progress:
    """A Progress counting from where ``recovery`` started reading."""
    start = getattr(recovery, "start_offsets", {})
    return Progress(started=now, base={tp: o for tp, o in start.items() if o is not None})


async def watch(app: Any, every: float = INTERVAL, sample: float = 0.5) -> None:
    """Run for the worker's life: sample often (short recoveries count too), log every ``every`` s."""
    recovery = app.tables.recovery
    run: Progress | None = None
    logged = 0.0
    while True:
        await asyncio.sleep(sample)
        now = time.monotonic()
        if recovery.in_recovery:
            run = run or new_run(recovery, now)
            run.update(recovery.active_offsets, recovery.active_highwaters)
            if now - max(logged, run.started) >= every:
                log.info(run.line(now))
                logged = now
        else:
            run = None  # the recovery logs its own summary (StartAwareRecovery)

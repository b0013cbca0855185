"""Recovery progress arithmetic and log lines (streaming/recovery_progress.py)."""

from __future__ import annotations

from types import SimpleNamespace

from eos.restore import BulkRestoreRecovery
from streaming.recovery_progress import Progress, StartAwareRecovery, new_run


def test_restored_and_remaining_are_counted_from_the_first_sample() -> None:
    run = Progress(started=100.0)
    run.update({"a": 10, "b": -1, "c": None}, {"a": 110, "b": 49, "c": 5})
    assert (run.restored, run.remaining, run.total) == (0, 150, 150)
    run.update({"a": 60, "b": 24, "c": None}, {"a": 110, "b": 49, "c": 5})
    assert (run.restored, run.remaining, run.total) == (75, 75, 150)
    assert run.rate(now=105.0) == 15.0
    assert run.line(now=105.0) == "restoring tables: 75/150 (50%), 15/s, ~5s left"


def test_a_partition_that_appears_later_counts_from_its_first_offset() -> None:
    run = Progress(started=0.0)
    run.update({"a": 0}, {"a": 10})
    run.update({"a": 10, "b": 100}, {"a": 10, "b": 120})
    assert (run.restored, run.remaining) == (10, 20)


def test_summary_and_an_empty_recovery() -> None:
    run = Progress(started=0.0)
    run.update({}, {})
    assert run.line(now=1.0) == "restoring tables: 0/0 (100%), 0/s, time left unknown"
    run.update({"a": 5}, {"a": 5})
    assert run.summary(now=2.0) == "tables restored: 0 changelog offsets in 2.0s (0/s)"


def test_a_run_counts_from_the_offsets_the_recovery_started_at() -> None:
    # The recovery read 90 of 100 offsets before the watcher's first sample.
    recovery = StartAwareRecovery.__new__(StartAwareRecovery)
    recovery.app = SimpleNamespace()
    recovery.active_offsets = {"a": 0, "b": None}  # Faust may not know a partition's offset yet
    for name in ("_active_events_received_at", "_standby_events_received_at", "_processing_times"):
        setattr(recovery, name, {})
    recovery.start_offsets = dict(recovery.active_offsets)  # what _seek_offsets notes
    recovery.active_offsets = {"a": 90, "b": 5}
    run = new_run(recovery, now=0.0)
    run.update(recovery.active_offsets, {"a": 100, "b": 7})
    assert (run.restored, run.remaining) == (90, 12)


async def test_a_restore_logs_its_summary_when_the_recovery_ends(caplog, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    # A bulk restore can finish between two samples of the watcher: the recovery
    # itself logs what it restored, counted from where its seek started.
    recovery = StartAwareRecovery.__new__(StartAwareRecovery)
    recovery.app = SimpleNamespace()
    for name in ("_active_events_received_at", "_standby_events_received_at", "_processing_times"):
        setattr(recovery, name, {})

    async def seek(self, consumer, tps, offsets, title):  # type: ignore[no-untyped-def]
        self.active_offsets = {"a": 40, "b": 7}  # what reading the changelogs reached

    recovery.active_offsets = {"a": 10, "b": 2}
    recovery.active_highwaters = {"a": 40, "b": 7}
    with caplog.at_level("INFO", logger="streaming.recovery_progress"):
        monkeypatch.setattr(BulkRestoreRecovery, "_seek_offsets", seek)
        await recovery._seek_offsets(None, {"a", "b"}, recovery.active_offsets, "active")
        recovery._set_recovery_ended()
    [summary] = [r.getMessage() for r in caplog.records if "tables restored" in r.getMessage()]
    assert summary.startswith("tables restored: 35 changelog offsets in ")

"""Ad top-ups and clicks -> CPC budgets, ledger, status transitions, daily statistics.

One partition's batch at a time (streaming.partition_batch): each advertiser's
budget is read once, every event is applied in arrival order by the pure
domain functions, and each budget, daily row and duplicate-filter entry
touched is written once when the batch ends.

Two implementations of the same handler, chosen by BUDGET_KERNEL:
- ``_apply_in_python``: the domain functions of domain/budgets.py; the reference;
- ``_apply_native``: the per-event work in the Rust kernel (native/, module
  ``budget_kernel``), about five times less CPU per click. Python still parses
  whatever the kernel does not plainly accept (top-ups, clicks in other
  spellings, malformed records) and owns the state store and the outputs.
  A batch the kernel cannot take (an integer past 64 bits) runs in Python.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from types import ModuleType
from typing import Any

import orjson

from app.topics import Topics
from config import Settings
from config.settings import BudgetKernel
from domain.budgets import (
    Budget,
    BudgetEvent,
    Click,
    add_daily,
    apply_click,
    apply_funding,
    daily_key,
    parse_budget_event,
    parse_click,
)
from domain.dedup import advance, is_duplicate
from domain.errors import InvalidRecord
from domain.retention import day_time
from streaming import Tally, output_headers
from streaming import retention as stream_time
from streaming.partition_batch import PartitionBatch, Record, batch_agent
from tables import Tables

log = logging.getLogger(__name__)


def load_kernel(choice: BudgetKernel) -> ModuleType | None:
    """The native kernel module, or None for the Python path."""
    if choice == BudgetKernel.PYTHON:
        return None
    try:
        import budget_kernel
    except ImportError:
        if choice == BudgetKernel.NATIVE:
            raise ImportError(
                "BUDGET_KERNEL=native, but the budget_kernel module is not installed "
                "(pip install ./native, which needs Rust's cargo; or set BUDGET_KERNEL=python)"
            ) from None
        log.warning("budget_kernel is not installed (pip install ./native): budgets run on the Python path")
        return None
    return budget_kernel


def register(app: Any) -> None:
    parts = app.runtime
    handler = BudgetHandler(parts.topics, parts.tables, app.settings)
    batch_agent(parts.topics.budget_inputs, name="ad-budgets")(handler.apply_budget_events)


class BudgetHandler:
    """The budgets agent's handler, over one app's topics, tables and settings."""

    def __init__(self, topics: Topics, tables: Tables, settings: Settings) -> None:
        self.topics = topics
        self.tables = tables
        self.kernel = load_kernel(settings.budget_kernel)
        # The duplicate filter's window is its retention (domain.dedup: an entry past it can match nothing).
        self.dedup_window = settings.retention_seen_budget_events
        self.daily_retention = settings.retention_daily_stats
        self.clicks = topics.ad_clicks.get_topic_name()
        self.funding = topics.ad_budget.get_topic_name()
        self.dlq = {self.clicks: topics.ad_clicks_dlq, self.funding: topics.ad_budget_dlq}

    def apply_budget_events(self, batch: PartitionBatch) -> None:
        """Apply one partition's top-ups and clicks, in order."""
        if self.kernel is not None:
            try:
                outcome = self._native_outcome(batch, self.kernel)  # reads only: nothing written or sent yet
            except (OverflowError, ValueError) as error:
                log.warning("budget batch of partition %d runs in Python: %s", batch.partition, error)
            else:
                return self._write_native_outcome(batch, *outcome)
        self._apply_in_python(batch)

    def _native_outcome(self, batch: PartitionBatch, kernel: ModuleType) -> tuple:
        """The kernel's outputs and writes for the batch, and the records to dead-letter."""
        records = batch.records
        times = (
            stream_time.load(batch, self.tables.stream_times, self.clicks),
            stream_time.load(batch, self.tables.stream_times, self.funding),
        )
        run = kernel.parse(records, self.clicks, self.dedup_window, *times)
        dead = []
        for i in run.pending:
            record = records[i]
            try:
                if record.topic == self.clicks:
                    c = parse_click(record.key, record.value)
                    run.resolve_click(i, c.click_id, c.advertiser_id, c.campaign_id, c.cpc, c.ts_text, c.day)
                else:
                    e = parse_budget_event(record.key, record.value)
                    run.resolve_funding(i, e.event_id, e.advertiser_id, e.type, e.amount, e.ts.isoformat())
            except InvalidRecord as error:
                dead.append((record, error))
        seen_keys, advertisers, daily_keys = run.keys()
        applied = run.apply(
            batch.get_raw_many(self.tables.seen_budget_events, seen_keys),
            batch.get_raw_many(self.tables.budgets, advertisers),
            batch.get_raw_many(self.tables.daily_stats, daily_keys),
        )
        return dead, times, run.stream_times, *applied

    def _write_native_outcome(
        self, batch: PartitionBatch, dead: list, before: tuple, after: tuple, ledger: list, status: list,
        seen: dict, budget_rows: dict, daily_rows: dict, counts: tuple[int, int, int, int]
    ) -> None:  # fmt: skip
        tallies = {self.clicks: Tally(counts[0], counts[1]), self.funding: Tally(counts[2], counts[3])}
        for record, error in dead:
            batch.dead_letter(self.dlq[record.topic], record, error)
            tallies[record.topic].dead_lettered += 1
        headers = output_headers()
        batch.send_many(self.topics.ad_ledger, ledger, headers)
        batch.send_many(self.topics.ad_budget_status, status, headers)
        batch.put_raw_many(self.tables.seen_budget_events, seen)
        batch.put_raw_many(self.tables.budgets, budget_rows)
        batch.put_raw_many(self.tables.daily_stats, self._kept_days(daily_rows, after[0]))
        for topic, tally in tallies.items():
            if tally.consumed:
                tally.save(batch, self.tables.accounting, topic)
        self._retain(batch, before, after)

    def _kept_days(self, rows: dict, clicks_time: int | None) -> dict:
        """The daily rows whose KST day is within retention: a late click for an
        expired day is charged, but its day is not brought back (counted)."""
        if clicks_time is None or not rows:
            return rows
        cutoff = clicks_time // 1000 - self.daily_retention
        kept = {
            k: v for k, v in rows.items() if day_time(k if isinstance(k, bytes) else k.encode()) >= cutoff
        }
        stream_time.skipped_late(self.tables.daily_stats, len(rows) - len(kept))
        return kept

    def _retain(self, batch: PartitionBatch, before: tuple, after: tuple) -> None:
        """Persist the two partitions' stream times and expire what they put past
        retention. A filter entry follows the stream time of its own topic's
        partition (click ids the clicks', top-up ids the top-ups')."""
        for topic, b, a in ((self.clicks, before[0], after[0]), (self.funding, before[1], after[1])):
            stream_time.save(batch, self.tables.stream_times, topic, b, a)
        stream_time.expire(batch, self.tables.daily_stats, after[0], self.daily_retention)
        clicks, funding = (stream_time.cutoff(t, self.dedup_window) for t in after)
        if clicks is None or funding is None:  # one topic has no stream time: neither has entries
            own = None
            latest = after[0] if funding is None else after[1]
        else:
            own = _own_cutoff(clicks, funding)
            latest = max(after)
        stream_time.expire(batch, self.tables.seen_budget_events, latest, self.dedup_window, own)

    def _apply_in_python(self, batch: PartitionBatch) -> None:
        tallies = {self.clicks: Tally(), self.funding: Tally()}
        before = (
            stream_time.load(batch, self.tables.stream_times, self.clicks),
            stream_time.load(batch, self.tables.stream_times, self.funding),
        )
        now_at = self._stream_times(batch.records, before)
        events = self._parse(batch, tallies)
        # The duplicate filter's entries for the whole batch in one lookup.
        seen = batch.get_many(self.tables.seen_budget_events, [event[2] for event in events])
        applied: dict[str, int] = {}
        cache: dict[str, Budget] = {}
        daily: dict[str, dict] = {}
        headers = output_headers()
        ledger, status = self.topics.ad_ledger, self.topics.ad_budget_status
        send = batch.send
        budgets = self.tables.budgets

        for record, parsed, seen_key, is_click in events:
            advertiser_id = parsed.advertiser_id
            budget = cache.get(advertiser_id)
            if budget is None:
                budget = cache[advertiser_id] = Budget.from_dict(batch.get(budgets, advertiser_id))
            seen_at = now_at[id(record)] // 1000
            if is_duplicate(seen[seen_key], seen_at, self.dedup_window):
                budget.count_duplicate()
                tallies[record.topic].duplicates += 1
                continue
            seen[seen_key] = applied[seen_key] = seen_at
            if is_click:
                outcome = apply_click(budget, parsed)
                self._count_daily(batch, daily, parsed, charged=outcome.entry is not None)
            else:
                outcome = apply_funding(budget, parsed)
            # Keyed by advertiser (the record key is its UTF-8, the parse checked);
            # the batch sends on the source partition number.
            key = record.key
            if outcome.entry is not None:
                send(ledger, key, orjson.dumps(outcome.entry), headers)
            elif outcome.rejection is not None:
                send(ledger, key, orjson.dumps(outcome.rejection), headers)
            if outcome.change is not None:
                send(status, key, orjson.dumps(outcome.change), headers)
            tallies[record.topic].processed += 1

        batch.put_many(self.tables.seen_budget_events, applied)
        for advertiser_id, budget in cache.items():
            batch.put(budgets, advertiser_id, budget.to_dict())
        after = (now_at.get(self.clicks, before[0]), now_at.get(self.funding, before[1]))
        for key, stats in self._kept_days(daily, after[0]).items():
            batch.put(self.tables.daily_stats, key, stats)
        for topic, tally in tallies.items():
            if tally.consumed:
                tally.save(batch, self.tables.accounting, topic)
        self._retain(batch, before, after)

    def _stream_times(self, records: list, before: tuple) -> dict:
        """Each record's partition stream time including it (by id(record)), and each
        topic's after the batch (by topic name): every record counts, valid or not."""
        times = {self.clicks: before[0], self.funding: before[1]}
        out: dict = {}
        for record in records:
            topic = record.topic
            out[id(record)] = times[topic] = advance(times[topic], record.timestamp)
        out.update((topic, t) for topic, t in times.items() if t is not None)
        return out

    def _parse(self, batch: PartitionBatch, tallies: dict[str, Tally]) -> list[Parsed]:
        """The batch's valid events in order; the rest go to their dead-letter topics."""
        events = []
        for record in batch.records:
            topic = record.topic
            try:
                if topic == self.clicks:
                    click = parse_click(record.key, record.value)
                    events.append((record, click, f"click:{click.click_id}", True))
                else:
                    event = parse_budget_event(record.key, record.value)
                    events.append((record, event, f"budget:{event.event_id}", False))
            except InvalidRecord as error:
                batch.dead_letter(self.dlq[topic], record, error)
                tallies[topic].dead_lettered += 1
        return events

    def _count_daily(
        self, batch: PartitionBatch, daily: dict[str, dict], click: Click, charged: bool
    ) -> None:
        key = daily_key(click.advertiser_id, click.day)
        if key not in daily:
            daily[key] = dict(batch.get(self.tables.daily_stats, key) or {})
        add_daily(daily[key], click, charged)


def _own_cutoff(clicks: int, funding: int) -> Callable[[bytes], int]:
    return lambda key: clicks if key.startswith(b"click:") else funding


Parsed = tuple[Record, Click | BudgetEvent, str, bool]  # record, event, duplicate-filter key, is a click

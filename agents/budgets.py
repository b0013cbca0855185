"""Ad top-ups and clicks -> CPC budgets, ledger, status transitions, daily statistics.

Per partition batch: each advertiser's budget is read once, every event is
applied in arrival order by the pure domain functions, and each budget and
daily row touched is written once.
"""

from __future__ import annotations

from typing import Any

import orjson

from app import app, topics
from config import settings
from domain.budgets import (
    Budget,
    Click,
    LedgerEntry,
    StatusChange,
    add_daily,
    apply_click,
    apply_funding,
    kst_day,
    parse_budget_event,
    parse_click,
)
from domain.errors import InvalidRecord
from eos.gate import atomic_batch
from streaming import Tally, dead_letter, output_headers, partition_batches
from tables import accounting, budgets, daily_stats, seen_budget_events

DEDUP_WINDOW = 24 * 3600
CLICKS = topics.ad_clicks.get_topic_name()
FUNDING = topics.ad_budget.get_topic_name()
DLQ = {CLICKS: topics.ad_clicks_dlq, FUNDING: topics.ad_budget_dlq}


@app.agent(topics.budget_inputs, name="ad-budgets")
async def apply_budget_events(stream):  # type: ignore[no-untyped-def]
    async for batch in stream.take_events(settings.batch_max, settings.batch_within):
        async with atomic_batch(stream, batch) as events:
            for partition, in_partition in partition_batches(events):
                await _apply_partition(partition, in_partition)


async def _apply_partition(partition: int, events: list[Any]) -> None:
    tallies = {CLICKS: Tally(), FUNDING: Tally()}
    cache: dict[str, Budget] = {}
    daily: dict[str, dict] = {}

    def budget_of(advertiser_id: str) -> Budget:
        if advertiser_id not in cache:
            cache[advertiser_id] = Budget.from_dict(budgets.get(advertiser_id))
        return cache[advertiser_id]

    for event in events:
        msg = event.message
        tally = tallies[msg.topic]
        is_click = msg.topic == CLICKS
        try:
            parsed = (parse_click if is_click else parse_budget_event)(msg.key, msg.value)
        except InvalidRecord as error:
            await dead_letter(DLQ[msg.topic], event, error)
            tally.dead_lettered += 1
            continue
        budget = budget_of(parsed.advertiser_id)
        seen_key = f"click:{parsed.click_id}" if is_click else f"budget:{parsed.event_id}"
        seen_at = int(msg.timestamp)
        first = seen_budget_events.get(seen_key)
        if first is not None and seen_at - first <= DEDUP_WINDOW:
            budget.duplicates += 1
            tally.duplicates += 1
            continue
        seen_budget_events[seen_key] = seen_at
        if is_click:
            outcome = apply_click(budget, parsed)
            _count_daily(daily, parsed, charged=outcome.entry is not None)
        else:
            outcome = apply_funding(budget, parsed)
        await _publish(partition, outcome.entry, outcome.change)
        tally.processed += 1

    for advertiser_id, budget in cache.items():
        budgets[advertiser_id] = budget.to_dict()
    for key, stats in daily.items():
        daily_stats[key] = stats
    for topic, tally in tallies.items():
        if tally.consumed:
            tally.save(accounting, topic, partition)


def daily_key(advertiser_id: str, day: str) -> str:
    return f"{advertiser_id}|{day}"


def _count_daily(daily: dict[str, dict], click: Click, charged: bool) -> None:
    key = daily_key(click.advertiser_id, kst_day(click.ts).isoformat())
    if key not in daily:
        daily[key] = daily_stats.get(key) or {}
    add_daily(daily[key], click, charged)


async def _publish(partition: int, entry: LedgerEntry | None, change: StatusChange | None) -> None:
    # Keyed by advertiser, on the source partition number: the outputs ride in
    # the transaction that commits the source offset.
    if entry is not None:
        await topics.ad_ledger.send(
            key=entry.advertiser_id.encode(),
            value=orjson.dumps(entry),
            partition=partition,
            headers=output_headers(),
        )
    if change is not None:
        await topics.ad_budget_status.send(
            key=change.advertiser_id.encode(),
            value=orjson.dumps(change),
            partition=partition,
            headers=output_headers(),
        )

"""Ad top-ups and clicks -> CPC budgets, ledger, status transitions, daily statistics.

One partition's batch at a time (streaming.partition_batch): each advertiser's
budget is read once, every event is applied in arrival order by the pure
domain functions, and each budget, daily row and duplicate-filter entry
touched is written once when the batch ends.
"""

from __future__ import annotations

import orjson

from app import topics
from domain.budgets import (
    Budget,
    BudgetEvent,
    Click,
    add_daily,
    apply_click,
    apply_funding,
    parse_budget_event,
    parse_click,
)
from domain.errors import InvalidRecord
from streaming import Tally, output_headers
from streaming.deadletter import dlq_headers
from streaming.partition_batch import PartitionBatch, Record, batch_agent
from tables import accounting, budgets, daily_stats, seen_budget_events

DEDUP_WINDOW = 24 * 3600
CLICKS = topics.ad_clicks.get_topic_name()
FUNDING = topics.ad_budget.get_topic_name()
DLQ = {CLICKS: topics.ad_clicks_dlq, FUNDING: topics.ad_budget_dlq}


@batch_agent(topics.budget_inputs, name="ad-budgets")
def apply_budget_events(batch: PartitionBatch) -> None:
    """Apply one partition's top-ups and clicks, in order."""
    tallies = {CLICKS: Tally(), FUNDING: Tally()}
    events = _parse(batch, tallies)
    # The duplicate filter's entries for the whole batch in one lookup.
    seen = batch.get_many(seen_budget_events, [event[2] for event in events])
    applied: dict[str, int] = {}
    cache: dict[str, Budget] = {}
    daily: dict[str, dict] = {}
    headers = output_headers()
    ledger, status = topics.ad_ledger, topics.ad_budget_status
    send = batch.send

    for record, parsed, seen_key, is_click in events:
        advertiser_id = parsed.advertiser_id
        budget = cache.get(advertiser_id)
        if budget is None:
            budget = cache[advertiser_id] = Budget.from_dict(batch.get(budgets, advertiser_id))
        seen_at = record.timestamp // 1000
        first = seen[seen_key]
        if first is not None and seen_at - first <= DEDUP_WINDOW:
            budget.duplicates += 1
            tallies[record.topic].duplicates += 1
            continue
        seen[seen_key] = applied[seen_key] = seen_at
        if is_click:
            outcome = apply_click(budget, parsed)
            _count_daily(batch, daily, parsed, charged=outcome.entry is not None)
        else:
            outcome = apply_funding(budget, parsed)
        # Keyed by advertiser (the record key is its UTF-8, the parse checked);
        # the batch sends on the source partition number.
        key = record.key
        if outcome.entry is not None:
            send(ledger, key, orjson.dumps(outcome.entry), headers)
        if outcome.change is not None:
            send(status, key, orjson.dumps(outcome.change), headers)
        tallies[record.topic].processed += 1

    batch.put_many(seen_budget_events, applied)
    for advertiser_id, budget in cache.items():
        batch.put(budgets, advertiser_id, budget.to_dict())
    for key, stats in daily.items():
        batch.put(daily_stats, key, stats)
    for topic, tally in tallies.items():
        if tally.consumed:
            tally.save(batch, accounting, topic)


Parsed = tuple[Record, Click | BudgetEvent, str, bool]  # record, event, duplicate-filter key, is a click


def _parse(batch: PartitionBatch, tallies: dict[str, Tally]) -> list[Parsed]:
    """The batch's valid events in order; the rest go to their dead-letter topics."""
    events = []
    for record in batch.records:
        topic = record.topic
        try:
            if topic == CLICKS:
                click = parse_click(record.key, record.value)
                events.append((record, click, f"click:{click.click_id}", True))
            else:
                event = parse_budget_event(record.key, record.value)
                events.append((record, event, f"budget:{event.event_id}", False))
        except InvalidRecord as error:
            batch.send(DLQ[topic], record.key, record.value, dlq_headers(record, error))
            tallies[topic].dead_lettered += 1
    return events


def daily_key(advertiser_id: str, day: str) -> str:
    return f"{advertiser_id}|{day}"


def _count_daily(batch: PartitionBatch, daily: dict[str, dict], click: Click, charged: bool) -> None:
    key = daily_key(click.advertiser_id, click.day)
    if key not in daily:
        daily[key] = dict(batch.get(daily_stats, key) or {})
    add_daily(daily[key], click, charged)

"""Orders -> category totals, in two stages around a repartition (groupBy category).

Stage 1 (keyed by user): validate, drop duplicate order_ids, fan each order out
to one delta per category. Stage 2 (keyed by category): fold the deltas into the
all-time and hourly totals and publish the new totals.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

import orjson

from app import app, topics
from config import settings
from domain.errors import InvalidRecord
from domain.orders import CategoryDelta, add_deltas, category_deltas, hour_start, parse_order
from eos.gate import atomic_batch
from streaming import Tally, dead_letter, output_headers, partition_batches
from tables import accounting, category_hourly, category_totals, seen_orders

DEDUP_WINDOW = 7 * 24 * 3600


@app.agent(topics.orders, name="orders-validate")
async def validate_orders(stream):  # type: ignore[no-untyped-def]
    async for batch in stream.take_events(settings.batch_max, settings.batch_within):
        async with atomic_batch(stream, batch) as events:
            for partition, in_partition in partition_batches(events):
                await _validate_partition(partition, in_partition)


@app.agent(topics.orders_by_category, name="category-totals")
async def aggregate_categories(stream):  # type: ignore[no-untyped-def]
    async for batch in stream.take_events(settings.batch_max, settings.batch_within):
        async with atomic_batch(stream, batch) as events:
            now = datetime.now(UTC)
            for _partition, in_partition in partition_batches(events):
                await _aggregate_partition(in_partition, now)


async def _validate_partition(partition: int, events: list[Any]) -> None:
    tally = Tally()
    for event in events:
        msg = event.message
        try:
            order = parse_order(msg.key, msg.value)
        except InvalidRecord as error:
            await dead_letter(topics.orders_dlq, event, error)
            tally.dead_lettered += 1
            continue
        seen_at = int(msg.timestamp)
        first = seen_orders.get(order.order_id)
        if first is not None and seen_at - first <= DEDUP_WINDOW:
            tally.duplicates += 1
            continue
        seen_orders[order.order_id] = seen_at
        for delta in category_deltas(order):
            await topics.orders_by_category.send(
                key=delta.category.encode(), value=delta.model_dump_json().encode()
            )
        tally.processed += 1
    tally.save(accounting, topics.orders.get_topic_name(), partition)


async def _aggregate_partition(events: list[Any], now: datetime) -> None:
    by_category: dict[str, list[CategoryDelta]] = defaultdict(list)
    for event in events:
        delta = CategoryDelta.model_validate_json(event.message.value)
        by_category[delta.category].append(delta)
    for category, deltas in by_category.items():
        totals = add_deltas(category_totals.get(category), deltas, now)
        category_totals[category] = totals
        _add_hourly(category, deltas, now)
        await topics.category_totals.send(
            key=category.encode(),
            value=orjson.dumps({"category": category, **totals}),
            headers=output_headers(),
        )


def _add_hourly(category: str, deltas: list[CategoryDelta], now: datetime) -> None:
    by_hour: dict[int, list[CategoryDelta]] = defaultdict(list)
    for d in deltas:
        by_hour[hour_start(d.created_at)].append(d)
    for hour, in_hour in by_hour.items():
        key = f"{category}|{hour}"
        category_hourly[key] = add_deltas(category_hourly.get(key), in_hour, now)

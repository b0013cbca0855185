"""Orders -> category totals, in two stages around a repartition (groupBy category).

Stage 1 (keyed by user): validate, drop duplicate order_ids, fan each order out
to one delta per category. Stage 2 (keyed by category): fold the deltas into the
all-time and hourly totals and publish the new totals. Each stage is a batch
handler over one partition's records (streaming.partition_batch).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime

import orjson

from app import topics
from domain.errors import InvalidRecord
from domain.orders import CategoryDelta, add_deltas, category_deltas, hour_start, parse_order
from streaming import Tally, output_headers
from streaming.partition_batch import PartitionBatch, batch_agent
from tables import accounting, category_hourly, category_totals, seen_orders

DEDUP_WINDOW = 7 * 24 * 3600
ORDERS = topics.orders.get_topic_name()


@batch_agent(topics.orders, name="orders-validate")
def validate_orders(batch: PartitionBatch) -> None:
    """Validate, deduplicate and repartition one partition's orders."""
    tally = Tally()
    repartition = topics.orders_by_category
    for record in batch.records:
        try:
            order = parse_order(record.key, record.value)
        except InvalidRecord as error:
            batch.dead_letter(topics.orders_dlq, record, error)
            tally.dead_lettered += 1
            continue
        seen_at = record.timestamp // 1000
        first = batch.get(seen_orders, order.order_id)
        if first is not None and seen_at - first <= DEDUP_WINDOW:
            tally.duplicates += 1
            continue
        batch.put(seen_orders, order.order_id, seen_at)
        for delta in category_deltas(order):
            batch.send_keyed(repartition, delta.category.encode(), delta.model_dump_json().encode(), [])
        tally.processed += 1
    tally.save(batch, accounting, ORDERS)


@batch_agent(topics.orders_by_category, name="category-totals")
def aggregate_categories(batch: PartitionBatch) -> None:
    """Fold one partition's category deltas into the totals, and publish them."""
    now = datetime.now(UTC)
    headers = output_headers()
    by_category: dict[str, list[CategoryDelta]] = defaultdict(list)
    for record in batch.records:
        delta = CategoryDelta.model_validate_json(record.value)
        by_category[delta.category].append(delta)
    for category, deltas in by_category.items():
        totals = add_deltas(batch.get(category_totals, category), deltas, now)
        batch.put(category_totals, category, totals)
        _add_hourly(batch, category, deltas, now)
        batch.send_keyed(
            topics.category_totals,
            category.encode(),
            orjson.dumps({"category": category, **totals}),
            headers,
        )


def _add_hourly(batch: PartitionBatch, category: str, deltas: list[CategoryDelta], now: datetime) -> None:
    by_hour: dict[int, list[CategoryDelta]] = defaultdict(list)
    for d in deltas:
        by_hour[hour_start(d.created_at)].append(d)
    for hour, in_hour in by_hour.items():
        key = f"{category}|{hour}"
        batch.put(category_hourly, key, add_deltas(batch.get(category_hourly, key), in_hour, now))

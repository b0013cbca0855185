"""Orders -> category totals, in two stages around a repartition (groupBy category).

Stage 1 (keyed by user): validate, drop duplicate order_ids, sum the batch's
orders into one delta per category and event-time hour. Stage 2 (keyed by category): fold the deltas into the
all-time and hourly totals and publish the new totals. Each stage is a batch
handler over one partition's records (streaming.partition_batch).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

import orjson

from domain.dedup import advance, is_duplicate
from domain.errors import InvalidRecord
from domain.order_sums import OrderSums, Sums, combine, combined, order_sums
from domain.orders import HOUR, CategoryDelta, add_deltas, hour_start
from streaming import Tally, output_headers
from streaming import retention as stream_time
from streaming.partition_batch import PartitionBatch, batch_agent


def register(app: Any) -> None:
    topics, tables = app.runtime.topics, app.runtime.tables
    accounting, stream_times, seen_orders = tables.accounting, tables.stream_times, tables.seen_orders
    category_totals, category_hourly = tables.category_totals, tables.category_hourly
    # The duplicate filter's window is its retention (domain.dedup).
    dedup_window = app.settings.retention_seen_orders
    hourly_retention = app.settings.retention_category_hourly
    orders = topics.orders.get_topic_name()
    repartitioned = topics.orders_by_category.get_topic_name()

    @batch_agent(topics.orders, name="orders-validate")
    def validate_orders(batch: PartitionBatch) -> None:
        """Validate, deduplicate and repartition one partition's orders."""
        tally = Tally()
        before = now = stream_time.load(batch, stream_times, orders)
        valid: list[tuple[OrderSums, int]] = []
        for record in batch.records:
            now = advance(now, record.timestamp)  # every record counts, valid or not
            try:
                valid.append((order_sums(record.key, record.value), now // 1000))
            except InvalidRecord as error:
                batch.dead_letter(topics.orders_dlq, record, error)
                tally.dead_lettered += 1
        # One store read for the batch's order ids; a repeat within the batch sees the first.
        seen = batch.get_many(seen_orders, list(dict.fromkeys(order.order_id for order, _ in valid)))
        applied: dict[str, int] = {}
        sums: Sums = {}
        for order, seen_at in valid:
            if is_duplicate(seen[order.order_id], seen_at, dedup_window):
                tally.duplicates += 1
                continue
            seen[order.order_id] = applied[order.order_id] = seen_at
            combine(sums, order)
            tally.processed += 1
        batch.put_many(seen_orders, applied)
        # The batch's orders summed per category and hour: one repartition record for each,
        # not one per order and category (what the totals get is the same; domain.orders).
        for delta in combined(sums):
            batch.send_keyed(
                topics.orders_by_category, delta.category.encode(), delta.model_dump_json().encode(), []
            )
        tally.save(batch, accounting, orders)
        stream_time.save(batch, stream_times, orders, before, now)
        stream_time.expire(batch, seen_orders, now, dedup_window)

    @batch_agent(topics.orders_by_category, name="category-totals")
    def aggregate_categories(batch: PartitionBatch) -> None:
        """Fold one partition's category deltas into the totals, and publish them."""
        now = datetime.now(UTC)
        headers = output_headers()
        by_category: dict[str, list[CategoryDelta]] = defaultdict(list)
        before = event_time = stream_time.load(batch, stream_times, repartitioned)
        for record in batch.records:
            delta = CategoryDelta.model_validate_json(record.value)
            by_category[delta.category].append(delta)
            event_time = advance(event_time, delta.created_at * 1000)
        cutoff = stream_time.cutoff(event_time, hourly_retention)
        current = batch.get_many(category_totals, list(by_category))
        for category, deltas in by_category.items():
            totals = add_deltas(current[category], deltas, now)
            batch.put(category_totals, category, totals)
            _add_hourly(batch, category_hourly, category, deltas, now, cutoff)
            batch.send_keyed(
                topics.category_totals,
                category.encode(),
                orjson.dumps({"category": category, **totals}),
                headers,
            )
        stream_time.save(batch, stream_times, repartitioned, before, event_time)
        stream_time.expire(batch, category_hourly, event_time, hourly_retention)


def _add_hourly(
    batch: PartitionBatch,
    category_hourly: Any,
    category: str,
    deltas: list[CategoryDelta],
    now: datetime,
    cutoff: int | None,
) -> None:
    """Event time (the repartition's stream time) decides: an hour past retention
    is not brought back by late orders (counted; the all-time totals have them)."""
    by_hour: dict[int, list[CategoryDelta]] = defaultdict(list)
    for d in deltas:
        by_hour[hour_start(d.created_at)].append(d)
    for hour, in_hour in by_hour.items():
        if cutoff is not None and hour + HOUR - 1 < cutoff:
            stream_time.skipped_late(category_hourly, 1)
            continue
        key = f"{category}|{hour}"
        batch.put(category_hourly, key, add_deltas(batch.get(category_hourly, key), in_hour, now))

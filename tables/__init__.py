"""Every table, declared once per app (``declare_tables``). Keys are raw UTF-8
(the same bytes as the source topics' keys, so the router finds a key's owner);
values are JSON objects."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from config import Settings
from domain.retention import day_time, hour_time, seen_time
from tables._declare import Declare


@dataclass(frozen=True)
class Tables:
    # "topic/partition" -> {consumed, processed, duplicates, dead_lettered}
    accounting: Any
    # "topic/partition" -> the largest record timestamp (ms) processed on it; for the
    # orders-by-category repartition, the largest event time (created_at, ms).
    stream_times: Any
    # order_id -> stream time (epoch seconds) it was applied at; written in the
    # user-partitioned stage; kept RETENTION_SEEN_ORDERS, the filter's window.
    seen_orders: Any
    # category -> {total_amount, items_sold, order_count, updated_at}
    category_totals: Any
    # "category|hour_start" -> totals for that tumbling hour of event time, kept
    # RETENTION_CATEGORY_HOURLY of the repartition's event time.
    category_hourly: Any
    # user_id -> {orders: {order_id: {status, version, ts, history: [{status, ts, event_id}]}},
    #             counts: {status: n}, version, stream_time}
    # Keyed by user (the topic's key): the per-order state and its event_ids (the
    # duplicate filter) are entries of the user's value, dropped with finished orders.
    order_lifecycle: Any
    # advertiser_id -> budget (balance, spent, charged, rejected, duplicates, status, ...)
    budgets: Any
    # "advertiser_id|YYYY-MM-DD" -> {campaign_id: {charged, spend, rejected}} (KST days)
    # Kept RETENTION_DAILY_STATS of the clicks' stream time (docs/retention.md).
    daily_stats: Any
    # "click:<id>" / "budget:<id>" -> stream time (epoch seconds) it was applied at;
    # kept RETENTION_SEEN_BUDGET_EVENTS, the filter's window (domain.dedup).
    seen_budget_events: Any

    def all(self) -> list[Any]:
        return [getattr(self, f.name) for f in fields(self)]


def declare_tables(app: Any, settings: Settings) -> Tables:
    table = Declare(app, settings)
    return Tables(
        accounting=table("accounting", "input accounting per source topic partition"),
        stream_times=table("stream_times", "stream time per source topic partition (retention)"),
        seen_orders=table(
            "seen_orders",
            "order_ids seen within the window (duplicate filter)",
            lambda _, value: seen_time(value),
            time_by_value=True,
        ),
        category_totals=table("category_totals", "all-time sales totals per category"),
        category_hourly=table(
            "category_hourly", "sales totals per category per event-time hour", lambda key, _: hour_time(key)
        ),
        order_lifecycle=table("order_lifecycle", "order statuses and counts per user (domain/lifecycle.py)"),
        budgets=table("budgets", "CPC budget per advertiser"),
        daily_stats=table(
            "daily_stats", "daily click statistics per advertiser and campaign", lambda key, _: day_time(key)
        ),
        seen_budget_events=table(
            "seen_budget_events",
            "applied click/top-up ids (duplicate filter)",
            lambda _, value: seen_time(value),
            time_by_value=True,
        ),
    )


__all__ = ["Tables", "declare_tables"]

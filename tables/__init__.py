"""Every table, declared once. Keys are raw UTF-8 (the same bytes as the source
topics' keys, so the router finds a key's owner); values are JSON objects."""

from tables.accounting import accounting
from tables.budgets import budgets, daily_stats, seen_budget_events
from tables.lifecycle import order_lifecycle
from tables.orders import category_hourly, category_totals, seen_orders
from tables.stream_times import stream_times

__all__ = [
    "accounting",
    "budgets",
    "category_hourly",
    "category_totals",
    "daily_stats",
    "order_lifecycle",
    "seen_budget_events",
    "seen_orders",
    "stream_times",
]

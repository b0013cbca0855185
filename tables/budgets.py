"""State of the CPC budget pipeline; every table is keyed within advertiser partitions."""

from domain.retention import day_time, seen_time
from tables._declare import table

# advertiser_id -> budget (balance, spent, charged, rejected, duplicates, status, ...)
budgets = table("budgets", "CPC budget per advertiser")

# "advertiser_id|YYYY-MM-DD" -> {campaign_id: {charged, spend, rejected}} (KST days)
# Kept RETENTION_DAILY_STATS of the clicks' stream time (docs/retention.md).
daily_stats = table(
    "daily_stats", "daily click statistics per advertiser and campaign", lambda key, _: day_time(key)
)

# "click:<id>" / "budget:<id>" -> stream time (epoch seconds) it was applied at;
# kept RETENTION_SEEN_BUDGET_EVENTS, the filter's window (domain.dedup).
seen_budget_events = table(
    "seen_budget_events",
    "applied click/top-up ids (duplicate filter)",
    lambda _, value: seen_time(value),
    time_by_value=True,
)

"""State of the CPC budget pipeline; every table is keyed within advertiser partitions."""

from tables._declare import table

# advertiser_id -> budget (balance, spent, charged, rejected, duplicates, status, ...)
budgets = table("budgets", "CPC budget per advertiser")

# "advertiser_id|YYYY-MM-DD" -> {campaign_id: {charged, spend, rejected}} (KST days)
daily_stats = table("daily_stats", "daily click statistics per advertiser and campaign")

# "click:<id>" / "budget:<id>" -> epoch seconds applied (24 h duplicate filter)
seen_budget_events = table("seen_budget_events", "applied click/top-up ids (duplicate filter)")

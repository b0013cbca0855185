"""State of the orders pipeline."""

from tables._declare import table

# order_id -> epoch seconds first seen; written in the user-partitioned stage.
seen_orders = table("seen_orders", "order_ids seen in the last 7 days (duplicate filter)")

# category -> {total_amount, items_sold, order_count, updated_at}
category_totals = table("category_totals", "all-time sales totals per category")

# "category|hour_start" -> totals for that tumbling hour of event time (kept 7 days).
category_hourly = table("category_hourly", "sales totals per category per event-time hour")

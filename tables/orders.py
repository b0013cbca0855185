"""State of the orders pipeline."""

from domain.retention import hour_time, seen_time
from tables._declare import table

# order_id -> stream time (epoch seconds) it was applied at; written in the
# user-partitioned stage; kept RETENTION_SEEN_ORDERS, the filter's window.
seen_orders = table(
    "seen_orders",
    "order_ids seen within the window (duplicate filter)",
    lambda _, value: seen_time(value),
    time_by_value=True,
)

# category -> {total_amount, items_sold, order_count, updated_at}
category_totals = table("category_totals", "all-time sales totals per category")

# "category|hour_start" -> totals for that tumbling hour of event time, kept
# RETENTION_CATEGORY_HOURLY of the repartition's event time.
category_hourly = table(
    "category_hourly", "sales totals per category per event-time hour", lambda key, _: hour_time(key)
)

"""State of the order lifecycle pipeline."""

from tables._declare import table

# user_id -> {orders: {order_id: {status, version, at}}, counts: {status: n}, version, stream_time}
order_lifecycle = table("order_lifecycle", "order statuses and counts per user (domain/lifecycle.py)")

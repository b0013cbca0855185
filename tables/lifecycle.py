"""State of the order lifecycle pipeline."""

from tables._declare import table

# user_id -> {orders: {order_id: {status, version, ts, history: [{status, ts, event_id}]}},
#             counts: {status: n}, version, stream_time}
# Keyed by user (the topic's key): the per-order state and its event_ids (the
# duplicate filter) are entries of the user's value, dropped with finished orders.
order_lifecycle = table("order_lifecycle", "order statuses and counts per user (domain/lifecycle.py)")

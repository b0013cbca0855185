"""Every topic the service reads or writes, declared once.

Values are raw bytes: agents validate input themselves (so a malformed record
becomes a dead letter instead of a crash) and encode output with orjson.
"""

from __future__ import annotations

from app import app
from config import settings

_parts = settings.topic_partitions


def _topic(name: str, *, compacted: bool = False, internal: bool = False):  # type: ignore[no-untyped-def]
    return app.topic(
        name,
        partitions=_parts,
        replicas=settings.topic_replication_factor,
        key_type=bytes,
        value_type=bytes,
        key_serializer="raw",
        value_serializer="raw",
        compacting=compacted or None,
        internal=internal,
    )


# Orders -> category totals
orders = _topic(settings.topic_orders)
orders_dlq = _topic(settings.topic_orders_dlq)
# The groupBy(category) repartition: one record per (order, category), keyed by category.
orders_by_category = _topic(f"{settings.app_id}-orders-by-category-repartition", internal=True)
category_totals = _topic(settings.topic_category_totals, compacted=True)

# Order lifecycle events (created, paid, shipped, delivered, cancelled), keyed by user_id
order_events = _topic(settings.topic_order_events)
order_events_dlq = _topic(settings.topic_order_events_dlq)

# Ad budgets (co-partitioned by advertiser_id)
ad_budget = _topic(settings.topic_ad_budget)
ad_budget_dlq = _topic(settings.topic_ad_budget_dlq)
ad_clicks = _topic(settings.topic_ad_clicks)
ad_clicks_dlq = _topic(settings.topic_ad_clicks_dlq)
ad_ledger = _topic(settings.topic_ad_ledger)
ad_budget_status = _topic(settings.topic_ad_budget_status)

SOURCES = (orders, order_events, ad_budget, ad_clicks)
ALL = (
    orders,
    orders_dlq,
    orders_by_category,
    category_totals,
    order_events,
    order_events_dlq,
    ad_budget,
    ad_budget_dlq,
    ad_clicks,
    ad_clicks_dlq,
    ad_ledger,
    ad_budget_status,
)

# The worker refuses to start unless these pairs have the same partition count.
COPARTITIONED = ((ad_budget.get_topic_name(), ad_clicks.get_topic_name()),)

# One agent reads both budget inputs, so a partition's top-ups and clicks are
# applied in the order they arrive, against one budget.
budget_inputs = app.topic(
    ad_budget.get_topic_name(),
    ad_clicks.get_topic_name(),
    key_type=bytes,
    value_type=bytes,
    key_serializer="raw",
    value_serializer="raw",
)

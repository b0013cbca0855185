"""Every topic the service reads or writes, declared once per app (``declare_topics``).

Values are raw bytes: agents validate input themselves (so a malformed record
becomes a dead letter instead of a crash) and encode output with orjson.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from config import Settings


@dataclass(frozen=True)
class Topics:
    # Orders -> category totals
    orders: Any
    orders_dlq: Any
    # The groupBy(category) repartition: one record per (order, category), keyed by category.
    orders_by_category: Any
    category_totals: Any
    # Order lifecycle events (created, paid, shipped, delivered, cancelled), keyed by user_id
    order_events: Any
    order_events_dlq: Any
    # Ad budgets (co-partitioned by advertiser_id)
    ad_budget: Any
    ad_budget_dlq: Any
    ad_clicks: Any
    ad_clicks_dlq: Any
    ad_ledger: Any
    ad_budget_status: Any
    # One agent reads both budget inputs, so a partition's top-ups and clicks are
    # applied in the order they arrive, against one budget.
    budget_inputs: Any
    # Notifications given up (4xx, too many attempts, malformed): notify/, its own group
    notify_dlq: Any

    @property
    def SOURCES(self) -> tuple[Any, ...]:
        return (self.orders, self.order_events, self.ad_budget, self.ad_clicks)

    @property
    def ALL(self) -> tuple[Any, ...]:
        return (
            self.orders,
            self.orders_dlq,
            self.orders_by_category,
            self.category_totals,
            self.order_events,
            self.order_events_dlq,
            self.ad_budget,
            self.ad_budget_dlq,
            self.ad_clicks,
            self.ad_clicks_dlq,
            self.ad_ledger,
            self.ad_budget_status,
            self.notify_dlq,
        )

    @property
    def COPARTITIONED(self) -> tuple[tuple[str, str], ...]:
        """The worker refuses to start unless these pairs have the same partition count."""
        return ((self.ad_budget.get_topic_name(), self.ad_clicks.get_topic_name()),)


def declare_topics(app: Any, settings: Settings) -> Topics:
    raw: dict[str, Any] = dict(key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw")

    def topic(name: str, *, compacted: bool = False, internal: bool = False) -> Any:
        return app.topic(
            name,
            partitions=settings.topic_partitions,
            replicas=settings.topic_replication_factor,
            compacting=compacted or None,
            internal=internal,
            **raw,
        )

    s = settings
    return Topics(
        orders=topic(s.topic_orders),
        orders_dlq=topic(s.topic_orders_dlq),
        orders_by_category=topic(f"{s.app_id}-orders-by-category-repartition", internal=True),
        category_totals=topic(s.topic_category_totals, compacted=True),
        order_events=topic(s.topic_order_events),
        order_events_dlq=topic(s.topic_order_events_dlq),
        ad_budget=topic(s.topic_ad_budget),
        ad_budget_dlq=topic(s.topic_ad_budget_dlq),
        ad_clicks=topic(s.topic_ad_clicks),
        ad_clicks_dlq=topic(s.topic_ad_clicks_dlq),
        ad_ledger=topic(s.topic_ad_ledger),
        ad_budget_status=topic(s.topic_ad_budget_status),
        budget_inputs=app.topic(s.topic_ad_budget, s.topic_ad_clicks, **raw),
        notify_dlq=topic(s.topic_notify_dlq),
    )

"""Order lifecycle events -> one state per user (domain/lifecycle.py).

Invalid transitions and malformed events go to the dead-letter topic with their
reason; a redelivered event (its event_id already applied to its order) and a
repeat of an order's current status count as duplicates and change nothing.
"""

from __future__ import annotations

from typing import Any

from domain.errors import InvalidRecord
from domain.lifecycle import DUPLICATES, apply_event, parse_order_event
from streaming import Tally
from streaming.deadletter import dlq_headers
from streaming.partition_batch import PartitionBatch, batch_agent


def register(app: Any) -> None:
    topics, tables = app.runtime.topics, app.runtime.tables
    accounting, order_lifecycle = tables.accounting, tables.order_lifecycle
    order_events = topics.order_events.get_topic_name()
    retention = app.settings.order_retention

    @batch_agent(topics.order_events, name="order-lifecycle")
    def apply_order_events(batch: PartitionBatch) -> None:
        """Apply one partition's lifecycle events, in order, to their users' states."""
        tally = Tally()
        for record in batch.records:
            try:
                event = parse_order_event(record.key, record.value)
                state, outcome = apply_event(batch.get(order_lifecycle, event.user_id), event, retention)
            except InvalidRecord as error:
                batch.send(topics.order_events_dlq, record.key, record.value, dlq_headers(record, error))
                tally.dead_lettered += 1
                continue
            if outcome in DUPLICATES:
                tally.duplicates += 1
                continue
            batch.put(order_lifecycle, event.user_id, state)
            tally.processed += 1
        tally.save(batch, accounting, order_events)

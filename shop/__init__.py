"""The order service: orders in PostgreSQL, their events in a transactional outbox (docs/outbox.md).

``python -m shop`` serves the HTTP API; Debezium publishes the outbox to ``orders`` and
``order-events``, where the stream pipelines take over.
"""

"""The service's tables. Applied at start (idempotent), before Debezium's publication needs them.

``outbox`` has the seed's columns plus ``topic`` (the Event Router routes by it),
``record_key`` (the Kafka key: the user) and ``lsn``: the WAL position when the row was
written, compared with the replication slot's confirmed position to know which rows
Debezium has published (pruning, the lag gauge; docs/outbox.md).
"""

from __future__ import annotations

from typing import Any

DDL = """
CREATE TABLE IF NOT EXISTS orders (
    order_id     text PRIMARY KEY,
    user_id      text NOT NULL,
    status       text NOT NULL,
    version      integer NOT NULL,
    total_amount bigint NOT NULL,
    body         jsonb NOT NULL,
    created_at   timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL
);
CREATE TABLE IF NOT EXISTS outbox (
    id             uuid PRIMARY KEY,
    aggregate_type text NOT NULL,
    aggregate_id   text NOT NULL,
    event_type     text NOT NULL,
    payload        jsonb NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    topic          text NOT NULL,
    record_key     text NOT NULL,
    lsn            pg_lsn NOT NULL DEFAULT pg_current_wal_insert_lsn()
);
CREATE INDEX IF NOT EXISTS outbox_lsn ON outbox (lsn);
CREATE TABLE IF NOT EXISTS idempotency_keys (
    key          text PRIMARY KEY,
    request_hash text NOT NULL,
    status       integer,
    body         jsonb,
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS idempotency_keys_created ON idempotency_keys (created_at);
"""


async def apply(conn: Any) -> None:
    # One session at a time: concurrent CREATE ... IF NOT EXISTS can still collide.
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(727274)")
        await conn.execute(DDL)

"""The service's transactions: each request's rows and outbox rows commit together or not at all."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

import orjson

from config.settings import Settings
from shop import commands as c

Reply = tuple[int, dict[str, Any]]


def _json(value: Any) -> str:
    return orjson.dumps(value).decode()


async def _outbox(
    conn: Any,
    settings: Settings,
    order_id: str,
    user_id: str,
    event_type: str,
    topic: str,
    payload: dict[str, Any],
) -> None:
    await conn.execute(
        "INSERT INTO outbox (id, aggregate_type, aggregate_id, event_type, payload, topic, record_key)"
        " VALUES ($1, 'order', $2, $3, $4::jsonb, $5, $6)",
        uuid.uuid4(),
        order_id,
        event_type,
        _json(payload),
        topic,
        user_id,
    )


def view(row: Any) -> dict[str, Any]:
    body = orjson.loads(row["body"])
    return {
        "order_id": row["order_id"],
        "user_id": row["user_id"],
        "status": row["status"],
        "version": row["version"],
        "currency": body["currency"],
        "items": body["items"],
        "total_amount": row["total_amount"],
        "created_at": body["created_at"],
        "updated_at": row["updated_at"].isoformat(),
    }


async def place_order(
    conn: Any, settings: Settings, cmd: c.PlaceOrder, now: datetime, fault: Callable[[], None]
) -> Reply:
    """The order row, OrderCreated (to `orders`) and its `created` event (to `order-events`)."""
    order = c.new_order(cmd, now)
    oid, uid = order["order_id"], order["user_id"]
    row = await conn.fetchrow(
        "INSERT INTO orders (order_id, user_id, status, version, total_amount, body, created_at, updated_at)"
        " VALUES ($1, $2, 'created', 1, $3, $4::jsonb, $5, $5) RETURNING *",
        oid,
        uid,
        c.total_amount(order),
        _json(order),
        now,
    )
    await _outbox(conn, settings, oid, uid, c.ORDER_CREATED, settings.topic_orders, order)
    event = c.lifecycle_event(oid, uid, "created", now)
    await _outbox(conn, settings, oid, uid, c.EVENT_TYPES["created"], settings.topic_order_events, event)
    fault()  # tests only: every row written, then the transaction fails
    return 201, view(row)


async def transition(
    conn: Any, settings: Settings, order_id: str, target: str, now: datetime, fault: Callable[[], None]
) -> Reply:
    row = await conn.fetchrow("SELECT status, user_id FROM orders WHERE order_id = $1 FOR UPDATE", order_id)
    if row is None:
        raise c.NotFound(f"order {order_id!r} not found")
    c.check_transition(row["status"], target)
    updated = await conn.fetchrow(
        "UPDATE orders SET status = $2, version = version + 1, updated_at = $3"
        " WHERE order_id = $1 RETURNING *",
        order_id,
        target,
        now,
    )
    event = c.lifecycle_event(order_id, row["user_id"], target, now)
    await _outbox(
        conn, settings, order_id, row["user_id"], c.EVENT_TYPES[target], settings.topic_order_events, event
    )
    fault()
    return 200, view(updated)


async def get_order(pool: Any, order_id: str) -> dict[str, Any]:
    row = await pool.fetchrow("SELECT * FROM orders WHERE order_id = $1", order_id)
    if row is None:
        raise c.NotFound(f"order {order_id!r} not found")
    return view(row)


async def idempotent(
    pool: Any, key: str | None, digest: str, work: Callable[[Any], Awaitable[Reply]]
) -> tuple[Reply, bool]:
    """Run ``work`` in one transaction with the key's record: ((status, body), replayed).

    The key is inserted first: a concurrent request with the same key waits on its unique
    index until this one commits, then finds the stored answer. A failed request stores
    nothing, so its retry runs afresh.
    """
    async with pool.acquire() as conn, conn.transaction():
        if key is not None:
            fresh = await conn.fetchval(
                "INSERT INTO idempotency_keys (key, request_hash) VALUES ($1, $2)"
                " ON CONFLICT (key) DO NOTHING RETURNING true",
                key,
                digest,
            )
            if not fresh:
                prev = await conn.fetchrow(
                    "SELECT request_hash, status, body FROM idempotency_keys WHERE key = $1", key
                )
                if prev["request_hash"] != digest:
                    raise c.KeyReused("Idempotency-Key was used with a different request")
                return (prev["status"], orjson.loads(prev["body"])), True
        status, body = await work(conn)
        if key is not None:
            await conn.execute(
                "UPDATE idempotency_keys SET status = $2, body = $3::jsonb WHERE key = $1",
                key,
                status,
                _json(body),
            )
        return (status, body), False


SLOT_LSN = "(SELECT confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = $1)"


async def prune(pool: Any, settings: Settings, slot: str) -> tuple[int, int]:
    """Delete outbox rows the slot has confirmed and older than the retention, and expired keys.

    Rows the slot has not confirmed are kept whatever their age (no slot: none is deleted).
    """
    outbox = await pool.execute(
        f"DELETE FROM outbox WHERE lsn <= {SLOT_LSN} AND created_at < now() - make_interval(secs => $2)",
        slot,
        float(settings.shop_outbox_retention),
    )
    keys = await pool.execute(
        "DELETE FROM idempotency_keys WHERE created_at < now() - make_interval(secs => $1)",
        float(settings.shop_idempotency_retention),
    )
    return int(outbox.split()[-1]), int(keys.split()[-1])


async def outbox_state(pool: Any, slot: str) -> tuple[int, float]:
    """(rows in the outbox, age in seconds of the oldest row the slot has not confirmed; 0: none)."""
    row = await pool.fetchrow(
        "SELECT count(*) AS rows, coalesce(extract(epoch FROM now() - min(created_at)"
        f" FILTER (WHERE {SLOT_LSN} IS NULL OR lsn > {SLOT_LSN})), 0) AS lag FROM outbox",
        slot,
    )
    return int(row["rows"]), float(row["lag"])

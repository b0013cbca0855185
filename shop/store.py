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


# One statement, one round trip, one commit (autocommit): the key (with its answer), the order
# row and both outbox rows, or nothing. A key already stored (or being stored: the insert waits
# on its unique index until the other transaction ends) makes every insert here a no-op, and the
# stored answer is read afterwards. $1 NULL: no Idempotency-Key.
PLACE = """
WITH k AS (
    INSERT INTO idempotency_keys (key, request_hash, status, body)
    SELECT $1, $2, 201, $3::jsonb WHERE $1::text IS NOT NULL
    ON CONFLICT (key) DO NOTHING RETURNING key
), o AS (
    INSERT INTO orders (order_id, user_id, status, version, total_amount, body, created_at, updated_at)
    SELECT $4, $5, 'created', 1, $6, $7::jsonb, $8, $8 WHERE $1::text IS NULL OR EXISTS (SELECT FROM k)
    RETURNING order_id
), e AS (
    INSERT INTO outbox (id, aggregate_type, aggregate_id, event_type, payload, topic, record_key)
    SELECT v.id, 'order', $4, v.event_type, v.payload, v.topic, $5
    FROM (VALUES ($9::uuid, $10::text, $11::jsonb, $12::text), ($13::uuid, $14::text, $15::jsonb, $16::text))
        AS v (id, event_type, payload, topic)
    WHERE EXISTS (SELECT FROM o)
    RETURNING id
)
SELECT EXISTS (SELECT FROM o) AND (SELECT count(*) FROM e) = 2
"""


def placed_view(order: dict[str, Any], body: str, now: datetime) -> dict[str, Any]:
    """The 201 answer: ``view`` of the row PLACE inserts (``body``: the order's JSON)."""
    row = {"order_id": order["order_id"], "user_id": order["user_id"], "status": "created", "version": 1,
           "total_amount": c.total_amount(order), "body": body, "updated_at": now}  # fmt: skip
    return view(row)


async def place_order(
    pool: Any,
    settings: Settings,
    cmd: c.PlaceOrder,
    now: datetime,
    key: str | None,
    digest: str,
    fault: Callable[[], None] | None = None,
) -> tuple[Reply, bool]:
    """The order row, OrderCreated (to `orders`) and its `created` event (to `order-events`), with
    the key's record: ((status, body), replayed). ``fault`` (tests only): every row written in an
    explicit transaction, then it fails."""
    order = c.new_order(cmd, now)
    oid, uid = order["order_id"], order["user_id"]
    event = c.lifecycle_event(oid, uid, "created", now)
    body = _json(order)
    answer = placed_view(order, body, now)
    args = (
        key,
        digest,
        _json(answer),
        oid,
        uid,
        answer["total_amount"],
        body,
        now,
        uuid.uuid4(),
        c.ORDER_CREATED,
        body,
        settings.topic_orders,
        uuid.uuid4(),
        c.EVENT_TYPES["created"],
        _json(event),
        settings.topic_order_events,
    )
    async with pool.acquire() as conn:
        if fault is None:
            fresh = await conn.fetchval(PLACE, *args)
        else:
            async with conn.transaction():
                fresh = await conn.fetchval(PLACE, *args)
                fault()
        if fresh:
            return (201, answer), False
        return await _replay(conn, key, digest), True


async def _replay(conn: Any, key: str | None, digest: str) -> Reply:
    prev = await conn.fetchrow("SELECT request_hash, status, body FROM idempotency_keys WHERE key = $1", key)
    if prev is None:  # pruned since the insert met it (past its retention): the retry runs afresh
        raise c.Retry("Idempotency-Key expired meanwhile, retry")
    if prev["request_hash"] != digest:
        raise c.KeyReused("Idempotency-Key was used with a different request")
    return prev["status"], orjson.loads(prev["body"])


async def transition(
    conn: Any,
    settings: Settings,
    order_id: str,
    target: str,
    now: datetime,
    fault: Callable[[], None] | None = None,
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
    if fault is not None:
        fault()  # tests only: every row written, then the transaction fails
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
                return await _replay(conn, key, digest), True
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

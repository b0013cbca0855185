"""The order lifecycle agent on the exactly-once batch path (agents/lifecycle.py)."""

from __future__ import annotations

import orjson
from agent_support import accounted, rows

from app import app

topics, tables = app.runtime.topics, app.runtime.tables  # built by tests/conftest.py

EVENTS = topics.order_events.get_topic_name()
DLQ = topics.order_events_dlq.get_topic_name()
T0 = 1_795_500_000.0


def event(status: str, order_id: str = "o-1", user: str = "u-1", event_id: str = "") -> bytes:
    body = {"order_id": order_id, "user_id": user, "status": status, "ts": "2026-11-24T10:15:00+09:00"}
    return orjson.dumps({"event_id": event_id or f"{order_id}-{status}", **body})


async def test_events_fold_into_the_users_state_and_bad_steps_are_dead_lettered(worker, sent) -> None:  # type: ignore[no-untyped-def]
    accounting, order_lifecycle = tables.accounting, tables.order_lifecycle

    feed = [
        (b"u-1", event("created")),
        (b"u-1", event("paid")),
        (b"u-1", event("paid", event_id="again")),  # the same status again: duplicate
        (b"u-1", event("delivered")),  # paid -> delivered: invalid
        (b"u-1", event("created", "o-2")),
        (b"u-1", event("cancelled", "o-2")),
        (b"u-1", event("created", "o-2")),  # redelivered (same event_id): duplicate
        (b"u-2", event("created", user="u-2")),
        (b"u-1", event("placed", "o-3")),  # no longer a status: schema
        (b"u-1", b"{"),
    ]
    for key, value in feed:
        worker.put(topics.order_events, value, key=key, partition=1, timestamp=T0)
    await worker.run()
    accounted({EVENTS: len(feed)})
    state = rows(order_lifecycle)
    assert {o: (v["status"], v["version"]) for o, v in state["u-1"]["orders"].items()} == {
        "o-1": ("paid", 2),
        "o-2": ("cancelled", 2),
    }
    assert [h["event_id"] for h in state["u-1"]["orders"]["o-2"]["history"]] == [
        "o-2-created",
        "o-2-cancelled",
    ]
    assert state["u-1"]["counts"] == {"created": 0, "paid": 1, "shipped": 0, "delivered": 0, "cancelled": 1}
    assert state["u-1"]["version"] == 4
    assert state["u-2"]["counts"]["created"] == 1
    assert sent.topics() == {DLQ}
    reasons = [dict(d["headers"])["dlq.reason"] for d in sent[DLQ]]
    assert reasons == [b"invalid_transition", b"schema", b"not_json"]
    assert [d["value"] for d in sent[DLQ]] == [event("delivered"), event("placed", "o-3"), b"{"]
    assert rows(accounting) == {
        f"{EVENTS}/1": {"consumed": 10, "processed": 5, "duplicates": 2, "dead_lettered": 3}
    }

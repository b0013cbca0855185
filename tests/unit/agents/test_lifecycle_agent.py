"""The order lifecycle agent on the exactly-once batch path (agents/lifecycle.py)."""

from __future__ import annotations

import orjson
from agent_support import accounted, rows

import agents.lifecycle  # noqa: F401  (registers the handler)
from app import topics

EVENTS = topics.order_events.get_topic_name()
DLQ = topics.order_events_dlq.get_topic_name()
T0 = 1_795_500_000.0


def event(status: str, order_id: str = "o-1", user: str = "u-1") -> bytes:
    return orjson.dumps(
        {"order_id": order_id, "user_id": user, "status": status, "at": "2026-11-24T10:15:00+09:00"}
    )


async def test_events_fold_into_the_users_state_and_bad_steps_are_dead_lettered(worker, sent) -> None:  # type: ignore[no-untyped-def]
    from tables import accounting, order_lifecycle

    feed = [
        (b"u-1", event("placed")),
        (b"u-1", event("paid")),
        (b"u-1", event("paid")),  # duplicate
        (b"u-1", event("delivered")),  # paid -> delivered: invalid
        (b"u-1", event("placed", "o-2")),
        (b"u-1", event("cancelled", "o-2")),
        (b"u-2", event("placed", user="u-2")),
        (b"u-1", b"{"),
    ]
    for key, value in feed:
        worker.put(topics.order_events, value, key=key, partition=1, timestamp=T0)
    await worker.run()
    accounted({EVENTS: len(feed)})
    state = rows(order_lifecycle)
    assert state["u-1"]["orders"] == {
        "o-1": {"status": "paid", "version": 2, "at": 1_795_482_900},
        "o-2": {"status": "cancelled", "version": 2, "at": 1_795_482_900},
    }
    assert state["u-1"]["counts"] == {"placed": 0, "paid": 1, "shipped": 0, "delivered": 0, "cancelled": 1}
    assert state["u-1"]["version"] == 4
    assert state["u-2"]["counts"]["placed"] == 1
    assert sent.topics() == {DLQ}
    reasons = [dict(d["headers"])["dlq.reason"] for d in sent[DLQ]]
    assert reasons == [b"invalid_transition", b"not_json"]
    assert [d["value"] for d in sent[DLQ]] == [event("delivered"), b"{"]
    assert rows(accounting) == {
        f"{EVENTS}/1": {"consumed": 8, "processed": 5, "duplicates": 1, "dead_lettered": 2}
    }

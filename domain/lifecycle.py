"""The order lifecycle: created -> paid -> shipped -> delivered, or cancelled before shipping.

State is one JSON object per user (the topic's key, so the router finds its owner):
its orders by id, each with its status, a per-order version, the time of its last
change and its history (status, event time, event_id of every applied event), the
user's counts by status, and a per-user version that grows by one per applied
event (the ordering id of the user's changes). "State per order" is an entry of
its user's value: one read per user per batch, and the orders of a user commit
together.

Duplicates: an event whose event_id is in its order's history was applied already
(a redelivery): nothing changes. The ids live and go with their order, so the
filter is bounded like the orders. Finished orders (delivered, cancelled) are
dropped once the user's stream time (the latest event time applied for that user)
passes their latest event time by the retention; the counts keep them. Open orders
are kept. An event for an order not in the state whose time is already past that
horizon may belong to a dropped order (a redelivered ``created`` would bring it
back): it is dead-lettered as ``past_retention``, never applied.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from domain.errors import InvalidRecord
from domain.validation import parse_json_model

Status = Literal["created", "paid", "shipped", "delivered", "cancelled"]
STATUSES: tuple[Status, ...] = ("created", "paid", "shipped", "delivered", "cancelled")
FINISHED = frozenset({"delivered", "cancelled"})
# Allowed next statuses; None is an order not seen (or already dropped).
NEXT: dict[str | None, frozenset[str]] = {
    None: frozenset({"created"}),
    "created": frozenset({"paid", "cancelled"}),
    "paid": frozenset({"shipped", "cancelled"}),
    "shipped": frozenset({"delivered"}),
    "delivered": frozenset(),
    "cancelled": frozenset(),
}
# Outcomes of apply_event; both kinds of duplicate are counted as duplicates.
APPLIED = "applied"
REDELIVERED = "redelivered"  # an event_id already applied to this order
REPEATED = "repeated"  # a new event_id repeating the order's current status
DUPLICATES = frozenset({REDELIVERED, REPEATED})

NonEmpty = Annotated[str, Field(min_length=1, max_length=200)]


class OrderEvent(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)
    event_id: NonEmpty
    order_id: NonEmpty
    user_id: NonEmpty
    status: Status
    ts: AwareDatetime  # event time, RFC 3339 with an offset


def parse_order_event(key: bytes | None, value: bytes | None) -> OrderEvent:
    """Validate one `order-events` record; its key must be the user (its partitioning)."""
    event = parse_json_model(OrderEvent, value)
    if key is None or key != event.user_id.encode():
        raise InvalidRecord("key_mismatch", f"record key {key!r} is not user_id {event.user_id!r}")
    return event


def empty_state() -> dict[str, Any]:
    return {"orders": {}, "counts": dict.fromkeys(STATUSES, 0), "version": 0}


def apply_event(
    state: dict[str, Any] | None, event: OrderEvent, retention: int
) -> tuple[dict[str, Any], str]:
    """The user's state after ``event`` (a new object) and its outcome.

    Raises InvalidRecord("invalid_transition") for a step the lifecycle forbids,
    InvalidRecord("past_retention") for an unknown order's event older than the
    retention horizon. A duplicate (REDELIVERED, REPEATED) changes nothing.
    """
    ts = int(event.ts.timestamp())
    current = (state or {}).get("orders", {}).get(event.order_id)
    if current is not None and any(h["event_id"] == event.event_id for h in current["history"]):
        return (state or empty_state()), REDELIVERED
    status = current["status"] if current else None
    if status == event.status:
        return (state or empty_state()), REPEATED
    if current is None and state is not None and ts < state["stream_time"] - retention:
        raise InvalidRecord(
            "past_retention",
            f"order {event.order_id!r} unknown and its event time {ts} is more than"
            f" {retention} s behind the user's stream time {state['stream_time']}:"
            " it may be a dropped order's",
        )
    if event.status not in NEXT[status]:
        raise InvalidRecord(
            "invalid_transition",
            f"order {event.order_id!r}: {status or 'unknown'} -> {event.status} is not allowed",
        )
    out = (
        empty_state()
        if state is None
        else {**state, "orders": dict(state["orders"]), "counts": dict(state["counts"])}
    )
    if status is not None:
        out["counts"][status] -= 1
    out["counts"][event.status] += 1
    out["version"] += 1
    history = [
        *(current["history"] if current else ()),
        {"status": event.status, "ts": ts, "event_id": event.event_id},
    ]
    out["orders"][event.order_id] = {
        "status": event.status,
        "version": len(history),
        "ts": ts,
        "history": history,
    }
    out["stream_time"] = max(ts, (state or {}).get("stream_time", ts))
    _drop_finished(out, retention)
    return out, APPLIED


def _drop_finished(state: dict[str, Any], retention: int) -> None:
    """An order goes once all its events are past the horizon, so that every event
    of a dropped order is itself past it (and refused as past_retention)."""
    horizon = state["stream_time"] - retention
    orders = state["orders"]
    for order_id in [
        o
        for o, v in orders.items()
        if v["status"] in FINISHED and max(h["ts"] for h in v["history"]) < horizon
    ]:
        del orders[order_id]

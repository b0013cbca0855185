"""The order lifecycle: placed -> paid -> shipped -> delivered, or cancelled before shipping.

State is one JSON object per user (the topic's key, so the router finds its owner):
its orders by id with their status and a per-order version, the user's counts by
status, and a per-user version that grows by one per applied event (the ordering id
of the user's changes). Finished orders (delivered, cancelled) are dropped once the
user's stream time (the latest event time seen for that user) passes their last
change by the retention; the counts keep them. Open orders are kept.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from domain.errors import InvalidRecord
from domain.validation import parse_json_model

Status = Literal["placed", "paid", "shipped", "delivered", "cancelled"]
STATUSES: tuple[Status, ...] = ("placed", "paid", "shipped", "delivered", "cancelled")
FINISHED = frozenset({"delivered", "cancelled"})
# Allowed next statuses; None is an order not seen (or already dropped).
NEXT: dict[str | None, frozenset[str]] = {
    None: frozenset({"placed"}),
    "placed": frozenset({"paid", "cancelled"}),
    "paid": frozenset({"shipped", "cancelled"}),
    "shipped": frozenset({"delivered"}),
    "delivered": frozenset(),
    "cancelled": frozenset(),
}
APPLIED = "applied"
DUPLICATE = "duplicate"

NonEmpty = Annotated[str, Field(min_length=1, max_length=200)]


class OrderEvent(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)
    order_id: NonEmpty
    user_id: NonEmpty
    status: Status
    at: AwareDatetime  # event time, RFC 3339 with an offset


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
    """The user's state after ``event`` (a new object) and APPLIED or DUPLICATE.

    Raises InvalidRecord("invalid_transition") for a step the lifecycle forbids.
    A repeat of an order's current status is a DUPLICATE and changes nothing.
    """
    at = int(event.at.timestamp())
    current = (state or {}).get("orders", {}).get(event.order_id)
    status = current["status"] if current else None
    if status == event.status:
        return (state or empty_state()), DUPLICATE
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
    version = current["version"] + 1 if current else 1
    out["orders"][event.order_id] = {"status": event.status, "version": version, "at": at}
    out["stream_time"] = max(at, (state or {}).get("stream_time", at))
    _drop_finished(out, retention)
    return out, APPLIED


def _drop_finished(state: dict[str, Any], retention: int) -> None:
    horizon = state["stream_time"] - retention
    orders = state["orders"]
    for order_id in [o for o, v in orders.items() if v["status"] in FINISHED and v["at"] < horizon]:
        del orders[order_id]

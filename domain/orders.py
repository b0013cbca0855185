"""Orders and per-category sales totals (the Kafka Streams groupBy/aggregate example)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from domain.errors import InvalidRecord
from domain.validation import parse_json_model

HOUR = 3600
_STRICT = ConfigDict(strict=True, extra="forbid", frozen=True)

NonEmpty = Annotated[str, Field(min_length=1, max_length=200)]


class OrderItem(BaseModel):
    model_config = _STRICT
    sku: NonEmpty
    category: NonEmpty
    quantity: int = Field(ge=1)
    unit_price: int = Field(ge=0)  # KRW, no minor unit


class Order(BaseModel):
    model_config = _STRICT
    order_id: NonEmpty
    user_id: NonEmpty
    created_at: AwareDatetime  # RFC 3339 with an offset
    currency: Literal["KRW"]
    items: list[OrderItem] = Field(min_length=1, max_length=100)


def parse_order(key: bytes | None, value: bytes | None) -> Order:
    """Validate one `orders` record; the key must be the order's user (its partitioning)."""
    order = parse_json_model(Order, value)
    if key is None or key != order.user_id.encode():  # bytes: they pick the partition
        raise InvalidRecord("key_mismatch", f"record key {key!r} is not user_id {order.user_id!r}")
    return order


class CategoryDelta(BaseModel):
    """What orders add to one category in one event-time hour; the repartition topic's
    value. One order's (``order_id`` set, ``orders`` 1), or the sum of one input batch's
    orders of that category and hour (``combine``: ``order_id`` None)."""

    model_config = ConfigDict(frozen=True)
    order_id: str | None = None
    category: str
    amount: int
    items: int
    orders: int = 1  # orders summed; each counts once per category
    created_at: int  # epoch seconds: the latest event time of the orders summed (one hour)


def category_sums(order: Order) -> dict[str, list[int]]:
    amounts: dict[str, list[int]] = {}
    for item in order.items:
        acc = amounts.setdefault(item.category, [0, 0])
        acc[0] += item.quantity * item.unit_price
        acc[1] += item.quantity
    return amounts


def category_deltas(order: Order) -> list[CategoryDelta]:
    """One delta per category present in the order; the order counts once per category."""
    ts = int(order.created_at.timestamp())
    return [
        CategoryDelta(order_id=order.order_id, category=c, amount=a, items=i, created_at=ts)
        for c, (a, i) in category_sums(order).items()
    ]


def hour_start(epoch_seconds: int) -> int:
    """Start of the tumbling one-hour event-time window holding this instant."""
    return epoch_seconds - epoch_seconds % HOUR


def empty_totals() -> dict[str, Any]:
    return {"total_amount": 0, "items_sold": 0, "order_count": 0, "updated_at": None}


def add_deltas(totals: dict[str, Any] | None, deltas: list[CategoryDelta], now: datetime) -> dict[str, Any]:
    """Fold a batch of one category's deltas into its totals (integers only)."""
    out = dict(totals) if totals else empty_totals()
    for d in deltas:
        out["total_amount"] += d.amount
        out["items_sold"] += d.items
        out["order_count"] += d.orders
    out["updated_at"] = now.astimezone(UTC).isoformat()
    return out


def iso_hour(epoch_seconds: int) -> str:
    return datetime.fromtimestamp(epoch_seconds, UTC).isoformat()

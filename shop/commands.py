"""What a request asks for, and the records it writes: pure functions, no framework, no database.

The order JSON is what `orders` accepts (domain.orders.Order, validated here by the same
model), the lifecycle event what `order-events` accepts (domain.lifecycle.OrderEvent), and
a transition is allowed exactly when domain.lifecycle allows it.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime
from typing import Any, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from domain.errors import StreamsError
from domain.lifecycle import NEXT, OrderEvent
from domain.orders import NonEmpty, Order, OrderItem

ORDER_CREATED = "OrderCreated"
# The outbox's event_type of each lifecycle status (created rides with OrderCreated).
EVENT_TYPES = {
    "created": "OrderStatusCreated",
    "paid": "OrderPaid",
    "shipped": "OrderShipped",
    "delivered": "OrderDelivered",
    "cancelled": "OrderCancelled",
}
ACTIONS = {"pay": "paid", "ship": "shipped", "deliver": "delivered", "cancel": "cancelled"}


class ShopError(StreamsError):
    status = 400


class BadRequest(ShopError):
    status = 400


class NotFound(ShopError):
    status = 404


class Forbidden(ShopError):
    """A transition the lifecycle does not allow."""

    status = 409


class KeyReused(ShopError):
    """An Idempotency-Key sent again with another request."""

    status = 422


class Retry(ShopError):
    """Nothing was written; the same request may be sent again."""

    status = 503


class InjectedFault(ShopError):
    """Tests only (SHOP_FAULT_INJECTION): the transaction fails after its writes."""

    status = 503


class PlaceOrder(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)
    user_id: NonEmpty
    currency: Literal["KRW"] = "KRW"
    items: list[OrderItem] = Field(min_length=1, max_length=100)


def parse_place_order(raw: bytes) -> PlaceOrder:
    try:
        return PlaceOrder.model_validate_json(raw or b"")
    except ValidationError as exc:
        errors = exc.errors(include_url=False, include_input=False)
        detail = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}" for e in errors[:5])
        raise BadRequest(detail) from None


def now_utc() -> datetime:
    return datetime.now(UTC)


def new_order(cmd: PlaceOrder, now: datetime, order_id: str | None = None) -> dict[str, Any]:
    """The order as `orders` carries it; validated by the pipeline's own model."""
    body = {
        "order_id": order_id or f"o-{uuid.uuid4().hex}",
        "user_id": cmd.user_id,
        "created_at": now.isoformat(timespec="milliseconds"),
        "currency": cmd.currency,
        "items": [item.model_dump() for item in cmd.items],
    }
    Order.model_validate_json(orjson.dumps(body))
    return body


def total_amount(order: dict[str, Any]) -> int:
    return sum(i["quantity"] * i["unit_price"] for i in order["items"])


def lifecycle_event(order_id: str, user_id: str, status: str, now: datetime) -> dict[str, Any]:
    """One `order-events` record; its event_id is the (order, status) pair, reached at most once."""
    event = {
        "event_id": f"{order_id}.{status}",
        "order_id": order_id,
        "user_id": user_id,
        "status": status,
        "ts": now.isoformat(timespec="milliseconds"),
    }
    OrderEvent.model_validate_json(orjson.dumps(event))
    return event


def check_transition(current: str, target: str) -> None:
    if target not in NEXT[current]:
        raise Forbidden(f"order is {current}: {current} -> {target} is not allowed")


def request_hash(method: str, path: str, body: bytes) -> str:
    return hashlib.sha256(b"\0".join((method.encode(), path.encode(), body))).hexdigest()


def check_idempotency_key(key: str | None) -> str | None:
    if key is None:
        return None
    if not (1 <= len(key) <= 200) or not key.isascii() or not key.isprintable():
        raise BadRequest("Idempotency-Key must be 1 to 200 printable ASCII characters")
    return key

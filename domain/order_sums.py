"""What the orders stage needs of each order, and a batch's orders summed per
category and event-time hour (the repartition records of agents/orders.py).

``order_sums`` reads a plainly valid order without pydantic (orjson and checks
that accept nothing the strict ``Order`` schema rejects, and read the same
values: tests/unit/domain/test_order_sums.py checks both on generated orders);
anything else goes through ``parse_order``, which decides and says why.
"""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

import orjson

from domain.budgets import RFC3339
from domain.orders import CategoryDelta, Order, category_sums, hour_start, parse_order

TEXT_MAX = 200  # NonEmpty's max_length, in characters (len)
ITEMS_MAX = 100


class OrderSums(NamedTuple):
    order_id: str
    created_at: int  # epoch seconds, as category_deltas computes them
    categories: dict[str, list[int]]  # category -> [amount, items]


def order_sums(key: bytes | None, value: bytes | None) -> OrderSums:
    """The order in one ``orders`` record, or InvalidRecord (parse_order's)."""
    if value is not None and key is not None:
        plain = _plain(key, value)
        if plain is not None:
            return plain
    return of_order(parse_order(key, value))


def of_order(order: Order) -> OrderSums:
    return OrderSums(order.order_id, int(order.created_at.timestamp()), category_sums(order))


def _text(s: object) -> bool:
    return type(s) is str and 0 < len(s) <= TEXT_MAX


def _plain(key: bytes, value: bytes) -> OrderSums | None:
    """The order if plainly valid and keyed by its user, else None (pydantic decides)."""
    try:
        body = orjson.loads(value)
    except orjson.JSONDecodeError:
        return None
    if type(body) is not dict or len(body) != 5:
        return None
    order_id, user_id, created_at = body.get("order_id"), body.get("user_id"), body.get("created_at")
    items = body.get("items")
    if not (
        _text(order_id)
        and _text(user_id)
        and body.get("currency") == "KRW"
        and type(body["currency"]) is str
        and type(created_at) is str
        and type(items) is list
        and 0 < len(items) <= ITEMS_MAX
        and RFC3339.fullmatch(created_at)
        and key == user_id.encode()  # type: ignore[union-attr]
    ):
        return None
    sums: dict[str, list[int]] = {}
    for item in items:
        if type(item) is not dict or len(item) != 4:
            return None
        category, quantity, price = item.get("category"), item.get("quantity"), item.get("unit_price")
        if not (_text(item.get("sku")) and _text(category) and type(quantity) is int and type(price) is int):
            return None
        if quantity < 1 or price < 0:
            return None
        acc = sums.get(category)  # type: ignore[arg-type]
        if acc is None:
            sums[category] = [quantity * price, quantity]  # type: ignore[index]
        else:
            acc[0] += quantity * price
            acc[1] += quantity
    try:
        instant = datetime.fromisoformat(created_at)
    except ValueError:
        return None
    return OrderSums(order_id, int(instant.timestamp()), sums)  # type: ignore[arg-type]


Sums = dict[tuple[str, int], list[int]]  # (category, hour) -> [amount, items, orders, latest]


def combine(sums: Sums, order: OrderSums) -> None:
    """Add ``order``'s ``category_deltas`` to a batch's ``sums`` by category and
    event-time hour: what the deltas of ``combined`` then add to the totals and to
    each hour is what the orders' own deltas add (tests/unit/domain checks)."""
    ts = order.created_at
    hour = hour_start(ts)
    for category, (amount, items) in order.categories.items():
        acc = sums.get((category, hour))
        if acc is None:
            sums[category, hour] = [amount, items, 1, ts]
        else:
            acc[0] += amount
            acc[1] += items
            acc[2] += 1
            if ts > acc[3]:
                acc[3] = ts


def combined(sums: Sums) -> list[CategoryDelta]:
    """One delta per (category, hour) of ``sums``, in the order first seen."""
    return [
        CategoryDelta(category=c, amount=a, items=i, orders=n, created_at=ts)
        for (c, _), (a, i, n, ts) in sums.items()
    ]

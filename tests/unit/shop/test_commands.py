"""The order service's pure rules: request parsing, the records it writes, transitions."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
import pytest

from domain.lifecycle import NEXT, STATUSES, parse_order_event
from domain.orders import parse_order
from shop import commands as c
from shop.metrics import worst_state

NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
ITEM = {"sku": "s-1", "category": "books", "quantity": 2, "unit_price": 1500}


def test_a_new_order_is_what_the_orders_pipeline_accepts_keyed_by_its_user() -> None:
    order = c.new_order(c.parse_place_order(orjson.dumps({"user_id": "u-1", "items": [ITEM]})), NOW, "o-1")
    parsed = parse_order(b"u-1", orjson.dumps(order))
    assert (parsed.order_id, parsed.user_id, parsed.currency, c.total_amount(order)) == (
        "o-1",
        "u-1",
        "KRW",
        3000,
    )


def test_a_lifecycle_event_is_what_the_lifecycle_pipeline_accepts() -> None:
    event = parse_order_event(b"u-1", orjson.dumps(c.lifecycle_event("o-1", "u-1", "paid", NOW)))
    assert (event.event_id, event.status) == ("o-1.paid", "paid")


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"not json",
        b"[]",
        {"user_id": "u-1", "items": []},
        {"user_id": "u-1", "items": [{**ITEM, "quantity": 1.5}]},
        {"user_id": "u-1", "items": [{**ITEM, "unit_price": -1}]},
        {"user_id": "u-1", "items": [{**ITEM, "quantity": "2"}]},
        {"user_id": "u-1", "items": [ITEM], "currency": "USD"},
        {"user_id": "u-1", "items": [ITEM], "coupon": "FREE"},
        {"user_id": "", "items": [ITEM]},
        {"items": [ITEM]},
    ],
)
def test_bad_bodies_are_bad_requests(body: object) -> None:
    raw = body if isinstance(body, bytes) else orjson.dumps(body)
    with pytest.raises(c.BadRequest):
        c.parse_place_order(raw)


@pytest.mark.parametrize("current", STATUSES)
@pytest.mark.parametrize("target", [s for s in STATUSES if s != "created"])
def test_a_transition_is_allowed_exactly_when_the_lifecycle_allows_it(current: str, target: str) -> None:
    if target in NEXT[current]:
        c.check_transition(current, target)
    else:
        with pytest.raises(c.Forbidden):
            c.check_transition(current, target)


def test_idempotency_keys_are_bounded_printable_ascii() -> None:
    assert c.check_idempotency_key(None) is None
    assert c.check_idempotency_key("k-1") == "k-1"
    for bad in ("", "x" * 201, "ключ", "a\nb"):
        with pytest.raises(c.BadRequest):
            c.check_idempotency_key(bad)


def test_the_connector_state_is_its_worst_part() -> None:
    running = {"connector": {"state": "RUNNING"}, "tasks": [{"state": "RUNNING"}]}
    assert worst_state(running) == "RUNNING"
    assert worst_state({**running, "tasks": [{"state": "RUNNING"}, {"state": "FAILED"}]}) == "FAILED"
    assert worst_state({**running, "tasks": []}) == "UNASSIGNED"
    assert worst_state({"connector": {"state": "PAUSED"}, "tasks": [{"state": "PAUSED"}]}) == "PAUSED"

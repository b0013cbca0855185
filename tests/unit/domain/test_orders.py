"""Order validation and category arithmetic (domain/orders.py, domain/validation.py)."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta, timezone

import orjson
import pytest

from domain.errors import InvalidRecord, StreamsError
from domain.orders import (
    HOUR,
    CategoryDelta,
    Order,
    add_deltas,
    category_deltas,
    empty_totals,
    hour_start,
    iso_hour,
    parse_order,
)

KST = timezone(timedelta(hours=9))
# 2026-11-24T10:15:00+09:00 == 2026-11-24T01:15:00Z
CREATED = "2026-11-24T10:15:00+09:00"
CREATED_EPOCH = int(datetime(2026, 11, 24, 1, 15, tzinfo=UTC).timestamp())


def order_body(**overrides: object) -> dict:
    body = {
        "order_id": "o-1",
        "user_id": "u-1",
        "created_at": CREATED,
        "currency": "KRW",
        "items": [
            {"sku": "sku-1", "category": "food", "quantity": 2, "unit_price": 1500},
            {"sku": "sku-2", "category": "toys", "quantity": 1, "unit_price": 700},
            {"sku": "sku-3", "category": "food", "quantity": 3, "unit_price": 100},
        ],
    }
    body.update(overrides)
    return body


def encode(body: dict) -> bytes:
    return orjson.dumps(body)


def reason_of(key: bytes | None, value: bytes | None) -> str:
    with pytest.raises(InvalidRecord) as caught:
        parse_order(key, value)
    return caught.value.reason


# --- validation -------------------------------------------------------------------------


def test_valid_order_parses() -> None:
    order = parse_order(b"u-1", encode(order_body()))
    assert isinstance(order, Order)
    assert order.order_id == "o-1"
    assert order.user_id == "u-1"
    assert order.currency == "KRW"
    assert order.created_at == datetime(2026, 11, 24, 1, 15, tzinfo=UTC)
    assert [(i.category, i.quantity, i.unit_price) for i in order.items] == [
        ("food", 2, 1500),
        ("toys", 1, 700),
        ("food", 3, 100),
    ]


def test_zero_unit_price_is_allowed() -> None:
    body = order_body(items=[{"sku": "s", "category": "gift", "quantity": 1, "unit_price": 0}])
    assert parse_order(b"u-1", encode(body)).items[0].unit_price == 0


def _set_item(field: str, value: object):  # type: ignore[no-untyped-def]
    def mutate(body: dict) -> None:
        body["items"][0][field] = value

    return mutate


def _set(field: str, value: object):  # type: ignore[no-untyped-def]
    def mutate(body: dict) -> None:
        body[field] = value

    return mutate


def _delete(field: str):  # type: ignore[no-untyped-def]
    def mutate(body: dict) -> None:
        del body[field]

    return mutate


def _items(n: int):  # type: ignore[no-untyped-def]
    def mutate(body: dict) -> None:
        body["items"] = body["items"][:1] * n

    return mutate


SCHEMA_DEFECTS = {
    "wrong type (quantity '2')": (_set_item("quantity", "2"), "items.0.quantity"),
    "missing field (currency)": (_delete("currency"), "currency"),
    "missing field (items)": (_delete("items"), "items"),
    "negative unit_price": (_set_item("unit_price", -100), "items.0.unit_price"),
    "zero quantity": (_set_item("quantity", 0), "items.0.quantity"),
    "float unit_price": (_set_item("unit_price", 99.5), "items.0.unit_price"),
    "101 items": (_items(101), "items"),
    "no items": (_items(0), "items"),
    "other currency": (_set("currency", "USD"), "currency"),
    "bad timestamp": (_set("created_at", "24/11/2026 10:15"), "created_at"),
    "timestamp without offset": (_set("created_at", "2026-11-24T10:15:00"), "created_at"),
    "unknown field": (_set("coupon", "FREE"), "coupon"),
    "empty order_id": (_set("order_id", ""), "order_id"),
}


@pytest.mark.parametrize("defect", list(SCHEMA_DEFECTS), ids=list(SCHEMA_DEFECTS))
def test_schema_defects_are_rejected_with_reason_schema(defect: str) -> None:
    mutate, where = SCHEMA_DEFECTS[defect]
    body = copy.deepcopy(order_body())
    mutate(body)
    with pytest.raises(InvalidRecord) as caught:
        parse_order(b"u-1", encode(body))
    assert caught.value.reason == "schema"
    assert where in caught.value.detail  # the detail names the offending field
    assert str(caught.value).startswith("schema: ")


def test_hundred_items_is_accepted() -> None:
    body = order_body()
    body["items"] = body["items"][:1] * 100
    order = parse_order(b"u-1", encode(body))
    assert len(order.items) == 100


@pytest.mark.parametrize(
    "raw",
    [b'{"order_id": "broken', b"top-up 500000", b"\xff\xfe not json", b""],
    ids=["truncated", "text", "not-utf8", "empty"],
)
def test_not_json_is_rejected_with_reason_not_json(raw: bytes) -> None:
    assert reason_of(b"u-1", raw) == "not_json"


def test_none_value_tombstone_is_not_json() -> None:
    with pytest.raises(InvalidRecord) as caught:
        parse_order(b"u-1", None)
    assert caught.value.reason == "not_json"
    assert "tombstone" in caught.value.detail


@pytest.mark.parametrize("raw", [b"[1, 2]", b"null", b'"an order"', b"42"])
def test_json_that_is_not_an_object_is_a_schema_error(raw: bytes) -> None:
    assert reason_of(b"u-1", raw) == "schema"


@pytest.mark.parametrize("key", [b"someone-else", b"", None, b"U-1"], ids=repr)
def test_key_not_user_id_is_key_mismatch(key: bytes | None) -> None:
    assert reason_of(key, encode(order_body())) == "key_mismatch"


def test_a_key_that_only_decodes_to_the_user_is_not_its_key() -> None:
    body = encode(order_body(user_id="\ufffd"))
    assert reason_of(b"\xff", body) == "key_mismatch"  # decodes to U+FFFD, hashes elsewhere
    assert parse_order("\ufffd".encode(), body).user_id == "\ufffd"


def test_invalid_record_is_a_streams_error() -> None:
    err = InvalidRecord("schema", "items: too many")
    assert isinstance(err, StreamsError)
    assert (err.reason, err.detail, str(err)) == ("schema", "items: too many", "schema: items: too many")


# --- category arithmetic -----------------------------------------------------------------


def test_category_deltas_sum_per_category_once_per_order() -> None:
    deltas = category_deltas(parse_order(b"u-1", encode(order_body())))
    by_category = {d.category: d for d in deltas}
    assert len(deltas) == 2  # food appears twice in the items but yields one delta
    assert by_category["food"] == CategoryDelta(
        order_id="o-1", category="food", amount=2 * 1500 + 3 * 100, items=5, created_at=CREATED_EPOCH
    )
    assert by_category["toys"] == CategoryDelta(
        order_id="o-1", category="toys", amount=700, items=1, created_at=CREATED_EPOCH
    )
    for d in deltas:
        assert type(d.amount) is int
        assert type(d.items) is int
        assert type(d.created_at) is int


def test_category_delta_json_round_trip() -> None:
    delta = category_deltas(parse_order(b"u-1", encode(order_body())))[0]
    assert CategoryDelta.model_validate_json(delta.model_dump_json()) == delta


def test_add_deltas_from_nothing() -> None:
    deltas = category_deltas(parse_order(b"u-1", encode(order_body())))
    food = [d for d in deltas if d.category == "food"]
    now = datetime(2026, 11, 24, 19, 0, tzinfo=KST)
    totals = add_deltas(None, food, now)
    assert totals == {
        "total_amount": 3300,
        "items_sold": 5,
        "order_count": 1,
        "updated_at": "2026-11-24T10:00:00+00:00",  # stored in UTC
    }
    assert type(totals["total_amount"]) is int
    assert type(totals["items_sold"]) is int
    assert type(totals["order_count"]) is int


def test_add_deltas_folds_into_existing_totals_without_mutating_them() -> None:
    before = {"total_amount": 10_000, "items_sold": 7, "order_count": 3, "updated_at": "x"}
    snapshot = dict(before)
    deltas = [
        CategoryDelta(order_id=f"o-{i}", category="food", amount=100 * i, items=i, created_at=0)
        for i in (1, 2, 3)
    ]
    after = add_deltas(before, deltas, datetime(2026, 1, 1, tzinfo=UTC))
    assert after["total_amount"] == 10_600
    assert after["items_sold"] == 13
    assert after["order_count"] == 6
    assert after["updated_at"] == "2026-01-01T00:00:00+00:00"
    assert all(type(after[k]) is int for k in ("total_amount", "items_sold", "order_count"))
    assert before == snapshot


def test_add_deltas_with_empty_batch_only_touches_updated_at() -> None:
    after = add_deltas(empty_totals(), [], datetime(2026, 1, 1, tzinfo=UTC))
    assert after == {**empty_totals(), "updated_at": "2026-01-01T00:00:00+00:00"}


def test_hour_start_boundaries() -> None:
    on_the_hour = int(datetime(2026, 11, 24, 1, 0, tzinfo=UTC).timestamp())
    assert hour_start(on_the_hour) == on_the_hour
    assert hour_start(on_the_hour - 1) == on_the_hour - HOUR
    assert hour_start(on_the_hour + HOUR - 1) == on_the_hour
    assert hour_start(on_the_hour + HOUR) == on_the_hour + HOUR
    assert hour_start(CREATED_EPOCH) == on_the_hour
    assert type(hour_start(on_the_hour + 5)) is int


def test_iso_hour_is_utc() -> None:
    on_the_hour = int(datetime(2026, 11, 24, 1, 0, tzinfo=UTC).timestamp())
    assert iso_hour(on_the_hour) == "2026-11-24T01:00:00+00:00"

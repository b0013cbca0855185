"""domain.order_sums: the plain reading of an order agrees with the strict schema
(parse_order) on generated orders, valid or not; a batch's orders summed per
category and hour add to the totals and to each hour what their own deltas add."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import UTC, datetime

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.errors import InvalidRecord
from domain.order_sums import Sums, _plain, combine, combined, of_order, order_sums
from domain.orders import CategoryDelta, add_deltas, category_deltas, hour_start, parse_order

NOW = datetime(2026, 11, 24, tzinfo=UTC)

good_texts = st.one_of(
    st.sampled_from(["food", "toys", "u-1", "o-1", "x" * 200, "é" * 200, "카테고리"]),
    st.text(min_size=1, max_size=3),
)
bad_texts = st.one_of(st.sampled_from(["", "x" * 201, "카" * 201, None]), st.integers(0, 3))
bad_ints = st.one_of(
    st.sampled_from([0, -1, 2**63 - 1, 2**63, -(2**63) - 1, 2.0, True, "2", None]),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
)  # fmt: skip
good_stamps = st.one_of(
    st.sampled_from([
        "2026-11-24T10:15:00+09:00", "2026-11-24T01:15:00Z", "2026-11-24T01:15:00.5+00:00",
        "2026-11-24T01:15:00.123456-05:30", "2026-11-24T01:15:00-00:00", "1970-01-01T00:00:00Z",
        "2099-12-31T23:59:59.999999+14:00",
    ]),
    st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2090, 1, 1), timezones=st.just(UTC)).map(
        lambda d: d.isoformat()
    ),
)  # fmt: skip
bad_stamps = st.sampled_from([
    "2026-11-24T01:15:00", "2026-11-24 01:15:00+00:00", "2026-11-24T01:15+00:00", "2026-02-30T01:15:00+00:00",
    "2026-11-24T24:00:00+00:00", "2026-11-24T01:15:00z", "2026-11-24T01:15:00+0900", "24/11/2026 10:15",
    "2026-11-24T01:15:00.1234567+00:00", "2026-11-24T01:15:60+00:00",
])  # fmt: skip
items = st.lists(
    st.fixed_dictionaries({
        "sku": good_texts, "category": st.sampled_from(["food", "toys", "카테고리"]) | good_texts,
        "quantity": st.integers(1, 5), "unit_price": st.integers(0, 10**7),
    }),
    min_size=1, max_size=4,
)  # fmt: skip


@st.composite
def record(draw: st.DrawFn) -> tuple[bytes | None, bytes | None]:
    """A valid order, or one with a defect (a field, an item, the key, the bytes)."""
    user = draw(good_texts)
    body: dict = {
        "order_id": draw(good_texts), "user_id": user, "created_at": draw(good_stamps), "currency": "KRW",
        "items": draw(items),
    }  # fmt: skip
    key: bytes | None = user.encode()
    defect = draw(st.integers(0, 15))
    if defect == 1:
        body[draw(st.sampled_from(["order_id", "user_id", "currency"]))] = draw(bad_texts | st.just("USD"))
    elif defect == 2:
        body["created_at"] = draw(bad_stamps | bad_texts)
    elif defect == 3:
        body.pop(draw(st.sampled_from(sorted(body))))
    elif defect == 4:
        body["coupon"] = "FREE"
    elif defect == 5:
        item = draw(st.sampled_from(body["items"]))
        item[draw(st.sampled_from(["quantity", "unit_price"]))] = draw(bad_ints)
    elif defect == 6:
        item = draw(st.sampled_from(body["items"]))
        item[draw(st.sampled_from(["sku", "category"]))] = draw(bad_texts)
    elif defect == 7:
        item = draw(st.sampled_from(body["items"]))
        if draw(st.booleans()):
            item.pop(draw(st.sampled_from(sorted(item))))
        else:
            item["extra"] = 1
    elif defect == 8:
        body["items"] = draw(st.sampled_from([[], "items", [[]], [3], body["items"][:1] * 101]))
    elif defect == 9:
        key = draw(st.sampled_from([b"someone-else", None]))
    elif defect == 13:  # the bounds: quantity >= 1, unit_price >= 0
        item = draw(st.sampled_from(body["items"]))
        item.update(draw(st.sampled_from([{"quantity": 0}, {"quantity": -1}, {"unit_price": -1}])))
    value = json.dumps(body, ensure_ascii=draw(st.booleans()), separators=(",", ":")).encode()
    if defect == 10:  # a duplicated key: the last one counts, for both readers
        value = value[:-1] + draw(st.sampled_from([b',"currency":"USD"}', b',"currency":"KRW"}']))
    elif defect == 11:
        value = value[: draw(st.integers(0, len(value) - 1))]
    elif defect == 12:
        return key, None
    return key, value


@settings(max_examples=500, deadline=None)
@given(record())
def test_the_plain_reading_accepts_nothing_the_schema_rejects_and_reads_the_same(rec: tuple) -> None:
    key, value = rec
    try:
        strict = of_order(parse_order(key, value))
    except InvalidRecord as error:
        if key is not None and value is not None:
            assert _plain(key, value) is None
        with pytest.raises(InvalidRecord) as caught:
            order_sums(key, value)
        assert caught.value.reason == error.reason
        return
    assert order_sums(key, value) == strict
    plain = _plain(key, value) if key is not None and value is not None else None
    assert plain is None or plain == strict


def test_plain_orders_take_the_plain_path() -> None:
    item = {"sku": "s", "category": "food", "quantity": 2, "unit_price": 150}
    body = {"order_id": "o-1", "user_id": "u-1", "created_at": "2026-11-24T10:15:00+09:00",
            "currency": "KRW", "items": [item]}  # fmt: skip
    assert _plain(b"u-1", orjson.dumps(body)) == (
        "o-1",
        int(datetime(2026, 11, 24, 1, 15, tzinfo=UTC).timestamp()),
        {"food": [300, 2]},
    )


def folded(deltas: list[CategoryDelta]) -> tuple[dict, dict]:
    """(totals by category, totals by (category, hour)) as stage 2 folds them."""
    by_category: dict[str, list[CategoryDelta]] = defaultdict(list)
    by_hour: dict[tuple[str, int], list[CategoryDelta]] = defaultdict(list)
    for d in deltas:
        by_category[d.category].append(d)
        by_hour[d.category, hour_start(d.created_at)].append(d)
    return (
        {c: add_deltas(None, ds, NOW) for c, ds in by_category.items()},
        {k: add_deltas(None, ds, NOW) for k, ds in by_hour.items()},
    )


@settings(max_examples=150, deadline=None)
@given(st.lists(record(), max_size=30))
def test_combined_deltas_add_what_the_orders_own_deltas_add(records: list[tuple]) -> None:
    orders = []
    for key, value in records:
        try:
            orders.append(parse_order(key, value))
        except InvalidRecord:
            pass
    sums: Sums = {}
    for order in orders:
        combine(sums, of_order(order))
    mine = combined(sums)
    theirs = [d for order in orders for d in category_deltas(order)]
    assert folded(mine) == folded(theirs)
    assert len({(d.category, hour_start(d.created_at)) for d in mine}) == len(mine)
    stream_time = max((d.created_at for d in theirs), default=None)
    assert max((d.created_at for d in mine), default=None) == stream_time  # stage 2's event time


def test_a_delta_from_before_the_sums_counts_one_order() -> None:
    old = b'{"order_id":"o-1","category":"food","amount":3300,"items":5,"created_at":1795482900}'
    delta = CategoryDelta.model_validate_json(old)
    assert (delta.orders, add_deltas(None, [delta], NOW)["order_count"]) == (1, 1)

"""A batch's orders summed per category and hour (domain.orders.combine) add to the
totals and to each hour exactly what the orders' own deltas add, on generated orders."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from domain.orders import (
    CategoryDelta,
    Order,
    OrderItem,
    Sums,
    add_deltas,
    category_deltas,
    combine,
    combined,
    hour_start,
)

NOW = datetime(2026, 11, 24, tzinfo=UTC)
START = int(datetime(2026, 11, 24, tzinfo=UTC).timestamp())

items = st.builds(
    OrderItem,
    sku=st.just("s"),
    category=st.sampled_from(["food", "toys", "home"]),
    quantity=st.integers(1, 5),
    unit_price=st.integers(0, 10**7),
)
orders = st.builds(
    Order,
    order_id=st.text(min_size=1, max_size=5),
    user_id=st.just("u"),
    created_at=st.integers(START - 3 * 3600, START + 3 * 3600).map(lambda s: datetime.fromtimestamp(s, UTC)),
    currency=st.just("KRW"),
    items=st.lists(items, min_size=1, max_size=6),
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


@settings(max_examples=300, deadline=None)
@given(st.lists(orders, max_size=30))
def test_combined_deltas_add_what_the_orders_own_deltas_add(batch: list[Order]) -> None:
    sums: Sums = {}
    for order in batch:
        combine(sums, order)
    mine = combined(sums)
    theirs = [d for order in batch for d in category_deltas(order)]
    assert folded(mine) == folded(theirs)
    assert len({(d.category, hour_start(d.created_at)) for d in mine}) == len(mine)
    stream_time = max((d.created_at for d in theirs), default=None)
    assert max((d.created_at for d in mine), default=None) == stream_time  # stage 2's event time


def test_a_delta_from_before_the_sums_counts_one_order() -> None:
    old = b'{"order_id":"o-1","category":"food","amount":3300,"items":5,"created_at":1795482900}'
    delta = CategoryDelta.model_validate_json(old)
    assert (delta.orders, add_deltas(None, [delta], NOW)["order_count"]) == (1, 1)

"""The orders agents on the exactly-once batch path (agents/orders.py)."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
from agent_support import accounted, consumed, rows

from app import app
from domain.orders import CategoryDelta

topics, tables = app.runtime.topics, app.runtime.tables  # built by tests/conftest.py
accounting, seen_orders = tables.accounting, tables.seen_orders
category_hourly, category_totals = tables.category_hourly, tables.category_totals

ORDERS = topics.orders.get_topic_name()
DLQ = topics.orders_dlq.get_topic_name()
REPARTITION = topics.orders_by_category.get_topic_name()
TOTALS = topics.category_totals.get_topic_name()
T0 = 1_795_500_000.0  # producer timestamp (seconds)
CREATED_EPOCH = int(datetime(2026, 11, 24, 1, 15, tzinfo=UTC).timestamp())


def order(order_id: str = "o-1", user: str = "u-1") -> bytes:
    return orjson.dumps({
        "order_id": order_id,
        "user_id": user,
        "created_at": "2026-11-24T10:15:00+09:00",
        "currency": "KRW",
        "items": [
            {"sku": "s-1", "category": "food", "quantity": 2, "unit_price": 1500},
            {"sku": "s-2", "category": "toys", "quantity": 1, "unit_price": 700},
            {"sku": "s-3", "category": "food", "quantity": 3, "unit_price": 100},
        ],
    })  # fmt: skip


def deltas(sent_records: list[dict]) -> list[CategoryDelta]:
    return [CategoryDelta.model_validate_json(s["value"]) for s in sent_records]


async def test_valid_order_sends_one_repartition_record_per_category(worker, sent) -> None:  # type: ignore[no-untyped-def]
    worker.put(topics.orders, order(), key=b"u-1", timestamp=T0)
    await worker.run()
    accounted({ORDERS: 1})
    assert sent.topics() == {REPARTITION}
    assert sorted(s["key"] for s in sent[REPARTITION]) == [b"food", b"toys"]
    by_category = {d.category: d for d in deltas(sent[REPARTITION])}
    assert by_category["food"] == CategoryDelta(
        category="food", amount=3300, items=5, orders=1, created_at=CREATED_EPOCH
    )
    assert by_category["toys"].amount == 700
    assert rows(seen_orders) == {"o-1": int(T0)}
    assert rows(accounting) == {
        f"{ORDERS}/0": {"consumed": 1, "processed": 1, "duplicates": 0, "dead_lettered": 0}
    }


async def test_malformed_orders_go_to_the_dead_letter_topic_with_original_bytes(worker, sent) -> None:  # type: ignore[no-untyped-def]
    bad = [
        (b"u-1", b'{"order_id": "broken', "not_json"),
        (b"u-1", order().replace(b'"quantity":2', b'"quantity":"2"'), "schema"),
        (b"someone-else", order(), "key_mismatch"),
    ]
    for key, value, _ in bad:
        worker.put(topics.orders, value, key=key, partition=2, timestamp=T0)
    await worker.run()
    accounted({ORDERS: 3})
    assert sent.topics() == {DLQ}
    dead = sent[DLQ]
    assert [(d["key"], d["value"]) for d in dead] == [(k, v) for k, v, _ in bad]
    for letter, (_, _, reason) in zip(dead, bad, strict=True):
        headers = dict(letter["headers"])
        assert headers["dlq.reason"] == reason.encode()
        assert headers["dlq.topic"] == ORDERS.encode()
        assert headers["dlq.partition"] == b"2"
        assert headers["dlq.detail"]
        assert letter["partition"] == 2  # same partition as the source record
    offsets = [dict(d["headers"])["dlq.offset"] for d in dead]
    assert len(set(offsets)) == 3 and all(o.isdigit() for o in offsets)
    assert rows(seen_orders) == {}
    assert rows(accounting) == {
        f"{ORDERS}/2": {"consumed": 3, "processed": 0, "duplicates": 0, "dead_lettered": 3}
    }


async def test_duplicate_order_id_is_counted_and_not_sent_again(worker, sent) -> None:  # type: ignore[no-untyped-def]
    worker.put(topics.orders, order("o-1"), key=b"u-1", timestamp=T0)
    await worker.run()
    accounted({ORDERS: 1})
    assert len(sent[REPARTITION]) == 2
    worker.put(topics.orders, order("o-1"), key=b"u-1", timestamp=T0 + 60)  # redelivered
    worker.put(topics.orders, order("o-2"), key=b"u-1", timestamp=T0 + 61)
    worker.put(topics.orders, b"nope", key=b"u-1", timestamp=T0 + 62)
    await worker.run()
    accounted({ORDERS: 4})
    assert [(d.category, d.orders) for d in deltas(sent[REPARTITION])] == [
        ("food", 1), ("toys", 1), ("food", 1), ("toys", 1),
    ]  # fmt: skip
    assert len(sent[DLQ]) == 1
    counts = rows(accounting)[f"{ORDERS}/0"]
    assert counts == {"consumed": 4, "processed": 2, "duplicates": 1, "dead_lettered": 1}
    assert counts["consumed"] == counts["processed"] + counts["duplicates"] + counts["dead_lettered"]
    assert rows(seen_orders)["o-1"] == int(T0)  # first sighting is kept


async def test_duplicate_within_one_batch_is_caught(worker, sent) -> None:  # type: ignore[no-untyped-def]
    for _ in range(3):
        worker.put(topics.orders, order("o-9"), key=b"u-1", timestamp=T0)
    await worker.run()
    accounted({ORDERS: 3})
    assert len(sent[REPARTITION]) == 2
    assert rows(accounting)[f"{ORDERS}/0"]["duplicates"] == 2


async def test_a_batch_sends_one_record_per_category_and_hour_summing_its_orders(worker, sent) -> None:  # type: ignore[no-untyped-def]
    for i in range(5):
        worker.put(topics.orders, order(f"o-{i}"), key=b"u-1", timestamp=T0)
    worker.put(topics.orders, order("o-9").replace(b"10:15:00", b"11:15:00"), key=b"u-1", timestamp=T0)
    await worker.run()
    accounted({ORDERS: 6})
    got = sorted((d.category, d.created_at, d.orders, d.amount, d.items) for d in deltas(sent[REPARTITION]))
    assert got == [
        ("food", CREATED_EPOCH, 5, 5 * 3300, 25), ("food", CREATED_EPOCH + 3600, 1, 3300, 5),
        ("toys", CREATED_EPOCH, 5, 5 * 700, 5), ("toys", CREATED_EPOCH + 3600, 1, 700, 1),
    ]  # fmt: skip
    assert {s["key"] for s in sent[REPARTITION]} == {b"food", b"toys"}


async def test_same_order_id_after_the_dedup_window_is_processed_again(worker, sent) -> None:  # type: ignore[no-untyped-def]
    week = app.settings.retention_seen_orders
    worker.put(topics.orders, order("o-1"), key=b"u-1", timestamp=T0)
    worker.put(topics.orders, order("o-1"), key=b"u-1", timestamp=T0 + week)  # still inside
    worker.put(topics.orders, order("o-1"), key=b"u-1", timestamp=T0 + week + 1)  # outside
    await worker.run()
    accounted({ORDERS: 3})
    assert [d.orders for d in deltas(sent[REPARTITION])] == [2, 2]  # food and toys, o-1 twice
    assert rows(accounting)[f"{ORDERS}/0"] == {
        "consumed": 3, "processed": 2, "duplicates": 1, "dead_lettered": 0,
    }  # fmt: skip
    assert rows(seen_orders)["o-1"] == int(T0 + week + 1)


async def test_accounting_is_kept_per_source_partition(worker, sent) -> None:  # type: ignore[no-untyped-def]
    worker.put(topics.orders, order("o-1", "u-1"), key=b"u-1", partition=0, timestamp=T0)
    worker.put(topics.orders, order("o-2", "u-2"), key=b"u-2", partition=1, timestamp=T0)
    worker.put(topics.orders, b"{", key=b"u-2", partition=1, timestamp=T0)
    worker.put(topics.orders, order("o-1", "u-1"), key=b"u-1", partition=0, timestamp=T0)
    await worker.run()
    accounted({ORDERS: 4})
    assert rows(accounting) == {
        f"{ORDERS}/0": {"consumed": 2, "processed": 1, "duplicates": 1, "dead_lettered": 0},
        f"{ORDERS}/1": {"consumed": 2, "processed": 1, "duplicates": 0, "dead_lettered": 1},
    }
    assert consumed(ORDERS) == 4


# --- stage 2: category totals --------------------------------------------------------------------


def delta(order_id: str, category: str, amount: int, items: int, created_at: int) -> bytes:
    return (
        CategoryDelta(order_id=order_id, category=category, amount=amount, items=items, created_at=created_at)
        .model_dump_json()
        .encode()
    )


async def test_category_totals_fold_deltas_and_publish(worker, sent) -> None:  # type: ignore[no-untyped-def]
    hour = CREATED_EPOCH - CREATED_EPOCH % 3600
    for value, key in [
        (delta("o-1", "food", 3300, 5, CREATED_EPOCH), b"food"),
        (delta("o-1", "toys", 700, 1, CREATED_EPOCH), b"toys"),
        (delta("o-2", "food", 1000, 1, hour + 3600), b"food"),  # next hour
    ]:
        worker.put(topics.orders_by_category, value, key=key, timestamp=T0)
    await worker.run()
    food = rows(category_totals)["food"]
    assert {k: food[k] for k in ("total_amount", "items_sold", "order_count")} == {
        "total_amount": 4300, "items_sold": 6, "order_count": 2,
    }  # fmt: skip
    assert all(type(food[k]) is int for k in ("total_amount", "items_sold", "order_count"))
    assert rows(category_totals)["toys"]["total_amount"] == 700
    hourly = {k: v["total_amount"] for k, v in rows(category_hourly).items()}
    assert hourly == {f"food|{hour}": 3300, f"food|{hour + 3600}": 1000, f"toys|{hour}": 700}
    published = [orjson.loads(s["value"]) for s in sent[TOTALS]]
    assert {s["key"] for s in sent[TOTALS]} == {b"food", b"toys"}
    assert published[-1]["category"] in ("food", "toys")
    last_food = [p for p in published if p["category"] == "food"][-1]
    assert last_food["total_amount"] == 4300 and last_food["order_count"] == 2


async def test_an_order_reaches_the_totals_through_the_repartition_once(worker, sent) -> None:  # type: ignore[no-untyped-def]
    worker.put(topics.orders, order("o-1"), key=b"u-1", timestamp=T0)
    worker.put(topics.orders, order("o-1"), key=b"u-1", timestamp=T0 + 1)  # redelivered
    await worker.run()
    for record in sent[REPARTITION]:  # where the producer's partitioner put each category
        worker.put(topics.orders_by_category, record["value"], key=record["key"],
                   partition=record["partition"], timestamp=T0)  # fmt: skip
    await worker.run()
    totals = {k: (v["total_amount"], v["order_count"]) for k, v in rows(category_totals).items()}
    assert totals == {"food": (3300, 1), "toys": (700, 1)}
    assert {orjson.loads(s["value"])["category"] for s in sent[TOTALS]} == {"food", "toys"}

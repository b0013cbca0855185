"""Orders traffic: many users, skewed categories, duplicates and malformed records.

The oracle is computed with the same domain functions the app uses, from the
records as produced, so it states what a correct pipeline must end up with.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import orjson

from domain.orders import hour_start, iso_hour, parse_order

KST = timezone(timedelta(hours=9))
START = datetime(2026, 11, 24, 0, 0, tzinfo=KST)
CATEGORIES = [
    "fashion", "electronics", "beauty", "food", "home", "sports",
    "books", "toys", "pets", "auto", "garden", "music",
]  # fmt: skip
WEIGHTS = [1 / (rank + 1) for rank in range(len(CATEGORIES))]  # Zipf-like skew
SPAN = timedelta(hours=48)


def _order(rng: random.Random, seed: int, i: int, count: int) -> dict:
    created = START + SPAN * (i / max(count, 1))
    items = []
    for _ in range(rng.randint(1, 4)):
        items.append({
            "sku": f"sku-{rng.randint(1, 5000)}",
            "category": rng.choices(CATEGORIES, WEIGHTS)[0],
            "quantity": rng.randint(1, 3),
            "unit_price": rng.randint(1, 2000) * 100,
        })  # fmt: skip
    return {
        "order_id": f"o-{seed}-{i:09d}",
        "user_id": f"u-{rng.randint(1, 20_000)}",
        "created_at": created.isoformat(timespec="seconds"),
        "currency": "KRW",
        "items": items,
    }


def malformed(kind: int, base: dict) -> tuple[bytes, bytes]:
    """One defect of each kind the pipeline must dead-letter, in rotation."""
    key = base["user_id"].encode()
    bad = orjson.loads(orjson.dumps(base))
    match kind % 10:
        case 0:
            return key, b'{"order_id": "broken'  # not JSON
        case 1:
            bad["items"][0]["quantity"] = "2"  # wrong type
        case 2:
            del bad["currency"]  # missing field
        case 3:
            bad["items"][0]["unit_price"] = -100  # negative price
        case 4:
            bad["items"][0]["quantity"] = 0  # zero quantity
        case 5:
            bad["items"] = bad["items"][:1] * 101  # 101 items
        case 6:
            bad["currency"] = "USD"  # other currency
        case 7:
            bad["created_at"] = "24/11/2026 10:15"  # bad timestamp
        case 8:
            bad["coupon"] = "FREE"  # unknown field
        case _:
            key = b"someone-else"  # key is not the order's user
    return key, orjson.dumps(bad)


def generate(
    count: int, seed: int, dup_rate: float = 0.0, bad_rate: float = 0.0, topic: str = "orders"
) -> tuple[Iterator[tuple[bytes, bytes]], dict]:
    """Return (records, oracle); the oracle is complete once records is exhausted."""
    oracle: dict = {
        "workload": "orders",
        "seed": seed,
        "count": count,
        "topics": {topic: {"consumed": 0, "processed": 0, "duplicates": 0, "dead_lettered": 0}},
        "categories": {},
        "hourly": {},
    }

    def records() -> Iterator[tuple[bytes, bytes]]:
        rng = random.Random(seed)
        acct = oracle["topics"][topic]
        totals: dict = defaultdict(lambda: {"total_amount": 0, "items_sold": 0, "order_count": 0})
        hourly: dict = defaultdict(
            lambda: defaultdict(lambda: {"total_amount": 0, "items_sold": 0, "order_count": 0})
        )
        sent: list[tuple[bytes, bytes]] = []
        for i in range(count):
            roll = rng.random()
            if sent and roll < dup_rate:
                key, value = sent[rng.randrange(len(sent))]
                acct["duplicates"] += 1
            elif roll < dup_rate + bad_rate:
                key, value = malformed(i, _order(rng, seed, i, count))
                acct["dead_lettered"] += 1
            else:
                body = _order(rng, seed, i, count)
                key, value = body["user_id"].encode(), orjson.dumps(body)
                sent.append((key, value))
                _fold(parse_order(key, value), totals, hourly)
                acct["processed"] += 1
            acct["consumed"] += 1
            yield key, value
        oracle["categories"] = {c: dict(v) for c, v in totals.items()}
        oracle["hourly"] = {c: {h: dict(v) for h, v in hs.items()} for c, hs in hourly.items()}

    return records(), oracle


def _fold(order, totals: dict, hourly: dict) -> None:  # type: ignore[no-untyped-def]
    from domain.orders import category_deltas

    for d in category_deltas(order):
        for acc in (totals[d.category], hourly[d.category][iso_hour(hour_start(d.created_at))]):
            acc["total_amount"] += d.amount
            acc["items_sold"] += d.items
            acc["order_count"] += 1

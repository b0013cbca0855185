"""The bench's clicks workload: with every advertiser's large top-up applied first, no click
is rejected and the final budgets do not depend on the order the clicks are applied in."""

from __future__ import annotations

import random
from collections import Counter

import orjson
import pytest

from bench.measure import percentile
from bench.workload import BenchClicks
from domain.budgets import Budget, apply_click, apply_funding, parse_budget_event, parse_click

BUDGET_FIELDS = ("balance", "spent", "funded", "charged", "rejected", "duplicates", "status")


@pytest.fixture(scope="module")
def work() -> BenchClicks:
    return BenchClicks(advertisers=300, count=20_000, seed=5)


def replay(top_ups, clicks) -> dict[str, dict]:  # type: ignore[no-untyped-def]
    """Apply records with the app's domain functions, as the agent does, in the given order."""
    budgets: dict[str, Budget] = {}
    steps = ((top_ups, parse_budget_event, apply_funding), (clicks, parse_click, apply_click))
    for records, parse, apply in steps:
        for key, value in records:
            event = parse(key, value)
            apply(budgets.setdefault(event.advertiser_id, Budget()), event)
    return {a: {f: getattr(b, f) for f in BUDGET_FIELDS} for a, b in budgets.items()}


def test_no_click_is_rejected_and_every_advertiser_is_funded(work: BenchClicks) -> None:
    oracle = work.oracle()
    assert len(work.top_ups) == 300 and len(work.clicks) == 20_000
    assert set(oracle["advertisers"]) == {f"a-{i}" for i in range(300)}
    per_adv = Counter(orjson.loads(v)["advertiser_id"] for _, v in work.clicks)
    for adv, b in oracle["advertisers"].items():
        assert b["rejected"] == 0 and b["status"] == "active" and b["duplicates"] == 0
        assert b["charged"] == per_adv[adv]
        assert b["balance"] == b["funded"] - b["spent"] > 0  # slack left: no click came close
    assert sum(b["charged"] for b in oracle["advertisers"].values()) == 20_000


def test_final_budgets_do_not_depend_on_click_order(work: BenchClicks) -> None:
    expected = {a: {f: b[f] for f in BUDGET_FIELDS} for a, b in work.oracle()["advertisers"].items()}
    for seed in (1, 2):
        clicks = list(work.clicks)
        random.Random(seed).shuffle(clicks)
        top_ups = list(work.top_ups)
        random.Random(seed).shuffle(top_ups)
        assert replay(top_ups, clicks) == expected


def test_oracle_accounting_and_daily_statistics_add_up(work: BenchClicks) -> None:
    oracle = work.oracle()
    assert oracle["workload"] == "clicks"
    assert oracle["topics"] == {
        "ad-budget": {"consumed": 300, "processed": 300, "duplicates": 0, "dead_lettered": 0},
        "ad-clicks": {"consumed": 20_000, "processed": 20_000, "duplicates": 0, "dead_lettered": 0},
    }
    for adv, days in oracle["daily"].items():
        rows = [row for day in days.values() for row in day.values()]
        assert sum(r["charged"] for r in rows) == oracle["advertisers"][adv]["charged"]
        assert sum(r["spend"] for r in rows) == oracle["advertisers"][adv]["spent"]
        assert all(r["rejected"] == 0 for r in rows)
    assert len({d for days in oracle["daily"].values() for d in days}) >= 2  # crosses a KST midnight


def test_same_seed_same_records() -> None:
    a, b = BenchClicks(20, 500, seed=9), BenchClicks(20, 500, seed=9)
    assert a.top_ups == b.top_ups and a.clicks == b.clicks
    assert BenchClicks(20, 500, seed=10).clicks != a.clicks
    assert a.events == 520


def test_percentile_is_nearest_rank() -> None:
    samples = [float(i) for i in range(1, 101)]
    assert percentile(samples, 50) == 50.0
    assert percentile(samples, 99) == 99.0
    assert percentile([3.0], 99) == 3.0
    assert percentile([], 50) != percentile([], 50)  # NaN

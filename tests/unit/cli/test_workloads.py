"""Deterministic workloads and their oracles (cli/workloads/orders.py, clicks.py)."""

from __future__ import annotations

import json
from collections import defaultdict

import orjson
import pytest

from cli.workloads import orders as orders_workload
from cli.workloads.clicks import ClicksWorkload, _bad_click, _bad_funding
from domain.budgets import (
    Budget,
    add_daily,
    apply_click,
    apply_funding,
    kst_day,
    parse_budget_event,
    parse_click,
)
from domain.errors import InvalidRecord
from domain.orders import category_deltas, hour_start, iso_hour, parse_order

ACCOUNTING_KEYS = {"consumed", "processed", "duplicates", "dead_lettered"}


def canonical(oracle: dict) -> str:
    return json.dumps(oracle, sort_keys=True)


# --- orders ------------------------------------------------------------------------------


def orders_run(count: int = 400, seed: int = 7, dup: float = 0.05, bad: float = 0.1):  # type: ignore[no-untyped-def]
    records, oracle = orders_workload.generate(count, seed, dup, bad)
    return list(records), oracle


def test_orders_same_seed_same_records_and_oracle() -> None:
    records_a, oracle_a = orders_run(seed=7)
    records_b, oracle_b = orders_run(seed=7)
    assert records_a == records_b
    assert canonical(oracle_a) == canonical(oracle_b)
    assert len(records_a) == 400


def test_orders_different_seed_differs() -> None:
    records_a, oracle_a = orders_run(seed=7)
    records_b, oracle_b = orders_run(seed=8)
    assert records_a != records_b
    assert oracle_a["categories"] != oracle_b["categories"]


def test_orders_oracle_is_complete_only_once_records_are_exhausted() -> None:
    records, oracle = orders_workload.generate(50, 3)
    assert oracle["categories"] == {}
    assert oracle["topics"]["orders"]["consumed"] == 0
    list(records)
    assert oracle["topics"]["orders"]["consumed"] == 50
    assert oracle["categories"]


def test_orders_accounting_sums() -> None:
    records, oracle = orders_run()
    acct = oracle["topics"]["orders"]
    assert set(acct) == ACCOUNTING_KEYS
    assert acct["consumed"] == acct["processed"] + acct["duplicates"] + acct["dead_lettered"]
    assert acct["consumed"] == len(records)
    # The rates are high enough that every outcome occurs.
    assert acct["duplicates"] > 0 and acct["dead_lettered"] > 0 and acct["processed"] > 0


def test_orders_oracle_matches_recomputation_from_records() -> None:
    """Replay the records the way the pipeline must: parse, drop repeats, fold deltas."""
    records, oracle = orders_run()
    seen: set[str] = set()
    counts = dict.fromkeys(ACCOUNTING_KEYS, 0)
    totals: dict = defaultdict(lambda: {"total_amount": 0, "items_sold": 0, "order_count": 0})
    hourly: dict = defaultdict(dict)
    for key, value in records:
        counts["consumed"] += 1
        try:
            order = parse_order(key, value)
        except InvalidRecord:
            counts["dead_lettered"] += 1
            continue
        if order.order_id in seen:
            counts["duplicates"] += 1
            continue
        seen.add(order.order_id)
        counts["processed"] += 1
        for d in category_deltas(order):
            hour = iso_hour(hour_start(d.created_at))
            bucket = hourly[d.category].setdefault(
                hour, {"total_amount": 0, "items_sold": 0, "order_count": 0}
            )
            for acc in (totals[d.category], bucket):
                acc["total_amount"] += d.amount
                acc["items_sold"] += d.items
                acc["order_count"] += 1
    assert counts == oracle["topics"]["orders"]
    assert oracle["categories"] == dict(totals)
    assert oracle["hourly"] == dict(hourly)
    grand_total = sum(v["total_amount"] for v in oracle["categories"].values())
    assert grand_total > 0 and type(grand_total) is int


def test_orders_oracle_values_are_integers() -> None:
    _, oracle = orders_run()
    for totals in oracle["categories"].values():
        assert all(type(v) is int for v in totals.values())


@pytest.mark.parametrize("kind", range(10))
def test_every_malformed_kind_is_rejected(kind: int) -> None:
    base = {
        "order_id": "o-1",
        "user_id": "u-1",
        "created_at": "2026-11-24T10:15:00+09:00",
        "currency": "KRW",
        "items": [{"sku": "s", "category": "food", "quantity": 1, "unit_price": 100}],
    }
    parse_order(b"u-1", orjson.dumps(base))  # the base is fine...
    key, value = orders_workload.malformed(kind, base)
    with pytest.raises(InvalidRecord):  # ...and each defect is not
        parse_order(key, value)
    assert base["currency"] == "KRW" and len(base["items"]) == 1  # base not mutated


# --- clicks -------------------------------------------------------------------------------


def clicks_run(seed: int = 3, advertisers: int = 20, count: int = 400, rounds: int = 4,
               dup: float = 0.05, bad: float = 0.1):  # type: ignore[no-untyped-def]  # fmt: skip
    work = ClicksWorkload(advertisers, count, rounds, seed, dup, bad)
    records = []  # (topic, key, value) in the order the app applies them (barriers)
    for rnd in work.rounds_iter():
        records += [(work.funding_topic, k, v) for k, v in rnd.fundings]
        records += [(work.clicks_topic, k, v) for k, v in rnd.clicks]
    return work, records, work.oracle()


def test_clicks_same_seed_same_records_and_oracle() -> None:
    _, records_a, oracle_a = clicks_run(seed=3)
    _, records_b, oracle_b = clicks_run(seed=3)
    assert records_a == records_b
    assert canonical(oracle_a) == canonical(oracle_b)


def test_clicks_different_seed_differs() -> None:
    _, records_a, oracle_a = clicks_run(seed=3)
    _, records_b, oracle_b = clicks_run(seed=4)
    assert records_a != records_b
    assert canonical(oracle_a) != canonical(oracle_b)


def test_clicks_accounting_sums() -> None:
    work, records, oracle = clicks_run()
    assert set(oracle["topics"]) == {"ad-budget", "ad-clicks"}
    for topic, acct in oracle["topics"].items():
        assert set(acct) == ACCOUNTING_KEYS
        assert acct["consumed"] == acct["processed"] + acct["duplicates"] + acct["dead_lettered"]
        assert acct["consumed"] == sum(1 for t, _, _ in records if t == topic)
    assert oracle["topics"]["ad-clicks"]["consumed"] == 400


def test_clicks_balances_are_funded_minus_spent_and_never_negative() -> None:
    _, _, oracle = clicks_run()
    assert oracle["advertisers"]
    for adv, budget in oracle["advertisers"].items():
        assert budget["balance"] == budget["funded"] - budget["spent"], adv
        assert budget["balance"] >= 0, adv
        assert all(type(budget[k]) is int for k in ("balance", "funded", "spent")), adv


def test_clicks_ledger_entries_are_applied_clicks_plus_applied_fundings() -> None:
    _, _, oracle = clicks_run(count=1500)  # enough clicks to reject some
    charged = sum(b["charged"] for b in oracle["advertisers"].values())
    rejected = sum(b["rejected"] for b in oracle["advertisers"].values())
    fundings = oracle["topics"]["ad-budget"]["processed"]
    assert charged > 0 and rejected > 0 and fundings > 0
    assert oracle["ledger_entries"] == charged + rejected + fundings


def test_clicks_every_processed_click_is_charged_or_rejected() -> None:
    _, _, oracle = clicks_run()
    budgets = oracle["advertisers"].values()
    assert sum(b["charged"] + b["rejected"] for b in budgets) == oracle["topics"]["ad-clicks"]["processed"]
    assert sum(b["duplicates"] for b in budgets) == sum(a["duplicates"] for a in oracle["topics"].values())


def test_clicks_daily_stats_add_up_to_budgets() -> None:
    _, _, oracle = clicks_run()
    for adv, budget in oracle["advertisers"].items():
        rows = [row for day in oracle["daily"].get(adv, {}).values() for row in day.values()]
        assert sum(r["charged"] for r in rows) == budget["charged"], adv
        assert sum(r["spend"] for r in rows) == budget["spent"], adv
        assert sum(r["rejected"] for r in rows) == budget["rejected"], adv
    # The 40-hour span starting at KST 09:00 crosses KST midnights.
    days = {d for per_adv in oracle["daily"].values() for d in per_adv}
    assert {"2026-11-24", "2026-11-25"} <= days


def test_clicks_transitions_alternate_and_end_in_current_status() -> None:
    _, _, oracle = clicks_run(count=1500)  # enough clicks to exhaust some budgets
    assert any(oracle["transitions"].values())
    for adv, budget in oracle["advertisers"].items():
        changes = oracle["transitions"].get(adv, [])
        expected = ["exhausted", "active"] * len(changes)
        assert changes == expected[: len(changes)], adv
        assert budget["status"] == (changes[-1] if changes else "active"), adv


def replay_clicks(records: list[tuple[str, bytes, bytes]]) -> dict:
    """An independent model of the budget agent: what the app ends up with."""
    budgets: dict[str, Budget] = {}
    daily: dict = defaultdict(dict)
    topics = {t: dict.fromkeys(ACCOUNTING_KEYS, 0) for t in ("ad-budget", "ad-clicks")}
    seen: set[str] = set()
    ledger = 0
    for topic, key, value in records:
        acct = topics[topic]
        acct["consumed"] += 1
        is_click = topic == "ad-clicks"
        try:
            event = (parse_click if is_click else parse_budget_event)(key, value)
        except InvalidRecord:
            acct["dead_lettered"] += 1
            continue
        budget = budgets.setdefault(event.advertiser_id, Budget())
        seen_key = f"click:{event.click_id}" if is_click else f"budget:{event.event_id}"
        if seen_key in seen:
            budget.count_duplicate()
            acct["duplicates"] += 1
            continue
        seen.add(seen_key)
        acct["processed"] += 1
        outcome = (apply_click if is_click else apply_funding)(budget, event)
        ledger += outcome.entry is not None or outcome.rejection is not None
        if is_click:
            day = daily[event.advertiser_id].setdefault(kst_day(event.ts).isoformat(), {})
            add_daily(day, event, charged=outcome.entry is not None)
    return {
        "topics": topics,
        "advertisers": {
            a: {k: v for k, v in b.to_dict().items() if k not in ("updated_at", "last_rejected_cpc")}
            for a, b in budgets.items()
        },
        "daily": dict(daily),
        "ledger_entries": ledger,
    }


@pytest.mark.parametrize("seed", [1, 2, 3, 5])
def test_clicks_oracle_matches_an_independent_replay_of_its_records(seed: int) -> None:
    """The oracle must state what a correct app ends with given exactly these records.

    Seed 5 exposes a bug in cli/workloads/clicks.py: ``_bad_funding`` case 1 sets
    ``amount = -500`` to make a *top-up* invalid, but when the record being
    corrupted is an ``adjust`` (the rare ``j-...`` events), amount -500 is a
    perfectly valid adjustment. The oracle counts it as dead-lettered and leaves
    the balance alone, while the app applies it (balance -500, one more ledger
    entry, one fewer dead letter).
    """
    _, records, oracle = clicks_run(seed=seed, bad=0.3)
    replay = replay_clicks(records)
    assert replay["topics"] == oracle["topics"]
    assert replay["advertisers"] == oracle["advertisers"]
    assert replay["ledger_entries"] == oracle["ledger_entries"]
    assert replay["daily"] == {a: dict(d) for a, d in oracle["daily"].items()}


FUNDING_BODIES = {
    "top_up": {"event_id": "t-1", "advertiser_id": "a-1", "type": "top_up", "amount": 5000,
               "ts": "2026-11-24T00:00:00+00:00"},
    "adjust": {"event_id": "j-1", "advertiser_id": "a-1", "type": "adjust", "amount": -700,
               "ts": "2026-11-24T00:00:00+00:00"},
}  # fmt: skip


@pytest.mark.parametrize("kind", range(5))
@pytest.mark.parametrize("event_type", ["top_up", "adjust"])
def test_every_bad_funding_variant_is_rejected(event_type: str, kind: int) -> None:
    """Minimal form of the bug above: ``_bad_funding(1, <adjust>)`` is a valid adjust."""
    body = dict(FUNDING_BODIES[event_type])
    parse_budget_event(b"a-1", orjson.dumps(body))  # the base is fine...
    key, value = _bad_funding(kind, dict(body))
    with pytest.raises(InvalidRecord):  # ...and each corruption must not be
        parse_budget_event(key, value)


@pytest.mark.parametrize("kind", range(6))
def test_every_bad_click_variant_is_rejected(kind: int) -> None:
    body = {"click_id": "k-1", "advertiser_id": "a-1", "campaign_id": "c-1", "cpc": 300,
            "ts": "2026-11-24T00:00:00+00:00"}  # fmt: skip
    parse_click(b"a-1", orjson.dumps(body))
    key, value = _bad_click(kind, dict(body))
    with pytest.raises(InvalidRecord):
        parse_click(key, value)

"""The lifecycle load generator and its oracle (cli/workloads/lifecycle.py)."""

from __future__ import annotations

import json

import orjson

from cli.workloads.lifecycle import generate
from domain.lifecycle import STATUSES

TOPIC = "order-events"


def run(count: int = 3000, seed: int = 5, retention: int = 600) -> tuple[list[tuple[bytes, bytes]], dict]:
    records, oracle = generate(count, seed, 0.05, 0.05, TOPIC, retention, users=20)
    return list(records), oracle


def test_same_seed_same_records_and_oracle() -> None:
    a, oracle_a = run()
    b, oracle_b = run()
    assert a == b and json.dumps(oracle_a, sort_keys=True) == json.dumps(oracle_b, sort_keys=True)


def test_every_event_has_an_event_id_and_the_former_status_is_gone_but_for_the_bad_ones() -> None:
    records, oracle = run()
    bodies = [orjson.loads(v) for _, v in records if v != b"not json"]
    assert all(b["event_id"] and "ts" in b and "at" not in b for b in bodies)
    placed = sum(b["status"] == "placed" for b in bodies)
    assert 0 < placed <= oracle["outcomes"]["dead_lettered"]["schema"]
    assert {b["status"] for b in bodies} == {*STATUSES, "placed"}


def test_the_oracle_accounts_for_every_input() -> None:
    records, oracle = run()
    acct, outcomes = oracle["topics"][TOPIC], oracle["outcomes"]
    dead = outcomes["dead_lettered"]
    assert acct["consumed"] == len(records) == 3000
    assert acct["processed"] == outcomes["applied"]
    assert acct["duplicates"] == outcomes["redelivered"] + outcomes["repeated"]
    assert acct["dead_lettered"] == sum(dead.values())
    assert acct["consumed"] == acct["processed"] + acct["duplicates"] + acct["dead_lettered"]
    # Each kind of input is there: redeliveries, repeats, forbidden steps, malformed
    # records, and events of orders already dropped (the feed spans 5 retentions).
    assert outcomes["redelivered"] > 0 and outcomes["repeated"] > 0
    assert {"invalid_transition", "schema", "not_json", "past_retention"} <= set(dead)
    # Applied events are exactly the per-order steps: counts sum to the orders.
    assert sum(oracle["counts"].values()) == sum(sum(c.values()) for c in oracle["users"].values())


def test_redeliveries_are_byte_for_byte_copies_of_events_sent_before() -> None:
    records, oracle = run()
    seen: set[bytes] = set()
    copies = 0
    for _, value in records:
        if value in seen and value != b"not json":
            copies += 1
        seen.add(value)
    ids = [orjson.loads(v)["event_id"] for _, v in records if v != b"not json"]
    assert copies == len(ids) - len(set(ids)) > 0
    assert oracle["outcomes"]["redelivered"] <= copies


def test_the_oracle_keeps_the_final_state_of_some_orders_for_the_order_view() -> None:
    _, oracle = run()
    assert 0 < len(oracle["orders"]) <= 20
    for order in oracle["orders"].values():
        assert order["status"] in STATUSES and order["version"] >= 1 and order["user_id"].startswith("u-")

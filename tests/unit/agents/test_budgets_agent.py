"""The CPC budget agent on the exactly-once batch path (agents/budgets.py), with
each implementation of its handler (BUDGET_KERNEL=python and native).

One handler reads two co-partitioned topics (ad-budget, ad-clicks); the batch
path merges a partition's records of both in timestamp order.
"""

from __future__ import annotations

from typing import Any

import budget_kernel
import orjson
import pytest
from agent_support import accounted, rows

from app import app

topics, tables = app.runtime.topics, app.runtime.tables  # built by tests/conftest.py
accounting, budgets, daily_stats = tables.accounting, tables.budgets, tables.daily_stats
seen_budget_events = tables.seen_budget_events

FUNDING = topics.ad_budget.get_topic_name()
CLICKS = topics.ad_clicks.get_topic_name()
LEDGER = topics.ad_ledger.get_topic_name()
STATUS = topics.ad_budget_status.get_topic_name()
FUNDING_DLQ = topics.ad_budget_dlq.get_topic_name()
CLICKS_DLQ = topics.ad_clicks_dlq.get_topic_name()
T0 = 1_795_500_000.0


@pytest.fixture(autouse=True, params=["python", "native"])
def kernel(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test runs on each implementation (what BUDGET_KERNEL picks at start)."""
    handler = app.runtime.handlers[CLICKS].__self__  # agents.budgets.BudgetHandler
    monkeypatch.setattr(handler, "kernel", budget_kernel if request.param == "native" else None)


def top_up(amount: int, event_id: str = "t-1", adv: str = "a-1", type_: str = "top_up") -> bytes:
    return orjson.dumps({"event_id": event_id, "advertiser_id": adv, "type": type_,
                         "amount": amount, "ts": "2026-11-24T16:00:00Z"})  # fmt: skip


def click(cpc: int, click_id: str = "k-1", adv: str = "a-1", ts: str = "2026-11-24T16:30:00Z") -> bytes:
    return orjson.dumps({"click_id": click_id, "advertiser_id": adv, "campaign_id": "c-1",
                         "cpc": cpc, "ts": ts})  # fmt: skip


def put(worker: Any, topic: Any, value: bytes, key: bytes = b"a-1", **kwargs: Any) -> None:
    kwargs.setdefault("timestamp", T0)
    worker.put(topic, value, key=key, **kwargs)


def values(sent_records: list[dict]) -> list[dict]:
    return [orjson.loads(s["value"]) for s in sent_records]


async def test_top_up_then_click_charges_and_writes_the_ledger(worker, sent) -> None:  # type: ignore[no-untyped-def]
    put(worker, topics.ad_budget, top_up(1000))
    put(worker, topics.ad_clicks, click(300))
    await worker.run()
    accounted({FUNDING: 1, CLICKS: 1})
    assert sent.topics() == {LEDGER}
    assert [s["key"] for s in sent[LEDGER]] == [b"a-1", b"a-1"]
    assert [s["partition"] for s in sent[LEDGER]] == [0, 0]
    assert values(sent[LEDGER]) == [
        {"advertiser_id": "a-1", "entry_id": "t-1", "kind": "top_up", "amount": 1000,
         "balance_after": 1000, "ts": "2026-11-24T16:00:00+00:00", "campaign_id": None},
        {"advertiser_id": "a-1", "entry_id": "k-1", "kind": "click", "amount": -300,
         "balance_after": 700, "ts": "2026-11-24T16:30:00+00:00", "campaign_id": "c-1"},
    ]  # fmt: skip
    budget = rows(budgets)["a-1"]
    assert (budget["balance"], budget["funded"], budget["spent"]) == (700, 1000, 300)
    assert (budget["charged"], budget["rejected"], budget["status"]) == (1, 0, "active")
    # 16:30 UTC is 01:30 the next day in Korea.
    assert rows(daily_stats) == {"a-1|2026-11-25": {"c-1": {"charged": 1, "spend": 300, "rejected": 0}}}
    assert set(rows(seen_budget_events)) == {"budget:t-1", "click:k-1"}
    assert rows(accounting) == {
        f"{FUNDING}/0": {"consumed": 1, "processed": 1, "duplicates": 0, "dead_lettered": 0},
        f"{CLICKS}/0": {"consumed": 1, "processed": 1, "duplicates": 0, "dead_lettered": 0},
    }


async def test_click_without_funds_sends_exhausted_status(worker, sent) -> None:  # type: ignore[no-untyped-def]
    put(worker, topics.ad_clicks, click(300, ts="2026-11-24T14:59:59Z"))
    put(worker, topics.ad_clicks, click(300, click_id="k-2"))
    await worker.run()
    accounted({CLICKS: 2})
    assert sent.topics() == {STATUS, LEDGER}
    # Each refusal is on the ledger (amount 0): the lake's daily report counts them.
    assert [(v["kind"], v["entry_id"], v["amount"], v["campaign_id"]) for v in values(sent[LEDGER])] == [
        ("rejected", "k-1", 0, "c-1"),
        ("rejected", "k-2", 0, "c-1"),
    ]
    assert sent[STATUS][0]["key"] == b"a-1"
    assert values(sent[STATUS]) == [  # one transition, not one per rejected click
        {"advertiser_id": "a-1", "status": "exhausted", "balance": 0, "cause_id": "k-1",
         "ts": "2026-11-24T14:59:59+00:00"},
    ]  # fmt: skip
    budget = rows(budgets)["a-1"]
    assert (budget["balance"], budget["rejected"], budget["status"]) == (0, 2, "exhausted")
    assert rows(daily_stats) == {
        "a-1|2026-11-24": {"c-1": {"charged": 0, "spend": 0, "rejected": 1}},
        "a-1|2026-11-25": {"c-1": {"charged": 0, "spend": 0, "rejected": 1}},
    }
    assert rows(accounting)[f"{CLICKS}/0"]["processed"] == 2


async def test_top_up_covering_the_rejected_cpc_reactivates(worker, sent) -> None:  # type: ignore[no-untyped-def]
    put(worker, topics.ad_clicks, click(300))
    await worker.run()
    accounted({CLICKS: 1})
    put(worker, topics.ad_budget, top_up(299, event_id="t-1"))
    put(worker, topics.ad_budget, top_up(1, event_id="t-2"))
    await worker.run()
    accounted({CLICKS: 1, FUNDING: 2})
    assert [(v["status"], v["balance"], v["cause_id"]) for v in values(sent[STATUS])] == [
        ("exhausted", 0, "k-1"),
        ("active", 300, "t-2"),
    ]
    assert [(v["kind"], v["balance_after"]) for v in values(sent[LEDGER])] == [
        ("rejected", 0), ("top_up", 299), ("top_up", 300)]  # fmt: skip
    assert rows(budgets)["a-1"]["status"] == "active"


async def test_duplicate_click_is_charged_once(worker, sent) -> None:  # type: ignore[no-untyped-def]
    put(worker, topics.ad_budget, top_up(1000))
    put(worker, topics.ad_clicks, click(300, click_id="k-1"))
    put(worker, topics.ad_clicks, click(300, click_id="k-1"), timestamp=T0 + 5)
    await worker.run()
    accounted({FUNDING: 1, CLICKS: 2})
    put(worker, topics.ad_clicks, click(300, click_id="k-1"), timestamp=T0 + 3600)
    put(worker, topics.ad_budget, top_up(1000), timestamp=T0 + 3600)  # top-up replayed
    await worker.run()
    accounted({FUNDING: 2, CLICKS: 3})
    assert [v["entry_id"] for v in values(sent[LEDGER])] == ["t-1", "k-1"]
    budget = rows(budgets)["a-1"]
    assert (budget["balance"], budget["charged"], budget["duplicates"]) == (700, 1, 3)
    assert rows(daily_stats)["a-1|2026-11-25"]["c-1"] == {"charged": 1, "spend": 300, "rejected": 0}
    clicks = rows(accounting)[f"{CLICKS}/0"]
    assert clicks == {"consumed": 3, "processed": 1, "duplicates": 2, "dead_lettered": 0}
    assert rows(accounting)[f"{FUNDING}/0"]["duplicates"] == 1


async def test_click_redelivered_after_a_day_is_charged_again(worker, sent) -> None:  # type: ignore[no-untyped-def]
    day = app.settings.retention_seen_budget_events
    put(worker, topics.ad_budget, top_up(1000))
    put(worker, topics.ad_clicks, click(300), timestamp=T0)
    put(worker, topics.ad_clicks, click(300), timestamp=T0 + day + 1)
    await worker.run()
    accounted({FUNDING: 1, CLICKS: 2})
    assert [v["balance_after"] for v in values(sent[LEDGER])] == [1000, 700, 400]


async def test_malformed_inputs_go_to_their_own_dead_letter_topics(worker, sent) -> None:  # type: ignore[no-untyped-def]
    bad_click = click(300).replace(b'"cpc":300', b'"cpc":320.5')
    bad_funding = b"top-up 500000"
    put(worker, topics.ad_clicks, bad_click, partition=4)
    put(worker, topics.ad_budget, bad_funding, partition=4)
    put(worker, topics.ad_clicks, click(300), key=b"a-nobody", partition=4)
    put(worker, topics.ad_clicks, click(300, ts="0001-01-01T00:00:00+10:00"), partition=4)
    await worker.run()
    accounted({FUNDING: 1, CLICKS: 3})
    assert sent.topics() == {CLICKS_DLQ, FUNDING_DLQ}
    assert [(s["value"], s["partition"]) for s in sent[FUNDING_DLQ]] == [(bad_funding, 4)]
    assert [s["value"] for s in sent[CLICKS_DLQ]] == [
        bad_click, click(300), click(300, ts="0001-01-01T00:00:00+10:00")]  # fmt: skip
    reasons = [dict(s["headers"])["dlq.reason"] for s in sent[CLICKS_DLQ]]
    assert reasons == [b"schema", b"key_mismatch", b"ts_out_of_range"]
    assert dict(sent[FUNDING_DLQ][0]["headers"])["dlq.reason"] == b"not_json"
    assert dict(sent[FUNDING_DLQ][0]["headers"])["dlq.topic"] == FUNDING.encode()
    assert rows(budgets) == {}
    assert rows(accounting) == {
        f"{FUNDING}/4": {"consumed": 1, "processed": 0, "duplicates": 0, "dead_lettered": 1},
        f"{CLICKS}/4": {"consumed": 3, "processed": 0, "duplicates": 0, "dead_lettered": 3},
    }


async def test_outputs_ride_on_the_source_partition(worker, sent) -> None:  # type: ignore[no-untyped-def]
    put(worker, topics.ad_budget, top_up(500, adv="a-7"), key=b"a-7", partition=3)
    put(worker, topics.ad_clicks, click(400, adv="a-7"), key=b"a-7", partition=3)
    put(worker, topics.ad_clicks, click(400, click_id="k-2", adv="a-7"), key=b"a-7", partition=3)
    await worker.process()
    # Outputs and changelog records alike wait in partition 3's transaction, with its offsets.
    assert [p for p, producer in enumerate(worker.producers.values()) if producer.open] == [3]
    await worker.commit()
    accounted({FUNDING: 1, CLICKS: 2})
    assert [s["partition"] for s in sent[LEDGER]] == [3, 3, 3]  # top-up, charge, rejection
    assert [s["partition"] for s in sent[STATUS]] == [3]
    assert set(rows(accounting)) == {f"{FUNDING}/3", f"{CLICKS}/3"}
    assert rows(budgets)["a-7"]["balance"] == 100
    for counts in rows(accounting).values():
        assert counts["consumed"] == counts["processed"] + counts["duplicates"] + counts["dead_lettered"]


async def test_an_aborted_batch_leaves_nothing_and_its_redelivery_counts_once(worker, sent) -> None:  # type: ignore[no-untyped-def]
    batch = [
        worker.put(topics.ad_budget, top_up(1000), key=b"a-1", timestamp=T0),
        worker.put(topics.ad_clicks, click(300), key=b"a-1", timestamp=T0),
        worker.put(topics.ad_clicks, b"{", key=b"a-1", timestamp=T0),
    ]
    await worker.process()
    worker.abort()
    await worker.commit()  # a later commit finds nothing of the aborted batch to apply
    assert sent.topics() == set()
    for table in (budgets, daily_stats, seen_budget_events, accounting):
        assert rows(table) == {}, table.name
    worker.redeliver(batch)  # from the committed offsets, after the restart
    await worker.run()
    accounted({FUNDING: 1, CLICKS: 2})
    assert [v["balance_after"] for v in values(sent[LEDGER])] == [1000, 700]
    assert len(sent[CLICKS_DLQ]) == 1
    assert rows(budgets)["a-1"]["balance"] == 700

"""The duplicate rule has one definition (domain/dedup.py); the budget handler's
two implementations (Python, and the Rust kernel) must follow it on any input:
late records, duplicates, both topics interleaved, window edges, any batching
(each batch through the exactly-once batch path and committed)."""

from __future__ import annotations

from typing import Any

import budget_kernel
import orjson
import pytest
from agent_support import Worker, rows
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app import app
from domain.dedup import Filter
from streaming.partition_batch import Record
from tests.unit.agents.test_budget_kernel import CLICKS, FUNDING, T0

WINDOW = 10  # seconds: the edges are easy to reach


def body(is_click: bool, entry_id: str) -> bytes:
    ts = "2026-11-24T15:00:00Z"
    if is_click:
        return orjson.dumps(
            {"click_id": entry_id, "advertiser_id": "a", "campaign_id": "c", "cpc": 1, "ts": ts}
        )
    return orjson.dumps({"event_id": entry_id, "advertiser_id": "a", "type": "top_up", "amount": 5, "ts": ts})


# (is a click, id, step in ms from the previous record: late, on the window's edges, or ahead)
steps = st.sampled_from([-25_000, -11_000, -10_000, -1, 0, 1, 999, 1000, 9_999, 10_000, 10_001, 11_000])
events = st.lists(st.tuples(st.booleans(), st.sampled_from(["x", "y", "z"]), steps), min_size=1, max_size=40)


def expected(records: list[Record]) -> tuple[dict[str, int], dict[str, int], int]:
    """The rule's answer: the filter's entries, those of them still within the window
    at the end, and how many records were duplicates."""
    filters = {CLICKS: Filter(WINDOW), FUNDING: Filter(WINDOW)}  # stream time per source partition
    dups = 0
    for r in records:
        prefix = "click:" if r.topic == CLICKS else "budget:"
        entry_id = orjson.loads(r.value)["click_id" if r.topic == CLICKS else "event_id"]
        dups += not filters[r.topic].offer(prefix + entry_id, r.timestamp // 1000)
    entries = {k: v for f in filters.values() for k, v in f.seen.items()}
    for f in filters.values():
        f.expire()
    live = {k: v for f in filters.values() for k, v in f.seen.items()}
    return entries, live, dups


@settings(max_examples=75, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(events=events, cuts=st.sets(st.integers(min_value=1, max_value=39), max_size=4))
@pytest.mark.parametrize("kernel", [None, budget_kernel], ids=["python", "native"])
async def test_both_implementations_follow_the_domain_rule(
    events: list[tuple[bool, str, int]], cuts: set[int], kernel: Any, worker: Worker,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    handler = app.runtime.handlers[CLICKS].__self__  # agents.budgets.BudgetHandler
    monkeypatch.setattr(handler, "kernel", kernel)
    worker.reset()  # one worker for all examples: each starts from empty tables
    monkeypatch.setattr(handler, "dedup_window", WINDOW)
    now = T0
    records = []
    for offset, (is_click, entry_id, step) in enumerate(events):
        now += step
        records.append(
            Record(CLICKS if is_click else FUNDING, 0, offset, now, b"a", body(is_click, entry_id))
        )
    bounds = [0, *sorted(c for c in cuts if c < len(records)), len(records)]
    for start, end in zip(bounds, bounds[1:], strict=False):
        worker.redeliver(records[start:end])
        await worker.run()
    entries, live, dups = expected(records)
    # Retention may drop an entry once it is past the window, whenever it runs: the
    # store holds every live entry and nothing the rule would not.
    stored = rows(app.runtime.tables.seen_budget_events)
    assert live.items() <= stored.items() <= entries.items()
    assert rows(app.runtime.tables.budgets)["a"]["duplicates"] == dups
    # The version rule: every record here is valid, so each one applied or
    # counted as a duplicate makes one more version.
    assert rows(app.runtime.tables.budgets)["a"]["version"] == len(records)

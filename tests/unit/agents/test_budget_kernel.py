"""The native budget kernel (native/, ``budget_kernel``) against the Python handler.

Both implementations of agents/budgets.py run the same random batches through
the exactly-once batch path, each on its own transactional stores; every batch
must send the same records to every topic and write the same JSON to every
changelog, byte for byte. The batches mix what the kernel reads
itself (plain clicks) with what it hands back to Python (top-ups, adjustments,
clicks in other timestamp spellings, malformed records, wrong keys), duplicates
inside and across batches, redeliveries after the duplicate window, and
rejections that exhaust and top-ups that reactivate a budget.
"""

from __future__ import annotations

import logging
import random
from typing import Any

import budget_kernel
import orjson
import pytest
from agent_support import SentBatch, Worker, rows

import agents.budgets as budget_agents
from app import app
from streaming.partition_batch import Record

topics, tables = app.runtime.topics, app.runtime.tables  # built by tests/conftest.py

CLICKS = topics.ad_clicks.get_topic_name()
FUNDING = topics.ad_budget.get_topic_name()
DAY_MS = 86_400_000
T0 = 1_795_500_000_000

TIMESTAMPS = [
    "2026-11-24T15:00:00Z",
    "2026-11-24T14:59:59.999999Z",
    "2026-11-24T23:30:00+09:00",
    "2026-11-24T03:00:00-00:00",
    "2026-11-24T03:00:00.5+00:00",
    "2026-11-24T03:00:00.000000+00:00",
    "2026-11-24T20:00:00-05:30",
    "2024-02-29T15:00:00Z",
    "2026-11-24 15:00:00Z",  # pydantic's spelling only
    "2026-11-24T15:00:00.1234567Z",  # pydantic truncates; the plain paths refuse
    "1969-12-31T23:59:59Z",  # before the kernel's range: Python decides
    "2100-01-01T00:00:00Z",
    "0001-01-01T00:00:00+10:00",  # its KST day is in year 0: dead-lettered
    "2026-02-29T00:00:00Z",
    "yesterday",
]


def click(rng: random.Random, adv: str, click_id: str) -> bytes:
    body: dict[str, Any] = {
        "click_id": click_id,
        "advertiser_id": adv,
        "campaign_id": f"c-{rng.randint(1, 3)}",
        "cpc": rng.choice([50, 100, 300, 700]),
        "ts": rng.choice(TIMESTAMPS[:8]),
    }
    roll = rng.random()
    if roll < 0.15:
        body["ts"] = rng.choice(TIMESTAMPS[8:])
    elif roll < 0.18:
        body["cpc"] = rng.choice([0, -5, 1.5, "300", None, True])
    elif roll < 0.20:
        body["click_id"] = rng.choice(["", "k" * 201, '\u00e9\U0001f600\n"q"\\', 7])
    elif roll < 0.21:
        body["extra"] = 1
    elif roll < 0.22:
        return b'{"click_id":"k","click_id":"k2","advertiser_id":"' + adv.encode() + b'","campaign_id":"c",' \
               b'"cpc":5,"ts":"2026-11-24T15:00:00Z"}'  # fmt: skip
    elif roll < 0.23:
        return b"{not json"
    return orjson.dumps(body)


def funding(rng: random.Random, adv: str, event_id: str) -> bytes:
    kind = rng.choice(["top_up", "top_up", "adjust"])
    amount = rng.randint(1, 3000) if kind == "top_up" else rng.choice([-500, 200])
    return orjson.dumps({"event_id": event_id, "advertiser_id": adv, "type": kind, "amount": amount,
                         "ts": rng.choice(TIMESTAMPS[:8])})  # fmt: skip


def random_batches(seed: int, count: int) -> list[list[Record]]:
    rng = random.Random(seed)
    advertisers = [f"a-{i}" for i in range(4)] + ["광고주-\u00e9"]
    ids: list[str] = []
    now = T0
    batches = []
    for _ in range(count):
        records = []
        for offset in range(rng.randint(1, 60)):
            # Mostly close together; now and then a day apart, on the duplicate window's edge.
            edge = rng.random() < 0.03
            now += rng.choice([DAY_MS - 1000, DAY_MS]) if edge else rng.choice([0, 1, 1000, 7_000])
            adv = rng.choice(advertisers)
            key = adv.encode() if rng.random() > 0.03 else b"a-nobody"
            if rng.random() < 0.15:
                value = funding(rng, adv, f"t-{rng.randint(0, 40)}")
                records.append(Record(FUNDING, 0, offset, now, key, value))
                continue
            click_id = rng.choice(ids) if ids and rng.random() < 0.2 else f"k-{len(ids)}"
            ids.append(click_id)
            records.append(Record(CLICKS, 0, offset, now, key, click(rng, adv, click_id)))
        batches.append(records)
    return batches


def by_topic(visible: list[SentBatch], changelogs: set[str]) -> tuple[dict, dict]:
    """(outputs: {topic: [(key, value, headers)]}, writes: {changelog: {key: JSON}}) of a commit."""
    sends: dict[str, list[tuple]] = {}
    writes: dict[str, dict] = {}
    for topic, _, records in visible:
        if topic in changelogs:
            writes.setdefault(topic, {}).update((r["key"], r["value"]) for r in records)
        else:
            sends.setdefault(topic, []).extend((r["key"], r["value"], r["headers"]) for r in records)
    return sends, writes


async def run_both(
    worker: Worker,
    batches: list[list[Record]],
    monkeypatch: pytest.MonkeyPatch,
    initial: dict[Any, dict[bytes, dict]] | None = None,
) -> dict:
    """Each implementation's committed state after the batches (the same, or this
    fails), both starting from ``initial`` ({table: {key: value}}) committed."""
    changelogs = {t.changelog_topic.get_topic_name() for t in worker.app.tables.values()}
    runs = {}
    for name, kernel in (("python", None), ("native", budget_kernel)):
        monkeypatch.setattr(app.runtime.handlers[CLICKS].__self__, "kernel", kernel)
        worker.reset()
        for table, values in (initial or {}).items():
            for key, value in values.items():
                worker.seed(table, key, orjson.dumps(value))
        commits = []
        for records in batches:
            worker.redeliver(records)
            commits.append(by_topic(await worker.run(), changelogs))
        runs[name] = commits, {table.name: rows(table) for table in worker.app.tables.values()}
    (python, python_state), (native, native_state) = runs["python"], runs["native"]
    for number, (p, n) in enumerate(zip(python, native, strict=True)):
        assert n[0] == p[0], f"batch {number}: sends differ"
        assert n[1] == p[1], f"batch {number}: writes differ"
    assert native_state == python_state
    return native_state


@pytest.mark.parametrize("seed", range(6))
async def test_native_kernel_sends_and_writes_what_the_python_handler_does(
    seed: int, worker: Worker, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    batches = random_batches(seed, 40)
    await run_both(worker, batches, monkeypatch)
    assert "runs in Python" not in caplog.text  # every batch went through the kernel


async def test_a_budget_stored_before_versions_goes_on_from_version_0(
    worker: Worker, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = {"balance": 500, "spent": 0, "funded": 500, "charged": 0, "rejected": 0, "duplicates": 0,
           "status": "active", "last_rejected_cpc": 0, "updated_at": "2026-11-24T15:00:00+00:00"}  # fmt: skip
    plain = orjson.dumps({"click_id": "k", "advertiser_id": "a", "campaign_id": "c", "cpc": 5,
                          "ts": "2026-11-24T15:00:00Z"})  # fmt: skip
    # The second click is a duplicate of the first.
    records = [Record(CLICKS, 0, 0, T0, b"a", plain), Record(CLICKS, 0, 1, T0, b"a", plain)]
    state = await run_both(worker, [records], monkeypatch, {tables.budgets: {b"a": old}})
    budget = state[tables.budgets.name]["a"]
    assert (budget["version"], budget["charged"], budget["duplicates"]) == (2, 1, 1)


def test_the_kernel_reads_plain_clicks_itself_and_leaves_the_rest_to_python() -> None:
    plain = orjson.dumps({"click_id": "k", "advertiser_id": "a", "campaign_id": "c", "cpc": 5,
                          "ts": "2026-11-24T15:00:00Z"})  # fmt: skip
    records = [
        Record(CLICKS, 0, 0, T0, b"a", plain),
        Record(CLICKS, 0, 1, T0, b"b", plain),  # another advertiser's key
        Record(CLICKS, 0, 2, T0, b"a", plain.replace(b"T15", b" 15")),
        Record(FUNDING, 0, 3, T0, b"a", b"{}"),
        Record(CLICKS, 0, 4, T0, b"a", None),
    ]
    run = budget_kernel.parse(records, CLICKS, 86_400)
    assert run.pending == [1, 2, 3, 4]
    assert run.keys() == ([b"click:k"], [b"a"], [b"a|2026-11-25"])


async def test_a_batch_past_64_bits_runs_in_python(
    worker: Worker, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    amounts = [2**61, 2**61, 2**62]  # the third top-up takes the balance past 2**63 - 1
    records = [
        Record(FUNDING, 0, i, T0 + i, b"a-1", orjson.dumps({"event_id": f"t-{i}", "advertiser_id": "a-1",
               "type": "top_up", "amount": amount, "ts": "2026-11-24T15:00:00Z"}))  # fmt: skip
        for i, amount in enumerate(amounts)
    ] + [Record(FUNDING, 0, 9, T0 + 9, b"a-2", orjson.dumps({"event_id": "t-9", "advertiser_id": "a-2",
         "type": "top_up", "amount": 2**63, "ts": "2026-11-24T15:00:00Z"}))]  # fmt: skip
    with caplog.at_level(logging.WARNING, logger=budget_agents.__name__):
        state = await run_both(worker, [records[:2], records[2:3], records[3:]], monkeypatch)
    assert caplog.text.count("runs in Python") == 2  # the 2nd and 3rd batches
    budgets = state[tables.budgets.name]
    assert (budgets["a-1"]["balance"], budgets["a-2"]["balance"]) == (2**63, 2**63)


def test_kernel_setting_picks_the_implementation(monkeypatch: pytest.MonkeyPatch) -> None:
    from config.settings import BudgetKernel

    assert budget_agents.load_kernel(BudgetKernel.PYTHON) is None
    assert budget_agents.load_kernel(BudgetKernel.NATIVE) is budget_kernel
    assert budget_agents.load_kernel(BudgetKernel.AUTO) is budget_kernel
    monkeypatch.setitem(__import__("sys").modules, "budget_kernel", None)  # not installed
    assert budget_agents.load_kernel(BudgetKernel.AUTO) is None
    with pytest.raises(ImportError, match="pip install ./native"):
        budget_agents.load_kernel(BudgetKernel.NATIVE)

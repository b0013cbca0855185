"""``faust -A app replay`` on the real broker: state rebuilt from the sources, never doubled."""

from __future__ import annotations

import asyncio
import json
from collections import defaultdict
from datetime import UTC, datetime

import pytest

from tests.integration.harness import Deployment, Worker
from tests.integration.observe import (
    all_ready,
    get_json,
    read_topic,
    topic_names,
    wait_group_empty,
    wait_ready,
)

pytestmark = pytest.mark.integration


def verify(deployment: Deployment, oracle: str, *workers: Worker) -> None:
    for w in workers:
        res = deployment.faust("verify", "--oracle", oracle, "--url", w.url, "--timeout", "120")
        assert res.returncode == 0, res.stdout[-3000:] + "\n" + w.log_tail()


def replay(deployment: Deployment, worker: Worker, *args: str):  # type: ignore[no-untyped-def]
    return deployment.faust("replay", *args, STORE_DIR=str(worker.dir / "state"), timeout=180)


def loadgen(deployment: Deployment, *args: str) -> None:
    res = deployment.faust("loadgen", *args)
    assert res.returncode == 0, res.stderr[-3000:]


def generation(record) -> int:  # type: ignore[no-untyped-def]
    return int(dict(record.headers)["replay.generation"])


async def restart(*workers: Worker) -> None:
    for w in workers:
        w.start()
    await all_ready(*workers)


async def test_replay_rebuilds_the_category_totals_once(deployment, workers, tmp_path):  # type: ignore[no-untyped-def]
    pair = workers(2)
    await all_ready(*pair)
    oracle = str(tmp_path / "orders.json")
    loadgen(deployment, "orders", "--count", "5000", "--seed", "5", "--oracle", oracle)
    verify(deployment, oracle, pair[0])
    for w in pair:
        w.stop()
    await wait_group_empty(deployment.bootstrap, deployment.name)
    changelog = f"{deployment.name}-category_totals-changelog"

    dry = replay(deployment, pair[0], "--dry-run")
    assert dry.returncode == 0 and "dry run: nothing changed" in dry.stdout, dry.stdout + dry.stderr
    assert changelog in await topic_names(deployment.bootstrap)

    res = replay(deployment, pair[0], "--yes")
    assert res.returncode == 0, res.stdout + res.stderr[-3000:]
    assert f"{deployment.topic('TOPIC_ORDERS')}: 6 partitions, committed 5000 -> 0" in res.stdout
    assert changelog not in await topic_names(deployment.bootstrap)
    assert not (pair[0].dir / "state" / deployment.name).exists()

    # One worker replays the backlog; the other joins once it is done (a rebalance in
    # the middle of a backlog is still subject to the open exactly-once defects).
    await restart(pair[0])
    verify(deployment, oracle, pair[0])  # not doubled: totals and accounting equal the oracle
    await restart(pair[1])  # its state is on "another host": it wipes it itself
    assert "replay generation 0 -> 1: wiped local state" in pair[1].log.read_text()
    await all_ready(*pair)
    verify(deployment, oracle, *pair)

    # Downstream: category-totals holds full totals, so the last record per key is the answer.
    want = json.loads((tmp_path / "orders.json").read_text())["categories"]
    await asyncio.sleep(2)  # the last transaction commits
    last = {}
    for record in await read_topic(deployment.bootstrap, deployment.topic("TOPIC_CATEGORY_TOTALS")):
        last[record.key.decode()] = (generation(record), json.loads(record.value))
    assert {k: g for k, (g, _) in last.items()} == dict.fromkeys(want, 1)
    assert {k: {f: v[f] for f in want[k]} for k, (_, v) in last.items()} == want


async def test_replay_recharges_every_click_exactly_as_the_first_run(deployment, workers, tmp_path):  # type: ignore[no-untyped-def]
    (worker,) = workers(1)
    await wait_ready(worker)
    oracle = str(tmp_path / "clicks.json")
    loadgen(deployment, "clicks", "--advertisers", "50", "--count", "10000", "--rounds", "2",
            "--seed", "7", "--oracle", oracle)  # fmt: skip
    verify(deployment, oracle, worker)
    worker.stop()
    await wait_group_empty(deployment.bootstrap, deployment.name)
    res = replay(deployment, worker, "--yes")
    assert res.returncode == 0, res.stdout + res.stderr[-3000:]
    await restart(worker)
    # Top-ups and clicks of both rounds are all waiting now: only timestamp order
    # gives the charges of the first run (which had barriers between phases).
    verify(deployment, oracle, worker)

    # Downstream: the replay re-emits the ledger with the same entry ids and amounts.
    expected = json.loads((tmp_path / "clicks.json").read_text())
    await asyncio.sleep(2)
    entries: dict[int, dict[str, dict]] = defaultdict(dict)
    for record in await read_topic(deployment.bootstrap, deployment.topic("TOPIC_AD_LEDGER")):
        entry = json.loads(record.value)
        assert entry["entry_id"] not in entries[generation(record)], "entry_id twice in a generation"
        entries[generation(record)][entry["entry_id"]] = entry
    assert sorted(entries) == [0, 1]
    assert len(entries[1]) == expected["ledger_entries"]
    assert entries[1] == entries[0]
    balances: dict[str, int] = defaultdict(int)
    for entry in entries[1].values():  # a consumer that keeps one entry per entry_id
        balances[entry["advertiser_id"]] += entry["amount"]
    assert {a: balances[a] for a in expected["advertisers"]} == {
        a: b["balance"] for a, b in expected["advertisers"].items()
    }


async def test_replay_refuses_while_a_worker_runs(deployment, workers):  # type: ignore[no-untyped-def]
    (worker,) = workers(1)
    await wait_ready(worker)
    res = replay(deployment, worker, "--yes")
    assert res.returncode != 0
    assert "refusing to replay, 1 worker(s)" in res.stderr and "faust-" in res.stderr, res.stderr
    assert f"{deployment.name}-seen_orders-changelog" in await topic_names(deployment.bootstrap)
    assert (worker.dir / "state" / deployment.name).is_dir()


async def test_replay_to_a_datetime_keeps_only_later_orders(deployment, workers, tmp_path):  # type: ignore[no-untyped-def]
    (worker,) = workers(1)
    await wait_ready(worker)
    loadgen(deployment, "orders", "--count", "2000", "--seed", "1", "--oracle", str(tmp_path / "a.json"))
    await asyncio.sleep(1)
    since = datetime.now(UTC).isoformat()
    await asyncio.sleep(1)
    later = str(tmp_path / "b.json")
    loadgen(deployment, "orders", "--count", "2000", "--seed", "2", "--oracle", later)
    for _ in range(120):  # both batches processed
        stats = await get_json(f"{worker.url}/stats")
        if stats["topics"].get(deployment.topic("TOPIC_ORDERS"), {}).get("consumed") == 4000:
            break
        await asyncio.sleep(1)
    worker.stop()
    await wait_group_empty(deployment.bootstrap, deployment.name)

    res = replay(deployment, worker, "--to-datetime", since, "--yes")
    assert res.returncode == 0, res.stdout + res.stderr[-3000:]
    assert f"{deployment.topic('TOPIC_ORDERS')}: 6 partitions, committed 4000 -> 2000" in res.stdout
    await restart(worker)
    verify(deployment, later, worker)  # batch B alone: categories, hourly buckets, accounting

"""Recovery on the real broker: a lost disk, a killed worker, a new consumer group."""

from __future__ import annotations

import shutil
import signal
import time

import orjson
import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from tests.integration.observe import (
    all_ready,
    end_offsets_total,
    get_json,
    restores,
    topic_names,
    wait_ready,
)
from tests.integration.test_replay import loadgen, verify

pytestmark = pytest.mark.integration

ANSWERS = ("/categories", "/advertisers", "/stats")


async def answers(url: str) -> dict:
    return {path: await get_json(f"{url}{path}") for path in ANSWERS}


async def changelog_offsets(deployment) -> int:  # type: ignore[no-untyped-def]
    names = [t for t in await topic_names(deployment.bootstrap) if t.startswith(f"{deployment.name}-")]
    return await end_offsets_total(deployment.bootstrap, [t for t in names if t.endswith("-changelog")])


async def test_a_worker_that_lost_its_disk_restores_the_same_answers(deployment, workers, tmp_path):  # type: ignore[no-untyped-def]
    (worker,) = workers(1)
    await wait_ready(worker)
    orders, clicks = str(tmp_path / "orders.json"), str(tmp_path / "clicks.json")
    loadgen(deployment, "orders", "--count", "5000", "--seed", "3", "--oracle", orders)
    loadgen(deployment, "clicks", "--advertisers", "20", "--count", "2000", "--rounds", "1",
            "--seed", "4", "--oracle", clicks)  # fmt: skip
    verify(deployment, orders, worker)
    verify(deployment, clicks, worker)
    before = await answers(worker.url)
    worker.stop()

    shutil.rmtree(worker.dir / "state")
    worker.start()
    seen = await wait_ready(worker)
    # Alive (healthz) but not ready (readyz) while the tables restore.
    assert (200, 503) in seen, seen
    assert all(h == 200 for h, r in seen if r is not None), seen
    assert await answers(worker.url) == before
    verify(deployment, orders, worker)
    restored = restores(worker.log.read_text())
    assert restored and restored[-1][0] > 0.5 * await changelog_offsets(deployment), restored


async def test_the_survivor_takes_over_from_its_standbys(deployment, workers, tmp_path):  # type: ignore[no-untyped-def]
    # Standby replicas on (the default); SESSION_TIMEOUT (10 s) until the kill is noticed.
    pair = workers(2, STANDBY_REPLICAS="1")
    await all_ready(*pair)
    oracle = str(tmp_path / "orders.json")
    loadgen(deployment, "orders", "--count", "5000", "--seed", "6", "--oracle", oracle)
    verify(deployment, oracle, *pair)
    survivor, victim = pair
    logged = len(survivor.log.read_bytes())
    total = await changelog_offsets(deployment)

    victim.stop(signal.SIGKILL)
    killed = time.monotonic()
    verify(deployment, oracle, survivor)  # retries until the survivor answers every key
    took = time.monotonic() - killed
    after = restores(survivor.log.read_bytes()[logged:].decode(errors="replace"))
    assert after, survivor.log_tail()
    # From standbys: a handful of offsets (transaction markers), not half the changelogs.
    assert sum(n for n, _ in after) < 0.05 * total, (after, total)
    print(f"takeover: answers correct {took:.1f}s after SIGKILL; restored {after} of {total} offsets")


async def test_a_new_consumer_group_starts_from_the_earliest_offset(deployment, workers, tmp_path):  # type: ignore[no-untyped-def]
    admin = AIOKafkaAdminClient(bootstrap_servers=deployment.bootstrap)
    await admin.start()
    try:  # the input exists (another team produces to it) before this app ever ran
        await admin.create_topics([NewTopic(deployment.topic("TOPIC_ORDERS"), 6, 1)])
    finally:
        await admin.close()
    oracle = str(tmp_path / "orders.json")
    loadgen(deployment, "orders", "--count", "1000", "--seed", "8", "--oracle", oracle)
    (worker,) = workers(1)
    await wait_ready(worker)
    verify(deployment, oracle, worker)  # accounting included: all 1000 records were read


async def test_the_bulk_restore_takes_committed_changelog_records_only(deployment, workers):  # type: ignore[no-untyped-def]
    # A changelog holds a committed total, then an aborted write of the same key
    # (a zombie's transaction) and a committed one of another key: a worker that
    # lost its disk restores exactly the committed values, in bulk.
    (worker,) = workers(1)
    await wait_ready(worker)  # it creates the changelogs
    worker.stop()
    changelog = f"{deployment.name}-category_totals-changelog"
    total = {"items_sold": 1, "order_count": 1, "updated_at": "2026-11-24T00:00:00+00:00"}
    producer = AIOKafkaProducer(
        bootstrap_servers=deployment.bootstrap, transactional_id=f"{deployment.name}-test"
    )
    await producer.start()
    try:
        for category, amount, commit in (("food", 100, True), ("food", 999, False), ("toys", 7, True)):
            await producer.begin_transaction()
            value = orjson.dumps({"total_amount": amount, **total})
            await (await producer.send(changelog, value, key=category.encode()))
            await (producer.commit_transaction() if commit else producer.abort_transaction())
    finally:
        await producer.stop()

    shutil.rmtree(worker.dir / "state")
    worker.start()
    await wait_ready(worker)
    assert (await get_json(f"{worker.url}/categories/food"))["total_amount"] == 100
    assert (await get_json(f"{worker.url}/categories/toys"))["total_amount"] == 7
    assert "bulk restore: " in worker.log.read_text(), worker.log_tail()

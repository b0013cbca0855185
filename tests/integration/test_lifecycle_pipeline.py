"""Order lifecycle events on the real broker: one worker, the HTTP views, the DLQ."""

from __future__ import annotations

from collections import Counter

import orjson
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from tests.integration.observe import read_topic
from tests.integration.test_e2e_worker import poll_json

pytestmark = pytest.mark.integration

TS = "2026-11-24T10:15:00+09:00"


def event(user: str, order_id: str, status: str, event_id: str = "") -> tuple[bytes, bytes]:
    body = {"event_id": event_id or f"{order_id}-{status}", "order_id": order_id, "user_id": user}
    return user.encode(), orjson.dumps({**body, "status": status, "ts": TS})


# Three users' events; the comments say what the lifecycle makes of each.
FEED = [
    event("u-1", "o-1", "created"),
    event("u-1", "o-1", "paid"),
    event("u-1", "o-1", "shipped"),
    event("u-1", "o-1", "paid"),  # redelivered (same event_id) after shipped: duplicate
    event("u-1", "o-1", "delivered"),
    event("u-1", "o-2", "created"),
    event("u-1", "o-2", "shipped"),  # created -> shipped: dead letter
    event("u-2", "o-3", "paid"),  # never created: dead letter
    event("u-2", "o-4", "created"),
    event("u-2", "o-4", "created", "again"),  # the same status, a new event_id: duplicate
    event("u-2", "o-4", "cancelled"),
    event("u-2", "o-4", "paid"),  # after cancelled: dead letter
    event("u-3", "o-5", "placed"),  # no longer a status: dead letter (schema)
    event("u-3", "o-5", "created"),
    (b"u-3", b"not json"),  # dead letter
]
DEAD = [FEED[6], FEED[7], FEED[11], FEED[12], FEED[14]]


async def test_lifecycles_reach_the_views_and_invalid_steps_are_dead_lettered(deployment, workers):  # type: ignore[no-untyped-def]
    (worker,) = workers(1)
    await worker.wait_http()
    topic = deployment.topic("TOPIC_ORDER_EVENTS")
    producer = AIOKafkaProducer(bootstrap_servers=deployment.bootstrap)
    await producer.start()
    try:
        for key, value in FEED:
            await producer.send_and_wait(topic, value, key=key)
    finally:
        await producer.stop()

    want = {"created": 2, "paid": 0, "shipped": 0, "delivered": 1, "cancelled": 1}
    status, body = await poll_json(f"{worker.url}/lifecycle", lambda s, b: s == 200 and b["counts"] == want)
    assert (status, body) == (200, {"users": 3, "counts": want}), worker.log_tail()

    status, body = await poll_json(f"{worker.url}/users/u-1/orders", lambda s, b: s == 200)
    assert status == 200
    assert {o: v["status"] for o, v in body["orders"].items()} == {"o-1": "delivered", "o-2": "created"}
    assert body["orders"]["o-1"]["version"] == 4 and body["version"] == 5
    status, body = await poll_json(f"{worker.url}/users/nobody/orders", lambda s, b: s == 404)
    assert status == 404 and "error" in body

    order = f"{worker.url}/orders/o-1"
    status, body = await poll_json(f"{order}?user_id=u-1", lambda s, b: s == 200)
    statuses = ["created", "paid", "shipped", "delivered"]
    assert body == {
        "order_id": "o-1", "user_id": "u-1", "status": "delivered", "version": 4, "ts": 1_795_482_900,
        "history": [{"status": s, "ts": 1_795_482_900, "event_id": f"o-1-{s}"} for s in statuses],
    }  # fmt: skip
    for url, want_status in [
        (order, 400),  # no user_id
        (f"{order}?user_id=", 400),
        (f"{order}?user_id={'u' * 201}", 400),
        (f"{order}?user_id=u-2", 404),  # someone else's order
        (f"{worker.url}/orders/o-9?user_id=u-1", 404),
    ]:
        status, body = await poll_json(url, lambda s, b: True)
        assert status == want_status and "error" in body, (url, status, body)

    consumer = AIOKafkaConsumer(
        deployment.topic("TOPIC_ORDER_EVENTS_DLQ"), bootstrap_servers=deployment.bootstrap,
        isolation_level="read_committed", auto_offset_reset="earliest",
    )  # fmt: skip
    await consumer.start()
    try:
        records = []
        for _ in range(10):
            batches = await consumer.getmany(timeout_ms=2000, max_records=100)
            records += [r for rs in batches.values() for r in rs]
            if len(records) >= len(DEAD):
                break
    finally:
        await consumer.stop()
    assert sorted((r.key, r.value) for r in records) == sorted(DEAD)
    reasons = sorted(dict(r.headers)["dlq.reason"] for r in records)
    assert reasons == [b"invalid_transition"] * 3 + [b"not_json", b"schema"]
    assert worker.alive()


async def test_generated_lifecycles_agree_with_the_oracle(deployment, workers, tmp_path):  # type: ignore[no-untyped-def]
    retention = {"ORDER_RETENTION": "600"}  # the feed spans 3,000 s: finished orders get dropped
    (worker,) = workers(1, **retention)
    await worker.wait_http()
    oracle_file = tmp_path / "oracle.json"
    gen = deployment.faust(
        "loadgen", "lifecycle", "--count", "3000", "--seed", "5",
        "--dup-rate", "0.02", "--bad-rate", "0.02", "--oracle", str(oracle_file), **retention,
    )  # fmt: skip
    assert gen.returncode == 0, gen.stderr[-3000:]
    res = deployment.faust("verify", "--oracle", str(oracle_file), "--url", worker.url, "--timeout", "120")
    assert res.returncode == 0, res.stdout[-3000:] + "\n" + worker.log_tail()
    assert res.stdout.strip().endswith("mismatches=0")
    status, body = await poll_json(f"{worker.url}/users/u-1/orders", lambda s, b: s == 200)
    assert status == 200
    finished = [o for o in body["orders"].values() if o["status"] in ("delivered", "cancelled")]
    assert all(max(h["ts"] for h in o["history"]) >= body["stream_time"] - 600 for o in finished)
    # Every dead letter is the oracle's, with its reason (verify saw the counts agree).
    oracle = orjson.loads(oracle_file.read_bytes())
    dead = await read_topic(deployment.bootstrap, deployment.topic("TOPIC_ORDER_EVENTS_DLQ"))
    assert (
        Counter(dict(r.headers)["dlq.reason"].decode() for r in dead) == oracle["outcomes"]["dead_lettered"]
    )
    assert (
        oracle["outcomes"]["dead_lettered"]["past_retention"] > 0
    )  # redelivered after the order was dropped
    assert oracle["outcomes"]["redelivered"] > 0 and oracle["outcomes"]["repeated"] > 0

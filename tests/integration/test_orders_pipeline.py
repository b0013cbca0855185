"""Orders -> category totals on the real broker, two worker subprocesses."""

from __future__ import annotations

import json

import orjson
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from cli.workloads.orders import malformed
from infra.kafka.tools import console_consume
from tests.integration.test_e2e_worker import poll_json

pytestmark = pytest.mark.integration


def last_per_key(lines: list[str]) -> dict[str, dict]:
    out = {}
    for line in lines:
        key, _, value = line.partition("\t")
        out[key] = json.loads(value)
    return out


async def test_two_workers_agree_with_the_oracle(deployment, workers, tmp_path):  # type: ignore[no-untyped-def]
    pair = workers(2)
    for w in pair:
        await w.wait_http()
    oracle_file = tmp_path / "oracle.json"
    gen = deployment.faust(
        "loadgen", "orders", "--count", "20000", "--seed", "11",
        "--dup-rate", "0.01", "--bad-rate", "0.01", "--oracle", str(oracle_file),
    )  # fmt: skip
    assert gen.returncode == 0, gen.stderr[-3000:]
    oracle = json.loads(oracle_file.read_text())
    acct = oracle["topics"][deployment.topic("TOPIC_ORDERS")]
    assert acct["duplicates"] > 120 and acct["dead_lettered"] > 120

    for w in pair:
        res = deployment.faust("verify", "--oracle", str(oracle_file), "--url", w.url,
                               "--timeout", "300")  # fmt: skip
        assert res.returncode == 0, res.stdout[-3000:] + "\n" + w.log_tail()
        assert res.stdout.strip().endswith("mismatches=0")

    dlq = console_consume(deployment.bootstrap, deployment.topic("TOPIC_ORDERS_DLQ"),
                          timeout_ms=8000)  # fmt: skip
    assert len(dlq) == acct["dead_lettered"]

    totals = last_per_key(
        console_consume(
            deployment.bootstrap, deployment.topic("TOPIC_CATEGORY_TOTALS"), print_key=True, timeout_ms=8000
        )  # fmt: skip
    )
    assert set(totals) == set(oracle["categories"])
    for category, want in oracle["categories"].items():
        got = {k: totals[category][k] for k in want}
        assert got == want, category


DEFECTS = {
    0: "not_json",
    1: "schema",
    2: "schema",
    3: "schema",
    4: "schema",
    5: "schema",
    6: "schema",
    7: "schema",
    8: "schema",
    9: "key_mismatch",
}  # fmt: skip  (wrong type, missing field, negative price, zero quantity, 101 items, ...)


async def test_each_defect_is_dead_lettered_and_the_worker_keeps_going(deployment, workers):  # type: ignore[no-untyped-def]
    (worker,) = workers(1)
    await worker.wait_http()
    good = {
        "order_id": "o-good", "user_id": "u-1", "created_at": "2026-11-24T10:15:00+09:00",
        "currency": "KRW", "items": [{"sku": "s", "category": "pets", "quantity": 1, "unit_price": 500}],
    }  # fmt: skip
    sent = [malformed(kind, dict(good, order_id=f"o-bad-{kind}")) for kind in DEFECTS]
    producer = AIOKafkaProducer(bootstrap_servers=deployment.bootstrap)
    await producer.start()
    try:
        for key, value in sent:
            await producer.send_and_wait(deployment.topic("TOPIC_ORDERS"), value, key=key)
        await producer.send_and_wait(deployment.topic("TOPIC_ORDERS"), orjson.dumps(good), key=b"u-1")
    finally:
        await producer.stop()

    status, body = await poll_json(f"{worker.url}/categories/pets", lambda s, b: s == 200)
    assert status == 200 and body["total_amount"] == 500, worker.log_tail()
    assert worker.alive()

    consumer = AIOKafkaConsumer(
        deployment.topic("TOPIC_ORDERS_DLQ"), bootstrap_servers=deployment.bootstrap,
        isolation_level="read_committed", auto_offset_reset="earliest",
    )  # fmt: skip
    await consumer.start()
    try:
        batches = await consumer.getmany(timeout_ms=10_000, max_records=100)
        records = [r for rs in batches.values() for r in rs]
    finally:
        await consumer.stop()
    assert len(records) == len(sent)
    by_value = {r.value: r for r in records}
    for kind, (key, value) in zip(DEFECTS, sent, strict=True):
        record = by_value[value]  # original bytes, unchanged
        assert record.key == key
        headers = dict(record.headers)
        assert headers["dlq.reason"].decode() == DEFECTS[kind], (kind, headers)
        assert headers["dlq.topic"].decode() == deployment.topic("TOPIC_ORDERS")
        assert int(headers["dlq.offset"]) >= 0 and int(headers["dlq.partition"]) >= 0
        assert headers["dlq.detail"]

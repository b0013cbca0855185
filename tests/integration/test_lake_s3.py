"""The lake on an S3 API: moto's standalone server (an emulator of S3, run on this machine).

Ledger records go in through transactions, one of them aborted; the sink runs
in this process against the real broker, twice over the same records.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
import uuid
from datetime import date, datetime
from pathlib import Path

import orjson
import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from config.settings import load_settings
from domain.budgets import kst_day_name
from infra.workers import free_port
from lake import audit, naming, report, store
from lake.sink import Sink

pytestmark = pytest.mark.integration

MOTO = str(Path(sys.executable).parent / "moto_server")


@pytest.fixture
def s3_endpoint(tmp_path):  # type: ignore[no-untyped-def]
    port = free_port()
    log = (tmp_path / "moto.log").open("wb")
    proc = subprocess.Popen([MOTO, "-H", "127.0.0.1", "-p", str(port)], stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    import urllib.request

    while True:
        try:
            urllib.request.urlopen(url, timeout=1)
            break
        except OSError:
            if time.monotonic() > deadline or proc.poll() is not None:
                proc.kill()
                raise AssertionError("moto_server did not start") from None
            time.sleep(0.2)
    yield url
    proc.terminate()
    proc.wait(10)


def entry(i: int, kind: str = "click") -> bytes:
    ts = f"2026-11-24T{10 + i % 10:02d}:00:00+00:00"
    return orjson.dumps({"advertiser_id": f"a-{i % 3}", "entry_id": f"k-{i}", "kind": kind,
                         "amount": -100 if kind == "click" else 0, "balance_after": 1000,
                         "ts": ts, "campaign_id": f"c-{i % 2}"})  # fmt: skip


async def produce(bootstrap: str, topic: str) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, transactional_id=f"lake-s3-{uuid.uuid4().hex}")
    await producer.start()
    try:
        for chunk in range(4):
            async with producer.transaction():
                for i in range(chunk * 50, chunk * 50 + 50):
                    await producer.send(topic, entry(i, "rejected" if i % 7 == 0 else "click"),
                                        key=f"a-{i % 3}".encode())  # fmt: skip
        await producer.begin_transaction()  # never committed: read_committed must not see it
        await producer.send(topic, entry(999), key=b"a-0")
        await producer.abort_transaction()
        async with producer.transaction():
            await producer.send(topic, entry(200), key=b"a-1")
    finally:
        await producer.stop()


async def run_sink_until(settings, want: int) -> None:  # type: ignore[no-untyped-def]
    sink, stop = Sink(settings), asyncio.Event()
    task = asyncio.create_task(sink.run(stop))
    deadline = time.monotonic() + 60
    while len(audit.file_rows(sink.fs, sink.root, settings.topic_ad_ledger, "ledger")) < want:
        assert not task.done(), task.exception()
        assert time.monotonic() < deadline, "the sink did not write every record"
        await asyncio.sleep(0.3)
    stop.set()
    await task


async def test_sink_writes_to_s3_once_and_a_rerun_rewrites_the_same_objects(kafka_bootstrap, s3_endpoint):  # type: ignore[no-untyped-def]
    name = f"s3{uuid.uuid4().hex[:8]}"
    ledger, orders = f"{name}.ad-ledger", f"{name}.orders"
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(ledger, 3, 1), NewTopic(orders, 3, 1)])
    finally:
        await admin.close()
    await produce(kafka_bootstrap, ledger)
    settings = load_settings(
        kafka_bootstrap_servers=kafka_bootstrap, app_id=name, topic_ad_ledger=ledger, topic_orders=orders,
        lake_url="s3://lake-test/commerce", lake_s3_endpoint=s3_endpoint, lake_s3_access_key="test",
        lake_s3_secret_key="test", lake_rotate_records=40, lake_rotate_seconds=0.5,
    )  # fmt: skip
    fs, root = store.filesystem(settings)
    import boto3  # moto's own dependency: the bucket made the plain way

    boto3.client("s3", endpoint_url=s3_endpoint, aws_access_key_id="test", aws_secret_access_key="test",
                 region_name="us-east-1").create_bucket(Bucket="lake-test")  # fmt: skip

    committed = await audit.read_committed({"bootstrap_servers": kafka_bootstrap}, ledger)
    assert len(committed) == 201  # the aborted entry is not among them
    await run_sink_until(settings, 201)
    result = audit.compare(committed, audit.file_rows(fs, root, ledger, "ledger"), "ledger")
    assert result.ok, result.line()
    objects = sorted(store.listing(fs, naming.topic_glob(root, ledger)))
    assert objects and all(p.startswith("lake-test/commerce/") for p in objects)

    # A second sink over the same records: the newest batch of each partition is
    # redone under its own name; nothing is added.
    await run_sink_until(settings, 201)
    assert sorted(store.listing(fs, naming.topic_glob(root, ledger))) == objects
    assert audit.compare(committed, audit.file_rows(fs, root, ledger, "ledger"), "ledger").ok

    got = report.nested(report.daily(fs, root, ledger, date(2026, 11, 24), date(2026, 11, 25)))
    want: dict = {}
    for value in committed.values():
        e = orjson.loads(value)
        day = kst_day_name(datetime.fromisoformat(e["ts"]))  # 15:00 UTC on is the next day in Korea
        row = want.setdefault(e["advertiser_id"], {}).setdefault(day, {}).setdefault(
            e["campaign_id"], {"charged": 0, "spend": 0, "rejected": 0})  # fmt: skip
        if e["kind"] == "click":
            row["charged"] += 1
            row["spend"] -= e["amount"]
        else:
            row["rejected"] += 1
    assert len(want["a-0"]) == 2 and got == want

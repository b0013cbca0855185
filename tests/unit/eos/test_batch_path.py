"""eos.batch_path.run: batches per partition, in the source's transaction, never half-committed."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import pytest
from aiokafka.partitioner import murmur2
from eos_fakes import FakeProducer
from faust.types import TP

from eos import batch_path
from eos.gate import BatchFailed, gate_of
from streaming.partition_batch import handlers_of

CLICKS, FUNDING = "clicks", "funding"


def deployment(handler: Any) -> tuple[SimpleNamespace, dict[str, FakeProducer]]:
    producers = {f"app-6x-{p}": FakeProducer() for p in range(2)}
    crashes: list[BaseException] = []

    async def crash(exc: BaseException) -> None:
        crashes.append(exc)

    app = SimpleNamespace(
        conf=SimpleNamespace(id="app"),
        settings=SimpleNamespace(producer_max_batch_bytes=512 * 1024),
        consumer=SimpleNamespace(partition_count=lambda topic: 6),
        producer=SimpleNamespace(_transaction_producers=producers),
        crash=crash,
        crashes=crashes,
    )
    handlers_of(app).update({CLICKS: handler, FUNDING: handler})
    consumer = SimpleNamespace(app=app, flow_active=True, should_stop=False, can_resume_flow=asyncio.Event())

    async def wait(event: asyncio.Event) -> None:
        await event.wait()

    consumer.wait = wait
    return consumer, producers


def rec(topic: str, partition: int, offset: int, ts: int) -> SimpleNamespace:
    return SimpleNamespace(
        topic=topic, partition=partition, offset=offset, timestamp=ts, key=b"k", value=b"v"
    )


class FakeTopic:
    def __init__(self, name: str) -> None:
        self.name = name

    def get_topic_name(self) -> str:
        return self.name


def forwarding_handler(seen: list) -> Any:
    def handle(batch: Any) -> None:
        seen.append((batch.partition, [(r.topic, r.offset) for r in batch.records]))
        for r in batch.records:
            batch.send(FakeTopic("out"), r.key, f"{r.topic}@{r.offset}".encode(), [])

    return handle


async def test_each_partition_runs_in_timestamp_order_and_sends_in_its_own_transaction() -> None:
    seen: list = []
    consumer, producers = deployment(forwarding_handler(seen))
    records = {
        TP(CLICKS, 0): [rec(CLICKS, 0, 5, ts=100), rec(CLICKS, 0, 6, ts=300)],
        TP(FUNDING, 0): [rec(FUNDING, 0, 9, ts=200)],
        TP(CLICKS, 1): [rec(CLICKS, 1, 2, ts=50)],
    }
    await batch_path.run(consumer, records, fresh=lambda tp: True)
    assert seen == [
        (0, [(CLICKS, 5), (FUNDING, 9), (CLICKS, 6)]),
        (1, [(CLICKS, 2)]),
    ]
    in_order = [(b"k", b"clicks@5"), (b"k", b"funding@9"), (b"k", b"clicks@6")]
    assert producers["app-6x-0"].sent == [("out", 0, in_order)]
    assert producers["app-6x-1"].sent == [("out", 1, [(b"k", b"clicks@2")])]
    assert gate_of(consumer.app).processed == {TP(CLICKS, 0): 7, TP(FUNDING, 0): 10, TP(CLICKS, 1): 3}


async def test_records_of_a_partition_reset_since_they_were_handed_out_are_dropped() -> None:
    seen: list = []
    consumer, producers = deployment(forwarding_handler(seen))
    records = {TP(CLICKS, 0): [rec(CLICKS, 0, 5, ts=100)], TP(CLICKS, 1): [rec(CLICKS, 1, 8, ts=100)]}
    assert await batch_path.run(consumer, records, fresh=lambda tp: tp.partition == 1) is False
    assert seen == [(1, [(CLICKS, 8)])]
    assert producers["app-6x-0"].sent == []
    assert gate_of(consumer.app).processed == {TP(CLICKS, 1): 9}


async def test_while_the_flow_is_stopped_the_batch_waits_instead_of_being_dropped() -> None:
    seen: list = []
    consumer, _ = deployment(forwarding_handler(seen))
    consumer.flow_active = False
    task = asyncio.ensure_future(
        batch_path.run(consumer, {TP(CLICKS, 0): [rec(CLICKS, 0, 5, ts=100)]}, fresh=lambda tp: True)
    )
    await asyncio.sleep(0.05)
    assert seen == [] and not task.done()
    consumer.flow_active = True
    consumer.can_resume_flow.set()
    assert await asyncio.wait_for(task, 1) is True  # the rest of that fetch is not delivered
    assert seen == [(0, [(CLICKS, 5)])]


async def test_a_failed_batch_logs_its_topic_partition_and_offsets(caplog: pytest.LogCaptureFixture) -> None:
    def explode(batch: Any) -> None:
        raise RuntimeError("bug in the handler")

    consumer, _ = deployment(explode)
    records = {TP(CLICKS, 1): [rec(CLICKS, 1, 7, ts=100), rec(CLICKS, 1, 8, ts=101)]}
    with caplog.at_level("ERROR", logger="eos"), pytest.raises(RuntimeError):
        await batch_path.run(consumer, records, fresh=lambda tp: True)
    [failure] = [r for r in caplog.records if r.levelname == "ERROR"]
    assert f"{CLICKS}[1] offsets 7-8" in failure.getMessage()
    assert failure.exc_info is not None and "bug in the handler" in str(failure.exc_info[1])


async def test_a_batch_that_fails_half_way_closes_the_gate_for_good() -> None:
    def explode(batch: Any) -> None:
        batch.send(FakeTopic("out"), b"k", b"v", [])
        raise RuntimeError("bug in the handler")

    consumer, _ = deployment(explode)
    records = {TP(CLICKS, 0): [rec(CLICKS, 0, 5, ts=100)]}
    with pytest.raises(RuntimeError):
        await batch_path.run(consumer, records, fresh=lambda tp: True)
    gate = gate_of(consumer.app)
    assert gate.processed == {}
    assert [str(e) for e in consumer.app.crashes] == ["bug in the handler"]
    with pytest.raises(BatchFailed):
        gate.check()  # the commit calls this first, so the open transactions can only abort
    with pytest.raises(BatchFailed):
        await batch_path.run(consumer, records, fresh=lambda tp: True)


async def test_a_keyed_send_goes_where_kafkas_partitioner_puts_the_key_in_the_source_transaction() -> None:
    def repartition(batch: Any) -> None:
        for category in (b"food", b"toys", b"books"):
            batch.send_keyed(FakeTopic("by-category"), category, b"delta", [])

    consumer, producers = deployment(repartition)
    await batch_path.run(consumer, {TP(CLICKS, 1): [rec(CLICKS, 1, 0, ts=1)]}, fresh=lambda tp: True)
    # murmur2 as Kafka's Java clients compute it (positive hash modulo 6)
    expected = {b"food": murmur2_partition(b"food"), b"toys": murmur2_partition(b"toys"),
                b"books": murmur2_partition(b"books")}  # fmt: skip
    sent = {key: partition for topic, partition, records in producers["app-6x-1"].sent for key, _ in records}
    assert sent == expected
    assert producers["app-6x-0"].sent == []


def murmur2_partition(key: bytes) -> int:
    return (murmur2(key) & 0x7FFFFFFF) % 6

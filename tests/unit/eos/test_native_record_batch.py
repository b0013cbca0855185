"""Record batches built by the Rust kernel (``budget_kernel.RecordBatch``), read back
with aiokafka's own v2 record batch reader, and their order in the batch path."""

from __future__ import annotations

from budget_kernel import RecordBatch
from eos_fakes import FakeProducer, read_native

from eos.batch_path import TransactionBatch

HEADERS = [("replay.generation", b"0"), ("trace", None)]


def test_a_built_batch_is_what_aiokafka_reads_crc_producer_state_and_records() -> None:
    records = [(b"a-1", b'{"x":1}'), (None, b"v"), (b"k", None), ("광고".encode(), b"\x00" * 300)]
    batch = RecordBatch(1 << 20, 1_795_500_000_123, HEADERS, True)
    assert batch.fill(records, 0) == len(records)
    assert (batch.record_count(), batch.closed()) == (4, True)
    decoded = read_native(batch)
    assert decoded.validate_crc()
    assert decoded.is_transactional and not decoded.is_control_batch
    assert (decoded.producer_id, decoded.producer_epoch, decoded.base_sequence) == (4242, 7, 1000)
    assert decoded.last_offset_delta == 3 and decoded.first_timestamp == 1_795_500_000_123
    read_back = list(decoded)
    assert [(r.key, r.value) for r in read_back] == records
    assert [r.offset for r in read_back] == [0, 1, 2, 3]
    assert all(r.headers == HEADERS and r.timestamp == 1_795_500_000_123 for r in read_back)
    assert batch.size() == len(bytes(batch._build()))


def test_a_full_batch_says_where_it_stopped_and_the_next_goes_on_from_there() -> None:
    records = [(f"k{i}".encode(), b"v" * 100) for i in range(50)]
    batches, start = [], 0
    while start < len(records):
        batch = RecordBatch(1024, 1, [], True)
        start = batch.fill(records, start)
        batches.append(batch)
    assert len(batches) > 4 and all(b.size() <= 1024 for b in batches)
    assert [(r.key, r.value) for b in batches for r in read_native(b)] == records


def test_a_record_larger_than_the_limit_goes_alone_in_its_batch() -> None:
    batch = RecordBatch(100, 1, [], False)
    assert batch.fill([(b"k", b"v" * 500), (b"k", b"w")], 0) == 1
    decoded = read_native(batch)
    assert not decoded.is_transactional and [r.value for r in decoded] == [b"v" * 500]


def test_aiokafka_never_appends_to_it() -> None:
    batch = RecordBatch(1024, 1, [], True)
    assert batch.append(timestamp=None, key=b"k", value=b"v", headers=[]) is None


class Topic:
    def get_topic_name(self) -> str:
        return "out"


class Gate:
    def track(self, fut: object) -> None:
        pass


async def test_one_destination_keeps_its_order_across_both_kinds_of_batch() -> None:
    producer = FakeProducer()
    batch = TransactionBatch(producer, Gate(), 0, [], max_batch_bytes=1024)  # type: ignore[arg-type]
    out = Topic()
    batch.send(out, b"k", b"1", [])
    batch.send_many(out, [(b"k", b"2"), (b"k", b"3")], [])
    batch.send(out, b"k", b"4", [])
    batch.send_many(out, [(b"k", bytes([53 + i % 5]) * 200) for i in range(10)], HEADERS)
    await batch.deliver()
    values = [v for _, _, records in producer.sent for _, v in records]
    assert values[:4] == [b"1", b"2", b"3", b"4"]
    assert values[4:] == [bytes([53 + i % 5]) * 200 for i in range(10)]
    assert len(producer.sent) > 4  # the last ten went out in several batches of 1 KiB

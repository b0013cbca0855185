"""eos.lean_records: batch-path partitions yield small tuples with the fields handlers read.

Against aiokafka's own PartitionRecords over the same bytes: the same records,
offsets and skips (an aborted transaction, its abort marker), under read_committed.
"""

from __future__ import annotations

import struct
from collections import OrderedDict
from typing import Any

import pytest
from aiokafka.consumer.fetcher import READ_COMMITTED, FetchResult, PartitionRecords
from aiokafka.record.default_records import DefaultRecordBatchBuilder
from aiokafka.record.memory_records import MemoryRecords
from aiokafka.record.util import calc_crc32c
from aiokafka.structs import TopicPartition

from eos.lean_records import LeanFetchBuffer, LeanPartitionRecords, LeanRecord, install

TP = TopicPartition("ad-clicks", 3)


def _batch(base: int, records: list[tuple[bytes | None, bytes | None]], producer_id: int = -1) -> bytes:
    builder = DefaultRecordBatchBuilder(
        magic=2, compression_type=0, is_transactional=producer_id >= 0, producer_id=producer_id,
        producer_epoch=0 if producer_id >= 0 else -1, base_sequence=-1, batch_size=1 << 20,
    )  # fmt: skip
    for i, (key, value) in enumerate(records):
        builder.append(i, timestamp=1_764_000_000_000 + base + i, key=key, value=value, headers=[])
    raw = bytearray(builder.build())
    raw[0:8] = struct.pack(">q", base)  # baseOffset is outside the CRC
    return bytes(raw)


def _abort_marker(base: int, producer_id: int) -> bytes:
    raw = bytearray(_batch(base, [(struct.pack(">HH", 0, 0), b"\0\0\0\0\0\0")], producer_id))
    attributes = struct.unpack_from(">h", raw, 21)[0] | 0x20  # the control bit
    struct.pack_into(">h", raw, 21, attributes)
    struct.pack_into(">I", raw, 17, calc_crc32c(bytes(raw[21:])))  # CRC-32C from the attributes on
    return bytes(raw)


def _fetched() -> tuple[bytes, list[tuple[int, int]]]:
    data = b"".join([
        _batch(0, [(b"a-1", b"v0"), (b"a-2", b"v1"), (None, b"v2")], producer_id=7),
        _batch(3, [(b"a-1", b"aborted"), (b"a-3", b"aborted")], producer_id=9),
        _abort_marker(5, producer_id=9),
        _batch(6, [(b"a-4", None), (b"a-5", b"v7")]),
    ])  # fmt: skip
    return data, [(9, 3)]  # aborted transactions: (producer id, first offset)


def _read(records: PartitionRecords) -> tuple[list[tuple[Any, ...]], int]:
    out = [(r.topic, r.partition, r.offset, r.timestamp, r.key, r.value) for r in records]
    return out, records.next_fetch_offset


def _partition_records(
    data: bytes, aborted: list[tuple[int, int]], fetch_offset: int = 0
) -> PartitionRecords:
    return PartitionRecords(TP, MemoryRecords(data), aborted, fetch_offset, None, None, True, READ_COMMITTED)


def _buffered(lean: bool, fetch_offset: int = 0) -> Any:
    """What the fetcher stores for TP, through a LeanFetchBuffer: its PartitionRecords."""
    data, aborted = _fetched()
    buffer = LeanFetchBuffer({}, lambda tp: lean)
    result = FetchResult(
        TP, assignment=None, partition_records=_partition_records(data, aborted, fetch_offset), backoff=0
    )
    buffer[TP] = result
    return buffer[TP]._partition_records


@pytest.mark.parametrize("fetch_offset", [0, 1, 6])
def test_lean_records_are_what_aiokafka_hands_out(fetch_offset: int) -> None:
    data, aborted = _fetched()
    expected = _read(_partition_records(data, aborted, fetch_offset))
    assert [r[2] for r in expected[0]] == [o for o in [0, 1, 2, 6, 7] if o >= fetch_offset]
    records = _buffered(lean=True, fetch_offset=fetch_offset)
    assert type(records) is LeanPartitionRecords
    assert _read(records) == expected
    assert all(isinstance(r, LeanRecord) for r in _buffered(lean=True, fetch_offset=fetch_offset))


def test_other_partitions_keep_aiokafkas_records() -> None:
    assert type(_buffered(lean=False)) is PartitionRecords


def test_install_replaces_the_buffer_once_and_makes_what_it_holds_lean() -> None:
    class Fetcher:
        _records: Any = None

    data, aborted = _fetched()
    result = FetchResult(TP, assignment=None, partition_records=_partition_records(data, aborted), backoff=0)
    fetcher = Fetcher()
    fetcher._records = OrderedDict({TP: result})
    install(fetcher, lambda tp: True)
    buffer = fetcher._records
    assert type(buffer) is LeanFetchBuffer and buffer[TP] is result
    assert type(result._partition_records) is LeanPartitionRecords
    install(fetcher, lambda tp: False)
    assert fetcher._records is buffer

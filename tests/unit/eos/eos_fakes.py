"""aiokafka's transactional producer and its batch builder, as far as the batch path uses
them (imported by the eos tests; not a test module)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

from aiokafka.record.default_records import DefaultRecordBatch


class FakeBuilder:
    def __init__(self) -> None:
        self.records: list[tuple] = []

    def append(self, *, timestamp: Any, key: bytes, value: bytes, headers: list) -> object:
        self.records.append((key, value))
        return object()

    def record_count(self) -> int:
        return len(self.records)


def read_native(batch: Any) -> DefaultRecordBatch:
    """A ``budget_kernel.RecordBatch`` as the broker would read it (producer state set)."""
    batch._set_producer_state(4242, 7, 1000)
    return DefaultRecordBatch(bytes(batch._build()))


class FakeProducer:
    """Records every batch sent: (topic, partition, [(key, value), ...])."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, int, list]] = []

    async def partitions_for(self, topic: str) -> set[int]:
        return {0, 1, 2, 3, 4, 5}

    def create_batch(self) -> FakeBuilder:
        return FakeBuilder()

    async def send_batch(self, builder: Any, topic: str, *, partition: int) -> asyncio.Future:
        if isinstance(builder, FakeBuilder):
            records = builder.records
        else:  # the Rust kernel's record batch
            records = [(r.key, r.value) for r in read_native(builder)]
        self.sent.append((topic, partition, records))
        fut = asyncio.get_running_loop().create_future()
        fut.set_result(SimpleNamespace(offset=0))
        return fut


class FakeEvent:  # weak-referenceable, like faust's Event
    def __init__(self, partition: int) -> None:
        self.message = SimpleNamespace(partition=partition, topic="ad-clicks")


def open_store(table: Any, prefix: str) -> Iterator[Any]:
    """A fresh TransactionalStore of ``table`` on RocksDB (a fixture's body): closed after."""
    from app import app
    from eos.store import TransactionalStore

    store = TransactionalStore(
        "rocksdb://", app, table, table_name=f"{prefix}-{uuid.uuid4().hex[:6]}",
        key_type=bytes, key_serializer="raw", value_serializer="raw",
        options={"driver": "rocksdict"},
    )  # fmt: skip
    yield store
    for db in store._dbs.values():
        db.close()

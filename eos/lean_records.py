"""Fetched records of batch-path topics as small tuples, not aiokafka's ConsumerRecord.

aiokafka turns every fetched record into a ConsumerRecord: an eleven-field
dataclass, with the key and value measured, the headers copied into a tuple
and deserializers checked, all on the consumer thread and under the GIL
(a quarter of the GIL's time in a clicks drain, by py-spy). Batch handlers
read six fields (topic, partition, offset, timestamp, key, value; see
streaming.partition_batch.Record), so for their topics the fetcher builds a
``LeanRecord`` instead: a 4-tuple whose class carries the topic and partition.

How: aiokafka keeps each partition's fetched data in ``Fetcher._records`` as a
FetchResult around a PartitionRecords, whose generator turns record batches
into records (skipping aborted transactions and control batches) and calls
``_consumer_record`` per record. ``LeanFetchBuffer`` replaces that dict; as a
FetchResult of a batch-path partition is stored, its PartitionRecords becomes a
``LeanPartitionRecords``, which overrides only ``_consumer_record``: what is
skipped, and every offset, is still aiokafka's own doing.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from functools import cache
from operator import attrgetter
from typing import Any, NamedTuple

from aiokafka.consumer.fetcher import FetchResult, PartitionRecords

_fields = attrgetter("offset", "timestamp", "key", "value")
_new = tuple.__new__


class LeanRecord(NamedTuple):
    offset: int
    timestamp: int  # milliseconds since the epoch
    key: bytes | None
    value: bytes | None


@cache
def record_type(topic: str, partition: int) -> type[LeanRecord]:
    """LeanRecord of one partition: ``topic`` and ``partition`` are class attributes."""
    return type("LeanRecord", (LeanRecord,), {"__slots__": (), "topic": topic, "partition": partition})


class LeanPartitionRecords(PartitionRecords):
    _lean_type: type[LeanRecord]

    def _consumer_record(self, tp: Any, record: Any) -> LeanRecord:
        return _new(self._lean_type, _fields(record))


def make_lean(records: PartitionRecords, topic: str, partition: int) -> None:
    """Turn a PartitionRecords not yet read into a LeanPartitionRecords (same state)."""
    records.__class__ = LeanPartitionRecords
    records._lean_type = record_type(topic, partition)  # type: ignore[attr-defined]


class LeanFetchBuffer(OrderedDict):
    """``Fetcher._records``: FetchResults of partitions ``lean(tp)`` yield LeanRecords."""

    def __init__(self, buffered: Any, lean: Callable[[Any], bool]) -> None:
        self._lean = lean  # first: OrderedDict's __init__ stores the buffered results through __setitem__
        super().__init__(buffered)

    def __setitem__(self, tp: Any, result: Any) -> None:
        if type(result) is FetchResult and self._lean(tp):
            records = result._partition_records
            if type(records) is PartitionRecords:
                make_lean(records, tp.topic, tp.partition)
        super().__setitem__(tp, result)


def install(fetcher: Any, lean: Callable[[Any], bool]) -> None:
    """Once per fetcher: from now on its batch-path partitions yield LeanRecords."""
    if type(fetcher._records) is not LeanFetchBuffer:
        fetcher._records = LeanFetchBuffer(fetcher._records, lean)

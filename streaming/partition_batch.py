"""One partition's batch of input records, with the tables and outputs a handler needs.

A batch handler is a plain function over one partition's records in order::

    @batch_agent(topics.budget_inputs, name="ad-budgets")
    def apply_budget_batch(batch: PartitionBatch) -> None: ...

It reads and writes tables through the batch, which keeps every write in the
batch and writes each key once when the batch ends, however many events
touched it; outputs are queued on the batch and go out at the end too. No
await per event: the per-event work is the handler's own.

Two runners deliver batches:
- under exactly_once, eos.batch_path takes the records straight from the
  consumer's fetch (no Faust Event, queue or ack per record) and writes state and
  outputs into the source partition's transaction;
- under at_least_once, and in Faust's agent test context, the Faust agent
  that ``batch_agent`` declares collects events with ``take_events`` and runs
  the handler through ``AgentBatch`` below, over Faust's tables and topics.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from faust.types import TopicT

from domain.errors import InvalidRecord
from eos.gate import atomic_batch, gate_of
from eos.runtime import runtime_of
from streaming.batches import partition_batches
from streaming.deadletter import dlq_headers

Headers = list[tuple[str, bytes]]
KeyValue = tuple[bytes | None, bytes | None]


@dataclass(frozen=True, slots=True)
class Record:
    """The fields a handler reads, named as aiokafka's ConsumerRecord names them."""

    topic: str
    partition: int
    offset: int
    timestamp: int  # milliseconds since the epoch
    key: bytes | None
    value: bytes | None


class PartitionBatch(ABC):
    def __init__(self, partition: int, records: Sequence[Any]) -> None:
        self.partition = partition
        self.records = records  # Record-like, in processing order
        self._writes: dict[str, dict[str, Any]] = {}
        self._raw: dict[str, dict[bytes, bytes]] = {}  # JSON written by put_raw_many, by UTF-8 key
        self._tables: dict[str, Any] = {}
        self.dead_letters: dict[tuple[str, str], int] = {}  # (input topic, reason) -> count
        self._expired: dict[str, list[bytes]] = {}  # by table name: keys deleted by expiry

    def dead_letter(self, dlq: Any, record: Any, error: InvalidRecord) -> None:
        """Send ``record`` as it came to the dead-letter topic ``dlq``, saying why."""
        self.send(dlq, record.key, record.value, dlq_headers(record, error))
        key = (record.topic, error.reason)
        self.dead_letters[key] = self.dead_letters.get(key, 0) + 1

    def get(self, table: Any, key: str) -> Any:
        """The table's value for ``key`` as this batch left it (None if absent)."""
        writes = self._writes.get(table.name)
        if writes is not None and key in writes:
            return writes[key]
        raw = self._raw.get(table.name)
        if raw is not None and (value := raw.get(key.encode())) is not None:
            return orjson.loads(value)
        return self._read(table, key)

    def get_many(self, table: Any, keys: Sequence[str]) -> dict[str, Any]:
        """``get`` for many keys at once, {key: value or None}: one store lookup
        for all the keys the batch has not written."""
        writes = self._writes.get(table.name) or {}
        raw = self._raw.get(table.name)  # None on the Python handler's path: no encode per key
        found = {}
        missing = []
        for key in keys:
            if key in writes:
                found[key] = writes[key]
            elif raw is not None and (value := raw.get(key.encode())) is not None:
                found[key] = orjson.loads(value)
            else:
                missing.append(key)
        if missing:
            found.update(zip(missing, self._read_many(table, missing), strict=True))
        return found

    def put(self, table: Any, key: str, value: Any) -> None:
        """Set ``key``; written (and sent to the changelog) once, when the batch ends."""
        self._writes_to(table)[key] = value

    def put_many(self, table: Any, values: dict[str, Any]) -> None:
        """``put`` for every key of ``values``."""
        if values:
            self._writes_to(table).update(values)

    def get_raw_many(self, table: Any, keys: Sequence[bytes]) -> list[bytes | None]:
        """The JSON of each key's value as this batch left it (None if absent), in
        order: for a handler that parses state itself (the native budget kernel).
        Keys here are the UTF-8 bytes of the table's keys, as the store holds them."""
        found = self.get_many(table, [key.decode() for key in keys])
        return [None if (value := found[key.decode()]) is None else orjson.dumps(value) for key in keys]

    def put_raw_many(self, table: Any, values: dict[bytes, bytes]) -> None:
        """``put`` for values already spelled as JSON, by UTF-8 key, written as they
        are. A table is written either this way or with put/put_many within one batch."""
        if not values:
            return
        if table.name in self._writes:
            raise ValueError(f"table {table.name} already has put() writes in this batch")
        raw = self._raw.get(table.name)
        if raw is None:
            raw = self._raw[table.name] = {}
            self._tables[table.name] = table
        raw.update(values)

    def expire(self, table: Any, cutoff: int, cutoff_of: Callable[[bytes], int] | None = None) -> int:
        """Delete this partition's keys of a time-bounded table whose time is below
        ``cutoff`` (epoch seconds; or ``cutoff_of(key)``, at most ``cutoff``); call
        it after the batch's writes to the table. A key the batch wrote is kept
        (its new value is the batch's)."""
        writes = self._writes.get(table.name) or ()
        raw = self._raw.get(table.name) or ()
        keys = [
            k
            for k in self._expired_keys(table, cutoff, cutoff_of)
            if k not in raw and k.decode() not in writes
        ]
        if keys:
            self._expired.setdefault(table.name, []).extend(keys)
            self._tables[table.name] = table
        return len(keys)

    def expirations(self) -> Iterator[tuple[Any, list[bytes]]]:
        """(table, [UTF-8 key]) for every table the batch deleted keys of by expiry."""
        for name, keys in self._expired.items():
            yield self._tables[name], keys

    def _expired_keys(self, table: Any, cutoff: int, cutoff_of: Callable[[bytes], int] | None) -> list[bytes]:
        from eos.store import TransactionalStore  # eos imports this module

        store = table.data
        if not isinstance(store, TransactionalStore):
            return []  # retention needs the transactional store (docs/retention.md)
        return store.expired(self.partition, cutoff, cutoff_of)

    def _writes_to(self, table: Any) -> dict[str, Any]:
        # Keyed by name: a Faust table hashes in Python, twice per event here.
        writes = self._writes.get(table.name)
        if writes is None:
            if table.name in self._raw:
                raise ValueError(f"table {table.name} already has put_raw_many() writes in this batch")
            writes = self._writes[table.name] = {}
            self._tables[table.name] = table
        return writes

    def writes(self) -> Iterator[tuple[Any, dict[str, Any]]]:
        """(table, {key: value}) for every table the batch wrote with put/put_many."""
        for name, writes in self._writes.items():
            yield self._tables[name], writes

    def raw_writes(self) -> Iterator[tuple[Any, dict[bytes, bytes]]]:
        """(table, {UTF-8 key: JSON}) for every table the batch wrote with put_raw_many."""
        for name, raw in self._raw.items():
            yield self._tables[name], raw

    @abstractmethod
    def send(self, topic: TopicT, key: bytes | None, value: bytes | None, headers: Headers) -> None:
        """Queue an output to ``topic``'s partition with this batch's partition number.

        Same number as the source: the output rides in the transaction that
        commits the source offset.
        """

    def send_many(self, topic: TopicT, records: Sequence[KeyValue], headers: Headers) -> None:
        """``send`` for each (key, value) of ``records``, in order."""
        for key, value in records:
            self.send(topic, key, value, headers)

    @abstractmethod
    def send_keyed(self, topic: TopicT, key: bytes, value: bytes, headers: Headers) -> None:
        """Queue an output to the partition of ``topic`` that ``key`` hashes to
        (a repartition), still in the source partition's transaction."""

    @abstractmethod
    def _read(self, table: Any, key: str) -> Any: ...

    def _read_many(self, table: Any, keys: list[str]) -> list[Any]:
        return [self._read(table, key) for key in keys]

    @abstractmethod
    async def flush(self) -> None:
        """Write the batch's state and send its outputs."""


Handler = Callable[[PartitionBatch], None]


class AgentBatch(PartitionBatch):
    """A batch over Faust's own tables and topics (the at-least-once and test path)."""

    def __init__(self, partition: int, records: Sequence[Any]) -> None:
        super().__init__(partition, records)
        self._sends: list[tuple[TopicT, bytes | None, bytes | None, Headers, int | None]] = []

    def send(self, topic: TopicT, key: bytes | None, value: bytes | None, headers: Headers) -> None:
        self._sends.append((topic, key, value, headers, self.partition))

    def send_keyed(self, topic: TopicT, key: bytes, value: bytes, headers: Headers) -> None:
        self._sends.append((topic, key, value, headers, None))

    def _read(self, table: Any, key: str) -> Any:
        return table.get(key)

    async def flush(self) -> None:
        # Called with one of the batch's events current (partition_batches):
        # Faust files the writes under this partition.
        for table, writes in self.writes():
            for key, value in writes.items():
                table[key] = value
        for table, raw in self.raw_writes():
            for key, value in raw.items():
                table[key.decode()] = orjson.loads(value)
        for table, keys in self.expirations():
            for key in keys:
                del table[key.decode()]  # Faust sends the changelog tombstone
        for topic, key, value, headers, partition in self._sends:
            fut = await topic.send(key=key, value=value, partition=partition, headers=headers)
            if topic.app.in_transaction:
                gate_of(topic.app).track(fut)  # the commit waits for its delivery


def as_record(message: Any) -> Record:
    return Record(
        message.topic,
        message.partition,
        message.offset,
        int(message.timestamp * 1000),
        message.key,
        message.value,
    )


def handlers_of(app: Any) -> dict[str, Handler]:
    """Batch handlers by source topic name (read by eos.batch_path)."""
    return runtime_of(app).handlers


def batch_agent(channel: Any, *, name: str) -> Callable[[Handler], Any]:
    """Declare a batch handler for ``channel``'s topics; returns the Faust agent."""

    app = channel.app
    settings = app.settings

    def register(handler: Handler) -> Any:
        for topic_name in channel.topics:
            handlers_of(app)[topic_name] = handler

        async def faust_path(stream):  # type: ignore[no-untyped-def]
            async for events in stream.take_events(settings.batch_max, settings.batch_within):
                async with atomic_batch(stream, events) as fresh:
                    for partition, group in partition_batches(fresh):
                        batch = AgentBatch(partition, [as_record(e.message) for e in group])
                        handler(batch)
                        await batch.flush()

        faust_path.__doc__ = handler.__doc__
        agent = app.agent(channel, name=name)(faust_path)
        agent.handler = handler
        return agent

    return register

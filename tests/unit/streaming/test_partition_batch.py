"""streaming.partition_batch: Faust's path (AgentBatch) under exactly_once."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import pytest

from eos.gate import gate_of
from streaming.partition_batch import AgentBatch


class Topic:
    def __init__(self, app: SimpleNamespace) -> None:
        self.app = app
        self.sent: list[tuple[bytes | None, int | None]] = []

    async def send(self, *, key: Any, value: Any, partition: int | None, headers: Any) -> Any:
        self.sent.append((key, partition))
        fut = asyncio.get_running_loop().create_future()
        fut.set_exception(TimeoutError("batch expired while the leader was down"))
        return fut


async def test_the_commit_waits_for_every_output_sent_and_a_lost_one_stops_it() -> None:
    app = SimpleNamespace(in_transaction=True)
    ledger = Topic(app)
    batch = AgentBatch(partition=2, records=[])
    batch.send(ledger, b"adv-1", b"{}", [])
    await batch.flush()
    assert ledger.sent == [(b"adv-1", 2)]  # the source partition
    with pytest.raises(TimeoutError):
        await gate_of(app).drain()


class CountingBatch(AgentBatch):
    """Reads from a dict, counting store lookups."""

    def __init__(self, stored: dict[str, Any]) -> None:
        super().__init__(partition=0, records=[])
        self.stored, self.lookups = stored, 0

    def _read(self, table: Any, key: str) -> Any:
        self.lookups += 1
        return self.stored.get(key)

    def _read_many(self, table: Any, keys: list[str]) -> list[Any]:
        self.lookups += 1
        return [self.stored.get(key) for key in keys]


def test_get_many_sees_the_batch_writes_and_reads_the_rest_in_one_lookup() -> None:
    table = SimpleNamespace(name="seen")
    batch = CountingBatch({"a": 1, "b": 2})
    batch.put(table, "b", 20)
    batch.put(table, "c", 30)
    assert batch.get_many(table, ["a", "b", "c", "d", "a"]) == {"a": 1, "b": 20, "c": 30, "d": None}
    assert batch.lookups == 1
    batch.put_many(table, {"a": 10, "d": 40})
    assert batch.get_many(table, ["a", "d"]) == {"a": 10, "d": 40}
    assert batch.lookups == 1  # every key written by the batch: no lookup
    assert next(batch.writes()) == (table, {"b": 20, "c": 30, "a": 10, "d": 40})


def test_raw_writes_are_seen_by_every_read_and_do_not_mix_with_put() -> None:
    table, other = SimpleNamespace(name="budgets"), SimpleNamespace(name="daily")
    batch = CountingBatch({"a": {"balance": 1}, "b": {"balance": 2}})
    batch.put_raw_many(table, {b"b": b'{"balance":20}', "광".encode(): b"3"})
    assert batch.get(table, "b") == {"balance": 20} and batch.get(table, "광") == 3
    assert batch.get_many(table, ["a", "b"]) == {"a": {"balance": 1}, "b": {"balance": 20}}
    assert batch.get_raw_many(table, [b"a", b"b", b"z"]) == [b'{"balance":1}', b'{"balance":20}', None]
    assert list(batch.raw_writes()) == [(table, {b"b": b'{"balance":20}', "광".encode(): b"3"})]
    with pytest.raises(ValueError, match="put_raw_many"):
        batch.put(table, "c", {})
    batch.put(other, "x", 1)
    with pytest.raises(ValueError, match="put\\(\\)"):
        batch.put_raw_many(other, {b"y": b"2"})

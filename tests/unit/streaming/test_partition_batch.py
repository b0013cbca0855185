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

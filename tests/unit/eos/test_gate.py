"""eos.gate: what the commit waits for, and the latch that stops every later commit."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest
from faust.types import TP

from eos.gate import BatchFailed, CommitGate, atomic_batch


async def test_a_record_batch_that_never_reached_the_broker_closes_the_gate() -> None:
    # aiokafka fails the delivery future of an expired batch but lets its
    # transaction commit without it: the commit must never run after that.
    gate = CommitGate()
    loop = asyncio.get_running_loop()
    delivered, lost = loop.create_future(), loop.create_future()
    delivered.set_result(None)
    lost.set_exception(TimeoutError("batch expired while the leader was down"))
    gate.track(delivered)
    gate.track(lost)
    with pytest.raises(TimeoutError):
        await gate.drain()
    with pytest.raises(BatchFailed):
        gate.check()  # the next commit (a timer, a rebalance) stops here


async def test_a_batch_failing_on_fausts_agent_path_logs_its_partitions_and_offsets(
    caplog: pytest.LogCaptureFixture,
) -> None:
    crashes: list[BaseException] = []

    async def crash(exc: BaseException) -> None:
        crashes.append(exc)

    app = SimpleNamespace(
        in_transaction=True, consumer_generation_id=3, consumer=SimpleNamespace(), crash=crash
    )
    events = [
        SimpleNamespace(message=SimpleNamespace(tp=TP("orders", 4), offset=off, generation_id=3))
        for off in (10, 11, 12)
    ]
    with caplog.at_level("ERROR", logger="eos"), pytest.raises(ValueError):
        async with atomic_batch(SimpleNamespace(app=app), events):
            raise ValueError("bad total")
    [failure] = [r for r in caplog.records if r.levelname == "ERROR"]
    assert "orders[4] offsets 10-12" in failure.getMessage()
    assert [str(e) for e in crashes] == ["bad total"]

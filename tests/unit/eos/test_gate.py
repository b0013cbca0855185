"""eos.gate: what the commit waits for, and the latch that stops every later commit."""

from __future__ import annotations

import asyncio

import pytest

from eos.gate import BatchFailed, CommitGate


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

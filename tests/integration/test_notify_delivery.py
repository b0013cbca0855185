"""The HTTP call and its retries against a real aiohttp receiver (no broker needed)."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest

from notify.delivery import Policy, deliver
from tests.receiver import Receiver

pytestmark = pytest.mark.integration

FAST = Policy(max_attempts=3, timeout=1.0, backoff_initial=0.01, backoff_max=0.02)
BODY = b'{"topic": "t", "partition": 0, "offset": 1, "key": "k"}'


async def test_5xx_is_retried_until_it_succeeds() -> None:
    receiver = await Receiver(failure_rate=0.5, seed=3).up()
    retried: list[str] = []
    try:
        async with aiohttp.ClientSession() as session:
            policy = Policy(max_attempts=50, timeout=1.0, backoff_initial=0.001, backoff_max=0.002)
            out = await deliver(session, receiver.url, BODY, {"Idempotency-Key": "x"}, policy, retried.append)
    finally:
        await receiver.down()
    assert out.delivered and out.attempts == len(receiver.calls) > 1
    assert retried == ["http_503"] * (out.attempts - 1)
    assert {c.idempotency_key for c in receiver.calls} == {"x"}


async def test_a_4xx_is_given_up_at_once() -> None:
    receiver = await Receiver(reject=lambda body: True).up()
    try:
        async with aiohttp.ClientSession() as session:
            out = await deliver(session, receiver.url, BODY, {}, FAST)
    finally:
        await receiver.down()
    assert (out.delivered, out.attempts, out.reason, out.status) == (False, 1, "http_422", 422)


async def test_too_many_5xx_or_timeouts_give_up() -> None:
    receiver = await Receiver(failure_rate=1.0).up()
    slow = await Receiver(latency=(0.5, 0.5)).up()
    try:
        async with aiohttp.ClientSession() as session:
            failing = await deliver(session, receiver.url, BODY, {}, FAST)
            timing_out = await deliver(session, slow.url, BODY, {}, Policy(2, 0.05, 0.01, 0.01))
    finally:
        await receiver.down()
        await slow.down()
    assert (failing.delivered, failing.attempts, failing.reason) == (False, 3, "attempts_exhausted: http_503")
    assert (timing_out.delivered, timing_out.attempts, timing_out.reason) == (
        False, 2, "attempts_exhausted: timeout",
    )  # fmt: skip


async def test_an_unreachable_receiver_does_not_use_up_attempts() -> None:
    receiver = Receiver()  # port chosen, nothing listening yet
    retried: list[str] = []

    async def comes_up() -> None:
        while len(retried) < 5:  # five refused calls, more than max_attempts
            await asyncio.sleep(0.01)
        await receiver.up()

    try:
        async with aiohttp.ClientSession() as session:
            up = asyncio.create_task(comes_up())
            out = await asyncio.wait_for(deliver(session, receiver.url, BODY, {}, FAST, retried.append), 20)
            await asyncio.wait_for(up, 5)
    finally:
        await receiver.down()
    assert out.delivered and len(receiver.calls) == 1
    assert retried[:5] == ["unreachable"] * 5

"""Helpers for the agent tests (imported by them; not a test module)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import tables


def rows(table: Any) -> dict[str, Any]:
    return {k.decode() if isinstance(k, bytes) else k: v for k, v in table.items()}


async def wait_until(predicate: Callable[[], bool], timeout: float = 3.0) -> None:
    """Batches are processed when take_events' window (batch_within) closes."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError("the agent did not get there in time")
        await asyncio.sleep(0.005)


def consumed(topic: str) -> int:
    """How many records of `topic` the accounting table has seen, all partitions."""
    return sum(v["consumed"] for k, v in rows(tables.accounting).items() if k.rsplit("/", 1)[0] == topic)


async def settle(topic_counts: dict[str, int]) -> None:
    """Wait until every record put has been accounted for (accounting is written last)."""
    await wait_until(lambda: all(consumed(t) >= n for t, n in topic_counts.items()))
    await asyncio.sleep(0.1)  # anything more would show up as over-counting
    assert {t: consumed(t) for t in topic_counts} == topic_counts

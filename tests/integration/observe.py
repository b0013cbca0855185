"""Looking at a deployment from outside: HTTP readiness, topic contents, offsets."""

from __future__ import annotations

import asyncio
import re
import time
from typing import Any

import aiohttp
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from tests.integration.harness import Worker

RESTORED = re.compile(r"tables restored: (\d+) changelog offsets in ([\d.]+)s")


async def status(url: str) -> int | None:
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as http:
            async with http.get(url) as resp:
                return resp.status
    except (aiohttp.ClientError, TimeoutError):
        return None


async def get_json(url: str) -> Any:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as http:
        async with http.get(url) as resp:
            assert resp.status == 200, (url, resp.status, await resp.text())
            return await resp.json()


async def wait_ready(worker: Worker, timeout: float = 120) -> list[tuple[int | None, int | None]]:
    """Poll /healthz and /readyz until ready; return every (healthz, readyz) pair seen."""
    seen: list[tuple[int | None, int | None]] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert worker.alive(), worker.log_tail()
        pair = (await status(f"{worker.url}/healthz"), await status(f"{worker.url}/readyz"))
        seen.append(pair)
        if pair[1] == 200:
            return seen
        await asyncio.sleep(0.3)
    raise AssertionError(f"not ready after {timeout}s:\n{worker.log_tail()}")


async def all_ready(*workers: Worker, timeout: float = 120) -> None:
    """Every worker ready at once: the group has settled (no rebalance under the traffic)."""
    deadline = time.monotonic() + timeout
    while True:
        for w in workers:
            await wait_ready(w, timeout=max(1.0, deadline - time.monotonic()))
        if all([await status(f"{w.url}/readyz") == 200 for w in workers]):
            return
        await asyncio.sleep(0.5)


async def read_topic(bootstrap: str, topic: str) -> list[Any]:
    """Every committed record of ``topic``, partition by partition."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, isolation_level="read_committed", enable_auto_commit=False
    )
    await consumer.start()
    try:
        tps = [TopicPartition(topic, p) for p in await _partitions(bootstrap, topic)]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)
        records: list[Any] = []
        while [tp for tp in tps if await consumer.position(tp) < ends[tp]]:
            for batch in (await consumer.getmany(timeout_ms=1000)).values():
                records += batch
        return records
    finally:
        await consumer.stop()


async def _partitions(bootstrap: str, topic: str) -> list[int]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        (described,) = await admin.describe_topics([topic])
        return [p["partition"] for p in described["partitions"]]
    finally:
        await admin.close()


async def topic_names(bootstrap: str) -> set[str]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        return set(await admin.list_topics())
    finally:
        await admin.close()


async def end_offsets_total(bootstrap: str, topics: list[str]) -> int:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap)
    await consumer.start()
    try:
        tps = [TopicPartition(t, p) for t in topics for p in await _partitions(bootstrap, t)]
        return sum((await consumer.end_offsets(tps)).values())
    finally:
        await consumer.stop()


def restores(log_text: str) -> list[tuple[int, float]]:
    """(changelog offsets, seconds) of every recovery the worker logged."""
    return [(int(n), float(s)) for n, s in RESTORED.findall(log_text)]


async def wait_group_empty(bootstrap: str, group: str, timeout: float = 40) -> None:
    """Until ``group`` has no members: a worker stopped in the middle of a rebalance
    (the other one just left) may exit without leaving, and stays a member until
    its session times out (SESSION_TIMEOUT, 10 s)."""
    from cli.replay_ops import live_members

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        deadline = time.monotonic() + timeout
        while members := await live_members(admin, group):
            assert time.monotonic() < deadline, f"group {group} still has members: {members}"
            await asyncio.sleep(0.5)
    finally:
        await admin.close()

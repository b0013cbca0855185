"""The bench's own broker (infra.kafka on free ports) and its input topics."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterator
from pathlib import Path

from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from infra.kafka import KafkaCluster


@contextlib.contextmanager
def broker(data_dir: Path) -> Iterator[KafkaCluster]:
    """A fresh one-node KRaft cluster under ``data_dir``; stopped on exit, whatever happens."""
    cluster = KafkaCluster(data_dir, brokers=1, port=None, heap="1g")
    cluster.start(timeout=120)
    try:
        yield cluster
    finally:
        cluster.stop()


async def create_topics(bootstrap: str, names: list[str], partitions: int, timeout: float = 30) -> None:
    """Create the topics and wait until every partition has a leader (no retries when producing)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(n, partitions, 1) for n in names])
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            described = await admin.describe_topics(names)
            leaders = [p["leader"] for t in described for p in t["partitions"]]
            if len(leaders) == len(names) * partitions and min(leaders) >= 0:
                return
            await asyncio.sleep(0.2)
        raise TimeoutError(f"topics {names} have no leader for every partition after {timeout:.0f}s")
    finally:
        await admin.close()

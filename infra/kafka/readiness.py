"""Probes that tell when a fresh cluster (or a restarted node) really serves clients."""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import uuid
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient

from domain.errors import StreamsError

Probe = Callable[[], Awaitable[None]]


class NotReady(StreamsError):
    pass


@contextmanager
def _quiet_aiokafka() -> Iterator[None]:
    # Refused connections are expected while the JVMs boot; don't spam the console.
    logger = logging.getLogger("aiokafka")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(level)


async def _registered_brokers(bootstrap: str, cluster_id: str, **client: Any) -> dict[int, int]:
    """Live brokers (node id -> port) as ``bootstrap`` sees them.

    Checking the cluster id matters: if our port was taken, whatever Kafka holds
    it would otherwise pass for our freshly started cluster.
    """
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=5000, **client)
    await admin.start()
    try:
        meta = await admin.describe_cluster()
    finally:
        await admin.close()
    if meta.get("cluster_id") != cluster_id:
        raise NotReady(f"{bootstrap} belongs to cluster {meta.get('cluster_id')}, not {cluster_id}")
    return {b["node_id"]: b["port"] for b in meta["brokers"]}


async def cluster_ready(bootstrap: str, cluster_id: str, ports: dict[int, int], **client: Any) -> None:
    """All brokers (node id -> port) registered, and both internal topics exist.

    Creating __consumer_offsets and __transaction_state takes seconds; paying it
    here keeps the first real test (or worker) from timing out on it.
    """
    live = await _registered_brokers(bootstrap, cluster_id, **client)
    if live != ports:
        raise NotReady(f"live brokers {live}, expecting {ports}")
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=5000, **client)
    await admin.start()
    try:
        await admin.find_coordinator("infra-kafka-warmup")  # creates __consumer_offsets
    finally:
        await admin.close()
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        transactional_id=f"infra-kafka-warmup-{uuid.uuid4().hex[:8]}",
        request_timeout_ms=10000,
        **client,
    )
    await producer.start()  # InitProducerId: creates __transaction_state
    try:
        async with producer.transaction():
            pass
    finally:
        await producer.stop()


async def node_ready(host: str, port: int, node_id: int, cluster_id: str, **client: Any) -> None:
    """The node answers metadata itself and lists itself as a live broker."""
    live = await _registered_brokers(f"{host}:{port}", cluster_id, **client)
    if live.get(node_id) != port:
        raise NotReady(f"node {node_id} not yet among live brokers {live}")


def run_probe(probe: Probe, timeout: float) -> None:
    """Run an async probe to completion from sync code, even inside a running loop."""

    async def bounded() -> None:
        await asyncio.wait_for(probe(), timeout)

    def runner() -> None:
        with _quiet_aiokafka():
            asyncio.run(bounded())

    with concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="kafka-probe") as pool:
        pool.submit(runner).result()

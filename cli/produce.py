"""Produce generated records fast (or at a steady rate) with a progress bar."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable

from aiokafka import AIOKafkaProducer
from tqdm import tqdm

from config import Settings
from config.kafka import client_kwargs

_CHUNK = 500


def producer(settings: Settings) -> AIOKafkaProducer:
    # Default partitioner is murmur2, as Java's: a key lands where Kafka Streams
    # and the app's router expect it.
    return AIOKafkaProducer(
        **client_kwargs(settings),
        acks="all",
        enable_idempotence=True,
        linger_ms=5,
        max_batch_size=256 * 1024,
    )


async def produce(
    prod: AIOKafkaProducer,
    topic: str,
    records: Iterable[tuple[bytes, bytes]],
    total: int,
    rate: float | None = None,
    label: str = "",
) -> int:
    chunk = max(1, min(_CHUNK, int(rate / 10))) if rate else _CHUNK
    sent = 0
    started = time.monotonic()
    pending: list[asyncio.Future] = []
    with tqdm(total=total, desc=label or topic, unit="rec", mininterval=0.5) as bar:
        for key, value in records:
            pending.append(await prod.send(topic, value=value, key=key))
            sent += 1
            if len(pending) >= chunk:
                await asyncio.gather(*pending)
                bar.update(len(pending))
                pending.clear()
                if rate:
                    ahead = sent / rate - (time.monotonic() - started)
                    if ahead > 0:
                        await asyncio.sleep(ahead)
        await asyncio.gather(*pending)
        bar.update(len(pending))
    return sent

"""Replay generations: which replay the local state and the outputs belong to.

``faust -A app replay`` bumps the generation, one record in the compacted topic
``$APP_ID-replay-generation``. At start a worker compares it with the generation
its state directory was built in and wipes the directory when they differ: a
replay deleted the changelogs, so tables left on any worker's disk (standbys
included) are stale. Outputs carry the generation in a ``replay.generation``
header, so downstream consumers can tell a replay's re-emissions apart.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
from pathlib import Path

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from config import Settings
from config.kafka import client_kwargs

HEADER = "replay.generation"
MARKER = "replay-generation"  # file in $STORE_DIR/$APP_ID
log = logging.getLogger(__name__)

_current = 0


def output_headers() -> list[tuple[str, bytes]]:
    """Headers for every output record: the replay generation that produced it."""
    return [(HEADER, str(_current).encode())]


def topic_name(settings: Settings) -> str:
    return f"{settings.app_id}-replay-generation"


def state_dir(settings: Settings) -> Path:
    return settings.store_dir / settings.app_id


async def read_generation(settings: Settings) -> int:
    """The latest generation (0 if there never was a replay)."""
    consumer = AIOKafkaConsumer(**client_kwargs(settings), enable_auto_commit=False)
    await consumer.start()
    try:
        if topic_name(settings) not in await consumer.topics():
            return 0
        tp = TopicPartition(topic_name(settings), 0)
        consumer.assign([tp])
        end = (await consumer.end_offsets([tp]))[tp]
        if end == 0:
            return 0
        consumer.seek(tp, end - 1)
        record = await asyncio.wait_for(consumer.getone(tp), timeout=30)
        return int(record.value)
    finally:
        await consumer.stop()


async def write_generation(settings: Settings, generation: int) -> None:
    kwargs = client_kwargs(settings)
    admin = AIOKafkaAdminClient(**kwargs)
    await admin.start()
    try:
        compact = {"cleanup.policy": "compact"}
        topic = NewTopic(topic_name(settings), 1, settings.topic_replication_factor, topic_configs=compact)
        await admin.create_topics([topic])
    except TopicAlreadyExistsError:
        pass
    finally:
        await admin.close()
    producer = AIOKafkaProducer(**kwargs, acks="all", enable_idempotence=True)
    await producer.start()
    try:
        await producer.send_and_wait(topic_name(settings), str(generation).encode(), key=b"generation")
    finally:
        await producer.stop()


def adopt(directory: Path, generation: int) -> bool:
    """Make ``directory`` belong to ``generation``, wiping it if it was built in
    another one; return whether it was wiped."""
    global _current
    _current = generation
    marker = directory / MARKER
    local = int(marker.read_text()) if marker.exists() else 0
    wiped = local != generation
    if wiped:
        shutil.rmtree(directory, ignore_errors=True)
        log.warning("replay generation %s -> %s: wiped local state %s", local, generation, directory)
    directory.mkdir(parents=True, exist_ok=True)
    marker.write_text(f"{generation}\n")
    return wiped


async def adopt_latest(settings: Settings) -> None:
    """At worker start, before any table is opened."""
    adopt(state_dir(settings), await read_generation(settings))

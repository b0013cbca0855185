"""Topic administration at start: create what is missing, refuse a bad layout."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from config import Settings
from config.kafka import client_kwargs
from domain.errors import StreamsError

log = logging.getLogger(__name__)


class TopologyError(StreamsError):
    """Topics exist with a layout the app cannot run on (e.g. not co-partitioned)."""


TOPIC_AUTHORIZATION_FAILED = 29  # Kafka's error code: no Describe ACL on the topic


async def _describe(admin: AIOKafkaAdminClient, names: Iterable[str]) -> tuple[dict[str, int], set[str]]:
    """Partition counts of the topics shown, and the names the broker denied describing."""
    described = await admin.describe_topics(list(names))
    counts = {t["topic"]: len(t["partitions"]) for t in described if t["error_code"] == 0}
    denied = {t["topic"] for t in described if t["error_code"] == TOPIC_AUTHORIZATION_FAILED}
    return counts, denied


async def partition_counts(admin: AIOKafkaAdminClient, names: Iterable[str]) -> dict[str, int]:
    return (await _describe(admin, names))[0]


async def _settled_counts(
    admin: AIOKafkaAdminClient, names: list[str], created: list[NewTopic], timeout: float = 30.0
) -> dict[str, int]:
    """Partition counts, once every topic just created shows all its partitions
    (creation returns before the metadata has spread to every broker). A topic the
    user may create but not describe would never show: it is named, not waited for."""
    want = {t.name: t.num_partitions for t in created}
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        counts, denied = await _describe(admin, names)
        if denied & want.keys():
            log.warning(
                "topic(s) %s created but not visible: the user lacks a Describe ACL on them",
                ", ".join(sorted(denied & want.keys())),
            )
            want = {name: n for name, n in want.items() if name not in denied}
        if all(counts.get(name, 0) >= n for name, n in want.items()):
            return counts
        if asyncio.get_running_loop().time() > deadline:
            return counts  # the layout check below names what is wrong
        await asyncio.sleep(0.2)


def _topic_configs(topic: Any) -> dict[str, str]:
    """Compaction, plus what the topic asks for (a time-bounded table's changelog, tables/_declare)."""
    configs = {"cleanup.policy": "compact"} if topic.compacting else {}
    configs.update((k, str(v)) for k, v in (getattr(topic, "config", None) or {}).items())
    return configs


async def ensure_topics(
    settings: Settings, topics: Iterable[Any], copartitioned: Iterable[tuple[str, str]] = ()
) -> dict[str, int]:
    """Create missing topics; raise TopologyError if co-partitioned pairs differ."""
    topics = list(topics)
    admin = AIOKafkaAdminClient(**client_kwargs(settings))
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [
            NewTopic(
                name=t.get_topic_name(),
                num_partitions=settings.topic_partitions,
                replication_factor=settings.topic_replication_factor,
                topic_configs=_topic_configs(t),
            )
            for t in topics
            if t.get_topic_name() not in existing
        ]
        if missing:
            try:
                await admin.create_topics(missing)
            except TopicAlreadyExistsError:  # another worker won the race
                pass
            log.info("created topics: %s", ", ".join(t.name for t in missing))
        counts = await _settled_counts(admin, [t.get_topic_name() for t in topics], missing)
    finally:
        await admin.close()
    for a, b in copartitioned:
        if counts.get(a) != counts.get(b):
            raise TopologyError(
                f"topics {a!r} ({counts.get(a)} partitions) and {b!r} "
                f"({counts.get(b)} partitions) must be co-partitioned (same partition count); "
                "recreate one of them or repartition it"
            )
    return counts

"""What a time-bounded table still holds, as an HTTP query sees it (docs/retention.md).

A table partition forgets buckets past its retention of stream time, so the
oldest answerable bucket depends on the partition's stream time: the owner of
the key reads it from ``stream_times`` (committed state, like every query).
"""

from __future__ import annotations

from aiokafka.partitioner import DefaultPartitioner

from config import settings
from tables import stream_times

_partitioner = DefaultPartitioner()
_all = list(range(settings.topic_partitions))

GONE = 410  # the whole range asked for is past retention


def partition_of(key: str) -> int:
    """The partition the producers and tables put ``key`` in (murmur2, as Kafka's clients)."""
    return int(_partitioner(key.encode(), _all, _all))


def stream_time_of(topic: str, key: str) -> int | None:
    """Stream time (epoch seconds) of ``topic``'s partition holding ``key`` (None: none yet)."""
    value = stream_times.get(f"{topic}/{partition_of(key)}")
    return None if value is None else int(value) // 1000

"""What a time-bounded table still holds, as an HTTP query sees it (docs/retention.md).

A table partition forgets buckets past its retention of stream time, so the
oldest answerable bucket depends on the partition's stream time: the owner of
the key reads it from ``stream_times`` (committed state, like every query).
"""

from __future__ import annotations

from typing import Any

from aiokafka.partitioner import DefaultPartitioner

_partitioner = DefaultPartitioner()

GONE = 410  # the whole range asked for is past retention


def partition_of(key: str, partitions: int) -> int:
    """The partition the producers and tables put ``key`` in (murmur2, as Kafka's clients)."""
    every = list(range(partitions))
    return int(_partitioner(key.encode(), every, every))


def stream_time_of(app: Any, topic: str, key: str) -> int | None:
    """Stream time (epoch seconds) of ``topic``'s partition holding ``key`` (None: none yet)."""
    partition = partition_of(key, app.settings.topic_partitions)
    value = app.runtime.tables.stream_times.get(f"{topic}/{partition}")
    return None if value is None else int(value) // 1000

"""Which record may be delivered now: one call at a time per lane, lanes in parallel.

A lane is what must stay in order: ``key`` mode, a (partition, key) pair (a key lives in one
partition, so per key within a topic); ``partition`` mode, the partition; ``unordered``, every
record alone. Within a lane records run strictly in the order submitted (offset order).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Hashable
from enum import StrEnum
from typing import Generic, TypeVar

T = TypeVar("T")


class Mode(StrEnum):
    KEY = "key"
    PARTITION = "partition"
    UNORDERED = "unordered"


def lane(mode: Mode, topic: str, partition: int, key: bytes | None, offset: int) -> Hashable:
    if mode is Mode.KEY:
        return (topic, partition, key)  # a missing key is one lane per partition
    if mode is Mode.PARTITION:
        return (topic, partition)
    return (topic, partition, offset)


class Scheduler(Generic[T]):
    def __init__(self) -> None:
        # A lane is present while one of its items runs; the deque holds those waiting behind it.
        self._lanes: dict[Hashable, deque[T]] = {}
        self.waiting = 0

    def submit(self, lane: Hashable, item: T) -> bool:
        """True: ``item`` may run now (its lane was idle). False: it waits behind its lane."""
        queue = self._lanes.get(lane)
        if queue is None:
            self._lanes[lane] = deque()
            return True
        queue.append(item)
        self.waiting += 1
        return False

    def finish(self, lane: Hashable) -> T | None:
        """The lane's running item is done: its next item, now running, or None (lane idle)."""
        queue = self._lanes[lane]
        if queue:
            self.waiting -= 1
            return queue.popleft()
        del self._lanes[lane]
        return None

    def drop(self, partition: tuple[str, int]) -> int:
        """Forget the waiting items of a partition (revoked); returns how many."""
        dropped = 0
        for key, queue in self._lanes.items():
            if isinstance(key, tuple) and key[:2] == partition:
                dropped += len(queue)
                queue.clear()
        self.waiting -= dropped
        return dropped

    @property
    def running(self) -> int:
        return len(self._lanes)

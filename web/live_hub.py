"""Committed changes of one table handed to the live streams watching their keys.

The store calls ``Hub.publish`` on the processing thread once a partition's
transaction committed (eos/runtime.py commit listeners); each stream lives on the
web server's loop and gets the values through its own bounded queue, in commit
order. A stream whose queue is full is cut (its client is too slow): the
buffer, and so a worker's memory, stays bounded by streams x buffer x value.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import Any

log = logging.getLogger(__name__)


class Stream:
    """One client's subscription to one key; read ``next()`` on its own loop."""

    def __init__(self, key: bytes, buffer: int) -> None:
        self.key = key
        self.loop = asyncio.get_running_loop()
        self.queue: asyncio.Queue[bytes | None] = asyncio.Queue(maxsize=buffer)
        self.cut: str | None = None  # why the stream was ended, once it was

    def offer(self, value: bytes) -> None:
        """On the stream's loop: queue a committed value, or cut a stream that lags."""
        if self.cut is not None:
            return
        try:
            self.queue.put_nowait(value)
        except asyncio.QueueFull:
            self.end(f"slow client: {self.queue.maxsize} committed changes not yet sent")

    def end(self, reason: str) -> None:
        """Stop the stream (on its loop): ``next()`` answers None once the queue is read."""
        if self.cut is None:
            self.cut = reason
            while not self.queue.empty():
                self.queue.get_nowait()
            self.queue.put_nowait(None)

    async def next(self, timeout: float) -> bytes | None:
        """The next committed value; None when cut; TimeoutError after ``timeout``."""
        return await asyncio.wait_for(self.queue.get(), timeout)


class Hub:
    """Streams by key, for one table; ``publish`` is the table's commit listener."""

    def __init__(self, max_streams: int) -> None:
        self.max_streams = max_streams
        self._streams: dict[bytes, set[Stream]] = {}
        self._lock = threading.Lock()  # publish runs on another thread than the streams
        self._count = 0

    def __len__(self) -> int:
        return self._count

    def open(self, key: bytes, buffer: int) -> Stream | None:
        """A new stream for ``key``, or None when the worker is at its limit."""
        with self._lock:
            if self._count >= self.max_streams:
                return None
            stream = Stream(key, buffer)
            self._streams.setdefault(key, set()).add(stream)
            self._count += 1
            return stream

    def close(self, stream: Stream) -> None:
        with self._lock:
            streams = self._streams.get(stream.key)
            if streams is not None and stream in streams:
                streams.discard(stream)
                self._count -= 1
                if not streams:
                    del self._streams[stream.key]
        if stream.cut is not None and stream.cut.startswith("slow client"):
            log.warning("live stream for %r cut off: %s", stream.key, stream.cut)

    def publish(self, partition: int, writes: dict[bytes, Any], deleted: object) -> None:
        """Commit listener: hand each committed value to its key's streams."""
        del partition
        with self._lock:
            targets = [
                (stream, value)
                for key, value in writes.items()
                if value is not deleted and value is not None
                for stream in self._streams.get(key, ())
            ]
        for stream, value in targets:
            stream.loop.call_soon_threadsafe(stream.offer, value)


class Ticks:
    """Wakes every totals stream after a commit: a flag per stream, never a queue,
    so a stream holds nothing however many commits it has not looked at yet."""

    def __init__(self) -> None:
        self._flags: set[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = set()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._flags)

    def open(self) -> tuple[asyncio.AbstractEventLoop, asyncio.Event]:
        flag = (asyncio.get_running_loop(), asyncio.Event())
        with self._lock:
            self._flags.add(flag)
        return flag

    def close(self, flag: tuple[asyncio.AbstractEventLoop, asyncio.Event]) -> None:
        with self._lock:
            self._flags.discard(flag)

    def publish(self, partition: int, writes: dict[bytes, Any], deleted: object) -> None:
        """Commit listener: mark every totals stream as behind."""
        with self._lock:
            flags = list(self._flags)
        for loop, event in flags:
            loop.call_soon_threadsafe(event.set)

"""Committed changes of one table handed to the live streams watching their keys.

The store calls ``Hub.publish`` on the processing thread once a partition's
transaction committed (eos/runtime.py commit listeners); each stream lives on the
web server's loop and gets the values through its own bounded queue, in commit
order. A stream watches one key, or every key of the table (``key=None``).
A stream whose queue is full is cut (its client is too slow): the
buffer, and so a worker's memory, stays bounded by streams x buffer x value.
``load()`` counts streams and buffered values over every hub (GET /metrics).
A stream's handler runs inside ``serving(request)``, so a stopping server ends it
(``register``): aiohttp would otherwise wait for it, up to Faust's 60 s.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from typing import Any

from aiohttp import web
from aiohttp_sse import EventSourceResponse

log = logging.getLogger(__name__)


# Bytes a stream's connection may hold unsent (the event loop's buffer, and the
# kernel's): a client that stops reading fills them and then its LIVE_BUFFER
# quickly, so it is cut, instead of parking megabytes in socket buffers first.
CONNECTION_BUFFER = 16 * 1024


def bound_connection(transport: Any) -> None:
    """Limit what one live connection holds unsent (see CONNECTION_BUFFER)."""
    if transport is None:
        return
    transport.set_write_buffer_limits(high=CONNECTION_BUFFER)
    sock = transport.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, CONNECTION_BUFFER)


# The live handlers running on a web server (its aiohttp app's state, not the process's).
HANDLERS = web.AppKey("live_handlers", set)


def register(app: Any) -> None:
    app.web.web_app[HANDLERS] = set()
    app.web.web_app.on_shutdown.append(_end_handlers)


@contextlib.contextmanager
def serving(request: Any) -> Iterator[None]:
    """Around a live stream's handler: ended (cancelled) when the server shuts down."""
    handlers, task = request.app[HANDLERS], asyncio.current_task()
    handlers.add(task)
    try:
        yield
    finally:
        handlers.discard(task)


async def _end_handlers(web_app: web.Application) -> None:
    # on_shutdown runs before aiohttp waits for the handlers: a live one would
    # never end by itself (its client may wait for the next event for hours).
    for task in list(web_app[HANDLERS]):
        task.cancel()


class Change:
    """One committed value, shared by every stream watching its key."""

    __slots__ = ("key", "value", "committed_ms", "memo")

    def __init__(self, key: bytes, value: bytes, committed_ms: int) -> None:
        self.key = key
        self.value = value
        self.committed_ms = committed_ms  # epoch milliseconds when the commit listener saw the commit
        # What a stream made of this value that does not depend on the stream
        # (decoded view, its frame): the streams of one key make it once.
        self.memo: Any = None


class Stream:
    """One client's subscription to one key (or every key: None); read on its own loop."""

    def __init__(self, key: bytes | None, buffer: int) -> None:
        self.key = key
        self.loop = asyncio.get_running_loop()
        self.queue: asyncio.Queue[Change | None] = asyncio.Queue(maxsize=buffer)
        self.cut: str | None = None  # why the stream was ended, once it was
        # Called when the client is cut for lagging: a client that stopped reading
        # leaves its server blocked in a write, which only closing the connection ends.
        self.on_cut: Callable[[], None] | None = None

    def offer(self, change: Change) -> None:
        """On the stream's loop: queue a committed value, or cut a stream that lags."""
        if self.cut is not None:
            return
        try:
            self.queue.put_nowait(change)
        except asyncio.QueueFull:
            self.end(f"slow client: {self.queue.maxsize} committed changes not yet sent")
            log.warning("live stream for %r cut off: %s", self.key, self.cut)
            if self.on_cut is not None:
                self.on_cut()

    def end(self, reason: str) -> None:
        """Stop the stream (on its loop): ``next()`` answers None once the queue is read."""
        if self.cut is None:
            self.cut = reason
            while not self.queue.empty():
                self.queue.get_nowait()
            self.queue.put_nowait(None)

    async def next(self, timeout: float) -> bytes | None:
        """The next committed value; None when cut; TimeoutError after ``timeout``."""
        change = await self.next_change(timeout)
        return None if change is None else change.value

    async def next_change(self, timeout: float) -> Change | None:
        """The next committed change with its key and commit time; None when cut."""
        # asyncio.timeout, not wait_for: on 3.11 wait_for makes a task per call.
        async with asyncio.timeout(timeout):
            return await self.queue.get()

    async def next_changes(self, timeout: float) -> list[Change] | None:
        """Every committed change queued, at least one (waiting up to ``timeout``,
        then TimeoutError); None when cut. A stream that fell behind catches up
        in one write instead of one per change."""
        first = await self.next_change(timeout)
        if first is None:
            return None
        changes = [first]
        while not self.queue.empty():
            change = self.queue.get_nowait()
            if change is None:
                return None
            changes.append(change)
        return changes


def frame(data: str, *, id: str | None = None, event: str | None = None) -> str:
    """One server-sent event as aiohttp-sse's ``send`` writes it (tested against
    it), for data without line breaks (our JSON): frames are joined into one write."""
    head = (f"id: {id}\r\n" if id is not None else "") + (f"event: {event}\r\n" if event is not None else "")
    return f"{head}data: {data}\r\n\r\n"


async def write_frames(resp: Any, frames: list[str]) -> None:
    """Write the frames at once; a client that stops reading is dropped after
    the send timeout aiohttp-sse gives one event (our responses keep its default)."""
    if frames:
        async with asyncio.timeout(EventSourceResponse.DEFAULT_SEND_TIMEOUT):
            await resp.write("".join(frames).encode())


_hubs: weakref.WeakSet[Hub | Ticks] = weakref.WeakSet()


def load() -> tuple[int, int]:
    """(live streams open, committed values buffered in them) over every hub of the process."""
    streams = buffered = 0
    for hub in list(_hubs):
        streams += len(hub)
        buffered += hub.buffered()
    return streams, buffered


class Hub:
    """Streams by key, for one table; ``publish`` is the table's commit listener."""

    def __init__(self, max_streams: int) -> None:
        self.max_streams = max_streams
        self._streams: dict[bytes | None, set[Stream]] = {}  # None: the streams of every key
        self._lock = threading.Lock()  # publish runs on another thread than the streams
        self._count = 0
        # Offers waiting for their loop's hand-over (_hand_over), by loop.
        self._pending: dict[asyncio.AbstractEventLoop, list[tuple[Stream, Change]]] = {}
        _hubs.add(self)

    def __len__(self) -> int:
        return self._count

    def buffered(self) -> int:
        with self._lock:
            return sum(stream.queue.qsize() for streams in self._streams.values() for stream in streams)

    def open(self, key: bytes | None, buffer: int) -> Stream | None:
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

    def publish(self, partition: int, writes: dict[bytes, Any], deleted: object) -> None:
        """Commit listener: hand each committed value to its key's streams and to
        the streams of every key."""
        del partition
        now = time.time_ns() // 1_000_000
        with self._lock:
            if not self._streams:
                return
            every = self._streams.get(None, ())
            # A commit may write thousands of keys while a few are watched: walk the smaller side.
            keys = writes.keys() if every or len(writes) <= len(self._streams) else self._streams.keys()
            targets: list[tuple[Stream, Change]] = []
            for key in keys:
                value = writes.get(key) if key is not None else None
                if value is None or value is deleted:
                    continue
                watching = [*self._streams.get(key, ()), *every]
                if watching:  # one Change per key, shared by its streams
                    change = Change(key, value, now)
                    targets.extend((stream, change) for stream in watching)
        self._hand_over(targets)

    def _hand_over(self, targets: list[tuple[Stream, Change]]) -> None:
        # One wake-up per loop for a commit, not one per watched change (each
        # call_soon_threadsafe writes the loop's self-pipe): the offers queue up per
        # loop, and a hand-over is scheduled only if none is pending there already,
        # so the partitions of one commit round share it. Commit order holds per
        # stream: offers are appended, and taken, in order.
        schedule = []
        with self._lock:
            for stream, change in targets:
                pending = self._pending.get(stream.loop)
                if pending is None:
                    pending = self._pending[stream.loop] = []
                    schedule.append(stream.loop)
                pending.append((stream, change))
        for loop in schedule:
            loop.call_soon_threadsafe(self._offer_pending, loop)

    def _offer_pending(self, loop: asyncio.AbstractEventLoop) -> None:
        """On ``loop``: offer every change queued for its streams since the last hand-over."""
        with self._lock:
            offers = self._pending.pop(loop, ())
        for stream, change in offers:
            stream.offer(change)


class Ticks:
    """Wakes every totals stream after a commit: a flag per stream, never a queue,
    so a stream holds nothing however many commits it has not looked at yet."""

    def __init__(self) -> None:
        self._flags: set[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = set()
        self._lock = threading.Lock()
        _hubs.add(self)

    def __len__(self) -> int:
        return len(self._flags)

    def buffered(self) -> int:
        return 0  # a flag, never a value

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

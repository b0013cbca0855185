"""The live push hub (web/live_hub.py): order, bounds, limits; no broker."""

from __future__ import annotations

import asyncio
import threading
import time

from aiohttp_sse import EventSourceResponse

from web.live_hub import Hub, frame, load, write_frames

DELETED = object()


def publish_from_another_thread(hub: Hub, batches: list[dict]) -> None:
    thread = threading.Thread(target=lambda: [hub.publish(0, b, DELETED) for b in batches])
    thread.start()
    thread.join()


async def test_committed_values_reach_their_keys_streams_in_commit_order() -> None:
    hub = Hub(max_streams=10)
    mine, other = hub.open(b"u-1", buffer=10), hub.open(b"u-2", buffer=10)
    assert mine is not None and other is not None
    publish_from_another_thread(hub, [{b"u-1": b"1", b"u-3": b"x"}, {b"u-1": DELETED}, {b"u-1": b"2"}])
    assert [await mine.next(1), await mine.next(1)] == [b"1", b"2"]
    assert other.queue.empty()


async def test_the_worker_refuses_streams_past_its_limit_and_frees_closed_ones() -> None:
    hub = Hub(max_streams=2)
    first = hub.open(b"a", 4)
    assert first is not None and hub.open(b"a", 4) is not None
    assert hub.open(b"b", 4) is None
    hub.close(first)
    assert len(hub) == 1
    assert hub.open(b"b", 4) is not None


async def test_a_slow_stream_is_cut_and_holds_no_more_than_its_buffer(caplog) -> None:  # type: ignore[no-untyped-def]
    hub = Hub(max_streams=10)
    slow = hub.open(b"u-1", buffer=3)
    assert slow is not None
    publish_from_another_thread(hub, [{b"u-1": str(i).encode()} for i in range(1000)])
    await asyncio.sleep(0.05)  # let the loop run the hand-overs
    assert slow.cut is not None and slow.cut.startswith("slow client")
    assert slow.queue.qsize() <= 3
    assert await slow.next(1) is None  # the stream ends rather than skip changes
    hub.close(slow)
    assert "cut off" in caplog.text and len(hub) == 0


async def test_a_stream_of_every_key_gets_each_committed_change_with_its_key_in_commit_order() -> None:
    hub = Hub(max_streams=10)
    every, one = hub.open(None, buffer=10), hub.open(b"c-2", buffer=10)
    assert every is not None and one is not None
    before = time.time_ns() // 1_000_000
    publish_from_another_thread(hub, [{b"c-1": b"1", b"c-2": b"x"}, {b"c-1": DELETED}, {b"c-3": b"2"}])
    got = [await every.next_change(1) for _ in range(3)]
    want = [(b"c-1", b"1"), (b"c-2", b"x"), (b"c-3", b"2")]
    assert [(c.key, c.value) for c in got if c is not None] == want
    assert all(c is not None and before <= c.committed_ms <= time.time_ns() // 1_000_000 for c in got)
    assert await one.next(1) == b"x" and one.queue.empty()
    hub.close(every)
    assert len(hub) == 1


async def test_a_slow_stream_of_every_key_is_cut_and_the_counted_load_stays_bounded() -> None:
    hub = Hub(max_streams=10)
    streams_before, buffered_before = load()
    slow, idle = hub.open(None, buffer=4), hub.open(b"nobody", buffer=4)
    assert slow is not None and idle is not None
    publish_from_another_thread(hub, [{f"c-{i}".encode(): b"v" for i in range(3)}])
    await asyncio.sleep(0.05)
    assert load() == (streams_before + 2, buffered_before + 3)
    publish_from_another_thread(hub, [{f"c-{i}".encode(): b"v" for i in range(100)}])
    await asyncio.sleep(0.05)
    assert slow.cut is not None and slow.cut.startswith("slow client")
    streams, buffered = load()
    assert buffered - buffered_before <= (streams - streams_before) * 4
    assert await slow.next_change(1) is None


async def test_a_watched_key_among_many_written_gets_its_value_and_a_deleted_one_nothing() -> None:
    hub = Hub(max_streams=10)
    watched, gone = hub.open(b"k-7", buffer=4), hub.open(b"k-8", buffer=4)
    assert watched is not None and gone is not None
    writes: dict[bytes, object] = {f"k-{i}".encode(): str(i).encode() for i in range(100)}
    writes[b"k-8"] = DELETED
    publish_from_another_thread(hub, [writes])
    assert await watched.next(1) == b"7"
    await asyncio.sleep(0.05)
    assert watched.queue.empty() and gone.queue.empty()


async def test_a_stream_that_fell_behind_gets_every_queued_change_at_once_and_none_once_cut() -> None:
    hub = Hub(max_streams=10)
    stream = hub.open(b"k", buffer=8)
    assert stream is not None
    for n in range(3):
        hub.publish(0, {b"k": b"%d" % n}, DELETED)
    await asyncio.sleep(0)  # the offers run on the stream's loop
    changes = await stream.next_changes(1.0)
    assert changes is not None and [c.value for c in changes] == [b"0", b"1", b"2"]
    for n in range(9):  # one more than the buffer: cut
        hub.publish(0, {b"k": b"%d" % n}, DELETED)
    await asyncio.sleep(0)
    assert await stream.next_changes(1.0) is None


class _Written:
    def __init__(self) -> None:
        self.data = b""

    async def write(self, data: bytes) -> None:
        self.data += data


async def test_frames_are_what_aiohttp_sse_writes_for_each_event() -> None:
    events = [('{"a":1}', "7", "budget"), ("{}", None, "status"), ("[1,2]", None, None)]
    theirs = EventSourceResponse()
    written = _Written()
    theirs.write = written.write  # type: ignore[method-assign]
    for data, id_, event in events:
        await theirs.send(data, id=id_, event=event)
    ours = _Written()
    await write_frames(ours, [frame(data, id=id_, event=event) for data, id_, event in events])
    assert ours.data == written.data


async def test_a_commit_wakes_the_streams_loop_once_however_many_watched_keys_it_changed() -> None:
    hub = Hub(max_streams=1000)
    streams = [hub.open(f"k-{i}".encode(), buffer=4) for i in range(200)]
    every = hub.open(None, buffer=1000)
    loop = asyncio.get_running_loop()
    wakes = []
    original = loop.call_soon_threadsafe

    def counted(callback, *args):  # type: ignore[no-untyped-def]
        wakes.append(callback)
        return original(callback, *args)

    loop.call_soon_threadsafe = counted  # type: ignore[method-assign]
    try:
        for partition in range(3):  # one commit round over three partitions
            hub.publish(partition, {f"k-{i}".encode(): b"%d" % partition for i in range(200)}, DELETED)
    finally:
        del loop.call_soon_threadsafe
    assert len(wakes) == 1, f"{len(wakes)} wake-ups for one commit round"
    await asyncio.sleep(0)
    for stream in streams:
        assert stream is not None
        assert [c.value for c in await stream.next_changes(1.0) or []] == [b"0", b"1", b"2"]
    assert every is not None and every.queue.qsize() == 600


async def test_the_streams_of_a_key_share_one_change_per_commit() -> None:
    # What a stream makes of a change (Change.memo) is then made once for all of them.
    hub = Hub(max_streams=10)
    one, two, every = hub.open(b"a-1", buffer=10), hub.open(b"a-1", buffer=10), hub.open(None, buffer=10)
    assert one is not None and two is not None and every is not None
    publish_from_another_thread(hub, [{b"a-1": b"1"}])
    got = [await s.next_change(1) for s in (one, two, every)]
    assert got[0] is not None and got[0].value == b"1"
    assert got[0] is got[1] is got[2]

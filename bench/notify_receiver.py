"""The bench's notification receiver: HTTP/1.1 keep-alive on a bare asyncio protocol.

``tests.receiver`` (aiohttp) costs more CPU per call than the notify process does per delivery
(profiled), so on two shared cores it capped the rate it was meant to measure. This one parses
only what a POST needs (the head up to its blank line, Content-Length, the JSON body), answers
200 after ``--latency`` with ``loop.call_later`` and records what the bench checks: partition,
offset, key, arrival, answer. ``--procs`` processes share the port (SO_REUSEPORT). SIGTERM
writes the calls out as JSON lines.

``python -m bench.notify_receiver --port P --latency 0.1 --out calls.jsonl``
"""

from __future__ import annotations

import argparse
import asyncio
import re
import signal
import socket
import time

import orjson

_LENGTH = re.compile(rb"\r\ncontent-length:[ \t]*(\d+)", re.IGNORECASE)
_OK = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"
_BAD = b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"


class _Connection(asyncio.Protocol):
    def __init__(self, calls: list[list], latency: float) -> None:
        self.calls, self.latency = calls, latency
        self.buf = bytearray()
        self.loop = asyncio.get_running_loop()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None

    def data_received(self, data: bytes) -> None:
        self.buf += data
        while (end := self.buf.find(b"\r\n\r\n")) >= 0:
            length = _LENGTH.search(self.buf, 0, end + 2)
            if length is None:
                self._reply(_BAD)
                return
            total = end + 4 + int(length.group(1))
            if len(self.buf) < total:
                return
            body = orjson.loads(self.buf[end + 4 : total])
            del self.buf[:total]
            call = [body["topic"], body["partition"], body["offset"], body["key"], time.time(), 0, 0.0]
            self.calls.append(call)
            self.loop.call_later(self.latency, self._answer, call)

    def _answer(self, call: list) -> None:
        call[5], call[6] = 200, time.time()
        self._reply(_OK)

    def _reply(self, data: bytes) -> None:
        if self.transport is not None:
            self.transport.write(data)


async def serve(port: int, latency: float, out: str) -> None:
    calls: list[list] = []
    loop = asyncio.get_running_loop()
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind(("127.0.0.1", port))
    server = await loop.create_server(lambda: _Connection(calls, latency), sock=sock, backlog=4096)
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    await stop.wait()
    server.close()
    names = ("topic", "partition", "offset", "key", "arrived", "status", "answered")
    with open(out, "wb") as f:
        for call in calls:
            f.write(orjson.dumps(dict(zip(names, call, strict=True))) + b"\n")


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--latency", type=float, default=0.1)
    p.add_argument("--out", required=True)
    a = p.parse_args()
    asyncio.run(serve(a.port, a.latency, a.out))

"""A notification receiver for tests and the bench (aiohttp): configurable latency and failures.

It records every call: key, topic, partition, offset, Idempotency-Key, arrival time and the status
it answered. ``down()``/``up()`` close and reopen its port (connection refused meanwhile).
``python -m tests.receiver --port P --latency 0.1 --out calls.jsonl`` runs one in its own process
(the bench); SIGTERM writes the calls out.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import signal
import socket
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import orjson
from aiohttp import web


@dataclass
class Call:
    topic: str
    partition: int
    offset: int
    key: str | None
    idempotency_key: str
    arrived: float  # time.time()
    status: int = 0  # 0 while the call is being answered
    answered: float = 0.0


class Receiver:
    def __init__(
        self,
        latency: tuple[float, float] = (0.0, 0.0),
        failure_rate: float = 0.0,
        reject: Callable[[dict[str, Any]], bool] = lambda body: False,
        seed: int = 0,
        latency_for: Callable[[dict[str, Any]], float | None] = lambda body: None,
        port: int = 0,
        reuse_port: bool = False,
    ) -> None:
        self.latency, self.failure_rate, self.reject = latency, failure_rate, reject
        self.latency_for = latency_for  # a latency of its own for some calls (None: the usual)
        self.rng = random.Random(seed)
        self.calls: list[Call] = []
        self.port = port or _free_port()
        self.reuse_port = reuse_port
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/notifications"

    async def up(self) -> Receiver:
        app = web.Application()
        app.router.add_post("/notifications", self._handle)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port, reuse_port=self.reuse_port).start()
        return self

    async def down(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _handle(self, request: web.Request) -> web.Response:
        body = orjson.loads(await request.read())
        call = Call(
            body["topic"], body["partition"], body["offset"], body["key"],
            request.headers.get("Idempotency-Key", ""), time.time(),
        )  # fmt: skip
        self.calls.append(call)
        lo, hi = self.latency
        delay = self.latency_for(body)
        if delay is None and hi > 0:
            delay = self.rng.uniform(lo, hi)
        if delay:
            await asyncio.sleep(delay)
        if self.reject(body):
            call.status = 422
        elif self.failure_rate and self.rng.random() < self.failure_rate:
            call.status = 503
        else:
            call.status = 200
        call.answered = time.time()
        return web.json_response({"status": call.status}, status=call.status)

    def delivered(self) -> list[Call]:
        return [c for c in self.calls if c.status == 200]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _main(args: argparse.Namespace) -> None:
    receiver = await Receiver((args.latency, args.latency), port=args.port, reuse_port=True).up()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    await stop.wait()
    await receiver.down()
    with open(args.out, "wb") as out:
        for call in receiver.calls:
            out.write(orjson.dumps(asdict(call)) + b"\n")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--latency", type=float, default=0.1)
    parser.add_argument("--out", required=True)
    asyncio.run(_main(parser.parse_args()))

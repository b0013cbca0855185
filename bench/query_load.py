"""``python -m bench.query_load URL RATE SECONDS ADVERTISERS``: open-loop HTTP query load.

It runs in a process of its own. The bench process also produces the click load
and polls the end-to-end probes; a query timed there would wait for that work too,
charging the bench's own event loop to the worker. Each request is timed from its
scheduled time (a stalled server is not hidden by a client that waits), and also
from the moment it was sent: the difference is this client's own lateness (its
timer and its turn on a busy CPU), which the first figure charges to the server.
The client asks for SCHED_FIFO (lowest real-time priority) where the process may,
as a load generator gets a core of its own: on a busy 2-core machine its timer
otherwise fires late by tens of milliseconds at p99, which the figure from the
scheduled time would charge to the server (BENCH_QUERY_CLIENT_REALTIME=0: not asked).
Prints one JSON object: ``{"latencies": [s...], "from_send": [s...], "errors": {kind: count},
"rate": req/s, "scheduling": "SCHED_FIFO" | "normal ..."}``.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import random
import sys
import time

import aiohttp
import orjson


async def run(url: str, rate: float, seconds: float, advertisers: int) -> dict:
    """Query the budgets of advertisers l-0 ... l-{advertisers - 1} (bench.latency's load)."""
    rng = random.Random(3)
    latencies: list[float] = []
    from_send: list[float] = []
    errors: dict[str, int] = {}

    async def one(http: aiohttp.ClientSession, scheduled: float) -> None:
        adv = f"l-{rng.randrange(advertisers)}"
        sent = time.monotonic()
        try:
            async with http.get(f"{url}/advertisers/{adv}/budget") as resp:
                await resp.read()
                error = None if resp.status == 200 else f"HTTP {resp.status}"
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            error = type(exc).__name__
        if error is None:
            done = time.monotonic()
            latencies.append(done - scheduled)
            from_send.append(done - sent)
        else:
            errors[error] = errors.get(error, 0) + 1

    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as http:
        start, tasks = time.monotonic(), []
        until = start + seconds
        for i in itertools.count():
            scheduled = start + i / rate
            if scheduled >= until:
                break
            await asyncio.sleep(max(0.0, scheduled - time.monotonic()))
            tasks.append(asyncio.create_task(one(http, scheduled)))
        await asyncio.gather(*tasks)
    return {"latencies": latencies, "from_send": from_send, "errors": errors, "rate": len(tasks) / seconds}


def realtime() -> str:
    """This process under SCHED_FIFO if allowed: how it is scheduled, and why not."""
    if os.environ.get("BENCH_QUERY_CLIENT_REALTIME", "1") == "0":
        return "normal"
    try:
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(1))
    except OSError as exc:
        return f"normal (SCHED_FIFO refused: {exc.strerror})"
    return "SCHED_FIFO"


def main(argv: list[str]) -> None:
    url, rate, seconds, advertisers = argv[0], float(argv[1]), float(argv[2]), int(argv[3])
    scheduling = realtime()
    result = asyncio.run(run(url, rate, seconds, advertisers))
    sys.stdout.buffer.write(orjson.dumps({**result, "scheduling": scheduling}))


if __name__ == "__main__":
    main(sys.argv[1:])

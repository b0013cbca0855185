"""Timing a fresh Faust worker draining pre-loaded input until the HTTP API equals the oracle.

Clock: wall time. ``spawned`` is the ``faust`` process start, ``first`` the first poll of
``GET /stats`` that shows any input accounted for (so about one batch after the first
fetch), ``verified`` the first comparison with no difference. The headline rate is
events / (verified - first); the rate from process start is reported next to it.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import aiohttp

from bench.measure import rate
from bench.preload import Gate
from bench.worker import Worker
from cli.compare import compare_clicks, compare_orders

POLL = 0.1
Sample = tuple[float, int]  # (wall time, inputs accounted for)


@dataclass
class Drain:
    events: int
    spawned: float
    first: float = 0.0
    drained: float = 0.0
    verified: float = 0.0
    keys: int = 0
    diffs: list[str] = field(default_factory=list)
    samples: list[Sample] = field(default_factory=list)
    marks: dict[str, float] = field(default_factory=dict)
    # The clicks alone, gate open -> all consumed: their rate and the worker's CPU seconds over it
    # (no start-up, no top-ups, no verification; what the metrics comparison is read from).
    clicks: int = 0
    clicks_cpu_s: float = float("nan")

    @property
    def clicks_eps(self) -> float:
        if not self.clicks or "gate_opened" not in self.marks or not self.drained:
            return float("nan")
        return rate(self.clicks, self.drained - self.marks["gate_opened"])

    @property
    def eps(self) -> float:
        return rate(self.events, self.verified - self.first) if self.verified else float("nan")

    @property
    def eps_from_start(self) -> float:
        return rate(self.events, self.verified - self.spawned) if self.verified else float("nan")

    def steady_eps(self) -> float:
        """Rate between 10% and 90% of the inputs accounted for (start-up and tail left out)."""
        lo = next((s for s in self.samples if s[1] >= 0.1 * self.events), None)
        hi = next((s for s in self.samples if s[1] >= 0.9 * self.events), None)
        return rate(hi[1] - lo[1], hi[0] - lo[0]) if lo and hi and hi[0] > lo[0] else float("nan")


async def _until(
    worker: Worker,
    http: aiohttp.ClientSession,
    run: Drain,
    done: Callable[[dict[str, int]], bool],
    timeout: float,
) -> float:
    """Poll /stats until ``done(consumed per topic)``; return the wall time it first held."""
    deadline = time.monotonic() + timeout
    while True:
        worker.check_alive()
        body = await worker.get(http, "/stats")
        now = time.time()
        if body is not None:
            consumed = {t: c["consumed"] for t, c in body["topics"].items()}
            run.samples.append((now, sum(consumed.values())))
            if done(consumed):
                return now
        if time.monotonic() > deadline:
            raise TimeoutError(f"{worker.name}: not done after {timeout:.0f}s (last /stats: {body})")
        await asyncio.sleep(POLL)


Comparer = Callable[[aiohttp.ClientSession, str, dict], Awaitable[tuple[int, list[str]]]]


async def _verified(
    http: aiohttp.ClientSession, url: str, compare: Comparer, oracle: dict, timeout: float
) -> tuple[float, int, list[str]]:
    deadline = time.monotonic() + timeout
    while True:
        try:
            keys, diffs = await compare(http, url, oracle)
        except (TimeoutError, aiohttp.ClientError, OSError, ValueError) as exc:
            keys, diffs = 0, [repr(exc)]
        if not diffs or time.monotonic() > deadline:
            return time.time(), keys, diffs
        await asyncio.sleep(POLL)


async def drain_clicks(worker: Worker, gate: Gate, oracle: dict, timeout: float) -> Drain:
    """Top-ups are readable, clicks gated: apply the top-ups, open the gate, drain, verify."""
    funding, clicks = oracle["topics"]
    n_fund, n_clicks = (oracle["topics"][t]["consumed"] for t in (funding, clicks))
    run = Drain(n_fund + n_clicks, spawned=worker.started_at)
    quick = {**oracle, "daily": {}}  # timed check: accounting and every budget
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as http:
        run.first = await _until(worker, http, run, lambda c: sum(c.values()) > 0, timeout)
        run.marks["funded"] = await _until(worker, http, run, lambda c: c.get(funding) == n_fund, timeout)
        cpu_before = worker.cpu_seconds()
        run.marks["gate_opened"] = await gate.open()
        run.drained = await _until(worker, http, run, lambda c: c.get(clicks) == n_clicks, timeout)
        cpu_after = worker.cpu_seconds()
        run.clicks = n_clicks
        if cpu_before is not None and cpu_after is not None:
            run.clicks_cpu_s = cpu_after - cpu_before
        run.verified, run.keys, run.diffs = await _verified(http, worker.url, compare_clicks, quick, 60)
        if not run.diffs:  # not timed: daily statistics of a sample of advertisers
            sample = random.Random(0).sample(sorted(oracle["daily"]), min(300, len(oracle["daily"])))
            daily = {**oracle, "daily": {a: oracle["daily"][a] for a in sample}}
            keys, run.diffs = await compare_clicks(http, worker.url, daily)
            run.keys = keys
    return run


async def drain_orders(worker: Worker, oracle: dict, timeout: float) -> Drain:
    ((topic, acct),) = oracle["topics"].items()
    run = Drain(acct["consumed"], spawned=worker.started_at)
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as http:
        run.first = await _until(worker, http, run, lambda c: sum(c.values()) > 0, timeout)
        run.drained = await _until(worker, http, run, lambda c: c.get(topic) == run.events, timeout)
        run.verified, run.keys, run.diffs = await _verified(http, worker.url, compare_orders, oracle, 120)
    return run

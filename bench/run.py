"""The whole bench, in order, on one fresh broker:

1. pre-load: top-ups (readable), clicks (gated, see bench.preload), orders;
2. Faust, clicks: a fresh worker applies the top-ups, the gate opens, it drains, verified;
   then the cost of the metrics: pairs of drains of their own clicks (each on topics of its
   own), one worker with METRICS=false and one with metrics on, back to back, the order
   alternating (off-on, on-off, ...); the median of the pairs' ratios is the figure, since
   one drain against one other varies by ±20 % on these shared cores;
3. ceiling and Quix Streams on the same clicks and top-ups (readable by then);
4. Faust, orders: a fresh worker drains the orders, verified; the ceiling on them;
5. latency: a fresh worker on topics of its own, under a steady click rate.
"""

from __future__ import annotations

import math
import time
from collections.abc import Awaitable
from pathlib import Path

from bench import faust_run, latency, peers, report
from bench.broker import create_topics
from bench.config import BenchConfig
from bench.preload import Gate, load
from bench.worker import Worker
from bench.workload import BenchClicks
from cli.produce import producer
from cli.workloads import orders as orders_workload
from config import load_settings

FUND, CLICKS, ORDERS = "bench.ad-budget", "bench.ad-clicks", "bench.orders"
LAT_FUND, LAT_CLICKS = "latency.ad-budget", "latency.ad-clicks"
OUTS = {
    "ceiling-clicks": "bench.ceiling-clicks",
    "ceiling-orders": "bench.ceiling-orders",
    "quix": "bench.quix-budgets",
}


def say(message: str) -> None:
    print(f"bench: {message}", flush=True)


async def run(cfg: BenchConfig, bootstrap: str, root: Path) -> dict:
    res: dict = {"config": {k: str(v) for k, v in vars(cfg).items()}, "bootstrap": bootstrap}
    started = time.monotonic()
    work = BenchClicks(cfg.advertisers, cfg.clicks, cfg.seed, topics=(FUND, CLICKS))
    oracle = work.oracle()
    orders, orders_oracle = orders_workload.generate(cfg.orders, cfg.seed, topic=ORDERS)
    say(
        f"workload: {len(work.clicks)} clicks over {cfg.advertisers} advertisers + {len(work.top_ups)} "
        f"top-ups (no click rejected in any order), {cfg.orders} orders; generated in "
        f"{time.monotonic() - started:.1f}s"
    )
    await create_topics(
        bootstrap,
        [FUND, CLICKS, ORDERS, LAT_FUND, LAT_CLICKS, *_metrics_topics(cfg)] + list(OUTS.values()),
        cfg.partitions,
    )
    gate = Gate(bootstrap)
    t_fund = await load(bootstrap, FUND, work.top_ups, len(work.top_ups))
    t_clicks = await gate.load(CLICKS, work.clicks)
    t_orders = await load(bootstrap, ORDERS, orders, cfg.orders) if cfg.orders else 0.0
    say(f"pre-loaded in {t_fund + t_clicks + t_orders:.1f}s (clicks held in an open transaction)")

    await _part(res, "clicks", _faust_clicks(cfg, bootstrap, root, gate, oracle))
    if cfg.runs("metrics"):
        for i in range(cfg.metrics_pairs):
            for on in (False, True) if i % 2 == 0 else (True, False):
                name = f"metrics_{'on' if on else 'off'}_{i}"
                await _part(res, name, _metrics_clicks(cfg, bootstrap, root, name, on))
    events = work.events
    if cfg.runs("ceiling"):
        say("ceiling: aiokafka consume -> transactional produce on the same topics ...")
        await _part(
            res,
            "ceiling",
            peers.ceiling(
                bootstrap,
                [FUND, CLICKS],
                OUTS["ceiling-clicks"],
                events,
                root / "ceiling-clicks.log",
                cfg.drain_timeout,
            ),
        )
        say(f"ceiling: {res['ceiling'].get('eps', math.nan):.0f} events/s")
    if cfg.runs("quix"):
        say("quix: Quix Streams, exactly-once, RocksDB, same topics ...")
        await _part(
            res,
            "quix",
            peers.quix(
                bootstrap,
                (FUND, CLICKS),
                OUTS["quix"],
                cfg.partitions,
                oracle,
                events,
                root / "quix-state",
                root / "quix.log",
                cfg.drain_timeout,
            ),
        )
        say(
            f"quix: {res['quix'].get('eps', math.nan):.0f} events/s, "
            f"{len(res['quix'].get('diffs', []))} differences from the oracle"
        )
    if cfg.orders and cfg.runs("orders"):
        await _part(res, "orders", _faust_orders(cfg, bootstrap, root, orders_oracle))
        if cfg.runs("ceiling"):
            await _part(
                res,
                "ceiling_orders",
                peers.ceiling(
                    bootstrap,
                    [ORDERS],
                    OUTS["ceiling-orders"],
                    cfg.orders,
                    root / "ceiling-orders.log",
                    cfg.drain_timeout,
                ),
            )
    if cfg.runs("latency"):
        steady = res["clicks"].get("steady_eps", math.nan)
        await _part(res, "latency", _latency(cfg, bootstrap, root, steady))
    res["wall_s"] = time.monotonic() - started
    return res


async def _part(res: dict, name: str, work: Awaitable[dict]) -> None:
    """Run one part; a failure is recorded (and shown) without stopping the other parts."""
    try:
        res[name] = await work
    except Exception as exc:  # noqa: BLE001 - reported in the summary, exit status 1
        res[name] = {"error": f"{type(exc).__name__}: {exc}"}
        say(f"{name} FAILED: {res[name]['error']}")


def _throughput_settings(cfg: BenchConfig) -> dict[str, str]:
    # The ceiling and the Quix peer commit every second: so does Faust here
    # (the latency phase keeps the app's own default).
    return {"COMMIT_INTERVAL": "1.0", **cfg.worker_env()}


def _metrics_topics(cfg: BenchConfig) -> list[str]:
    names = [f"metrics_{state}_{i}" for i in range(cfg.metrics_pairs) for state in ("off", "on")]
    return [topic for name in names for topic in _pair_topics(name)]


def _pair_topics(name: str) -> tuple[str, str]:
    prefix = name.replace("_", "-")
    return f"{prefix}.ad-budget", f"{prefix}.ad-clicks"


async def _metrics_clicks(cfg: BenchConfig, bootstrap: str, root: Path, name: str, metrics: bool) -> dict:
    """A clicks drain of its own, on topics of its own, by a worker with metrics on or off."""
    topics = _pair_topics(name)
    work = BenchClicks(cfg.advertisers, cfg.metrics_clicks, cfg.seed, topics=topics)
    gate = Gate(bootstrap)
    await load(bootstrap, topics[0], work.top_ups, len(work.top_ups))
    await gate.load(topics[1], work.clicks)
    env = {"METRICS": "true" if metrics else "false"}
    return await _faust_clicks(cfg, bootstrap, root, gate, work.oracle(), topics, env)


async def _faust_clicks(
    cfg: BenchConfig,
    bootstrap: str,
    root: Path,
    gate: Gate,
    oracle: dict,
    topics: tuple[str, str] = (FUND, CLICKS),
    env: dict[str, str] | None = None,
) -> dict:
    inputs = {"TOPIC_AD_BUDGET": topics[0], "TOPIC_AD_CLICKS": topics[1]}
    settings = {**_throughput_settings(cfg), **(env or {})}
    name = f"faust-clicks-{root.name}" + ("" if env is None else "-" + topics[0].split(".")[0])
    worker = Worker(root, name, bootstrap, inputs, settings)
    extra = "".join(f", {k}={v}" for k, v in {**cfg.worker_env(), **(env or {})}.items())
    say(f"faust: fresh worker (exactly_once, RocksDB{extra}, APP_ID={worker.name}) draining the clicks ...")
    worker.start()
    try:
        drain = await faust_run.drain_clicks(worker, gate, oracle, cfg.drain_timeout)
        out = report.drain_dict(drain, worker)
    finally:
        worker.stop()
        if gate.opened_at is None:  # failed before the gate opened: the other parts need the clicks
            await gate.open()
        await gate.close()
    say(
        f"faust: {out['eps']:.0f} events/s, verified={out['verified']} ({out['keys']} keys, "
        f"{len(out['diffs'])} differences)"
    )
    return out


async def _faust_orders(cfg: BenchConfig, bootstrap: str, root: Path, oracle: dict) -> dict:
    inputs = {"TOPIC_ORDERS": ORDERS}
    worker = Worker(root, f"faust-orders-{root.name}", bootstrap, inputs, _throughput_settings(cfg))
    say(f"faust: fresh worker draining {cfg.orders} orders ...")
    worker.start()
    try:
        out = report.drain_dict(await faust_run.drain_orders(worker, oracle, cfg.drain_timeout), worker)
    finally:
        worker.stop()
    say(f"faust orders: {out['eps']:.0f} orders/s, verified={out['verified']}")
    return out


async def _latency(cfg: BenchConfig, bootstrap: str, root: Path, steady_eps: float) -> dict:
    target = cfg.latency_rate
    # Well below the drain rate: batches are small at a steady rate, and HTTP polls share the loop.
    sustainable = math.floor(0.4 * steady_eps / 100) * 100 if steady_eps == steady_eps else target
    rate = min(target, max(100, sustainable))
    why = (
        "" if rate == target else f" (lowered from {target:.0f}: the worker drains about {steady_eps:.0f}/s)"
    )
    worker = Worker(
        root,
        f"faust-latency-{root.name}",
        bootstrap,
        {"TOPIC_AD_BUDGET": LAT_FUND, "TOPIC_AD_CLICKS": LAT_CLICKS},
        cfg.worker_env(),
    )
    say(f"latency: fresh worker, steady {rate:.0f} clicks/s{why}, {cfg.latency_seconds:.0f}s per phase ...")
    prod = producer(load_settings(kafka_bootstrap_servers=bootstrap))
    worker.start()
    await prod.start()
    try:
        lat = await latency.measure(
            prod, worker, (LAT_FUND, LAT_CLICKS), rate, cfg.latency_seconds, cfg.query_rate
        )
        out = report.latency_dict(lat, target, worker)
    finally:
        await prod.stop()
        worker.stop()
    return out

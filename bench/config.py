"""Bench sizes and switches: flags, or BENCH_* environment variables, or the defaults.

The defaults (the issue's 1,000,000 clicks over 10,000 advertisers) fit the whole run in
well under 15 minutes on a shared 2-core machine with the batch path (about 30,000
clicks/s); the slowest part is the Quix Streams peer.
"""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass, fields
from pathlib import Path


@dataclass(frozen=True)
class BenchConfig:
    clicks: int = 1_000_000
    advertisers: int = 10_000
    orders: int = 200_000
    seed: int = 1
    partitions: int = 6
    latency_rate: float = 5000.0  # target clicks/s; lowered to 40% of the measured drain rate
    latency_seconds: float = 30.0  # per latency phase (end-to-end, then HTTP queries)
    query_rate: float = 100.0  # HTTP requests/s in the query phase
    drain_timeout: float = 480.0  # per Faust drain
    metrics_pairs: int = 3  # pairs of clicks drains with METRICS=false and on
    metrics_clicks: int = 500_000  # clicks per drain of those pairs
    skip: tuple[str, ...] = ()  # any of: quix, orders, latency, ceiling, metrics
    dir: Path = Path(".data/bench")
    keep: bool = False  # keep broker data and state after the run
    worker_settings: str = ""  # "NAME=value,NAME=value": settings for every Faust worker (levers)

    def worker_env(self) -> dict[str, str]:
        pairs = (item.split("=", 1) for item in self.worker_settings.split(",") if item.strip())
        return {name.strip().upper(): value.strip() for name, value in pairs}

    def runs(self, what: str) -> bool:
        return what not in self.skip


HELP = {
    "clicks": "clicks to pre-load",
    "advertisers": "advertisers (one top-up each)",
    "orders": "orders to pre-load (0: no orders run)",
    "seed": "random seed of both workloads",
    "partitions": "partitions of every input topic",
    "latency_rate": "clicks/s under which latency is measured (lowered if the worker cannot sustain it)",
    "latency_seconds": "seconds per latency phase",
    "query_rate": "HTTP queries/s in the query-latency phase",
    "drain_timeout": "seconds a Faust drain may take before the bench gives up",
    "metrics_pairs": "pairs of clicks drains, METRICS=false and on, whose median ratio is the metrics cost",
    "metrics_clicks": "clicks per drain of the metrics pairs",
    "skip": "comma-separated parts to leave out: quix, orders, latency, ceiling, metrics",
    "dir": "where broker data, worker logs and results.json go",
    "keep": "keep broker data and worker state after the run (1/0)",
    "worker_settings": "settings for every Faust worker, NAME=value,... (e.g. COMMIT_INTERVAL=0.1)",
}


def parse(argv: list[str] | None = None) -> BenchConfig:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Faust vs. an aiokafka exactly-once ceiling vs. Quix Streams, on one fresh broker. "
        "Every option also reads BENCH_<NAME> from the environment.",
    )
    values = {}
    for f in fields(BenchConfig):
        env = os.environ.get(f"BENCH_{f.name.upper()}")
        default = env if env is not None else f.default
        flag = f"--{f.name.replace('_', '-')}"
        parser.add_argument(flag, default=default, help=f"{HELP[f.name]} (default: {f.default!r})")
        values[f.name] = f
    ns = parser.parse_args(argv)
    kwargs = {}
    for name, f in values.items():
        raw = getattr(ns, name)
        if name == "skip":
            raw = tuple(s.strip() for s in raw.split(",") if s.strip()) if isinstance(raw, str) else raw
        elif name == "keep":
            raw = str(raw).lower() in ("1", "true", "yes") if not isinstance(raw, bool) else raw
        elif name == "worker_settings":
            raw = str(raw)
        elif name == "dir":
            raw = Path(raw)
        else:
            raw = type(f.default)(raw)
        kwargs[name] = raw
    unknown = set(kwargs["skip"]) - {"quix", "orders", "latency", "ceiling", "metrics"}
    if unknown:
        parser.error(f"--skip: unknown parts {sorted(unknown)}")
    return BenchConfig(**kwargs)

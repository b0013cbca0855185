"""``python -m bench.lake_stages``: one sink, in this process, over a ledger backlog, timed by stage.

A broker of its own; ``--rows`` ledger entries (the domain's own shape) produced
in transactions over the app's partition count; then one ``lake.sink.Sink``
reads them all (read_committed) and the run stops when every row is in a file.
Each stage's wall time is summed by wrapping the sink's own functions here (the
sink itself carries no timers): fetch is aiokafka's ``getmany`` (waiting on the
broker, the record batches parsed into records), decode the records into rows
or columns, Arrow, Parquet, publish, commit. Publishing runs in a thread, so
stages can overlap the event loop. Last line: ``bench.lake_stages: ...``.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import dataclasses
import functools
import os
import shutil
import tempfile
import time
from pathlib import Path

import orjson
from aiokafka import AIOKafkaConsumer

from bench.broker import broker, create_topics
from bench.lake_drain import rows_in_files
from bench.preload import Gate
from config import load_settings
from domain.budgets import LedgerEntry
from lake import audit, naming, store

STAGES = [  # (stage, module, function): those the code at hand has are wrapped
    ("decode (records -> rows)", "lake.rows", "ledger_row"),
    ("decode (records -> columns)", "lake.columns", "ledger_tables"),
    ("Arrow table", "lake.schema", "to_table"),
    ("Parquet bytes", "lake.store", "parquet_bytes"),
    ("publish (fsspec)", "lake.store", "publish"),
]
spent: collections.Counter[str] = collections.Counter()
cpu: collections.Counter[str] = collections.Counter()  # the calling thread's CPU time
calls: collections.Counter[str] = collections.Counter()


def timed(stage: str, fn):  # type: ignore[no-untyped-def]
    if asyncio.iscoroutinefunction(fn):

        @functools.wraps(fn)
        async def wrapper_async(*a, **kw):  # type: ignore[no-untyped-def]
            t0, c0 = time.perf_counter(), time.thread_time()
            try:
                return await fn(*a, **kw)
            finally:
                spent[stage] += time.perf_counter() - t0
                cpu[stage] += time.thread_time() - c0  # the loop's, other tasks' included
                calls[stage] += 1

        return wrapper_async

    @functools.wraps(fn)
    def wrapper(*a, **kw):  # type: ignore[no-untyped-def]
        t0, c0 = time.perf_counter(), time.thread_time()
        try:
            return fn(*a, **kw)
        finally:
            spent[stage] += time.perf_counter() - t0
            cpu[stage] += time.thread_time() - c0
            calls[stage] += 1

    return wrapper


def instrument() -> None:
    import importlib

    for stage, module, name in STAGES:
        try:
            mod = importlib.import_module(module)
        except ImportError:
            continue
        if hasattr(mod, name):
            setattr(mod, name, timed(stage, getattr(mod, name)))
    AIOKafkaConsumer.getmany = timed("fetch (aiokafka getmany)", AIOKafkaConsumer.getmany)  # type: ignore[method-assign]
    AIOKafkaConsumer.commit = timed("commit (offsets)", AIOKafkaConsumer.commit)  # type: ignore[method-assign]


def ledger(rows: int, advertisers: int = 200) -> list[tuple[bytes, bytes]]:
    out = []
    for i in range(rows):
        adv = f"a-{i % advertisers}"
        ts = f"2026-11-{24 + i * 2 // rows:02d}T{i * 48 // rows % 24:02d}:{i % 60:02d}:00+00:00"
        e = LedgerEntry(adv, f"k-7-{i}", "click", -100 * (1 + i % 10), 10**9 - i, ts, f"c-{1 + i % 3}")
        out.append((adv.encode(), orjson.dumps(dataclasses.asdict(e))))
    return out


async def run(args: argparse.Namespace, root: Path) -> str:
    settings_partitions = load_settings().topic_partitions
    with broker(root / "kafka") as cluster:
        bootstrap = cluster.bootstrap_servers
        topic, orders = "stages.ad-ledger", "stages.orders"
        await create_topics(bootstrap, [topic, orders], settings_partitions)
        gate = Gate(bootstrap)
        await gate.load(topic, ledger(args.rows))
        await gate.open()
        await gate.close()
        committed = await audit.read_committed({"bootstrap_servers": bootstrap}, topic)
        instrument()
        from lake.sink import Sink  # after instrument(): it takes the wrapped functions

        settings = load_settings(
            kafka_bootstrap_servers=bootstrap, app_id="stages", topic_ad_ledger=topic, topic_orders=orders,
            lake_url=str(root / "lake"), lake_rotate_records=args.rotate_records, lake_rotate_seconds=2.0,
        )  # fmt: skip
        sink, stop = Sink(settings), asyncio.Event()
        fs = store.filesystem(settings)[0]
        cpu0, t0 = os.times(), time.monotonic()
        spent.clear(), cpu.clear(), calls.clear()
        task = asyncio.create_task(sink.run(stop))
        while rows_in_files(str(root / "lake"), topic) < len(committed):  # (a redo rewrites rows)
            if task.done():
                task.result()
            await asyncio.sleep(0.25)
        wall, cpu1 = time.monotonic() - t0, os.times()
        stop.set()
        await task
        result = audit.compare(committed, audit.file_rows(fs, str(root / "lake"), topic, "ledger"), "ledger")
        files = len(store.listing(fs, naming.topic_glob(str(root / "lake"), topic)))
    used = (cpu1.user - cpu0.user) + (cpu1.system - cpu0.system)
    n = len(committed)
    print(f"sink: {n:,} rows in {wall:.2f} s = {n / wall:,.0f} rows/s, {files} files; this process's "
          f"CPU {used:.2f} s ({used / wall:.0%} of one core, {used / n * 1e6:.1f} us a row)")  # fmt: skip
    print(f"  audit: {result.line()}")
    print(f"  {'stage':32s} {'wall s':>7s} {'CPU s':>7s} {'CPU us/row':>10s}")
    for stage, seconds in spent.most_common():
        per_row = cpu[stage] / n * 1e6
        print(f"  {stage:32s} {seconds:7.2f} {cpu[stage]:7.2f} {per_row:10.2f}  ({calls[stage]} calls)")
    rest = used - sum(cpu.values())
    print(f"  {'rest (loop, fetcher tasks, GC)':32s} {'':7s} {rest:7.2f} {rest / n * 1e6:10.2f}")
    return (
        f"bench.lake_stages: rows={n} rows_per_s={n / wall:.0f} cpu_s={used:.2f} "
        f"cpu_us_per_row={used / n * 1e6:.1f} wall_s={wall:.2f} files={files} ok={result.ok}"
    )


def main() -> int:
    p = argparse.ArgumentParser(prog="python -m bench.lake_stages", description=__doc__)
    p.add_argument("--rows", type=int, default=600_000)
    p.add_argument("--rotate-records", type=int, default=100_000)
    args = p.parse_args()
    load = os.getloadavg()
    root = Path(tempfile.mkdtemp(prefix="bench-lake-stages-"))
    try:
        line = asyncio.run(run(args, root))
    finally:
        shutil.rmtree(root, ignore_errors=True)
    print(f"load average at start {load[0]:.2f}, at end {os.getloadavg()[0]:.2f}")
    print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

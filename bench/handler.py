"""CPU per click of the budget handler alone, with no broker: ``python -m bench.handler``.

Runs the exactly-once batch path's per-batch work on the bench's clicks, partition by
partition, in batches of ``--batch`` records: the handler (parse, duplicate filter,
charge, daily rows, ledger records), ``prepare`` (state serialized, staged, changelog
records appended to aiokafka record batches) and the store's commit (one RocksDB write
batch per partition). What it leaves out is the broker: fetching and decoding, produce
requests, transaction round trips. Each phase is timed with ``time.process_time`` over
several repeats on fresh state; the best repeat is reported. The bench's worker spends
about two thirds of its CPU in these phases, so a lever for them shows here in seconds,
well above this shared machine's noise, before it is worth a whole ``make bench`` run.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from typing import Any


def _env(store_dir: str) -> None:
    os.environ.update(
        APP_ID=f"handler-bench-{uuid.uuid4().hex[:8]}",
        STORE_DIR=store_dir,
        PROCESSING_GUARANTEE="exactly_once",
        TOPIC_AD_CLICKS="ad-clicks",
        TOPIC_AD_BUDGET="ad-budget",
    )


class _Producer:
    """What TransactionBatch asks of aiokafka's transactional producer before delivery."""

    def __init__(self, max_bytes: int) -> None:
        from aiokafka.producer.message_accumulator import BatchBuilder

        self._new = lambda: BatchBuilder(max_bytes, 0, is_transactional=1)

    def create_batch(self) -> Any:
        return self._new()


def _batches(records: list[tuple[str, bytes, bytes]], partitions: int, size: int) -> dict[int, list[list]]:
    from aiokafka.partitioner import DefaultPartitioner

    from streaming.partition_batch import Record

    part = DefaultPartitioner()
    by_partition: dict[int, list[Record]] = defaultdict(list)
    every = list(range(partitions))
    for offset, (topic, key, value) in enumerate(records):
        p = part(key, every, every)
        by_partition[p].append(Record(topic, p, offset, 1_764_000_000_000 + offset, key, value))
    return {p: [rs[i : i + size] for i in range(0, len(rs), size)] for p, rs in by_partition.items()}


def run(clicks: int, advertisers: int, batch: int, repeats: int, kernel: str = "auto") -> dict[str, float]:
    from agents.budgets import load_kernel
    from app import app
    from bench.workload import BenchClicks
    from config.settings import BudgetKernel
    from eos.batch_path import TransactionBatch, _store
    from eos.runtime import runtime_of

    app.in_worker = True  # Faust opens transactional stores only in a worker
    handler = runtime_of(app).handlers[app.settings.topic_ad_clicks]
    handler.__self__.kernel = load_kernel(BudgetKernel(kernel))  # agents.budgets.BudgetHandler
    t = app.runtime.tables
    work = BenchClicks(advertisers, clicks, seed=1, topics=("ad-budget", "ad-clicks"))
    inputs = [("ad-budget", k, v) for k, v in work.top_ups] + [("ad-clicks", k, v) for k, v in work.clicks]
    batches = _batches(inputs, app.conf.topic_partitions, batch)
    max_bytes = app.settings.producer_max_batch_bytes
    producer = _Producer(max_bytes)
    tables = (t.accounting, t.budgets, t.daily_stats, t.seen_budget_events)
    best: dict[str, float] = {}
    for _ in range(repeats):
        for table in tables:  # fresh state: drop what the last repeat committed
            store = _store(table)
            for p in range(app.conf.topic_partitions):
                db = store._db_for_partition(p)
                for key in list(db.keys()):
                    db.delete(key)
        spent = dict.fromkeys(("handler", "prepare", "commit"), 0.0)
        for p, chunks in batches.items():
            for records in chunks:
                tb = TransactionBatch(producer, None, p, records, max_bytes)  # type: ignore[arg-type]
                t0 = time.process_time()
                handler(tb)
                t1 = time.process_time()
                tb.prepare()
                t2 = time.process_time()
                for table in tables:
                    _store(table).commit([p])
                t3 = time.process_time()
                spent["handler"] += t1 - t0
                spent["prepare"] += t2 - t1
                spent["commit"] += t3 - t2
        spent["total"] = sum(spent.values())
        for phase, seconds in spent.items():
            best[phase] = min(best.get(phase, seconds), seconds)
        _check(work.oracle()["advertisers"], _store(t.budgets), batches)
    return {phase: seconds / len(inputs) * 1e6 for phase, seconds in best.items()}


def _check(expected: dict[str, dict], store: Any, batches: dict[int, list[list]]) -> None:
    """Every advertiser's committed budget equals the oracle's: the handler really ran."""
    import orjson

    partition_of = {r.key: p for p, chunks in batches.items() for chunk in chunks for r in chunk}
    wrong = []
    for advertiser, fields in expected.items():
        key = advertiser.encode()
        raw = store.read(partition_of[key], key)
        got = orjson.loads(raw) if raw is not None else {}
        if any(got.get(name) != value for name, value in fields.items()):
            wrong.append(f"{advertiser}: expected {fields}, got {got}")
    if wrong:
        raise RuntimeError(f"{len(wrong)} budgets differ from the oracle, e.g. {wrong[:3]}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.handler", description=__doc__.splitlines()[0])
    parser.add_argument("--clicks", type=int, default=200_000)
    parser.add_argument("--advertisers", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=5_000, help="records per partition batch")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--kernel", choices=("native", "python", "both"), default="both",
        help="the budget handler's implementation (BUDGET_KERNEL); both: one after the other, same run",
    )  # fmt: skip
    args = parser.parse_args(argv)
    kernels = ("python", "native") if args.kernel == "both" else (args.kernel,)
    with tempfile.TemporaryDirectory(prefix="handler-bench-") as store_dir:
        _env(store_dir)
        for kernel in kernels:
            per = run(args.clicks, args.advertisers, args.batch, args.repeats, kernel)
            figures = " ".join(f"{phase}={us:.2f}" for phase, us in per.items())
            events = args.clicks + args.advertisers
            print(f"handler: kernel={kernel} events={events} batch={args.batch} us_per_event: {figures}")
            sys.stdout.flush()


if __name__ == "__main__":
    main()

"""``python -m bench.lake``: the lake's sink beside the clicks drain, on one broker, one worker.

In one run, alternating (the order flipped each round): the worker's drain of
pre-loaded clicks without a sink and with the sink beside it (``bench.lake_drain``);
then a fresh sink group over the whole ledger backlog alone (ledger rows/s into
Parquet), and the Parquet bytes against the JSON records' bytes. Last line:
``bench.lake: ...``. Stage by stage, in one process: ``bench.lake_stages``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import NamedTuple

import fsspec

from bench.lake_drain import SinkRun, drain, until_rows
from infra.kafka import KafkaCluster, fetch
from lake import audit, columns, naming, store


def say(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def _sink_seconds(log: Path) -> float:
    """From the sink's first partition assigned to its last batch published, by its own log."""
    stamps = {"assigned": [], "published": []}
    for line in log.read_text(errors="replace").splitlines():
        for word, found in stamps.items():
            if f"] {word}" in line or f") {word}" in line:
                found.append(datetime.strptime(line[1:24], "%Y-%m-%d %H:%M:%S,%f"))
    return (max(stamps["published"]) - min(stamps["assigned"])).total_seconds()


def _encode_rate(values: list[bytes]) -> float:
    """Rows/s of the sink's own work on one core: decode, Arrow tables, Parquet bytes."""
    records = [_Record(i, 0, v) for i, v in enumerate(values)]
    t0 = time.perf_counter()
    for start in range(0, len(records), 100_000):
        for table in columns.ledger_tables(0, records[start : start + 100_000]).values():
            store.parquet_bytes(table)
    return len(values) / (time.perf_counter() - t0)


class _Record(NamedTuple):
    offset: int
    timestamp: int
    value: bytes


async def backlog(bootstrap: str, last: dict, root: Path) -> dict:
    """A new sink group over the whole ledger of the last drain: rows/s into Parquet, and the bytes."""
    topic = last["ledger"]
    committed = await audit.read_committed({"bootstrap_servers": bootstrap}, topic)
    lake = root / "lake-backlog"
    worker = last["worker"]
    sink = SinkRun(worker, lake, APP_ID=f"{worker.name}-backlog", LAKE_ROTATE_SECONDS="2")
    sink.log = root / "sink-backlog.log"
    t0 = time.time()
    sink.start()
    try:
        done = await until_rows(str(lake), topic, len(committed))
        cpu = sink.cpu_seconds()
    finally:
        sink.stop()
    working = _sink_seconds(sink.log)
    fs = fsspec.filesystem("file")
    parquet = sum(fs.size(p) for p in store.listing(fs, naming.topic_glob(str(lake), topic)))
    json_bytes = sum(len(v) for v in committed.values())
    result = audit.compare(committed, audit.file_rows(fs, str(lake), topic, "ledger"), "ledger")
    return {
        "rows": len(committed), "rows_per_s": len(committed) / (done - t0), "json_bytes": json_bytes,
        "working_rows_per_s": len(committed) / working, "cpu_s": cpu,
        "encode_rows_per_s": _encode_rate(list(committed.values())),
        "parquet_bytes": parquet, "ratio": json_bytes / parquet, "audit": result.line(),
    }  # fmt: skip


async def main(args: argparse.Namespace) -> int:
    fetch()
    root = Path(tempfile.mkdtemp(prefix="bench-lake-", dir=args.dir))
    load = os.getloadavg()
    with contextlib.nullcontext() if args.bootstrap else KafkaCluster(root / "kafka", brokers=1) as cluster:
        bootstrap = args.bootstrap or cluster.bootstrap_servers
        rates: dict[bool, list[float]] = {False: [], True: []}
        last = None
        for r in range(args.rounds):
            # Alternating, and the order flipped each round: a drift favours neither.
            for with_sink in (False, True) if r % 2 == 0 else (True, False):
                tag = f"{root.name.rsplit('-', 1)[-1]}-r{r}{'s' if with_sink else 'n'}"
                res = await drain(bootstrap, root, tag, args.clicks, args.advertisers, 6, with_sink)
                if not res["verified"]:
                    raise RuntimeError(f"{tag}: the budgets differ from the oracle: {res['diffs']}")
                rates[with_sink].append(res["clicks_per_s"])
                mode = "on" if with_sink else "off"
                behind = ""
                if with_sink:
                    behind = (f", sink done {res['sink_behind_s']:.1f} s after the drain "
                              f"({res['sink_rows_per_s']:,.0f} ledger rows/s from the gate opening, "
                              f"sink CPU {res['sink_cpu_s']:.1f} s)")  # fmt: skip
                    last = res
                say(f"round {r + 1} sink={mode}: worker drained {res['clicks_per_s']:,.0f} clicks/s "
                    f"(worker CPU {res['worker_cpu_s']:.1f} s){behind}")  # fmt: skip
        assert last is not None
        b = await backlog(bootstrap, last, root)
    took = b["rows"] / b["rows_per_s"]
    say(f"backlog: {b['rows']:,} ledger rows in {took:.2f} s from the sink's start "
        f"(sink CPU {b['cpu_s']:.1f} s); {b['audit']}")  # fmt: skip
    ratio = sum(rates[True]) / sum(rates[False])
    print(
        f"bench.lake: clicks={args.clicks} drain_no_sink={[round(x) for x in rates[False]]} "
        f"drain_with_sink={[round(x) for x in rates[True]]} with_over_without={ratio:.2f} "
        f"sink_rows_per_s={b['rows_per_s']:.0f} sink_working_rows_per_s={b['working_rows_per_s']:.0f} "
        f"encode_rows_per_s={b['encode_rows_per_s']:.0f} "
        f"json_bytes={b['json_bytes']} parquet_bytes={b['parquet_bytes']} smaller={b['ratio']:.1f}x "
        f"load={load[0]:.2f}->{os.getloadavg()[0]:.2f}"
    )
    return 0


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.lake", description=__doc__)
    p.add_argument("--clicks", type=int, default=200_000)
    p.add_argument("--advertisers", type=int, default=1000)
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--dir", default=None)
    p.add_argument("--bootstrap", default="", help="a running broker to use instead of one of its own")
    return p.parse_args(argv)


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main(parse())))

"""``python -m bench.lake``: the lake's sink beside the clicks drain, on one broker, one worker.

In one run, alternating: the clicks drain (loadgen with barriers, one worker)
without a sink and with the sink running beside it; then a fresh sink group
over the whole ledger backlog alone (ledger rows/s into Parquet), and the
Parquet bytes against the JSON records' bytes. Last line: ``bench.lake: ...``.
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import tempfile
import time
from datetime import datetime
from pathlib import Path

import fsspec
import pyarrow.parquet as pq

from infra.kafka import KafkaCluster, fetch
from infra.lake_sink import SinkProcess
from infra.workers import FAUST, REPO, Deployment, Worker
from lake import audit, naming, rows, schema, store


def say(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def _rows(root: str, topic: str) -> int:
    """Rows in the published files, from their footers (cheap enough to poll)."""
    fs = fsspec.filesystem("file")
    return sum(pq.read_metadata(p).num_rows for p in store.listing(fs, naming.topic_glob(root, topic)))


def _sink_seconds(log: Path) -> float:
    """From the sink's first partition assigned to its last batch published, by its own log."""
    stamps = {"assigned": [], "published": []}
    for line in log.read_text(errors="replace").splitlines():
        for word, found in stamps.items():
            if f"] {word}" in line or f") {word}" in line:
                found.append(datetime.strptime(line[1:24], "%Y-%m-%d %H:%M:%S,%f"))
    return (max(stamps["published"]) - min(stamps["assigned"])).total_seconds()


def _encode_rate(values: list[bytes]) -> float:
    """Rows/s of the sink's own work on one core: decode, Arrow table, Parquet bytes."""
    t0 = time.perf_counter()
    for start in range(0, len(values), 100_000):
        batch = [rows.ledger_row(0, i, 0, v) for i, v in enumerate(values[start : start + 100_000])]
        store.parquet_bytes(schema.to_table(rows.LEDGER, batch))
    return len(values) / (time.perf_counter() - t0)


async def _wait_rows(root: str, topic: str, want: int, timeout: float = 600) -> float:
    deadline = time.monotonic() + timeout
    while _rows(root, topic) < want:
        if time.monotonic() > deadline:
            raise RuntimeError(f"the sink wrote {_rows(root, topic)} of {want} rows")
        await asyncio.sleep(0.5)
    return time.monotonic()


async def drain(bootstrap: str, root: Path, clicks: int, with_sink: bool) -> dict:
    deployment = Deployment(bootstrap=bootstrap, root=root)
    worker = Worker(deployment).start()
    lake = str(root / "lake")
    sink = SinkProcess(deployment, lake, LAKE_ROTATE_SECONDS="2") if with_sink else None
    try:
        await worker.wait_http()
        if sink is not None:
            sink.start()
        t0 = time.monotonic()
        gen = await asyncio.to_thread(
            subprocess.run,
            [FAUST, "-A", "app", "loadgen", "clicks", "--count", str(clicks), "--advertisers", "200",
             "--rounds", "4", "--dup-rate", "0", "--bad-rate", "0", "--seed", "7",
             "--oracle", str(root / "oracle.json")],
            cwd=REPO, env=deployment.env(), capture_output=True, text=True,
        )  # fmt: skip
        drained = time.monotonic()
        if gen.returncode != 0:
            raise RuntimeError(gen.stderr[-2000:])
        out = {"clicks_per_s": clicks / (drained - t0), "deployment": deployment, "lake": lake}
        if sink is not None:
            topic = deployment.topic("TOPIC_AD_LEDGER")
            committed = await audit.read_committed({"bootstrap_servers": bootstrap}, topic)
            done = await _wait_rows(lake, topic, len(committed))
            out["sink_behind_s"] = done - drained
        return out
    finally:
        if sink is not None:
            sink.stop()
        worker.stop()


async def backlog(bootstrap: str, deployment: Deployment, root: Path) -> dict:
    """A new sink group over the whole ledger: rows/s into Parquet, and the bytes."""
    topic = deployment.topic("TOPIC_AD_LEDGER")
    committed = await audit.read_committed({"bootstrap_servers": bootstrap}, topic)
    lake = str(root / "lake-backlog")
    sink = SinkProcess(deployment, lake, APP_ID=f"{deployment.name}-backlog", LAKE_ROTATE_SECONDS="2")
    sink.log = root / "sink-backlog.log"
    t0 = time.monotonic()
    sink.start()
    try:
        done = await _wait_rows(lake, topic, len(committed))
    finally:
        sink.stop()
    working = _sink_seconds(sink.log)
    fs = fsspec.filesystem("file")
    parquet = sum(fs.size(p) for p in store.listing(fs, naming.topic_glob(lake, topic)))
    json_bytes = sum(len(v) for v in committed.values())
    result = audit.compare(committed, audit.file_rows(fs, lake, topic, "ledger"), "ledger")
    return {
        "rows": len(committed), "rows_per_s": len(committed) / (done - t0), "json_bytes": json_bytes,
        "working_rows_per_s": len(committed) / working,
        "encode_rows_per_s": _encode_rate(list(committed.values())),
        "parquet_bytes": parquet, "ratio": json_bytes / parquet, "audit": result.line(),
    }  # fmt: skip


async def main(args: argparse.Namespace) -> int:
    fetch()
    root = Path(tempfile.mkdtemp(prefix="bench-lake-", dir=args.dir))
    with KafkaCluster(root / "kafka", brokers=1) as cluster:
        bootstrap = cluster.bootstrap_servers
        rates: dict[bool, list[float]] = {False: [], True: []}
        last = None
        for r in range(args.rounds):
            for with_sink in (False, True):
                res = await drain(bootstrap, root / f"drain-{r}-{int(with_sink)}", args.clicks, with_sink)
                rates[with_sink].append(res["clicks_per_s"])
                behind = f", sink done {res['sink_behind_s']:.1f} s after" if with_sink else ""
                mode = "on" if with_sink else "off"
                say(f"round {r + 1} sink={mode}: {res['clicks_per_s']:,.0f} clicks/s{behind}")
                if with_sink:
                    last = res
        assert last is not None
        b = await backlog(bootstrap, last["deployment"], root)
    took = b["rows"] / b["rows_per_s"]
    say(f"backlog: {b['rows']:,} ledger rows in {took:.2f} s from the sink's start; {b['audit']}")
    print(
        f"bench.lake: clicks={args.clicks} drain_no_sink={[round(x) for x in rates[False]]} "
        f"drain_with_sink={[round(x) for x in rates[True]]} sink_rows_per_s={b['rows_per_s']:.0f} "
        f"sink_working_rows_per_s={b['working_rows_per_s']:.0f} "
        f"encode_rows_per_s={b['encode_rows_per_s']:.0f} "
        f"json_bytes={b['json_bytes']} parquet_bytes={b['parquet_bytes']} smaller={b['ratio']:.1f}x"
    )
    return 0


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.lake", description=__doc__)
    p.add_argument("--clicks", type=int, default=200_000)
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--dir", default=None)
    return p.parse_args(argv)


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main(parse())))

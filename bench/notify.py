"""``python -m bench.notify``: notifications to a 100 ms receiver, side by side in one run.

On a broker of its own: one topic of ``--partitions`` (6) partitions holding ``--events``
(100,000) events over ``--keys`` (10,000) keys; ``--receivers`` (1) receiver processes on one
port answering each call after ``--latency`` (0.1 s): ``bench.notify_receiver`` (a bare asyncio
protocol), or ``--receiver aiohttp`` for ``tests.receiver``. Then, each in a consumer group of
its own, ``--processes`` (1) ``python -m notify`` (``--event-loop``; ``--notify-from DIR``: the
``notify/`` package of DIR, to measure a change against the code before it) in:

- ``partition`` mode: one call at a time per partition, what a consumer per partition does
  (the baseline), on the first ``--baseline-events`` (600) events only: at 60 calls/s the
  whole topic would take half an hour; its rate is what it is on any slice;
- ``key`` mode and ``unordered`` mode, ``--max-in-flight`` (1000), on every event;
- ``key`` mode SIGKILLed once after ``--kill-after`` deliveries, then restarted.

Rates are deliveries / (last call answered - first call received), by the receivers' clocks.
Order violations: first calls of a key that arrived after the first call of a higher offset of
that key. Repeated: calls of an offset after its first delivery. CPU: microseconds of CPU per
delivery (committed), by role (notify processes, receivers, the broker's JVM), from the first
commit to the last round before the end.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from bench.broker import broker, create_topics
from bench.measure import cpu_seconds
from tests.receiver import _free_port


async def produce(bootstrap: str, topic: str, events: int, keys: int) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=5, max_batch_size=256 * 1024)
    await producer.start()
    try:
        for n in range(events):
            key = f"u{n % keys}"
            value = orjson.dumps({"event_id": f"e{n}", "user_id": key, "status": "paid", "n": n})
            await producer.send(topic, value, key=key.encode())
        await producer.flush()
    finally:
        await producer.stop()


async def committed_total(bootstrap: str, group: str, upto: dict[TopicPartition, int]) -> int:
    """Committed offsets summed, each partition's counted up to its slice's end only (a partition
    past its slice must not make up for one behind it)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        offsets = await admin.list_consumer_group_offsets(group, partitions=list(upto))
        return sum(min(max(om.offset, 0), upto[tp]) for tp, om in offsets.items())
    finally:
        await admin.close()


async def end_offsets(bootstrap: str, tps: list[TopicPartition]) -> dict[TopicPartition, int]:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap)
    await consumer.start()
    try:
        return await consumer.end_offsets(tps)
    finally:
        await consumer.stop()


RECEIVERS = {"raw": "bench.notify_receiver", "aiohttp": "tests.receiver"}


class Receivers:
    def __init__(self, latency: float, out: Path, processes: int = 1, kind: str = "raw") -> None:
        self.port = _free_port()
        self.files = [out / f"calls-{self.port}-{i}.jsonl" for i in range(processes)]
        self.procs = [
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    RECEIVERS[kind],
                    "--port",
                    str(self.port),
                    "--latency",
                    str(latency),
                    "--out",
                    str(f),
                ]
            )  # fmt: skip
            for f in self.files
        ]
        time.sleep(1.5)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/notifications"

    def stop(self) -> list[dict]:
        for p in self.procs:
            p.send_signal(signal.SIGTERM)
        for p in self.procs:
            p.wait(60)
        return [orjson.loads(line) for f in self.files for line in f.read_bytes().splitlines()]


def notifier(env: dict[str, str], log: Path, cwd: str | None = None) -> subprocess.Popen[bytes]:
    """``python -m notify``; from ``cwd``'s ``notify/`` when given (another version, the rest of
    the project from this tree: how a change is measured against the code before it)."""
    if cwd:
        env = {**env, "PYTHONPATH": os.pathsep.join([cwd, os.getcwd()])}
    with open(log, "ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "notify"], env={**os.environ, **env}, stdout=out, stderr=out, cwd=cwd
        )


def violations(calls: list[dict]) -> int:
    """First calls of a key that arrived after the first call of a higher offset of that key
    (a repeat after a crash goes again in order; it is counted as repeated, not here)."""
    last: dict[tuple[int, str], int] = {}
    bad = 0
    first: dict[tuple[int, int], dict] = {}
    for c in sorted(calls, key=lambda c: c["arrived"]):
        first.setdefault((c["partition"], c["offset"]), c)
    for c in sorted(first.values(), key=lambda c: c["arrived"]):
        lane = (c["partition"], c["key"])
        if c["offset"] < last.get(lane, -1):
            bad += 1
        last[lane] = max(c["offset"], last.get(lane, -1))
    return bad


def cpu(pids: dict[str, list[int]]) -> dict[str, float]:
    return {role: sum(cpu_seconds(pid) or 0.0 for pid in ps) for role, ps in pids.items()}


async def run_mode(
    args,
    bootstrap: str,
    topic: str,
    mode: str,
    upto: dict,
    out: Path,
    broker_pids: list[int],
    kill_after: int = 0,
) -> dict:  # type: ignore[no-untyped-def]
    group_app = f"bench-{mode}-{'kill' if kill_after else 'run'}"
    target = sum(upto.values())
    receivers = Receivers(args.latency, out, args.receivers, args.receiver)
    env = {
        "KAFKA_BOOTSTRAP_SERVERS": bootstrap, "APP_ID": group_app, "NOTIFY_URL": receivers.url,
        "NOTIFY_TOPICS": topic, "NOTIFY_MODE": mode, "NOTIFY_MAX_IN_FLIGHT": str(args.max_in_flight),
        "TOPIC_PARTITIONS": str(args.partitions), "SESSION_TIMEOUT": "20",
        "NOTIFY_EVENT_LOOP": args.event_loop,
    }  # fmt: skip
    log = out / f"{group_app}.log"
    # One consumer group: the partitions are shared out between the processes.
    procs = [notifier(env, log, args.notify_from) for _ in range(args.processes)]
    killed_at = 0
    first: tuple[int, dict[str, float]] | None = None
    last: tuple[int, dict[str, float]] = (0, {})
    try:
        deadline = time.monotonic() + args.timeout
        while time.monotonic() < deadline:
            await asyncio.sleep(0.5)
            done = await committed_total(bootstrap, f"{group_app}-notify", upto)
            pids = {"notify": [p.pid for p in procs], "receivers": [p.pid for p in receivers.procs],
                    "broker": broker_pids}  # fmt: skip
            if done and first is None:
                first = (done, cpu(pids))
            elif done < target:
                last = (done, cpu(pids))  # before the final round: a process may be exiting
            if kill_after and not killed_at and done >= kill_after:
                procs[0].send_signal(signal.SIGKILL)
                procs[0].wait(10)
                killed_at = done
                procs[0] = notifier(env, log, args.notify_from)
                first = None  # the CPU of a killed process is gone: count from the restart
            if done >= target:
                break
        else:
            raise TimeoutError(f"{mode}: not done after {args.timeout}s (see {log})")
    finally:
        for p in procs:
            p.send_signal(signal.SIGTERM)
        for p in procs:
            p.wait(30)
        calls = receivers.stop()
    calls = [c for c in calls if c["offset"] < upto[TopicPartition(topic, c["partition"])]]
    ok = [c for c in calls if c["status"] == 200]
    places = defaultdict(int)
    for c in ok:
        places[(c["partition"], c["offset"])] += 1
    span = max(c["answered"] for c in ok) - min(c["arrived"] for c in calls)
    per_delivery = {}
    if first is not None and last[0] > first[0]:
        n = last[0] - first[0]
        per_delivery = {role: (last[1][role] - first[1][role]) / n * 1e6 for role in last[1]}
    return {
        "mode": mode, "events": target, "delivered": len(places), "calls": len(ok),
        "rate": len(places) / span, "seconds": span, "violations": violations(ok),
        "repeated": sum(n - 1 for n in places.values()), "killed_at_committed": killed_at,
        "cpu_us_per_delivery": {k: round(v) for k, v in per_delivery.items()},
    }  # fmt: skip


async def main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-notify-") as tmp, broker(Path(tmp) / "kafka") as cluster:
        out = Path(tmp)
        bootstrap = cluster.bootstrap_servers
        topic = "bench-notify"
        await create_topics(bootstrap, [topic], args.partitions)
        started = time.monotonic()
        await produce(bootstrap, topic, args.events, args.keys)
        print(
            f"produced {args.events} events over {args.keys} keys in {time.monotonic() - started:.1f}s",
            flush=True,
        )
        tps = [TopicPartition(topic, p) for p in range(args.partitions)]
        ends = await end_offsets(bootstrap, tps)
        per = max(1, args.baseline_events // args.partitions)
        slices = {tp: min(per, end) for tp, end in ends.items()}
        pids = [pid for pid in cluster.node_pids().values() if pid]
        results = [await run_mode(args, bootstrap, topic, "partition", slices, out, pids)]
        print(results[-1], flush=True)
        for mode in args.modes.split(","):
            results.append(await run_mode(args, bootstrap, topic, mode, ends, out, pids))
            print(results[-1], flush=True)
        if args.kill_after:
            results.append(
                await run_mode(args, bootstrap, topic, "key", ends, out, pids, kill_after=args.kill_after)
            )
            print(results[-1], flush=True)
        base = results[0]["rate"]
        for r in results:
            print(
                f"notify: mode={r['mode']} events={r['events']} delivered={r['delivered']} "
                f"rate={r['rate']:.0f}/s ({r['rate'] / base:.1f}x baseline) violations={r['violations']} "
                f"repeated={r['repeated']}"
                + (f" killed_at_committed={r['killed_at_committed']}" if r["killed_at_committed"] else "")
                + " cpu_us_per_delivery="
                + ",".join(f"{k}:{v}" for k, v in r["cpu_us_per_delivery"].items())
            )


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--events", type=int, default=100_000)
    p.add_argument("--keys", type=int, default=10_000)
    p.add_argument("--partitions", type=int, default=6)
    p.add_argument("--latency", type=float, default=0.1)
    p.add_argument("--max-in-flight", type=int, default=1000)
    p.add_argument("--baseline-events", type=int, default=600)
    p.add_argument("--kill-after", type=int, default=30_000, help="0: no SIGKILL run")
    p.add_argument("--timeout", type=float, default=600)
    p.add_argument("--modes", default="key,unordered", help="beside the baseline, comma-separated")
    p.add_argument("--processes", type=int, default=1, help="python -m notify processes in the group")
    p.add_argument("--receivers", type=int, default=1, help="receiver processes on one port")
    p.add_argument("--receiver", choices=sorted(RECEIVERS), default="raw")
    p.add_argument("--event-loop", choices=("asyncio", "uvloop"), default="asyncio")
    p.add_argument("--notify-from", help="a directory holding another notify/ package to measure")
    asyncio.run(main(p.parse_args()))

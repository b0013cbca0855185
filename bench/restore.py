"""``python -m bench.restore``: restore, restart and takeover, the bulk restore against Faust's path.

1. restore: a changelog holding ``--keys`` keys (written in transactions, as the
   app writes it), a worker with an empty state directory: seconds until /readyz,
   and the restore's own rate.
2. restart: that worker SIGKILLed and started again on its state directory:
   process start -> /readyz 200 (``--restarts`` times).
3. takeover: two workers on that changelog, one SIGKILLed; seconds until the
   survivor is ready again, with standby replicas (1) and without (0).

Each is measured with ``BULK_RESTORE`` on (new) and off (old: Faust's per-record
path), one after the other on the same broker. Prints one line per measurement
and a last line ``restore: keys=... rate_new=... rate_old=... ...``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import signal
import tempfile
import time
import uuid
from pathlib import Path

import aiohttp
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from bench.broker import broker
from bench.worker import Worker

TABLE = "seen_orders"  # order_id -> epoch seconds, the app's largest table
RESTORED = re.compile(r"tables restored: (\d+) changelog offsets in ([\d.]+)s")


async def fill_changelog(bootstrap: str, app_id: str, keys: int, partitions: int) -> None:
    topic = f"{app_id}-{TABLE}-changelog"
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics(
            [NewTopic(topic, partitions, 1, topic_configs={"cleanup.policy": "compact"})]
        )
    finally:
        await admin.close()
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        transactional_id=f"{app_id}-fill",
        linger_ms=20,
        max_batch_size=512 * 1024,
    )
    await producer.start()
    try:
        for start in range(0, keys, 50_000):
            async with producer.transaction():
                for i in range(start, min(keys, start + 50_000)):
                    await producer.send(topic, key=f"o-bench-{i:09d}".encode(), value=b"1795579066")
    finally:
        await producer.stop()


async def readyz(http: aiohttp.ClientSession, worker: Worker) -> dict | None:
    """The /readyz body, with ``ready``; None while the worker does not answer."""
    try:
        async with http.get(f"{worker.url}/readyz") as resp:
            return {**await resp.json(), "ready": resp.status == 200}
    except (TimeoutError, aiohttp.ClientError, OSError):
        return None


async def until(http: aiohttp.ClientSession, worker: Worker, test, timeout: float = 900) -> float:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        worker.check_alive()
        body = await readyz(http, worker)
        if body is not None and test(body):
            return time.monotonic()
        await asyncio.sleep(0.1)
    raise TimeoutError(f"{worker.name}: condition not met after {timeout:.0f}s\n{worker.tail()}")


async def caught_up(http: aiohttp.ClientSession, worker: Worker, steady: int = 3) -> None:
    """Ready, and the standby lag unchanged for ``steady`` seconds (under exactly-once
    it settles at a few offsets: the transaction markers after the last records)."""
    seen: list[int | None] = []
    while len(seen) < steady or len(set(seen[-steady:])) > 1:
        await until(http, worker, lambda b: b["ready"])
        seen.append((await readyz(http, worker) or {}).get("standby_records_remaining"))
        await asyncio.sleep(1)


async def restores_since(worker: Worker, offset: int, timeout: float = 10) -> list[tuple[int, float]]:
    """The recoveries the worker logged (its summary line follows /readyz by up to a second)."""
    deadline = time.monotonic() + timeout
    while True:
        text = worker.log.read_bytes()[offset:].decode(errors="replace")
        found = [(int(n), float(s)) for n, s in RESTORED.findall(text)]
        if found or time.monotonic() > deadline:
            return found
        await asyncio.sleep(0.2)


def new_worker(root: Path, app_id: str, bootstrap: str, index: int, **env: str) -> Worker:
    worker = Worker(root, f"{app_id}-w{index}", bootstrap, {})
    worker.env.update(APP_ID=app_id, **env)  # the workers share the app (and its changelog)
    return worker


async def restore_and_restart(
    root: Path, bootstrap: str, keys: int, partitions: int, restarts: int, path: str, results: dict
) -> None:
    app_id = f"restore-{path}-{uuid.uuid4().hex[:6]}"
    started = time.monotonic()
    await fill_changelog(bootstrap, app_id, keys, partitions)
    print(f"restore: wrote {keys} keys to {app_id}-{TABLE}-changelog in {time.monotonic() - started:.1f}s")
    env = {"TOPIC_PARTITIONS": str(partitions), "BULK_RESTORE": str(path == "new").lower()}
    worker = new_worker(root, app_id, bootstrap, 0, **env).start()
    started = time.monotonic()
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as http:
            ready = await until(http, worker, lambda b: b["ready"])
            phases = await restores_since(worker, 0)
            offsets, phase = phases[-1]
            results[f"restore_s_{path}"] = ready - started
            results[f"rate_{path}"] = offsets / phase if phase else float("inf")
            print(
                f"restore ({path}): {keys} keys, empty state -> /readyz 200 in {ready - started:.1f}s"
                f" (restore phase {phase:.2f}s for {offsets} changelog offsets,"
                f" {results[f'rate_{path}']:.0f}/s)"
            )
            took = []
            for _ in range(restarts):
                os.killpg(worker.pid, signal.SIGKILL)
                worker.start()  # the same state directory
                started = time.monotonic()
                took.append(await until(http, worker, lambda b: b["ready"]) - started)
            if took:
                results[f"restart_s_{path}"] = max(took)
                print(f"restart ({path}): SIGKILL, start on the same state -> /readyz 200 in "
                      + ", ".join(f"{s:.1f}s" for s in took))  # fmt: skip
    finally:
        worker.stop()


async def takeover(
    root: Path, bootstrap: str, keys: int, partitions: int, standbys: int, path: str, results: dict
) -> None:
    app_id = f"takeover{standbys}-{path}-{uuid.uuid4().hex[:6]}"
    await fill_changelog(bootstrap, app_id, keys, partitions)
    env = {
        "STANDBY_REPLICAS": str(standbys),
        "TOPIC_PARTITIONS": str(partitions),
        "BULK_RESTORE": str(path == "new").lower(),
    }
    survivor, victim = (new_worker(root, app_id, bootstrap, i, **env) for i in range(2))
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as http:
            # The victim first: the survivor never held the victim's partitions itself,
            # so without standby copies it must restore them from the changelog.
            victim.start()
            await until(http, victim, lambda b: b["ready"])
            survivor.start()
            for w in (survivor, victim):  # settled, and the standby copies caught up
                await caught_up(http, w)
            logged = len(survivor.log.read_bytes())
            os.killpg(victim.pid, signal.SIGKILL)
            killed = time.monotonic()
            noticed = await until(http, survivor, lambda b: not b["ready"])
            ready = await until(http, survivor, lambda b: b["ready"])
        restored = sum(n for n, _ in await restores_since(survivor, logged))
        results[f"takeover{standbys}_s_{path}"] = ready - noticed
        print(
            f"takeover ({path}): standby_replicas={standbys}: SIGKILL -> rebalance {noticed - killed:.1f}s,"
            f" rebalance -> /readyz 200 {ready - noticed:.1f}s, {restored} changelog offsets restored"
        )
    finally:
        for w in (survivor, victim):
            w.stop()


async def run(bootstrap: str, root: Path, args: argparse.Namespace) -> dict:
    results: dict = {}
    for path in args.paths:
        if "restore" in args.parts:
            await restore_and_restart(
                root, bootstrap, args.keys, args.partitions, args.restarts, path, results
            )
    for standbys in (1, 0):
        for path in args.paths:
            if "takeover" in args.parts:
                await takeover(root, bootstrap, args.takeover_keys, args.partitions, standbys, path, results)
    return results


def main() -> None:
    p = argparse.ArgumentParser(prog="python -m bench.restore", description=__doc__.split("\n")[0])
    p.add_argument("--keys", type=int, default=1_000_000, help="keys in the changelog to restore")
    p.add_argument("--takeover-keys", type=int, default=1_000_000, help="keys for the takeover runs")
    p.add_argument("--partitions", type=int, default=6)
    p.add_argument("--parts", nargs="+", default=["restore", "takeover"], choices=["restore", "takeover"])
    p.add_argument("--paths", nargs="+", default=["new", "old"], choices=["new", "old"],
                   help="new: BULK_RESTORE=true; old: Faust's per-record recovery")  # fmt: skip
    p.add_argument("--restarts", type=int, default=3, help="SIGKILL + restart rounds after the restore")
    p.add_argument("--bootstrap", default=None, help="use this broker instead of starting one")
    args = p.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-restore-") as tmp:
        root = Path(tmp)
        if args.bootstrap:
            results = asyncio.run(run(args.bootstrap, root, args))
        else:
            with broker(root / "kafka") as cluster:
                results = asyncio.run(run(cluster.bootstrap_servers, root, args))
    figures = " ".join(f"{k}={v:.1f}" if v < 1000 else f"{k}={v:.0f}" for k, v in sorted(results.items()))
    print(
        f"restore: keys={args.keys} takeover_keys={args.takeover_keys} partitions={args.partitions} {figures}"
    )


if __name__ == "__main__":
    main()

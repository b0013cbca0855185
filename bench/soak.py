"""``python -m bench.soak``: many days of event time through one worker, at full speed.

Clicks and orders with record timestamps (and event times) spread over ``--days``
simulated days ending now are played day by day into one worker. At the
checkpoint days (1, the middle, the last) the worker stops and, per time-bounded
table, the bench prints:
- the keys and bytes of the worker's RocksDB (data keys; the time index apart);
- the changelog records a restore would read: what a read_committed read of the
  changelog returns (compaction works on rolled segments, by CHANGELOG_SEGMENT);
then a new worker starts with an empty state directory and the seconds until
its /readyz answers 200 are the restore time (all tables together); that worker
plays the following days.

Last line: ``soak: days=D keys_day1=.. keys_end=.. changelog_end=.. restore_s_day1=.. restore_s_end=..``
(keys and changelog records summed over the time-bounded tables).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import re
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from bench.broker import broker
from bench.worker import Worker

TABLES = ("seen_budget_events", "seen_orders", "category_hourly", "daily_stats")
CATEGORIES = ("books", "food", "toys", "home", "pets", "music")
DAY = 86_400
RESTORED = re.compile(r"tables restored: (\d+) changelog offsets in ([\d.]+)s")
INDEX = b"\xff\xfftime-index\x00"  # eos.store.INDEX (not imported: that builds the app)


class Soak:
    def __init__(self, args: argparse.Namespace, bootstrap: str, root: Path) -> None:
        self.args, self.bootstrap, self.root = args, bootstrap, root
        self.name = f"soak-{uuid.uuid4().hex[:6]}"
        self.start = int(time.time()) - args.days * DAY  # the broker's own retention keeps it all
        self.rng = random.Random(args.seed)
        self.sent: dict[str, int] = {}
        self.lives = 0
        self.worker = self._worker()
        self.topics = {v: self.worker.env[v] for v in ("TOPIC_AD_BUDGET", "TOPIC_AD_CLICKS", "TOPIC_ORDERS")}

    def _worker(self) -> Worker:
        self.lives += 1
        env = {
            "CHANGELOG_SEGMENT": f"{self.args.changelog_segment}s",
            "STANDBY_REPLICAS": "0",
            "TOPIC_PARTITIONS": str(self.args.partitions),
        }
        return Worker(self.root / f"life-{self.lives}", self.name, self.bootstrap, {}, env)

    async def create_sources(self) -> None:
        admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap)
        await admin.start()
        try:  # no wall-clock retention on the inputs: the simulated days are old
            await admin.create_topics(
                [
                    NewTopic(t, self.args.partitions, 1, topic_configs={"retention.ms": "-1"})
                    for t in self.topics.values()
                ]
            )
        finally:
            await admin.close()

    def day_records(self, day: int) -> list[tuple[str, bytes, bytes, int]]:
        """(topic, key, value, timestamp ms) of one simulated day, in time order."""
        a = self.args
        out = []
        if day == 0:
            for i in range(a.advertisers):
                adv = f"a-{i}"
                body = {
                    "event_id": f"t-{adv}",
                    "advertiser_id": adv,
                    "type": "top_up",
                    "amount": 10**15,
                    "ts": self._iso(self.start),
                }
                out.append(
                    (self.topics["TOPIC_AD_BUDGET"], adv.encode(), orjson.dumps(body), self.start * 1000)
                )
        base = self.start + day * DAY
        for i in range(a.clicks_per_day):
            at = base + i * DAY // a.clicks_per_day
            adv = f"a-{self.rng.randrange(a.advertisers)}"
            cid = (
                f"k-{day}-{i}" if self.rng.random() > 0.01 else f"k-{day}-{max(i - 5, 0)}"
            )  # a few duplicates
            body = {
                "click_id": cid,
                "advertiser_id": adv,
                "campaign_id": "c",
                "cpc": 100,
                "ts": self._iso(at),
            }
            out.append((self.topics["TOPIC_AD_CLICKS"], adv.encode(), orjson.dumps(body), at * 1000))
        for i in range(a.orders_per_day):
            at = base + i * DAY // a.orders_per_day
            user = f"u-{self.rng.randrange(1000)}"
            items = [{"sku": "s", "category": self.rng.choice(CATEGORIES), "quantity": 1, "unit_price": 1000}]
            body = {
                "order_id": f"o-{day}-{i}",
                "user_id": user,
                "created_at": self._iso(at),
                "currency": "KRW",
                "items": items,
            }
            out.append((self.topics["TOPIC_ORDERS"], user.encode(), orjson.dumps(body), at * 1000))
        return out

    @staticmethod
    def _iso(epoch: int) -> str:
        return datetime.fromtimestamp(epoch, UTC).isoformat()

    async def play(self, days: range) -> float:
        producer = AIOKafkaProducer(bootstrap_servers=self.bootstrap, linger_ms=20, max_batch_size=512 * 1024)
        await producer.start()
        try:
            for day in days:
                if day:  # a changelog segment rolls on the first append past segment.ms: one a day
                    await asyncio.sleep(self.args.day_pause)
                pending = []
                for topic, key, value, ts in self.day_records(day):
                    pending.append(await producer.send(topic, value, key=key, timestamp_ms=ts))
                    self.sent[topic] = self.sent.get(topic, 0) + 1
                await asyncio.gather(*pending)
        finally:
            await producer.stop()
        started = time.monotonic()
        await self.processed()
        return time.monotonic() - started

    async def processed(self, timeout: float = 1800) -> None:
        deadline = time.monotonic() + timeout
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as http:
            while time.monotonic() < deadline:
                self.worker.check_alive()
                stats = await self.worker.get(http, "/stats")
                if stats and all(
                    stats["topics"].get(t, {}).get("consumed") == n for t, n in self.sent.items()
                ):
                    return
                await asyncio.sleep(0.5)
        raise TimeoutError(f"not all records processed after {timeout:.0f}s\n{self.worker.tail()}")

    def local_state(self) -> dict[str, tuple[int, int]]:
        """Per table: (data keys, bytes on disk) in the stopped worker's RocksDB."""
        from rocksdict import AccessType, Options, Rdict

        out = {}
        for table in TABLES:
            keys = size = 0
            for path in self.worker.dir.glob(f"state/**/{table}-*.db"):
                size += sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
                db = Rdict(str(path), Options(raw_mode=True), access_type=AccessType.read_only())
                try:
                    keys += sum(
                        1 for k in db.keys() if not k.startswith(INDEX) and not k.startswith(b"__faust")
                    )
                finally:
                    db.close()
            out[table] = (keys, size)
        return out

    async def changelog_records(self) -> dict[str, int]:
        return {t: await committed_records(self.bootstrap, f"{self.name}-{t}-changelog") for t in TABLES}

    async def checkpoint(self, day: int) -> tuple[int, int, float]:
        await asyncio.sleep(self.args.settle)  # the log cleaner's turn
        self.worker.stop()
        state, changelog = self.local_state(), await self.changelog_records()
        for t in TABLES:
            keys, size = state[t]
            print(f"soak: day={day} table={t} keys={keys} bytes={size} changelog_records={changelog[t]}")
        self.worker = self._worker().start()  # empty state dir: restores everything
        started = time.monotonic()
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as http:
            ready = await until(http, self.worker, lambda b: b["ready"])
        for _ in range(50):  # the summary line follows /readyz by up to a second
            restored = RESTORED.findall(self.worker.log.read_text(errors="replace"))
            if restored:
                break
            await asyncio.sleep(0.2)
        offsets = restored[-1][0] if restored else "?"
        print(
            f"soak: day={day} restore_s={ready - started:.1f} (empty state -> /readyz 200; "
            f"{offsets} changelog offsets restored, all tables)"
        )
        return sum(k for k, _ in state.values()), sum(changelog.values()), ready - started


async def committed_records(bootstrap: str, topic: str) -> int:
    """How many records a read_committed read of ``topic`` returns, as a restore reads it."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, isolation_level="read_committed", enable_auto_commit=False
    )
    await consumer.start()
    try:
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
        await admin.start()
        try:
            (described,) = await admin.describe_topics([topic])
        finally:
            await admin.close()
        tps = [TopicPartition(topic, p["partition"]) for p in described["partitions"]]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)
        count = 0
        while [tp for tp in tps if await consumer.position(tp) < ends[tp]]:
            for batch in (await consumer.getmany(timeout_ms=1000, max_records=50_000)).values():
                count += len(batch)
        return count
    finally:
        await consumer.stop()


async def until(http: aiohttp.ClientSession, worker: Worker, test, timeout: float = 900) -> float:  # type: ignore[no-untyped-def]
    """The monotonic time at which the worker's /readyz body passes ``test``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        worker.check_alive()
        try:
            async with http.get(f"{worker.url}/readyz") as resp:
                if test({**await resp.json(), "ready": resp.status == 200}):
                    return time.monotonic()
        except (TimeoutError, aiohttp.ClientError, OSError):
            pass
        await asyncio.sleep(0.1)
    raise TimeoutError(f"{worker.name}: condition not met after {timeout:.0f}s\n{worker.tail()}")


async def run(args: argparse.Namespace, bootstrap: str, root: Path) -> None:
    soak = Soak(args, bootstrap, root)
    await soak.create_sources()
    soak.worker.start()
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as http:
        await until(http, soak.worker, lambda b: b["ready"])
    marks = sorted({1, max(1, args.days // 2), args.days})
    results: dict[int, tuple[int, int, float]] = {}
    done = 0
    try:
        for mark in marks:
            took = await soak.play(range(done, mark))
            print(
                f"soak: days {done + 1}..{mark} played ({sum(soak.sent.values())} records so far, "
                f"drained {took:.1f}s after the last was produced)"
            )
            done = mark
            results[mark] = await soak.checkpoint(mark)
    finally:
        soak.worker.stop()
    first, end = results[marks[0]], results[marks[-1]]
    print(
        f"soak: days={args.days} keys_day1={first[0]} keys_end={end[0]} changelog_end={end[1]} "
        f"restore_s_day1={first[2]:.1f} restore_s_end={end[2]:.1f}"
    )


def main() -> None:
    p = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__.split("\n")[0])
    p.add_argument("--days", type=int, default=14, help="simulated days of event time")
    p.add_argument("--clicks-per-day", type=int, default=10_000)
    p.add_argument("--orders-per-day", type=int, default=1_000)
    p.add_argument("--advertisers", type=int, default=200)
    p.add_argument("--partitions", type=int, default=6)
    p.add_argument(
        "--changelog-segment", type=int, default=10, help="CHANGELOG_SEGMENT of the worker, seconds"
    )
    p.add_argument(
        "--day-pause", type=float, default=11, help="seconds between simulated days (> the segment)"
    )
    p.add_argument("--settle", type=float, default=20, help="seconds for the log cleaner before a checkpoint")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--bootstrap", default=None, help="use this broker instead of starting one")
    args = p.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-soak-") as tmp:
        root = Path(tmp)
        if args.bootstrap:
            asyncio.run(run(args, args.bootstrap, root))
        else:
            with broker(root / "kafka") as cluster:
                asyncio.run(run(args, cluster.bootstrap_servers, root))


if __name__ == "__main__":
    main()

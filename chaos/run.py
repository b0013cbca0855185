"""One chaos run: load both pipelines, SIGKILL workers at random, then check everything."""

from __future__ import annotations

import asyncio
import json
import random
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from aiokafka.admin import AIOKafkaAdminClient

from chaos.checks import check_outputs
from infra.kafka import KafkaCluster
from infra.kafka.tools import run_tool
from infra.workers import FAUST, REPO, Deployment, Worker


@dataclass
class Plan:
    seed: int
    orders: int = 100_000
    clicks: int = 100_000
    advertisers: int = 200
    rounds: int = 4
    min_kills: int = 10
    commit_interval: float = 0.5
    broker_restart: bool = False  # restart the (or a leader) broker once mid-run
    replication: int = 1  # topics' replication factor (3 on the 3-broker cluster)


@dataclass
class Result:
    kills: int = 0
    events: int = 0
    mismatches: int = 0
    duplicates: int = 0
    problems: list[str] = field(default_factory=list)


async def _faust(dep: Deployment, *args: str, log: Path) -> int:
    with log.open("ab") as out:
        proc = await asyncio.create_subprocess_exec(
            FAUST, "-A", "app", *args, cwd=REPO, env=dep.env(), stdout=out, stderr=out
        )
        return await proc.wait()


async def wait_group_stable(bootstrap: str, group: str, members: int, timeout: float = 180) -> None:
    """Until the group is Stable with exactly ``members`` members (a kill's rebalance is over)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            (resp,) = await admin.describe_consumer_groups([group])
            (desc,) = resp.to_object()["groups"]
            if desc["state"] == "Stable" and len(desc["members"]) == members:
                return
            await asyncio.sleep(0.5)
        raise TimeoutError(f"group {group} not stable with {members} members after {timeout}s")
    finally:
        await admin.close()


class Chaos:
    """Kills and restarts workers until told to stop (and at least `min_kills` happened)."""

    def __init__(self, plan: Plan, dep: Deployment, workers: list[Worker],
                 say: Callable[[str], None], cluster: KafkaCluster | None) -> None:  # fmt: skip
        self.plan, self.dep, self.workers, self.say, self.cluster = plan, dep, workers, say, cluster
        self.rng = random.Random(plan.seed)
        self.kills = 0
        self.load_done = asyncio.Event()

    async def run(self) -> None:
        broker_restart_at = self.rng.randint(2, max(3, self.plan.min_kills - 2))
        while not (self.load_done.is_set() and self.kills >= self.plan.min_kills):
            await asyncio.sleep(self._next_delay())
            victim = self.rng.choice(self.workers)
            victim.stop(signal.SIGKILL)
            self.kills += 1
            scale_down = self.rng.random() < 0.2  # 2 -> 1 -> 2 workers for a while
            down_for = self.rng.uniform(6, 12) if scale_down else self.rng.uniform(0.2, 2.5)
            self.say(f"kill #{self.kills}: worker {victim.url} down for {down_for:.1f}s")
            if self.plan.broker_restart and self.kills == broker_restart_at and self.cluster:
                await asyncio.to_thread(self._restart_broker)
            await asyncio.sleep(down_for)
            victim.start()
            # Let the group settle and the tables recover, so work gets done between kills.
            await wait_group_stable(self.dep.bootstrap, self.dep.name, len(self.workers))
            for w in self.workers:
                await w.wait_ready()

    def _next_delay(self) -> float:
        # Some kills land right around a commit (multiples of the commit interval).
        if self.rng.random() < 0.4:
            ci = self.plan.commit_interval
            return ci * self.rng.randint(4, 20) + self.rng.uniform(-0.05, 0.05)
        return self.rng.uniform(2.0, 10.0)

    def _restart_broker(self) -> None:
        assert self.cluster is not None
        nodes = sorted(self.cluster.node_pids())
        # On a cluster, the leader of a busy partition (clicks, partition 0): its
        # followers must take over the partition and its open transactions.
        leader = _leader(self.dep.bootstrap, self.dep.topic("TOPIC_AD_CLICKS"), 0) if len(nodes) > 1 else None
        node = leader if leader in nodes else self.rng.choice(nodes)
        role = "leader of clicks/0" if node == leader else "broker"
        self.say(f"broker: SIGKILL node {node} ({role}), then restart it")
        self.cluster.kill_node(node, signal.SIGKILL)
        self.cluster.restart_node(node)


def _leader(bootstrap: str, topic: str, partition: int) -> int | None:
    out = run_tool("topics", "--describe", "--topic", topic, bootstrap=bootstrap, check=False).stdout
    for line in out.splitlines():
        fields = line.replace("\t", " ").split()
        if "Partition:" in fields and fields[fields.index("Partition:") + 1] == str(partition):
            return int(fields[fields.index("Leader:") + 1])
    return None


async def run_once(plan: Plan, bootstrap: str, root: Path, say: Callable[[str], None],
                   cluster: KafkaCluster | None = None) -> Result:  # fmt: skip
    dep = Deployment(bootstrap=bootstrap, root=root,
                     extra={"COMMIT_INTERVAL": str(plan.commit_interval),
                            "TOPIC_REPLICATION_FACTOR": str(plan.replication)})  # fmt: skip
    say(f"chaos: seed={plan.seed} app={dep.name} dir={root}")
    workers = [Worker(dep, i) for i in range(2)]
    # One at a time: two workers creating a fresh deployment's topics at once can
    # crash one of them (a known start-up race, docs/exactly-once.md, limits);
    # this harness is about kills, not about that.
    for w in workers:
        w.start()
        await w.wait_ready()
    await wait_group_stable(bootstrap, dep.name, len(workers))
    chaos = Chaos(plan, dep, workers, say, cluster)
    chaos_task = asyncio.create_task(chaos.run())
    started = time.monotonic()
    log = root / "loadgen.log"
    orders_oracle, clicks_oracle = root / "orders.json", root / "clicks.json"
    codes = await asyncio.gather(
        _faust(dep, "loadgen", "orders", "--count", str(plan.orders), "--seed", str(plan.seed),
               "--rate", "4000", "--oracle", str(orders_oracle), log=log),
        _faust(dep, "loadgen", "clicks", "--count", str(plan.clicks), "--seed", str(plan.seed),
               "--advertisers", str(plan.advertisers), "--rounds", str(plan.rounds),
               "--rate", "4000", "--barrier-timeout", "600", "--oracle", str(clicks_oracle),
               log=log),
    )  # fmt: skip
    chaos.load_done.set()
    await chaos_task
    result = Result(kills=chaos.kills)
    if any(codes):
        result.problems.append(f"loadgen failed ({codes}); see {log}")
        result.mismatches += 1
        return result
    say(f"load produced in {time.monotonic() - started:.0f}s; verifying")
    for w in workers:
        if not w.alive():
            w.start()
    for w in workers:
        await w.wait_http()
    orders, clicks = (json.loads(p.read_text()) for p in (orders_oracle, clicks_oracle))
    result.events = sum(t["consumed"] for o in (orders, clicks) for t in o["topics"].values())
    for w in workers:
        for oracle in (orders_oracle, clicks_oracle):
            res = await asyncio.to_thread(
                dep.faust, "verify", "--oracle", str(oracle), "--url", w.url, "--timeout", "300"
            )
            last = res.stdout.strip().splitlines()[-1] if res.stdout.strip() else res.stderr[-500:]
            say(f"{w.url} {oracle.name}: {last}")
            if res.returncode != 0:
                result.mismatches += _count_mismatches(last)
                result.problems += res.stdout.strip().splitlines()[:20]
    problems, duplicates = await check_outputs(dep, orders, clicks)
    result.problems += problems
    result.mismatches += len(problems)
    result.duplicates += duplicates
    for w in workers:
        w.stop()
    return result


def _count_mismatches(line: str) -> int:
    for part in line.split():
        if part.startswith("mismatches="):
            return int(part.split("=", 1)[1])
    return 1

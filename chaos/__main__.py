"""``python -m chaos`` (``make chaos``): exactly-once under SIGKILL, from outside.

Last line: ``chaos: runs=R kills=K events=N mismatches=M duplicates=D``; exit 0
only when M and D are 0. Give ``--seed`` back to reproduce a run.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
import time
from pathlib import Path

from chaos.run import Plan, Result, run_once
from infra.kafka import KafkaCluster, fetch


def say(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


async def main(args: argparse.Namespace) -> int:
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(1, 1_000_000)
    fetch()
    root = Path(tempfile.mkdtemp(prefix="chaos-", dir=args.dir))
    if args.sink:
        return await sink_chaos(args, seed, root)
    total = Result()
    with KafkaCluster(root / "kafka", brokers=args.brokers) as cluster:  # started by `with`
        for run in range(args.runs):
            plan = Plan(seed=seed + run, orders=args.orders, clicks=args.clicks,
                        advertisers=args.advertisers, min_kills=args.kills,
                        broker_restart=args.broker_restart, replication=args.brokers)  # fmt: skip
            res = await run_once(plan, cluster.bootstrap_servers, root / f"run-{run}", say, cluster)
            for p in res.problems[:30]:
                say(f"  problem: {p}")
            total.kills += res.kills
            total.events += res.events
            total.mismatches += res.mismatches
            total.duplicates += res.duplicates
    print(f"chaos: runs={args.runs} kills={total.kills} events={total.events} "
          f"mismatches={total.mismatches} duplicates={total.duplicates} seed={seed}")  # fmt: skip
    return 0 if total.mismatches == 0 and total.duplicates == 0 else 1


async def sink_chaos(args: argparse.Namespace, seed: int, root: Path) -> int:
    """The lake's sink SIGKILLed --kills times during --clicks clicks (chaos.sink)."""
    from chaos.sink import run_sink_chaos

    with KafkaCluster(root / "kafka", brokers=1) as cluster:
        bootstrap = cluster.bootstrap_servers
        res = await run_sink_chaos(bootstrap, root / "run", seed, args.clicks, args.kills, say)
    print(f"chaos: sink kills={args.kills} {res.line()} seed={seed}")
    return 0 if res.ok else 1


def parse(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m chaos", description=__doc__)
    p.add_argument("--seed", type=int, help="reproduce a run (printed at the start and end)")
    p.add_argument("--runs", type=int, default=1)
    p.add_argument("--orders", type=int, default=100_000)
    p.add_argument("--clicks", type=int, default=100_000)
    p.add_argument("--advertisers", type=int, default=200)
    p.add_argument("--kills", type=int, default=10, help="at least this many worker kills")
    p.add_argument("--brokers", type=int, choices=(1, 3), default=1)
    p.add_argument("--broker-restart", action="store_true", help="kill -9 a broker mid-run")
    p.add_argument("--sink", action="store_true", help="kill the lake's sink instead (chaos.sink)")
    p.add_argument("--dir", default=None, help="where run directories go (default: /tmp)")
    return p.parse_args(argv)


if __name__ == "__main__":
    if "--outbox" in sys.argv[1:]:  # the order service's path (chaos/outbox.py)
        from chaos import outbox

        sys.exit(asyncio.run(outbox.main(outbox.parse(sys.argv[1:]))))
    sys.exit(asyncio.run(main(parse(sys.argv[1:]))))

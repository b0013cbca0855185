"""``faust -A app loadgen <workload>``: deterministic traffic and its oracle file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
from faust.cli import argument, option

from app.access import check_credentials
from cli.barrier import wait_for_no_lag
from cli.produce import produce, producer
from cli.workloads import lifecycle as lifecycle_workload
from cli.workloads import orders as orders_workload
from cli.workloads.clicks import ClicksWorkload
from config import Settings

OPTIONS = (
    argument("workload", type=click.Choice(["orders", "clicks", "lifecycle"])),
    option("--count", type=int, default=10_000, help="Orders / clicks / order events to produce."),
    option("--seed", type=int, default=1, help="Random seed (same seed, same traffic)."),
    option("--rate", type=float, default=None, help="Records per second (default: max)."),
    option("--dup-rate", type=float, default=0.01, help="Share of duplicate deliveries."),
    option("--bad-rate", type=float, default=0.01, help="Share of malformed records."),
    option("--advertisers", type=int, default=200, help="clicks: number of advertisers."),
    option("--rounds", type=int, default=4, help="clicks: top-up/click rounds."),
    option("--no-barrier", is_flag=True, help="clicks: do not wait for the app between phases."),
    option("--barrier-timeout", type=float, default=300.0, help="clicks: seconds per barrier."),
    option("--oracle", type=click.Path(dir_okay=False), required=True, help="Oracle file."),
)


def register(app: Any) -> None:
    app.command(*OPTIONS)(loadgen)


async def loadgen(self, workload: str, oracle: str, **opts) -> None:  # type: ignore[no-untyped-def]
    """Produce deterministic traffic and write the expected final state."""
    dup, bad = opts["dup_rate"], opts["bad_rate"]
    if not (0 <= dup < 1 and 0 <= bad < 1 and dup + bad < 1):
        raise click.BadParameter("--dup-rate and --bad-rate must be in [0, 1) and sum below 1")
    settings = self.app.settings
    await check_credentials(settings)  # a refused login says so, not "unable to bootstrap"
    prod = producer(settings)
    await prod.start()
    try:
        if workload == "orders":
            expected = await _orders(prod, opts, settings)
        elif workload == "lifecycle":
            expected = await _lifecycle(prod, opts, settings)
        else:
            expected = await _clicks(prod, opts, settings)
    finally:
        await prod.stop()
    Path(oracle).write_text(json.dumps(expected, indent=1, sort_keys=True))
    summary = " ".join(
        f"{topic}:{c['consumed']}/{c['processed']}/{c['duplicates']}/{c['dead_lettered']}"
        for topic, c in expected["topics"].items()
    )
    click.echo(f"loadgen: workload={workload} consumed/processed/dup/dead={summary} oracle={oracle}")


async def _orders(prod: Any, opts: dict, settings: Settings) -> dict:
    records, expected = orders_workload.generate(
        opts["count"], opts["seed"], opts["dup_rate"], opts["bad_rate"], settings.topic_orders
    )
    await produce(prod, settings.topic_orders, records, opts["count"], opts["rate"], "orders")
    return expected


async def _lifecycle(prod: Any, opts: dict, settings: Settings) -> dict:
    topic = settings.topic_order_events
    records, expected = lifecycle_workload.generate(
        opts["count"], opts["seed"], opts["dup_rate"], opts["bad_rate"], topic, settings.order_retention
    )
    await produce(prod, topic, records, opts["count"], opts["rate"], "order events")
    return expected


async def _clicks(prod: Any, opts: dict, settings: Settings) -> dict:
    work = ClicksWorkload(
        opts["advertisers"], opts["count"], opts["rounds"], opts["seed"],
        opts["dup_rate"], opts["bad_rate"], (settings.topic_ad_budget, settings.topic_ad_clicks),
        settings.retention_seen_budget_events,
    )  # fmt: skip
    for n, rnd in enumerate(work.rounds_iter(), 1):
        for topic, records in ((settings.topic_ad_budget, rnd.fundings),
                               (settings.topic_ad_clicks, rnd.clicks)):  # fmt: skip
            label = f"round {n}/{opts['rounds']} {topic}"
            await produce(prod, topic, records, len(records), opts["rate"], label)
            if not opts["no_barrier"]:
                await wait_for_no_lag(settings, settings.app_id, topic, opts["barrier_timeout"])
    return work.oracle()

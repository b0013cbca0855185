"""``faust -A app loadgen <workload>``: deterministic traffic and its oracle file."""

from __future__ import annotations

import json
from pathlib import Path

import click
from faust.cli import argument, option

from app import app
from cli.produce import produce, producer
from cli.workloads import orders as orders_workload
from config import settings


@app.command(
    argument("workload", type=click.Choice(["orders"])),
    option("--count", type=int, default=10_000, help="Records to produce."),
    option("--seed", type=int, default=1, help="Random seed (same seed, same traffic)."),
    option("--rate", type=float, default=None, help="Records per second (default: max)."),
    option("--dup-rate", type=float, default=0.01, help="Share of duplicate deliveries."),
    option("--bad-rate", type=float, default=0.01, help="Share of malformed records."),
    option("--oracle", type=click.Path(dir_okay=False), required=True, help="Oracle file."),
)
async def loadgen(
    self,  # type: ignore[no-untyped-def]
    workload: str,
    count: int,
    seed: int,
    rate: float | None,
    dup_rate: float,
    bad_rate: float,
    oracle: str,
) -> None:
    """Produce deterministic traffic and write the expected final state."""
    if not (0 <= dup_rate < 1 and 0 <= bad_rate < 1 and dup_rate + bad_rate < 1):
        raise click.BadParameter("--dup-rate and --bad-rate must be in [0, 1) and sum below 1")
    records, expected = orders_workload.generate(count, seed, dup_rate, bad_rate)
    prod = producer(settings)
    await prod.start()
    try:
        await produce(prod, settings.topic_orders, records, count, rate, label="orders")
    finally:
        await prod.stop()
    Path(oracle).write_text(json.dumps(expected, indent=1, sort_keys=True))
    acct = expected["topics"]["orders"]
    click.echo(
        f"loadgen: workload={workload} produced={count} processed={acct['processed']} "
        f"duplicates={acct['duplicates']} dead_lettered={acct['dead_lettered']} oracle={oracle}"
    )

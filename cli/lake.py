"""``faust -A app sink`` (the lake's sink) and ``faust -A app report daily`` (from its files)."""

from __future__ import annotations

import asyncio
import logging
import signal
from typing import Any

import click
from faust.cli import argument, option

from web.budgets import day_range

REPORT_OPTIONS = (
    argument("what", type=click.Choice(["daily"])),
    option("--from", "first", required=True, help="First KST day, YYYY-MM-DD."),
    option("--to", "last", required=True, help="Last KST day, YYYY-MM-DD."),
    option("--format", "form", type=click.Choice(["table", "csv", "json"]), default="table"),
)


def register(app: Any) -> None:
    app.command()(sink)
    app.command(*REPORT_OPTIONS)(report)


async def sink(self) -> None:  # type: ignore[no-untyped-def]
    """Write ad-ledger and orders to Parquet files under LAKE_URL, exactly once, until stopped."""
    from lake.sink import Sink

    settings = self.app.settings
    logger = logging.getLogger("lake")  # each batch published, each partition assigned
    logger.setLevel(logging.INFO)
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("[%(asctime)s] [%(process)d] [%(levelname)s] %(message)s"))
    logger.addHandler(handler)
    logger.propagate = False
    lake = Sink(settings)
    if settings.lake_metrics_port:
        lake.metrics.serve(settings.lake_metrics_port)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    click.echo(f"lake: sink to {settings.lake_url} as group {lake.group}", err=True)
    await lake.run(stop)


async def report(self, what: str, first: str, last: str, form: str) -> None:  # type: ignore[no-untyped-def]
    """Daily charged, spend and rejected per advertiser, campaign and KST day, from the lake's files."""
    from domain.errors import BadQuery
    from lake import report as lake_report
    from lake.store import filesystem

    try:
        day_from, day_to = day_range(first, last)
    except BadQuery as error:
        raise click.BadParameter(str(error)) from None
    settings = self.app.settings
    fs, root = filesystem(settings)
    rows = await asyncio.to_thread(lake_report.daily, fs, root, settings.topic_ad_ledger, day_from, day_to)
    click.echo(lake_report.render(rows, form), nl=False)

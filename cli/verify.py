"""``faust -A app verify``: poll the HTTP API until the state equals the oracle."""

from __future__ import annotations

import asyncio
import json
import time
from functools import partial
from pathlib import Path
from typing import Any

import aiohttp
import click
from faust.cli import option

from cli.compare import COMPARERS
from cli.invariants import check_clicks_invariants

_POLL = 1.0


OPTIONS = (
    option("--oracle", type=click.Path(exists=True, dir_okay=False), required=True),
    option("--url", "urls", multiple=True, help="Worker base URL (repeatable)."),
    option("--timeout", type=float, default=120.0, help="Seconds to wait for agreement."),
    option("--invariants", is_flag=True, help="clicks: check invariants, not exact balances."),
)


def register(app: Any) -> None:
    app.command(*OPTIONS)(verify)


async def verify(self, oracle: str, urls: tuple[str, ...], timeout: float, invariants: bool) -> None:  # type: ignore[no-untyped-def]
    """Compare live state with an oracle; exit 0 only when nothing differs."""
    app, settings = self.app, self.app.settings
    expected = json.loads(Path(oracle).read_text())
    compare = COMPARERS[expected["workload"]]
    if invariants and expected["workload"] == "clicks":
        compare = partial(check_clicks_invariants, settings=settings)
    urls = urls or (app.conf.canonical_url and str(app.conf.canonical_url),)
    deadline = time.monotonic() + timeout
    limit = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(timeout=limit, headers=settings.http_auth_headers) as http:
        while True:
            keys, diffs = 0, []
            for url in urls:
                try:
                    k, d = await compare(http, url.rstrip("/"), expected)
                except (TimeoutError, aiohttp.ClientError, ValueError) as exc:
                    k, d = 1, [f"{url}: {exc!r}"]
                keys, diffs = keys + k, diffs + d
            if not diffs or time.monotonic() >= deadline:
                break
            await asyncio.sleep(_POLL)
    for line in diffs[:50]:
        click.echo(f"  {line}")
    if len(diffs) > 50:
        click.echo(f"  ... and {len(diffs) - 50} more")
    click.echo(f"verify: keys={keys} mismatches={len(diffs)}")
    if diffs:
        raise SystemExit(1)

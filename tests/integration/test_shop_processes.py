"""The order service as several processes on one port: all serve, /metrics counts for all of them,
and none outlives its supervisor. PostgreSQL only: no connector (its state is UNREACHABLE here).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from pathlib import Path

import aiohttp
import pytest

from infra.services import ShopProcess
from infra.workers import Deployment

pytestmark = pytest.mark.integration

ORDERS = 40


def children(pid: int) -> list[int]:
    return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except FileNotFoundError:
        return False


def counter(text: str, name: str) -> float:
    return next(float(line.split()[-1]) for line in text.splitlines() if line.startswith(name + " "))


async def test_processes_share_the_port_the_metrics_and_die_with_the_supervisor(
    postgres, kafka_bootstrap, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    deployment = Deployment(bootstrap=kafka_bootstrap, root=tmp_path)
    shop = ShopProcess(
        deployment, postgres.dsn(), "http://127.0.0.1:9", "procs-test", SHOP_PROCESSES="2"
    ).start()
    try:
        await shop.wait_ready()
        assert shop.proc is not None
        kids = children(shop.proc.pid)
        assert len(kids) == 2, kids
        body = {
            "user_id": "u-procs",
            "items": [{"sku": "s", "category": "c-procs", "quantity": 1, "unit_price": 5}],
        }
        # A connection per request: the kernel spreads new connections over the listeners.
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True)) as http:
            for _ in range(ORDERS):
                async with http.post(f"{shop.url}/orders", json=body) as resp:
                    assert resp.status == 201, await resp.text()
            texts = []
            for _ in range(6):  # whichever process answers, it counts all of them
                async with http.get(f"{shop.url}/metrics") as resp:
                    texts.append(await resp.text())
        assert {counter(t, "shop_orders_placed_total") for t in texts} == {ORDERS}
        os.kill(shop.proc.pid, signal.SIGKILL)  # the supervisor alone, not its process group
        deadline = time.monotonic() + 10
        while any(alive(k) for k in kids) and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        assert not any(alive(k) for k in kids), "a service process outlived its supervisor"
    finally:
        shop.stop(signal.SIGKILL)
        if shop.proc is not None:  # its session, whatever is left of it
            with contextlib.suppress(ProcessLookupError):
                os.killpg(shop.proc.pid, signal.SIGKILL)

"""The dashboard in a real headless Chromium (Debian's, `make browser`), driven over
the DevTools protocol: its lifecycle counts, category totals and budgets reach the
oracles' as the traffic commits."""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import shutil
import subprocess
from pathlib import Path

import aiohttp
import pytest

from tests.integration.harness import free_port

pytestmark = pytest.mark.integration

CHROMIUM_FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
)  # fmt: skip
SHOWN = (
    "JSON.stringify(Object.fromEntries(['created','paid','shipped','delivered','cancelled']"
    ".map(s => [s, (document.getElementById('status-' + s) || {}).textContent])))"
)
CATEGORIES = (
    "JSON.stringify(Object.fromEntries([...document.querySelectorAll('#categories tr')]"
    ".map(tr => [tr.dataset.category, tr.querySelector('.amount').textContent])))"
)
NOTIFICATIONS = (
    "JSON.stringify([...document.querySelectorAll('#notifications li')].map(li => li.textContent))"
)
BUDGETS = (
    "JSON.stringify(Object.fromEntries([...document.querySelectorAll('#budgets tr')]"
    ".map(tr => [tr.dataset.advertiser, [tr.cells[1].textContent, tr.cells[2].textContent]])))"
)


class Page:
    """The few DevTools calls the test needs, over the page's websocket."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.ids = itertools.count(1)

    async def call(self, method: str, **params: object) -> dict:
        call_id = next(self.ids)
        await self.ws.send_json({"id": call_id, "method": method, "params": params})
        while True:
            msg = await self.ws.receive_json(timeout=30)
            if msg.get("id") == call_id:
                assert "error" not in msg, msg
                return msg["result"]

    async def evaluate(self, expression: str) -> object:
        return (await self.call("Runtime.evaluate", expression=expression, returnByValue=True))["result"][
            "value"
        ]


async def page_socket(port: int) -> str:
    async with aiohttp.ClientSession() as http:
        for _ in range(100):
            try:
                async with http.get(f"http://127.0.0.1:{port}/json/list") as resp:
                    pages = [t for t in await resp.json() if t["type"] == "page"]
                if pages:
                    return pages[0]["webSocketDebuggerUrl"]
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    raise AssertionError("chromium did not open its DevTools endpoint")


async def test_the_dashboard_shows_the_oracles_totals(deployment, workers, tmp_path):  # type: ignore[no-untyped-def]
    chromium = shutil.which("chromium")
    assert chromium, "chromium is not installed: `make browser` installs it"
    (worker,) = workers(1, LIVE_HEARTBEAT="1")
    await worker.wait_ready()
    port = free_port()
    browser = subprocess.Popen(
        [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}",
         f"--remote-debugging-port={port}", "--window-size=900,600", f"{worker.url}/dashboard"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        async with (
            aiohttp.ClientSession() as http,
            http.ws_connect(await page_socket(port), max_msg_size=0) as ws,
        ):
            page = Page(ws)
            oracle_file = tmp_path / "oracle.json"
            gen = deployment.faust(
                "loadgen", "lifecycle", "--count", "1500", "--seed", "9", "--oracle", str(oracle_file)
            )
            assert gen.returncode == 0, gen.stderr[-3000:]
            lifecycle = json.loads(oracle_file.read_text())
            want = {k: str(v) for k, v in lifecycle["counts"].items()}
            # One sampled order's user followed on the page: its final status shows up.
            order_id, order = sorted(lifecycle["orders"].items())[0]
            want_line = f"order {order_id}: {order['status']} ("
            follow = f"$('user').value = {json.dumps(order['user_id'])}; $('user-form').requestSubmit(); 1"
            await page.evaluate(follow)
            orders_file = tmp_path / "orders.json"
            gen = deployment.faust(
                "loadgen", "orders", "--count", "1000", "--seed", "9", "--oracle", str(orders_file)
            )
            assert gen.returncode == 0, gen.stderr[-3000:]
            categories = json.loads(orders_file.read_text())["categories"]
            want_categories = {c: str(t["total_amount"]) for c, t in categories.items()}
            clicks_file = tmp_path / "clicks.json"
            gen = deployment.faust(
                "loadgen", "clicks", "--advertisers", "3", "--count", "600", "--rounds", "2", "--seed", "9",
                "--oracle", str(clicks_file),
            )  # fmt: skip
            assert gen.returncode == 0, gen.stderr[-3000:]
            budgets = json.loads(clicks_file.read_text())["advertisers"]
            want_budgets = {a: [str(b["balance"]), b["status"]] for a, b in budgets.items()}
            shown = shown_categories = shown_budgets = notified = None
            noticed = False
            for _ in range(300):
                shown = json.loads(str(await page.evaluate(SHOWN)))
                shown_categories = json.loads(str(await page.evaluate(CATEGORIES)))
                shown_budgets = json.loads(str(await page.evaluate(BUDGETS)))
                notified = json.loads(str(await page.evaluate(NOTIFICATIONS)))
                noticed = any(line.startswith(want_line) for line in notified)
                got = (shown, shown_categories, shown_budgets, noticed)
                if got == (want, want_categories, want_budgets, True):
                    break
                await asyncio.sleep(0.2)
            shot = Path(tmp_path / "dashboard.png")
            data = (await page.call("Page.captureScreenshot", format="png"))["data"]
            shot.write_bytes(base64.b64decode(data))
            print(f"dashboard screenshot: {shot}")
            assert shown == want, worker.log_tail()
            assert shown_categories == want_categories, worker.log_tail()
            assert shown_budgets == want_budgets, worker.log_tail()
            assert noticed, (want_line, notified)
    finally:
        browser.terminate()
        browser.wait(10)

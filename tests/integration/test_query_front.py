"""The query front on a real worker: budgets answered from committed state,
byte for byte as the view answers them, and forgotten at a rebalance."""

from __future__ import annotations

import asyncio
import re
import time

import aiohttp
import orjson
import pytest
from aiokafka import AIOKafkaProducer

from tests.integration.harness import free_port

pytestmark = pytest.mark.integration
ADVERTISERS = [f"qf-{i}" for i in range(30)]


async def top_up(deployment, amount: int, round_: int) -> None:  # type: ignore[no-untyped-def]
    producer = AIOKafkaProducer(bootstrap_servers=deployment.bootstrap)
    await producer.start()
    try:
        for adv in ADVERTISERS:
            event = {"event_id": f"{adv}-t{round_}", "advertiser_id": adv, "type": "top_up",
                     "amount": amount, "ts": "2026-11-24T10:00:00+09:00"}  # fmt: skip
            await producer.send(deployment.topic("TOPIC_AD_BUDGET"), orjson.dumps(event), key=adv.encode())
        await producer.flush()
    finally:
        await producer.stop()


async def budgets(http: aiohttp.ClientSession, base: str) -> dict[str, tuple[int, bool, bytes]]:
    """advertiser -> (status, answered by the front itself, body)"""
    out = {}
    for adv in ADVERTISERS:
        async with http.get(f"{base}/advertisers/{adv}/budget") as resp:
            out[adv] = (resp.status, resp.headers.get("X-Served-By") == "query-front", await resp.read())
    return out


async def until(check, timeout: float = 90):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while True:
        result = await check()
        if result[0] or time.monotonic() > deadline:
            return result
        await asyncio.sleep(0.3)


def funded(answer: tuple[int, bool, bytes]) -> int | None:
    status, _, body = answer
    return orjson.loads(body)["funded"] if status == 200 else None


async def test_budgets_come_from_the_owners_front_and_a_rebalance_forgets_them(deployment, workers) -> None:  # type: ignore[no-untyped-def]
    backend0 = free_port()
    (w0,) = workers(1, WEB_BACKEND_PORT=str(backend0))
    await w0.wait_ready()
    await top_up(deployment, 1000, 1)

    async with aiohttp.ClientSession() as http:

        async def all_from_front():  # type: ignore[no-untyped-def]
            got = await budgets(http, w0.url)
            return all(a[1] and funded(a) == 1000 for a in got.values()), got

        ok, got = await until(all_from_front)
        assert ok, (got, w0.log_tail())
        view = await budgets(http, f"http://127.0.0.1:{backend0}")  # Faust's web server itself
        for adv in ADVERTISERS:
            assert view[adv][0] == 200 and not view[adv][1]
            assert got[adv][2] == view[adv][2], adv
        async with http.get(f"{w0.url}/metrics") as resp:  # forwarded to Faust's web server
            metrics = await resp.text()
        answered = re.search(r"^commerce_query_front_request_seconds_count (\S+)$", metrics, re.M)
        assert answered and float(answered.group(1)) >= len(ADVERTISERS), metrics[-2000:]

        backend1 = free_port()
        (w1,) = workers(1, WEB_BACKEND_PORT=str(backend1))
        await w1.wait_ready()

        async def both_answer():  # type: ignore[no-untyped-def]
            answers = [await budgets(http, w.url) for w in (w0, w1)]
            return all(funded(a) == 1000 for got in answers for a in got.values()), answers

        ok, answers = await until(both_answer)
        assert ok, (answers, w0.log_tail(), w1.log_tail())
        served = [adv for got in answers for adv, a in got.items() if a[1]]
        assert served == [], f"answered from before the rebalance: {served}"

        await top_up(deployment, 500, 2)

        async def owners_answer():  # type: ignore[no-untyped-def]
            answers = [await budgets(http, w.url) for w in (w0, w1)]
            done = all(funded(a) == 1500 for got in answers for a in got.values())
            return done and all(answers[0][adv][1] != answers[1][adv][1] for adv in ADVERTISERS), answers

        ok, answers = await until(owners_answer)
        assert ok, (answers, w0.log_tail(), w1.log_tail())
        owned = [sum(a[1] for a in got.values()) for got in answers]
        assert all(n > 0 for n in owned), owned  # both own some of the 6 partitions' keys
        for adv in ADVERTISERS:
            assert answers[0][adv][2] == answers[1][adv][2], adv

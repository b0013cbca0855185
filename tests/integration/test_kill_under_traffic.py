"""One worker SIGKILLed while orders stream in, restarted, killed again: exact totals.

Against stock Faust's consumer (and before eos.consumer.ContiguousFetchThread)
this lost a few to a few hundred orders per restart: the source offsets were
committed past records that were never processed (defect 7).
"""

from __future__ import annotations

import asyncio
import signal
import subprocess

import pytest

from infra.workers import FAUST, REPO
from tests.integration.observe import get_json
from tests.integration.test_replay import verify

pytestmark = pytest.mark.integration


# Also on 3.9.1 (make test-compat): SIGKILLs leave transactions open for the broker to
# abort when the restarted worker fences them, and the group rejoins.
@pytest.mark.compat
async def test_orders_survive_kills_in_the_middle_of_traffic(deployment, workers, tmp_path):  # type: ignore[no-untyped-def]
    (worker,) = workers(1)
    await worker.wait_ready()
    oracle = str(tmp_path / "orders.json")
    gen = subprocess.Popen(
        [FAUST, "-A", "app", "loadgen", "orders", "--count", "8000", "--seed", "3",
         "--rate", "1000", "--oracle", oracle],
        cwd=REPO, env=deployment.env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    for delay in (2.3, 2.0, 1.7):  # each kill lands while a backlog is being processed
        await asyncio.sleep(delay)
        worker.stop(signal.SIGKILL)
        await asyncio.sleep(0.5)
        worker.start()
        await worker.wait_ready()
    assert gen.wait(120) == 0, gen.stderr.read() if gen.stderr else ""
    verify(deployment, oracle, worker)
    stats = await get_json(f"{worker.url}/stats")
    assert stats["topics"][deployment.topic("TOPIC_ORDERS")]["consumed"] == 8000, stats


async def test_orders_survive_rebalances_in_the_middle_of_traffic(deployment, workers, tmp_path):  # type: ignore[no-untyped-def]
    """Two workers, one restarted cleanly (SIGTERM) three times while orders stream in.

    Before eos.consumer's fix for defect 8 the rebalance's last commit committed
    nothing; partitions that stayed on a worker kept their transaction open
    and committed records processed before the rebalance together with the
    same records processed again after it (about 70 mismatching keys here).
    """
    pair = workers(2)
    for w in pair:
        await w.wait_ready()
    oracle = str(tmp_path / "orders.json")
    gen = subprocess.Popen(
        [FAUST, "-A", "app", "loadgen", "orders", "--count", "10000", "--seed", "4",
         "--rate", "800", "--oracle", oracle],
        cwd=REPO, env=deployment.env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    for i, delay in enumerate((2.5, 2.0, 3.0)):
        await asyncio.sleep(delay)
        pair[i % 2].stop(signal.SIGTERM)
        pair[i % 2].start()
        for w in pair:
            await w.wait_ready()
    assert gen.wait(120) == 0, gen.stderr.read() if gen.stderr else ""
    verify(deployment, oracle, *pair)
    stats = await get_json(f"{pair[0].url}/stats")
    assert stats["topics"][deployment.topic("TOPIC_ORDERS")]["consumed"] == 10000, stats

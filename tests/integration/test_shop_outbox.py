"""The order service end to end on the real parts: PostgreSQL, Connect with Debezium, the broker,
a stream worker. One deployment for the module (its topics, its connector and slot), on the
session's PostgreSQL and Connect worker; each test uses users and categories of its own.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import defaultdict
from typing import Any

import aiohttp
import pytest

from domain.orders import Order, category_deltas
from infra.connect import connector as dbz
from infra.services import ShopProcess
from infra.workers import Deployment, Worker
from tests.integration.observe import end_offsets_total, read_topic
from tests.integration.test_e2e_worker import poll_json

pytestmark = pytest.mark.integration


def _item(category: str, quantity: int, unit_price: int) -> dict[str, Any]:
    return {"sku": f"sku-{quantity}", "category": category, "quantity": quantity, "unit_price": unit_price}


class Path:
    def __init__(self, deployment: Deployment, worker: Worker, shop: ShopProcess, connector: str) -> None:
        self.deployment, self.worker, self.shop, self.connector = deployment, worker, shop, connector


@pytest.fixture(scope="module")
def path(kafka_bootstrap, postgres, connect_worker, tmp_path_factory):  # type: ignore[no-untyped-def]
    deployment = Deployment(bootstrap=kafka_bootstrap, root=tmp_path_factory.mktemp("shop"))
    connector = f"outbox-{deployment.name}"
    worker = Worker(deployment, 0).start()
    shop = ShopProcess(
        deployment,
        postgres.dsn(),
        connect_worker.url,
        connector,
        SHOP_FAULT_INJECTION="true",
        SHOP_MONITOR_INTERVAL="0.5",
    ).start()
    try:
        asyncio.run(worker.wait_ready())  # it creates the topics
        asyncio.run(shop.wait_ready())  # it creates the tables the publication needs
        dbz.register(connect_worker, connector, dbz.connector_config(postgres.dsn(), connector))
        dbz.wait_running(connect_worker, connector)
        yield Path(deployment, worker, shop, connector)
    finally:
        shop.stop()
        worker.stop()
        try:
            connect_worker.request("DELETE", f"/connectors/{connector}")
        finally:
            _drop_slot(postgres, dbz.slot_name(connector))


def _drop_slot(postgres: Any, slot: str) -> None:
    for _ in range(50):  # the slot stays active for a moment after the connector's task stops
        try:
            postgres.psql(
                f"SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots "
                f"WHERE slot_name = '{slot}'"
            )
            return
        except Exception:
            import time

            time.sleep(0.2)


async def post(http: aiohttp.ClientSession, url: str, body: Any = None, **headers: str) -> tuple[int, Any]:
    async with http.post(url, json=body, headers=headers) as resp:
        return resp.status, await resp.json()


def fold(oracle: dict[str, dict[str, int]], order: dict[str, Any]) -> None:
    """The oracle: the pipeline's own domain functions over the order the service answered 201 for."""
    model = Order.model_validate(
        {k: order[k] for k in ("order_id", "user_id", "created_at", "currency", "items")}, strict=False
    )
    for d in category_deltas(model):
        acc = oracle[d.category]
        acc["total_amount"] += d.amount
        acc["items_sold"] += d.items
        acc["order_count"] += 1


def new_oracle() -> dict[str, dict[str, int]]:
    return defaultdict(lambda: {"total_amount": 0, "items_sold": 0, "order_count": 0})


async def categories(worker: Worker, names: set[str], want: dict | None = None, timeout: float = 60) -> dict:
    def pick(body: Any) -> dict:
        return {
            r["category"]: {k: r[k] for k in ("total_amount", "items_sold", "order_count")}
            for r in body["categories"]
            if r["category"] in names
        }

    _, body = await poll_json(
        f"{worker.url}/categories",
        lambda s, b: s == 200 and (want is None or pick(b) == want),
        timeout=timeout,
    )
    return pick(body)


# Every order's steps; the lifecycle each must end in.
STEPS = [["pay", "ship", "deliver"], ["pay"], ["cancel"], [], ["pay", "cancel"]]
ENDS = ["delivered", "paid", "cancelled", "created", "cancelled"]
CATS = ["c-books", "c-food", "c-toys"]


async def test_orders_through_the_api_reach_the_views_with_the_oracles_values(path: Path) -> None:
    oracle, placed = new_oracle(), []
    async with aiohttp.ClientSession() as http:
        for i in range(30):
            items = [_item(CATS[i % 3], 1 + i % 3, 1000 * (i + 1)), _item(CATS[(i + 1) % 3], 1, 500)]
            status, order = await post(
                http, f"{path.shop.url}/orders", {"user_id": f"u-{i % 7}", "items": items}
            )
            assert status == 201, order
            fold(oracle, order)
            placed.append(order)
        for i, order in enumerate(placed):
            for action in STEPS[i % 5]:
                status, body = await post(http, f"{path.shop.url}/orders/{order['order_id']}/{action}")
                assert status == 200, body
        # Forbidden: a delivered order cannot be cancelled, a created one not shipped. 409, nothing written.
        status, body = await post(http, f"{path.shop.url}/orders/{placed[0]['order_id']}/cancel")
        assert status == 409 and "error" in body
        status, body = await post(http, f"{path.shop.url}/orders/{placed[3]['order_id']}/ship")
        assert status == 409 and "error" in body
        status, body = await post(
            http, f"{path.shop.url}/orders", {"user_id": "u-1", "items": [_item("x", 1, 1.5)]}
        )
        assert status == 400 and "error" in body

    assert await categories(path.worker, set(CATS), dict(oracle)) == dict(oracle), path.worker.log_tail()
    for i, order in enumerate(placed):
        want = ENDS[i % 5]
        url = f"{path.worker.url}/orders/{order['order_id']}?user_id={order['user_id']}"
        status, body = await poll_json(url, lambda s, b, w=want: s == 200 and b["status"] == w)
        assert (status, body["status"]) == (200, want), (order, body)
        status, body = await poll_json(f"{path.shop.url}/orders/{order['order_id']}", lambda s, b: s == 200)
        assert body["status"] == want


async def test_a_transaction_that_fails_after_the_order_row_publishes_nothing(path: Path, postgres) -> None:  # type: ignore[no-untyped-def]
    async with aiohttp.ClientSession() as http:
        doomed = {"user_id": "u-doomed", "items": [_item("c-doomed", 2, 7000)]}
        status, body = await post(
            http, f"{path.shop.url}/orders", doomed, **{"X-Inject-Fault": "after-write"}
        )
        assert status == 503 and "injected" in body["error"]
        later = {"user_id": "u-doomed", "items": [_item("c-after", 1, 100)]}
        status, order = await post(http, f"{path.shop.url}/orders", later)
        assert status == 201
        status, body = await post(
            http, f"{path.shop.url}/orders/{order['order_id']}/pay", **{"X-Inject-Fault": "after-write"}
        )
        assert status == 503
    # The later order, on the same user (so the same partition, after the failed one), arrives ...
    want = {"c-after": {"total_amount": 100, "items_sold": 1, "order_count": 1}}
    assert await categories(path.worker, {"c-after", "c-doomed"}, want) == want
    url = f"{path.worker.url}/orders/{order['order_id']}?user_id=u-doomed"
    _, body = await poll_json(url, lambda s, b: s == 200)
    # ... and the failed one never does, nor the failed payment.
    assert body["status"] == "created"
    records = await read_topic(path.deployment.bootstrap, path.deployment.topic("TOPIC_ORDERS"))
    assert [r.value for r in records if r.key == b"u-doomed" and b"c-doomed" in r.value] == []
    status, _ = await poll_json(f"{path.worker.url}/categories/c-doomed", lambda s, b: s is not None)
    assert status == 404
    # The database agrees: no such order, no outbox row for it, the later order still created.
    sql = "SELECT count(*) FROM {} WHERE {} LIKE '%c-doomed%'"
    assert [
        postgres.psql(sql.format(t, c)).strip()
        for t, c in (("orders", "body::text"), ("outbox", "payload::text"))
    ] == ["0", "0"]
    assert (
        postgres.psql(f"SELECT status FROM orders WHERE order_id = '{order['order_id']}'").strip()
        == "created"
    )


async def test_a_retried_post_with_the_same_idempotency_key_is_counted_once(path: Path) -> None:
    body = {"user_id": "u-retry", "items": [_item("c-retry", 3, 2500)]}
    key = {"Idempotency-Key": f"k-{uuid.uuid4().hex}"}
    async with aiohttp.ClientSession() as http:
        first = await asyncio.gather(*(post(http, f"{path.shop.url}/orders", body, **key) for _ in range(3)))
        again = await post(http, f"{path.shop.url}/orders", body, **key)
        other = await post(http, f"{path.shop.url}/orders", {**body, "user_id": "u-other"}, **key)
        status, paid = await post(http, f"{path.shop.url}/orders/{again[1]['order_id']}/pay", **key)
    assert {s for s, _ in [*first, again]} == {201}
    assert len({b["order_id"] for _, b in [*first, again]}) == 1
    assert other[0] == 422  # the key with another request
    assert status == 422  # a key belongs to one request: not reused for the payment
    want = {"c-retry": {"total_amount": 7500, "items_sold": 3, "order_count": 1}}
    assert await categories(path.worker, {"c-retry"}, want) == want
    records = await read_topic(path.deployment.bootstrap, path.deployment.topic("TOPIC_ORDERS"))
    assert len([r for r in records if r.key == b"u-retry"]) == 1


async def test_a_connect_replay_of_the_outbox_is_absorbed_by_the_duplicate_filters(
    path: Path, connect_worker
) -> None:  # type: ignore[no-untyped-def]
    topics = [path.deployment.topic("TOPIC_ORDERS"), path.deployment.topic("TOPIC_ORDER_EVENTS")]
    names = {*CATS, "c-after", "c-retry"}
    before = await categories(path.worker, names)
    _, lifecycle = await poll_json(f"{path.worker.url}/lifecycle", lambda s, b: s == 200)
    sent = await end_offsets_total(path.deployment.bootstrap, topics)

    def consumed(n: int) -> Any:
        return lambda s, b: s == 200 and sum(b["topics"].get(t, {}).get("consumed", 0) for t in topics) == n

    status, stats = await poll_json(f"{path.worker.url}/stats", consumed(sent))
    assert sent > 0 and consumed(sent)(status, stats), stats

    await asyncio.to_thread(
        dbz.reset_offsets, connect_worker, path.connector
    )  # it snapshots the outbox again

    deadline = asyncio.get_running_loop().time() + 60
    while await end_offsets_total(path.deployment.bootstrap, topics) < 2 * sent:
        assert asyncio.get_running_loop().time() < deadline, "the outbox was not re-sent"
        await asyncio.sleep(0.3)
    total = 0
    while total != (total := await end_offsets_total(path.deployment.bootstrap, topics)):
        await asyncio.sleep(1.5)  # until Debezium has re-sent all it will
    resent = total - sent
    _, after = await poll_json(f"{path.worker.url}/stats", consumed(total))
    dups = sum(after["topics"][t]["duplicates"] - stats["topics"][t]["duplicates"] for t in topics)
    assert dups == resent, after
    assert await categories(path.worker, names) == before
    _, now = await poll_json(f"{path.worker.url}/lifecycle", lambda s, b: s == 200)
    assert now == lifecycle


async def test_metrics_show_the_connector_state_and_the_outbox_lag(path: Path, connect_worker) -> None:  # type: ignore[no-untyped-def]
    def gauge(text: str, name: str) -> float:
        return next(float(line.split()[-1]) for line in text.splitlines() if line.startswith(name + " "))

    async def metrics_until(check: Any, timeout: float = 30) -> str:
        deadline = asyncio.get_running_loop().time() + timeout
        async with aiohttp.ClientSession() as http:
            while True:
                async with http.get(f"{path.shop.url}/metrics") as resp:
                    text = await resp.text()
                if check(text) or asyncio.get_running_loop().time() > deadline:
                    return text
                await asyncio.sleep(0.3)

    text = await metrics_until(lambda t: gauge(t, "shop_connector_running") == 1)
    assert gauge(text, "shop_connector_running") == 1
    await asyncio.to_thread(connect_worker.request, "PUT", f"/connectors/{path.connector}/stop")
    try:
        text = await metrics_until(lambda t: gauge(t, 'shop_connector_state{state="STOPPED"}') == 1)
        assert (
            gauge(text, "shop_connector_running") == 0
            and gauge(text, 'shop_connector_state{state="STOPPED"}') == 1
        )
        async with aiohttp.ClientSession() as http:
            status, _ = await post(
                http, f"{path.shop.url}/orders", {"user_id": "u-lag", "items": [_item("c-lag", 1, 1)]}
            )
        assert status == 201
        text = await metrics_until(lambda t: gauge(t, "shop_outbox_lag_seconds") > 1)
        assert gauge(text, "shop_outbox_lag_seconds") > 1  # unpublished while the connector is stopped
    finally:
        await asyncio.to_thread(connect_worker.request, "PUT", f"/connectors/{path.connector}/resume")
    text = await metrics_until(lambda t: gauge(t, "shop_outbox_lag_seconds") == 0)
    assert gauge(text, "shop_outbox_lag_seconds") == 0 and gauge(text, "shop_connector_running") == 1
    want = {"c-lag": {"total_amount": 1, "items_sold": 1, "order_count": 1}}
    assert await categories(path.worker, {"c-lag"}, want) == want

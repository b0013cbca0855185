"""A secured cluster, as on a real deployment: SASL_SSL (SCRAM-SHA-512) with ACLs on,
and the HTTP API behind a bearer token (HTTP_AUTH_TOKEN), through the query front
and through Faust's views, and between workers."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp
import orjson
import pytest
from aiokafka import AIOKafkaProducer

from infra.kafka import KafkaCluster, run_tool
from infra.kafka.security import APP, NOBODY
from tests.integration.harness import Deployment, Worker

pytestmark = pytest.mark.integration
TOKEN = "integration-token-5f2c9a"
ORDER = {
    "order_id": "o-1", "user_id": "u-42", "created_at": "2026-11-24T10:15:00+09:00", "currency": "KRW",
    "items": [{"sku": "sku-9", "category": "fashion", "quantity": 2, "unit_price": 15000}],
}  # fmt: skip


@pytest.fixture
def deployment(secured_kafka: KafkaCluster, tmp_path) -> Deployment:  # type: ignore[no-untyped-def]
    """This module's deployments run on the secured broker, as the app's user, behind a token;
    the user is granted exactly what ``python -m infra.kafka start --security sasl_ssl`` grants."""
    env = {**secured_kafka.client_env(APP), "HTTP_AUTH_TOKEN": TOKEN}
    deployment = Deployment(bootstrap=secured_kafka.bootstrap_servers, root=tmp_path, extra=env)
    secured_kafka.grant_app(deployment.name, [])  # its topics all start with its APP_ID
    return deployment


async def _get(http: aiohttp.ClientSession, url: str, token: str | None) -> tuple[int, Any, dict]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with http.get(url, headers=headers) as resp:  # headers: case-insensitive (hyper's are lower case)
        return resp.status, resp.headers.copy(), await resp.json(content_type=None)


async def test_worker_and_loadgen_over_sasl_ssl_give_the_oracles_answers_behind_a_token(
    deployment, workers, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    (front,) = workers(1)  # WEB_PORT served by the query front
    (views,) = workers(1, QUERY_FRONT="false")  # WEB_PORT served by Faust's views
    for w in (front, views):
        await w.wait_ready()
    oracle_file = tmp_path / "oracle.json"
    gen = deployment.faust(
        "loadgen", "clicks", "--advertisers", "20", "--count", "3000", "--rounds", "2",
        "--seed", "5", "--oracle", str(oracle_file),
    )  # fmt: skip
    assert gen.returncode == 0, gen.stderr[-3000:] + front.log_tail() + views.log_tail()
    for w in (front, views):  # verify sends the token; each worker forwards with it
        res = deployment.faust("verify", "--oracle", str(oracle_file), "--url", w.url, "--timeout", "120")
        assert res.returncode == 0, res.stdout[-3000:] + "\n" + w.log_tail()
        assert res.stdout.strip().endswith("mismatches=0")

    advertisers = json.loads(oracle_file.read_text())["advertisers"]
    async with aiohttp.ClientSession() as http:
        for w in (front, views):
            for token in (None, "wrong-token-0123456789"):
                for path in ("/stats", f"/advertisers/{next(iter(advertisers))}/budget"):
                    status, headers, body = await _get(http, f"{w.url}{path}", token)
                    assert (status, headers.get("WWW-Authenticate")) == (401, "Bearer"), (w.url, path)
                    assert "bearer token" in body["error"]
            status, _, body = await _get(http, f"{w.url}/healthz", None)
            assert (status, body) == (200, {"status": "ok"})
        served = {"front": 0, "forwarded": 0}
        for adv, want in advertisers.items():
            status, headers, body = await _get(http, f"{front.url}/advertisers/{adv}/budget", TOKEN)
            assert status == 200 and body["balance"] == want["balance"], (adv, body)
            served["front" if headers.get("X-Served-By") == "query-front" else "forwarded"] += 1
        assert served["front"] and served["forwarded"], served  # both paths, each checked the token


async def test_a_wrong_password_fails_at_start_and_never_shows_it(deployment, workers, tmp_path) -> None:  # type: ignore[no-untyped-def]
    wrong = "Wr0ng-pa55word-Zq9"
    (worker,) = workers(1, KAFKA_SASL_PASSWORD=wrong)
    assert worker.proc is not None
    code = worker.proc.wait(90)
    log = worker.log.read_text(errors="replace")
    assert code != 0
    assert "refused the login of User:streams (SCRAM-SHA-512 over SASL_SSL)" in log, log[-3000:]
    assert "KAFKA_SASL_PASSWORD" in log and wrong not in log

    gen = deployment.faust(
        "loadgen", "orders", "--count", "10", "--oracle", str(tmp_path / "o.json"), KAFKA_SASL_PASSWORD=wrong
    )
    out = gen.stdout + gen.stderr
    assert gen.returncode != 0 and "refused the login of User:streams" in out, out[-3000:]
    assert wrong not in out


def _grant(cluster: KafkaCluster, user: str, *args: str) -> None:
    run_tool("acls", "--add", "--allow-principal", f"User:{user}", *args, *cluster.tool_args(),
             bootstrap=cluster.bootstrap_servers)  # fmt: skip


async def test_no_write_on_the_outputs_stops_the_worker_naming_the_acl_and_loses_nothing(
    secured_kafka, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    # A user granted the app's internal topics, group and transactional ids, and only
    # read access to its inputs and outputs: what forgetting the outputs' ACLs looks like.
    env = {**secured_kafka.client_env(NOBODY), "HTTP_AUTH_TOKEN": TOKEN}
    deployment = Deployment(bootstrap=secured_kafka.bootstrap_servers, root=tmp_path, extra=env)
    app = deployment.name
    reads = ("--operation", "Read", "--operation", "Create", "--operation", "Describe")
    _grant(secured_kafka, NOBODY, *reads, "--operation", "Write", "--operation", "DescribeConfigs",
           "--topic", f"{app}-", "--resource-pattern-type", "prefixed")  # fmt: skip
    _grant(secured_kafka, NOBODY, *reads, "--operation", "DescribeConfigs", "--topic", f"{app}.",
           "--resource-pattern-type", "prefixed")  # fmt: skip
    _grant(secured_kafka, NOBODY, "--operation", "Read", "--operation", "Describe", "--group", app,
           "--resource-pattern-type", "prefixed")  # fmt: skip
    _grant(secured_kafka, NOBODY, "--operation", "Write", "--operation", "Describe",
           "--transactional-id", app, "--resource-pattern-type", "prefixed")  # fmt: skip

    worker = Worker(deployment).start()
    try:
        await worker.wait_ready()
        producer = AIOKafkaProducer(
            bootstrap_servers=secured_kafka.bootstrap_servers, **secured_kafka.client_kwargs()
        )
        await producer.start()
        try:
            await producer.send_and_wait(deployment.topic("TOPIC_ORDERS"), orjson.dumps(ORDER), key=b"u-42")
        finally:
            await producer.stop()
        assert worker.proc is not None
        code = worker.proc.wait(120)
        log = worker.log.read_text(errors="replace")
        totals = deployment.topic("TOPIC_CATEGORY_TOTALS")
        assert code != 0, "the worker must stop rather than go on without its outputs"
        assert f"Kafka denied User:{NOBODY} access to topic(s) {totals}" in log, log[-4000:]
        grant = f"--allow-principal User:{NOBODY} --operation Write --operation Describe --topic {totals}"
        assert grant in log

        # Nothing was committed past the order: once granted, a restart counts it.
        _grant(secured_kafka, NOBODY, "--operation", "Write", "--topic", f"{app}.",
               "--resource-pattern-type", "prefixed")  # fmt: skip
        worker.start()
        body: dict = {}
        async with aiohttp.ClientSession() as http:
            for _ in range(300):
                try:
                    status, _, body = await _get(http, f"{worker.url}/categories/fashion", TOKEN)
                    if status == 200:
                        break
                except aiohttp.ClientError:
                    pass
                assert worker.alive(), worker.log_tail()
                await asyncio.sleep(0.4)
        assert (body.get("total_amount"), body.get("order_count")) == (30000, 1), (body, worker.log_tail())
    finally:
        worker.stop()

"""Clicks -> CPC budgets on the real broker, two worker subprocesses."""

from __future__ import annotations

import json
from collections import defaultdict

import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from infra.kafka.tools import console_consume
from tests.integration.harness import Worker

pytestmark = pytest.mark.integration


async def test_two_workers_charge_each_click_once(deployment, workers, tmp_path):  # type: ignore[no-untyped-def]
    pair = workers(2)
    for w in pair:
        await w.wait_http()
    oracle_file = tmp_path / "oracle.json"
    gen = deployment.faust(
        "loadgen", "clicks", "--advertisers", "100", "--count", "40000", "--rounds", "4",
        "--seed", "21", "--dup-rate", "0.01", "--bad-rate", "0.005", "--oracle", str(oracle_file),
    )  # fmt: skip
    assert gen.returncode == 0, gen.stderr[-3000:] + "\n".join(w.log_tail() for w in pair)
    oracle = json.loads(oracle_file.read_text())
    clicks = oracle["topics"][deployment.topic("TOPIC_AD_CLICKS")]
    assert clicks["consumed"] == 40_000 and clicks["duplicates"] > 200
    assert sum(1 for a in oracle["advertisers"].values() if a["status"] == "exhausted") > 20

    for w in pair:
        res = deployment.faust("verify", "--oracle", str(oracle_file), "--url", w.url,
                               "--timeout", "300")  # fmt: skip
        assert res.returncode == 0, res.stdout[-3000:] + "\n" + w.log_tail()
        assert res.stdout.strip().endswith("mismatches=0")

    ledger = [
        json.loads(line.partition("\t")[2])
        for line in console_consume(
            deployment.bootstrap, deployment.topic("TOPIC_AD_LEDGER"), print_key=True, timeout_ms=10_000
        )  # fmt: skip
    ]
    assert len(ledger) == oracle["ledger_entries"]
    ids = [e["entry_id"] for e in ledger]
    assert len(ids) == len(set(ids)), "an entry_id appears twice"
    assert min(e["balance_after"] for e in ledger) >= 0
    sums: dict[str, int] = defaultdict(int)
    for e in ledger:
        sums[e["advertiser_id"]] += e["amount"]
    for adv, want in oracle["advertisers"].items():
        assert sums[adv] == want["balance"], adv

    transitions: dict[str, list[str]] = defaultdict(list)
    for line in console_consume(deployment.bootstrap, deployment.topic("TOPIC_AD_BUDGET_STATUS"),
                                timeout_ms=8000):  # fmt: skip
        change = json.loads(line)
        transitions[change["advertiser_id"]].append(change["status"])
    assert transitions == oracle["transitions"]


async def test_worker_refuses_inputs_that_are_not_copartitioned(deployment):  # type: ignore[no-untyped-def]
    admin = AIOKafkaAdminClient(bootstrap_servers=deployment.bootstrap)
    await admin.start()
    try:
        await admin.create_topics([
            NewTopic(deployment.topic("TOPIC_AD_BUDGET"), 3, 1),
            NewTopic(deployment.topic("TOPIC_AD_CLICKS"), 6, 1),
        ])  # fmt: skip
    finally:
        await admin.close()
    worker = Worker(deployment).start()
    assert worker.proc is not None
    code = worker.proc.wait(120)
    log = worker.log.read_text()
    assert code != 0
    assert "(3 partitions)" in log and "(6 partitions)" in log and "co-partitioned" in log

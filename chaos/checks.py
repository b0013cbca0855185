"""What must hold after a chaos run, read from outside with read_committed to the end offsets."""

from __future__ import annotations

import json
from collections import Counter, defaultdict

from aiokafka import ConsumerRecord

from infra.kafka.committed import read_committed
from infra.workers import Deployment


async def _read(dep: Deployment, var: str) -> list[ConsumerRecord]:
    return await read_committed({"bootstrap_servers": dep.bootstrap}, dep.topic(var))


async def check_outputs(dep: Deployment, orders: dict, clicks: dict) -> tuple[list[str], int]:
    """Return (problems, duplicates) found in the output topics."""
    problems: list[str] = []
    totals = {}
    for record in await _read(dep, "TOPIC_CATEGORY_TOTALS"):  # in offset order: the last wins
        totals[record.key.decode()] = json.loads(record.value)
    for cat, want in orders["categories"].items():
        got = {k: totals.get(cat, {}).get(k) for k in want}
        if got != want:
            problems.append(f"category-totals[{cat}]: expected {want} got {got}")

    ledger = [json.loads(r.value) for r in await _read(dep, "TOPIC_AD_LEDGER")]
    repeats = {i: n for i, n in Counter(e["entry_id"] for e in ledger).items() if n > 1}
    if repeats:
        problems.append(f"ledger: {len(repeats)} entry_ids repeated, e.g. {list(repeats)[:5]}")
    negative = [e for e in ledger if e["balance_after"] < 0]
    if negative:
        problems.append(f"ledger: {len(negative)} negative balance_after")
    sums: dict[str, int] = defaultdict(int)
    for e in ledger:
        sums[e["advertiser_id"]] += e["amount"]
    for adv, want in clicks["advertisers"].items():
        if sums[adv] != want["balance"]:
            problems.append(f"ledger[{adv}] sums to {sums[adv]}, balance is {want['balance']}")

    transitions: dict[str, list[str]] = defaultdict(list)
    for record in await _read(dep, "TOPIC_AD_BUDGET_STATUS"):
        change = json.loads(record.value)
        transitions[change["advertiser_id"]].append(change["status"])
    for adv in sorted(set(transitions) | set(clicks["transitions"])):
        if transitions.get(adv, []) != clicks["transitions"].get(adv, []):
            problems.append(
                f"status[{adv}]: expected {clicks['transitions'].get(adv)} got {transitions.get(adv)}"
            )

    for var, oracle, topic_var in (
        ("TOPIC_ORDERS_DLQ", orders, "TOPIC_ORDERS"),
        ("TOPIC_AD_CLICKS_DLQ", clicks, "TOPIC_AD_CLICKS"),
        ("TOPIC_AD_BUDGET_DLQ", clicks, "TOPIC_AD_BUDGET"),
    ):
        want = oracle["topics"][dep.topic(topic_var)]["dead_lettered"]
        got = len(await _read(dep, var))
        if got != want:
            problems.append(f"{dep.topic(var)}: expected {want} dead letters, found {got}")
    duplicates = sum(n - 1 for n in repeats.values())
    return problems, duplicates

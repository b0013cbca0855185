"""``verify --invariants``: what must hold for clicks whatever the interleaving.

With top-ups and clicks produced freely (no barriers), which clicks get charged
depends on timing, so exact balances cannot be predicted; these can:
balances are never negative, balance = funded - spent, every top-up is applied
exactly once (funded per advertiser is order-independent), every click is
charged, rejected, a duplicate or dead-lettered, and the ledger (read with
read_committed) has each entry once, sums to each balance, and its charges sum
to each advertiser's spend.
"""

from __future__ import annotations

from collections import defaultdict

import aiohttp
import orjson
from aiokafka import AIOKafkaConsumer

from cli.compare import _get, compare_accounting
from config import Settings
from config.kafka import client_kwargs


async def read_ledger(settings: Settings) -> list[dict]:
    consumer = AIOKafkaConsumer(
        settings.topic_ad_ledger, **client_kwargs(settings), isolation_level="read_committed",
        auto_offset_reset="earliest", enable_auto_commit=False,
    )  # fmt: skip
    await consumer.start()
    try:
        parts = consumer.assignment() or set()
        while not parts:
            await consumer.getmany(timeout_ms=200)
            parts = consumer.assignment()
        ends = await consumer.end_offsets(list(parts))
        entries = []
        while True:
            positions = {tp: await consumer.position(tp) for tp in ends}
            if all(positions[tp] >= end for tp, end in ends.items()):
                return entries
            for records in (await consumer.getmany(timeout_ms=1000)).values():
                entries += [orjson.loads(r.value) for r in records]
    finally:
        await consumer.stop()


async def check_clicks_invariants(
    http: aiohttp.ClientSession, url: str, oracle: dict, settings: Settings
) -> tuple[int, list[str]]:
    diffs = await compare_accounting(http, url, oracle)
    live = {a["advertiser_id"]: a for a in (await _get(http, f"{url}/advertisers"))["advertisers"]}
    ledger = await read_ledger(settings)
    seen: set[str] = set()
    sums: dict[str, int] = defaultdict(int)
    charges: dict[str, int] = defaultdict(int)
    for e in ledger:
        if e["entry_id"] in seen:
            diffs.append(f"ledger entry {e['entry_id']} appears twice")
        seen.add(e["entry_id"])
        sums[e["advertiser_id"]] += e["amount"]
        if e["kind"] == "click":
            charges[e["advertiser_id"]] -= e["amount"]
    clicks_topic = settings.topic_ad_clicks
    decided = sum(a["charged"] + a["rejected"] for a in live.values())
    if decided != oracle["topics"][clicks_topic]["processed"]:
        diffs.append(f"charged+rejected={decided}, expected {oracle['topics'][clicks_topic]['processed']}")
    for adv, want in oracle["advertisers"].items():
        got = live.get(adv)
        if got is None:
            diffs.append(f"{adv}: missing")
            continue
        if got["balance"] < 0:
            diffs.append(f"{adv}: negative balance {got['balance']}")
        if got["balance"] != got["funded"] - got["spent"]:
            diffs.append(f"{adv}: balance {got['balance']} != funded - spent")
        if got["funded"] != want["funded"]:
            diffs.append(f"{adv}: funded {got['funded']}, top-ups applied add to {want['funded']}")
        if sums[adv] != got["balance"]:
            diffs.append(f"{adv}: ledger sums to {sums[adv]}, balance is {got['balance']}")
        if charges[adv] != got["spent"]:
            diffs.append(f"{adv}: ledger charges {charges[adv]}, spent is {got['spent']}")
    return len(oracle["advertisers"]) + len(oracle["topics"]), diffs

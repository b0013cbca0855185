"""Differences between live state (over HTTP) and an oracle, as readable lines."""

from __future__ import annotations

from typing import Any

import aiohttp

FIELDS = ("total_amount", "items_sold", "order_count")


async def _get(http: aiohttp.ClientSession, url: str, **params: str) -> Any:
    async with http.get(url, params=params) as resp:
        if resp.status != 200:
            raise ValueError(f"GET {resp.url} -> {resp.status} {await resp.text()}")
        return await resp.json()


def diff_counts(where: str, expected: dict, actual: dict, fields: tuple[str, ...]) -> list[str]:
    return [
        f"{where}.{f}: expected {expected.get(f)} got {actual.get(f)}"
        for f in fields
        if expected.get(f) != actual.get(f)
    ]


async def compare_accounting(http: aiohttp.ClientSession, url: str, oracle: dict) -> list[str]:
    live = (await _get(http, f"{url}/stats"))["topics"]
    diffs = []
    for topic, counts in oracle["topics"].items():
        diffs += diff_counts(f"{url} stats[{topic}]", counts, live.get(topic, {}), tuple(counts))
    return diffs


async def compare_orders(http: aiohttp.ClientSession, url: str, oracle: dict) -> tuple[int, list[str]]:
    """Return (keys compared, differences) for the orders workload through one worker."""
    diffs = await compare_accounting(http, url, oracle)
    keys = len(oracle["topics"])
    live = {r["category"]: r for r in (await _get(http, f"{url}/categories"))["categories"]}
    expected = oracle["categories"]
    for category in sorted(set(expected) | set(live)):
        keys += 1
        if category not in live:
            diffs.append(f"{url} category {category!r}: missing")
        elif category not in expected:
            diffs.append(f"{url} category {category!r}: not expected")
        else:
            diffs += diff_counts(f"{url} {category}", expected[category], live[category], FIELDS)
    for category, hours in sorted(oracle["hourly"].items()):
        lo, hi = min(hours), max(hours)
        body = await _get(http, f"{url}/categories/{category}/hourly", **{"from": lo, "to": hi})
        got = {b["hour"]: b for b in body["buckets"]}
        for hour, want in hours.items():
            keys += 1
            diffs += diff_counts(f"{url} {category}@{hour}", want, got.get(hour, {}), FIELDS)
        diffs += [f"{url} {category}@{h}: not expected" for h in set(got) - set(hours)]
    return keys, diffs


BUDGET_FIELDS = ("balance", "spent", "funded", "charged", "rejected", "duplicates", "status", "version")


async def compare_clicks(http: aiohttp.ClientSession, url: str, oracle: dict) -> tuple[int, list[str]]:
    """Exact check of the clicks workload: budgets, daily statistics, accounting."""
    diffs = await compare_accounting(http, url, oracle)
    keys = len(oracle["topics"])
    live = {a["advertiser_id"]: a for a in (await _get(http, f"{url}/advertisers"))["advertisers"]}
    expected = oracle["advertisers"]
    for adv in sorted(set(expected) | set(live)):
        keys += 1
        if adv not in live or adv not in expected:
            diffs.append(f"{url} advertiser {adv!r}: {'missing' if adv not in live else 'not expected'}")
            continue
        diffs += diff_counts(f"{url} {adv}", expected[adv], live[adv], BUDGET_FIELDS)
    for adv, days in sorted(oracle["daily"].items()):
        lo, hi = min(days), max(days)
        body = await _get(http, f"{url}/advertisers/{adv}/daily", **{"from": lo, "to": hi})
        got = {d["day"]: d["campaigns"] for d in body["days"]}
        keys += len(days)
        if got != days:
            diffs.append(f"{url} {adv} daily: expected {days} got {got}")
    return keys, diffs


async def compare_lifecycle(http: aiohttp.ClientSession, url: str, oracle: dict) -> tuple[int, list[str]]:
    """Exact check of the lifecycle workload: counts by status, per user and in all,
    and the oracle's sample of orders through GET /orders/{order_id}."""
    diffs = await compare_accounting(http, url, oracle)
    total = await _get(http, f"{url}/lifecycle")
    diffs += diff_counts(f"{url} lifecycle", oracle["counts"], total["counts"], tuple(oracle["counts"]))
    for user, counts in sorted(oracle["users"].items()):
        live = (await _get(http, f"{url}/users/{user}/orders"))["counts"]
        diffs += diff_counts(f"{url} {user}", counts, live, tuple(counts))
    for order_id, want in sorted(oracle["orders"].items()):
        got = await _get(http, f"{url}/orders/{order_id}", user_id=want["user_id"])
        diffs += diff_counts(f"{url} order {order_id}", want, got, ("status", "version"))
    return len(oracle["topics"]) + 1 + len(oracle["users"]) + len(oracle["orders"]), diffs


COMPARERS = {"orders": compare_orders, "clicks": compare_clicks, "lifecycle": compare_lifecycle}

"""The bench's clicks workload: one top-up per advertiser, large enough that no click is
ever rejected, then clicks; the oracle does not depend on the order they are applied in.

Kafka orders records only within one partition of one topic, so with top-ups and clicks
pre-loaded in two topics which click meets which balance would depend on timing. Here
every advertiser's top-up covers all of its clicks plus some slack, so once the top-ups
are applied (the bench makes sure they are before any click becomes readable) every click
is charged whatever the order, and the final budgets are exact.

The oracle is computed with the app's own domain functions from the records as produced,
in the shape ``cli.compare.compare_clicks`` reads.
"""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import orjson

from domain.budgets import (
    Budget,
    add_daily,
    apply_click,
    apply_funding,
    kst_day,
    parse_budget_event,
    parse_click,
)
from domain.errors import StreamsError

START = datetime(2026, 11, 24, 0, 0, tzinfo=UTC)  # KST 09:00; clicks cross KST midnights
SPAN = timedelta(hours=40)
Record = tuple[bytes, bytes]
_UNCHECKED = ("updated_at", "last_rejected_cpc")


class ClickRejected(StreamsError, AssertionError):
    """A bench click would be rejected: the workload would no longer be order-independent."""


@dataclass
class BenchClicks:
    """``top_ups`` (one per advertiser) and ``clicks``, with ``oracle()`` describing the end state."""

    advertisers: int
    count: int
    seed: int = 1
    topics: tuple[str, str] = ("ad-budget", "ad-clicks")
    top_ups: list[Record] = field(default_factory=list)
    clicks: list[Record] = field(default_factory=list)
    budgets: dict[str, Budget] = field(default_factory=dict)
    daily: dict = field(default_factory=lambda: defaultdict(dict))

    def __post_init__(self) -> None:
        if self.advertisers < 1 or self.count < 0:
            raise ValueError("need at least one advertiser and a non-negative click count")
        rng = random.Random(self.seed)
        ids = [f"a-{i}" for i in range(self.advertisers)]
        weights = [1 / (1 + i % 50) for i in range(self.advertisers)]  # a few big spenders
        spend: dict[str, int] = dict.fromkeys(ids, 0)
        bodies = []
        for i, adv in enumerate(rng.choices(ids, weights, k=self.count)):
            cpc = rng.randint(1, 10) * 100
            spend[adv] += cpc
            ts = (START + SPAN * (i / max(self.count, 1))).isoformat(timespec="seconds")
            bodies.append(
                {
                    "click_id": f"k-{self.seed}-{i}",
                    "advertiser_id": adv,
                    "campaign_id": f"c-{rng.randint(1, 3)}",
                    "cpc": cpc,
                    "ts": ts,
                }
            )
        for adv in ids:  # every advertiser is funded, with or without clicks
            body = {
                "event_id": f"t-{self.seed}-{adv}",
                "advertiser_id": adv,
                "type": "top_up",
                "amount": spend[adv] + rng.randint(1, 100) * 1000,
                "ts": START.isoformat(),
            }
            self._apply(self.top_ups, body, parse_budget_event, apply_funding)
        for body in bodies:
            self._apply(self.clicks, body, parse_click, apply_click)

    def _apply(self, out: list[Record], body: dict, parse, apply) -> None:  # type: ignore[no-untyped-def]
        # orjson over-allocates its bytes (about 4 KiB each): keep an exact-size copy.
        key, value = body["advertiser_id"].encode(), bytes(memoryview(orjson.dumps(body)))
        out.append((key, value))
        event = parse(key, value)
        budget = self.budgets.setdefault(event.advertiser_id, Budget())
        outcome = apply(budget, event)
        if hasattr(event, "cpc"):
            if outcome.entry is None:
                raise ClickRejected(f"click {event.click_id} of {event.advertiser_id} would be rejected")
            day = self.daily[event.advertiser_id].setdefault(kst_day(event.ts).isoformat(), {})
            add_daily(day, event, charged=True)

    @property
    def events(self) -> int:
        return len(self.top_ups) + len(self.clicks)

    def oracle(self) -> dict:
        funding, clicks = self.topics
        acct = {
            t: {"consumed": n, "processed": n, "duplicates": 0, "dead_lettered": 0}
            for t, n in ((funding, len(self.top_ups)), (clicks, len(self.clicks)))
        }
        return {
            "workload": "clicks",
            "seed": self.seed,
            "topics": acct,
            "advertisers": {
                a: {k: v for k, v in b.to_dict().items() if k not in _UNCHECKED}
                for a, b in self.budgets.items()
            },
            "daily": self.daily,
        }

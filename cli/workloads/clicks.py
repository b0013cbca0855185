"""Ad traffic in rounds (top-ups, barrier, clicks, barrier) with an exact oracle.

Kafka orders records within one partition of one topic only, so the oracle is
exact only when each round's top-ups are fully processed before its clicks
arrive; the load generator waits for the app's consumer group to catch up
between phases (the barriers) to make it so.
"""

from __future__ import annotations

import random
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import orjson

from config import Settings
from domain.budgets import (
    Budget,
    add_daily,
    apply_click,
    apply_funding,
    kst_day,
    parse_budget_event,
    parse_click,
)
from domain.dedup import Filter

UTC = UTC
START = datetime(2026, 11, 24, 0, 0, tzinfo=UTC)  # KST 09:00; clicks cross KST midnights
SPAN = timedelta(hours=40)
Record = tuple[bytes, bytes]
_UNCHECKED = ("updated_at", "last_rejected_cpc")


@dataclass
class Round:
    fundings: list[Record] = field(default_factory=list)
    clicks: list[Record] = field(default_factory=list)


# The app's duplicate-filter window (RETENTION_SEEN_BUDGET_EVENTS) when the caller gives none.
_DEDUP_WINDOW: int = Settings.model_fields["retention_seen_budget_events"].default


def _bad_funding(i: int, body: dict) -> Record:
    key = body["advertiser_id"].encode()
    match i % 5:
        case 0:
            return key, b"top-up 500000"  # not JSON
        case 1:
            body["amount"] = 0  # neither a top-up nor an adjustment may be 0
        case 2:
            body["amount"] = "500"  # wrong type
        case 3:
            body["type"] = "refund"  # unknown type
        case _:
            del body["ts"]  # missing field
    return key, orjson.dumps(body)


def _bad_click(i: int, body: dict) -> Record:
    key = body["advertiser_id"].encode()
    match i % 6:
        case 0:
            return key, b"\xff\xfe not json"
        case 1:
            body["cpc"] = 0  # cpc must be > 0
        case 2:
            body["cpc"] = 320.5  # money is an integer
        case 3:
            body["ts"] = "yesterday"  # bad timestamp
        case 4:
            body["extra"] = 1  # unknown field
        case _:
            key = b"a-nobody"  # not keyed by its advertiser
    return key, orjson.dumps(body)


class ClicksWorkload:
    """Generates rounds and simulates them in the order the app will apply them."""

    def __init__(self, advertisers: int, count: int, rounds: int, seed: int,
                 dup_rate: float = 0.0, bad_rate: float = 0.0,
                 topics: tuple[str, str] = ("ad-budget", "ad-clicks"),
                 dedup_window: int = _DEDUP_WINDOW) -> None:  # fmt: skip
        self.funding_topic, self.clicks_topic = topics
        self.rng = random.Random(seed)
        self.seed, self.count, self.rounds = seed, count, rounds
        self.dup_rate, self.bad_rate = dup_rate, bad_rate
        self.advertisers = [f"a-{i}" for i in range(advertisers)]
        self.weights = [1 / (1 + i % 50) for i in range(advertisers)]
        self.budgets: dict[str, Budget] = {}
        self.daily: dict = defaultdict(dict)
        self.transitions: dict[str, list[str]] = defaultdict(list)
        self.ledger_entries = 0
        # The app's rule (domain.dedup), one filter per source topic; the producer
        # stamps records with the wall clock, so now is their stream time.
        self.filters = {t: Filter(dedup_window) for t in topics}
        self.accounting = {
            t: {"consumed": 0, "processed": 0, "duplicates": 0, "dead_lettered": 0} for t in topics
        }
        self._n = 0

    def _ts(self, i: int) -> str:
        return (START + SPAN * (i / max(self.count, 1))).isoformat(timespec="seconds")

    def _emit(self, topic: str, out: list[Record], body: dict, bad, parse, apply) -> None:  # type: ignore[no-untyped-def]
        """Append one record (maybe malformed, maybe duplicated) and simulate it."""
        acct = self.accounting[topic]
        self._n += 1
        roll = self.rng.random()
        if roll < self.bad_rate:
            out.append(bad(self._n, dict(body)))
            acct["consumed"] += 1
            acct["dead_lettered"] += 1
            return
        key, value = body["advertiser_id"].encode(), orjson.dumps(body)
        copies = 2 if roll < self.bad_rate + self.dup_rate else 1
        for _ in range(copies):
            out.append((key, value))
            acct["consumed"] += 1
            event = parse(key, value)
            budget = self.budgets.setdefault(event.advertiser_id, Budget())
            entry_id = getattr(event, "click_id", None) or event.event_id
            if not self.filters[topic].offer(entry_id, int(time.time())):
                budget.count_duplicate()
                acct["duplicates"] += 1
                continue
            outcome = apply(budget, event)
            acct["processed"] += 1
            self.ledger_entries += outcome.entry is not None or outcome.rejection is not None
            if outcome.change is not None:
                self.transitions[event.advertiser_id].append(outcome.change.status)
            if hasattr(event, "cpc"):
                day = self.daily[event.advertiser_id].setdefault(kst_day(event.ts).isoformat(), {})
                add_daily(day, event, charged=outcome.entry is not None)

    def rounds_iter(self):  # type: ignore[no-untyped-def]
        """Yield each Round; the oracle reflects every round yielded so far."""
        per_round = [self.count // self.rounds] * self.rounds
        per_round[-1] += self.count - sum(per_round)
        clicks_done = 0
        for r, n_clicks in enumerate(per_round):
            rnd = Round()
            for adv in self.advertisers:
                if r == 0 or self.rng.random() < 0.5:
                    body = {"event_id": f"t-{self.seed}-{r}-{adv}", "advertiser_id": adv,
                            "type": "top_up", "amount": self.rng.randint(5, 60) * 1000,
                            "ts": self._ts(clicks_done)}  # fmt: skip
                    self._emit(self.funding_topic, rnd.fundings, body, _bad_funding,
                               parse_budget_event, apply_funding)  # fmt: skip
                balance = self.budgets.get(adv, Budget()).balance
                if r > 0 and balance > 1000 and self.rng.random() < 0.05:
                    body = {"event_id": f"j-{self.seed}-{r}-{adv}", "advertiser_id": adv,
                            "type": "adjust", "amount": -self.rng.randint(1, balance // 2),
                            "ts": self._ts(clicks_done)}  # fmt: skip
                    self._emit(self.funding_topic, rnd.fundings, body, _bad_funding,
                               parse_budget_event, apply_funding)  # fmt: skip
            for _ in range(n_clicks):
                if self._clicks_emitted() >= self.count:
                    break
                adv = self.rng.choices(self.advertisers, self.weights)[0]
                body = {"click_id": f"k-{self.seed}-{clicks_done}", "advertiser_id": adv,
                        "campaign_id": f"c-{self.rng.randint(1, 3)}",
                        "cpc": self.rng.randint(1, 10) * 100, "ts": self._ts(clicks_done)}  # fmt: skip
                self._emit(self.clicks_topic, rnd.clicks, body, _bad_click, parse_click, apply_click)
                clicks_done += 1
            yield rnd

    def _clicks_emitted(self) -> int:
        return self.accounting[self.clicks_topic]["consumed"]

    def oracle(self) -> dict:
        return {
            "workload": "clicks",
            "seed": self.seed,
            "topics": self.accounting,
            "advertisers": {
                a: {k: v for k, v in b.to_dict().items() if k not in _UNCHECKED}
                for a, b in self.budgets.items()
            },
            "daily": self.daily,
            "transitions": self.transitions,
            "ledger_entries": self.ledger_entries,
        }

"""Order lifecycle traffic: many users' orders stepping through their lifecycle,
interleaved, with repeats (duplicates) and invalid steps (dead letters).

The oracle folds the events as produced with the app's own domain functions
(domain/lifecycle.py), so it states what a correct pipeline must end up with.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import orjson

from domain.errors import InvalidRecord
from domain.lifecycle import DUPLICATE, NEXT, STATUSES, apply_event, parse_order_event

KST = timezone(timedelta(hours=9))
START = datetime(2026, 11, 24, 0, 0, tzinfo=KST)
# Where an order's walk goes next from each status.
WALKS: dict[str, list[str]] = {
    "placed": ["paid", "paid", "paid", "cancelled"],
    "paid": ["shipped", "shipped", "shipped", "cancelled"],
    "shipped": ["delivered"],
}


def _event(user: str, order_id: str, status: str, i: int) -> tuple[bytes, bytes]:
    at = (START + timedelta(seconds=i)).isoformat(timespec="seconds")
    return user.encode(), orjson.dumps({"order_id": order_id, "user_id": user, "status": status, "at": at})


def generate(
    count: int, seed: int, dup_rate: float, bad_rate: float, topic: str, retention: int, users: int = 200
) -> tuple[Iterator[tuple[bytes, bytes]], dict]:
    """Return (records, oracle); the oracle is complete once records is exhausted."""
    oracle: dict = {
        "workload": "lifecycle",
        "seed": seed,
        "count": count,
        "topics": {topic: {"consumed": 0, "processed": 0, "duplicates": 0, "dead_lettered": 0}},
        "counts": dict.fromkeys(STATUSES, 0),
        "users": {},
    }

    def records() -> Iterator[tuple[bytes, bytes]]:
        rng = random.Random(seed)
        acct = oracle["topics"][topic]
        states: dict[str, dict | None] = {}
        live: list[tuple[str, str, str]] = []  # (user, order, status) still open
        for i in range(count):
            roll = rng.random()
            if live and roll < dup_rate + bad_rate:
                user, order_id, status = live[rng.randrange(len(live))]
                if roll < dup_rate:
                    key, value = _event(user, order_id, status, i)  # a repeat
                else:
                    wrong = [s for s in STATUSES if s not in NEXT[status] and s != status]
                    key, value = _event(user, order_id, rng.choice(wrong), i)
            elif live and rng.random() < 0.6:
                n = rng.randrange(len(live))
                user, order_id, status = live[n]
                step = rng.choice(WALKS[status])
                if step in ("delivered", "cancelled"):
                    live[n] = live[-1]
                    live.pop()
                else:
                    live[n] = (user, order_id, step)
                key, value = _event(user, order_id, step, i)
            else:
                user, order_id = f"u-{rng.randint(1, users)}", f"o-{seed}-{i:09d}"
                live.append((user, order_id, "placed"))
                key, value = _event(user, order_id, "placed", i)
            _fold(states, acct, key, value, retention)
            yield key, value
        for user, state in states.items():
            if state is not None:
                oracle["users"][user] = state["counts"]
                for status, n in state["counts"].items():
                    oracle["counts"][status] += n

    return records(), oracle


def _fold(states: dict, acct: dict, key: bytes, value: bytes, retention: int) -> None:
    acct["consumed"] += 1
    try:
        event = parse_order_event(key, value)
        state, outcome = apply_event(states.get(event.user_id), event, retention)
    except InvalidRecord:
        acct["dead_lettered"] += 1
        return
    if outcome == DUPLICATE:
        acct["duplicates"] += 1
        return
    states[event.user_id] = state
    acct["processed"] += 1

"""Order lifecycle traffic: many users' orders stepping through their lifecycle,
interleaved, with redeliveries (an event sent again, same event_id), repeats of
an order's status (new event_id), invalid steps and malformed records.

The oracle folds the events as produced with the app's own domain functions
(domain/lifecycle.py), so it states what a correct pipeline must end up with,
and accounts for every input: applied, duplicate (redelivered or repeated) or
dead-lettered, by reason.
"""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import orjson

from domain.errors import InvalidRecord
from domain.lifecycle import APPLIED, NEXT, REDELIVERED, REPEATED, STATUSES, apply_event, parse_order_event

KST = timezone(timedelta(hours=9))
START = datetime(2026, 11, 24, 0, 0, tzinfo=KST)
# Where an order's walk goes next from each status.
WALKS: dict[str, list[str]] = {
    "created": ["paid", "paid", "paid", "cancelled"],
    "paid": ["shipped", "shipped", "shipped", "cancelled"],
    "shipped": ["delivered"],
}
RECENT = 200  # redeliveries mostly come from the last events sent...
SAMPLE = 500  # ...and some from a uniform sample of all (older than the retention, some)
ORDERS_CHECKED = 20  # orders whose final state the oracle keeps, for GET /orders/{id}


def event(user: str, order_id: str, status: str, i: int, event_id: str) -> tuple[bytes, bytes]:
    ts = (START + timedelta(seconds=i)).isoformat(timespec="seconds")
    body = {"event_id": event_id, "order_id": order_id, "user_id": user, "status": status, "ts": ts}
    return user.encode(), orjson.dumps(body)


def generate(
    count: int, seed: int, dup_rate: float, bad_rate: float, topic: str, retention: int, users: int = 200
) -> tuple[Iterator[tuple[bytes, bytes]], dict]:
    """Return (records, oracle); the oracle is complete once records is exhausted."""
    oracle: dict = {
        "workload": "lifecycle",
        "seed": seed,
        "count": count,
        "topics": {topic: {"consumed": 0, "processed": 0, "duplicates": 0, "dead_lettered": 0}},
        "outcomes": {APPLIED: 0, REDELIVERED: 0, REPEATED: 0, "dead_lettered": {}},
        "counts": dict.fromkeys(STATUSES, 0),
        "users": {},
        "orders": {},
    }

    def records() -> Iterator[tuple[bytes, bytes]]:
        rng = random.Random(seed)
        states: dict[str, dict] = {}
        live: list[tuple[str, str, str]] = []  # (user, order, status) still open
        finished: deque[tuple[str, str, str]] = deque(maxlen=RECENT)
        recent: deque[tuple[bytes, bytes]] = deque(maxlen=RECENT)
        sample: list[tuple[bytes, bytes]] = []  # reservoir over every event sent
        created: deque[tuple[str, str]] = deque(maxlen=ORDERS_CHECKED)
        for i in range(count):
            eid = f"e-{seed}-{i:09d}"
            roll = rng.random()
            if recent and roll < dup_rate:
                if rng.random() < 0.25 and live:  # the current status again, a new event_id
                    user, order_id, status = live[rng.randrange(len(live))]
                    key, value = event(user, order_id, status, i, eid)
                else:  # the very same event again
                    pool = sample if rng.random() < 0.25 else recent
                    key, value = pool[rng.randrange(len(pool))]
            elif (live or finished) and roll < dup_rate + bad_rate:
                key, value = _bad(rng, live, finished, i, eid)
            elif live and rng.random() < 0.6:
                n = rng.randrange(len(live))
                user, order_id, status = live[n]
                step = rng.choice(WALKS[status])
                if step in ("delivered", "cancelled"):
                    live[n] = live[-1]
                    live.pop()
                    finished.append((user, order_id, step))
                else:
                    live[n] = (user, order_id, step)
                key, value = event(user, order_id, step, i, eid)
            else:
                user, order_id = f"u-{rng.randint(1, users)}", f"o-{seed}-{i:09d}"
                live.append((user, order_id, "created"))
                created.append((user, order_id))
                key, value = event(user, order_id, "created", i, eid)
            _fold(states, oracle, topic, key, value, retention)
            recent.append((key, value))
            if len(sample) < SAMPLE:
                sample.append((key, value))
            elif (j := rng.randrange(i + 1)) < SAMPLE:
                sample[j] = (key, value)
            yield key, value
        for user, state in states.items():
            oracle["users"][user] = state["counts"]
            for status, n in state["counts"].items():
                oracle["counts"][status] += n
        for user, order_id in created:
            order = states[user]["orders"].get(order_id)
            if order is not None:
                oracle["orders"][order_id] = {
                    "user_id": user,
                    "status": order["status"],
                    "version": order["version"],
                }

    return records(), oracle


def _bad(rng: random.Random, live: list, finished: deque, i: int, eid: str) -> tuple[bytes, bytes]:
    """An event the pipeline must dead-letter: a forbidden step (most), the former
    `placed` status or not JSON at all."""
    roll = rng.random()
    if roll < 0.1:
        user = f"u-{rng.randint(1, 9)}"
        return event(user, f"o-bad-{i}", "placed", i, eid)
    if roll < 0.2:
        return b"u-1", b"not json"
    if finished and (not live or roll < 0.4):  # anything after delivered or cancelled
        user, order_id, _ = finished[rng.randrange(len(finished))]
        return event(user, order_id, rng.choice(STATUSES), i, eid)
    user, order_id, status = live[rng.randrange(len(live))]
    wrong = [s for s in STATUSES if s not in NEXT[status] and s != status]
    return event(user, order_id, rng.choice(wrong), i, eid)


def _fold(states: dict, oracle: dict, topic: str, key: bytes, value: bytes, retention: int) -> None:
    acct, outcomes = oracle["topics"][topic], oracle["outcomes"]
    acct["consumed"] += 1
    try:
        event = parse_order_event(key, value)
        state, outcome = apply_event(states.get(event.user_id), event, retention)
    except InvalidRecord as error:
        acct["dead_lettered"] += 1
        outcomes["dead_lettered"][error.reason] = outcomes["dead_lettered"].get(error.reason, 0) + 1
        return
    outcomes[outcome] += 1
    if outcome != APPLIED:
        acct["duplicates"] += 1
        return
    states[event.user_id] = state
    acct["processed"] += 1

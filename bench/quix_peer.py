"""The peer: the same budget deduction in Quix Streams, exactly-once, RocksDB state.

Both input topics are concatenated into one StreamingDataFrame (co-partitioned by
advertiser; Quix aligns them by record timestamp), and one stateful function per record
does what the Faust agent does: validate with the domain's parsers, drop a duplicate id
seen within 24 h of stream time (domain.dedup), apply the top-up or click with the
domain's functions, count the click in the advertiser's KST-day statistics. State is
per advertiser (the message key) in Quix's RocksDB store with changelog topics. Each
record yields one output record (its ledger entry and the advertiser's budget after
it) to ``--out``; the last one per key is the final budget, which ``read_back``
compares with the oracle.

    python -m bench.quix_peer --bootstrap HOST:PORT --budget-topic ad-budget \\
        --clicks-topic ad-clicks --out bench-quix-out --state-dir DIR --expect 210000

Prints one JSON line: first/end wall times, records, peak RSS.
"""

from __future__ import annotations

import argparse
import json
import os
import time
import uuid

import orjson

from bench.measure import peak_rss_mb
from domain.budgets import (
    Budget,
    add_daily,
    apply_click,
    apply_funding,
    kst_day,
    parse_budget_event,
    parse_click,
    public_view,
)
from domain.dedup import advance, is_duplicate
from domain.errors import InvalidRecord

STARTED = time.time()
DEDUP_WINDOW = 24 * 3600  # RETENTION_SEEN_BUDGET_EVENTS' default


def processor(clicks_topic: str, first: list[float]):  # type: ignore[no-untyped-def]
    from quixstreams import message_context

    stream_times: dict[tuple[str, int], int] = {}

    def process(value: bytes, key: bytes, timestamp: int, headers, state) -> bytes:  # type: ignore[no-untyped-def]
        if not first:
            first.append(time.time())
        context = message_context()
        is_click = context.topic == clicks_topic
        # The app's rule (domain.dedup): stream time per source partition, held in
        # memory here (the bench runs once, from the start of its topics).
        tp = (context.topic, context.partition)
        now = stream_times[tp] = advance(stream_times.get(tp), timestamp)
        try:
            event = (parse_click if is_click else parse_budget_event)(key, value)
        except InvalidRecord as error:
            return orjson.dumps({"dead_letter": error.reason})
        entry_id = event.click_id if is_click else event.event_id
        seen = state.get(f"seen:{entry_id}")
        budget = Budget.from_dict(state.get("budget"))
        if is_duplicate(seen, now // 1000, DEDUP_WINDOW):
            budget.count_duplicate()
        else:
            state.set(f"seen:{entry_id}", now // 1000)
            outcome = (apply_click if is_click else apply_funding)(budget, event)
            if is_click:
                day_key = f"daily:{kst_day(event.ts).isoformat()}"
                day = state.get(day_key) or {}
                add_daily(day, event, charged=outcome.entry is not None)
                state.set(day_key, day)
        state.set("budget", budget.to_dict())
        return orjson.dumps({"entry_id": entry_id, "budget": public_view(event.advertiser_id, budget)})

    return process


def run(ns: argparse.Namespace) -> dict:
    from quixstreams import Application

    app = Application(
        broker_address=ns.bootstrap,
        consumer_group=f"bench-quix-{uuid.uuid4().hex[:8]}",
        auto_offset_reset="earliest",
        processing_guarantee="exactly-once",
        commit_interval=ns.commit_interval,
        state_dir=ns.state_dir,
        loglevel="WARNING",
    )
    raw = {"key_deserializer": "bytes", "value_deserializer": "bytes"}
    budget = app.dataframe(app.topic(ns.budget_topic, **raw))
    clicks = app.dataframe(app.topic(ns.clicks_topic, **raw))
    out = app.topic(ns.out, key_serializer="bytes", value_serializer="bytes")
    first: list[float] = []
    sdf = budget.concat(clicks).apply(processor(ns.clicks_topic, first), stateful=True, metadata=True)
    sdf.to_topic(out)
    app.run(count=ns.expect, timeout=ns.idle_timeout, collect=False)
    end = time.time()
    return {
        "imported": STARTED,
        "first": first[0] if first else 0.0,
        "end": end,
        "peak_rss_mb": peak_rss_mb(os.getpid()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.quix_peer",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--budget-topic", required=True)
    parser.add_argument("--clicks-topic", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--state-dir", required=True)
    parser.add_argument("--expect", type=int, required=True, help="records to process, then stop")
    parser.add_argument("--commit-interval", type=float, default=1.0)
    parser.add_argument("--idle-timeout", type=float, default=60.0, help="stop after this long idle")
    print(json.dumps(run(parser.parse_args())), flush=True)


if __name__ == "__main__":
    main()

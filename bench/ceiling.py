"""The ceiling: the least an exactly-once consume -> produce loop in aiokafka can do.

Parse each record (orjson), forward it unchanged to the same partition of an output
topic, and every ``--commit-interval`` seconds commit the consumed offsets in the
producer's transaction (``send_offsets_to_transaction``), as Faust does. One consumer,
one transactional producer, ``read_committed``. No state, no validation, no per-key
work: what the client library and this broker allow at best on this machine.

    python -m bench.ceiling --bootstrap HOST:PORT --topic ad-budget --topic ad-clicks \\
        --out bench-ceiling-out --expect 210000

Prints one JSON line: first/end wall times, records, transactions, peak RSS.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
import uuid

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from bench.measure import peak_rss_mb

STARTED = time.time()


async def forward(bootstrap: str, topics: list[str], out: str, expect: int, interval: float) -> dict:
    group = f"bench-ceiling-{uuid.uuid4().hex[:8]}"
    consumer = AIOKafkaConsumer(
        *topics,
        bootstrap_servers=bootstrap,
        group_id=group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        isolation_level="read_committed",
    )
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        transactional_id=f"{group}-tx",
        acks="all",
        linger_ms=5,
        max_batch_size=256 * 1024,
    )
    await consumer.start()
    await producer.start()
    seen, txns, first = 0, 0, 0.0
    offsets: dict = {}
    try:
        await producer.begin_transaction()
        last_commit = time.monotonic()
        while seen < expect:
            batch = await consumer.getmany(timeout_ms=200, max_records=10_000)
            if batch and not first:
                first = time.time()
            for tp, records in batch.items():
                for r in records:
                    orjson.loads(r.value)
                    await producer.send(out, r.value, key=r.key, partition=tp.partition)
                offsets[tp] = records[-1].offset + 1
                seen += len(records)
            if offsets and (time.monotonic() - last_commit >= interval or seen >= expect):
                await producer.send_offsets_to_transaction(offsets, group)
                await producer.commit_transaction()
                txns += 1
                offsets = {}
                last_commit = time.monotonic()
                await producer.begin_transaction()
        end = time.time()
        await producer.abort_transaction()  # the empty one begun last
    finally:
        await producer.stop()
        await consumer.stop()
    return {
        "imported": STARTED,
        "first": first,
        "end": end,
        "records": seen,
        "transactions": txns,
        "peak_rss_mb": peak_rss_mb(os.getpid()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.ceiling",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--topic", action="append", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--expect", type=int, required=True, help="records to consume, then stop")
    parser.add_argument("--commit-interval", type=float, default=1.0)
    ns = parser.parse_args()
    result = asyncio.run(forward(ns.bootstrap, ns.topic, ns.out, ns.expect, ns.commit_interval))
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()

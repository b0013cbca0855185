"""``python -m bench.profile_stages FILE...``: a py-spy profile of an orders worker, by stage.

FILE is ``py-spy record --format raw --threads`` output (collapsed stacks with counts),
e.g. of the orders worker of ``python -m bench --orders 200000 --skip quix,latency,metrics``.
Each stack counts for the first stage whose pattern it matches (docs/performance.md).
"""

from __future__ import annotations

import collections
import re
import sys

IDLE, STARTUP = "idle (select/wait)", "start-up (imports, CLI, assignment)"
RULES = [  # first match wins, searched in the whole stack
    (IDLE, r"EpollSelector\.select|Event\.wait|Condition\.wait|queue\.get|SimpleQueue"),
    (STARTUP, r"_find_and_load|on_partitions_assigned|_call_with_frames_removed"),
    (
        "stage 1 parse and validate",
        r"validate_orders.*(parse_order|parse_json_model|;order_sums \(|;_plain \()",
    ),
    ("stage 1 dedup (seen_orders)", r"validate_orders.*(PartitionBatch\.get|get_many|is_duplicate|\.put)"),
    (
        "stage 1 repartition records (deltas or sums, JSON)",
        r"validate_orders.*(category_deltas|combine|model_dump_json|send_keyed|CategoryDelta)",
    ),
    ("stage 1 tally, stream time, expiry, loop", r"validate_orders"),
    ("stage 2 hourly buckets", r"_add_hourly"),
    ("stage 2 aggregate (parse deltas, fold, totals)", r"aggregate_categories"),
    ("prepare: state writes staged, changelog batches", r"TransactionBatch\.prepare"),
    ("keyed records partitioned (murmur2), appended", r"_partition_keyed"),
    ("deliver record batches", r"TransactionBatch\.deliver"),
    ("commit (transactions, RocksDB write)", r"TransactionManager|commit_transactions|_commit|\.commit \("),
    ("fetch + decode (both topics)", r"_fetch_records|fetched_records|_unpack_records|aiokafka/consumer"),
    (
        "producer requests, socket I/O",
        r"Sender|AIOKafkaConnection|SocketTransport|StreamWriter|AIOKafkaClient",
    ),
    ("web (/stats polls)", r"aiohttp|web_protocol|RequestHandler"),
    ("other", r"."),
]


def stages(lines: list[str]) -> tuple[int, collections.Counter[str]]:
    """(samples, samples by stage) of collapsed stacks ``frame;frame;... count``."""
    total, by_stage = 0, collections.Counter[str]()
    for line in lines:
        stack, count = line.rstrip().rsplit(" ", 1)
        total += int(count)
        for name, pattern in RULES:
            if re.search(pattern, stack):
                by_stage[name] += int(count)
                break
    return total, by_stage


def main(path: str) -> None:
    with open(path) as f:
        total, by_stage = stages(f.readlines())
    busy = total - by_stage[IDLE] - by_stage[STARTUP]
    print(f"{path}: {total} samples, {busy} busy (not idle, not start-up)")
    for name, _ in RULES:
        share = "" if name in (IDLE, STARTUP) else f"  {by_stage[name] / max(busy, 1):6.1%} of busy"
        print(f"  {name:52s} {by_stage[name]:5d}{share}")


if __name__ == "__main__":
    for arg in sys.argv[1:]:
        main(arg)

"""``python -m bench.lake_profile FILE...``: a py-spy profile of ``bench.lake_stages``, by sink stage.

FILE is ``py-spy record --format raw --threads`` output of ``python -m bench.lake_stages``
(py-spy samples busy threads only, so samples are CPU time). Only the sink's own
stacks count (its loop, aiokafka's fetcher tasks, the publishing thread); the
bench's producing and auditing are left out. First matching rule wins (docs/lake.md).
"""

from __future__ import annotations

import sys

from bench.profile_stages import stages

SINK = r"Sink\.|Fetcher\.|_publish"
RULES = [
    ("aiokafka: records parsed into ConsumerRecords", r"PartitionRecords|_unpack_records|_consumer_record"),
    ("aiokafka: fetch requests, responses, sockets", r"Fetcher\.|AIOKafkaConnection|_read|StreamReader"),
    ("decode, row by row (orjson, dicts)", r"ledger_row|order_row"),
    ("decode, columnar (pyarrow JSON, days)", r"ledger_tables|_columnar"),
    ("Arrow table from rows", r"to_table"),
    ("Parquet bytes (zstd)", r"parquet_bytes|write_table"),
    ("publish (fsspec, fsync, rename)", r"publish"),
    ("commit (offsets)", r"\.commit|OffsetCommit"),
    ("the sink's loop (batches, metrics, other)", r"."),
]


def main(path: str) -> None:
    import re

    with open(path) as f:
        lines = [line for line in f if re.search(SINK, line.rsplit(" ", 1)[0])]
    total, by_stage = stages(lines, RULES)
    print(f"{path}: {total} samples of the sink's stacks")
    for name, _ in RULES:
        print(f"  {name:48s} {by_stage[name]:6d}  {by_stage[name] / max(total, 1):6.1%}")


if __name__ == "__main__":
    for arg in sys.argv[1:]:
        main(arg)

"""Files against the topic: each committed record in exactly one file row, equal to it.

Used by the integration tests and ``python -m chaos --sink``: the topic is read
with read_committed (aborted transactions never count), the files with DuckDB.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import duckdb
import fsspec
import orjson

from infra.kafka import committed
from lake import naming, store
from lake.schema import KNOWN

FIELDS = [name for name, _ in KNOWN["ledger"] if not name.startswith("kafka_") and name != "undecodable"]
# What a file row holds of each topic's record, as the record says it.
COLUMNS = {"ledger": FIELDS, "orders": ["value"]}


def expected(kind: str) -> Callable[[bytes], tuple]:
    if kind == "orders":
        return lambda value: (value,)
    return lambda value: tuple(orjson.loads(value).get(name) for name in FIELDS)


async def read_committed(kafka_kwargs: dict, topic: str) -> dict[tuple[int, int], bytes]:
    """Every committed record of ``topic`` up to its end now: (partition, offset) -> value."""
    return {(r.partition, r.offset): r.value for r in await committed.read_committed(kafka_kwargs, topic)}


def file_rows(fs: fsspec.AbstractFileSystem, root: str, topic: str, kind: str) -> list[tuple]:
    """(partition, offset, *COLUMNS[kind]) of every row in the topic's published files."""
    files = store.listing(fs, naming.topic_glob(root, topic))
    if not files:
        return []
    con = duckdb.connect()
    try:
        protocol = fs.protocol if isinstance(fs.protocol, str) else fs.protocol[0]
        if protocol != "file":
            con.register_filesystem(fs)
            files = [f"{protocol}://{f}" for f in files]
        columns = ", ".join(COLUMNS[kind])
        sql = f"SELECT kafka_partition, kafka_offset, {columns} FROM read_parquet($f, union_by_name = true)"
        return con.execute(sql, {"f": files}).fetchall()
    finally:
        con.close()


@dataclass
class Audit:
    records: int
    rows: int
    duplicates: int  # rows beyond the first for one (partition, offset)
    mismatches: int  # committed records missing from the files, differing, or rows of no record

    @property
    def ok(self) -> bool:
        return self.duplicates == 0 and self.mismatches == 0 and self.rows == self.records

    def line(self) -> str:
        counts = f"records={self.records} rows={self.rows}"
        return f"{counts} mismatches={self.mismatches} duplicates={self.duplicates}"


def compare(committed: dict[tuple[int, int], bytes], rows: list[tuple], kind: str) -> Audit:
    expect = expected(kind)
    seen: dict[tuple[int, int], tuple] = {}
    duplicates = 0
    for row in rows:
        at = (row[0], row[1])
        if at in seen:
            duplicates += 1
        seen[at] = row[2:]
    mismatches = sum(1 for at in seen if at not in committed)
    for at, value in committed.items():
        row = seen.get(at)
        if row is None or row != expect(value):
            mismatches += 1
    return Audit(len(committed), len(rows), duplicates, mismatches)

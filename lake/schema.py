"""Rows -> an Arrow table with each topic's known columns typed, and any other field kept.

A field the producer adds later (the ledger's ``campaign_id`` was one) becomes
a column of its own in the files written from then on; readers take the union
of columns by name (``report``), so older files read with it missing.
"""

from __future__ import annotations

from typing import Any

import orjson
import pyarrow as pa

from lake.rows import LEDGER, ORDERS

_META = [("kafka_partition", pa.int32()), ("kafka_offset", pa.int64()), ("kafka_timestamp", pa.int64())]

KNOWN: dict[str, list[tuple[str, pa.DataType]]] = {
    LEDGER: [
        ("advertiser_id", pa.string()),
        ("entry_id", pa.string()),
        ("kind", pa.string()),
        ("amount", pa.int64()),
        ("balance_after", pa.int64()),
        ("ts", pa.string()),
        ("campaign_id", pa.string()),
        *_META,
        ("undecodable", pa.binary()),
    ],
    ORDERS: [
        ("key", pa.binary()),
        ("value", pa.binary()),
        ("valid", pa.bool_()),
        ("reason", pa.string()),
        ("order_id", pa.string()),
        ("user_id", pa.string()),
        ("created_at", pa.string()),
        *_META,
    ],
}
_NOT_COLUMNS = {"day"}  # the directory says it (hive partitioning)


def to_table(kind: str, rows: list[dict[str, Any]]) -> pa.Table:
    known = KNOWN[kind]
    names = {name for name, _ in known} | _NOT_COLUMNS
    extra = sorted({k for row in rows for k in row if k not in names})
    columns = [pa.array([row.get(name) for row in rows], type=kind_) for name, kind_ in known]
    fields = [pa.field(name, kind_) for name, kind_ in known]
    for name in extra:
        column = _inferred([row.get(name) for row in rows])
        columns.append(column)
        fields.append(pa.field(name, column.type))
    return pa.Table.from_arrays(columns, schema=pa.schema(fields))


def _inferred(values: list[Any]) -> pa.Array:
    """Arrow's own type for a new field; its JSON text where values disagree on one."""
    try:
        return pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return pa.array([None if v is None else orjson.dumps(v).decode() for v in values], pa.string())

"""A batch of ledger records -> one Arrow table per KST day, column by column (the fast way).

The batch's values are joined by newlines and parsed by pyarrow's JSON reader in
one call, the ledger's known columns typed as ``schema.KNOWN`` says and any other
field inferred (then typed as ``schema`` types a new field, so both ways agree);
the day is the domain's ``kst_day_name`` of each distinct ``ts``. ``rows`` stays
the way that decides: a batch the reader cannot take as it is (a record that is
not one JSON object on one line, a missing or bad ``ts``, a field named like a
column the sink adds) is built row by row, which keeps every record, decodable
or not. ``tests/unit/lake`` checks both ways give the same files, byte for byte.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pj

from lake import rows, schema
from lake.batch import by_day

_KNOWN = schema.KNOWN[rows.LEDGER]
_ADDED = {"kafka_partition", "kafka_offset", "kafka_timestamp", "undecodable", "day"}
_JSON = pa.schema([pa.field(n, t) for n, t in _KNOWN if n not in _ADDED])
_PARSE = pj.ParseOptions(explicit_schema=_JSON, unexpected_field_behavior="infer")


class _RowByRow(Exception):
    """This batch goes the row way."""


def ledger_tables(partition: int, records: Sequence[Any]) -> dict[str, pa.Table]:
    """``records`` (Kafka records: offset, timestamp, value) of one partition -> {KST day: table}."""
    try:
        return _columnar(partition, records)
    except _RowByRow:
        batch = [rows.ledger_row(partition, r.offset, r.timestamp, r.value) for r in records]
        return {day: schema.to_table(rows.LEDGER, day_rows) for day, day_rows in by_day(batch).items()}


def order_tables(partition: int, records: Sequence[Any]) -> dict[str, pa.Table]:
    """Orders the row way (``rows.order_row``: the domain's parse decides valid or not)."""
    batch = [rows.order_row(partition, r.offset, r.timestamp, r.key, r.value) for r in records]
    return {day: schema.to_table(rows.ORDERS, day_rows) for day, day_rows in by_day(batch).items()}


def _columnar(partition: int, records: Sequence[Any]) -> dict[str, pa.Table]:
    values = [r.value for r in records]
    if None in values:
        raise _RowByRow
    data = b"\n".join(values)
    if data.count(b"\n") != len(values) - 1:  # a value spread over lines
        raise _RowByRow
    options = pj.ReadOptions(use_threads=False, block_size=len(data) + 1)  # one block: one inference
    try:
        parsed = pj.read_json(io.BytesIO(data), read_options=options, parse_options=_PARSE)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        raise _RowByRow from None
    if parsed.num_rows != len(values):
        raise _RowByRow
    extra = sorted(set(parsed.column_names) - set(_JSON.names))
    if _ADDED.intersection(extra):
        raise _RowByRow
    ts = parsed.column("ts").combine_chunks()
    if ts.null_count:
        raise _RowByRow
    distinct = pc.unique(ts)
    try:
        names = [rows.day_of(t) for t in distinct.to_pylist()]
    except (ValueError, OverflowError):
        raise _RowByRow from None
    day = pc.take(pa.array(names, pa.string()), pc.index_in(ts, value_set=distinct))
    added = {
        "kafka_partition": pa.array([partition] * len(values), pa.int32()),
        "kafka_offset": pa.array([r.offset for r in records], pa.int64()),
        "kafka_timestamp": pa.array([r.timestamp for r in records], pa.int64()),
        "undecodable": pa.nulls(len(values), pa.binary()),
    }
    columns = [added[n] if n in added else parsed.column(n).combine_chunks() for n, _ in _KNOWN]
    fields = [pa.field(n, t) for n, t in _KNOWN]
    for name in extra:  # typed as the row way types a new field
        column = schema.inferred(parsed.column(name).to_pylist())
        columns.append(column)
        fields.append(pa.field(name, column.type))
    table = pa.Table.from_arrays(columns, schema=pa.schema(fields))
    days = pc.unique(day).to_pylist()  # in order of first appearance, as the row way's
    if len(days) == 1:
        return {days[0]: table}
    return {d: table.filter(pc.equal(day, d)) for d in days}

"""The columnar decode against the row way that decides: the same files, byte for byte."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime, timedelta
from typing import NamedTuple
from unittest import mock

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from lake import columns, rows, schema, store
from lake.batch import by_day


class Record(NamedTuple):
    offset: int
    timestamp: int
    key: bytes | None
    value: bytes | None


def row_way(partition: int, records: list[Record]) -> dict[str, bytes]:
    batch = [rows.ledger_row(partition, r.offset, r.timestamp, r.value) for r in records]
    return {d: store.parquet_bytes(schema.to_table(rows.LEDGER, day)) for d, day in by_day(batch).items()}


def column_way(partition: int, records: list[Record], fast: bool = True) -> dict[str, bytes]:
    """The columnar decode's files; ``fast``: it must not have gone the row way."""
    way = mock.patch.object(rows, "ledger_row", side_effect=AssertionError("went the row way"))
    with way if fast else contextlib.nullcontext():
        tables = columns.ledger_tables(partition, records)
    return {d: store.parquet_bytes(t) for d, t in tables.items()}


START = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)  # KST midnight falls 3 h later
entries = st.fixed_dictionaries(
    {
        "advertiser_id": st.sampled_from(["a-1", "a-2", "광고주-3"]),
        "entry_id": st.text(max_size=12),
        "kind": st.sampled_from(["top_up", "adjust", "click", "rejected"]),
        "amount": st.integers(-(2**63), 2**63 - 1),
        "balance_after": st.integers(-(2**63), 2**63 - 1),
        "ts": st.integers(0, 10 * 3600).map(lambda s: (START + timedelta(seconds=s)).isoformat()),
        "campaign_id": st.none() | st.sampled_from(["c-1", "c-2"]),
    }
)


def records_of(bodies: list[dict], first: int = 100) -> list[Record]:
    return [Record(first + 2 * i, 1_764_000_000_000 + i, b"k", orjson.dumps(b)) for i, b in enumerate(bodies)]


@settings(max_examples=60, deadline=None)
@given(st.lists(entries, min_size=1, max_size=40), st.integers(0, 11))
def test_ledger_batches_make_the_same_files_as_row_by_row(bodies, partition) -> None:  # type: ignore[no-untyped-def]
    records = records_of(bodies)
    got = column_way(partition, records)
    assert list(got) == list(row_way(partition, records))  # the same days, in the same order
    assert got == row_way(partition, records)


def test_a_field_added_later_is_a_typed_column_as_the_row_way_makes_it() -> None:
    base = {"advertiser_id": "a-1", "entry_id": "k", "kind": "click", "amount": -100, "balance_after": 0,
            "ts": "2026-11-24T01:00:00+00:00", "campaign_id": "c-1"}  # fmt: skip
    records = records_of([{**base, "channel": "app", "score": 3}, {**base, "channel": None, "score": 4}])
    (table,) = columns.ledger_tables(0, records).values()
    assert table.column("channel").to_pylist() == ["app", None]
    assert column_way(0, records) == row_way(0, records)


def test_records_the_reader_cannot_take_send_the_batch_the_row_way() -> None:
    body = {"advertiser_id": "a-1", "entry_id": "k", "kind": "click", "amount": -1, "balance_after": 0,
            "ts": "2026-11-24T01:00:00+00:00", "campaign_id": None}  # fmt: skip
    good = orjson.dumps(body)
    odd = [
        b"not json",
        None,
        orjson.dumps(orjson.loads(good), option=orjson.OPT_INDENT_2),  # one record over lines
        orjson.dumps({"advertiser_id": "a-1"}),  # no ts
        orjson.dumps({**orjson.loads(good), "ts": "yesterday"}),
        orjson.dumps({**orjson.loads(good), "kafka_offset": 5}),  # a name the sink adds
        b"[1, 2]",
    ]
    for value in odd:
        records = [Record(0, 1_764_000_000_000, None, good), Record(1, 1_764_000_000_000, None, value)]
        assert column_way(3, records, fast=False) == row_way(3, records), value
        tables = columns.ledger_tables(3, records)
        assert sum(t.num_rows for t in tables.values()) == 2  # nothing lost

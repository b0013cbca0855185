"""Rows -> Parquet files -> the DuckDB report; a field added later does not break old files."""

from __future__ import annotations

from datetime import date

import fsspec
import orjson
import pyarrow as pa
import pyarrow.parquet as pq

from lake import naming, report, rows, schema, store
from lake.naming import Span

TOPIC = "ad-ledger"


def entry(entry_id: str, kind: str, amount: int, ts: str, campaign: str | None = "c-1", **extra) -> bytes:  # type: ignore[no-untyped-def]
    body = {"advertiser_id": "a-1", "entry_id": entry_id, "kind": kind, "amount": amount,
            "balance_after": 0, "ts": ts, "campaign_id": campaign, **extra}  # fmt: skip
    return orjson.dumps(body)


def write(root: str, day_rows: list[dict], span: Span, kind: str = rows.LEDGER, table=None) -> str:  # type: ignore[no-untyped-def]
    path = naming.file_path(root, TOPIC, day_rows[0]["day"], 0, span)
    data = store.parquet_bytes(table if table is not None else schema.to_table(kind, day_rows))
    store.publish(fsspec.filesystem("file"), path, data)
    return path


def test_a_ledger_row_is_filed_under_the_kst_day_of_its_ts() -> None:
    row = rows.ledger_row(2, 40, 1_764_000_000_000, entry("k-1", "click", -300, "2026-11-24T15:00:00+00:00"))
    assert row["day"] == "2026-11-25"  # 00:00 in Korea
    assert (row["kafka_partition"], row["kafka_offset"], row["amount"]) == (2, 40, -300)


def test_an_undecodable_ledger_record_is_kept_with_its_bytes() -> None:
    row = rows.ledger_row(0, 1, 1_764_000_000_000, b"not json")
    assert row["undecodable"] == b"not json" and row["day"] == "2025-11-25"  # the record timestamp's
    table = schema.to_table(rows.LEDGER, [row])
    assert table.column("undecodable").to_pylist() == [b"not json"]


def test_orders_keep_their_bytes_and_the_reason_an_invalid_one_has() -> None:
    good = orjson.dumps({"order_id": "o-1", "user_id": "u-1", "created_at": "2026-11-24T15:30:00Z",
                         "currency": "KRW", "items": [{"sku": "s", "category": "c", "quantity": 1,
                                                       "unit_price": 100}]})  # fmt: skip
    valid = rows.order_row(0, 0, 1_700_000_000_000, b"u-1", good)
    invalid = rows.order_row(0, 1, 1_764_000_000_000, b"u-2", good)  # key is not the user
    assert (valid["valid"], valid["order_id"], valid["day"], valid["value"]) == (
        True,
        "o-1",
        "2026-11-25",
        good,
    )
    assert (invalid["valid"], invalid["reason"], invalid["value"]) == (False, "key_mismatch", good)
    table = schema.to_table(rows.ORDERS, [valid, invalid])
    assert table.column("reason").to_pylist() == [None, "key_mismatch"]


def test_publishing_leaves_no_temporary_and_replaces_a_file_whole(tmp_path) -> None:  # type: ignore[no-untyped-def]
    fs = fsspec.filesystem("file")
    path = f"{tmp_path}/t/day=d/partition=0/t+0+1+2.parquet"
    store.publish(fs, path, b"first")
    store.publish(fs, path, b"second")
    assert [p.name for p in (tmp_path / "t/day=d/partition=0").iterdir()] == ["t+0+1+2.parquet"]
    assert open(path, "rb").read() == b"second"


def test_the_report_counts_charges_spend_and_rejections_per_campaign_and_day(tmp_path) -> None:  # type: ignore[no-untyped-def]
    root = str(tmp_path)
    values = [
        entry("t-1", "top_up", 1000, "2026-11-24T01:00:00+00:00", campaign=None),
        entry("k-1", "click", -300, "2026-11-24T02:00:00+00:00"),
        entry("k-2", "click", -200, "2026-11-24T03:00:00+00:00", campaign="c-2"),
        entry("k-3", "rejected", 0, "2026-11-24T04:00:00+00:00"),
        entry("k-4", "click", -100, "2026-11-24T16:00:00+00:00"),  # 01:00 the next day in Korea
    ]
    batch = [rows.ledger_row(0, i, 0, v) for i, v in enumerate(values)]
    for day_rows in {r["day"]: [x for x in batch if x["day"] == r["day"]] for r in batch}.values():
        write(root, day_rows, Span(0, 4))
    fs = fsspec.filesystem("file")
    got = report.daily(fs, root, TOPIC, date(2026, 11, 24), date(2026, 11, 25))
    assert report.nested(got) == {"a-1": {
        "2026-11-24": {"c-1": {"charged": 1, "spend": 300, "rejected": 1},
                       "c-2": {"charged": 1, "spend": 200, "rejected": 0}},
        "2026-11-25": {"c-1": {"charged": 1, "spend": 100, "rejected": 0}},
    }}  # fmt: skip
    only_first = report.daily(fs, root, TOPIC, date(2026, 11, 24), date(2026, 11, 24))
    assert {r["day"] for r in only_first} == {"2026-11-24"}
    assert report.daily(fs, root, TOPIC, date(2026, 1, 1), date(2026, 1, 2)) == []
    csv = report.render(got, "csv").splitlines()
    assert csv[0] == "advertiser_id,campaign_id,day,charged,spend,rejected"
    assert csv[1] == "a-1,c-1,2026-11-24,1,300,1"
    assert "a-1" in report.render(got, "table") and orjson.loads(report.render(got, "json")) == got


def test_old_files_without_a_later_field_read_alongside_new_ones(tmp_path) -> None:  # type: ignore[no-untyped-def]
    root = str(tmp_path)
    # A file from before campaign_id existed: the ledger's first six fields only.
    old = pa.table({"advertiser_id": ["a-1"], "entry_id": ["k-0"], "kind": ["click"], "amount": [-500],
                    "balance_after": [0], "ts": ["2026-11-24T05:00:00+00:00"]})  # fmt: skip
    write(root, [{"day": "2026-11-24"}], Span(0, 0), table=old)
    # A file from later still: one more field the sink has never heard of.
    newer = rows.ledger_row(0, 1, 0, entry("k-1", "click", -300, "2026-11-24T06:00:00+00:00", channel="app"))
    path = write(root, [newer], Span(1, 1))
    assert "channel" in pq.read_schema(path).names
    got = report.daily(fsspec.filesystem("file"), root, TOPIC, date(2026, 11, 24), date(2026, 11, 24))
    assert got == [
        {"advertiser_id": "a-1", "campaign_id": "c-1", "day": "2026-11-24", "charged": 1, "spend": 300,
         "rejected": 0},
        {"advertiser_id": "a-1", "campaign_id": None, "day": "2026-11-24", "charged": 1, "spend": 500,
         "rejected": 0},
    ]  # fmt: skip

"""The daily report from the files: per advertiser, campaign and KST day, with DuckDB.

What counts is the ledger's own record of each applied click: a ``click`` entry
is a charge (its amount the negated CPC), a ``rejected`` entry a refusal, as
``domain.budgets.apply_click`` decided; the day is the one the sink filed the
entry under, ``domain.budgets.kst_day_name`` of its ``ts``. No other rule.
"""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import date
from typing import Any

import duckdb
import fsspec

from lake import naming, store

COLUMNS = ("advertiser_id", "campaign_id", "day", "charged", "spend", "rejected")
_DAY = re.compile(r"/day=(\d{4}-\d{2}-\d{2})/")

_SQL = """
SELECT advertiser_id, campaign_id, day,
       count(*) FILTER (WHERE kind = 'click') AS charged,
       coalesce(-sum(amount) FILTER (WHERE kind = 'click'), 0) AS spend,
       count(*) FILTER (WHERE kind = 'rejected') AS rejected
FROM read_parquet($files, hive_partitioning = true, hive_types_autocast = false, union_by_name = true)
WHERE kind IN ('click', 'rejected')
GROUP BY advertiser_id, campaign_id, day
ORDER BY advertiser_id, day, campaign_id
"""


def ledger_files(fs: fsspec.AbstractFileSystem, root: str, topic: str, first: date, last: date) -> list[str]:
    """The ledger's files for days first..last, picked by their directory."""
    wanted = []
    for path in store.listing(fs, naming.topic_glob(root, topic)):
        match = _DAY.search(path)
        if match and first.isoformat() <= match[1] <= last.isoformat():
            wanted.append(path)
    return sorted(wanted)


def daily(fs: fsspec.AbstractFileSystem, root: str, topic: str, first: date, last: date) -> list[dict]:
    files = ledger_files(fs, root, topic, first, last)
    if not files:
        return []
    con = duckdb.connect()
    try:
        protocol = fs.protocol if isinstance(fs.protocol, str) else fs.protocol[0]
        if protocol != "file":  # DuckDB reads through the same fsspec store
            con.register_filesystem(fs)
            files = [f"{protocol}://{f}" for f in files]
        result = con.execute(_SQL, {"files": files}).fetchall()
    finally:
        con.close()
    return [dict(zip(COLUMNS, row, strict=True)) for row in result]


def nested(report: list[dict]) -> dict[str, dict[str, dict[str, dict[str, int]]]]:
    """{advertiser: {day: {campaign: {charged, spend, rejected}}}}: the shape of GET .../daily's days."""
    out: dict[str, Any] = {}
    for r in report:
        day = out.setdefault(r["advertiser_id"], {}).setdefault(r["day"], {})
        day[r["campaign_id"]] = {"charged": r["charged"], "spend": r["spend"], "rejected": r["rejected"]}
    return out


def render(report: list[dict], form: str) -> str:
    if form == "json":
        return json.dumps(report, indent=1)
    if form == "csv":
        out = io.StringIO()
        writer = csv.DictWriter(out, COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(report)
        return out.getvalue()
    cells = [COLUMNS, *[tuple("" if r[c] is None else str(r[c]) for c in COLUMNS) for r in report]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(COLUMNS))]
    lines = []
    for row in cells:
        pairs = enumerate(zip(row, widths, strict=True))
        padded = [v.rjust(w) if i >= 3 else v.ljust(w) for i, (v, w) in pairs]
        lines.append("  ".join(padded).rstrip())
    return "\n".join(lines) + "\n"

"""Where a file goes and what its name says: the sink's only record of progress.

``<topic>/day=YYYY-MM-DD/partition=P/<topic>+P+<first>+<last>.parquet``: the first
and last offset are the batch's (every file one batch writes, one per KST day,
carries the same range), so the newest range found names the batch to redo
after a crash, and a redo writes the same names (docs/lake.md).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

SUFFIX = ".parquet"
_WIDTH = 20  # offsets zero-padded: names sort in offset order
_NAME = re.compile(r"(?P<topic>.+)\+(?P<partition>\d+)\+(?P<first>\d+)\+(?P<last>\d+)\.parquet")


@dataclass(frozen=True, order=True)
class Span:
    """A batch's offset range in one partition, both ends included."""

    first: int
    last: int


def file_name(topic: str, partition: int, span: Span) -> str:
    return f"{topic}+{partition}+{span.first:0{_WIDTH}d}+{span.last:0{_WIDTH}d}{SUFFIX}"


def file_path(root: str, topic: str, day: str, partition: int, span: Span) -> str:
    return f"{root}/{topic}/day={day}/partition={partition}/{file_name(topic, partition, span)}"


def partition_glob(root: str, topic: str, partition: int) -> str:
    return f"{root}/{topic}/day=*/partition={partition}/*{SUFFIX}"


def topic_glob(root: str, topic: str) -> str:
    return f"{root}/{topic}/day=*/partition=*/*{SUFFIX}"


def parse_name(path: str, topic: str, partition: int) -> Span | None:
    """The span a published file's name carries, or None for anything else."""
    match = _NAME.fullmatch(path.rsplit("/", 1)[-1])
    if match is None or match["topic"] != topic or int(match["partition"]) != partition:
        return None
    first, last = int(match["first"]), int(match["last"])
    return Span(first, last) if first <= last else None


def newest_span(paths: list[str], topic: str, partition: int) -> Span | None:
    """The batch written last: the one whose range starts furthest on."""
    spans = [s for s in (parse_name(p, topic, partition) for p in paths) if s is not None]
    return max(spans, default=None)

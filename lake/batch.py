"""One partition's open batch and when it closes: by count, by age, or at a redo's end.

Rotation by age uses the wall clock, so where a batch ends is not a function of
the records alone. Exactly-once does not need it to be: the sink resumes after
the newest published batch and redoes that one to its recorded last offset
(``redo_until``), so a published range is never written with other bounds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from lake.naming import Span


@dataclass
class Batch:
    max_records: int
    max_age: float  # seconds
    redo_until: int | None = None  # the last offset of a published batch being rewritten
    items: list[Any] = field(default_factory=list)  # the sink's: Kafka records, turned into rows at the flush
    first: int = -1
    last: int = -1
    opened_at: float = 0.0  # monotonic seconds when the oldest row came in

    def must_close_before(self, offset: int) -> bool:
        """A redo ends at its recorded last offset, even if that record is gone."""
        return bool(self.items) and self.redo_until is not None and offset > self.redo_until

    def add(self, offset: int, item: Any, now: float) -> None:
        self.extend(offset, offset, [item], now)

    def extend(self, first: int, last: int, items: Sequence[Any], now: float) -> None:
        """Records ``first``..``last`` (in offset order, gaps allowed), taken whole: no per-record work."""
        if not self.items:
            self.first, self.opened_at = first, now
        self.items.extend(items)
        self.last = last

    def room(self) -> int:
        """Records the batch takes before its count closes it (a redo closes by offset instead)."""
        return max(1, self.max_records - len(self.items))

    def due(self, now: float) -> bool:
        if not self.items:
            return False
        if self.redo_until is not None:
            return self.last >= self.redo_until
        return len(self.items) >= self.max_records or now - self.opened_at >= self.max_age

    def age(self, now: float) -> float:
        return now - self.opened_at if self.items else 0.0

    def clear(self) -> None:
        """Drop the rows (to be read again), still a redo if it was one."""
        self.items, self.first, self.last = [], -1, -1

    def take(self) -> tuple[Span, list[Any]]:
        """The closed batch's span and items; the batch starts empty (and no longer a redo).

        A redo is named by the range it rewrites, even if its last record is gone."""
        last = self.last if self.redo_until is None else max(self.last, self.redo_until)
        span, items = Span(self.first, last), self.items
        self.items, self.first, self.last, self.redo_until = [], -1, -1, None
        return span, items


def by_day(rows: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """A batch's rows per KST day, in offset order: one file each."""
    days: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        days.setdefault(row["day"], []).append(row)
    return days

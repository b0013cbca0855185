"""One partition's open batch and when it closes: by count, by age, or at a redo's end.

Rotation by age uses the wall clock, so where a batch ends is not a function of
the records alone. Exactly-once does not need it to be: the sink resumes after
the newest published batch and redoes that one to its recorded last offset
(``redo_until``), so a published range is never written with other bounds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from lake.naming import Span


@dataclass
class Batch:
    max_records: int
    max_age: float  # seconds
    redo_until: int | None = None  # the last offset of a published batch being rewritten
    rows: list[dict[str, Any]] = field(default_factory=list)
    first: int = -1
    last: int = -1
    opened_at: float = 0.0  # monotonic seconds when the oldest row came in

    def must_close_before(self, offset: int) -> bool:
        """A redo ends at its recorded last offset, even if that record is gone."""
        return bool(self.rows) and self.redo_until is not None and offset > self.redo_until

    def add(self, offset: int, row: dict[str, Any], now: float) -> None:
        if not self.rows:
            self.first, self.opened_at = offset, now
        self.rows.append(row)
        self.last = offset

    def due(self, now: float) -> bool:
        if not self.rows:
            return False
        if self.redo_until is not None:
            return self.last >= self.redo_until
        return len(self.rows) >= self.max_records or now - self.opened_at >= self.max_age

    def age(self, now: float) -> float:
        return now - self.opened_at if self.rows else 0.0

    def clear(self) -> None:
        """Drop the rows (to be read again), still a redo if it was one."""
        self.rows, self.first, self.last = [], -1, -1

    def take(self) -> tuple[Span, list[dict[str, Any]]]:
        """The closed batch's span and rows; the batch starts empty (and no longer a redo)."""
        span, rows = Span(self.first, self.last), self.rows
        self.rows, self.first, self.last, self.redo_until = [], -1, -1, None
        return span, rows


def by_day(rows: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """A batch's rows per KST day, in offset order: one file each."""
    days: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        days.setdefault(row["day"], []).append(row)
    return days

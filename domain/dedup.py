"""The duplicate filter's rule, in one place (the Rust kernel implements it too,
and tests/unit/domain/test_dedup.py checks the two agree on generated inputs).

Stream time is per source topic-partition: the largest record timestamp seen so
far on it, this record included (seconds, floored). An id is a duplicate iff it
was applied before and stream time has moved at most ``window`` past the stream
time it was applied at. The entry stores that stream time, never the record's
own (possibly late) timestamp, so:

- a replay gives the same answers (stream time depends only on the partition's
  records, in offset order, not on how two topics interleave in a batch);
- an entry with ``first < stream_time - window`` can never be a duplicate's
  match again (stream time never goes back), so deleting it, early or late,
  changes no answer: expiry is exact, whenever it runs.
"""

from __future__ import annotations

from collections.abc import Iterable, MutableMapping
from dataclasses import dataclass, field


def advance(stream_time: int | None, timestamp: int) -> int:
    """Stream time after a record with ``timestamp`` (same unit)."""
    return timestamp if stream_time is None or timestamp > stream_time else stream_time


def is_duplicate(first: int | None, now: int, window: int) -> bool:
    """``first``: the stream time the id was applied at (None: never); ``now``:
    stream time including this record; all in seconds."""
    return first is not None and now - first <= window


def expiry_cutoff(stream_time: int, retention: int) -> int:
    """Entries whose time is below this are past retention (every table's rule)."""
    return stream_time - retention


@dataclass
class Filter:
    """The rule over a stream of (id, record timestamp in seconds): the reference
    the Python handler, the oracles and the kernel's tests follow."""

    window: int
    stream_time: int | None = None
    seen: MutableMapping[str, int] = field(default_factory=dict)

    def offer(self, entry_id: str, timestamp: int) -> bool:
        """True if the record applies (and is remembered), False if a duplicate."""
        self.stream_time = now = advance(self.stream_time, timestamp)
        if is_duplicate(self.seen.get(entry_id), now, self.window):
            return False
        self.seen[entry_id] = now
        return True

    def expire(self) -> list[str]:
        """Forget the ids past the window; returns them (for tests and the soak)."""
        if self.stream_time is None:
            return []
        cutoff = expiry_cutoff(self.stream_time, self.window)
        gone = [k for k, first in self.seen.items() if first < cutoff]
        for k in gone:
            del self.seen[k]
        return gone


def applied(window: int, records: Iterable[tuple[str, int]]) -> list[bool]:
    """For each (id, timestamp) in order: does it apply? (A fresh filter.)"""
    f = Filter(window)
    return [f.offer(entry_id, ts) for entry_id, ts in records]

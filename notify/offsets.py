"""Which offsets of one partition are done: the lowest incomplete one, and the completed set above it.

Offsets the consumer never sees (transaction markers, aborted records under read_committed) are
gaps: they count as done once a later offset or the consumer's position shows them passed, or the
committed offset would stop at the first marker for good.
"""

from __future__ import annotations

from collections.abc import Iterable


class PartitionOffsets:
    def __init__(self, start: int | None = None, completed: Iterable[int] = ()) -> None:
        # None until the first record when the group has no committed offset.
        self.base = start
        self._seen_upto = start  # next offset the consumer should hand us
        self._done: set[int] = set()
        for offset in completed:
            self.complete(offset)

    def fetched(self, offset: int) -> None:
        """A record at ``offset`` arrived; offsets skipped between the previous one and it are gaps."""
        if self.base is None:
            self.base = self._seen_upto = offset
        self.passed(offset)
        if self._seen_upto is not None and offset >= self._seen_upto:
            self._seen_upto = offset + 1

    def passed(self, position: int) -> None:
        """The consumer handed us everything below ``position``: what it did not hand is a gap."""
        if self.base is None or self._seen_upto is None or position <= self._seen_upto:
            return
        gap_start = self._seen_upto
        self._seen_upto = position
        if gap_start == self.base and not self._done:  # the usual case: nothing to remember
            self.base = position
            return
        self._done.update(range(max(gap_start, self.base), position))
        self._advance()

    def complete(self, offset: int) -> None:
        if self.base is None or offset < self.base:
            return
        self._done.add(offset)
        self._advance()

    def is_done(self, offset: int) -> bool:
        return self.base is not None and (offset < self.base or offset in self._done)

    def _advance(self) -> None:
        done, base = self._done, self.base
        assert base is not None
        while base in done:
            done.remove(base)
            base += 1
        self.base = base

    @property
    def completed_above(self) -> list[int]:
        """Done offsets above the lowest incomplete one (what the commit metadata must carry)."""
        return sorted(self._done)

    @property
    def gap(self) -> int:
        """Offsets completed but not covered by the committed offset."""
        return len(self._done)

"""Every input is accounted for: consumed = processed + duplicates + dead_lettered."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

FIELDS = ("consumed", "processed", "duplicates", "dead_lettered")


@dataclass
class Tally:
    processed: int = 0
    duplicates: int = 0
    dead_lettered: int = 0

    @property
    def consumed(self) -> int:
        return self.processed + self.duplicates + self.dead_lettered

    def save(self, batch: Any, table: Any, topic: str) -> None:
        """Add this tally to ``topic``'s running totals for the batch's partition
        (``batch`` is a streaming.partition_batch.PartitionBatch: one write per batch)."""
        key = tally_key(topic, batch.partition)
        batch.put(table, key, self.added_to(batch.get(table, key)))

    def added_to(self, current: dict[str, int] | None) -> dict[str, int]:
        """Running totals ``current`` (None: none yet) plus this tally."""
        totals = dict(current) if current else dict.fromkeys(FIELDS, 0)
        totals["consumed"] += self.consumed
        for f in fields(self):
            totals[f.name] += getattr(self, f.name)
        return totals


def tally_key(topic: str, partition: int) -> str:
    return f"{topic}/{partition}"


def merge(rows: list[dict[str, dict[str, int]]]) -> dict[str, dict[str, int]]:
    """Merge per-partition accounting from several workers into per-topic sums."""
    out: dict[str, dict[str, int]] = {}
    for row in rows:
        for key, counts in row.items():
            topic = key.rsplit("/", 1)[0]
            acc = out.setdefault(topic, dict.fromkeys(FIELDS, 0))
            for name in FIELDS:
                acc[name] += counts.get(name, 0)
    return out

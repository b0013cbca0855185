"""Mechanics shared by every agent: per-partition batches, dead letters, accounting."""

from streaming.accounting import Tally
from streaming.batches import partition_batches
from streaming.deadletter import dead_letter

__all__ = ["Tally", "dead_letter", "partition_batches"]

"""Mechanics shared by every agent: per-partition batches, dead letters, accounting."""

from streaming.accounting import Tally
from streaming.batches import partition_batches
from streaming.deadletter import dead_letter
from streaming.replay_generation import output_headers

__all__ = ["Tally", "dead_letter", "output_headers", "partition_batches"]

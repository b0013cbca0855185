"""Mechanics shared by every agent: per-partition batches, dead letters, accounting."""

from streaming.accounting import Tally
from streaming.batches import partition_batches
from streaming.deadletter import dlq_headers
from streaming.replay_generation import output_headers

__all__ = ["Tally", "dlq_headers", "output_headers", "partition_batches"]

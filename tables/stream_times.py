"""Stream time per source topic partition, written with each batch (exactly-once)."""

from tables._declare import table

# "topic/partition" -> the largest record timestamp (ms) processed on it; for the
# orders-by-category repartition, the largest event time (created_at, ms).
stream_times = table("stream_times", "stream time per source topic partition (retention)")

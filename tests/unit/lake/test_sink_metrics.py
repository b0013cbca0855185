"""The sink's lag and the age of its oldest unflushed record, from its partitions' state."""

from __future__ import annotations

from aiokafka import TopicPartition

from config import load_settings
from lake.sink import Sink, _Partition


class Consumer:
    """What the sink asks aiokafka's consumer for its metrics: the last stable offset, the position."""

    def __init__(self, stable: dict[TopicPartition, int], positions: dict[TopicPartition, int]) -> None:
        self.stable, self.positions = stable, positions

    def last_stable_offset(self, tp: TopicPartition) -> int | None:
        return self.stable.get(tp)

    async def position(self, tp: TopicPartition) -> int:
        return self.positions[tp]


async def test_lag_counts_what_is_not_in_a_file_and_oldest_is_the_open_batches_age(tmp_path) -> None:  # type: ignore[no-untyped-def]
    sink = Sink(load_settings(lake_url=str(tmp_path), topic_ad_ledger="led"))
    open_, done, behind, unknown = (TopicPartition("led", p) for p in range(4))
    for tp in (open_, done, behind, unknown):
        sink.parts[tp] = _Partition(sink._new_batch(), published=50)
    sink.parts[open_].batch.extend(60, 70, ["r"] * 11, now=100.0)  # 50..59: markers, aborted records
    sink.consumer = Consumer(  # type: ignore[assignment]
        stable={open_: 90, done: 52, behind: 60},
        # done: read up to its end; the two offsets past its last file are a transaction's markers
        positions={open_: 71, done: 52, behind: 50, unknown: 50},
    )
    await sink._observe(now=104.5)

    def lag(tp: TopicPartition) -> float | None:
        return sink.metrics.registry.get_sample_value(
            "lake_lag_records", {"topic": "led", "partition": str(tp.partition)}
        )

    assert (lag(open_), lag(done), lag(behind), lag(unknown)) == (30, 0, 10, None)
    assert sink.metrics.registry.get_sample_value("lake_oldest_unflushed_seconds") == 4.5

    sink.parts[open_].batch.take()
    sink.parts[open_].published = 71
    await sink._observe(now=105.0)
    assert sink.metrics.registry.get_sample_value("lake_oldest_unflushed_seconds") == 0
    assert lag(open_) == 19  # 71..89: committed, not read yet

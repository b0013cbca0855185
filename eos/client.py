"""Faust's aiokafka consumer with the fixes that hold under either guarantee.

Installed alone under at_least_once (eos.transport); the exactly-once consumer
(eos.consumer) builds on it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from faust.transport.drivers.aiokafka import AIOKafkaConsumerThread, Consumer
from faust.types import TP

from eos import compat


class TunedConsumerThread(AIOKafkaConsumerThread):
    def _create_worker_consumer(self, transport: Any) -> Any:
        """Faust hard-codes aiokafka's ``fetch_max_wait_ms`` at 1500. aiokafka
        has one fetch in flight per broker, and leaves out of it the partitions
        whose records are still buffered: when the worker takes more than 0.1 s
        (aiokafka's prefetch backoff) to hand a fetch out, its next fetch holds
        only the idle partitions, the broker parks it for the whole wait, and
        the busy partitions are not fetched meanwhile. On a slower machine that
        was the end-to-end latency: p50 1.5 s at 4,000 clicks/s, 0.4 s with
        100 ms (``python -m bench``, latency phase). FETCH_MAX_WAIT sets it."""
        consumer = super()._create_worker_consumer(transport)
        app: Any = self.consumer.app
        compat.set_fetch_max_wait(consumer, app.settings.fetch_max_wait)
        return consumer

    async def _highwaters(self, partitions: list[TP]) -> Mapping[TP, int]:
        """Defect 5 (recovery under exactly_once): stock Faust takes the highwater
        of a changelog from the consumer's cached last stable offset, which
        aiokafka reports as None until the partition's first fetch; Faust turns
        that into -1 and recovery either skips the partition or raises
        ConsistencyError. A ListOffsets request made by a read_committed consumer
        answers with the last stable offset (by a read_uncommitted one, with the
        high watermark, as Faust's cache would)."""
        highwaters: Mapping[TP, int] = await compat.kafka_consumer(self).end_offsets(partitions)
        return highwaters

    async def _seek_wait(self, consumer: Any, partitions: Mapping[TP, int | None]) -> None:
        # Defect 9 (a crash in recovery): after quick successive rebalances
        # Faust's recovery can ask to seek a standby partition to None, which
        # aiokafka rejects ("Offset must be a positive integer") and the worker
        # crashes. None means the position is unknown: read from the start
        # (changelog records are whole values, re-reading them is harmless).
        known = {tp: 0 if offset is None else offset for tp, offset in partitions.items()}
        await super()._seek_wait(consumer, known)


class TunedConsumer(Consumer):
    def _new_consumer_thread(self) -> AIOKafkaConsumerThread:
        return TunedConsumerThread(self, loop=self.loop, beacon=self.beacon)

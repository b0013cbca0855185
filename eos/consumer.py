"""Consumer fixes: commits pass through the commit gate; recovery sees real highwaters."""

from __future__ import annotations

from collections.abc import Mapping

from faust.transport.drivers.aiokafka import AIOKafkaConsumerThread, Consumer
from faust.types import TP

from eos.gate import gate_of


class LastStableOffsetThread(AIOKafkaConsumerThread):
    """Defect 5 (recovery under exactly_once): stock Faust takes the highwater of
    a changelog from the consumer's cached last stable offset, which aiokafka
    reports as None until the partition's first fetch; Faust turns that into
    -1 and recovery either skips the partition or raises ConsistencyError
    ("persisted offset is higher than the highwater"). A ListOffsets request
    made by a read_committed consumer answers with the last stable offset.
    """

    async def _highwaters(self, partitions: list[TP]) -> Mapping[TP, int]:
        return await self._ensure_consumer().end_offsets(partitions)


class GatedConsumer(Consumer):
    def _new_consumer_thread(self) -> AIOKafkaConsumerThread:
        return LastStableOffsetThread(self, loop=self.loop, beacon=self.beacon)

    async def commit(self, topics=None, start_new_transaction: bool = True) -> bool:  # type: ignore[no-untyped-def]
        if not self.app.in_transaction:
            return await super().commit(topics, start_new_transaction=start_new_transaction)
        gate = gate_of(self.app)
        async with gate.lock:
            await gate.drain()
            return await super().commit(topics, start_new_transaction=start_new_transaction)

"""Outputs ride in the transaction of the record that caused them.

Defect 3 (non-atomic outputs, upstream #177): stock Faust picks the
transactional producer by the *destination* partition of each send. A record
read from partition 2 that emits to partition 0 of a repartition topic puts
that output in partition 0's transaction, which commits only when partition 0
has consumed offsets to commit. With no traffic on partition 0 the output stays
in an open transaction until the broker aborts it: the sale is lost. Under
traffic it commits independently of its source offset: a crash between the two
commits loses it or applies it twice.

Here the producer is picked by the *source* partition of the current event, so
an output commits in the same transaction as the offset that caused it. Sends
made outside stream processing (none in this app, changelog writes are flushed
later by Faust's producer buffer and always target the source partition
number) keep the stock choice.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any

from faust.streams import current_event
from faust.transport.consumer import TransactionManager
from faust.types import HeadersArg
from faust.types.tuples import RecordMetadata


def transactional_id_for(app: Any, topic: str, partition: int) -> str:
    """Stock Faust's id for the transaction owning ``topic``'s ``partition``."""
    return f"{app.conf.id}-{app.assignor.group_for_topic(topic)}-{partition}"


class SourceTransactionManager(TransactionManager):
    async def send(
        self,
        topic: str,
        key: bytes | None,
        value: bytes | None,
        partition: int | None,
        timestamp: float | None,
        headers: HeadersArg | None,
        *,
        transactional_id: str | None = None,
    ) -> Awaitable[RecordMetadata]:
        event = current_event()
        if event is None:
            return await super().send(topic, key, value, partition, timestamp, headers)
        source = event.message
        dest = self.consumer.key_partition(topic, key, partition)
        return await self.producer.send(
            topic,
            key,
            value,
            dest,
            timestamp,
            headers,
            transactional_id=transactional_id_for(self.app, source.topic, source.partition),
        )

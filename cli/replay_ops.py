"""The Kafka operations behind ``faust -A app replay`` (no Java needed).

Offsets are reset the way Kafka's own reset tool does it: a consumer in the
group, partitions assigned by hand, explicit offsets committed. The broker
accepts such a commit only while the group has no members.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.structs import OffsetAndMetadata

from domain.errors import StreamsError


class ReplayError(StreamsError):
    """The replay cannot (or must not) go ahead; the message says why."""


@dataclass(frozen=True)
class Move:
    tp: TopicPartition
    before: int | None  # committed offset, None if the group never committed
    after: int


async def live_members(admin: AIOKafkaAdminClient, group: str) -> list[str]:
    """Members of ``group`` as 'client_id@host (member_id)', empty if none."""
    response = (await admin.describe_consumer_groups([group]))[0]
    members = []
    for described in response.groups:  # (error, group, state, type, protocol, members, ...)
        for member_id, client_id, host, *_ in described[5]:
            members.append(f"{client_id}@{host.lstrip('/')} ({member_id})")
    return members


async def partitions(admin: AIOKafkaAdminClient, topics: list[str]) -> list[TopicPartition]:
    described = {t["topic"]: t for t in await admin.describe_topics(topics) if t["error_code"] == 0}
    missing = [t for t in topics if t not in described]
    if missing:
        raise ReplayError(f"source topics do not exist: {', '.join(missing)}")
    return [TopicPartition(t, p["partition"]) for t in topics for p in described[t]["partitions"]]


async def plan_moves(
    admin: AIOKafkaAdminClient,
    consumer: AIOKafkaConsumer,
    group: str,
    tps: list[TopicPartition],
    since_ms: int | None,
) -> list[Move]:
    """Where each source partition goes: its earliest offset, or the first
    record at or after ``since_ms`` (its end if there is none)."""
    committed = await admin.list_consumer_group_offsets(group, partitions=tps)
    if since_ms is None:
        targets = await consumer.beginning_offsets(tps)
    else:
        found = await consumer.offsets_for_times(dict.fromkeys(tps, since_ms))
        ends = await consumer.end_offsets(tps)
        targets = {tp: found[tp].offset if found.get(tp) else ends[tp] for tp in tps}
    moves = []
    for tp in tps:
        meta = committed.get(tp)
        before = meta.offset if meta is not None and meta.offset >= 0 else None
        moves.append(Move(tp, before, targets[tp]))
    return moves


async def commit_moves(kwargs: dict, group: str, moves: list[Move]) -> None:
    consumer = AIOKafkaConsumer(**kwargs, group_id=group, enable_auto_commit=False)
    await consumer.start()
    try:
        consumer.assign([m.tp for m in moves])
        await consumer.commit({m.tp: OffsetAndMetadata(m.after, "") for m in moves})
    finally:
        await consumer.stop()


async def delete_topics(
    admin: AIOKafkaAdminClient, group: str, names: list[str], timeout: float = 60
) -> list[str]:
    """Delete the topics that exist; return once they and the group's offsets on
    them are gone (deletion is asynchronous; a worker must be able to start and
    recreate them right after)."""
    present = sorted(set(names) & set(await admin.list_topics()))
    if present:
        await admin.delete_topics(present)
    deadline = time.monotonic() + timeout
    while True:
        left = set(present) & set(await admin.list_topics())
        offsets = await admin.list_consumer_group_offsets(group)
        left |= {tp.topic for tp in offsets} & set(present)
        if not left:
            return present
        if time.monotonic() > deadline:
            raise ReplayError(f"topics still present after {timeout:.0f}s: {', '.join(sorted(left))}")
        await asyncio.sleep(0.2)

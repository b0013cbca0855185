"""Start-up creates every topic, changelogs included, before the worker joins its group.

Two workers starting at the same moment on a fresh deployment used to race on
Faust's own creation of the changelog topics: one could see a changelog with
0 partitions and crash (PartitionsMismatch, or a KeyError for the changelog's
transactional id). Created up front, with their full layout, there is nothing
to race on.
"""

from __future__ import annotations

import uuid

import pytest
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from app import app
from app.admin import ensure_topics, partition_counts
from config import Settings

pytestmark = pytest.mark.integration


async def test_start_up_creates_every_changelog_compacted_with_all_partitions(kafka_bootstrap: str) -> None:
    settings = Settings(kafka_bootstrap_servers=kafka_bootstrap, app_id=f"startup-{uuid.uuid4().hex[:8]}")
    wanted = app.startup_topics()
    changelogs = {t.changelog_topic.get_topic_name() for t in app.tables.values()}
    assert len(changelogs) == len(app.tables) >= 7

    await ensure_topics(settings, wanted)

    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    await admin.start()
    try:
        counts = await partition_counts(admin, changelogs)
        described = await admin.describe_configs(
            [ConfigResource(ConfigResourceType.TOPIC, name) for name in sorted(changelogs)]
        )
    finally:
        await admin.close()
    assert counts == dict.fromkeys(changelogs, app.conf.topic_partitions)
    policies = {
        name: value
        for response in described
        for _error, _message, _type, name, entries in response.resources
        for key, value, *_ in entries
        if key == "cleanup.policy"
    }
    assert policies == dict.fromkeys(changelogs, "compact")
    # Time-bounded tables' changelogs roll segments hourly, so compaction drops expired keys.
    segments = {
        name: value
        for response in described
        for _error, _message, _type, name, entries in response.resources
        for key, value, *_ in entries
        if key == "segment.ms"
    }
    bounded = {t.changelog_topic.get_topic_name() for t in app.tables.values() if t.time_of is not None}
    assert len(bounded) == 4
    assert {n: v for n, v in segments.items() if v == "3600000"} == dict.fromkeys(bounded, "3600000")

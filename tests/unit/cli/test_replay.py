"""The replay command's pure parts: time parsing, topic lists, the plan summary (cli/replay.py)."""

from __future__ import annotations

import click
import pytest
from aiokafka import TopicPartition

from app import app
from cli.replay import describe, internal_topics, parse_since
from cli.replay_ops import Move


def test_to_datetime_is_an_instant_with_an_offset() -> None:
    assert parse_since("2026-11-24T00:00:00+09:00") == 1_795_446_000_000
    assert parse_since("2026-11-23T15:00:00Z") == 1_795_446_000_000
    with pytest.raises(click.BadParameter, match="UTC offset"):
        parse_since("2026-11-24T00:00:00")
    with pytest.raises(click.BadParameter, match="RFC 3339"):
        parse_since("yesterday")


def test_every_table_changelog_and_the_repartition_topic_are_derived_state() -> None:
    names = internal_topics(app)
    topics = app.runtime.topics
    for table in app.runtime.tables.all():
        assert table.changelog_topic.get_topic_name() in names
    assert topics.orders_by_category.get_topic_name() in names
    assert not {t.get_topic_name() for t in topics.SOURCES} & set(names)


def test_plan_summary_per_topic() -> None:
    moves = [
        Move(TopicPartition("orders", 0), 700, 0),
        Move(TopicPartition("orders", 1), None, 0),
        Move(TopicPartition("ad-clicks", 0), 90, 40),
    ]
    assert describe(moves) == [
        "  orders: 2 partitions, committed 700 -> 0, 700 offsets moved",
        "  ad-clicks: 1 partitions, committed 90 -> 40, 50 offsets moved",
    ]

"""Drive the real agents with Faust's ``agent.test_context()``: no broker.

``tests/unit/conftest.py`` built the app with the in-memory store and
at-least-once processing. Here every topic's ``send`` is replaced by a recorder
(the agents call ``topics.<name>.send(...)``), and every table starts empty.
Table writes still go through Faust (their changelog records are only queued
in the never-started producer's buffer).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from typing import Any

import pytest

import tables
from app import app, topics


class Sent:
    """Everything the agents sent, per topic name, in order."""

    def __init__(self) -> None:
        self.by_topic: dict[str, list[dict[str, Any]]] = defaultdict(list)

    def __getitem__(self, topic: str) -> list[dict[str, Any]]:
        return self.by_topic[topic]

    def topics(self) -> set[str]:
        return {t for t, sent in self.by_topic.items() if sent}


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> Sent:
    record = Sent()
    for topic in topics.ALL:
        name = topic.get_topic_name()

        async def send(*, _name: str = name, **kwargs: Any) -> None:
            record[_name].append(kwargs)

        monkeypatch.setattr(topic, "send", send)
    return record


ALL_TABLES = [getattr(tables, name) for name in tables.__all__]


@pytest.fixture(autouse=True)
def empty_tables() -> Iterator[None]:
    assert app.conf.store.scheme == "memory"

    def clear() -> None:
        for table in ALL_TABLES:
            table.data.data.clear()

    clear()
    yield
    clear()

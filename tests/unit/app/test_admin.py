"""Waiting for created topics' metadata: a topic the user may not describe is not waited for."""

from __future__ import annotations

from typing import Any

from aiokafka.admin import NewTopic

from app.admin import _settled_counts

TOPIC_AUTHORIZATION_FAILED = 29


class _Admin:
    """describe_topics as the broker answers it: one topic shown, one denied."""

    def __init__(self) -> None:
        self.calls = 0

    async def describe_topics(self, names: list[str]) -> list[dict[str, Any]]:
        self.calls += 1
        return [
            {"topic": "a.orders", "error_code": 0, "partitions": [{}] * 6},
            {"topic": "other.dlq", "error_code": TOPIC_AUTHORIZATION_FAILED, "partitions": []},
        ]


async def test_a_topic_denied_to_describe_ends_the_wait_with_a_warning(caplog) -> None:  # type: ignore[no-untyped-def]
    admin = _Admin()
    created = [NewTopic("a.orders", 6, 1), NewTopic("other.dlq", 6, 1)]
    counts = await _settled_counts(admin, ["a.orders", "other.dlq"], created, timeout=2.0)  # type: ignore[arg-type]
    assert counts == {"a.orders": 6}
    assert admin.calls == 1
    assert "other.dlq" in caplog.text and "Describe" in caplog.text

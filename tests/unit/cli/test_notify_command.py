from __future__ import annotations

from pathlib import Path

from app.factory import create_app
from config import Settings
from tests.unit.app.test_factory import faust_commands


def test_notify_is_a_command_and_its_dead_letter_topic_is_declared(tmp_path: Path) -> None:
    app = create_app(Settings(topic_notify_dlq="n.dlq", store_dir=tmp_path))
    assert "notify" in faust_commands()
    topics = app.runtime.topics
    assert topics.notify_dlq.get_topic_name() == "n.dlq" and topics.notify_dlq in topics.ALL

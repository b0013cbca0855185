"""A Kafka Connect worker with Debezium for the whole test session, on the session's broker:
``connect_worker`` (its own group and internal topics, REST on a free port)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from .jars import fetch
from .worker import ConnectWorker


@pytest.fixture(scope="session")
def connect_worker(kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ConnectWorker]:
    fetch()
    worker = ConnectWorker(
        tmp_path_factory.mktemp("connect"), kafka_bootstrap, group=f"connect-{uuid.uuid4().hex[:8]}"
    )
    worker.start(detach=False)  # pytest's process group: Ctrl-C reaches it too
    try:
        yield worker
    finally:
        worker.stop()

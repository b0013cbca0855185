"""The agents under test run on the production path: ``tests/conftest.py`` built
the app with exactly_once and RocksDB, and ``worker`` (agent_support.Worker)
drives its batch handlers with transactional stores of its own per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from agent_support import Sent, Worker

from app import app


@pytest.fixture
def worker(tmp_path: Path) -> Iterator[Worker]:
    assert app.in_transaction and app.conf.store.scheme == "rocksdb"
    stores = {table: table._data for table in app.tables.values()}
    gate = app.runtime.gate
    running = Worker(app, tmp_path)
    yield running
    running.close()
    for table, store in stores.items():
        table._data = store
    app.runtime.gate = gate


@pytest.fixture
def sent(worker: Worker) -> Sent:
    """The outputs a read_committed consumer sees, per topic."""
    return worker.sent

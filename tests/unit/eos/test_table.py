"""eos.table: stores built for tables read from more than one thread."""

from __future__ import annotations

from app import app

budgets = app.runtime.tables.budgets


def test_the_web_server_runs_in_its_own_thread_and_the_key_index_takes_a_lock() -> None:
    # RocksDB's key index is filled by reads, and HTTP reads then come from the
    # web server's thread while the worker's own reads come from its loop.
    assert app.conf.web_in_thread
    store = budgets._new_store_by_url("rocksdb://")
    try:
        assert store._key_index.thread_safety
    finally:
        for db in store._dbs.values():
            db.close()

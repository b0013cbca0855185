"""The processing guarantee picks the transport: the exactly-once design only under exactly_once."""

from __future__ import annotations

from pathlib import Path

from app.factory import create_app
from config.settings import Guarantee, Settings
from eos.client import TunedConsumer, TunedConsumerThread
from eos.consumer import ContiguousFetchThread, GatedConsumer
from eos.store import TransactionalStore
from eos.table import EosTable, ThreadSafeIndexTable
from eos.transactions import SourceTransactionManager


def test_at_least_once_runs_fausts_own_commit_path(tmp_path: Path) -> None:
    app = create_app(Settings(processing_guarantee=Guarantee.AT_LEAST_ONCE, store_dir=tmp_path))
    transport = app.transport
    assert transport.Consumer is TunedConsumer  # Faust's commit, acks and seeks
    assert not issubclass(transport.Consumer, GatedConsumer)
    assert not issubclass(transport.TransactionManager, SourceTransactionManager)
    assert TunedConsumer._new_consumer_thread is not GatedConsumer._new_consumer_thread
    table = app.runtime.tables.budgets
    assert type(table) is ThreadSafeIndexTable
    assert not isinstance(table._new_store_by_url(f"rocksdb://{tmp_path}/budgets"), TransactionalStore)


def test_exactly_once_installs_the_gated_consumer_and_transactional_tables(tmp_path: Path) -> None:
    app = create_app(Settings(processing_guarantee=Guarantee.EXACTLY_ONCE, store_dir=tmp_path))
    assert app.transport.Consumer is GatedConsumer
    assert app.transport.TransactionManager is SourceTransactionManager
    assert issubclass(ContiguousFetchThread, TunedConsumerThread)  # the fixes of either guarantee too
    assert isinstance(app.runtime.tables.budgets, EosTable)

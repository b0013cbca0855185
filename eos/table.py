"""Table that keeps its state in the transactional store (see eos.store)."""

from __future__ import annotations

from typing import Any

from faust import Table
from mode.utils.collections import LRUCache
from yarl import URL

from eos import compat
from eos.gate import gate_of
from eos.store import TransactionalStore


class EosTable(Table[Any, Any]):
    def _new_store_by_url(self, url: str | URL) -> Any:
        store = self._store_by_url(url)
        index = compat.key_index(store)
        if index is not None and self.app.conf.web_in_thread:
            # RocksDB's key -> partition index is filled by reads, and with the
            # web server in its own thread reads come from two threads; mode's
            # LRUCache pops and re-inserts a key on every read.
            compat.set_key_index(store, LRUCache(limit=index.limit, thread_safety=True))
        return store

    def _store_by_url(self, url: str | URL) -> Any:
        if URL(str(url)).scheme != "rocksdb" or not self.app.in_transaction:
            return super()._new_store_by_url(url)
        return TransactionalStore(
            url,
            self.app,
            self,
            table_name=self.name,
            key_type=self.key_type,
            key_serializer=self.key_serializer,
            value_serializer=self.value_serializer,
            value_type=self.value_type,
            options=self.options,
        )

    def send_changelog(self, *args: Any, **kwargs: Any) -> Any:
        fut = super().send_changelog(*args, **kwargs)
        if self.app.in_transaction:
            gate_of(self.app).track(fut)  # the commit waits for its delivery
        return fut

    def _on_changelog_sent(self, fut: Any) -> None:
        # Stock Faust files the offset under the changelog partition and looks
        # it up by source partition at commit: it never persists (defect 2).
        # The store writes it with the committed state instead.
        if isinstance(self.data, TransactionalStore):
            res = fut.result()
            self.data.note_changelog_offset(res.topic_partition.partition, res.offset)
        else:
            super()._on_changelog_sent(fut)

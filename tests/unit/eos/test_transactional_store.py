"""eos.store: table writes reach RocksDB only with their transaction's commit.

Against stock Faust's RocksDB store every "not on disk before commit" assertion
here fails: it writes through at once (defect 2).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from eos_fakes import FakeEvent, open_store
from faust.types import TP

from app import app
from eos.runtime import runtime_of
from eos.store import TransactionalStore
from streaming.batches import _as_current

budgets = app.runtime.tables.budgets


@pytest.fixture
def store() -> Iterator[TransactionalStore]:
    yield from open_store(budgets, "eos-unit")


def on_disk(store: TransactionalStore, partition: int, key: bytes) -> bytes | None:
    return store._db_for_partition(partition).get(key)


def test_a_write_is_readable_at_once_but_on_disk_only_after_commit(store):  # type: ignore[no-untyped-def]
    with _as_current(FakeEvent(2)):
        store._set(b"a-1", b"100")
        assert store._get(b"a-1") == b"100"
    assert on_disk(store, 2, b"a-1") is None
    store.note_changelog_offset(2, 41)
    store.commit([2])
    assert on_disk(store, 2, b"a-1") == b"100"
    changelog = TP(budgets.changelog_topic_name, 2)
    assert store.persisted_offset(changelog) == 41


def test_an_aborted_write_never_reaches_disk(store):  # type: ignore[no-untyped-def]
    with _as_current(FakeEvent(3)):
        store._set(b"a-2", b"7")
    store.discard([3])
    store.commit([3])
    assert on_disk(store, 3, b"a-2") is None
    with _as_current(FakeEvent(3)):
        assert store._get(b"a-2") is None


def test_commit_applies_only_the_committed_partitions(store):  # type: ignore[no-untyped-def]
    with _as_current(FakeEvent(1)):
        store._set(b"k", b"one")
    with _as_current(FakeEvent(4)):
        store._set(b"k", b"four")
    store.commit([1])
    assert on_disk(store, 1, b"k") == b"one"
    assert on_disk(store, 4, b"k") is None


def test_a_pending_delete_hides_the_committed_value_until_it_commits(store):  # type: ignore[no-untyped-def]
    with _as_current(FakeEvent(0)):
        store._set(b"gone", b"x")
    store.commit([0])
    with _as_current(FakeEvent(0)):
        store._del(b"gone")
        assert store._get(b"gone") is None
    assert on_disk(store, 0, b"gone") == b"x"
    store.commit([0])
    assert on_disk(store, 0, b"gone") is None


def test_read_many_answers_as_read_does_key_by_key(store):  # type: ignore[no-untyped-def]
    with _as_current(FakeEvent(5)):
        store._set(b"committed", b"old")
        store._set(b"deleted", b"x")
    store.commit([5])
    with _as_current(FakeEvent(5)):
        store._set(b"committed", b"new")  # pending over a committed value
        store._set(b"pending", b"p")
        store._del(b"deleted")
    store.commit([4])  # another partition's commit changes nothing here
    keys = [b"committed", b"pending", b"deleted", b"absent", b"pending"]
    assert store.read_many(5, keys) == [b"new", b"p", None, None, b"p"]
    assert store.read_many(5, keys) == [store.read(5, key) for key in keys]
    assert store.read_many(4, keys) == [None] * 5
    assert store.read_many(5, [b"absent", b"nothing"]) == [None, None]  # none pending: one multi-get
    assert store.read_many(5, []) == []
    store.commit([5])
    assert store.read_many(5, keys) == [b"new", b"p", None, None, b"p"]


def test_each_partition_db_has_a_whole_key_bloom_filter_on_its_memtable(store):  # type: ignore[no-untyped-def]
    # RocksDB writes the options a DB was opened with to an OPTIONS-* file in it.
    db = store._db_for_partition(4)
    options = max(Path(db.path()).glob("OPTIONS-*")).read_text()
    assert re.search(r"^\s*memtable_prefix_bloom_size_ratio=0\.005", options, re.M), options
    assert re.search(r"^\s*memtable_whole_key_filtering=true", options, re.M)
    store.stage(4, {b"click:k-1": b"1764000000"})
    store.commit([4])
    assert store.read_many(4, [b"click:k-1", b"click:k-2"]) == [b"1764000000", None]


def test_every_commit_listener_of_the_table_sees_committed_writes_only(store):  # type: ignore[no-untyped-def]
    seen: dict[str, list[tuple[int, dict[bytes, object]]]] = {"front": [], "push": []}
    runtime = runtime_of(app)
    listeners = {name: (lambda p, w, d, _n=name: seen[_n].append((p, dict(w)))) for name in seen}
    for listener in listeners.values():
        runtime.listen(store.table_name, listener)
    try:
        store.stage(1, {b"a-1": b"10"})
        store.stage(2, {b"a-2": b"20"})
        store.discard([2])  # aborted: nobody hears of it
        store.commit([1, 2])
    finally:
        for listener in listeners.values():
            runtime.unlisten(store.table_name, listener)
    assert seen == {"front": [(1, {b"a-1": b"10"})], "push": [(1, {b"a-1": b"10"})]}

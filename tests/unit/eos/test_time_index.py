"""eos.store's time index: written with commits and restores, walked only below
a cutoff, dropped with the keys it expires; never visible as table data."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from types import SimpleNamespace

import pytest
from eos_fakes import FakeEvent, open_store
from faust.types import TP

from app import app
from eos.store import INDEX, TransactionalStore, index_key
from streaming.batches import _as_current

seen_budget_events = app.runtime.tables.seen_budget_events


@pytest.fixture
def store() -> Iterator[TransactionalStore]:
    yield from open_store(seen_budget_events, "eos-index")


def index_of(store: TransactionalStore, partition: int) -> list[bytes]:
    return [k for k in store._db_for_partition(partition).keys() if k.startswith(INDEX)]


def commit(store: TransactionalStore, partition: int, writes: dict[bytes, bytes]) -> None:
    store.stage(partition, writes)
    store.commit([partition])


def test_a_commit_indexes_each_key_by_its_time(store):  # type: ignore[no-untyped-def]
    commit(store, 0, {b"click:a": b"100", b"click:b": b"200"})
    assert index_of(store, 0) == [index_key(100, b"click:a"), index_key(200, b"click:b")]
    assert index_key(-1, b"k") < index_key(0, b"k") < index_key(2**40, b"k")


def test_expiry_walks_the_index_and_deletes_through_the_transaction(store):  # type: ignore[no-untyped-def]
    commit(store, 0, {b"click:a": b"100", b"click:b": b"200", b"click:c": b"300"})
    assert store.expired(0, 250) == [b"click:a", b"click:b"]
    assert store.expired(0, 250) == []  # already walked in this transaction
    store.stage_deletes(0, [b"click:a", b"click:b"])
    assert store.read(0, b"click:a") is None
    assert store._db_for_partition(0).get(b"click:a") == b"100"  # until the commit
    store.commit([0])
    db = store._db_for_partition(0)
    assert (db.get(b"click:a"), db.get(b"click:b"), db.get(b"click:c")) == (None, None, b"300")
    assert index_of(store, 0) == [index_key(300, b"click:c")]


def test_a_rewritten_key_is_not_expired_and_its_stale_entry_is_dropped(store):  # type: ignore[no-untyped-def]
    commit(store, 1, {b"click:a": b"100"})
    commit(store, 1, {b"click:a": b"500"})  # applied again, past its window
    assert store.expired(1, 250) == []
    store.commit([1])
    assert index_of(store, 1) == [index_key(500, b"click:a")]
    assert store._db_for_partition(1).get(b"click:a") == b"500"


def test_an_aborted_expiry_is_walked_again(store):  # type: ignore[no-untyped-def]
    commit(store, 2, {b"click:a": b"100"})
    assert store.expired(2, 250) == [b"click:a"]
    store.stage_deletes(2, [b"click:a"])
    store.discard([2])
    assert store.expired(2, 250) == [b"click:a"]


def test_keys_can_follow_their_own_cutoff(store):  # type: ignore[no-untyped-def]
    commit(store, 3, {b"click:a": b"100", b"budget:t": b"100"})

    def own(key: bytes) -> int:
        return 250 if key.startswith(b"click:") else 50

    assert store.expired(3, 250, own) == [b"click:a"]
    store.stage_deletes(3, [b"click:a"])
    store.commit([3])
    assert index_of(store, 3) == [index_key(100, b"budget:t")]  # kept, walked again later
    assert store.expired(3, 400, lambda key: 400) == [b"budget:t"]


def test_a_restore_writes_the_index_and_a_tombstone_drops_it(store):  # type: ignore[no-untyped-def]
    topic = seen_budget_events.changelog_topic_name

    def event(offset: int, key: bytes, value: bytes | None) -> SimpleNamespace:
        return SimpleNamespace(message=SimpleNamespace(tp=TP(topic, 4), partition=4, offset=offset,
                                                       key=key, value=value))  # fmt: skip

    store.apply_changelog_batch([event(0, b"click:a", b"100"), event(1, b"click:b", b"200")], None, None)
    assert index_of(store, 4) == [index_key(100, b"click:a"), index_key(200, b"click:b")]
    store.apply_changelog_batch([event(2, b"click:a", None)], None, None)
    assert index_of(store, 4) == [index_key(200, b"click:b")]
    assert store._db_for_partition(4).get(b"click:a") is None
    assert store.persisted_offset(TP(topic, 4)) == 2


def test_iteration_never_shows_the_index(store):  # type: ignore[no-untyped-def]
    commit(store, 5, {b"click:a": b"100"})
    store._dbs_for_actives = lambda: [store._db_for_partition(5)]  # type: ignore[method-assign]
    assert list(store._iterkeys()) == [b"click:a"]
    assert list(store._iteritems()) == [(b"click:a", b"100")]


def test_a_table_without_retention_has_no_index(store):  # type: ignore[no-untyped-def]
    budgets = app.runtime.tables.budgets

    plain = TransactionalStore(
        "rocksdb://", app, budgets, table_name=f"eos-plain-{uuid.uuid4().hex[:6]}",
        key_type=bytes, key_serializer="raw", value_serializer="raw", options={"driver": "rocksdict"},
    )  # fmt: skip
    try:
        with _as_current(FakeEvent(0)):
            plain._set(b"a-1", b"{}")
        plain.commit([0])
        assert index_of(plain, 0) == []
        with pytest.raises(TypeError):
            plain.expired(0, 1)
    finally:
        for db in plain._dbs.values():
            db.close()


def test_the_bulk_restore_writes_the_index_with_the_records_and_the_offset(store):  # type: ignore[no-untyped-def]
    def record(offset: int, key: bytes, value: bytes | None) -> SimpleNamespace:
        return SimpleNamespace(offset=offset, key=key, value=value)

    store.restore(6, [record(0, b"click:a", b"100"), record(1, b"click:b", b"200")], 1)
    assert index_of(store, 6) == [index_key(100, b"click:a"), index_key(200, b"click:b")]
    store.restore(
        6, [record(2, b"click:a", None), record(3, b"click:c", b"300"), record(4, b"click:c", None)], 4
    )
    assert index_of(store, 6) == [index_key(200, b"click:b")]
    db = store._db_for_partition(6)
    assert (db.get(b"click:a"), db.get(b"click:b"), db.get(b"click:c")) == (None, b"200", None)
    assert store.persisted_offset(TP(seen_budget_events.changelog_topic_name, 6)) == 4
    assert store.expired(6, 250) == [b"click:b"]

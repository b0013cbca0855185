"""RocksDB store whose writes become part of the Kafka transaction.

Defect 2 (aborted writes in local state): stock Faust writes every table
change straight into RocksDB, before its transaction commits, and under
exactly_once never persists the changelog offset. After a kill -9, RocksDB
keeps values of the aborted transaction; recovery (read_committed) overwrites
only keys that have later committed changelog records, and the source events
are processed again: counted twice, or (for a duplicate filter) never.

Here a write goes to a per-partition buffer that reads see at once; when the
partition's transaction commits, the buffer and the changelog offset it
reached are written to RocksDB in one atomic WriteBatch. A crash leaves
RocksDB at the last committed transaction, and a restart resumes recovery
from the persisted offset instead of rebuilding (changelog records are whole
values, so re-applying a few already-applied ones is harmless).
Reads from outside stream processing (HTTP) see committed state only.

Time-bounded tables (docs/retention.md) keep a local time index in the same
RocksDB: ``INDEX | time (8 bytes, big-endian, biased) | key`` for every key
written, in the commit's WriteBatch (and the restore's), never changelogged.
``expired`` walks only the index entries below a cutoff, so expiry never scans
the table; the handler deletes what it returns through the transaction
(changelog tombstones), and the scanned entries leave the index at commit.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import compress, repeat
from operator import is_
from typing import Any

from faust.stores.rocksdb import RocksDBOptions, Store
from faust.streams import current_event
from faust.types import TP

from eos import compat
from eos.runtime import runtime_of

_DELETED = object()
_ABSENT = object()

# No UTF-8 text holds the byte 0xFF, and table keys are UTF-8: never a data key.
INDEX = b"\xff\xfftime-index\x00"
_BIAS = 1 << 63  # times before 1970 still sort first


def index_key(time: int, key: bytes) -> bytes:
    return INDEX + (time + _BIAS).to_bytes(8, "big") + key


def _index_bound(time: int) -> bytes:
    return INDEX + (time + _BIAS).to_bytes(8, "big")


# A time-bounded table's key and value (JSON bytes) -> the time it speaks for (domain.retention).
TimeOf = Callable[[bytes, bytes], int]


class MemtableBloomOptions(RocksDBOptions):
    """Faust's RocksDB options plus a whole-key bloom filter on the memtable.

    The duplicate filter looks up every click's id, and nearly all are new: a
    miss walks the memtable's skiplist (1.2 to 1.6 us a key here) unless a
    bloom filter rules it out first (0.5 us). Faust sets bloom filters on the
    SST files only. 0.5% of the 64 MiB write buffer (320 KiB a memtable): about
    15 bits a key at the 170,000 keys a memtable holds in the bench; 2% measured
    no faster, and cost 30 to 50 MiB of RSS over the worker's 24 stores."""

    memtable_bloom_ratio = 0.005

    def as_options(self) -> Any:
        options = super().as_options()
        if self.use_rocksdict:
            options.set_memtable_prefix_bloom_ratio(self.memtable_bloom_ratio)
            options.set_memtable_whole_key_filtering(True)
        return options


class TransactionalStore(Store):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.rocksdb_options = MemtableBloomOptions(**(self.options or {}), use_rocksdict=self.use_rocksdict)
        self._pending: dict[int, dict[bytes, Any]] = {}
        self._deletes: set[int] = set()  # partitions whose pending writes include a deletion
        self._changelog_offsets: dict[int, int] = {}
        self._index_drops: dict[int, list[bytes]] = {}  # index entries the open transaction scanned
        self._scanned: dict[int, int] = {}  # cutoff up to which the index was scanned (open or committed)

    @property
    def time_of(self) -> TimeOf | None:
        """Set on time-bounded tables (tables/_declare.py): the key's time, for the index."""
        return getattr(self.table, "time_of", None)

    @staticmethod
    def _partition() -> int | None:
        event = current_event()
        return None if event is None else event.message.partition

    def _set(self, key: bytes, value: bytes | None) -> None:
        partition = self._partition()
        assert partition is not None, "table written outside stream processing"
        self._pending.setdefault(partition, {})[key] = value

    def _del(self, key: bytes) -> None:
        partition = self._partition()
        if partition is None:
            super()._del(key)
        else:
            self._pending.setdefault(partition, {})[key] = _DELETED
            self._deletes.add(partition)

    def _get(self, key: bytes) -> bytes | None:
        partition = self._partition()
        if partition is not None and key in self._pending.get(partition, ()):
            value = self._pending[partition][key]
            return None if value is _DELETED else value
        return super()._get(key)

    def _contains(self, key: bytes) -> bool:
        return self._get(key) is not None

    def read(self, partition: int, key: bytes) -> bytes | None:
        """Batch path (eos.batch_path): the value as partition ``partition``'s open transaction sees it."""
        pending = self._pending.get(partition)
        if pending is not None and key in pending:
            value = pending[key]
            return None if value is _DELETED else value
        stored: bytes | None = compat.db_for_partition(self, partition).get(key)
        return stored

    def read_many(self, partition: int, keys: Sequence[bytes]) -> list[bytes | None]:
        """``read`` for many keys: the ones not written in the open transaction
        come from RocksDB in one multi-get. (A batch reads thousands of keys:
        the passes over them run in C, through map and compress.)"""
        if not keys:
            return []
        db = compat.db_for_partition(self, partition)
        pending = self._pending.get(partition)
        if not pending:
            everything: list[bytes | None] = db.get(keys)
            return everything
        values: list[Any] = list(map(pending.get, keys, repeat(_ABSENT, len(keys))))
        unread = list(compress(range(len(keys)), map(is_, values, repeat(_ABSENT))))
        if len(unread) == len(keys):
            return db.get(keys)  # type: ignore[no-any-return]
        if unread:
            for i, value in zip(unread, db.get(list(map(keys.__getitem__, unread))), strict=True):
                values[i] = value
        if partition in self._deletes:
            return [None if value is _DELETED else value for value in values]
        return values

    def stage(self, partition: int, writes: dict[bytes, bytes]) -> None:
        """Batch path: buffer ``writes`` in partition ``partition``'s open transaction."""
        self._pending.setdefault(partition, {}).update(writes)

    def note_changelog_offset(self, partition: int, offset: int) -> None:
        """The changelog record for a pending write reached the broker at ``offset``."""
        if offset > self._changelog_offsets.get(partition, -1):
            self._changelog_offsets[partition] = offset

    def commit(self, partitions: Iterable[int]) -> None:
        """The transactions of ``partitions`` committed: make their writes durable,
        then tell the app's commit listeners (eos.runtime)."""
        runtime = runtime_of(self.app)
        for partition in partitions:
            pending = self._pending.pop(partition, None)
            offset = self._changelog_offsets.pop(partition, None)
            if not pending and offset is None and partition not in self._index_drops:
                continue
            db = compat.db_for_partition(self, partition)
            batch = self._write_batch()
            if pending and partition in self._deletes:
                for key, value in pending.items():
                    if value is _DELETED:
                        batch.delete(key)
                    else:
                        batch.put(key, value)
            elif pending:  # Faust's key index is a read cache: reads fill it
                deque(map(batch.put, pending.keys(), pending.values()), maxlen=0)
            time_of = self.time_of
            if time_of is not None:
                live = pending
                if pending and partition in self._deletes:
                    live = {k: v for k, v in pending.items() if v is not _DELETED}
                self._index_into(batch, partition, live, time_of)
            self._deletes.discard(partition)
            if offset is not None:
                batch.put(self.offset_key, str(offset).encode())
            db.write(batch)
            if pending:
                runtime.committed(self.table_name, partition, pending, _DELETED)

    def restore(self, partition: int, records: Sequence[Any], offset: int) -> None:
        """Write changelog ``records`` (committed ones, in offset order: eos.restore) and
        the changelog ``offset`` they reach, in one WriteBatch. The one way restored
        records reach RocksDB on the bulk path."""
        batch = self._write_batch()
        db = compat.db_for_partition(self, partition)
        time_of = self.time_of
        if time_of is not None:  # and the time index of what it writes (docs/retention.md)
            self._restore_indexed(batch, db, {record.key: record.value for record in records}, time_of)
        else:
            put, delete = batch.put, batch.delete
            for record in records:
                if record.value is None:
                    delete(record.key)
                else:
                    put(record.key, record.value)
        batch.put(self.offset_key, str(offset).encode())
        db.write(batch)

    def discard(self, partitions: Iterable[int]) -> None:
        """Forget uncommitted writes (their transaction aborted or the partition left)."""
        for partition in partitions:
            self._pending.pop(partition, None)
            self._deletes.discard(partition)
            self._changelog_offsets.pop(partition, None)
            self._index_drops.pop(partition, None)
            self._scanned.pop(partition, None)

    def revoke_partitions(self, table: Any, tps: set[TP]) -> None:
        self.discard({tp.partition for tp in tps})
        super().revoke_partitions(table, tps)

    def _write_batch(self) -> Any:
        from rocksdict import WriteBatch

        return WriteBatch(raw_mode=True)

    # Time index (time-bounded tables only)

    def stage_deletes(self, partition: int, keys: Iterable[bytes]) -> None:
        """Batch path: delete ``keys`` in partition ``partition``'s open transaction."""
        pending = self._pending.setdefault(partition, {})
        for key in keys:
            pending[key] = _DELETED
        self._deletes.add(partition)

    def expired(
        self, partition: int, cutoff: int, cutoff_of: Callable[[bytes], int] | None = None
    ) -> list[bytes]:
        """Keys of partition ``partition`` whose time is below ``cutoff`` (or below
        ``cutoff_of(key)``, at most ``cutoff``, when keys have their own), as its
        open transaction sees them. Walks the index entries below the cutoff only;
        each expired entry leaves the index when the transaction commits (one whose
        key has since been deleted or rewritten to a later time is simply dropped)."""
        time_of = self.time_of
        if time_of is None:
            raise TypeError(f"table {self.table_name} has no retention")
        floor = self._scanned.get(partition)
        if floor is not None and cutoff <= floor:
            return []
        db = compat.db_for_partition(self, partition)
        start, stop = _index_bound(floor if floor is not None else -_BIAS), _index_bound(cutoff)
        skip = len(INDEX) + 8
        drops, keys, kept = [], [], cutoff
        for entry in db.keys(from_key=start):
            if entry >= stop:
                break
            key = entry[skip:]
            own = cutoff if cutoff_of is None else cutoff_of(key)
            time = int.from_bytes(entry[len(INDEX) : skip], "big") - _BIAS
            if time < own:
                drops.append(entry)
                keys.append((key, own))
            else:
                kept = min(kept, time)  # walked again next time
        self._scanned[partition] = kept
        if not drops:
            return []
        self._index_drops.setdefault(partition, []).extend(drops)
        owns = dict(keys)
        values = self.read_many(partition, list(owns))
        return [
            k
            for (k, own), v in zip(owns.items(), values, strict=True)
            if v is not None and time_of(k, v) < own
        ]

    def _index_into(self, batch: Any, partition: int, live: dict[bytes, Any] | None, time_of: TimeOf) -> None:
        """The drops of the entries expiry walked, then the entries of the committed
        writes (``live``: no deletions)."""
        for key in self._index_drops.pop(partition, ()):
            batch.delete(key)
        if live:
            self._index_entries(batch, live, time_of)

    def _index_entries(self, batch: Any, live: dict[bytes, Any], time_of: TimeOf) -> None:
        """A commit writes thousands of filter entries sharing a handful of values
        (stream time in seconds): each value's time is computed once, and the loops
        over keys run in C."""
        if getattr(self.table, "time_by_value", False):
            values = list(live.values())
            prefixes = {value: _index_bound(time_of(b"", value)) for value in set(values)}
            entries: Iterable[bytes] = map(bytes.__add__, map(prefixes.__getitem__, values), live)
        else:
            entries = (index_key(time_of(key, value), key) for key, value in live.items())
        deque(map(batch.put, entries, repeat(b"")), maxlen=0)

    def apply_changelog_batch(
        self, batch: Iterable[Any], to_key: Callable[..., Any], to_value: Callable[..., Any]
    ) -> None:
        """Restore (and standby) path: Faust's, plus the time index of what it writes
        in the same WriteBatch. A tombstone drops the entry of the value it deletes."""
        time_of = self.time_of
        if time_of is None:
            return super().apply_changelog_batch(batch, to_key, to_value)
        writes: dict[int, dict[bytes, bytes | None]] = defaultdict(dict)
        offsets: dict[TP, int] = {}
        for event in batch:
            msg = event.message
            if msg.offset > offsets.get(msg.tp, -1):
                offsets[msg.tp] = msg.offset
            writes[msg.partition][msg.key] = msg.value
        for partition, changes in writes.items():
            self.index_restored(partition, changes, time_of)
        for tp, offset in offsets.items():
            self.set_persisted_offset(tp, offset)

    def index_restored(self, partition: int, changes: dict[bytes, bytes | None], time_of: TimeOf) -> None:
        """Write restored changelog records ({key: value or None for a tombstone},
        last one per key) and their time index in one WriteBatch."""
        db = compat.db_for_partition(self, partition)
        batch = self._write_batch()
        self._restore_indexed(batch, db, changes, time_of)
        db.write(batch)

    def _restore_indexed(
        self, batch: Any, db: Any, changes: dict[bytes, bytes | None], time_of: TimeOf
    ) -> None:
        """Restored records into ``batch`` with their index entries; a tombstone drops
        the entry of the value it deletes (one multi-get for the batch's tombstones)."""
        deleted = [key for key, value in changes.items() if value is None]
        if deleted:
            for key, old in zip(deleted, db.get(deleted), strict=True):
                if old is not None:
                    batch.delete(index_key(time_of(key, old), key))
                batch.delete(key)
            changes = {key: value for key, value in changes.items() if value is not None}
        if changes:
            deque(map(batch.put, changes.keys(), changes.values()), maxlen=0)
            self._index_entries(batch, changes, time_of)

    def _visible_keys(self, db: Any) -> Iterator[bytes]:
        for key in super()._visible_keys(db):
            if key.startswith(INDEX):
                return  # the index sorts after every data key
            yield key

    def _visible_items(self, db: Any) -> Iterator[tuple[bytes, bytes]]:
        for key, value in super()._visible_items(db):
            if key.startswith(INDEX):
                return
            yield key, value

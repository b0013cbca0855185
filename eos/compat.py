"""Every private part of faust-streaming and aiokafka that this project relies on.

Two kinds: attributes we read or write, each behind a function here, and hooks
(private methods) that our subclasses override, listed in ``HOOKS``.
``tests/unit/eos/test_compat.py`` checks that each still exists with the shape
we rely on, so an upgrade that moves one fails there, by name, instead of in
the middle of a rebalance; it also fails when one of our classes overrides a
private method not listed in ``HOOKS``, or ``HOOKS`` lists one nothing
overrides. Add new ones here, never elsewhere.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from faust.streams import _current_event as current_event_var  # per-task "current event" (a weakref)

# Private methods our subclasses override: (module, class, method, parameters after self).
HOOKS: list[tuple[str, str, str, tuple[str, ...]]] = [
    ("faust", "App", "_new_transport", ()),
    ("faust.transport.drivers.aiokafka", "AIOKafkaConsumerThread", "_create_worker_consumer", ("transport",)),
    ("faust.transport.drivers.aiokafka", "AIOKafkaConsumerThread", "_seek_wait", ("consumer", "partitions")),
    # eos.consumer: read_committed high-water marks from end_offsets (defect 5, docs/exactly-once.md).
    ("faust.transport.drivers.aiokafka", "AIOKafkaConsumerThread", "_highwaters", ("partitions",)),
    (
        "faust.transport.drivers.aiokafka",
        "AIOKafkaConsumerThread",
        "_fetch_records",
        ("consumer", "active_partitions", "timeout", "max_records"),
    ),
    ("faust.transport.drivers.aiokafka", "Consumer", "_new_consumer_thread", ()),
    ("faust.transport.consumer", "Consumer", "_filter_tps_with_pending_acks", ("topics",)),
    ("faust.transport.consumer", "Consumer", "_filter_committable_offsets", ("tps",)),
    ("faust.transport.consumer", "Consumer", "_wait_next_records", ("timeout",)),
    ("faust.transport.consumer", "TransactionManager", "_tps_to_transactional_ids", ("tps",)),
    ("faust.tables.base", "Collection", "_new_store_by_url", ("url",)),
    ("faust.tables.base", "Collection", "_on_changelog_sent", ("fut",)),
    ("faust.stores.rocksdb", "Store", "_set", ("key", "value")),
    ("faust.stores.rocksdb", "Store", "_get", ("key",)),
    ("faust.stores.rocksdb", "Store", "_del", ("key",)),
    ("faust.stores.rocksdb", "Store", "_contains", ("key",)),
    # eos.store hides its time index (docs/retention.md) from table iteration.
    ("faust.stores.rocksdb", "Store", "_visible_keys", ("db",)),
    ("faust.stores.rocksdb", "Store", "_visible_items", ("db",)),
    # streaming.recovery_progress: the recovery's progress gauges close when it ends.
    ("faust.tables.recovery", "Recovery", "_set_recovery_ended", ()),
    ("faust.tables.recovery", "Recovery", "_seek_offsets", ("consumer", "tps", "offsets", "title")),
]

# Private attributes the functions below touch: (module, class, attribute) where
# the class assigns or defines it.
ATTRIBUTES: list[tuple[str, str, str]] = [
    ("faust.transport.drivers.aiokafka", "Producer", "_transaction_producers"),
    ("aiokafka.consumer.consumer", "AIOKafkaConsumer", "_fetch_max_wait_ms"),
    ("aiokafka.consumer.consumer", "AIOKafkaConsumer", "_client"),
    ("faust.transport.consumer", "Consumer", "_unacked_messages"),
    ("faust.transport.consumer", "Consumer", "_acked"),
    ("faust.transport.consumer", "Consumer", "_acked_index"),
    ("faust.transport.consumer", "Consumer", "_should_commit"),
    ("faust.transport.consumer", "ThreadDelegateConsumer", "_thread"),
    ("faust.transport.drivers.aiokafka", "AIOKafkaConsumerThread", "_ensure_consumer"),
    ("faust.stores.rocksdb", "Store", "_key_index"),
    ("faust.stores.rocksdb", "Store", "_db_for_partition"),
    ("faust.tables.manager", "TableManager", "_recovery"),
    ("faust.transport.drivers.aiokafka", "AIOKafkaConsumerThread", "_consumer"),
    ("faust.stores.rocksdb", "Store", "_dbs"),
    ("aiokafka.consumer.consumer", "AIOKafkaConsumer", "_subscription"),
    ("aiokafka.consumer.subscription_state", "SubscriptionState", "subscription"),
    ("aiokafka.consumer.subscription_state", "TopicPartitionState", "has_valid_position"),
    ("aiokafka.producer.producer", "AIOKafkaProducer", "_txn_manager"),
    ("aiokafka.producer.transaction_manager", "TransactionManager", "_transaction_waiter"),
]


def transaction_producers(producer: Any) -> Mapping[str, Any]:
    """Faust's aiokafka producer, its transactional producers by id (no public lookup)."""
    producers: Mapping[str, Any] = getattr(producer, "_transaction_producers", {})
    return producers


def transaction_error(producer: Any) -> BaseException | None:
    """Why an aiokafka producer's transaction failed (e.g. an ACL denied a topic): aiokafka
    keeps it only in a private future; later sends just say "not in transaction"."""
    waiter = getattr(getattr(producer, "_txn_manager", None), "_transaction_waiter", None)
    if waiter is None or not waiter.done() or waiter.cancelled():
        return None
    error: BaseException | None = waiter.exception()
    return error


def set_fetch_max_wait(consumer: Any, seconds: float) -> None:
    """aiokafka reads it when it builds its fetcher at start; Faust hard-codes 1.5 s."""
    consumer._fetch_max_wait_ms = int(seconds * 1000)


def unacked_messages(consumer: Any) -> set[Any]:
    """Faust's set of messages handed out and not acked yet (a rebalance waits on them)."""
    unacked: set[Any] = getattr(consumer, "_unacked_messages", set())
    return unacked


def forget_acks(consumer: Any, tp: Any) -> None:
    """Drop Faust's ack bookkeeping of ``tp`` (eos.consumer commits processed offsets instead)."""
    consumer._acked[tp].clear()
    consumer._acked_index[tp].clear()


def should_commit(consumer: Any, tp: Any, offset: int) -> bool:
    """Faust's check that ``offset`` moves ``tp`` past what was last committed."""
    return bool(consumer._should_commit(tp, offset))


def kafka_consumer(thread: Any) -> Any:
    """The aiokafka consumer inside Faust's consumer thread."""
    return thread._ensure_consumer()


def started_kafka_consumer(thread: Any) -> Any:
    """The aiokafka consumer inside Faust's consumer thread, or None before it started."""
    return getattr(thread, "_consumer", None)


def fetch_position(kafka_consumer: Any, tp: Any) -> int | None:
    """The consumer's position on ``tp`` (past markers), without a request; None if unknown."""
    subscription = kafka_consumer._subscription.subscription
    assignment = None if subscription is None else subscription.assignment
    if assignment is None or tp not in assignment.tps:
        return None
    state = assignment.state_value(tp)
    return int(state.position) if state.has_valid_position else None


def open_dbs(store: Any) -> dict[int, Any]:
    """The RocksDB databases a store has opened, by partition (a copy)."""
    return dict(store._dbs)


def consumer_thread(consumer: Any) -> Any:
    """Faust's consumer thread behind its consumer."""
    return consumer._thread


def metadata_partitions(kafka_consumer: Any, topic: str) -> set[int] | None:
    """Partitions of ``topic`` in the aiokafka client's cached metadata (no request)."""
    partitions: set[int] | None = kafka_consumer._client.cluster.partitions_for_topic(topic)
    return partitions


def key_index(store: Any) -> Any:
    """Faust's RocksDB store's key -> partition read cache (None on other stores)."""
    return getattr(store, "_key_index", None)


def set_key_index(store: Any, index: Any) -> None:
    store._key_index = index


def db_for_partition(store: Any, partition: int) -> Any:
    """The RocksDB database of one table partition."""
    return store._db_for_partition(partition)


def table_manager_recovery(manager: Any) -> Any:
    """The Recovery a TableManager built, or None before it built one."""
    return manager._recovery


def set_table_manager_recovery(manager: Any, recovery: Any) -> None:
    manager._recovery = recovery


__all__ = [
    "ATTRIBUTES",
    "HOOKS",
    "consumer_thread",
    "fetch_position",
    "open_dbs",
    "started_kafka_consumer",
    "current_event_var",
    "db_for_partition",
    "forget_acks",
    "kafka_consumer",
    "key_index",
    "metadata_partitions",
    "set_fetch_max_wait",
    "set_key_index",
    "set_table_manager_recovery",
    "should_commit",
    "table_manager_recovery",
    "transaction_error",
    "transaction_producers",
    "unacked_messages",
]

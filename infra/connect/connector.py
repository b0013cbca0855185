"""The Debezium PostgreSQL connector over the order service's outbox, and its registration by REST.

The Outbox Event Router routes each row to the topic named in its ``topic`` column, keyed by
its ``record_key`` column (the user), with the ``payload`` column's JSON text as the value
(the worker's StringConverter: no envelope). Deletes of outbox rows are ignored by the router
(the service prunes rows Debezium has read), and so are their tombstones.
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlsplit

from .worker import ConnectError, ConnectRest, ConnectWorker

Api = ConnectRest | ConnectWorker


def slot_name(connector: str) -> str:
    return connector.replace("-", "_").replace(".", "_").lower()


def connector_config(
    database_url: str, connector: str, partitions: int = 6, replication: int = 1
) -> dict[str, str]:
    url = urlsplit(database_url)
    config = {
        "connector.class": "io.debezium.connector.postgresql.PostgresConnector",
        "tasks.max": "1",
        "plugin.name": "pgoutput",
        "database.hostname": url.hostname or "127.0.0.1",
        "database.port": str(url.port or 5432),
        "database.user": url.username or "postgres",
        "database.dbname": url.path.lstrip("/") or "shop",
        "topic.prefix": connector,
        "slot.name": slot_name(connector),
        "publication.name": slot_name(connector),
        "publication.autocreate.mode": "filtered",
        "table.include.list": "public.outbox",
        # A first start (or a reset of the offsets) reads the rows still in the table, then
        # streams the WAL from the slot: rows written before the connector existed are not lost.
        "snapshot.mode": "initial",
        "tombstones.on.delete": "false",
        # Heartbeats confirm the WAL position read so far to the slot even when no new row
        # follows (otherwise the slot trails by one transaction): pruning and the lag gauge
        # compare rows with that position.
        "heartbeat.interval.ms": "1000",
        # How long a poll waits for change events before handing a batch to Connect (Debezium's
        # default 500 ms is most of a 201 -> counted latency), and how many a batch may carry.
        "poll.interval.ms": "10",
        "max.batch.size": "4096",
        "max.queue.size": "16384",
        # Topics Debezium may have to create before the stream worker did: as the worker would.
        "topic.creation.default.partitions": str(partitions),
        "topic.creation.default.replication.factor": str(replication),
        "transforms": "outbox",
        "transforms.outbox.type": "io.debezium.transforms.outbox.EventRouter",
        "transforms.outbox.table.field.event.id": "id",
        "transforms.outbox.table.field.event.key": "record_key",
        "transforms.outbox.table.field.event.payload": "payload",
        "transforms.outbox.route.by.field": "topic",
        "transforms.outbox.route.topic.replacement": "${routedByValue}",
        "transforms.outbox.table.fields.additional.placement": "event_type:header:event_type",
        "transforms.outbox.table.expand.json.payload": "false",
    }
    if url.password:
        config["database.password"] = url.password
    return config


def register(worker: Api, name: str, config: dict[str, str]) -> None:
    """Create or update the connector (PUT is idempotent)."""
    worker.request("PUT", f"/connectors/{name}/config", config)


def status(worker: Api, name: str) -> dict[str, Any]:
    return worker.request("GET", f"/connectors/{name}/status")


def running(st: dict[str, Any]) -> bool:
    tasks = st.get("tasks") or []
    return (
        st.get("connector", {}).get("state") == "RUNNING"
        and bool(tasks)
        and all(t.get("state") == "RUNNING" for t in tasks)
    )


def wait_running(worker: Api, name: str, timeout: float = 90) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = status(worker, name)
            if running(last):
                return last
            failed = [t for t in last.get("tasks", []) if t.get("state") == "FAILED"]
            if failed:
                raise ConnectError(f"connector {name} task failed: {failed[0].get('trace', '')[:2000]}")
        except ConnectError as exc:
            if "task failed" in str(exc):
                raise
            last = str(exc)
        time.sleep(0.25)
    raise ConnectError(f"connector {name} not RUNNING after {timeout}s: {last}")


def reset_offsets(worker: Api, name: str, timeout: float = 60) -> None:
    """Stop the connector, forget its offsets, resume: it snapshots the outbox rows still in the
    table again and re-sends them (a replay, as a lost offsets topic would cause)."""
    worker.request("PUT", f"/connectors/{name}/stop")
    deadline = time.monotonic() + timeout
    while status(worker, name)["connector"]["state"] != "STOPPED":
        if time.monotonic() > deadline:
            raise ConnectError(f"connector {name} did not stop")
        time.sleep(0.2)
    worker.request("DELETE", f"/connectors/{name}/offsets")
    worker.request("PUT", f"/connectors/{name}/resume")
    wait_running(worker, name, timeout)

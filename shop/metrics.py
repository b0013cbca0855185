"""The order service's /metrics: requests, orders, the outbox and its connector (a registry of its own)."""

from __future__ import annotations

import os

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, multiprocess

# A connector's and its tasks' states as Connect reports them, and ours for "no answer".
CONNECTOR_STATES = (
    "RUNNING",
    "PAUSED",
    "STOPPED",
    "FAILED",
    "UNASSIGNED",
    "RESTARTING",
    "MISSING",
    "UNREACHABLE",
)

MAX = {"multiprocess_mode": "max"}


class ShopMetrics:
    """One process's metrics; ``exposition`` is what /metrics renders.

    Under several processes (shop/processes.py) prometheus-client keeps every value in the
    directory its PROMETHEUS_MULTIPROC_DIR names (read by the library when it is imported), and
    ``exposition`` collects all processes' files: counters and histograms summed, the gauges
    (set by the one process that runs the monitor, 0 in the others) their maximum.
    """

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        shared = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
        if shared:
            self.exposition = CollectorRegistry()
            multiprocess.MultiProcessCollector(self.exposition, path=shared)
        else:
            self.exposition = r
        self.requests = Histogram(
            "shop_http_request_seconds",
            "Requests served, by route template",
            ["route", "method", "status"],
            registry=r,
        )
        self.orders = Counter("shop_orders_placed", "Orders committed (with their outbox rows)", registry=r)
        self.transitions = Counter(
            "shop_transitions", "Lifecycle transitions committed", ["status"], registry=r
        )
        self.replays = Counter(
            "shop_idempotent_replays", "Requests answered from a stored Idempotency-Key", registry=r
        )
        self.outbox_rows = Gauge("shop_outbox_rows", "Rows in the outbox table", registry=r, **MAX)
        self.outbox_lag = Gauge(
            "shop_outbox_lag_seconds",
            "Age of the oldest outbox row the replication slot has not confirmed (0: none)",
            registry=r,
            **MAX,
        )
        self.pruned = Counter(
            "shop_outbox_pruned", "Outbox rows deleted once published and past retention", registry=r
        )
        self.connector_running = Gauge(
            "shop_connector_running",
            "1 when the outbox connector and all its tasks are RUNNING",
            registry=r,
            **MAX,
        )
        self.connector_state = Gauge(
            "shop_connector_state",
            "1 for the outbox connector's worst state (tasks included)",
            ["state"],
            registry=r,
            **MAX,
        )

    def set_connector(self, state: str) -> None:
        for s in CONNECTOR_STATES:
            self.connector_state.labels(state=s).set(1 if s == state else 0)
        self.connector_running.set(1 if state == "RUNNING" else 0)


def worst_state(status: dict) -> str:
    """The connector's state, or the first task's that is not RUNNING (no task: UNASSIGNED)."""
    state = status.get("connector", {}).get("state", "UNASSIGNED")
    if state != "RUNNING":
        return state if state in CONNECTOR_STATES else "UNASSIGNED"
    tasks = status.get("tasks") or [{"state": "UNASSIGNED"}]
    for task in tasks:
        if task.get("state") != "RUNNING":
            return task.get("state") if task.get("state") in CONNECTOR_STATES else "UNASSIGNED"
    return "RUNNING"

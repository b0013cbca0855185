"""The order service's /metrics: requests, orders, the outbox and its connector (a registry of its own)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

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


class ShopMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
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
        self.outbox_rows = Gauge("shop_outbox_rows", "Rows in the outbox table", registry=r)
        self.outbox_lag = Gauge(
            "shop_outbox_lag_seconds",
            "Age of the oldest outbox row the replication slot has not confirmed (0: none)",
            registry=r,
        )
        self.pruned = Counter(
            "shop_outbox_pruned", "Outbox rows deleted once published and past retention", registry=r
        )
        self.connector_running = Gauge(
            "shop_connector_running", "1 when the outbox connector and all its tasks are RUNNING", registry=r
        )
        self.connector_state = Gauge(
            "shop_connector_state",
            "1 for the outbox connector's worst state (tasks included)",
            ["state"],
            registry=r,
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

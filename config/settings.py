"""The one settings object, read from the environment once.

Every knob the service has is a field here; README's configuration table lists
the same names. Invalid values fail at start with the variable's name.
"""

from __future__ import annotations

import re
from enum import StrEnum
from pathlib import Path
from typing import Annotated

from pydantic import BeforeValidator, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from domain.errors import StreamsError


class ConfigError(StreamsError):
    """A setting from the environment is invalid; the message names the variable."""


class Guarantee(StrEnum):
    EXACTLY_ONCE = "exactly_once"
    AT_LEAST_ONCE = "at_least_once"


class BudgetKernel(StrEnum):
    AUTO = "auto"
    NATIVE = "native"
    PYTHON = "python"


class SecurityProtocol(StrEnum):
    PLAINTEXT = "PLAINTEXT"
    SSL = "SSL"
    SASL_PLAINTEXT = "SASL_PLAINTEXT"
    SASL_SSL = "SASL_SSL"


_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def _seconds(value: object) -> object:
    """'7d', '24h', '90m', '30s' or a plain number of seconds -> seconds (int)."""
    if isinstance(value, str):
        match = re.fullmatch(r"\s*(\d+)\s*([smhd]?)\s*", value)
        if match is None:
            raise ValueError(f"expected a duration like 7d, 24h, 90m, 30s or seconds, got {value!r}")
        return int(match[1]) * _UNITS[match[2] or "s"]
    return value


# A retention: how long, in stream time, a table keeps a key (docs/retention.md).
Duration = Annotated[int, BeforeValidator(_seconds), Field(ge=1, le=100 * 365 * 86400)]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(frozen=True, extra="ignore", case_sensitive=False)

    # Kafka connection
    kafka_bootstrap_servers: str = Field("127.0.0.1:9092", min_length=1)
    kafka_security_protocol: SecurityProtocol = SecurityProtocol.PLAINTEXT
    kafka_sasl_mechanism: str = "PLAIN"
    kafka_sasl_username: str = ""
    kafka_sasl_password: SecretStr = SecretStr("")
    kafka_ssl_cafile: Path | None = None

    # Application identity and processing
    app_id: str = Field("commerce-streams", pattern=r"^[A-Za-z0-9._-]+$")
    processing_guarantee: Guarantee = Guarantee.EXACTLY_ONCE
    # Kafka Streams' default under exactly-once: state is visible over HTTP
    # only once committed, so this bounds the end-to-end latency.
    commit_interval: float = Field(0.1, gt=0, le=60)
    batch_max: int = Field(2000, ge=1, le=100_000)
    batch_within: float = Field(0.05, gt=0, le=10)
    # The budget handler's per-event work: "native" runs it in the Rust kernel
    # (native/, the budget_kernel module), "python" in domain/budgets.py alone;
    # "auto" takes native when it is installed, else python with a warning.
    budget_kernel: BudgetKernel = BudgetKernel.AUTO
    standby_replicas: int = Field(1, ge=0, le=5)
    # Restore active table partitions in bulk (eos.restore) before Faust's
    # recovery; false leaves it all to Faust's per-record path (measured side by
    # side by python -m bench.restore).
    bulk_restore: bool = True
    # Longest a fetch waits at the broker for new records (Faust's is 1.5 s): it
    # bounds how long a busy partition can wait behind a fetch of idle ones
    # (eos.consumer), that is, the end-to-end latency under light load.
    fetch_max_wait: float = Field(0.1, ge=0.001, le=5)
    # How long a producer waits to fill a batch: fewer, larger produce requests.
    producer_linger: float = Field(0.005, ge=0, le=1)
    # Largest record batch a producer builds; the batch path fills whole ones
    # (stay under the broker's message.max.bytes, 1 MiB by default).
    producer_max_batch_bytes: int = Field(512 * 1024, ge=16 * 1024, le=1024 * 1024)
    # How long a Python thread may hold the GIL while another waits (Python's
    # default is 5 ms). Unset: 5 ms when the query front is on, 0.1 ms without it.
    # The short slice served HTTP queries answered in Python sooner while the batch
    # handler and the fetch thread compute; it costs throughput (every slice ends
    # in a hand-over between those threads): 61,142 and 70,212 clicks/s against
    # 79,568 and 81,562 at 5 ms, side by side. The query front answers budget
    # lookups without the GIL, so with it the long slice is the better trade.
    gil_switch_interval: float | None = Field(None, ge=0.00005, le=0.1)
    # Python's cyclic GC: allocations between young collections (Python's default
    # is 700; the start-up heap is frozen too, app.factory.settle_heap). A batch
    # allocates and frees objects by the hundred thousand, nearly all freed by
    # reference counting: collecting them every 700 allocations cost about a
    # tenth of the worker's CPU. In the bench, side by side, 200,000 used less
    # CPU per drain than 50,000 in 3 rounds of 3, and than 1,000,000 in 2 of 3.
    gc_gen0_threshold: int = Field(200_000, ge=100, le=10_000_000)
    # How soon the group notices a dead worker (Faust's default is 60 s).
    session_timeout: float = Field(10.0, ge=3, le=300)
    # Prometheus metrics on GET /metrics (streaming.metrics); off only to measure their cost.
    metrics: bool = True
    # Log lines: "text" (Faust's, human-readable) or "json" (one object per line).
    log_format: str = Field("text", pattern=r"^(text|json)$")
    # Static group membership (KIP-345): a worker restarted within the session
    # timeout takes its partitions back without a rebalance. "auto": the worker's
    # canonical URL under APP_ID (unique per worker, stable across restarts);
    # "none": dynamic membership (a clean stop hands partitions over at once).
    group_instance_id: str = Field("auto", pattern=r"^[A-Za-z0-9._:@-]*$")

    # Topics: names, and how the app creates them
    topic_partitions: int = Field(6, ge=1, le=1000)
    topic_replication_factor: int = Field(1, ge=1, le=10)
    topic_orders: str = "orders"
    topic_orders_dlq: str = "orders.dlq"
    topic_category_totals: str = "category-totals"
    topic_order_events: str = "order-events"
    topic_order_events_dlq: str = "order-events.dlq"
    # Seconds of a user's event time a delivered or cancelled order stays in the
    # order_lifecycle table after its latest event (its counts stay for good); its
    # event_ids, the lifecycle's duplicate filter, go with it (docs/live-push.md).
    order_retention: int = Field(24 * 3600, ge=0, le=365 * 24 * 3600)
    topic_ad_budget: str = "ad-budget"
    topic_ad_budget_dlq: str = "ad-budget.dlq"
    topic_ad_clicks: str = "ad-clicks"
    topic_ad_clicks_dlq: str = "ad-clicks.dlq"
    topic_ad_ledger: str = "ad-ledger"
    topic_ad_budget_status: str = "ad-budget-status"

    # Local state
    store_dir: Path = Path(".data/state")
    # Retention of the time-bounded tables, in stream time (record timestamps,
    # event time for the hourly and daily buckets): keys past it leave RocksDB
    # and, by tombstones in the same transaction, the changelog. The duplicate
    # filters' retention is also their window.
    retention_seen_orders: Duration = 7 * 86400
    retention_seen_budget_events: Duration = 86400
    retention_category_hourly: Duration = 7 * 86400
    retention_daily_stats: Duration = 400 * 86400
    # The time-bounded tables' changelogs (created with these): segment.ms and
    # delete.retention.ms, so compaction drops expired keys' records and tombstones.
    changelog_segment: Duration = 3600

    # Web server (interactive queries)
    web_host: str = "127.0.0.1"
    web_port: int = Field(6066, ge=1, le=65535)
    web_bind: str = "0.0.0.0"
    # The query front (native/, needs the budget kernel): WEB_PORT is served by a
    # thread in Rust that answers GET /advertisers/{id}/budget from the budgets this
    # worker committed, without the GIL; everything else goes on to Faust's web
    # server, which then listens on 127.0.0.1:WEB_BACKEND_PORT (0: a free port).
    query_front: bool = True
    query_front_max_keys: int = Field(200_000, ge=0, le=100_000_000)
    # Its thread under SCHED_FIFO (lowest real-time priority) when the process may
    # (CAP_SYS_NICE or RLIMIT_RTPRIO): it then waits for no core behind the stream
    # processing or the broker; refused, it runs at normal priority, with a warning.
    query_front_realtime: bool = True
    web_backend_port: int = Field(0, ge=0, le=65535)
    # Live push (web/live.py): server-sent event streams a worker serves at most
    # (past it, 503), committed changes buffered per stream before a slow client
    # is cut off, and seconds between heartbeat comments.
    live_max_streams: int = Field(2000, ge=0, le=100_000)
    live_buffer: int = Field(64, ge=1, le=10_000)
    live_heartbeat: float = Field(15.0, gt=0, le=300)
    # Bearer token for the HTTP API (off when unset): every route but /healthz,
    # /readyz and /metrics then needs `Authorization: Bearer <token>`; workers
    # send it when they forward to each other, so all workers need the same one.
    http_auth_token: SecretStr | None = None

    # The order service (`python -m shop`, docs/outbox.md): its PostgreSQL (a secret: it may
    # hold a password), its HTTP port, the Connect worker and connector that publish its
    # outbox, how long published outbox rows and idempotency keys are kept, how often it
    # prunes them and refreshes the connector's state and the outbox lag for /metrics.
    shop_database_url: SecretStr = SecretStr("postgresql://postgres@127.0.0.1:5432/shop")
    shop_host: str = "127.0.0.1"
    shop_port: int = Field(6070, ge=1, le=65535)
    shop_db_pool: int = Field(10, ge=1, le=200)
    # Service processes sharing SHOP_PORT (SO_REUSEPORT); 0: one per CPU.
    shop_processes: int = Field(0, ge=0, le=64)
    shop_connect_url: str = "http://127.0.0.1:8083"
    shop_connector: str = Field("shop-outbox", pattern=r"^[A-Za-z0-9_-]+$")
    shop_outbox_retention: Duration = 600
    shop_idempotency_retention: Duration = 86400
    shop_prune_interval: float = Field(30.0, gt=0, le=3600)
    shop_monitor_interval: float = Field(5.0, gt=0, le=300)
    # Tests only: honour the X-Inject-Fault header (fail a transaction after its writes).
    shop_fault_injection: bool = False

    # The lake (lake/, docs/lake.md): `faust -A app sink` writes ad-ledger and orders
    # as Parquet under LAKE_URL (a directory, or s3://bucket/prefix on any
    # S3-compatible store: LAKE_S3_*), as its own consumer group <APP_ID>-lake.
    # A partition's batch becomes files once it holds LAKE_ROTATE_RECORDS records
    # or its oldest is LAKE_ROTATE_SECONDS old (so a quiet partition still flushes).
    lake_url: str = Field(".data/lake", min_length=1)
    lake_s3_endpoint: str = ""
    lake_s3_region: str = "us-east-1"
    lake_s3_access_key: SecretStr = SecretStr("")
    lake_s3_secret_key: SecretStr = SecretStr("")
    lake_rotate_records: int = Field(100_000, ge=1, le=10_000_000)
    lake_rotate_seconds: float = Field(60.0, gt=0, le=86400)
    # The sink's Prometheus metrics on http://127.0.0.1:<port>/metrics (0: off).
    lake_metrics_port: int = Field(0, ge=0, le=65535)

    # Notifications (notify/, `faust -A app notify`, docs/notifications.md): the order events and
    # budget status changes POSTed to NOTIFY_URL by a group of their own, APP_ID-notify.
    notify_url: str = Field("http://127.0.0.1:8080/notifications", pattern=r"^https?://")
    # key: in offset order per key, keys in parallel; partition: in order per partition;
    # unordered: any order. Calls in flight (and records fetched, not done) at most, then
    # fetching pauses.
    notify_mode: str = Field("key", pattern=r"^(key|partition|unordered)$")
    notify_max_in_flight: int = Field(1000, ge=1, le=100_000)
    # Calls answered 5xx/408/429 or timed out, per record, before it is dead-lettered (an
    # unreachable receiver is retried without limit); backoff is exponential with full jitter.
    notify_max_attempts: int = Field(10, ge=1, le=1000)
    notify_timeout: float = Field(10.0, gt=0, le=300)
    notify_backoff_initial: float = Field(0.5, gt=0, le=60)
    notify_backoff_max: float = Field(30.0, gt=0, le=3600)
    # Seconds between offset commits: after a crash, calls completed since the last commit
    # are repeated (with the same Idempotency-Key), besides those in flight.
    notify_commit_interval: float = Field(0.5, gt=0, le=60)
    # The broker's offset.metadata.max.bytes (4096 by default): completed offsets above the
    # committed one ride in the commit's metadata when they fit.
    notify_metadata_max_bytes: int = Field(4096, ge=0, le=1024 * 1024)
    # Topics notified, comma-separated; empty: TOPIC_ORDER_EVENTS and TOPIC_AD_BUDGET_STATUS.
    notify_topics: str = ""
    topic_notify_dlq: str = "notifications.dlq"
    # Prometheus metrics of the notify process on this port (0: none).
    notify_metrics_port: int = Field(0, ge=0, le=65535)
    # `python -m notify`'s event loop: uvloop (the optional `uvloop` extra) makes each call cheaper.
    notify_event_loop: str = Field("asyncio", pattern=r"^(asyncio|uvloop)$")

    @field_validator("kafka_bootstrap_servers")
    @classmethod
    def _host_ports(cls, value: str) -> str:
        for server in value.split(","):
            host, _, port = server.strip().rpartition(":")
            if not host or not port.isdigit():
                raise ValueError(f"expected host:port[,host:port...], got {value!r}")
        return value

    @field_validator("http_auth_token")
    @classmethod
    def _header_safe(cls, value: SecretStr | None) -> SecretStr | None:
        # Said without the value: a bad token is still a secret.
        token = value.get_secret_value() if value is not None else None
        if token is not None and (
            len(token) < 16 or not token.isascii() or not token.isprintable() or " " in token
        ):
            raise ValueError("must be at least 16 printable ASCII characters without spaces")
        return value

    @property
    def http_auth_headers(self) -> dict[str, str]:
        """What a client of the HTTP API (another worker, the CLI) sends."""
        if self.http_auth_token is None:
            return {}
        return {"Authorization": f"Bearer {self.http_auth_token.get_secret_value()}"}

    @property
    def exactly_once(self) -> bool:
        return self.processing_guarantee is Guarantee.EXACTLY_ONCE

    @property
    def broker_urls(self) -> list[str]:
        return [f"kafka://{s.strip()}" for s in self.kafka_bootstrap_servers.split(",")]

    @property
    def static_member_id(self) -> str | None:
        if self.group_instance_id in ("", "none"):
            return None
        if self.group_instance_id == "auto":
            return f"{self.app_id}@{self.web_host}:{self.web_port}"
        return self.group_instance_id

    @property
    def canonical_url(self) -> str:
        return f"http://{self.web_host}:{self.web_port}"


# Never echoed in an error message.
_SECRETS = {name for name, field in Settings.model_fields.items() if "SecretStr" in str(field.annotation)}


def load_settings(**overrides: object) -> Settings:
    """Read the environment; raise ConfigError naming the variable on a bad value."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            name = "_".join(str(p) for p in err["loc"]).upper() or "?"
            got = "a hidden value" if name.lower() in _SECRETS else repr(err.get("input"))
            problems.append(f"{name}: {err['msg']} (got {got})")
        raise ConfigError("invalid configuration: " + "; ".join(problems)) from None

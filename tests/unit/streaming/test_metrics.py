"""streaming.metrics: the worker's series, with bounded labels (app built by tests/conftest.py)."""

from __future__ import annotations

import asyncio
import re

from prometheus_client import generate_latest

from app import app
from app.factory import create_app
from config.settings import Settings
from eos.runtime import runtime_of
from streaming.metrics import Metrics, MetricsMonitor, input_records
from web.live_hub import Hub

# Labels that may appear: each takes values from a bounded set (never an id).
BOUNDED = {"topic", "partition", "outcome", "reason", "handler", "table", "route", "method", "status", "le"}
BOUNDED |= {"version", "implementation", "major", "minor", "patchlevel", "generation"}  # Python's own


def exposition() -> str:
    return generate_latest(runtime_of(app).metrics.registry).decode()


def test_every_family_is_there_and_every_label_is_bounded() -> None:
    text = exposition()
    for name in ("commerce_ready", "commerce_input_records", "commerce_consumer_lag",
                 "commerce_commit_seconds", "commerce_commits_total", "commerce_end_to_end_seconds",
                 "commerce_batch_records",
                 "commerce_restore_active_remaining", "commerce_restore_standby_remaining",
                 "commerce_rebalances_total", "commerce_http_request_seconds", "python_gc_objects_collected",
                 "process_cpu_seconds_total"):  # fmt: skip
        assert f"# TYPE {name}" in text or f"\n{name}" in text, name
    labels = set(re.findall(r"[{,]([a-z_]+)=", text))
    assert labels <= BOUNDED, labels - BOUNDED


def test_a_commit_observes_its_latency_and_each_batchs_age_and_dead_letters() -> None:
    metrics = Metrics(app)
    metrics.committed(0.02, [(0.0, {("ad-clicks", "not_json"): 2}), (1.0, {})])
    text = generate_latest(metrics.registry).decode()
    assert "commerce_commits_total 1.0" in text
    assert 'commerce_dead_letters_by_reason_total{reason="not_json",topic="ad-clicks"} 2.0' in text
    assert "commerce_end_to_end_seconds_count 2.0" in text


def test_each_rebalance_is_counted_with_its_duration() -> None:
    metrics = Metrics(app)
    state = metrics.monitor.on_rebalance_start(app)
    state["commerce_started"] -= 1.5  # it began 1.5 s ago
    metrics.monitor.on_rebalance_end(app, state)
    text = generate_latest(metrics.registry).decode()
    assert "commerce_rebalances_total 1.0" in text
    assert re.search(r"commerce_last_rebalance_seconds 1\.5", text), text


def test_metrics_add_no_sensor_that_faust_calls_for_each_message(tmp_path) -> None:  # type: ignore[no-untyped-def]
    # Faust calls every sensor four times per message: the rebalance timing rides
    # on its own Monitor instead, so METRICS=true costs the drain nothing per record.
    apps = {on: create_app(Settings(metrics=on, store_dir=tmp_path / str(on))) for on in (True, False)}
    assert list(apps[True].sensors) == list(apps[False].sensors) == []
    assert isinstance(apps[True].monitor, MetricsMonitor)
    assert not isinstance(apps[False].monitor, MetricsMonitor)


def _series(rows: dict[str, dict[str, int]]) -> dict[tuple[str, ...], float]:
    return {tuple(sorted(s.labels.items())): s.value for s in input_records(rows).samples}


def test_input_series_never_drop_when_a_rebalance_moves_a_partition_away() -> None:
    """Prometheus reads a counter that drops as a reset (rate/increase count its whole
    value again): a worker's input series must not drop when it loses a partition."""
    p0 = {"processed": 90, "duplicates": 5, "dead_lettered": 5}
    p1 = {"processed": 40, "duplicates": 0, "dead_lettered": 2}
    before = _series({"orders/0": p0, "orders/1": p1})  # this worker owns partitions 0 and 1
    after = _series({"orders/1": {**p1, "processed": 41}})  # partition 0 moved to another worker
    dropped = {
        labels: (before[labels], value) for labels, value in after.items() if value < before.get(labels, 0)
    }
    assert not dropped, dropped
    assert sum(v for k, v in before.items()) == 90 + 5 + 5 + 40 + 2  # every outcome, once


def test_input_labels_are_topic_partition_and_outcome_only() -> None:
    series = _series({"orders/3": {"processed": 1, "duplicates": 0, "dead_lettered": 0}})
    assert {k for labels in series for k, _ in labels} == {"topic", "partition", "outcome"}
    assert len(series) == 3  # one per outcome


async def test_live_streams_and_their_buffered_values_are_gauges() -> None:
    def gauges() -> tuple[float, float]:
        text = exposition()
        values = [re.search(rf"^{n} (\S+)$", text, re.MULTILINE) for n in ("commerce_live_streams",
                  "commerce_live_buffered_events")]  # fmt: skip
        assert all(values), text
        return float(values[0].group(1)), float(values[1].group(1))  # type: ignore[union-attr]

    streams, buffered = gauges()
    hub = Hub(max_streams=5)
    stream = hub.open(b"a-1", buffer=4)
    assert stream is not None
    hub.publish(0, {b"a-1": b"{}", b"a-2": b"{}"}, object())
    await asyncio.sleep(0.01)  # the hand-over runs on the loop
    assert gauges() == (streams + 1, buffered + 1)
    hub.close(stream)
    assert gauges() == (streams, buffered)


def test_batches_and_dead_letters_resolve_their_labels_once_not_per_observation() -> None:
    metrics = Metrics(app)
    resolved: list[tuple] = []
    for family in (metrics.batch_seconds, metrics.batch_records, metrics.dead_letters):
        original = family.labels

        def counted(*labels, _original=original):  # type: ignore[no-untyped-def]
            resolved.append(labels)
            return _original(*labels)

        family.labels = counted  # type: ignore[method-assign]
    for _ in range(50):
        metrics.batch("budgets", 0.004, 500)
        metrics.committed(0.01, [(0.0, {("ad-clicks", "not_json"): 1})])
    assert len(resolved) == 3, resolved
    text = generate_latest(metrics.registry).decode()
    assert 'commerce_batch_records_count{handler="budgets"} 50.0' in text
    assert 'commerce_batch_records_sum{handler="budgets"} 25000.0' in text
    assert 'commerce_dead_letters_by_reason_total{reason="not_json",topic="ad-clicks"} 50.0' in text

"""bench.report: what results.json keeps of a drain."""

from __future__ import annotations

from types import SimpleNamespace

from bench.faust_run import Drain
from bench.report import drain_dict


def test_a_drain_keeps_its_progress_from_the_first_accounted_input() -> None:
    run = Drain(events=30, spawned=90.0, first=100.0, verified=103.0)
    run.samples = [(99.9, 0), (100.0, 10), (101.25, 20), (102.5, 30)]
    worker = SimpleNamespace(peak_rss_mb=lambda: 1.0, cpu_seconds=lambda: 2.0)
    out = drain_dict(run, worker)  # type: ignore[arg-type]
    assert out["progress"] == [(0.0, 10), (1.25, 20), (2.5, 30)]
    assert out["seconds"] == 3.0


def test_the_figures_name_the_broker_they_ran_on() -> None:
    from bench.report import lines

    out = lines({"config": {"partitions": "6"}, "kafka_version": "4.4.0", "clicks": {"error": "x"}})
    assert "broker Kafka 4.4.0" in out[-2]
    assert out[-1].startswith("workload=clicks eos=on kafka=4.4.0 ")

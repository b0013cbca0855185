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


def _pair(off_eps: float, on_eps: float, off_cpu: float, on_cpu: float) -> dict:
    return {
        "off": {"clicks_eps": off_eps, "clicks_cpu_us": off_cpu, "verified": True},
        "on": {"clicks_eps": on_eps, "clicks_cpu_us": on_cpu, "verified": True},
    }


def test_the_last_line_tracks_the_orders_ratio_and_the_median_metrics_cost_of_the_pairs() -> None:
    from bench.report import lines

    res = {
        "config": {"partitions": "6"},
        "clicks": {"eps": 90_000.0},
        "orders": {
            "eps": 61_000.0,
            "events": 200_000,
            "seconds": 3.3,
            "verified": True,
            "steady_eps": 1.0,
            "peak_rss_mb": 1.0,
        },  # fmt: skip
        "ceiling_orders": {"eps": 122_000.0},
    }
    # One noisy pair (on twice as fast) does not move the median of three.
    for i, pair in enumerate([_pair(100.0, 95.0, 20.0, 21.0), _pair(100.0, 200.0, 20.0, 10.0),
                              _pair(100.0, 90.0, 20.0, 25.0)]):  # fmt: skip
        res[f"metrics_off_{i}"], res[f"metrics_on_{i}"] = pair["off"], pair["on"]
    out = lines(res)
    assert out[-1].endswith(
        "metrics_ratio=0.950 metrics_cpu_ratio=0.952 orders_eps=61000 orders_ratio_ceiling=0.500"
    ), out[-1]
    assert any(line.startswith("metrics: 3 pairs") for line in out), out


def test_a_failed_metrics_drain_fails_the_bench() -> None:
    from bench.report import failed

    res = {"config": {"partitions": "6"}, "metrics_off_0": {"error": "TimeoutError: x"}}
    assert failed(res)

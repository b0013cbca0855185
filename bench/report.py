"""Results as plain dicts (saved as results.json) and the printed summary.

The summary's last line is the one to compare runs by:
``bench: workload=clicks eos=on events=N faust_eps=X ceiling_eps=Y quix_eps=Q ratio_ceiling=.. ratio_quix=..
... metrics_ratio=.. orders_eps=.. orders_ratio_ceiling=..``
"""

from __future__ import annotations

import math
import os

from bench.faust_run import Drain
from bench.latency import POLL, Latency
from bench.measure import fmt_ms, percentile
from bench.worker import Worker

NAN = math.nan


def drain_dict(run: Drain, worker: Worker) -> dict:
    return {
        "events": run.events,
        "eps": run.eps,
        "eps_from_start": run.eps_from_start,
        "steady_eps": run.steady_eps(),
        "seconds": run.verified - run.first,
        "startup_s": run.first - run.spawned,
        "verify_after_drain_s": run.verified - run.drained,
        "verified": not run.diffs,
        "keys": run.keys,
        "diffs": run.diffs[:20],
        "marks_s": {k: v - run.first for k, v in run.marks.items()},
        # /stats polls: (seconds since first progress, inputs accounted for), to see the ramp and the tail
        "progress": [(round(t - run.first, 3), n) for t, n in run.samples if t >= run.first],
        "peak_rss_mb": worker.peak_rss_mb(),
        "cpu_s": worker.cpu_seconds(),
    }


def latency_dict(lat: Latency, target: float, worker: Worker) -> dict:
    return {
        "rate": lat.rate,
        "target_rate": target,
        "seconds": lat.seconds,
        "e2e_p50": percentile(lat.e2e, 50),
        "e2e_p99": percentile(lat.e2e, 99),
        "e2e_samples": len(lat.e2e),
        "e2e_lost": lat.e2e_lost,
        "query_rate": lat.query_rate,
        "query_p50": percentile(lat.query, 50),
        "query_p99": percentile(lat.query, 99),
        "query_sent_p50": percentile(lat.query_from_send, 50),
        "query_sent_p99": percentile(lat.query_from_send, 99),
        "query_samples": len(lat.query),
        "query_client": lat.query_client,
        "query_errors": lat.query_errors,
        "backlog_at_end": lat.backlog,
        # kept up: at most two seconds of input waiting when the phase ended
        "sustained": {phase: backlog <= 2 * lat.rate for phase, backlog in lat.backlog.items()},
        "peak_rss_mb": worker.peak_rss_mb(),
    }


def _num(value: float | None, spec: str = ".0f") -> str:
    return "n/a" if value is None or value != value else format(value, spec)


def _ratio(a: float, b: float) -> str:
    return "n/a" if not (a == a and b == b and b) else f"{a / b:.3f}"


def lines(res: dict) -> list[str]:
    """The human summary, then the one-line figures (last)."""
    c, ce, q = res.get("clicks", {}), res.get("ceiling", {}), res.get("quix", {})
    events = c.get("events", 0)
    out = [
        f"clicks: {events} events (clicks + one top-up per advertiser), "
        f"{res['config']['partitions']} partitions, one process each, commit interval 1 s"
    ]
    if "error" not in c:
        out.append(
            f"  faust   {_num(c.get('eps')):>7} ev/s  {_num(c.get('seconds'), '.1f')} s first progress -> "
            f"verified; {_num(c.get('eps_from_start'))} ev/s from process start "
            f"(start-up {_num(c.get('startup_s'), '.1f')} s); steady {_num(c.get('steady_eps'))} ev/s; "
            f"verified={c.get('verified')}; peak RSS {_num(c.get('peak_rss_mb'))} MiB; "
            f"CPU {_num(c.get('cpu_s'), '.0f')} s"
        )
    for name, r in (("ceiling", ce), ("quix", q)):
        if r and "error" not in r:
            check = f"; verified={not r['diffs']}" if "diffs" in r else ""
            out.append(
                f"  {name:<7} {_num(r['eps']):>7} ev/s  {_num(r['end'] - r['first'], '.1f')} s "
                f"first fetch -> last commit; {_num(r['eps_from_start'])} ev/s from process start{check}; "
                f"peak RSS {_num(r['peak_rss_mb'])} MiB"
            )
    bare, again = res.get("clicks_metrics_off", {}), res.get("clicks_metrics_on_again", {})
    if bare and "error" not in bare:
        out.append(
            f"metrics: clicks drained {_num(c.get('eps', NAN))} events/s with METRICS on, "
            f"{_num(bare['eps'])} with METRICS=false (verified={bare['verified']}), then "
            f"{_num(again.get('eps', NAN))} with METRICS on again (verified={again.get('verified')}); "
            f"ratio on/off {metrics_ratio(res)} (the mean of the two on, against off)"
        )
    o, co = res.get("orders", {}), res.get("ceiling_orders", {})
    if o and "error" not in o:
        out.append(
            f"orders: {o['events']} orders; faust {_num(o['eps'])} orders/s "
            f"({_num(o['seconds'], '.1f')} s, verified={o['verified']}, steady {_num(o['steady_eps'])}/s, "
            f"peak RSS {_num(o['peak_rss_mb'])} MiB); ceiling {_num(co.get('eps'))} records/s; "
            f"ratio {_ratio(o['eps'], co.get('eps', NAN))}"
        )
    lat = res.get("latency", {})
    if lat and "error" not in lat:
        lowered = (
            ""
            if lat["rate"] == lat["target_rate"]
            else f" (not {lat['target_rate']:.0f}: the worker cannot sustain it)"
        )
        sent_p50, sent_p99 = (lat.get(f"query_sent_{p}", float("nan")) for p in ("p50", "p99"))
        out.append(
            f"latency at {lat['rate']:.0f} clicks/s{lowered}: produce -> visible over HTTP (polled every "
            f"{POLL * 1000:.0f} ms) "
            f"p50 {fmt_ms(lat['e2e_p50'])} ms p99 {fmt_ms(lat['e2e_p99'])} ms "
            f"({lat['e2e_samples']} probes, {lat['e2e_lost']} lost); GET /advertisers/{{id}}/budget at "
            f"{lat['query_rate']:.0f} req/s p50 {fmt_ms(lat['query_p50'])} ms "
            f"p99 {fmt_ms(lat['query_p99'])} ms from the scheduled time "
            f"(p50 {fmt_ms(sent_p50)} ms p99 {fmt_ms(sent_p99)} ms from the send) "
            f"(errors: {lat['query_errors'] or 'none'}; client {lat.get('query_client', '?')}); "
            f"kept up: {lat['sustained']} "
            f"(inputs waiting at phase ends: {lat['backlog_at_end']})"
        )
    for name in ("clicks", "clicks_metrics_off", "clicks_metrics_on_again", "ceiling", "quix", "orders",
                 "ceiling_orders", "latency"):  # fmt: skip
        if "error" in res.get(name, {}):
            out.append(f"{name}: FAILED: {res[name]['error']}")
    if "error" in res:
        out.append(f"FAILED: {res['error']}")
    load = res.get("loadavg", {})
    out.append(
        f"machine: {os.cpu_count()} cores, shared; broker Kafka {res.get('kafka_version', '?')}; "
        f"1-min load average {load.get('start', NAN):.2f} at the "
        f"start, {load.get('end', NAN):.2f} at the end (other processes compete for the same cores)"
    )
    fe, ye, qe = c.get("eps", NAN), ce.get("eps", NAN), q.get("eps", NAN)
    out.append(
        f"workload=clicks eos=on kafka={res.get('kafka_version', '?')} events={events} "
        f"faust_eps={_num(fe)} ceiling_eps={_num(ye)} "
        f"quix_eps={_num(qe)} ratio_ceiling={_ratio(fe, ye)} ratio_quix={_ratio(fe, qe)} "
        f"faust_eps_metrics_off={_num(res.get('clicks_metrics_off', {}).get('eps', NAN))} "
        f"metrics_ratio={metrics_ratio(res)} "
        f"orders_eps={_num(o.get('eps', NAN))} "
        f"orders_ratio_ceiling={_ratio(o.get('eps', NAN), co.get('eps', NAN))}"
    )
    return out


def metrics_ratio(res: dict) -> str:
    """Drains with metrics on (before and after) against the one with them off, between."""
    on = [res.get(k, {}).get("eps", NAN) for k in ("clicks", "clicks_metrics_on_again")]
    return _ratio(sum(on) / 2, res.get("clicks_metrics_off", {}).get("eps", NAN))


def failed(res: dict) -> bool:
    names = ("clicks", "clicks_metrics_off", "clicks_metrics_on_again", "ceiling", "quix", "orders")
    names += ("ceiling_orders", "latency")
    parts = [res.get(k, {}) for k in names]
    return "error" in res or any("error" in p or p.get("verified") is False or p.get("diffs") for p in parts)

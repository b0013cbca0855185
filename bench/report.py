"""Results as plain dicts (saved as results.json) and the printed summary.

The summary's last line is the one to compare runs by:
``bench: workload=clicks eos=on events=N faust_eps=X ceiling_eps=Y quix_eps=Q ratio_ceiling=.. ratio_quix=..
... metrics_ratio=.. metrics_cpu_ratio=.. orders_eps=.. orders_ratio_ceiling=..``
"""

from __future__ import annotations

import itertools
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
        "clicks_eps": run.clicks_eps,
        "clicks_cpu_us": run.clicks_cpu_s / run.clicks * 1e6 if run.clicks else NAN,
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
    pairs = metrics_pairs(res)
    if pairs:
        shown = "; ".join(
            f"{_num(off['clicks_eps'])} off / {_num(on['clicks_eps'])} on "
            f"({_num(off['clicks_cpu_us'], '.1f')} / {_num(on['clicks_cpu_us'], '.1f')} µs CPU per click)"
            for off, on in pairs
        )
        out.append(
            f"metrics: {len(pairs)} pairs of clicks drains, METRICS=false against on, in the order "
            f"off-on, on-off, ... (clicks/s from the gate's opening to the last click): {shown}; "
            f"median ratio on/off {metrics_ratio(res)} by rate, {metrics_cpu_ratio(res)} by CPU per click"
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
    for name in _parts(res):
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
        f"metrics_ratio={metrics_ratio(res)} metrics_cpu_ratio={metrics_cpu_ratio(res)} "
        f"orders_eps={_num(o.get('eps', NAN))} "
        f"orders_ratio_ceiling={_ratio(o.get('eps', NAN), co.get('eps', NAN))}"
    )
    return out


PARTS = ("clicks", "ceiling", "quix", "orders", "ceiling_orders", "latency")


def metrics_pairs(res: dict) -> list[tuple[dict, dict]]:
    """(off, on) drains of each pair that both finished, in run order."""
    out = []
    for i in itertools.count():
        off, on = res.get(f"metrics_off_{i}"), res.get(f"metrics_on_{i}")
        if off is None or on is None:
            break
        if "error" not in off and "error" not in on:
            out.append((off, on))
    return out


def _median(values: list[float]) -> float:
    values = sorted(v for v in values if v == v)
    if not values:
        return NAN
    mid = len(values) // 2
    return values[mid] if len(values) % 2 else (values[mid - 1] + values[mid]) / 2


def _median_ratio(ratios: list[float]) -> str:
    value = _median(ratios)
    return "n/a" if value != value else f"{value:.3f}"


def metrics_ratio(res: dict) -> str:
    """The median, over the pairs, of the clicks rate with metrics on against off: a pair's two
    drains run back to back, so the machine's drift (shared cores) mostly cancels within it."""
    return _median_ratio(
        [on["clicks_eps"] / off["clicks_eps"] for off, on in metrics_pairs(res) if off["clicks_eps"]]
    )


def metrics_cpu_ratio(res: dict) -> str:
    """The same by the worker's CPU seconds per click (off over on: below 1 when metrics cost)."""
    pairs = metrics_pairs(res)
    return _median_ratio(
        [off["clicks_cpu_us"] / on["clicks_cpu_us"] for off, on in pairs if on["clicks_cpu_us"]]
    )


def _parts(res: dict) -> tuple[str, ...]:
    """Every part of a run by name: the fixed ones and the metrics pairs' drains."""
    return PARTS + tuple(k for k in res if k.startswith("metrics_"))


def failed(res: dict) -> bool:
    parts = [res.get(k, {}) for k in _parts(res)]
    return "error" in res or any("error" in p or p.get("verified") is False or p.get("diffs") for p in parts)

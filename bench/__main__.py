"""``python -m bench`` (``make bench``): start a broker, run every part, print the figures.

The last line printed is ``bench: workload=clicks eos=on events=N faust_eps=X ...``.
Exit status 1 if a part failed or a result differed from its oracle.
"""

from __future__ import annotations

import atexit
import os
import shutil
import sys
import tempfile

# This process imports the app's modules (cli.compare, cli.produce), which build the
# Faust app from the environment: it never runs as a worker (no table opens); keep its
# state directory out of .data/.
_DRIVER_STATE = tempfile.mkdtemp(prefix="bench-driver-")
atexit.register(shutil.rmtree, _DRIVER_STATE, True)
os.environ.update(PROCESSING_GUARANTEE="at_least_once", APP_ID="bench-driver", STORE_DIR=_DRIVER_STATE)
os.environ.setdefault("TQDM_DISABLE", "1")

import asyncio  # noqa: E402
import json  # noqa: E402
import logging  # noqa: E402
import time  # noqa: E402
import traceback  # noqa: E402

from bench.config import parse  # noqa: E402


def main() -> int:
    cfg = parse()
    logging.basicConfig(level=logging.WARNING, format="%(name)s: %(levelname)s %(message)s")
    logging.getLogger("aiokafka").setLevel(logging.ERROR)  # retries on a new topic's first send
    root = (cfg.dir / time.strftime("%Y%m%d-%H%M%S")).resolve()
    root.mkdir(parents=True, exist_ok=True)
    from bench import report
    from bench.broker import broker
    from bench.run import run, say

    say(
        f"run directory {root}; sizes: clicks={cfg.clicks} advertisers={cfg.advertisers} "
        f"orders={cfg.orders} (BENCH_CLICKS / BENCH_ADVERTISERS / BENCH_ORDERS, or --help)"
    )
    started, load_start = time.monotonic(), os.getloadavg()[0]
    res: dict = {"config": {k: str(v) for k, v in vars(cfg).items()}}
    try:
        with broker(root / "kafka") as cluster:
            res["kafka_version"] = cluster.version  # the figures name the broker they ran on
            say(f"broker up at {cluster.bootstrap_servers} (Kafka {cluster.version}, 1 node)")
            res.update(asyncio.run(run(cfg, cluster.bootstrap_servers, root)))
    except Exception as exc:  # noqa: BLE001 - shown, and the figures line still ends the output
        traceback.print_exc()
        res["error"] = f"{type(exc).__name__}: {exc}"
    finally:
        if not cfg.keep:
            for sub in root.iterdir():
                if sub.is_dir():  # broker data, worker and Quix state; logs of workers go too
                    keep_logs(sub, root)
                    shutil.rmtree(sub, ignore_errors=True)
    res["total_wall_s"] = time.monotonic() - started
    res["loadavg"] = {"start": load_start, "end": os.getloadavg()[0]}
    (root / "results.json").write_text(json.dumps(res, indent=1, default=str))
    say(f"done in {res['total_wall_s']:.0f}s; details in {root / 'results.json'}")
    for line in report.lines(res):
        say(line)
    return 1 if report.failed(res) else 0


def keep_logs(sub, root) -> None:  # type: ignore[no-untyped-def]
    for log in sub.glob("*.log"):
        shutil.copy(log, root / f"{sub.name}.log")


if __name__ == "__main__":
    sys.exit(main())

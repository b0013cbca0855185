"""``python -m infra.connect fetch|start|stop|status`` -- a local Kafka Connect worker with Debezium.

python -m infra.connect start --bootstrap 127.0.0.1:9092 --port 8083   # prints the REST URL
python -m infra.connect stop
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from infra.kafka.jars import REPO_ROOT, KafkaError

from .jars import fetch
from .worker import ConnectWorker

DEFAULT_DATA_DIR = REPO_ROOT / ".data" / "connect"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m infra.connect",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("cmd", choices=("fetch", "start", "stop", "status"))
    parser.add_argument("--bootstrap", default="127.0.0.1:9092")
    parser.add_argument("--port", type=int, default=8083, help="REST port (0: a free one)")
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
    ns = parser.parse_args(argv)
    try:
        if ns.cmd == "fetch":
            print(fetch())
        elif ns.cmd == "start":
            state = ns.data_dir / "connect.json"
            worker = (
                ConnectWorker.from_dir(ns.data_dir)
                if state.exists()
                else ConnectWorker(ns.data_dir, ns.bootstrap, ns.port or None)
            )
            worker.start()
            print(worker.url)
        elif not (ns.data_dir / "connect.json").exists():
            print(f"no Connect worker in {ns.data_dir}", file=sys.stderr)
            return 0 if ns.cmd == "stop" else 1
        elif ns.cmd == "stop":
            ConnectWorker.from_dir(ns.data_dir).stop()
        else:
            worker = ConnectWorker.from_dir(ns.data_dir)
            state = f"alive pid {worker.pid()}" if worker.alive() else "down"
            print(f"connect: {worker.url} {state}")
            return 0 if worker.alive() else 1
    except KafkaError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""``python -m infra.postgres start|stop|status|psql`` -- a local PostgreSQL without Docker.

python -m infra.postgres start --port 5433   # prints the DSN once it accepts connections
python -m infra.postgres psql "SELECT count(*) FROM outbox"
python -m infra.postgres stop
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .cluster import DEFAULT_DATA_DIR, PostgresCluster, PostgresError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m infra.postgres",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("cmd", choices=("start", "stop", "status", "psql"))
    parser.add_argument("sql", nargs="?", default="SELECT 1")
    parser.add_argument("--port", type=int, default=0, help="0: a free port (start only)")
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
    ns = parser.parse_args(argv)
    try:
        if ns.cmd == "start":
            try:
                cluster = PostgresCluster.from_dir(ns.data_dir)
            except PostgresError:
                cluster = PostgresCluster(ns.data_dir, port=ns.port or None)
            cluster.start()
            print(cluster.dsn())
            return 0
        if not (ns.data_dir / "cluster.json").exists():
            print(f"no PostgreSQL cluster in {ns.data_dir}", file=sys.stderr)
            return 0 if ns.cmd == "stop" else 1
        cluster = PostgresCluster.from_dir(ns.data_dir)
        if ns.cmd == "stop":
            cluster.stop()
        elif ns.cmd == "status":
            state = f"alive pid {cluster.pid()}" if cluster.alive() else "down"
            print(f"postgres: {cluster.host}:{cluster.port} {state}")
            return 0 if cluster.alive() else 1
        else:
            print(cluster.psql(ns.sql), end="")
    except PostgresError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""``python -m infra.kafka fetch|start|stop|status|tool`` -- a local Kafka without Docker.

    python -m infra.kafka start --brokers 3          # prints bootstrap servers once ready
    python -m infra.kafka start --security sasl_ssl  # SASL_SSL + ACLs; the app's user granted APP_ID's
    python -m infra.kafka tool topics --list         # --bootstrap-server added from cluster.json
    python -m infra.kafka tool console-consumer --topic t --from-beginning \\
        --isolation-level read_committed
    python -m infra.kafka stop
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

from .jars import DEFAULT_DATA_DIR, KafkaError, fetch, uses_log4j2
from .launcher import KafkaCluster
from .security import APP, SASL_SSL
from .tools import TOOLS, tool_command


def _data_dir_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=DEFAULT_DATA_DIR,
        help=f"cluster directory (default: {DEFAULT_DATA_DIR})",
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m infra.kafka",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="cmd", required=True)
    sub.add_parser("fetch", help="resolve the Kafka jars with Maven (no-op when done)")
    start = sub.add_parser("start", help="start a detached cluster and wait until it is ready")
    start.add_argument("--brokers", type=int, choices=(1, 3), default=1)
    start.add_argument(
        "--port", type=int, default=9092, help="client port of node 1, others follow (0: any free ports)"
    )
    start.add_argument("--timeout", type=float, default=90)
    start.add_argument(
        "--security",
        choices=("none", SASL_SSL),
        default="none",
        help="sasl_ssl: SCRAM-SHA-512 over TLS (a throwaway CA), ACLs on; the app's user "
        "is granted APP_ID's topics, group and transactional ids (settings from the environment)",
    )
    _data_dir_arg(start)
    stop = sub.add_parser("stop", help="stop the cluster (SIGTERM, then SIGKILL)")
    stop.add_argument("--timeout", type=float, default=30)
    _data_dir_arg(stop)
    _data_dir_arg(sub.add_parser("status", help="exit 0 if every node is alive"))
    tool = sub.add_parser("tool", help="run a Kafka CLI tool against the cluster")
    _data_dir_arg(tool)
    tool.add_argument("name", choices=sorted(TOOLS))
    tool.add_argument("args", nargs=argparse.REMAINDER, help="passed through to the tool")
    return parser


def _pop_data_dir(args: list[str]) -> tuple[list[str], Path | None]:
    # Kafka tools have no --data-dir, so accept ours anywhere after the tool name too.
    out, data_dir, it = [], None, iter(args)
    for arg in it:
        if arg == "--data-dir":
            data_dir = Path(next(it))
        elif arg.startswith("--data-dir="):
            data_dir = Path(arg.split("=", 1)[1])
        else:
            out.append(arg)
    return out, data_dir


# How 3.x console tools take a client configuration file (4.x: --command-config, as all).
_CONFIG_FLAG_3X = {"console-consumer": "--consumer.config", "console-producer": "--producer.config"}


def _client_config(name: str, cluster: KafkaCluster) -> list[str]:
    """A secured cluster's admin credentials, for every tool."""
    if cluster.security is None:
        return []
    flag = (
        "--command-config" if uses_log4j2(cluster.version) else _CONFIG_FLAG_3X.get(name, "--command-config")
    )
    return [flag, str(cluster.security.tool_config())]


def _tool(name: str, args: list[str], data_dir: Path) -> int:
    args, override = _pop_data_dir(args)
    data_dir = override or data_dir
    bootstrap: str | None = None
    if name != "storage" and (data_dir / "cluster.json").exists():
        args = [*args, *_client_config(name, KafkaCluster.from_dir(data_dir))]
    if name != "storage" and not any(a.startswith("--bootstrap-server") for a in args):
        if (data_dir / "cluster.json").exists():
            bootstrap = KafkaCluster.from_dir(data_dir).bootstrap_servers
        elif os.environ.get("KAFKA_BOOTSTRAP_SERVERS"):
            bootstrap = os.environ["KAFKA_BOOTSTRAP_SERVERS"]
        else:
            raise KafkaError(
                f"no cluster.json in {data_dir} and no KAFKA_BOOTSTRAP_SERVERS; pass --bootstrap-server"
            )
    try:
        return subprocess.call(tool_command(name, *args, bootstrap=bootstrap))
    except KeyboardInterrupt:  # Ctrl-C ends a console consumer: not an error
        return 130


def _grant_configured_app(cluster: KafkaCluster) -> None:
    from config.settings import load_settings

    settings = load_settings()
    topics = [
        str(v) for k, v in settings.model_dump().items() if k.startswith("topic_") and isinstance(v, str)
    ]
    cluster.grant_app(settings.app_id, topics)
    assert cluster.security is not None
    env = cluster.security.write_env_file()
    print(
        f"granted user {APP!r} the topics, group and transactional ids of APP_ID={settings.app_id!r}; "
        f"its settings: source {env} (CA: {cluster.security.ca_file})",
        file=sys.stderr,
    )


def main(argv: list[str] | None = None) -> int:
    ns = _parser().parse_args(argv)
    try:
        if ns.cmd == "fetch":
            print(fetch())
        elif ns.cmd == "start":
            fetch()
            security = None if ns.security == "none" else ns.security
            cluster = KafkaCluster(ns.data_dir, brokers=ns.brokers, port=ns.port or None, security=security)
            print(f"starting {ns.brokers} broker(s) in {cluster.data_dir} ...", file=sys.stderr)
            cluster.start(timeout=ns.timeout)
            if cluster.security:
                _grant_configured_app(cluster)
            print(cluster.bootstrap_servers)
        elif ns.cmd == "stop":
            if not (ns.data_dir / "cluster.json").exists():
                print(f"no cluster in {ns.data_dir}", file=sys.stderr)
                return 0
            KafkaCluster.from_dir(ns.data_dir).stop(timeout=ns.timeout)
        elif ns.cmd == "status":
            cluster = KafkaCluster.from_dir(ns.data_dir)
            nodes = cluster.status()
            for n in nodes:
                state = f"alive pid {n.pid}" if n.alive else "down"
                print(f"node {n.node_id}: {cluster.host}:{n.port} (controller {n.controller_port}) {state}")
            return 0 if nodes and all(n.alive for n in nodes) else 1
        elif ns.cmd == "tool":
            return _tool(ns.name, ns.args, ns.data_dir)
    except KafkaError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

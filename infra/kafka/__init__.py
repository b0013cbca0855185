"""Local Apache Kafka (KRaft) for development and tests, run straight from Maven jars.

    from infra.kafka import KafkaCluster, fetch, run_tool
    fetch()                                   # once: resolve jars with Maven
    with KafkaCluster(tmp_dir, brokers=3) as cluster:
        run_tool("topics", "--list", bootstrap=cluster.bootstrap_servers)

CLI: ``python -m infra.kafka --help``; pytest fixtures: ``infra.kafka.pytest_plugin``.
"""

from .jars import DEFAULT_DATA_DIR, FetchError, KafkaError, fetch, kafka_version, libs_ready
from .launcher import KafkaCluster
from .nodes import KafkaStartError, NodeStatus
from .tools import TOOLS, ToolError, console_consume, popen_tool, run_tool, tool_command

__all__ = [
    "DEFAULT_DATA_DIR",
    "TOOLS",
    "FetchError",
    "KafkaCluster",
    "KafkaError",
    "KafkaStartError",
    "NodeStatus",
    "ToolError",
    "console_consume",
    "fetch",
    "kafka_version",
    "libs_ready",
    "popen_tool",
    "run_tool",
    "tool_command",
]

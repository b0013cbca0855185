"""One KRaft node: its config, storage format, JVM and logs."""

from __future__ import annotations

import base64
import subprocess
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from .jars import KafkaError, java_command, uses_log4j2
from .procs import error_lines, pid_alive, tail
from .security import Security
from .tools import tool_command

SERVER_LOG4J = """\
log4j.rootLogger=INFO, file
log4j.appender.file=org.apache.log4j.RollingFileAppender
log4j.appender.file.File=${kafka.logs.dir}/server.log
log4j.appender.file.MaxFileSize=50MB
log4j.appender.file.MaxBackupIndex=2
log4j.appender.file.layout=org.apache.log4j.PatternLayout
log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka.request.logger=WARN
log4j.logger.state.change.logger=WARN
log4j.logger.kafka.authorizer.logger=WARN
"""
# The same for Kafka 4.x, which logs through log4j2.
SERVER_LOG4J2 = """\
appender.file.type = RollingFile
appender.file.name = file
appender.file.fileName = ${sys:kafka.logs.dir}/server.log
appender.file.filePattern = ${sys:kafka.logs.dir}/server.log.%i
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
appender.file.policies.type = Policies
appender.file.policies.size.type = SizeBasedTriggeringPolicy
appender.file.policies.size.size = 50MB
appender.file.strategy.type = DefaultRolloverStrategy
appender.file.strategy.max = 2
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = file
logger.request.name = kafka.request.logger
logger.request.level = WARN
logger.state.name = state.change.logger
logger.state.level = WARN
logger.authorizer.name = kafka.authorizer.logger
logger.authorizer.level = WARN
"""


def server_log_config(version: str) -> tuple[str, str]:
    """(file name, text) of the broker's logging configuration for ``version``."""
    if uses_log4j2(version):
        return "log4j2.properties", SERVER_LOG4J2
    return "log4j.properties", SERVER_LOG4J


class KafkaStartError(KafkaError):
    pass


@dataclass
class Node:
    node_id: int
    port: int
    controller_port: int
    dir: Path
    pid: int | None = None
    proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def properties(self) -> Path:
        return self.dir / "server.properties"

    def alive(self) -> bool:
        if self.proc is not None and self.proc.pid == self.pid:
            return self.proc.poll() is None  # also reaps our own dead children
        return pid_alive(self.pid, str(self.properties))


@dataclass(frozen=True)
class NodeStatus:
    node_id: int
    pid: int | None
    port: int
    controller_port: int
    alive: bool


def new_cluster_id() -> str:
    while True:  # Kafka's own rule: an id starting with '-' confuses CLI parsing
        cid = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cid.startswith("-"):
            return cid


def server_properties(node: Node, nodes: list[Node], host: str, security: Security | None = None) -> str:
    """One combined broker+controller; replication settings sized to the cluster.
    With ``security``: a SASL_SSL client listener and ACLs (infra.kafka.security)."""
    n, h = len(nodes), host
    voters = ",".join(f"{x.node_id}@{h}:{x.controller_port}" for x in nodes)
    min_isr = 1 if n == 1 else 2
    props = {
        "process.roles": "broker,controller",
        "node.id": node.node_id,
        "controller.quorum.voters": voters,
        "listeners": f"PLAINTEXT://{h}:{node.port},CONTROLLER://{h}:{node.controller_port}",
        "advertised.listeners": f"PLAINTEXT://{h}:{node.port}",
        "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
        "inter.broker.listener.name": "PLAINTEXT",
        "controller.listener.names": "CONTROLLER",
        "log.dirs": node.dir / "data",
        "num.partitions": 1,
        "default.replication.factor": n,
        "min.insync.replicas": min_isr,
        "offsets.topic.replication.factor": n,
        "offsets.topic.num.partitions": 12,
        "transaction.state.log.replication.factor": n,
        "transaction.state.log.min.isr": min_isr,
        "transaction.state.log.num.partitions": 6,
        "group.initial.rebalance.delay.ms": 0,
        "auto.create.topics.enable": "false",
        # Fewer threads than the defaults: it's a test box with 2 cores.
        "num.network.threads": 2,
        "num.io.threads": 4,
    }
    if security is not None:
        props.update(security.server_properties(h, node.port, node.controller_port))
    return "".join(f"{k}={v}\n" for k, v in props.items())


def format_storage(nodes: list[Node], cluster_id: str, version: str, extra: list[str] | None = None) -> None:
    """``kafka-storage format`` for all nodes at once (one JVM each, run in parallel)."""
    procs = [
        subprocess.Popen(
            tool_command(
                "storage",
                "format",
                "-t",
                cluster_id,
                "-c",
                str(node.properties),
                "--ignore-formatted",
                *(extra or []),
                bootstrap=None,
                version=version,
            ),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for node in nodes
    ]
    for node, proc in zip(nodes, procs, strict=True):
        out, _ = proc.communicate(timeout=120)
        if proc.returncode != 0:
            raise KafkaStartError(f"formatting node {node.node_id} failed (exit {proc.returncode}):\n{out}")


def spawn(node: Node, log4j: Path, *, heap: str, detach: bool, version: str) -> None:
    """Start the node's broker JVM; its stdout/stderr (JVM crashes) go to console.log."""
    cmd = java_command(
        "kafka.Kafka",
        str(node.properties),
        heap=heap,
        log4j=log4j,
        jvm_opts=(
            "-Xms128m",
            "-XX:MaxGCPauseMillis=20",
            "-XX:+ExitOnOutOfMemoryError",
            f"-Dkafka.logs.dir={node.dir}",
        ),
        version=version,
    )
    with (node.dir / "console.log").open("ab") as console:
        node.proc = subprocess.Popen(
            cmd,
            cwd=node.dir,
            stdin=subprocess.DEVNULL,
            stdout=console,
            stderr=subprocess.STDOUT,
            start_new_session=detach,
        )
    node.pid = node.proc.pid


def log_report(nodes: list[Node], lines: int = 40) -> str:
    parts = []
    for n in nodes:
        errors = error_lines(n.dir / "server.log")
        if errors:
            parts.append(f"--- node {n.node_id} first errors ---\n" + "\n".join(errors))
        for name in ("server.log", "console.log"):
            parts.append(f"--- node {n.node_id} {n.dir / name} ---\n{tail(n.dir / name, lines)}")
    return "\n".join(parts)

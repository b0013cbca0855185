"""A local KRaft Kafka cluster (1 or 3 combined broker+controller JVMs), no ZooKeeper, no Docker."""

from __future__ import annotations

import json
import signal
import time
from functools import partial
from pathlib import Path
from types import TracebackType

from . import readiness
from .jars import KafkaError, fetch, kafka_version
from .nodes import (
    KafkaStartError,
    Node,
    NodeStatus,
    format_storage,
    log_report,
    new_cluster_id,
    server_log_config,
    server_properties,
    spawn,
)
from .procs import first_line_with, free_ports, signal_pid
from .security import ADMIN, APP, SASL_SSL, Security, app_acl_commands
from .tools import run_tool


class KafkaCluster:
    """``brokers`` KRaft nodes under ``data_dir``; ``port`` is node 1's client port.

    Nodes are numbered 1..brokers (= node.id, dir ``node-N``). JVMs run in their
    own session by default, so a CLI ``start`` can exit and leave them running;
    ``cluster.json`` lets another process ``stop``/``status`` them.
    """

    def __init__(
        self,
        data_dir: Path | str,
        brokers: int = 1,
        port: int | None = None,
        host: str = "127.0.0.1",
        *,
        heap: str = "512m",
        detach: bool = True,
        version: str | None = None,
        security: str | None = None,
    ) -> None:
        if brokers not in (1, 3):
            raise ValueError("brokers must be 1 or 3")
        if security not in (None, SASL_SSL):
            raise ValueError(f"security must be None or {SASL_SSL!r}")
        self.data_dir = Path(data_dir).resolve()
        self.brokers = brokers
        self.port = port
        self.host = host
        self.heap = heap
        self.detach = detach
        self.version = version or kafka_version()
        # SASL_SSL + ACLs (infra.kafka.security); None: one PLAINTEXT listener, no authorizer.
        self.security = Security(self.data_dir / "security") if security else None
        self.cluster_id: str | None = None
        self.nodes: list[Node] = []

    # -- persisted state -------------------------------------------------------------
    @property
    def state_file(self) -> Path:
        return self.data_dir / "cluster.json"

    @property
    def _log4j(self) -> Path:
        return self.data_dir / server_log_config(self.version)[0]

    @classmethod
    def from_dir(cls, data_dir: Path | str) -> KafkaCluster:
        """The cluster a (possibly other) process started under ``data_dir``."""
        path = Path(data_dir).resolve() / "cluster.json"
        try:
            state = json.loads(path.read_text())
        except FileNotFoundError:
            raise KafkaError(f"no cluster in {path.parent} (no cluster.json)") from None
        cluster = cls(
            path.parent,
            state["brokers"],
            host=state["host"],
            version=state.get("version"),
            security=state.get("security"),
        )
        cluster.cluster_id = state["cluster_id"]
        cluster.nodes = [
            Node(n["node_id"], n["port"], n["controller_port"], Path(n["dir"]), n["pid"])
            for n in state["nodes"]
        ]
        cluster.port = cluster.nodes[0].port
        return cluster

    def _save(self) -> None:
        nodes = [
            {
                "node_id": n.node_id,
                "port": n.port,
                "controller_port": n.controller_port,
                "dir": str(n.dir),
                "pid": n.pid,
            }
            for n in self.nodes
        ]
        state = {
            "cluster_id": self.cluster_id,
            "brokers": self.brokers,
            "version": self.version,
            "security": SASL_SSL if self.security else None,
            "host": self.host,
            "bootstrap_servers": self.bootstrap_servers,
            "nodes": nodes,
        }
        tmp = self.state_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(state, indent=2) + "\n")
        tmp.replace(self.state_file)

    # -- public API --------------------------------------------------------------------
    @property
    def bootstrap_servers(self) -> str:
        return ",".join(f"{self.host}:{n.port}" for n in self.nodes)

    def client_kwargs(self, user: str = ADMIN) -> dict[str, object]:
        """aiokafka connection arguments (the admin's unless ``user``); {} when not secured."""
        return self.security.client_kwargs(user) if self.security else {}

    def client_env(self, user: str = APP) -> dict[str, str]:
        """The app's settings to connect as ``user`` ({} when not secured)."""
        return self.security.client_env(user) if self.security else {}

    def tool_args(self, user: str = ADMIN) -> list[str]:
        """``--command-config`` for Kafka's admin tools, when secured."""
        return ["--command-config", str(self.security.tool_config(user))] if self.security else []

    def grant_app(self, app_id: str, topics: list[str], user: str = APP) -> None:
        """ACLs for the app ``app_id`` as ``user``: its topics, group and transactional ids."""
        if self.security is None:
            raise KafkaError("this cluster has no authorizer (start it with security='sasl_ssl')")
        for args in app_acl_commands(user, app_id, topics):
            run_tool("acls", *args, *self.tool_args(), bootstrap=self.bootstrap_servers, version=self.version)

    def status(self) -> list[NodeStatus]:
        return [NodeStatus(n.node_id, n.pid, n.port, n.controller_port, n.alive()) for n in self.nodes]

    def node_pids(self) -> dict[int, int | None]:
        """node id -> pid of its running JVM (None when not running)."""
        return {n.node_id: n.pid if n.alive() else None for n in self.nodes}

    def start(self, timeout: float = 90) -> KafkaCluster:
        """Format and start all nodes; return once clients (incl. transactions) work."""
        fetch(version=self.version)
        self._prepare()
        deadline = time.monotonic() + timeout
        try:
            scram = self.security.scram_format_args() if self.security else []
            format_storage(self.nodes, str(self.cluster_id), self.version, scram)
            for node in self.nodes:
                spawn(node, self._log4j, heap=self.heap, detach=self.detach, version=self.version)
            self._save()
            self._wait(self._cluster_probe, deadline, "cluster", self.nodes)
        except BaseException:
            self.stop(timeout=5)  # leave no JVM behind, even on Ctrl-C
            raise
        return self

    def stop(self, timeout: float = 30) -> None:
        """SIGTERM every JVM, SIGKILL what is left after ``timeout``; idempotent."""
        running = [n for n in self.nodes if n.alive()]
        for node in running:
            signal_pid(node.pid, signal.SIGCONT)  # type: ignore[arg-type]  # a paused JVM can't exit
            signal_pid(node.pid, signal.SIGTERM)  # type: ignore[arg-type]
        self._wait_dead(running, timeout)
        survivors = [n for n in running if n.alive()]
        for node in survivors:
            signal_pid(node.pid, signal.SIGKILL)  # type: ignore[arg-type]
        self._wait_dead(survivors, 10)
        left = [n.pid for n in survivors if n.alive()]
        if left:
            raise KafkaError(f"broker JVMs still alive after SIGKILL: {left}")
        for node in self.nodes:
            node.pid, node.proc = None, None
        if self.nodes and self.state_file.parent.is_dir():
            self._save()

    def kill_node(self, node_id: int, sig: int = signal.SIGKILL, *, wait: bool = True) -> None:
        """Send ``sig`` to one node (e.g. SIGKILL, SIGTERM, SIGSTOP/SIGCONT for a pause)."""
        node = self._node(node_id)
        if not node.alive():
            raise KafkaError(f"node {node_id} is not running")
        signal_pid(node.pid, sig)  # type: ignore[arg-type]
        if wait and sig in (signal.SIGKILL, signal.SIGTERM, signal.SIGINT):
            self._wait_dead([node], 60)
            if node.alive():
                raise KafkaError(f"node {node_id} survived signal {sig}")
            node.pid, node.proc = None, None
            self._save()

    def restart_node(self, node_id: int, timeout: float = 60, *, wait: bool = True) -> None:
        """Start a stopped node again with its old config and data."""
        node = self._node(node_id)
        if node.alive():
            raise KafkaError(f"node {node_id} is still running (pid {node.pid})")
        spawn(node, self._log4j, heap=self.heap, detach=self.detach, version=self.version)
        self._save()
        if wait:
            probe = partial(
                readiness.node_ready,
                self.host,
                node.port,
                node_id,
                str(self.cluster_id),
                **self.client_kwargs(),
            )
            self._wait(probe, time.monotonic() + timeout, f"node {node_id}", [node])

    def wait_ready(self, timeout: float = 60) -> None:
        live = [n for n in self.nodes if n.pid is not None]
        self._wait(self._cluster_probe, time.monotonic() + timeout, "cluster", live)

    def log_tails(self, lines: int = 40) -> str:
        """Per node: the first errors of server.log, then the tails of server.log/console.log."""
        return log_report(self.nodes, lines)

    def __enter__(self) -> KafkaCluster:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # -- internals ---------------------------------------------------------------------
    async def _cluster_probe(self) -> None:
        # Nodes a chaos test killed on purpose are neither expected nor asked.
        live = [n for n in self.nodes if n.pid is not None]
        bootstrap = ",".join(f"{self.host}:{n.port}" for n in live)
        ports = {n.node_id: n.port for n in live}
        await readiness.cluster_ready(bootstrap, str(self.cluster_id), ports, **self.client_kwargs())

    def _node(self, node_id: int) -> Node:
        for node in self.nodes:
            if node.node_id == node_id:
                return node
        raise KeyError(f"no node {node_id}; nodes are {[n.node_id for n in self.nodes]}")

    def _prepare(self) -> None:
        if self.state_file.exists():
            old = KafkaCluster.from_dir(self.data_dir)
            if any(n.alive() for n in old.nodes):
                raise KafkaError(
                    f"a cluster is already running in {self.data_dir}: "
                    f"{old.bootstrap_servers} pids {old.node_pids()}"
                )
            if old.brokers != self.brokers:
                raise KafkaError(
                    f"{self.data_dir} holds a {old.brokers}-broker cluster; use another data dir or delete it"
                )
            self.cluster_id = old.cluster_id  # formatted logs only accept their own id
        self.cluster_id = self.cluster_id or new_cluster_id()
        n = self.brokers
        ports = [self.port + i for i in range(n)] if self.port else free_ports(n, self.host)
        controller_ports = free_ports(n, self.host)
        while set(controller_ports) & set(ports):
            controller_ports = free_ports(n, self.host)
        self.nodes = [
            Node(i + 1, ports[i], controller_ports[i], self.data_dir / f"node-{i + 1}") for i in range(n)
        ]
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._log4j.write_text(server_log_config(self.version)[1])
        if self.security:
            self.security.prepare(self.host)
        for node in self.nodes:
            node.dir.mkdir(exist_ok=True)
            node.properties.write_text(server_properties(node, self.nodes, self.host, self.security))

    def _wait(self, probe: readiness.Probe, deadline: float, what: str, nodes: list[Node]) -> None:
        """Retry ``probe`` until it passes; fail at once if one of ``nodes`` dies meanwhile."""
        last: BaseException | None = None
        while True:
            dead = [n for n in nodes if not n.alive()]
            if dead:
                codes = {n.node_id: n.proc.returncode if n.proc else "?" for n in dead}
                bind = [first_line_with(n.dir / "server.log", "failed to bind") for n in dead]
                hint = "".join(f"\n{line}" for line in bind if line)
                raise KafkaStartError(
                    f"broker JVM exited while waiting for {what}; "
                    f"exit codes by node: {codes}{hint}\n{self.log_tails()}"
                )
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise KafkaStartError(
                    f"{what} not ready in time ({self.bootstrap_servers}); "
                    f"last probe error: {last!r}\n{self.log_tails()}"
                )
            try:
                readiness.run_probe(probe, min(remaining, 15))
                return
            except Exception as exc:  # noqa: BLE001 - any failure just means "not yet"
                last = exc
            time.sleep(0.5)

    @staticmethod
    def _wait_dead(nodes: list[Node], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while any(n.alive() for n in nodes) and time.monotonic() < deadline:
            time.sleep(0.1)

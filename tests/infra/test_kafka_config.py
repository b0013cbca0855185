"""server.properties for 1 and 3 nodes (unit: nothing is started)."""

from __future__ import annotations

from pathlib import Path

from infra.kafka.nodes import Node, new_cluster_id, server_properties
from infra.kafka.tools import TOOLS, tool_command


def _props(text: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in text.splitlines())


def test_three_node_quorum_and_replication(tmp_path: Path) -> None:
    nodes = [Node(i, 30000 + i, 31000 + i, tmp_path / f"node-{i}") for i in (1, 2, 3)]
    props = _props(server_properties(nodes[1], nodes, "127.0.0.1"))
    assert props["process.roles"] == "broker,controller"
    assert props["node.id"] == "2"
    assert props["controller.quorum.voters"] == ("1@127.0.0.1:31001,2@127.0.0.1:31002,3@127.0.0.1:31003")
    assert props["advertised.listeners"] == "PLAINTEXT://127.0.0.1:30002"
    for key in (
        "offsets.topic.replication.factor",
        "transaction.state.log.replication.factor",
        "default.replication.factor",
    ):
        assert props[key] == "3"
    assert props["transaction.state.log.min.isr"] == props["min.insync.replicas"] == "2"
    assert props["auto.create.topics.enable"] == "false"
    assert props["log.dirs"].startswith(str(tmp_path / "node-2"))


def test_single_node_replication(tmp_path: Path) -> None:
    node = Node(1, 30001, 31001, tmp_path / "node-1")
    props = _props(server_properties(node, [node], "127.0.0.1"))
    assert props["offsets.topic.replication.factor"] == "1"
    assert props["transaction.state.log.min.isr"] == props["min.insync.replicas"] == "1"


def test_cluster_id_shape() -> None:
    for _ in range(200):
        cid = new_cluster_id()
        assert len(cid) == 22 and not cid.startswith("-")


def test_tool_command_adds_bootstrap_once() -> None:
    cmd = tool_command("topics", "--list", bootstrap="h:1")
    assert cmd[-4:] == [TOOLS["topics"], "--bootstrap-server", "h:1", "--list"]
    cmd = tool_command("topics", "--bootstrap-server", "x:2", "--list", bootstrap="h:1")
    assert "h:1" not in cmd

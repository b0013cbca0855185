"""A 3-node KRaft quorum serves a replication-factor-3 topic with full ISR."""

from __future__ import annotations

import re
import signal
from pathlib import Path

import pytest

from infra.kafka import KafkaCluster, run_tool
from infra.kafka.procs import find_pids, pid_alive

pytestmark = pytest.mark.integration


def _partitions(describe: str) -> list[dict[str, str]]:
    rows = []
    for line in describe.splitlines():
        if "Partition:" in line:
            rows.append(dict(re.findall(r"(\w+): ([^\t]*)", line.strip())))
    return rows


def test_three_brokers_replicate(tmp_path: Path) -> None:
    cluster = KafkaCluster(tmp_path / "kafka3", brokers=3)
    pids: dict[int, int | None] = {}
    try:
        cluster.start(timeout=120)
        pids = cluster.node_pids()
        assert len(cluster.bootstrap_servers.split(",")) == 3
        assert all(pids.values())
        bootstrap = cluster.bootstrap_servers
        run_tool(
            "topics",
            "--create",
            "--topic",
            "rf3",
            "--partitions",
            "3",
            "--replication-factor",
            "3",
            bootstrap=bootstrap,
        )
        rows = _partitions(run_tool("topics", "--describe", "--topic", "rf3", bootstrap=bootstrap).stdout)
        assert len(rows) == 3
        for row in rows:
            assert sorted(row["Replicas"].split(",")) == ["1", "2", "3"], row
            assert sorted(row["Isr"].split(",")) == ["1", "2", "3"], row

        # The chaos-test helpers: a node dies hard and comes back on its old data.
        cluster.kill_node(3, signal.SIGKILL)
        assert cluster.node_pids()[3] is None
        assert not pid_alive(pids[3])
        cluster.restart_node(3)
        assert cluster.node_pids()[3] not in (None, pids[3])
        pids = cluster.node_pids()
    finally:
        cluster.stop()
    assert not any(pid_alive(pid) for pid in pids.values())
    assert find_pids(str(tmp_path)) == []
    assert all(not s.alive for s in cluster.status())

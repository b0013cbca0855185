"""A broker that cannot start fails fast, says why, and leaves no JVM behind."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from infra.kafka import KafkaCluster, KafkaStartError
from infra.kafka.procs import find_pids

pytestmark = pytest.mark.integration


def test_occupied_port_fails_with_log_tail(tmp_path: Path) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        cluster = KafkaCluster(tmp_path / "kafka", port=port)
        with pytest.raises(KafkaStartError) as err:
            cluster.start(timeout=900)
    # The JVM's early exit is noticed at once, not after the readiness timeout
    # (told by the message, not by a clock: a loaded machine starts a JVM slowly).
    message = str(err.value)
    assert "broker JVM exited while waiting" in message and "not ready in time" not in message
    assert "Address already in use" in message
    assert "server.log ---" in message and "Exiting Kafka" in message
    assert cluster.node_pids() == {1: None}
    assert find_pids(str(tmp_path)) == []

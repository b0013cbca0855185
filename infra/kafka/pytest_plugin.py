"""Pytest fixtures for a real Kafka: ``pytest_plugins = ["infra.kafka.pytest_plugin"]``.

``KAFKA_BOOTSTRAP_SERVERS`` set: tests use that cluster and nothing is started.
Otherwise one 1-broker cluster on free ports is started for the whole session.
``secured_kafka``: a SASL_SSL broker with ACLs, always started by the session.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from .jars import fetch
from .launcher import KafkaCluster
from .security import SASL_SSL


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "integration: needs a real Kafka broker (started on demand)")


@pytest.fixture(scope="session")
def kafka_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KafkaCluster | None]:
    """The session's KafkaCluster, or None when an external one is configured."""
    if os.environ.get("KAFKA_BOOTSTRAP_SERVERS"):
        yield None
        return
    fetch()
    # detach=False: the JVM shares pytest's process group, so Ctrl-C reaches it too.
    cluster = KafkaCluster(tmp_path_factory.mktemp("kafka"), brokers=1, detach=False)
    cluster.start()  # cleans up after itself if it fails
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="session")
def secured_kafka(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KafkaCluster]:
    """A second broker for the test run, started on first use: SASL_SSL (SCRAM-SHA-512),
    ACLs on (infra.kafka.security); its users' credentials through ``client_env``."""
    fetch()
    cluster = KafkaCluster(tmp_path_factory.mktemp("kafka-sasl"), brokers=1, detach=False, security=SASL_SSL)
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="session")
def kafka_bootstrap(kafka_cluster: KafkaCluster | None) -> str:
    """Bootstrap servers ("host:port,...") of the Kafka the tests should use."""
    if kafka_cluster is None:
        return os.environ["KAFKA_BOOTSTRAP_SERVERS"]
    return kafka_cluster.bootstrap_servers

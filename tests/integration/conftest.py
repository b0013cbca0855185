from __future__ import annotations

import pytest

from tests.integration.harness import Deployment, Worker


@pytest.fixture
def deployment(kafka_bootstrap: str, tmp_path) -> Deployment:  # type: ignore[no-untyped-def]
    return Deployment(bootstrap=kafka_bootstrap, root=tmp_path)


@pytest.fixture
def workers(deployment: Deployment):  # type: ignore[no-untyped-def]
    """Factory: workers(n) starts n workers of the test's deployment; all stopped after."""
    started: list[Worker] = []

    def start(n: int = 1, **env: str) -> list[Worker]:
        new = [Worker(deployment, len(started) + i, **env).start() for i in range(n)]
        started.extend(new)
        return new

    yield start
    for w in started:
        w.stop()

"""The lake's sink as a real subprocess (`faust -A app sink`), for tests and the chaos run."""

from __future__ import annotations

from infra.process import Service
from infra.workers import FAUST, Deployment


class SinkProcess(Service):
    name = "sink"

    def __init__(self, deployment: Deployment, lake_url: str, **env: str) -> None:
        self.dir = deployment.root / "sink"
        self.dir.mkdir(parents=True, exist_ok=True)
        super().__init__(
            [FAUST, "-A", "app", "sink"], deployment.env(LAKE_URL=lake_url, **env), self.dir / "sink.log"
        )

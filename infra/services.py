"""The order service as a real subprocess (`python -m shop`), for tests, chaos and benches."""

from __future__ import annotations

import sys

from infra.process import Service
from infra.workers import Deployment, free_port


class ShopProcess(Service):
    """``python -m shop`` for ``deployment`` (its topics), on ``dsn``, watching ``connector``."""

    name = "order service"

    def __init__(
        self, deployment: Deployment, dsn: str, connect_url: str, connector: str, **env: str
    ) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = deployment.env(
            SHOP_DATABASE_URL=dsn,
            SHOP_PORT=str(self.port),
            SHOP_CONNECT_URL=connect_url,
            SHOP_CONNECTOR=connector,
            **env,
        )
        super().__init__([sys.executable, "-m", "shop"], env, deployment.root / f"shop-{self.port}.log")

    async def wait_ready(self, timeout: float = 60) -> None:
        await self.wait_200(f"{self.url}/readyz", timeout, "ready")

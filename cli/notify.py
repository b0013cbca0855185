"""``faust -A app notify``: deliver order events and budget status changes to NOTIFY_URL.

Its own consumer group (``APP_ID-notify``), run beside the workers; ``python -m notify`` is the
same service without building the Faust app (docs/notifications.md).
"""

from __future__ import annotations

from typing import Any

from notify.service import serve


def register(app: Any) -> None:
    app.command()(notify)


async def notify(self) -> None:  # type: ignore[no-untyped-def]
    """Notify an HTTP endpoint of every order event and budget status change, ordered per key."""
    await serve(self.app.settings)

"""``python -m notify``: the same service as ``faust -A app notify``, without building the Faust app."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from config import Settings, load_settings
from notify.service import serve


def loop_factory(settings: Settings) -> Callable[[], asyncio.AbstractEventLoop] | None:
    if settings.notify_event_loop != "uvloop":
        return None
    try:
        import uvloop  # optional: loaded only when asked for
    except ImportError:
        needs = "NOTIFY_EVENT_LOOP=uvloop needs uvloop: pip install 'commerce-streams[uvloop]'"
        raise SystemExit(needs) from None
    return uvloop.new_event_loop  # type: ignore[no-any-return]


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    settings = load_settings()
    with asyncio.Runner(loop_factory=loop_factory(settings)) as runner:
        runner.run(serve(settings))


if __name__ == "__main__":
    main()

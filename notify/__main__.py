"""``python -m notify``: the same service as ``faust -A app notify``, without building the Faust app."""

from __future__ import annotations

import asyncio
import logging

from config import load_settings
from notify.service import serve


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    asyncio.run(serve(load_settings()))


if __name__ == "__main__":
    main()

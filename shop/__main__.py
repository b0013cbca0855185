"""``python -m shop`` serves the order service; ``python -m shop connector`` registers its outbox
connector with the Connect worker at SHOP_CONNECT_URL (settings from the environment)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys

from aiohttp import web

from config.settings import ConfigError, load_settings


def _register(settings) -> int:  # type: ignore[no-untyped-def]
    import asyncpg

    from infra.connect.connector import connector_config, register, wait_running
    from infra.connect.worker import ConnectError, ConnectRest
    from shop import schema

    async def migrate() -> None:
        conn = await asyncpg.connect(settings.shop_database_url.get_secret_value())
        try:
            await schema.apply(conn)  # the publication Debezium creates needs the table
        finally:
            await conn.close()

    asyncio.run(migrate())
    worker = ConnectRest(settings.shop_connect_url)
    name = settings.shop_connector
    try:
        register(
            worker,
            name,
            connector_config(
                settings.shop_database_url.get_secret_value(),
                name,
                settings.topic_partitions,
                settings.topic_replication_factor,
            ),
        )
        wait_running(worker, name)
    except ConnectError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"connector {name} RUNNING on {settings.shop_connect_url}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m shop", description=__doc__)
    parser.add_argument("cmd", nargs="?", choices=("serve", "connector"), default="serve")
    # Set by the supervisor (shop/processes.py) for each of its SHOP_PROCESSES children.
    parser.add_argument("--child", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--parent", type=int, default=None, help=argparse.SUPPRESS)
    ns = parser.parse_args(argv)
    try:
        settings = load_settings()
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if ns.cmd == "connector":
        return _register(settings)
    from shop import processes

    count = settings.shop_processes or os.cpu_count() or 2
    if ns.child is None and count > 1:
        return processes.supervise(count)
    if ns.parent is not None:
        processes.die_with_parent(ns.parent)
    logging.basicConfig(level=logging.INFO, format="[%(asctime)s] %(levelname)s %(name)s: %(message)s")
    from shop.service import create_shop

    web.run_app(
        create_shop(settings, monitor=not ns.child),
        host=settings.shop_host,
        port=settings.shop_port,
        reuse_port=ns.child is not None,
        access_log=None,
        print=lambda *_: None,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

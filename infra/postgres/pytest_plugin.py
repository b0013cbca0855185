"""One PostgreSQL cluster for the whole test session: ``postgres`` (a PostgresCluster, free port).

Its directory is made under /tmp, not pytest's (root-only) temp dir: as root the server runs as
the ``postgres`` user, which must reach it.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from .cluster import PostgresCluster


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresCluster]:
    root = Path(tempfile.mkdtemp(prefix="pytest-postgres-"))
    cluster = PostgresCluster(root)
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.stop(mode="immediate")
        shutil.rmtree(root, ignore_errors=True)

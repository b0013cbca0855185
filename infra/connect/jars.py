"""The Connect worker's jars: connect-runtime, connect-json and Debezium's PostgreSQL connector.

Pinned in one place, this package's pom.xml (Connect at the broker's default Kafka version).
Resolved once into .cache/connect/libs.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from infra.kafka.jars import REPO_ROOT, FetchError, copy_dependencies

POM = Path(__file__).resolve().with_name("pom.xml")
LIBS_DIR = REPO_ROOT / ".cache" / "connect" / "libs"
_MARKER = ".complete"


def libs_ready(libs_dir: Path = LIBS_DIR) -> bool:
    marker = libs_dir / _MARKER
    return marker.is_file() and marker.read_text() == POM.read_text()


def fetch(libs_dir: Path = LIBS_DIR) -> Path:
    """Resolve the jars with Maven; a no-op while the pom is unchanged since the last fetch."""
    if libs_ready(libs_dir):
        return libs_dir
    if libs_dir.exists():
        shutil.rmtree(libs_dir)  # a changed pom: no stale version left on the classpath
    libs_dir.mkdir(parents=True)
    copy_dependencies(POM, libs_dir)
    if not any(libs_dir.glob("debezium-connector-postgres-*.jar")):
        raise FetchError(f"mvn succeeded but the Debezium connector is not in {libs_dir}")
    (libs_dir / _MARKER).write_text(POM.read_text())
    return libs_dir

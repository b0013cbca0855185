"""Where the Kafka jars live, how to get them, and how to run a JVM on them.

The broker version is pinned in one place only: ``kafka.version`` in pom.xml.
"""

from __future__ import annotations

import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

from domain.errors import StreamsError

REPO_ROOT = Path(__file__).resolve().parents[2]
POM = Path(__file__).resolve().with_name("pom.xml")
CACHE_DIR = REPO_ROOT / ".cache" / "kafka"
LIBS_DIR = CACHE_DIR / "libs"
DEFAULT_DATA_DIR = REPO_ROOT / ".data" / "kafka"

_MAVEN_NS = {"m": "http://maven.apache.org/POM/4.0.0"}

# WARN to stderr: tool output on stdout stays parseable.
TOOLS_LOG4J = """\
log4j.rootLogger=WARN, stderr
log4j.appender.stderr=org.apache.log4j.ConsoleAppender
log4j.appender.stderr.Target=System.err
log4j.appender.stderr.layout=org.apache.log4j.PatternLayout
log4j.appender.stderr.layout.ConversionPattern=[%d] %p %m (%c)%n
"""


class KafkaError(StreamsError, RuntimeError):
    """Base class for everything this package raises on purpose."""


class FetchError(KafkaError):
    pass


def kafka_version(pom: Path = POM) -> str:
    node = ET.parse(pom).getroot().find("m:properties/m:kafka.version", _MAVEN_NS)
    if node is None or not (node.text or "").strip():
        raise FetchError(f"{pom} has no <properties><kafka.version>")
    return node.text.strip()


def _marker(libs_dir: Path, version: str) -> Path:
    return libs_dir / f".complete-{version}"


def libs_ready(libs_dir: Path = LIBS_DIR, pom: Path = POM) -> bool:
    version = kafka_version(pom)
    return _marker(libs_dir, version).is_file() and (libs_dir / f"kafka_2.13-{version}.jar").is_file()


def fetch(libs_dir: Path = LIBS_DIR, pom: Path = POM, *, force: bool = False) -> Path:
    """Resolve the broker and tool jars into ``libs_dir`` with Maven; no-op once done."""
    version = kafka_version(pom)
    if not force and libs_ready(libs_dir, pom):
        return libs_dir
    mvn = shutil.which("mvn")
    if mvn is None:
        raise FetchError("mvn not found on PATH; install Maven (e.g. apt-get install maven)")
    libs_dir.mkdir(parents=True, exist_ok=True)
    # Another version's jars on the same wildcard classpath would clash; removing
    # (not overwriting) them is safe even for a broker that still has them open.
    stale = [m for m in libs_dir.glob(".complete-*") if m.name != _marker(libs_dir, version).name]
    if stale:
        for path in [*libs_dir.glob("*.jar"), *stale]:
            path.unlink()
    cmd = [
        mvn,
        "-q",
        "-B",
        "-f",
        str(pom),
        "dependency:copy-dependencies",
        f"-DoutputDirectory={libs_dir}",
        "-DincludeScope=runtime",
    ]
    proc = subprocess.run(cmd, cwd=REPO_ROOT, capture_output=True, text=True)
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).splitlines()[-40:])
        raise FetchError(f"mvn failed (exit {proc.returncode}): {' '.join(cmd)}\n{tail}")
    if not (libs_dir / f"kafka_2.13-{version}.jar").is_file():
        raise FetchError(f"mvn succeeded but kafka_2.13-{version}.jar is not in {libs_dir}")
    _marker(libs_dir, version).write_text(" ".join(cmd) + "\n")
    return libs_dir


def tools_log4j(cache_dir: Path = CACHE_DIR) -> Path:
    path = cache_dir / "tools-log4j.properties"
    if not path.is_file() or path.read_text() != TOOLS_LOG4J:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(TOOLS_LOG4J)
    return path


def java_command(
    main_class: str,
    *args: str,
    heap: str = "256m",
    log4j: Path | None = None,
    jvm_opts: tuple[str, ...] = (),
    libs_dir: Path = LIBS_DIR,
) -> list[str]:
    java = shutil.which("java")
    if java is None:
        raise KafkaError("java not found on PATH; Kafka needs a JDK/JRE 17")
    log4j = log4j or tools_log4j()
    return [
        java,
        f"-Xmx{heap}",
        "-XX:+UseG1GC",
        "-Djava.awt.headless=true",
        f"-Dlog4j.configuration=file:{log4j}",
        *jvm_opts,
        "-cp",
        str(libs_dir / "*"),
        main_class,
        *args,
    ]

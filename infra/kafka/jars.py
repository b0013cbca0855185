"""Where the Kafka jars live, how to get them, and how to run a JVM on them.

Broker versions are pinned in one place only: pom.xml, one ``kafka-<version>``
profile each; the ``activeByDefault`` one is the default and ``KAFKA_VERSION``
picks another pinned one. Each version's jars go to their own directory, so
several versions can be cached side by side.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

from domain.errors import StreamsError

REPO_ROOT = Path(__file__).resolve().parents[2]
POM = Path(__file__).resolve().with_name("pom.xml")
CACHE_DIR = REPO_ROOT / ".cache" / "kafka"
DEFAULT_DATA_DIR = REPO_ROOT / ".data" / "kafka"
VERSION_ENV = "KAFKA_VERSION"

_MAVEN_NS = {"m": "http://maven.apache.org/POM/4.0.0"}
_PROFILE_PREFIX = "kafka-"

# WARN to stderr: tool output on stdout stays parseable. Kafka 3.x logs through
# log4j 1 (reload4j), Kafka 4.x through log4j2: each reads its own format.
TOOLS_LOG4J = """\
log4j.rootLogger=WARN, stderr
log4j.appender.stderr=org.apache.log4j.ConsoleAppender
log4j.appender.stderr.Target=System.err
log4j.appender.stderr.layout=org.apache.log4j.PatternLayout
log4j.appender.stderr.layout.ConversionPattern=[%d] %p %m (%c)%n
"""
TOOLS_LOG4J2 = """\
appender.stderr.type = Console
appender.stderr.name = stderr
appender.stderr.target = SYSTEM_ERR
appender.stderr.layout.type = PatternLayout
appender.stderr.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = WARN
rootLogger.appenderRef.stderr.ref = stderr
"""


class KafkaError(StreamsError, RuntimeError):
    """Base class for everything this package raises on purpose."""


class FetchError(KafkaError):
    pass


def pinned_versions(pom: Path = POM) -> tuple[str, list[str]]:
    """(the default version, every pinned version) from the pom's kafka-<version> profiles."""
    default, versions = None, []
    for profile in ET.parse(pom).getroot().iterfind("m:profiles/m:profile", _MAVEN_NS):
        pid = (profile.findtext("m:id", "", _MAVEN_NS) or "").strip()
        pinned = (profile.findtext("m:properties/m:kafka.version", "", _MAVEN_NS) or "").strip()
        if not pid.startswith(_PROFILE_PREFIX) or pid != f"{_PROFILE_PREFIX}{pinned}":
            raise FetchError(f"{pom}: profile {pid!r} must be named {_PROFILE_PREFIX}<its kafka.version>")
        versions.append(pinned)
        if profile.findtext("m:activation/m:activeByDefault", "", _MAVEN_NS).strip() == "true":
            default = pinned
    if default is None:
        raise FetchError(f"{pom} has no activeByDefault kafka-<version> profile")
    return default, versions


def kafka_version(pom: Path = POM) -> str:
    """The version to run: KAFKA_VERSION if set (one of the pinned), else the pom's default."""
    default, versions = pinned_versions(pom)
    wanted = os.environ.get(VERSION_ENV, "").strip()
    if not wanted:
        return default
    if wanted not in versions:
        raise FetchError(
            f"{VERSION_ENV}={wanted!r} is not pinned in {pom.name}; pinned: {', '.join(versions)}"
        )
    return wanted


def uses_log4j2(version: str) -> bool:
    """Kafka 4.0 moved from log4j 1 to log4j2."""
    return int(version.split(".", 1)[0]) >= 4


def libs_dir_for(version: str, cache_dir: Path = CACHE_DIR) -> Path:
    return cache_dir / version / "libs"


def _marker(libs_dir: Path, version: str) -> Path:
    return libs_dir / f".complete-{version}"


def libs_ready(libs_dir: Path | None = None, pom: Path = POM, *, version: str | None = None) -> bool:
    version = version or kafka_version(pom)
    libs_dir = libs_dir or libs_dir_for(version)
    return _marker(libs_dir, version).is_file() and (libs_dir / f"kafka_2.13-{version}.jar").is_file()


def fetch(
    libs_dir: Path | None = None, pom: Path = POM, *, force: bool = False, version: str | None = None
) -> Path:
    """Resolve the jars of ``version`` (default ``kafka_version()``) with Maven; no-op once done."""
    version = version or kafka_version(pom)
    libs_dir = libs_dir or libs_dir_for(version)
    if not force and libs_ready(libs_dir, pom, version=version):
        return libs_dir
    libs_dir.mkdir(parents=True, exist_ok=True)
    cmd = copy_dependencies(pom, libs_dir, f"-P{_PROFILE_PREFIX}{version}")
    if not (libs_dir / f"kafka_2.13-{version}.jar").is_file():
        raise FetchError(f"mvn succeeded but kafka_2.13-{version}.jar is not in {libs_dir}")
    _marker(libs_dir, version).write_text(" ".join(cmd) + "\n")
    return libs_dir


def copy_dependencies(pom: Path, libs_dir: Path, *options: str) -> list[str]:
    """Maven copies ``pom``'s runtime dependencies into ``libs_dir``; returns the command run."""
    mvn = shutil.which("mvn")
    if mvn is None:
        raise FetchError("mvn not found on PATH; install Maven (e.g. apt-get install maven)")
    cmd = [mvn, "-q", "-B", "-f", str(pom), *options, "dependency:copy-dependencies",
           f"-DoutputDirectory={libs_dir}", "-DincludeScope=runtime"]  # fmt: skip
    proc = subprocess.run(cmd, cwd=REPO_ROOT, capture_output=True, text=True)
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).splitlines()[-40:])
        raise FetchError(f"mvn failed (exit {proc.returncode}): {' '.join(cmd)}\n{tail}")
    return cmd


def tools_log4j(version: str, cache_dir: Path = CACHE_DIR) -> Path:
    name, text = (
        ("tools-log4j2.properties", TOOLS_LOG4J2)
        if uses_log4j2(version)
        else ("tools-log4j.properties", TOOLS_LOG4J)
    )
    path = cache_dir / name
    if not path.is_file() or path.read_text() != text:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return path


def log_config_flag(version: str, path: Path) -> str:
    """The JVM flag that points ``version``'s logging backend at ``path``."""
    if uses_log4j2(version):
        return f"-Dlog4j2.configurationFile={path}"
    return f"-Dlog4j.configuration=file:{path}"


def java_command(
    main_class: str,
    *args: str,
    heap: str = "256m",
    log4j: Path | None = None,
    jvm_opts: tuple[str, ...] = (),
    version: str | None = None,
) -> list[str]:
    java = shutil.which("java")
    if java is None:
        raise KafkaError("java not found on PATH; Kafka needs a JDK/JRE 17")
    version = version or kafka_version()
    log4j = log4j or tools_log4j(version)
    return [
        java,
        f"-Xmx{heap}",
        "-XX:+UseG1GC",
        "-Djava.awt.headless=true",
        log_config_flag(version, log4j),
        *jvm_opts,
        "-cp",
        str(libs_dir_for(version) / "*"),
        main_class,
        *args,
    ]

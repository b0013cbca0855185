"""fetch(): Maven runs once per version, never again once the marker is there."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from infra.kafka import jars
from infra.kafka.jars import (
    POM,
    FetchError,
    fetch,
    java_command,
    kafka_version,
    libs_dir_for,
    libs_ready,
    pinned_versions,
)
from infra.kafka.nodes import server_log_config
from infra.kafka.tools import tool_command


class FakeMvn:
    """Stands in for subprocess.run; "resolves" by dropping a fake broker jar."""

    def __init__(self, returncode: int = 0) -> None:
        self.calls: list[list[str]] = []
        self.returncode = returncode

    def __call__(self, cmd: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
        self.calls.append(cmd)
        if self.returncode == 0:
            out = next(a for a in cmd if a.startswith("-DoutputDirectory=")).split("=", 1)[1]
            (Path(out) / f"kafka_2.13-{kafka_version()}.jar").write_bytes(b"jar")
            return subprocess.CompletedProcess(cmd, 0, "", "")
        return subprocess.CompletedProcess(cmd, self.returncode, "", "[ERROR] no network\n")


@pytest.fixture(autouse=True)
def default_version(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KAFKA_VERSION", raising=False)


@pytest.fixture
def mvn(monkeypatch: pytest.MonkeyPatch) -> FakeMvn:
    fake = FakeMvn()
    monkeypatch.setattr(jars.subprocess, "run", fake)
    monkeypatch.setattr(jars.shutil, "which", lambda name: f"/usr/bin/{name}")
    return fake


def test_version_comes_from_the_pom() -> None:
    assert pinned_versions(POM) == ("4.4.0", ["4.4.0", "3.9.1"])
    assert kafka_version(POM) == "4.4.0"


def test_kafka_version_picks_another_pinned_version(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAFKA_VERSION", "3.9.1")
    assert kafka_version(POM) == "3.9.1"
    monkeypatch.setenv("KAFKA_VERSION", "3.8.0")
    with pytest.raises(FetchError, match=r"KAFKA_VERSION='3.8.0' is not pinned.*4.4.0, 3.9.1"):
        kafka_version(POM)


def test_each_version_runs_with_its_own_logging_and_tools() -> None:
    new = java_command("kafka.Kafka", version="4.4.0")
    old = java_command("kafka.Kafka", version="3.9.1")
    assert any(a.startswith("-Dlog4j2.configurationFile=") for a in new)
    assert any(a.startswith("-Dlog4j.configuration=file:") for a in old)
    assert new[new.index("-cp") + 1] == str(libs_dir_for("4.4.0") / "*")
    assert old[old.index("-cp") + 1] == str(libs_dir_for("3.9.1") / "*")
    assert server_log_config("4.4.0")[0] == "log4j2.properties"
    assert "appender.file.fileName = ${sys:kafka.logs.dir}/server.log" in server_log_config("4.4.0")[1]
    assert server_log_config("3.9.1")[0] == "log4j.properties"
    assert "org.apache.kafka.tools.ConfigCommand" in tool_command("configs", bootstrap=None, version="4.4.0")
    assert "kafka.admin.ConfigCommand" in tool_command("configs", bootstrap=None, version="3.9.1")


def test_second_fetch_does_not_run_maven(tmp_path: Path, mvn: FakeMvn) -> None:
    libs = tmp_path / "libs"
    assert not libs_ready(libs)
    assert fetch(libs) == libs
    assert len(mvn.calls) == 1
    cmd = mvn.calls[0]
    assert "dependency:copy-dependencies" in cmd and "-DincludeScope=runtime" in cmd
    assert (libs / f".complete-{kafka_version()}").is_file()

    fetch(libs)
    fetch(libs)
    assert len(mvn.calls) == 1


def test_marker_without_jars_fetches_again(tmp_path: Path, mvn: FakeMvn) -> None:
    libs = tmp_path / "libs"
    fetch(libs)
    (libs / f"kafka_2.13-{kafka_version()}.jar").unlink()
    fetch(libs)
    assert len(mvn.calls) == 2


def test_versions_are_cached_side_by_side(
    tmp_path: Path, mvn: FakeMvn, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(jars, "CACHE_DIR", tmp_path)
    monkeypatch.setattr(jars, "libs_dir_for", lambda v: tmp_path / v / "libs")
    new = fetch()
    monkeypatch.setenv("KAFKA_VERSION", "3.9.1")
    old = fetch()
    assert (new, old) == (tmp_path / "4.4.0" / "libs", tmp_path / "3.9.1" / "libs")
    assert [c[c.index("-f") + 2] for c in mvn.calls] == ["-Pkafka-4.4.0", "-Pkafka-3.9.1"]
    assert libs_ready(old)
    monkeypatch.delenv("KAFKA_VERSION")
    assert libs_ready(new)
    fetch()
    assert len(mvn.calls) == 2


def test_maven_failure_is_a_clear_error(tmp_path: Path, mvn: FakeMvn) -> None:
    mvn.returncode = 1
    with pytest.raises(FetchError, match=r"(?s)mvn failed.*no network"):
        fetch(tmp_path / "libs")
    assert not libs_ready(tmp_path / "libs")

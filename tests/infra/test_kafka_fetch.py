"""fetch(): Maven runs once per version, never again once the marker is there."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from infra.kafka import jars
from infra.kafka.jars import POM, FetchError, fetch, kafka_version, libs_ready


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


@pytest.fixture
def mvn(monkeypatch: pytest.MonkeyPatch) -> FakeMvn:
    fake = FakeMvn()
    monkeypatch.setattr(jars.subprocess, "run", fake)
    monkeypatch.setattr(jars.shutil, "which", lambda name: f"/usr/bin/{name}")
    return fake


def test_version_comes_from_the_pom() -> None:
    assert kafka_version(POM) == "3.9.1"


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


def test_version_bump_drops_old_jars(tmp_path: Path, mvn: FakeMvn) -> None:
    libs = tmp_path / "libs"
    libs.mkdir()
    (libs / ".complete-3.8.0").write_text("")
    (libs / "kafka-clients-3.8.0.jar").write_bytes(b"old")
    fetch(libs)
    assert not (libs / "kafka-clients-3.8.0.jar").exists()
    assert not (libs / ".complete-3.8.0").exists()
    assert libs_ready(libs)


def test_maven_failure_is_a_clear_error(tmp_path: Path, mvn: FakeMvn) -> None:
    mvn.returncode = 1
    with pytest.raises(FetchError, match=r"(?s)mvn failed.*no network"):
        fetch(tmp_path / "libs")
    assert not libs_ready(tmp_path / "libs")

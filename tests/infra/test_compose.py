"""docker-compose.yml and Dockerfile say what they must (no Docker engine needed)."""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def services() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]


def _env(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment", {})
    if isinstance(env, list):  # "KEY=value" form is equally valid compose
        env = dict(item.split("=", 1) for item in env)
    return {k: str(v) for k, v in env.items()}


def _dockerfile() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    pairs = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            instr, _, args = line.partition(" ")
            pairs.append((instr.upper(), args.strip()))
    return pairs


def test_kafka_is_apache_image_in_kraft_mode(services: dict[str, Any]) -> None:
    kafka = services["kafka"]
    assert kafka["image"].startswith("apache/kafka:")
    env = _env(kafka)
    assert set(env["KAFKA_PROCESS_ROLES"].split(",")) == {"broker", "controller"}
    assert env["KAFKA_CONTROLLER_QUORUM_VOTERS"].startswith(f"{env['KAFKA_NODE_ID']}@")
    assert "PLAINTEXT://kafka:9092" in env["KAFKA_ADVERTISED_LISTENERS"]
    assert not any(k.startswith("KAFKA_ZOOKEEPER") for k in env)
    # One broker: transactions only work with internal topics that fit on it.
    assert env["KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR"] == "1"
    assert env["KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR"] == "1"
    assert env["KAFKA_TRANSACTION_STATE_LOG_MIN_ISR"] == "1"


def test_kafka_image_is_the_default_pinned_version(services: dict[str, Any]) -> None:
    from infra.kafka.jars import pinned_versions

    assert services["kafka"]["image"] == f"apache/kafka:{pinned_versions()[0]}"


def test_worker_talks_to_kafka_and_keeps_state(services: dict[str, Any]) -> None:
    worker = services["worker"]
    env = _env(worker)
    assert "build" in worker
    host, _, port = env["KAFKA_BOOTSTRAP_SERVERS"].partition(":")
    assert host in services and services[host]["image"].startswith("apache/kafka:")
    assert port == "9092"
    assert any(str(p).split(":")[-1] == "6066" for p in worker["ports"])
    assert env["WEB_PORT"] == "6066"
    mounts = [str(v).split(":") for v in worker["volumes"]]
    assert [env["STORE_DIR"]] == [m[1] for m in mounts if m[1] == env["STORE_DIR"]]
    assert "kafka" in (worker["depends_on"])


def test_dockerfile_runs_faust_worker_as_non_root() -> None:
    steps = _dockerfile()
    stages = [i for i, (instr, _) in enumerate(steps) if instr == "FROM"]
    assert steps[stages[-1]] == ("FROM", "python:3.11-slim")  # the image that runs
    # The Rust kernel's wheel: built in a stage of its own, installed beside the app.
    kernel = [args for instr, args in steps[: stages[-1]] if instr == "RUN" and "maturin build" in args]
    assert kernel and "native/Cargo.toml" in kernel[0]
    final = steps[stages[-1] :]
    assert ("COPY", "--from=kernel /wheels /wheels") in final
    assert any(instr == "RUN" and "pip install /wheels/*.whl ." in args for instr, args in final)
    steps = final
    users = [args for instr, args in steps if instr == "USER"]
    assert users and users[-1] not in ("root", "0", "0:0")
    cmd_args = [args for instr, args in steps if instr == "CMD"][-1]
    cmd = json.loads(cmd_args) if cmd_args.startswith("[") else shlex.split(cmd_args)
    assert cmd[:4] == ["faust", "-A", "app", "worker"]
    assert ("EXPOSE", "6066") in steps
    assert any(instr == "ENV" and "STORE_DIR=/data" in args for instr, args in steps)


def test_the_order_service_runs_from_the_image_on_postgres_and_is_scraped(services: dict[str, Any]) -> None:
    shop, env = services["shop"], _env(services["shop"])
    assert shop["build"] == services["worker"]["build"]
    assert shop["command"][:3] == ["python", "-m", "shop"]
    assert env["SHOP_HOST"] == "0.0.0.0" and any(
        str(p).split(":")[-1] == env["SHOP_PORT"] for p in shop["ports"]
    )
    db = env["SHOP_DATABASE_URL"].split("@")[1].split("/")[0].split(":")
    assert db[0] in services and services[db[0]]["image"].startswith("postgres:")
    assert "wal_level=logical" in " ".join(services[db[0]]["command"])  # Debezium reads its WAL
    assert env["KAFKA_BOOTSTRAP_SERVERS"] == _env(services["worker"])["KAFKA_BOOTSTRAP_SERVERS"]
    scrape = yaml.safe_load((ROOT / "deploy/prometheus/prometheus.yml").read_text())["scrape_configs"]
    targets = {t for job in scrape for c in job["static_configs"] for t in c["targets"]}
    assert f"shop:{env['SHOP_PORT']}" in targets
    assert ("EXPOSE", env["SHOP_PORT"]) in _dockerfile()

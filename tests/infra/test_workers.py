"""A deployment's topics: every topic setting namespaced by its app id."""

from __future__ import annotations

from config import Settings
from infra.workers import Deployment


def test_every_topic_setting_is_namespaced_by_the_deployment(tmp_path) -> None:  # type: ignore[no-untyped-def]
    deployment = Deployment(bootstrap="127.0.0.1:9092", root=tmp_path)
    env = deployment.env()
    fields = Settings.model_fields.items()
    names = [f.upper() for f, info in fields if f.startswith("topic_") and info.annotation is str]
    assert "TOPIC_NOTIFY_DLQ" in names
    for var in names:
        assert env[var].startswith(f"{deployment.name}."), (var, env.get(var))

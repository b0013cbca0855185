"""Settings from the environment (config/settings.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from config.settings import ConfigError, Guarantee, Settings, load_settings


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No setting comes from the developer's or CI's environment."""
    for name in Settings.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)
        monkeypatch.delenv(name, raising=False)


def test_defaults() -> None:
    s = load_settings()
    assert s.processing_guarantee is Guarantee.EXACTLY_ONCE
    assert s.processing_guarantee.value == "exactly_once"
    assert s.exactly_once is True
    assert s.web_port == 6066
    assert s.kafka_bootstrap_servers == "127.0.0.1:9092"
    assert s.broker_urls == ["kafka://127.0.0.1:9092"]
    assert s.store_dir == Path(".data/state")
    assert s.app_id == "commerce-streams"
    assert s.canonical_url == "http://127.0.0.1:6066"
    assert s.kafka_sasl_password.get_secret_value() == ""


def test_env_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PROCESSING_GUARANTEE", "at_least_once")
    monkeypatch.setenv("WEB_PORT", "7001")
    monkeypatch.setenv("WEB_HOST", "worker-2")
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "k1:9092, k2:9093")
    monkeypatch.setenv("LOG_FORMAT", "json")
    monkeypatch.setenv("BATCH_MAX", "17")
    monkeypatch.setenv("TOPIC_ORDERS", "orders-v2")
    s = load_settings()
    assert s.processing_guarantee is Guarantee.AT_LEAST_ONCE
    assert s.exactly_once is False
    assert s.web_port == 7001
    assert s.canonical_url == "http://worker-2:7001"
    assert s.broker_urls == ["kafka://k1:9092", "kafka://k2:9093"]
    assert s.log_format == "json"
    assert s.batch_max == 17
    assert s.topic_orders == "orders-v2"


def test_env_names_are_case_insensitive(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("web_port", "7002")
    assert load_settings().web_port == 7002


def test_overrides_beat_defaults() -> None:
    assert load_settings(web_port=8080).web_port == 8080


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("PROCESSING_GUARANTEE", "exactly_twice"),
        ("WEB_PORT", "http"),
        ("WEB_PORT", "0"),
        ("WEB_PORT", "65536"),
        ("KAFKA_BOOTSTRAP_SERVERS", "nohost"),
        ("KAFKA_BOOTSTRAP_SERVERS", "k1:9092,k2"),
        ("KAFKA_BOOTSTRAP_SERVERS", "k1:port"),
        ("LOG_FORMAT", "xml"),
        ("APP_ID", "has spaces"),
        ("COMMIT_INTERVAL", "0"),
        ("BATCH_MAX", "0"),
        ("KAFKA_SECURITY_PROTOCOL", "TLS"),
    ],
)
def test_invalid_values_name_the_variable(monkeypatch: pytest.MonkeyPatch, variable: str, value: str) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError) as caught:
        load_settings()
    message = str(caught.value)
    assert f"{variable}:" in message
    assert repr(value) in message  # says what it got
    # Only the bad variable is blamed.
    others = [n.upper() for n in Settings.model_fields if n.upper() != variable]
    assert not [n for n in others if f"{n}:" in message]


def test_nohost_bootstrap_message() -> None:
    with pytest.raises(ConfigError, match=r"KAFKA_BOOTSTRAP_SERVERS: .*host:port.*'nohost'"):
        load_settings(kafka_bootstrap_servers="nohost")


def test_config_error_is_not_a_validation_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WEB_PORT", "http")
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert not isinstance(caught.value, ValidationError)
    assert caught.value.__cause__ is None  # raised `from None`: one clean line at start


def test_several_bad_values_are_all_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WEB_PORT", "http")
    monkeypatch.setenv("LOG_FORMAT", "xml")
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert "WEB_PORT:" in str(caught.value)
    assert "LOG_FORMAT:" in str(caught.value)


def test_settings_are_frozen() -> None:
    s = load_settings()
    with pytest.raises(ValidationError):
        s.web_port = 1  # type: ignore[misc]
    with pytest.raises(ValidationError):
        s.processing_guarantee = Guarantee.AT_LEAST_ONCE  # type: ignore[misc]
    assert s.web_port == 6066
    assert s.processing_guarantee is Guarantee.EXACTLY_ONCE


def test_static_membership_by_default_named_after_the_workers_url() -> None:
    assert (
        load_settings(app_id="shop", web_host="w1.local", web_port=6067).static_member_id
        == "shop@w1.local:6067"
    )
    assert load_settings(group_instance_id="none").static_member_id is None
    assert load_settings(group_instance_id="").static_member_id is None
    assert load_settings(group_instance_id="shop-7").static_member_id == "shop-7"
    with pytest.raises(ConfigError, match="GROUP_INSTANCE_ID"):
        load_settings(group_instance_id="a b")


def test_retentions_read_durations_and_name_a_bad_one(monkeypatch: pytest.MonkeyPatch) -> None:
    s = load_settings()
    assert (s.retention_seen_orders, s.retention_seen_budget_events) == (7 * 86400, 86400)
    assert (s.retention_category_hourly, s.retention_daily_stats) == (7 * 86400, 400 * 86400)
    monkeypatch.setenv("RETENTION_SEEN_ORDERS", "36h")
    monkeypatch.setenv("RETENTION_CATEGORY_HOURLY", "90m")
    monkeypatch.setenv("RETENTION_DAILY_STATS", "3600")
    s = load_settings()
    assert (s.retention_seen_orders, s.retention_category_hourly, s.retention_daily_stats) == (
        129600,
        5400,
        3600,
    )
    monkeypatch.setenv("RETENTION_DAILY_STATS", "2 weeks")
    with pytest.raises(ConfigError, match="RETENTION_DAILY_STATS"):
        load_settings()
    monkeypatch.setenv("RETENTION_DAILY_STATS", "0s")
    with pytest.raises(ConfigError, match="RETENTION_DAILY_STATS"):
        load_settings()


def test_http_auth_token_is_off_by_default_and_sent_as_a_bearer_header(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert load_settings().http_auth_token is None
    assert load_settings().http_auth_headers == {}
    monkeypatch.setenv("HTTP_AUTH_TOKEN", "t0ken-of-sixteen-chars")
    settings = load_settings()
    assert settings.http_auth_headers == {"Authorization": "Bearer t0ken-of-sixteen-chars"}
    assert "t0ken" not in repr(settings)


@pytest.mark.parametrize("bad", ["short", "has a space in it here", "nöt-ascii-but-long-enough"])
def test_a_bad_token_is_named_but_never_shown(monkeypatch: pytest.MonkeyPatch, bad: str) -> None:
    monkeypatch.setenv("HTTP_AUTH_TOKEN", bad)
    with pytest.raises(ConfigError, match="HTTP_AUTH_TOKEN:") as caught:
        load_settings()
    assert bad not in str(caught.value)

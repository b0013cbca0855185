"""app.factory: the settings object reaches the process and the Faust app."""

from __future__ import annotations

import gc
import sys
from pathlib import Path

import pytest

from app.factory import create_app, settle_heap
from config.settings import Settings
from web.front import query_front_enabled


def test_the_gil_switch_interval_is_applied(tmp_path: Path) -> None:
    before = sys.getswitchinterval()
    try:
        create_app(Settings(gil_switch_interval=0.002, store_dir=tmp_path))
        assert sys.getswitchinterval() == pytest.approx(0.002)
    finally:
        sys.setswitchinterval(before)


@pytest.mark.parametrize(("front", "expected"), [(True, 0.005), (False, 0.0001)])
def test_an_unset_gil_switch_interval_follows_the_query_front(
    tmp_path: Path, front: bool, expected: float
) -> None:
    before = sys.getswitchinterval()
    try:
        settings = Settings(query_front=front, store_dir=tmp_path)
        assert settings.gil_switch_interval is None
        assert query_front_enabled(settings) is front  # the kernel is installed here
        create_app(settings)
        assert sys.getswitchinterval() == pytest.approx(expected)
    finally:
        sys.setswitchinterval(before)


def test_the_gc_threshold_is_applied(tmp_path: Path) -> None:
    before = gc.get_threshold()
    try:
        create_app(Settings(gc_gen0_threshold=12345, store_dir=tmp_path))
        assert gc.get_threshold() == (12345, *before[1:])
    finally:
        gc.set_threshold(*before)


def test_settle_heap_freezes_the_start_up_heap() -> None:
    gc.unfreeze()
    try:
        assert gc.get_freeze_count() == 0
        settle_heap()
        assert gc.get_freeze_count() > 10_000
    finally:
        gc.unfreeze()


def test_behind_the_query_front_faust_listens_on_loopback_and_keeps_the_public_url(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WEB_PORT", "7070")  # Faust reads it too; it must not win over the backend port
    app = create_app(Settings(web_port=7070, web_backend_port=7071, store_dir=tmp_path))
    assert (app.conf.web_bind, app.conf.web_port) == ("127.0.0.1", 7071)
    assert str(app.conf.canonical_url).rstrip("/") == "http://127.0.0.1:7070"


@pytest.mark.parametrize("off", [{"query_front": False}, {"budget_kernel": "python"}])
def test_without_the_query_front_faust_listens_on_web_port(tmp_path: Path, off: dict) -> None:
    app = create_app(Settings(web_port=7070, web_bind="0.0.0.0", store_dir=tmp_path, **off))
    assert (app.conf.web_bind, app.conf.web_port) == ("0.0.0.0", 7070)


def test_a_free_backend_port_is_chosen_when_none_is_set(tmp_path: Path) -> None:
    app = create_app(Settings(web_port=7070, store_dir=tmp_path))
    assert app.conf.web_port not in (0, 7070)


def test_the_consumer_joins_its_group_as_a_static_member(tmp_path: Path) -> None:
    app = create_app(Settings(app_id="shop", web_host="w1.local", web_port=6070, store_dir=tmp_path))
    assert app.conf.consumer_group_instance_id == "shop@w1.local:6070"
    dynamic = create_app(Settings(group_instance_id="none", store_dir=tmp_path))
    assert dynamic.conf.consumer_group_instance_id is None


def test_each_app_gets_its_own_topics_tables_handlers_views_and_commands(tmp_path: Path) -> None:
    from app import app as built  # tests/conftest.py's

    app = create_app(Settings(topic_orders="orders-2", store_dir=tmp_path))
    parts = app.runtime
    assert parts.topics.orders.get_topic_name() == "orders-2"
    assert parts.topics.orders_by_category in parts.topics.ALL
    assert "orders-2" in parts.handlers and "orders-2" not in built.runtime.handlers
    assert parts.tables.budgets is not built.runtime.tables.budgets
    assert {t.name for t in parts.tables.all()} == set(app.tables)
    routes = {r.resource.canonical for r in app.web.web_app.router.routes()}
    assert {"/advertisers/{advertiser_id}/budget", "/categories/stream", "/healthz"} <= routes
    assert {"loadgen", "verify", "replay"} <= set(faust_commands())


def faust_commands() -> list[str]:
    from faust.cli.faust import cli

    return list(cli.commands)

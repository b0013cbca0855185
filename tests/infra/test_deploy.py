"""deploy/: the alert rules pass promtool, and every query names a metric the workers export."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from app import app
from streaming.metrics import Metrics

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
FUNCTIONS = {
    "sum",
    "rate",
    "increase",
    "deriv",
    "max",
    "min",
    "time",
    "histogram_quantile",
    "by",
    "on",
    "and",
}


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    binary = shutil.which("promtool")
    assert binary, "promtool is not installed: `make prometheus` installs Debian's prometheus package"
    return subprocess.run([binary, *args], cwd=DEPLOY / "prometheus", capture_output=True, text=True)


def test_the_alert_rules_are_valid() -> None:
    done = promtool("check", "rules", "alerts.yml")
    assert done.returncode == 0, done.stdout + done.stderr


def test_each_alert_rule_fires_when_it_should_and_only_then() -> None:
    done = promtool("test", "rules", "alerts_test.yml")
    assert done.returncode == 0, done.stdout + done.stderr
    tested = set(re.findall(r"alertname: (\w+)", (DEPLOY / "prometheus/alerts_test.yml").read_text()))
    rules = yaml.safe_load((DEPLOY / "prometheus/alerts.yml").read_text())["groups"][0]["rules"]
    assert tested == {rule["alert"] for rule in rules}


def exported() -> set[str]:
    """Every series name the workers can export (a labelled family has no samples
    before its first observation: its suffixed names count all the same)."""
    names = set()
    for family in Metrics(app).registry.collect():
        suffixes = {"counter": ("_total",), "histogram": ("_bucket", "_count", "_sum")}.get(
            family.type, ("",)
        )
        names.update(family.name + suffix for suffix in suffixes)
    from shop.metrics import ShopMetrics  # the order service's /metrics (shop_*)

    for family in ShopMetrics().registry.collect():
        kinds = {"counter": ("_total",), "histogram": ("_bucket", "_count", "_sum")}
        names.update(family.name + suffix for suffix in kinds.get(family.type, ("",)))
    return names


def queries() -> list[str]:
    dashboard = json.loads((DEPLOY / "grafana/dashboards/commerce-streams.json").read_text())
    exprs = [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]
    rules = yaml.safe_load((DEPLOY / "prometheus/alerts.yml").read_text())["groups"][0]["rules"]
    return exprs + [rule["expr"] for rule in rules]


@pytest.mark.parametrize("expr", queries())
def test_every_query_names_metrics_the_workers_export(expr: str) -> None:
    names = set(re.findall(r"\b((?:commerce|shop)_[a-z_]+)", expr))
    assert names, expr
    assert names <= exported(), names - exported()


def test_the_metrics_profile_provisions_prometheus_and_grafana() -> None:
    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    for name in ("prometheus", "grafana"):
        assert services[name]["profiles"] == ["metrics"]
        for volume in services[name]["volumes"]:
            assert (ROOT / volume.split(":")[0]).exists(), volume

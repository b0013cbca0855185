"""app.factory: the settings object reaches the process and the Faust app."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from app.factory import create_app
from config.settings import Settings


def test_the_gil_switch_interval_is_applied(tmp_path: Path) -> None:
    before = sys.getswitchinterval()
    try:
        create_app(Settings(gil_switch_interval=0.002, store_dir=tmp_path))
        assert sys.getswitchinterval() == pytest.approx(0.002)
    finally:
        sys.setswitchinterval(before)

"""app.factory: the settings object reaches the process and the Faust app."""

from __future__ import annotations

import gc
import sys
from pathlib import Path

import pytest

from app.factory import create_app, settle_heap
from config.settings import Settings


def test_the_gil_switch_interval_is_applied(tmp_path: Path) -> None:
    before = sys.getswitchinterval()
    try:
        create_app(Settings(gil_switch_interval=0.002, store_dir=tmp_path))
        assert sys.getswitchinterval() == pytest.approx(0.002)
    finally:
        sys.setswitchinterval(before)


def test_the_gc_threshold_is_applied(tmp_path: Path) -> None:
    before = gc.get_threshold()
    try:
        create_app(Settings(gc_gen0_threshold=12345, store_dir=tmp_path))
        assert gc.get_threshold() == (12345, *before[1:])
    finally:
        gc.set_threshold(*before)


@pytest.mark.parametrize("freeze", [True, False])
def test_settle_heap_freezes_the_heap_only_when_asked(freeze: bool) -> None:
    gc.unfreeze()
    try:
        settle_heap(Settings(gc_freeze=freeze))
        assert (gc.get_freeze_count() > 10_000) is freeze
    finally:
        gc.unfreeze()

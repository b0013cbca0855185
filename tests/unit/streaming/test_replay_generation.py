"""A state directory built in another replay generation is wiped (streaming/replay_generation.py)."""

from __future__ import annotations

from pathlib import Path

from streaming import output_headers, replay_generation


def _table_file(directory: Path) -> Path:
    table = directory / "v1" / "tables" / "budgets-0.db"
    table.parent.mkdir(parents=True)
    table.write_text("state")
    return table


def test_state_from_before_the_first_replay_is_kept(tmp_path: Path) -> None:
    table = _table_file(tmp_path / "app")
    assert replay_generation.adopt(tmp_path / "app", 0) is False
    assert table.exists()
    assert (tmp_path / "app" / replay_generation.MARKER).read_text() == "0\n"


def test_state_from_another_generation_is_wiped_once(tmp_path: Path) -> None:
    directory = tmp_path / "app"
    table = _table_file(directory)
    assert replay_generation.adopt(directory, 2) is True
    assert not table.exists() and directory.is_dir()
    rebuilt = _table_file(directory)
    assert replay_generation.adopt(directory, 2) is False  # a restart in the same generation
    assert rebuilt.exists()


def test_outputs_carry_the_generation(tmp_path: Path) -> None:
    replay_generation.adopt(tmp_path, 3)
    try:
        assert output_headers() == [("replay.generation", b"3")]
    finally:
        replay_generation.adopt(tmp_path, 0)

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from notify.offsets import PartitionOffsets


def test_lowest_incomplete_and_completed_above() -> None:
    p = PartitionOffsets(100)
    for o in range(100, 106):
        p.fetched(o)
    for o in (101, 103, 104):
        p.complete(o)
    assert (p.base, p.completed_above, p.gap) == (100, [101, 103, 104], 3)
    p.complete(100)
    assert (p.base, p.completed_above) == (102, [103, 104])
    assert p.is_done(101) and p.is_done(103) and not p.is_done(102) and not p.is_done(105)


def test_restart_skips_what_the_metadata_says_is_done() -> None:
    p = PartitionOffsets(10, completed=[12, 13])
    assert p.is_done(12) and not p.is_done(10) and not p.is_done(11)


def test_offsets_never_handed_out_are_gaps() -> None:
    # Under read_committed, transaction markers and aborted records take offsets nobody sees.
    p = PartitionOffsets(0)
    p.fetched(0)
    p.fetched(5)  # 1..4 were a transaction's marker and aborted records
    p.complete(0)
    assert p.base == 5
    p.complete(5)
    p.passed(7)  # the consumer's position: a trailing marker at 6
    assert (p.base, p.gap) == (7, 0)


def test_no_committed_offset_starts_at_the_first_record() -> None:
    p = PartitionOffsets()
    assert p.base is None and not p.is_done(0)
    p.fetched(42)
    p.complete(42)
    assert p.base == 43


@given(st.permutations(list(range(50))), st.integers(0, 50))
def test_base_is_the_lowest_offset_not_completed(order: list[int], n: int) -> None:
    p = PartitionOffsets(0)
    for o in range(50):
        p.fetched(o)
    for o in order[:n]:
        p.complete(o)
    done = set(order[:n])
    lowest = min(set(range(51)) - done)
    assert p.base == lowest
    assert p.completed_above == sorted(o for o in done if o > lowest)

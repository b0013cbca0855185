from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from notify.encoding import MetadataError, decode, encode

base_and_done = st.integers(0, 2**40).flatmap(
    lambda base: st.tuples(st.just(base), st.sets(st.integers(base + 1, base + 5000), max_size=400))
)


@given(base_and_done)
def test_decode_gives_back_what_encode_wrote(case: tuple[int, set[int]]) -> None:
    base, done = case
    metadata = encode(base, done, max_bytes=1 << 20)
    assert metadata is not None
    assert decode(base, metadata) == done


@given(base_and_done, st.integers(0, 300))
def test_never_longer_than_the_limit(case: tuple[int, set[int]], limit: int) -> None:
    base, done = case
    metadata = encode(base, done, max_bytes=limit)
    if metadata is None:
        assert len(encode(base, done, max_bytes=1 << 20) or "") > limit
    else:
        assert len(metadata.encode()) <= limit and decode(base, metadata) == done


def test_compact_for_runs_and_for_dense_scatter() -> None:
    # A stuck offset with 100,000 done after it: one run, a few bytes.
    assert len(encode(10, range(11, 100_011)) or "x" * 9999) < 12
    # Every other offset of 20,000 done: the bitset (2,500 bytes, 3,334 in base64) beats runs
    # (two varints per offset, 20,000 bytes).
    metadata = encode(0, range(1, 20_000, 2))
    assert metadata is not None and metadata[0] == "b" and len(metadata) <= 3335


def test_too_many_scattered_offsets_fall_back() -> None:
    # Every other offset of 80,000: 10,000 bytes as a bitset, more as runs.
    assert encode(0, range(1, 80_000, 2)) is None


def test_completed_offsets_must_lie_above_the_committed_one() -> None:
    with pytest.raises(ValueError):
        encode(5, [5, 6])


@pytest.mark.parametrize("metadata", ["x123", "r!!", "rgA"])
def test_foreign_metadata_is_refused(metadata: str) -> None:
    with pytest.raises(MetadataError):
        decode(0, metadata)


def test_empty_metadata_means_nothing_done_above() -> None:
    assert encode(7, []) == "" and decode(7, "") == set()

"""The completed offsets above a committed offset, in the commit's metadata string.

Two encodings, the shorter wins (as Confluent's Parallel Consumer does): run lengths
(``r``: alternating incomplete/complete runs from the committed offset, as unsigned varints) or
a bitset (``b``: one bit per offset from the committed offset). Both are base64 (URL-safe, no
padding) behind a one-letter tag. The committed offset itself is the lowest incomplete one, so the
first run is an incomplete one. Past ``max_bytes`` (the broker's ``offset.metadata.max.bytes``,
4096 by default) ``encode`` gives ``None``: the caller commits the offset alone, and a restart
resends what was done above it.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable

DEFAULT_MAX_BYTES = 4096


class MetadataError(ValueError):
    """Commit metadata that this module did not write."""


def _varints(values: Iterable[int]) -> bytes:
    out = bytearray()
    for value in values:
        while value >= 0x80:
            out.append((value & 0x7F) | 0x80)
            value >>= 7
        out.append(value)
    return bytes(out)


def _read_varints(data: bytes) -> list[int]:
    values, value, shift = [], 0, 0
    for byte in data:
        value |= (byte & 0x7F) << shift
        if byte & 0x80:
            shift += 7
        else:
            values.append(value)
            value, shift = 0, 0
    if shift:
        raise MetadataError("truncated run length")
    return values


def _runs(base: int, done: list[int]) -> list[int]:
    runs, cursor = [], base
    i = 0
    while i < len(done):
        start = done[i]
        j = i
        while j + 1 < len(done) and done[j + 1] == done[j] + 1:
            j += 1
        runs += [start - cursor, j - i + 1]
        cursor = done[j] + 1
        i = j + 1
    return runs


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)
    except ValueError as exc:
        raise MetadataError(f"not base64: {exc}") from None


def encode(base: int, done: Iterable[int], max_bytes: int = DEFAULT_MAX_BYTES) -> str | None:
    """Metadata for committing ``base`` with ``done`` (offsets above it) completed; None if too long."""
    offsets = sorted(done)
    if not offsets:
        return ""
    if offsets[0] <= base:
        raise ValueError(f"completed offsets must be above the committed offset {base}")
    runs = "r" + _b64(_varints(_runs(base, offsets)))
    width = offsets[-1] - base + 1
    best = runs
    if (width + 7) // 8 * 4 // 3 < len(runs):  # the bitset can only win when dense
        bits = bytearray((width + 7) // 8)
        for offset in offsets:
            i = offset - base
            bits[i >> 3] |= 1 << (i & 7)
        bitset = "b" + _b64(bytes(bits))
        best = min(runs, bitset, key=len)
    return best if len(best.encode()) <= max_bytes else None


def decode(base: int, metadata: str) -> set[int]:
    """The completed offsets above ``base`` that ``metadata`` (from ``encode``) carries."""
    if not metadata:
        return set()
    tag, body = metadata[0], _unb64(metadata[1:])
    if tag == "r":
        runs = _read_varints(body)
        if len(runs) % 2:
            raise MetadataError("odd number of runs")
        done, cursor = set(), base
        for skip, length in zip(runs[::2], runs[1::2], strict=True):
            cursor += skip
            done.update(range(cursor, cursor + length))
            cursor += length
        return done
    if tag == "b":
        return {base + i for i in range(len(body) * 8) if body[i >> 3] >> (i & 7) & 1}
    raise MetadataError(f"unknown metadata encoding {tag!r}")

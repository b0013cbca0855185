"""How every table is built: RocksDB (rocksdict) store, UTF-8 keys, JSON values.

Keys use the raw codec so they serialize to the same bytes as the source topics'
keys; the router then finds a key's owner partition with the producer's
partitioner. Values are JSON objects holding integers only.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from config import Settings


class Declare:
    """Declares tables on one app, with that app's settings."""

    def __init__(self, app: Any, settings: Settings) -> None:
        self.app = app
        self.settings = settings

    def __call__(
        self,
        name: str,
        help: str,
        time_of: Callable[[bytes, bytes], int] | None = None,
        time_by_value: bool = False,
    ) -> Any:
        """``time_of``: for a time-bounded table, a key's time (domain.retention), for
        the store's time index (eos.store); None for the all-time tables.
        ``time_by_value``: the time depends on the value alone (a duplicate filter)."""
        t = self.app.Table(
            name,
            extra_topic_configs=None if time_of is None else self._bounded_changelog(),
            default=None,
            key_type=bytes,
            partitions=self.app.conf.topic_partitions,
            help=help,
            options={"driver": "rocksdict"},
        )
        t.time_of = time_of
        t.time_by_value = time_by_value
        return t

    def _bounded_changelog(self) -> dict[str, int | float]:
        """Topic configs of a time-bounded table's changelog: segments roll often
        enough for the cleaner to compact expired keys' records away, and tombstones
        go a while after (docs/retention.md)."""
        segment_ms = self.settings.changelog_segment * 1000
        return {"segment.ms": segment_ms, "min.cleanable.dirty.ratio": 0.1, "delete.retention.ms": segment_ms}


def text_key(key: str | bytes) -> str:
    """Table keys come back as bytes from RocksDB (str when a view passes its own)."""
    return key.decode() if isinstance(key, bytes) else key

"""What the parts of one worker's processing share, owned by the app (``app.runtime``).

The commit gate, the batch handlers by source topic and the listeners that see
each commit of a table: one object built with the app (``app.factory``),
instead of module globals or private attributes set on the app.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from eos.gate import CommitGate

# Called with (partition, {key: value or the deleted marker}, the deleted
# marker) once a commit made those writes durable: committed state only.
CommitListener = Callable[[int, dict[bytes, Any], object], None]


@dataclass
class Runtime:
    gate: CommitGate = field(default_factory=CommitGate)
    handlers: dict[str, Callable[[Any], None]] = field(default_factory=dict)
    commit_listeners: dict[str, list[CommitListener]] = field(default_factory=dict)
    metrics: Any = None  # streaming.metrics.Metrics with METRICS on

    def listen(self, table_name: str, listener: CommitListener) -> None:
        self.commit_listeners.setdefault(table_name, []).append(listener)

    def unlisten(self, table_name: str, listener: CommitListener) -> None:
        listeners = self.commit_listeners.get(table_name, [])
        if listener in listeners:
            listeners.remove(listener)

    def committed(self, table_name: str, partition: int, writes: dict[bytes, Any], deleted: object) -> None:
        for listener in self.commit_listeners.get(table_name, ()):
            listener(partition, writes, deleted)


def runtime_of(app: Any) -> Runtime:
    """The app's runtime; a test double of an app gets one on first use."""
    runtime: Runtime | None = getattr(app, "runtime", None)
    if runtime is None:
        runtime = app.runtime = Runtime()
    return runtime

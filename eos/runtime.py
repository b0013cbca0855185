"""What the parts of one worker's processing share, owned by the app (``app.runtime``).

The app's topics and tables, the commit gate, the batch handlers by source
topic and the listeners that see each commit of a table: one object built with
the app (``app.factory.create_app``), instead of module globals or private
attributes set on the app. (Faust's ``app.topics`` and ``app.tables`` are its
own registries; the declared ones, by name, are ``app.runtime.topics`` and
``app.runtime.tables``.)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from eos.gate import CommitGate

if TYPE_CHECKING:
    from app.topics import Topics
    from tables import Tables

# Called with (partition, {key: value or the deleted marker}, the deleted
# marker) once a commit made those writes durable: committed state only.
CommitListener = Callable[[int, dict[bytes, Any], object], None]


@dataclass
class Runtime:
    gate: CommitGate = field(default_factory=CommitGate)
    handlers: dict[str, Callable[[Any], None]] = field(default_factory=dict)
    commit_listeners: dict[str, list[CommitListener]] = field(default_factory=dict)
    metrics: Any = None  # streaming.metrics.Metrics with METRICS on
    # What web.register made for the views by name (live hubs, the query front).
    web: dict[str, Any] = field(default_factory=dict)
    declared: tuple[Topics, Tables] | None = None  # set once by the factory

    @property
    def topics(self) -> Topics:
        return self._declared()[0]

    @property
    def tables(self) -> Tables:
        return self._declared()[1]

    def _declared(self) -> tuple[Topics, Tables]:
        if self.declared is None:
            raise RuntimeError("no topics or tables declared: build the app with app.factory.create_app")
        return self.declared

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

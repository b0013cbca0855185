"""Every exception the project raises on purpose descends from one root."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

from domain.errors import StreamsError

PACKAGES = [
    "agents",
    "app",
    "bench",
    "chaos",
    "cli",
    "config",
    "domain",
    "eos",
    "infra",
    "streaming",
    "tables",
    "web",
]


def _our_exceptions() -> list[type[BaseException]]:
    found = []
    for name in PACKAGES:
        package = importlib.import_module(name)
        modules = [package] + [
            importlib.import_module(info.name)
            for info in pkgutil.walk_packages(package.__path__, f"{name}.")
            if not info.name.endswith("__main__")
        ]
        for module in modules:
            for _, cls in inspect.getmembers(module, inspect.isclass):
                if issubclass(cls, BaseException) and cls.__module__ == module.__name__:
                    found.append(cls)
    return found


def test_every_exception_of_ours_descends_from_streams_error() -> None:
    exceptions = _our_exceptions()
    assert len(exceptions) > 10  # the walk found the packages' modules
    strays = sorted(
        f"{cls.__module__}.{cls.__qualname__}" for cls in exceptions if not issubclass(cls, StreamsError)
    )
    assert not strays, f"exceptions outside the StreamsError root: {strays}"

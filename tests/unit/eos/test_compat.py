"""The private parts of faust-streaming and aiokafka we rely on still exist, with our shape.

An upgrade that renames or reshapes one fails here with its name (and the
place in eos/compat.py to mend) instead of somewhere in a rebalance.
"""

from __future__ import annotations

import importlib
import inspect

import pytest

from eos import compat


def _class(module: str, name: str) -> type:
    return getattr(importlib.import_module(module), name)  # type: ignore[no-any-return]


@pytest.mark.parametrize(("module", "cls", "method", "params"), compat.HOOKS, ids=lambda v: str(v))
def test_every_hook_we_override_still_exists_with_its_parameters(
    module: str, cls: str, method: str, params: tuple[str, ...]
) -> None:
    owner = _class(module, cls)
    hook = getattr(owner, method, None)
    assert hook is not None, f"{module}.{cls}.{method} is gone: our override in eos/ is never called"
    found = tuple(p for p in inspect.signature(hook).parameters if p != "self")
    assert found[: len(params)] == params, (
        f"{module}.{cls}.{method} now takes {found}, our override expects {params} (eos/compat.py HOOKS)"
    )


@pytest.mark.parametrize(("module", "cls", "attribute"), compat.ATTRIBUTES, ids=lambda v: str(v))
def test_every_private_attribute_we_touch_is_still_defined_by_its_class(
    module: str, cls: str, attribute: str
) -> None:
    owner = _class(module, cls)
    defined = any(
        attribute in vars(klass) or f"self.{attribute}" in _source(klass) for klass in owner.__mro__
    )
    assert defined, f"{module}.{cls} no longer defines {attribute} (eos/compat.py)"


def _source(klass: type) -> str:
    try:
        return inspect.getsource(klass)
    except (OSError, TypeError):
        return ""


def test_the_current_event_variable_is_a_context_variable() -> None:
    assert type(compat.current_event_var).__name__ == "ContextVar"


# The project's packages whose classes may subclass Faust's, aiokafka's or mode's.
_OUR_PACKAGES = ("agents", "app", "cli", "config", "domain", "eos", "streaming", "tables", "web")
_THEIRS = ("faust", "aiokafka", "mode")


def _our_classes() -> list[type]:
    import pkgutil

    classes: dict[str, type] = {}
    for package in _OUR_PACKAGES:
        root = importlib.import_module(package)
        names = [package] + [info.name for info in pkgutil.walk_packages(root.__path__, prefix=f"{package}.")]
        for name in names:
            module = importlib.import_module(name)
            for value in vars(module).values():
                if isinstance(value, type) and value.__module__ == name:
                    classes[f"{name}.{value.__qualname__}"] = value
    return list(classes.values())


def _overridden_private_methods() -> set[tuple[str, str]]:
    """(class in their library, method) for every private method one of our classes defines
    over a method of the same name that one of their classes defines."""
    found: set[tuple[str, str]] = set()
    for ours in _our_classes():
        for method, value in vars(ours).items():
            if not method.startswith("_") or method.startswith("__") or not callable(value):
                continue
            for base in ours.__mro__[1:]:
                if base.__module__.split(".")[0] in _THEIRS and method in vars(base):
                    found.add((f"{base.__module__}.{base.__qualname__}", method))
                    break
    return found


def _registered() -> set[tuple[str, str]]:
    registered = set()
    for module, cls, method, _ in compat.HOOKS:
        owner = _class(module, cls)
        for klass in owner.__mro__:  # HOOKS may name a subclass that inherits the method
            if method in vars(klass):
                registered.add((f"{klass.__module__}.{klass.__qualname__}", method))
                break
    return registered


def test_every_private_method_we_override_is_registered_in_hooks() -> None:
    missing = _overridden_private_methods() - _registered()
    assert not missing, f"private methods overridden but not in eos/compat.py HOOKS: {sorted(missing)}"


def test_every_registered_hook_is_overridden_by_one_of_our_classes() -> None:
    stale = _registered() - _overridden_private_methods()
    assert not stale, f"eos/compat.py HOOKS lists methods nothing overrides: {sorted(stale)}"

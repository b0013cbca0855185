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

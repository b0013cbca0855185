"""No import cycle between the project's packages, nor between the modules of one.

Read from the source with ``ast``, every import counts, at module level or inside
a function (a function-level import only hides a cycle until that function runs).
Imports under ``if TYPE_CHECKING:`` do not: they never run, and annotations are
strings here (``from __future__ import annotations``). The layers the graph must
respect run ``domain`` -> ``config`` -> the engine (``eos``, ``streaming``) ->
the topology (``app.topics``, ``tables``) -> ``agents``, ``web``, ``cli`` ->
``app.factory``; an edge back up that order makes a cycle, and fails here with
the imports that make it.
"""

from __future__ import annotations

import ast
import functools
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = (
    "agents",
    "app",
    "chaos",
    "cli",
    "config",
    "domain",
    "eos",
    "infra",
    "lake",
    "notify",
    "shop",
    "streaming",
    "tables",
    "web",
)  # fmt: skip  (pyproject.toml [tool.setuptools] packages, bench/ too)
PACKAGES += ("bench",)

Edge = tuple[str, str]  # (importing module, imported module)


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


@functools.cache
def _modules() -> dict[str, Path]:
    return {_module_name(p): p for pkg in PACKAGES for p in sorted((ROOT / pkg).rglob("*.py"))}


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.AST, module: str, is_package: bool) -> Iterator[tuple[str, int]]:
    """(imported name, line) for every import that runs, TYPE_CHECKING blocks left out."""
    stack: list[ast.AST] = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.If) and _is_type_checking(node):
            stack.extend(node.orelse)
            continue
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = module.split(".")
                anchor = anchor if is_package else anchor[:-1]
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                yield f"{base}.{alias.name}", node.lineno  # a submodule, or a name in `base`
            yield base, node.lineno
        stack.extend(ast.iter_child_nodes(node))


@functools.cache
def _graph() -> dict[Edge, str]:
    """Module-level edges between the project's modules, each with where it is made."""
    modules = _modules()
    edges: dict[Edge, str] = {}
    for module, path in modules.items():
        tree = ast.parse(path.read_text(), str(path))
        for name, line in _imports(tree, module, path.name == "__init__.py"):
            if name in modules and name != module and not module.startswith(f"{name}."):
                edges.setdefault((module, name), f"{path.relative_to(ROOT)}:{line}")
    return edges


def _cycles(nodes: set[str], edges: set[Edge]) -> list[list[str]]:
    """The strongly connected components with more than one node (Tarjan)."""
    successors: dict[str, list[str]] = {n: [] for n in nodes}
    for a, b in edges:
        successors[a].append(b)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in successors[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(nodes):
        if node not in index:
            visit(node)
    return found


def _report(cycles: list[list[str]], edges: dict[Edge, str], of: dict[str, str]) -> str:
    lines = []
    for cycle in cycles:
        members = set(cycle)
        lines.append(" <-> ".join(cycle) + ":")
        lines += [
            f"    {a} -> {b} ({where})"
            for (a, b), where in sorted(edges.items())
            if of[a] in members and of[b] in members and of[a] != of[b]
        ]
    return "\n".join(lines)


# The composition root: ``app.factory`` and ``app`` (whose ``app.app`` it builds) wire every
# package and are imported by none; ``app``'s other modules (topics, admin, access) sit
# below the agents, web and cli that use them.
ROOTS = {"app": "app.factory", "app.factory": "app.factory"}

# Cycles still to break, each with its edges against the layers; one that goes
# away fails here too, so that it leaves this list. eos.batch_path's
# TransactionBatch subclasses streaming.partition_batch.PartitionBatch while
# streaming builds on eos (gate, store, runtime): the two are one engine until
# the two batch classes are one.
KNOWN = [["eos", "streaming"]]


def _package(module: str) -> str:
    return ROOTS.get(module, module.split(".")[0])


def test_no_cycle_between_packages() -> None:
    edges = _graph()
    of = {m: _package(m) for m in _modules()}
    package_edges = {(of[a], of[b]) for a, b in edges if of[a] != of[b]}
    cycles = _cycles(set(of.values()), package_edges)
    new = [c for c in cycles if c not in KNOWN]
    assert not new, "import cycles between packages:\n" + _report(new, edges, of)
    gone = [c for c in KNOWN if c not in cycles]
    assert not gone, f"no longer a cycle, take it out of KNOWN: {gone}"


def test_the_composition_root_is_imported_by_no_package() -> None:
    # bench/ is a program of its own (``python -m bench``), like the tests: it builds apps.
    outside = {a for a, b in _graph() if _package(b) == "app.factory"} - set(ROOTS)
    importers = sorted(a for a in outside if _package(a) != "bench")
    assert not importers, f"the composition root is imported by {importers}"


def test_no_cycle_between_modules() -> None:
    edges = _graph()
    of = {m: m for m in _modules()}
    cycles = _cycles(set(of), set(edges))
    assert not cycles, "import cycles between modules:\n" + _report(cycles, edges, of)


def test_the_check_finds_a_cycle_and_ignores_type_checking_imports() -> None:
    source = "from typing import TYPE_CHECKING\nimport b\nif TYPE_CHECKING:\n    import c\n"
    names = {name for name, _ in _imports(ast.parse(source), "a", False)}
    assert "b" in names and "c" not in names
    assert _cycles({"a", "b", "c"}, {("a", "b"), ("b", "a"), ("b", "c")}) == [["a", "b"]]

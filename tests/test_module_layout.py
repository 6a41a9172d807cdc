"""How tagwise's modules import each other (function-local imports included): no import
cycle, the activation package imports downward only, and modules stay under 600 lines."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).parents[1] / "tagwise"
# tagwise.activation's modules, each importing only those before it (its __init__ says why).
ACTIVATION_ORDER = (
    "kinds",
    "destinations",
    "changes",
    "outbox",
    "webhook",
    "syncs",
    "redaction",
    "status",
)
MAX_LINES = 600


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(path): path for path in ROOT.rglob("*.py")}


def imported(path: Path, known: set[str]) -> set[str]:
    """tagwise modules a module imports anywhere in its body (the deepest known name)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            # `from package import module` imports that module; `from module import name`
            # the module.
            names = [
                f"{node.module}.{alias.name}"
                if f"{node.module}.{alias.name}" in known
                else node.module
                for alias in node.names
            ]
        else:
            continue
        for name in names:
            while name and name not in known:
                name = name.rpartition(".")[0]
            if name.startswith("tagwise") and name != "tagwise":
                found.add(name)
    return found


def import_graph() -> dict[str, set[str]]:
    found = modules()
    return {name: imported(path, set(found)) - {name} for name, path in found.items()}


def cycles(graph: dict[str, set[str]]) -> set[frozenset[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on_stack, result = {}, {}, [], set(), set()

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == node:
                    break
            if len(component) > 1:
                result.add(frozenset(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return result


def test_activation_modules_import_downward_only():
    graph = import_graph()
    assert {
        name.rpartition(".")[2] for name in graph if name.startswith("tagwise.activation.")
    } == set(ACTIVATION_ORDER)
    upward = [
        (module, target)
        for module in ACTIVATION_ORDER
        for target in graph[f"tagwise.activation.{module}"]
        if target.startswith("tagwise.activation.")
        and ACTIVATION_ORDER.index(target.rpartition(".")[2]) >= ACTIVATION_ORDER.index(module)
    ]
    assert upward == []


def test_no_module_imports_itself_through_others():
    assert cycles(import_graph()) == set()


def test_the_cycle_finder_finds_a_cycle_through_three_modules():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == {frozenset("abc")}


def test_no_module_grows_beyond_600_lines():
    long = {
        name for name, path in modules().items() if len(path.read_text().splitlines()) > MAX_LINES
    }
    assert long == set()


def test_the_end_to_end_modules_go_out_longest_first():
    """Each module LONGEST_FIRST names exists (a renamed one would silently lose its
    place), and `make test-e2e` keeps the order: xdist's default reorders files by their
    number of tests."""
    from conftest import LONGEST_FIRST

    tests = ROOT.parent / "tests"
    assert [name for name in LONGEST_FIRST if not (tests / name).is_file()] == []
    recipe = (ROOT.parent / "Makefile").read_text().split("\ntest-e2e:")[1].split("\n\n")[0]
    assert "--dist loadfile --no-loadscope-reorder" in recipe

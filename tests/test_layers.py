"""The package layers point one way and the import graph has no cycles.

Every import counts, function-local ones included, because a deferred import still
ties the lower layer to the higher one."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("policyqa", "ingest", "rag", "ui", "eval")

# Lower number = lower layer; a module may import its own layer or lower ones.
# policyqa's types, settings, errors and text rules are the bottom; the composition
# root (policyqa.app) sits above rag beside ui and eval; the command line is the top.
ROOT_FACTORY = {"policyqa.app"}
CLI = {"policyqa.cli", "policyqa.output", "policyqa.match_cli", "policyqa.targets_cli", "policyqa.__main__"}


def layer(module: str) -> int:
    if module in CLI:
        return 4
    if module in ROOT_FACTORY:
        return 3
    head = module.split(".")[0]
    return {"policyqa": 0, "ingest": 1, "rag": 2, "ui": 3, "eval": 3}[head]


def modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


def imports(path: Path, known: set[str]) -> set[str]:
    """Project modules imported anywhere in the file (module-level or not)."""
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        for name in names:
            while name and name not in known:
                name = name.rpartition(".")[0]
            if name:
                out.add(name)
    return out


def graph() -> dict[str, set[str]]:
    found = modules()
    known = set(found)
    return {name: imports(path, known) - {name} for name, path in found.items()}


def test_no_import_from_a_higher_layer() -> None:
    upward = sorted(f"{a} -> {b}" for a, deps in graph().items() for b in deps if layer(b) > layer(a))
    assert not upward, "imports from a higher layer:\n" + "\n".join(upward)


def test_no_import_cycles() -> None:
    g = graph()
    cycles: list[list[str]] = []
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for dep in sorted(g.get(node, ())):
            # A package's __init__ importing its own submodules is not a cycle of layers.
            if dep.startswith(node + ".") or node.startswith(dep + "."):
                continue
            if state.get(dep) == 1:
                cycles.append(stack[stack.index(dep):] + [dep])
            elif dep not in state:
                visit(dep)
        stack.pop()
        state[node] = 2

    for node in sorted(g):
        if node not in state:
            visit(node)
    assert not cycles, "import cycles:\n" + "\n".join(" -> ".join(c) for c in cycles)


def test_the_page_reaches_rag_only_through_the_service() -> None:
    strays = sorted(f"{a} -> {b}" for a, deps in graph().items() if a.startswith("ui")
                    for b in deps if not b.startswith("ui") and b != "rag.service")
    assert not strays, "ui imports beside rag.service:\n" + "\n".join(strays)


def test_the_factory_imports_neither_ui_nor_eval() -> None:
    deps = graph()["policyqa.app"]
    assert not {d for d in deps if d.split(".")[0] in {"ui", "eval"}}, deps

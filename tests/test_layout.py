"""The house's structure, kept honest: rooms import downward only, no module imports itself back, README lists all.

The package is a row of stages (``README.md``, "Layout"): facts and rule
files in, compiled, evaluated, reported, and commands on top. A room may
import its own modules and rooms below it, never one above: an import that
runs back up is how the copies of the pipeline drifted before. Every import
counts, including those inside functions (a late import hides a cycle, it
does not remove it).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from .conftest import ROOT

PACKAGE = ROOT / "src" / "covenant"

ROOMS = (
    ("diagnostics", "calendar"),
    ("facts",),
    ("engine",),
    ("language",),
    ("law", "importers"),
    ("report",),
    ("pipeline",),
    ("scenarios",),
    ("portfolio",),
    ("cli",),
    ("__main__",),
)
"""Lowest first; rooms on one line are on the same floor and may not import each other."""

FLOOR = {room: floor for floor, rooms in enumerate(ROOMS) for room in rooms}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def room_of(module: str) -> str:
    return module.split(".")[1] if module.count(".") else "__init__"


def modules() -> dict[str, Path]:
    return {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def imports_of(path: Path, known: set[str]) -> set[str]:
    """Every ``covenant`` module this file imports, at the top or inside a function."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        else:
            continue
        found.update(name for name in names if name in known)
    found.discard(module_name(path))
    return found


def graph() -> dict[str, set[str]]:
    every = modules()
    known = set(every)
    return {name: {i for i in imports_of(path, known) if i != "covenant"} for name, path in every.items()}


def test_every_room_has_a_floor() -> None:
    rooms = {room_of(name) for name in modules()} - {"__init__"}
    assert rooms <= set(FLOOR), f"rooms without a floor in ROOMS: {sorted(rooms - set(FLOOR))}"


def test_rooms_import_downward_only() -> None:
    upward = []
    for name, imported in sorted(graph().items()):
        room = room_of(name)
        for target in sorted(imported):
            other = room_of(target)
            if other != room and room != "__init__" and FLOOR[other] >= FLOOR[room]:
                upward.append(f"{name} -> {target} ({room} may not import {other})")
    assert not upward, "\n".join(upward)


def test_no_module_imports_itself_back() -> None:
    edges = graph()
    cycles: list[list[str]] = []
    state: dict[str, int] = {}  # 1 on the current path, 2 done
    path: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                cycles.append([*path[path.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt)
        path.pop()
        state[node] = 2

    for node in sorted(edges):
        if node not in state:
            visit(node)
    assert not cycles, "\n".join(" -> ".join(cycle) for cycle in cycles)


def layout_paths(readme: str) -> set[str]:
    """The files named in README's Layout tree: folders end in ``/``, two spaces of indent per level."""
    block = readme.split("## Layout", 1)[1].split("```", 2)[1]
    stack: list[tuple[int, str]] = []
    paths: set[str] = set()
    for line in block.splitlines():
        match = re.match(r"^( *)(\S+)", line)
        if not match:
            continue
        indent, name = len(match.group(1)), match.group(2)
        while stack and stack[-1][0] >= indent:
            stack.pop()
        full = "".join(part for _, part in stack) + name
        if name.endswith("/"):
            stack.append((indent, name))
        paths.add(full)
    return paths


def test_the_readme_layout_names_every_module_with_a_line_each() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    listed = layout_paths(readme)
    actual = {str(path.relative_to(ROOT)) for path in PACKAGE.rglob("*.py") if path.name not in ("__main__.py",)}
    missing = sorted(actual - listed)
    gone = sorted(p for p in listed if p.startswith("src/") and p.endswith(".py") and p not in actual)
    assert not missing, f"README.md's Layout does not list: {missing}"
    assert not gone, f"README.md's Layout lists modules that do not exist: {gone}"

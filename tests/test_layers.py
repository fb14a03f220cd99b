"""The architecture, as the imports say it: sweeps -> studies -> mlpcore, and sweeps/ in layers with no circle.

Every import counts, those inside functions too: an import written inside a function still ties its module
to the one it imports, and it is how an import circle hides until the day it breaks.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

LAYERS = {
    "sweeps.space": 0, "sweeps.store": 0,
    "sweeps.results": 1,
    "sweeps.search": 2,
    "sweeps.analysis": 3,
    "sweeps.report": 4,
    "sweeps.pipeline": 5,
    "sweeps.cli": 6,
    "sweeps": 7, "sweeps.__main__": 7,
}
"""The layer of each part of sweeps/ (a module, or a subpackage and all it holds): a module imports only
its own layer and those below it."""

ENGINE_FREE_OF = ("sweeps", "studies", "optuna", "pandas", "matplotlib", "seaborn", "joblib", "loky")
"""What mlpcore, the engine, never imports: it knows nothing of studies or sweeps, nor of their libraries."""


def modules() -> dict[str, Path]:
    found = {}
    for package in ("sweeps", "studies", "mlpcore"):
        for path in (ROOT / package).rglob("*.py"):
            parts = list(path.with_suffix("").relative_to(ROOT).parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found[".".join(parts)] = path
    return found


def imports(name: str, path: Path) -> list[tuple[str, int]]:
    """(the module or package imported, line) for every import in ``path`` (module ``name``), relative ones resolved."""
    out = []
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out += [(a.name, node.lineno) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else []))
            out += [(f"{base}.{a.name}", node.lineno) for a in node.names]
    return out


def project_target(imported: str, known: dict[str, Path]) -> str | None:
    """The project module an import names (``from a.b import c``: module a.b.c, else a.b), or None."""
    while imported and imported not in known:
        imported = imported.rpartition(".")[0]
    return imported or None


def layer(module: str) -> int | None:
    while module:
        if module in LAYERS:
            return LAYERS[module]
        module = module.rpartition(".")[0]
    return None


def graph() -> dict[str, dict[str, int]]:
    """module -> {project module it imports: line}, a package's own face (its __init__) left out for its modules."""
    known = modules()
    edges: dict[str, dict[str, int]] = {m: {} for m in known}
    for m, path in known.items():
        for imported, line in imports(m, path):
            target = project_target(imported, known)
            if target is None or target == m or m.startswith(target + ".") and known[target].name == "__init__.py":
                continue
            edges[m].setdefault(target, line)
    return edges


def circles(edges: dict[str, dict[str, int]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on, found, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            part = []
            while True:
                w = stack.pop()
                on.discard(w)
                part.append(w)
                if w == v:
                    break
            if len(part) > 1:
                found.append(sorted(part))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def test_no_module_imports_one_that_imports_it_back():
    assert circles(graph()) == []


def test_every_module_of_sweeps_has_a_layer():
    assert [m for m in modules() if m.startswith("sweeps") and layer(m) is None] == []


def test_no_import_runs_up_a_layer():
    up = [f"{m} (layer {layer(m)}) imports {t} (layer {layer(t)}) at line {line}"
          for m, targets in graph().items() if m.startswith("sweeps")
          for t, line in targets.items() if t.startswith("sweeps") and layer(t) > layer(m)]
    assert up == []


def test_studies_and_mlpcore_never_import_what_is_above_them():
    bad = []
    for m, path in modules().items():
        banned = ("sweeps",) if m.startswith("studies") else ENGINE_FREE_OF if m.startswith("mlpcore") else ()
        bad += [f"{m} imports {i} (line {line})" for i, line in imports(m, path) if i.split(".")[0] in banned]
    assert bad == []


@pytest.mark.parametrize("source, expected", [
    ("import sweeps.store.factory\n", ["sweeps.store.factory"]),
    ("def f():\n    from sweeps.report import page\n", ["sweeps.report.page"]),
    ("from .grouped import describe\n", ["sweeps.store.grouped"]),
])
def test_the_checker_sees_imports_inside_functions_and_relative_ones(tmp_path, source, expected):
    path = tmp_path / "mod.py"
    path.write_text(source)
    known = {**modules()}
    found = [project_target(i, known) for i, _ in imports("sweeps.store.mod", path)]
    assert found == expected


def test_the_checker_finds_a_circle_and_an_upward_import():
    edges = {"sweeps.store.a": {"sweeps.report.b": 1}, "sweeps.report.b": {"sweeps.store.a": 3}}
    assert circles(edges) == [["sweeps.report.b", "sweeps.store.a"]]
    assert layer("sweeps.report.b") > layer("sweeps.store.a")

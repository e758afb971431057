"""The layers of ``app.py`` and ``chalicelib`` depend inward only, and nothing imports in a circle.

app.py (the routing table) -> web -> services -> domain; adapters implement the ports; wiring.py is the
composition root; ``chalicelib/local/`` (the `make run` dev server, not in the deployment zip) is outermost.
Read from the source (every import, including the ones inside functions that keep cold starts cheap), so
a lazy ``from chalicelib.web import ...`` inside a service is caught as surely as a top-level one.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "chalicelib"

# What each layer may import from chalicelib (its own layer always allowed). A layer is a top-level
# module or package of chalicelib, or "app" for app.py. ``local`` is absent: it may import anything.
ALLOWED: dict[str, set[str]] = {
    "domain": {"errors"},
    "errors": set(),
    "observability": set(),
    "secrets": set(),
    "settings": {"secrets"},
    "tables": set(),
    "ports": {"domain"},
    # tables: the key formats (pure strings, no boto3) that claims, caps and erasure build or read.
    "services": {"domain", "errors", "ports", "tables", "settings", "observability"},
    "adapters": {"domain", "errors", "ports", "tables", "settings", "observability"},
    "web": {"domain", "errors", "ports", "services", "tables", "settings", "observability"},
    # The routing table: parses, calls one service (whose argument and result types it names) through
    # wiring, and answers with the web layer. Never an adapter or the dev server.
    "app": {"web", "wiring", "services", "domain", "errors", "settings", "observability"},
    # The composition root builds services from adapters, and injects the web layer's email and digest
    # renderers into them; it never knows of the dev server (local/) that injects its own pieces.
    "wiring": {"adapters", "services", "domain", "ports", "web", "errors", "settings", "observability"},
    # The dead-letter redrive CLI runs the services wiring builds; `make redrive` passes local ones.
    "redrive": {"wiring"},
}


def _module_name(path: Path, root: Path = ROOT) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, module: str = "") -> list[tuple[int, str]]:
    """(line, absolute module name) of every import in ``path``: top-level, inside functions, under
    TYPE_CHECKING; relative ones resolved against ``module``, the dotted name of ``path``."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                package = module if path.name == "__init__.py" else module.rpartition(".")[0]
                for _ in range(node.level - 1):
                    package = package.rpartition(".")[0]
                base = f"{package}.{base}".strip(".")
            # ``from chalicelib import wiring`` imports the module chalicelib.wiring.
            found += [(node.lineno, f"{base}.{alias.name}") for alias in node.names]
        elif isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
    return found


def _sources(root: Path = ROOT) -> dict[str, Path]:
    """Every module of the application: app.py and chalicelib, by dotted name."""
    modules = {_module_name(p, root): p for p in (root / "chalicelib").rglob("*.py")}
    modules["app"] = root / "app.py"
    return modules


def _resolve(name: str, modules: dict[str, Path]) -> str | None:
    """The module an imported name lives in (``chalicelib.web.emails.render`` -> ``chalicelib.web.emails``)."""
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


def _layer(module: str) -> str:
    return "app" if module == "app" else module.split(".")[1]


def _chalicelib_imports(module: str, path: Path, modules: dict[str, Path]) -> list[tuple[int, str]]:
    resolved = ((line, _resolve(name, modules)) for line, name in _imports(path, module))
    return [(line, target) for line, target in resolved if target and target != "chalicelib" and target != module]


def test_every_module_belongs_to_a_layer_with_its_rule() -> None:
    layers = {_layer(m) for m in _sources() if m != "chalicelib"}
    assert layers - set(ALLOWED) == {"local"}


@pytest.mark.parametrize("layer", sorted(ALLOWED))
def test_each_layer_imports_only_the_layers_inside_it(layer: str) -> None:
    modules = _sources()
    mine = {m: p for m, p in modules.items() if m != "chalicelib" and _layer(m) == layer}
    assert mine, f"no modules found for layer {layer}"
    wrong = []
    for module, path in sorted(mine.items()):
        for line, target in _chalicelib_imports(module, path, modules):
            allowed = target != "app" and _layer(target) in ALLOWED[layer] | {layer}
            if not allowed:
                wrong.append(f"{path.relative_to(ROOT)}:{line} imports {target}")
    assert wrong == []


def test_nothing_but_the_dev_server_imports_the_dev_server() -> None:
    # chalicelib/local/ is not in the deployment zip: an import of it from anything shipped would fail in Lambda.
    modules = _sources()
    wrong = [
        f"{path.relative_to(ROOT)}:{line} imports {target}"
        for module, path in sorted(modules.items())
        if module != "chalicelib" and _layer(module) != "local"
        for line, target in _chalicelib_imports(module, path, modules)
        if target.startswith("chalicelib.local")
    ]
    assert wrong == []


def _import_graph(root: Path = ROOT) -> dict[str, set[str]]:
    """Module -> the application modules it imports (a package's __init__ counts: importing a submodule
    runs it first)."""
    modules = _sources(root)
    graph: dict[str, set[str]] = {}
    for module, path in modules.items():
        edges: set[str] = set()
        for _, target in _chalicelib_imports(module, path, modules):
            parts = target.split(".")
            edges |= {".".join(parts[:i]) for i in range(1, len(parts) + 1)} & modules.keys()
        edges.discard(module)
        graph[module] = edges
    return graph


def _a_cycle(graph: dict[str, set[str]]) -> list[str]:
    """One import cycle as [a, b, ..., a], or [] when the graph has none."""
    done: set[str] = set()
    path: list[str] = []
    on_path: set[str] = set()

    def visit(module: str) -> list[str]:
        path.append(module)
        on_path.add(module)
        for target in sorted(graph.get(module, ())):
            if target in on_path:
                return [*path[path.index(target) :], target]
            if target not in done:
                found = visit(target)
                if found:
                    return found
        on_path.discard(path.pop())
        done.add(module)
        return []

    for start in sorted(graph):
        if start not in done:
            found = visit(start)
            if found:
                return found
    return []


def test_app_and_chalicelib_import_nothing_in_a_circle() -> None:
    graph = _import_graph()
    assert {"app", "chalicelib.wiring", "chalicelib.local.server"} <= graph.keys()
    assert "chalicelib.wiring" in graph["app"]
    assert _a_cycle(graph) == []


def test_the_cycle_check_finds_a_cycle_through_a_lazy_import(tmp_path: Path) -> None:
    # The check above must be able to fail: the cycle issue #12 found went app -> wiring -> local -> app.
    package = tmp_path / "chalicelib"
    (package / "local").mkdir(parents=True)
    (package / "__init__.py").write_text("", encoding="utf-8")
    (package / "local" / "__init__.py").write_text("", encoding="utf-8")
    (tmp_path / "app.py").write_text("from chalicelib.wiring import services\n", encoding="utf-8")
    (package / "wiring.py").write_text(
        "def services():\n    from chalicelib.local import stream\n    return stream\n", encoding="utf-8"
    )
    (package / "local" / "stream.py").write_text("def handler():\n    import app\n", encoding="utf-8")
    assert _a_cycle(_import_graph(tmp_path)) == ["app", "chalicelib.wiring", "chalicelib.local.stream", "app"]
    (package / "local" / "stream.py").write_text("def handler():\n    from . import other\n", encoding="utf-8")
    (package / "local" / "other.py").write_text("from chalicelib import wiring\n", encoding="utf-8")
    # A relative import counts too; the cycle is reported from where it closes.
    assert _a_cycle(_import_graph(tmp_path)) == [
        "chalicelib.wiring", "chalicelib.local.stream", "chalicelib.local.other", "chalicelib.wiring"
    ]  # fmt: skip


def test_the_domain_is_pure_standard_library_and_pydantic() -> None:
    outside = []
    for module, path in sorted(_sources().items()):
        if module == "chalicelib" or _layer(module) != "domain":
            continue
        for line, name in _imports(path, module):
            top = name.split(".")[0]
            if top in sys.stdlib_module_names and top not in {"socket", "urllib", "http", "subprocess"}:
                continue
            if top in {"chalicelib", "pydantic", "__future__"}:
                continue
            outside.append(f"{path.relative_to(ROOT)}:{line} imports {name}")
    assert outside == []


def test_the_layering_check_catches_a_service_that_imports_the_web_layer(tmp_path: Path) -> None:
    # The check above must be able to fail: a lazy import inside a function is still an import.
    module = tmp_path / "bad.py"
    module.write_text("def f():\n    from chalicelib.web import emails\n    return emails\n", encoding="utf-8")
    assert _imports(module) == [(2, "chalicelib.web.emails")]
    assert _resolve("chalicelib.web.emails", _sources()) == "chalicelib.web.emails"
    assert _layer("chalicelib.web.emails") not in ALLOWED["services"]

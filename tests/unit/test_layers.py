"""The layers of ``chalicelib`` depend inward only: web -> services -> domain, adapters implement the ports.

Read from the source (every import, including the ones inside functions that keep cold starts cheap),
so a lazy ``from chalicelib.web import ...`` inside a service is caught as surely as a top-level one.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "chalicelib"

# What each layer may import from chalicelib (its own layer always allowed).
ALLOWED: dict[str, set[str]] = {
    "domain": {"errors"},
    "ports": {"domain"},
    "services": {"domain", "errors", "ports", "settings", "observability"},
    "adapters": {"domain", "errors", "ports", "tables", "settings", "observability"},
    "web": {"domain", "errors", "ports", "services", "settings", "observability"},
}


def _imports(path: Path) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "chalicelib":
                found += [(node.lineno, f"chalicelib.{alias.name}") for alias in node.names]
            else:
                found.append((node.lineno, node.module))
        elif isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
    return found


def _layer(path: Path) -> str:
    relative = path.relative_to(PACKAGE)
    return relative.parts[0] if len(relative.parts) > 1 else relative.stem


def _modules_of(layer: str) -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if _layer(p) == layer)


@pytest.mark.parametrize("layer", sorted(ALLOWED))
def test_each_layer_imports_only_the_layers_inside_it(layer: str) -> None:
    modules = _modules_of(layer)
    assert modules, f"no modules found for layer {layer}"
    wrong = []
    for path in modules:
        for line, name in _imports(path):
            parts = name.split(".")
            if parts[0] != "chalicelib" or len(parts) < 2:
                continue
            target = parts[1]
            if target != layer and target not in ALLOWED[layer]:
                wrong.append(f"{path.relative_to(PACKAGE.parent)}:{line} imports {name}")
    assert wrong == []


def test_the_domain_is_pure_standard_library_and_pydantic() -> None:
    outside = []
    for path in _modules_of("domain"):
        for line, name in _imports(path):
            top = name.split(".")[0]
            if top in sys.stdlib_module_names and top not in {"socket", "urllib", "http", "subprocess"}:
                continue
            if top in {"chalicelib", "pydantic", "__future__"}:
                continue
            outside.append(f"{path.relative_to(PACKAGE.parent)}:{line} imports {name}")
    assert outside == []


def test_the_layering_check_catches_a_service_that_imports_the_web_layer(tmp_path: Path) -> None:
    # The check above must be able to fail: a lazy import inside a function is still an import.
    module = tmp_path / "bad.py"
    module.write_text("def f():\n    from chalicelib.web import emails\n    return emails\n", encoding="utf-8")
    assert _imports(module) == [(2, "chalicelib.web")]

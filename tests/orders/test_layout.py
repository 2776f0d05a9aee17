"""The shape of the order service: every JSON route is documented, and no module imports itself back."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from orders.entrypoints.flask_app import create_app
from tests.orders.conftest import settings_for

PACKAGE = Path(__file__).resolve().parents[2] / "orders"


def test_every_json_route_is_in_the_openapi_document(tmp_path):
    from orders.adapters import database

    url = f"sqlite:///{tmp_path / 'layout.db'}"
    database.upgrade(url)
    app = create_app(database.make_engine(url), settings_for(url, tmp_path))
    documented = {
        (path, method.upper())
        for path, operations in app.test_client().get("/api/v1/openapi.json").json["paths"].items()
        for method in operations
    }
    served = {
        (re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule), method)
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api/") or rule.rule == "/health"
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    assert served - documented == {("/api/v1/openapi.json", "GET")}
    assert documented <= served


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports_at_load(path: Path, name: str) -> set[str]:
    """The orders modules ``path`` imports when it is loaded (imports inside functions come later)."""
    found = set()
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module.startswith("orders"):
                found.add(node.module)
                found |= {f"{node.module}.{alias.name}" for alias in node.names}
        elif isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name.startswith("orders")}
    return found - {name}


def test_no_module_of_the_order_service_imports_itself_back():
    modules = {_module_name(p): p for p in PACKAGE.rglob("*.py") if "migrations" not in p.parts}
    graph = {name: _imports_at_load(path, name) & set(modules) for name, path in modules.items()}
    visiting, done, cycles = set(), set(), []

    def visit(name: str, trail: list[str]) -> None:
        if name in done:
            return
        if name in visiting:
            cycles.append(trail[trail.index(name) :] + [name])
            return
        visiting.add(name)
        for imported in sorted(graph[name]):
            # importing a package's module loads the package first: that is not a cycle
            if not name.startswith(imported + "."):
                visit(imported, [*trail, imported])
        visiting.discard(name)
        done.add(name)

    for name in sorted(graph):
        visit(name, [name])
    assert not cycles, cycles[:3]

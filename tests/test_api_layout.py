"""The API layer keeps one home for each concern (docs/design.md, issue 17).

- No module of service/api/routes/ imports another routes module: what two routes share
  (request parameters, cache headers, file responses, JSON and idempotency helpers, the tile
  endpoint's core) lives in its own module outside routes/.
- Outside routes/, only service/api/app.py (which mounts the routers) imports a routes module.
- No module of service/api imports a leading-underscore name of another module.
- No test module imports another test module or conftest: shared test helpers live in
  tests/support/ (and tests/browser/).

Read from the source with ``ast``: ``import``, ``from ... import`` and relative imports alike,
and ``importlib.import_module`` / ``__import__`` with a literal name. The tests themselves may
import route modules (to patch them); the application, the migrations and the benchmarks may not.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[1]
ROUTES = "service.api.routes"
APP_MODULE = "service.api.app"
# Where the application's own code lives (tests/ is left out on purpose: see the docstring).
CHECKED_TREES = ("service", "spatial", "migrations", "bench")


def module_name(path: Path, root: Path = PROJECT_ROOT) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _package_of(module: str, is_package: bool) -> list[str]:
    parts = module.split(".")
    return parts if is_package else parts[:-1]


def imported_names(source: str, module: str, *, is_package: bool = False) -> list[tuple[str, int]]:
    """(dotted name, line) of everything ``module`` imports: each module named, and for
    ``from M import a`` also ``M.a`` (which may be a submodule); relative imports resolved."""
    found: list[tuple[str, int]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.extend((alias.name, node.lineno) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                package = _package_of(module, is_package)
                base = package[: len(package) - (node.level - 1)] if node.level > 1 else package
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            found.append((target, node.lineno))
            found.extend((f"{target}.{alias.name}", node.lineno) for alias in node.names if alias.name != "*")
        elif (
            isinstance(node, ast.Call)
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
            if name in ("import_module", "__import__"):
                found.append((node.args[0].value, node.lineno))
    return found


def _in_routes(name: str) -> bool:
    return name == ROUTES or name.startswith(ROUTES + ".")


def route_import_problems(source: str, module: str, *, is_package: bool = False) -> list[str]:
    """What is wrong with the routes imports of ``module`` (empty when nothing)."""
    if module == APP_MODULE:
        return []
    problems = []
    for name, line in imported_names(source, module, is_package=is_package):
        if not _in_routes(name) or name == module:
            continue
        if _in_routes(module):
            problems.append(f"{module}:{line} imports {name}: routes modules never import each other")
        else:
            problems.append(f"{module}:{line} imports {name}: only {APP_MODULE} imports routes modules")
    return sorted(set(problems))


def private_import_problems(source: str, module: str, *, is_package: bool = False) -> list[str]:
    """Leading-underscore names ``module`` takes from another of the project's modules."""
    problems = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and (
            node.level or (node.module or "").split(".")[0] in ("service", "spatial")
        ):
            for alias in node.names:
                if alias.name.startswith("_") and not alias.name.startswith("__"):  # __version__ is public
                    problems.append(f"{module}:{node.lineno} imports the private name {alias.name}")
    return problems


def _project_modules(*trees: str):
    for tree in trees:
        for path in sorted((PROJECT_ROOT / tree).rglob("*.py")):
            yield path, module_name(path)


def test_no_routes_module_is_imported_but_by_the_app():
    modules = list(_project_modules(*CHECKED_TREES))
    assert any(name.startswith(ROUTES + ".") for _, name in modules), "no routes modules found: wrong root?"
    problems = [
        problem
        for path, name in modules
        for problem in route_import_problems(path.read_text(), name, is_package=path.name == "__init__.py")
    ]
    assert not problems, "\n".join(problems)


def test_the_api_layer_imports_no_private_names():
    problems = [
        problem
        for path, name in _project_modules("service/api")
        for problem in private_import_problems(path.read_text(), name, is_package=path.name == "__init__.py")
    ]
    assert not problems, "\n".join(problems)


# --- the checks themselves catch every form of import ---------------------------------------------


@pytest.mark.parametrize(
    "module, source",
    [
        ("service.api.routes.basemap", "import service.api.routes.tiles"),
        ("service.api.routes.basemap", "import service.api.routes.tiles as tile_routes"),
        ("service.api.routes.basemap", "from service.api.routes import tiles"),
        ("service.api.routes.basemap", "from service.api.routes.offline import PMTILES"),
        ("service.api.routes.basemap", "from . import offline"),
        ("service.api.routes.basemap", "from .offline import PMTILES"),
        ("service.api.routes.basemap", "from ..routes.offline import PMTILES"),
        ("service.api.routes.basemap", "def f():\n    from service.api.routes.tiles import answer\n"),
        ("service.api.routes.basemap", "import importlib\nimportlib.import_module('service.api.routes.tiles')"),
        ("service.api.tile_fast_path", "from service.api.routes import tiles as tile_routes"),
        ("service.api.tile_fast_path", "from .routes.tiles import answer"),
        ("service.api.tile_fast_path", "from . import routes"),
        ("service.api.tile_fast_path", "import service.api.routes"),
        ("service.api.spec", "from service.api.routes.services import CategoryParam"),
        ("service.cli", "from .api.routes import meta"),
        ("bench.load", "from service.api.routes.services import DETAIL_CACHE_BYTES"),
    ],
)
def test_a_routes_import_is_found_in_every_form(module, source):
    assert route_import_problems(source, module), source


@pytest.mark.parametrize(
    "module, source",
    [
        ("service.api.routes.basemap", "from service.api.http_cache import cached_json"),
        ("service.api.routes.basemap", "from ..file_responses import PMTILES"),
        ("service.api.routes.basemap", "from service.maps import basemap, packs"),
        ("service.api.routes.basemap", "import service.api.routes_helpers"),
        ("service.api.app", "from service.api.routes import handoffs, me, meta"),
        ("service.api.app", "from .routes import tiles"),
    ],
)
def test_imports_that_are_allowed(module, source):
    assert route_import_problems(source, module) == []


def test_a_routes_package_init_resolves_relative_imports_from_itself():
    assert route_import_problems("from . import tiles", ROUTES, is_package=True)
    assert route_import_problems("from .. import errors", ROUTES, is_package=True) == []


def test_private_names_taken_from_another_module_are_found():
    assert private_import_problems("from service.api.routes.services import _categories", "service.api.routes.tiles")
    assert private_import_problems("from .errors import _handler_for", "service.api.tile_fast_path")
    assert (
        private_import_problems(
            "from __future__ import annotations\nfrom typing import Annotated\nfrom service import __version__",
            "service.api.state",
        )
        == []
    )


def _is_test_module(name: str) -> bool:
    """tests.test_x and tests.conftest: modules pytest collects, never a library for another."""
    last = name.rsplit(".", 1)[-1]
    return name.startswith("tests.") and (last.startswith("test_") or last == "conftest")


def test_no_test_module_imports_another():
    """Test helpers live in tests/support (or tests/browser), written once: no test module
    imports another test module or conftest (pytest loads conftest itself)."""
    modules = list(_project_modules("tests"))
    assert any(name == "tests.support.servers" for _, name in modules), "tests/support missing: wrong root?"
    problems = [
        f"{name}:{line} imports {target}"
        for path, name in modules
        for target, line in imported_names(path.read_text(), name, is_package=path.name == "__init__.py")
        if _is_test_module(target) and target != name
    ]
    assert not problems, "\n".join(problems)


def test_a_test_module_import_is_recognised():
    assert _is_test_module("tests.test_tiles") and _is_test_module("tests.conftest")
    assert not _is_test_module("tests.support.servers") and not _is_test_module("tests.browser.app")

"""The layers of docs/STYLE.md, bottom to top; each module imports only from its own layer or below.

    0 pure         earnest.contract, earnest.engine and the pure top-level helpers
    1 store        earnest.store
    2 service      earnest.service
    3 application  earnest.app, earnest.bootstrap
    4 entry points earnest.api, earnest.web, earnest.demo, earnest.cli

Every import counts: at module level, inside functions, and under ``TYPE_CHECKING``. Entry
points may use one another only downward (the CLI starts the API server; the API never imports
the CLI). The SDK, ``earnest.client``, imports nothing of the server. The pure layer imports no
database, HTTP or terminal library. And the API, the dashboard and the CLI never name
``earnest.store``: a handler that needs the store means a service method is missing.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = "earnest"

PURE, STORE, SERVICE, APPLICATION, ENTRY = range(5)
LAYER_NAMES = ("pure", "store", "service", "application", "entry point")

#: Every part of the package and its layer. A new top-level module or package must be placed
#: here explicitly (``test_every_module_has_a_layer``).
LAYERS: dict[str, int] = {
    "earnest": PURE,  # the package's own __init__ only, not everything below it
    "earnest.contract": PURE,
    "earnest.engine": PURE,
    "earnest.errors": PURE,
    "earnest.rules": PURE,
    "earnest.access": PURE,
    "earnest.signals": PURE,
    "earnest.simulate": PURE,
    "earnest.backtest": PURE,
    "earnest.timefmt": PURE,
    "earnest.jsonio": PURE,
    "earnest.clock": PURE,
    "earnest.files": PURE,
    "earnest.billing": PURE,  # periods, invoice lines, rounding (docs/STYLE.md), to come
    "earnest.store": STORE,
    "earnest.service": SERVICE,
    "earnest.app": APPLICATION,
    "earnest.bootstrap": APPLICATION,
    "earnest.api": ENTRY,
    "earnest.web": ENTRY,  # the dashboard
    "earnest.demo": ENTRY,
    "earnest.cli": ENTRY,
}
#: The SDK: outside the layers, it imports nothing of ``earnest`` but itself.
CLIENT = "earnest.client"
#: Among entry points, one may import another of a lower rank only (or its own package).
ENTRY_RANK = {"earnest.api": 0, "earnest.web": 0, "earnest.demo": 1, "earnest.cli": 2}
#: What the pure layer must not import (top-level distribution names).
IMPURE_LIBRARIES = frozenset(
    {"sqlite3", "psycopg", "sqlalchemy", "alembic", "litestar", "uvicorn", "httpx", "click", "rich"}
)
#: Where the store must not be named, not even in a lazy import or a string.
NO_STORE = ("earnest.api", "earnest.web", "earnest.cli")
STORE_PATTERN = re.compile(r"earnest.store")  # as grep reads it: the dot is any character


@dataclass(frozen=True)
class Import:
    """One imported module, as written at ``path:line`` in ``module``."""

    module: str  # the importing module
    path: Path
    line: int
    target: str  # the imported module, absolute

    def where(self, root: Path) -> str:
        return f"{_shown(self.path, root)}:{self.line}"


def _shown(path: Path, root: Path) -> str:
    """``path`` as the repository names it (``src/earnest/…``)."""
    return path.relative_to(root.parent).as_posix()


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules(root: Path = SRC) -> dict[str, Path]:
    """Every module of the package under ``root``, by dotted name."""
    return {
        module_name(path, root): path
        for path in sorted((root / PACKAGE).rglob("*.py"))
        if "__pycache__" not in path.parts
    }


def _resolve(module: str, path: Path, node: ast.ImportFrom) -> str:
    """The absolute module of ``from <node.module> import …`` (relative imports resolved)."""
    if node.level == 0:
        return node.module or ""
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    base = package[: len(package) - (node.level - 1)]
    return ".".join([*base, node.module] if node.module else base)


def imports(module: str, path: Path, known: set[str]) -> Iterator[Import]:
    """Every import of ``module``, wherever it stands in the file. ``from pkg import name``
    counts as an import of ``pkg.name`` when that is a module of ``known``."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Import(module, path, node.lineno, alias.name)
        elif isinstance(node, ast.ImportFrom):
            base = _resolve(module, path, node)
            for alias in node.names:
                candidate = f"{base}.{alias.name}"
                target = candidate if candidate in known else base
                yield Import(module, path, node.lineno, target)


def owner(module: str) -> str | None:
    """The entry of :data:`LAYERS` (or :data:`CLIENT`) that ``module`` belongs to."""
    if module == PACKAGE:
        return PACKAGE
    found = [p for p in (*LAYERS, CLIENT) if p != PACKAGE and _within(module, [p])]
    return max(found, key=len) if found else None


def _within(module: str, packages: Iterable[str]) -> bool:
    """Whether ``module`` is one of ``packages`` or inside one."""
    return any(module == p or module.startswith(p + ".") for p in packages)


def layer_violation(item: Import) -> str | None:
    """Why ``item`` breaks the direction of the layers, or None."""
    source, target = owner(item.module), owner(item.target)
    if not _within(item.target, [PACKAGE]):
        return None
    if source == CLIENT:
        return None if target == CLIENT else f"the SDK imports {item.target}"
    if target == CLIENT:
        return None  # the server may use the SDK's public types (none does today)
    if source is None or target is None:
        return None  # reported by test_every_module_has_a_layer
    if source == target:
        return None
    have, want = LAYERS[source], LAYERS[target]
    if want > have:
        return (
            f"{item.module} ({LAYER_NAMES[have]}) imports {item.target}"
            f" ({LAYER_NAMES[want]}, a layer above)"
        )
    if have == want == ENTRY and ENTRY_RANK[target] >= ENTRY_RANK[source]:
        return f"entry point {item.module} imports entry point {item.target}"
    return None


def all_imports(root: Path = SRC) -> list[Import]:
    found = modules(root)
    known = set(found)
    return [item for name, path in found.items() for item in imports(name, path, known)]


def layer_violations(root: Path = SRC) -> list[str]:
    out = []
    for item in all_imports(root):
        why = layer_violation(item)
        if why is not None:
            out.append(f"{item.where(root)}: {why}")
    return out


def impure_imports(root: Path = SRC) -> list[str]:
    return [
        f"{item.where(root)}: {item.module} (pure) imports {item.target}"
        for item in all_imports(root)
        if LAYERS.get(owner(item.module) or "") == PURE
        and item.target.split(".")[0] in IMPURE_LIBRARIES
    ]


def store_mentions(root: Path = SRC) -> list[str]:
    """``grep -rn "earnest.store" src/earnest/api src/earnest/cli`` (the ``.`` as grep reads
    it: any character), plus ``from earnest import store``."""
    found: list[str] = []
    for name, path in modules(root).items():
        if not _within(name, NO_STORE):
            continue
        where = _shown(path, root)
        lines = path.read_text(encoding="utf-8").splitlines()
        found += [
            f"{where}:{number}: {line.strip()}"
            for number, line in enumerate(lines, 1)
            if _mentions_store(line)
        ]
    found += [
        f"{item.where(root)}: imports {item.target}"
        for item in all_imports(root)
        if _within(item.module, NO_STORE)
        and owner(item.target) == "earnest.store"
        and not _mentions_store(item.path.read_text(encoding="utf-8").splitlines()[item.line - 1])
    ]
    return sorted(found)


def _mentions_store(line: str) -> bool:
    return STORE_PATTERN.search(line) is not None


def unplaced(root: Path = SRC) -> list[str]:
    return [
        f"{_shown(path, root)}: {name} has no layer in tests/test_layers.py"
        for name, path in modules(root).items()
        if owner(name) is None
    ]


# The tree ----------------------------------------------------------------------------------


def test_the_tree_is_found() -> None:
    names = set(modules())
    assert {"earnest", "earnest.engine.decide", "earnest.store.base", "earnest.app"} <= names
    assert len(all_imports()) > 200


def test_every_module_has_a_layer() -> None:
    found = unplaced()
    assert found == [], "\n" + "\n".join(found)


def test_imports_point_down_the_layers() -> None:
    found = layer_violations()
    assert found == [], "\n" + "\n".join(found)


def test_the_pure_layer_imports_no_io_library() -> None:
    found = impure_imports()
    assert found == [], "\n" + "\n".join(found)


def test_api_and_cli_never_name_the_store() -> None:
    found = store_mentions()
    assert found == [], "\n" + "\n".join(found)


# The checker, on a small tree of its own ----------------------------------------------------


def _tree(root: Path, files: dict[str, str]) -> Path:
    root = root / "src"
    for name, text in files.items():
        path = root / PACKAGE / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    return _tree(
        tmp_path,
        {
            "__init__.py": "",
            "engine/__init__.py": "from earnest.engine import model\n",
            "engine/model.py": (
                "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
                "    from earnest.service import x\n"
            ),
            "contract/__init__.py": "def f():\n    import sqlalchemy.orm\n",
            "store/__init__.py": "from . import base\n",
            "store/base.py": "from ..engine import model\nfrom .. import app\n",
            "service/__init__.py": "from earnest import store\n",
            "app.py": "import earnest.service\n",
            "api/__init__.py": "from earnest.cli import main\n",
            "api/app.py": "def f():\n    from earnest import store\n",
            "cli/__init__.py": (
                "import earnest.api.app\n# see earnest.store.base\n"
                "def f():\n    from earnest.store import redact\n"
            ),
            "client/__init__.py": "from earnest.errors import X\nfrom earnest.client import _a\n",
            "client/_a.py": "",
            "extra.py": "",
        },
    )


def test_the_checker_catches_an_upward_import(tree: Path) -> None:
    assert layer_violations(tree) == [
        "src/earnest/api/__init__.py:1: entry point earnest.api imports entry point earnest.cli",
        "src/earnest/client/__init__.py:1: the SDK imports earnest.errors",
        "src/earnest/engine/model.py:3: earnest.engine.model (pure) imports earnest.service"
        " (service, a layer above)",
        "src/earnest/store/base.py:2: earnest.store.base (store) imports earnest.app"
        " (application, a layer above)",
    ]


def test_the_checker_catches_an_impure_import(tree: Path) -> None:
    assert impure_imports(tree) == [
        "src/earnest/contract/__init__.py:2: earnest.contract (pure) imports sqlalchemy.orm"
    ]


def test_the_checker_catches_the_store_in_api_and_cli(tree: Path) -> None:
    assert store_mentions(tree) == [
        "src/earnest/api/app.py:2: imports earnest.store",
        "src/earnest/cli/__init__.py:2: # see earnest.store.base",
        "src/earnest/cli/__init__.py:4: from earnest.store import redact",
    ]


def test_the_checker_catches_an_unplaced_module(tree: Path) -> None:
    assert unplaced(tree) == [
        "src/earnest/extra.py: earnest.extra has no layer in tests/test_layers.py"
    ]

"""The core (earnest.contract, earnest.engine, earnest.billing) does no I/O and never reads a clock.

Time is an argument there; storage, HTTP and files belong to the shell around it.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "earnest"
CORE = ("contract", "engine", "billing")

FORBIDDEN_MODULES = frozenset(
    {
        "asyncio", "http", "io", "logging", "os", "pathlib", "psycopg", "random", "secrets",
        "shutil", "socket", "sqlalchemy", "sqlite3", "subprocess", "sys", "tempfile",
        "threading", "time", "urllib", "uuid",
    }
)  # fmt: skip
FORBIDDEN_CALLS = frozenset({"now", "utcnow", "today", "time", "monotonic", "perf_counter"})
FORBIDDEN_NAMES = frozenset({"open", "input", "print", "exec", "eval", "__import__"})


def core_files() -> list[Path]:
    return sorted(p for package in CORE for p in (SRC / package).rglob("*.py"))


def violations(path: Path, root: Path = SRC) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: list[str] = []
    for node in ast.walk(tree):
        where = f"{path.relative_to(root)}:{getattr(node, 'lineno', 0)}"
        if isinstance(node, ast.Import):
            found += [
                f"{where} imports {a.name}"
                for a in node.names
                if a.name.split(".")[0] in FORBIDDEN_MODULES
            ]
        elif isinstance(node, ast.ImportFrom) and node.module:
            if node.module.split(".")[0] in FORBIDDEN_MODULES:
                found.append(f"{where} imports from {node.module}")
        elif isinstance(node, ast.Attribute) and node.attr in FORBIDDEN_CALLS:
            found.append(f"{where} uses .{node.attr}")
        elif isinstance(node, ast.Name) and node.id in FORBIDDEN_NAMES:
            found.append(f"{where} uses {node.id}")
    return found


def test_core_modules_exist() -> None:
    names = {p.relative_to(SRC).as_posix() for p in core_files()}
    assert "engine/decide.py" in names
    assert "contract/model.py" in names


@pytest.mark.parametrize("path", core_files(), ids=lambda p: p.relative_to(SRC).as_posix())
def test_core_module_is_pure(path: Path) -> None:
    assert violations(path) == []


def test_the_checker_catches_impurity(tmp_path: Path) -> None:
    bad = tmp_path / "impure.py"
    bad.write_text(
        "import time\nfrom datetime import datetime\nx = datetime.now()\ny = open('f')\n",
        encoding="utf-8",
    )
    assert violations(bad, tmp_path) == [
        "impure.py:1 imports time",
        "impure.py:3 uses .now",
        "impure.py:4 uses open",
    ]

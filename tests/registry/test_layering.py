"""Dependencies point one way, optional integrations fail with an install hint."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import consilience
import consilience.registry as registry_pkg
from consilience.errors import MissingDependencyError
from consilience.registry._deps import require

SRC = Path(consilience.__file__).parent
CORE = ("effects", "pooling", "compare", "diagnostics", "design", "curves", "quality")


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_the_statistical_core_never_imports_the_registry() -> None:
    checked = 0
    for package in CORE:
        for path in (SRC / package).rglob("*.py"):
            bad = {
                n for n in _imports(path) if n.startswith(("consilience.registry", "sqlalchemy"))
            }
            assert not bad, f"{path.relative_to(SRC)} imports {sorted(bad)}"
            checked += 1
    assert checked > 0


def test_registry_commands_load_sqlalchemy_only_when_run() -> None:
    code = (
        "import sys, consilience.cli.registry_cmd\n"
        "loaded = sorted(m for m in sys.modules if m.startswith(('sqlalchemy', 'alembic', "
        "'consilience.registry', 'mlflow', 'psycopg')))\n"
        "print(loaded)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_registry_exports_are_listed() -> None:
    assert sorted(registry_pkg.__all__) == sorted(set(registry_pkg.__all__))
    for name in registry_pkg.__all__:
        assert hasattr(registry_pkg, name), name


def test_missing_optional_packages_raise_an_install_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "mlflow", None)
    with pytest.raises(MissingDependencyError, match=r"pip install 'consilience\[mlflow\]'"):
        require("mlflow")
    monkeypatch.setitem(sys.modules, "psycopg", None)
    with pytest.raises(
        MissingDependencyError, match=r"needed for PostgreSQL registries .*consilience\[registry\]"
    ):
        require("psycopg")
    assert isinstance(MissingDependencyError("x"), ImportError)

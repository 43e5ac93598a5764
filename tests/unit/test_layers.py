"""The app's layers: pages -> backend -> localaws, and within backend the local AWS reached through backend.local_aws
alone, with top-level imports; no module of backend/ or pages/ over 600 lines."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.conftest import PROJECT_ROOT

BACKEND = sorted((PROJECT_ROOT / "backend").rglob("*.py"))
PAGES = sorted((PROJECT_ROOT / "pages").rglob("*.py"))


def imported(path: Path) -> list[tuple[str, bool]]:
    """Every module a file imports, and whether the import sits inside a function."""
    tree = ast.parse(path.read_text(), str(path))
    in_function = {
        id(node)
        for function in ast.walk(tree)
        if isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef)
        for node in ast.walk(function)
    }
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, id(node) in in_function) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.append((node.module, id(node) in in_function))
    return found


def name(path: Path) -> str:
    return str(path.relative_to(PROJECT_ROOT))


def test_only_backend_local_aws_imports_the_local_aws_package_and_at_its_top() -> None:
    importers = {name(path) for path in BACKEND for module, _ in imported(path) if module.split(".")[0] == "localaws"}
    assert importers == {"backend/local_aws.py"}
    assert all(not inside for module, inside in imported(PROJECT_ROOT / "backend" / "local_aws.py"))


@pytest.mark.parametrize("path", [*PAGES, PROJECT_ROOT / "streamlit_app.py"], ids=name)
def test_the_ui_reaches_aws_only_through_backend(path: Path) -> None:
    assert not [module for module, _ in imported(path) if module.split(".")[0] in {"localaws", "boto3", "botocore"}]


@pytest.mark.parametrize("path", BACKEND, ids=name)
def test_backend_never_imports_the_ui(path: Path) -> None:
    assert not [module for module, _ in imported(path) if module.split(".")[0] in {"pages", "streamlit"}]


@pytest.mark.parametrize("path", [*BACKEND, *PAGES], ids=name)
def test_modules_stay_small(path: Path) -> None:
    assert len(path.read_text().splitlines()) <= 600

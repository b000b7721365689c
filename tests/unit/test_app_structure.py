"""The window's parts do not import it back, and no slot asks who sent its signal (read from
the source: no Qt needed)."""

from __future__ import annotations

import ast
from pathlib import Path

APP = Path(__file__).resolve().parents[2] / "app"
MAY_IMPORT_WINDOW = {"entry.py", "main_window.py"}


def imported_modules(path: Path) -> set[str]:
    """Every module ``path`` imports, TYPE_CHECKING blocks included."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


def test_only_the_entry_point_imports_the_main_window():
    offenders = [
        p.name
        for p in sorted(APP.glob("*.py"))
        if p.name not in MAY_IMPORT_WINDOW and "app.main_window" in imported_modules(p)
    ]
    assert offenders == []


def test_no_slot_asks_for_its_sender():
    offenders = [p.name for p in sorted(APP.glob("*.py")) if "sender()" in p.read_text(encoding="utf-8")]
    assert offenders == []

"""The window's options kept from one session to the next (``<config>/preferences.json``).

Only on/off options the user sets in a menu are kept (``REMEMBERED``); a missing or damaged
file reads as the defaults, and a read-only config folder is no error (best effort, like the
recent list).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

from PySide6.QtGui import QAction

from evosam.paths import user_config_dir
from evosam.project.files import write_atomic

REMEMBERED = ("follow", "fast_propagation", "redetect", "show_masks")  # action names (``app.actions.SPECS``)


def preferences_file() -> Path:
    return user_config_dir() / "preferences.json"


def read_preferences() -> dict[str, bool]:
    """The kept options, by action name (only those in ``REMEMBERED`` with a boolean value)."""
    try:
        raw = json.loads(preferences_file().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(raw, dict):
        return {}
    return {k: v for k, v in raw.items() if k in REMEMBERED and isinstance(v, bool)}


def remember(name: str, value: bool) -> None:
    """Keep option ``name`` at ``value`` (best effort)."""
    items = {**read_preferences(), name: bool(value)}
    try:
        preferences_file().parent.mkdir(parents=True, exist_ok=True)
        write_atomic(preferences_file(), json.dumps(items, indent=1, sort_keys=True).encode())
    except OSError:
        pass


def keep_options(actions: Mapping[str, QAction]) -> None:
    """Set each remembered checkable action as the last session left it (its ``toggled``
    handlers run, as for a click), then keep every later change."""
    kept = read_preferences()
    for name in REMEMBERED:
        act = actions[name]
        if name in kept:
            act.setChecked(kept[name])
        act.toggled.connect(lambda on, name=name: remember(name, on))

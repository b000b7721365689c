"""Where EvoSAM keeps its files on the user's machine (platformdirs, no admin rights needed).

=============  ==========================================  ==============================
what           Linux default                               Windows default
=============  ==========================================  ==============================
config         ``~/.config/evosam-annotator``              ``%LOCALAPPDATA%\\evosam-annotator``
data           ``~/.local/share/evosam-annotator``         ``%LOCALAPPDATA%\\evosam-annotator``
checkpoints    ``<data>/checkpoints``                      ``<data>\\checkpoints``
cache          ``~/.cache/evosam-annotator``               ``%LOCALAPPDATA%\\evosam-annotator\\Cache``
=============  ==========================================  ==============================

``EVOSAM_HOME=DIR`` moves everything under ``DIR/config``, ``DIR/data`` and ``DIR/cache`` (tests, portable
installs). Nothing here creates a folder: callers that write call ``mkdir`` themselves.
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP_NAME = "evosam-annotator"
HOME_ENV = "EVOSAM_HOME"


def _home() -> Path | None:
    """The ``EVOSAM_HOME`` override as an absolute path, or None when unset or empty."""
    value = os.environ.get(HOME_ENV, "").strip()
    return Path(value).expanduser().resolve() if value else None


def user_config_dir() -> Path:
    """Folder of the user's settings (a typed settings file lives here)."""
    home = _home()
    if home is not None:
        return home / "config"
    return Path(platformdirs.user_config_dir(APP_NAME, appauthor=False))


def user_data_dir() -> Path:
    """Folder of the user's data: checkpoints and, for offline installs, the private venv."""
    home = _home()
    if home is not None:
        return home / "data"
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def checkpoints_dir() -> Path:
    """Folder searched for user-supplied model checkpoints (file names: ``REGISTRY[...].checkpoint_hint``)."""
    return user_data_dir() / "checkpoints"


def user_cache_dir() -> Path:
    """Folder of files EvoSAM can rebuild (e.g. the OpenVINO-converted image encoder)."""
    home = _home()
    if home is not None:
        return home / "cache"
    return Path(platformdirs.user_cache_dir(APP_NAME, appauthor=False))


def fresh_home(folder: Path) -> Path:
    """Make ``folder`` an empty ``EVOSAM_HOME`` (no settings, recent list or autosaves) whose
    cache and checkpoints are the current ones, linked (the converted model and the user's
    checkpoints are not made again); returns it. Where links cannot be made, the cache starts
    empty. For scripts and tests that must not see the user's state."""
    (folder / "data").mkdir(parents=True, exist_ok=True)
    for shared, mine in ((user_cache_dir(), folder / "cache"), (checkpoints_dir(), folder / "data" / "checkpoints")):
        shared.mkdir(parents=True, exist_ok=True)
        try:
            mine.symlink_to(shared, target_is_directory=True)
        except OSError:
            pass
    return folder

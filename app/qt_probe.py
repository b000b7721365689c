"""``python -m app.qt_probe``: open a QGuiApplication (no window) and print its platform name.

``evosam doctor`` runs this in a child process, so the engine never imports Qt and a
platform plugin that aborts (no display) cannot take the doctor down with it.
"""

from __future__ import annotations

import sys


def main() -> int:
    from PySide6.QtGui import QGuiApplication

    app = QGuiApplication(sys.argv[:1])
    print(app.platformName())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

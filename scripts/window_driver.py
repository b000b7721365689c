"""What the scripts that drive the real window share (``screenshots.py``, ``box_latency.py``,
``window_memory.py``): running Qt's event loop while the window works. Import it after torch
(torch before PySide6, as in main.py)."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QEventLoop, QTimer
from PySide6.QtWidgets import QApplication

from app.main_window import MainWindow


def run_events(seconds: float, until: Callable[[], bool] = lambda: False) -> bool:
    """Run Qt's event loop for ``seconds``, or until ``until()`` holds (polled every 20 ms: the
    poll only ends the loop, a script that times something takes its times in slots).
    Returns ``until()``."""
    loop, timer = QEventLoop(), QTimer()
    timer.timeout.connect(lambda: loop.quit() if until() else None)
    timer.start(20)
    QTimer.singleShot(int(seconds * 1000), loop.quit)
    loop.exec()
    timer.stop()
    return until()


def window_status() -> str:
    """The main window's status bar and unfinished jobs (what a timeout should say)."""
    win = next((w for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow)), None)
    if win is None:
        return "no window"
    jobs = [type(j).__name__ for j in win.controller.jobs.jobs]
    return f"status bar: {win.statusBar().currentMessage()!r}, jobs {jobs}"


def wait(until: Callable[[], bool], timeout_s: float = 180) -> None:
    """Run the event loop until ``until()`` holds; SystemExit after ``timeout_s``."""
    if not run_events(timeout_s, until):
        raise SystemExit(f"timed out waiting for the window ({window_status()})")

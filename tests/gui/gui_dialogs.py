"""Answering the window's modal dialogs in GUI tests: the dialog runs its own event loop, so a
timer polls (every 10 ms, no fixed sleep) until it is the active modal widget and hands it over."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QDialog, QFileDialog, QLineEdit


def answer(open_dialog: Callable[[], object], respond: Callable[[QDialog], None]) -> None:
    """Call ``open_dialog`` (it opens a modal dialog and returns when the dialog closes);
    ``respond(dialog)`` runs once the dialog shows and must accept or reject it. A failure
    in ``respond`` rejects the dialog, then propagates from here."""
    errors: list[BaseException] = []
    timer = QTimer(interval=10)

    def poll() -> None:
        dialog = QApplication.activeModalWidget()
        if not isinstance(dialog, QDialog) or not dialog.isVisible():
            return
        timer.stop()
        try:
            respond(dialog)
        except BaseException as exc:  # noqa: BLE001 - re-raised below, after the dialog is closed
            errors.append(exc)
            dialog.reject()

    timer.timeout.connect(poll)
    timer.start()
    try:
        open_dialog()
    finally:
        timer.stop()
    if errors:
        raise errors[0]


def file_name_edit(dialog: QFileDialog) -> QLineEdit:
    """The file name field of Qt's own file dialog."""
    return dialog.findChild(QLineEdit, "fileNameEdit")

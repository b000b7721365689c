"""The window's file dialogs: where they open, what they propose, the extension a typed name gets.

The choices are pure functions of the open clip (its video, its project folder), tested
without a dialog: exports are proposed beside the project (a named one) or the video, named
after the video (``clip.json``, ``clip_overlay.mp4``, ``clip_masks``), never in the folder the
program was started from. ``Dialogs`` runs them over the window.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QObject, Qt
from PySide6.QtWidgets import QAbstractButton, QDialog, QFileDialog, QInputDialog, QMainWindow, QMessageBox

from app.controller import AnnotationController
from app.display import plural
from app.export import which_masks
from app.projects import SavedProject


@dataclass(frozen=True)
class ExportSpec:
    """One export's dialog: ``title``, ``name_filter``, the ``suffix`` its file must end with
    ("" for a folder) and its proposed ``name`` (``{stem}``: the video's name without suffix)."""

    title: str
    name_filter: str
    suffix: str
    name: str


EXPORTS = {
    "png": ExportSpec("Export mask dataset to a new folder", "Folders (*)", "", "{stem}_masks"),
    "coco": ExportSpec("Export COCO JSON", "COCO JSON (*.json)", ".json", "{stem}.json"),
    "video": ExportSpec("Export overlay video", "MP4 video (*.mp4)", ".mp4", "{stem}_overlay.mp4"),
}


def bundled_folder() -> Path:
    """The folder of the bundled sample (inside the installation: no place for the user's files)."""
    from evosam.sample import default_sample_path

    return default_sample_path().parent


def work_folder(video: Path | None, project: Path | None = None, untitled: bool = True) -> Path:
    """The folder file dialogs open in: the one holding a named ``project`` folder, else the
    one holding the ``video`` (a file or a frame folder); the home folder when there is
    neither, or when that folder cannot be written or holds the bundled sample."""
    home = Path.home()
    if project is not None and not untitled:
        folder = Path(project).parent
    elif video is not None:
        folder = Path(video).resolve().parent
    else:
        return home
    if not folder.is_dir() or not os.access(folder, os.W_OK) or folder.resolve() == bundled_folder().resolve():
        return home
    return folder


def export_target(kind: str, video: Path | None, project: Path | None = None, untitled: bool = True) -> Path:
    """The path the ``kind`` export's dialog proposes (see ``work_folder`` and ``EXPORTS``)."""
    stem = Path(video).stem if video is not None else "export"
    return work_folder(video, project, untitled) / EXPORTS[kind].name.format(stem=stem)


def with_suffix(kind: str, chosen: str | Path) -> Path:
    """The path the user chose, with the ``kind``'s extension appended when it ends with
    another one or none (``review`` -> ``review.mp4``; ``kept.json`` stays)."""
    path, suffix = Path(chosen), EXPORTS[kind].suffix
    if suffix and path.suffix.lower() != suffix:
        path = path.with_name(path.name + suffix)
    return path


def save_dialog(parent: QMainWindow, title: str, proposed: Path, name_filter: str, suffix: str = "") -> QFileDialog:
    """A Save dialog opened in ``proposed``'s folder with its name filled in; a name typed
    without an extension gets ``suffix``."""
    dialog = QFileDialog(parent, title, str(proposed.parent), name_filter)
    dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
    dialog.setFileMode(QFileDialog.FileMode.AnyFile)
    if suffix:
        dialog.setDefaultSuffix(suffix.lstrip("."))
    dialog.selectFile(proposed.name)
    return dialog


def chosen(dialog: QFileDialog) -> str | None:
    """Run ``dialog`` (modal); the path chosen, or None when it was cancelled."""
    if dialog.exec() != QDialog.DialogCode.Accepted or not dialog.selectedFiles():
        return None
    return dialog.selectedFiles()[0]


class Dialogs(QObject):
    """The window's dialogs over ``window``, for ``controller``'s open clip."""

    def __init__(self, window: QMainWindow, controller: AnnotationController) -> None:
        super().__init__(window)
        self.window, self.controller = window, controller
        self.offer: QMessageBox | None = None  # "this video has a saved project", while it stands

    def _places(self) -> tuple[Path | None, Path | None, bool]:
        c = self.controller
        return c.video_path, c.projects.path, c.projects.untitled

    def export(self, kind: str) -> None:
        """File ▸ Export …: ask where, then export in the background."""
        spec = EXPORTS[kind]
        title = f"{spec.title} ({which_masks(kind)} masks)"
        dialog = save_dialog(self.window, title, export_target(kind, *self._places()), spec.name_filter, spec.suffix)
        out = chosen(dialog)
        if out:
            self.controller.export(kind, with_suffix(kind, out))

    def jump(self) -> None:
        """View ▸ Go to frame: frames numbered from 0, as in exports and on the command line."""
        player = self.controller.player
        last = player.frame_count - 1
        value, ok = QInputDialog.getInt(self.window, "Go to frame", f"Frame (0–{last}):", player.current, 0, last)
        if ok:
            player.seek(value)

    def offer_project(self, found: SavedProject) -> None:
        """A video opened blank has a saved project: say so, and offer to open it (not blocking)."""
        self.close_offer()
        saved = time.strftime("%Y-%m-%d %H:%M", time.localtime(found.saved))
        what = f"{found.path.name} ({plural(found.masks, 'mask')}, saved {saved})"
        self.window.statusBar().showMessage(f"This video has a saved project, {what}: opened blank.", 15000)
        box = QMessageBox(
            QMessageBox.Icon.Question,
            "Saved project",
            f"This video has a saved project: {what}.\nIt was opened blank; open the project instead?",
            QMessageBox.StandardButton.Open | QMessageBox.StandardButton.Cancel,
            self.window,
        )
        box.setObjectName("saved_project_offer")
        box.setInformativeText(str(found.path))
        box.button(QMessageBox.StandardButton.Cancel).setText("Start blank")
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.buttonClicked.connect(lambda button: self._on_offer_answered(box, button, found.path))
        self.offer = box
        box.open()

    def _on_offer_answered(self, box: QMessageBox, button: QAbstractButton, path: Path) -> None:
        if self.offer is box:
            self.offer = None
        if box.standardButton(button) == QMessageBox.StandardButton.Open:
            self.controller.projects.open(path)

    def close_offer(self) -> None:
        """Another clip is shown: an offer for the previous one no longer holds."""
        if self.offer is not None:
            self.offer.close()
            self.offer = None

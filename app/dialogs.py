"""The window's file dialogs: where they open, what they propose, the extension a typed name gets.

The choices are pure functions of the open clip (its video, its project folder), tested
without a dialog: every dialog opens beside the project (a named one) or the video, never in
the folder the program was started from; exports are named after the video (``clip.json``,
``clip_overlay.mp4``, ``clip_masks``). Qt's own dialog (where the system has none) opens in
the detail view, big enough to read names, sizes and dates. ``Dialogs`` runs them over the window.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QObject, Qt
from PySide6.QtWidgets import (
    QAbstractButton,
    QDialog,
    QFileDialog,
    QInputDialog,
    QMainWindow,
    QMessageBox,
    QTreeView,
    QWidget,
)

from app.controller import AnnotationController
from app.display import plural
from app.export import which_masks
from app.projects import SUFFIX, SavedProject


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


DIALOG_SIZE = (960, 600)  # pixels: Qt's own file dialog, names and dates readable
NAME_COLUMN = 420  # pixels: its Name column


def readable(dialog: QFileDialog) -> QFileDialog:
    """The detail view, ``DIALOG_SIZE``, a Name column of ``NAME_COLUMN`` (Qt's own dialog
    opens small, its columns cut; a system dialog keeps its own look)."""
    dialog.setViewMode(QFileDialog.ViewMode.Detail)
    dialog.resize(*DIALOG_SIZE)
    tree = dialog.findChild(QTreeView, "treeView")
    if tree is not None:
        tree.header().resizeSection(0, NAME_COLUMN)
    return dialog


def open_dialog(parent: QWidget, title: str, folder: Path, name_filter: str = "", folders: bool = False) -> QFileDialog:
    """An Open dialog in ``folder`` for a file (``name_filter``) or, with ``folders``, a folder."""
    dialog = QFileDialog(parent, title, str(folder), name_filter)
    dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptOpen)
    dialog.setFileMode(QFileDialog.FileMode.Directory if folders else QFileDialog.FileMode.ExistingFile)
    if folders:
        dialog.setOption(QFileDialog.Option.ShowDirsOnly)
    return readable(dialog)


def save_dialog(parent: QWidget, title: str, proposed: Path, name_filter: str, suffix: str = "") -> QFileDialog:
    """A Save dialog opened in ``proposed``'s folder with its name filled in; a name typed
    without an extension gets ``suffix``."""
    dialog = QFileDialog(parent, title, str(proposed.parent), name_filter)
    dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
    dialog.setFileMode(QFileDialog.FileMode.AnyFile)
    if suffix:
        dialog.setDefaultSuffix(suffix.lstrip("."))
    dialog.selectFile(proposed.name)
    return readable(dialog)


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

    def folder(self) -> Path:
        """Where dialogs open now (``work_folder`` of the open clip)."""
        return work_folder(*self._places())

    def open_video(self) -> None:
        """File ▸ Open video."""
        videos = "Videos (*.mp4 *.avi *.mov *.mkv);;All files (*)"
        path = chosen(open_dialog(self.window, "Open video", self.folder(), videos))
        if path:
            self.controller.open_path(path)

    def open_folder(self) -> None:
        """File ▸ Open frame folder."""
        path = chosen(open_dialog(self.window, "Open a folder of frames", self.folder(), folders=True))
        if path:
            self.controller.open_path(path)

    def open_project(self) -> None:
        """File ▸ Open project."""
        path = chosen(open_dialog(self.window, f"Open project (a {SUFFIX} folder)", self.folder(), folders=True))
        if path:
            self.controller.projects.open(path)

    def save(self) -> None:
        """Ctrl+S: save now; an untitled project first asks where."""
        if self.controller.projects.untitled:
            self.save_as()
        else:
            self.controller.projects.save()

    def save_as(self) -> None:
        """File ▸ Save project as: a folder, proposed beside the video (or the project)."""
        projects = self.controller.projects
        if projects.path is None:
            return
        proposed = self.folder() / projects.suggested_name()
        path = chosen(save_dialog(self.window, "Save project as (a folder)", proposed, f"Projects (*{SUFFIX})"))
        if path:
            projects.save_as(path)

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

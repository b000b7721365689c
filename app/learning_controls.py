"""The learning dock's glue: shows ``Teaching``'s state in the ``LearningPanel`` and turns the
panel's buttons into teaching requests (asking names, paths and confirmation in dialogs)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QInputDialog, QMessageBox, QWidget

from app.dialogs import chosen, open_dialog, save_dialog
from app.learning import LearningPanel
from app.teaching import Teaching
from evosam.head.head import ALL_PROFILES, DEFAULT_PROFILE

HEAD_FILTER = "EvoSAM head (*.npz)"


class LearningControls(QObject):
    """Keeps ``panel`` showing ``teaching``; dialogs open over ``dialogs``, file dialogs in
    the folder ``folder()`` names (the open clip's)."""

    def __init__(
        self, teaching: Teaching, panel: LearningPanel, dialogs: QWidget, folder: Callable[[], Path] = Path.home
    ) -> None:
        super().__init__(dialogs)
        self.teaching, self.panel, self.dialogs, self.folder = teaching, panel, dialogs, folder
        teaching.shown.connect(self._on_shown)
        p, t = panel, teaching
        p.teach_into_selected.connect(lambda name: t.set_profiles(teach_into=name))
        p.predict_with_selected.connect(lambda name: t.set_profiles(predict_with=name))
        p.new_profile_requested.connect(self._on_new_profile)
        p.unteach_last_requested.connect(t.unteach_last)
        p.reset_requested.connect(self._on_reset)
        p.save_requested.connect(self._on_save)
        p.load_requested.connect(self._on_load)

    def _on_shown(self) -> None:
        """The dock: the current label's report, the profiles, the selections."""
        t = self.teaching
        u = t.latest
        if u is None:
            self.panel.set_state([], DEFAULT_PROFILE, ALL_PROFILES, 0)
        else:
            self.panel.set_state(u.profile_names, u.profile, u.predict_with, u.taught_frames)
        self.panel.show_report(t.report(t.label), t.teach_ms(t.label))

    def _on_new_profile(self) -> None:
        name, ok = QInputDialog.getText(
            self.dialogs, "New task profile", "Profile name (e.g. 'cholecystectomy vessels'):"
        )
        if ok and name.strip():
            self.teaching.set_profiles(teach_into=name.strip())

    def _on_reset(self) -> None:
        answer = QMessageBox.question(
            self.dialogs,
            "Reset the head",
            f"Forget what the head learned for {self.teaching.label!r}? Other labels keep theirs.",
        )
        if answer == QMessageBox.StandardButton.Yes:
            self.teaching.reset()

    def _on_save(self) -> None:
        title = "Save the head (every label)"
        path = chosen(save_dialog(self.dialogs, title, self.folder() / "head.npz", HEAD_FILTER, ".npz"))
        if path:
            self.teaching.save(path)

    def _on_load(self) -> None:
        path = chosen(open_dialog(self.dialogs, "Load a head (replaces every label's)", self.folder(), HEAD_FILTER))
        if path:
            self.teaching.load(path)

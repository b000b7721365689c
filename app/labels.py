"""The label list: a colour swatch and a name per label, the current one selected."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QSignalBlocker, Qt, Signal
from PySide6.QtGui import QColor, QIcon, QPixmap
from PySide6.QtWidgets import QInputDialog, QListWidget, QListWidgetItem, QPushButton, QVBoxLayout, QWidget

from app.state import Label


def swatch(color: tuple[int, int, int], size: int = 14) -> QIcon:
    pm = QPixmap(size, size)
    pm.fill(QColor(*color))
    return QIcon(pm)


class LabelPanel(QWidget):
    """``label_selected(name)`` when the user picks a label; ``add_requested(name)`` when
    the user asks for a new one (the window adds it to the state and calls ``set_labels``)."""

    label_selected = Signal(str)
    add_requested = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.list = QListWidget(self)
        self.add_button = QPushButton("Add label…", self)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.list, 1)
        layout.addWidget(self.add_button)
        self.list.currentItemChanged.connect(self._on_current_changed)
        self.add_button.clicked.connect(self._on_add_clicked)

    def set_labels(self, labels: Sequence[Label], current: str) -> None:
        with QSignalBlocker(self.list):
            self.list.clear()
            for lab in labels:
                item = QListWidgetItem(swatch(lab.color), lab.name)
                item.setData(Qt.ItemDataRole.UserRole, lab.name)
                self.list.addItem(item)
                if lab.name == current:
                    self.list.setCurrentItem(item)

    def current(self) -> str | None:
        item = self.list.currentItem()
        return None if item is None else item.data(Qt.ItemDataRole.UserRole)

    def _on_current_changed(self, item: QListWidgetItem | None, _previous: QListWidgetItem | None) -> None:
        if item is not None:
            self.label_selected.emit(item.data(Qt.ItemDataRole.UserRole))

    def _on_add_clicked(self) -> None:
        name, ok = QInputDialog.getText(self, "Add label", "Name of the new label:")
        if ok and name.strip():
            self.add_requested.emit(name.strip())

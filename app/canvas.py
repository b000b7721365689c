"""The frame view: one frame, one mask overlay, and the box / brush / eraser gestures.

Gestures become signals in frame pixels ((x, y), x = column); the canvas never changes
a mask itself. Wheel zooms under the cursor; middle or right drag, or Space + left drag,
pans; a double middle click fits the frame again.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from typing import TypeVar

import numpy as np
from PySide6.QtCore import QEvent, QPoint, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import (
    QBrush,
    QColor,
    QKeyEvent,
    QMouseEvent,
    QPainter,
    QPainterPath,
    QPen,
    QPixmap,
    QResizeEvent,
    QWheelEvent,
)
from PySide6.QtWidgets import (
    QGraphicsEllipseItem,
    QGraphicsItem,
    QGraphicsPathItem,
    QGraphicsPixmapItem,
    QGraphicsRectItem,
    QGraphicsScene,
    QGraphicsSimpleTextItem,
    QGraphicsView,
    QWidget,
)

from app.overlay import mask_outline, mask_to_image, rgb_to_pixmap

Box = tuple[float, float, float, float]
ItemT = TypeVar("ItemT", bound=QGraphicsItem)


class Tool(enum.StrEnum):
    BOX = "box"
    POINT = "point"
    BRUSH = "brush"
    ERASER = "eraser"


class LabelTag(QGraphicsRectItem):
    """A label's name on a tag of its colour, a constant size on screen at any zoom."""

    PAD = 3.0  # screen pixels around the name

    def __init__(self) -> None:
        super().__init__()
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations)
        self.setPen(QPen(Qt.PenStyle.NoPen))
        self._name = QGraphicsSimpleTextItem(self)
        font = self._name.font()
        font.setBold(True)
        self._name.setFont(font)
        self._name.setPos(self.PAD, self.PAD / 2)

    def set_label(self, name: str, color: tuple[int, int, int]) -> None:
        self._name.setText(name)
        light = 0.299 * color[0] + 0.587 * color[1] + 0.114 * color[2] > 140
        self._name.setBrush(QColor(0, 0, 0) if light else QColor(255, 255, 255))
        self.setBrush(QColor(*color, 220))
        text = self._name.boundingRect()
        self.setRect(0, 0, text.width() + 2 * self.PAD, text.height() + self.PAD)

    def text(self) -> str:
        return self._name.text()


class Canvas(QGraphicsView):
    box_drawn = Signal(object)  # Box (x0, y0, x1, y1) in frame pixels
    point_clicked = Signal(float, float, bool)  # x, y frame pixels; True = positive, False = negative (Shift)
    stroke_drawn = Signal(object, float, bool)  # [(x, y), ...], radius in pixels, True = paint / False = erase
    space_tapped = Signal()  # Space pressed and released without panning (play/pause)
    box_started = Signal()  # a box drag began (the window says which label it goes to)
    refused = Signal(str)  # a gesture that draws nothing, and why (for the status bar)

    MIN_BOX = 2.0  # boxes smaller than this (pixels) are treated as a stray click

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setScene(QGraphicsScene(self))
        self.setRenderHints(QPainter.RenderHint.Antialiasing | QPainter.RenderHint.SmoothPixmapTransform)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.NoAnchor)
        self.setBackgroundBrush(QColor(30, 30, 30))
        self.setMouseTracking(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.tool = Tool.BOX
        self.brush_radius = 6.0
        self._fit = True
        self._drag: str | None = None  # "pan", "box", "stroke"
        self._last_pos = QPointF()
        self._origin = QPointF()
        self._stroke: list[tuple[float, float]] = []
        self._space_held = self._space_used = False
        self._frame_item = self._add(QGraphicsPixmapItem(), 0)
        self._fill_item = self._add(QGraphicsPixmapItem(), 1)
        self._outline_item = self._add(QGraphicsPathItem(), 2)
        self._box_item = self._add(QGraphicsRectItem(), 3)
        self._stroke_item = self._add(QGraphicsPathItem(), 4)
        self._cursor_item = self._add(QGraphicsEllipseItem(), 5)
        self._other_items: list[QGraphicsPathItem] = []
        self._point_items: list[QGraphicsEllipseItem] = []
        self._overlay_on = True
        self._caption = self._add(LabelTag(), 7)  # the label a box goes to, by the box
        self.set_label("", (255, 255, 255))
        self._cursor_item.setPen(self._cosmetic(QColor(255, 255, 255), 1.0))
        self._cursor_item.setVisible(False)

    # -- public API --------------------------------------------------------------------
    def set_frame(self, rgb: np.ndarray) -> None:
        """Show an RGB uint8 (H, W, 3) frame; keeps zoom unless the frame size changes."""
        h, w = rgb.shape[:2]
        self.set_pixmap(rgb_to_pixmap(rgb))
        if self.sceneRect() != QRectF(0, 0, w, h):
            self.setSceneRect(QRectF(0, 0, w, h))
            self.fit()

    def set_pixmap(self, pixmap: QPixmap) -> None:
        self._frame_item.setPixmap(pixmap)

    def set_mask(
        self, mask: np.ndarray | None, color: tuple[int, int, int] = (0, 200, 255), faded: bool = False
    ) -> None:
        """Overlay a bool (H, W) mask: translucent fill plus an outline that stays 2 screen
        pixels wide at any zoom (thin vessels stay visible). ``faded``: outline only, dotted."""
        if mask is None or not mask.any():
            self._fill_item.setPixmap(QPixmap())
            self._outline_item.setPath(QPainterPath())
            return
        qcolor = QColor(*color)
        if faded:
            self._fill_item.setPixmap(QPixmap())
            self._outline_item.setPen(self._cosmetic(QColor(200, 200, 200), 1.5, Qt.PenStyle.DotLine))
        else:
            self._fill_item.setPixmap(QPixmap.fromImage(mask_to_image(mask, color, 90)))
            self._outline_item.setPen(self._cosmetic(qcolor, 2.0))
        self._outline_item.setPath(mask_outline(mask))

    def outline(self) -> QPainterPath:
        """The current mask's outline as drawn (empty when none)."""
        return self._outline_item.path()

    def other_mask_count(self) -> int:
        """How many other labels' masks are drawn as context."""
        return len(self._other_items)

    def set_other_masks(self, masks: Sequence[tuple[np.ndarray, tuple[int, int, int]]]) -> None:
        """Thin outlines of other labels' masks (bool (H, W), colour) on this frame, for context."""
        for item in self._other_items:
            self.scene().removeItem(item)
        self._other_items = []
        for mask, color in masks:
            item = self._add(QGraphicsPathItem(mask_outline(mask)), 1.5)
            item.setPen(self._cosmetic(QColor(*color, 170), 1.0))
            item.setOpacity(1.0 if self._overlay_on else 0.0)
            self._other_items.append(item)

    def set_overlay_visible(self, visible: bool) -> None:
        """Show or hide every mask, outline and the box (the frame stays)."""
        self._overlay_on = visible
        for item in (self._fill_item, self._outline_item, self._box_item, self._caption, *self._other_items):
            item.setOpacity(1.0 if visible else 0.0)

    def overlay_visible(self) -> bool:
        return self._overlay_on

    def set_label(self, name: str, color: tuple[int, int, int]) -> None:
        """The current label: boxes are drawn in its colour, captioned with its name."""
        self._box_item.setPen(self._cosmetic(QColor(*color), 1.5, Qt.PenStyle.DashLine))
        self._caption.set_label(name, color)
        self._caption.setVisible(self._box_item.isVisible() and bool(name))

    def show_box(self, box: Box | None) -> None:
        """Show the last box prompt (frame pixels) with the label's caption, or hide it."""
        if box is not None:
            x0, y0, x1, y1 = box
            self._box_item.setRect(QRectF(x0, y0, x1 - x0, y1 - y0))
        self._show_box_item(box is not None)

    def _show_box_item(self, shown: bool) -> None:
        self._box_item.setVisible(shown)
        self._caption.setVisible(shown and bool(self._caption.text()))
        if shown:  # above the box's top-left corner (inside it at the frame's top edge)
            top_left = self._box_item.rect().topLeft()
            self._caption.setPos(top_left)
            height = self._caption.boundingRect().height() / max(self.transform().m22(), 1e-6)
            if top_left.y() - height >= self.sceneRect().top():
                self._caption.setPos(top_left.x(), top_left.y() - height)

    def show_points(self, points: Sequence[tuple[float, float, bool]]) -> None:
        """Markers of the clicked points (x, y frame pixels, positive?): green +, red -, a
        constant 10 screen pixels wide at any zoom."""
        for item in self._point_items:
            self.scene().removeItem(item)
        self._point_items = []
        for x, y, positive in points:
            item = self._add(QGraphicsEllipseItem(-5, -5, 10, 10), 6)
            item.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations)
            item.setPos(x, y)
            item.setBrush(QColor(40, 220, 90) if positive else QColor(240, 60, 60))
            item.setPen(self._cosmetic(QColor(255, 255, 255), 1.5))
            self._point_items.append(item)

    def set_tool(self, tool: Tool) -> None:
        self.tool = Tool(tool)
        self._update_cursor(None)

    def set_brush_radius(self, radius: float) -> None:
        self.brush_radius = max(1.0, float(radius))
        self._update_cursor(None)

    def fit(self) -> None:
        """Scale the frame to fit the view."""
        self._fit = True
        if not self.sceneRect().isEmpty():
            self.fitInView(self.sceneRect(), Qt.AspectRatioMode.KeepAspectRatio)

    def zoom(self, factor: float, anchor: QPoint | None = None) -> None:
        """Scale by ``factor`` (between half the fit scale and 64x), keeping the scene point
        under the viewport position ``anchor`` (default: the centre) where it is."""
        anchor = self.viewport().rect().center() if anchor is None else anchor
        before = self.mapToScene(anchor)
        current = self.transform().m11()
        factor = min(max(factor, 0.5 * self._fit_scale() / current), 64.0 / current)
        self._fit = False
        self.scale(factor, factor)
        delta = self.mapFromScene(before) - anchor
        self.horizontalScrollBar().setValue(self.horizontalScrollBar().value() + delta.x())
        self.verticalScrollBar().setValue(self.verticalScrollBar().value() + delta.y())

    # -- Qt events ---------------------------------------------------------------------
    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt override
        super().resizeEvent(event)
        if self._fit:
            self.fit()

    def wheelEvent(self, event: QWheelEvent) -> None:  # noqa: N802
        steps = event.angleDelta().y() / 120.0
        if steps:
            self.zoom(1.25**steps, event.position().toPoint())

    def event(self, event: QEvent) -> bool:
        # Take Space from the window's play/pause shortcut while the canvas has focus:
        # a tap still plays/pauses (space_tapped), a hold + drag pans.
        if event.type() == QEvent.Type.ShortcutOverride and event.key() == Qt.Key.Key_Space:
            event.accept()
            return True
        return super().event(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802
        if event.key() == Qt.Key.Key_Space:
            if not event.isAutoRepeat():
                self._space_held, self._space_used = True, False
                self.viewport().setCursor(Qt.CursorShape.OpenHandCursor)
            return
        super().keyPressEvent(event)

    def keyReleaseEvent(self, event: QKeyEvent) -> None:  # noqa: N802
        if event.key() == Qt.Key.Key_Space:
            if not event.isAutoRepeat():
                self._space_held = False
                self.viewport().unsetCursor()
                if not self._space_used:
                    self.space_tapped.emit()
            return
        super().keyReleaseEvent(event)

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        button = event.button()
        pos = self.mapToScene(event.position().toPoint())
        self._last_pos = event.position()
        if button in (Qt.MouseButton.MiddleButton, Qt.MouseButton.RightButton) or (
            button == Qt.MouseButton.LeftButton and self._space_held
        ):
            self._drag, self._space_used = "pan", True
            self.viewport().setCursor(Qt.CursorShape.ClosedHandCursor)
        elif button == Qt.MouseButton.LeftButton and self.tool == Tool.POINT:
            if self.sceneRect().contains(pos):
                negative = bool(event.modifiers() & Qt.KeyboardModifier.ShiftModifier)
                self.point_clicked.emit(pos.x(), pos.y(), not negative)
            else:
                self.refused.emit("The point lies outside the frame: click on the image.")
        elif button == Qt.MouseButton.LeftButton and self.tool == Tool.BOX:
            self._drag, self._origin = "box", pos
            self._box_item.setRect(QRectF(pos, pos))
            self._show_box_item(True)
            self.box_started.emit()
        elif button == Qt.MouseButton.LeftButton:
            self._drag, self._stroke = "stroke", [(pos.x(), pos.y())]
            self._draw_stroke_preview()
        event.accept()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        pos = self.mapToScene(event.position().toPoint())
        if self._drag == "pan":
            delta = event.position() - self._last_pos
            self._last_pos = event.position()
            self.horizontalScrollBar().setValue(self.horizontalScrollBar().value() - int(delta.x()))
            self.verticalScrollBar().setValue(self.verticalScrollBar().value() - int(delta.y()))
            self._fit = False
        elif self._drag == "box":
            self._box_item.setRect(QRectF(self._origin, pos).normalized())
            self._show_box_item(True)
        elif self._drag == "stroke":
            self._stroke.append((pos.x(), pos.y()))
            self._draw_stroke_preview()
        self._update_cursor(pos)
        event.accept()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        drag, self._drag = self._drag, None
        pos = self.mapToScene(event.position().toPoint())
        if drag == "pan":
            if self._space_held:
                self.viewport().setCursor(Qt.CursorShape.OpenHandCursor)
            else:
                self.viewport().unsetCursor()
        elif drag == "box":
            self._finish_box(QRectF(self._origin, pos).normalized())
        elif drag == "stroke":
            self._stroke.append((pos.x(), pos.y()))
            self._stroke_item.setPath(QPainterPath())
            self.stroke_drawn.emit(list(self._stroke), self.brush_radius, self.tool == Tool.BRUSH)
            self._stroke = []
        event.accept()

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        if event.button() == Qt.MouseButton.MiddleButton:
            self.fit()
        else:
            self.mousePressEvent(event)

    def leaveEvent(self, event: QEvent) -> None:  # noqa: N802
        self._cursor_item.setVisible(False)
        super().leaveEvent(event)

    # -- helpers -----------------------------------------------------------------------
    def _finish_box(self, drawn: QRectF) -> None:
        rect = drawn.intersected(self.sceneRect())
        if rect.width() < self.MIN_BOX or rect.height() < self.MIN_BOX:
            self._show_box_item(False)
            if drawn.width() < self.MIN_BOX or drawn.height() < self.MIN_BOX:
                self.refused.emit("A click draws no box: drag from one corner of the structure to the other.")
            else:
                self.refused.emit("The box lies outside the frame: draw it on the image.")
            return
        self._box_item.setRect(rect)
        self._show_box_item(True)
        self.box_drawn.emit((rect.left(), rect.top(), rect.right(), rect.bottom()))

    def _draw_stroke_preview(self) -> None:
        path = QPainterPath(QPointF(*self._stroke[0]))
        for x, y in self._stroke[1:]:
            path.lineTo(x, y)
        if len(self._stroke) == 1:
            path.lineTo(self._stroke[0][0] + 0.01, self._stroke[0][1])
        color = QColor(0, 255, 120, 120) if self.tool == Tool.BRUSH else QColor(255, 60, 60, 120)
        pen = QPen(
            color, 2 * self.brush_radius, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap, Qt.PenJoinStyle.RoundJoin
        )
        self._stroke_item.setPen(pen)
        self._stroke_item.setPath(path)

    def _update_cursor(self, pos: QPointF | None) -> None:
        brushing = self.tool in (Tool.BRUSH, Tool.ERASER)
        if pos is None:
            pos = self._cursor_item.rect().center()
        r = self.brush_radius
        self._cursor_item.setRect(QRectF(pos.x() - r, pos.y() - r, 2 * r, 2 * r))
        self._cursor_item.setVisible(brushing and self.underMouse())

    def _fit_scale(self) -> float:
        rect = self.sceneRect()
        if rect.isEmpty():
            return 1.0
        view = self.viewport().rect()
        return min(view.width() / rect.width(), view.height() / rect.height())

    def _add(self, item: ItemT, z: float) -> ItemT:
        item.setZValue(z)
        self.scene().addItem(item)
        return item

    @staticmethod
    def _cosmetic(color: QColor, width: float, style: Qt.PenStyle = Qt.PenStyle.SolidLine) -> QPen:
        pen = QPen(QBrush(color), width, style)
        pen.setCosmetic(True)
        return pen

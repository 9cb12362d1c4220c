"""The trader's own drawings on a chart: horizontal line, trend line, rectangle, text note.

Drawings are anchored in (UTC ns, price), never in bar index: the chart's x is the bar index,
which means something else after a timeframe switch. The layer keeps the records as the truth
and places graphics through the chart's `x_of_time`; a move made with the mouse goes back
through `time_of_x`. `remap()` re-places everything when the series changes, without touching
the records, so a 1m -> 5m -> 1m round trip cannot drift a drawing.

Creation intercepts the plot's mouse events only while a tool is armed, so panning, zooming and
the crosshair behave as usual the rest of the time. Every change the user makes emits `changed`
(the panel saves then); loading and remapping do not.
"""

from __future__ import annotations

import logging
import math
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any, cast

import pyqtgraph as pg
from PySide6.QtCore import QEvent, QObject, QPoint, QPointF, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QKeyEvent, QMouseEvent, QPainter
from PySide6.QtWidgets import (
    QGraphicsItem,
    QGraphicsView,
    QInputDialog,
    QStyleOptionGraphicsItem,
    QWidget,
)

from app.gui.chart.drawing_store import DrawingKind, DrawingRecord

log = logging.getLogger(__name__)

XOfTime = Callable[[int], float]
TimeOfX = Callable[[float], int]
TextPrompt = Callable[[str], "str | None"]
"""Asked for a note's text (given the current text); None or blank cancels."""

DEFAULT_COLOUR = "#2962ff"
DRAWING_COLOURS: tuple[str, ...] = ("#2962ff", "#ef6c00", "#089981", "#e91e63", "#ab47bc")
"""Colours with at least 3:1 contrast on both the dark and the light chart background."""

_ID_KEY = 0x4172  # QGraphicsItem.data key holding the drawing id (hit-testing clicks)
_DRAG_PIXELS = 4  # a press that moves less than this is a click, not a drag
_NOTE_FILL_ALPHA = 225
_RECT_FILL_ALPHA = 38


@dataclass(frozen=True)
class DrawingTheme:
    """What a drawing needs from the chart theme: text and fills readable on its background."""

    background: str
    foreground: str
    label_text: str = "#ffffff"  # on the drawing-coloured price tag


THEMES: dict[str, DrawingTheme] = {
    "dark": DrawingTheme(background="#131722", foreground="#d1d4dc"),
    "light": DrawingTheme(background="#ffffff", foreground="#131722"),
}


def default_prompt(parent: QWidget | None) -> TextPrompt:
    """The note text dialog used when the caller does not inject one."""

    def ask(current: str) -> str | None:
        text, ok = QInputDialog.getText(parent, "Text note", "Note:", text=current)
        return text if ok else None

    return ask


class _NoteItem(pg.TextItem):  # type: ignore[misc]  # pyqtgraph is untyped
    """A text note the user can click, double-click (edit) and drag."""

    sigClicked = Signal(object)
    sigDoubleClicked = Signal(object)
    sigDragStarted = Signal(object)
    sigDragFinished = Signal(object)

    def __init__(self) -> None:
        super().__init__(anchor=(0, 1))
        self._offset = QPointF()

    def mouseClickEvent(self, ev: Any) -> None:
        if ev.button() != Qt.MouseButton.LeftButton:
            ev.ignore()
            return
        ev.accept()
        (self.sigDoubleClicked if ev.double() else self.sigClicked).emit(self)

    def mouseDragEvent(self, ev: Any) -> None:
        if ev.button() != Qt.MouseButton.LeftButton:
            ev.ignore()
            return
        ev.accept()
        parent = self.parentItem()
        if parent is None:
            return
        here = parent.mapFromScene(ev.scenePos())
        if ev.isStart():
            self._offset = self.pos() - parent.mapFromScene(ev.buttonDownScenePos())
            self.sigDragStarted.emit(self)
        self.setPos(here + self._offset)
        if ev.isFinish():
            self.sigDragFinished.emit(self)


class _RectangleROI(pg.ROI):  # type: ignore[misc]  # pyqtgraph is untyped
    """A rectangle with a light fill and a scale handle on every corner."""

    def __init__(self, pos: tuple[float, float], size: tuple[float, float], **kw: Any) -> None:
        super().__init__(pos, size, rotatable=False, **kw)
        self.fill = QColor(0, 0, 0, 0)
        for corner, centre in (
            ((1, 1), (0, 0)),
            ((0, 0), (1, 1)),
            ((1, 0), (0, 1)),
            ((0, 1), (1, 0)),
        ):
            self.addScaleHandle(corner, centre)

    def paint(self, p: QPainter, opt: QStyleOptionGraphicsItem, widget: QWidget | None) -> None:
        rect = self.boundingRect()
        p.setRenderHint(QPainter.RenderHint.Antialiasing, self._antialias)
        p.setPen(self.currentPen)
        p.setBrush(self.fill)
        p.drawRect(rect)


class _Graphic:
    """One drawing's pyqtgraph item(s): placed from view points, read back after a move."""

    def __init__(self, layer: DrawingLayer, record: DrawingRecord) -> None:
        self.layer = layer
        self.record = record
        self.selected = False

    @property
    def item(self) -> QGraphicsItem:
        raise NotImplementedError

    def place(self, points: list[tuple[float, float]]) -> None:
        raise NotImplementedError

    def view_points(self) -> list[tuple[float, float]]:
        raise NotImplementedError

    def restyle(self, theme: DrawingTheme) -> None:
        raise NotImplementedError

    def pen(self, hover: bool = False) -> Any:
        width = 2.5 if self.selected or hover else 1.5
        return pg.mkPen(self.record.colour, width=width)


class _HorizontalLine(_Graphic):
    def __init__(self, layer: DrawingLayer, record: DrawingRecord) -> None:
        super().__init__(layer, record)
        self.line = pg.InfiniteLine(
            angle=0,
            movable=True,
            label="{value:,.2f}",
            labelOpts={"position": 0.995, "anchors": [(1, 0.5), (1, 0.5)]},
        )
        self.line.sigClicked.connect(lambda *_: layer.select(self.record.id))
        self.line.sigDragged.connect(lambda *_: layer.begin_move(self.record.id))
        self.line.sigPositionChangeFinished.connect(lambda *_: layer.finish_move(self.record.id))

    @property
    def item(self) -> QGraphicsItem:
        return cast(QGraphicsItem, self.line)

    def place(self, points: list[tuple[float, float]]) -> None:
        self.line.setValue(points[0][1])

    def view_points(self) -> list[tuple[float, float]]:
        return [(math.nan, float(self.line.value()))]

    def restyle(self, theme: DrawingTheme) -> None:
        self.line.setPen(self.pen())
        self.line.setHoverPen(self.pen(hover=True))
        label = self.line.label
        label.fill = pg.mkBrush(self.record.colour)
        label.border = pg.mkPen(self.record.colour)
        label.setColor(theme.label_text)
        label.update()


class _TrendLine(_Graphic):
    def __init__(self, layer: DrawingLayer, record: DrawingRecord) -> None:
        super().__init__(layer, record)
        self.roi = pg.LineSegmentROI(positions=[(0.0, 0.0), (1.0, 1.0)])
        _wire_roi(self.roi, layer, self)

    @property
    def item(self) -> QGraphicsItem:
        return cast(QGraphicsItem, self.roi)

    def place(self, points: list[tuple[float, float]]) -> None:
        self.roi.setPos(0.0, 0.0, update=False, finish=False)
        for handle, point in zip(self.roi.getHandles(), points, strict=True):
            self.roi.movePoint(handle, QPointF(*point), finish=False)

    def view_points(self) -> list[tuple[float, float]]:
        points = [self.roi.mapToParent(h.pos()) for h in self.roi.getHandles()]
        return [(p.x(), p.y()) for p in points]

    def restyle(self, theme: DrawingTheme) -> None:
        _style_roi(self.roi, self, theme)


class _Rectangle(_Graphic):
    def __init__(self, layer: DrawingLayer, record: DrawingRecord) -> None:
        super().__init__(layer, record)
        self.roi = _RectangleROI((0.0, 0.0), (1.0, 1.0))
        _wire_roi(self.roi, layer, self)

    @property
    def item(self) -> QGraphicsItem:
        return cast(QGraphicsItem, self.roi)

    def place(self, points: list[tuple[float, float]]) -> None:
        (x0, y0), (x1, y1) = points
        self.roi.setPos((min(x0, x1), min(y0, y1)), update=False, finish=False)
        self.roi.setSize((abs(x1 - x0), abs(y1 - y0)), finish=False)

    def view_points(self) -> list[tuple[float, float]]:
        pos, size = self.roi.pos(), self.roi.size()
        x0, x1 = sorted((pos.x(), pos.x() + size.x()))
        y0, y1 = sorted((pos.y(), pos.y() + size.y()))
        return [(x0, y0), (x1, y1)]

    def restyle(self, theme: DrawingTheme) -> None:
        _style_roi(self.roi, self, theme)
        fill = QColor(self.record.colour)
        fill.setAlpha(_RECT_FILL_ALPHA)
        self.roi.fill = fill
        self.roi.update()


class _TextNote(_Graphic):
    def __init__(self, layer: DrawingLayer, record: DrawingRecord) -> None:
        super().__init__(layer, record)
        self.note = _NoteItem()
        self.note.setZValue(11)
        self.note.sigClicked.connect(lambda *_: layer.select(self.record.id))
        self.note.sigDoubleClicked.connect(lambda *_: layer.edit_text(self.record.id))
        self.note.sigDragStarted.connect(lambda *_: layer.begin_move(self.record.id))
        self.note.sigDragFinished.connect(lambda *_: layer.finish_move(self.record.id))

    @property
    def item(self) -> QGraphicsItem:
        return self.note

    def place(self, points: list[tuple[float, float]]) -> None:
        self.note.setPos(QPointF(*points[0]))

    def view_points(self) -> list[tuple[float, float]]:
        pos = self.note.pos()
        return [(pos.x(), pos.y())]

    def restyle(self, theme: DrawingTheme) -> None:
        fill = QColor(theme.background)
        fill.setAlpha(_NOTE_FILL_ALPHA)
        self.note.fill = pg.mkBrush(fill)
        self.note.border = self.pen()
        self.note.setText(self.record.text, color=theme.foreground)
        self.note.update()


def _wire_roi(roi: pg.ROI, layer: DrawingLayer, graphic: _Graphic) -> None:
    roi.setAcceptedMouseButtons(Qt.MouseButton.LeftButton)
    roi.sigClicked.connect(lambda *_: layer.select(graphic.record.id))
    roi.sigRegionChangeStarted.connect(lambda *_: layer.begin_move(graphic.record.id))
    roi.sigRegionChangeFinished.connect(lambda *_: layer.finish_move(graphic.record.id))


def _style_roi(roi: pg.ROI, graphic: _Graphic, theme: DrawingTheme) -> None:
    roi.setPen(graphic.pen())
    roi.hoverPen = graphic.pen(hover=True)
    for handle in roi.getHandles():
        handle.pen = pg.mkPen(graphic.record.colour, width=1.5)
        handle.currentPen = handle.pen
        handle.hoverPen = pg.mkPen(theme.foreground, width=1.5)
        handle.setVisible(graphic.selected)
        handle.update()


def _colour_name(colour: str) -> str:
    color = QColor(colour)
    if not color.isValid():
        raise ValueError(f"{colour!r} is not a colour")
    return color.name()


_GRAPHICS: dict[DrawingKind, type[_Graphic]] = {
    DrawingKind.HORIZONTAL_LINE: _HorizontalLine,
    DrawingKind.TREND_LINE: _TrendLine,
    DrawingKind.RECTANGLE: _Rectangle,
    DrawingKind.TEXT_NOTE: _TextNote,
}


class DrawingLayer(QObject):
    """The drawings on one plot, the tools that create them, and their (time, price) records."""

    changed = Signal()
    """The user created, moved, edited, recoloured or deleted a drawing: time to save."""
    tool_changed = Signal(str)
    """The armed tool's kind value, or "" when none (so toolbar buttons can un-check)."""
    selection_changed = Signal(str)
    """The selected drawing's id, or "" when none."""

    def __init__(
        self,
        plot: pg.PlotItem,
        x_of_time: XOfTime,
        time_of_x: TimeOfX,
        *,
        prompt: TextPrompt | None = None,
        theme: str = "dark",
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        scene = plot.scene()
        if scene is None or not scene.views():
            raise ValueError("the plot must be shown in a PlotWidget before drawings attach")
        self._plot = plot
        self._vb: pg.ViewBox = plot.getViewBox()
        self._views: list[QGraphicsView] = list(scene.views())
        self._x_of_time = x_of_time
        self._time_of_x = time_of_x
        self._prompt = prompt or default_prompt(self._views[0])
        self._theme = THEMES[theme]
        self._theme_name = theme
        self._colour = DEFAULT_COLOUR
        self._graphics: dict[str, _Graphic] = {}
        self._selected: str | None = None
        self._syncing = False
        # the tool being used
        self._tool: DrawingKind | None = None
        self._anchor: tuple[float, float] | None = None
        self._preview: _Graphic | None = None
        self._press_pixel: QPoint | None = None
        self._swallow_release = False
        for view in self._views:
            view.viewport().installEventFilter(self)
            view.installEventFilter(self)

    # --- state -------------------------------------------------------------------------------

    @property
    def tool(self) -> DrawingKind | None:
        return self._tool

    @property
    def selected(self) -> str | None:
        return self._selected

    @property
    def ids(self) -> list[str]:
        return list(self._graphics)

    @property
    def colour(self) -> str:
        return self._colour

    def __len__(self) -> int:
        return len(self._graphics)

    def to_records(self) -> list[dict[str, Any]]:
        return [g.record.to_dict() for g in self._graphics.values()]

    def load_records(self, records: Iterable[Mapping[str, Any]]) -> list[str]:
        """Replace the drawings (no `changed`); returns why any record was skipped."""
        self._remove_all()
        problems: list[str] = []
        for raw in records:
            try:
                record = DrawingRecord.from_dict(raw)
            except ValueError as exc:
                problems.append(str(exc))
                continue
            if record.id in self._graphics:
                problems.append(f"drawing {record.id} appears twice; the second was skipped")
                continue
            self._add(record)
        for problem in problems:
            log.warning("drawing skipped: %s", problem)
        return problems

    # --- mapping and looks -------------------------------------------------------------------

    def set_mapping(self, x_of_time: XOfTime, time_of_x: TimeOfX) -> None:
        """The series changed (timeframe, instrument): re-place drawings on the new bars."""
        self._x_of_time = x_of_time
        self._time_of_x = time_of_x
        self.remap()

    def remap(self) -> None:
        """Place every drawing from its record; the records themselves are not rewritten."""
        for graphic in self._graphics.values():
            self._place(graphic)

    def set_theme(self, name: str) -> None:
        if name not in THEMES:
            raise ValueError(f"unknown theme {name!r}; expected one of {sorted(THEMES)}")
        self._theme_name = name
        self._theme = THEMES[name]
        for graphic in self._graphics.values():
            graphic.restyle(self._theme)

    @property
    def theme(self) -> str:
        return self._theme_name

    def set_colour(self, colour: str) -> None:
        """The colour for drawings made from now on (existing ones keep theirs)."""
        self._colour = _colour_name(colour)

    def recolour(self, drawing_id: str, colour: str) -> None:
        """Change one drawing's colour (emits changed)."""
        graphic = self._graphics.get(drawing_id)
        name = _colour_name(colour)
        if graphic is None or graphic.record.colour == name:
            return
        graphic.record = replace(graphic.record, colour=name)
        graphic.restyle(self._theme)
        self.changed.emit()

    # --- tools -------------------------------------------------------------------------------

    def start_tool(self, kind: DrawingKind | str) -> None:
        """Arm a tool: the next click(s) in the plot create that drawing."""
        self._drop_preview()
        self._tool = DrawingKind(kind)
        self.select(None)
        for view in self._views:
            view.viewport().setCursor(Qt.CursorShape.CrossCursor)
        self.tool_changed.emit(self._tool.value)

    def cancel_tool(self) -> None:
        """Disarm the tool and drop a half-made drawing (Esc)."""
        was_armed = self._tool is not None
        self._drop_preview()
        self._tool = None
        for view in self._views:
            view.viewport().unsetCursor()
        if was_armed:
            self.tool_changed.emit("")

    def add(
        self,
        kind: DrawingKind | str,
        points: list[tuple[int, float]],
        text: str = "",
        colour: str | None = None,
    ) -> str:
        """Add a drawing from (UTC ns, price) anchors (for code: alerts, tests); emits changed."""
        record = DrawingRecord.from_dict(
            {
                "id": uuid.uuid4().hex[:12],
                "kind": DrawingKind(kind).value,
                "points": [list(p) for p in points],
                "text": text,
                "colour": colour or self._colour,
            }
        )
        self._add(record)
        self.changed.emit()
        return record.id

    # --- selection, edits --------------------------------------------------------------------

    def select(self, drawing_id: str | None) -> None:
        if drawing_id is not None and drawing_id not in self._graphics:
            drawing_id = None
        if drawing_id == self._selected:
            return
        previous = self._graphics.get(self._selected or "")
        self._selected = drawing_id
        if previous is not None:
            previous.selected = False
            previous.restyle(self._theme)
        if drawing_id is not None:
            graphic = self._graphics[drawing_id]
            graphic.selected = True
            graphic.restyle(self._theme)
        self.selection_changed.emit(drawing_id or "")

    def delete(self, drawing_id: str) -> bool:
        graphic = self._graphics.pop(drawing_id, None)
        if graphic is None:
            return False
        if self._selected == drawing_id:
            self._selected = None
            self.selection_changed.emit("")
        self._plot.removeItem(graphic.item)
        self.changed.emit()
        return True

    def delete_selected(self) -> bool:
        return self._selected is not None and self.delete(self._selected)

    def clear(self) -> None:
        """Remove every drawing (emits changed when there were any)."""
        had_any = bool(self._graphics)
        self._remove_all()
        if had_any:
            self.changed.emit()

    def edit_text(self, drawing_id: str) -> None:
        """Ask again for a note's text (double-click on a note)."""
        graphic = self._graphics.get(drawing_id)
        if graphic is None or graphic.record.kind is not DrawingKind.TEXT_NOTE:
            return
        self.select(drawing_id)
        text = self._prompt(graphic.record.text)
        if text is None or not text.strip() or text == graphic.record.text:
            return
        graphic.record = replace(graphic.record, text=text)
        graphic.restyle(self._theme)
        self.changed.emit()

    def begin_move(self, drawing_id: str) -> None:
        """A drag started on a drawing: it becomes the selected one."""
        if not self._syncing:
            self.select(drawing_id)

    def finish_move(self, drawing_id: str) -> None:
        """A drag or handle move ended: read the graphics back into (time, price)."""
        graphic = self._graphics.get(drawing_id)
        if graphic is None or self._syncing:
            return
        old = graphic.record.points
        view = graphic.view_points()
        if graphic.record.kind is DrawingKind.HORIZONTAL_LINE:
            points: tuple[tuple[int, float], ...] = ((old[0][0], view[0][1]),)
        else:
            points = tuple((int(self._time_of_x(x)), float(y)) for x, y in view)
        if points != old:
            graphic.record = replace(graphic.record, points=points)
            self.changed.emit()

    # --- internals ---------------------------------------------------------------------------

    def _add(self, record: DrawingRecord) -> _Graphic:
        graphic = _GRAPHICS[record.kind](self, record)
        graphic.item.setData(_ID_KEY, record.id)
        self._plot.addItem(graphic.item, ignoreBounds=True)
        graphic.restyle(self._theme)
        self._graphics[record.id] = graphic
        self._place(graphic)
        return graphic

    def _place(self, graphic: _Graphic) -> None:
        xs = [(self._x_of_time(ts), price) for ts, price in graphic.record.points]
        visible = all(math.isfinite(x) for x, _ in xs) or (
            graphic.record.kind is DrawingKind.HORIZONTAL_LINE
        )
        graphic.item.setVisible(visible)
        if not visible:
            return
        self._syncing = True
        try:
            graphic.place(xs)
        finally:
            self._syncing = False

    def _remove_all(self) -> None:
        self._drop_preview()
        for graphic in self._graphics.values():
            self._plot.removeItem(graphic.item)
        self._graphics.clear()
        if self._selected is not None:
            self._selected = None
            self.selection_changed.emit("")

    def _drop_preview(self) -> None:
        if self._preview is not None:
            self._plot.removeItem(self._preview.item)
        self._preview = None
        self._anchor = None
        self._press_pixel = None

    def _view_point(self, view: QGraphicsView, pixel: QPoint) -> tuple[float, float] | None:
        scene_pos = view.mapToScene(pixel)
        if not self._vb.sceneBoundingRect().contains(scene_pos):
            return None
        point = self._vb.mapSceneToView(scene_pos)
        return point.x(), point.y()

    def _create(self, kind: DrawingKind, view_points: list[tuple[float, float]], text: str) -> None:
        if kind is DrawingKind.RECTANGLE:  # stored as (left, low), (right, high)
            (x0, y0), (x1, y1) = view_points
            view_points = [(min(x0, x1), min(y0, y1)), (max(x0, x1), max(y0, y1))]
        points = [(int(self._time_of_x(x)), float(y)) for x, y in view_points]
        self.cancel_tool()
        drawing_id = self.add(kind, points, text=text)
        self.select(drawing_id)

    def _ask_note(self, point: tuple[float, float]) -> None:
        text = self._prompt("")
        if text is None or not text.strip():
            self.cancel_tool()
            return
        self._create(DrawingKind.TEXT_NOTE, [point], text)

    def _owner(self, view: QGraphicsView, pixel: QPoint) -> str | None:
        """The drawing under a pixel, if any."""
        for item in view.items(pixel):
            node: QGraphicsItem | None = item
            while node is not None:
                value = node.data(_ID_KEY)
                if isinstance(value, str) and value in self._graphics:
                    return value
                node = node.parentItem()
        return None

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        kind = event.type()
        if kind == QEvent.Type.KeyPress and isinstance(event, QKeyEvent):
            return self._key(event)
        if not isinstance(event, QMouseEvent):
            return False
        view = next((v for v in self._views if v.viewport() is watched), None)
        if view is None:
            return False
        if kind == QEvent.Type.MouseButtonRelease and self._swallow_release:
            self._swallow_release = False  # the release of the click that finished a drawing
            return True
        if self._tool is None:
            if kind == QEvent.Type.MouseButtonPress:
                self._press_pixel = event.position().toPoint()
            elif kind == QEvent.Type.MouseButtonRelease and self._press_pixel is not None:
                moved = (event.position().toPoint() - self._press_pixel).manhattanLength()
                self._press_pixel = None
                if moved < _DRAG_PIXELS and self._owner(view, event.position().toPoint()) is None:
                    self.select(None)  # a click on empty chart
            return False
        return self._tool_event(view, event)

    def _key(self, event: QKeyEvent) -> bool:
        if event.key() == Qt.Key.Key_Escape:
            if self._tool is not None:
                self.cancel_tool()
                return True
            if self._selected is not None:
                self.select(None)
                return True
        elif event.key() in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace):
            return self.delete_selected()
        return False

    def _tool_event(self, view: QGraphicsView, event: QMouseEvent) -> bool:
        """Mouse events while a tool is armed: all are ours except hovering (crosshair)."""
        tool = self._tool
        assert tool is not None
        kind = event.type()
        pixel = event.position().toPoint()
        point = self._view_point(view, pixel)
        if kind in (QEvent.Type.MouseButtonPress, QEvent.Type.MouseButtonDblClick):
            if event.button() == Qt.MouseButton.RightButton:
                self.cancel_tool()
                return True
            if event.button() != Qt.MouseButton.LeftButton or point is None:
                return True
            if tool.point_count == 2 and self._anchor is not None:
                self._swallow_release = True
                self._finish_two_point(point)  # the second click of click-click
                return True
            self._press_pixel = pixel
            if tool.point_count == 2:
                self._anchor = point
                self._preview = self._preview_graphic(tool, point)
            return True
        if kind == QEvent.Type.MouseMove:
            if self._preview is not None and self._anchor is not None and point is not None:
                self._syncing = True
                try:
                    self._preview.place([self._anchor, point])
                finally:
                    self._syncing = False
            return event.buttons() != Qt.MouseButton.NoButton
        if kind == QEvent.Type.MouseButtonRelease:
            if event.button() != Qt.MouseButton.LeftButton:
                return True
            press, self._press_pixel = self._press_pixel, None
            if press is None or point is None:
                return True
            if tool is DrawingKind.HORIZONTAL_LINE:
                self._create(tool, [point], "")
            elif tool is DrawingKind.TEXT_NOTE:
                # after this event returns, so a modal prompt does not run inside the mouse event
                QTimer.singleShot(0, lambda: self._ask_note(point))
            elif (pixel - press).manhattanLength() >= _DRAG_PIXELS:
                self._finish_two_point(point)  # press-drag-release
            return True
        return False

    def _preview_graphic(self, tool: DrawingKind, point: tuple[float, float]) -> _Graphic:
        record = DrawingRecord("preview", tool, ((0, point[1]),) * 2, "", self._colour)
        graphic = _GRAPHICS[tool](self, record)
        self._plot.addItem(graphic.item, ignoreBounds=True)
        graphic.restyle(self._theme)
        self._syncing = True
        try:
            graphic.place([point, point])
        finally:
            self._syncing = False
        return graphic

    def _finish_two_point(self, point: tuple[float, float]) -> None:
        tool, anchor = self._tool, self._anchor
        assert tool is not None and anchor is not None
        if anchor == point:
            return
        self._create(tool, [anchor, point], "")

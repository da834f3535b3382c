"""Layers (depth order) × checkpoints, coloured by how much each tensor moved.

The measure is chosen: relative step (default), distance from the first checkpoint, or norm;
colours are on a log10 scale, so a frozen layer, a layer that stops learning and a late
explosion show at a glance. A step of exactly zero (bit-identical to the checkpoint before)
is grey, a tensor holding NaN or Inf is red, an undefined value (the first step) is blank.
Clicking a cell selects its tensor and checkpoint; double-clicking opens that tensor there.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, QPointF, QRectF, Qt, Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from inspector.core.series_view import FORMULAS, MEASURES, heatmap_keys, heatmap_values, non_finite_cells
from inspector.gui.panels.name_axis import NameAxis, name_axis_width
from inspector.gui.panels.plot_style import WARNING_COLOR, shrinkable_label, style_plot

ZERO_RGBA = (150, 150, 150, 255)


class ColumnAxis(pg.AxisItem):
    """Labels integer positions with given texts, leaving out those that would overlap."""

    def __init__(self) -> None:
        super().__init__("bottom")
        self.labels: list[str] = []

    def tickValues(self, minVal: float, maxVal: float, size: float):
        low, high = sorted((minVal, maxVal))
        first, last = max(math.ceil(low), 0), min(math.floor(high), len(self.labels) - 1)
        if last < first or size <= 0:
            return []
        widest = max((len(label) for label in self.labels), default=1) * 7 + 12
        step = max(1, math.ceil(widest * (high - low) / size))
        return [(step, list(range(first - first % step, last + 1, step)))]

    def tickStrings(self, values, scale, spacing) -> list[str]:
        return [self.labels[int(round(value))] if 0 <= int(round(value)) < len(self.labels) else ""
                for value in values]


class DriftHeatmap(QWidget):
    cellClicked = Signal(str, int)  # key, checkpoint index
    cellActivated = Signal(str, int)  # double-click: open that tensor in that checkpoint

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._document: dict = {"checkpoints": [], "keys": [], "layers": {}}
        self._keys: list[str] = []
        self._values = np.zeros((0, 0))
        self._axis_name = "checkpoint"
        self.measure_box = QComboBox()
        for key, title in MEASURES.items():
            self.measure_box.addItem(title, key)
            self.measure_box.setItemData(self.measure_box.count() - 1, FORMULAS[key], Qt.ItemDataRole.ToolTipRole)
        self.summary = QLabel(wordWrap=True)
        self.hover = shrinkable_label()
        self.name_axis = NameAxis("left")
        self.column_axis = ColumnAxis()
        self.view = pg.GraphicsLayoutWidget()
        self.plot_item = self.view.addPlot(axisItems={"left": self.name_axis, "bottom": self.column_axis})
        self._build_plot()
        self._build_layout()
        self.measure_box.currentIndexChanged.connect(self._on_measure_box_changed)
        self.view.scene().sigMouseMoved.connect(self._on_scene_mouse_moved)
        self.view.scene().sigMouseClicked.connect(self._on_scene_mouse_clicked)

    # -- interface ---------------------------------------------------------------------
    def set_document(self, document: dict, column_labels: list[str], axis_name: str = "checkpoint") -> None:
        """Draw ``document`` as it stands (called again as layers arrive); the columns are
        checkpoints labelled ``column_labels`` on the x axis ``axis_name`` (step, epoch…)."""
        self._document = document
        self._axis_name = axis_name
        self.column_axis.labels = column_labels
        self.column_axis.picture = None
        self.refresh()

    def refresh(self) -> None:
        keys = heatmap_keys(self._document)
        if keys != self._keys:
            self._keys = keys
            self.name_axis.set_names(keys, name_axis_width(self, keys))
        self._values = heatmap_values(self._document, self.measure(), keys)
        self._draw()

    def measure(self) -> str:
        return self.measure_box.currentData()

    def set_measure(self, measure: str) -> None:
        self.measure_box.setCurrentIndex(list(MEASURES).index(measure))

    def keys(self) -> list[str]:
        return list(self._keys)

    def values(self) -> np.ndarray:
        """The chosen measure, rows ``keys()`` × checkpoints (NaN where undefined)."""
        return self._values.copy()

    def cell_center(self, row: int, column: int) -> QPointF:
        """Where cell (row, column) is in scene coordinates (tests click there)."""
        return self.plot_item.vb.mapViewToScene(QPointF(column, row))

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self.name_axis.set_names(self._keys, name_axis_width(self, self._keys))

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.PaletteChange:
            style_plot(self.view, self, grid=False)
        super().changeEvent(event)

    # -- drawing -----------------------------------------------------------------------
    def _build_plot(self) -> None:
        self.plot_item.invertY(True)
        self.plot_item.setMenuEnabled(False)
        self.plot_item.hideButtons()
        self.image = pg.ImageItem(axisOrder="row-major")
        self.marks = pg.ImageItem(axisOrder="row-major")  # grey zeros, red NaN/Inf
        self.plot_item.addItem(self.image)
        self.plot_item.addItem(self.marks)
        self.colorbar = pg.ColorBarItem(colorMap=pg.colormap.get("viridis"), interactive=False, label="log10")
        self.colorbar.setImageItem(self.image, insert_in=self.plot_item)
        style_plot(self.view, self, grid=False)

    def _build_layout(self) -> None:
        controls = QHBoxLayout()
        controls.addWidget(QLabel("Colour:"))
        controls.addWidget(self.measure_box)
        controls.addSpacing(12)
        controls.addWidget(self.hover, 1)  # the cell under the pointer, away from the selected tensor's title
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(controls)
        layout.addWidget(self.summary)
        layout.addWidget(self.view, 1)

    def _draw(self) -> None:
        rows, columns = self._values.shape
        if not rows or not columns:
            self.image.clear()
            self.marks.clear()
            return
        with np.errstate(divide="ignore", invalid="ignore"):
            shown = np.where(self._values > 0, np.log10(self._values), np.nan)
        finite = shown[np.isfinite(shown)]
        self.image.setImage(shown, autoLevels=False)
        low, high = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
        self.colorbar.setLevels((low, high if high > low else low + 1.0))
        self.marks.setImage(self._marks(), autoLevels=False, levels=(0, 255))
        for item in (self.image, self.marks):
            item.setRect(QRectF(-0.5, -0.5, columns, rows))
        self.summary.setText(self._summary_text())
        self.plot_item.setLimits(xMin=-0.5, xMax=columns - 0.5, yMin=-0.5, yMax=rows - 0.5)
        self.plot_item.autoRange(padding=0)

    def _marks(self) -> np.ndarray:
        marks = np.zeros((*self._values.shape, 4), dtype=np.uint8)
        marks[self._values == 0] = ZERO_RGBA
        marks[non_finite_cells(self._document, self._keys)] = WARNING_COLOR.getRgb()
        return marks

    def _summary_text(self) -> str:
        done = sum(1 for key in self._keys if key in self._document["layers"])
        text = f"{len(self._keys)} floating-point tensors × {self._values.shape[1]} checkpoints"
        if done < len(self._keys):
            text += f" · {done} measured so far"
        return text + " · grey: no step at all · red: NaN or Inf · double-click a cell to open that tensor there"

    # -- pointer -----------------------------------------------------------------------
    def cell_at(self, position: QPointF) -> tuple[int, int] | None:
        if not self.plot_item.vb.sceneBoundingRect().contains(position):
            return None
        point = self.plot_item.vb.mapSceneToView(position)
        row, column = int(round(point.y())), int(round(point.x()))
        rows, columns = self._values.shape
        return (row, column) if 0 <= row < rows and 0 <= column < columns else None

    def hover_text(self, row: int, column: int) -> str:
        """The cell's tensor, checkpoint (``step 60``, ``checkpoint #2``) and value."""
        key = self._keys[row]
        layer = self._document["layers"].get(key)
        if layer is None:
            return f"{key} · not measured yet"
        value = self._values[row, column]
        shown = "–" if math.isnan(value) else f"{value:.6g}"
        labels = self.column_axis.labels
        place = f"{self._axis_name} {labels[column]}" if column < len(labels) else ""
        parts = [key, place, f"{self.measure_box.currentText()} = {shown}"]
        nan, inf = layer["nan"][column], layer["inf"][column]
        if nan or inf:
            parts.append(f"{nan:,} NaN, {inf:,} Inf")
        return " · ".join(part for part in parts if part)

    def _on_measure_box_changed(self, _index: int) -> None:
        self.refresh()

    def _on_scene_mouse_moved(self, position: QPointF) -> None:
        cell = self.cell_at(position)
        self.hover.setText(self.hover_text(*cell) if cell is not None else "")

    def _on_scene_mouse_clicked(self, event) -> None:
        cell = self.cell_at(event.scenePos())
        if cell is None:
            return
        row, column = cell
        signal = self.cellActivated if event.double() else self.cellClicked
        signal.emit(self._keys[row], column)

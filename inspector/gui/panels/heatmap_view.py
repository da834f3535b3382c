"""Heatmap of a 2-D slice of a tensor, with controls choosing the slice of N-D tensors.

A conv weight [out, in, kh, kw] shows one kh x kw kernel picked by (out, in) spinboxes, or
all of it reshaped to [out, in*kh*kw]. Big slices arrive strided down (see core.slices).
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, QPointF, QRectF, Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QSpinBox, QVBoxLayout, QWidget

from inspector.core.slices import SliceData, SliceRequest
from inspector.gui.panels.plot_style import integer_ticks, shrinkable_label, style_plot

MODES = ("one slice", "reshape to 2-D")


class HeatmapView(QWidget):
    """Emits ``sliceRequested`` when the user picks another slice; shows ``SliceData``."""

    sliceRequested = Signal(object)  # SliceRequest

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._shape: tuple[int, ...] = ()
        self._reshapable = False  # N-D and contiguous: [d0, rest] is a view
        self._data: SliceData | None = None
        self._index_boxes: list[QSpinBox] = []
        self.mode_box = QComboBox()
        self.mode_box.addItems(MODES)
        self.controls = QHBoxLayout()
        self.info = shrinkable_label(align_right=True)
        self.hover = shrinkable_label()
        self.view = pg.GraphicsLayoutWidget()
        self.plot_item = self.view.addPlot()
        self.plot_item.invertY(True)
        self.plot_item.setMenuEnabled(False)
        self.plot_item.hideButtons()
        self.image = pg.ImageItem(axisOrder="row-major")
        self.plot_item.addItem(self.image)
        self.colorbar = pg.ColorBarItem(colorMap=pg.colormap.get("viridis"), interactive=False)
        self.colorbar.setImageItem(self.image, insert_in=self.plot_item)
        self._build_layout()
        style_plot(self.view, self, grid=False)
        self.mode_box.currentIndexChanged.connect(self._on_mode_box_changed)
        self.view.scene().sigMouseMoved.connect(self._on_scene_mouse_moved)

    def configure(self, shape: tuple[int, ...], contiguous: bool) -> None:
        """Set up the controls for a new tensor (no signal is emitted).

        A tensor shaped like the previous one keeps the chosen slice, so stepping through
        the layers of a network compares the same kernel.
        """
        self.clear()
        if tuple(shape) == self._shape and self._reshapable == (len(shape) > 2 and contiguous):
            return
        self._shape = tuple(shape)
        self._reshapable = len(shape) > 2 and contiguous
        self.mode_box.blockSignals(True)
        self.mode_box.setCurrentIndex(0)
        self.mode_box.setVisible(self._reshapable)
        self.mode_box.blockSignals(False)
        self._rebuild_index_boxes(shape[:-2] if len(shape) > 2 else ())

    def request(self) -> SliceRequest:
        leading = tuple(box.value() for box in self._index_boxes)
        return SliceRequest(leading, self._reshapable and self.mode_box.currentIndex() == 1)

    def set_slice(self, data: SliceData) -> None:
        self._data = data
        image = data.image
        finite = image[np.isfinite(image)]
        self.image.setImage(image, autoLevels=False)
        rows, columns = image.shape
        row_step, column_step = data.step
        # pixel centres on the element indices they show
        self.image.setRect(QRectF(-column_step / 2, -row_step / 2, columns * column_step, rows * row_step))
        tall, wide = data.full_shape
        self.plot_item.setAspectLocked(max(tall, wide) <= 4 * max(min(tall, wide), 1))
        integer_ticks(self.plot_item.getAxis("left"), tall)
        integer_ticks(self.plot_item.getAxis("bottom"), wide)
        self._apply_levels(finite)
        self.info.setText(_info_text(data))
        self.plot_item.autoRange(padding=0.02)

    def clear(self, message: str = "") -> None:
        self._data = None
        self.image.clear()
        self.info.setText(message)
        self.hover.setText("")

    def image_data(self) -> np.ndarray | None:
        return None if self._data is None else self._data.image

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.PaletteChange:
            style_plot(self.view, self, grid=False)
        super().changeEvent(event)

    def _apply_levels(self, finite: np.ndarray) -> None:
        """Signed data gets a diverging map centred on zero; one-signed data a sequential one."""
        low, high = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
        if low < 0 < high:
            bound = max(-low, high)
            low, high, name = -bound, bound, "CET-D1"
        else:
            name = "viridis"
        if high <= low:
            high = low + 1.0
        self.colorbar.setColorMap(pg.colormap.get(name))
        self.colorbar.setLevels((low, high))

    def _rebuild_index_boxes(self, sizes: tuple[int, ...]) -> None:
        for box in self._index_boxes:
            self.controls.removeWidget(box)
            box.deleteLater()
        self._index_boxes = []
        for dim, size in enumerate(sizes):
            box = QSpinBox(minimum=0, maximum=max(size - 1, 0))
            box.setPrefix(f"dim {dim}: ")
            box.setKeyboardTracking(False)
            box.valueChanged.connect(self._on_index_box_changed)
            self.controls.insertWidget(1 + dim, box)
            self._index_boxes.append(box)

    def _build_layout(self) -> None:
        self.controls.addWidget(self.mode_box)
        self.controls.addWidget(self.info, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 4, 0, 0)
        layout.addLayout(self.controls)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.hover)

    def _on_mode_box_changed(self, index: int) -> None:
        for box in self._index_boxes:
            box.setEnabled(index == 0)
        self.sliceRequested.emit(self.request())

    def _on_index_box_changed(self, _value: int) -> None:
        self.sliceRequested.emit(self.request())

    def _on_scene_mouse_moved(self, position: QPointF) -> None:
        if self._data is None or not self.plot_item.sceneBoundingRect().contains(position):
            return
        point = self.plot_item.vb.mapSceneToView(position)
        row_step, column_step = self._data.step
        row = int(np.floor((point.y() + row_step / 2) / row_step))
        column = int(np.floor((point.x() + column_step / 2) / column_step))
        rows, columns = self._data.image.shape
        if 0 <= row < rows and 0 <= column < columns:
            value = self._data.image[row, column]
            self.hover.setText(f"[{row * self._data.step[0]}, {column * self._data.step[1]}] = {value:.6g}")


def _info_text(data: SliceData) -> str:
    rows, columns = data.full_shape
    text = f"{rows} × {columns}"
    if data.step != (1, 1):
        text += f" (every {data.step[0]}th row, {data.step[1]}th column)"
    return text

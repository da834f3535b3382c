"""Heatmap of a 2-D slice of a tensor, with controls choosing the slice of N-D tensors.

A conv weight [out, in, kh, kw] shows one kh x kw kernel picked by (out, in) spinboxes, or
all of it reshaped to [out, in*kh*kw]. Big slices arrive pooled (see core.slices). The axes
span the image, with square cells unless it is long and thin (see ``image_fit``).
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, QPointF, QRectF, Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QSpinBox, QVBoxLayout, QWidget

from inspector.core.slices import POOLINGS, SliceData, SliceRequest, pooling_step
from inspector.gui.panels.image_fit import ImageFit
from inspector.gui.panels.plot_style import integer_ticks, shrinkable_label, style_axes, style_plot

MODES = ("one slice", "reshape to 2-D")
POOLING_TITLES = {"max-abs": "pool: max |x|", "mean": "pool: mean"}


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
        self.pooling_box = QComboBox()
        self.pooling_box.addItems([POOLING_TITLES[name] for name in POOLINGS])
        self.pooling_box.setToolTip("How a large slice is reduced to the screen: each pixel keeps the value of\n"
                                    "largest magnitude in its block, or the block's mean")
        self.controls = QHBoxLayout()
        self.info = QLabel(wordWrap=True)
        self.info.setMinimumWidth(0)
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
        self.fit = ImageFit(self.view, self.plot_item)
        self.plot_item.getAxis("bottom").setStyle(hideOverlappingLabels=12)  # "0" at the image's edge
        self._build_layout()
        self._apply_style()
        self.mode_box.currentIndexChanged.connect(self._on_mode_box_changed)
        self.pooling_box.currentIndexChanged.connect(self._on_pooling_box_changed)
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
        return SliceRequest(leading, self._reshapable and self.mode_box.currentIndex() == 1,
                            POOLINGS[self.pooling_box.currentIndex()])

    def update_pooling_box(self, full_shape: tuple[int, int]) -> None:
        """The pooling choice is offered only when the slice is too large to show whole."""
        self.pooling_box.setVisible(pooling_step(full_shape) != (1, 1))

    def set_slice(self, data: SliceData, value_range: tuple[float, float] | None = None) -> None:
        """Show ``data``; colours span ``value_range`` when given (images compared side by
        side share one scale), else the image's own finite values."""
        self._data = data
        image = data.image
        finite = image[np.isfinite(image)]
        self.image.setImage(image, autoLevels=False)
        rows, columns = image.shape
        row_step, column_step = data.step
        # pixel centres on the element indices they show
        rect = QRectF(-column_step / 2, -row_step / 2, columns * column_step, rows * row_step)
        self.image.setRect(rect)
        tall, wide = data.full_shape
        integer_ticks(self.plot_item.getAxis("left"), tall)
        integer_ticks(self.plot_item.getAxis("bottom"), wide)
        self._apply_levels(finite, value_range)
        self.update_pooling_box(data.full_shape)
        self.info.setText(_info_text(data, finite.size))
        # square cells unless the slice is so long and thin that they would be slivers
        self._fit_image(rect, max(tall, wide) <= 4 * max(min(tall, wide), 1))

    def _fit_image(self, rect: QRectF, square_cells: bool) -> None:
        self.fit.show_rect(rect, square_cells)

    def clear(self, message: str = "") -> None:
        self._data = None
        self.image.clear()
        self.info.setText(message)
        self.hover.setText("")

    def image_data(self) -> np.ndarray | None:
        return None if self._data is None else self._data.image

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.PaletteChange:
            self._apply_style()
        super().changeEvent(event)

    def _apply_style(self) -> None:
        style_plot(self.view, self, grid=False)
        style_axes(self.colorbar, self)

    def _apply_levels(self, finite: np.ndarray, value_range: tuple[float, float] | None = None) -> None:
        """Signed data gets a diverging map centred on zero; one-signed data a sequential one."""
        if value_range is not None:
            low, high = value_range
        else:
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
            self.controls.insertWidget(2 + dim, box)  # after the mode and pooling boxes
            self._index_boxes.append(box)

    def _build_layout(self) -> None:
        self.controls.addWidget(self.mode_box)
        self.controls.addWidget(self.pooling_box)
        self.pooling_box.setVisible(False)
        self.controls.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 4, 0, 0)
        layout.addLayout(self.controls)
        layout.addWidget(self.info)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.hover)

    def _on_mode_box_changed(self, index: int) -> None:
        for box in self._index_boxes:
            box.setEnabled(index == 0)
        self.sliceRequested.emit(self.request())

    def _on_pooling_box_changed(self, _index: int) -> None:
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
            row_step, column_step = self._data.step
            where = f"[{row * row_step}, {column * column_step}]"
            if (row_step, column_step) != (1, 1):
                where = (f"[{row * row_step}:{(row + 1) * row_step}, {column * column_step}:{(column + 1) * column_step}] "
                         f"{POOLING_TITLES[self._data.pooling].removeprefix('pool: ')}")
            self.hover.setText(f"{where} = {value:.6g}")


def _info_text(data: SliceData, finite: int) -> str:
    rows, columns = data.full_shape
    text = f"{rows:,} × {columns:,}"
    pooled = [f"{name} pooled by {step}" for name, step in zip(("rows", "columns"), data.step) if step > 1]
    if pooled:
        text += f" ({' and '.join(pooled)})"
    if finite == 0:
        text += " · no finite values: every value here is NaN or ±Inf"
    return text

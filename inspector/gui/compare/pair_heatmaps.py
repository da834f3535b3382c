"""Heatmaps of the same 2-D slice of A, of B and of Δ = B − A, driven by one set of the tensor
panel's slicing controls (A's view's, shown above all three). A and B share one colour scale.
The three sit in one row, or A and B above Δ, whichever leaves each the larger square."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Signal
from PySide6.QtWidgets import QGridLayout, QLabel, QVBoxLayout, QWidget

from inspector.core.compare_views import PairSlices
from inspector.core.slices import SliceRequest
from inspector.gui.panels.heatmap_view import HeatmapView

VIEW_MIN_HEIGHT = 70  # squeezable: a short window keeps its table


class FollowerHeatmap(HeatmapView):
    """A heatmap without controls of its own: it shows the slice another view asks for."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.mode_box.setVisible(False)
        self.pooling_box.setVisible(False)

    def update_pooling_box(self, full_shape: tuple[int, int]) -> None:
        pass  # the leading view offers the choice


class PairHeatmaps(QWidget):
    sliceRequested = Signal(object)  # SliceRequest

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.view_a = HeatmapView()
        self.view_b = FollowerHeatmap()
        self.view_delta = FollowerHeatmap()
        self._cells = [_titled(title, view) for title, view in (("A", self.view_a), ("B", self.view_b),
                                                                 ("Δ = B − A", self.view_delta))]
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        self.view_a.layout().removeItem(self.view_a.controls)  # one set of controls for the three
        outer.addLayout(self.view_a.controls)
        self._grid = QGridLayout()
        outer.addLayout(self._grid, 1)
        self._side_by_side: bool | None = None
        self._arrange(True)
        self.view_a.sliceRequested.connect(self.sliceRequested)

    def configure(self, shape: tuple[int, ...], contiguous: bool) -> None:
        """Slicing controls for a new key (A's shape, else B's)."""
        self.view_a.configure(shape, contiguous)
        self.view_b.clear()
        self.view_delta.clear()

    def request(self) -> SliceRequest:
        return self.view_a.request()

    def set_slices(self, slices: PairSlices) -> None:
        value_range = _shared_range(slices)
        for view, data, missing in ((self.view_a, slices.a, "no such key in A"),
                                    (self.view_b, slices.b, "no such key in B"),
                                    (self.view_delta, slices.delta, slices.delta_note)):
            if data is None:
                view.clear(missing)
            else:
                view.set_slice(data, value_range if view is not self.view_delta else None)

    def clear(self, message: str = "") -> None:
        for view in (self.view_a, self.view_b, self.view_delta):
            view.clear(message)

    def images(self) -> tuple[np.ndarray | None, np.ndarray | None, np.ndarray | None]:
        return self.view_a.image_data(), self.view_b.image_data(), self.view_delta.image_data()

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        width, height = event.size().width(), event.size().height()
        # whichever arrangement gives each heatmap the larger square: one row, or Δ under A and B
        self._arrange(min(width / 3, height) >= min(width / 2, height / 2))

    def _arrange(self, side_by_side: bool) -> None:
        if side_by_side == self._side_by_side:
            return
        self._side_by_side = side_by_side
        for cell in self._cells:
            self._grid.removeWidget(cell)
        if side_by_side:
            for column, cell in enumerate(self._cells):
                self._grid.addWidget(cell, 0, column)
        else:
            self._grid.addWidget(self._cells[0], 0, 0)
            self._grid.addWidget(self._cells[1], 0, 1)
            self._grid.addWidget(self._cells[2], 1, 0, 1, 2)


def _shared_range(slices: PairSlices) -> tuple[float, float] | None:
    finite = [image[np.isfinite(image)] for image in (getattr(slices.a, "image", None), getattr(slices.b, "image", None))
              if image is not None]
    finite = [values for values in finite if values.size]
    if not finite:
        return None
    return float(min(values.min() for values in finite)), float(max(values.max() for values in finite))


def _titled(title: str, view: HeatmapView) -> QWidget:
    cell = QWidget()
    layout = QVBoxLayout(cell)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.setSpacing(0)
    label = QLabel(f"<b>{title}</b>")
    view.setMinimumHeight(VIEW_MIN_HEIGHT)
    layout.addWidget(label)
    layout.addWidget(view, 1)
    return cell

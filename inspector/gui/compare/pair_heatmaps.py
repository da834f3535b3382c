"""Heatmaps of the same 2-D slice of A, of B and of Δ = B − A, driven by one set of the tensor
panel's slicing controls (A's view's, shown above all three). A and B share one colour scale.

The three are the same size, in one row, A and B above Δ, or one column: whichever shows the
slice largest. With square pixels each heatmap is sized to the slice's shape, so its axes
span the slice and nothing else; the room left over stays empty, right of and below them.
"""

from __future__ import annotations

import html

import numpy as np
from PySide6.QtCore import QEvent, QObject, QRect, QRectF, QTimer, Signal
from PySide6.QtWidgets import QVBoxLayout, QWidget

from inspector.core.compare_views import PairSlices
from inspector.core.slices import SliceData, SliceRequest
from inspector.gui.panels.heatmap_view import HeatmapView

VIEW_MIN_SIZE = (60, 70)  # squeezable: a short window keeps its table
FIT_PADDING = 0.0  # the slice fills its plot, edge to edge
SPACING = 6
DEFAULT_OVERHEAD = (110, 90)  # axes, colour bar, labels around the image until measured
# the three views' places, (column, row) in a grid of (columns, rows)
ARRANGEMENTS = {
    "row": ((3, 1), ((0, 0), (1, 0), (2, 0))),
    "two over one": ((2, 2), ((0, 0), (1, 0), (0, 1))),
    "column": ((1, 3), ((0, 0), (0, 1), (0, 2))),
}


class PairHeatmapView(HeatmapView):
    """A titled heatmap of the pair, its view fitted to the slice as it is resized (until the
    user zooms); cleared, it shows its title and message alone (no image, axes or colour bar
    left from the previous key)."""

    def __init__(self, title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = title
        self.setMinimumSize(*VIEW_MIN_SIZE)
        self.plot_item.vb.setDefaultPadding(FIT_PADDING)
        self.clear()

    def set_slice(self, data: SliceData, value_range: tuple[float, float] | None = None) -> None:
        super().set_slice(data, value_range)
        self._show_plot(True)
        self._add_title()
        self.plot_item.vb.enableAutoRange()

    def _fit_image(self, rect: QRectF, square_cells: bool) -> None:
        # the pair sizes each view to the slice (see PairHeatmaps.place): the view box fills
        # its view and the lock keeps cells square where a view is held smaller than that
        self.fit.show_rect(rect, False)
        self.plot_item.setAspectLocked(square_cells)

    def view_range(self) -> list[list[float]]:
        return self.plot_item.vb.viewRange()

    def clear(self, message: str = "") -> None:
        super().clear(message)
        self._show_plot(False)
        self._add_title()

    def slice_shape(self) -> tuple[int, int] | None:
        """The shown slice's shape in elements (rows, columns), None when cleared."""
        data = self.slice_data()
        return None if data is None else tuple(data.full_shape)

    def slice_data(self) -> SliceData | None:
        return self._data

    def square_pixels(self) -> bool:
        return self.plot_item.vb.state["aspectLocked"] is not False

    def plot_overhead(self) -> tuple[int, int] | None:
        """Pixels around the image: this widget's size less its plot area's (None until laid out)."""
        box = self.plot_item.vb.size()
        if box.width() < 2 or box.height() < 2:
            return None
        return int(round(self.width() - box.width())), int(round(self.height() - box.height()))

    def _show_plot(self, shown: bool) -> None:
        self.plot_item.setVisible(shown)
        self.colorbar.setVisible(shown)

    def _add_title(self) -> None:
        self.info.setText(f"<b>{html.escape(self.title)}</b>&nbsp;&nbsp;{html.escape(self.info.text())}")


class FollowerHeatmap(PairHeatmapView):
    """A heatmap without controls of its own: it shows the slice another view asks for."""

    def __init__(self, title: str, parent: QWidget | None = None) -> None:
        super().__init__(title, parent)
        self.mode_box.setVisible(False)
        self.pooling_box.setVisible(False)

    def update_pooling_box(self, full_shape: tuple[int, int]) -> None:
        pass  # the leading view offers the choice


class PairHeatmaps(QWidget):
    sliceRequested = Signal(object)  # SliceRequest

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.area = QWidget()
        self.view_a = PairHeatmapView("A", self.area)
        self.view_b = FollowerHeatmap("B", self.area)
        self.view_delta = FollowerHeatmap("Δ = B − A", self.area)
        self.arrangement = "row"
        self._placing = QTimer(self, singleShot=True, interval=0)
        self._placing.timeout.connect(self.place)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        self.view_a.layout().removeItem(self.view_a.controls)  # one set of controls for the three
        outer.addLayout(self.view_a.controls)
        outer.addWidget(self.area, 1)
        self.area.setMinimumSize(VIEW_MIN_SIZE[0], VIEW_MIN_SIZE[1])
        self.area.installEventFilter(self)
        for view in self.views():
            view.plot_item.vb.sigResized.connect(self._placing.start)
        self.view_a.sliceRequested.connect(self.sliceRequested)

    def views(self) -> tuple[PairHeatmapView, PairHeatmapView, PairHeatmapView]:
        return self.view_a, self.view_b, self.view_delta

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
        self.place()

    def clear(self, message: str = "") -> None:
        for view in self.views():
            view.clear(message)

    def images(self) -> tuple[np.ndarray | None, np.ndarray | None, np.ndarray | None]:
        return self.view_a.image_data(), self.view_b.image_data(), self.view_delta.image_data()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.area and event.type() == QEvent.Type.Resize:
            self.place()
        return super().eventFilter(watched, event)

    # -- placing -----------------------------------------------------------------------
    def place(self) -> None:
        """Choose the arrangement that shows the slice largest, size the views to it and pack
        them into the top left corner (side by side views stay next to each other)."""
        width, height = self.area.width(), self.area.height()
        shape = self._slice_shape()
        overhead = self._overhead()
        self.arrangement = max(ARRANGEMENTS, key=lambda name: _scale(name, width, height, shape, overhead))
        (columns, rows), places = ARRANGEMENTS[self.arrangement]
        slot_width = (width - SPACING * (columns - 1)) // columns
        slot_height = (height - SPACING * (rows - 1)) // rows
        size = (slot_width, slot_height)
        if any(view.square_pixels() for view in self.views() if view.slice_data() is not None):
            scale = _scale(self.arrangement, width, height, shape, overhead)
            size = (min(round(shape[1] * scale) + overhead[0], slot_width),
                    min(round(shape[0] * scale) + overhead[1], slot_height))
        size = (max(size[0], VIEW_MIN_SIZE[0]), max(size[1], VIEW_MIN_SIZE[1]))
        for view, (column, row) in zip(self.views(), places):
            rect = QRect(column * (size[0] + SPACING), row * (size[1] + SPACING), *size)
            if _differs(view.geometry(), rect):
                view.setGeometry(rect)

    def _slice_shape(self) -> tuple[int, int]:
        shapes = [view.slice_shape() for view in self.views() if view.slice_shape() is not None]
        return shapes[0] if shapes else (1, 1)

    def _overhead(self) -> tuple[int, int]:
        measured = [view.plot_overhead() for view in self.views() if view.slice_data() is not None]
        measured = [overhead for overhead in measured if overhead is not None]
        if not measured:
            return DEFAULT_OVERHEAD
        return max(width for width, _ in measured), max(height for _, height in measured)


def _scale(arrangement: str, width: int, height: int, shape: tuple[int, int], overhead: tuple[int, int]) -> float:
    """Screen pixels per element of the slice when the views are arranged so."""
    (columns, rows), _ = ARRANGEMENTS[arrangement]
    room_x = (width - SPACING * (columns - 1)) / columns - overhead[0]
    room_y = (height - SPACING * (rows - 1)) / rows - overhead[1]
    return max(min(room_x / max(shape[1], 1), room_y / max(shape[0], 1)), 0.0)


def _differs(current: QRect, wanted: QRect) -> bool:
    return any(abs(a - b) > 1 for a, b in zip(current.getRect(), wanted.getRect()))


def _shared_range(slices: PairSlices) -> tuple[float, float] | None:
    finite = [image[np.isfinite(image)] for image in (getattr(slices.a, "image", None), getattr(slices.b, "image", None))
              if image is not None]
    finite = [values for values in finite if values.size]
    if not finite:
        return None
    return float(min(values.min() for values in finite)), float(max(values.max() for values in finite))

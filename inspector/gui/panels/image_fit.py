"""A heatmap's plot shaped like its image: square cells, and axes that span the image only.

pyqtgraph's aspect lock keeps cells square by widening one axis range past the image (a
64-row matrix then reads rows −48…112). Here the range is the image and the plot item shrinks
instead: margins around it in its layout leave the view box exactly the image's shape, centred
across and at the top of the room there is (as matplotlib's imshow does with its axes box).
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, QRectF

import pyqtgraph as pg

TOLERANCE = 1.0  # pixels: margins closer than this to the current ones are left alone


class ImageFit(QObject):
    def __init__(self, view: pg.GraphicsLayoutWidget, plot_item: pg.PlotItem) -> None:
        super().__init__(view)
        self._view, self._plot_item = view, plot_item
        self._aspect: float | None = None  # width / height of the image; None: fill the room
        self._base = view.ci.layout.getContentsMargins()  # the layout's own margins, kept
        self._fitting = False
        view.installEventFilter(self)
        plot_item.vb.sigResized.connect(self._on_view_box_resized)

    def show_rect(self, rect: QRectF, square_cells: bool) -> None:
        """Show exactly ``rect`` (the image, in data units), with square cells when asked."""
        self._aspect = rect.width() / rect.height() if square_cells and rect.height() > 0 else None
        self._plot_item.setRange(rect=rect, padding=0)
        self.refit()

    def refit(self) -> None:
        if self._fitting:
            return
        self._fitting = True
        try:
            self._apply(self._margins())
        finally:
            self._fitting = False

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Resize:
            self.refit()
        return False

    def _margins(self) -> tuple[float, ...]:
        """Left, top, right, bottom margins that leave the view box the image's shape."""
        left, top, right, bottom = self._base
        box, item, room = self._plot_item.vb.size(), self._plot_item.size(), self._view.ci.size()
        free_width = room.width() - left - right - (item.width() - box.width())
        free_height = room.height() - top - bottom - (item.height() - box.height())
        if self._aspect is None or free_width <= 0 or free_height <= 0:
            return self._base
        width = min(free_width, free_height * self._aspect)
        height = min(free_height, free_width / self._aspect)
        side = (free_width - width) / 2
        return left + side, top, right + side, bottom + free_height - height

    def _apply(self, margins: tuple[float, ...]) -> None:
        layout = self._view.ci.layout
        current = layout.getContentsMargins()
        if any(abs(new - old) > TOLERANCE for new, old in zip(margins, current)):
            layout.setContentsMargins(*margins)

    def _on_view_box_resized(self) -> None:
        self.refit()

"""A compact grid of a tensor's exact statistics."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QGridLayout, QLabel, QWidget

# (attribute of TensorStats or "numel", label shown)
FIELDS = (
    ("min", "min"), ("max", "max"), ("mean", "mean"), ("std", "std"),
    ("numel", "numel"), ("zeros", "zeros"), ("nan", "NaN"), ("inf", "Inf"),
)
COLUMNS = 4  # fields per row where they fit whole, else half as many


def format_number(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool) or isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return f"{value:.1f}"
    return f"{value:.6g}"


class StatsView(QWidget):
    """Labels for min, max, mean, std, numel, zeros, NaN and Inf; '–' until known."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._values: dict[str, QLabel] = {}
        self._titles: list[QLabel] = []
        self._columns = 0
        self._grid = QGridLayout(self)
        self._grid.setContentsMargins(0, 0, 0, 0)
        self._grid.setHorizontalSpacing(14)
        self._grid.setVerticalSpacing(2)
        for key, title in FIELDS:
            self._titles.append(self._title_label(title))
            value = QLabel("–")
            value.setObjectName(f"stat_{key}")
            value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            self._values[key] = value
        self._place(COLUMNS)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._place(self._columns_that_fit(event.size().width()))

    def _columns_that_fit(self, width: int) -> int:
        """Four fields a row when every number fits whole beside its title, else two."""
        return COLUMNS if self._needed_width(COLUMNS) <= width else COLUMNS // 2

    def _needed_width(self, columns: int) -> int:
        widths = [0] * (2 * columns)
        for index, (title, value) in enumerate(zip(self._titles, self._values.values())):
            column = 2 * (index % columns)
            widths[column] = max(widths[column], title.sizeHint().width())
            widths[column + 1] = max(widths[column + 1], value.sizeHint().width())
        return sum(widths) + self._grid.horizontalSpacing() * (len(widths) - 1)

    def _place(self, columns: int) -> None:
        """``columns`` fields per row: four on a wide panel, two on a narrow one."""
        if columns == self._columns:
            return
        self._columns = columns
        for index, (title, value) in enumerate(zip(self._titles, self._values.values())):
            row, column = divmod(index, columns)
            self._grid.addWidget(title, row, 2 * column)
            self._grid.addWidget(value, row, 2 * column + 1)
        for column in range(COLUMNS):
            self._grid.setColumnStretch(2 * column + 1, 1 if column < columns else 0)

    def set_stats(self, stats: Any, numel: int | None) -> None:
        """Show ``stats`` (a core TensorStats, or None while computing)."""
        for key, label in self._values.items():
            if key == "numel":
                value = numel
            else:
                value = getattr(stats, key, None) if stats is not None else None
            label.setText(format_number(value))
            label.setToolTip(repr(value) if value is not None else "")
            self._mark(label, key, value)
        self._place(self._columns_that_fit(self.width()))

    def clear(self, numel: int | None = None) -> None:
        self.set_stats(None, numel)

    def text(self, key: str) -> str:
        return self._values[key].text()

    def full_text(self, key: str) -> str:
        """Every digit (the label shows six significant ones; its tooltip says this)."""
        return self._values[key].toolTip()

    def _title_label(self, title: str) -> QLabel:
        label = QLabel(title)
        font = label.font()
        font.setBold(True)
        label.setFont(font)
        return label

    def _mark(self, label: QLabel, key: str, value: Any) -> None:
        """NaN and Inf counts are drawn in red when present: they usually mean trouble."""
        alarming = key in ("nan", "inf") and isinstance(value, int) and value > 0
        label.setStyleSheet("color: #d62728; font-weight: bold;" if alarming else "")

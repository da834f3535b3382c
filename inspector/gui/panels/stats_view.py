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
COLUMNS = 4  # fields per row


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
        layout = QGridLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setHorizontalSpacing(14)
        layout.setVerticalSpacing(2)
        for index, (key, title) in enumerate(FIELDS):
            row, column = divmod(index, COLUMNS)
            layout.addWidget(self._title_label(title), row, 2 * column)
            value = QLabel("–")
            value.setObjectName(f"stat_{key}")
            value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            layout.addWidget(value, row, 2 * column + 1)
            self._values[key] = value
        for column in range(COLUMNS):
            layout.setColumnStretch(2 * column + 1, 1)

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

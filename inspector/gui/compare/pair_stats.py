"""The statistics of A and B next to each other, and how they differ (the diff's own numbers)."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QGridLayout, QLabel, QWidget

from inspector.core.compare_state import CompareRow
from inspector.core.compare_views import PairStats
from inspector.gui.compare.status_style import side_color
from inspector.gui.panels.stats_view import format_number

SIDE_FIELDS = (("min", "min"), ("max", "max"), ("mean", "mean"), ("std", "std"),
               ("zeros", "zeros"), ("nan", "NaN"), ("inf", "Inf"))
DIFF_FIELDS = (("max_abs", "max |Δ|"), ("mean_abs", "mean |Δ|"), ("rms", "RMS of Δ"),
               ("rel_l2", "rel-L2"), ("cosine", "cosine"), ("mismatched", "mismatched"))


class PairStatsView(QWidget):
    """Rows min … Inf with columns A and B; beside them the diff's metrics of the pair."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._values: dict[tuple[str, str], QLabel] = {}
        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setHorizontalSpacing(14)
        grid.setVerticalSpacing(1)
        self._headers = {side: _bold(side) for side in ("A", "B")}
        grid.addWidget(self._headers["A"], 0, 1, Qt.AlignmentFlag.AlignRight)
        grid.addWidget(self._headers["B"], 0, 2, Qt.AlignmentFlag.AlignRight)
        for row, (key, title) in enumerate(SIDE_FIELDS, start=1):
            grid.addWidget(_bold(title), row, 0)
            for column, side in enumerate(("A", "B"), start=1):
                grid.addWidget(self._value_label(side, key), row, column, Qt.AlignmentFlag.AlignRight)
        grid.addWidget(_bold("B − A"), 0, 4)
        for row, (key, title) in enumerate(DIFF_FIELDS, start=1):
            grid.addWidget(_bold(title), row, 4)
            grid.addWidget(self._value_label("Δ", key), row, 5, Qt.AlignmentFlag.AlignRight)
        grid.setColumnMinimumWidth(3, 18)
        grid.setColumnStretch(6, 1)
        self._color_headers()

    def set_entry(self, entry: CompareRow | None) -> None:
        """The diff's numbers for the pair (known as soon as the row is)."""
        for key, _ in DIFF_FIELDS:
            value = None if entry is None else getattr(entry, key)
            self._show(("Δ", key), value, ".6f" if key == "cosine" else None)

    def set_stats(self, stats: PairStats | None) -> None:
        for side, side_stats in (("A", getattr(stats, "a", None)), ("B", getattr(stats, "b", None))):
            for key, _ in SIDE_FIELDS:
                self._show((side, key), None if side_stats is None else getattr(side_stats, key))

    def text(self, side: str, key: str) -> str:
        return self._values[(side, key)].text()

    def full_text(self, side: str, key: str) -> str:
        return self._values[(side, key)].toolTip()

    def changeEvent(self, event) -> None:
        super().changeEvent(event)
        if event.type() == event.Type.PaletteChange:
            self._color_headers()

    def _color_headers(self) -> None:
        for side, label in self._headers.items():
            label.setStyleSheet(f"color: {side_color(side).name()};")

    def _value_label(self, side: str, key: str) -> QLabel:
        label = QLabel("–")
        label.setObjectName(f"stat_{side}_{key}")
        label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self._values[(side, key)] = label
        return label

    def _show(self, where: tuple[str, str], value: Any, spec: str | None = None) -> None:
        label = self._values[where]
        label.setText(format_number(value) if spec is None or value is None else format(value, spec))
        label.setToolTip(repr(value) if value is not None else "")
        alarming = where[1] in ("nan", "inf") and isinstance(value, int) and value > 0
        label.setStyleSheet("color: #d62728; font-weight: bold;" if alarming else "")


def _bold(text: str) -> QLabel:
    label = QLabel(text)
    font = label.font()
    font.setBold(True)
    label.setFont(font)
    return label

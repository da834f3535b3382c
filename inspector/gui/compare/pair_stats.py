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
BESIDE_WIDTH = 380  # narrower: the diff's numbers go under A and B
DIFF_FIELDS = (("non_finite", "NaN/Inf"), ("max_abs", "max |Δ|"), ("mean_abs", "mean |Δ|"), ("rms", "RMS of Δ"),
               ("rel_l2", "rel-L2"), ("cosine", "cosine"), ("mismatched", "mismatched"))
ALARM_STYLE = "color: #d62728; font-weight: bold;"


class PairStatsView(QWidget):
    """Rows min … Inf with columns A and B; beside them (below them on a narrow panel) the
    diff's metrics of the pair."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._values: dict[tuple[str, str], QLabel] = {}
        self._grid = QGridLayout(self)
        self._grid.setContentsMargins(0, 0, 0, 0)
        self._grid.setHorizontalSpacing(14)
        self._grid.setVerticalSpacing(1)
        self._headers = {side: _bold(side) for side in ("A", "B")}
        self._side_rows = [(_bold(title), self._value_label("A", key), self._value_label("B", key))
                           for key, title in SIDE_FIELDS]
        self._diff_title = _bold("B − A")
        self._diff_rows = [(_bold(title), self._value_label("Δ", key)) for key, title in DIFF_FIELDS]
        self._beside: bool | None = None
        self._place(True)
        self._color_headers()

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._place(event.size().width() >= BESIDE_WIDTH)

    def _place(self, beside: bool) -> None:
        """The diff's block right of the A/B block, or under it."""
        if beside == self._beside:
            return
        self._beside = beside
        grid, right = self._grid, Qt.AlignmentFlag.AlignRight
        grid.addWidget(self._headers["A"], 0, 1, right)
        grid.addWidget(self._headers["B"], 0, 2, right)
        for row, (title, value_a, value_b) in enumerate(self._side_rows, start=1):
            grid.addWidget(title, row, 0)
            grid.addWidget(value_a, row, 1, right)
            grid.addWidget(value_b, row, 2, right)
        top, left = (0, 4) if beside else (len(self._side_rows) + 1, 0)
        grid.addWidget(self._diff_title, top, left)
        for row, (title, value) in enumerate(self._diff_rows, start=top + 1):
            grid.addWidget(title, row, left)
            grid.addWidget(value, row, left + 1 if beside else 2, right)
        grid.setColumnMinimumWidth(3, 18 if beside else 0)
        grid.setColumnStretch(6, 1)

    def set_entry(self, entry: CompareRow | None) -> None:
        """The diff's numbers for the pair (known as soon as the row is); with NaN or Inf on one
        side only, which side, first and in red (the numbers cover the finite positions)."""
        for key, _ in DIFF_FIELDS[1:]:
            value = None if entry is None else getattr(entry, key)
            self._show(("Δ", key), value, ".6f" if key == "cosine" else None)
            if entry is not None and entry.non_finite_differs and value is not None:
                self._values[("Δ", key)].setToolTip(f"{value!r}\n{entry.non_finite_details()}")
        label = self._values[("Δ", "non_finite")]
        label.setText(_non_finite_text(entry))
        label.setToolTip(entry.non_finite_details() if entry is not None else "")
        label.setStyleSheet(ALARM_STYLE if entry is not None and entry.non_finite_differs else "")

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
        label.setStyleSheet(ALARM_STYLE if alarming else "")


def _non_finite_text(entry: CompareRow | None) -> str:
    """Which side holds NaN/Inf the other has not; "none" / "same places" when they agree."""
    if entry is None or entry.nan_a is None:
        return "–"
    if entry.non_finite_differs:
        return entry.non_finite_note
    return "same places" if entry.nan_a or entry.inf_a else "none"


def _bold(text: str) -> QLabel:
    label = QLabel(text)
    font = label.font()
    font.setBold(True)
    label.setFont(font)
    return label

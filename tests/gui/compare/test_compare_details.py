"""The compare table's chips and headers, and the other values, in light and dark schemes."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QPalette

from inspector.core.diff import diff_job
from inspector.core.compare_objects import object_rows
from inspector.core.progress import run_job
from inspector.gui.compare.diff_model import DiffTableModel as M
from inspector.gui.compare.diff_table import COLUMN_SAMPLES, DiffTable
from inspector.gui.compare.objects_table import ObjectsModel
from inspector.gui.window import theme
from tests.gui.compare.conftest import run


@pytest.fixture(params=["light", "dark"])
def scheme(request, qapp):
    """The app in that scheme, as the View menu sets it; as it was afterwards."""
    before = (qapp.style().name(), QPalette(qapp.palette()), qapp.styleSheet())
    theme.apply_color_scheme(qapp, request.param)
    yield request.param
    qapp.setStyle(before[0])
    qapp.setPalette(before[1])
    qapp.setPalette(before[1], "QCheckBox")
    qapp.setStyleSheet(before[2])


def luminance(color: QColor) -> float:
    def channel(value: float) -> float:
        return value / 12.92 if value <= 0.03928 else ((value + 0.055) / 1.055) ** 2.4
    return 0.2126 * channel(color.redF()) + 0.7152 * channel(color.greenF()) + 0.0722 * channel(color.blueF())


def contrast(color: QColor, background: QColor) -> float:
    """WCAG contrast ratio of ``color`` (composited over ``background`` when translucent)."""
    alpha = color.alphaF()
    seen = QColor.fromRgbF(*(alpha * getattr(color, part)() + (1 - alpha) * getattr(background, part)()
                             for part in ("redF", "greenF", "blueF")))
    light, dark = sorted((luminance(seen), luminance(background)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def test_a_chip_reads_on_or_off_at_a_glance(qtbot, scheme):
    table = DiffTable()
    qtbot.addWidget(table)
    background = table.palette().color(QPalette.ColorRole.Window)
    for chip in table.chips.values():
        on = chip.colors()
        chip.setChecked(False)
        off = chip.colors()
        assert on.fill.alpha() > 0 and off.fill.alpha() == 0, chip.status  # tinted, or not at all
        assert on.dot_filled and not off.dot_filled
        assert contrast(on.border, background) >= 3 and contrast(off.border, background) >= 3  # outlined either way
        assert contrast(on.text, background) >= 4.5 and contrast(off.text, background) >= 3
        assert contrast(off.text, background) < contrast(on.text, background)  # dimmed when off
        assert "hidden" in chip.toolTip()
    statuses = {status for status, chip in table.chips.items() if chip.isChecked()}
    assert statuses == set() and table.proxy.statuses() == set()


def test_headers_fit_their_titles_and_the_sort_arrow(qtbot):
    table = DiffTable()
    qtbot.addWidget(table)
    table.resize(1200, 400)
    table.show()
    header, metrics = table.view.header(), table.view.fontMetrics()
    for column, sample in COLUMN_SAMPLES.items():
        assert header.sectionSize(column) >= header.sectionSizeFromContents(column).width()
        assert header.sectionSize(column) > metrics.horizontalAdvance(sample)
    assert header.sortIndicatorSection() == M.REL_L2
    alignment = table.model.headerData(M.REL_L2, Qt.Orientation.Horizontal, Qt.ItemDataRole.TextAlignmentRole)
    assert Qt.AlignmentFlag(alignment) & Qt.AlignmentFlag.AlignHCenter  # not under the arrow at the right


def test_other_values_are_listed_side_by_side_as_the_core_writes_them(qtbot, view, compare_pair):
    widget = view(*compare_pair)
    run(qtbot, widget)
    result = run_job(diff_job(*compare_pair))
    expected = object_rows(result.objects, result.object_values)
    model = widget.objects_view.model
    assert model.rowCount() == len(expected) == len(result.objects)
    for row, difference in enumerate(expected):
        for column, side in ((ObjectsModel.A, "a"), (ObjectsModel.B, "b")):
            shown = model.data(model.index(row, column))
            assert shown == (difference[side]["text"] if difference[side] else f"not in {side.upper()}")
    best = next(row for row, difference in enumerate(expected) if difference["path"] == ["best"])
    assert model.data(model.index(best, ObjectsModel.A), Qt.ItemDataRole.ForegroundRole) == theme.dim_text_color()
    assert widget.objects_view.summary.text() == "2 other values differ: 1 changed, 1 only in B"
    assert widget.side_tabs.tabText(2) == "Other values (2)"

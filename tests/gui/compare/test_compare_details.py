"""The compare view's other values."""

from __future__ import annotations

from PySide6.QtCore import Qt

from inspector.core.diff import diff_job
from inspector.core.compare_objects import object_rows
from inspector.core.progress import run_job
from inspector.gui.compare.objects_table import ObjectsModel
from inspector.gui.window import theme
from tests.gui.compare.conftest import run


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

"""The tensor panel's header, colours, legend and tabs: readable in both colour schemes, wrapped
only between whole parts, steady from one selection to the next."""

from __future__ import annotations

import pytest
import torch
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QPalette, QTextDocument, QTextLayout
from PySide6.QtWidgets import QApplication

from tests.gui.panels.conftest import find, show
from inspector.core.loader import open_checkpoint
from inspector.core.tree import build_tree
from inspector.gui.panels.node_header import SEPARATOR
from inspector.gui.panels.plot_style import MIN_CONTRAST, contrast_ratio
from inspector.gui.window import theme



@pytest.fixture(scope="module")
def root(tmp_path_factory):
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("chrome") / "model.pt"
    torch.save({"fc": torch.nn.Linear(512, 1000).state_dict(), "net": torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3)).state_dict()}, path)
    return build_tree(open_checkpoint(str(path)))


@pytest.fixture
def panel(panel):
    panel.resize(540, 700)
    return panel


@pytest.fixture
def scheme():
    """Applies a colour scheme to the whole app; the test's palette and style come back after."""
    app = QApplication.instance()
    palette, style_name, sheet = app.palette(), app.style().name(), app.styleSheet()
    yield lambda name: theme.apply_color_scheme(app, name)
    app.setStyle(style_name)
    app.setPalette(palette)
    app.setStyleSheet(sheet)


def line_starts(label) -> list[int]:
    """Where the lines of the label's text start at its width (as QLabel lays out plain text)."""
    layout = QTextLayout(label.text(), label.font())
    layout.beginLayout()
    starts = []
    while (line := layout.createLine()).isValid():
        line.setLineWidth(label.contentsRect().width())
        starts.append(line.textStart())
    layout.endLayout()
    return starts


def test_narrow_details_wrap_between_whole_parts(qtbot, panel, root):
    node = find(root, "fc", "weight")
    panel.resize(330, 700)
    panel.tensor_tabs.setCurrentWidget(panel.values)
    show(qtbot, panel, node)
    details = panel.header.details
    assert f"{SEPARATOR}{node.tensor.numel:,} elements" in details.toolTip()
    text, parts = details.text(), details.toolTip().split(SEPARATOR)
    part_starts = [text.index(part.replace(" ", "\u00a0")) for part in parts]
    starts = line_starts(details)
    assert len(starts) >= 2 and set(starts) <= set(part_starts)  # wrapped, and only where a part begins
    qtbot.waitUntil(lambda: details.height() >= len(starts) * details.fontMetrics().lineSpacing())
    note = panel.values.note  # "rows 0–199 of 1,000, columns 0–63 of 512"
    starts = line_starts(note)
    assert len(starts) == 2 and starts[1] == note.text().index("columns")


def test_the_key_and_the_colour_bar_read_at_least_4_5_to_1_in_both_schemes(qtbot, panel, root, scheme):
    node = find(root, "net", "0", "weight")
    for name in ("light", "dark"):
        scheme(name)
        show(qtbot, panel, node)
        key = panel.header.key_label
        assert key.isVisible() and key.isEnabled() and key.text() == node.key
        text = key.palette().color(key.foregroundRole())
        assert contrast_ratio(text, panel.header.palette().color(QPalette.ColorRole.Window)) >= MIN_CONTRAST
        assert text != panel.header.details.palette().color(panel.header.details.foregroundRole())  # still dimmed
        background = panel.heatmap.palette().color(QPalette.ColorRole.Base)
        for side in ("left", "right"):
            label_color = panel.heatmap.colorbar.getAxis(side).textPen().color()
            assert contrast_ratio(label_color, background) >= MIN_CONTRAST, (name, side)


def test_the_tabs_stay_put_from_the_whole_file_to_a_module(qtbot, panel, root):
    tabs = panel.group_tabs
    tops = []
    for node in (root, find(root, "fc")):
        show(qtbot, panel, node)
        QApplication.processEvents()
        tops.append(tabs.mapTo(panel, QPoint(0, 0)).y())
    assert panel.header.copy_button.isHidden() is False and tops[0] == tops[1]


def test_clicking_a_tab_does_not_send_typing_into_the_new_page(qtbot, panel, root):
    show(qtbot, panel, root)
    panel.activateWindow()
    panel.layer_chart.metric_box.setFocus()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is panel.layer_chart.metric_box)
    bar = panel.group_tabs.tabBar()
    qtbot.mouseClick(bar, Qt.MouseButton.LeftButton, pos=bar.tabRect(1).center())
    assert panel.group_tabs.currentIndex() == 1
    assert QApplication.focusWidget() is bar  # not the bins box the page opens with


def test_the_legend_fits_one_line_at_the_default_width_and_breaks_only_between_entries(qtbot, panel, root):
    show(qtbot, panel, root)
    legend = panel.layer_chart.legend
    assert legend.heightForWidth(legend.width()) < 2 * legend.fontMetrics().lineSpacing()
    document = QTextDocument()
    document.setHtml(legend.text())
    breakable = [piece for piece in document.toRawText().split(" ") if piece.strip("\u00a0")]
    assert len(breakable) == 4 and all(piece.strip("\u00a0")[0] in "■★✕" for piece in breakable)


def test_statistics_are_never_cut(qtbot, panel, tmp_path):
    path = tmp_path / "small.pt"
    torch.manual_seed(0)
    torch.save({"running_mean": torch.randn(64) * 1e-3}, path)  # long numbers: -0.00187979 and the like
    show(qtbot, panel, build_tree(open_checkpoint(str(path))).children[0])
    view = panel.stats_view
    labels = [view._values[key] for key in ("min", "max", "mean", "std")]
    assert view._needed_width(4) > view.width() >= 480  # four a row would cut them; two a row fit
    qtbot.waitUntil(lambda: all(label.width() >= label.sizeHint().width() for label in labels))

"""Export mode on the tree: boxes clicked with the mouse, tristate parents, shift-click and
context-menu ranges, the frozen pre-fill from the file, and the summary, checked against the
core's resolved plan and torch's own parameter list."""

from __future__ import annotations

from PySide6.QtCore import Qt

from inspector.core.export_summary import ExportSummary
from inspector.core.loader import open_checkpoint
from tests.gui.export.conftest import (
    FREEZE, FROZEN_IN_FILE, INCLUDE, LOAD_TIMEOUT_MS, box, click_box, container, node_at, parameter_names,
)

Checked, Unchecked, Partial = Qt.CheckState.Checked, Qt.CheckState.Unchecked, Qt.CheckState.PartiallyChecked


def fresh_resolve(mode, path: str):
    """The core's answer for the current boxes, computed here from a fresh read of the file."""
    return mode.selection.plan().resolve(open_checkpoint(path))


def test_export_mode_adds_two_box_columns_after_the_name(window, document, mode):
    model, header = document.tree_panel.model, document.tree_panel.view.header()
    assert [model.headerData(column, Qt.Orientation.Horizontal) for column in (INCLUDE, FREEZE)] == ["Include", "Freeze"]
    assert (header.visualIndex(INCLUDE), header.visualIndex(FREEZE)) == (1, 2)
    assert mode.bar.isVisible()
    window.export.mode_action.trigger()
    assert model.columnCount() == INCLUDE and not mode.bar.isVisible() and not mode.active


def test_the_file_s_frozen_parameters_pre_fill_freeze(document, mode, resnet):
    path, model = resnet
    frozen_by_torch = [name for name, parameter in model.named_parameters() if not parameter.requires_grad]
    assert mode.resolved.frozen == frozen_by_torch
    assert box(document, node_at(document, FROZEN_IN_FILE), FREEZE) == Checked
    assert box(document, node_at(document, "layer1"), FREEZE) == Partial
    assert box(document, node_at(document, "layer2"), FREEZE) == Unchecked
    buffer = node_at(document, f"{FROZEN_IN_FILE}.bn1.running_mean", "tensor")
    assert box(document, buffer, FREEZE) is None  # buffers are never frozen: no box


def test_unticking_a_module_leaves_its_subtree_out_and_parents_show_partial(qtbot, document, mode, resnet):
    path, model = resnet
    with qtbot.waitSignal(mode.resolvedChanged, timeout=LOAD_TIMEOUT_MS):
        click_box(qtbot, document, node_at(document, "layer4"), INCLUDE)
    assert box(document, node_at(document, "layer4"), INCLUDE) == Unchecked
    assert box(document, node_at(document, "layer4.1.conv2"), INCLUDE) == Unchecked
    assert box(document, container(document), INCLUDE) == Partial
    assert box(document, node_at(document, "layer3"), INCLUDE) == Checked
    assert mode.resolved.keys == [key for key in model.state_dict() if not key.startswith("layer4.")]
    resolved = fresh_resolve(mode, path)
    assert resolved.keys == mode.resolved.keys and resolved.frozen == mode.resolved.frozen
    assert mode.bar.text.text() == ExportSummary(resolved).text()
    with qtbot.waitSignal(mode.resolvedChanged, timeout=LOAD_TIMEOUT_MS):
        click_box(qtbot, document, container(document), INCLUDE)  # partial -> everything
    assert box(document, node_at(document, "layer4"), INCLUDE) == Checked
    assert mode.resolved.keys == list(model.state_dict())


def test_space_toggles_the_current_box(qtbot, document, mode, resnet):
    _, model = resnet
    panel = document.tree_panel
    fc = node_at(document, "fc")
    panel.select_node(fc)
    panel.view.setCurrentIndex(panel.proxy.mapFromSource(panel.model.index_of(fc, INCLUDE)))
    panel.view.setFocus()
    with qtbot.waitSignal(mode.resolvedChanged, timeout=LOAD_TIMEOUT_MS):
        qtbot.keyClick(panel.view, Qt.Key.Key_Space)
    assert box(document, fc, INCLUDE) == Unchecked
    assert mode.resolved.keys == [key for key in model.state_dict() if not key.startswith("fc.")]


def test_freeze_is_greyed_where_nothing_is_exported(qtbot, document, mode):
    fc = node_at(document, "fc")
    with qtbot.waitSignal(mode.resolvedChanged, timeout=LOAD_TIMEOUT_MS):
        click_box(qtbot, document, fc, INCLUDE)
    model = document.tree_panel.model
    assert not model.flags(model.index_of(fc, FREEZE)) & Qt.ItemFlag.ItemIsEnabled
    assert model.flags(model.index_of(node_at(document, "layer4"), FREEZE)) & Qt.ItemFlag.ItemIsEnabled


def test_shift_click_freezes_every_row_up_to_here(qtbot, document, mode, resnet):
    path, model = resnet
    with qtbot.waitSignal(mode.resolvedChanged, timeout=LOAD_TIMEOUT_MS):
        click_box(qtbot, document, node_at(document, "layer2"), FREEZE, shift=True)
    assert mode.resolved.frozen == parameter_names(model, stop="layer2")
    assert mode.selection.plan().freeze == ("conv1", "bn1", "layer1", "layer2")
    for key in ("conv1", "layer1", "layer2.1.bn2"):
        assert box(document, node_at(document, key), FREEZE) == Checked
    assert box(document, node_at(document, "layer3"), FREEZE) == Unchecked
    assert box(document, container(document), FREEZE) == Partial
    assert fresh_resolve(mode, path).frozen == mode.resolved.frozen


def test_context_menu_applies_from_here_to_the_end(qtbot, document, mode, resnet):
    path, model = resnet
    menu = document.tree_panel.context_menu(node_at(document, "layer3"))
    freeze_menu = next(action.menu() for action in menu.actions() if action.text() == "Freeze")
    action = next(action for action in freeze_menu.actions() if action.text() == "Freeze from here to the end")
    with qtbot.waitSignal(mode.resolvedChanged, timeout=LOAD_TIMEOUT_MS):
        action.trigger()
    expected = [name for name in parameter_names(model)
                if name in parameter_names(model, start="layer3") or name.startswith(FROZEN_IN_FILE + ".")]
    assert mode.resolved.frozen == expected
    include_menu = next(action.menu() for action in menu.actions() if action.text() == "Include")
    leave_out = next(action for action in include_menu.actions() if action.text() == "Leave out up to here")
    with qtbot.waitSignal(mode.resolvedChanged, timeout=LOAD_TIMEOUT_MS):
        leave_out.trigger()
    kept = parameter_names(model, start="layer4")
    assert [key for key in mode.resolved.keys if key in dict(model.named_parameters())] == kept


def test_the_tree_model_with_boxes_passes_the_model_tester(qtmodeltester, document, mode):
    qtmodeltester.check(document.tree_panel.model)
    qtmodeltester.check(document.tree_panel.proxy)


def test_the_preview_lists_output_keys_with_the_rule_that_made_each(qtmodeltester, qtbot, document, mode, resnet):
    path, _ = resnet
    with qtbot.waitSignal(mode.resolvedChanged, timeout=LOAD_TIMEOUT_MS):
        mode.set_selection(mode.selection.with_options(rename=(("", "backbone."),)))
    preview = mode.bar.preview_model
    qtmodeltester.check(preview)
    resolved = fresh_resolve(mode, path)
    rows = [(preview.text(row, preview.KEY), preview.text(row, preview.SOURCE), preview.text(row, preview.RULES))
            for row in range(preview.rowCount())]
    assert rows == [(key, resolved.source_keys[key], ", ".join(resolved.produced_by[key])) for key in resolved.keys]
    assert rows[0][2] == "add 'backbone.'"


def test_a_reload_keeps_the_boxes(qtbot, document, mode):
    with qtbot.waitSignal(mode.resolvedChanged, timeout=LOAD_TIMEOUT_MS):
        click_box(qtbot, document, node_at(document, "fc"), INCLUDE)
    plan = mode.selection.plan()
    with qtbot.waitSignal(mode.resolvedChanged, timeout=LOAD_TIMEOUT_MS):
        document.start_loading()
    assert document.state == "ready" and mode.selection.plan() == plan
    assert box(document, node_at(document, "fc"), INCLUDE) == Unchecked


def test_column_widths_remembered_for_new_tabs_leave_the_box_columns_out(qtbot, window, document, mode, checkpoint_files):
    from inspector.gui.document.tree_panel import TreePanel

    header = document.tree_panel.view.header()
    header.resizeSection(INCLUDE, 90)
    header.resizeSection(1, 150)  # Shape, while the boxes show: not a layout to remember
    other = window.open_paths([checkpoint_files["state_dict.pt"]])[0]
    qtbot.waitUntil(lambda: other.state == "ready", timeout=LOAD_TIMEOUT_MS)
    other_header = other.tree_panel.view.header()
    fresh = TreePanel(lambda node: "").view
    assert other_header.count() == INCLUDE
    assert [other_header.visualIndex(column) for column in range(INCLUDE)] == list(range(INCLUDE))
    assert [other_header.sectionSize(column) for column in range(INCLUDE - 1)] == \
        [fresh.columnWidth(column) for column in range(INCLUDE - 1)]


def test_the_window_starts_without_the_export_modules(tmp_path):
    """The launch target: numpy, superqt and the plan load with the first document, not before."""
    import os
    import subprocess
    import sys

    script = ("import sys\nfrom PySide6.QtWidgets import QApplication\napp = QApplication([])\n"
              "from inspector.gui.window.main_window import MainWindow\nwindow = MainWindow(remember=False)\n"
              "print(sorted(name for name in ('numpy', 'superqt', 'inspector.core.plan') if name in sys.modules))")
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "XDG_CONFIG_HOME": str(tmp_path / "config")}
    result = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_left_out_rows_are_struck_and_frozen_ones_dimmed_as_the_tree_marks_frozen(qtbot, document, mode):
    """The rows say what the export does: the Name of a left-out row is struck out and the row
    dimmed; a row frozen in the export is dimmed as the tree dims a parameter saved frozen,
    and one the file saved frozen but the export trains is not."""
    from inspector.gui.window import theme

    model = document.tree_panel.model

    def look(node):
        name = model.index_of(node)
        font = model.data(name, Qt.ItemDataRole.FontRole)
        return (font is not None and font.strikeOut(),
                model.data(name, Qt.ItemDataRole.ForegroundRole) == theme.dim_text_color())

    saved_frozen = node_at(document, f"{FROZEN_IN_FILE}.conv1.weight", "tensor")
    layer3 = node_at(document, "layer3.0.conv1.weight", "tensor")
    assert look(saved_frozen) == (False, True) and look(layer3) == (False, False)
    with qtbot.waitSignal(mode.resolvedChanged, timeout=LOAD_TIMEOUT_MS):
        click_box(qtbot, document, node_at(document, "fc"), INCLUDE)
    with qtbot.waitSignal(mode.resolvedChanged, timeout=LOAD_TIMEOUT_MS):
        click_box(qtbot, document, node_at(document, "layer3"), FREEZE)
    with qtbot.waitSignal(mode.resolvedChanged, timeout=LOAD_TIMEOUT_MS):
        click_box(qtbot, document, node_at(document, FROZEN_IN_FILE), FREEZE)
    assert "fc.weight" not in mode.resolved.keys and "layer3.0.conv1.weight" in mode.resolved.frozen
    assert f"{FROZEN_IN_FILE}.conv1.weight" not in mode.resolved.frozen
    assert look(node_at(document, "fc")) == look(node_at(document, "fc.weight", "tensor")) == (True, True)
    assert look(layer3) == (False, True) and look(node_at(document, "layer3")) == (False, True)
    assert look(node_at(document, "layer2")) == (False, False)
    assert look(saved_frozen) == (False, False)  # trained by this export, whatever the file saved
    tooltip = model.data(model.index_of(node_at(document, "fc.bias", "tensor")), Qt.ItemDataRole.ToolTipRole)
    assert tooltip.endswith("export: left out")
    assert "left out" in mode.bar.legend.text() and "frozen" in mode.bar.legend.text()
    mode.set_active(False)
    assert look(saved_frozen) == (False, True) and look(layer3) == (False, False)  # as the file says again


def test_export_mode_leaves_the_selection_and_the_panel_alone(qtbot, window, document):
    """Nothing selected: the tree taking the focus (its current row set for the keyboard) and
    export mode coming on select nothing, and the panel keeps showing the whole file."""
    panel = document.tree_panel
    window.activateWindow()
    panel.view.setFocus()
    qtbot.waitUntil(panel.view.hasFocus)
    assert document.tensor_panel._node is document.loaded.root
    mode = window.export.mode(document)
    with qtbot.waitSignal(mode.resolvedChanged, timeout=LOAD_TIMEOUT_MS):
        window.export.mode_action.trigger()
    assert panel.view.selectionModel().selectedRows() == []
    assert document.tensor_panel._node is document.loaded.root
    fc = node_at(document, "fc")
    panel.select_node(fc)
    mode.set_active(False)
    mode.set_active(True)  # a selected row stays selected, its new cells too
    selected = panel.view.selectionModel().selectedIndexes()
    assert {panel.model.node(panel.proxy.mapToSource(index)) for index in selected} == {fc}
    assert {index.column() for index in selected} == set(range(panel.model.columnCount()))
    assert document.tensor_panel._node is fc


def test_the_export_mode_switch_reads_as_on(document, mode):
    from inspector.gui.window import theme

    button = mode.toggle_button
    assert button.isChecked() and button.property("modeSwitch") is True
    for dark in (False, True):  # on: the highlight colour, in either scheme
        assert 'QToolButton[modeSwitch="true"]:checked {\n    background: palette(highlight);' in theme.stylesheet(dark)

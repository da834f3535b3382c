"""The check in the window: the dialog, the job in a worker process, the panel, remaps that
re-run it, the tree's rows tinted by fate, and the document closing in the middle of it."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QDialogButtonBox

from inspector.core.check import check_checkpoint
from inspector.core.check_catalog import architectures
from inspector.core.check_text import coverage_line
from inspector.gui.check.check_dialog import CheckDialog, NameRole
from inspector.gui.check.row_fates import FATE_TEXT
from inspector.gui.document.tree_model import CheckpointTreeModel
from inspector.gui.window.main_window import DEFAULT_WINDOW_SIZE

pytest.importorskip("torchvision")
LOAD_TIMEOUT_MS = 60_000
CHECK_TIMEOUT_MS = 120_000



def open_loaded(qtbot, window, path: str):
    document = window.open_document(path)
    qtbot.waitUntil(lambda: document.state != "loading", timeout=LOAD_TIMEOUT_MS)
    return document


def row(document, *names: str):
    """The tree model's index of the row at ``names`` from the top."""
    model = document.tree_panel.model
    node = document.loaded.root
    for name in names:
        node = next(child for child in node.children if child.name == name)
    return model.index_of(node)


def run_check(qtbot, window, document, target: dict):
    """Start a check and wait for its report (the worker's result arrives through the event
    loop, so nothing can be missed before the wait begins)."""
    check = window.checks.check(document, target)
    with qtbot.waitSignal(check.controller.reportChanged, timeout=CHECK_TIMEOUT_MS):
        pass
    return check


def click_and_wait(qtbot, check, button) -> None:
    with qtbot.waitSignal(check.controller.reportChanged, timeout=CHECK_TIMEOUT_MS):
        button.click()


def background(document, *names: str):
    return document.tree_panel.model.data(row(document, *names), Qt.ItemDataRole.BackgroundRole)


def test_a_check_fills_the_panel_and_tints_the_tree(qtbot, window, check_files):
    path = check_files["resnet18_c10.pt"]
    document = open_loaded(qtbot, window, path)
    check = run_check(qtbot, window, document, {"arch": "resnet18"})
    expected = check_checkpoint(path, {"arch": "resnet18"})
    assert check.controller.report.to_json() == expected.to_json()
    panel = check.panel
    assert document.splitter.count() == 2 and document.splitter.widget(1) is check.side
    assert check.side.currentWidget() is panel and check.side.widget(1) is check.row_side is document.right_stack
    assert panel.coverage.format() == coverage_line(expected) and panel.coverage.value() == expected.loaded
    sections = panel.results.section_texts()
    assert sections["Size mismatches (2): the head only (num_classes differs)"] == [
        "fc.weight: [10, 512] in the file, [1000, 512] in the model", "fc.bias: [10] in the file, [1000] in the model"]
    assert sections["Not loaded (2): 2 size mismatches"] == ["fc: weight, bias"] and sections["Unexpected (0)"] == []
    assert panel.torch_text.text.toPlainText() == expected.strict_error
    assert [button.text() for button in panel.remap_buttons()] == [
        "num_classes=10  →  122 of 122, loads strictly",
        "drop the mismatched head (fc.weight, fc.bias)  →  120 of 122"]
    mismatched, loads = background(document, "fc", "weight"), background(document, "conv1", "weight")
    assert mismatched is not None and loads is not None and mismatched != loads
    assert background(document, "fc") == mismatched and background(document, "layer1") == loads
    tooltip = document.tree_panel.model.data(row(document, "fc", "weight"), Qt.ItemDataRole.ToolTipRole)
    assert tooltip == f"fc.weight\n{FATE_TEXT['mismatched']}"
    view = document.tree_panel.view  # the panel took the row panel's place: the tree keeps its columns
    size = CheckpointTreeModel.SIZE
    size_end = view.header().sectionViewportPosition(size) + view.columnWidth(size)
    assert window.width() == DEFAULT_WINDOW_SIZE[0] and size_end <= view.viewport().width()


def test_remap_buttons_re_run_the_check(qtbot, window, check_files):
    document = open_loaded(qtbot, window, check_files["resnet18_c10.pt"])
    check = run_check(qtbot, window, document, {"arch": "resnet18"})
    loads = background(document, "conv1", "weight")
    click_and_wait(qtbot, check, check.panel.remap_buttons()[1])
    report = check.controller.report
    assert report.applied == ["drop the mismatched head (fc.weight, fc.bias)"] and report.mismatched == []
    assert report.missing == ["fc.weight", "fc.bias"] and check.panel.undo_button.isVisibleTo(check.panel)
    assert check.panel.results.section_texts()["Not loaded (2): 2 not in the file"] == ["fc: weight, bias"]
    assert background(document, "fc", "weight") not in (None, loads)  # left out now
    click_and_wait(qtbot, check, check.panel.undo_button)
    assert check.controller.report.applied == [] and check.controller.report.mismatched
    click_and_wait(qtbot, check, check.panel.remap_buttons()[0])
    report = check.controller.report
    assert report.loads_strict and report.target == {"arch": "resnet18", "num_classes": 10}
    assert check.panel.verdict.text() == "strict=True: <b>loads</b>" and background(document, "fc", "weight") == loads
    check.panel.pattern.setText("(")
    check.panel.rename_button.click()  # refused at once: no job starts
    assert not check.controller.is_running() and "not a usable regex" in check.panel.pattern.toolTip()
    check.panel.pattern.setText(r"^fc\.")
    check.panel.replacement.setText("classifier.")
    click_and_wait(qtbot, check, check.panel.rename_button)
    report = check.controller.report
    assert report.applied == [r"rename /^fc\./ to 'classifier.'"]
    assert report.unexpected == ["classifier.weight", "classifier.bias"] and report.missing == ["fc.weight", "fc.bias"]


def test_the_dialog_offers_architectures_options_and_open_documents(qtbot):
    dialog = CheckDialog([("other.pt", "/data/other.pt")])
    qtbot.addWidget(dialog)
    dialog.show()
    assert dialog.proxy.rowCount() == len(architectures())
    dialog.search.setText("inception")
    assert dialog.chosen_architecture() == "inception_v3"
    assert dialog._form.isRowVisible(dialog.options["aux_logits"]) and not dialog._form.isRowVisible(dialog.options["aux_loss"])
    dialog.num_classes_set.setChecked(True)
    dialog.num_classes.setValue(10)
    dialog.options["aux_logits"].setCurrentIndex(dialog.options["aux_logits"].findData(False))
    assert dialog.target() == {"arch": "inception_v3", "num_classes": 10, "options": {"aux_logits": False}}
    dialog.search.setText("raft_sm")
    assert not dialog._form.isRowVisible(dialog.num_classes)
    assert dialog.target() == {"arch": "raft_small", "num_classes": None, "options": {}}
    dialog.document_choice.setChecked(True)
    assert dialog.target() == {"path": "/data/other.pt"}


def test_the_dialog_chooses_nothing_at_first_and_the_best_match_as_you_type(qtbot):
    dialog = CheckDialog([("other.pt", "/data/other.pt")])
    qtbot.addWidget(dialog)
    ok = dialog.buttons.button(QDialogButtonBox.StandardButton.Ok)
    assert dialog.chosen_architecture() is None and dialog.target() is None and not ok.isEnabled()
    dialog.search.setText("resnet18")
    listed = [dialog.proxy.index(row, 0).data(NameRole) for row in range(dialog.proxy.rowCount())]
    assert listed == ["resnet18", "quantized_resnet18"] and dialog.chosen_architecture() == "resnet18"
    dialog.search.setText("resnet1")  # names that start with it, then those with a part that does
    listed = [dialog.proxy.index(row, 0).data(NameRole) for row in range(dialog.proxy.rowCount())]
    assert listed == ["resnet101", "resnet152", "resnet18",
                      "deeplabv3_resnet101", "fcn_resnet101", "quantized_resnet18", "wide_resnet101_2"]
    dialog.search.setText("vit_b")
    assert dialog.chosen_architecture() == "vit_b_16" and ok.isEnabled()
    dialog.search.setText("")
    assert dialog.chosen_architecture() is None and not ok.isEnabled()


def test_the_dialog_starts_on_the_target_checked_last(qtbot):
    others = [("other.pt", "/data/other.pt"), ("third.pt", "/data/third.pt")]
    last = {"arch": "resnet50", "num_classes": 10, "options": {}}
    dialog = CheckDialog(others, current=last)
    qtbot.addWidget(dialog)
    assert dialog.target() == last
    dialog = CheckDialog(others, current={"path": "/data/third.pt"})
    qtbot.addWidget(dialog)
    assert dialog.target() == {"path": "/data/third.pt"}


def test_the_tints_follow_a_change_of_colour_scheme(qtbot, check_files):
    """Tints are asked for as rows are drawn: switching to dark repaints them dark under the
    light text of the dark palette (and back)."""
    from PySide6.QtWidgets import QApplication

    from inspector.core.loader import open_checkpoint
    from inspector.core.tree import build_tree
    from inspector.gui.check.row_fates import RowFates
    from inspector.gui.window import theme

    path = check_files["resnet18_c10.pt"]
    model = CheckpointTreeModel()
    model.set_root(build_tree(open_checkpoint(path)))
    model.set_row_decorator("check", RowFates.of(check_checkpoint(path, {"arch": "resnet18"})))
    app = QApplication.instance()
    tints = {}
    try:
        for scheme in ("light", "dark"):
            theme.apply_color_scheme(app, scheme)
            text = app.palette().color(QPalette.ColorRole.Text)
            tints[scheme] = [model.data(model.index(row, 0), Qt.ItemDataRole.BackgroundRole) for row in range(2)]
            assert all(abs(tint.lightness() - text.lightness()) > 150 for tint in tints[scheme])
    finally:
        theme.apply_color_scheme(app, "light")
    assert all(tint.lightness() > 200 for tint in tints["light"])
    assert all(tint.lightness() < 70 for tint in tints["dark"])


def test_the_action_opens_the_dialog_and_closing_the_document_stops_its_check(qtbot, window, check_files):
    assert not window.checks.action.isEnabled()
    document = open_loaded(qtbot, window, check_files["resnet18.pt"])
    assert window.checks.action.isEnabled()
    window.checks.action.trigger()
    dialog = window.findChild(CheckDialog)
    assert dialog is not None and dialog.isVisible()
    dialog.search.setText("resnet18")
    dialog.accept()
    check = window.checks.check_of(document)
    assert check is not None and check.controller.is_running()
    again = window.checks.open_dialog(document)  # "Check Against…" in the panel: the same target at first
    assert again.target() == check.controller.target == {"arch": "resnet18", "num_classes": None, "options": {}}
    again.reject()
    row_side = check.row_side
    window.checks.forget(document)  # the panel's close button
    assert document.splitter.widget(1) is row_side and document.splitter.count() == 2
    assert row_side.isVisibleTo(document)
    window.checks.check(document, {"arch": "resnet18"})
    window.close_document()
    assert window.checks.check_of(document) is None  # and the fixture sees no worker left running


def test_the_window_process_never_imports_torch(tmp_path, check_files):
    """The dialog, the panel and the tints, fed a real report, in a process of their own."""
    report = check_checkpoint(check_files["resnet18_c10.pt"], {"arch": "resnet18"})
    document_path = tmp_path / "report.json"
    document_path.write_text(json.dumps(report.document))
    code = (
        "import json, sys\n"
        "from PySide6.QtWidgets import QApplication\n"
        "app = QApplication([])\n"
        "from inspector.gui.window.main_window import MainWindow\n"
        "from inspector.gui.check.check_dialog import CheckDialog\n"
        "from inspector.gui.check.check_panel import CheckPanel\n"
        "from inspector.gui.check.row_fates import RowFates\n"
        "from inspector.core.check_report import CheckReport\n"
        "from inspector.core.loader import open_checkpoint\n"
        "from inspector.core.tree import build_tree\n"
        "window = MainWindow(remember=False)\n"
        "dialog = CheckDialog([]); dialog.search.setText('vit_b_16'); assert dialog.target()['arch'] == 'vit_b_16'\n"
        "report = CheckReport(json.load(open(sys.argv[1])))\n"
        "panel = CheckPanel(); panel.show_report(report)\n"
        "fates = RowFates.of(report)\n"
        "assert all(fates(node) is not None for node in build_tree(open_checkpoint(sys.argv[2])).children)\n"
        "loaded = sorted(name for name in sys.modules if name.split('.')[0] in ('torch', 'torchvision'))\n"
        "print(json.dumps(loaded))\n")
    result = subprocess.run([sys.executable, "-c", code, str(document_path), check_files["resnet18_c10.pt"]],
                            capture_output=True, text=True, timeout=120, env=_offscreen_env())
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.splitlines()[-1]) == []


def _offscreen_env() -> dict:
    import os

    return {**os.environ, "QT_QPA_PLATFORM": "offscreen"}


def test_rows_of_a_report_pass_the_model_tester(qtmodeltester, check_files):
    from inspector.core.loader import open_checkpoint
    from inspector.core.tree import build_tree
    from inspector.gui.check.row_fates import RowFates

    root = build_tree(open_checkpoint(check_files["resnet18_dp.pt"]))
    model = CheckpointTreeModel()
    model.set_root(root)
    report = check_checkpoint(check_files["resnet18_dp.pt"], {"arch": "resnet18"}, no_align=True)
    model.set_row_decorator("check", RowFates.of(report))
    qtmodeltester.check(model)
    module = model.index(0, 0)
    assert model.data(module) == "module" and model.data(module, Qt.ItemDataRole.BackgroundRole) is not None
    model.set_row_decorator("check", None)
    assert model.data(module, Qt.ItemDataRole.BackgroundRole) is None


def test_a_target_that_cannot_be_read_is_said_in_the_panel(qtbot, window, checkpoint_files, bad_files):
    document = open_loaded(qtbot, window, checkpoint_files["state_dict.pt"])
    check = window.checks.check(document, {"path": bad_files["page.pt"]})
    with qtbot.waitSignal(check.controller.failed, timeout=CHECK_TIMEOUT_MS) as failed:
        pass
    message = failed.args[0]
    assert "HTML" in message and "\n" not in message
    assert check.panel.error.text() == message and check.panel.error.isVisibleTo(check.panel)
    assert check.panel.retry_button.isVisibleTo(check.panel)


def test_export_fixed_file_opens_the_export_dialog_with_the_plan_and_torch_loads_the_result(
        qtbot, window, check_files, tmp_path):
    import torch
    from torchvision.models import resnet18

    from inspector.core.plan import ExportPlan
    from inspector.gui.export.export_dialog import ExportDialog

    path = check_files["resnet18_dp.pt"]
    document = open_loaded(qtbot, window, path)
    check = run_check(qtbot, window, document, {"arch": "resnet18", "num_classes": 10})
    drop = next(button for button in check.panel.remap_buttons() if button.text().startswith("drop the mismatched"))
    click_and_wait(qtbot, check, drop)
    report = check.controller.report
    assert report.alignment["rules"] == ["strip 'module.'"] and report.applied
    check.panel.export_button.click()
    dialog = window.findChild(ExportDialog)
    assert dialog is not None and dialog.isVisible()
    checkpoint = document.loaded.checkpoint
    expected = ExportPlan.from_json(report.plan).resolve(checkpoint)
    assert dialog.plan().resolve(checkpoint).keys == expected.keys
    assert "module.fc.weight" not in expected.source_keys.values() and "conv1.weight" in expected.keys
    dialog.options.destination.setText(str(tmp_path / "fixed.pt"))
    qtbot.waitUntil(lambda: dialog.export_button.isEnabled() and not dialog._options_timer.isActive(),
                    timeout=LOAD_TIMEOUT_MS)
    with qtbot.waitSignal(dialog.exported, timeout=CHECK_TIMEOUT_MS):
        dialog.export_button.click()
    result = resnet18(weights=None, num_classes=10).load_state_dict(
        torch.load(tmp_path / "fixed.pt", weights_only=True), strict=False)
    assert result.missing_keys == ["fc.weight", "fc.bias"] and result.unexpected_keys == []

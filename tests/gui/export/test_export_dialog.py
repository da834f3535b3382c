"""The export dialog: options, the run in a worker process (output read back by torch and
safetensors), plans saved and loaded, cancel, errors in place, and the entry point other
features call with their own plan."""

from __future__ import annotations

import json
import os

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QMessageBox

from inspector.core.loader import open_checkpoint
from inspector.core.plan import ExportPlan
from inspector.gui.export.export_dialog import ExportDialog
from tests.gui.export.conftest import FREEZE, INCLUDE, LOAD_TIMEOUT_MS, click_box, node_at, parameter_names

EXPORT_TIMEOUT_MS = 120_000


def open_dialog_from_the_bar(qtbot, window, mode) -> ExportDialog:
    qtbot.mouseClick(mode.bar.export_button, Qt.MouseButton.LeftButton)
    dialog = window.findChild(ExportDialog)
    assert dialog is not None and dialog.isVisible()
    qtbot.waitUntil(dialog.export_button.isEnabled, timeout=LOAD_TIMEOUT_MS)  # its preview is in
    return dialog


def export(qtbot, dialog: ExportDialog, destination) -> dict:
    dialog.options.destination.setText(str(destination))
    qtbot.waitUntil(lambda: dialog.export_button.isEnabled() and not dialog._options_timer.isActive(),
                    timeout=LOAD_TIMEOUT_MS)
    with qtbot.waitSignal(dialog.exported, timeout=EXPORT_TIMEOUT_MS) as finished:
        qtbot.mouseClick(dialog.export_button, Qt.MouseButton.LeftButton)
    return finished.args[0]


def test_export_writes_what_the_boxes_say_and_torch_loads_it(qtbot, tmp_path, window, document, mode, resnet):
    import torch

    path, model = resnet
    with qtbot.waitSignal(mode.resolvedChanged, timeout=LOAD_TIMEOUT_MS):
        click_box(qtbot, document, node_at(document, "fc"), INCLUDE)
    with qtbot.waitSignal(mode.resolvedChanged, timeout=LOAD_TIMEOUT_MS):
        click_box(qtbot, document, node_at(document, "layer2"), FREEZE, shift=True)
    dialog = open_dialog_from_the_bar(qtbot, window, mode)
    result = export(qtbot, dialog, tmp_path / "backbone.pt")
    written = torch.load(tmp_path / "backbone.pt", map_location="cpu", weights_only=True)
    expected = {key: value for key, value in model.state_dict().items() if not key.startswith("fc.")}
    assert list(written) == list(expected)
    assert all(torch.equal(written[key], value) for key, value in expected.items())
    frozen = parameter_names(model, stop="layer2")
    with open(tmp_path / "backbone.json") as file:
        sidecar = json.load(file)
    assert sidecar["frozen"] == frozen and sidecar["plan"] == mode.selection.plan().to_json()
    assert result["sidecar"] == str(tmp_path / "backbone.json")
    assert str(tmp_path / "backbone.pt") in dialog.status.text() and result["sidecar"] in dialog.status.text()
    assert dialog.copy_snippet_button.isVisible()
    qtbot.mouseClick(dialog.copy_snippet_button, Qt.MouseButton.LeftButton)
    assert QGuiApplication.clipboard().text() == sidecar["snippet"]


def test_prefix_dtype_and_format_options_reach_the_safetensors_file(qtbot, tmp_path, window, document, mode, resnet):
    import torch
    from safetensors import safe_open
    from safetensors.torch import load_file

    path, model = resnet
    dialog = open_dialog_from_the_bar(qtbot, window, mode)
    dialog.options.add.setText("backbone.")
    dialog.options.dtype.setCurrentIndex(dialog.options.dtype.findData("bfloat16"))
    dialog.options.destination.setText(str(tmp_path / "half.pt"))
    dialog.options.format.setCurrentIndex(dialog.options.format.findData(".safetensors"))
    assert dialog.options.destination.text() == str(tmp_path / "half.safetensors")
    export(qtbot, dialog, tmp_path / "half.safetensors")
    written = load_file(tmp_path / "half.safetensors")
    expected = model.state_dict()
    assert sorted(written) == sorted("backbone." + key for key in expected)
    for key, value in expected.items():
        cast = value.to(torch.bfloat16) if value.is_floating_point() else value
        assert written["backbone." + key].dtype == cast.dtype and torch.equal(written["backbone." + key], cast)
    with safe_open(tmp_path / "half.safetensors", "pt") as file:
        frozen = json.loads(file.metadata()["frozen"])
    assert frozen == ["backbone." + name for name, p in model.named_parameters() if not p.requires_grad]
    assert dialog.plan().rename == (("", "backbone."),) and dialog.plan().dtype == "bfloat16"


def test_a_saved_plan_loads_back_into_the_dialog_and_the_boxes(qtbot, tmp_path, window, document, mode):
    with qtbot.waitSignal(mode.resolvedChanged, timeout=LOAD_TIMEOUT_MS):
        click_box(qtbot, document, node_at(document, "layer4"), INCLUDE)
    dialog = open_dialog_from_the_bar(qtbot, window, mode)
    plan_path = str(tmp_path / "cut.plan.json")
    assert dialog.save_plan(plan_path)
    saved = dialog.plan()
    with open(plan_path) as file:
        assert json.load(file) == saved.to_json()
    dialog.reject()
    with qtbot.waitSignal(mode.resolvedChanged, timeout=LOAD_TIMEOUT_MS):
        click_box(qtbot, document, node_at(document, "layer4"), INCLUDE)  # back in
    assert mode.selection.plan() != saved
    other = window.open_export_dialog(document, ExportPlan())
    with qtbot.waitSignal(mode.resolvedChanged, timeout=LOAD_TIMEOUT_MS):
        assert other.load_plan(plan_path)
    assert other.plan() == saved and mode.selection.plan() == saved
    assert (mode.selection.included == other.selection.included).all()
    other.reject()


def start_big_export(qtbot, window, big_file, folder) -> ExportDialog:
    """An export of ``big_file`` cast to bfloat16 (slow enough to catch), caught while writing."""
    document = window.open_document(big_file)
    qtbot.waitUntil(lambda: document.state == "ready", timeout=LOAD_TIMEOUT_MS)
    dialog = window.open_export_dialog(document, ExportPlan(dtype="bfloat16"))
    folder.mkdir()
    dialog.options.destination.setText(str(folder / "big-half.pt"))
    qtbot.waitUntil(lambda: dialog.export_button.isEnabled() and not dialog._options_timer.isActive(),
                    timeout=LOAD_TIMEOUT_MS)
    assert dialog.start_export()
    writing = []
    dialog._worker.progressed.connect(lambda done, total, text: writing.append(text.startswith("writing")))
    qtbot.waitUntil(lambda: any(writing), timeout=EXPORT_TIMEOUT_MS)
    assert dialog.result is None, "the export ended too fast to test stopping it"
    return dialog


def test_cancel_stops_the_export_and_leaves_no_file(qtbot, tmp_path, window, big_file):
    dialog = start_big_export(qtbot, window, big_file, tmp_path / "out")
    with qtbot.waitSignal(dialog._worker.cancelled, timeout=EXPORT_TIMEOUT_MS):
        qtbot.mouseClick(dialog.cancel_button, Qt.MouseButton.LeftButton)
    assert os.listdir(tmp_path / "out") == []
    assert "Cancelled" in dialog.status.text() and not dialog.is_running() and dialog.result is None
    assert dialog.export_button.isEnabled()


def test_quitting_mid_export_leaves_no_file(qtbot, tmp_path, window, big_file):
    dialog = start_big_export(qtbot, window, big_file, tmp_path / "out")
    worker = dialog._worker
    dialog._on_application_about_to_quit()  # what QApplication.aboutToQuit calls
    assert not worker.is_running() and worker._process.exitcode == 0
    assert os.listdir(tmp_path / "out") == []


@pytest.fixture(scope="module")
def big_file(tmp_path_factory):
    """64 MiB of float32: a bfloat16 export of it takes several steps."""
    import torch

    path = tmp_path_factory.mktemp("big") / "big.pt"
    torch.save({"weight": torch.randn(16 * 1024 * 1024), "bias": torch.zeros(4)}, path)
    return str(path)


def test_a_refused_export_says_why_in_place(qtbot, monkeypatch, window, document, mode, resnet):
    path, _ = resnet
    dialog = open_dialog_from_the_bar(qtbot, window, mode)
    monkeypatch.setattr(QMessageBox, "question", lambda *args: QMessageBox.StandardButton.Yes)
    dialog.options.destination.setText(path)  # the source itself
    qtbot.waitUntil(lambda: not dialog._options_timer.isActive(), timeout=LOAD_TIMEOUT_MS)
    assert dialog.start_export()
    with qtbot.waitSignal(dialog._worker.failed, timeout=EXPORT_TIMEOUT_MS):
        pass
    assert "refusing to overwrite the source checkpoint" in dialog.status.text()
    assert open_checkpoint(path).format == "torch-zip"


def test_another_feature_opens_the_dialog_with_its_plan(qtbot, window, document, resnet):
    path, model = resnet
    plan = ExportPlan(subdict="model", exclude=("net.fc",), rename=(("layer1", "stage1"), ("", "net.")))
    dialog = window.open_export_dialog(document, plan)
    assert isinstance(dialog, ExportDialog) and dialog.plan() == plan
    assert dialog.options.add.text() == "net." and dialog.options.strip.text() == ""
    assert "rename 'layer1' to 'stage1'" in dialog.options.other_renames.text()
    qtbot.waitUntil(lambda: dialog.preview_model.rowCount() > 0, timeout=LOAD_TIMEOUT_MS)
    resolved = plan.resolve(open_checkpoint(path))
    preview = dialog.preview_model
    assert [preview.text(row, preview.KEY) for row in range(preview.rowCount())] == resolved.keys
    assert preview.text(resolved.keys.index("net.stage1.0.conv1.weight"), preview.RULES) == \
        "rename 'layer1' to 'stage1', add 'net.'"
    assert "net.fc.weight" not in resolved.keys
    dialog.reject()
    assert window.open_export_dialog(document, ExportPlan(subdict="no_such_part")) is None
    assert "no_such_part" in window.statusBar().currentMessage()

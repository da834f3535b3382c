"""The main window: opening by drop and by path, errors in place, cancel, recent files."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent, QGuiApplication
from PySide6.QtWidgets import QApplication, QMessageBox, QStyle

from inspector.gui.window.main_window import DEFAULT_WINDOW_SIZE, MainWindow
from inspector.gui.window.recent_files import RecentFiles
from inspector.gui.document.tree_model import CheckpointTreeModel as M

LOAD_TIMEOUT_MS = 60_000



def wait_loaded(qtbot, document):
    qtbot.waitUntil(lambda: document.state != "loading", timeout=LOAD_TIMEOUT_MS)


def drop(window, paths: list[str]) -> None:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(path) for path in paths])
    event = QDropEvent(QPointF(40, 40), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                       Qt.KeyboardModifier.NoModifier)
    window.dropEvent(event)
    assert event.isAccepted()


def test_the_welcome_view_shows_until_a_file_is_open(qtbot, window, checkpoint_files):
    assert window.stack.currentWidget() is window.welcome
    document = window.open_paths([checkpoint_files["state_dict.pt"]])[0]
    assert window.stack.currentWidget() is window.tabs
    wait_loaded(qtbot, document)
    window.close_document()
    assert window.stack.currentWidget() is window.welcome and window.tabs.count() == 0


def test_a_loading_row_appears_at_once_then_the_tree(qtbot, window, checkpoint_files):
    document = window.open_document(checkpoint_files["general.pt"])
    model = document.tree_panel.model
    assert model.rowCount() == 1 and model.data(model.index(0, 0), M.StatusRole) == "loading"
    wait_loaded(qtbot, document)
    assert document.state == "ready" and model.status is None
    names = [model.data(model.index(row, 0)) for row in range(model.rowCount())]
    assert names == ["epoch", "model_state_dict", "optimizer_state_dict", "loss", "hyper_parameters"]
    assert "torch-zip" in window.status_label.text() and "tensors" in window.status_label.text()


def test_dropping_files_opens_each_one(qtbot, window, checkpoint_files):
    paths = [checkpoint_files["general.pt"], checkpoint_files["weights.safetensors"]]
    drop(window, paths)
    documents = window.documents()
    assert [document.path for document in documents] == paths
    for document in documents:
        wait_loaded(qtbot, document)
    assert [document.checkpoint.format for document in documents] == ["torch-zip", "safetensors"]


def test_dropping_a_folder_opens_the_checkpoints_inside(qtbot, window, checkpoint_files):
    import os

    folder = os.path.dirname(checkpoint_files["general.pt"])
    drop(window, [folder])
    window.findChild(QMessageBox).files_button.click()  # not as a series
    assert sorted(document.path for document in window.documents()) == sorted(checkpoint_files.values())
    for document in window.documents():
        wait_loaded(qtbot, document)


@pytest.mark.parametrize("name, words", [("random.pt", "not a recognised"), ("page.pt", "HTML")])
def test_a_bad_file_shows_an_error_row_and_the_window_stays_usable(qtbot, window, bad_files, checkpoint_files,
                                                                   name, words):
    bad = window.open_document(bad_files[name])
    wait_loaded(qtbot, bad)
    model = bad.tree_panel.model
    assert bad.state == "error" and model.data(model.index(0, 0), M.StatusRole) == "error"
    assert words.lower() in model.data(model.index(0, 0)).lower()
    assert bad.messages.text.text() == bad.error_message
    good = window.open_document(checkpoint_files["state_dict.pt"])
    wait_loaded(qtbot, good)
    assert good.state == "ready" and window.tabs.count() == 2


def test_cancel_stops_the_reader_and_shows_cancelled(qtbot, window, slow_file):
    document = window.open_document(slow_file)
    pid = document.worker_pid()
    with qtbot.waitSignal(document._worker.progressed, timeout=LOAD_TIMEOUT_MS):
        pass  # the reader is into the file
    assert document.state == "loading", "the slow file loaded too fast to test cancelling"
    qtbot.mouseClick(document.loading_bar.cancel_button, Qt.MouseButton.LeftButton)
    assert document.state == "cancelled"
    assert document.tree_panel.model.data(document.tree_panel.model.index(0, 0), M.StatusRole) == "cancelled"
    assert not _process_exists(pid)
    assert document.messages.retry_button.isVisibleTo(document)


def test_closing_a_loading_tab_stops_its_reader(qtbot, window, slow_file):
    document = window.open_document(slow_file)
    pid = document.worker_pid()
    window.close_document()
    assert window.tabs.count() == 0 and not _process_exists(pid)


def test_recent_files_persist_across_windows(qtbot, window, checkpoint_files):
    for name in ("state_dict.pt", "general.pt"):
        wait_loaded(qtbot, window.open_document(checkpoint_files[name]))
    assert RecentFiles().paths()[:2] == [checkpoint_files["general.pt"], checkpoint_files["state_dict.pt"]]
    window.close()
    second = MainWindow()
    qtbot.addWidget(second)
    second.actions.recent_menu.aboutToShow.emit()
    entries = [action.toolTip() for action in second.actions.recent_menu.actions() if action.toolTip()]
    assert entries[:2] == [checkpoint_files["general.pt"], checkpoint_files["state_dict.pt"]]
    second.close()


def test_selecting_a_row_shows_it_in_the_tensor_panel_and_copies(qtbot, window, checkpoint_files):
    document = window.open_document(checkpoint_files["general.pt"])
    wait_loaded(qtbot, document)
    with qtbot.waitSignal(document.tensor_panel.plotsFinished, timeout=LOAD_TIMEOUT_MS):
        assert document.select_first_tensor()
    node = document.tree_panel.current_node()
    assert node.kind == "tensor" and node.key == "0.weight"
    menu = document.tree_panel.context_menu(node)
    actions = {action.text(): action for action in menu.actions()}
    actions["Copy key"].trigger()
    assert QGuiApplication.clipboard().text() == "0.weight"
    actions["Copy path"].trigger()
    assert QGuiApplication.clipboard().text() == '["model_state_dict", "0.weight"]'
    actions["Copy loading snippet"].trigger()
    assert 'weights_only=True' in QGuiApplication.clipboard().text()


def test_shortcuts_focus_the_filter_and_close_the_tab(qtbot, window, checkpoint_files):
    document = window.open_document(checkpoint_files["state_dict.pt"])
    wait_loaded(qtbot, document)
    window.activateWindow()
    qtbot.keyClick(window, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    assert QApplication.focusWidget() is document.tree_panel.filter_edit
    qtbot.keyClicks(document.tree_panel.filter_edit, "running_mean")
    qtbot.waitUntil(lambda: document.tree_panel.proxy.is_filtering(), timeout=5_000)
    assert document.tree_panel.proxy.match_count == 1
    qtbot.keyClick(window, Qt.Key.Key_W, Qt.KeyboardModifier.ControlModifier)
    assert window.tabs.count() == 0


def test_code_running_globals_show_a_danger_banner(qtbot, window, tmp_path):
    import pickle

    class Payload:
        def __reduce__(self):
            import os
            return os.system, ("echo never-run",)

    path = tmp_path / "hostile.pkl"
    path.write_bytes(pickle.dumps({"weights": [1.0, 2.0], "payload": Payload()}, protocol=2))
    document = window.open_document(str(path))
    wait_loaded(qtbot, document)
    assert document.state == "ready"
    assert document.banner.isVisibleTo(document) and document.banner.level == "danger"
    assert "posix.system" in document.banner.headline.text()


def _process_exists(pid: int) -> bool:

    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_window_geometry_and_splitter_are_restored(qtbot, window, checkpoint_files):
    document = window.open_document(checkpoint_files["state_dict.pt"])
    wait_loaded(qtbot, document)
    window.resize(720, 520)  # inside the offscreen screen: restoring clamps to the screen
    document.splitter.setSizes([250, 450])
    document.splitter.splitterMoved.emit(300, 1)
    sizes, geometry = document.splitter.sizes(), window.geometry()
    window.close()
    second = MainWindow()
    qtbot.addWidget(second)
    assert second.geometry().size() == geometry.size()
    second.show()
    restored = second.open_document(checkpoint_files["state_dict.pt"])
    qtbot.waitUntil(lambda: restored.splitter.sizes() == sizes, timeout=5_000)
    second.close()


def test_uncaught_errors_go_to_the_status_bar(qtbot, window, capsys):
    import sys

    from inspector.gui.window import excepthook

    excepthook.install(lambda text: window.statusBar().showMessage(text))
    try:
        sys.excepthook(ValueError, ValueError("boom\nsecond line"), None)
    finally:
        excepthook.uninstall()
    assert window.statusBar().currentMessage() == "Internal error: ValueError: boom"
    assert "ValueError: boom" in capsys.readouterr().err


def test_many_files_load_a_few_at_a_time(qtbot, window, checkpoint_files, slow_file):
    from inspector.gui.workers.load_scheduler import MAX_CONCURRENT_LOADS

    slow = [window.open_document(slow_file)]
    others = [window.open_document(path) for path in checkpoint_files.values()]
    running = [document for document in slow + others if document.worker_pid() is not None]
    assert len(running) == min(MAX_CONCURRENT_LOADS, 1 + len(others))
    waiting = [document for document in others if document.worker_pid() is None]
    for document in waiting:
        model = document.tree_panel.model
        assert model.data(model.index(0, 0)).startswith("Waiting to load")
    for document in others:
        wait_loaded(qtbot, document)
        assert document.state == "ready"
    slow[0].cancel()


def test_every_tree_column_is_visible_at_the_default_window_size(qtbot, window, checkpoint_files):
    document = window.open_document(checkpoint_files["state_dict.pt"])
    wait_loaded(qtbot, document)
    qtbot.waitUntil(lambda: window.width() == DEFAULT_WINDOW_SIZE[0])
    view = document.tree_panel.view
    header = view.header()
    last = header.count() - 1
    role_text = view.fontMetrics().horizontalAdvance("optimizer-state") + 12
    assert header.sectionSize(last) >= role_text
    assert header.sectionViewportPosition(last) + role_text <= view.viewport().width()


def test_the_colour_scheme_is_chosen_in_the_view_menu_and_remembered(qtbot, window, monkeypatch):
    from inspector.gui.window import theme

    monkeypatch.delenv(theme.COLOR_SCHEME_VARIABLE, raising=False)
    app = QApplication.instance()
    try:
        window.actions.color_schemes["dark"].trigger()
        assert theme.is_dark(app.palette()) and "#5a5f66" in app.styleSheet()
        window.actions.color_schemes["light"].trigger()
        assert not theme.is_dark(app.palette()) and "#a7adb5" in app.styleSheet()
        window.actions.color_schemes["dark"].trigger()
        window.close()
        second = MainWindow()
        qtbot.addWidget(second)
        assert theme.requested_scheme() == "dark" and second.actions.color_schemes["dark"].isChecked()
        second.close()
    finally:
        theme.apply_color_scheme(app, "light")


def test_ctrl_page_keys_switch_tabs_from_anywhere(qtbot, window, checkpoint_files):
    documents = [window.open_document(checkpoint_files[name]) for name in ("state_dict.pt", "general.pt")]
    for document in documents:
        wait_loaded(qtbot, document)
    window.tabs.setCurrentIndex(0)
    window.activateWindow()
    inner_tabs = documents[0].tensor_panel.tensor_tabs
    for focus, key, expected in ((documents[0].tree_panel.view, Qt.Key.Key_PageDown, 1),
                                 (documents[1].tree_panel.filter_edit, Qt.Key.Key_PageUp, 0),
                                 (documents[0].tree_panel.view, Qt.Key.Key_Tab, 1)):
        focus.setFocus()
        qtbot.keyClick(focus, key, Qt.KeyboardModifier.ControlModifier)
        assert window.tabs.currentIndex() == expected
    assert inner_tabs.currentIndex() == 0  # the panel's own tabs did not take the keys


def test_escape_clears_the_filter_then_the_selection(qtbot, window, checkpoint_files):
    document = window.open_document(checkpoint_files["general.pt"])
    wait_loaded(qtbot, document)
    panel = document.tree_panel
    assert document.tensor_panel._node is document.loaded.root  # the whole file before any row
    assert document.select_first_tensor()
    qtbot.keyClicks(panel.filter_edit, "running")
    qtbot.waitUntil(panel.proxy.is_filtering, timeout=5_000)
    qtbot.keyClick(panel.filter_edit, Qt.Key.Key_Escape)
    assert panel.filter_edit.text() == "" and not panel.proxy.is_filtering()
    assert panel.current_node().key == "0.weight"
    panel.view.setFocus()
    qtbot.keyClick(panel.view, Qt.Key.Key_Escape)
    assert panel.current_node() is None and document.tensor_panel._node is document.loaded.root


def test_reload_keeps_expanded_rows_and_the_selection(qtbot, window, checkpoint_files):
    document = window.open_document(checkpoint_files["general.pt"])
    wait_loaded(qtbot, document)
    panel = document.tree_panel
    optimizer = next(node for node in document.loaded.root.children if node.name == "optimizer_state_dict")
    momentum = optimizer.children[0].children[3].children[0]  # state › 3 › momentum_buffer
    assert panel.select_node(momentum)
    before = panel.view_state()
    with qtbot.waitSignal(document.loadFinished, timeout=LOAD_TIMEOUT_MS):
        window.actions.reload.trigger()
    assert document.state == "ready" and panel.current_node() is not momentum
    after = panel.view_state()
    assert after.current == before.current == ("optimizer_state_dict", "state", "3", "momentum_buffer")
    assert set(after.expanded) == set(before.expanded)


def test_an_error_tab_says_it_once_with_try_again(qtbot, window, bad_files):
    document = window.open_document(bad_files["page.pt"])
    wait_loaded(qtbot, document)
    assert document.pages.currentWidget() is document.messages
    assert not document.splitter.isVisibleTo(document)  # the tree's error row is not shown too
    assert document.messages.retry_button.isVisibleTo(document)
    document.messages.retry_button.click()
    assert document.pages.currentWidget() is document.splitter and document.state == "loading"
    wait_loaded(qtbot, document)


def test_column_widths_are_remembered(qtbot, window, checkpoint_files):
    document = window.open_document(checkpoint_files["state_dict.pt"])
    wait_loaded(qtbot, document)
    header = document.tree_panel.view.header()
    header.resizeSection(M.TYPE, 321)
    window.close()
    second = MainWindow()
    qtbot.addWidget(second)
    second.show()
    restored = second.open_document(checkpoint_files["state_dict.pt"])
    assert restored.tree_panel.view.header().sectionSize(M.TYPE) == 321
    wait_loaded(qtbot, restored)
    second.close()


def test_a_folder_of_checkpoints_from_the_command_line_or_open_folder_asks_first(
        qtbot, window, checkpoint_files, monkeypatch):
    """As a drop does: "Open as a Series" or "Open Each File", without blocking the window."""
    import os

    from PySide6.QtWidgets import QFileDialog

    from inspector.gui.window import app

    folder = os.path.dirname(checkpoint_files["general.pt"])
    app._open_initial(window, [folder], demo=False, controller=None)
    question = window.findChild(QMessageBox)
    assert question.isVisible() and question.windowModality() != Qt.WindowModality.ApplicationModal
    assert window.tabs.count() == 0 and "holds several checkpoints" in question.text()
    question.files_button.click()
    assert sorted(document.path for document in window.documents()) == sorted(checkpoint_files.values())
    for document in window.documents():
        wait_loaded(qtbot, document)
    while window.tabs.count():
        window.close_document()
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *args, **kwargs: folder)
    window.actions.open_folder.trigger()
    question = next(box for box in window.findChildren(QMessageBox) if box.isVisible())
    assert window.tabs.count() == 0
    question.series_button.click()
    series = window.tabs.currentWidget()
    assert series in window.series_tabs() and series.paths == [folder] and window.documents() == []
    qtbot.waitUntil(lambda: series.state != "loading", timeout=LOAD_TIMEOUT_MS)


def test_clearing_the_filter_brings_back_the_rows_expanded_before_it(qtbot, window, checkpoint_files):
    document = window.open_document(checkpoint_files["general.pt"])
    wait_loaded(qtbot, document)
    panel = document.tree_panel
    before = set(panel.view_state().expanded)
    qtbot.keyClicks(panel.filter_edit, "momentum")
    qtbot.waitUntil(panel.proxy.is_filtering, timeout=5_000)
    assert set(panel.view_state().expanded) - before  # the matches' branches opened
    optimizer = next(node for node in document.loaded.root.children if node.name == "optimizer_state_dict")
    momentum = optimizer.children[0].children[3].children[0]  # state › 3 › momentum_buffer
    assert panel.select_node(momentum)  # chosen while filtering
    qtbot.keyClick(panel.filter_edit, Qt.Key.Key_Escape)
    assert panel.filter_edit.text() == "" and panel.current_node() is momentum
    path_to_momentum = {("optimizer_state_dict",), ("optimizer_state_dict", "state"),
                        ("optimizer_state_dict", "state", "3")}
    assert set(panel.view_state().expanded) == before | path_to_momentum
    index = panel.proxy.mapFromSource(panel.model.index_of(momentum))
    assert panel.view.viewport().rect().contains(panel.view.visualRect(index))


def test_dark_outlines_show_on_boxes_and_fields_of_every_kind(qtbot, monkeypatch):
    """Fusion outlines check boxes (item views' too), radio buttons and fields in the window
    colour made darker, which vanishes on a dark window: the app's style draws them with a
    lighter one, and a dimmer one for a disabled box."""
    from PySide6.QtGui import QPalette
    from PySide6.QtWidgets import QLineEdit, QListWidget, QListWidgetItem

    from inspector.gui.window import outline_style, theme

    drawn = []
    outlined = outline_style._outlined

    def recorded(option):
        drawn.append(outlined(option))
        return drawn[-1]

    monkeypatch.setattr(outline_style, "_outlined", recorded)
    app = QApplication.instance()
    names = QListWidget()
    qtbot.addWidget(names)
    for enabled in (True, False):
        item = QListWidgetItem("val_loss" if enabled else "lr")
        enabling = Qt.ItemFlag.ItemIsEnabled if enabled else Qt.ItemFlag.NoItemFlags
        item.setFlags(Qt.ItemFlag.ItemIsUserCheckable | enabling)
        item.setCheckState(Qt.CheckState.Unchecked)
        names.addItem(item)
    field = QLineEdit()
    qtbot.addWidget(field)
    try:
        theme.apply_color_scheme(app, "dark")
        base = app.palette().color(QPalette.ColorRole.Base)
        names.grab()
        field.grab()
    finally:
        theme.apply_color_scheme(app, "light")
    kinds = {type(option).__name__ for option in drawn}
    assert {"QStyleOptionViewItem", "QStyleOptionButton", "QStyleOptionFrame"} <= kinds
    enabled = [option for option in drawn if option.state & QStyle.StateFlag.State_Enabled]
    disabled = [option for option in drawn if not option.state & QStyle.StateFlag.State_Enabled]
    assert enabled and disabled
    for option in enabled:
        assert option.palette.color(QPalette.ColorRole.Window).darker(140).lightness() - base.lightness() > 60
    for option in disabled:
        outline = option.palette.color(QPalette.ColorRole.Window).darker(140)
        assert 0 < outline.lightness() - base.lightness() < 60  # there, but dimmer
    count = len(drawn)
    names.grab()  # light: Fusion's own outlines
    assert len(drawn) == count

"""Every way into a compare tab: the main window's API, a tab's menu, File > Compare…, a drop
with Shift held, and ``inspector --compare A B``."""

from __future__ import annotations

from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent
from PySide6.QtWidgets import QDialogButtonBox

from inspector.cli import _gui_parser
from inspector.gui.compare.compare_picker import ComparePicker
from inspector.gui.compare.compare_view import CompareView
from inspector.gui.window.app import _open_initial

RUN_MS = 60_000



def wait_done(qtbot, view: CompareView) -> None:
    qtbot.waitUntil(lambda: view.phase != "running", timeout=RUN_MS)


def compare_tabs(window) -> list[CompareView]:
    return [window.tabs.widget(i) for i in range(window.tabs.count()) if isinstance(window.tabs.widget(i), CompareView)]


def test_open_compare_adds_a_tab_that_is_not_a_document(qtbot, window, compare_pair):
    view = window.open_compare(*compare_pair)
    assert window.tabs.currentWidget() is view and window.documents() == [] and window.current_document() is None
    assert window.stack.currentWidget() is window.tabs
    wait_done(qtbot, view)
    assert view.phase == "done"
    assert window.status_label.text() == view.status_text() and "changed" in view.status_text()
    assert window.windowTitle().startswith("base.pt ⇄ tuned.pt")
    window.close_document()
    assert window.tabs.count() == 0 and window.stack.currentWidget() is window.welcome


def test_closing_a_running_compare_tab_stops_its_worker(qtbot, window, slow_file, tmp_path):
    copy = tmp_path / "copy.pkl"
    copy.write_bytes(open(slow_file, "rb").read())
    view = window.open_compare(slow_file, str(copy))
    assert view.worker_pid() is not None
    window.close_document()
    assert window.tabs.count() == 0 and view.worker_pid() is None


def test_a_tabs_menu_compares_with_another_open_document(qtbot, window, compare_pair):
    first, second = (window.open_document(path) for path in compare_pair)
    menu = window.tab_context_menu(window.tabs.indexOf(first))
    actions = {action.text(): action for action in menu.actions()}
    assert set(actions) >= {"tuned.pt", "Another &File…"}
    actions["tuned.pt"].trigger()
    [view] = compare_tabs(window)
    assert (view.state.path_a, view.state.path_b) == tuple(compare_pair)
    wait_done(qtbot, view)
    assert window.tab_context_menu(window.tabs.indexOf(view)) is None
    for document in (first, second):
        qtbot.waitUntil(lambda document=document: document.state != "loading", timeout=RUN_MS)


def test_file_compare_asks_for_two_paths(qtbot, window, compare_pair, monkeypatch):
    def accept(picker):
        picker.set_paths(*compare_pair)
        return ComparePicker.DialogCode.Accepted

    monkeypatch.setattr(ComparePicker, "exec", accept)
    window.actions.compare.trigger()
    [view] = compare_tabs(window)
    assert (view.state.path_a, view.state.path_b) == tuple(compare_pair)
    wait_done(qtbot, view)


def test_the_picker_needs_two_different_paths(qtbot, compare_pair):
    picker = ComparePicker(list(compare_pair), compare_pair[0])
    qtbot.addWidget(picker)
    ok = picker.buttons.button(QDialogButtonBox.StandardButton.Ok)
    assert picker.paths() == tuple(compare_pair) and ok.isEnabled()
    picker.set_paths(compare_pair[0], compare_pair[0])
    assert not ok.isEnabled()
    picker.set_paths(compare_pair[0], "")
    assert not ok.isEnabled()


def drop(window, paths: list[str], modifiers=Qt.KeyboardModifier.NoModifier) -> None:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(path) for path in paths])
    event = QDropEvent(QPointF(40, 40), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton, modifiers)
    window.dropEvent(event)
    assert event.isAccepted()


def test_two_files_dropped_with_shift_are_compared(qtbot, window, compare_pair):
    drop(window, list(compare_pair), Qt.KeyboardModifier.ShiftModifier)
    [view] = compare_tabs(window)
    assert window.documents() == [] and (view.state.path_a, view.state.path_b) == tuple(compare_pair)
    wait_done(qtbot, view)
    drop(window, list(compare_pair))
    assert len(window.documents()) == 2 and len(compare_tabs(window)) == 1
    for document in window.documents():
        qtbot.waitUntil(lambda document=document: document.state != "loading", timeout=RUN_MS)


def test_a_file_dropped_on_a_side_replaces_it(qtbot, window, compare_pair, checkpoint_files):
    view = window.open_compare(*compare_pair)
    wait_done(qtbot, view)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(checkpoint_files["state_dict.pt"])])
    event = QDropEvent(QPointF(5, 5), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                       Qt.KeyboardModifier.NoModifier)
    view.header.side_b.dropEvent(event)
    assert view.state.path_b == checkpoint_files["state_dict.pt"]
    wait_done(qtbot, view)
    assert window.tabs.tabText(window.tabs.indexOf(view)) == "base.pt ⇄ state_dict.pt"


def test_compare_on_the_command_line(qtbot, window, compare_pair):
    options = _gui_parser().parse_args(["--compare", *compare_pair])
    assert options.compare == list(compare_pair) and options.files == []
    _open_initial(window, options.files, False, None, options.compare)
    [view] = compare_tabs(window)
    assert (view.state.path_a, view.state.path_b) == tuple(compare_pair)
    wait_done(qtbot, view)

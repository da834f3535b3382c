"""The window's menus and shortcuts; each action calls back into the main window."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Callable

from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QMainWindow, QMenu

from inspector.gui.window.recent_files import RecentFiles


@dataclass
class Handlers:
    open_files: Callable[[], None]
    open_folder: Callable[[], None]
    open_series: Callable[[], None]
    open_paths: Callable[[list[str]], None]
    open_demo: Callable[[], None]
    compare: Callable[[], None]
    reload: Callable[[], None]
    close_document: Callable[[], None]
    focus_filter: Callable[[], None]
    set_color_scheme: Callable[[str], None]
    next_document: Callable[[], None]
    previous_document: Callable[[], None]
    about: Callable[[], None]
    quit: Callable[[], None]


COLOR_SCHEMES = (("system", "Follow the &System"), ("light", "&Light"), ("dark", "&Dark"))


class WindowActions:
    def __init__(self, window: QMainWindow, handlers: Handlers, recent: RecentFiles):
        self._window = window
        self._handlers = handlers
        self._recent = recent
        self._feature_actions: list[QAction] = []
        self.open = self._action("&Open…", handlers.open_files, "Ctrl+O")
        self.open_folder = self._action("Open &Folder…", handlers.open_folder, "Ctrl+Shift+O")
        self.open_series = self._action("Open &Series…", handlers.open_series, "Ctrl+Shift+S")
        self.open_demo = self._action("Open &Demo Checkpoints", handlers.open_demo)
        self.compare = self._action("Co&mpare…", handlers.compare, "Ctrl+Shift+D")
        self.reload = self._action("&Reload", handlers.reload, "F5", "Ctrl+R")
        self.close = self._action("&Close", handlers.close_document, "Ctrl+W", "Ctrl+F4")
        self.quit = self._action("&Quit", handlers.quit, "Ctrl+Q")
        self.find = self._action("&Filter Tree", handlers.focus_filter, "Ctrl+F")
        self.next_document = self._action("&Next Tab", handlers.next_document, "Ctrl+PgDown", "Ctrl+Tab")
        self.previous_document = self._action("&Previous Tab", handlers.previous_document,
                                              "Ctrl+PgUp", "Ctrl+Shift+Tab", "Ctrl+Backtab")
        self.about = self._action("&About Checkpoint Inspector", handlers.about)
        self.color_schemes = self._scheme_actions()
        self.recent_menu = QMenu("Open &Recent", window)
        self.recent_menu.aboutToShow.connect(self._on_recent_menu_about_to_show)
        self.menus: dict[str, QMenu] = {}  # by name ("file", "edit", "view", "help"): features add to them
        self._build_menus()

    def set_document_actions_enabled(self, enabled: bool) -> None:
        for action in (self.reload, self.close, self.find, self.next_document, self.previous_document,
                       *self._feature_actions):
            action.setEnabled(enabled)

    def add_document_action(self, menu_title: str, text: str, handler: Callable[[], None], *shortcuts: str) -> QAction:
        """A feature's action on the current document, in ``menu_title`` (made before Help when
        missing); enabled while a document is open."""
        action = self._action(text, handler, *shortcuts)
        bar = self._window.menuBar()
        menu = next((item.menu() for item in bar.actions() if item.menu() and item.text() == menu_title), None)
        if menu is None:
            menu = QMenu(menu_title, self._window)
            bar.insertMenu(bar.actions()[-1], menu)
        menu.addAction(action)
        self._feature_actions.append(action)
        return action

    def check_color_scheme(self, scheme: str) -> None:
        self.color_schemes[scheme].setChecked(True)

    def _scheme_actions(self) -> dict[str, QAction]:
        group = QActionGroup(self._window)
        actions = {}
        for scheme, text in COLOR_SCHEMES:
            action = QAction(text, group, checkable=True)
            action.triggered.connect(lambda _checked=False, chosen=scheme: self._handlers.set_color_scheme(chosen))
            actions[scheme] = action
        return actions

    def _action(self, text: str, handler: Callable[[], None], *shortcuts: str) -> QAction:
        """Shortcuts are spelled out: some platforms bind no key to the standard Quit."""
        action = QAction(text, self._window)
        action.setShortcuts([QKeySequence(shortcut) for shortcut in shortcuts])
        action.triggered.connect(lambda _checked=False: handler())
        self._window.addAction(action)  # shortcuts work even when the menu bar is hidden
        return action

    def _build_menus(self) -> None:
        bar = self._window.menuBar()
        file_menu = self.menus["file"] = bar.addMenu("&File")
        for item in (self.open, self.open_folder, self.open_series, self.recent_menu, self.open_demo, None, self.compare, None,
                     self.reload, self.close, None, self.quit):
            if item is None:
                file_menu.addSeparator()
            elif isinstance(item, QMenu):
                file_menu.addMenu(item)
            else:
                file_menu.addAction(item)
        self.menus["edit"] = bar.addMenu("&Edit")
        self.menus["edit"].addAction(self.find)
        view_menu = self.menus["view"] = bar.addMenu("&View")
        for action in (self.next_document, self.previous_document):
            view_menu.addAction(action)
        view_menu.addSeparator()
        colours = view_menu.addMenu("&Colours")
        for action in self.color_schemes.values():
            colours.addAction(action)
        self.menus["help"] = bar.addMenu("&Help")
        self.menus["help"].addAction(self.about)

    def _on_recent_menu_about_to_show(self) -> None:
        self.recent_menu.clear()
        paths = self._recent.paths()
        for path in paths:
            action = self.recent_menu.addAction(os.path.basename(path.rstrip(os.sep)) or path)
            action.setToolTip(path)
            action.setStatusTip(path)
            action.triggered.connect(lambda _checked=False, chosen=path: self._handlers.open_paths([chosen]))
        if paths:
            self.recent_menu.addSeparator()
            self.recent_menu.addAction("Clear Recent Files", self._recent.clear)
        else:
            self.recent_menu.addAction("No recent files").setEnabled(False)

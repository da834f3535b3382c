"""Fixtures for the GUI tests: isolated settings, and a guard that fails any test leaving
worker processes or threads running. Checkpoint files come from ``tests/conftest.py``."""

from __future__ import annotations

import multiprocessing
import threading

import pytest
from PySide6.QtCore import QCoreApplication, QSettings, QThreadPool

SETTLE_ROUNDS = 100
JOIN_S = 0.05  # per round: up to about five seconds in all for workers to end


def _join_briefly(threads_before: set[threading.Thread]) -> None:
    for child in multiprocessing.active_children():
        child.join(JOIN_S)
    for thread in set(threading.enumerate()) - threads_before:
        if thread is not threading.current_thread():
            thread.join(JOIN_S)
    if QCoreApplication.instance() is not None:
        QThreadPool.globalInstance().waitForDone(int(JOIN_S * 1000))


@pytest.fixture(autouse=True)
def isolated_settings(tmp_path, monkeypatch):
    """Recent files and geometry go to a fresh folder for each test."""
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(tmp_path / "settings"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    yield tmp_path / "settings"


@pytest.fixture(autouse=True)
def no_leftover_workers():
    """Fail the test when worker processes, reader threads or pool jobs outlive it."""
    threads_before = set(threading.enumerate())
    yield
    for _ in range(SETTLE_ROUNDS):  # let finishing workers end: join them, deliver their last signals
        if not _leftovers(threads_before):
            break
        QCoreApplication.processEvents()
        _join_briefly(threads_before)
    leftovers = _leftovers(threads_before)
    for child in multiprocessing.active_children():
        child.kill()
        child.join(1)
    assert not leftovers, f"the test left workers running: {leftovers}"


def _leftovers(threads_before: set[threading.Thread]) -> list[str]:
    found = [f"process {child.name} (pid {child.pid})" for child in multiprocessing.active_children()]
    found += [f"thread {thread.name}" for thread in threading.enumerate()
              if thread not in threads_before and thread.is_alive()]
    if QCoreApplication.instance() is not None and QThreadPool.globalInstance().activeThreadCount():
        found.append(f"{QThreadPool.globalInstance().activeThreadCount()} busy thread-pool workers")
    return found


@pytest.fixture
def window(qtbot):
    """The main window, shown; closing it stops its workers and saves the settings, as quitting does."""
    from inspector.gui.window.main_window import MainWindow

    window = MainWindow()
    qtbot.addWidget(window)
    window.show()
    yield window
    window.close()

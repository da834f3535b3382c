"""Fixtures for the GUI tests: isolated settings, and a guard that fails any test leaving
worker processes or threads running. Checkpoint files come from ``tests/conftest.py``."""

from __future__ import annotations

import multiprocessing
import threading
import time

import pytest
from PySide6.QtCore import QCoreApplication, QSettings, QThreadPool

WORKER_GRACE_S = 5.0


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
    deadline = time.monotonic() + WORKER_GRACE_S
    while time.monotonic() < deadline and _leftovers(threads_before):
        QCoreApplication.processEvents()
        time.sleep(0.02)
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

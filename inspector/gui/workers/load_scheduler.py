"""Reads a few files at a time: dropping fifty files must not start fifty reader processes."""

from __future__ import annotations

import os

from PySide6.QtCore import QObject

MAX_CONCURRENT_LOADS = max(2, min(4, (os.cpu_count() or 2) // 2))


class LoadScheduler(QObject):
    def __init__(self, parent: QObject | None = None, limit: int = MAX_CONCURRENT_LOADS):
        super().__init__(parent)
        self._limit = limit
        self._waiting: list = []
        self._running: set = set()

    def request(self, document) -> None:
        """Start ``document``'s load now or as soon as a slot frees up."""
        document.loadFinished.connect(lambda: self._on_document_load_finished(document))
        if len(self._running) < self._limit:
            self._start(document)
        else:
            document.show_waiting()
            self._waiting.append(document)

    def forget(self, document) -> None:
        """``document`` is closing: give its place to the next one."""
        self._on_document_load_finished(document)

    def _start(self, document) -> None:
        self._running.add(document)
        document.start_loading()

    def _on_document_load_finished(self, document) -> None:
        self._running.discard(document)
        if document in self._waiting:
            self._waiting.remove(document)
        while self._waiting and len(self._running) < self._limit:
            self._start(self._waiting.pop(0))

"""``--demo`` and File > Open Demo Checkpoints: open the cached demo files, building them
first (torch in a worker process, after the window is shown) when the cache is empty."""

from __future__ import annotations

from typing import Callable

from PySide6.QtCore import QObject, Signal

from inspector.gui.workers.process_worker import ProcessWorker


class DemoOpener(QObject):
    failed = Signal(str)

    def __init__(self, open_paths: Callable[[list[str]], object], show_message: Callable[..., None],
                 parent: QObject | None = None, cache_dir: str | None = None):
        super().__init__(parent)
        self._open_paths = open_paths
        self._show_message = show_message
        self._cache_dir = cache_dir
        self._worker: ProcessWorker | None = None

    def start(self) -> None:
        from inspector.demo import cached_demo_files, default_cache_dir

        cache_dir = self._cache_dir or default_cache_dir()
        cached = cached_demo_files(cache_dir)
        if cached is not None:
            self._open_paths(cached)
            return
        if self._worker is not None:
            return  # already building
        self._show_message("Building the demo checkpoints (first time only)…")
        self._worker = ProcessWorker("demo", {"cache_dir": cache_dir}, parent=self)
        self._worker.progressed.connect(lambda _done, _total, text: self._show_message(text))
        self._worker.succeeded.connect(self._on_worker_succeeded)
        self._worker.failed.connect(self._on_worker_failed)
        self._worker.cancelled.connect(self._forget_worker)
        self._worker.start()

    def cancel(self) -> None:
        if self._worker is not None:
            self._worker.cancel()

    def is_running(self) -> bool:
        return self._worker is not None

    def _on_worker_succeeded(self, paths: list[str]) -> None:
        self._forget_worker()
        self._show_message("Demo checkpoints ready", 4000)
        self._open_paths(paths)

    def _on_worker_failed(self, message: str) -> None:
        self._forget_worker()
        self._show_message(f"Could not build the demo checkpoints: {message}")
        self.failed.emit(message)

    def _forget_worker(self) -> None:
        if self._worker is not None:
            self._worker.wait()
            self._worker.deleteLater()
            self._worker = None

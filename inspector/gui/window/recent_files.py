"""The Open Recent list, newest first, persisted in the settings."""

from __future__ import annotations

import os

from inspector.gui.window.settings import app_settings

KEY = "recent_files"
MAX_RECENT = 12


class RecentFiles:
    def paths(self) -> list[str]:
        value = app_settings().value(KEY, [])
        if isinstance(value, str):  # QSettings returns a lone entry as a plain string
            value = [value]
        return [str(path) for path in value or []]

    def add(self, path: str) -> None:
        path = os.path.abspath(path)
        paths = [path, *(known for known in self.paths() if known != path)]
        self._store(paths[:MAX_RECENT])

    def remove(self, path: str) -> None:
        self._store([known for known in self.paths() if known != path])

    def clear(self) -> None:
        self._store([])

    def _store(self, paths: list[str]) -> None:
        settings = app_settings()
        settings.setValue(KEY, paths)
        settings.sync()

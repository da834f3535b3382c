"""Where the app keeps its settings (recent files, window geometry, splitter sizes)."""

from __future__ import annotations

from PySide6.QtCore import QSettings

ORGANIZATION = "checkpoint-inspector"
APPLICATION = "checkpoint-inspector"


def app_settings() -> QSettings:
    """An INI file in the user's config folder; tests redirect it with ``QSettings.setPath``."""
    return QSettings(QSettings.Format.IniFormat, QSettings.Scope.UserScope, ORGANIZATION, APPLICATION)

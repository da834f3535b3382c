"""Colours and icons that read well on both light and dark palettes."""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication, QIcon, QPalette
from PySide6.QtWidgets import QApplication, QStyle

RESOURCES = Path(__file__).resolve().parents[2] / "resources"
COLOR_SCHEME_VARIABLE = "INSPECTOR_COLOR_SCHEME"  # "dark" or "light" overrides the system's


def is_dark(palette: QPalette | None = None) -> bool:
    palette = palette or QGuiApplication.palette()
    return palette.color(QPalette.ColorRole.Window).lightness() < 128


def error_text_color() -> QColor:
    return QColor("#ff7b72") if is_dark() else QColor("#c62828")


def warning_text_color() -> QColor:
    return QColor("#e3b341") if is_dark() else QColor("#9a6700")


def dim_text_color() -> QColor:
    palette = QGuiApplication.palette()
    return palette.color(QPalette.ColorGroup.Active, QPalette.ColorRole.PlaceholderText)


def frame_color() -> QColor:
    """A visible but quiet line colour (drop-area outline)."""
    return QColor("#5a5f66") if is_dark() else QColor("#a7adb5")


def banner_colors(level: str) -> tuple[QColor, QColor]:
    """(background, border) for a banner of ``level`` "danger" or "info"."""
    dark = is_dark()
    if level == "danger":
        return (QColor("#3d1f1f"), QColor("#a33")) if dark else (QColor("#fdecea"), QColor("#e0a3a0"))
    return (QColor("#2d2a1a"), QColor("#8a7a30")) if dark else (QColor("#fff8e1"), QColor("#e6d28f"))


def status_icon(kind: str) -> QIcon:
    pixmap = {
        "error": QStyle.StandardPixmap.SP_MessageBoxCritical,
        "cancelled": QStyle.StandardPixmap.SP_BrowserStop,
        "loading": QStyle.StandardPixmap.SP_BrowserReload,
    }.get(kind, QStyle.StandardPixmap.SP_MessageBoxInformation)
    return QApplication.style().standardIcon(pixmap)


def app_icon() -> QIcon:
    return QIcon(str(RESOURCES / "icon.svg"))


def apply_color_scheme(app: QApplication) -> None:
    """Fusion everywhere (consistent look); a dark palette when the system or the user asks."""
    app.setStyle("Fusion")
    requested = os.environ.get(COLOR_SCHEME_VARIABLE, "").lower()
    system_dark = QGuiApplication.styleHints().colorScheme() == Qt.ColorScheme.Dark
    if requested == "dark" or (requested != "light" and system_dark):
        app.setPalette(dark_palette())


def dark_palette() -> QPalette:
    palette = QPalette()
    roles = QPalette.ColorRole
    for role, color in (
        (roles.Window, "#1f2125"), (roles.WindowText, "#e6e6e6"), (roles.Base, "#17181b"),
        (roles.AlternateBase, "#202226"), (roles.ToolTipBase, "#2b2d31"), (roles.ToolTipText, "#e6e6e6"),
        (roles.Text, "#e6e6e6"), (roles.Button, "#2a2c31"), (roles.ButtonText, "#e6e6e6"),
        (roles.BrightText, "#ff5555"), (roles.Link, "#6cb6ff"), (roles.Highlight, "#2f6fb3"),
        (roles.HighlightedText, "#ffffff"), (roles.PlaceholderText, "#8b8f96"), (roles.Mid, "#3a3d42"),
        (roles.Dark, "#111214"), (roles.Light, "#3a3d42"), (roles.Midlight, "#30333a"),
    ):
        palette.setColor(role, QColor(color))
    disabled = QPalette.ColorGroup.Disabled
    for role in (roles.Text, roles.ButtonText, roles.WindowText):
        palette.setColor(disabled, role, QColor("#6b6f76"))
    return palette

"""Colours, icons and the stylesheet, in a light or dark scheme chosen in the View menu."""

from __future__ import annotations

import os
from string import Template

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication, QIcon, QPalette
from PySide6.QtWidgets import QApplication, QStyle

from inspector.gui.window.outline_style import OutlineStyle
from inspector.gui.window.resources import resource_path
from inspector.gui.window.settings import app_settings

COLOR_SCHEME_VARIABLE = "INSPECTOR_COLOR_SCHEME"  # "dark" or "light" overrides the View menu's choice
SCHEMES = ("system", "light", "dark")
SETTINGS_KEY = "color_scheme"


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


STYLE_COLORS = {  # the stylesheet's $names, (light, dark)
    "frame": ("#a7adb5", "#5a5f66"),  # the drop area's outline: visible but quiet
    "info_background": ("#fff8e1", "#2d2a1a"), "info_border": ("#e6d28f", "#8a7a30"),
    "danger_background": ("#fdecea", "#3d1f1f"), "danger_border": ("#e0a3a0", "#aa3333"),
}


def status_icon(kind: str) -> QIcon:
    pixmap = {
        "error": QStyle.StandardPixmap.SP_MessageBoxCritical,
        "cancelled": QStyle.StandardPixmap.SP_BrowserStop,
        "loading": QStyle.StandardPixmap.SP_BrowserReload,
    }.get(kind, QStyle.StandardPixmap.SP_MessageBoxInformation)
    return QApplication.style().standardIcon(pixmap)


def app_icon() -> QIcon:
    return QIcon(str(resource_path("icon.svg")))


def requested_scheme() -> str:
    """The scheme asked for: the environment variable, else the View menu's choice, else "system"."""
    requested = os.environ.get(COLOR_SCHEME_VARIABLE, "").lower()
    if requested in SCHEMES:
        return requested
    chosen = str(app_settings().value(SETTINGS_KEY, "system"))
    return chosen if chosen in SCHEMES else "system"


def remember_scheme(scheme: str) -> None:
    settings = app_settings()
    settings.setValue(SETTINGS_KEY, scheme)
    settings.sync()


def apply_color_scheme(app: QApplication, scheme: str | None = None) -> str:
    """Fusion everywhere (one look on every desktop, with outlines that show on a dark window),
    in the light or dark palette that ``scheme`` ("system", "light" or "dark"; default: the
    requested one) means; returns it."""
    scheme = scheme or requested_scheme()
    app.setStyle(OutlineStyle("Fusion"))
    system_dark = QGuiApplication.styleHints().colorScheme() == Qt.ColorScheme.Dark
    dark = scheme == "dark" or (scheme == "system" and system_dark)
    palette = dark_palette() if dark else app.style().standardPalette()
    app.setPalette(palette)
    app.setStyleSheet(stylesheet(dark))
    return scheme


def stylesheet(dark: bool) -> str:
    template = Template(resource_path("style.qss").read_text(encoding="utf-8"))
    return template.substitute({name: pair[dark] for name, pair in STYLE_COLORS.items()})


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

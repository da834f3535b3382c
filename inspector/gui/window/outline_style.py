"""Fusion with outlines that show on a dark window.

Fusion draws the outline of check boxes (in item views too), radio buttons, text fields and
spin boxes in the window colour made darker: on a dark window, no outline at all, so an
unticked box or an empty field is invisible. In a dark palette these controls are drawn
with a lighter "window" colour for their outline, and a dimmer one when disabled: Fusion
fills a disabled box in an item view with that colour, as it fills it with the light
palette's window grey, so that a box you cannot tick does not look like one you can. One
place for every widget and item view.
"""

from __future__ import annotations

from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QProxyStyle, QStyle, QStyleOption

Element, Control = QStyle.PrimitiveElement, QStyle.ComplexControl
OUTLINED_ELEMENTS = frozenset({Element.PE_IndicatorCheckBox, Element.PE_IndicatorItemViewItemCheck,
                               Element.PE_IndicatorRadioButton, Element.PE_FrameLineEdit})
OUTLINED_CONTROLS = frozenset({Control.CC_SpinBox})
OUTLINE_WINDOW = QColor("#a0a6ae")  # Fusion darkens it into the outline: #72767c
DISABLED_OUTLINE_WINDOW = QColor("#4f5358")  # a dim outline (#383b3f), a muted fill; a tick still shows


def is_dark_palette(palette: QPalette) -> bool:
    return palette.color(QPalette.ColorRole.Window).lightness() < 128


def outline_palette(palette: QPalette, enabled: bool) -> QPalette:
    """``palette`` as an outlined control is drawn with: unchanged when it is light."""
    if not is_dark_palette(palette):
        return palette
    outlined = QPalette(palette)
    roles = QPalette.ColorRole
    if enabled:
        outlined.setColor(roles.Window, OUTLINE_WINDOW)
        return outlined
    window = palette.color(QPalette.ColorGroup.Disabled, roles.Window)
    outlined.setColor(roles.Base, window)
    outlined.setColor(roles.Text, palette.color(QPalette.ColorGroup.Disabled, roles.Text))
    outlined.setColor(roles.Window, DISABLED_OUTLINE_WINDOW)
    return outlined


class OutlineStyle(QProxyStyle):
    """Fusion (``base``), drawing ``OUTLINED_ELEMENTS`` and ``OUTLINED_CONTROLS`` with
    ``outline_palette``."""

    def drawPrimitive(self, element, option, painter, widget=None) -> None:
        if element in OUTLINED_ELEMENTS and is_dark_palette(option.palette):
            option = _outlined(option)
        super().drawPrimitive(element, option, painter, widget)

    def drawComplexControl(self, control, option, painter, widget=None) -> None:
        if control in OUTLINED_CONTROLS and is_dark_palette(option.palette):
            option = _outlined(option)
        super().drawComplexControl(control, option, painter, widget)


def _outlined(option: QStyleOption) -> QStyleOption:
    copy = type(option)(option)  # the caller's option may be drawn again after this
    copy.palette = outline_palette(option.palette, bool(option.state & QStyle.StateFlag.State_Enabled))
    return copy

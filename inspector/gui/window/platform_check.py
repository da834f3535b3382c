"""Can the window open here? Checked before Qt starts, because Qt aborts the process (SIGABRT)
when its xcb platform plugin lacks a system library or finds no display.

Qt-free: it asks the dynamic loader to load the xcb plugin (which names the first missing
library exactly) and libxcb to connect to the display, then reports one line to print.
"""

from __future__ import annotations

import ctypes
import os
import re
import sys
from pathlib import Path

OFFSCREEN_HINT = "inspector --screenshot OUT.png FILE with QT_QPA_PLATFORM=offscreen"
# What Qt's xcb plugin needs beyond a basic X11 desktop (Debian/Ubuntu package names).
APT_PACKAGES = ("libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-image0 libxcb-render-util0 "
                "libxcb-shape0 libxcb-randr0 libxcb-xkb1 libxkbcommon-x11-0 libegl1 libfontconfig1")
MISSING_LIBRARY = re.compile(r"([\w.+-]+\.so[\w.]*): cannot open shared object file")
HEADLESS_PLATFORMS = ("offscreen", "minimal", "vnc", "eglfs", "linuxfb", "vkkhrdisplay")


def xcb_plugin() -> Path:
    import PySide6  # the package only: no Qt library is loaded by importing it

    return Path(PySide6.__file__).parent / "Qt" / "plugins" / "platforms" / "libqxcb.so"


def window_problem(environ: dict[str, str] | None = None) -> str | None:
    """One line saying why the window cannot open here, or None when it can (or when Qt will
    not use xcb, so there is nothing this check knows about)."""
    environ = os.environ if environ is None else environ
    if not sys.platform.startswith("linux"):
        return None
    platform = environ.get("QT_QPA_PLATFORM", "").split(":")[0].split(";")[0]
    if platform.startswith(HEADLESS_PLATFORMS):
        return None
    if not platform and environ.get("WAYLAND_DISPLAY"):
        return None  # Qt tries Wayland first and falls back by itself
    if not environ.get("DISPLAY"):
        return f"no display to show the window on (DISPLAY is not set); to save a picture instead: {OFFSCREEN_HINT}"
    if platform not in ("", "xcb"):
        return None
    return _plugin_problem() or _display_problem(environ["DISPLAY"])


def _plugin_problem() -> str | None:
    plugin = xcb_plugin()
    try:
        ctypes.CDLL(str(plugin))
    except OSError as error:
        missing = MISSING_LIBRARY.search(str(error))
        if missing is None:
            return f"Qt's xcb platform plugin cannot be loaded ({error})"
        library = missing.group(1)
        if library.startswith("libQt6") or os.path.basename(library) == plugin.name:
            return f"PySide6 is incomplete ({library} is missing): reinstall it with pip"
        return (f"Qt needs the system library {library}, which is not installed; on Debian or Ubuntu: "
                f"sudo apt-get install {apt_package(library)} (everything Qt's xcb plugin needs: "
                f"sudo apt-get install {APT_PACKAGES})")
    return None


def apt_package(library: str) -> str:
    """Debian's package name for a shared library: ``libxcb-cursor.so.0`` -> ``libxcb-cursor0``."""
    name, _, version = library.partition(".so.")
    name = name.lower()
    version = version.split(".")[0]
    return f"{name}-{version}" if name[-1:].isdigit() else f"{name}{version}"


def _display_problem(display: str) -> str | None:
    try:
        xcb = ctypes.CDLL("libxcb.so.1")
    except OSError:
        return None  # the plugin loaded, so libxcb is there; nothing more to learn
    xcb.xcb_connect.restype = ctypes.c_void_p
    xcb.xcb_connect.argtypes = [ctypes.c_char_p, ctypes.c_void_p]
    xcb.xcb_connection_has_error.argtypes = [ctypes.c_void_p]
    xcb.xcb_disconnect.argtypes = [ctypes.c_void_p]
    connection = xcb.xcb_connect(display.encode(), None)
    if xcb.xcb_connection_has_error(connection):
        xcb.xcb_disconnect(connection)
        return f"cannot connect to the display {display!r}; to save a picture instead: {OFFSCREEN_HINT}"
    # Kept open until exit: an X server with no client left may reset itself (Xvfb does), and
    # Qt, connecting a moment later, would find it gone.
    _open_connections.append(connection)
    return None


_open_connections: list[int] = []

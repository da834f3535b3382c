"""Unexpected errors in GUI code are logged and shown in the status bar, never fatal."""

from __future__ import annotations

import sys
import traceback
from typing import Callable

_installed: list = []


def install(show_message: Callable[[str], None]) -> None:
    """Route uncaught exceptions to stderr plus ``show_message`` (one line)."""
    previous = sys.excepthook

    def hook(kind, error, trace) -> None:
        traceback.print_exception(kind, error, trace, file=sys.stderr)
        try:
            show_message(f"Internal error: {kind.__name__}: {error}".splitlines()[0][:300])
        except Exception:  # the window may be gone already
            pass

    _installed.append(previous)
    sys.excepthook = hook


def uninstall() -> None:
    if _installed:
        sys.excepthook = _installed.pop()

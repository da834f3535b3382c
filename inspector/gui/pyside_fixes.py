"""Work-arounds for bugs in the installed PySide6, applied once at import.

PySide6 6.12 returns ``True`` from ``SignalInstance.emit`` without taking a reference,
so every Python-side ``emit()`` drops one reference to ``True``. Python 3.12+ makes
``True``/``False`` immortal and never notices; on 3.11 a few thousand emits (a worker
yields per chunk) free ``True`` and the interpreter aborts ("bool_dealloc"). Giving both
singletons a huge reference count makes them as good as immortal, as on 3.12.
"""

from __future__ import annotations

import ctypes
import sys

_PINNED_REFERENCES = 1 << 40
_pinned = False


def pin_bool_singletons() -> None:
    """Make ``True`` and ``False`` practically immortal (no-op where they already are)."""
    global _pinned
    if sys.version_info >= (3, 12) or _pinned:
        return
    for singleton in (True, False):
        refcount = ctypes.c_ssize_t.from_address(id(singleton))  # ob_refcnt is the first field
        refcount.value += _PINNED_REFERENCES
    _pinned = True


pin_bool_singletons()

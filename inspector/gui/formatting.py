"""How numbers, shapes and values read in the tree and the status bar."""

from __future__ import annotations

from typing import Any

from inspector.core.units import human_size, short_count  # noqa: F401 (re-exported for the widgets)

MAX_VALUE_TEXT = 200


def thousands(count: int) -> str:
    return f"{count:,}"


def shape_text(shape: tuple[int, ...]) -> str:
    return "[" + ", ".join(str(size) for size in shape) + "]"


def value_text(value: Any, limit: int = MAX_VALUE_TEXT) -> str:
    """A one-line, bounded repr of a plain value (the tree never shows multi-line text)."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 256:
        text = f"<int of {value.bit_length()} bits>"  # huge ints: repr would be slow or refused
    elif isinstance(value, bytes):
        text = f"<{len(value)} bytes>"
    else:
        text = repr(value) if not isinstance(value, str) else repr(value[: limit + 1])
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def type_name(value: Any) -> str:
    return type(value).__name__

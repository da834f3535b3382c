"""How numbers, shapes and values read in the tree and the status bar."""

from __future__ import annotations

from typing import Any

_UNITS = ("B", "KiB", "MiB", "GiB", "TiB", "PiB")
MAX_VALUE_TEXT = 200


def human_size(nbytes: int) -> str:
    """``1536`` -> ``"1.5 KiB"``; bytes below 1 KiB are exact."""
    size = float(nbytes)
    for unit in _UNITS:
        if abs(size) < 1024 or unit == _UNITS[-1]:
            return f"{int(size)} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    raise AssertionError("unreachable")


def thousands(count: int) -> str:
    return f"{count:,}"


def short_count(count: int) -> str:
    """``11689512`` -> ``"11.7 M"``: for summaries where the exact count would be noise."""
    for limit, suffix in ((10**12, "T"), (10**9, "G"), (10**6, "M"), (10**3, "k")):
        if abs(count) >= limit:
            return f"{count / limit:.1f} {suffix}"
    return str(count)


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

"""Human-readable sizes and counts, shared by the CLI text view and the window."""

from __future__ import annotations

SIZE_UNITS = ("B", "KiB", "MiB", "GiB", "TiB", "PiB")


def human_size(nbytes: int) -> str:
    """``512 B``, ``1536`` -> ``1.5 KiB``, ``1.2 GiB``; bytes below 1 KiB are exact."""
    size = float(nbytes)
    for unit in SIZE_UNITS:
        if abs(size) < 1024 or unit == SIZE_UNITS[-1]:
            return f"{int(size)} B" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    raise AssertionError("unreachable")


def short_count(count: int, separator: str = " ") -> str:
    """``11689512`` -> ``11.7 M``: for summaries where the exact count would be noise."""
    for limit, suffix in ((10**12, "T"), (10**9, "G"), (10**6, "M"), (10**3, "k")):
        if abs(count) >= limit:
            return f"{count / limit:.1f}{separator}{suffix}"
    return str(count)

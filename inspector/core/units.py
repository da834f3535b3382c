"""Human-readable sizes and counts, shared by the CLI text view and the window.

Integer arithmetic throughout: a file may declare sizes far past what a float can hold.
"""

from __future__ import annotations

SIZE_UNITS = ("B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB")
COUNT_SUFFIXES = ((10**12, "T"), (10**9, "G"), (10**6, "M"), (10**3, "k"))


def human_size(nbytes: int) -> str:
    """``512 B``, ``1536`` -> ``1.5 KiB``, ``1.2 GiB``; bytes below 1 KiB are exact."""
    nbytes = int(nbytes)
    if abs(nbytes) < 1024:
        return f"{nbytes} B"
    for power, unit in enumerate(SIZE_UNITS[1:], start=1):
        if abs(nbytes) < 1024 ** (power + 1) or unit == SIZE_UNITS[-1]:
            return f"{_tenths(nbytes, 1024 ** power)} {unit}"
    raise AssertionError("unreachable")


def short_count(count: int, separator: str = " ") -> str:
    """``11689512`` -> ``11.7 M``: for summaries where the exact count would be noise."""
    count = int(count)
    for limit, suffix in COUNT_SUFFIXES:
        if abs(count) >= limit:
            return f"{_tenths(count, limit)}{separator}{suffix}"
    return str(count)


def _tenths(value: int, unit: int) -> str:
    """``value / unit`` with one decimal, rounded half to even like ``f"{x:.1f}"``; exact for any int."""
    tenths, remainder = divmod(abs(value) * 10, unit)
    if 2 * remainder > unit or (2 * remainder == unit and tenths % 2):
        tenths += 1
    sign = "-" if value < 0 else ""
    return f"{sign}{tenths // 10}.{tenths % 10}"

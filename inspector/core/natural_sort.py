"""Order names the way people count: ``layers.2`` before ``layers.10``."""

from __future__ import annotations

import re

_DIGIT_RUNS = re.compile(r"(\d+)")


def natural_sort_key(name: str) -> tuple:
    """A key where digit runs compare as numbers and text compares case-insensitively.

    Parts alternate text/number, so every key has the same shape and keys always compare.
    """
    parts = _DIGIT_RUNS.split(name)
    key: list = []
    for index, part in enumerate(parts):
        if index % 2:
            key.append((int(part), part))
        else:
            key.append((part.casefold(), part))
    return tuple(key)


def is_plainly_sorted(names: list[str]) -> bool:
    """True when ``names`` are in plain string order (a writer sorted them)."""
    return all(left <= right for left, right in zip(names, names[1:]))

"""Glob patterns over dotted state-dict keys, as the export plan's include/exclude/freeze use them.

A pattern matches a key when it matches the whole key or one of its leading module paths
(``layer4`` matches ``layer4.0.conv1.weight`` but not ``layer40.weight``). Matching is
case-sensitive ``fnmatch``: ``*`` crosses dots (``layer4.*``, ``*.bn*.running_*``), ``?``
is one character, ``[...]`` a class.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from fnmatch import fnmatchcase


def matches(key: str, pattern: str) -> bool:
    return any(fnmatchcase(candidate, pattern) for candidate in module_paths(key))


def first_match(key: str, patterns: Iterable[str]) -> str | None:
    """The first pattern that matches ``key``, or None."""
    for pattern in patterns:
        if matches(key, pattern):
            return pattern
    return None


def module_paths(key: str) -> Iterator[str]:
    """``key`` itself, then each leading module path of it, longest first."""
    yield key
    dot = key.rfind(".")
    while dot > 0:
        yield key[:dot]
        dot = key.rfind(".", 0, dot)

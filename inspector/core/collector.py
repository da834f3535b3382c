"""Pausing Python's cyclic garbage collector while building many small objects that form no cycles."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def collector_paused() -> Iterator[None]:
    """A collection pass every few thousand new objects would double or triple the time of
    building a large tree, trie or index; nothing built there needs one."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()

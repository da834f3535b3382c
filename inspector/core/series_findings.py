"""What stands out in a series document (the contract's plain data), for the CLI and the window.

- moved most: floating-point tensors by their distance from the first checkpoint at the last
  one that holds them (relative: ‖W_t − W_0‖/‖W_0‖);
- stopped moving: floating-point tensors whose last steps are exactly zero (bit-identical to
  the checkpoint before): ``frozen`` when no step ever moved them;
- went non-finite: tensors holding NaN or Inf, from the first checkpoint that does.
"""

from __future__ import annotations

FLOATING_PREFIXES = ("float", "bfloat")
MOVED_MOST = 10


class Moved:
    __slots__ = ("key", "distance", "largest_step", "largest_at")

    def __init__(self, key: str, distance: float, largest_step: float | None, largest_at: int | None) -> None:
        self.key = key
        self.distance = distance  # from the first checkpoint, at the last one that holds it
        self.largest_step = largest_step
        self.largest_at = largest_at  # checkpoint index of the largest relative step


class Stopped:
    __slots__ = ("key", "since")

    def __init__(self, key: str, since: int | None) -> None:
        self.key = key
        self.since = since  # checkpoint index after which it never moved; None: frozen all along


class NonFinite:
    __slots__ = ("key", "first", "nan", "inf", "nan_last", "inf_last")

    def __init__(self, key: str, first: int, nan: int, inf: int, nan_last: int, inf_last: int) -> None:
        self.key = key
        self.first = first  # checkpoint index where NaN or Inf first appear
        self.nan, self.inf = nan, inf  # counts there
        self.nan_last, self.inf_last = nan_last, inf_last  # counts in the last checkpoint holding it


def is_floating(layer: dict) -> bool:
    return str(layer.get("dtype", "float")).startswith(FLOATING_PREFIXES)


def moved_most(document: dict, count: int = MOVED_MOST) -> list[Moved]:
    found = []
    for key in document["keys"]:
        layer = document["layers"].get(key)
        if layer is None or not is_floating(layer):
            continue
        distance = _last(layer["dist_from_first"])
        if distance is None:
            continue
        steps = layer["rel_step"]
        largest = max((index for index, step in enumerate(steps) if step is not None),
                      key=lambda index: steps[index], default=None)
        found.append(Moved(key, distance, None if largest is None else steps[largest], largest))
    found.sort(key=lambda moved: -moved.distance)
    return found[:count]


def stopped_moving(document: dict) -> list[Stopped]:
    found = []
    for key in document["keys"]:
        layer = document["layers"].get(key)
        if layer is None or not is_floating(layer):
            continue
        steps = [(index, step) for index, step in enumerate(layer["rel_step"]) if step is not None]
        if not steps or steps[-1][1] != 0.0:
            continue
        moving = [index for index, step in steps if step != 0.0]
        found.append(Stopped(key, moving[-1] if moving else None))
    return found


def non_finite(document: dict) -> list[NonFinite]:
    found = []
    for key in document["keys"]:
        layer = document["layers"].get(key)
        if layer is None:
            continue
        counts = [(index, nan, inf) for index, (nan, inf) in enumerate(zip(layer["nan"], layer["inf"]))
                  if nan is not None and inf is not None]
        bad = [(index, nan, inf) for index, nan, inf in counts if nan or inf]
        if bad:
            _, nan_last, inf_last = counts[-1]
            found.append(NonFinite(key, bad[0][0], bad[0][1], bad[0][2], nan_last, inf_last))
    return found


def _last(values: list) -> float | None:
    return next((value for value in reversed(values) if value is not None), None)

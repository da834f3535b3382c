"""The order of a series: by the epoch and step each checkpoint records, its name as the fallback.

Each field comes from the file when it records it, else from the name (``name_position``).
Checkpoints are ordered by step when every placed one has a step, else by epoch (then the
other field, then the name). An alias (``best``, ``last``) sits where its position puts it;
one that cannot be placed is skipped, and so is one at the same epoch and step as the one
before it (``copies``: a copy of that point). When no checkpoint has a position at all, names
give the order (naturally sorted: ``e2`` before ``e10``).
"""

from __future__ import annotations

import math

from inspector.core.natural_sort import natural_sort_key
from inspector.core.series_discovery import NamePosition


class Placement:
    """Where one checkpoint sits: ``epoch``/``step`` (recorded, else from the name)."""

    __slots__ = ("label", "epoch", "step", "alias")

    def __init__(self, label: str, epoch: int | float | None, step: int | None, alias: str | None) -> None:
        self.label = label
        self.epoch = epoch
        self.step = step
        self.alias = alias

    @classmethod
    def of(cls, label: str, recorded_epoch, recorded_step, name: NamePosition) -> Placement:
        epoch = recorded_epoch if recorded_epoch is not None else name.epoch
        step = recorded_step if recorded_step is not None else name.step
        return cls(label, epoch, step, name.alias)

    @property
    def placed(self) -> bool:
        return self.epoch is not None or self.step is not None

    def __repr__(self) -> str:
        return f"Placement({self.label!r}, epoch={self.epoch!r}, step={self.step!r}, alias={self.alias!r})"


def order_series(placements: list[Placement]) -> tuple[list[int], dict[int, str]]:
    """Indices of ``placements`` in series order, and the skipped ones with the reason."""
    if not any(placement.placed for placement in placements):
        order = sorted(range(len(placements)), key=lambda index: natural_sort_key(placements[index].label))
        return order, {}
    skipped = {index: _why_unplaced(placement) for index, placement in enumerate(placements)
               if not placement.placed}
    placed = [index for index in range(len(placements)) if index not in skipped]
    field = "step" if all(placements[index].step is not None for index in placed) else "epoch"
    for index in placed:
        if getattr(placements[index], field) is None:
            skipped[index] = f"records no {field}, and the others are ordered by {field}"
    order = sorted((index for index in placed if index not in skipped),
                   key=lambda index: _sort_key(placements[index], field))
    return order, skipped


def _why_unplaced(placement: Placement) -> str:
    if placement.alias:
        return f"a '{placement.alias}' checkpoint that records no epoch or step: it cannot be placed"
    return "no epoch or step recorded inside it or in its name, unlike the others"


def _sort_key(placement: Placement, field: str) -> tuple:
    other = placement.epoch if field == "step" else placement.step
    return (getattr(placement, field), -math.inf if other is None else other,
            placement.alias is not None, natural_sort_key(placement.label))


def copies(ordered: list[Placement]) -> dict[int, str]:
    """Positions in ``ordered`` (series order) of checkpoints at the same epoch and step as
    the one kept before them, with the reason to skip them."""
    found: dict[int, str] = {}
    kept = None
    for index, placement in enumerate(ordered):
        if kept is not None and placement.placed and _position(kept) == _position(placement):
            found[index] = f"same epoch and step as {kept.label}{_where(placement)}: a copy of that point"
        else:
            kept = placement
    return found


def _position(placement: Placement) -> tuple:
    return (placement.epoch, placement.step)


def _where(placement: Placement) -> str:
    parts = [f"{name} {value}" for name, value in (("epoch", placement.epoch), ("step", placement.step))
             if value is not None]
    return f" ({', '.join(parts)})" if parts else ""

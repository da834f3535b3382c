"""The compare table's rows as a flat list or grouped by module, with the change below each module.

Keys split on "." into module paths (``layer1.0.conv1.weight`` sits in ``layer1`` › ``0`` ›
``conv1``). Rows only ever arrive at the end (the diff streams them in depth order), so the
tree grows by appending: ``placement`` says where a key goes and which modules are missing,
``add_group`` and ``add_leaf`` append, ``note`` refreshes the aggregates above a new leaf. The
item model calls them one step at a time, between its own insert notifications.

A module's aggregate change is its largest: max of max|Δ| and of relative L2 below it, min of
the cosines, how many tensors below have each status and how many differ in NaN/Inf. (An aggregate relative L2 would need
‖A‖ of the bit-identical tensors, which the diff never computes.)
"""

from __future__ import annotations

from inspector.core.compare_state import CompareRow
from inspector.core.diff import STATUSES


class DiffLeaf:
    """A row's place in the tree."""

    __slots__ = ("entry", "parent", "position")

    def __init__(self, entry: CompareRow, parent: DiffGroup, position: int) -> None:
        self.entry = entry
        self.parent = parent
        self.position = position


class DiffGroup:
    """A module: its children (groups and leaves, in arrival order) and the change below it."""

    __slots__ = ("name", "prefix", "parent", "position", "children", "groups", "counts", "tensors",
                 "max_abs", "rel_l2", "cosine", "score", "first_index", "non_finite")

    def __init__(self, name: str, prefix: str, parent: DiffGroup | None, position: int) -> None:
        self.name = name
        self.prefix = prefix  # dotted, with the trailing dot ("layer1.0."); "" for the root
        self.parent = parent
        self.position = position
        self.children: list[DiffGroup | DiffLeaf] = []
        self.groups: dict[str, DiffGroup] = {}
        self.counts = dict.fromkeys(STATUSES, 0)
        self.tensors = 0
        self.max_abs: float | None = None
        self.rel_l2: float | None = None
        self.cosine: float | None = None
        self.score = -float("inf")  # the largest change_score below: groups sort like their rows
        self.first_index = 0  # depth order of the first row below
        self.non_finite = 0  # rows below whose NaN/Inf differ between A and B

    def add(self, entry: CompareRow) -> None:
        if not self.tensors:
            self.first_index = entry.index
        self.tensors += 1
        self.counts[entry.status] += 1
        self.max_abs = _larger(self.max_abs, entry.max_abs)
        self.rel_l2 = _larger(self.rel_l2, entry.rel_l2)
        if entry.cosine is not None:
            self.cosine = entry.cosine if self.cosine is None else min(self.cosine, entry.cosine)
        self.score = max(self.score, entry.change_score)
        self.non_finite += entry.non_finite_differs

    def status_text(self) -> str:
        """"3 changed · 12 equal": the statuses below, most telling first."""
        order = ("changed", "dtype", "shape", "only_a", "only_b", "close", "equal")
        return " · ".join(f"{self.counts[status]} {STATUS_WORDS[status]}" for status in order if self.counts[status])

    @property
    def worst_status(self) -> str | None:
        """The status that colours the module: the first present of changed, dtype, shape, …"""
        for status in ("changed", "dtype", "shape", "only_a", "only_b", "close", "equal"):
            if self.counts[status]:
                return status
        return None


STATUS_WORDS = {"equal": "equal", "close": "close", "changed": "changed", "shape": "shape",
                "dtype": "dtype", "only_a": "only in A", "only_b": "only in B"}


def _larger(current: float | None, value: float | None) -> float | None:
    if value is None:
        return current
    return value if current is None else max(current, value)


class DiffTree:
    """Rows as the table lists them: all at the top level, or under their modules (``grouped``)."""

    def __init__(self, grouped: bool) -> None:
        self.grouped = grouped
        self.root = DiffGroup("", "", None, 0)

    def placement(self, key: str) -> tuple[DiffGroup, list[str]]:
        """The deepest existing module of ``key``, and the module names still to create below it."""
        if not self.grouped:
            return self.root, []
        group = self.root
        names = key.split(".")[:-1]
        for depth, name in enumerate(names):
            child = group.groups.get(name)
            if child is None:
                return group, names[depth:]
            group = child
        return group, []

    def add_group(self, parent: DiffGroup, name: str) -> DiffGroup:
        group = DiffGroup(name, f"{parent.prefix}{name}.", parent, len(parent.children))
        parent.children.append(group)
        parent.groups[name] = group
        return group

    def add_leaf(self, parent: DiffGroup, entry: CompareRow) -> DiffLeaf:
        leaf = DiffLeaf(entry, parent, len(parent.children))
        parent.children.append(leaf)
        return leaf

    def note(self, leaf: DiffLeaf) -> list[DiffGroup]:
        """Count ``leaf`` in every module above it; those modules, innermost first (not the root)."""
        changed = []
        group = leaf.parent
        while group is not None:
            group.add(leaf.entry)
            if group is not self.root:
                changed.append(group)
            group = group.parent
        return changed

    def add_row(self, entry: CompareRow) -> DiffLeaf:
        """Place a row in one go (for callers that need no notifications in between)."""
        parent, missing = self.placement(entry.key)
        for name in missing:
            parent = self.add_group(parent, name)
        leaf = self.add_leaf(parent, entry)
        self.note(leaf)
        return leaf

    def leaves(self) -> list[DiffLeaf]:
        found, stack = [], [self.root]
        while stack:
            group = stack.pop()
            for child in reversed(group.children):
                if isinstance(child, DiffGroup):
                    stack.append(child)
                else:
                    found.append(child)
        return sorted(found, key=lambda leaf: leaf.entry.index)

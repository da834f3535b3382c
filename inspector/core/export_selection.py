"""The window's export toggles, Qt-free: which keys of one state dict are included and which
are frozen, over the rows of the display tree, and the export plan they make.

``ExportRows`` fixes the state dict and its keys in the tree's display order (the order users
mean by "the first N blocks"). Every tree node inside it covers a contiguous span of those
positions, so a module's box is a slice and its tristate two prefix sums. ``ExportSelection``
is immutable: each toggle makes a new one. Its ``plan()`` is as compact as the choice allows
(``glob_cover``: whole modules as prefixes), except that a loaded plan is kept word for word
until a toggle or a rename changes what it selects.
"""

from __future__ import annotations

import numpy as np

from inspector.core.collector import collector_paused
from inspector.core.errors import CheckpointError
from inspector.core.glob_cover import freeze_patterns, include_patterns
from inspector.core.key_globs import first_match
from inspector.core.key_rules import apply_rules
from inspector.core.model import Checkpoint, TensorPath, TensorRef
from inspector.core.plan import ExportPlan
from inspector.core.progress import Job, Progress
from inspector.core.state_dict_choice import StateDictView, choose_state_dict
from inspector.core.tree import Node, iter_nodes

Span = tuple[int, int]


class ExportRows:
    """One state dict as the tree shows it. ``keys``: its keys in display order (keys the tree
    does not show, past its row limit, come last). ``spans``: tree node -> ``(start, end)``
    positions of the keys at or below it. ``freezable``: not a buffer (what a freeze glob can
    freeze). ``frozen_in_file``: a saved Parameter with ``requires_grad=False``."""

    __slots__ = ("view", "subdict", "container", "keys", "spans", "freezable", "frozen_in_file")

    def __init__(self, view: StateDictView, subdict: str | None, container: Node | None,
                 keys: list[str], spans: dict[Node, Span]) -> None:
        self.view = view
        self.subdict = subdict
        self.container = container
        self.keys = keys
        self.spans = spans
        tensors = [view.tensors[key] for key in keys]
        self.freezable = _read_only(np.array([tensor.role != "buffer" for tensor in tensors], dtype=bool))
        self.frozen_in_file = _read_only(np.array([_saved_frozen(tensor) for tensor in tensors], dtype=bool))

    @classmethod
    def build(cls, checkpoint: Checkpoint, tree_root: Node, subdict: str | None) -> ExportRows:
        """The rows of the state dict ``subdict`` chooses (``CheckpointError`` when none)."""
        with collector_paused():
            view = choose_state_dict(checkpoint, subdict)
            container = find_node(tree_root, view.path)
            keys, spans = _keys_in_display_order(view, container) if container is not None else ([], {})
            listed = set(keys)
            keys.extend(key for key in view.tensors if key not in listed)
            return cls(view, subdict, container, keys, spans)

    def __len__(self) -> int:
        return len(self.keys)

    def span(self, node: Node) -> Span | None:
        return self.spans.get(node)

    def up_to(self, node: Node) -> Span:
        """From the first key to the last one at or below ``node``."""
        return 0, self.spans[node][1]

    def from_here(self, node: Node) -> Span:
        """From the first key at or below ``node`` to the last key."""
        return self.spans[node][0], len(self.keys)

    def __repr__(self) -> str:
        return f"ExportRows(subdict={self.subdict!r}, keys={len(self.keys)})"


class ExportSelection:
    """Included and frozen flags per key position of ``rows``, plus the plan's other fields
    (renames, dtype). Immutable; ``with_*`` make changed copies."""

    __slots__ = ("rows", "included", "frozen", "rename", "dtype", "_source_plan", "_plan", "_output", "_sums")

    def __init__(self, rows: ExportRows, included: np.ndarray, frozen: np.ndarray,
                 rename: tuple[tuple[str, str], ...] = (), dtype: str | None = None,
                 source_plan: ExportPlan | None = None) -> None:
        ExportPlan(rename=rename, dtype=dtype)  # refuse a bad rename or dtype now
        setter = object.__setattr__
        setter(self, "rows", rows)
        setter(self, "included", _read_only(included))
        setter(self, "frozen", _read_only(frozen & rows.freezable))
        setter(self, "rename", tuple(rename))
        setter(self, "dtype", dtype)
        setter(self, "_source_plan", source_plan)  # a loaded plan this selection still says word for word
        setter(self, "_plan", None)
        setter(self, "_output", None)
        setter(self, "_sums", {})

    @classmethod
    def start(cls, rows: ExportRows) -> ExportSelection:
        """Everything included; frozen what the file saved as frozen."""
        return cls(rows, np.ones(len(rows), dtype=bool), rows.frozen_in_file.copy())

    @classmethod
    def from_plan(cls, rows: ExportRows, plan: ExportPlan) -> ExportSelection:
        """What ``plan`` selects of ``rows`` (built for ``plan.subdict``)."""
        output = _renamed(rows.keys, plan)
        included = np.array([(not plan.include or first_match(key, plan.include) is not None)
                             and first_match(key, plan.exclude) is None for key in output], dtype=bool)
        frozen = np.array([first_match(key, plan.freeze) is not None for key in output], dtype=bool)
        return cls(rows, included, frozen, plan.rename, plan.dtype, source_plan=plan)

    # --- edits -----------------------------------------------------------------------------
    def with_included(self, span: Span, included: bool) -> ExportSelection:
        flags = self.included.copy()
        flags[span[0]:span[1]] = included
        return self._changed(included=flags)

    def with_frozen(self, span: Span, frozen: bool) -> ExportSelection:
        flags = self.frozen.copy()
        flags[span[0]:span[1]] = frozen
        return self._changed(frozen=flags)

    def with_options(self, rename: tuple[tuple[str, str], ...] | None = None, dtype: str | None = "") -> ExportSelection:
        """New renames and/or dtype (``dtype=None`` keeps every dtype; ``""`` leaves it as it is)."""
        rename = self.rename if rename is None else tuple(rename)
        dtype = self.dtype if dtype == "" else dtype
        kept = self._source_plan if rename == self.rename else None
        return ExportSelection(self.rows, self.included, self.frozen, rename, dtype, kept)

    def _changed(self, **flags) -> ExportSelection:
        fields = {"included": self.included, "frozen": self.frozen, **flags}
        unchanged = all(np.array_equal(fields[name], getattr(self, name)) for name in ("included", "frozen"))
        return ExportSelection(self.rows, fields["included"], fields["frozen"], self.rename, self.dtype,
                               self._source_plan if unchanged else None)

    # --- reading -------------------------------------------------------------------------
    def included_in(self, span: Span) -> int:
        return self._count("included", span)

    def frozen_in(self, span: Span) -> int:
        return self._count("frozen", span)

    def freezable_in(self, span: Span) -> int:
        return self._count("freezable", span)

    def output_keys(self) -> list[str]:
        """Each key's name in the output, by position (``CheckpointError`` when renames collide)."""
        if self._output is None:
            object.__setattr__(self, "_output", _renamed(self.rows.keys, ExportPlan(rename=self.rename)))
        return self._output

    def plan(self) -> ExportPlan:
        """The export plan of this selection (``CheckpointError`` when renames collide)."""
        if self._plan is None:
            source = self._source_plan
            plan = source.replace(dtype=self.dtype) if source is not None else self._compact_plan()
            object.__setattr__(self, "_plan", plan)
        return self._plan

    def _compact_plan(self) -> ExportPlan:
        output = self.output_keys()
        included = self.included.tolist()
        frozen, freezable = self.frozen.tolist(), self.rows.freezable.tolist()
        include, exclude = include_patterns(output, included.__getitem__)
        freeze = freeze_patterns(output, lambda position: frozen[position] if freezable[position] else None)
        return ExportPlan(self.rows.subdict, tuple(include), tuple(exclude), tuple(freeze), self.rename, self.dtype)

    def _count(self, name: str, span: Span) -> int:
        sums = self._sums.get(name)
        if sums is None:
            flags = self.rows.freezable if name == "freezable" else getattr(self, name)
            sums = self._sums[name] = np.concatenate(([0], np.cumsum(flags, dtype=np.int64)))
        return int(sums[span[1]] - sums[span[0]])

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("an ExportSelection is immutable: use its with_* methods")

    def __repr__(self) -> str:
        return (f"ExportSelection(subdict={self.rows.subdict!r}, keys={len(self.rows)}, "
                f"included={int(self.included.sum())}, frozen={int(self.frozen.sum())})")


def default_selection(checkpoint: Checkpoint, tree_root: Node) -> ExportSelection:
    """The state dict an export takes by default (``choose_state_dict``), else the first one in
    the tree, all included, frozen as the file says; ``CheckpointError`` when there is none."""
    try:
        return ExportSelection.start(ExportRows.build(checkpoint, tree_root, None))
    except CheckpointError as error:
        for node in iter_nodes(tree_root):
            if node.parent is not None and holds_state_dict(node):
                return ExportSelection.start(ExportRows.build(checkpoint, tree_root, subdict_of(node)))
        raise error


def selection_job(checkpoint: Checkpoint, tree_root: Node, previous: ExportSelection | None = None
                  ) -> Job[ExportSelection]:
    """The boxes for a (re)read tree, off the GUI thread (a large state dict takes a second):
    ``previous``'s plan again when it still fits the file, else ``default_selection``."""
    yield Progress(0, 1, "reading the state dict")
    if previous is not None:
        try:
            return selection_for_plan(checkpoint, tree_root, previous.plan())
        except CheckpointError:
            pass  # the file changed under the plan: start afresh
    return default_selection(checkpoint, tree_root)


def selection_for_plan(checkpoint: Checkpoint, tree_root: Node, plan: ExportPlan) -> ExportSelection:
    return ExportSelection.from_plan(ExportRows.build(checkpoint, tree_root, plan.subdict), plan)


def holds_state_dict(node: Node) -> bool:
    """A container the tree shows as a module hierarchy: a state dict one can export."""
    return node.step is not None and node.kind in ("dict", "module", "object") and any(
        child.kind == "tensor" or (child.kind == "module" and child.step is None) for child in node.children)


def subdict_of(node: Node) -> str:
    """The ``--subdict`` that names the container ``node``."""
    return ".".join(str(step) for step in node.path)


def find_node(root: Node, path: TensorPath) -> Node | None:
    """The tree node of the container at contract ``path``."""
    node = root
    for step in path:
        node = next((child for child in node.children if child.step == step and child.kind != "tensor"), None)
        if node is None:
            return None
    return node


def _keys_in_display_order(view: StateDictView, container: Node) -> tuple[list[str], dict[Node, Span]]:
    key_of_path = {path: key for key, path in view.paths.items()}
    keys: list[str] = []
    spans: dict[Node, Span] = {}
    starts: dict[Node, int] = {}
    stack: list[tuple[Node, TensorPath, bool]] = [(container, view.path, False)]
    while stack:
        node, path, leaving = stack.pop()
        if leaving:
            start = starts.pop(node)
            if len(keys) > start:
                spans[node] = (start, len(keys))
            continue
        starts[node] = len(keys)
        if node.kind == "tensor" and path in key_of_path:
            keys.append(key_of_path.pop(path))  # popped: a key is listed once
        stack.append((node, path, True))
        stack.extend((child, path if child.step is None else path + (child.step,), False)
                     for child in reversed(node.children))
    return keys, spans


def _renamed(keys: list[str], plan: ExportPlan) -> list[str]:
    new_of = {old: new for new, old in apply_rules(keys, plan.rules()).items()}
    return [new_of[key] for key in keys]


def _saved_frozen(tensor: TensorRef) -> bool:
    return bool(tensor.extra.get("parameter")) and not tensor.requires_grad


def _read_only(flags: np.ndarray) -> np.ndarray:
    flags = np.asarray(flags, dtype=bool)
    if flags.flags.writeable:
        flags = flags.copy() if flags.base is not None else flags
        flags.flags.writeable = False
    return flags

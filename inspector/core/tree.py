"""The display tree shown by the CLI text view and the GUI item model.

``build_tree`` turns a ``Checkpoint`` into plain ``Node``s: nested dicts and lists become
containers, and every state dict (a dict of mostly tensors with str keys, or a
``ModuleObject``'s state_dict) becomes a module hierarchy by splitting keys on ".".
The walk is iterative and bounded by ``MAX_TREE_NODES``; subtree totals are filled in.
"""

from __future__ import annotations

import gc
import os
from collections.abc import Iterator

from inspector.core.model import (
    Checkpoint, ModuleObject, PathElement, PickledObject, TensorPath, TensorRef, Truncated,
    child_items,
)
from inspector.core.pickled_values import Namespace, NumpyArray, NumpyDtype, NumpyScalar
from inspector.core.natural_sort import is_plainly_sorted, natural_sort_key
from inspector.core.sharing import group_nbytes, groups_by_storage, stored_nbytes

KINDS = ("root", "dict", "list", "module", "tensor", "value", "object", "truncated")
MAX_TREE_NODES = 1_000_000
STATE_DICT_TENSOR_SHARE = 0.5


class Node:
    """One row of the tree.

    ``path`` is the contract path of the tensor or container (for a module node inside a
    state dict: the state dict's path, with the dotted prefix in ``key``). Each node stores
    only its own ``step`` of it, so deep trees cost linear, not quadratic, memory.
    """

    __slots__ = ("name", "kind", "parent", "children", "tensor", "value", "class_name",
                 "step", "key", "tensor_count", "numel_total", "nbytes_total", "row", "shared_with")

    def __init__(self, name: str, kind: str, step: PathElement | None = None, *,
                 tensor: TensorRef | None = None, value: object = None, class_name: str = "",
                 key: str = "") -> None:
        self.name = name
        self.kind = kind
        self.parent: Node | None = None
        self.children: list[Node] = []
        self.tensor = tensor
        self.value = value
        self.class_name = class_name
        self.step = step
        self.key = key
        self.tensor_count = 0
        self.numel_total = 0
        self.nbytes_total = 0  # bytes held in the file, each storage counted once (sharing.py)
        self.row = 0
        self.shared_with = ""  # key of another tensor over the same stored bytes

    def add(self, child: Node) -> Node:
        child.parent = self
        child.row = len(self.children)
        self.children.append(child)
        return child

    @property
    def path(self) -> TensorPath:
        steps = [node.step for node in (self, *self.ancestors()) if node.step is not None]
        return tuple(reversed(steps))

    def ancestors(self) -> Iterator[Node]:
        node = self.parent
        while node is not None:
            yield node
            node = node.parent

    def __repr__(self) -> str:
        return f"Node({self.name!r}, {self.kind!r}, children={len(self.children)})"


def build_tree(checkpoint: Checkpoint, max_nodes: int = MAX_TREE_NODES) -> Node:
    """The display tree of ``checkpoint`` (at most about ``max_nodes`` nodes)."""
    root = Node(os.path.basename(checkpoint.path.rstrip("/")) or checkpoint.path, "root")
    if isinstance(checkpoint.root, (ModuleObject, PickledObject)):
        root.class_name = checkpoint.root.class_name
    builder = _Builder(max_nodes)
    collecting = gc.isenabled()
    gc.disable()  # a cyclic-GC pass every few thousand new nodes would double the time
    try:
        builder.expand(root, checkpoint.root)
        builder.run()
        _fill_totals(builder.created)
    finally:
        if collecting:
            gc.enable()
    return root


def iter_nodes(root: Node) -> Iterator[Node]:
    """Every node, parents before children, in display order."""
    stack = [root]
    while stack:
        node = stack.pop()
        yield node
        stack.extend(reversed(node.children))


def is_mostly_tensors(value: object) -> bool:
    """A dict with str keys whose values are mostly tensors: shown as a module hierarchy (a state
    dict with a few extras). ``roles.is_state_dict`` is the strict test (only tensors)."""
    if not isinstance(value, dict) or not value:
        return False
    tensors = 0
    for key, child in value.items():
        if not isinstance(key, str):
            return False
        tensors += isinstance(child, TensorRef)
    return tensors >= STATE_DICT_TENSOR_SHARE * len(value)


class _Builder:
    """Creates nodes from a work list of (node, value) still to expand; never recurses."""

    def __init__(self, max_nodes: int) -> None:
        self.max_nodes = max_nodes
        self.created: list[Node] = []
        self.pending: list[tuple[Node, object]] = []
        self.full = False

    def run(self) -> None:
        while self.pending and not self.full:
            node, value = self.pending.pop()
            self.expand(node, value)

    def expand(self, node: Node, value: object) -> None:
        if isinstance(value, ModuleObject):
            self._add_hierarchy(node, value.state_dict.items(), value.submodule_classes)
            self._add_items(node, value.attributes.items())
        elif is_mostly_tensors(value):
            self._add_hierarchy(node, value.items(), {})
        else:
            self._add_items(node, child_items(value))

    def _add_items(self, parent: Node, items) -> None:
        for key, child in items:
            if not self._add(parent, str(key), child, key):
                return

    def _add_hierarchy(self, parent: Node, items, classes: dict[str, str]) -> None:
        modules: dict[str, Node] = {"": parent}
        for key, child in items:
            key = key if isinstance(key, str) else repr(key)
            prefix, _, leaf = key.rpartition(".")
            holder = modules.get(prefix)
            if holder is None:
                holder = self._module_node(modules, prefix, classes)
            if holder is None or not self._add(holder, leaf, child, key, key):
                return
        for module in modules.values():
            _natural_order(module)

    def _module_node(self, modules: dict[str, Node], prefix: str,
                     classes: dict[str, str]) -> Node | None:
        """The module node for ``prefix``, creating missing ancestors top-down (no recursion)."""
        missing = [prefix]
        while missing[-1].rpartition(".")[0] not in modules:
            missing.append(missing[-1].rpartition(".")[0])
        for current in reversed(missing):
            parent_prefix, _, name = current.rpartition(".")
            node = Node(name, "module", None, class_name=classes.get(current, ""), key=current)
            if not self._attach(modules[parent_prefix], node):
                return None
            modules[current] = node
        return modules[prefix]

    def _add(self, parent: Node, name: str, value: object, step: PathElement, key: str = "") -> bool:
        node = _leaf_or_container(name, value, step, key)
        if not self._attach(parent, node):
            return False
        if node.kind in ("dict", "list", "module", "object"):
            self.pending.append((node, value))
        return True

    def _attach(self, parent: Node, node: Node) -> bool:
        if len(self.created) >= self.max_nodes:
            if not self.full:
                self.full = True
                parent.add(Node("…", "truncated", None,
                                value=f"tree limit of {self.max_nodes} rows reached"))
            return False
        parent.add(node)
        self.created.append(node)
        return True


def _leaf_or_container(name: str, value: object, step: PathElement, key: str) -> Node:
    if isinstance(value, TensorRef):
        return Node(name, "tensor", step, tensor=value, key=key)
    if isinstance(value, NumpyScalar):
        return Node(name, "value", step, value=value.value, class_name=value.type_label, key=key)
    if isinstance(value, (NumpyArray, NumpyDtype)):  # plain values shown whole, not as containers
        return Node(name, "value", step, value=value, class_name=value.type_label, key=key)
    if isinstance(value, Namespace):
        return Node(name, "dict", step, class_name=value.type_label, key=key)
    if isinstance(value, dict):
        return Node(name, "dict", step, class_name=type(value).__name__, key=key)
    if isinstance(value, (list, tuple)):
        return Node(name, "list", step, class_name=type(value).__name__, key=key)
    if isinstance(value, ModuleObject):
        return Node(name, "module", step, class_name=value.class_name, key=key)
    if isinstance(value, PickledObject):
        return Node(name, "object", step, class_name=value.class_name, key=key)
    if isinstance(value, Truncated):
        return Node(name, "truncated", step, value=value.reason, key=key)
    return Node(name, "value", step, value=value, class_name=type(value).__name__, key=key)


def _natural_order(module: Node) -> None:
    """Re-sort children only when the file listed them in plain string order.

    Otherwise the file's order is the model's registration order (conv1 before bn1),
    which already puts ``layers.2`` before ``layers.10``.
    """
    children = module.children
    if len(children) < 2 or not is_plainly_sorted([child.name for child in children]):
        return
    children.sort(key=lambda child: natural_sort_key(child.name))
    for row, child in enumerate(children):
        child.row = row


def _fill_totals(created: list[Node]) -> None:
    for node in reversed(created):
        if node.tensor is not None:
            node.tensor_count = 1
            node.numel_total, node.nbytes_total = _tensor_size(node.tensor)
        parent = node.parent
        if parent is not None:
            parent.tensor_count += node.tensor_count
            parent.numel_total += node.numel_total
            parent.nbytes_total += node.nbytes_total
    _count_shared_storages_once(created)


def _tensor_size(tensor: TensorRef) -> tuple[int, int]:
    try:
        return tensor.numel, stored_nbytes(tensor)
    except (KeyError, TypeError, ValueError):
        return 0, 0


def _count_shared_storages_once(created: list[Node]) -> None:
    """Above tensors that share a storage, count the storage once (see ``sharing.py``);
    each such tensor names the first other tensor over the same bytes (``shared_with``)."""
    groups = groups_by_storage((node, node.tensor) for node in created if node.tensor is not None)
    for storage, members in groups.items():
        if len(members) < 2:
            continue
        for node in members:
            other = members[1] if node is members[0] else members[0]
            node.shared_with = other.key or other.name
        below: dict[Node, list[Node]] = {}
        for node in members:
            for ancestor in node.ancestors():
                below.setdefault(ancestor, []).append(node)
        for ancestor, inside in below.items():
            counted = sum(node.nbytes_total for node in inside)
            ancestor.nbytes_total += group_nbytes(storage, (node.tensor for node in inside)) - counted

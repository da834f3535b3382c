"""The non-tensor values that differ between two checkpoints (epoch, loss, learning rates, …).

Both object trees are walked in step by their contract paths (dict keys, list indices, a
module's attributes). Tensors are left out: they are compared by value elsewhere, and so are
the state dicts chosen on each side (``skip_a`` / ``skip_b``: the walk does not enter them;
``()`` skips the whole tree of that side). A value present on one side only is listed with
that side alone (``{"path": …, "a": …}``); values are shown as their JSON view
(``jsonview.to_json``). Iterative and bounded by a node budget.

The JSON view leaves tensors out, so a dict of tensors reads ``{}``: a caller that shows the
values another way passes ``values``, a list that receives each difference's own (A, B) values
(``ABSENT`` for a side without it), in the order of the differences.
"""

from __future__ import annotations

from inspector.core.jsonview import to_json
from inspector.core.model import ModuleObject, PathElement, PickledObject, TensorRef, child_items

MAX_OBJECT_NODES = 200_000
MAX_VALUE_NODES = 2_000  # the JSON view of one listed value
ABSENT = object()  # in ``values``: the side has no such value


def object_differences(root_a: object, root_b: object, skip_a: tuple | None = None,
                       skip_b: tuple | None = None, max_nodes: int = MAX_OBJECT_NODES,
                       values: list | None = None) -> list[dict]:
    """``[{"path": [...], "a": value, "b": value}, …]`` for every non-tensor value that differs
    (and, in ``values`` when given, each difference's (A, B) values as they were read)."""
    walk = _Walk(skip_a, skip_b, values if values is not None else [])
    stack: list[tuple[tuple[PathElement, ...], object, object]] = [
        ((), {} if skip_a == () else root_a, {} if skip_b == () else root_b)]
    budget = max_nodes
    while stack and budget > 0:
        path, a, b = stack.pop()
        budget -= 1
        if _same_container_kind(a, b):
            stack.extend(reversed(walk.paired_children(path, a, b)))
        elif not (isinstance(a, TensorRef) and isinstance(b, TensorRef)):
            walk.compare_values(path, a, b)
    if stack:
        note = {"truncated": f"more than {max_nodes} values compared"}
        walk.add({"path": [], "a": note, "b": note}, Described(note["truncated"]), Described(note["truncated"]))
    return walk.differences


class _Walk:
    def __init__(self, skip_a: tuple | None, skip_b: tuple | None, values: list) -> None:
        self.skip_a = skip_a
        self.skip_b = skip_b
        self.differences: list[dict] = []
        self.values = values

    def add(self, difference: dict, a: object, b: object) -> None:
        self.differences.append(difference)
        self.values.append((a, b))

    def compare_values(self, path: tuple, a: object, b: object) -> None:
        shown_a, shown_b = _shown(a), _shown(b)
        if not _same_json(shown_a, shown_b):
            self.add({"path": list(path), "a": shown_a, "b": shown_b}, a, b)

    def paired_children(self, path: tuple, a: object, b: object) -> list[tuple]:
        """Children present on both sides (to compare); one-sided ones are listed at once."""
        if _class_name(a) != _class_name(b):
            self.add({"path": list(path), "a": {"class": _class_name(a)}, "b": {"class": _class_name(b)}},
                     Described(f"class {_class_name(a)}"), Described(f"class {_class_name(b)}"))
        children_a = _children(a, path, self.skip_a)
        children_b = _children(b, path, self.skip_b)
        paired = []
        for key, child in children_a.items():
            if key in children_b:
                paired.append((path + (key,), child, children_b[key]))
            else:
                self.add({"path": [*path, key], "a": _shown(child)}, child, ABSENT)
        for key, child in children_b.items():
            if key not in children_a:
                self.add({"path": [*path, key], "b": _shown(child)}, ABSENT, child)
        return paired


class Described(str):
    """In ``values``: words about a value rather than the value (its class, when the classes
    differ; a note that the walk stopped), to be shown as they are."""


def _children(value: object, path: tuple, skip: tuple | None) -> dict[PathElement, object]:
    return {key: child for key, child in child_items(value)
            if not isinstance(child, TensorRef) and path + (key,) != skip}


def _same_container_kind(a: object, b: object) -> bool:
    for kind in (dict, (list, tuple), ModuleObject, PickledObject):
        if isinstance(a, kind) and isinstance(b, kind):
            return True
    return False


def _class_name(value: object) -> str | None:
    return value.class_name if isinstance(value, (ModuleObject, PickledObject)) else None


def _shown(value: object) -> object:
    return to_json(value, max_nodes=MAX_VALUE_NODES)


def _same_json(a: object, b: object) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if isinstance(a, (dict, list)) or isinstance(b, (dict, list)):
        return type(a) is type(b) and a == b
    return a == b

"""Bound what the rest of the app walks: nesting depth, node count, and reference cycles.

A pickle can nest 200k levels deep, share one list a billion times over, or contain
itself. ``sanitize`` copies the container skeleton iteratively (never recursing), cutting
anything deeper than ``MAX_DEPTH``, every visit past ``MAX_NODES`` (shared references are
counted per visit), and every reference back to an enclosing container. Leaves, tensors
and storages are shared, not copied.
"""

from __future__ import annotations

from collections import OrderedDict

from inspector.core.model import ModuleObject, PickledObject, TensorRef, Truncated
from inspector.core.pickled_values import Namespace
from inspector.core.rebuilders import GlobalReference

MAX_DEPTH = 256
MAX_NODES = 1_000_000

TOO_DEEP = Truncated(f"nested deeper than {MAX_DEPTH} levels")
CYCLE = Truncated("refers back to a value that contains it")
TOO_MANY = Truncated(f"more than {MAX_NODES} values; the rest is not shown")


_LEAVES = frozenset({str, int, float, bool, type(None), bytes, TensorRef, Truncated})


class _Frame:
    __slots__ = ("original", "children", "index", "out", "depth")

    def __init__(self, original: object, children: list, depth: int) -> None:
        self.original = original
        self.children = children
        self.index = 0
        self.out: list = []
        self.depth = depth


def _children(value: object) -> list | None:
    """The values to sanitize inside ``value`` (None for a leaf)."""
    kind = type(value)
    if kind is list or kind is tuple:
        return value if kind is list else list(value)
    if isinstance(value, dict):
        return list(value.values())
    if isinstance(value, PickledObject) and not isinstance(value, GlobalReference):
        return [value.args, value.state, value.items, value.dict_items]
    if isinstance(value, ModuleObject):
        return [value.attributes]
    return None


def _rebuild(original: object, out: list) -> object:
    kind = type(original)
    if kind is list:
        return out
    if kind is tuple:
        return tuple(out)
    if isinstance(original, dict):
        rebuilt = type(original)() if isinstance(original, (OrderedDict, Namespace)) else {}
        rebuilt.update(zip(original.keys(), out))
        _keep_state_dict_metadata(original, rebuilt)
        return rebuilt
    if isinstance(original, PickledObject):
        args, state, items, dict_items = out
        return PickledObject(class_name=original.class_name, args=tuple(args) if isinstance(args, (list, tuple)) else (args,),
                             state=state, items=list(items) if isinstance(items, list) else [items],
                             dict_items=[pair for pair in dict_items if isinstance(pair, tuple) and len(pair) == 2]
                             if isinstance(dict_items, list) else [])
    return ModuleObject(class_name=original.class_name, state_dict=original.state_dict,
                        submodule_classes=original.submodule_classes,
                        attributes=out[0] if isinstance(out[0], dict) else {})


def _keep_state_dict_metadata(original: object, rebuilt: dict) -> None:
    """Carry over a state dict's ``_metadata`` ({prefix: {"version": n}}) if it has that shape."""
    metadata = getattr(original, "_metadata", None)
    if not isinstance(rebuilt, OrderedDict) or not isinstance(metadata, dict) or len(metadata) > MAX_NODES:
        return
    if all(isinstance(entry, dict) and all(type(v) in _LEAVES for v in entry.values()) for entry in metadata.values()):
        rebuilt._metadata = metadata


def sanitize(value: object, max_depth: int = MAX_DEPTH, max_nodes: int = MAX_NODES) -> tuple[object, list[str]]:
    """A copy of ``value`` that is at most ``max_depth`` deep, ``max_nodes`` large and acyclic."""
    children = _children(value)
    if children is None:
        return value, []
    cut: set[str] = set()
    budget = max_nodes
    stack = [_Frame(value, children, 1)]
    on_path = {id(value)}
    while True:
        frame = stack[-1]
        if frame.index < len(frame.children) and budget <= 0:
            frame.out.append(TOO_MANY)
            frame.out.extend([TOO_MANY] * (len(frame.children) - frame.index - 1))
            frame.index = len(frame.children)
            cut.add(TOO_MANY.reason)
        if frame.index == len(frame.children):
            stack.pop()
            on_path.discard(id(frame.original))
            rebuilt = _rebuild(frame.original, frame.out)
            if not stack:
                return rebuilt, _warnings(cut)
            stack[-1].out.append(rebuilt)
            continue
        child = frame.children[frame.index]
        frame.index += 1
        if type(child) in _LEAVES:  # the common case, kept cheap
            budget -= 1
            frame.out.append(child)
            continue
        budget -= len(child) if isinstance(child, (set, frozenset)) else 1
        grandchildren = _children(child)
        if grandchildren is None:
            frame.out.append(child)
        elif id(child) in on_path:
            frame.out.append(CYCLE)
            cut.add(CYCLE.reason)
        elif frame.depth >= max_depth:
            frame.out.append(TOO_DEEP)
            cut.add(TOO_DEEP.reason)
        else:
            stack.append(_Frame(child, grandchildren, frame.depth + 1))
            on_path.add(id(child))


def _warnings(reasons: set[str]) -> list[str]:
    return [f"part of the file's object tree was cut: {reason}" for reason in sorted(reasons)]

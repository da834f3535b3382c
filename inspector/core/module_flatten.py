"""Turn pickled ``nn.Module`` objects into ``ModuleObject``s listing what ``state_dict()`` would.

``torch.save(model)`` pickles the module itself: the class (often a user class that cannot be
imported here) plus a BUILD dict holding ``_parameters``, ``_buffers`` and ``_modules``. The
restricted unpickler leaves that as a ``PickledObject``; this module rebuilds the flat
state_dict from those dicts in torch's order (own parameters, own persistent buffers, then
each child with a ``"child."`` prefix), marking roles, without importing the class.
"""

from __future__ import annotations

from collections.abc import Iterable

from inspector.core.model import MAX_WALK_NODES, ModuleObject, PickledObject, TensorRef, Truncated

MODULE_KEYS = ("_parameters", "_buffers", "_modules")
MAX_MODULE_DEPTH = 256
MAX_STATE_ENTRIES = 1_000_000
MAX_MODULE_VISITS = 1_000_000
SIMPLE_TYPES = (str, int, float, bool, type(None))


def flatten_modules(value: object) -> object:
    """Return ``value`` with every outermost pickled nn.Module replaced by a ``ModuleObject``.

    Dicts, lists and non-module objects are updated in place; tuples holding a module are
    rebuilt. Iterative and memoised by identity, so shared and cyclic references are safe.
    """
    replacements: dict[int, object] = {}
    for node in _containers_children_first(value):
        replacements[id(node)] = _replace_children(node, replacements)
    return replacements.get(id(value), value)


def module_state(obj: object) -> dict | None:
    """The BUILD dict of a pickled nn.Module, or None when ``obj`` is not one."""
    if not isinstance(obj, PickledObject):
        return None
    state = obj.state
    if isinstance(state, tuple) and len(state) == 2 and isinstance(state[0], dict):
        state = state[0]
    if isinstance(state, dict) and all(isinstance(state.get(key), dict) for key in MODULE_KEYS):
        return state
    return None


def module_object(obj: PickledObject) -> ModuleObject:
    """Flatten one pickled module tree the way ``nn.Module.state_dict()`` walks it."""
    state_dict: dict[str, TensorRef] = {}
    classes: dict[str, str] = {}
    skipped: list[str] = []
    stack: list[tuple[str, PickledObject, tuple[int, ...]]] = [("", obj, (id(obj),))]
    visits = 0
    while stack and visits < MAX_MODULE_VISITS:  # a shared child is walked once per name, as torch does
        visits += 1
        prefix, module, ancestors = stack.pop()
        state = module_state(module)
        classes[prefix.rstrip(".")] = module.class_name
        if state is None or len(state_dict) >= MAX_STATE_ENTRIES:
            continue
        _add_own_tensors(state, prefix, state_dict, skipped)
        children = _child_modules(state, prefix, ancestors)
        if len(ancestors) < MAX_MODULE_DEPTH:
            stack.extend(reversed(children))
        elif children:
            skipped.append(prefix + "*")
    attributes = root_attributes(module_state(obj) or {})
    if skipped:
        attributes["skipped entries"] = skipped
    if len(state_dict) >= MAX_STATE_ENTRIES or stack:
        attributes["truncated"] = Truncated(f"more than {MAX_STATE_ENTRIES} state_dict entries "
                                            f"or {MAX_MODULE_VISITS} submodules")
    return ModuleObject(obj.class_name, state_dict, classes, attributes)


def root_attributes(state: dict) -> dict[str, object]:
    """Simple non-tensor values of a module (training flag, hyper parameters)."""
    attributes: dict[str, object] = {}
    for name, value in state.items():
        if not isinstance(name, str) or _is_internal(name):
            continue
        if _is_simple(value):
            attributes[name] = value
    return attributes


def non_persistent_names(state: dict) -> set[str]:
    """Names in ``_non_persistent_buffers_set``, however the unpickler rendered the set."""
    value = state.get("_non_persistent_buffers_set")
    if isinstance(value, PickledObject):  # builtins.set left as an object: set(list)
        value = value.args[0] if value.args else value.items
    if isinstance(value, (set, frozenset, list, tuple)):
        return {name for name in value if isinstance(name, str)}
    return set()


def _add_own_tensors(state: dict, prefix: str, out: dict[str, TensorRef], skipped: list[str]) -> None:
    hidden = non_persistent_names(state)
    groups = (("parameter", state["_parameters"], set()), ("buffer", state["_buffers"], hidden))
    for role, tensors, excluded in groups:
        for name, tensor in tensors.items():
            if tensor is None or name in excluded:
                continue
            if not isinstance(tensor, TensorRef):
                skipped.append(f"{prefix}{name}")
                continue
            tensor.role = role
            out[f"{prefix}{name}"] = tensor


def _child_modules(state: dict, prefix: str, ancestors: tuple[int, ...]) -> list:
    children = []
    for name, child in state["_modules"].items():
        if child is None or id(child) in ancestors:  # torch itself would recurse forever
            continue
        if isinstance(child, PickledObject):
            children.append((f"{prefix}{name}.", child, ancestors + (id(child),)))
    return children


def _is_internal(name: str) -> bool:
    return name.startswith("_")


def _is_simple(value: object, depth: int = 0) -> bool:
    if isinstance(value, SIMPLE_TYPES):
        return True
    if isinstance(value, (tuple, list)) and depth < 2 and len(value) <= 64:
        return all(_is_simple(item, depth + 1) for item in value)
    return False


def _containers_children_first(root: object) -> list[object]:
    """Containers reachable from ``root`` (not inside modules), each after its children."""
    order: list[object] = []
    seen: set[int] = set()
    stack: list[tuple[object, bool]] = [(root, False)]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
            continue
        if id(node) in seen or not _is_container(node) or len(seen) >= MAX_WALK_NODES:
            continue
        seen.add(id(node))
        stack.append((node, True))
        if module_state(node) is None:
            stack.extend((child, False) for child in _children(node))
    return order


def _is_container(node: object) -> bool:
    return isinstance(node, (dict, list, tuple, PickledObject))


def _children(node: object) -> Iterable[object]:
    if isinstance(node, dict):
        return list(node.values())
    if isinstance(node, (list, tuple)):
        return list(node)
    return [node.state, node.args, node.items, node.dict_items]


def _replace_children(node: object, replacements: dict[int, object]) -> object:
    def swap(child: object) -> object:
        return replacements.get(id(child), child)

    if module_state(node) is not None:
        return module_object(node)
    if isinstance(node, dict):
        for key, child in node.items():
            if swap(child) is not child:
                node[key] = swap(child)
    elif isinstance(node, list):
        for index, child in enumerate(node):
            if swap(child) is not child:
                node[index] = swap(child)
    elif isinstance(node, tuple):
        if any(swap(child) is not child for child in node):
            return tuple(map(swap, node))
    else:
        node.state, node.args = swap(node.state), swap(node.args)
    return node

"""The ``inspector info --json`` document (see DESIGN.md, "The info --json contract").

``objects`` is the JSON view of everything that is not a tensor: tensors are listed once,
under ``tensors``, so in ``objects`` a dict simply leaves its tensor entries out and a
list/tuple keeps its indices by putting ``{"tensor": "float32[16, 8]"}`` in their place.
The walk is iterative and bounded by a node budget (billion-laughs trees stay small).
"""

from __future__ import annotations

import math

from inspector.core.model import Checkpoint, ModuleObject, PickledObject, TensorRef, Truncated
from inspector.core.pickled_values import NumpyArray, NumpyDtype, NumpyScalar
from inspector.core.sharing import storage_ids, total_nbytes

MAX_JSON_NODES = 200_000
MAX_JSON_DEPTH = 300
MAX_STRING_CHARS = 10_000
MAX_INT_BITS = 256


def info_json(checkpoint: Checkpoint, stats: dict | None = None) -> dict:
    """The contract's document for ``checkpoint``; per-tensor ``stats`` only when given."""
    found = list(checkpoint.iter_tensors())
    ids = storage_ids(tensor.storage for _, tensor in found if tensor.storage is not None)
    tensors = [tensor_json(path, tensor, stats, ids) for path, tensor in found]
    return {
        "format": checkpoint.format,
        "path": checkpoint.path,
        "tensor_count": len(tensors),
        "total_nbytes": total_nbytes(tensor for _, tensor in found),
        "tensors": tensors,
        "objects": to_json(checkpoint.root),
        "globals": list(checkpoint.globals),
        "warnings": list(checkpoint.warnings),
        "metadata": to_json(checkpoint.metadata),
    }


def tensor_json(path: tuple, tensor: TensorRef, stats: dict | None = None,
                storage_ids: dict | None = None) -> dict:
    entry = {
        "path": list(path),
        "shape": list(tensor.shape),
        "dtype": tensor.dtype,
        "role": tensor.role,
        "device": tensor.device,
        "nbytes": _nbytes(tensor),
    }
    if storage_ids and tensor.storage in storage_ids:
        entry["storage"] = storage_ids[tensor.storage]
        entry["storage_offset"] = tensor.storage_offset
    if tensor.extra.get("parameter"):
        entry["requires_grad"] = bool(tensor.requires_grad)
    if "param" in tensor.extra:
        entry["param"] = tensor.extra["param"]
    if tensor.layout != "strided":
        entry["layout"] = tensor.layout
    if stats is not None and path in stats:
        entry["stats"] = _stats_json(stats[path])
    return entry


def tensor_label(tensor: TensorRef) -> str:
    """``float32[16, 8]``: dtype and shape in one short string."""
    return f"{tensor.dtype}[{', '.join(str(size) for size in tensor.shape)}]"


def to_json(value: object, max_nodes: int = MAX_JSON_NODES) -> object:
    """A JSON-safe copy of ``value`` without its tensors (iterative, bounded)."""
    holder: list[object] = [None]
    stack: list[tuple[object, object, object, int]] = [(value, holder, 0, 0)]
    budget = max_nodes
    while stack:
        item, target, slot, depth = stack.pop()
        budget -= 1
        if budget < 0 or depth > MAX_JSON_DEPTH:
            reason = "node limit" if budget < 0 else "depth limit"
            target[slot] = {"truncated": f"{reason} reached"}
            continue
        target[slot], children = _convert(item)
        stack.extend((child, target[slot], key, depth + 1) for key, child in reversed(children))
    return holder[0]


def _convert(item: object) -> tuple[object, list[tuple[object, object]]]:
    """The JSON value for ``item`` (containers empty) and the (slot, child) pairs to fill."""
    if isinstance(item, NumpyArray) and not item.complete:
        return {"ndarray": item.label}, []
    if isinstance(item, NumpyDtype):
        return repr(item), []
    if isinstance(item, NumpyScalar):
        return _scalar(item.value), []
    if isinstance(item, dict):
        children = [(_json_key(key), child) for key, child in item.items()
                    if not isinstance(child, TensorRef)]
        return {key: None for key, _ in children}, children
    if isinstance(item, (list, tuple)):
        children = [(index, child) for index, child in enumerate(item)]
        return [None] * len(children), children
    if isinstance(item, (set, frozenset)):
        return {"set": None}, [("set", list(item))]
    if isinstance(item, TensorRef):
        return {"tensor": tensor_label(item)}, []
    if isinstance(item, ModuleObject):
        return _object_json(item.class_name, {"submodules": item.submodule_classes,
                                              "attributes": item.attributes})
    if isinstance(item, PickledObject):
        return _object_json(item.class_name, _pickled_parts(item))
    return _scalar(item), []


def _object_json(class_name: str, parts: dict[str, object]) -> tuple[dict, list]:
    result: dict[str, object] = {"__class__": class_name}
    children = []
    for key, part in parts.items():
        result[key] = None
        children.append((key, part))
    return result, children


def _pickled_parts(obj: PickledObject) -> dict[str, object]:
    """An object's fields by name when its state is a mapping of names, else its raw parts."""
    state = obj.state
    if isinstance(state, tuple) and len(state) == 2 and isinstance(state[1], dict) and \
            isinstance(state[0], (dict, type(None))):
        state = {**(state[0] or {}), **state[1]}  # (dict, slots) states
    parts: dict[str, object] = {}
    if isinstance(state, dict) and all(isinstance(key, str) and key != "__class__" for key in state):
        parts.update(state)
    elif state is not None:
        parts["__state__"] = state
    if obj.args:
        parts["__args__"] = obj.args
    if obj.items:
        parts["__items__"] = obj.items
    if obj.dict_items:
        parts["__dict_items__"] = [list(pair) if isinstance(pair, tuple) else pair for pair in obj.dict_items]
    return parts


def _scalar(item: object) -> object:
    if item is None or isinstance(item, (bool, str)):
        return item if not isinstance(item, str) or len(item) <= MAX_STRING_CHARS else _long_string(item)
    if isinstance(item, int):
        return item if item.bit_length() <= MAX_INT_BITS else {"int": f"{item.bit_length()}-bit integer"}
    if isinstance(item, float):
        return _json_float(item)
    if isinstance(item, complex):
        return {"complex": [_json_float(item.real), _json_float(item.imag)]}
    if isinstance(item, (bytes, bytearray)):
        return {"bytes": len(item)}
    if isinstance(item, Truncated):
        return {"truncated": item.reason}
    return {"value": type(item).__name__}


def _long_string(text: str) -> str:
    return f"{text[:MAX_STRING_CHARS]}… ({len(text)} characters)"


def _json_float(number: float) -> float | str:
    """JSON has no NaN/Infinity: they become the strings "nan", "inf", "-inf"."""
    if math.isfinite(number):
        return number
    return "nan" if math.isnan(number) else ("inf" if number > 0 else "-inf")


def _json_key(key: object) -> str:
    if isinstance(key, str):
        return key
    if isinstance(key, (int, float, bool)) or key is None:
        return str(key)
    return repr(key)[:200]


def _nbytes(tensor: TensorRef) -> int | None:
    try:
        return tensor.nbytes
    except (KeyError, TypeError, ValueError):
        return None


def _stats_json(stats: object) -> dict:
    values = stats.as_dict() if hasattr(stats, "as_dict") else dict(stats)
    result = {}
    for key, value in values.items():
        value = value.item() if hasattr(value, "item") else value  # numpy scalars
        result[key] = _json_float(value) if isinstance(value, float) else value
    return result

"""The other values (non-tensor values that differ: epoch, loss, an optimizer's state…) as the
compare view lists them, written in the worker process from the values as they were read.

Each side gets a short text and an exact one. The short text rounds floats to 6 significant
digits (0.30000000000000004 reads 0.3), writes NaN and ±Inf as numbers (nan, inf), shows a
tensor as its dtype and shape, and a container inline when it is short, else its entries
summarised with the tensors they hold (``{state: {62 entries, 186 tensors}, …}``): the diff's
JSON view leaves tensors out, so a dict of tensors would read ``{}``. The exact text keeps
every digit of every float (``repr``) and is bounded. The diff's ``objects`` stay as they are.
"""

from __future__ import annotations

from collections.abc import Iterator

from inspector.core.jsonview import tensor_label
from inspector.core.model import ModuleObject, PickledObject, TensorRef, Truncated, child_items
from inspector.core.object_diff import ABSENT, Described
from inspector.core.pickled_values import Namespace, NumpyArray, NumpyDtype, NumpyScalar

SHORT_CHARS = 90
EXACT_CHARS = 600  # a tooltip's worth
MAX_DEPTH = 12
MAX_COUNTED = 100_000  # nodes a summary walks to count entries and tensors
MAX_STRING_CHARS = 200


def object_rows(objects: list[dict], values: list[tuple]) -> list[dict]:
    """``[{"path": […], "a": {"text", "exact"} | None, "b": …}, …]``, one per difference
    (``values``: each difference's (A, B) values, ``ABSENT`` for a side without it)."""
    return [{"path": list(difference["path"]), "a": side_texts(a), "b": side_texts(b)}
            for difference, (a, b) in zip(objects, values)]


def side_texts(value: object) -> dict | None:
    if value is ABSENT:
        return None
    return {"text": short_text(value), "exact": exact_text(value)}


def short_text(value: object) -> str:
    """Inline when it fits; else each entry summarised; else the container summarised."""
    text, cut = _joined(_pieces(value, _short_float, 0), SHORT_CHARS)
    if not cut:
        return text
    if _is_container(value):
        text, cut = _joined(_entries_summarised(value), SHORT_CHARS)
        if not cut:
            return text
    return summary(value)


def exact_text(value: object) -> str:
    return _joined(_pieces(value, repr, 0), EXACT_CHARS)[0]


def summary(value: object) -> str:
    """``{62 entries, 186 tensors}``, ``[3 items]``, ``{3 tensors}``, ``Namespace(4 fields)``."""
    entries = sum(1 for _ in child_items(value))
    tensors = _tensors_below(value)
    held = f", {_counted(tensors, 'tensor', 'tensors')}" if tensors else ""
    if isinstance(value, (ModuleObject, PickledObject, Namespace)):
        return f"{_class_name(value)}({_counted(entries, 'field', 'fields')}{held})"
    opening, closing = _brackets(value)
    if tensors and tensors == entries:
        return f"{opening}{_counted(tensors, 'tensor', 'tensors')}{closing}"
    counted = _counted(entries, "item", "items") if isinstance(value, (list, tuple)) else \
        _counted(entries, "entry", "entries")
    return f"{opening}{counted}{held}{closing}"


# -- pieces ------------------------------------------------------------------------------
def _pieces(value: object, float_text, depth: int) -> Iterator[str]:
    """The text of ``value`` in pieces, so that a long one is cut without being built whole."""
    if not _is_container(value):
        yield _scalar_text(value, float_text)
        return
    if depth >= MAX_DEPTH:
        yield summary(value)
        return
    yield from _entry_pieces(value, lambda child: _pieces(child, float_text, depth + 1))


def _entries_summarised(value: object) -> Iterator[str]:
    """The container's entries, each a scalar or a summary."""
    return _entry_pieces(value, _summarised)


def _summarised(child: object) -> Iterator[str]:
    yield summary(child) if _is_container(child) else _scalar_text(child, _short_float)


def _entry_pieces(value: object, child_pieces) -> Iterator[str]:
    """The container in brackets, its entries (keyed where it has keys) as ``child_pieces`` writes them."""
    opening, closing = _brackets(value)
    yield opening
    for position, (key, child) in enumerate(child_items(value)):
        if position:
            yield ", "
        if not isinstance(value, (list, tuple)):
            yield _key_text(key, value)
        yield from child_pieces(child)
    yield closing


def _joined(pieces: Iterator[str], limit: int) -> tuple[str, bool]:
    """The pieces joined up to ``limit`` characters (then "…"), and whether it was cut."""
    parts, used = [], 0
    for piece in pieces:
        if used + len(piece) > limit:
            parts.append(piece[:max(limit - used, 0)] + "…")
            return "".join(parts), True
        parts.append(piece)
        used += len(piece)
    return "".join(parts), False


def _scalar_text(value: object, float_text) -> str:
    if isinstance(value, Described):
        return str(value)
    if isinstance(value, NumpyScalar):
        value = value.value
    if isinstance(value, TensorRef):
        return f"tensor {tensor_label(value)}"
    if isinstance(value, float):
        return float_text(value)
    if isinstance(value, complex):
        return f"({float_text(value.real)}{'+' if value.imag >= 0 else '-'}{float_text(abs(value.imag))}j)"
    if isinstance(value, bool) or value is None:
        return repr(value)
    if isinstance(value, int):
        return repr(value) if value.bit_length() <= 256 else f"<{value.bit_length()}-bit integer>"
    if isinstance(value, str):
        return repr(value[:MAX_STRING_CHARS]) + ("…" if len(value) > MAX_STRING_CHARS else "")
    if isinstance(value, (bytes, bytearray)):
        return f"<{len(value):,} bytes>"
    if isinstance(value, NumpyArray):
        return f"ndarray {value.label}"
    if isinstance(value, NumpyDtype):
        return repr(value)
    if isinstance(value, Truncated):
        return f"<{value.reason}>"
    if isinstance(value, (set, frozenset)):
        return f"{{set of {len(value):,}}}"
    return f"<{type(value).__name__}>"


def _short_float(number: float) -> str:
    """6 significant digits; nan, inf and -inf as they are."""
    return format(number, ".6g")


def _is_container(value: object) -> bool:
    if isinstance(value, NumpyArray):
        return value.complete
    return isinstance(value, (dict, list, tuple, ModuleObject, PickledObject)) and not isinstance(value, Described)


def _brackets(value: object) -> tuple[str, str]:
    if isinstance(value, (ModuleObject, PickledObject, Namespace)):
        return f"{_class_name(value)}(", ")"
    if isinstance(value, tuple):
        return "(", ")"
    return ("[", "]") if isinstance(value, list) else ("{", "}")


def _key_text(key: object, owner: object) -> str:
    named = isinstance(owner, (ModuleObject, PickledObject, Namespace))
    shown = str(key) if isinstance(key, int) or (isinstance(key, str) and key.isidentifier()) else repr(key)
    return f"{shown}=" if named else f"{shown}: "


def _class_name(value: object) -> str:
    if isinstance(value, Namespace):
        return "Namespace"
    return value.class_name.rsplit(".", 1)[-1]


def _tensors_below(value: object) -> int:
    count, stack, budget = 0, [value], MAX_COUNTED
    while stack and budget > 0:
        item = stack.pop()
        budget -= 1
        if isinstance(item, TensorRef):
            count += 1
        elif _is_container(item):
            stack.extend(child for _, child in child_items(item))
    return count


def _counted(count: int, singular: str, plural: str) -> str:
    return f"{count:,} {singular if count == 1 else plural}"

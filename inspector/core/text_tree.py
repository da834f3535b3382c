"""The text view of ``inspector info``: warnings first, then the tree with totals."""

from __future__ import annotations

import math
from collections.abc import Iterator

from inspector.core.model import Checkpoint
from inspector.core.natural_sort import natural_sort_key
from inspector.core.tensor_notes import role_text
from inspector.core.tree import Node, iter_nodes
from inspector.core.units import human_size, short_count

INDENT = "  "
NAME_WIDTH = 48
MAX_VALUE_CHARS = 80
MAX_INLINE_ITEMS = 8  # a list or tuple of at most this many plain values prints on one line


def render_text(checkpoint: Checkpoint, root: Node, *, max_depth: int | None = None,
                stats: dict | None = None) -> Iterator[str]:
    """Lines of the text view; ``max_depth`` limits how deep the tree is printed."""
    kind = f"  <{root.class_name}>" if root.class_name else ""
    yield (f"{root.name}  ({checkpoint.format}){kind}  {_count(root.tensor_count, 'tensor')}, "
           f"{short_count(root.numel_total, '')} elements, {human_size(root.nbytes_total)}")
    for warning in checkpoint.warnings:
        yield f"warning: {warning}"
    yield from _metadata_lines(checkpoint.metadata)
    if checkpoint.globals:
        yield f"globals: {', '.join(checkpoint.globals)}"
    stack = [(child, 0) for child in reversed(root.children)]
    while stack:
        node, depth = stack.pop()
        inline = one_line_items(node)
        if inline is not None:
            yield f"{INDENT * depth}{node.name} = {inline}"
            continue
        yield _line(node, depth, stats)
        if max_depth is None or depth + 1 < max_depth:
            stack.extend((child, depth + 1) for child in reversed(node.children))
    if stats is not None:
        yield from stats_summary(root, stats)


def one_line_items(node: Node) -> str | None:
    """A tuple or short list of plain values as one line (``(0.9, 0.999)``), else None."""
    if node.kind != "list" or len(node.children) > MAX_INLINE_ITEMS or node.class_name not in ("list", "tuple"):
        return None
    if any(child.kind != "value" for child in node.children):
        return None
    items = [short_repr(child.value) for child in node.children]
    text = f"({items[0]},)" if node.class_name == "tuple" and len(items) == 1 else ", ".join(items)
    if node.class_name == "tuple" and len(items) != 1:
        text = f"({text})"
    elif node.class_name == "list":
        text = f"[{text}]"
    return text if len(text) <= MAX_VALUE_CHARS else None


def stats_summary(root: Node, stats: dict) -> Iterator[str]:
    """The closing lines of ``--stats``: which tensors hold NaN, Inf, or nothing but zeros."""
    found: dict[str, list[str]] = {"NaN": [], "Inf": [], "all zeros": []}
    for node in iter_nodes(root):
        result = stats.get(node.path) if node.kind == "tensor" else None
        if result is None:
            continue
        values = result.as_dict() if hasattr(result, "as_dict") else dict(result)
        name = _dotted(node)
        for label, count in (("NaN", values.get("nan")), ("Inf", values.get("inf"))):
            if count:
                found[label].append(f"{name} ({count})")
        if values.get("count") and values.get("zeros") == values.get("count"):
            found["all zeros"].append(name)
    yield "summary: " + ("; ".join(f"{label} in {len(names)} tensor{'s' if len(names) != 1 else ''}: {', '.join(names)}"
                                    for label, names in found.items() if names) or "no tensor holds NaN or Inf, none is all zeros")


def _dotted(node: Node) -> str:
    return ".".join(str(step) for step in node.path)


def _metadata_lines(metadata: dict) -> Iterator[str]:
    """Plain entries on one line; lists of names (a sharded folder's files) each on their own,
    complete and in natural order."""
    plain = {key: value for key, value in metadata.items() if not _is_name_list(value)}
    if plain:
        yield "metadata: " + ", ".join(f"{key}={short_repr(value)}" for key, value in plain.items())
    for key, value in metadata.items():
        if _is_name_list(value):
            yield f"{key} ({len(value)}): " + ", ".join(sorted(value, key=natural_sort_key))


def _is_name_list(value: object) -> bool:
    return isinstance(value, (list, tuple)) and bool(value) and all(isinstance(item, str) for item in value)


def short_repr(value: object, limit: int = MAX_VALUE_CHARS) -> str:
    """A one-line, bounded description of a plain value."""
    if isinstance(value, (bytes, bytearray)):
        return f"<{len(value)} bytes>"
    if isinstance(value, str) and len(value) > limit:
        return repr(value[:limit]) + f"… ({len(value)} characters)"
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 256:
        return f"<{value.bit_length()}-bit integer>"
    text = " ".join(repr(value).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _line(node: Node, depth: int, stats: dict | None) -> str:
    label = INDENT * depth + node.name
    if node.kind == "tensor":
        return _tensor_line(node, label, stats)
    if node.kind == "value":
        return f"{label} = {short_repr(node.value)}"
    if node.kind == "truncated":
        return f"{label}  [cut short: {node.value}]"
    kind = node.class_name or node.kind
    if node.tensor_count == 0:
        return f"{label}  <{kind}, {_count(len(node.children), 'item')}>"
    return (f"{label.ljust(NAME_WIDTH)}  <{kind}>  {_count(node.tensor_count, 'tensor')}, "
            f"{short_count(node.numel_total, '')} elements, {human_size(node.nbytes_total)}")


def _tensor_line(node: Node, label: str, stats: dict | None) -> str:
    tensor = node.tensor
    shape = "[" + ", ".join(str(size) for size in tensor.shape) + "]"
    line = (f"{label.ljust(NAME_WIDTH)}  {tensor.dtype:<13} {shape:<20} "
            f"{human_size(node.nbytes_total):>10}  {role_text(tensor, node.shared_with)}")
    if tensor.device not in ("cpu", ""):
        line += f"  {tensor.device}"
    if tensor.layout != "strided":
        line += f"  {tensor.layout}"
    if stats is not None and node.path in stats:
        line += "  " + _stats_text(stats[node.path])
    return line


def _stats_text(stats: object) -> str:
    values = stats.as_dict() if hasattr(stats, "as_dict") else dict(stats)
    parts = []
    for key in ("min", "max", "mean", "std"):
        value = values.get(key)
        parts.append(f"{key}={_number(value)}")
    for key in ("nan", "inf", "zeros"):
        if values.get(key):
            parts.append(f"{key}={values[key]}")
    return " ".join(parts)


def _number(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, float) and math.isfinite(value):
        return f"{value:.6g}"
    return str(value)


def _count(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"

"""Keys grouped by module, with repeated blocks' indices collapsed: ``layer1.{0,1}.bn2``
holding ``weight, bias``, ``blocks.{0…11}.attn.qkv``, ``encoder_layer_{0…11}.ln_1``.

A path segment that is a number, or ends in ``_<number>``, is an index. Modules whose paths
differ only in their indices and hold the same tensor names form one group, written with each
index position as a set; a set of index tuples that is not a full product is split until
every group stands for exactly the keys it lists.
"""

from __future__ import annotations

import re

INDEXED = re.compile(r"^(?:(.*_))?(\d+)$")
RUN_LENGTH = 3  # consecutive indices written as a range from this many on


def group_keys(keys: list[str]) -> list[dict]:
    """``[{"module": "layer1.{0,1}.bn2", "names": ["weight", "bias"], "count": 4}, …]`` in the
    order the keys come; ``module`` is "" for keys at the top level."""
    modules: dict[str, list[str]] = {}
    for key in keys:
        module, _, name = key.rpartition(".")
        modules.setdefault(module, []).append(name)
    groups: dict[tuple, list[tuple[int, ...]]] = {}
    for module, names in modules.items():
        template, indices = _template(module)
        groups.setdefault((template, tuple(names)), []).append(indices)
    result = []
    for (template, names), index_tuples in groups.items():
        for block in _blocks(index_tuples):
            count = len(names)
            for values in block:
                count *= len(values)
            result.append({"module": _render(template, block), "names": list(names), "count": count})
    return result


def group_line(group: dict) -> str:
    """One group as text: ``layer1.{0,1}.bn2: weight, bias``."""
    names = ", ".join(group["names"])
    return f"{group['module']}: {names}" if group["module"] else names


def _template(module: str) -> tuple[tuple[str, ...], tuple[int, ...]]:
    """The module path with its indices taken out: (parts with ``None`` holes, the indices)."""
    if not module:
        return (), ()
    parts: list[str] = []
    indices: list[int] = []
    for part in module.split("."):
        match = INDEXED.match(part)
        if match and len(match.group(2)) < 10:
            parts.append((match.group(1) or "") + "\x00")
            indices.append(int(match.group(2)))
        else:
            parts.append(part)
    return tuple(parts), tuple(indices)


def _blocks(index_tuples: list[tuple[int, ...]]) -> list[list[list[int]]]:
    """The index tuples as products of per-position value lists, in first-seen order."""
    if not index_tuples[0]:
        return [[]]
    rests_by_first: dict[int, list[tuple[int, ...]]] = {}
    for first, *rest in index_tuples:
        rests_by_first.setdefault(first, []).append(tuple(rest))
    firsts_by_rests: dict[frozenset, list[int]] = {}
    for first, rests in rests_by_first.items():
        firsts_by_rests.setdefault(frozenset(rests), []).append(first)
    blocks = []
    for firsts in firsts_by_rests.values():
        for sub in _blocks(rests_by_first[firsts[0]]):
            blocks.append([firsts, *sub])
    return blocks


def _render(template: tuple[str, ...], block: list[list[int]]) -> str:
    values = iter(block)
    parts = []
    for part in template:
        if part.endswith("\x00"):
            parts.append(part[:-1] + format_indices(next(values)))
        else:
            parts.append(part)
    return ".".join(parts)


def format_indices(values: list[int]) -> str:
    """``[3]`` -> ``3``; ``[0, 1]`` -> ``{0,1}``; ``[0, …, 11]`` -> ``{0…11}``; mixed runs joined by commas."""
    ordered = sorted(set(values))
    if len(ordered) == 1:
        return str(ordered[0])
    pieces = []
    start = previous = ordered[0]
    for value in [*ordered[1:], None]:
        if value is not None and value == previous + 1:
            previous = value
            continue
        run = previous - start + 1
        if run >= RUN_LENGTH:
            pieces.append(f"{start}…{previous}")
        else:
            pieces.extend(str(item) for item in range(start, previous + 1))
        if value is not None:
            start = previous = value
    return "{" + ",".join(pieces) + "}"

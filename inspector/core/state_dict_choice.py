"""Which state dict inside a checkpoint two-file commands work on.

The file itself when it is a state dict (or a pickled module); else the first of
``state_dict``, ``model_state_dict``, ``model`` that holds tensors (Lightning's ``state_dict``
included); else the one top-level entry that is a state dict. EMA copies (``state_dict_ema``,
``model_ema``, ``ema``) only when asked. ``subdict`` (dotted, e.g. ``generator`` or
``models.0``) chooses explicitly. Tensors nested deeper in the chosen value get dotted keys.
"""

from __future__ import annotations

from inspector.core.errors import CheckpointError
from inspector.core.model import (
    Checkpoint, ModuleObject, PathElement, TensorPath, TensorRef, child_items, iter_tensors,
)
from inspector.core.tree import is_mostly_tensors

STATE_DICT_NAMES = ("state_dict", "model_state_dict", "model")
EMA_NAMES = ("state_dict_ema", "model_ema", "ema")
LISTED_NAMES = 12


class StateDictView:
    """The chosen state dict: ``tensors`` (dotted key → tensor, file order), ``paths`` (key →
    contract path as ``info --json`` gives it), ``path`` (where the dict itself is) and
    ``version_table`` (its ``_metadata``: ``{prefix: {"version": n}}``, or None)."""

    __slots__ = ("path", "tensors", "paths", "version_table")

    def __init__(self, path: TensorPath, tensors: dict[str, TensorRef],
                 paths: dict[str, TensorPath], version_table: dict | None = None) -> None:
        self.path = path
        self.tensors = tensors
        self.paths = paths
        self.version_table = version_table

    def __repr__(self) -> str:
        return f"StateDictView(path={self.path!r}, tensors={len(self.tensors)}, version_table={self.version_table is not None})"


def choose_state_dict(checkpoint: Checkpoint, subdict: str | None = None,
                      ema: bool = False) -> StateDictView:
    """The state dict to compare, export or check; ``CheckpointError`` naming what the file
    holds when there is none (or ``subdict`` does not exist)."""
    if subdict is not None:
        return _view(checkpoint, *_follow(checkpoint, subdict))
    return _view(checkpoint, *_default_choice(checkpoint, ema))


def _default_choice(checkpoint: Checkpoint, ema: bool) -> tuple[TensorPath, object]:
    root = checkpoint.root
    if not ema and _is_whole_state_dict(root):
        return (), root
    if isinstance(root, dict):
        for name in EMA_NAMES if ema else STATE_DICT_NAMES:
            if name in root and _holds_tensors(root[name]):
                return (name,), root[name]
        if not ema:
            found = [key for key, child in root.items() if key not in EMA_NAMES and _is_whole_state_dict(child)]
            if len(found) == 1:
                return (found[0],), root[found[0]]
            if found:
                raise CheckpointError(f"{checkpoint.path} holds several state dicts ({_listing(found)}): "
                                      "choose one with --subdict")
    wanted = "EMA state dict" if ema else "state dict"
    raise CheckpointError(f"{checkpoint.path} has no {wanted}; it holds {_contents(root)} "
                          "(choose a part with --subdict)")


def _is_whole_state_dict(value: object) -> bool:
    """A pickled module, or a dict of mostly tensors none of whose other values holds tensors
    (``{"model": sd, "step": tensor}`` is a checkpoint holding a state dict, not one)."""
    if isinstance(value, ModuleObject):
        return True
    return is_mostly_tensors(value) and not any(
        _holds_tensors(child) for child in value.values() if not isinstance(child, TensorRef))


def _holds_tensors(value: object) -> bool:
    if isinstance(value, ModuleObject):
        return bool(value.state_dict)
    return isinstance(value, dict) and any(True for _ in iter_tensors(value))


def _follow(checkpoint: Checkpoint, subdict: str) -> tuple[TensorPath, object, str]:
    """Walk the dotted ``subdict``; a dict key may itself contain dots (longest match wins).
    Past the last container, the rest may name a module inside a state dict (``layer4``):
    then the third value is that key prefix (``"layer4."``)."""
    parts = [part for part in subdict.split(".") if part]
    path: list[PathElement] = []
    value = checkpoint.root
    while parts:
        children = dict(child_items(value))
        step, used = _next_step(children, parts)
        if step is None:
            prefix = ".".join(parts) + "."
            if _is_whole_state_dict(value) and any(key.startswith(prefix) for key in children):
                return tuple(path), value, prefix
            raise CheckpointError(f"{checkpoint.path}: no {parts[0]!r} in {_where(path)}; "
                                  f"it holds {_contents(value)}")
        path.append(step)
        value = children[step]
        parts = parts[used:]
    if not _holds_tensors(value):
        raise CheckpointError(f"{checkpoint.path}: {_where(path)} holds no tensors; it holds {_contents(value)}")
    return tuple(path), value, ""


def _next_step(children: dict, parts: list[str]) -> tuple[PathElement | None, int]:
    for used in range(len(parts), 0, -1):
        name = ".".join(parts[:used])
        if name in children:
            return name, used
        if used == 1 and name.lstrip("-").isdigit() and int(name) in children:
            return int(name), used
    return None, 0


def _view(checkpoint: Checkpoint, path: TensorPath, value: object, prefix: str = "") -> StateDictView:
    tensors: dict[str, TensorRef] = {}
    paths: dict[str, TensorPath] = {}
    for relative, tensor in iter_tensors(value):
        key = ".".join(str(part) for part in relative)
        if prefix:
            if not key.startswith(prefix):
                continue
            key = key[len(prefix):]
        if key in tensors:
            raise CheckpointError(f"{checkpoint.path}: two tensors in {_where(path)} have the key {key!r}")
        tensors[key] = tensor
        paths[key] = path + relative
    if not tensors:
        raise CheckpointError(f"{checkpoint.path}: {_where(path)} holds no tensors")
    table = getattr(value, "_metadata", None)
    if prefix and isinstance(table, dict):
        table = {name[len(prefix):]: entry for name, entry in table.items()
                 if name.startswith(prefix) or name == prefix[:-1]}
    return StateDictView(path, tensors, paths, table if isinstance(table, dict) else None)


def _where(path: list | tuple) -> str:
    return "the top level" if not path else "'" + ".".join(str(part) for part in path) + "'"


def _contents(value: object) -> str:
    if isinstance(value, dict):
        return _listing([str(key) for key in value]) if value else "an empty dict"
    if isinstance(value, (list, tuple)):
        return f"a {type(value).__name__} of {len(value)} values"
    if isinstance(value, TensorRef):
        return "a single tensor"
    if isinstance(value, ModuleObject):
        return f"a {value.class_name} module"
    return f"a {type(value).__name__}"


def _listing(names: list[str]) -> str:
    shown = ", ".join(repr(name) for name in names[:LISTED_NAMES])
    more = len(names) - LISTED_NAMES
    return shown + (f" and {more} more" if more > 0 else "")

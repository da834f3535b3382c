"""The checkpoint model every reader produces and every consumer reads.

A reader turns a file into a ``Checkpoint`` whose ``root`` is a tree of plain Python values
(dict, list, tuple, str, int, float, bool, None, bytes), ``TensorRef`` leaves, and inert
``PickledObject`` / ``ModuleObject`` nodes standing for classes that were never imported.
Tensor values are not read here: a ``TensorRef`` says where the bytes are (``values.py`` reads them).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterator

from inspector.core.dtypes import itemsize

ROLES = ("parameter", "buffer", "optimizer-state", "tensor")

PathElement = str | int
TensorPath = tuple[PathElement, ...]


@dataclass(frozen=True)
class Storage:
    """Raw bytes of one storage, found at ``offset`` in the file at ``path``."""

    path: str
    offset: int
    nbytes: int
    dtype: str  # element type the storage holds ("uint8" for untyped storages)
    key: str = ""
    location: str = "cpu"  # a label only ("cuda:0"): no GPU is needed to read the bytes
    byteorder: str = "little"


@dataclass(eq=False)
class TensorRef:
    """A tensor as the file describes it: geometry plus where its bytes live.

    ``storage`` is None for tensors without data (meta tensors, unreadable records).
    ``storage_offset`` and ``stride`` count elements of ``dtype``.
    """

    dtype: str
    shape: tuple[int, ...]
    stride: tuple[int, ...]
    storage: Storage | None
    storage_offset: int = 0
    role: str = "tensor"
    requires_grad: bool = False
    layout: str = "strided"  # "strided", "quantized", "sparse", "meta", ...
    extra: dict[str, Any] = field(default_factory=dict)  # e.g. quantization scale/zero_point

    @property
    def numel(self) -> int:
        n = 1
        for size in self.shape:
            n *= size
        return n

    @property
    def nbytes(self) -> int:
        return self.numel * itemsize(self.dtype)

    @property
    def device(self) -> str:
        if self.storage is None:
            return "meta"
        return self.storage.location

    def is_contiguous(self) -> bool:
        expected = 1
        for size, step in zip(reversed(self.shape), reversed(self.stride)):
            if size != 1 and step != expected:
                return False
            expected *= size
        return True

    def __setstate__(self, state):  # BUILD opcodes must never retarget our objects
        raise TypeError("TensorRef cannot be rebuilt from a pickle")


@dataclass(eq=False)
class PickledObject:
    """An instance of a class that was never imported: its name plus the data given to it."""

    class_name: str  # "module.QualName"
    args: tuple = ()
    state: Any = None  # what BUILD / __setstate__ received
    items: list = field(default_factory=list)  # APPEND(S) onto the object
    dict_items: list = field(default_factory=list)  # SETITEM(S) onto the object

    def __setstate__(self, state):
        raise TypeError("PickledObject cannot be rebuilt from a pickle")


@dataclass(eq=False)
class ModuleObject:
    """A pickled ``nn.Module`` or TorchScript module, flattened the way ``state_dict()`` is.

    ``state_dict`` keys are the dotted names ``model.state_dict()`` would list, in its order.
    ``submodule_classes`` maps each dotted module prefix ("" for the root) to its class name.
    """

    class_name: str
    state_dict: dict[str, TensorRef]
    submodule_classes: dict[str, str] = field(default_factory=dict)
    attributes: dict[str, Any] = field(default_factory=dict)  # other values, e.g. training

    def __setstate__(self, state):
        raise TypeError("ModuleObject cannot be rebuilt from a pickle")


@dataclass(frozen=True)
class Truncated:
    """Marks where a value was cut short (too deep, too many nodes, unreadable)."""

    reason: str


@dataclass(eq=False)
class Checkpoint:
    path: str
    format: str  # torch-zip|torch-legacy|torchscript|safetensors|hf-sharded|dcp|pickle
    root: Any
    globals: list[str] = field(default_factory=list)  # every global the file references
    warnings: list[str] = field(default_factory=list)
    metadata: dict[str, Any] = field(default_factory=dict)  # format facts (byteorder, ...)

    def iter_tensors(self) -> Iterator[tuple[TensorPath, TensorRef]]:
        """Every tensor with its path, per the ``info --json`` contract."""
        return iter_tensors(self.root)


MAX_WALK_NODES = 2_000_000
MAX_WALK_DEPTH = 300  # sanitized trees are at most 256 deep; this bounds path tuples in raw ones


def iter_tensors(root: Any, max_nodes: int = MAX_WALK_NODES) -> Iterator[tuple[TensorPath, TensorRef]]:
    """Depth-first, iterative (no recursion limit), bounded by ``max_nodes`` visits.

    A ``ModuleObject`` at path P yields ``P + (dotted_key,)`` for its state_dict entries;
    attributes of a ``PickledObject`` contribute their names.
    """
    stack: list[tuple[TensorPath, Any]] = [((), root)]
    visited = 0
    while stack and visited < max_nodes:
        path, value = stack.pop()
        visited += 1
        if isinstance(value, TensorRef):
            yield path, value
            continue
        if len(path) >= MAX_WALK_DEPTH:
            continue
        children = list(child_items(value))
        stack.extend((path + (key,), child) for key, child in reversed(children))


def child_items(value: Any) -> Iterator[tuple[PathElement, Any]]:
    """The (key, child) pairs a container value exposes, in display order."""
    if isinstance(value, dict):
        for key, child in value.items():
            yield (key if isinstance(key, (str, int)) else repr(key)), child
    elif isinstance(value, (list, tuple)):
        yield from enumerate(value)
    elif isinstance(value, ModuleObject):
        yield from value.state_dict.items()
        yield from value.attributes.items()
    elif isinstance(value, PickledObject):
        yield from _pickled_object_children(value)


def _pickled_object_children(obj: PickledObject) -> Iterator[tuple[PathElement, Any]]:
    state = obj.state
    if isinstance(state, tuple) and len(state) == 2 and isinstance(state[1], dict):
        state = {**(state[0] or {}), **state[1]} if isinstance(state[0], dict) or state[0] is None else state
    if isinstance(state, dict):
        for key, child in state.items():
            yield (key if isinstance(key, (str, int)) else repr(key)), child
    elif state is not None:
        yield "__state__", state
    if obj.args:
        yield "__args__", obj.args
    for index, item in enumerate(obj.items):
        yield index, item
    for key, child in obj.dict_items:
        yield (key if isinstance(key, (str, int)) else repr(key)), child

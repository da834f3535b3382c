"""The checkpoint model every reader produces and every consumer reads.

A reader turns a file into a ``Checkpoint`` whose ``root`` is a tree of plain Python values
(dict, list, tuple, str, int, float, bool, None, bytes), ``TensorRef`` leaves, and inert
``PickledObject`` / ``ModuleObject`` nodes standing for classes that were never imported.
Tensor values are not read here: a ``TensorRef`` says where the bytes are (``values.py`` reads them).
"""

from __future__ import annotations

from collections.abc import Iterator

from inspector.core.dtypes import itemsize
from inspector.core.value_object import ValueObject

ROLES = ("parameter", "buffer", "optimizer-state", "tensor")

PathElement = str | int
TensorPath = tuple[PathElement, ...]


class Storage(ValueObject):
    """Raw bytes of one storage, found at ``offset`` in the file at ``path``.

    Equal and hashable by value, and immutable. A storage in a zip record may be made with
    ``Storage.in_zip``: it knows where the record's local header is (``zip_local``) and reads
    that header only when ``offset`` is first asked for, which raises ``CheckpointError`` if
    the header is damaged.
    """

    __slots__ = ("path", "_offset", "nbytes", "dtype", "key", "location", "byteorder", "zip_local", "_hash")

    def __init__(self, path: str, offset: int | None, nbytes: int, dtype: str, key: str = "",
                 location: str = "cpu", byteorder: str = "little", *,
                 zip_local: tuple[int, str, int] | None = None) -> None:
        if offset is None and zip_local is None:
            raise TypeError("Storage needs an offset or the zip record that holds its bytes")
        setter = object.__setattr__
        setter(self, "path", path)
        setter(self, "_offset", offset)
        setter(self, "nbytes", nbytes)
        setter(self, "dtype", dtype)  # element type the storage holds ("uint8" for untyped storages)
        setter(self, "key", key)
        setter(self, "location", location)  # a label only ("cuda:0"): no GPU is needed to read the bytes
        setter(self, "byteorder", byteorder)
        setter(self, "zip_local", zip_local)  # (local header offset, record name, archive end)

    @classmethod
    def in_zip(cls, path: str, header_offset: int, record_name: str, archive_end: int, nbytes: int,
               dtype: str, key: str = "", location: str = "cpu", byteorder: str = "little") -> Storage:
        """The bytes of zip record ``record_name``, whose local header is at ``header_offset``."""
        return cls(path, None, nbytes, dtype, key, location, byteorder,
                   zip_local=(header_offset, record_name, archive_end))

    @property
    def offset(self) -> int:
        return self.offset_in(None)

    def offset_in(self, fd: int | None) -> int:
        """``offset``, its zip local header read through ``fd`` (``path`` open already) if given."""
        offset = self._offset
        if offset is None:
            from inspector.core.zipreader import local_data_offset

            header_offset, record_name, archive_end = self.zip_local
            offset = local_data_offset(self.path, header_offset, record_name, self.nbytes, archive_end, fd)
            object.__setattr__(self, "_offset", offset)
        return offset

    def __hash__(self) -> int:  # storages key every sharing table: hash the fields once
        try:
            return self._hash
        except AttributeError:
            object.__setattr__(self, "_hash", hash(self._fields()))
            return self._hash

    @property
    def resolved_offset(self) -> int | None:
        """``offset`` if it is known without reading the file, else None."""
        return self._offset

    def _fields(self) -> tuple:
        where = self._offset if self.zip_local is None else self.zip_local
        return (self.path, where, self.nbytes, self.dtype, self.key, self.location, self.byteorder)

    def __reduce__(self):
        return _rebuild_storage, (self.path, self._offset, self.nbytes, self.dtype, self.key,
                                  self.location, self.byteorder, self.zip_local)

    def __repr__(self) -> str:
        where = f"offset={self._offset}" if self._offset is not None else f"zip_local={self.zip_local!r}"
        return (f"Storage(path={self.path!r}, {where}, nbytes={self.nbytes}, dtype={self.dtype!r}, "
                f"key={self.key!r}, location={self.location!r}, byteorder={self.byteorder!r})")


def _rebuild_storage(path, offset, nbytes, dtype, key, location, byteorder, zip_local):
    return Storage(path, offset, nbytes, dtype, key, location, byteorder, zip_local=zip_local)


class TensorRef:
    """A tensor as the file describes it: geometry plus where its bytes live.

    ``storage`` is None for tensors without data (meta tensors, unreadable records).
    ``storage_offset`` and ``stride`` count elements of ``dtype``. Compared by identity.
    """

    __slots__ = ("dtype", "shape", "stride", "storage", "storage_offset", "role", "requires_grad",
                 "layout", "extra")

    def __init__(self, dtype: str, shape: tuple[int, ...], stride: tuple[int, ...],
                 storage: Storage | None, storage_offset: int = 0, role: str = "tensor",
                 requires_grad: bool = False, layout: str = "strided",
                 extra: dict[str, object] | None = None) -> None:
        self.dtype = dtype
        self.shape = shape
        self.stride = stride
        self.storage = storage
        self.storage_offset = storage_offset
        self.role = role
        self.requires_grad = requires_grad
        self.layout = layout  # "strided", "quantized", "sparse", "meta", ...
        self.extra = {} if extra is None else extra  # e.g. quantization scale/zero_point

    def __repr__(self) -> str:
        return (f"TensorRef(dtype={self.dtype!r}, shape={self.shape!r}, stride={self.stride!r}, "
                f"storage={self.storage!r}, storage_offset={self.storage_offset!r}, role={self.role!r}, "
                f"requires_grad={self.requires_grad!r}, layout={self.layout!r}, extra={self.extra!r})")

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


class PickledObject:
    """An instance of a class that was never imported: its name plus the data given to it.

    Compared by identity. Subclasses without ``__slots__`` get a ``__dict__``.
    """

    __slots__ = ("class_name", "args", "state", "items", "dict_items")

    def __init__(self, class_name: str, args: tuple = (), state: object = None,
                 items: list | None = None, dict_items: list | None = None) -> None:
        self.class_name = class_name  # "module.QualName"
        self.args = args
        self.state = state  # what BUILD / __setstate__ received
        self.items = [] if items is None else items  # APPEND(S) onto the object
        self.dict_items = [] if dict_items is None else dict_items  # SETITEM(S) onto the object

    def __repr__(self) -> str:
        return (f"{type(self).__qualname__}(class_name={self.class_name!r}, args={self.args!r}, "
                f"state={self.state!r}, items={self.items!r}, dict_items={self.dict_items!r})")

    def __setstate__(self, state):
        raise TypeError("PickledObject cannot be rebuilt from a pickle")


class ModuleObject:
    """A pickled ``nn.Module`` or TorchScript module, flattened the way ``state_dict()`` is.

    ``state_dict`` keys are the dotted names ``model.state_dict()`` would list, in its order.
    ``submodule_classes`` maps each dotted module prefix ("" for the root) to its class name.
    Compared by identity.
    """

    __slots__ = ("class_name", "state_dict", "submodule_classes", "attributes")

    def __init__(self, class_name: str, state_dict: dict[str, TensorRef],
                 submodule_classes: dict[str, str] | None = None,
                 attributes: dict[str, object] | None = None) -> None:
        self.class_name = class_name
        self.state_dict = state_dict
        self.submodule_classes = {} if submodule_classes is None else submodule_classes
        self.attributes = {} if attributes is None else attributes  # other values, e.g. training

    def __repr__(self) -> str:
        return (f"ModuleObject(class_name={self.class_name!r}, state_dict={self.state_dict!r}, "
                f"submodule_classes={self.submodule_classes!r}, attributes={self.attributes!r})")

    def __setstate__(self, state):
        raise TypeError("ModuleObject cannot be rebuilt from a pickle")


class Truncated(ValueObject):
    """Marks where a value was cut short (too deep, too many nodes, unreadable).

    Immutable; equal and hashable by value (subclasses add their fields to ``_identity``).
    """

    __slots__ = ("reason",)

    def __init__(self, reason: str) -> None:
        object.__setattr__(self, "reason", reason)

    def _fields(self) -> tuple:
        return (self.reason,)

    def __reduce__(self):
        return type(self), self._fields()

    def __repr__(self) -> str:
        return f"{type(self).__qualname__}({', '.join(map(repr, self._fields()))})"


class Checkpoint:
    """What a reader made of one file or folder. Compared by identity."""

    __slots__ = ("path", "format", "root", "globals", "warnings", "metadata")

    def __init__(self, path: str, format: str, root: object, globals: list[str] | None = None,
                 warnings: list[str] | None = None, metadata: dict[str, object] | None = None) -> None:
        self.path = path
        self.format = format  # torch-zip|torch-legacy|torchscript|safetensors|hf-sharded|dcp|pickle
        self.root = root
        self.globals = [] if globals is None else globals  # every global the file references
        self.warnings = [] if warnings is None else warnings
        self.metadata = {} if metadata is None else metadata  # format facts (byteorder, ...)

    def __repr__(self) -> str:
        return (f"Checkpoint(path={self.path!r}, format={self.format!r}, root={self.root!r}, "
                f"globals={self.globals!r}, warnings={self.warnings!r}, metadata={self.metadata!r})")

    def iter_tensors(self) -> Iterator[tuple[TensorPath, TensorRef]]:
        """Every tensor with its path, per the ``info --json`` contract."""
        return iter_tensors(self.root)


def version_table(state_dict: object) -> dict[str, dict] | None:
    """The ``_metadata`` a state dict was saved with (``{module prefix: {"version": n}}``), as
    ``nn.Module.state_dict()`` records it; None when the file has none. ``load_state_dict``
    passes these versions to each module (BatchNorm, torchvision's legacy keys depend on them)."""
    table = getattr(state_dict, "_metadata", None)
    if not isinstance(table, dict):
        return None
    return {prefix: dict(entry) for prefix, entry in table.items() if isinstance(prefix, str) and isinstance(entry, dict)}


MAX_WALK_NODES = 2_000_000
MAX_WALK_DEPTH = 300  # sanitized trees are at most 256 deep; this bounds path tuples in raw ones


def iter_tensors(root: object, max_nodes: int = MAX_WALK_NODES) -> Iterator[tuple[TensorPath, TensorRef]]:
    """Depth-first, iterative (no recursion limit), bounded by ``max_nodes`` visits.

    A ``ModuleObject`` at path P yields ``P + (dotted_key,)`` for its state_dict entries;
    attributes of a ``PickledObject`` contribute their names.
    """
    stack: list[tuple[TensorPath, object]] = [((), root)]
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


def child_items(value: object) -> Iterator[tuple[PathElement, object]]:
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


def _pickled_object_children(obj: PickledObject) -> Iterator[tuple[PathElement, object]]:
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

"""The only callables a pickle may reach: pure-data stand-ins for torch's rebuild functions.

Each rebuilder takes the arguments the pickle supplies and returns plain values,
``TensorRef`` or ``PickledObject``; none imports torch or touches the file. A rebuilder
that cannot make sense of its arguments raises ``RebuildError`` and the unpickler keeps
the call as an inert ``PickledObject`` instead.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable

from inspector.core import dtypes, pickled_values
from inspector.core.model import PickledObject, Storage, TensorRef, Truncated
from inspector.core.pickle_input import safe_key

MAX_BYTEARRAY_FROM_INT = 1 << 20


class RebuildError(ValueError):
    """Arguments a rebuilder cannot turn into data."""


class DtypeName(str):
    """A torch dtype global (``torch.float32``); shows as its name, rebuilders read ``.dtype``."""

    @property
    def dtype(self) -> str:
        return self.split(".", 1)[1]


class UnreadableStorage(Truncated):
    """A storage the file declares (so its dtype is known) whose bytes cannot be used."""

    __slots__ = ("dtype",)

    def __init__(self, reason: str, dtype: str = "uint8") -> None:
        super().__init__(reason)
        object.__setattr__(self, "dtype", dtype)

    def _fields(self) -> tuple:
        return (self.reason, self.dtype)


class GlobalReference(PickledObject):
    """A global the pickle names but we never import: a class or function used as a value."""


def storage_class_dtype(storage_type: object) -> str | None:
    """Element type of a storage class marker (``torch.FloatStorage`` -> ``float32``)."""
    name = getattr(storage_type, "class_name", None)
    if not isinstance(name, str):
        return None
    return dtypes.STORAGE_CLASS_DTYPE.get(name.rsplit(".", 1)[-1])


def _ints(value: object, what: str) -> tuple[int, ...]:
    if not isinstance(value, (tuple, list)) or len(value) > 64:
        raise RebuildError(f"{what} is not a short sequence of integers")
    for item in value:
        if type(item) is not int:
            raise RebuildError(f"{what} holds a value that is not an integer")
    return value if type(value) is tuple else tuple(value)


def _int(value: object, what: str) -> int:
    if type(value) is not int:
        raise RebuildError(f"{what} is not an integer")
    return value


def _tensor_dtype(storage: object, dtype: object) -> str:
    if isinstance(dtype, DtypeName):
        return dtype.dtype
    if isinstance(storage, (Storage, UnreadableStorage)):
        return storage.dtype
    raise RebuildError(storage.reason if isinstance(storage, Truncated) else "tensor without a dtype")


def _strided(storage: object, offset: object, size: object, stride: object, requires_grad: object = False,
             dtype: object = None, layout: str = "strided") -> TensorRef:
    shape = _ints(size, "tensor size")
    steps = _ints(stride, "tensor stride")
    if len(shape) != len(steps):
        raise RebuildError("tensor size and stride differ in length")
    readable = isinstance(storage, Storage)
    ref = TensorRef(_tensor_dtype(storage, dtype), shape, steps, storage if readable else None,
                    _int(offset, "storage offset"), "tensor",
                    bool(requires_grad) if isinstance(requires_grad, (bool, int)) else False, layout)
    if not readable:
        ref.extra["problem"] = storage.reason if isinstance(storage, Truncated) else "its storage is not in the file"
    return ref


def rebuild_tensor(storage, storage_offset, size, stride):
    return _strided(storage, storage_offset, size, stride)


def rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad=False,
                      backward_hooks=None, metadata=None):
    return _strided(storage, storage_offset, size, stride, requires_grad)


def rebuild_tensor_v3(storage, storage_offset, size, stride, requires_grad, backward_hooks,
                      dtype, metadata=None):
    return _strided(storage, storage_offset, size, stride, requires_grad, dtype=dtype)


def _as_parameter(data: object, requires_grad: object) -> TensorRef:
    if not isinstance(data, TensorRef):
        raise RebuildError("parameter without a tensor")
    ref = data  # a parameter's tensor is pickled inline: it is never shared with other values
    ref.requires_grad = bool(requires_grad) if isinstance(requires_grad, (bool, int)) else True
    ref.extra["parameter"] = True
    return ref


def rebuild_parameter(data, requires_grad=True, backward_hooks=None):
    return _as_parameter(data, requires_grad)


def rebuild_parameter_with_state(data, requires_grad, backward_hooks, state):
    ref = _as_parameter(data, requires_grad)
    if state:
        ref.extra["state"] = state
    return ref


def rebuild_qtensor(storage, storage_offset, size, stride, quantizer_params,
                    requires_grad=False, backward_hooks=None):
    ref = _strided(storage, storage_offset, size, stride, requires_grad, layout="quantized")
    if isinstance(quantizer_params, tuple) and quantizer_params:
        scheme = str(quantizer_params[0]).removeprefix("torch.")
        ref.extra["qscheme"] = scheme
        names = ("scale", "zero_point") if scheme.endswith("tensor_affine") else ("scales", "zero_points", "axis")
        ref.extra.update(zip(names, quantizer_params[1:]))
    return ref


def rebuild_sparse_tensor(layout, data):
    if not isinstance(data, tuple) or len(data) < 3:
        raise RebuildError("sparse tensor without its parts")
    values = data[1] if layout in ("torch.sparse_coo", None) else data[-2]
    size = data[2] if layout in ("torch.sparse_coo", None) else data[-1]
    dtype = values.dtype if isinstance(values, TensorRef) else "float32"
    shape = _ints(size, "sparse tensor size")
    ref = TensorRef(dtype=dtype, shape=shape, stride=(), storage=None,
                    layout=str(layout or "torch.sparse_coo").removeprefix("torch."))
    ref.extra["parts"] = data
    return ref


def rebuild_meta_tensor_no_storage(dtype, size, stride, requires_grad=False):
    if not isinstance(dtype, DtypeName):
        raise RebuildError("meta tensor without a dtype")
    return TensorRef(dtype=dtype.dtype, shape=_ints(size, "tensor size"),
                     stride=_ints(stride, "tensor stride"), storage=None, layout="meta",
                     requires_grad=bool(requires_grad))


def rebuild_from_type_v2(func, new_type, args, state):
    if not callable(func) or not isinstance(args, tuple):
        raise RebuildError("tensor subclass without a known rebuild function")
    ref = func(*args)
    if not isinstance(ref, TensorRef):
        raise RebuildError("tensor subclass that is not a tensor")
    type_name = getattr(new_type, "class_name", "")
    if type_name == "torch.nn.parameter.Parameter":
        ref = _as_parameter(ref, ref.requires_grad or True)
    elif type_name and type_name != "torch.Tensor":
        ref.extra["tensor_class"] = type_name
    if state:
        ref.extra["state"] = state
    return ref


def parameter(data=None, requires_grad=True):
    return _as_parameter(data, requires_grad)


def torch_size(sizes=()):
    return _ints(sizes, "torch.Size")


def torch_device(kind, index=None):
    if not isinstance(kind, str) or (index is not None and type(index) is not int):
        raise RebuildError("device that is not a name")
    return kind if index is None else f"{kind}:{index}"


def get_layout(name):
    if not isinstance(name, str):
        raise RebuildError("layout that is not a name")
    return name


def ordered_dict(items=()):
    if isinstance(items, (list, tuple)):
        return OrderedDict(_pairs(items))
    if isinstance(items, dict):
        return OrderedDict(items)
    raise RebuildError("OrderedDict from something that is not pairs")


def _pairs(items: object) -> list:
    """(key, value) pairs with keys that are safe to hash (a deeply nested tuple is not)."""
    pairs = []
    for item in items:
        if not isinstance(item, (list, tuple)) or len(item) != 2:
            raise RebuildError("mapping built from something that is not pairs")
        pairs.append((safe_key(item[0]), item[1]))
    return pairs


def _hashed_collection(kind: type) -> Callable[..., object]:
    def build(items=()):
        if not isinstance(items, (list, tuple, set, frozenset)):
            raise RebuildError(f"{kind.__name__} from an unexpected value")
        return kind(safe_key(item) for item in items)
    return build


def builtin_bytearray(source=b"", *encoding):
    if isinstance(source, int) and not 0 <= source <= MAX_BYTEARRAY_FROM_INT:
        raise RebuildError("bytearray of a huge size")
    if isinstance(source, (bytes, bytearray, int)):
        return bytearray(source)
    if isinstance(source, str) and encoding in (("latin-1",), ("latin1",)):
        return bytearray(source, "latin-1")
    if isinstance(source, list) and all(type(b) is int for b in source):
        return bytearray(source)
    raise RebuildError("bytearray from an unexpected value")


def builtin_bytes(source=b"", *encoding):
    return bytes(builtin_bytearray(source, *encoding))


def codecs_encode(text, encoding="utf-8", errors="strict"):
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1", "utf-8", "utf8"):
        raise RebuildError("codecs.encode of something that is not text")
    return text.encode(encoding, "strict")


def _plain(kind: type, *allowed: type) -> Callable[..., object]:
    def build(*args):
        if not all(isinstance(arg, allowed) for arg in args):
            raise RebuildError(f"{kind.__name__} from an unexpected value")
        return kind(*args)
    return build


def reconstructor(cls, base=None, state=None):
    """``copyreg._reconstructor``: a builtin-based instance (protocols 0 and 1); the class is never called."""
    made = PickledObject(class_name=getattr(cls, "class_name", repr(type(cls))))
    base_name = getattr(base, "class_name", "")
    if base_name == "builtins.list" and isinstance(state, list):
        made.items = list(state)
    elif base_name == "builtins.dict" and isinstance(state, dict):
        made.dict_items = list(state.items())
    elif state is not None:
        made.args = (state,)
    return made


def newobj(cls, *args):
    return PickledObject(class_name=getattr(cls, "class_name", repr(type(cls))), args=args)


_SCALARS = (int, float, bool, str, bytes, type(None), tuple, frozenset)

REBUILDERS: dict[str, Callable[..., object]] = {
    "torch._utils._rebuild_tensor": rebuild_tensor,
    "torch._utils._rebuild_tensor_v2": rebuild_tensor_v2,
    "torch._utils._rebuild_tensor_v3": rebuild_tensor_v3,
    "torch._utils._rebuild_parameter": rebuild_parameter,
    "torch._utils._rebuild_parameter_with_state": rebuild_parameter_with_state,
    "torch._utils._rebuild_qtensor": rebuild_qtensor,
    "torch._utils._rebuild_sparse_tensor": rebuild_sparse_tensor,
    "torch._utils._rebuild_meta_tensor_no_storage": rebuild_meta_tensor_no_storage,
    "torch._tensor._rebuild_from_type_v2": rebuild_from_type_v2,
    "torch._utils._rebuild_from_type_v2": rebuild_from_type_v2,
    "torch.nn.parameter.Parameter": parameter,
    "torch.Size": torch_size,
    "torch.device": torch_device,
    "torch.serialization._get_layout": get_layout,
    "collections.OrderedDict": ordered_dict,
    "builtins.set": _hashed_collection(set),
    "builtins.frozenset": _hashed_collection(frozenset),
    "builtins.complex": _plain(complex, int, float),
    "builtins.slice": _plain(slice, int, type(None)),
    "builtins.range": _plain(range, int),
    "builtins.bytearray": builtin_bytearray,
    "builtins.bytes": builtin_bytes,
    "builtins.list": _plain(list, list, tuple),
    "builtins.tuple": _plain(tuple, list, tuple),
    "builtins.dict": lambda items=(): dict(_pairs(items.items() if isinstance(items, dict) else items)),
    "builtins.object": lambda: PickledObject(class_name="builtins.object"),
    "_codecs.encode": codecs_encode,
    "codecs.encode": codecs_encode,
    "copyreg._reconstructor": reconstructor,
    "copyreg.__newobj__": newobj,
}

REBUILDERS.update(pickled_values.REBUILDERS)

# Globals whose bare reference is a value with a readable name (dtypes, qschemes, layouts).
NAMED_VALUE_PREFIXES = ("torch.per_", "torch.sparse_", "torch.strided", "torch._mkldnn")


def dtype_global(name: str) -> DtypeName | None:
    if name.startswith("torch.") and dtypes.is_known(name[6:]):
        return DtypeName(name)
    return None

"""Carry a read checkpoint from the reader process to the window, and nothing else.

The reader process encodes the values it has already parsed (plain containers and the
model classes); the window decodes them with a ``find_class`` that knows only this module's
rebuild functions and a few harmless builtins. The stream is written by our own encoder: it
is never bytes taken from the user's file, and a stream naming any other global is refused.
"""

from __future__ import annotations

import builtins
import collections
import io
import pickle
from typing import Any

from inspector.core.model import Checkpoint, ModuleObject, PickledObject, Storage, TensorRef, Truncated
from inspector.core.pickled_values import Namespace, NumpyArray, NumpyDtype, NumpyScalar

_PROTOCOL = pickle.HIGHEST_PROTOCOL
_SAFE_BUILTINS = {"set", "frozenset", "complex", "bytearray", "slice", "range",
                  "dict", "list", "tuple", "str", "bytes", "int", "float", "bool"}
_PLAIN_TYPES = (dict, list, tuple, str, bytes, int, float, complex, set, frozenset)
_PASS_THROUGH = {*_PLAIN_TYPES, bool, type(None), bytearray, slice, range, collections.OrderedDict}


class TransferError(Exception):
    """A stream from the reader process could not be decoded."""


def encode(value: Any) -> bytes:
    buffer = io.BytesIO()
    _Encoder(buffer, protocol=_PROTOCOL).dump(value)
    return buffer.getvalue()


def decode(data: bytes) -> Any:
    try:
        return _Decoder(io.BytesIO(data)).load()
    except TransferError:
        raise
    except Exception as error:
        raise TransferError(f"bad message from the reader process ({type(error).__name__})") from error


class _Encoder(pickle.Pickler):
    def reducer_override(self, obj: Any) -> Any:
        kind = type(obj)
        if kind is TensorRef:
            return _tensor_ref, (obj.dtype, obj.shape, obj.stride, obj.storage, obj.storage_offset,
                                 obj.role, obj.requires_grad, obj.layout, obj.extra)
        if kind is Storage:
            return _storage, (obj.path, obj.resolved_offset, obj.nbytes, obj.dtype, obj.key,
                              obj.location, obj.byteorder, obj.zip_local)  # never reads the file
        if kind is PickledObject:
            return _pickled_object, (obj.class_name, obj.args, obj.state, obj.items, obj.dict_items)
        if kind is ModuleObject:
            return _module_object, (obj.class_name, obj.state_dict, obj.submodule_classes, obj.attributes)
        if kind is Truncated:
            return _truncated, (obj.reason,)
        if kind is Checkpoint:
            return _checkpoint, (obj.path, obj.format, obj.root, obj.globals, obj.warnings, obj.metadata)
        if kind is NumpyScalar:
            return _numpy_scalar, (obj.value, obj.dtype_code)
        if kind is NumpyArray:
            return _numpy_array, (list(obj), obj.dtype, obj.shape, obj.dtype_code, obj.complete)
        if kind is NumpyDtype:
            return _numpy_dtype, (obj.code, obj.byteorder)
        if kind is Namespace:
            return _namespace, (list(obj.items()),)
        if kind in _PASS_THROUGH or _is_allowed_global(obj):
            return NotImplemented
        for plain in _PLAIN_TYPES:  # subclasses (named tuples, enums) travel as the plain value
            if isinstance(obj, plain):
                return plain, (list(obj.items()) if plain is dict else plain(obj),)
        return _unknown, (f"{kind.__module__}.{kind.__qualname__}",)  # never ship foreign classes


class _Decoder(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if module == __name__ and name in _REBUILDERS:
            return _REBUILDERS[name]
        if module == "builtins" and name in _SAFE_BUILTINS:
            return getattr(builtins, name)
        if module == "collections" and name == "OrderedDict":
            return collections.OrderedDict
        raise TransferError(f"the reader process sent a forbidden global {module}.{name}")


def _is_allowed_global(obj: Any) -> bool:
    """The rebuild functions and plain types named in our own reductions."""
    try:
        return obj in _PASS_THROUGH or _REBUILDERS.get(getattr(obj, "__name__", None)) is obj
    except TypeError:  # unhashable
        return False


def _tensor_ref(dtype, shape, stride, storage, storage_offset, role, requires_grad, layout, extra):
    return TensorRef(dtype, tuple(shape), tuple(stride), storage, storage_offset, role,
                     requires_grad, layout, extra)


def _storage(path, offset, nbytes, dtype, key, location, byteorder, zip_local=None):
    if zip_local is not None:
        header_offset, record_name, archive_end = zip_local
        zip_local = (int(header_offset), str(record_name), int(archive_end))
    return Storage(path, offset, nbytes, dtype, key, location, byteorder, zip_local=zip_local)


def _pickled_object(class_name, args, state, items, dict_items):
    return PickledObject(class_name, args, state, items, dict_items)


def _module_object(class_name, state_dict, submodule_classes, attributes):
    return ModuleObject(class_name, state_dict, submodule_classes, attributes)


def _truncated(reason):
    return Truncated(reason)


def _checkpoint(path, format_name, root, globals_, warnings, metadata):
    return Checkpoint(path, format_name, root, globals_, warnings, metadata)


def _unknown(class_name):
    return PickledObject(class_name)


def _numpy_scalar(value, dtype_code):
    return NumpyScalar(value, str(dtype_code))


def _numpy_array(values, dtype, shape, dtype_code, complete):
    array = NumpyArray()
    array.extend(values)
    array.dtype, array.shape, array.dtype_code, array.complete = str(dtype), tuple(shape), str(dtype_code), bool(complete)
    return array


def _numpy_dtype(code, byteorder):
    dtype = NumpyDtype(str(code))
    dtype.byteorder = str(byteorder)
    return dtype


def _namespace(items):
    return Namespace(items)


_REBUILDERS = {function.__name__: function for function in (
    _tensor_ref, _storage, _pickled_object, _module_object, _truncated, _checkpoint, _unknown,
    _numpy_scalar, _numpy_array, _numpy_dtype, _namespace)}

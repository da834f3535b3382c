"""Values that training scripts pickle through library classes, rebuilt as plain data:
numpy scalars (``best_acc1 = np.float64(76.1)``), small numpy arrays and ``argparse.Namespace``.

Pure data: numpy is never imported; bytes are decoded with ``struct`` from the dtype the pickle
names. Anything else (object arrays, strings, datetimes) makes the rebuilder refuse, and the
unpickler keeps the call as an inert object.
"""

from __future__ import annotations

import struct

MAX_ARRAY_VALUES = 4096  # larger arrays are shown by dtype and shape only
# numpy type code -> (struct format of one element, our dtype name)
CODES = {
    "f2": ("e", "float16"), "f4": ("f", "float32"), "f8": ("d", "float64"),
    "c8": ("ff", "complex64"), "c16": ("dd", "complex128"),
    "i1": ("b", "int8"), "i2": ("h", "int16"), "i4": ("i", "int32"), "i8": ("q", "int64"),
    "u1": ("B", "uint8"), "u2": ("H", "uint16"), "u4": ("I", "uint32"), "u8": ("Q", "uint64"),
    "b1": ("?", "bool"),
}
ALIASES = {"float64": "f8", "float32": "f4", "float16": "f2", "int64": "i8", "int32": "i4",
           "int16": "i2", "int8": "i1", "uint8": "u1", "bool": "b1", "?": "b1", "d": "f8", "f": "f4",
           "e": "f2", "q": "i8", "l": "i8", "i": "i4", "h": "i2", "b": "i1", "B": "u1"}


class RebuildRefused(ValueError):
    """The pickle's arguments are not a value this module can decode (the unpickler then keeps
    the call as an inert object)."""


class NumpyDtype:
    """``numpy.dtype(code, align, copy)`` as data; BUILD gives its byte order."""

    __slots__ = ("code", "byteorder")
    type_label = "numpy.dtype"

    def __init__(self, code: str) -> None:
        self.code = code
        self.byteorder = "<"

    def build(self, state: object) -> None:
        if isinstance(state, tuple) and len(state) > 1 and state[1] in ("<", ">", "=", "|"):
            self.byteorder = state[1]

    def element_format(self) -> tuple[str, str]:
        """(struct format of one element with byte order, dtype name), or refuse."""
        code = self.code.lstrip("<>=|")
        code = ALIASES.get(code, code)
        if code not in CODES:
            raise RebuildRefused(f"numpy dtype {self.code!r} is not plain numbers")
        element, name = CODES[code]
        return (">" if self.byteorder == ">" else "<") + element, name

    def __repr__(self) -> str:
        return f"dtype({self.code!r})"


class NumpyScalar:
    """A numpy scalar (``np.float64(76.1)``): its plain Python value, and which numpy type it was."""

    __slots__ = ("value", "dtype_code")

    def __init__(self, value: object, dtype_code: str) -> None:
        self.value = value
        self.dtype_code = dtype_code

    @property
    def type_label(self) -> str:
        code = ALIASES.get(self.dtype_code.lstrip("<>=|"), self.dtype_code.lstrip("<>=|"))
        return "numpy." + CODES[code][1] if code in CODES else "numpy.generic"

    def __repr__(self) -> str:
        return repr(self.value)


class NumpyArray(list):
    """A numpy array from a pickle: its values as nested lists (empty past MAX_ARRAY_VALUES)."""

    type_label = "numpy.ndarray"

    def __init__(self) -> None:
        super().__init__()
        self.dtype = "unknown"
        self.dtype_code = ""  # numpy's own code ("<f8"): what allowing it in torch.load needs
        self.shape: tuple[int, ...] = ()
        self.complete = False  # the values are all here
        self.built = False  # a pickle may BUILD the same array again: only the first counts

    def build(self, state: object) -> None:
        """BUILD state ``(version, shape, dtype, is_fortran, raw bytes)``; only the first counts."""
        if self.built or not (isinstance(state, tuple) and len(state) == 5 and isinstance(state[2], NumpyDtype)):
            return
        self.built = True
        _, shape, dtype, fortran, raw = state
        if not (isinstance(shape, tuple) and all(type(n) is int and n >= 0 for n in shape)):
            return
        self.dtype, self.shape, self.dtype_code = dtype.code, shape, dtype.code
        try:
            element, self.dtype = dtype.element_format()
        except RebuildRefused:  # strings, objects, dates: shown by dtype and shape only
            return
        count = _product(shape)
        if count <= MAX_ARRAY_VALUES and isinstance(raw, (bytes, bytearray)) and \
                len(raw) == count * struct.calcsize(element):
            flat = _decode(raw, element, count)
            self.extend(_nest(flat, shape, bool(fortran)) if shape else flat)
            self.complete = True

    @property
    def label(self) -> str:
        return f"{self.dtype}[{', '.join(map(str, self.shape))}]"

    def __repr__(self) -> str:
        return f"array({list.__repr__(self)}, {self.dtype})" if self.complete else f"array({self.label})"


class Namespace(dict):
    """``argparse.Namespace``: its fields, as the script's arguments were parsed."""

    type_label = "argparse.Namespace"

    def build(self, state: object) -> None:
        if isinstance(state, dict):
            self.update((key, value) for key, value in state.items() if isinstance(key, str))


def numpy_dtype(code: object = "f8", align: object = False, copy: object = True) -> NumpyDtype:
    if not isinstance(code, str) or len(code) > 16:
        raise RebuildRefused("numpy dtype without a type code")
    return NumpyDtype(code)


def numpy_scalar(dtype: object, raw: object = b"") -> NumpyScalar:
    """``numpy.core.multiarray.scalar(dtype, bytes)``: the plain Python number it holds."""
    if not isinstance(dtype, NumpyDtype) or not isinstance(raw, (bytes, bytearray)):
        raise RebuildRefused("numpy scalar without a dtype and its bytes")
    element, _ = dtype.element_format()
    if len(raw) != struct.calcsize(element):
        raise RebuildRefused("numpy scalar with the wrong number of bytes")
    return NumpyScalar(_decode(raw, element, 1)[0], dtype.code)


def numpy_reconstruct(cls: object = None, shape: object = (0,), code: object = b"b") -> NumpyArray:
    return NumpyArray()


def namespace(*args: object) -> Namespace:
    return Namespace()


def _decode(raw: bytes, element: str, count: int) -> list:
    order, parts = element[0], element[1:]
    values = list(struct.unpack(f"{order}{count * len(parts)}{parts[0]}", raw))
    if len(parts) == 2:  # complex: (real, imaginary) pairs
        return [complex(real, imaginary) for real, imaginary in zip(values[::2], values[1::2])]
    return values


def _nest(flat: list, shape: tuple[int, ...], fortran: bool) -> list:
    if fortran:  # stored column-major: gather into row-major order first
        flat = [flat[_fortran_index(index, shape)] for index in range(len(flat))]
    for size in reversed(shape[1:]):
        flat = [flat[start:start + size] for start in range(0, len(flat), size)] if size else []
    return flat


def _fortran_index(row_major: int, shape: tuple[int, ...]) -> int:
    """Where the element at row-major position ``row_major`` sits in column-major storage."""
    coordinates = []
    for size in reversed(shape):
        row_major, coordinate = divmod(row_major, size)
        coordinates.append(coordinate)
    index, step = 0, 1
    for size, coordinate in zip(shape, reversed(coordinates)):
        index += coordinate * step
        step *= size
    return index


def _product(shape: tuple[int, ...]) -> int:
    result = 1
    for size in shape:
        result *= size
    return result


REBUILDERS = {
    "numpy.dtype": numpy_dtype,
    "numpy.core.multiarray.scalar": numpy_scalar,
    "numpy._core.multiarray.scalar": numpy_scalar,
    "numpy.core.multiarray._reconstruct": numpy_reconstruct,
    "numpy._core.multiarray._reconstruct": numpy_reconstruct,
    "argparse.Namespace": namespace,
}

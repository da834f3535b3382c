"""The restricted unpickler: the only reader of pickles in the app.

It subclasses the pure-Python ``pickle._Unpickler`` (the C one allocates a length-prefixed
buffer before reading it) and replaces every opcode that could call or import something.
Globals become inert ``GlobalReference`` stubs; calling one records a ``PickledObject``.
Only the pure-data rebuilders in ``rebuilders.py`` (and ``extra_globals``) are ever called.
"""

from __future__ import annotations

import gc
import io
import pickle
import struct
from collections import OrderedDict
from collections.abc import Callable

from inspector.core import rebuilders
from inspector.core.errors import CheckpointError
from inspector.core.value_object import EqualByFields
from inspector.core.model import PickledObject, TensorRef, Truncated
from inspector.core.pickle_input import (BoundedOpcodes, BoundedSource, PickleExhausted, describe,
                                         install_bounded_opcodes, map_global_name, safe_key)
from inspector.core.pickled_values import Namespace, NumpyArray, NumpyDtype
from inspector.core.rebuilders import GlobalReference

BUILDS_FROM_STATE = (Namespace, NumpyArray, NumpyDtype)  # our own data classes that BUILD fills in

MAX_NOTES = 20


class LoadedPickle(EqualByFields):
    """What ``restricted_load`` made of a pickle; equal when all fields are."""

    __slots__ = ("value", "globals", "warnings", "end", "tensors")
    __hash__ = None  # mutable, compared by value

    def __init__(self, value: object, globals: list[str], warnings: list[str] | None = None,
                 end: int = 0, tensors: list[TensorRef] | None = None) -> None:
        self.value = value
        self.globals = globals
        self.warnings = [] if warnings is None else warnings
        self.end = end  # offset just past the STOP opcode
        self.tensors = [] if tensors is None else tensors  # every tensor the rebuilders made

    def _fields(self) -> tuple:
        return (self.value, self.globals, self.warnings, self.end, self.tensors)

    def __repr__(self) -> str:
        return (f"LoadedPickle(value={self.value!r}, globals={self.globals!r}, "
                f"warnings={self.warnings!r}, end={self.end!r}, tensors={self.tensors!r})")


class AllowedGlobal(GlobalReference):
    """A global we implement ourselves; calling it runs our pure-data function."""

    def __init__(self, class_name: str, args: tuple = (), state: object = None,
                 items: list | None = None, dict_items: list | None = None,
                 function: Callable[..., object] | None = None) -> None:
        super().__init__(class_name, args, state, items, dict_items)
        self.function = function

    def __call__(self, *args: object, **kwargs: object) -> object:
        return self.function(*args, **kwargs)


class RestrictedUnpickler(BoundedOpcodes, pickle._Unpickler):
    dispatch = install_bounded_opcodes(dict(pickle._Unpickler.dispatch))

    def __init__(self, source: object, persistent_load: Callable[[object], object] | None,
                 extra_globals: dict[str, Callable[..., object]] | None,
                 byte_offsets: dict[int, tuple[int, int]] | None = None,
                 data: bytes | None = None) -> None:
        super().__init__(source, encoding="utf-8", errors="surrogateescape")
        self._source = source
        self._data = data  # the bytes behind an in-memory source, indexed directly
        self._byte_offsets = byte_offsets
        self._persistent = persistent_load
        self._extra = extra_globals or {}
        self.global_names: set[str] = set()
        self.notes: list[str] = []
        self.tensors: dict[int, TensorRef] = {}

    def note(self, message: str) -> None:
        if message not in self.notes and len(self.notes) < MAX_NOTES:
            self.notes.append(message)

    # --- globals -------------------------------------------------------------------------

    def find_class(self, module: str, name: str) -> object:
        if not isinstance(module, str) or not isinstance(name, str):
            raise pickle.UnpicklingError("global name is not text")
        full = map_global_name(module, name)
        self.global_names.add(full)
        function = self._extra.get(full) or rebuilders.REBUILDERS.get(full)
        if function is not None:
            return AllowedGlobal(class_name=full, function=function)
        dtype = rebuilders.dtype_global(full)
        if dtype is not None:
            return dtype
        if full.startswith(rebuilders.NAMED_VALUE_PREFIXES):
            return full
        return GlobalReference(class_name=full)

    def _extension(self, code: int) -> None:
        name = f"copyreg.extension_{code}"
        self.global_names.add(name)
        self.append(GlobalReference(class_name=name))

    def persistent_load(self, pid: object) -> object:
        if self._persistent is None:
            self.note("the pickle refers to data outside it (persistent ids); not resolved")
            return Truncated("persistent id with nothing to resolve it")
        return self._persistent(pid)

    # --- calls ---------------------------------------------------------------------------

    def call(self, func: object, args: object, kwargs: dict | None = None) -> object:
        if not isinstance(args, tuple):
            args = (args,)
        if isinstance(func, AllowedGlobal):
            try:
                result = func.function(*args, **kwargs) if kwargs else func.function(*args)
            except Exception as error:  # our own pure functions: any failure means odd data
                self.note(f"{func.class_name}: {str(error)[:120]} (kept as an object)")
                return PickledObject(class_name=func.class_name, args=args, state=kwargs)
            if isinstance(result, TensorRef):
                self.tensors[id(result)] = result
            return result
        if isinstance(func, GlobalReference):
            return PickledObject(class_name=func.class_name, args=args, state=kwargs)
        self.note(f"the pickle calls a {describe(func)} value (kept as an object)")
        return PickledObject(class_name=f"<call of {describe(func)}>", args=(func, *args))

    def load_newobj(self) -> None:
        args = self.stack.pop()
        self.stack[-1] = self.call(self.stack[-1], args)

    def load_newobj_ex(self) -> None:
        kwargs = self.stack.pop()
        args = self.stack.pop()
        kwargs = kwargs if isinstance(kwargs, dict) and all(isinstance(k, str) for k in kwargs) else None
        self.stack[-1] = self.call(self.stack[-1], args, kwargs)

    def _instantiate(self, klass: object, args: list) -> None:
        self.append(self.call(klass, tuple(args)))

    # --- state and container filling -----------------------------------------------------

    def load_build(self) -> None:
        state = self.stack.pop()
        target = self.stack[-1]
        if isinstance(target, BUILDS_FROM_STATE):
            target.build(state)
        elif isinstance(target, GlobalReference):
            self.note(f"BUILD on the class {target.class_name} itself was ignored")
        elif isinstance(target, PickledObject):
            if target.state is not None:
                self.note(f"{target.class_name} received its state twice; the last one is shown")
            target.state = state
        elif isinstance(target, OrderedDict):
            self._set_attributes(target, state)
        elif isinstance(target, TensorRef) and callable(target.extra.get("on_build")):
            target.extra.pop("on_build")(target, state)  # set only by our own rebuilders
        else:
            self.note(f"BUILD on a {describe(target)} value was ignored")

    def _set_attributes(self, target: OrderedDict, state: object) -> None:
        if isinstance(state, tuple) and len(state) == 2:
            state = {**(state[0] or {}), **(state[1] or {})} if all(
                isinstance(part, (dict, type(None))) for part in state) else None
        if not isinstance(state, dict):
            self.note("BUILD on a mapping with odd state was ignored")
            return
        for key, value in state.items():  # never a name the mapping's own methods answer to
            if isinstance(key, str) and key.isidentifier() and not key.startswith("__") \
                    and not hasattr(OrderedDict, key):
                target.__dict__[key] = value
            else:
                self.note(f"BUILD could not set attribute {str(key)[:40]!r} (ignored)")

    def load_append(self) -> None:
        value = self.stack.pop()
        self._extend(self.stack[-1], [value])

    def load_appends(self) -> None:
        items = self.pop_mark()
        self._extend(self.stack[-1], items)

    def _extend(self, target: object, items: list) -> None:
        if isinstance(target, list):
            target.extend(items)
        elif isinstance(target, PickledObject):
            target.items.extend(items)
        else:
            self.note(f"items appended to a {describe(target)} value were ignored")

    def load_setitem(self) -> None:
        value = self.stack.pop()
        key = self.stack.pop()
        self._set_items(self.stack[-1], [key, value])

    def load_setitems(self) -> None:
        items = self.pop_mark()
        self._set_items(self.stack[-1], items)

    def _set_items(self, target: object, items: list) -> None:
        pairs = zip(items[::2], items[1::2])
        if isinstance(target, dict):
            for key, value in pairs:
                target[key if type(key) is str else safe_key(key)] = value
        elif isinstance(target, PickledObject):
            target.dict_items.extend(pairs)
        else:
            self.note(f"items set on a {describe(target)} value were ignored")

    def load_additems(self) -> None:
        items = self.pop_mark()
        target = self.stack[-1]
        if isinstance(target, set):
            target.update(safe_key(item) for item in items)
        elif isinstance(target, PickledObject):
            target.items.extend(items)
        else:
            self.note(f"items added to a {describe(target)} value were ignored")

    def load_frozenset(self) -> None:
        items = self.pop_mark()  # before self.append: pop_mark rebinds it
        self.append(frozenset(safe_key(item) for item in items))

    dispatch[pickle.REDUCE[0]] = BoundedOpcodes.load_reduce
    dispatch[pickle.NEWOBJ[0]] = load_newobj
    dispatch[pickle.NEWOBJ_EX[0]] = load_newobj_ex
    dispatch[pickle.BUILD[0]] = load_build
    dispatch[pickle.APPEND[0]] = load_append
    dispatch[pickle.APPENDS[0]] = load_appends
    dispatch[pickle.SETITEM[0]] = load_setitem
    dispatch[pickle.SETITEMS[0]] = load_setitems
    dispatch[pickle.ADDITEMS[0]] = load_additems
    dispatch[pickle.FROZENSET[0]] = load_frozenset
    dispatch[pickle.EXT1[0]] = lambda self: self._extension(self.read(1)[0])
    dispatch[pickle.EXT2[0]] = lambda self: self._extension(struct.unpack("<H", self.read(2))[0])
    dispatch[pickle.EXT4[0]] = lambda self: self._extension(struct.unpack("<i", self.read(4))[0])


def _run(source: object, persistent_load: Callable[[object], object] | None,
         extra_globals: dict[str, Callable[..., object]] | None,
         byte_offsets: dict[int, tuple[int, int]] | None = None,
         data: bytes | None = None) -> LoadedPickle:
    unpickler = RestrictedUnpickler(source, persistent_load, extra_globals, byte_offsets, data)
    collecting = gc.isenabled()
    gc.disable()  # the unpickler only allocates; cycle collection passes would be wasted work
    try:
        value = unpickler.load()
    except CheckpointError:
        raise
    except (PickleExhausted, EOFError) as error:
        raise CheckpointError(f"the pickle data is truncated ({error or 'it ends early'})") from None
    except Exception as error:
        if unpickler.source_left() == 0:  # a short read at the end shows up as any error
            raise CheckpointError("the pickle data is truncated (it ends in the middle of a value)") from None
        message = str(error).splitlines()[0][:160] if str(error) else type(error).__name__
        raise CheckpointError(f"the pickle data is damaged ({message})") from None
    finally:
        if collecting:
            gc.enable()
    return LoadedPickle(value=value, globals=sorted(unpickler.global_names), warnings=unpickler.notes,
                        tensors=list(unpickler.tensors.values()))


def load_pickle(read_at: Callable[[int, int], bytes], start: int, end: int,
                persistent_load: Callable[[object], object] | None = None, *,
                extra_globals: dict[str, Callable[..., object]] | None = None) -> LoadedPickle:
    """Unpickle the bytes in ``[start, end)`` obtained through ``read_at(offset, size)``.

    For pickles inside big files: nothing is read beyond what the opcodes need.
    """
    source = BoundedSource(read_at, start, end)
    loaded = _run(source, persistent_load, extra_globals)
    loaded.end = source.pos
    return loaded


def restricted_load(data: bytes, persistent_load: Callable[[object], object] | None = None, *,
                    extra_globals: dict[str, Callable[..., object]] | None = None,
                    byte_offsets: dict[int, tuple[int, int]] | None = None) -> LoadedPickle:
    """Unpickle ``data`` without importing or running anything it names.

    ``byte_offsets``, if given, is filled with ``id(bytes value) -> (offset, size)`` for the
    raw byte strings (16 bytes or more) the pickle holds, so callers can point at them.

    A short read from ``BytesIO`` can only happen at the end of the data, so a truncated
    pickle always ends in EOFError (no STOP opcode) and is reported as truncated.
    """
    source = io.BytesIO(data)
    loaded = _run(source, persistent_load, extra_globals, byte_offsets, data)
    loaded.end = source.tell()
    return loaded

"""Bounded input for the restricted unpickler: strict byte sources and capped opcodes.

Everything here limits work by what is really in the data, never by what the pickle
declares: short reads are errors, huge integers are not decoded, the memo is capped, and
frames are checked against the bytes left instead of being buffered.
"""

from __future__ import annotations

import _compat_pickle
import pickle
import struct
from collections.abc import Callable

from inspector.core.model import PickledObject, TensorRef, Truncated

MAX_INT_BYTES = 1024  # longer integers are kept as a Truncated marker
MAX_INT_DIGITS = 2000
MAX_LINE = 1 << 24
READ_AHEAD = 1 << 16
MAX_MEMO = 10_000_000
MAX_KEY_DEPTH = 32
_UINT32_AT = struct.Struct("<I").unpack_from
_UINT16_AT = struct.Struct("<H").unpack_from
_INT32_AT = struct.Struct("<i").unpack_from


class PickleExhausted(Exception):
    """The pickle asks for more bytes than there are."""


class BoundedSource:
    """A bounded, strict byte source: a short read is an error, never a silent partial."""

    def __init__(self, read_at: Callable[[int, int], bytes], start: int, end: int) -> None:
        self._read_at = read_at
        self.pos = start
        self.end = end
        self._buffer = b""  # read-ahead: one pread per chunk, not one per opcode
        self._buffer_start = start

    def read(self, n: int) -> bytes:
        if n < 0 or n > self.end - self.pos:
            raise PickleExhausted(f"needs {n} bytes at offset {self.pos}, only {self.end - self.pos} remain")
        start = self.pos - self._buffer_start
        if start + n <= len(self._buffer):
            data = self._buffer[start:start + n]
        elif n > READ_AHEAD:
            data = self._read_at(self.pos, n)
        else:
            self._buffer = self._read_at(self.pos, min(READ_AHEAD, self.end - self.pos))
            self._buffer_start = self.pos
            data = self._buffer[:n]
        if len(data) != n:
            raise PickleExhausted(f"short read at offset {self.pos}")
        self.pos += n
        return data

    def readline(self) -> bytes:
        chunks: list[bytes] = []
        scanned = 0
        while scanned < MAX_LINE:
            chunk = self._read_at(self.pos + scanned, min(4096, self.end - self.pos - scanned))
            if not chunk:
                break
            newline = chunk.find(b"\n")
            if newline >= 0:
                chunks.append(chunk[: newline + 1])
                line = b"".join(chunks)
                self.pos += len(line)
                return line
            chunks.append(chunk)
            scanned += len(chunk)
        raise PickleExhausted(f"text line at offset {self.pos} never ends")


def map_global_name(module: str, name: str) -> str:
    if (module, name) in _compat_pickle.NAME_MAPPING:
        module, name = _compat_pickle.NAME_MAPPING[(module, name)]
    module = _compat_pickle.IMPORT_MAPPING.get(module, module)
    return f"{module}.{name}"


def describe(value: object) -> str:
    if isinstance(value, PickledObject):
        return value.class_name
    return type(value).__name__


def _hashable(key: object) -> bool:
    """True if hashing ``key`` is cheap and cannot recurse deeply (nested tuples can)."""
    stack = [(key, 0)]
    seen = 0
    while stack:
        value, depth = stack.pop()
        seen += 1
        if depth > MAX_KEY_DEPTH or seen > 10_000:
            return False
        if isinstance(value, tuple):
            stack.extend((item, depth + 1) for item in value)
        elif not isinstance(value, (str, bytes, int, float, bool, type(None), complex, frozenset,
                                    PickledObject, TensorRef, Truncated)):
            return False
    return True


def safe_key(key: object) -> object:
    return key if _hashable(key) else f"<unhashable {describe(key)} key>"


class BoundedOpcodes:
    """Opcode handlers mixed into the unpickler; ``install_bounded_opcodes`` registers them."""

    def load_int(self) -> None:
        line = self.readline()
        if line in (b"00\n", b"01\n"):
            self.append(line == b"01\n")
        else:
            self.append(self._text_int(line))

    def load_long(self) -> None:
        line = self.readline()[:-1].rstrip(b"L")
        self.append(self._text_int(line + b"\n"))

    def _text_int(self, line: bytes) -> object:
        if len(line) > MAX_INT_DIGITS:
            self.note("a huge integer was not decoded")
            return Truncated(f"integer with {len(line) - 1} digits")
        return int(line, 0)

    def load_long4(self) -> None:
        size, = struct.unpack("<i", self.read(4))
        if size < 0:
            raise pickle.UnpicklingError("LONG4 with a negative byte count")
        data = self.read(size)
        if size > MAX_INT_BYTES:
            self.note("a huge integer was not decoded")
            self.append(Truncated(f"integer of {size} bytes"))
        else:
            self.append(pickle.decode_long(data))

    def load_bytearray8(self) -> None:
        size, = struct.unpack("<Q", self.read(8))
        self._append_bytes(size, bytearray)

    def load_short_binbytes(self) -> None:
        self._append_bytes(self.read(1)[0], bytes)

    def load_binbytes(self) -> None:
        self._append_bytes(struct.unpack("<I", self.read(4))[0], bytes)

    def load_binbytes8(self) -> None:
        self._append_bytes(struct.unpack("<Q", self.read(8))[0], bytes)

    def _append_bytes(self, size: int, kind: type) -> None:
        """Push ``size`` raw bytes; remember where they sit when the caller asked to know."""
        start = self._position()
        value = kind(self.read(size))
        if self._byte_offsets is not None and size >= 16:
            self._byte_offsets[id(value)] = (start, size)
        self.append(value)

    def load_reduce(self) -> None:
        """REDUCE through ``self.call``, which the unpickler defines: nothing is called directly."""
        args = self.stack.pop()
        self.stack[-1] = self.call(self.stack[-1], args)

    # --- memo cap, frames, and the main loop ----------------------------------------------
    # BINPUT indices are below 256, so only these three can grow the memo without bound.

    def load_long_binput(self) -> None:  # the hottest opcode in torch pickles: kept inline
        memo = self.memo
        if len(memo) >= MAX_MEMO:
            raise pickle.UnpicklingError("the pickle's memo grows beyond any real checkpoint")
        memo[struct.unpack("<I", self.read(4))[0]] = self.stack[-1]

    def load_put(self) -> None:
        self._memo_store(int(self.readline()[:-1]))

    def load_memoize(self) -> None:
        self._memo_store(len(self.memo))

    def _memo_store(self, index: int) -> None:
        if len(self.memo) >= MAX_MEMO:
            raise pickle.UnpicklingError("the pickle's memo grows beyond any real checkpoint")
        self.memo[index] = self.stack[-1]

    def load_frame(self) -> None:
        # Frames only group opcodes that follow anyway; the data is read straight through.
        size, = struct.unpack("<Q", self.read(8))
        if size > self.source_left():
            raise PickleExhausted(f"a frame of {size} bytes is longer than the data left")

    def source_left(self) -> int:
        source = self._source
        if isinstance(source, BoundedSource):
            return source.end - source.pos
        return source.getbuffer().nbytes - source.tell()

    def _position(self) -> int:
        return self._source.pos if isinstance(self._source, BoundedSource) else self._source.tell()

    def load(self) -> object:
        """``pickle._Unpickler.load`` reading the source directly (no frame buffering).

        The commonest opcodes of torch pickles run inline (a call per opcode is most of the
        time spent here); each inline copy does exactly what its dispatch handler does, and
        the plain loop runs instead if a subclass replaced any of those handlers.
        """
        self.read = self._file_read
        self.readline = self._file_readline
        self.readinto = None
        self.metastack = []
        self.stack = []
        self.append = self.stack.append
        self.proto = 0
        try:
            if self._data is None or not _handlers_are_inlined(self.dispatch):
                self._plain_loop()
            else:
                self._buffer_loop(self._data)
        except pickle._Stop as stop:
            return stop.value

    def _plain_loop(self) -> None:
        read = self.read
        dispatch = self.dispatch
        while True:
            key = read(1)
            if not key:
                raise EOFError
            dispatch[key[0]](self)

    def _buffer_loop(self, data: bytes) -> None:
        """Index ``data`` directly for the inlined opcodes; the rest run their handlers on
        the source, positioned where their arguments start.

        ``stack`` and ``append`` are local copies of ``self.stack`` and ``self.append``:
        every inline rebinding updates both, and they are read back after each handler
        (MARK and pop_mark rebind them).
        """
        source = self._source
        dispatch = self.dispatch
        metastack = self.metastack
        memo = self.memo
        stack = self.stack
        append = self.append
        unpack_u32, unpack_u16, unpack_i32 = _UINT32_AT, _UINT16_AT, _INT32_AT
        memo_can_overflow = len(data) > MAX_MEMO  # each memo entry costs at least a byte
        end = len(data)
        pos = source.tell()
        try:
            while True:
                op = data[pos]
                pos += 1
                if op == 114:  # LONG_BINPUT
                    if memo_can_overflow and len(memo) >= MAX_MEMO:
                        raise pickle.UnpicklingError("the pickle's memo grows beyond any real checkpoint")
                    memo[unpack_u32(data, pos)[0]] = stack[-1]
                    pos += 4
                elif op == 104:  # BINGET
                    index = data[pos]
                    pos += 1
                    try:
                        append(memo[index])
                    except KeyError:
                        raise pickle.UnpicklingError(f"Memo value not found at index {index}") from None
                elif op == 77:  # BININT2
                    append(unpack_u16(data, pos)[0])
                    pos += 2
                elif op == 40:  # MARK
                    metastack.append(stack)
                    self.stack = stack = []
                    self.append = append = stack.append
                elif op == 88:  # BINUNICODE
                    size = unpack_u32(data, pos)[0]
                    pos += 4
                    if pos + size > end:
                        raise PickleExhausted(f"needs {size} bytes at offset {pos}, only {end - pos} remain")
                    append(str(data[pos:pos + size], "utf-8", "surrogatepass"))
                    pos += size
                elif op == 82:  # REDUCE
                    args = stack.pop()
                    stack[-1] = self.call(stack[-1], args)
                elif op == 116:  # TUPLE
                    items = stack
                    self.stack = stack = metastack.pop()
                    self.append = append = stack.append
                    append(tuple(items))
                elif op == 75:  # BININT1
                    append(data[pos])
                    pos += 1
                elif op == 134:  # TUPLE2
                    stack[-2:] = [(stack[-2], stack[-1])]
                elif op == 81:  # BINPERSID
                    stack[-1] = self.persistent_load(stack[-1])
                elif op == 137:  # NEWFALSE
                    append(False)
                elif op == 41:  # EMPTY_TUPLE
                    append(())
                elif op == 74:  # BININT
                    append(unpack_i32(data, pos)[0])
                    pos += 4
                elif op == 133:  # TUPLE1
                    stack[-1] = (stack[-1],)
                elif op == 113:  # BINPUT
                    memo[data[pos]] = stack[-1]
                    pos += 1
                else:
                    if op not in _NO_ARGUMENT:
                        source.seek(pos)
                        pos = -1  # the handler owns the position until it returns
                    dispatch[op](self)
                    if pos < 0:
                        pos = source.tell()
                    stack = self.stack
                    append = self.append
        except struct.error:  # unpack_from ran past the end of the data
            raise PickleExhausted(f"the data ends inside an opcode near offset {pos}") from None
        except IndexError:
            if pos >= end:  # an opcode or its one-byte argument lies past the end
                raise PickleExhausted(f"the data ends at offset {end} without a STOP opcode") from None
            raise  # the stack ran out: damaged, not truncated
        finally:
            if pos >= 0:
                source.seek(min(pos, end))


def _handlers_are_inlined(dispatch: dict[int, Callable[..., None]]) -> bool:
    return all(dispatch.get(op) is handler for op, handler in _INLINED.items())


def install_bounded_opcodes(dispatch: dict[int, Callable[..., None]]) -> dict[int, Callable[..., None]]:
    handlers = {
        pickle.INT: BoundedOpcodes.load_int, pickle.LONG: BoundedOpcodes.load_long,
        pickle.LONG4: BoundedOpcodes.load_long4, pickle.BYTEARRAY8: BoundedOpcodes.load_bytearray8,
        pickle.SHORT_BINBYTES: BoundedOpcodes.load_short_binbytes,
        pickle.BINBYTES: BoundedOpcodes.load_binbytes, pickle.BINBYTES8: BoundedOpcodes.load_binbytes8,
        pickle.LONG_BINPUT: BoundedOpcodes.load_long_binput, pickle.PUT: BoundedOpcodes.load_put,
        pickle.MEMOIZE: BoundedOpcodes.load_memoize, pickle.FRAME: BoundedOpcodes.load_frame,
    }
    dispatch.update((opcode[0], handler) for opcode, handler in handlers.items())
    return dispatch


_LONG_BINPUT, _BINGET, _BININT1, _BININT2, _BININT, _BINPUT, _MARK = (
    pickle.LONG_BINPUT[0], pickle.BINGET[0], pickle.BININT1[0], pickle.BININT2[0], pickle.BININT[0],
    pickle.BINPUT[0], pickle.MARK[0])
_BINUNICODE, _TUPLE, _TUPLE1, _TUPLE2, _EMPTY_TUPLE, _NEWFALSE = (
    pickle.BINUNICODE[0], pickle.TUPLE[0], pickle.TUPLE1[0], pickle.TUPLE2[0], pickle.EMPTY_TUPLE[0],
    pickle.NEWFALSE[0])
# Opcodes whose handlers read no argument bytes: ``_buffer_loop`` calls them without
# positioning the source first.
_NO_ARGUMENT = frozenset(opcode[0] for opcode in (
    pickle.BUILD, pickle.NEWOBJ, pickle.SETITEM, pickle.SETITEMS,
    pickle.APPEND, pickle.APPENDS, pickle.EMPTY_DICT, pickle.EMPTY_LIST, pickle.NONE,
    pickle.NEWTRUE, pickle.TUPLE3, pickle.DICT, pickle.LIST, pickle.POP, pickle.DUP,
    pickle.MEMOIZE, pickle.STOP))
# The handlers ``BoundedOpcodes._buffer_loop`` copies inline, by opcode.
_INLINED = {
    _LONG_BINPUT: BoundedOpcodes.load_long_binput,
    _BINGET: pickle._Unpickler.load_binget,
    _BININT1: pickle._Unpickler.load_binint1,
    _BININT2: pickle._Unpickler.load_binint2,
    _BININT: pickle._Unpickler.load_binint,
    _BINPUT: pickle._Unpickler.load_binput,
    _MARK: pickle._Unpickler.load_mark,
    _BINUNICODE: pickle._Unpickler.load_binunicode,
    _TUPLE: pickle._Unpickler.load_tuple,
    _TUPLE1: pickle._Unpickler.load_tuple1,
    _TUPLE2: pickle._Unpickler.load_tuple2,
    _EMPTY_TUPLE: pickle._Unpickler.load_empty_tuple,
    _NEWFALSE: pickle._Unpickler.load_false,
    pickle.REDUCE[0]: BoundedOpcodes.load_reduce,
    pickle.BINPERSID[0]: pickle._Unpickler.load_binpersid,
}

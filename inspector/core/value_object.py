"""Small bases for value classes (dataclasses would cost the CLI ~8 ms of imports)."""

from __future__ import annotations


class EqualByFields:
    """Equal (and hashable) when ``_fields()`` are; subclasses list their fields there."""

    __slots__ = ()

    def _fields(self) -> tuple:
        raise NotImplementedError

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self._fields() == other._fields()

    def __hash__(self) -> int:
        return hash(self._fields())


class ValueObject(EqualByFields):
    """An ``EqualByFields`` whose attributes, once set with ``object.__setattr__``, stay put."""

    __slots__ = ()

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"cannot assign to field {name!r} of a {type(self).__name__}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"cannot delete field {name!r} of a {type(self).__name__}")

"""``Record``: :class:`typing.NamedTuple`'s class syntax, without its start-up cost.

``class Row(Record): name: str; size: int = 0`` makes the same class as ``typing.NamedTuple``
does (a :func:`collections.namedtuple` with the annotations, defaults, docstring and methods of
the class body), and type checkers see ``typing.NamedTuple`` itself.  The difference is what
is skipped: ``typing`` checks every field's annotation as it builds the class, and with
``from __future__ import annotations`` each one is a string that it compiles into a
``ForwardRef``.  For convcalc's records that was 3 ms of every start-up, for a check whose
results nothing reads (the type checker reads the annotations instead).  A record's
``__annotations__`` therefore keep the strings as written; ``typing.get_type_hints`` reads both.
"""

from __future__ import annotations

import collections
from typing import TYPE_CHECKING, Any

# What a class body holds that is not a member of the class to copy onto the namedtuple.
_NOT_MEMBERS = frozenset({"__module__", "__qualname__", "__annotations__"})
# What a class body may not define, as for typing.NamedTuple: the namedtuple's own machinery.
_PROHIBITED = frozenset(
    {"__new__", "__init__", "__slots__", "__getnewargs__", "__classcell__",
     "_fields", "_field_defaults", "_make", "_replace", "_asdict"}
)


class _RecordMeta(type):
    def __new__(mcls, name: str, bases: tuple[type, ...], body: dict[str, Any]) -> Any:
        if not bases:  # the Record base itself
            return super().__new__(mcls, name, bases, body)
        if bases != (_Record,):
            raise TypeError(f"{name}: a Record derives from Record alone")
        fields = body.get("__annotations__", {})
        defaulted = [field for field in fields if field in body]
        if defaulted != list(fields)[len(fields) - len(defaulted):]:
            raise TypeError(f"{name}: a field without a default follows one with a default")
        make: Any = collections.namedtuple  # its arguments are computed, which mypy cannot follow
        cls = make(name, fields, defaults=[body[f] for f in defaulted], module=body["__module__"])
        cls.__annotations__ = fields
        cls.__qualname__ = body.get("__qualname__", name)
        for key, value in body.items():
            if key in _PROHIBITED:
                raise AttributeError(f"{name}: a Record cannot define {key}")
            if key not in _NOT_MEMBERS and key not in fields:
                setattr(cls, key, value)
        return cls


class _Record(metaclass=_RecordMeta):
    pass


if TYPE_CHECKING:
    from typing import NamedTuple as Record
else:
    Record = _Record

__all__ = ["Record"]

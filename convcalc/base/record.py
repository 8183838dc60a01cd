"""``Record``: :class:`typing.NamedTuple`'s class syntax, without its start-up cost.

``class Row(Record): name: str; size: int = 0`` makes the same class as ``typing.NamedTuple``
does (a :func:`collections.namedtuple` with the annotations, defaults, docstring and methods of
the class body), and type checkers see ``typing.NamedTuple`` itself.  The difference is what
is skipped: ``typing`` checks every field's annotation as it builds the class, and with
``from __future__ import annotations`` each one is a string that it compiles into a
``ForwardRef``.  For convcalc's records that was 3 ms of every start-up, for a check whose
results nothing reads (the type checker reads the annotations instead).  A record's
``__annotations__`` therefore keep the strings as written; ``typing.get_type_hints`` reads both.

The class is built here rather than by :func:`collections.namedtuple`, whose ``__new__`` is
compiled from source for every class (45 compilations for ``show -f json``, 1.4 ms of its
start-up): ``__new__`` here reuses one compiled code object per number of fields with the
parameter names replaced, and the other methods are shared by every record.
"""

from __future__ import annotations

import sys
from types import CodeType, FunctionType
from typing import TYPE_CHECKING, Any

try:
    from collections import _tuplegetter  # type: ignore[attr-defined]  # namedtuple's field accessor
except ImportError:  # another Python than CPython: a property does the same, a little slower
    from operator import itemgetter

    def _tuplegetter(index: int, doc: str) -> Any:
        return property(itemgetter(index), doc=doc)

# What a class body holds that is not a member of the class to copy onto the namedtuple.
_NOT_MEMBERS = frozenset({"__module__", "__qualname__", "__annotations__"})
# What a class body may not define, as for typing.NamedTuple: the namedtuple's own machinery.
_PROHIBITED = frozenset(
    {"__new__", "__init__", "__slots__", "__getnewargs__", "__classcell__",
     "_fields", "_field_defaults", "_make", "_replace", "_asdict"}
)


_tuple_new = tuple.__new__
_GLOBALS = {"_tuple_new": _tuple_new, "__builtins__": {}}
_CODE: dict[int, CodeType] = {}  # number of fields → a compiled ``__new__`` with placeholder names


def _constructor(name: str, fields: tuple[str, ...], defaults: tuple[Any, ...]) -> Any:
    """``__new__(_cls, a, b=…)`` returning the tuple (a, b), as namedtuple's."""
    code = _CODE.get(len(fields))
    if code is None:  # the source is fixed text and a count: no name reaches it (as namedtuple's would)
        params = "".join(f", _{i}" for i in range(len(fields)))
        items = "".join(f"_{i}, " for i in range(len(fields)))
        code = _CODE[len(fields)] = eval(f"lambda _cls{params}: _tuple_new(_cls, ({items}))", _GLOBALS).__code__
    code = code.replace(co_varnames=("_cls", *fields), co_name="__new__")
    if sys.version_info >= (3, 11):  # the name errors give: "Row.__new__() missing 1 required ..."
        code = code.replace(co_qualname=f"{name}.__new__")
    new = FunctionType(code, _GLOBALS, "__new__", defaults or None)
    new.__doc__ = f"Create new instance of {name}({', '.join(fields)})"
    return new


def _make(cls: Any, iterable: Any) -> Any:
    """Make a new record from a sequence or iterable."""
    result = _tuple_new(cls, iterable)
    if len(result) != len(cls._fields):
        raise TypeError(f"Expected {len(cls._fields)} arguments, got {len(result)}")
    return result


def _replace(self: Any, /, **changes: Any) -> Any:
    """Return a new record replacing the given fields with new values."""
    result = self._make(map(changes.pop, self._fields, self))
    if changes:
        raise ValueError(f"Got unexpected field names: {list(changes)!r}")
    return result


def _repr(self: Any) -> str:
    """Return a nicely formatted representation string."""
    fields = ", ".join(f"{f}={v!r}" for f, v in zip(self._fields, self))
    return f"{self.__class__.__name__}({fields})"


def _asdict(self: Any) -> dict[str, Any]:
    """Return a new dict which maps field names to their values."""
    return dict(zip(self._fields, self))


def _getnewargs(self: Any) -> tuple[Any, ...]:
    """Return self as a plain tuple.  Used by copy and pickle."""
    return tuple(self)


_repr.__name__, _getnewargs.__name__ = "__repr__", "__getnewargs__"


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
        names = tuple(fields)
        defaults = tuple(body[f] for f in defaulted)
        namespace: dict[str, Any] = {
            "__doc__": f"{name}({', '.join(names)})",
            "__slots__": (),
            "_fields": names,
            "_field_defaults": dict(zip(defaulted, defaults)),
            "__new__": _constructor(name, names, defaults),
            "_make": classmethod(_make),
            "_replace": _replace,
            "__repr__": _repr,
            "_asdict": _asdict,
            "__getnewargs__": _getnewargs,
            "__match_args__": names,
        }
        for index, field in enumerate(names):
            namespace[field] = _tuplegetter(index, f"Alias for field number {index}")
        for key, value in body.items():
            if key in _PROHIBITED:
                raise AttributeError(f"{name}: a Record cannot define {key}")
            if key not in _NOT_MEMBERS and key not in fields:
                namespace[key] = value
        cls = type.__new__(type, name, (tuple,), namespace)
        cls.__module__ = body["__module__"]
        cls.__annotations__ = fields
        cls.__qualname__ = body.get("__qualname__", name)
        return cls


class _Record(metaclass=_RecordMeta):
    pass


if TYPE_CHECKING:
    from typing import NamedTuple as Record
else:
    Record = _Record

__all__ = ["Record"]

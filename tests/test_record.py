"""``Record`` builds the class ``typing.NamedTuple`` would, without checking annotations at start-up."""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import NamedTuple, get_type_hints

import pytest

from convcalc.base.record import Record


class Pair(Record):
    """Two numbers."""

    left: int
    right: str | None = None
    scale: float = 1.0

    def total(self) -> float:
        return self.left * self.scale

    @property
    def doubled(self) -> int:
        return 2 * self.left


class PairTyping(NamedTuple):
    """Two numbers."""

    left: int
    right: str | None = None
    scale: float = 1.0

    def total(self) -> float:
        return self.left * self.scale

    @property
    def doubled(self) -> int:
        return 2 * self.left


def test_a_record_is_the_namedtuple_typing_builds() -> None:
    for cls in (Pair, PairTyping):
        made = cls(3, scale=0.5)
        assert made == (3, None, 0.5) and isinstance(made, tuple)
        assert cls._fields == ("left", "right", "scale")
        assert cls._field_defaults == {"right": None, "scale": 1.0}
        assert get_type_hints(cls) == {"left": int, "right": str | None, "scale": float}
        assert cls.__doc__ == "Two numbers."
        assert made.total() == 1.5 and made.doubled == 6
        assert made._replace(right="r") == (3, "r", 0.5)
        assert cls._make([1, "a", 2.0]).total() == 2.0
        assert cls.__module__ == __name__
        assert pickle.loads(pickle.dumps(made)) == made
        with pytest.raises(TypeError):
            cls()  # left has no default
    assert repr(Pair(1)) == "Pair(left=1, right=None, scale=1.0)"
    assert Pair.__qualname__ == "Pair"
    assert Pair.__annotations__ == {"left": "int", "right": "str | None", "scale": "float"}  # as written


def test_a_field_without_default_after_one_with_is_refused_as_typing_does() -> None:
    with pytest.raises(TypeError, match="without a default follows"):
        class Bad(Record):
            first: int = 0
            second: int


@pytest.mark.parametrize("name", ["_replace", "__new__", "_fields"])
def test_the_namedtuple_machinery_cannot_be_overwritten(name: str) -> None:
    with pytest.raises(AttributeError, match=name):
        Record.__class__("Bad", (Record,), {"__module__": __name__, "__annotations__": {"x": "int"}, name: 1})


def test_a_record_derives_from_record_alone() -> None:
    with pytest.raises(TypeError, match="Record alone"):
        Record.__class__("Bad", (Record, dict), {"__module__": __name__})


def test_the_package_builds_its_records_with_record() -> None:
    """typing.NamedTuple would bring back the start-up cost Record exists to avoid."""
    package = Path(__file__).resolve().parent.parent / "convcalc"
    users = [p.name for p in package.rglob("*.py") if p.name != "record.py" and "NamedTuple" in p.read_text("utf-8")]
    assert users == []

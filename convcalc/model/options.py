"""Option value types: how a layer option is checked, described and broadcast over axes.

Each type is one small object with ``parse`` (rank-free validation of the YAML value, raising
:class:`OptionError` with a message for a person), ``describe`` (the words used in docs and
errors) and ``schema`` (its JSON Schema).  Kinds declare their options with these types; the
spec parser, the docs and the schema read the same declarations.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import Any, Protocol

from ..base.record import Record
from .geometry import LayerError, axis_names


class OptionError(Exception):
    """A value of the wrong type or range; the spec parser adds where it is."""


# The largest number convcalc accepts anywhere a size, channel count, kernel, stride, padding,
# scale, repeat count or block argument is written, and the largest size a layer may produce:
# 2^63 − 1, PyTorch's own int64 limit.  Checked before any arithmetic, so that every figure
# stays a few hundred digits at most and every float() of a size is finite.
MAX_INT = 2**63 - 1
LIMIT_TEXT = "2^63 − 1 (9,223,372,036,854,775,807), convcalc's limit"


def too_large(value: Any) -> bool:
    """Whether a number, or any number in a list (of lists), is beyond :data:`MAX_INT`."""
    if isinstance(value, list):
        return any(too_large(v) for v in value)
    return isinstance(value, (int, float)) and not isinstance(value, bool) and abs(value) > MAX_INT


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return _is_int(value) or (isinstance(value, float) and math.isfinite(value))


def _show(value: Any) -> str:
    if isinstance(value, str):
        return repr(value)
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value) if not isinstance(value, (dict, list)) else ("a mapping" if isinstance(value, dict) else "a list")


class OptionType(Protocol):
    """What every option type offers."""

    def parse(self, value: Any) -> Any: ...

    def describe(self) -> str: ...

    def schema(self) -> dict[str, Any]: ...


class Int(Record):
    """A whole number with a lower bound."""

    minimum: int = 1

    def parse(self, value: Any) -> int:
        if not _is_int(value) or value < self.minimum:
            raise OptionError(f"must be {self.describe()}, got {_show(value)}")
        return int(value)

    def describe(self) -> str:
        return {1: "a positive whole number", 0: "a whole number ≥ 0"}.get(
            self.minimum, f"a whole number ≥ {self.minimum}"
        )

    def schema(self) -> dict[str, Any]:
        return {"type": "integer", "minimum": self.minimum}


class PerAxis(Record):
    """One whole number for every spatial axis, or a list with one per axis."""

    minimum: int = 1

    def parse(self, value: Any) -> int | tuple[int, ...]:
        if _is_int(value) and value >= self.minimum:
            return int(value)
        if isinstance(value, list) and value and all(_is_int(v) and v >= self.minimum for v in value):
            return tuple(int(v) for v in value)
        raise OptionError(f"must be {self.describe()}, got {_show(value)}")

    def describe(self) -> str:
        word = Int(self.minimum).describe()
        return f"{word}, or a list of them with one per spatial axis"

    def schema(self) -> dict[str, Any]:
        one = Int(self.minimum).schema()
        return {"oneOf": [one, {"type": "array", "items": one, "minItems": 1, "maxItems": 3}]}


class Dims(Record):
    """A tensor's shape without the batch as convcalc writes it: a whole number (a flat vector)
    or a list of one to four (the spatial sizes, then the channels)."""

    def parse(self, value: Any) -> tuple[int, ...]:
        if _is_int(value) and value >= 1:
            return (int(value),)
        if isinstance(value, list) and 1 <= len(value) <= 4 and all(_is_int(v) and v >= 1 for v in value):
            return tuple(int(v) for v in value)
        raise OptionError(f"must be {self.describe()}, got {_show(value)}")

    def describe(self) -> str:
        return "a positive whole number (a flat vector's length), or a list of one to four: [H, W, C] and the like"

    def schema(self) -> dict[str, Any]:
        one = Int(1).schema()
        return {"oneOf": [one, {"type": "array", "items": one, "minItems": 1, "maxItems": 4}]}


class Scale(Record):
    """A positive number (whole or decimal) for every axis, or one per axis."""

    def parse(self, value: Any) -> float | int | tuple[float | int, ...]:
        items = value if isinstance(value, list) else [value]
        if items and all(_is_number(v) and v > 0 for v in items):
            return tuple(items) if isinstance(value, list) else value
        raise OptionError(f"must be {self.describe()}, got {_show(value)}")

    def describe(self) -> str:
        return "a positive number, or a list with one per spatial axis"

    def schema(self) -> dict[str, Any]:
        one = {"type": "number", "exclusiveMinimum": 0}
        return {"oneOf": [one, {"type": "array", "items": one, "minItems": 1, "maxItems": 3}]}


Padding = int | tuple[int | tuple[int, int], ...] | str


class Pad(Record):
    """Padding: a number, one per axis, ``[before, after]`` pairs, or ``same``/``valid``."""

    words: tuple[str, ...] = ("same", "valid")

    def parse(self, value: Any) -> Padding:
        if isinstance(value, str) and value.lower() in self.words:
            return value.lower()
        if _is_int(value) and value >= 0:
            return int(value)
        if isinstance(value, list) and value:
            items: list[int | tuple[int, int]] = []
            for item in value:
                if _is_int(item) and item >= 0:
                    items.append(int(item))
                elif isinstance(item, list) and len(item) == 2 and all(_is_int(v) and v >= 0 for v in item):
                    items.append((int(item[0]), int(item[1])))
                else:
                    break
            else:
                return tuple(items)
        raise OptionError(f"must be {self.describe()}, got {_show(value)}")

    def describe(self) -> str:
        words = " or ".join(self.words)
        return "a whole number ≥ 0, a list with one per spatial axis, a list of [before, after] pairs" + (
            f", or {words}" if words else ""
        )

    def schema(self) -> dict[str, Any]:
        one = {"type": "integer", "minimum": 0}
        pair = {"type": "array", "items": one, "minItems": 2, "maxItems": 2}
        options: list[dict[str, Any]] = [
            one,
            {"type": "array", "items": {"oneOf": [one, pair]}, "minItems": 1, "maxItems": 3},
        ]
        if self.words:
            options.append({"enum": list(self.words)})
        return {"oneOf": options}


class Bool(Record):
    def parse(self, value: Any) -> bool:
        if not isinstance(value, bool):
            raise OptionError(f"must be true or false, got {_show(value)}")
        return value

    def describe(self) -> str:
        return "true or false"

    def schema(self) -> dict[str, Any]:
        return {"type": "boolean"}


class Choice(Record):
    choices: tuple[str, ...]
    allow_none: bool = False

    def parse(self, value: Any) -> str | None:
        if value is None and self.allow_none:
            return None
        if isinstance(value, str) and value.lower() in self.choices:
            return value.lower()
        if isinstance(value, str) and self.allow_none and value.lower() == "none":
            return None
        raise OptionError(f"must be {self.describe()}, got {_show(value)}")

    def describe(self) -> str:
        return "one of " + ", ".join(self.choices) + (" (or none)" if self.allow_none else "")

    def schema(self) -> dict[str, Any]:
        return {"enum": [*self.choices, *(["none", None] if self.allow_none else [])]}


# YAML 1.1 reads ``1e-6`` (no dot) as text; a number option takes it as the number it means.
# Patterns compiled on first use by re's cache, not at import (start-up).
_EXPONENT_NUMBER = r"[-+]?(?:[0-9]{1,20}(?:\.[0-9]{0,20})?|\.[0-9]{1,20})[eE][-+]?[0-9]{1,3}"


class Number(Record):
    """A real number in [minimum, maximum) (dropout rates, slopes, epsilons)."""

    minimum: float = 0.0
    maximum: float | None = None

    def parse(self, value: Any) -> float:
        if isinstance(value, str) and re.fullmatch(_EXPONENT_NUMBER, value.strip()):
            value = float(value)
        if _is_number(value) and value >= self.minimum and (self.maximum is None or value < self.maximum):
            return float(value)
        raise OptionError(f"must be {self.describe()}, got {_show(value)}")

    def describe(self) -> str:
        top = f" and below {self.maximum:g}" if self.maximum is not None else ""
        return f"a number ≥ {self.minimum:g}{top}"

    def schema(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": "number", "minimum": self.minimum}
        if self.maximum is not None:
            out["exclusiveMaximum"] = self.maximum
        # YAML 1.1 reads 1e-6 as a string: the schema takes that spelling too (its range is checked by convcalc)
        text = {"type": "string", "pattern": "^" + _EXPONENT_NUMBER + "$"}
        return {"anyOf": [out, text]}


class Ref(Record):
    """The name (or dotted path) of an earlier layer, or ``input``: resolved when the network is walked."""

    def parse(self, value: Any) -> str:
        if isinstance(value, str) and re.fullmatch(_REFERENCE, value):
            return value
        raise OptionError(f"must be {self.describe()}, got {_show(value)}")

    def describe(self) -> str:
        return "the name of an earlier layer (or a path such as stage1.conv2), or input"

    def schema(self) -> dict[str, Any]:
        return {"type": "string", "pattern": "^" + _REFERENCE + "$"}


_REFERENCE = r"[A-Za-z_][A-Za-z0-9_\-]*(?:\.[A-Za-z0-9_][A-Za-z0-9_\-]*)*"


class Norm(Record):
    """The normalisation after a layer: ``batch``, ``layer``, ``instance`` or ``{group: G}``."""

    words: tuple[str, ...] = ("batch", "layer", "instance")

    def parse(self, value: Any) -> tuple[str, int] | None:
        if value is None or (isinstance(value, str) and value.lower() == "none"):
            return None
        if isinstance(value, str) and value.lower() in self.words:
            return (value.lower(), 0)
        if isinstance(value, str) and value.lower() == "group":
            raise OptionError("a group norm needs its number of groups: write norm: {group: 32}")
        if isinstance(value, dict) and list(value) == ["group"]:
            groups = value["group"]
            if _is_int(groups) and 1 <= groups <= MAX_INT:
                return ("group", int(groups))
            raise OptionError(f"group must be a positive whole number, got {_show(groups)}")
        raise OptionError(f"must be {self.describe()}, got {_show(value)}")

    def describe(self) -> str:
        return ", ".join(self.words) + ", or {group: G} (a group norm of G groups)"

    def schema(self) -> dict[str, Any]:
        group = {
            "type": "object",
            "properties": {"group": {"type": "integer", "minimum": 1}},
            "required": ["group"],
            "additionalProperties": False,
        }
        return {"oneOf": [{"enum": [*self.words, "none", None]}, group]}


REQUIRED: Any = object()


class Option(Record):
    """One option of a kind: its canonical name, type, default, aliases and documentation."""

    name: str
    type: OptionType
    default: Any = REQUIRED
    doc: str = ""
    aliases: tuple[str, ...] = ()

    @property
    def required(self) -> bool:
        return self.default is REQUIRED


# --- broadcasting over the axes of a given input (done at evaluation, when the rank is known)


def per_axis(name: str, value: int | Sequence[Any], rank: int) -> tuple[Any, ...]:
    """``3`` → ``(3, 3)`` in 2-D; a list must have one item per spatial axis."""
    if isinstance(value, (tuple, list)):
        if len(value) != rank:
            raise LayerError(
                f"{name} has {len(value)} values but the input has {rank} spatial "
                f"{'axis' if rank == 1 else 'axes'} ({', '.join(axis_names(rank))}): give one number or {rank}"
            )
        return tuple(value)
    return (value,) * rank


def padding_pairs(value: Padding, rank: int) -> tuple[tuple[int, int], ...]:
    """Numeric padding as ``(before, after)`` per axis (``same``/``valid`` are resolved by the caller)."""
    assert not isinstance(value, str)
    return tuple(item if isinstance(item, tuple) else (item, item) for item in per_axis("padding", value, rank))

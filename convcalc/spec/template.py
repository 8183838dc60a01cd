"""Arguments: ``$name`` and ``${expr}`` substitution in a block's layers, and in the whole spec
for its own ``args:``.

``$name`` takes an argument's value (any type); ``${expr}`` takes exact arithmetic on
arguments: ``+ - * / //``, unary minus, parentheses, numbers (``0.75`` is 3/4 exactly), and the
functions ``round ceil floor min max make_divisible``, nothing else.  Every value is a rational
until the result: a whole result is an int, any other a float, which a size, channel count or
kernel refuses with the option's position.  A small recursive-descent parser evaluates it;
nothing is ever passed to Python's ``eval``.  A value
that is exactly one reference is replaced by the value itself (``out: $mid`` gives an int); a
reference inside longer text is interpolated (``name: "stage${i + 1}"``).
"""

from __future__ import annotations

import math
import re
from fractions import Fraction
from typing import Any

from ..base.errors import Mark, SpecError
from ..base.text import suggest
from ..model.options import LIMIT_TEXT, too_large
from .loader import LList, LMap

# Compiled on first use by re's cache, not at import: most specs have no `$` (start-up).
_REFERENCE = r"\$(?:\{([^{}]*)\}|([A-Za-z_][A-Za-z0-9_]*))"
_TOKEN = r"\s*(?:(\d+(?:\.\d+)?)|([A-Za-z_][A-Za-z0-9_]*)|(//|[-+*/(),]))"
MAX_EXPRESSION = 200  # characters: arithmetic on block arguments is short
MAX_TEXT = 1000  # characters of a string built by interpolation ("stage${i}"): it cannot grow by doubling


class ExpressionError(Exception):
    pass


def _tokens(text: str) -> list[tuple[str, str]]:
    tokens, pos = [], 0
    text = text.rstrip()
    while pos < len(text):
        m = re.compile(_TOKEN).match(text, pos)
        if not m:
            bad = text[pos:].strip()[:10]
            raise ExpressionError(
                f"'{bad}' is not allowed: use numbers, arguments, + - * / // and parentheses, "
                f"and {', '.join(FUNCTIONS)}"
            )
        number, name, op = m.groups()
        tokens.append(("num", number) if number else ("name", name) if name else ("op", op))
        pos = m.end()
    return tokens


def _make_divisible(v: Fraction, divisor: Fraction, least: Fraction | None = None) -> int:
    """MobileNet's and EfficientNet's rounding of a channel count (torchvision's _make_divisible):
    the nearest multiple of ``divisor`` (halves up), at least ``least`` (default ``divisor``), one
    ``divisor`` more when that loses over a tenth of ``v``."""
    if divisor <= 0 or divisor.denominator != 1:
        raise ExpressionError(f"make_divisible's divisor must be a positive whole number, got {_number_text(divisor)}")
    d = int(divisor)
    new = max(d if least is None else math.ceil(least), int(v + Fraction(d, 2)) // d * d)
    return new + d if new < Fraction(9, 10) * v else new


def _function(name: str, values: list[Fraction]) -> Fraction | int:
    if name in ("round", "ceil", "floor"):
        if len(values) != 1:
            raise ExpressionError(f"{name}() takes one value, got {len(values)}")
        value = values[0]
        return round(value) if name == "round" else math.ceil(value) if name == "ceil" else math.floor(value)
    if name in ("min", "max"):
        if not values:
            raise ExpressionError(f"{name}() takes at least one value")
        return min(values) if name == "min" else max(values)
    if len(values) not in (2, 3):
        raise ExpressionError(f"make_divisible() takes a value, a divisor and optionally a least value, got {len(values)} values")
    return _make_divisible(*values)


# round (halves to even, as Python's), ceil, floor, min, max and make_divisible(v, d[, least]).
FUNCTIONS = ("round", "ceil", "floor", "min", "max", "make_divisible")


def _number_text(value: Fraction) -> str:
    return str(value.numerator) if value.denominator == 1 else f"{value.numerator}/{value.denominator}"


def _exact(name: str, arg: Any) -> Fraction:
    """An argument's value as an exact rational: a whole number, or a decimal as written (0.75 is 3/4)."""
    if isinstance(arg, bool) or not isinstance(arg, (int, float, Fraction)):
        raise ExpressionError(f"argument '{name}' is {_clip(arg)}, not a number")
    if isinstance(arg, float) and not math.isfinite(arg):
        raise ExpressionError(f"argument '{name}' is {arg}, not a finite number")
    if too_large(arg) or (isinstance(arg, Fraction) and too_large(arg.numerator)):
        raise ExpressionError(f"argument '{name}' is larger than {LIMIT_TEXT}")
    return Fraction(repr(arg)) if isinstance(arg, float) else Fraction(arg)


def evaluate_expression(text: str, args: dict[str, Any]) -> int | float:
    """Evaluate exact arithmetic on ``args``: a whole result is an int, any other a float (which a
    size, channel count or kernel refuses, with the option's position).  Raises ExpressionError."""
    if len(text) > MAX_EXPRESSION:
        raise ExpressionError(f"the expression is longer than {MAX_EXPRESSION} characters")
    tokens = _tokens(text)
    if not tokens:
        raise ExpressionError("the expression is empty")
    pos = 0

    def peek() -> tuple[str, str] | None:
        return tokens[pos] if pos < len(tokens) else None

    def take() -> tuple[str, str]:
        nonlocal pos
        token = tokens[pos]
        pos += 1
        return token

    def bounded(value: Fraction) -> Fraction:
        if too_large(value.numerator) or too_large(value.denominator):
            raise ExpressionError(f"a value in the expression is larger than {LIMIT_TEXT}")
        return value

    def atom(depth: int) -> Fraction:
        if depth > 50:
            raise ExpressionError("the expression nests too deeply")
        token = peek()
        if token is None:
            raise ExpressionError("the expression ends too early")
        take()
        kind, value = token
        if kind == "num":
            if len(value) > 40:
                raise ExpressionError(f"the number '{value[:12]}…' is longer than 40 digits")
            return Fraction(value)
        if kind == "name":
            if peek() == ("op", "("):
                if value not in FUNCTIONS:
                    raise ExpressionError(f"unknown function '{value}'{suggest(value, FUNCTIONS)} (functions: {', '.join(FUNCTIONS)})")
                take()
                values = []
                if peek() != ("op", ")"):
                    values.append(sum_(depth + 1))
                    while peek() == ("op", ","):
                        take()
                        values.append(sum_(depth + 1))
                if peek() != ("op", ")"):
                    raise ExpressionError(f"{value}( is not closed")
                take()
                return bounded(Fraction(_function(value, values)))
            if value not in args:
                raise ExpressionError(f"unknown argument '{value}'{_hint(value, args)}")
            return _exact(value, args[value])
        if value == "-":
            return -atom(depth + 1)
        if value == "+":
            return atom(depth + 1)
        if value == "(":
            result = sum_(depth + 1)
            if peek() != ("op", ")"):
                raise ExpressionError("a '(' is not closed")
            take()
            return result
        raise ExpressionError(f"unexpected '{value}'")

    def product(depth: int) -> Fraction:
        result = atom(depth)
        while peek() in (("op", "*"), ("op", "//"), ("op", "/")):
            op = take()[1]
            right = atom(depth)
            if op == "*":
                result = bounded(result * right)
            elif right == 0:
                raise ExpressionError("division by zero")
            else:
                result = bounded(Fraction(result // right) if op == "//" else result / right)
        return result

    def sum_(depth: int) -> Fraction:
        result = product(depth)
        while peek() in (("op", "+"), ("op", "-")):
            op = take()[1]
            right = product(depth)
            result = bounded(result + right if op == "+" else result - right)
        return result

    result = sum_(0)
    if pos != len(tokens):
        raise ExpressionError(f"unexpected '{tokens[pos][1]}'")
    if too_large(result.numerator // result.denominator):
        raise ExpressionError(f"the result is larger than {LIMIT_TEXT}")
    return int(result) if result.denominator == 1 else result.numerator / result.denominator


def _clip(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _hint(name: str, args: dict[str, Any]) -> str:

    hint = suggest(name, args)
    return hint or (f" (arguments: {', '.join(args)})" if args else " (there are no block arguments here)")


def _reference(m: re.Match[str], args: dict[str, Any], mark: Mark | None) -> Any:
    expr, name = m.groups()
    try:
        if name is not None:
            if name not in args:
                raise ExpressionError(f"unknown argument '${name}'{_hint(name, args)}")
            return args[name]
        return evaluate_expression(expr, args)
    except ExpressionError as err:
        raise SpecError(f"in '{m.group(0)}': {err}", mark) from None


def substitute_value(value: str, args: dict[str, Any], mark: Mark | None) -> Any:
    if "$" not in value:
        return value
    whole = re.fullmatch(_REFERENCE, value.strip())
    if whole:
        return _reference(whole, args, mark)
    text = re.sub(_REFERENCE, lambda m: _text(_reference(m, args, mark), mark), value)
    if len(text) > MAX_TEXT:
        raise SpecError(f"a value built from block arguments is longer than {MAX_TEXT} characters (convcalc's limit)", mark)
    return text


def _text(value: Any, mark: Mark | None) -> str:
    """An argument's value inside longer text; a long one is refused before it is copied."""
    text = value if isinstance(value, str) else str(value) if not isinstance(value, (list, dict)) else repr(value)
    if len(text) > MAX_TEXT:
        raise SpecError(f"a value built from block arguments is longer than {MAX_TEXT} characters (convcalc's limit)", mark)
    return text


def substitute(data: Any, args: dict[str, Any], mark: Mark | None = None) -> Any:
    """A copy of loaded YAML with every ``$`` reference replaced; positions are kept."""
    if isinstance(data, str):
        return substitute_value(data, args, mark)
    if isinstance(data, LMap):
        out = LMap(data.mark)
        out.key_marks, out.value_marks = data.key_marks, data.value_marks
        for key, value in data.items():
            out[key] = substitute(value, args, data.value_marks.get(key, data.mark))
        return out
    if isinstance(data, LList):
        items = LList(data.mark)
        items.extend(substitute(v, args, m) for v, m in zip(data, data.item_marks))
        items.item_marks = data.item_marks
        return items
    return data


def has_reference(data: Any) -> bool:
    if isinstance(data, str):
        return "$" in data and re.search(_REFERENCE, data) is not None
    if isinstance(data, dict):
        return any(has_reference(v) for v in data.values())
    if isinstance(data, list):
        return any(has_reference(v) for v in data)
    return False

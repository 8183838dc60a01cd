"""Block arguments: ``$name`` and ``${expr}`` substitution in a block's layers.

``$name`` takes an argument's value (any type); ``${expr}`` takes integer arithmetic on
arguments: ``+ - * //``, unary minus, parentheses and whole numbers, nothing else.  A small
recursive-descent parser evaluates it; nothing is ever passed to Python's ``eval``.  A value
that is exactly one reference is replaced by the value itself (``out: $mid`` gives an int); a
reference inside longer text is interpolated (``name: "stage${i + 1}"``).
"""

from __future__ import annotations

import re
from typing import Any

from ..base.errors import Mark, SpecError
from ..base.text import suggest
from ..model.options import LIMIT_TEXT, too_large
from .loader import LList, LMap

# Compiled on first use by re's cache, not at import: most specs have no `$` (start-up).
_REFERENCE = r"\$(?:\{([^{}]*)\}|([A-Za-z_][A-Za-z0-9_]*))"
_TOKEN = r"\s*(?:(\d+)|([A-Za-z_][A-Za-z0-9_]*)|(//|[-+*()]))"
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
            raise ExpressionError(f"'{bad}' is not allowed: use whole numbers, arguments, + - * // and parentheses")
        number, name, op = m.groups()
        tokens.append(("num", number) if number else ("name", name) if name else ("op", op))
        pos = m.end()
    return tokens


def evaluate_expression(text: str, args: dict[str, Any]) -> int:
    """Evaluate integer arithmetic on ``args``; raises ExpressionError with a reason."""
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

    def atom(depth: int) -> int:
        if depth > 50:
            raise ExpressionError("the expression nests too deeply")
        token = peek()
        if token is None:
            raise ExpressionError("the expression ends too early")
        take()
        kind, value = token
        if kind == "num":
            return int(value)
        if kind == "name":
            if value not in args:
                raise ExpressionError(f"unknown argument '{value}'{_hint(value, args)}")
            arg = args[value]
            if not isinstance(arg, int) or isinstance(arg, bool):
                raise ExpressionError(f"argument '{value}' is {_clip(arg)}, not a whole number")
            if too_large(arg):
                raise ExpressionError(f"argument '{value}' is larger than {LIMIT_TEXT}")
            return arg
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

    def product(depth: int) -> int:
        result = atom(depth)
        while peek() in (("op", "*"), ("op", "//")):
            op = take()[1]
            right = atom(depth)
            if op == "*":
                result *= right
            elif right == 0:
                raise ExpressionError("division by zero")
            else:
                result //= right
        return result

    def sum_(depth: int) -> int:
        result = product(depth)
        while peek() in (("op", "+"), ("op", "-")):
            op = take()[1]
            right = product(depth)
            result = result + right if op == "+" else result - right
        return result

    result = sum_(0)
    if pos != len(tokens):
        raise ExpressionError(f"unexpected '{tokens[pos][1]}'")
    if too_large(result):
        raise ExpressionError(f"the result is larger than {LIMIT_TEXT}")
    return result


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

"""Receptive fields as people and scripts read them: the table's cell, CSV cells, the JSON axis."""

from __future__ import annotations

from collections.abc import Iterable
from fractions import Fraction
from typing import Any

from ..engine.receptive import AxisField, RowField
from ..model.geometry import frac_text


def _half(value: Fraction) -> str:
    """A start (a whole or a half) as an exact decimal: ``-0.5``, ``3``, ``499999999.5``."""
    if value.denominator == 1:
        return str(value.numerator)
    if value.denominator not in (2, 4, 8):
        return frac_text(value)
    digits = {2: 1, 4: 2, 8: 3}[value.denominator]  # 1/2, 1/4, 1/8 end after this many decimals
    scaled = abs(value.numerator) * (10**digits // value.denominator)
    whole, part = divmod(scaled, 10**digits)
    return f"{'-' if value < 0 else ''}{whole}.{str(part).rjust(digits, '0').rstrip('0')}"


def cell(field: RowField) -> str:
    """The table's text: ``427×427 /32``; ``5–6×5–6 /(1/4)``; ``0–3 /(1/2) ∅``; a flat row ``all``."""
    if not field.axes:
        return ""
    if field.axes[0].flat:
        return "all"
    sizes = "×".join(str(a.max) if a.min == a.max else f"{a.min}–{a.max}" for a in field.axes)
    shown = [(frac_text(a.jump) if a.jump is not None else "?") for a in field.axes]
    shown = [f"({j})" if "/" in j else j for j in shown]  # /(1/2), not /1/2
    jump = shown[0] if len(set(shown)) == 1 else "×".join(shown)
    mark = " ∅" if any(a.empty for a in field.axes) else ""
    return f"{sizes} /{jump}{mark}"


def csv_cells(field: RowField) -> list[str]:
    """``rf_min``, ``rf_max``, ``jump``, ``start``: one value per axis, joined by x (``427x427``)."""

    def join(values: Iterable[object]) -> str:
        return "x".join("" if v is None else str(v) for v in values)

    return [
        join(a.min for a in field.axes),
        join(a.max for a in field.axes),
        join(None if a.jump is None else frac_text(a.jump) for a in field.axes),
        join(None if a.start is None else _half(a.start) for a in field.axes),
    ]


def axis_document(field: AxisField) -> dict[str, Any]:
    """One axis in JSON: ``{"axis": "H", "min": 427, "max": 427, "jump": "32", "start": "-0.5", ...}``."""
    doc: dict[str, Any] = {
        "axis": field.axis,
        "min": field.min,
        "max": field.max,
        "jump": None if field.jump is None else frac_text(field.jump),
        "start": None if field.start is None else _half(field.start),
        "empty": field.empty,
        "flat": field.flat,
    }
    if field.jumps:
        doc["jumps"] = [frac_text(j) for j in field.jumps]
    return doc

"""``convcalc sweep``: one spec evaluated for every combination of argument values and input sizes.

The spec's text is read once and parsed once per combination of argument values (the sizes
share it); each variant is one evaluation, so a thousand variants of MobileNetV2 take seconds
in one process.  ``--where`` keeps the variants whose figures pass comparisons joined by
``and``/``or`` (parsed here, never evaluated by Python); ``--pareto`` keeps those that no other
variant beats on every named figure, all minimised.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Mapping, Sequence
from fractions import Fraction
from typing import Any

from ..base.errors import SpecError
from ..base.record import Record
from ..base.text import suggest, visible
from ..model.geometry import Shape
from ..spec.loader import load
from ..spec.parser import Spec, parse_count, parse_spec
from .evaluate import evaluate

MOST_VARIANTS = 100_000  # combinations: a sweep past this is refused before any is evaluated
MOST_ROWS = 500_000  # rows evaluated in all (about 10 s here): past this, refused after the first variant


class Variant(Record):
    settings: tuple[tuple[str, Any], ...]  # the varied args, in --vary's order
    input: Shape
    output: Shape
    params: int
    buffers: int
    macs: int
    flags: int  # unaccepted flags
    warnings: int  # of which warnings
    train_peak: int | None = None  # a training step's peak bytes, with --train

    @property
    def flops(self) -> int:
        return 2 * self.macs

    def figure(self, name: str) -> int:
        value = getattr(self, name if name != "peak" else "train_peak")
        if value is None:
            raise SpecError("the figure 'peak' needs --train")
        return int(value)


FIGURES = ("params", "buffers", "macs", "flops", "flags", "warnings", "peak")


class Sweep(Record):
    path: str  # the spec as the command line named it
    names: tuple[str, ...]  # the varied args
    train: str | None  # the optimizer of the training peak column, if any
    variants: tuple[Variant, ...]
    axes: tuple[str, str] | None = None  # --plot's, checked by axes_of (None: its default)


def values_of(name: str, text: str) -> list[str]:
    """``--vary name=0.5,0.75,1`` or ``name=160..320/32`` (both ends included): the values as text."""
    text = text.strip()
    ranged = re.fullmatch(r"([-+]?[0-9.]+)\s*\.\.\s*([-+]?[0-9.]+)\s*/\s*([0-9.]+)", text)
    if ranged:
        start, stop, step = (Fraction(v) for v in ranged.groups())
        if step <= 0 or stop < start:
            raise SpecError(f"--vary {visible(name)}={visible(text)}: a range is FIRST..LAST/STEP with LAST ≥ FIRST and STEP > 0")
        count = int((stop - start) / step) + 1
        if count > MOST_VARIANTS:
            raise SpecError(f"--vary {visible(name)}: {count:,} values is more than the {MOST_VARIANTS:,} a sweep takes")
        numbers = [start + i * step for i in range(count)]
        return [str(n.numerator) if n.denominator == 1 else str(float(n)) for n in numbers]
    values = [v.strip() for v in text.split(",")]
    if not text or any(not v for v in values):
        raise SpecError(f"--vary {visible(name)}={visible(text)}: give values as v1,v2,… or FIRST..LAST/STEP")
    return values


def sizes_of(text: str, spec: Spec) -> list[str]:
    """``--sizes 160,192`` or ``160..320/32``: each a size on every spatial axis with the spec's
    channels, or a full shape such as ``160x160x3``; returned as input shapes (text)."""
    dims = spec.input or ()
    out = []
    for value in values_of("sizes", text) if ".." in text else [v.strip() for v in text.split(",")]:
        if re.fullmatch(r"[0-9]+", value):
            if len(dims) < 2:
                raise SpecError(f"--sizes {visible(value)}: a bare size needs a spec with a spatial input, "
                                f"not {'x'.join(map(str, dims)) or 'none'}; give a full shape such as 160x160x3")
            out.append("x".join([value] * (len(dims) - 1) + [str(dims[-1])]))
        else:
            out.append(value)
    return out


def sweep(
    text: str | bytes,
    vary: Sequence[tuple[str, str]],
    sizes: str | None = None,
    settings: Mapping[str, str] | None = None,
    batch: int | None = None,
    train: str | None = None,
) -> list[Variant]:
    """Every combination of ``vary``'s values (and of ``sizes``), evaluated; raises SpecError."""
    base = dict(settings or {})
    names = [name for name, _ in vary]
    if len(set(names)) != len(names):
        raise SpecError(f"--vary {visible(next(n for n in names if names.count(n) > 1))} is given twice")
    for name in names:
        if name in base:
            raise SpecError(f"{visible(name)} is both --set and --vary: keep one")
    lists = [values_of(name, values) for name, values in vary]
    combinations = 1
    for values in lists:
        combinations *= len(values)
    declared = parse_spec(load(text), settings=base).args or {}
    for name in names:
        if name not in declared:
            known = f"its args: {', '.join(declared)}" if declared else "it declares none: a top-level `args:` does"
            raise SpecError(f"--vary {visible(name)}: the spec has no argument '{visible(name)}' ({known}){suggest(name, declared)}")
    firsts = {n: v[0] for n, v in zip(names, lists)}
    first = parse_spec(load(text), settings={**base, **firsts})  # (parse_spec substitutes in place: a fresh load each)
    inputs: list[str | None] = [*sizes_of(sizes, first)] if sizes else [None]
    if combinations * len(inputs) > MOST_VARIANTS:
        raise SpecError(f"{combinations * len(inputs):,} variants is more than the {MOST_VARIANTS:,} a sweep evaluates")
    variants: list[Variant] = []
    for chosen in itertools.product(*lists):
        setting = dict(zip(names, chosen))
        spec = first if setting == firsts else parse_spec(load(text), settings={**base, **setting})
        shown = tuple((name, spec.args[name] if spec.args else value) for name, value in setting.items())
        for shape in inputs:
            try:
                report = evaluate(spec, input=shape, batch=batch)
            except SpecError as err:
                where = ", ".join([*(f"{n}={v}" for n, v in shown), *([f"input {shape}"] if shape else [])])
                raise SpecError(f"with {where}: {err.message}", err.mark) from None
            if not variants and len(report.rows) * combinations * len(inputs) > MOST_ROWS:
                total = len(report.rows) * combinations * len(inputs)
                raise SpecError(f"the sweep would evaluate about {total:,} rows ({combinations * len(inputs):,} variants of "
                                f"{len(report.rows):,}), more than the {MOST_ROWS:,} it takes: vary fewer values")
            unaccepted = [f for f in report.flags if not f.accepted]
            peak = None
            if train:
                from .training import training  # start-up: only with --train

                peak = training(report, train).peak_bytes
            variants.append(Variant(shown, report.input, report.output, report.totals.params, report.totals.buffers,
                                    report.totals.macs, len(unaccepted), sum(f.severity == "warning" for f in unaccepted),
                                    peak))
    return variants


# --- --where: comparisons joined by and / or ------------------------------------------------

_WHERE_TOKEN = r"\s*(?:(and|or)\b|([A-Za-z_]+)\s*(<=|>=|==|!=|<|>)\s*([0-9][0-9_.,]*\s*(?:[kKMGT]|[KMGT]iB)?)(?![A-Za-z]))"


def where_test(text: str) -> Callable[[Variant], bool]:
    """``macs <= 300M and params < 4M or flags == 0``: ``and`` binds tighter than ``or``."""
    pos = 0
    alternatives: list[list[tuple[str, str, Fraction]]] = []
    current: list[tuple[str, str, Fraction]] = []
    expecting_comparison = True
    text = text.strip()
    while pos < len(text):
        m = re.compile(_WHERE_TOKEN).match(text, pos)
        if not m or (m.group(1) is None) != expecting_comparison:
            bad = text[pos:].strip()[:20]
            raise SpecError(f"--where: '{visible(bad)}' is not FIGURE OP NUMBER (figures: {', '.join(FIGURES)}; "
                            f"< <= == != >= >; K/M/G/T suffixes) joined by and/or")
        word, figure, op, number = m.groups()
        if word == "or":
            alternatives.append(current)
            current = []
        elif figure is not None:
            if figure not in FIGURES:
                raise SpecError(f"--where: unknown figure '{visible(figure)}'{suggest(figure, FIGURES)} (figures: {', '.join(FIGURES)})")
            current.append((figure, op, parse_count(number.strip(), None, f"--where {figure}")))
        expecting_comparison = word is not None
        pos = m.end()
    if expecting_comparison:
        raise SpecError("--where: a comparison is missing (FIGURE OP NUMBER, such as macs <= 300M)")
    alternatives.append(current)
    compare: dict[str, Callable[[int, Fraction], bool]] = {
        "<": lambda a, b: a < b, "<=": lambda a, b: a <= b, "==": lambda a, b: a == b,
        "!=": lambda a, b: a != b, ">=": lambda a, b: a >= b, ">": lambda a, b: a > b,
    }

    def test(v: Variant) -> bool:
        return any(all(compare[op](v.figure(f), n) for f, op, n in conj) for conj in alternatives)

    return test


def pareto(variants: list[Variant], figures: Sequence[str]) -> list[Variant]:
    """The variants that no other is at most on every figure and below on one (all minimised)."""
    for f in figures:
        if f not in FIGURES:
            raise SpecError(f"--pareto: unknown figure '{visible(f)}'{suggest(f, FIGURES)} (figures: {', '.join(FIGURES)})")
    points = [tuple(v.figure(f) for f in figures) for v in variants]
    ranked = sorted(range(len(points)), key=lambda i: points[i])
    kept: list[int] = []
    for i in ranked:  # in sorted order, a point is dominated only by one kept before it
        if not any(all(a <= b for a, b in zip(points[k], points[i])) and points[k] != points[i] for k in kept):
            kept.append(i)
    return [variants[i] for i in sorted(kept)]


# --- --plot: the variants as series of points ------------------------------------------------

AXES = ("params", "buffers", "macs", "flops", "peak", "size")  # and the varied args
FRONT = ("params", "macs")  # the front marked when an axis is not a figure


class Point(Record):
    x: Fraction
    y: Fraction
    front: bool  # on the Pareto front: no variant is at most on both figures and below on one


class Series(Record):
    label: str  # the settings the series holds fixed: "width=0.5, size=224", or "" for the only one
    points: tuple[Point, ...]  # in the order of x


class Chart(Record):
    x: str  # an axis: a figure, "size" (the input's first spatial size) or a varied arg
    y: str
    front: tuple[str, str]  # the two figures the front is on
    series: tuple[Series, ...]


def _axis_value(v: Variant, axis: str, names: Sequence[str]) -> Fraction:
    if axis == "size":
        return Fraction(v.input.dims[0])
    if axis in names:
        value = dict(v.settings)[axis]
        if isinstance(value, bool) or not isinstance(value, (int, Fraction, float)):
            raise SpecError(f"--axes: the arg '{visible(axis)}' is not a number ({visible(str(value))}), so it cannot be an axis")
        return Fraction(value)
    return Fraction(v.figure(axis))


def axes_of(text: str | None, sweep: Sweep) -> tuple[str, str]:
    """``--axes X,Y`` checked against the sweep; by default MACs against the input size when sizes
    vary, else against params."""
    if text is None:
        sizes = {v.input.dims[:1] for v in sweep.variants}
        return ("size" if len(sizes) > 1 else "params", "macs")
    parts = [p.strip() for p in text.split(",")]
    known = [*AXES, *sweep.names]
    if len(parts) != 2 or not all(parts):
        raise SpecError(f"--axes {visible(text)}: give two axes as X,Y, such as size,macs (axes: {', '.join(known)})")
    for part in parts:
        if part not in known:
            raise SpecError(f"--axes: unknown axis '{visible(part)}'{suggest(part, known)} (axes: {', '.join(known)})")
        if part == "peak" and not sweep.train:
            raise SpecError("--axes: the figure 'peak' needs --train")
    return parts[0], parts[1]


def chart(sweep: Sweep, axes: tuple[str, str]) -> Chart:
    """The variants as series: a series is the variants that differ only in the x axis (only in
    the input size when x is a figure), its points in the order of x; the front is on the two
    axes when both are figures, else on params and MACs."""
    x, y = axes
    names = list(sweep.names)
    front_on = (x, y) if x in FIGURES and y in FIGURES else FRONT
    on_front = {id(v) for v in pareto(list(sweep.variants), front_on)}
    groups: dict[tuple[tuple[str, Any], ...], list[Variant]] = {}
    for v in sweep.variants:
        key = tuple((n, value) for n, value in v.settings if n != x)
        if x in names and len({u.input.dims for u in sweep.variants}) > 1:
            key += (("size", v.input.dims[0]),)
        groups.setdefault(key, []).append(v)
    series = []
    for key, members in groups.items():
        points = sorted((Point(_axis_value(v, x, names), _axis_value(v, y, names), id(v) in on_front) for v in members),
                        key=lambda p: (p.x, p.y))
        label = ", ".join(f"{n}={_shown(value)}" for n, value in key)
        series.append(Series(label, tuple(points)))
    return Chart(x, y, front_on, tuple(series))


def _shown(value: Any) -> str:
    if isinstance(value, Fraction):
        return str(value.numerator) if value.denominator == 1 else f"{float(value):g}"
    return visible(value) if isinstance(value, str) else str(value)

"""Walk a spec with exact arithmetic and build the :class:`Report`.

The walk names every layer (explicit names, else kind plus a running number per kind in its
scope), applies each kind's rule to the current shape, collects flags with their severity,
and checks every ``expect``.  The report holds raw integers and shapes only; renderers
humanise them.  An impossible shape raises :class:`SpecError` at the layer's line.
"""

from __future__ import annotations

from typing import NamedTuple

from collections.abc import Sequence
from fractions import Fraction

from .errors import Mark, SpecError
from .kinds import Outcome
from .shapes import LayerError, Shape, axis_names, frac_text
from .spec import DTYPE_BYTES, Expect, Layer, Spec, parse_shape


class Flag(NamedTuple):
    """A non-integer size, attributed to a layer and an axis."""

    layer: str
    axis: str
    exact: Fraction
    used: int
    severity: str
    unread: int
    formula: str
    reason: str
    accepted: bool
    mark: Mark

    def describe(self) -> str:
        note = " (accepted: allow_inexact)" if self.accepted else ""
        return f"{self.layer}: {self.axis}: {self.formula} → PyTorch uses {self.used}; {self.reason}{note}"

    @property
    def exact_text(self) -> str:
        return frac_text(self.exact)


class Row(NamedTuple):
    """One leaf layer's figures, for the whole batch."""

    index: int
    name: str
    kind: str
    summary: str
    input: Shape
    output: Shape
    params: int
    buffers: int
    macs: int
    flags: tuple[Flag, ...]
    mark: Mark

    @property
    def flops(self) -> int:
        return 2 * self.macs


class Failure(NamedTuple):
    """An ``expect`` that did not hold."""

    message: str
    mark: Mark | None


class Totals(NamedTuple):
    params: int
    buffers: int
    macs: int
    flops: int
    activation_bytes: int
    param_bytes: int


class Report(NamedTuple):
    name: str | None
    input: Shape
    output: Shape
    batch: int
    dtype: str
    rows: tuple[Row, ...]
    totals: Totals
    flags: tuple[Flag, ...]
    failures: tuple[Failure, ...]
    has_expect: bool

    def failing_flags(self, strict: bool = False) -> tuple[Flag, ...]:
        """The flags that fail a check: unaccepted warnings; with ``strict``, every flag."""
        return tuple(f for f in self.flags if strict or (f.severity == "warning" and not f.accepted))


def shape_of(dims: Sequence[int]) -> Shape:
    """``(28, 28, 1)`` → 28×28 spatial, 1 channel; a single number is a flat vector."""
    return Shape((), dims[0]) if len(dims) == 1 else Shape(tuple(dims[:-1]), dims[-1])


def _count(value: Fraction) -> str:
    return f"{int(value):,}" if value.denominator == 1 else f"{float(value):,.6g}"


def check_expect(expect: Expect, output: Shape, figures: dict[str, int], what: str) -> list[Failure]:
    failures = []
    if expect.output is not None and expect.output != output.dims:
        failures.append(Failure(f"{what}output is {output}, expected {shape_of(expect.output)}", expect.output_mark))
    for figure, op, value, mark in expect.figures:
        got = figures[figure]
        if not {"==": got == value, "<=": got <= value, ">=": got >= value}[op]:
            words = {"==": "expected", "<=": "expected at most", ">=": "expected at least"}[op]
            failures.append(Failure(f"{what}{figure} is {got:,}, {words} {_count(value)}", mark))
    return failures


def default_names(layers: Sequence[Layer]) -> list[str]:
    """Explicit names, else kind + running number per kind (counting every layer of that kind)."""
    counts: dict[str, int] = {}
    names: list[str] = []
    seen: dict[str, Mark] = {}
    for layer in layers:
        counts[layer.kind.name] = counts.get(layer.kind.name, 0) + 1
        name = layer.name or f"{layer.kind.name}{counts[layer.kind.name]}"
        if name in seen:
            first = seen[name]
            raise SpecError(f"two layers are named '{name}' (the first at line {first.line}): rename one", layer.mark)
        seen[name] = layer.mark
        names.append(name)
    return names


def evaluate(spec: Spec, input: Sequence[int] | str | None = None, batch: int | None = None) -> Report:
    """Evaluate ``spec`` for its own input, or for ``input`` (``"256x256x3"`` or a tuple) if given."""
    if input is not None:
        dims = parse_shape(input, None, "--input") if isinstance(input, str) else tuple(input)
    elif spec.input is not None:
        dims = spec.input
    else:
        raise SpecError("the spec has no input: add `input: 224x224x3` (H×W×C) or pass --input", spec.mark)
    batch = batch or spec.batch
    x = first = shape_of(dims)
    if len(dims) > 1 and not 1 <= x.rank <= 3:
        raise SpecError(f"input {x} has {x.rank} spatial axes; convcalc handles 1 to 3", spec.input_mark)
    rows: list[Row] = []
    failures: list[Failure] = []
    for layer, name in zip(spec.layers, default_names(spec.layers)):
        try:
            layer.kind.check_input(x)
            outcome: Outcome = layer.kind.apply(layer.options, x)
        except LayerError as err:
            raise SpecError(f"{name} ({layer.spelling} on {x}): {err}", layer.mark) from None
        axes = axis_names(x.rank)
        flags = tuple(
            Flag(name, axes[f.axis], f.exact, f.used, f.severity, f.unread, f.formula, f.reason, layer.allow_inexact,
                 layer.mark)
            for f in outcome.flags
        )
        row = Row(len(rows) + 1, name, layer.kind.name, layer.kind.summary(layer.options), x, outcome.output,
                  outcome.params, outcome.buffers, outcome.macs * batch, flags, layer.mark)
        rows.append(row)
        if layer.expect is not None:
            figures = {"params": row.params, "buffers": row.buffers, "macs": row.macs, "flops": row.flops,
                       "activation_bytes": row.output.numel * batch * DTYPE_BYTES[spec.dtype],
                       "param_bytes": row.params * DTYPE_BYTES[spec.dtype]}
            failures += check_expect(layer.expect, row.output, figures, f"{name}: ")
        x = outcome.output
    size = DTYPE_BYTES[spec.dtype]
    params = sum(r.params for r in rows)
    macs = sum(r.macs for r in rows)
    totals = Totals(params, sum(r.buffers for r in rows), macs, 2 * macs,
                    sum(r.output.numel for r in rows) * batch * size, params * size)
    if spec.expect is not None:
        failures += check_expect(spec.expect, x, {f: getattr(totals, f) for f in Totals._fields}, "")
    flags = tuple(f for r in rows for f in r.flags)
    return Report(spec.name, first, x, batch, spec.dtype, tuple(rows), totals, flags, tuple(failures),
                  spec.expect is not None or any(layer.expect for layer in spec.layers))

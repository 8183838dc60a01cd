"""``convcalc explain``: each layer's figures derived step by step, with the numbers substituted.

The derivations come from what the layer is made of, not from a second set of formulas: the
output size from the kind's per-axis operations (:meth:`Kind.axis_ops`), run on the row's input
as the evaluator runs them; the parameters and MACs from the torch modules the kind names
(:meth:`Kind.torch`), each written out with its own shapes.  The tests hold every derivation's
result to the figures ``show`` gives, kind by kind.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from ..base.errors import SpecError
from ..base.record import Record
from ..base.text import suggest
from ..model.autograd import module_base, module_shapes
from ..model.geometry import (
    AxisOp,
    Crop,
    Fixed,
    Scale,
    Shape,
    Shift,
    Times,
    Transposed,
    Window,
    axis_names,
    frac_text,
    run_axis_op,
)
from ..model.kinds import TorchModule
from .evaluate import Report, Row

TYPE_CHECKING = False
if TYPE_CHECKING:
    from .receptive import AxisField, Fields


class Explanation(Record):
    """One row's derivation: lines of text, each ending in the number it derives."""

    row: Row
    sizes: tuple[str, ...]  # per spatial axis, each operation on it
    params: tuple[str, ...]  # per module with parameters
    macs: tuple[str, ...]  # per module with products, for the whole batch
    params_total: int  # what the lines add up to (the tests compare it with the row's)
    macs_total: int
    flags: tuple[str, ...]  # a flagged size: the exact value and what is cut off
    fields: tuple[str, ...] = ()  # per axis, the receptive field on the input before and after


def explain(report: Report, names: Sequence[str] = ()) -> list[Explanation]:
    """The rows named (by path, or all), each derived; an unknown name raises :class:`SpecError`."""
    rows = list(report.rows)
    if names:
        by_name = {r.name: r for r in rows}
        missing = [n for n in names if n not in by_name]
        if missing:
            raise SpecError(f"no layer is named '{missing[0]}'{suggest(missing[0], list(by_name))}")
        rows = [by_name[n] for n in names]
    from .receptive import receptive_fields  # start-up: explain only

    fields = receptive_fields(report)
    out = []
    for r in rows:
        before = report.steps[r.number - 1].inputs[0] if report.steps[r.number - 1].inputs else 0
        out.append(explain_row(report, r)._replace(fields=field_lines(fields, before, r.number)))
    return out


def _size(field: AxisField) -> str:
    return str(field.max) if field.min == field.max else f"{field.min}–{field.max}"


def field_lines(fields: Fields, before: int, row: int) -> tuple[str, ...]:
    """``RF H: 3 → 5, jump 1 → 1``: the receptive field on the network's input, per axis, of the
    row's input (row ``before``; 0 is the input itself: one cell, jump 1) and of its output."""
    after = fields.rows[row - 1].axes
    if not after or after[0].flat:
        return ()
    first = fields.rows[before - 1].axes if before else ()
    lines = []
    for k, a in enumerate(after):
        b = first[k] if k < len(first) and not first[k].flat else None
        old_size, old_jump = (_size(b), frac_text(b.jump) if b.jump is not None else "?") if b else ("1", "1")
        new_jump = frac_text(a.jump) if a.jump is not None else "?"
        lines.append(f"RF {a.axis}: {old_size} → {_size(a)}, jump {old_jump} → {new_jump}")
    return tuple(lines)


def explain_row(report: Report, row: Row) -> Explanation:
    step = report.steps[row.number - 1]
    flags = tuple(f"{f.axis}: {f.exact_text} → {f.used} ({f.severity}): {f.reason}" for f in row.flags)
    if step.layer is None:  # a join: its shapes only
        joined = (f"{' + '.join(str(s) for s in row.inputs)} → {row.output} ({row.kind})",)
        return Explanation(row, joined, (), (), 0, 0, flags)
    layer = step.layer
    sizes = axis_lines(layer.kind.axis_ops(layer.options, row.input.rank), row.input)
    modules = layer.kind.torch(layer.options, row.input) if layer.kind.has_torch else []
    params: list[str] = []
    macs: list[str] = []
    params_total = macs_total = 0
    shape = row.input
    for module, out in zip(modules, module_shapes(modules, row.input, row.output)):
        p = module_params(module, shape, out)
        if p is not None:
            params.append(p[0])
            params_total += p[1]
        m = module_macs(module, shape, out, report.batch)
        if m is not None:
            macs.append(m[0])
            macs_total += m[1]
        shape = out
    return Explanation(row, sizes, tuple(params), tuple(macs), params_total, macs_total, flags)


def axis_lines(ops: tuple[tuple[AxisOp, ...], ...], x: Shape) -> tuple[str, ...]:
    """Each spatial axis's size, operation by operation: ``H: ⌊(28 + 0 + 0 − 1·(5 − 1) − 1)/1⌋ + 1 = 24``."""
    lines = []
    names = axis_names(x.rank)
    for axis, (name, axis_ops) in enumerate(zip(names, ops)):
        size = x.spatial[axis]
        for op in axis_ops:
            out, _ = run_axis_op(op, axis, name, size)
            lines.append(f"{name}: {op_text(op, size)} = {out}")
            size = out
    return tuple(lines)


def op_text(op: AxisOp, size: int) -> str:
    if isinstance(op, Window):
        before, after = op.padding(size)
        floor, ceil = ("⌈", "⌉") if op.ceil_mode else ("⌊", "⌋")
        same = "same padding: " if op.same else ""
        return f"{same}{floor}({size} + {before} + {after} − {op.dilation}·({op.kernel} − 1) − 1)/{op.stride}{ceil} + 1"
    if isinstance(op, Transposed):
        if op.same:
            return f"{size}·{op.stride}"
        return (f"({size} − 1)·{op.stride} − {op.before} − {op.after} + {op.dilation}·({op.kernel} − 1) "
                f"+ {op.output_padding} + 1")
    if isinstance(op, Scale):
        return f"⌊{size}·{op.scale}⌋"
    if isinstance(op, Fixed):
        return f"fixed at {op.size}, whatever the input ({size})"
    if isinstance(op, Shift):
        return f"{size} + {op.before} + {op.after}"
    if isinstance(op, Crop):
        return f"{size} cropped to its centre"
    if isinstance(op, Times):
        return f"{size}·{op.factor}"
    raise TypeError(f"no text for {op!r}")


def _kernel(args: dict[str, Any], rank: int) -> tuple[int, ...]:
    k = args["kernel_size"]
    return tuple(k) if isinstance(k, tuple) else (int(k),) * rank


def module_params(module: TorchModule, x: Shape, y: Shape) -> tuple[str, int] | None:
    """``Conv2d: (5·5·1 + 1)·10 = 260``: a module's parameters from its shapes, or None."""
    cls, args = module
    base = module_base(cls)
    bias = bool(args.get("bias", True))
    if base in ("Conv", "ConvTranspose"):
        k = _kernel(args, max(x.rank, 1))
        cin, cout, g = int(args["in_channels"]), int(args["out_channels"]), int(args.get("groups", 1))
        taps = "·".join(map(str, k))
        per = f"{taps}·{cin}/{g}" if g > 1 else f"{taps}·{cin}"
        n = cout * math.prod(k) * cin // g + (cout if bias else 0)
        return f"{cls}: ({per} + {int(bias)})·{cout} = {n:,}" if base == "Conv" else (
            f"{cls}: {taps}·{cin}·{cout}/{g} + {cout if bias else 0} = {n:,}"), n
    if cls == "Linear":
        cin, cout = int(args["in_features"]), int(args["out_features"])
        n = (cin + int(bias)) * cout
        return f"Linear: ({cin} + {int(bias)})·{cout} = {n:,}", n
    if cls == "SelfAttention":
        c = x.channels
        n = 4 * c * c + (4 * c if bias else 0)
        return f"attention: 4·{c}² + {4 if bias else 0}·{c} (q, k, v and output projections) = {n:,}", n
    c = x.channels
    if base == "BatchNorm":
        return f"{cls}: 2·{c} (scale and shift; and 2·{c} running statistics as buffers) = {2 * c:,}", 2 * c
    affine = {"GroupNorm": args.get("affine", True), "LayerNorm": args.get("elementwise_affine", True),
              "ChannelLayerNorm": args.get("elementwise_affine", True)}
    if base == "InstanceNorm":
        n = 2 * c if args.get("affine") else 0
        return (f"{cls}: 2·{c} = {n:,}", n) if n else None
    if cls in affine:
        if not affine[cls]:
            return None
        parts = 1 + int(bool(args.get("bias", True))) if cls != "GroupNorm" else 2
        return f"{cls}: {parts}·{c} = {parts * c:,}", parts * c
    if cls in ("LayerScale", "ClassToken"):
        return f"{cls}: {c} = {c:,}", c
    if cls == "PositionEmbedding":
        t = x.spatial[0] if x.spatial else 1
        return f"PositionEmbedding: {t}·{c} = {t * c:,}", t * c
    return None


def module_macs(module: TorchModule, x: Shape, y: Shape, batch: int) -> tuple[str, int] | None:
    """``Conv2d: 24·24·10 outputs · 5·5·1 = 144,000``: a module's products for the batch, or None."""
    cls, args = module
    base = module_base(cls)
    times = f"{batch}·" if batch > 1 else ""
    if base in ("Conv", "ConvTranspose"):
        k = _kernel(args, max(x.rank, 1))
        cin, cout, g = int(args["in_channels"]), int(args["out_channels"]), int(args.get("groups", 1))
        taps = "·".join(map(str, k))
        if base == "Conv":
            n = batch * y.numel * math.prod(k) * cin // g
            return f"{cls}: {times}{y.numel:,} outputs · {taps}·{cin}{f'/{g}' if g > 1 else ''} = {n:,}", n
        n = batch * x.numel * math.prod(k) * cout // g
        return f"{cls}: {times}{x.numel:,} inputs · {taps}·{cout}{f'/{g}' if g > 1 else ''} = {n:,}", n
    if cls == "Linear":
        cin, cout = int(args["in_features"]), int(args["out_features"])
        rows = x.numel // x.channels if x.tokens else 1
        n = batch * rows * cin * cout
        return f"Linear: {times}{rows:,} row{'' if rows == 1 else 's'} · {cin}·{cout} = {n:,}", n
    if cls == "SelfAttention":
        t, c = x.spatial[0], x.channels
        n = batch * (4 * t * c * c + 2 * t * t * c)
        return f"attention: {times}(4·{t}·{c}² projections + 2·{t}²·{c} for q·kᵀ and the weights times v) = {n:,}", n
    return None


__all__ = ["Explanation", "explain"]

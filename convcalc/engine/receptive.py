"""Receptive fields: which network-input positions each layer's outputs depend on, per axis.

``show --rf`` reports, for every row and spatial axis, the field size (its minimum and maximum
over the output positions), the effective stride ("jump") and the centre of the first output's
field ("start") on the input grid.  For a chain of windows (conv, pool) these are the standard
recurrences (Araujo, Norris and Sim, "Computing Receptive Fields of Convolutional Neural
Networks", Distill 2019), dilation included::

    r_out = r + d(k − 1)·j      j_out = j·s      start_out = start + (d(k − 1)/2 − before)·j

They are not computed from those recurrences, though.  After a transposed convolution or an
upsample the field depends on the output position (periodically), and a transposed conv whose
kernel is smaller than its stride leaves some outputs with no input at all; a fractional-stride
recurrence is off by several pixels on such chains.  So every row is computed from index sets:
for each output position ``q`` the hull ``[lo, hi]`` of the network-input positions it depends
on, on the *unbounded* integer grid, where padding positions are positions too (this is the
convention of the recurrences: the field of a corner output hangs over the edge).  The sizes are
the report's concrete ones, so this is exact and costs about size × kernel per row and axis.

How each op maps an output position to the positions it reads (``sources``):

* window (conv, pool): ``q·s − before + d·m`` for each tap ``m < k`` (``same`` resolved for the
  size at hand);
* transposed conv: the inputs ``p`` with ``q = p·s − before + d·m`` for some tap ``m`` (none for
  some ``q`` when the kernel is shorter than the stride: an empty field);
* pad and crop shift positions; pixel shuffle reads ``q // r``;
* adaptive pools (and ``upsample`` in mode ``area``): PyTorch's bins
  ``[⌊q·in/out⌋, ⌈(q + 1)·in/out⌉)``; a global pool reads its whole input;
* upsample: PyTorch's own index arithmetic (``nearest``: ``⌊q·scale⁻¹⌋`` in single precision,
  ``nearest-exact``, and the linear modes' two (four for bicubic) neighbours with a non-zero
  weight, ``align_corners`` included), emulated down to its float32 rounding.  On the unbounded
  grid PyTorch's clamping at the edges is left out, which keeps the field periodic.

Joins (residual, concat, add) take the union of their inputs' fields per position, so branches
give the largest field; a ``fit: crop`` skip reads the earlier tensor at its crop offset, a
``fit: pad`` pads the current one.  Branches whose jumps differ are noted (the join reports the
first input's jump).  Rows after a flatten are flat: their field is the hull of every position
of the last spatial tensor, with no jump.

Axes are independent: a 2-D field is the product of its per-axis fields, which is exact for
chains; at a join, a branch whose field is empty along one axis still counts along the others.

:func:`positions` gives the per-position hulls themselves; with ``clip=True`` it gives what a
real run sees instead (positions outside each tensor are padding and depend on nothing, and the
upsample indices clamp as PyTorch clamps them): the set of input positions with a non-zero
gradient, as the tests check against torch.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Iterable, Sequence
from fractions import Fraction
from typing import Any, NamedTuple

from .evaluate import Report
from ..model.geometry import AxisOp, exact_scale, frac_text, Crop, Fixed, Scale, Shift, Times, Transposed, Window, axis_names, run_axis_op

Hull = tuple[int, int] | None  # [lo, hi] on the input grid, None: depends on no input position


class AxisField(NamedTuple):
    """One row's receptive field along one axis."""

    axis: str
    min: int  # the smallest field over the row's output positions (0 when some field is empty)
    max: int  # the largest
    jump: Fraction | None  # the effective stride on the input grid; None for a flat row
    start: Fraction | None  # centre of output 0's field; None when that field is empty
    empty: int = 0  # how many output positions along this axis have an empty field
    flat: bool = False  # a flat row: min = max = the hull of every position of the last spatial tensor
    jumps: tuple[Fraction, ...] = ()  # a join whose inputs' jumps differ: each input's


class RowField(NamedTuple):
    row: int  # the row number (1-based, as in the report)
    axes: tuple[AxisField, ...]


class Fields(NamedTuple):
    rows: tuple[RowField, ...]  # one per report row, in order
    notes: tuple[str, ...]


# --- PyTorch's upsampling index arithmetic -----------------------------------------------------


def f32(x: float) -> float:
    """Round a double to the nearest float32 (exact when x is already one)."""
    return float(struct.unpack("f", struct.pack("f", x))[0])


def _same(x: float) -> float:
    return x


def _floorf(x: float) -> int:
    """C's floorf on a value computed in double: converted to float first, as the kernels do."""
    return math.floor(f32(x))


class Upsampling(NamedTuple):
    """How an ``upsample`` layer picks its sources along one axis, for one input and output size."""

    mode: str
    align_corners: bool
    scale: float | None  # the scale_factor given (None with ``size``)
    size_in: int
    size_out: int
    double: bool  # the linear modes compute in the input's dtype: double for float64, else float

    def sources(self, q: int, clip: bool) -> list[int]:
        n, out = self.size_in, self.size_out
        if self.mode == "area":
            return _bins(q, n, out)
        if self.mode in ("nearest", "nearest-exact"):
            if self.mode == "nearest" and out == n:
                i = q
            elif self.mode == "nearest" and out == 2 * n:
                i = q >> 1
            else:
                scale = f32(1.0 / self.scale) if self.scale else f32(n / out)
                i = math.floor(f32(q * scale)) if self.mode == "nearest" else _floorf((q + 0.5) * scale)
            return [min(i, n - 1) if clip else i]
        if out == n:  # every mode copies when the size is kept
            return [q]
        rnd = _same if self.double else f32
        if self.align_corners:
            ratio = rnd((n - 1) / (out - 1)) if out > 1 else 0.0
            src = rnd(ratio * q)
        else:
            ratio = rnd(1.0 / self.scale) if self.scale else rnd(n / out)
            if self.mode == "bicubic":
                src = rnd(rnd(ratio * (q + 0.5)) - 0.5)
            else:  # one fused multiply-add in PyTorch's linear kernels: one rounding of the exact value
                src = rnd(float(Fraction(ratio) * (2 * q + 1) / 2 - Fraction(1, 2)))
        cubic = self.mode == "bicubic"
        if clip and not cubic and src < 0:
            src = 0.0
        i = _floorf(src)
        if clip:
            i = min(i, n - 1)
        t = rnd(src - i)
        if clip:
            t = min(max(t, 0.0), 1.0)
        if cubic:
            taps = [i] if t == 0 else [i - 1, i, i + 1, i + 2]
            return sorted({min(max(p, 0), n - 1) for p in taps}) if clip else taps
        found = [i] if rnd(1.0 - t) != 0 else []
        if t != 0:
            found.append(i + 1 if not clip or i < n - 1 else i)
        return found


def _bins(q: int, size_in: int, size_out: int) -> list[int]:
    """PyTorch's adaptive pooling bin: [⌊q·in/out⌋, ⌈(q + 1)·in/out⌉)."""
    start = (q * size_in) // size_out
    end = -((-(q + 1) * size_in) // size_out)
    return list(range(start, end))


def _transposed_before(op: Transposed) -> int:
    """Where output 0 sits on the full transposed output: the (before) padding cropped off."""
    if not op.same:
        return op.before
    reach = op.dilation * (op.kernel - 1) + 1
    return (reach - op.stride) // 2 if reach >= op.stride else 0


class Stage(NamedTuple):
    """One op of one row on one axis, with its concrete sizes."""

    op: AxisOp
    size_in: int
    size_out: int
    layer: Any  # the spec Layer

    def sources(self, q: int, clip: bool, double: bool) -> list[int]:
        op = self.op
        if isinstance(op, Window):
            before, _ = op.padding(self.size_in)
            base = q * op.stride - before
            return [base + op.dilation * m for m in range(op.kernel)]
        if isinstance(op, Transposed):
            t = q + _transposed_before(op)
            found = []
            for m in range(op.kernel - 1, -1, -1):
                u = t - op.dilation * m
                if u % op.stride == 0:
                    found.append(u // op.stride)
            return found
        if isinstance(op, Shift):
            return [q - op.before]
        if isinstance(op, Crop):
            return [q + (self.size_in - op.to) // 2]
        if isinstance(op, Times):
            return [q // op.factor]
        if isinstance(op, Fixed | Scale):
            interpolation = self.layer.kind.interpolation(self.layer.options)
            if interpolation is not None:
                scale = float(op.scale) if isinstance(op, Scale) else None
                mode, align_corners = interpolation
                up = Upsampling(mode, align_corners, scale, self.size_in, self.size_out, double)
                return up.sources(q, clip)
            return _bins(q, self.size_in, self.size_out)  # adaptive and global pools
        raise TypeError(f"unknown axis op {op!r}")

    def jump(self, j: Fraction) -> Fraction:
        op = self.op
        if isinstance(op, Window):
            return j * op.stride
        if isinstance(op, Transposed):
            return j / op.stride
        if isinstance(op, Times):
            return j / op.factor
        if isinstance(op, Scale | Fixed):
            interpolation = self.layer.kind.interpolation(self.layer.options)
            if interpolation is not None and interpolation[1] and self.size_out > 1:  # align_corners
                return j * Fraction(self.size_in - 1, self.size_out - 1)
            if interpolation is not None and isinstance(op, Scale) and interpolation[0] != "area":
                return j / exact_scale(op.scale)
            return j * Fraction(self.size_in, self.size_out)
        return j  # pad, crop


# --- the walk over the report ------------------------------------------------------------------


class Track(NamedTuple):
    """A tensor's per-position hulls on one axis: positions first .. first + len(hulls) − 1."""

    first: int
    hulls: list[Hull]

    def at(self, p: int) -> Hull:
        i = p - self.first
        return self.hulls[i] if 0 <= i < len(self.hulls) else None


def _union(hulls: Iterable[Hull]) -> Hull:
    lo = hi = None
    for h in hulls:
        if h is None:
            continue
        if lo is None or h[0] < lo:
            lo = h[0]
        if hi is None or h[1] > hi:
            hi = h[1]
    return None if lo is None or hi is None else (lo, hi)


class _Plan(NamedTuple):
    """How one row reads its inputs on one axis."""

    stages: tuple[Stage, ...]  # a layer's ops in order (empty: the size is kept, positions too)
    offsets: tuple[int, ...]  # a join: input k's position for output q is q + offsets[k]


def _plans(report: Report, axis: int) -> list[_Plan | None]:
    """Per row: how it maps positions, or None when its input is flat (or it flattens)."""
    plans: list[_Plan | None] = []
    for row, step in zip(report.rows, report.steps):
        if row.output.is_flat or row.input.is_flat or any(s.is_flat for s in row.inputs):
            plans.append(None)
            continue
        if step.layer is None:
            size = row.output.spatial[axis]
            fit = step.fit
            offsets = [0 if fit is None else fit.offset(k, _size(report, a, axis), size) for k, a in enumerate(step.inputs)]
            plans.append(_Plan((), tuple(offsets)))
            continue
        layer = step.layer
        ops = layer.kind.axis_ops(layer.options, row.input.rank)[axis]
        size, stages = row.input.spatial[axis], []
        name = axis_names(row.input.rank)[axis]
        for op in ops:
            out, _ = run_axis_op(op, axis, name, size)
            stages.append(Stage(op, size, out, layer))
            size = out
        plans.append(_Plan(tuple(stages), (0,)))
    return plans


def _size(report: Report, number: int, axis: int) -> int:
    shape = report.input if number == 0 else report.rows[number - 1].output
    return shape.spatial[axis]


def _spatial(report: Report, number: int) -> bool:
    shape = report.input if number == 0 else report.rows[number - 1].output
    return not shape.is_flat


class _Axis:
    """Every row's hulls on one axis (rows 0..N; row 0 is the network's input)."""

    def __init__(
        self,
        report: Report,
        axis: int,
        clip: bool,
        double: bool,
        upto: int | None = None,
        plans: Sequence[_Plan | None] | None = None,
    ) -> None:
        self.report, self.axis = report, axis
        last = len(report.rows) if upto is None else upto
        steps = report.steps[:last]
        plans = (_plans(report, axis) if plans is None else plans)[:last]
        count = last + 1
        # 1. backwards: which positions each tensor must be known at (its own, and what later rows read)
        need: list[tuple[int, int] | None] = [None] * count
        for number in range(count):
            if _spatial(report, number):
                need[number] = (0, _size(report, number, axis) - 1)
        # per row: per stage, its output positions [a, b] and each one's sources
        reads: list[list[tuple[int, int, list[list[int]]]]] = [[] for _ in range(count)]
        for number in range(last, 0, -1):
            plan, step = plans[number - 1], steps[number - 1]
            span = need[number]
            if plan is None or span is None:
                continue  # flat: a flatten reads its input's own positions, needed anyway
            lo, hi = span
            if not plan.stages:
                for source, offset in zip(step.inputs, plan.offsets):
                    self._widen(need, source, lo + offset, hi + offset)
                continue
            stored = []
            for stage in reversed(plan.stages):
                found = [stage.sources(q, clip, double) for q in range(lo, hi + 1)]
                stored.append((lo, hi, found))
                every = [p for f in found for p in f]
                lo, hi = (min(every), max(every)) if every else (0, -1)
            reads[number] = stored[::-1]
            if hi >= lo:
                self._widen(need, step.inputs[0], lo, hi)
        # 2. forwards: the hulls
        self.tracks: list[Track | None] = [None] * count
        self.flat: list[Hull] = [None] * count  # flat rows: the hull of everything
        first = need[0]
        if first is not None:
            n = _size(report, 0, axis)
            self.tracks[0] = Track(
                first[0], [(p, p) if not clip or 0 <= p < n else None for p in range(first[0], first[1] + 1)]
            )
        for number in range(1, count):
            plan, step = plans[number - 1], steps[number - 1]
            span = need[number]
            if plan is None or span is None:
                self.flat[number] = _union(self._whole(source) for source in step.inputs)
                continue
            lo, hi = span
            if plan.stages:
                track = self.tracks[step.inputs[0]] or Track(0, [])
                for stage, (a, _, found) in zip(plan.stages, reads[number]):
                    track = Track(a, [_union(map(track.at, f)) for f in found])
                    if clip:
                        track = self._mask(track, stage.size_out)
            else:
                inputs = [self.tracks[s] or Track(0, []) for s in step.inputs]
                track = Track(
                    lo,
                    [_union(t.at(q + off) for t, off in zip(inputs, plan.offsets)) for q in range(lo, hi + 1)],
                )
                if clip:
                    track = self._mask(track, _size(report, number, axis))
            self.tracks[number] = track

    @staticmethod
    def _widen(need: list[tuple[int, int] | None], number: int, lo: int, hi: int) -> None:
        have = need[number]
        need[number] = (lo, hi) if have is None else (min(have[0], lo), max(have[1], hi))

    @staticmethod
    def _mask(track: Track, size: int) -> Track:
        return Track(track.first, [h if 0 <= track.first + i < size else None for i, h in enumerate(track.hulls)])

    def _whole(self, number: int) -> Hull:
        """Everything a tensor depends on: its flat hull, or the union over its own positions."""
        track = self.tracks[number]
        if track is None:
            return self.flat[number]
        n = _size(self.report, number, self.axis)
        return _union(track.at(p) for p in range(n))

    def positions(self, number: int) -> list[Hull]:
        """The hulls of a row's output positions 0..size − 1 (a flat row: one hull)."""
        track = self.tracks[number]
        if track is None:
            return [self.flat[number]]
        return [track.at(p) for p in range(_size(self.report, number, self.axis))]


def _jumps(report: Report, plans: Sequence[_Plan | None]) -> tuple[list[Fraction | None], list[tuple[Fraction, ...]]]:
    """Each tensor's effective stride on the input grid (row 0: 1), and notes on joins that disagree."""
    jumps: list[Fraction | None] = [Fraction(1) if _spatial(report, 0) else None]
    disagree: list[tuple[Fraction, ...]] = [()]
    for row, step, plan in zip(report.rows, report.steps, plans):
        found = [jumps[s] for s in step.inputs]
        if plan is None or any(j is None for j in found):
            jumps.append(None)
            disagree.append(())
            continue
        j = found[0]
        assert j is not None
        for stage in plan.stages:
            j = stage.jump(j)
        jumps.append(j)
        distinct = {f for f in found if f is not None}
        disagree.append(tuple(f for f in found if f is not None) if len(distinct) > 1 else ())
    return jumps, disagree


def receptive_fields(report: Report, double: bool | None = None) -> Fields:
    """Every row's receptive field on every spatial axis of the network's input.

    ``double``: compute the linear upsampling modes' indices in double precision (PyTorch does
    for float64 tensors); by default, when the spec's dtype is float64.
    """
    if double is None:
        double = report.dtype == "float64"
    rank = report.input.rank
    names = axis_names(rank)
    per_axis: list[list[AxisField | None]] = []
    notes: list[str] = []
    for axis in range(rank):
        plans = _plans(report, axis)
        walk = _Axis(report, axis, False, double, plans=plans)
        jumps, disagree = _jumps(report, plans)
        fields: list[AxisField | None] = []
        for number in range(1, len(report.rows) + 1):
            row = report.rows[number - 1]
            hulls = walk.positions(number)
            sizes = [h[1] - h[0] + 1 for h in hulls if h is not None]
            empty = len(hulls) - len(sizes)
            first = hulls[0]
            start = None if first is None else Fraction(first[0] + first[1], 2)
            flat = walk.tracks[number] is None
            fields.append(
                AxisField(
                    names[axis],
                    min(sizes) if sizes and not empty else 0,
                    max(sizes, default=0),
                    jumps[number],
                    start,
                    empty,
                    flat,
                    disagree[number],
                )
            )
            if disagree[number]:
                listed = " vs ".join(frac_text(j) for j in disagree[number])
                notes.append(
                    f"{row.name}: the joined branches' jumps differ on {names[axis]} ({listed}); "
                    f"the field is their union, the jump shown the first's"
                )
        per_axis.append(fields)
    rows = tuple(
        RowField(number, tuple(f for f in (per_axis[a][number - 1] for a in range(rank)) if f is not None))
        for number in range(1, len(report.rows) + 1)
    )
    return Fields(rows, tuple(notes))


def positions(report: Report, number: int, axis: int, clip: bool = False, double: bool | None = None) -> list[Hull]:
    """The hull of input positions that each output position of row ``number`` depends on, along ``axis``.

    Row 0 is the network's input.  Without ``clip``, on the unbounded grid (padding positions
    count, as in the reported fields); with ``clip``, what a real run on the spec's input reads:
    the hull of the input positions with a non-zero gradient for that output (None: none).
    A flat row gives one hull.
    """
    if double is None:
        double = report.dtype == "float64"
    walk = _Axis(report, axis, clip, double, upto=number)
    return walk.positions(number)


__all__ = ["AxisField", "Fields", "RowField", "positions", "receptive_fields"]

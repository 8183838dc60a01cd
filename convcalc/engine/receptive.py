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
recurrence is off by several pixels on such chains.  So the fields are defined position by
position: for each output position ``q`` the hull ``[lo, hi]`` of the network-input positions
it depends on, on the *unbounded* integer grid, where padding positions are positions too (this
is the convention of the recurrences: the field of a corner output hangs over the edge).  The
reported figures are over the row's own positions ``0 .. size − 1``: the smallest and largest
``hi − lo + 1``, how many positions have no field (then the minimum is 0), and the centre of
position 0's hull.

How each op maps an output position to the positions it reads (its sources):

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

**Representation.**  No index set is ever built.  Every op above is *periodic*: there are
``Q ≥ 1`` output positions and ``S ≥ 0`` input positions with ``sources(q + Q) = sources(q) + S``
for every ``q`` (a window: 1 and its stride; a transposed conv: its stride and 1; pixel shuffle:
``r`` and 1; pads and crops: 1 and 1; bins: ``out/g`` and ``in/g`` with ``g = gcd(in, out)``;
upsampling: from the exact scale, see below).  So each tensor's map ``q ↦ hull(q)`` is a
:class:`Periodic` function: one period ``P`` of hulls and a shift ``D`` with
``hull(q + P) = hull(q) + D`` on the whole unbounded grid (the jump on that grid is ``D/P``; the
network input is ``P = D = 1``, ``hull(p) = [p, p]``).  Through an op, the new period is
``P' = Q·P/gcd(P, S)`` (then ``q + P'`` reads sources shifted by a multiple of ``P``) with
``D' = D·S/gcd(P, S)``, and the ``P'`` new hulls are unions over each output's sources.  Those
sources are arithmetic progressions (a window's taps, a transposed conv's matching taps, a bin),
whose union never visits more than one position per residue class mod ``P`` (along a class the
hulls move by a fixed amount, so its first and last member bound it), and just its two ends when
the map is monotone — no cost grows with a kernel, a stride, a padding or a size.  A period that
some smaller divisor also satisfies is reduced.  Joins union their inputs (shifted by the fit
offsets) per position: the period is the lcm of theirs.  Branches whose jumps ``D/P`` differ do
not add up to one periodic map; the row keeps one :class:`Periodic` per distinct jump, and its
hull at ``q`` is their union.

Which positions matter is known beforehand: a backward pass over the rows gives, in O(1) per op,
an interval of positions of every tensor that holds its own positions and everything later rows
read (a superset).  A map is only ever *used* on that interval, so where a period would be
longer than the interval (periods multiply through transposed convs, pixel shuffles and
upsamples, and the lcm at joins) the row is stored as the interval's hulls instead (one hull per
position, shift 0: periodic with the interval's length, exact wherever it is read).

The figures come from one period: the field sizes repeat with ``P``, so min, max and the count of
empty positions over ``0 .. size − 1`` take ``min(P, size)`` steps; with several jumps (a union
of maps with different slopes) each residue class mod the lcm is scanned by a search over the
convex difference of an upper and a lower envelope.  The cost of a row is therefore about its
period (1 for chains of convs and pools), not its size, depth or field: a straight stack of
10,000 convs costs four steps a row, and an input of 10⁹ or a padding of 10¹⁸ costs what 8×8
costs.  When every axis is alike (the same sizes and ops on each: a square input through square
kernels) one axis is computed and copied.  :func:`measured` returns the fields with the steps
taken (hull look-ups and hulls written, per row too); past :data:`MAX_WORK` steps the
computation stops with a :class:`~convcalc.base.errors.SpecError` (the ``--rf`` run fails with
it) rather than run for minutes: only a period of millions of positions gets there (a stride or
upsampling factor in the millions, or coprime sizes of that order).

**Upsampling.**  PyTorch computes the source indices in floating point (``nearest``: float32;
the linear modes: the tensor's dtype), so its map repeats only where rounding lets it.  The
period is taken from the exact rational scale (``1.4`` is ``7/5``: ``Q = 7`` outputs read
``S = 5`` inputs further on; with ``size``: ``out/g`` and ``in/g``; with ``align_corners``:
``(out − 1)/g`` and ``(in − 1)/g``), one period of the float map is evaluated at ``q = 0 ..
Q − 1``, and the float map is compared with that periodic extension at every position of the
interval read.  If they agree, the map is periodic and exact.  Often they do not: float32
``1/3`` makes ``linear`` ×3 read one input at some of the positions where the exact map lands
on a whole index and two at others, ``nearest-exact`` ×0.9 rounds differently every so often,
and coprime ``size``/``align_corners`` ratios do the like.  Then the row is stored position by
position over the interval read — still exactly PyTorch's float map (each evaluation counts
:data:`FLOAT_STEPS` steps) — and so are the rows fed by it (their periods are that long too):
a cost proportional to the sizes read, once per row, never per tap.  When more than
:data:`CHECKED` positions are read, the comparison covers windows of 2¹⁴ positions at both ends
of the interval and of the tensor (float drift grows with ``|q|``), and the map is taken to be
periodic; if a window finds a position where PyTorch's float indices depart from the exact
period, the field follows the exact period beyond the positions compared and the report says so
in a note (in float32 that takes tensors of millions of positions).

:func:`positions` gives the per-position hulls themselves (by brute force over index sets, as
the oracle tests need); with ``clip=True`` it gives what a real run sees instead (positions
outside each tensor are padding and depend on nothing, and the upsample indices clamp as PyTorch
clamps them): the set of input positions with a non-zero gradient, as the tests check against
torch.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Callable, Iterable, Sequence
from fractions import Fraction
from typing import Any

from ..base.record import Record
from ..base.errors import SpecError
from .evaluate import Report, Row, refuse_without_torch
from ..model.geometry import (
    AxisOp,
    Crop,
    Fixed,
    Scale,
    Shift,
    Times,
    Transposed,
    Window,
    axis_names,
    exact_scale,
    frac_text,
    run_axis_op,
)

Hull = tuple[int, int] | None  # [lo, hi] on the input grid, None: depends on no input position

class AxisField(Record):
    """One row's receptive field along one axis."""

    axis: str
    min: int  # the smallest field over the row's output positions (0 when some field is empty)
    max: int  # the largest
    jump: Fraction | None  # the effective stride on the input grid; None for a flat row
    start: Fraction | None  # centre of output 0's field; None when that field is empty
    empty: int = 0  # how many output positions along this axis have an empty field
    flat: bool = False  # a flat row: min = max = the hull of every position of the last spatial tensor
    jumps: tuple[Fraction, ...] = ()  # a join whose inputs' jumps differ: each input's


class RowField(Record):
    row: int  # the row number (1-based, as in the report)
    axes: tuple[AxisField, ...]


class Fields(Record):
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


class Upsampling(Record):
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


class Stage(Record):
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
            return j * op.stride if op.stride != 1 else j
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


class _Plan(Record):
    """How one row reads its inputs on one axis."""

    stages: tuple[Stage, ...]  # a layer's ops in order (empty: the size is kept, positions too)
    offsets: tuple[int, ...]  # a join: input k's position for output q is q + offsets[k]
    broadcast: tuple[bool, ...] = ()  # a multiply: input k has size 1 here, so every q reads its position 0

    def broadcasts(self, k: int) -> bool:
        return bool(self.broadcast) and self.broadcast[k]


def _plans(report: Report, axis: int) -> list[_Plan | None]:
    """Per row: how it maps positions, or None when its input is flat (or it flattens)."""
    return _all_plans(report)[0][axis]


def _all_plans(report: Report) -> tuple[list[list[_Plan | None]], bool]:
    """:func:`_plans` for every axis at once; a repeated layer's stages are built once.

    And whether every axis is alike (the same sizes and ops everywhere: a square input through
    square kernels), so that one axis's fields are every axis's.
    """
    rank = report.input.rank
    spatial = report.input.spatial
    alike = spatial.count(spatial[0]) == rank if rank else True
    plans: list[list[_Plan | None]] = [[] for _ in range(rank)]
    ops_of: dict[tuple[int, int], tuple[tuple[tuple[AxisOp, ...], ...], list[int]]] = {}
    plan_of: dict[tuple[int, int, int], _Plan] = {}  # (layer, its first axis with these ops, size)
    grid = _grid(report)
    for number, (row, step) in enumerate(zip(report.rows, report.steps), 1):
        if not grid[number]:
            for per_axis in plans:
                per_axis.append(None)
            continue
        if step.layer is None:
            fit = step.fit
            for axis, per_axis in enumerate(plans):
                size = row.output.spatial[axis]
                offsets = [
                    0 if fit is None else fit.offset(k, _size(report, a, axis), size) for k, a in enumerate(step.inputs)
                ]
                multiplies = step.join is not None and step.join.multiplies
                broadcast = tuple(multiplies and size != 1 and _size(report, a, axis) == 1 for a in step.inputs)
                per_axis.append(_Plan((), tuple(offsets), broadcast if any(broadcast) else ()))
            alike = alike and all(p[-1] == plans[0][-1] for p in plans)
            continue
        layer = step.layer
        in_rank = row.input.rank
        key = (id(layer), in_rank)
        known = ops_of.get(key)
        if known is None:
            ops = layer.kind.axis_ops(layer.options, in_rank)
            known = ops_of[key] = ops, [ops.index(o) for o in ops]
        ops, first_alike = known
        for axis, per_axis in enumerate(plans):
            size = row.input.spatial[axis]
            plan = plan_of.get((id(layer), first_alike[axis], size))
            if plan is None:
                built = []
                name = axis_names(in_rank)[axis]
                for op in ops[axis]:
                    out, _ = run_axis_op(op, axis, name, size)
                    built.append(Stage(op, size, out, layer))
                    size = out
                plan = plan_of[(id(layer), first_alike[axis], row.input.spatial[axis])] = _Plan(tuple(built), (0,))
            per_axis.append(plan)
            alike = alike and plan is plans[0][-1]
    return plans, alike


def _size(report: Report, number: int, axis: int) -> int:
    shape = report.input if number == 0 else report.rows[number - 1].output
    return shape.spatial[axis]


def _grid(report: Report) -> list[bool]:
    """Per tensor (0: the network's input), whether it is a map on the input's grid: a map made
    from maps only.  A flat vector and a token sequence are not (a token sequence has no
    geometry: attention reads every token), nor is anything computed from them, such as the map
    ``untokens`` lays them out on: their fields are the hull of everything."""
    grid = [report.input.is_map]
    for row, step in zip(report.rows, report.steps):
        on = row.output.is_map and row.input.is_map
        if on and (len(step.inputs) > 1 or row.inputs):  # a join, or a layer with a like: target
            on = all(s.is_map for s in row.inputs) and all(grid[a] for a in step.inputs)
        elif on:
            on = grid[step.inputs[0]]
        grid.append(on)
    return grid


def _spatial(report: Report, number: int) -> bool:
    return _grid(report)[number] if number else report.input.is_map


# --- periodic maps -----------------------------------------------------------------------------

MAX_WORK = 20_000_000  # steps (hull look-ups and hulls written) for one report, every axis
CHECKED = 1 << 16  # an upsample's float map is compared with its period at up to this many positions
FLOAT_SAFE = 1 << 60  # beyond, an upsample's float index map is not evaluated (it would overflow)
FLOAT_STEPS = 8  # steps counted for one evaluation of PyTorch's float index map (it costs about that)

AP = tuple[int, int, int]  # first, step ≥ 1, count: the positions first, first + step, …
Sources = list[AP]


class Work:
    """Steps taken (hull look-ups and hulls written), against a budget."""

    def __init__(self, budget: int = MAX_WORK, rows: int = 0) -> None:
        self.steps = 0
        self.budget = budget
        self.per_row = [0] * (rows + 1)  # row number → steps, over every axis (row 0: the input)
        self.row: Row | None = None  # the report row at hand, for the error
        self.axis = ""

    def spend(self, n: int) -> None:
        self.steps += n
        if self.steps > self.budget:
            where = f"{self.row.name} ({self.axis})" if self.row is not None else "the report"
            raise SpecError(
                f"receptive fields: {where} takes more than {self.budget:,} steps to compute (convcalc's "
                "limit; its field repeats only every million or more positions: a stride or upsampling factor "
                "that large, or coprime sizes): show the spec without --rf",
                None if self.row is None else self.row.mark,
            )


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


def _moved(h: Hull, d: int) -> Hull:
    return h if h is None or not d else (h[0] + d, h[1] + d)


class Periodic:
    """A tensor's map on one axis, on the whole unbounded grid: ``hull(q + P) = hull(q) + D``.

    ``base`` holds ``hull(0) .. hull(P − 1)``; D ≥ 0 (every op's sources move forward with q).
    """

    __slots__ = ("period", "shift", "base", "_monotone")

    def __init__(self, period: int, shift: int, base: list[Hull]) -> None:
        self.period = period
        self.shift = shift
        self.base = base
        self._monotone: bool | None = None

    def at(self, p: int) -> Hull:
        k, r = divmod(p, self.period)
        h = self.base[r]
        if h is None or not k:
            return h
        d = self.shift * k
        return (h[0] + d, h[1] + d)

    @property
    def slope(self) -> Fraction:
        return Fraction(self.shift, self.period)

    @property
    def monotone(self) -> bool:
        """No empty hull and lo, hi non-decreasing in q: a union over q's is that of its two ends."""
        if self._monotone is None:
            ok = True
            previous: Hull = None
            for h in self.base:
                if h is None or (previous is not None and (h[0] < previous[0] or h[1] < previous[1])):
                    ok = False
                    break
                previous = h
            if ok:
                first = self.base[0]
                assert first is not None and previous is not None
                ok = previous[0] <= first[0] + self.shift and previous[1] <= first[1] + self.shift
            self._monotone = ok
        return self._monotone

    def over(self, first: int, step: int, count: int, work: Work) -> Hull:
        """The union of the hulls at ``first + step·j``, ``0 ≤ j < count``."""
        if count <= 1:
            work.spend(1)
            return self.at(first) if count == 1 else None
        last = first + step * (count - 1)
        if self.monotone:
            work.spend(2)
            head, tail = self.at(first), self.at(last)
            assert head is not None and tail is not None
            return (head[0], tail[1])
        period = self.period
        classes = period // math.gcd(step, period)  # positions j and j + classes share a residue mod P
        if count <= 2 * classes:
            work.spend(count)
            return _union(self.at(first + step * j) for j in range(count))
        work.spend(classes)
        rise = self.shift * (step * classes // period)  # from one member of a class to the next
        lo: int | None = None
        hi: int | None = None
        for j in range(classes):
            h = self.at(first + step * j)
            if h is None:
                continue  # the whole class is empty
            further = rise * ((count - 1 - j) // classes)  # to the class's last member
            a, b = (h[0], h[1] + further) if further >= 0 else (h[0] + further, h[1])
            lo = a if lo is None or a < lo else lo
            hi = b if hi is None or b > hi else hi
        return None if lo is None or hi is None else (lo, hi)

    def union(self, sources: Sources, work: Work) -> Hull:
        if len(sources) == 1:
            return self.over(*sources[0], work)
        return _union(self.over(first, step, count, work) for first, step, count in sources)


def _primes(n: int) -> list[int]:
    found, p = [], 2
    while p * p <= n:
        if n % p == 0:
            found.append(p)
            while n % p == 0:
                n //= p
        p += 1
    return found + ([n] if n > 1 else [])


def _reduced(c: Periodic, work: Work) -> Periodic:
    """The same map with its shortest period."""
    period, shift, base = c.period, c.shift, c.base
    if period == 1:
        return c
    for p in _primes(period):
        while period % p == 0:
            shorter = period // p
            if shift * shorter % period:
                break
            step = shift * shorter // period
            work.spend(period - shorter)
            if any(_moved(base[r], step) != base[r + shorter] for r in range(period - shorter)):
                break
            period, shift, base = shorter, step, base[:shorter]
    return c if period == c.period else Periodic(period, shift, base)


def _explicit(width: int, first: int, hull: Callable[[int], Hull], work: Work) -> Periodic:
    """The hulls at positions first .. first + width − 1, as a map of period ``width``.

    Exact there, which is everywhere it is read (a backward pass made sure of that)."""
    work.spend(width)
    base: list[Hull] = [None] * width
    for q in range(first, first + width):
        base[q % width] = hull(q)
    return Periodic(width, 0, base)


class _Map(Record):
    """One op on one axis: ``sources(q + every) = sources(q) + shift`` for every q.

    ``every`` None: no period (an upsample whose float map has none over the positions read);
    ``exact`` gives each position's sources then.
    """

    every: int | None
    shift: int
    sources: Callable[[int], Sources]
    exact: Callable[[int], Sources]
    reusable: bool = True  # the same for every interval of positions read (all but float upsampling)


def _aps(points: list[int]) -> Sources:
    if not points:
        return []
    found = sorted(set(points))
    if found[-1] - found[0] == len(found) - 1:
        return [(found[0], 1, len(found))]
    return [(p, 1, 1) for p in found]


def _bins_map(size_in: int, size_out: int) -> _Map:
    def sources(q: int) -> Sources:
        start = (q * size_in) // size_out
        end = -((-(q + 1) * size_in) // size_out)
        return [(start, 1, end - start)]

    g = math.gcd(size_in, size_out)
    return _Map(size_out // g, size_in // g, sources, sources)


def _bins_reach(size_in: int, size_out: int, a: int, b: int) -> tuple[int, int]:
    return (a * size_in) // size_out, -((-(b + 1) * size_in) // size_out) - 1


def _identity(q: int) -> Sources:
    return [(q, 1, 1)]


def _halves(q: int) -> Sources:
    return [(q >> 1, 1, 1)]


class _Resampling(Record):
    """How an interpolating layer (upsample) maps positions, and its period candidate."""

    how: str  # "bins" (area), "copy", "halves" (nearest ×2), or "float" (PyTorch's float indices)
    every: int  # Q
    shift: int  # S
    up: Upsampling


def _resampling(stage: Stage, double: bool) -> _Resampling | None:
    op, layer = stage.op, stage.layer
    interpolation = layer.kind.interpolation(layer.options)
    if interpolation is None:
        return None
    mode, align_corners = interpolation
    n, out = stage.size_in, stage.size_out
    scale = float(op.scale) if isinstance(op, Scale) else None
    up = Upsampling(mode, align_corners, scale, n, out, double)
    g = math.gcd(n, out)
    if mode == "area":
        return _Resampling("bins", out // g, n // g, up)
    nearest = mode in ("nearest", "nearest-exact")
    if out == n and mode != "nearest-exact":  # Upsampling.sources copies
        return _Resampling("copy", 1, 1, up)
    if mode == "nearest" and out == 2 * n:
        return _Resampling("halves", 2, 1, up)
    if align_corners and not nearest:
        if out == 1:
            return _Resampling("float", 1, 0, up)  # the ratio is 0: every output reads input 0
        h = math.gcd(n - 1, out - 1)
        return _Resampling("float", (out - 1) // h, (n - 1) // h, up)
    if isinstance(op, Scale):
        exact = exact_scale(op.scale)
        return _Resampling("float", exact.numerator, exact.denominator, up)
    return _Resampling("float", out // g, n // g, up)


Reach = Callable[[int, int], tuple[int, int]]


def _reacher(stage: Stage, double: bool) -> Reach:
    """An interval holding every source of the output positions a .. b (a superset), as a function."""
    op = stage.op
    if isinstance(op, Window):
        before, _ = op.padding(stage.size_in)
        s, span = op.stride, op.dilation * (op.kernel - 1)
        return lambda a, b: (a * s - before, b * s - before + span)
    if isinstance(op, Transposed):
        before, span, s = _transposed_before(op), op.dilation * (op.kernel - 1), op.stride

        def transposed(a: int, b: int) -> tuple[int, int]:
            lo = -(-(a + before - span) // s)
            return lo, max(lo, (b + before) // s)

        return transposed
    if isinstance(op, Shift | Crop):
        off = -op.before if isinstance(op, Shift) else (stage.size_in - op.to) // 2
        return lambda a, b: (a + off, b + off)
    if isinstance(op, Times):
        f = op.factor
        return lambda a, b: (a // f, b // f)
    r = _resampling(stage, double)
    n, out = stage.size_in, stage.size_out
    if r is None or r.how == "bins":
        return lambda a, b: _bins_reach(n, out, a, b)
    if r.how == "copy":
        return lambda a, b: (a, b)
    if r.how == "halves":
        return lambda a, b: (a >> 1, b >> 1)
    # PyTorch's float indices stay within a relative 2⁻²² of the exact ratio, and read at most
    # two positions either side of it: this margin is generous.
    ratio = Fraction(r.shift, r.every)

    def margin(q: int) -> Fraction:
        return abs(q) * ratio / 65536 + ratio + 6

    return lambda a, b: (math.floor(a * ratio - margin(a)), math.ceil(b * ratio + margin(b)))


def _windows(first: int, last: int, size: int) -> list[range]:
    """Where a float map read at first .. last is compared with its period when that is long."""
    w = CHECKED // 4
    spots = [range(first, first + w), range(0, w), range(size - w, size), range(last - w + 1, last + 1)]
    found = []
    for s in spots:
        lo, hi = max(s.start, first, -FLOAT_SAFE), min(s.stop, last + 1, FLOAT_SAFE)
        if lo < hi:
            found.append(range(lo, hi))
    return found


def _mapping(
    stage: Stage, need: tuple[int, int], double: bool, work: Work, notes: list[str], known: dict[int, _Map]
) -> _Map:
    """The op's map; ``known`` keeps those that do not depend on ``need`` (all but float upsampling)."""
    m = known.get(id(stage))
    if m is None:
        m = _op_map(stage, need, double, work, notes)
        if m.reusable:
            known[id(stage)] = m
    return m


def _op_map(stage: Stage, need: tuple[int, int], double: bool, work: Work, notes: list[str]) -> _Map:
    op = stage.op
    if isinstance(op, Window):
        before, _ = op.padding(stage.size_in)
        s, d, k = op.stride, op.dilation, op.kernel

        def window(q: int) -> Sources:
            return [(q * s - before, d, k)]

        return _Map(1, s, window, window)
    if isinstance(op, Transposed):
        before = _transposed_before(op)
        s, d, k = op.stride, op.dilation, op.kernel
        g = math.gcd(d, s)
        every, step = s // g, d // g  # taps m ≡ m0 (mod s/g) match; their inputs lie d/g apart
        inverse = pow(step, -1, every) if every > 1 else 0

        def transposed(q: int) -> Sources:
            t = q + before
            if t % g:
                return []
            m0 = (t // g) * inverse % every  # the first tap m with s | t − d·m
            if m0 >= k:
                return []
            count = (k - 1 - m0) // every + 1
            last = m0 + every * (count - 1)
            return [((t - d * last) // s, step, count)]

        return _Map(s, 1, transposed, transposed)
    if isinstance(op, Shift):
        shift = op.before

        def shifted(q: int) -> Sources:
            return [(q - shift, 1, 1)]

        return _Map(1, 1, shifted, shifted)
    if isinstance(op, Crop):
        off = (stage.size_in - op.to) // 2

        def cropped(q: int) -> Sources:
            return [(q + off, 1, 1)]

        return _Map(1, 1, cropped, cropped)
    if isinstance(op, Times):
        factor = op.factor

        def shuffled(q: int) -> Sources:
            return [(q // factor, 1, 1)]

        return _Map(factor, 1, shuffled, shuffled)
    r = _resampling(stage, double)
    if r is None or r.how == "bins":
        return _bins_map(stage.size_in, stage.size_out)
    if r.how == "copy":
        return _Map(1, 1, _identity, _identity)
    if r.how == "halves":
        return _Map(2, 1, _halves, _halves)
    return _float_map(r, need, stage.size_out, work, notes)


def _float_map(r: _Resampling, need: tuple[int, int], size: int, work: Work, notes: list[str]) -> _Map:
    """PyTorch's float index map, periodic where it is (checked), else position by position."""
    up, every, shift = r.up, r.every, r.shift

    def exact(q: int) -> Sources:
        return _aps(up.sources(q, False))

    first, last = need
    width = last - first + 1
    one: list[Sources] = []  # one period, where float arithmetic is at its best

    def extended(q: int) -> Sources:
        k, i = divmod(q, every)
        return [(f + shift * k, step, count) for f, step, count in one[i]] if k else one[i]

    if width <= CHECKED or every > width:  # every position read: periodic, or position by position
        work.spend(width * FLOAT_STEPS)
        table = [exact(q) for q in range(first, last + 1)]
        if every <= width:
            work.spend(every * FLOAT_STEPS)
            one += [exact(q) for q in range(every)]
            if all(found == extended(q) for q, found in enumerate(table, first)):
                return _Map(every, shift, extended, extended, False)

        def known(q: int) -> Sources:
            return table[q - first] if first <= q <= last else exact(q)

        return _Map(None, 0, known, known, False)
    work.spend(every * FLOAT_STEPS)
    one += [exact(q) for q in range(every)]
    for spot in _windows(first, last, size):  # windows at both ends of what is read and of the tensor
        work.spend(len(spot) * FLOAT_STEPS)
        for q in spot:
            if exact(q) != extended(q):
                where = f"{work.row.name}: upsampling on {work.axis}" if work.row is not None else "upsampling"
                notes.append(
                    f"{where}: PyTorch's float index arithmetic does not repeat every {every} positions over the "
                    f"{width:,} positions read (it departs at position {q:,}); the field shown follows the exact "
                    f"scale's period ({every} outputs per {shift} inputs)"
                )
                return _Map(every, shift, extended, extended, False)
    return _Map(every, shift, extended, extended, False)


def _apply(c: Periodic, m: _Map, need: tuple[int, int], work: Work) -> Periodic:
    """The map after one op: periodic when its period fits in the positions read, else explicit."""
    if c.period == 1 and m.every == 1:  # the common case (convs, pools, pads on a chain of them)
        h = c.base[0]
        reads = m.sources(0)
        if h is not None and len(reads) == 1:
            work.steps += 3  # (the walk checks the budget after each row)
            start, step, count = reads[0]
            d = c.shift
            hull = (h[0] + d * start, h[1] + d * (start + step * (count - 1))) if count else None
            return Periodic(1, d * m.shift, [hull])
    first, last = need
    width = last - first + 1
    if m.every is not None:
        repeats = c.period // math.gcd(c.period, m.shift)
        period = m.every * repeats
        if period <= width:
            work.spend(period)
            shift = c.shift * m.shift * repeats // c.period
            sources = m.sources
            base = [c.union(sources(q), work) for q in range(period)]
            return _reduced(Periodic(period, shift, base), work)
    exact = m.exact
    return _explicit(width, first, lambda q: c.union(exact(q), work), work)


def _shifted(c: Periodic, offset: int, work: Work) -> Periodic:
    """``q ↦ hull(q + offset)``."""
    if not offset:
        return c
    work.spend(c.period)
    return Periodic(c.period, c.shift, [c.at(q + offset) for q in range(c.period)])


def _normalize(maps: list[Periodic], need: tuple[int, int], work: Work) -> list[Periodic]:
    """One map per distinct jump (their union is the tensor's map); explicit if that is shorter."""
    if len(maps) == 1:
        return maps
    groups: dict[Fraction, list[Periodic]] = {}
    for c in maps:
        groups.setdefault(c.slope, []).append(c)
    periods = {slope: math.lcm(*(c.period for c in group)) for slope, group in groups.items()}
    first, last = need
    width = last - first + 1
    if sum(periods.values()) > width:
        return [_explicit(width, first, lambda q: _union(c.at(q) for c in maps), work)]
    found = []
    for slope, group in groups.items():
        if len(group) == 1:
            found.append(group[0])
            continue
        period = periods[slope]
        work.spend(period * len(group))
        base = [_union(c.at(q) for c in group) for q in range(period)]
        found.append(_reduced(Periodic(period, int(slope * period), base), work))
    return found


def _at(maps: Sequence[Periodic], q: int) -> Hull:
    return maps[0].at(q) if len(maps) == 1 else _union(c.at(q) for c in maps)


class _Figures(Record):
    smallest: int | None  # the smallest field over the non-empty positions
    largest: int | None
    empty: int
    first: Hull  # position 0's hull


def _figures(maps: Sequence[Periodic], size: int, work: Work) -> _Figures:
    """Min and max field size and the empty count over positions 0 .. size − 1."""
    if len(maps) == 1 and maps[0].period == 1:  # one hull, shifted
        work.steps += 1
        h = maps[0].base[0]
        return _Figures(None, None, size, h) if h is None else _Figures(h[1] - h[0] + 1, h[1] - h[0] + 1, 0, h)
    smallest: int | None = None
    largest: int | None = None
    empty = 0

    def see(low: int, high: int) -> None:
        nonlocal smallest, largest
        smallest = low if smallest is None or low < smallest else smallest
        largest = high if largest is None or high > largest else largest

    if len(maps) == 1:  # the sizes repeat with the period
        c = maps[0]
        period = c.period
        work.spend(min(period, size))
        for r in range(min(period, size)):
            h = c.base[r]
            if h is None:
                empty += (size - 1 - r) // period + 1
            else:
                see(h[1] - h[0] + 1, h[1] - h[0] + 1)
        return _Figures(smallest, largest, empty, maps[0].at(0))
    period = math.lcm(*(c.period for c in maps))
    if period >= size:
        work.spend(size * len(maps))
        for q in range(size):
            h = _at(maps, q)
            if h is None:
                empty += 1
            else:
                see(h[1] - h[0] + 1, h[1] - h[0] + 1)
        return _Figures(smallest, largest, empty, _at(maps, 0))
    # Along a residue class r + period·j each map's lo and hi are affine in j; the field is an
    # upper envelope minus a lower one, convex in j: its max is at an end, its min found by bisection.
    work.spend(period * len(maps))
    for r in range(period):
        count = (size - 1 - r) // period + 1
        lines = []
        for c in maps:
            h = c.at(r)
            if h is not None:
                lines.append((h[0], h[1], c.shift * (period // c.period)))
        if not lines:
            empty += count
            continue

        def field(j: int) -> int:
            return max(b + a * j for _, b, a in lines) - min(lo + a * j for lo, _, a in lines) + 1

        low, high = 0, count - 1  # the first j whose next step does not fall
        while low < high:
            mid = (low + high) // 2
            work.spend(2 * len(lines))
            if field(mid + 1) - field(mid) >= 0:
                high = mid
            else:
                low = mid + 1
        see(field(low), max(field(0), field(count - 1)))
    return _Figures(smallest, largest, empty, _at(maps, 0))


def _whole(maps: Sequence[Periodic], size: int, work: Work) -> Hull:
    """The union of the hulls at positions 0 .. size − 1."""
    found: list[Hull] = []
    for c in maps:
        period = c.period
        work.spend(min(period, size))
        for r in range(min(period, size)):
            h = c.base[r]
            if h is not None:
                further = c.shift * ((size - 1 - r) // period)  # to the last position of r's class
                found.append((h[0], h[1] + further) if further >= 0 else (h[0] + further, h[1]))
    return _union(found)


EMPTY = Periodic(1, 0, [None])  # the map of a tensor that depends on nothing (spatial after flat)


class _Walk:
    """Every tensor's map on one axis (rows 0..N; row 0 is the network's input), forwards, and
    each row's figures."""

    def __init__(self, report: Report, axis: int, plans: Sequence[_Plan | None], double: bool, work: Work) -> None:
        count = len(report.rows) + 1
        work.axis = axis_names(report.input.rank)[axis]
        self.stage_needs: dict[int, tuple[tuple[int, int], ...]] = {}  # per row: each stage's output interval
        grid = _grid(report)
        need = self._needs(report, axis, plans, double, grid)
        self.maps: list[list[Periodic] | None] = [None] * count
        self.flat: list[Hull] = [None] * count  # flat rows: the hull of everything
        shapes = [report.input, *(row.output for row in report.rows)]
        self.sizes = [shape.spatial[axis] if on else 0 for shape, on in zip(shapes, grid)]
        self.figures: list[_Figures | None] = [None] * count
        self.notes: dict[int, list[str]] = {}
        known: dict[int, _Map] = {}  # per stage (shared by a repeat's rows), its map
        noted: list[str] = []  # a float upsampling's note, for the row at hand
        if _spatial(report, 0):
            self.maps[0] = [Periodic(1, 1, [(0, 0)])]
        steps, per_row, rows = report.steps, work.per_row, report.rows
        last_read = [0] * count  # the last row that reads each tensor: its map is dropped after that
        for number, step in enumerate(steps, 1):
            for source in step.inputs:
                last_read[source] = number
        self.flat_rows = [plan is None for plan in plans]  # by row number − 1
        for number in range(1, count):
            step, plan, span = steps[number - 1], plans[number - 1], need[number]
            work.row = rows[number - 1]
            before = work.steps
            if plan is None or span is None:
                hull = self.flat[number] = _union(self.whole(source, work) for source in step.inputs)
                size = None if hull is None else hull[1] - hull[0] + 1
                self.figures[number] = _Figures(size, size, 0 if hull is not None else 1, hull)
            else:
                if plan.stages:
                    maps = self.maps[step.inputs[0]] or [EMPTY]
                    for stage, out in zip(plan.stages, self.stage_needs[number]):
                        m = known.get(id(stage)) or _mapping(stage, out, double, work, noted, known)
                        if len(maps) == 1:
                            maps = [_apply(maps[0], m, out, work)]
                        else:
                            maps = _normalize([_apply(c, m, out, work) for c in maps], out, work)
                else:
                    maps = []
                    for k, (source, offset) in enumerate(zip(step.inputs, plan.offsets)):
                        found = self.maps[source] or [EMPTY]
                        if plan.broadcasts(k):  # a gate of size 1: every position reads its one cell
                            work.spend(len(found))
                            maps.append(Periodic(1, 0, [_union(c.at(0) for c in found)]))
                        else:
                            maps.extend(_shifted(c, offset, work) for c in found)
                    maps = _normalize(maps, span, work)
                self.maps[number] = maps
                self.figures[number] = _figures(maps, self.sizes[number], work)
                if noted:
                    self.notes[number], noted = noted, []
            for source in step.inputs:
                if last_read[source] == number:
                    self.maps[source] = None
            per_row[number] += work.steps - before
            if work.steps > work.budget:
                work.spend(0)
        work.row = None

    def _needs(
        self, report: Report, axis: int, plans: Sequence[_Plan | None], double: bool, grid: Sequence[bool]
    ) -> list[tuple[int, int] | None]:
        """Per tensor, an interval of positions holding its own and every position read later."""
        count = len(report.rows) + 1
        shapes = [report.input, *(row.output for row in report.rows)]
        need: list[tuple[int, int] | None] = [(0, s.spatial[axis] - 1) if on else None for s, on in zip(shapes, grid)]
        reaches: dict[int, Reach] = {}  # per stage (shared by a repeat's rows)
        for number in range(count - 1, 0, -1):
            plan, step = plans[number - 1], report.steps[number - 1]
            span = need[number]
            if plan is None or span is None:
                continue
            lo, hi = span
            stages = plan.stages
            if not stages:
                for k, (source, offset) in enumerate(zip(step.inputs, plan.offsets)):
                    if plan.broadcasts(k):
                        _widen(need, source, 0, 0)
                    else:
                        _widen(need, source, lo + offset, hi + offset)
                continue
            if len(stages) == 1:
                reach = reaches.get(id(stages[0]))
                if reach is None:
                    reach = reaches[id(stages[0])] = _reacher(stages[0], double)
                lo, hi = reach(lo, hi)
                self.stage_needs[number] = (span,)
            else:
                spans = []
                for stage in reversed(stages):
                    spans.append((lo, hi))
                    reach = reaches.get(id(stage))
                    if reach is None:
                        reach = reaches[id(stage)] = _reacher(stage, double)
                    lo, hi = reach(lo, hi)
                self.stage_needs[number] = tuple(spans[::-1])
            source = step.inputs[0]
            have = need[source]
            need[source] = (lo, hi) if have is None else (min(have[0], lo), max(have[1], hi))
        return need

    def whole(self, number: int, work: Work) -> Hull:
        """Everything a tensor depends on: its flat hull, or the union over its own positions."""
        maps = self.maps[number]
        if maps is None:
            return self.flat[number]
        return _whole(maps, self.sizes[number], work)


def _widen(need: list[tuple[int, int] | None], number: int, lo: int, hi: int) -> None:
    have = need[number]
    need[number] = (lo, hi) if have is None else (min(have[0], lo), max(have[1], hi))


def _jumps(report: Report, plans: Sequence[_Plan | None]) -> tuple[list[Fraction | None], list[tuple[Fraction, ...]]]:
    """Each tensor's effective stride on the input grid (row 0: 1), and notes on joins that disagree."""
    jumps: list[Fraction | None] = [Fraction(1) if _spatial(report, 0) else None]
    disagree: list[tuple[Fraction, ...]] = [()]
    for row, step, plan in zip(report.rows, report.steps, plans):
        if plan is not None and step.layer is not None:  # a layer (a like: target gives only its size)
            j = jumps[step.inputs[0]]
            if j is not None:
                for stage in plan.stages:
                    j = stage.jump(j)
            jumps.append(j)
            disagree.append(())
            continue
        found = [jumps[s] for k, s in enumerate(step.inputs) if plan is None or not plan.broadcasts(k)]
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


def measured(report: Report, double: bool | None = None, budget: int = MAX_WORK) -> tuple[Fields, Work]:
    """:func:`receptive_fields`, and the work it took (steps: hull look-ups and hulls written).

    Past ``budget`` steps it raises :class:`SpecError` instead of going on.  When every axis is
    alike (a square input through square kernels), the first axis is computed and the others
    are copies of it.
    """
    if double is None:
        double = report.dtype == "float64"
    work = Work(budget, len(report.rows))
    rank = report.input.rank
    names = axis_names(rank)
    per_axis: list[list[AxisField]] = []
    notes: list[str] = []
    every_axis, alike = _all_plans(report)
    halves: dict[int, Fraction] = {}  # start = (lo + hi)/2, the same for many rows
    walk: _Walk | None = None
    disagree: list[tuple[Fraction, ...]] = []
    for axis in range(rank):
        name = names[axis]
        if axis and alike and walk is not None and not walk.notes:
            per_axis.append([f._replace(axis=name) for f in per_axis[0]])
        else:
            plans = every_axis[axis]
            walk = _Walk(report, axis, plans, double, work)
            jumps, disagree = _jumps(report, plans)
            fields: list[AxisField] = []
            for number in range(1, len(report.rows) + 1):
                figures = walk.figures[number]
                assert figures is not None
                first = figures.first
                start = None
                if first is not None:
                    total = first[0] + first[1]
                    start = halves.get(total)
                    if start is None:
                        start = halves[total] = Fraction(total, 2)
                smallest = figures.smallest
                fields.append(
                    AxisField(
                        name,
                        smallest if smallest is not None and not figures.empty else 0,
                        figures.largest or 0,
                        jumps[number],
                        start,
                        figures.empty,
                        walk.flat_rows[number - 1],
                        disagree[number],
                    )
                )
            per_axis.append(fields)
        for number in range(1, len(report.rows) + 1):
            notes += walk.notes.get(number, ())
            if disagree[number]:
                listed = " vs ".join(frac_text(j) for j in disagree[number])
                notes.append(
                    f"{report.rows[number - 1].name}: the joined branches' jumps differ on {name} ({listed}); "
                    f"the field is their union, the jump shown the first's"
                )
    rows = tuple(RowField(number, axes) for number, axes in enumerate(zip(*per_axis), 1))
    if not rank:
        rows = tuple(RowField(number, ()) for number in range(1, len(report.rows) + 1))
    return Fields(rows, tuple(notes)), work


def receptive_fields(report: Report, double: bool | None = None) -> Fields:
    """Every row's receptive field on every spatial axis of the network's input.

    ``double``: compute the linear upsampling modes' indices in double precision (PyTorch does
    for float64 tensors); by default, when the spec's dtype is float64.
    """
    refuse_without_torch(report, "its receptive field is unknown")
    return measured(report, double)[0]


# --- brute force: per-position index sets (for positions() and the oracle tests) ----------------


class Track(Record):
    """A tensor's per-position hulls on one axis: positions first .. first + len(hulls) − 1."""

    first: int
    hulls: list[Hull]

    def at(self, p: int) -> Hull:
        i = p - self.first
        return self.hulls[i] if 0 <= i < len(self.hulls) else None


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
        grid = _grid(report)
        for number in range(count):
            if grid[number]:
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
                for k, (source, offset) in enumerate(zip(step.inputs, plan.offsets)):
                    if plan.broadcasts(k):
                        self._widen(need, source, 0, 0)
                    else:
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
                    [
                        _union(t.at(0 if plan.broadcasts(k) else q + off) for k, (t, off) in enumerate(zip(inputs, plan.offsets)))
                        for q in range(lo, hi + 1)
                    ],
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


__all__ = ["AxisField", "Fields", "MAX_WORK", "RowField", "Work", "measured", "positions", "receptive_fields"]

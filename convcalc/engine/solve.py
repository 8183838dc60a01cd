"""Which input sizes a network accepts, and which inputs give a wanted output size.

The answer is derived from the structure, one spatial axis at a time.  Every size along the
way is an affine function ``a·t + b`` of a parameter ``t`` on a residue class of input sizes
``n = base + step·t``.  A window with stride ``s`` needs ``a`` divisible by ``s`` to stay
affine; where it is not, the class is split into ``s/gcd(a, s)`` finer classes.  Inside a class
every floor, every flag and every join condition is then either constant or a linear bound
on ``t``, so a class is kept whole, cut to an interval, narrowed to one point, or dropped.  The
accepted sizes come out as arithmetic progressions, exact for sizes of any magnitude, and no
size is ever tried one by one (the tests do that, as the oracle).

Levels: *valid* (PyTorch runs), *clean* (no unaccepted ``warning`` flag: no input data cut off,
every join matches), *exact* (no flag at all: every size formula divides evenly).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from fractions import Fraction

from ..base.record import Record
from ..base.errors import SpecError
from ..base.text import spans, suggest
from .evaluate import Report, Step, evaluate, refuse_without_torch
from ..model.geometry import (
    exact_scale,
    AxisOp,
    Crop,
    Fixed,
    Scale,
    Shift,
    Times,
    Transposed,
    Window,
    axis_names,
    same_padding,
)
from ..spec.parser import Layer, Spec

MAX_CLASSES = 200_000  # residue classes alive at once; past this the network is refused, not solved

Affine = tuple[int, int]  # a·t + b


class Progression(Record):
    """Input sizes ``start, start + step, …`` up to ``stop`` (None: without end)."""

    start: int
    step: int
    stop: int | None

    def __contains__(self, n: object) -> bool:
        return (
            isinstance(n, int)
            and n >= self.start
            and (self.stop is None or n <= self.stop)
            and (n - self.start) % self.step == 0
        )

    def nearest(self, n: int) -> tuple[int | None, int | None]:
        """The largest member ≤ n and the smallest ≥ n."""
        below = above = None
        if n >= self.start:
            top = n if self.stop is None else min(n, self.stop)
            below = self.start + (top - self.start) // self.step * self.step
        k = max(0, -((self.start - n) // self.step))  # ceil((n - start) / step), at least 0
        first = self.start + k * self.step
        if self.stop is None or first <= self.stop:
            above = first
        return below, above


class Class:
    """Input sizes ``base + step·t`` for ``lo ≤ t ≤ hi``, with every tensor's size on this axis."""

    __slots__ = ("base", "first_flag", "flagged", "hi", "lo", "now", "step", "values", "warned")

    def __init__(self, base: int, step: int, lo: int, hi: int | None, values: dict[int, Affine | None]) -> None:
        self.base, self.step, self.lo, self.hi, self.values = base, step, lo, hi, values
        self.warned = False  # an unaccepted warning flag fired (not clean)
        self.flagged = False  # any flag fired (not exact)
        self.first_flag: int | None = None  # the row where the first flag fired
        self.now = 0  # the row being replayed

    def empty(self) -> bool:
        return self.hi is not None and self.lo > self.hi

    def at_least(self, v: Affine, c: int) -> bool:
        """Keep only t with a·t + b ≥ c; False when nothing is left."""
        a, b = v
        if a == 0:
            if b < c:
                self.lo, self.hi = 1, 0
        elif a > 0:
            self.lo = max(self.lo, -((b - c) // a))  # ceil((c - b) / a)
        else:
            top = (b - c) // -a  # floor((b - c) / -a)
            self.hi = top if self.hi is None else min(self.hi, top)
        return not self.empty()

    def equal(self, v: Affine, w: Affine) -> bool:
        """Keep only t with v(t) = w(t)."""
        a, b = v[0] - w[0], v[1] - w[1]
        if a == 0:
            if b != 0:
                self.lo, self.hi = 1, 0
        elif b % a:
            self.lo, self.hi = 1, 0
        else:
            t = -b // a
            self.lo, self.hi = max(self.lo, t), t if self.hi is None else min(self.hi, t)
        return not self.empty()

    def split(self, q: int) -> list[Class]:
        """The q classes t = j + q·u (j < q), every affine size rewritten in u."""
        if q > MAX_CLASSES:  # refused before a single class is built: a stride of 10⁷ costs nothing
            raise SpecError(f"solving needs more than {MAX_CLASSES:,} residue classes (convcalc's limit): a stride of {q:,}")
        out = []
        for j in range(q):
            lo = max(0, -((j - self.lo) // q))  # ceil((lo - j) / q)
            hi = None if self.hi is None else (self.hi - j) // q
            if hi is not None and lo > hi:
                continue
            values = {k: None if v is None else (v[0] * q, v[0] * j + v[1]) for k, v in self.values.items()}
            c = Class(self.base + self.step * j, self.step * q, lo, hi, values)
            c.warned, c.flagged, c.first_flag, c.now = self.warned, self.flagged, self.first_flag, self.now
            out.append(c)
        return out

    def progression(self) -> Progression:
        start = self.base + self.step * self.lo
        if self.hi == self.lo:
            return Progression(start, 1, start)  # one size: its step means nothing
        return Progression(start, self.step, None if self.hi is None else self.base + self.step * self.hi)


def _aligned(c: Class, v: Affine, modulus: int) -> list[tuple[Class, Affine]]:
    """Split ``c`` until v's slope is a multiple of ``modulus``; each part with its v."""
    q = modulus // math.gcd(v[0], modulus) if v[0] else 1
    if q == 1:
        return [(c, v)]
    key = -1  # rewrite v along with the stored values
    c.values[key] = v
    parts = c.split(q)
    del c.values[key]
    out = []
    for part in parts:
        w = part.values.pop(key)
        assert w is not None
        out.append((part, w))
    return out


def _flag(c: Class, severity: str, accepted: bool) -> None:
    c.flagged = True
    if c.first_flag is None:
        c.first_flag = c.now
    if severity == "warning" and not accepted:
        c.warned = True


class Notes:
    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, text: str) -> None:
        if text not in self.items:
            self.items.append(text)


def _window(c: Class, v: Affine, op: Window, accepted: bool) -> list[tuple[Class, Affine]]:
    out = []
    for part, w in _aligned(c, v, op.stride):
        s, ke = op.stride, op.dilation * (op.kernel - 1) + 1
        if op.same:  # the size is fixed modulo s in this class, and with it TensorFlow's padding
            r_n = w[1] % s
            before, after = same_padding(r_n or s, op.kernel, s, op.dilation)  # any size with that residue
        else:
            before, after = op.before, op.after
        if op.need and not part.at_least((w[0], w[1] + (before + after if op.need_padded else 0)), op.need):
            continue
        padded = (w[0], w[1] + before + after)
        r = (padded[1] - ke) % s
        base = (padded[1] - ke - r) // s + 1  # floor((L − ke)/s) + 1 at t = 0, slope w[0]/s
        y = (w[0] // s, base)
        if op.ceil_mode and r:
            y = (y[0], y[1] + 1)
            if (y[1] - 1) * s >= w[1] + before:  # (out − 1)·s ≥ in + before: both sides have slope w[0]
                y = (y[0], y[1] - 1)
            if not part.at_least(y, 1):
                continue
        elif not part.at_least(padded, ke):
            continue
        if r:
            covered = (y[1] - 1) * s + ke
            unread = max(0, padded[1] - covered)
            severity = "info" if unread <= after + max(0, s - ke) else "warning"
            _flag(part, severity, accepted)
        out.append((part, y))
    return out


def _scale(c: Class, v: Affine, op: Scale, notes: Notes) -> list[tuple[Class, Affine]]:
    frac = exact_scale(op.scale)
    if Fraction(float(op.scale)) != frac:
        notes.add(
            f"scale {op.scale} is not exact in binary: PyTorch's double product can floor a whole size one "
            f"lower (45 × 1.4 gives 62); the sets here use the exact value"
        )
    p, q = frac.numerator, frac.denominator
    out = []
    for part, w in _aligned(c, (v[0] * p, v[1] * p), q):
        r = w[1] % q
        y = (w[0] // q, (w[1] - r) // q)
        if r:
            _flag(part, "warning", False)
        if part.at_least(y, 1):
            out.append((part, y))
    return out


def _op(c: Class, v: Affine, op: AxisOp, accepted: bool, notes: Notes) -> list[tuple[Class, Affine]]:
    if isinstance(op, Window):
        return _window(c, v, op, accepted)
    if isinstance(op, Transposed):
        s = op.stride
        if op.same:
            return [(c, (v[0] * s, v[1] * s))]
        ke = op.dilation * (op.kernel - 1) + 1
        y = (v[0] * s, (v[1] - 1) * s - op.before - op.after + ke + op.output_padding)
        return [(c, y)] if c.at_least(y, 1) else []
    if isinstance(op, Scale):
        return _scale(c, v, op, notes)
    if isinstance(op, Fixed):
        return [(c, (0, op.size))]
    if isinstance(op, Shift):
        return [(c, (v[0], v[1] + op.before + op.after))]
    if isinstance(op, Crop):
        return [(c, (0, op.to))] if c.at_least(v, op.to) else []
    assert isinstance(op, Times)
    return [(c, (v[0] * op.factor, v[1] * op.factor))]


class AxisAnswer(Record):
    axis: str
    given: int  # the spec's own input size on this axis
    valid: list[Class]


def fixed_flattens(report: Report) -> dict[int, int | None]:  # flatten row → the first row fixing it
    """Flatten (and ``tokens``) rows whose values reach a layer that fixes their length (a dense
    layer's weights, a position embedding, ``untokens``' sizes): their size is fixed by it."""
    origin: dict[int, int] = {}
    fixed: dict[int, int | None] = {}
    for number, (row, step) in enumerate(zip(report.rows, report.steps), 1):
        kind = step.layer.kind if step.layer is not None else None
        if kind is not None and kind.flattens and row.input.is_map:
            origin[number] = number
        elif not row.input.is_map and step.inputs and step.inputs[0] in origin:
            source = origin[step.inputs[0]]
            if kind is not None and kind.fixes_length(row.input):
                fixed.setdefault(source, number)
            if not row.output.is_map and not (kind is not None and kind.fixed_output):
                origin[number] = source
    return fixed


def binding_flattens(report: Report) -> list[int]:
    """The fixed flattens whose input size depends on the input (after a global pool it does not)."""
    out = []
    for number in fixed_flattens(report):
        source = report.steps[number - 1].inputs[0]
        for axis in range(report.input.rank):
            if any(v is not None and v[0] for c in replay(report, axis, number - 1) if (v := c.values.get(source))):
                out.append(number)
                break
    return out


def replay(
    report: Report, axis: int, stop: int | None = None, notes: Notes | None = None, weights: bool = True
) -> list[Class]:
    """The residue classes of input sizes on ``axis`` for which rows 1..stop run, with their sizes.

    With ``weights``, a flatten feeding a dense layer must keep the size the spec gives it.
    """
    notes = notes or Notes()
    cache: OpsCache = {}
    fixed = fixed_flattens(report) if stop is None and weights else {}
    classes = [Class(1, 1, 0, None, {0: (1, 1)})]  # n = 1 + t
    last = len(report.rows) if stop is None else stop
    for number, (row, step) in enumerate(zip(report.rows[:last], report.steps[:last]), 1):
        after: list[Class] = []
        for c in classes:
            c.now = number
            after += _step(c, number, row.input.rank, axis, step, report, fixed, notes, cache)
            if len(after) > MAX_CLASSES:  # checked as they grow, so at most one class's split too many
                raise SpecError(
                    f"solving needs more than {MAX_CLASSES:,} residue classes at {row.name} (convcalc's limit); "
                    "too many strides"
                )
        classes = after
        if not classes:
            break
    return classes


OpsCache = dict[tuple[int, int], tuple[tuple[AxisOp, ...], ...]]  # (id(layer), rank) → its per-axis ops


def _axis_ops(layer: Layer, rank: int, cache: OpsCache) -> tuple[tuple[AxisOp, ...], ...]:
    """A layer's per-axis ops, computed once per replay (a repeated block is one Layer object,
    alive as long as the report that the replay reads, so its id is unique there)."""
    key = (id(layer), rank)
    ops = cache.get(key)
    if ops is None:
        ops = cache[key] = layer.kind.axis_ops(layer.options, rank)
    return ops


def _step(
    c: Class,
    number: int,
    in_rank: int,
    axis: int,
    step: Step,
    report: Report,
    fixed: dict[int, int | None],
    notes: Notes,
    cache: OpsCache,
) -> list[Class]:
    row = report.rows[number - 1]
    if step.layer is None:  # a join: sizes on this axis must match (or fit)
        found = [c.values[i] for i in step.inputs]
        values = [v for v in found if v is not None]
        if len(values) < len(found):  # flat vectors: nothing spatial to match
            c.values[number] = None
            return [c]
        fit = step.fit
        if fit is not None:  # the changed input may only shrink (crop) or grow (pad) to the kept one
            changed, kept = values[fit.changed], fit.target(values)
            surplus = (fit.sign * (changed[0] - kept[0]), fit.sign * (changed[1] - kept[1]))
            ok, y = c.at_least(surplus, 0), kept
        else:
            if step.join is not None and step.join.multiplies:  # a gate of size 1 on every input broadcasts
                values = [w for w in values if w != (0, 1)] or values[:1]
            first = values[0]
            ok, y = all(c.equal(first, w) for w in values[1:] if w is not None), first
        if not ok:
            return []
        c.values[number] = y
        return [c]
    v = c.values[step.inputs[0]]
    if v is None or not row.input.is_map:
        c.values[number] = None
        return [c]
    if len(step.inputs) > 1:  # like: NAME: the size on this axis is that tensor's, whatever the input
        c.values[number] = c.values[step.inputs[1]]
        return [c]
    if step.layer.kind.flattens:
        c.values[number] = None
        if number in fixed and not c.equal(v, (0, row.input.spatial[axis])):
            return []
        return [c]
    ops = _axis_ops(step.layer, in_rank, cache)[axis]
    pairs = [(c, v)]
    for op in ops:
        pairs = [out for part, w in pairs for out in _op(part, w, op, step.layer.allow_inexact, notes)]
    done = []
    for part, y in pairs:
        if part.empty():
            continue
        part.values[number] = y
        done.append(part)
    return done


# --- presenting a set of sizes --------------------------------------------------------------


def progressions(classes: Sequence[Class]) -> list[Progression]:
    """Merged and sorted: a class split into residues that all survive reads as the coarser class."""
    found = sorted({c.progression() for c in classes if not c.empty()})
    return _merge(found)


def _merge(items: list[Progression]) -> list[Progression]:
    changed = True
    while changed:
        changed = False
        endless = [p for p in items if p.stop is None]
        by_step: dict[int, list[Progression]] = {}
        for p in endless:
            by_step.setdefault(p.step, []).append(p)
        for step, group in by_step.items():
            for parts in range(2, step + 1):
                if step % parts:
                    continue
                coarse = step // parts
                residues: dict[int, list[Progression]] = {}
                for p in group:
                    residues.setdefault(p.start % coarse, []).append(p)
                for members in residues.values():
                    if len(members) != parts:
                        continue
                    starts = sorted(p.start for p in members)
                    if all(b - a == coarse for a, b in itertools.pairwise(starts)):
                        items = [p for p in items if p not in members] + [Progression(starts[0], coarse, None)]
                        changed = True
                        break
                if changed:
                    break
            if changed:
                break
    return sorted(set(items))


def _multiples(name: str, step: int, first: int) -> str:
    """``H = 32k + 1, k ≥ 7`` for 225, 257, …; ``H = 8k, k ≥ 1`` for 8, 16, …"""
    rest = first % step
    return f"{name} = {step}k{f' + {rest}' if rest else ''}, k ≥ {first // step}"


def _residues(residues: list[int]) -> str:
    """``0, 1 or 31``; a run of three or more as a range: ``0–14 or 31``."""
    items = spans(residues, ", ", "–")
    return ", ".join(items[:-1]) + f" or {items[-1]}" if len(items) > 1 else items[0]


def describe(name: str, items: Sequence[Progression]) -> str:
    """``H = 32k + 1, k ≥ 0``; ``H = 8k, k ≥ 1``; ``H ≡ 0, 1 or 31 (mod 32), H ≥ 63``;
    ``H ≡ 0–14 or 31 (mod 32), …``; ``every H ≥ 3``; ``none``."""
    if not items:
        return "none"
    endless = [p for p in items if p.stop is None]
    finite = [p for p in items if p.stop is not None]
    parts: list[str] = []
    if endless:
        modulus = math.lcm(*(p.step for p in endless))
        starts = sorted(p.start + p.step * i for p in endless for i in range(modulus // p.step))
        low = starts[0]
        if all(s < low + modulus for s in starts):
            residues = sorted({s % modulus for s in starts})
            if modulus == 1:
                parts.append(f"every {name} ≥ {low}")
            elif len(residues) == 1:
                parts.append(_multiples(name, modulus, low))
            else:
                parts.append(f"{name} ≡ {_residues(residues)} (mod {modulus}), {name} ≥ {low}")
        else:
            parts += [_multiples(name, p.step, p.start) for p in endless]
    few: list[int] = []  # the members of short finite progressions, listed together
    for p in finite:
        assert p.stop is not None
        count = (p.stop - p.start) // p.step + 1
        if count <= 6:
            few += [p.start + p.step * i for i in range(count)]
        else:
            parts.append(f"{p.start} to {p.stop} in steps of {p.step}")
    if few:  # consecutive sizes as a range: 210–224, not fifteen numbers
        parts.append(", ".join(spans(sorted(set(few)), ", ", "–")))
    return "; ".join(parts)


class LevelAnswer(Record):
    text: str
    progressions: list[Progression]
    below: int | None
    above: int | None


def level(name: str, classes: Sequence[Class], given: int) -> LevelAnswer:
    items = progressions(classes)
    below = max((b for p in items if (b := p.nearest(given)[0]) is not None), default=None)
    above = min((a for p in items if (a := p.nearest(given)[1]) is not None), default=None)
    return LevelAnswer(describe(name, items), items, below, above)


class Solution(Record):
    axis: str
    given: int
    levels: dict[str, LevelAnswer]  # "clean", "exact" (forward) or "exact", "floored" (inverse)


class Answer(Record):
    report: Report
    solutions: list[Solution]
    notes: list[str]
    target: str | None = None  # for the inverse problem: which row and size


def trace(spec: Spec, input: Sequence[int] | str | None = None) -> Report:
    """A report for the structure (channels and steps do not depend on the spatial size)."""
    try:
        return evaluate(spec, input=input)
    except SpecError as first:
        if input is not None or spec.input is None or len(spec.input) == 1:
            raise
        for size in (4096, 65536, 1 << 20):  # the spec's own size may be the one that fails
            try:
                return evaluate(spec, input=(*(size,) * (len(spec.input) - 1), spec.input[-1]))
            except SpecError:
                continue
        raise first from None


def solve(spec: Spec, input: Sequence[int] | str | None = None) -> Answer:
    """For each spatial axis, the input sizes that are clean and exact."""
    report = trace(spec, input)
    refuse_without_torch(report, "solve cannot follow the input's size through it")
    notes = Notes()
    solutions = []
    names = axis_names(report.input.rank)
    given_dims = report.input.spatial if input is not None or spec.input is None else spec.input[:-1]
    for axis, name in enumerate(names):
        classes = replay(report, axis, None, notes)
        given = given_dims[axis]
        solutions.append(
            Solution(
                name,
                given,
                {
                    "clean": level(name, [c for c in classes if not c.warned], given),
                    "exact": level(name, [c for c in classes if not c.flagged], given),
                },
            )
        )
    fixers = fixed_flattens(report)
    for number in binding_flattens(report):
        row = report.rows[number - 1]
        if row.output.tokens:
            by = report.rows[(fixers[number] or number) - 1]
            notes.add(
                f"{row.name} feeds {by.name} ({by.kind}), which fixes the number of tokens: only inputs "
                f"giving exactly {row.input} there qualify (other shapes with as many positions: "
                f"solve --at {row.name} --output {row.output.spatial[0]})"
            )
            continue
        notes.add(
            f"{row.name} feeds a dense layer, whose weights fix its size: only inputs giving exactly "
            f"{row.input} there qualify (other shapes with the same number of values: "
            f"solve --at {row.name} --output {row.output.channels})"
        )
    return Answer(report, solutions, notes.items)


def _row_number(report: Report, at: str | None) -> int:
    if at is None:
        return report.result
    for number, row in enumerate(report.rows, 1):
        if row.name == at:
            return number
    for group in report.groups:  # a block, repeat or branch, as --depth folds it: its output
        if group.path == at and group.end > group.start:
            return group.end
    names = [r.name for r in report.rows] + [g.path for g in report.groups]
    raise SpecError(f"no layer is named '{at}'{suggest(at, names)}")


def inverse(spec: Spec, output: Sequence[int], at: str | None = None) -> Answer:
    """All input sizes that make the network (or the row named ``at``) produce ``output``.

    A spatial output gives one set per axis; a flatten's length is split into every shape with
    that many values.
    """
    report = trace(spec)
    number = _row_number(report, at)
    if number == 0:
        raise SpecError("the network has no layers")
    row = report.rows[number - 1]
    notes = Notes()
    names = axis_names(report.input.rank)
    if row.output.is_map:
        if len(output) != row.output.rank:
            raise SpecError(
                f"{row.name} has {row.output.rank} spatial axes ({', '.join(axis_names(row.output.rank))}): "
                f"give {row.output.rank} sizes such as {'x'.join(['7'] * row.output.rank)}"
            )
        targets = [tuple(output)]
    elif not row.input.is_map or not _is_flatten(report.steps[number - 1]):
        what = "a token sequence" if row.output.tokens else "a flat vector"
        raise SpecError(
            f"the output of {row.name} is {what} of fixed length; ask at a spatial layer, a flatten or tokens"
        )
    else:
        if row.output.tokens and len(output) == 2 and output[1] == row.output.channels:
            output = output[:1]  # N×C: the number of tokens counts
        if len(output) != 1:
            example = row.output.spatial[0] if row.output.tokens else row.output.channels
            raise SpecError(f"{row.name} gives {'tokens' if row.output.tokens else 'a flat vector'}: "
                            f"give one length such as {example}")
        channels = 1 if row.output.tokens else row.input.channels
        if output[0] % channels:
            return Answer(
                report,
                [],
                [f"{output[0]} is not a multiple of the {channels} channels at {row.name}"],
                f"{row.name} = {output[0]}",
            )
        targets = list(_factorizations(output[0] // channels, row.input.rank))
        notes.add(
            f"{row.name} flattens {channels} channels: the spatial sizes before it must multiply to "
            f"{output[0] // channels}"
        )
    # the whole network must run; dense weights are not held to the spec's own size here
    per_axis = [replay(report, axis, None, notes, weights=False) for axis in range(len(names))]
    source = number if row.output.is_map else report.steps[number - 1].inputs[0]
    solutions = []
    for target in targets:
        for axis, name in enumerate(names):
            hits = []
            for c in per_axis[axis]:
                v = c.values.get(source)
                if v is None:
                    continue
                part = Class(c.base, c.step, c.lo, c.hi, {})
                part.flagged = c.first_flag is not None and c.first_flag <= source  # floored on the way there
                if part.equal(v, (0, target[axis])):
                    hits.append(part)
            given = report.input.spatial[axis]
            solutions.append(
                Solution(
                    name if len(targets) == 1 else f"{name} (for {'×'.join(map(str, target))})",
                    given,
                    {
                        "exact": level(name, [c for c in hits if not c.flagged], given),
                        "floored": level(name, [c for c in hits if c.flagged], given),
                    },
                )
            )
    return Answer(report, solutions, notes.items, f"{row.name} = {'×'.join(map(str, output))}")


def _is_flatten(step: Step) -> bool:
    return step.layer is not None and step.layer.kind.flattens


def _factorizations(n: int, parts: int) -> list[tuple[int, ...]]:
    if parts == 1:
        return [(n,)]
    out = []
    for d in range(1, n + 1):
        if n % d == 0:
            out += [(d, *rest) for rest in _factorizations(n // d, parts - 1)]
        if len(out) > 1000:
            break
    return out

"""The cost of training a network (``show --train``): backward MACs, gradients, optimizer state.

Counted as PyTorch counts one training step of the exported module (``torch.utils.flop_counter``
around ``loss.backward()``, then ``optimizer.step()``), with the loss a sum over the outputs:

- **Backward MACs.**  Every product of the forward pass (a conv, a linear layer, attention's
  matmuls) is paid twice more: once for the gradient of its weight (or second operand) and once
  for the gradient of its input.  The input gradient is skipped where the input needs none: the
  network's input, and every tensor computed from it by layers without parameters (a pad or a
  pool before the first conv), as autograd does.  A layer whose output reaches no output of the
  network gets no gradient at all.
- **Gradients.**  One value per parameter that receives a gradient, at the spec's dtype.
- **Optimizer state.**  Per parameter: sgd none, momentum one buffer, adam and adamw two (exp_avg
  and exp_avg_sq), at the spec's dtype; adam and adamw also keep a float32 ``step`` scalar per
  parameter tensor.  A parameter without a gradient gets no state.
- **Saved for backward.**  The storages autograd keeps from the forward pass, each counted once
  by its size (a view keeps its whole storage): what each torch module keeps
  (:func:`~convcalc.model.autograd.saves`), the operands of a ``mul`` join, never a parameter.
  A tensor two layers keep (a ReLU's output, which the next conv keeps too) is the first one's.
- **The step's peak** (an estimate): the input, the weights, buffers and optimizer state all
  along, and the larger of the backward pass at its fullest and the optimizer's step.  Backward
  through layer r holds the tensors layers up to r saved, the gradients of layers from r on,
  and the gradients of r's output and input; adam's step holds every gradient and two
  temporaries the size of the largest layer's parameters (sgd and momentum update in place).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from ..base.errors import SpecError
from ..base.record import Record
from ..model.autograd import (
    Saves,
    inference_ops,
    is_view,
    module_shapes,
    parameter_tensors,
    saves,
    storage_values,
)
from ..model.geometry import Shape
from ..model.kinds import TorchModule
from ..spec.parser import DTYPE_BYTES, Spec
from .evaluate import Report, evaluate, refuse_without_torch

# Buffers kept per parameter value, and whether a float32 step count is kept per parameter tensor.
OPTIMIZERS: dict[str, tuple[int, bool]] = {
    "sgd": (0, False),
    "momentum": (1, False),
    "adam": (2, True),
    "adamw": (2, True),
}
STEP_TEMPORARIES = {"adam": 2, "adamw": 2}  # parameter-sized temporaries of one tensor's update
STEP_BYTES = 4  # torch.optim's step count: a float32 scalar tensor


class Training(Record):
    """The figures of one training step, for the whole batch."""

    optimizer: str
    backward_macs: tuple[int, ...]  # per row, in the rows' order
    gradient_bytes: int
    optimizer_bytes: int
    saved_bytes: tuple[int, ...]  # per row: the storages it is the first to keep for backward
    # The candidates for the peak, each affine in the batch: backward through each row, the update.
    peak_terms: tuple[int, ...]

    @property
    def peak_bytes(self) -> int:
        """The step's peak memory, an estimate (module docstring)."""
        return max(self.peak_terms)

    @property
    def total_saved_bytes(self) -> int:
        return sum(self.saved_bytes)

    @property
    def total_backward_macs(self) -> int:
        return sum(self.backward_macs)

    @property
    def total_backward_flops(self) -> int:
        return 2 * self.total_backward_macs


def training(report: Report, optimizer: str = "adam") -> Training:
    """The training figures of ``report`` with ``optimizer`` (a key of :data:`OPTIMIZERS`)."""
    refuse_without_torch(report, "its training memory is unknown")
    buffers, keeps_step = OPTIMIZERS[optimizer]
    rows, steps = report.rows, report.steps
    # The tensors a row reads for their values: a layer its first input (a `like:` layer's
    # second input gives a size only), a join all of them.  Tensor 0 is the network's input.
    reads = [step.inputs[:1] if step.layer is not None else step.inputs for step in steps]
    needs_grad = [False] * (len(rows) + 1)  # the tensor depends on some parameter
    for number, (row, inputs) in enumerate(zip(rows, reads), 1):
        needs_grad[number] = row.params > 0 or any(needs_grad[i] for i in inputs)
    reaches = [False] * (len(rows) + 1)  # the tensor is an output or read by one that reaches one
    for output in report.outputs:
        reaches[output.row] = True
    for number in range(len(rows), 0, -1):
        if reaches[number]:
            for i in reads[number - 1]:
                reaches[i] = True

    backward, values, tensors = [], 0, 0
    trained = [0] * len(rows)  # parameters per row that get a gradient
    layers: dict[tuple[int, object], tuple[int, int]] = {}  # (entry MACs, parameter tensors) per layer and input
    for number, (row, step, inputs) in enumerate(zip(rows, steps, reads), 1):
        if not reaches[number] or not needs_grad[number]:
            backward.append(0)
            continue
        skipped = 0
        if step.layer is not None:
            key = (id(step.layer), row.input)  # a repeated block's layer is one Layer: computed once
            known = layers.get(key)
            if known is None:
                kind, options = step.layer.kind, step.layer.options
                entry = kind.apply(options, row.input).entry_macs
                known = layers[key] = entry, sum(parameter_tensors(m) for m in kind.torch(options, row.input))
            if not any(needs_grad[i] for i in inputs):
                skipped = known[0] * report.batch
            if row.params:
                values += row.params
                tensors += known[1]
                trained[number - 1] = row.params
        backward.append(2 * row.macs - skipped)
    per_value = DTYPE_BYTES[report.dtype]
    state = buffers * values * per_value + (STEP_BYTES * tensors if keeps_step else 0)
    saved = saved_bytes(report, reads, needs_grad)
    held = (report.input.numel * report.batch + report.totals.params + report.totals.buffers) * per_value + state
    terms = []  # the backward pass through each row, from the last
    kept, grads = sum(saved), 0
    for r in range(len(rows) - 1, -1, -1):
        grads += trained[r] * per_value
        activation = (rows[r].output.numel + rows[r].input.numel) * report.batch * per_value
        terms.append(held + kept + grads + activation)
        kept -= saved[r]
    update = values * per_value + STEP_TEMPORARIES.get(optimizer, 0) * max(trained, default=0) * per_value
    terms.append(held + update)
    return Training(optimizer, tuple(backward), values * per_value, state, saved, tuple(terms))


class Square(Record):
    """The largest square input (a cube in 3-D, a length in 1-D) one batch trains at."""

    batch: int
    side: int | None  # the largest clean side whose step fits (None: not even the smallest)
    peak_bytes: int  # that step's peak (0 when none fits)
    capped: bool = False  # every clean side up to LARGEST_SIDE fits, and clean sides go on past it


class BatchBudget(Record):
    """``solve --train --max-memory``: the largest batch whose training step fits a memory, and
    per batch the largest square input."""

    report: Report  # at batch 1
    max_memory: int
    optimizer: str
    batch: int  # the largest batch that fits (0: not even one sample)
    peak_bytes: int  # its step's peak (batch 1's when none fits)
    next_peak_bytes: int  # the peak one sample more needs
    squares: tuple[Square, ...] | None = ()  # per batch asked; None: no square input is clean and accepted


LARGEST_BATCH = 2**40  # the search stops here: a memory that holds more is reported as this batch
LARGEST_SIDE = 2**24  # and here for a side
FIRST_SIDES = 64  # clean sides tried, from the smallest, for one the network accepts


def peak_lines(spec: Spec, optimizer: str, input: Sequence[int] | str | None) -> list[tuple[int, int]]:
    """Each candidate for the step's peak as (a, s): a + s·batch.  Every candidate is affine in
    the batch (sizes scale with it, a batch norm's statistics do not), so batches 1 and 2 give
    it.  One evaluation serves both: the candidates read the batch from ``report.batch`` and the
    sizes per sample from the rows (the rows' MACs, for the whole batch, only the backward MACs
    read)."""
    one = evaluate(spec, input=input, batch=1)
    at1, at2 = training(one, optimizer).peak_terms, training(one._replace(batch=2), optimizer).peak_terms
    return [(2 * p1 - p2, p2 - p1) for p1, p2 in zip(at1, at2)]


def _peak(lines: list[tuple[int, int]], batch: int) -> int:
    return max(a + s * batch for a, s in lines)


def largest_batch(
    spec: Spec,
    max_memory: int,
    optimizer: str = "adam",
    input: str | None = None,
    batches: Sequence[int] | None = (),
) -> BatchBudget:
    """The largest batch whose step's peak (:func:`training`) is at most ``max_memory`` bytes, and
    the largest square input of each of ``batches`` (:func:`largest_squares`; None: the powers of
    two up to the largest batch, and that batch).

    From the formulas at batches 1 and 2 (:func:`peak_lines`), the answer is the least of
    (max_memory − a) // s: two evaluations, whatever the memory.
    """
    one = evaluate(spec, input=input, batch=1)
    lines = peak_lines(spec, optimizer, input)
    batch = LARGEST_BATCH
    for a, s in lines:
        if a + s > max_memory:  # not even one sample
            batch = 0
        elif s > 0:
            batch = min(batch, (max_memory - a) // s)
    if batches is None:  # powers of two up to the largest batch, and that batch
        batches = sorted({2**k for k in range(max(batch, 1).bit_length())} | {max(batch, 1)})
    squares = largest_squares(spec, max_memory, optimizer, input, batches) if batches else ()
    return BatchBudget(one, max_memory, optimizer, batch, _peak(lines, max(batch, 1)), _peak(lines, batch + 1), squares)


def largest_squares(
    spec: Spec, max_memory: int, optimizer: str, input: str | None, batches: Sequence[int]
) -> tuple[Square, ...] | None:
    """For each batch, the largest side S such that the input S×S×C (S×S×S×C in 3-D, S×C in 1-D,
    C the spec's channels) is clean on every axis (``solve``'s clean sizes: no input data cut
    off, every join matching) and trains within ``max_memory``.

    Every size formula grows with the input, so the peak does too: a binary search over the
    clean sides, each step two evaluations (:func:`peak_lines`), from the smallest clean side the
    network accepts (a dense layer or a position embedding that fixes the size bounds it above).
    """
    from .solve import solve  # start-up: only solve --max-memory asks for squares

    answer = solve(spec, input)
    rank, channels = answer.report.input.rank, answer.report.input.channels
    if not rank:  # a flat input has no side
        return None
    axes = [s.levels["clean"].progressions for s in answer.solutions]
    known: dict[int, list[tuple[int, int]] | None] = {}

    def clean(side: int, up: bool) -> int | None:
        """The largest clean side ≤ ``side`` (with ``up``, the smallest ≥ it) on every axis."""
        while True:
            ends = []
            for progressions in axes:
                near = [p.nearest(side)[1 if up else 0] for p in progressions]
                found = [n for n in near if n is not None]
                if not found:
                    return None
                ends.append(min(found) if up else max(found))
            if len(set(ends)) == 1:
                return ends[0]
            side = max(ends) if up else min(ends)

    def lines(side: int) -> list[tuple[int, int]] | None:
        if side not in known:
            try:
                known[side] = peak_lines(spec, optimizer, (*(side,) * rank, channels))
            except SpecError:
                known[side] = None  # the network refuses this size
        return known[side]

    def fits(side: int, batch: int) -> bool:
        at = lines(side)
        return at is not None and _peak(at, batch) <= max_memory

    low = clean(1, up=True)
    for _ in range(FIRST_SIDES):
        if low is None or lines(low) is not None:
            break
        low = clean(low + 1, up=True)
    if low is None or lines(low) is None:
        return None  # no square input is clean, or none the network accepts
    def peak(side: int, batch: int) -> int | None:
        """The peak at the largest clean side up to ``side`` (None: the network refuses it)."""
        below = clean(side, up=False)
        at = lines(below) if below is not None else None
        return _peak(at, batch) if at is not None else None

    highest = clean(LARGEST_SIDE, up=False)  # the largest clean side searched
    endless = clean(LARGEST_SIDE + 1, up=True) is not None  # clean sides go on past it
    reference = clean(answer.report.input.spatial[0], up=False)
    if reference is not None:
        lines(reference)  # a known side near where the answers usually are, for the first guess
    squares = []
    top = LARGEST_SIDE + 1  # known not to fit the previous batch, so not this one either
    for batch in sorted(set(batches)):
        low_peak = peak(low, batch)
        assert low_peak is not None
        if low_peak > max_memory:
            squares.append(Square(batch, None, 0))
            continue
        if highest is not None and (peak(highest, batch) or max_memory + 1) <= max_memory:
            squares.append(Square(batch, highest, peak(highest, batch) or 0, capped=endless))
            continue
        # good fits and bad does not (past the cap, refused, or over the memory).  The first
        # probe is placed as if the peak grew with the area (a constant plus a multiple of side²)
        # through the two known sides nearest the memory on either side of it; then steps of
        # 1, 2, 4, … from it until one side fits and the next does not, then halving.
        good, bad = low, top
        guess = min(max(_estimate(known, batch, max_memory), good + 1), bad - 1)
        if guess > good:
            found = peak(guess, batch)
            fitting = found is not None and found <= max_memory
            step = 1
            if fitting:
                good = guess
                while good + step < bad and (peak(good + step, batch) or max_memory + 1) <= max_memory:
                    good, step = good + step, 2 * step
                bad = min(bad, good + step)
            else:
                bad = guess
                while bad - step > good and (peak(bad - step, batch) or max_memory + 1) > max_memory:
                    bad, step = bad - step, 2 * step
                good = max(good, bad - step)
        while bad - good > 1:
            middle = (good + bad) // 2
            if (peak(middle, batch) or max_memory + 1) <= max_memory:
                good = middle
            else:
                bad = middle
        side = clean(good, up=False) or low
        top = bad
        squares.append(Square(batch, side, peak(side, batch) or 0))
    by_batch = {q.batch: q for q in squares}
    return tuple(by_batch[b] for b in batches)


def _estimate(known: dict[int, list[tuple[int, int]] | None], batch: int, target: int) -> int:
    """The side whose peak would be ``target`` if the peak were a constant plus a multiple of
    side², through the known sides nearest the target on either side of it."""
    points = sorted((side, _peak(at, batch)) for side, at in known.items() if at is not None)
    below = [p for p in points if p[1] <= target]
    above = [p for p in points if p[1] > target]
    if not below:
        return 1
    if not above:
        return 2 * below[-1][0]
    (x0, p0), (x1, p1) = below[-1], above[0]
    if p1 == p0:
        return x0
    return math.isqrt(x0 * x0 + (target - p0) * (x1 * x1 - x0 * x0) // (p1 - p0))


def report_shape(report: Report, tensor: int) -> Shape:
    """The shape of tensor ``tensor``: the network's input (0) or a row's output."""
    return report.input if tensor == 0 else report.rows[tensor - 1].output


def module_plan(
    modules: list[TorchModule], x: Shape, y: Shape, batch: int, dense: bool
) -> tuple[list[tuple[bool, int, bool, Saves, int]], bool]:
    """For each module of a layer, in order: whether its output is a view, its output storage's
    values (one sample), whether it has parameters, what it keeps for backward, and the values
    of a copy of its input it keeps instead of the input (a linear layer's matmul on tokens laid
    out by ``tokens``, at a batch over 1: 0 otherwise); and whether the layer's output is laid
    out contiguously (``dense``: its input's)."""
    plan, shape = [], x
    for module, out_shape in zip(modules, module_shapes(modules, x, y)):
        trained = parameter_tensors(module) > 0
        values = storage_values(module, shape, out_shape, batch)
        scattered = shape.tokens and not dense and batch > 1 and module[0] in ("Linear", "SelfAttention")
        plan.append((is_view(module), values, trained, saves(module, shape, out_shape), shape.numel if scattered else 0))
        dense = inference_ops(module, shape, out_shape, batch, dense)[1]
        shape = out_shape
    return plan, dense


def saved_bytes(report: Report, reads: list[tuple[int, ...]], needs_grad: list[bool]) -> tuple[int, ...]:
    """Per row, the bytes of the storages it is the first to keep for the backward pass.

    Storages are numbered as the forward pass makes them: 0 is the network's input, a module
    whose output is a view of its input makes none.  Each storage is counted once.
    """
    per_value, batch = DTYPE_BYTES[report.dtype], report.batch
    sizes = [report.input.numel * batch * per_value]  # storage number → bytes
    of_tensor = [0] * (len(report.rows) + 1)  # row number → the storage its output lives in
    dense = [True] * (len(report.rows) + 1)  # row number → its output laid out contiguously
    kept: set[int] = set()
    found = []
    plans: dict[tuple[int, object, bool], tuple[list[tuple[bool, int, bool, Saves, int]], bool]] = {}

    def new(numel: int) -> int:
        sizes.append(numel * batch * per_value)
        return len(sizes) - 1

    for number, (row, step, inputs) in enumerate(zip(report.rows, report.steps, reads), 1):
        keep: list[int] = []
        extra = 0  # bytes of tensors made only to be kept: statistics, masks, indices
        if step.layer is None:  # a join
            join = step.join
            assert join is not None
            # An operand a fit pads is a tensor of its own; one it crops is a view of the input.
            operands = [
                new(want.numel) if join.fit is not None and join.fit.sign < 0 and want != report_shape(report, i)
                else of_tensor[i]
                for i, want in zip(inputs, row.inputs)
            ]
            if len(inputs) == 1 and (join.sums or join.multiplies):
                out = operands[0]  # `x + ...` of one tensor is that tensor
            else:
                out = new(row.output.numel)
            dense[number] = dense[inputs[0]] if join.sums or join.multiplies else True
            if join.multiplies:  # a product keeps each factor for the other's gradient
                acc, acc_grad = operands[0], needs_grad[inputs[0]]
                for k, (i, operand) in enumerate(zip(inputs[1:], operands[1:]), 2):  # a · b · c is (a · b) · c
                    keep += ([operand] if acc_grad else []) + ([acc] if needs_grad[i] else [])
                    acc, acc_grad = out if k == len(inputs) else new(row.output.numel), acc_grad or needs_grad[i]
        else:
            key = (id(step.layer), row.input, dense[inputs[0]])  # a repeated block's layer: its modules once
            planned = plans.get(key)
            if planned is None:
                modules = step.layer.kind.torch(step.layer.options, row.input)
                planned = plans[key] = module_plan(modules, row.input, row.output, batch, dense[inputs[0]])
            plan, dense[number] = planned
            cur, grad = of_tensor[inputs[0]], needs_grad[inputs[0]]
            for view, values, trained, rule, copy in plan:
                out = cur if view else new(values)
                if grad or trained:  # autograd records the module
                    kept_input = new(copy) if copy else cur  # the matmul keeps the copy it made
                    keep += ([kept_input] if rule.input else []) + ([out] if rule.output else [])
                    per_sample = rule.values * per_value + rule.stats * 4 + rule.indices * 8
                    extra += per_sample * batch + rule.batch_stats * 4
                cur, grad = out, grad or trained
        of_tensor[number] = out
        fresh = [k for k in dict.fromkeys(keep) if k not in kept]
        kept.update(fresh)
        found.append(extra + sum(sizes[k] for k in fresh))
    return tuple(found)


__all__ = ["OPTIMIZERS", "BatchBudget", "Square", "Training", "largest_batch", "largest_squares", "training"]

"""The peak of live activations in inference (``show --memory``): a liveness pass over the dataflow.

The forward pass of the exported module in eval mode, without gradients, is run as a list of
operations, each making one storage from storages made before it: every torch operation a
layer's modules run (:func:`~convcalc.model.autograd.inference_ops`), a skip's pad, and a join's
additions, products or concatenation.  A storage is live from the operation that makes it to the
last one that reads it; the network's input from the start, the network's outputs to the end.
A view (a flatten, a crop, a slice) makes no storage and keeps its whole storage alive, and an
operation's output is made while its inputs are live.  The peak is the most bytes live during
one operation, with what the operation makes and drops at once (a max pool's indices, a
norm's statistics); parameters and buffers are not counted.
"""

from __future__ import annotations

import math

from ..base.record import Record
from ..model.autograd import Op, inference_ops, module_shapes
from ..model.joins import broadcast
from ..spec.parser import DTYPE_BYTES
from .evaluate import Report, refuse_without_torch


class Peak(Record):
    """The peak of live activation storage in one forward pass, for the whole batch."""

    bytes: int
    row: int  # the row running at the peak (1-based; 0 when the network has no rows)

    def at(self, report: Report) -> str:
        """The name of the row running at the peak (``input`` for a network without rows)."""
        return report.rows[self.row - 1].name if self.row else "input"


def inference_peak(report: Report) -> Peak:
    """The peak of live activation bytes when ``report``'s network runs forward, and where."""
    refuse_without_torch(report, "its memory is unknown")
    per_value, batch = DTYPE_BYTES[report.dtype], report.batch
    sizes = [report.input.numel * batch * per_value]  # storage number → bytes; 0 is the input
    made = [-1]  # storage number → the operation that makes it (the input: before the first)
    last = [-1]  # storage number → the last operation that reads it
    scratch: list[int] = []  # operation → bytes it makes and drops
    rows: list[int] = []  # operation → its row
    of_tensor = [0] * (len(report.rows) + 1)  # row number → the storage its output lives in
    dense = [True] * (len(report.rows) + 1)  # row number → whether its output is laid out contiguously
    programs: dict[tuple[int, object, bool], tuple[list[list[Op]], bool]] = {}

    def run(number: int, reads: list[int], values: int, extra: int = 0) -> int:
        """Operation of row ``number`` reading storages ``reads``: the storage it makes."""
        now = len(scratch)
        for s in reads:
            last[s] = now
        scratch.append(extra * batch)
        rows.append(number)
        sizes.append(values * batch * per_value)
        made.append(now)
        last.append(now)
        return len(sizes) - 1

    for number, (row, step) in enumerate(zip(report.rows, report.steps), 1):
        inputs = step.inputs
        if step.layer is None:  # a join
            join = step.join
            assert join is not None
            shapes = [report.input if i == 0 else report.rows[i - 1].output for i in inputs]
            operands = []
            for i, have, want in zip(inputs, shapes, row.inputs):
                if have != want and join.fit is not None and join.fit.sign < 0:  # a pad copies
                    operands.append(run(number, [of_tensor[i]], want.numel))
                else:  # a crop is a view
                    operands.append(of_tensor[i])
            if join.sums or join.multiplies:
                out, sizes_so_far = operands[0], row.inputs[0].dims
                for operand, shape in zip(operands[1:], row.inputs[1:]):  # a + b + c is (a + b) + c
                    sizes_so_far = broadcast([sizes_so_far, shape.dims]) or row.output.dims
                    out = run(number, [out, operand], math.prod(sizes_so_far))
                dense[number] = dense[inputs[0]]
            else:
                out = run(number, operands, row.output.numel)
        else:
            key = (id(step.layer), row.input, dense[inputs[0]])  # a repeated block's layer: once
            program = programs.get(key)
            if program is None:
                program = programs[key] = layer_program(report, number, dense[inputs[0]])
            out, dense[number] = of_tensor[inputs[0]], program[1]
            for ops in program[0]:
                mine = [out]  # the module's input, then what its operations make
                for op in ops:
                    mine.append(run(number, [mine[k] for k in op.reads], op.values, op.scratch))
                out = mine[-1]
        of_tensor[number] = out
    end = len(scratch)
    for output in report.outputs:
        last[of_tensor[output.row]] = end

    change = [0] * (end + 2)
    for size, start, stop in zip(sizes, made, last):
        start = max(start, 0)
        stop = max(stop, start)
        change[start] += size
        change[stop + 1] -= size
    best, where, live = -1, 0, 0
    for i in range(end):
        live += change[i]
        if live + scratch[i] > best:
            best, where = live + scratch[i], rows[i]
    if best < 0:  # no operation at all: the input is all there is
        return Peak(sizes[0], 0)
    return Peak(best, where)


def layer_program(report: Report, number: int, dense: bool) -> tuple[list[list[Op]], bool]:
    """The operations of each module of row ``number``'s layer, and whether its output is dense."""
    row, layer = report.rows[number - 1], report.steps[number - 1].layer
    assert layer is not None
    modules = layer.kind.torch(layer.options, row.input)
    program, shape = [], row.input
    for module, out_shape in zip(modules, module_shapes(modules, row.input, row.output)):
        ops, dense = inference_ops(module, shape, out_shape, report.batch, dense)
        program.append(ops)
        shape = out_shape
    return program, dense


__all__ = ["Peak", "inference_peak"]

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
"""

from __future__ import annotations

from ..base.record import Record
from ..model.kinds import parameter_tensors
from ..spec.parser import DTYPE_BYTES
from .evaluate import Report

# Buffers kept per parameter value, and whether a float32 step count is kept per parameter tensor.
OPTIMIZERS: dict[str, tuple[int, bool]] = {
    "sgd": (0, False),
    "momentum": (1, False),
    "adam": (2, True),
    "adamw": (2, True),
}
STEP_BYTES = 4  # torch.optim's step count: a float32 scalar tensor


class Training(Record):
    """The figures of one training step, for the whole batch."""

    optimizer: str
    backward_macs: tuple[int, ...]  # per row, in the rows' order
    gradient_bytes: int
    optimizer_bytes: int

    @property
    def total_backward_macs(self) -> int:
        return sum(self.backward_macs)

    @property
    def total_backward_flops(self) -> int:
        return 2 * self.total_backward_macs


def training(report: Report, optimizer: str = "adam") -> Training:
    """The training figures of ``report`` with ``optimizer`` (a key of :data:`OPTIMIZERS`)."""
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
        backward.append(2 * row.macs - skipped)
    per_value = DTYPE_BYTES[report.dtype]
    state = buffers * values * per_value + (STEP_BYTES * tensors if keeps_step else 0)
    return Training(optimizer, tuple(backward), values * per_value, state)


__all__ = ["OPTIMIZERS", "Training", "training"]

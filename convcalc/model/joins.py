"""Joins: how several tensors become one (``add``, ``concat``, a ``residual``'s sum), and the
fit rule that brings a skip's two tensors to one size, defined once.

A join is to a join row what an :class:`~convcalc.model.geometry.AxisOp` is to a layer: the
evaluator records it in the dataflow (``Step.join``) and the solver, the receptive fields and
the exporter read it from there, so none of them restates a rule.

The fit rule (``concat``/``add`` with ``with:`` and ``fit:``).  The current tensor is input 0,
the earlier one input 1.  ``crop`` centre-crops the earlier tensor to the current size; ``pad``
zero-pads the current tensor up to the earlier size.  Either way the difference d per axis is
split d//2 before and d − d//2 after (the extra cell after, as the original U-Net crops).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

from ..base.record import Record

T = TypeVar("T")


class Fit(Record):
    """How a skip's two inputs are brought to one spatial size."""

    name: str  # "crop" or "pad", as written after ``fit:``
    changed: int  # the input that is cropped or padded: 1 (the earlier tensor) or 0 (the current)
    sign: int  # +1: the changed input may only shrink (crop); −1: only grow (pad)
    refused: str  # why a fit is impossible: the changed input is "smaller" or "larger" than the kept one
    participle: str  # for comments: "enc1, centre-cropped to 64×64×8"

    def target(self, sizes: Sequence[T]) -> T:
        """The size both inputs have at the join (one axis, or all): the unchanged input's."""
        return sizes[1 - self.changed]

    def possible(self, have: int, target: int) -> bool:
        """A crop cannot grow a tensor, a pad cannot shrink one."""
        return self.sign * (have - target) >= 0

    def refusal(self, inputs: Sequence[str]) -> str:
        """``cannot crop enc1's 64×64×8 to the current 66×66×8: it is smaller`` (inputs described)."""
        return f"cannot {self.name} {inputs[self.changed]} to {self.target(inputs)}: it is {self.refused}"

    @staticmethod
    def split(have: int, target: int) -> tuple[int, int]:
        """The cells taken off (crop) or added (pad) before and after: d//2 and the rest."""
        d = abs(have - target)
        return d // 2, d - d // 2

    def torch(self, tensor: str, have: Sequence[int], target: Sequence[int]) -> str:
        """PyTorch code that fits ``tensor`` (N, C, *have) to ``target``: a slice or ``F.pad``."""
        splits = [self.split(n, t) for n, t in zip(have, target)]
        if self.sign > 0:
            cuts = ", ".join(f"{before}:{before + t}" for (before, _), t in zip(splits, target))
            return f"{tensor}[:, :, {cuts}]"
        pads = ", ".join(str(p) for split in reversed(splits) for p in split)  # F.pad: the last axis first
        return f"nn.functional.pad({tensor}, ({pads}))"

    def offset(self, k: int, have: int, target: int) -> int:
        """Where the join's cell 0 lies in input ``k`` (of size ``have``) on one axis."""
        if k != self.changed:
            return 0
        before, _ = self.split(have, target)
        return self.sign * before


FITS = {
    "crop": Fit("crop", 1, +1, "smaller", "centre-cropped"),
    "pad": Fit("pad", 0, -1, "larger", "padded"),
}


class Join(Record):
    """A join row's operation and a skip's fit: ``add`` and ``residual`` sum their inputs,
    ``concat`` stacks channels, ``mul`` and ``scale`` (a squeeze-excitation gate) multiply."""

    op: str
    fit: Fit | None = None

    @property
    def sums(self) -> bool:
        """add and residual sum their inputs (identical shapes)."""
        return self.op in ("add", "residual")

    @property
    def multiplies(self) -> bool:
        """mul and scale multiply their inputs element-wise, broadcasting a size of 1 (a gate)."""
        return self.op in ("mul", "scale")


def broadcast(shapes: Sequence[tuple[int, ...]]) -> tuple[int, ...] | None:
    """The shape a product of tensors has under PyTorch's broadcasting (same rank: each size is
    equal or 1), or None when they do not broadcast."""
    out = []
    for sizes in zip(*shapes):
        wide = {n for n in sizes if n != 1}
        if len(wide) > 1:
            return None
        out.append(wide.pop() if wide else 1)
    return tuple(out)

"""Tensor shapes and the exact size arithmetic of sliding windows.

A :class:`Shape` is channels-last (H×W×C, as users write it).  The functions here apply
PyTorch's size formulas with :class:`fractions.Fraction`, so a division that does not come
out even is seen, measured (which edge cells are never read) and turned into an
:class:`AxisFlag` before the framework's floor or ceil is applied.  Every kind that slides a
window (conv, deconv, pool and their variants) goes through :func:`window_axis` or
:func:`transposed_axis`; nothing else in the package repeats these formulas.
"""

from __future__ import annotations

import math
from fractions import Fraction
from ..base.record import Record

AXIS_NAMES: dict[int, tuple[str, ...]] = {1: ("L",), 2: ("H", "W"), 3: ("D", "H", "W")}
# What one cell of an axis is called in a flag's explanation.
CELL_WORDS: dict[str, tuple[str, str]] = {
    "L": ("position", "positions"),
    "D": ("slice", "slices"),
    "H": ("row", "rows"),
    "W": ("column", "columns"),
}


class LayerError(Exception):
    """A shape that cannot exist; the evaluator adds the layer's name and position."""


class Shape(Record):
    """A tensor's shape without the batch: a map, a flat vector or a sequence of tokens.

    A map has spatial sizes then channels (``Shape((24, 24), 10)``, 24×24×10); a flat vector
    has no spatial sizes (``Shape((), 500)``).  A sequence of N tokens of C channels is
    ``Shape((N,), C, tokens=True)``, printed ``197×768 tok``: its one axis is the sequence,
    which has no geometry (attention reads every token), so it is never a 1-D map.  ``dims``
    is (N, C) for it, as for a map of length N.
    """

    spatial: tuple[int, ...]
    channels: int
    tokens: bool = False

    @property
    def rank(self) -> int:
        return len(self.spatial)

    @property
    def dims(self) -> tuple[int, ...]:
        return (*self.spatial, self.channels)

    @property
    def numel(self) -> int:
        return math.prod(self.spatial) * self.channels

    @property
    def is_flat(self) -> bool:
        return not self.spatial

    @property
    def is_map(self) -> bool:
        """Spatial axes that windows slide over: neither a flat vector nor a token sequence."""
        return bool(self.spatial) and not self.tokens

    @property
    def layout(self) -> str:
        """``tokens`` for a token sequence, ``spatial`` for a map or a flat vector (JSON's ``layout``)."""
        return "tokens" if self.tokens else "spatial"

    def __str__(self) -> str:
        return "×".join(str(d) for d in self.dims) + (" tok" if self.tokens else "")


def axis_names(rank: int) -> tuple[str, ...]:
    return AXIS_NAMES.get(rank, tuple(f"axis{i}" for i in range(rank)))


class AxisFlag(Record):
    """A size formula that did not divide evenly along one axis (or a lossy upsample)."""

    axis: int  # index into the spatial axes
    exact: Fraction
    used: int
    severity: str  # "info" or "warning"
    unread: int  # cells of the (padded) input at the far edge that no window reads
    formula: str  # e.g. "(32 + 2·0 − 3)/2 + 1 = 31/2"
    reason: str  # why it is info or warning, in words


def frac_text(value: Fraction) -> str:
    return str(value.numerator) if value.denominator == 1 else f"{value.numerator}/{value.denominator}"


def _pad_text(before: int, after: int) -> str:
    return f"2·{before}" if before == after else f"{before} + {after}"


def _cells(axis_name: str, count: int) -> str:
    one, many = CELL_WORDS.get(axis_name, ("cell", "cells"))
    return f"{count} {one if count == 1 else many}"


def window_axis(
    axis: int,
    axis_name: str,
    size: int,
    kernel: int,
    stride: int,
    before: int,
    after: int,
    dilation: int = 1,
    ceil_mode: bool = False,
    what: str = "kernel",
) -> tuple[int, AxisFlag | None]:
    """Output size of a conv or pool window along one axis, as PyTorch computes it.

    Returns the size PyTorch uses and, when (L − ke)/s is not whole, the flag saying so.
    Raises LayerError for a size below 1.
    """
    padded = size + before + after
    reach = dilation * (kernel - 1) + 1  # the effective kernel, ke
    exact = Fraction(padded - reach, stride) + 1
    if exact.denominator == 1:
        used = int(exact)
    elif ceil_mode:
        used = math.ceil(exact)
        if (used - 1) * stride >= size + before:  # the last window may not start in the right padding
            used -= 1
    else:
        used = math.floor(exact)
    if used < 1 or (not ceil_mode and padded < reach):
        raise LayerError(
            f"{axis_name}: the {what} reaches {reach} cells but the padded input is only {padded} "
            f"({size} + {before} + {after}): use a smaller {what} or stride, more padding, "
            "or a larger input"
        )
    if exact.denominator == 1:
        return used, None
    covered = (used - 1) * stride + reach
    unread = max(0, padded - covered)
    gap = max(0, stride - reach)
    kernel_text = str(kernel) if dilation == 1 else f"({dilation}·({kernel} − 1) + 1)"
    formula = f"({size} + {_pad_text(before, after)} − {kernel_text})/{stride} + 1 = {frac_text(exact)}"
    data_cut = max(0, unread - after)
    if unread == 0:
        severity = "info"
        reason = "ceil_mode: the last window hangs over the edge; every input cell is read"
    elif unread <= after + gap:
        severity = "info"
        if data_cut == 0:
            reason = f"the last {_cells(axis_name, unread)} never read {'is' if unread == 1 else 'are'} padding"
        else:
            reason = (
                f"the last {_cells(axis_name, unread)} {'is' if unread == 1 else 'are'} never read, "
                "no more than the stride skips between windows anyway"
            )
    else:
        severity = "warning"
        reason = (
            f"the last {_cells(axis_name, data_cut)} of input data {'is' if data_cut == 1 else 'are'} "
            "never read (cut off at the edge)"
        )
    return used, AxisFlag(axis, exact, used, severity, unread, formula, reason)


def transposed_axis(
    axis_name: str,
    size: int,
    kernel: int,
    stride: int,
    before: int,
    after: int,
    dilation: int,
    output_padding: int,
) -> int:
    """Output size of a transposed convolution along one axis: always whole, maybe too small."""
    if not (output_padding < stride or output_padding < dilation):
        raise LayerError(
            f"{axis_name}: output_padding {output_padding} must be smaller than the stride ({stride}) "
            f"or the dilation ({dilation})"
        )
    out = (size - 1) * stride - before - after + dilation * (kernel - 1) + output_padding + 1
    if out < 1:
        raise LayerError(
            f"{axis_name}: the output size would be {out}: "
            f"({size} − 1)·{stride} − {before + after} + {dilation}·({kernel} − 1) + {output_padding} + 1; "
            "use less padding or a larger input"
        )
    return out


def same_padding(size: int, kernel: int, stride: int, dilation: int) -> tuple[int, int]:
    """TensorFlow's SAME padding: out = ceil(in/s), the odd cell after."""
    out = -(-size // stride)
    total = max((out - 1) * stride + dilation * (kernel - 1) + 1 - size, 0)
    return total // 2, total - total // 2


# --- one spatial axis at a time ---------------------------------------------------------------
# Each kind describes what it does to every spatial axis as a short list of these operations
# (``Kind.axis_ops``).  Evaluation, the input-size solver and receptive fields replay them; the
# arithmetic itself stays in window_axis / transposed_axis above.


class Window(Record):
    """A conv or pool window; ``same`` resolves its padding from the input size (TensorFlow's rule)."""

    kernel: int
    stride: int
    before: int
    after: int
    dilation: int = 1
    ceil_mode: bool = False
    same: bool = False
    need: int = 0  # the smallest input the op accepts (AvgPool3d), 0: no such rule
    need_padded: bool = False  # whether ``need`` is compared with the padded input

    def padding(self, size: int) -> tuple[int, int]:
        return same_padding(size, self.kernel, self.stride, self.dilation) if self.same else (self.before, self.after)


class Transposed(Record):
    """A transposed convolution; ``same`` gives size·stride."""

    kernel: int
    stride: int
    before: int
    after: int
    dilation: int = 1
    output_padding: int = 0
    same: bool = False


class Scale(Record):
    """Upsampling by a scale as PyTorch computes it: floor(double(size) · double(scale))."""

    scale: int | float


class Fixed(Record):
    """A size that does not depend on the input (adaptive pools, upsample to a size, global pools)."""

    size: int


class Shift(Record):
    """Padding: size + before + after."""

    before: int
    after: int


class Crop(Record):
    """A centre crop to ``to`` (the input must be at least that)."""

    to: int


class Times(Record):
    """Multiplies the size (pixel shuffle)."""

    factor: int


AxisOp = Window | Transposed | Scale | Fixed | Shift | Crop | Times


def run_axis_op(op: AxisOp, axis: int, axis_name: str, size: int) -> tuple[int, AxisFlag | None]:
    """One op on one concrete size: the size PyTorch uses and the flag, if any; LayerError if impossible."""
    if isinstance(op, Window):
        before, after = op.padding(size)
        seen = size + before + after if op.need_padded else size
        if seen < op.need:
            raise LayerError(f"{axis_name}: the input ({seen}) is smaller than the window ({op.need})")
        return window_axis(axis, axis_name, size, op.kernel, op.stride, before, after, op.dilation, op.ceil_mode)
    if isinstance(op, Transposed):
        if op.same:
            return size * op.stride, None
        out = transposed_axis(
            axis_name, size, op.kernel, op.stride, op.before, op.after, op.dilation, op.output_padding
        )
        return out, None
    if isinstance(op, Scale):
        exact = size * exact_scale(op.scale)
        used = math.floor(float(size) * float(op.scale))
        if used < 1:
            raise LayerError(f"{axis_name}: {size} × {op.scale} gives an output size of {used}: use a larger scale")
        if exact == used:
            return used, None
        if exact.denominator == 1:
            reason = (
                f"PyTorch computes {size} × {op.scale} in double precision as "
                f"{float(size) * float(op.scale)!r} and uses {used}"
            )
        else:
            reason = "in·scale is not whole; PyTorch floors it"
        return used, AxisFlag(axis, exact, used, "warning", 0, f"{size} × {op.scale} = {frac_text(exact)}", reason)
    if isinstance(op, Fixed):
        return op.size, None
    if isinstance(op, Shift):
        return size + op.before + op.after, None
    if isinstance(op, Crop):
        if op.to > size:
            raise LayerError(f"{axis_name}: cannot crop {size} to {op.to}: crop to a size no larger than the input")
        return op.to, None
    return size * op.factor, None


def exact_scale(value: float) -> Fraction:
    """The scale as written: 1.4 is 7/5 exactly (PyTorch's double product is computed apart)."""
    return Fraction(value) if isinstance(value, int) else Fraction(repr(value))

"""What PyTorch does with the modules of a kind's ``torch`` list: their storage in training
(``show --train``) and in inference (``show --memory``'s peak).

The kinds say which torch modules a layer is (``Kind.torch``); this module says what those
modules cost: how many parameter tensors each holds (an optimizer keeps a step count per
tensor), what autograd keeps of each for the backward pass, which output is a view, the shapes
between the modules of one layer, and the storages each one's operations make in inference.
The training rules were read from ``torch.autograd.graph.saved_tensors_hooks`` module by
module, the inference ones from a ``TorchDispatchMode`` that records every operation; both are
checked on whole exported networks (tests/test_training.py, tests/test_peak.py).  Imported only
by engine/training.py and engine/peak.py, so that no other command pays for it at start-up.
"""

from __future__ import annotations

from typing import Any

from ..base.record import Record
from .geometry import Shape
from .kinds import TorchModule


def module_base(cls: str) -> str:
    """A torch class name without its rank: ``Conv2d`` → ``Conv``, ``Linear`` → ``Linear``."""
    return cls[:-2] if cls[-2:] in ("1d", "2d", "3d") else cls


def parameter_tensors(module: TorchModule) -> int:
    """How many parameter tensors a module of a kind's ``torch`` list holds (an optimizer keeps a
    step count per tensor): a weight, and a bias unless ``bias=False``; two for an affine norm."""
    cls, args = module
    bias = 1 if args.get("bias", True) else 0
    if cls == "Linear" or module_base(cls) in ("Conv", "ConvTranspose"):
        return 1 + bias
    if module_base(cls) == "BatchNorm" or cls == "GroupNorm":
        return 2 if args.get("affine", True) else 0
    if module_base(cls) == "InstanceNorm":
        return 2 if args.get("affine", False) else 0
    if cls in ("LayerNorm", "ChannelLayerNorm"):
        return 1 + bias if args.get("elementwise_affine", True) else 0
    if cls == "SelfAttention":  # its two Linear layers
        return 2 * (1 + bias)
    return 1 if cls in ("LayerScale", "ClassToken", "PositionEmbedding") else 0


class Saves(Record):
    """What autograd keeps of one torch module for the backward pass, when it records the module
    at all (the module has parameters or its input needs a gradient).  Parameters are not counted."""

    input: bool = False  # its input tensor: the whole storage that tensor views
    output: bool = False  # its output tensor
    values: int = 0  # values per sample at the dtype, in tensors of their own (dropout's mask, ...)
    stats: int = 0  # float32 values per sample, in tensors of their own (a normalisation's statistics)
    batch_stats: int = 0  # float32 values for the whole batch (batch norm's mean and inverse std)
    indices: int = 0  # int64 values per sample (max pooling's argmax)


def saves(module: TorchModule, x: Shape, y: Shape) -> Saves:
    """What ``module``, from its input ``x`` to its output ``y`` (one sample each), keeps."""
    cls, args = module
    base = module_base(cls)
    if base in ("Conv", "ConvTranspose") or cls in ("Linear", "LayerScale"):
        return Saves(input=True)  # for the weight's gradient (a parameter's own storage is not counted)
    if base == "BatchNorm":
        return Saves(input=True, batch_stats=2 * x.channels)
    if base == "InstanceNorm":  # torch runs it as a batch norm over N·C channels
        kept = 2 + bool(args.get("affine")) + 2 * bool(args.get("track_running_stats"))
        return Saves(input=True, stats=kept * x.channels)
    if cls == "GroupNorm":
        return Saves(input=True, stats=2 * args["num_groups"])
    if cls in ("LayerNorm", "ChannelLayerNorm"):  # a mean and an inverse std per normalised vector
        return Saves(input=True, stats=2 * (x.numel // x.channels))
    if cls in ("ReLU", "Sigmoid", "Tanh", "Softmax"):
        return Saves(output=True)
    if cls in ("ReLU6", "LeakyReLU", "GELU", "SiLU", "Hardswish", "Hardsigmoid"):
        return Saves(input=True)
    if base in ("MaxPool", "AdaptiveMaxPool"):
        return Saves(input=True, indices=y.numel)
    if base == "AvgPool" or base in ("ReflectionPad", "ReplicationPad"):  # the pads' backward reads the input
        return Saves(input=True)
    if base == "AdaptiveAvgPool":  # to a single cell it is a mean, which keeps nothing
        return Saves(input=y.numel != y.channels)
    if cls == "Dropout":
        return Saves(values=x.numel if args["p"] else 0)
    if cls == "DropPath":
        return Saves(values=1 if args["p"] else 0)  # one keep-or-drop value per sample
    if cls == "SelfAttention":  # q, kᵀ and v copied for the products, the weights, the heads' output
        tokens, heads = x.spatial[0], args["heads"]
        return Saves(input=True, values=4 * tokens * x.channels + heads * tokens * tokens)
    if base in KEEPS_NOTHING or cls in KEEPS_NOTHING:
        return Saves()
    raise LookupError(f"no rule for what torch's {cls} keeps for backward: add it to model/autograd.py")


# Modules whose backward needs shapes only: pads and crops, resizing, reshaping, the
# embeddings' add and concatenation, shuffles and slices.
KEEPS_NOTHING = frozenset(
    {"ConstantPad", "CircularPad", "Upsample", "PixelShuffle", "ChannelShuffle", "Flatten", "ChannelSlice", "Tokens", "Untokens",
     "ClassToken", "PositionEmbedding", "TokenPool"}
)


def storage_values(module: TorchModule, x: Shape, y: Shape, batch: int) -> int:
    """How many values the storage of ``module``'s output holds (one sample): its output's, but
    torch's ConvTranspose3d writes into a tensor made like its input and then resized (a storage
    never shrinks) when it runs on torch's own CPU kernel with one group (with several, torch runs
    that kernel per group and concatenates: a storage of the output's size).  Torch leaves oneDNN
    for its own kernel when either of its two conditions fails: a strided or dilated conv, a
    batch of 16 or more, a kernel over 1 on either of its last two axes, or more than one CPU
    thread; and groups over 1, both last two kernel sizes over 3, a batch over 1, or more than
    20,480 input values over batch, channels, depth and height.  The figures are torch's on one
    thread, as the oracle runs it (with more threads, a 1×1 kernel of a batch over 1 goes to oneDNN)."""
    cls, args = module
    if cls == "ConvTranspose3d" and args.get("groups", 1) == 1:
        kernel = _per_axis(args.get("kernel_size", 1), 3)
        plain = all(all(v == 1 for v in _per_axis(args.get(key, 1), 3)) for key in ("stride", "dilation"))
        first = not plain or batch >= 16 or kernel[1] != 1 or kernel[2] != 1  # (and threads > 1: not here)
        second = (kernel[1] > 3 and kernel[2] > 3) or batch > 1 or batch * x.channels * x.spatial[0] * x.spatial[1] > 20480
        if not (first and second):
            return max(x.numel, y.numel)
    return y.numel


# Modules whose output is a view of their input, or their input itself: no storage of their own.
# (ChannelLayerNorm and Untokens copy their output into a channels-first layout: every map is
# laid out so, a flatten is always a view and no layer's layout depends on an earlier one's.)
VIEWS = frozenset({"Flatten", "ChannelSlice", "Tokens"})


def is_view(module: TorchModule) -> bool:
    """Whether ``module``'s output is a view of its input (or the input itself)."""
    cls, args = module
    dropless = cls in ("Dropout", "DropPath") and not args["p"]  # returns its input itself
    return cls in VIEWS or (cls == "TokenPool" and args["mode"] == "first") or dropless


class Op(Record):
    """One operation a module runs in inference (eval mode, no gradients) that makes a storage.
    Views and in-place updates make none and are not listed."""

    reads: tuple[int, ...]  # 0: the module's input; k: the storage the module's k-th operation made
    values: int  # of the storage it makes, per sample at the dtype
    scratch: int = 0  # bytes per sample of what it makes beside and drops at once (statistics, indices)


def inference_ops(module: TorchModule, x: Shape, y: Shape, batch: int, dense: bool) -> tuple[list[Op], bool]:
    """The operations ``module`` runs from its input ``x`` (one sample; ``dense``: laid out
    contiguously) to its output ``y`` at ``batch``, and whether its output is laid out
    contiguously.  Its output is what its last operation makes, or its input when it makes
    nothing (a view).  Only a sequence of tokens can be laid out otherwise: ``Tokens`` is a
    transposed view of the map, which elementwise modules keep and a reshape has to copy."""
    cls, args = module
    base = module_base(cls)
    tokens, channels = x.numel // max(x.channels, 1), x.channels
    scattered = x.tokens and not dense  # a (N, T, C) view laid out as (N, C, T)
    if cls in ("Dropout", "DropPath"):  # in eval mode, the input itself
        return [], dense
    if is_view(module):
        if cls == "Tokens":
            return [], dense and (tokens == 1 or channels == 1)
        if cls == "Flatten" and scattered:  # a reshape it cannot view: a copy
            return [Op((0,), x.numel)], True
        if cls == "ChannelSlice" and x.tokens:  # (N, T, C') in rows of C: contiguous only if whole
            return [], dense and (y.channels == channels or batch * tokens == 1)
        return [], dense
    out = storage_values(module, x, y, batch)
    if cls in ELEMENTWISE:
        return [Op((0,), out)], dense
    if cls == "Linear" and scattered:
        return scattered_linear_ops(x, out, batch, args.get("bias", True)), True
    if cls == "SelfAttention":
        return attention_ops(x, batch, args["heads"], args.get("bias", True), scattered), True
    if base in ("MaxPool", "AdaptiveMaxPool"):  # and its int64 indices, which the module drops
        return [Op((0,), out, 8 * y.numel)], True
    if cls == "LayerNorm":  # a mean and an inverse std per normalised vector, float32
        return [Op((0,), out, 2 * 4 * tokens)], True
    if cls == "ChannelLayerNorm":  # normalised channels-last, then copied channels-first
        return [Op((0,), out, 2 * 4 * tokens), Op((1,), out)], True
    if cls == "GroupNorm":
        return [Op((0,), out, 2 * 4 * args["num_groups"])], True
    if base == "InstanceNorm":  # a batch norm over N·C channels: its parameters repeated N times
        repeated = 2 * bool(args.get("affine")) + 2 * bool(args.get("track_running_stats"))
        stats = 0 if args.get("track_running_stats") else 2 * 4 * channels  # batch statistics, float32
        return [Op((0,), out, 4 * repeated * channels + stats)], True
    return [Op((0,), out)], True


# Modules that compute each output value from the same position of the input: their output is
# laid out as their input is.
ELEMENTWISE = frozenset(
    {"ReLU", "ReLU6", "LeakyReLU", "Sigmoid", "Tanh", "GELU", "SiLU", "Hardswish", "Hardsigmoid", "LayerScale",
     "PositionEmbedding"}
)


def scattered_linear_ops(x: Shape, out: int, batch: int, bias: bool) -> list[Op]:
    """``nn.Linear`` on tokens laid out as (N, C, T): not torch's fused path for a contiguous
    input but a matmul, whose reshape to (N·T, C) copies unless N is 1, then the bias added
    out of place."""
    ops = [Op((0,), x.numel)] if batch > 1 else []
    ops.append(Op((len(ops),), out))
    if bias:
        ops.append(Op((len(ops),), out))
    return ops


def attention_ops(x: Shape, batch: int, heads: int, bias: bool, scattered: bool) -> list[Op]:
    """The exported ``SelfAttention`` on ``x`` (T tokens of C channels).  ``q @ kᵀ`` and
    ``weights @ v`` fold their (N, heads) dimensions into one, which copies q, kᵀ and v out of
    the qkv projection's storage unless N or heads is 1; the heads' output is copied back into
    (N, T, C) unless T or heads is 1."""
    size, tokens = x.numel, x.numel // x.channels
    weights = heads * tokens * tokens
    ops = scattered_linear_ops(x, 3 * size, batch, bias) if scattered else [Op((0,), 3 * size)]  # q, k and v
    qkv = len(ops)
    fold = batch > 1 and heads > 1
    if fold:
        ops += [Op((qkv,), size), Op((qkv,), size)]  # q, kᵀ
        q, k = qkv + 1, qkv + 2
    else:
        q = k = qkv
    ops.append(Op((q, k), weights))  # q · kᵀ
    ops.append(Op((len(ops),), weights))  # scaled
    ops.append(Op((len(ops),), weights))  # softmax
    soft = len(ops)
    if fold:
        ops.append(Op((qkv,), size))  # v
        v = len(ops)
    else:
        v = qkv
    ops.append(Op((soft, v), size))  # weights · v
    if tokens > 1 and heads > 1:
        ops.append(Op((len(ops),), size))  # the heads back into (N, T, C)
    ops.append(Op((len(ops),), size))  # the output projection
    return ops


def module_shapes(modules: list[TorchModule], x: Shape, y: Shape) -> list[Shape]:
    """The output of each module of a kind's torch list, from the layer's input ``x`` and output
    ``y``.  Along each axis at most one module of a list resizes by a window (a conv, pool or
    transposed conv; the two of ``spatial_separable`` resize different axes), the others pad by
    their padding or keep the size: an axis's size follows from ``x`` up to its window and from
    ``y`` after it.  The channels follow the modules' ``out_channels`` and ``out_features``."""
    rank = len(x.spatial)

    def pads(module: TorchModule) -> list[int]:
        cls, args = module
        if not module_base(cls).endswith("Pad"):
            return [0] * rank
        flat = args["padding"]
        return [flat[2 * i] + flat[2 * i + 1] for i in range(rank)][::-1]  # torch's order: last axis first

    def resized(module: TorchModule) -> list[bool]:
        cls, args = module
        if module_base(cls) not in ("Conv", "ConvTranspose", "MaxPool", "AvgPool"):
            return [False] * rank
        keys = ("kernel_size", "stride", "padding", "output_padding")
        k, s, p, op = (_per_axis(args.get(key, 0), rank) for key in keys)
        return [not (k[a] == 1 and s[a] == 1 and p[a] == 0 and op[a] == 0) for a in range(rank)]

    grow, window = [pads(m) for m in modules], [resized(m) for m in modules]
    shapes, channels = [], x.channels
    for i, (cls, args) in enumerate(modules):
        channels = next((args[key] for key in ("out_channels", "out_features") if key in args), channels)
        sizes = []
        for a in range(rank):
            if not any(window[j][a] for j in range(i + 1)):
                sizes.append(x.spatial[a] + sum(grow[j][a] for j in range(i + 1)))
            else:
                sizes.append(y.spatial[a] - sum(grow[j][a] for j in range(i + 1, len(modules))))
        shapes.append(x._replace(spatial=tuple(sizes), channels=channels) if rank else y._replace(channels=channels))
    shapes[-1] = y
    return shapes


def _per_axis(value: Any, rank: int) -> tuple[int, ...]:
    return value if isinstance(value, tuple) else (value,) * rank

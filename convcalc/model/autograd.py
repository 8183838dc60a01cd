"""What PyTorch does with the modules of a kind's ``torch`` list in training (``show --train``).

The kinds say which torch modules a layer is (``Kind.torch``); this module says what those
modules cost a training step: how many parameter tensors each holds (an optimizer keeps a step
count per tensor), what autograd keeps of each for the backward pass, which output is a view,
and the shapes between the modules of one layer.  The rules were read from
``torch.autograd.graph.saved_tensors_hooks`` module by module and are checked on whole
exported networks by tests/test_training.py.  Imported only by engine/training.py, so that no
other command pays for it at start-up.
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
    if base == "AvgPool":
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
    {"ConstantPad", "Upsample", "PixelShuffle", "ChannelShuffle", "Flatten", "ChannelSlice", "Tokens", "Untokens",
     "ClassToken", "PositionEmbedding", "TokenPool"}
)


def storage_values(module: TorchModule, x: Shape, y: Shape) -> int:
    """How many values the storage of ``module``'s output holds (one sample): its output's, but
    torch's ConvTranspose3d with a 1×1×1 kernel, stride 1 and dilation 1 (a pointwise product,
    whatever the padding) writes into a storage of at least its input's size."""
    cls, args = module
    if cls == "ConvTranspose3d" and all(
        all(v == 1 for v in _per_axis(args.get(key, 1), 3)) for key in ("kernel_size", "stride", "dilation")
    ):
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


def module_shapes(modules: list[TorchModule], x: Shape, y: Shape) -> list[Shape]:
    """The output of each module of a kind's torch list, from the layer's input ``x`` and output
    ``y``.  Along each axis at most one module of a list resizes by a window (a conv, pool or
    transposed conv; the two of ``spatial_separable`` resize different axes), the others pad by
    their padding or keep the size: an axis's size follows from ``x`` up to its window and from
    ``y`` after it.  The channels follow the modules' ``out_channels`` and ``out_features``."""
    rank = len(x.spatial)

    def pads(module: TorchModule) -> list[int]:
        cls, args = module
        if not cls.startswith("ConstantPad"):
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

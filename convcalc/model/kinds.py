"""Every layer kind, each defined once.

A kind is one self-describing class: its name and aliases, its options (type, default, aliases,
docs), its shape rule, parameters and MACs (``apply``), a compact summary for the table, and
its PyTorch equivalent (``torch``: a list of ``torch.nn`` class names with their arguments,
which the oracle tests build and the exporter writes), and what the solver and the receptive
fields need beyond its per-axis ops (``flattens``, ``fixes_input``, ``fixed_output``,
``interpolation``).  Which inputs a kind takes (a map, a flat vector, a token sequence) is its
``input`` and ``on_tokens``, checked by :meth:`Kind.check_input`.  The
spec parser, the evaluator, the solver, the receptive fields, the schema, the ``kinds`` listing
and docs/kinds.md, the exporter and the oracle tests all read :data:`KINDS`.

Adding a kind is one class here plus its PyTorch oracle case in tests/test_oracle.py: the suite
fails until that case exists (``test_every_kind_has_an_oracle_case``), and the generated
docs/kinds.md and schema/convcalc.schema.json are regenerated, never edited.  A kind whose
geometry along an axis is new (not a window, transposed window, scale, shift, crop, factor or
fixed size) also needs its :class:`~convcalc.model.geometry.AxisOp` in geometry.py, which the
solver and the receptive fields then handle by the op's type.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

from ..base.record import Record
from .options import (
    REQUIRED,
    Bool,
    Choice,
    Dims,
    Int,
    Norm,
    Number,
    Option,
    Pad,
    Padding,
    PerAxis,
    Ref,
    Scale,
    padding_pairs,
    per_axis,
)
from .geometry import (
    AxisFlag,
    AxisOp,
    Fixed,
    LayerError,
    Shape,
    Shift,
    Times,
    Transposed,
    Window,
    axis_names,
    run_axis_op,
    same_padding,
    window_axis,
)
from .geometry import Crop as CropOp
from .geometry import Scale as ScaleOp

Opts = dict[str, Any]
TorchModule = tuple[str, dict[str, Any]]  # a torch.nn class name (or a TORCH_HELPERS one) and its arguments

# Modules torch.nn lacks, as the exported file defines them (fixed text, never built from a spec):
# a kind's ``torch`` may name one of these instead of an nn class.  The exporter writes the
# definitions a module uses after its imports; the oracle tests build them from the same text.
TORCH_HELPERS: dict[str, str] = {
    "ChannelLayerNorm": '''
class ChannelLayerNorm(nn.LayerNorm):
    """LayerNorm over the channels of an (N, C, *spatial) tensor (ConvNeXt's LayerNorm2d), its
    output laid out channels first again, as every other layer's is."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x.movedim(1, -1)).movedim(-1, 1).clone(memory_format=torch.contiguous_format)
''',
    "LayerScale": '''
class LayerScale(nn.Module):
    """A learnable scale per channel: x · gamma, gamma of shape (C, 1, ..., 1)."""

    def __init__(self, channels: int, rank: int, init: float = 1e-6) -> None:
        super().__init__()
        self.gamma = nn.Parameter(torch.full((channels, *(1,) * rank), init))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.gamma
''',
    "ChannelSlice": '''
class ChannelSlice(nn.Module):
    """Channels start to stop − 1 of a tensor (dim 1 of a map, the last dim of tokens)."""

    def __init__(self, start: int, stop: int, dim: int = 1) -> None:
        super().__init__()
        self.start, self.stop, self.dim = start, stop, dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.narrow(self.dim, self.start, self.stop - self.start)
''',
    "DropPath": '''
class DropPath(nn.Module):
    """Stochastic depth: while training, drops a sample's whole tensor with probability p."""

    def __init__(self, p: float) -> None:
        super().__init__()
        self.p = p

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0:
            return x
        keep = 1.0 - self.p
        mask = x.new_empty((x.shape[0],) + (1,) * (x.dim() - 1)).bernoulli_(keep)
        return x * mask / keep
''',
    "Tokens": '''
class Tokens(nn.Module):
    """A map (N, C, *spatial) as a sequence of tokens (N, T, C), T = ∏spatial: one token per position."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.flatten(2).transpose(1, 2)
''',
    "Untokens": '''
class Untokens(nn.Module):
    """A sequence of tokens (N, T, C) back to a map (N, C, *size), ∏size = T."""

    def __init__(self, size: tuple[int, ...]) -> None:
        super().__init__()
        self.size = tuple(size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        channels_first = x.transpose(1, 2).clone(memory_format=torch.contiguous_format)
        return channels_first.view(x.shape[0], x.shape[2], *self.size)
''',
    "ClassToken": '''
class ClassToken(nn.Module):
    """A learned token put first in every sequence (ViT's class token): (N, T, C) → (N, T + 1, C)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.token = nn.Parameter(torch.zeros(1, 1, channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.token.expand(x.shape[0], -1, -1), x], dim=1)
''',
    "PositionEmbedding": '''
class PositionEmbedding(nn.Module):
    """A learned embedding per position added to a sequence of tokens (N, T, C); T is fixed."""

    def __init__(self, length: int, channels: int) -> None:
        super().__init__()
        self.embedding = nn.Parameter(torch.empty(1, length, channels).normal_(std=0.02))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.embedding
''',
    "SelfAttention": '''
class SelfAttention(nn.Module):
    """Multi-head self-attention on tokens (N, T, C), nn.MultiheadAttention's parameters, its
    products written out (q·kᵀ and the weights times v), so that torch.utils.flop_counter sees them."""

    def __init__(self, channels: int, heads: int, bias: bool = True) -> None:
        super().__init__()
        if channels % heads:
            raise ValueError(f"{channels} channels do not divide into {heads} heads")
        self.heads = heads
        self.qkv = nn.Linear(channels, 3 * channels, bias=bias)
        self.proj = nn.Linear(channels, channels, bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, t, c = x.shape
        q, k, v = self.qkv(x).reshape(n, t, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
        weights = (q @ k.transpose(-2, -1) * (c // self.heads) ** -0.5).softmax(dim=-1)
        return self.proj((weights @ v).transpose(1, 2).reshape(n, t, c))
''',
    "TokenPool": '''
class TokenPool(nn.Module):
    """A sequence of tokens (N, T, C) read out as (N, C): its first token (ViT's class token) or their mean."""

    def __init__(self, mode: str = "first") -> None:
        super().__init__()
        self.mode = mode

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x[:, 0] if self.mode == "first" else x.mean(dim=1)
''',
}

ACTIVATIONS: dict[str, TorchModule] = {
    "relu": ("ReLU", {}),
    "relu6": ("ReLU6", {}),
    "leaky_relu": ("LeakyReLU", {}),
    "sigmoid": ("Sigmoid", {}),
    "tanh": ("Tanh", {}),
    "gelu": ("GELU", {}),
    "silu": ("SiLU", {}),
    "hardswish": ("Hardswish", {}),
    "hardsigmoid": ("Hardsigmoid", {}),
    "softmax": ("Softmax", {"dim": 1}),
}


class Outcome(Record):
    """What one layer does to one sample: its output, parameters, buffers, MACs and flags."""

    output: Shape
    params: int = 0
    buffers: int = 0
    macs: int = 0
    flags: tuple[AxisFlag, ...] = ()
    # The MACs of the products that read the layer's input itself, whose input gradient the
    # backward pass skips when that input needs none (show --train); None: all of ``macs``.
    input_macs: int | None = None

    @property
    def entry_macs(self) -> int:
        return self.macs if self.input_macs is None else self.input_macs

    def then(self, other: Outcome) -> Outcome:
        """Two stages in sequence (separable convs, conv + batch norm).  The second stage reads
        the layer's input too while the first has no parameters (a pad before a conv)."""
        return Outcome(
            other.output,
            self.params + other.params,
            self.buffers + other.buffers,
            self.macs + other.macs,
            self.flags + other.flags,
            self.entry_macs + (0 if self.params else other.entry_macs),
        )


class Kind:
    """The base of the kinds; a subclass fills in the class attributes and methods."""

    name: ClassVar[str]
    aliases: ClassVar[dict[str, Opts]] = {}  # another spelling -> the options it fixes
    options: ClassVar[tuple[Option, ...]] = ()
    doc: ClassVar[str] = ""
    params_doc: ClassVar[str] = "0"  # the parameter count as a formula, for the kinds reference
    example: ClassVar[str] = ""
    input: ClassVar[str] = "any"  # "spatial" (a map), "flat", "tokens" or "any" (a map or a flat vector)
    on_tokens: ClassVar[bool] = False  # it also takes a token sequence, acting on each token's channels
    # What the solver and the receptive fields need to know beyond axis_ops:
    flattens: ClassVar[bool] = False  # its output holds all its input's values, no spatial axis left
    fixes_input: ClassVar[bool] = False  # its weights fix its input's length (a flatten before it is held)
    fixed_output: ClassVar[bool] = False  # its output's size is the same whatever its input's length
    # False for a kind with no PyTorch equivalent (an opaque imported layer): no oracle case, no export
    has_torch: ClassVar[bool] = True
    # The option that a `like: NAME` reference fills with that tensor's spatial sizes when the
    # network is walked (upsample's size, adaptive_pool's out_size); None: the kind has no `like`.
    like_option: ClassVar[str | None] = None
    # What a diagram draws it as (its colour in `convcalc draw`): conv, pool, resample, dense,
    # norm, pointwise (activations, dropout), attention, or shape (reshapes, slices, pads, tokens).
    role: ClassVar[str] = "shape"

    def apply(self, o: Opts, x: Shape) -> Outcome:
        return Outcome(x)

    def defaults(self) -> Opts:
        """The options a spec may leave out, at their defaults."""
        return {opt.name: opt.default for opt in self.options if not opt.required}

    def summary(self, o: Opts) -> str:
        return ""

    def torch(self, o: Opts, x: Shape) -> list[TorchModule]:
        raise NotImplementedError

    def axis_ops(self, o: Opts, rank: int) -> tuple[tuple[AxisOp, ...], ...]:
        """What the layer does to each spatial axis, in order (nothing: the size is kept)."""
        return ((),) * rank

    def interpolation(self, o: Opts) -> tuple[str, bool] | None:
        """``(mode, align_corners)`` when the layer resamples by interpolation, whose index map
        (PyTorch's) the receptive fields follow; None for every other kind."""
        return None

    def fixes_length(self, x: Shape) -> bool:
        """Whether the layer fixes the length of its input ``x``, so that a flatten (or ``tokens``)
        before it is held to the spec's size: ``fixes_input``, except on a token sequence, where a
        layer applied to each token (dense, mlp) fixes only the channels."""
        return self.fixes_input and (not x.tokens or self.input == "tokens")

    def check_options(self, o: Opts, x: Shape) -> None:
        """An option that restates what the input already says (``in_channels``) must agree with it."""
        given = o.get("in")
        if given is not None and given != x.channels:
            raise LayerError(f"in (in_channels) is {given}, but its input {x} has {x.channels} channels")

    def check_input(self, x: Shape) -> None:
        if x.tokens:
            if self.input == "tokens" or self.on_tokens:
                return
            need = "a spatial input" if self.input == "spatial" else "a map or a flat vector"
            raise LayerError(f"{self.name} needs {need}, not a token sequence {x}: add {untokens_hint(x)} first")
        if self.input == "tokens":
            what = "a flat vector" if x.is_flat else f"the map {x}: add `- tokens` first"
            raise LayerError(f"{self.name} needs a token sequence (N×C tok), not {what}")
        if self.input == "spatial" and x.is_flat:
            raise LayerError(f"{self.name} needs a spatial input (L×C, H×W×C or D×H×W×C), not a flat vector")
        if self.input == "flat" and not x.is_flat:
            raise LayerError(f"{self.name} needs a flat input: add `- flatten` before it")


def untokens_hint(x: Shape) -> str:
    """``untokens: {size: [14, 14]}`` for a square number of tokens, else the rule for the sizes."""
    n = x.spatial[0]
    side = math.isqrt(n)
    if side * side == n:
        return f"`untokens: {{size: [{side}, {side}]}}`"
    return f"`untokens: {{size: [H, W]}}` with H·W = {n}"


KINDS: dict[str, Kind] = {}
SPELLINGS: dict[str, tuple[Kind, Opts]] = {}  # every accepted kind name -> (kind, options it fixes)


def role_of(kind: str) -> str:
    """How a diagram draws a row of kind ``kind`` (:attr:`Kind.role`)."""
    found = KINDS.get(kind)
    return found.role if found is not None else "shape"


def register(cls: type[Kind]) -> type[Kind]:
    kind = cls()
    for spelling, preset in {cls.name: {}, **cls.aliases}.items():
        if spelling in SPELLINGS:
            raise ValueError(f"kind name {spelling!r} is defined twice")
        SPELLINGS[spelling] = (kind, preset)
    KINDS[cls.name] = kind
    return cls


# --- shared option sets ------------------------------------------------------------------

IN = Option(
    "in", Int(), None, "input channels, when written (PyTorch's habit): checked against the layer's input",
    ("in_channels",),
)
OUT = Option("out", Int(), doc="output channels", aliases=("filters", "out_channels"))
KERNEL = Option("kernel", PerAxis(), doc="kernel size", aliases=("kernel_size",))
STRIDE = Option("stride", PerAxis(), 1, "stride", ("strides",))
PADDING = Option("padding", Pad(), 0, "zero padding (number, per axis, [before, after] pairs, same, valid)")
DILATION = Option("dilation", PerAxis(), 1, "spacing between kernel taps", ("dilation_rate",))
GROUPS = Option("groups", Int(), 1, "channel groups (in and out must both divide by it)")
BIAS = Option("bias", Bool(), True, "add a bias per output channel", ("use_bias",))
BN = Option("bn", Bool(), False, "follow with a batch norm (2·out params, 2·out buffers)")
LIKE = Option(
    "like", Ref(), None, "the spatial size of an earlier layer's output, or of the input: follows --input"
)
NORM = Option("norm", Norm(), None, "follow with this normalisation, with its kind's defaults (instead of bn)")
ACT = Option("act", Choice(tuple(ACTIVATIONS), allow_none=True), None, "follow with this activation", ("activation",))
PADDING_MODE = Option(
    "padding_mode", Choice(("zeros", "reflect", "replicate", "circular")), "zeros",
    "what the padding holds, as PyTorch's (no effect on the figures; exported)",
)
NORM_EPS = Option("eps", Number(0.0), None, "the normalisation's eps, with bn: or norm: (no effect on the figures; exported)",
                  ("epsilon",))
NORM_MOMENTUM = Option("momentum", Number(0.0, 1.0), None,
                       "the batch norm's momentum, with bn: true (no effect on the figures; exported)")
MULTIPLIER = Option("multiplier", Int(), 1, "output channels per input channel", ("depth_multiplier",))


def _dims(values: tuple[int, ...]) -> str:
    return str(values[0]) if len(set(values)) == 1 else "×".join(str(v) for v in values)


def _spatial_text(o: Opts, keys: tuple[tuple[str, str, Any], ...]) -> str:
    parts = []
    for key, prefix, default in keys:
        value = o.get(key)
        if value is None or value == default:
            continue
        if isinstance(value, str):
            parts.append(f"{prefix}:{value}")
        elif isinstance(value, tuple):
            parts.append(prefix + "×".join(f"{v[0]}+{v[1]}" if isinstance(v, tuple) else str(v) for v in value))
        else:
            parts.append(f"{prefix}{value}")
    return " ".join(parts)


NORM_WORDS = {"batch": "bn", "layer": "ln", "group": "gn", "instance": "in"}  # how the table abbreviates them


def _post_text(o: Opts) -> str:
    norm = o.get("norm")
    norm_word = f"{NORM_WORDS[norm[0]]}{norm[1] or ''}" if norm else None
    return "".join(f" +{word}" for word in (("bn" if o.get("bn") else norm_word), o.get("act")) if word)


def resolve_padding(
    padding: Padding, x: Shape, kernel: tuple[int, ...], stride: tuple[int, ...], dilation: tuple[int, ...]
) -> tuple[tuple[int, int], ...]:
    """``same`` (TensorFlow's rule), ``valid`` (none) or numbers as (before, after) per axis."""
    if padding == "valid":
        return ((0, 0),) * x.rank
    if padding == "same":
        return tuple(same_padding(n, k, s, d) for n, k, s, d in zip(x.spatial, kernel, stride, dilation))
    return padding_pairs(padding, x.rank)


def pad_module(pairs: tuple[tuple[int, int], ...], value: float = 0.0) -> TorchModule:
    """torch's ConstantPadNd takes (before, after) pairs last axis first."""
    flat = tuple(v for pair in reversed(pairs) for v in pair)
    return (f"ConstantPad{len(pairs)}d", {"padding": flat, "value": value})


def _symmetric(pairs: tuple[tuple[int, int], ...]) -> bool:
    return all(b == a for b, a in pairs)


BN_EPS, BN_MOMENTUM = 1e-5, 0.1  # torch's BatchNorm defaults, which the export leaves unwritten


def norm_module(channels: int, rank: int, eps: float = BN_EPS, momentum: float = BN_MOMENTUM) -> TorchModule:
    args: dict[str, Any] = {"num_features": channels}
    if eps != BN_EPS:
        args["eps"] = eps
    if momentum != BN_MOMENTUM:
        args["momentum"] = momentum
    return (f"BatchNorm{max(rank, 1)}d", args)


def act_modules(o: Opts) -> list[TorchModule]:
    return [ACTIVATIONS[o["act"]]] if o.get("act") else []


def batch_norm(x: Shape) -> Outcome:
    return Outcome(x, params=2 * x.channels, buffers=2 * x.channels)


def check_groups(channels: int, out: int, groups: int) -> None:
    """PyTorch's order: the input channels first, then the output channels."""
    if channels % groups:
        raise LayerError(f"{channels} input channels do not divide into {groups} groups: change groups")
    if out % groups:
        raise LayerError(f"{out} output channels do not divide into {groups} groups: change out or groups")


def conv_args(channels: int, out: int, k: Any, s: Any, d: Any, groups: int, bias: bool) -> dict[str, Any]:
    """The keyword arguments ConvNd and ConvTransposeNd share."""
    return {
        "in_channels": channels,
        "out_channels": out,
        "kernel_size": k,
        "stride": s,
        "dilation": d,
        "groups": groups,
        "bias": bias,
    }


def conv_core(
    x: Shape,
    out: int,
    kernel: Any,
    stride: Any = 1,
    padding: Padding = 0,
    dilation: Any = 1,
    groups: int = 1,
    bias: bool = True,
    padding_mode: str = "zeros",
) -> tuple[Outcome, list[TorchModule]]:
    """A ConvNd: the one place that knows the convolution's shape, params and MACs.  A
    ``padding_mode`` other than zeros pads with torch's pad module of that mode before the conv
    (what torch's ConvNd does inside), within torch's limits."""
    r = x.rank
    k = per_axis("kernel", kernel, r)
    s = per_axis("stride", stride, r)
    d = per_axis("dilation", dilation, r)
    pairs = resolve_padding(padding, x, k, s, d)
    check_groups(x.channels, out, groups)
    spatial = spatial_outcome(window_ops(kernel, stride, padding, dilation, r), x)  # the one size rule
    y = Shape(spatial.output.spatial, out)
    taps = (x.channels // groups) * math.prod(k)
    outcome = Outcome(y, params=out * taps + (out if bias else 0), macs=y.numel * taps, flags=spatial.flags)
    conv = conv_args(x.channels, out, k, s, d, groups, bias)
    if padding_mode != "zeros" and any(b or a for b, a in pairs):
        check_padding_mode(padding_mode, pairs, x)
        modules = [(f"{PAD_MODES[padding_mode]}{r}d", {"padding": tuple(v for pair in reversed(pairs) for v in pair)}),
                   (f"Conv{r}d", {**conv, "padding": 0})]
    elif _symmetric(pairs):
        modules = [(f"Conv{r}d", {**conv, "padding": tuple(b for b, _ in pairs)})]
    else:
        modules = [pad_module(pairs), (f"Conv{r}d", {**conv, "padding": 0})]
    return outcome, modules


# torch's padding modes other than zeros, and the pad module that pads so (ConstantPad for zeros)
PAD_MODES = {"reflect": "ReflectionPad", "replicate": "ReplicationPad", "circular": "CircularPad"}


def check_padding_mode(mode: str, pairs: tuple[tuple[int, int], ...], x: Shape) -> None:
    """torch's limits: reflect pads less than the size on each side, circular at most the size."""
    for axis, ((before, after), size) in enumerate(zip(pairs, x.spatial)):
        widest = max(before, after)
        if (mode == "reflect" and widest >= size) or (mode == "circular" and widest > size):
            bound = "less than" if mode == "reflect" else "at most"
            raise LayerError(
                f"padding_mode {mode} pads {widest} on axis {axis + 1} of size {size}; PyTorch needs {bound} the size"
            )


def window_ops(kernel: Any, stride: Any, padding: Padding, dilation: Any, rank: int) -> tuple[tuple[AxisOp, ...], ...]:
    """The per-axis windows of a convolution (``same`` and ``valid`` included)."""
    k, s, d = per_axis("kernel", kernel, rank), per_axis("stride", stride, rank), per_axis("dilation", dilation, rank)
    if isinstance(padding, str):
        return tuple((Window(ki, si, 0, 0, di, same=padding == "same"),) for ki, si, di in zip(k, s, d))
    pairs = padding_pairs(padding, rank)
    return tuple((Window(ki, si, b, a, di),) for ki, si, di, (b, a) in zip(k, s, d, pairs))


def spatial_outcome(ops: tuple[tuple[AxisOp, ...], ...], x: Shape) -> Outcome:
    """Run each axis's ops on the input: the output (channels kept) and the flags."""
    sizes, flags = [], []
    for i, (name, n, axis) in enumerate(zip(axis_names(x.rank), x.spatial, ops)):
        for op in axis:
            n, flag = run_axis_op(op, i, name, n)
            if flag:
                flags.append(flag)
        sizes.append(n)
    return Outcome(Shape(tuple(sizes), x.channels), flags=tuple(flags))


NORM_KINDS = {"batch": "batchnorm", "layer": "layernorm", "group": "groupnorm", "instance": "instancenorm"}


def with_post(o: Opts, core: tuple[Outcome, list[TorchModule]]) -> tuple[Outcome, list[TorchModule]]:
    """The ``bn``/``norm``/``act`` sugar: a normalisation (the norm kind itself, with its
    defaults) and an activation after a conv-like layer."""
    outcome, modules = core
    if o.get("bn") and o.get("norm"):
        raise LayerError("bn: true and norm: both add a normalisation: keep norm: and remove bn:")
    norm = ("batch", 0) if o.get("bn") else o.get("norm")
    if norm is None and (o.get("eps") is not None or o.get("momentum") is not None):
        raise LayerError("eps and momentum are a normalisation's: add bn: true (or norm:), or remove them")
    if o.get("momentum") is not None and norm is not None and norm[0] != "batch":
        raise LayerError(f"momentum is a batch norm's, and norm: {norm[0]} is none: remove momentum")
    if norm is not None:
        kind = KINDS[NORM_KINDS[norm[0]]]
        opts = {**kind.defaults(), **({"groups": norm[1]} if norm[0] == "group" else {})}
        opts.update({key: o[key] for key in ("eps", "momentum") if o.get(key) is not None})
        kind.check_input(outcome.output)
        outcome = outcome.then(kind.apply(opts, outcome.output))
        modules = [*modules, *kind.torch(opts, outcome.output)]
    return outcome, modules + act_modules(o)


class ConvLike(Kind):
    """Kinds built from :func:`conv_core` share apply/torch through ``build``."""
    role = "conv"

    input = "spatial"

    def build(self, o: Opts, x: Shape) -> tuple[Outcome, list[TorchModule]]:
        raise NotImplementedError

    def apply(self, o: Opts, x: Shape) -> Outcome:
        return self.build(o, x)[0]

    def torch(self, o: Opts, x: Shape) -> list[TorchModule]:
        return self.build(o, x)[1]

    def summary(self, o: Opts) -> str:
        keys = (
            ("kernel", "k", None),
            ("stride", "s", 1),
            ("padding", "p", 0),
            ("dilation", "d", 1),
            ("groups", "g", 1),
            ("multiplier", "×", 1),
            ("output_padding", "op", 0),
        )
        return _spatial_text(o, keys) + _post_text(o)


@register
class Conv(ConvLike):
    name = "conv"
    params_doc = "out·(in/groups)·∏k + out if bias"

    def axis_ops(self, o: Opts, rank: int) -> tuple[tuple[AxisOp, ...], ...]:
        return window_ops(o["kernel"], o["stride"], o["padding"], o["dilation"], rank)

    options = (IN, OUT, KERNEL, STRIDE, PADDING, PADDING_MODE, DILATION, GROUPS, BIAS, BN, NORM, NORM_EPS, NORM_MOMENTUM, ACT)
    doc = "A convolution (PyTorch ConvNd): floor((in + pb + pa − d(k−1) − 1)/s) + 1 per axis."
    example = "conv: {out: 64, kernel: 3, padding: 1, bn: true, act: relu}"

    def build(self, o: Opts, x: Shape) -> tuple[Outcome, list[TorchModule]]:
        return with_post(
            o, conv_core(x, o["out"], o["kernel"], o["stride"], o["padding"], o["dilation"], o["groups"], o["bias"],
                         o["padding_mode"])
        )


@register
class Grouped(Conv):
    name = "grouped"
    params_doc = "as `conv`"
    options = (
        IN,
        OUT,
        KERNEL,
        STRIDE,
        PADDING,
        PADDING_MODE,
        DILATION,
        Option("groups", Int(2), doc="channel groups (> 1)"),
        BIAS,
        BN,
        NORM,
        NORM_EPS,
        NORM_MOMENTUM,
        ACT,
    )
    doc = "A grouped convolution: `conv` with `groups` required and greater than 1."
    example = "grouped: {out: 30, kernel: 10, groups: 3}"


@register
class Deconv(ConvLike):
    name = "deconv"
    params_doc = "in·(out/groups)·∏k + out if bias"

    def axis_ops(self, o: Opts, rank: int) -> tuple[tuple[AxisOp, ...], ...]:
        k, s, d = (per_axis(n, o[n], rank) for n in ("kernel", "stride", "dilation"))
        op = per_axis("output_padding", o["output_padding"], rank)
        if isinstance(o["padding"], str):
            same = o["padding"] == "same"
            return tuple((Transposed(*a, 0, 0, b, c, same),) for a, b, c in zip(zip(k, s), d, op))
        pairs = padding_pairs(o["padding"], rank)
        return tuple((Transposed(ki, si, pb, pa, di, opi),) for ki, si, (pb, pa), di, opi in zip(k, s, pairs, d, op))

    aliases: ClassVar[dict[str, Opts]] = {"conv_transpose": {}, "transpose": {}}
    options = (
        IN,
        OUT,
        KERNEL,
        STRIDE,
        Option("padding", Pad(), 0, PADDING.doc),
        Option("output_padding", PerAxis(0), 0, "extra cells on the after side of the output"),
        DILATION,
        GROUPS,
        BIAS,
        BN,
        NORM,
        NORM_EPS,
        NORM_MOMENTUM,
        ACT,
    )
    doc = (
        "A transposed convolution (PyTorch ConvTransposeNd): (in − 1)s − pb − pa + d(k − 1) + output_padding "
        "+ 1; `same` gives in·s, `valid` (in − 1)s + d(k − 1) + 1."
    )
    example = "deconv: {out: 64, kernel: 2, stride: 2}"

    def build(self, o: Opts, x: Shape) -> tuple[Outcome, list[TorchModule]]:
        r, out, groups = x.rank, o["out"], o["groups"]
        k = per_axis("kernel", o["kernel"], r)
        s = per_axis("stride", o["stride"], r)
        d = per_axis("dilation", o["dilation"], r)
        op = per_axis("output_padding", o["output_padding"], r)
        padding = o["padding"]
        if padding == "same":
            if any(op):
                raise LayerError("output_padding does not combine with padding: same (which gives in·stride)")
            # total padding ke − s when the kernel reaches past the stride; else the missing cells come after
            reach = [di * (ki - 1) + 1 for ki, di in zip(k, d)]
            pairs = tuple(((e - si) // 2, (e - si) - (e - si) // 2) if e >= si else (0, 0) for e, si in zip(reach, s))
            op = tuple(max(0, si - e) for e, si in zip(reach, s))
        else:
            pairs = resolve_padding(padding, x, k, s, d)
        check_groups(x.channels, out, groups)
        y = Shape(spatial_outcome(self.axis_ops(o, r), x).output.spatial, out)  # the one size rule
        taps = (out // groups) * math.prod(k)
        outcome = Outcome(y, params=x.channels * taps + (out if o["bias"] else 0), macs=x.numel * taps)
        module = conv_args(x.channels, out, k, s, d, groups, o["bias"])
        modules: list[TorchModule]
        if _symmetric(pairs) and all(p < si or p < di for p, si, di in zip(op, s, d)):
            modules = [(f"ConvTranspose{r}d", {**module, "padding": tuple(b for b, _ in pairs), "output_padding": op})]
        else:  # torch pads a transposed conv symmetrically only: crop the rest off afterwards
            modules = [
                (f"ConvTranspose{r}d", {**module, "padding": 0, "output_padding": 0}),
                pad_module(tuple((-b, -a + p) for (b, a), p in zip(pairs, op))),
            ]
        return with_post(o, (outcome, modules))


@register
class Depthwise(ConvLike):
    name = "depthwise"
    params_doc = "in·multiplier·∏k + in·multiplier if bias"

    def axis_ops(self, o: Opts, rank: int) -> tuple[tuple[AxisOp, ...], ...]:
        return window_ops(o["kernel"], o["stride"], o["padding"], o["dilation"], rank)

    options = (IN, KERNEL, STRIDE, PADDING, PADDING_MODE, DILATION, MULTIPLIER, BIAS, BN, NORM, NORM_EPS, NORM_MOMENTUM, ACT)
    doc = "A depthwise convolution: groups = input channels, in·multiplier output channels."
    example = "depthwise: {kernel: 3, padding: 1}"

    def build(self, o: Opts, x: Shape) -> tuple[Outcome, list[TorchModule]]:
        c = x.channels
        return with_post(
            o, conv_core(x, c * o["multiplier"], o["kernel"], o["stride"], o["padding"], o["dilation"], c, o["bias"],
                         o["padding_mode"])
        )


@register
class Pointwise(ConvLike):
    name = "pointwise"
    params_doc = "out·(in/groups) + out if bias"

    def axis_ops(self, o: Opts, rank: int) -> tuple[tuple[AxisOp, ...], ...]:
        return window_ops(1, o["stride"], 0, 1, rank)

    options = (IN, OUT, STRIDE, GROUPS, BIAS, BN, NORM, NORM_EPS, NORM_MOMENTUM, ACT)
    doc = "A 1×1 convolution."
    example = "pointwise: {out: 128}"

    def build(self, o: Opts, x: Shape) -> tuple[Outcome, list[TorchModule]]:
        return with_post(o, conv_core(x, o["out"], 1, o["stride"], 0, 1, o["groups"], o["bias"]))


@register
class Separable(ConvLike):
    name = "separable"
    params_doc = "the depthwise conv's plus the 1×1 conv's"

    def axis_ops(self, o: Opts, rank: int) -> tuple[tuple[AxisOp, ...], ...]:
        return window_ops(o["kernel"], o["stride"], o["padding"], o["dilation"], rank)  # the pointwise keeps sizes

    options = (
        IN,
        OUT,
        KERNEL,
        STRIDE,
        PADDING,
        PADDING_MODE,
        DILATION,
        MULTIPLIER,
        Option("bias", Bool(), True, "the default of both convs' biases", ("use_bias",)),
        Option("depthwise_bias", Bool(), None, "bias of the depthwise conv (default: bias)"),
        Option("pointwise_bias", Bool(), None, "bias of the pointwise conv (default: bias)"),
        Option("depthwise_bn", Bool(), False, "a batch norm between the two convs"),
        Option("depthwise_act", ACT.type, None, "an activation between the two convs"),
        BN,
        NORM,
        NORM_EPS,
        NORM_MOMENTUM,
        ACT,
    )
    doc = (
        "A depthwise-separable convolution: a depthwise conv (groups = in, in·multiplier channels), then a "
        "1×1 pointwise conv to `out`."
    )
    example = "separable: {out: 128, kernel: 3, padding: 1}"

    def build(self, o: Opts, x: Shape) -> tuple[Outcome, list[TorchModule]]:
        c = x.channels
        dbias = o["bias"] if o["depthwise_bias"] is None else o["depthwise_bias"]
        pbias = o["bias"] if o["pointwise_bias"] is None else o["pointwise_bias"]
        first = with_post(
            {"bn": o["depthwise_bn"], "act": o["depthwise_act"]},
            conv_core(x, c * o["multiplier"], o["kernel"], o["stride"], o["padding"], o["dilation"], c, dbias,
                      o["padding_mode"]),
        )
        second = with_post(o, conv_core(first[0].output, o["out"], 1, 1, 0, 1, 1, pbias))
        return first[0].then(second[0]), first[1] + second[1]


@register
class SpatialSeparable(ConvLike):
    name = "spatial_separable"
    params_doc = "in·out·k + out·out·k, plus 2·out if bias"

    def axis_ops(self, o: Opts, rank: int) -> tuple[tuple[AxisOp, ...], ...]:
        return window_ops(o["kernel"], o["stride"], o["padding"], 1, rank)  # one axis per conv, the other 1×1

    options = (IN, OUT, KERNEL, STRIDE, PADDING, PADDING_MODE, BIAS, BN, NORM, NORM_EPS, NORM_MOMENTUM, ACT)
    doc = "A k×1 conv to `out`, then a 1×k conv `out` → `out` (2-D only); stride and padding split by axis."
    example = "spatial_separable: {out: 64, kernel: 7, padding: 3}"

    def build(self, o: Opts, x: Shape) -> tuple[Outcome, list[TorchModule]]:
        if x.rank != 2:
            raise LayerError(f"spatial_separable is 2-D only; the input is {x}")
        (kh, kw), (sh, sw) = per_axis("kernel", o["kernel"], 2), per_axis("stride", o["stride"], 2)
        padding = o["padding"]
        if isinstance(padding, str):
            first_pad: Padding = padding
            second_pad: Padding = padding
        else:
            (ph, pw) = padding_pairs(padding, 2)
            first_pad, second_pad = (ph, (0, 0)), ((0, 0), pw)
        mode = o["padding_mode"]
        first = conv_core(x, o["out"], (kh, 1), (sh, 1), first_pad, 1, 1, o["bias"], mode)
        second = with_post(o, conv_core(first[0].output, o["out"], (1, kw), (1, sw), second_pad, 1, 1, o["bias"], mode))
        return first[0].then(second[0]), first[1] + second[1]


@register
class Pool(Kind):
    role = "pool"
    name = "pool"
    aliases: ClassVar[dict[str, Opts]] = {"maxpool": {"mode": "max"}, "avgpool": {"mode": "avg"}}
    input = "spatial"
    options = (
        Option("mode", Choice(("max", "avg")), "max", "max or average pooling"),
        Option("kernel", PerAxis(), doc="window size", aliases=("kernel_size", "pool_size")),
        Option("stride", PerAxis(), None, "stride (default: the kernel)", ("strides",)),
        Option("padding", Pad(), 0, "padding, at most kernel//2 per side; or same/valid"),
        Option("dilation", PerAxis(), 1, "spacing between window taps (max pooling only)"),
        Option("ceil_mode", Bool(), False, "round the output size up (PyTorch's ceil_mode)"),
    )
    doc = (
        "Max or average pooling (PyTorch MaxPoolNd/AvgPoolNd), `ceil_mode` rule included: a last window "
        "may not start in the right padding."
    )
    example = "pool: {kernel: 2}"

    def geometry(self, o: Opts, x: Shape) -> tuple[Any, ...]:
        """Kernel, stride, dilation, (before, after) padding, and whether PyTorch pads inside the pool.

        PyTorch pools pad symmetrically by at most kernel//2 (checked here for explicit padding);
        `[before, after]` pairs and `same` are a zero/−inf pad layer before the pool instead, which
        changes what the pool sees (AvgPool3d's size check, the ceil_mode rule).
        """
        r = x.rank
        k = per_axis("kernel", o["kernel"], r)
        s = per_axis("stride", k if o["stride"] is None else o["stride"], r)
        d = per_axis("dilation", o["dilation"], r)
        if o["mode"] == "avg" and any(v != 1 for v in d):
            raise LayerError("average pooling has no dilation: remove it or use mode: max")
        pairs = resolve_padding(o["padding"], x, k, s, d)
        if not isinstance(o["padding"], str):
            for (b, a), ki in zip(pairs, k):
                if max(b, a) > ki // 2:
                    raise LayerError(f"pooling padding {max(b, a)} exceeds half the kernel ({ki}//2 = {ki // 2})")
        inside = o["padding"] != "same" and _symmetric(pairs)  # `same` pads first, as TensorFlow does
        return k, s, d, pairs, inside

    def axis_ops(self, o: Opts, rank: int) -> tuple[tuple[AxisOp, ...], ...]:
        k = per_axis("kernel", o["kernel"], rank)
        s = per_axis("stride", k if o["stride"] is None else o["stride"], rank)
        d = per_axis("dilation", o["dilation"], rank)
        same = o["padding"] == "same"
        pairs = ((0, 0),) * rank if isinstance(o["padding"], str) else padding_pairs(o["padding"], rank)
        inside = not same and _symmetric(pairs)
        avg3d = o["mode"] == "avg" and rank == 3  # AvgPool3d refuses an input smaller than its kernel
        return tuple(
            (Window(ki, si, b, a, di, o["ceil_mode"], same, ki if avg3d else 0, not inside),)
            for ki, si, di, (b, a) in zip(k, s, d, pairs)
        )

    def apply(self, o: Opts, x: Shape) -> Outcome:
        self.geometry(o, x)  # the checks of the options against this input
        return spatial_outcome(self.axis_ops(o, x.rank), x)

    def summary(self, o: Opts) -> str:
        text = _spatial_text(
            o, (("kernel", "k", None), ("stride", "s", None), ("padding", "p", 0), ("dilation", "d", 1))
        )
        return f"{o['mode']} {text}" + (" ceil" if o["ceil_mode"] else "")

    def torch(self, o: Opts, x: Shape) -> list[TorchModule]:
        k, s, d, pairs, inside = self.geometry(o, x)
        r, mode = x.rank, o["mode"]
        args: dict[str, Any] = {"kernel_size": k, "stride": s, "ceil_mode": o["ceil_mode"]}
        if mode == "max":
            args["dilation"] = d
        cls = f"{'Max' if mode == 'max' else 'Avg'}Pool{r}d"
        if inside:
            return [(cls, {**args, "padding": tuple(b for b, _ in pairs)})]
        modules = [pad_module(pairs, float("-inf") if mode == "max" else 0.0), (cls, {**args, "padding": 0})]
        # After an outside pad, torch's ceil rule lets a last window start in the after padding;
        # ours does not: crop that extra output cell off.
        extra = []
        for n, ki, si, di, (b, a) in zip(x.spatial, k, s, d, pairs):
            ours, _ = window_axis(0, "", n, ki, si, b, a, di, o["ceil_mode"])
            theirs, _ = window_axis(0, "", n + b + a, ki, si, 0, 0, di, o["ceil_mode"])
            extra.append((0, ours - theirs))
        if any(e for _, e in extra):
            modules.append(pad_module(tuple(extra)))
        return modules


@register
class GlobalPool(Kind):
    role = "pool"
    name = "global_pool"

    def axis_ops(self, o: Opts, rank: int) -> tuple[tuple[AxisOp, ...], ...]:
        return ((Fixed(1),),) * rank

    input = "spatial"
    options = (Option("mode", Choice(("avg", "max")), "avg", "average or max"),)
    doc = "Pools each channel to a single value: 1×…×1×C."
    example = "global_pool"

    def apply(self, o: Opts, x: Shape) -> Outcome:
        return Outcome(Shape((1,) * x.rank, x.channels))

    def summary(self, o: Opts) -> str:
        return str(o["mode"])

    def torch(self, o: Opts, x: Shape) -> list[TorchModule]:
        return [(f"Adaptive{o['mode'].capitalize()}Pool{x.rank}d", {"output_size": 1})]


@register
class AdaptivePool(Kind):
    role = "pool"
    name = "adaptive_pool"

    def axis_ops(self, o: Opts, rank: int) -> tuple[tuple[AxisOp, ...], ...]:
        return tuple((Fixed(n),) for n in per_axis("out_size", o["out_size"], rank))

    input = "spatial"
    options = (
        Option("mode", Choice(("avg", "max")), "avg", "average or max"),
        Option("out_size", PerAxis(), None, "the output's spatial size", aliases=("output_size",)),
        LIKE,
    )
    like_option = "out_size"
    doc = "Adaptive pooling to a fixed spatial size (larger than the input is allowed, as in PyTorch)."
    example = "adaptive_pool: {out_size: 7}"

    def apply(self, o: Opts, x: Shape) -> Outcome:
        if o["out_size"] is None or o["like"] is not None:
            raise LayerError("adaptive_pool takes exactly one of out_size and like")
        return Outcome(Shape(per_axis("out_size", o["out_size"], x.rank), x.channels))

    def summary(self, o: Opts) -> str:
        return f"{o['mode']} → {_dims(per_axis('out_size', o['out_size'], 1) if isinstance(o['out_size'], int) else o['out_size'])}"

    def torch(self, o: Opts, x: Shape) -> list[TorchModule]:
        return [
            (
                f"Adaptive{o['mode'].capitalize()}Pool{x.rank}d",
                {"output_size": per_axis("out_size", o["out_size"], x.rank)},
            )
        ]


UPSAMPLE_MODES = {
    "nearest": None,
    "nearest-exact": None,
    "area": None,
    "linear": 1,
    "bilinear": 2,
    "bicubic": 2,
    "trilinear": 3,
}


@register
class Upsample(Kind):
    role = "resample"
    name = "upsample"

    def axis_ops(self, o: Opts, rank: int) -> tuple[tuple[AxisOp, ...], ...]:
        if o["size"] is not None:
            return tuple((Fixed(n),) for n in per_axis("size", o["size"], rank))
        return tuple((ScaleOp(v),) for v in per_axis("scale", o["scale"], rank))

    input = "spatial"
    options = (
        Option("scale", Scale(), None, "scale factor (whole or decimal), or per axis", ("scale_factor",)),
        Option("size", PerAxis(), None, "the output's spatial size instead of a scale"),
        LIKE,
        Option("mode", Choice(tuple(UPSAMPLE_MODES)), "nearest", "interpolation (no effect on the shape)"),
        Option("align_corners", Bool(), False, "PyTorch's align_corners (linear modes only; no effect on shape)"),
    )
    doc = (
        "Upsampling as PyTorch computes it: floor(double(in)·double(scale)) per axis, a fixed `size`, or "
        "the size of an earlier tensor (`like: input`)."
    )
    like_option = "size"
    example = "upsample: {scale: 2, mode: bilinear}"

    def apply(self, o: Opts, x: Shape) -> Outcome:
        if (o["scale"] is None) == (o["size"] is None) or o["like"] is not None:
            raise LayerError("upsample takes exactly one of scale, size and like")
        need = UPSAMPLE_MODES[o["mode"]]
        if need is not None and need != x.rank:
            fits = [m for m, r in UPSAMPLE_MODES.items() if r == x.rank]
            raise LayerError(
                f"mode {o['mode']} needs a {need}-D input; for {x.rank}-D use {' or '.join(fits + ['nearest'])}"
            )
        if o["align_corners"] and need is None:
            raise LayerError(f"align_corners only applies to linear modes, not {o['mode']}")
        return spatial_outcome(self.axis_ops(o, x.rank), x)

    def interpolation(self, o: Opts) -> tuple[str, bool] | None:
        return o["mode"], bool(o["align_corners"])

    def summary(self, o: Opts) -> str:
        if o["size"] is not None:
            return f"→ {_dims(o['size']) if isinstance(o['size'], tuple) else o['size']} {o['mode']}"
        scale = o["scale"]
        return f"×{'×'.join(map(str, scale)) if isinstance(scale, tuple) else scale} {o['mode']}"

    def torch(self, o: Opts, x: Shape) -> list[TorchModule]:
        args: dict[str, Any] = {"mode": o["mode"]}
        if o["size"] is not None:
            args["size"] = per_axis("size", o["size"], x.rank)
        else:
            args["scale_factor"] = tuple(float(v) for v in per_axis("scale", o["scale"], x.rank))
        if UPSAMPLE_MODES[o["mode"]] is not None:
            args["align_corners"] = o["align_corners"]
        return [("Upsample", args)]


@register
class Dense(Kind):
    role = "dense"
    name = "dense"
    params_doc = "in·out + out if bias"
    fixes_input = True
    aliases: ClassVar[dict[str, Opts]] = {"linear": {}, "fc": {}}
    input = "flat"
    on_tokens = True
    options = (
        Option("in", Int(), None, IN.doc.replace("channels", "features", 1), ("in_features", "in_channels")),
        Option("out", Int(), doc="output features", aliases=("units", "filters", "out_channels", "out_features")),
        BIAS,
    )
    doc = (
        "A fully connected layer (PyTorch Linear) on a flat input, or on each token of a sequence "
        "(N×in tok → N×out tok, N·in·out MACs): in·out + out params."
    )
    example = "dense: {out: 10}"

    def apply(self, o: Opts, x: Shape) -> Outcome:
        n, out = x.channels, o["out"]
        params = n * out + (out if o["bias"] else 0)
        if x.tokens:  # Linear acts on the last axis: every token alike
            return Outcome(x._replace(channels=out), params=params, macs=x.spatial[0] * n * out)
        return Outcome(Shape((), out), params=params, macs=n * out)

    def summary(self, o: Opts) -> str:
        return "" if o["bias"] else "no bias"

    def torch(self, o: Opts, x: Shape) -> list[TorchModule]:
        return [("Linear", {"in_features": x.channels, "out_features": o["out"], "bias": o["bias"]})]


@register
class Flatten(Kind):
    name = "flatten"
    flattens = True
    on_tokens = True
    doc = "Flattens everything into one vector of ∏(all dims) values."
    example = "flatten"

    def apply(self, o: Opts, x: Shape) -> Outcome:
        return Outcome(Shape((), x.numel))

    def torch(self, o: Opts, x: Shape) -> list[TorchModule]:
        return [("Flatten", {})]


@register
class BatchNorm(Kind):
    role = "norm"
    name = "batchnorm"
    params_doc = "2C, plus 2C buffers"
    aliases: ClassVar[dict[str, Opts]] = {"bn": {}}
    doc = "Batch normalisation: 2C trainable params, and 2C running statistics counted as buffers."
    example = "batchnorm"
    options = (
        Option("eps", Number(0.0), BN_EPS, "added to the variance (no effect on the figures; exported)", ("epsilon",)),
        Option("momentum", Number(0.0, 1.0), BN_MOMENTUM, "the running statistics' update rate (no effect on the figures; exported)"),
    )

    def apply(self, o: Opts, x: Shape) -> Outcome:
        return batch_norm(x)

    def torch(self, o: Opts, x: Shape) -> list[TorchModule]:
        return [norm_module(x.channels, x.rank, o["eps"], o["momentum"])]


EPS = Option("eps", Number(0.0), 1e-5, "added to the variance (no effect on the figures; exported)")
AFFINE = Option("affine", Bool(), True, "learnable per-channel scale and shift", ("elementwise_affine",))


@register
class LayerNorm(Kind):
    role = "norm"
    name = "layernorm"
    params_doc = "2C (C without bias; 0 without affine)"
    aliases: ClassVar[dict[str, Opts]] = {"layer_norm": {}, "ln": {}}
    on_tokens = True
    options = (EPS, AFFINE, Option("bias", Bool(), True, "the learnable shift (with affine)"))
    doc = (
        "Layer normalisation over the channels at each position (ConvNeXt's LayerNorm2d; a channels-last "
        "LayerNorm on tokens or a flat vector): 2C params, no buffers, no MACs."
    )
    example = "layernorm: {eps: 1e-6}"

    def apply(self, o: Opts, x: Shape) -> Outcome:
        c = x.channels
        return Outcome(x, params=(c + (c if o["bias"] else 0)) if o["affine"] else 0)

    def summary(self, o: Opts) -> str:
        return "" if o["affine"] and o["bias"] else ("no bias" if o["affine"] else "no affine")

    def torch(self, o: Opts, x: Shape) -> list[TorchModule]:
        args = {"normalized_shape": x.channels, "eps": o["eps"], "elementwise_affine": o["affine"], "bias": o["bias"]}
        return [("ChannelLayerNorm" if x.is_map else "LayerNorm", args)]  # tokens are channels-last already


@register
class GroupNorm(Kind):
    role = "norm"
    name = "groupnorm"
    params_doc = "2C (0 without affine)"
    aliases: ClassVar[dict[str, Opts]] = {"group_norm": {}, "gn": {}}
    options = (Option("groups", Int(), doc="the number of groups (C must divide by it)", aliases=("num_groups",)), EPS, AFFINE)
    doc = "Group normalisation (PyTorch GroupNorm): C split into groups; 2C params, no buffers, no MACs."
    example = "groupnorm: {groups: 32}"

    def apply(self, o: Opts, x: Shape) -> Outcome:
        if x.channels % o["groups"]:
            raise LayerError(f"{x.channels} channels do not divide into {o['groups']} groups: change groups")
        if x.channels // o["groups"] * math.prod(x.spatial) == 1:
            raise LayerError(
                f"group norm of {x} in {o['groups']} groups normalises single values (PyTorch refuses it at "
                "batch 1): use fewer groups"
            )
        return Outcome(x, params=2 * x.channels if o["affine"] else 0)

    def summary(self, o: Opts) -> str:
        return f"g{o['groups']}" + ("" if o["affine"] else " no affine")

    def torch(self, o: Opts, x: Shape) -> list[TorchModule]:
        return [("GroupNorm", {"num_groups": o["groups"], "num_channels": x.channels, "eps": o["eps"], "affine": o["affine"]})]


@register
class InstanceNorm(Kind):
    role = "norm"
    name = "instancenorm"
    params_doc = "2C with affine; 2C buffers with track_running_stats"
    aliases: ClassVar[dict[str, Opts]] = {"instance_norm": {}}
    input = "spatial"
    options = (
        EPS,
        Option("affine", Bool(), False, "learnable per-channel scale and shift (PyTorch's default: off)"),
        Option("track_running_stats", Bool(), False, "keep running statistics (buffers), used at inference", ("track",)),
    )
    doc = (
        "Instance normalisation (PyTorch InstanceNormNd): each channel of each sample on its own; "
        "2C params with affine, 2C buffers with track_running_stats, no MACs."
    )
    example = "instancenorm: {affine: true}"

    def apply(self, o: Opts, x: Shape) -> Outcome:
        if math.prod(x.spatial) == 1 and not o["track_running_stats"]:
            raise LayerError(
                f"instance norm of {x}: the statistics of a single value per channel, which PyTorch refuses "
                "(normalise before the map shrinks to one cell, or set track_running_stats)"
            )
        c = x.channels
        return Outcome(x, params=2 * c if o["affine"] else 0, buffers=2 * c if o["track_running_stats"] else 0)

    def summary(self, o: Opts) -> str:
        return " ".join(w for w, on in (("affine", o["affine"]), ("tracked", o["track_running_stats"])) if on)

    def torch(self, o: Opts, x: Shape) -> list[TorchModule]:
        args = {"num_features": x.channels, "eps": o["eps"], "affine": o["affine"]}
        return [(f"InstanceNorm{x.rank}d", {**args, "track_running_stats": o["track_running_stats"]})]


@register
class LayerScaleKind(Kind):
    role = "norm"
    name = "layer_scale"
    params_doc = "C"
    aliases: ClassVar[dict[str, Opts]] = {"layerscale": {}}
    on_tokens = True
    options = (Option("init", Number(0.0), 1e-6, "the scale's initial value (no effect on the figures)"),)
    doc = "A learnable scale per channel (ConvNeXt's and CaiT's layer scale γ): C params, no MACs."
    example = "layer_scale: {init: 1e-6}"

    def apply(self, o: Opts, x: Shape) -> Outcome:
        return Outcome(x, params=x.channels)

    def torch(self, o: Opts, x: Shape) -> list[TorchModule]:
        rank = x.rank if x.is_map else 0  # gamma (C, 1, …, 1) on a map; (C,) on the last axis of tokens
        return [("LayerScale", {"channels": x.channels, "rank": rank, "init": o["init"]})]


@register
class ChannelSlice(Kind):
    name = "channel_slice"
    on_tokens = True
    options = (
        Option("start", Int(0), 0, "the first channel taken (from 0)"),
        Option("stop", Int(), doc="one past the last channel taken, as in Python's x[start:stop]"),
    )
    doc = "Channels start … stop − 1 of the input (what `split` gives each branch); no params."
    example = "channel_slice: {start: 0, stop: 58}"

    def apply(self, o: Opts, x: Shape) -> Outcome:
        if not o["start"] < o["stop"] <= x.channels:
            raise LayerError(
                f"channels {o['start']}:{o['stop']} are not within the input's {x.channels}: "
                "give 0 ≤ start < stop ≤ the channels"
            )
        return Outcome(x._replace(channels=o["stop"] - o["start"]))

    def summary(self, o: Opts) -> str:
        return f"{o['start']}:{o['stop']}"

    def torch(self, o: Opts, x: Shape) -> list[TorchModule]:
        return [("ChannelSlice", {"start": o["start"], "stop": o["stop"], "dim": -1 if x.tokens else 1})]


@register
class ChannelShuffle(Kind):
    name = "channel_shuffle"
    input = "spatial"
    options = (Option("groups", Int(), doc="the number of groups the channels are interleaved from"),)
    doc = "Channel shuffle (ShuffleNet; PyTorch ChannelShuffle): C as groups × C/groups, transposed; no params."
    example = "channel_shuffle: {groups: 2}"

    def apply(self, o: Opts, x: Shape) -> Outcome:
        if x.channels % o["groups"]:
            raise LayerError(f"{x.channels} channels do not divide into {o['groups']} groups: change groups")
        return Outcome(x)

    def summary(self, o: Opts) -> str:
        return f"g{o['groups']}"

    def torch(self, o: Opts, x: Shape) -> list[TorchModule]:
        return [("ChannelShuffle", {"groups": o["groups"]})]


def act_module(name: str, x: Shape) -> TorchModule:
    """An activation's module for input ``x``: softmax runs over the channels, the last axis of tokens."""
    cls, args = ACTIVATIONS[name]
    return (cls, {**args, "dim": -1}) if "dim" in args and x.tokens else (cls, args)


class Activation(Kind):
    """An element-wise activation: shape unchanged, no params, no MACs."""
    role = "pointwise"

    on_tokens = True

    def torch(self, o: Opts, x: Shape) -> list[TorchModule]:
        cls, args = act_module(self.name, x)
        return [(cls, {**args, **({"negative_slope": o["negative_slope"]} if "negative_slope" in o else {})})]


for _name in ACTIVATIONS:
    _options: tuple[Option, ...] = ()
    if _name == "leaky_relu":
        _options = (Option("negative_slope", Number(), 0.01, "slope for negative inputs", ("alpha", "slope")),)
    register(
        type(
            f"Act_{_name}",
            (Activation,),
            {
                "name": _name,
                "options": _options,
                "example": _name,
                "doc": f"The {_name} activation: shape unchanged, no params, no MACs.",
            },
        )
    )


@register
class Dropout(Kind):
    role = "pointwise"
    name = "dropout"
    on_tokens = True
    module: ClassVar[str] = "Dropout"  # the torch class, whose one argument is p
    options = (Option("rate", Number(0.0, 1.0), 0.5, "the fraction dropped while training", ("p",)),)
    doc = "Dropout: shape unchanged, no params."
    example = "dropout: {rate: 0.5}"

    def summary(self, o: Opts) -> str:
        return f"rate {o['rate']:g}"

    def torch(self, o: Opts, x: Shape) -> list[TorchModule]:
        return [(self.module, {"p": o["rate"]})]


@register
class DropPathKind(Dropout):
    name = "drop_path"
    module = "DropPath"
    aliases: ClassVar[dict[str, Opts]] = {"stochastic_depth": {}}
    options = (Option("rate", Number(0.0, 1.0), 0.0, "the probability of dropping a sample's path while training", ("p",)),)
    doc = "Stochastic depth (drop path): the identity at inference; shape unchanged, no params."
    example = "drop_path: {rate: 0.1}"


@register
class PadLayer(Kind):
    name = "pad"

    def axis_ops(self, o: Opts, rank: int) -> tuple[tuple[AxisOp, ...], ...]:
        return tuple((Shift(b, a),) for b, a in padding_pairs(o["padding"], rank))

    input = "spatial"
    options = (Option("padding", Pad(()), doc="zero padding: a number, per axis, or [before, after] pairs"),)
    doc = "Zero padding: in + pb + pa per axis."
    example = "pad: {padding: [[0, 1], [0, 1]]}"

    def apply(self, o: Opts, x: Shape) -> Outcome:
        pairs = padding_pairs(o["padding"], x.rank)
        return Outcome(Shape(tuple(n + b + a for n, (b, a) in zip(x.spatial, pairs)), x.channels))

    def summary(self, o: Opts) -> str:
        return _spatial_text(o, (("padding", "p", None),))

    def torch(self, o: Opts, x: Shape) -> list[TorchModule]:
        return [pad_module(padding_pairs(o["padding"], x.rank))]


@register
class Crop(Kind):
    name = "crop"

    def axis_ops(self, o: Opts, rank: int) -> tuple[tuple[AxisOp, ...], ...]:
        return tuple((CropOp(n),) for n in per_axis("to", o["to"], rank))

    input = "spatial"
    options = (Option("to", PerAxis(), doc="the size to crop to, per axis"),)
    doc = "Centre crop to `to` per axis; an odd extra cell comes off the after side."
    example = "crop: {to: [388, 388]}"

    def pairs(self, o: Opts, x: Shape) -> tuple[tuple[int, int], ...]:
        to = per_axis("to", o["to"], x.rank)
        for name, n, t in zip(axis_names(x.rank), x.spatial, to):
            if t > n:
                raise LayerError(f"{name}: cannot crop {n} to {t}: crop to a size no larger than the input")
        return tuple(((n - t) // 2, n - t - (n - t) // 2) for n, t in zip(x.spatial, to))

    def apply(self, o: Opts, x: Shape) -> Outcome:
        self.pairs(o, x)
        return Outcome(Shape(per_axis("to", o["to"], x.rank), x.channels))

    def summary(self, o: Opts) -> str:
        return _spatial_text(o, (("to", "to ", None),))

    def torch(self, o: Opts, x: Shape) -> list[TorchModule]:
        return [pad_module(tuple((-b, -a) for b, a in self.pairs(o, x)))]


@register
class PixelShuffle(Kind):
    role = "resample"
    name = "pixel_shuffle"

    def axis_ops(self, o: Opts, rank: int) -> tuple[tuple[AxisOp, ...], ...]:
        return ((Times(o["factor"]),),) * rank

    input = "spatial"
    options = (Option("factor", Int(), doc="the upscale factor r", aliases=("upscale_factor",)),)
    doc = "Sub-pixel upsampling (PyTorch PixelShuffle, 2-D): H·r × W·r × C/r²."
    example = "pixel_shuffle: {factor: 2}"

    def apply(self, o: Opts, x: Shape) -> Outcome:
        r = o["factor"]
        if x.rank != 2:
            raise LayerError(f"pixel_shuffle is 2-D only; the input is {x}")
        if x.channels % (r * r):
            raise LayerError(f"{x.channels} channels do not divide by factor² = {r * r}: change the channels or factor")
        return Outcome(Shape(tuple(n * r for n in x.spatial), x.channels // (r * r)))

    def summary(self, o: Opts) -> str:
        return f"r{o['factor']}"

    def torch(self, o: Opts, x: Shape) -> list[TorchModule]:
        return [("PixelShuffle", {"upscale_factor": o["factor"]})]


# --- token sequences and attention ---------------------------------------------------------------
# A sequence of N tokens of C channels is Shape((N,), C, tokens=True); in PyTorch an (N, T, C)
# tensor, channels last, which nn.Linear and nn.LayerNorm read as they are.


@register
class TokensKind(Kind):
    name = "tokens"
    input = "spatial"
    flattens = True  # the spatial axes end here, as at a flatten
    doc = "A map as a sequence of tokens, one per position (ViT's patches): H×W×C → (H·W)×C tok; no params."
    example = "tokens"

    def apply(self, o: Opts, x: Shape) -> Outcome:
        return Outcome(Shape((math.prod(x.spatial),), x.channels, tokens=True))

    def torch(self, o: Opts, x: Shape) -> list[TorchModule]:
        return [("Tokens", {})]


@register
class UntokensKind(Kind):
    name = "untokens"
    input = "tokens"
    fixes_input = True  # its sizes fix the sequence's length
    options = (Option("size", PerAxis(), doc="the map's spatial sizes, one per axis (1 to 3); they multiply to N"),)
    doc = "A token sequence back to a map: N×C tok → H×W×C with H·W = N (`size`: one size per axis); no params."
    example = "untokens: {size: [14, 14]}"

    def size(self, o: Opts) -> tuple[int, ...]:
        value = o["size"]
        return value if isinstance(value, tuple) else (value,)

    def apply(self, o: Opts, x: Shape) -> Outcome:
        size, n = self.size(o), x.spatial[0]
        if len(size) > 3:
            raise LayerError(f"size has {len(size)} axes: a map has 1 to 3 (L; H, W; D, H, W)")
        if math.prod(size) != n:
            raise LayerError(
                f"size {'×'.join(map(str, size))} holds {math.prod(size)} positions but the sequence has {n} "
                f"tokens: give sizes that multiply to {n}"
            )
        return Outcome(Shape(size, x.channels))

    def summary(self, o: Opts) -> str:
        return f"→ {'×'.join(map(str, self.size(o)))}"

    def torch(self, o: Opts, x: Shape) -> list[TorchModule]:
        return [("Untokens", {"size": self.size(o)})]


@register
class ClassToken(Kind):
    name = "class_token"
    params_doc = "C"
    aliases: ClassVar[dict[str, Opts]] = {"cls_token": {}}
    input = "tokens"
    doc = "A learned token put first (ViT's class token): N×C tok → (N + 1)×C tok; C params."
    example = "class_token"

    def apply(self, o: Opts, x: Shape) -> Outcome:
        return Outcome(x._replace(spatial=(x.spatial[0] + 1,)), params=x.channels)

    def torch(self, o: Opts, x: Shape) -> list[TorchModule]:
        return [("ClassToken", {"channels": x.channels})]


@register
class PositionEmbedding(Kind):
    name = "position_embedding"
    params_doc = "N·C"
    aliases: ClassVar[dict[str, Opts]] = {"pos_embedding": {}}
    input = "tokens"
    fixes_input = True  # one embedding per position: N is fixed, and with it the input's size
    doc = (
        "A learned embedding per position added to the tokens (ViT's): N×C tok, unchanged; N·C params, "
        "which fix N and so the input size."
    )
    example = "position_embedding"

    def apply(self, o: Opts, x: Shape) -> Outcome:
        return Outcome(x, params=x.spatial[0] * x.channels)

    def torch(self, o: Opts, x: Shape) -> list[TorchModule]:
        return [("PositionEmbedding", {"length": x.spatial[0], "channels": x.channels})]


@register
class Attention(Kind):
    role = "attention"
    name = "attention"
    params_doc = "4C² + 4C (4C² without bias)"
    aliases: ClassVar[dict[str, Opts]] = {"self_attention": {}}
    input = "tokens"
    options = (
        Option("heads", Int(), doc="attention heads (C must divide by it)", aliases=("num_heads",)),
        Option("bias", Bool(), True, "biases of the q, k, v and output projections", ("use_bias",)),
    )
    doc = (
        "Multi-head self-attention (PyTorch MultiheadAttention's parameters): N×C tok, unchanged; "
        "4C² + 4C params; 4·N·C² MACs in the q, k, v and output projections plus 2·N²·C in q·kᵀ and "
        "the weights times v."
    )
    example = "attention: {heads: 12}"

    def apply(self, o: Opts, x: Shape) -> Outcome:
        n, c, heads = x.spatial[0], x.channels, o["heads"]
        if c % heads:
            raise LayerError(f"{c} channels do not divide into {heads} heads: change heads")
        params = 4 * c * c + (4 * c if o["bias"] else 0)
        return Outcome(x, params=params, macs=4 * n * c * c + 2 * n * n * c, input_macs=3 * n * c * c)

    def summary(self, o: Opts) -> str:
        return f"h{o['heads']}" + ("" if o["bias"] else " no bias")

    def torch(self, o: Opts, x: Shape) -> list[TorchModule]:
        return [("SelfAttention", {"channels": x.channels, "heads": o["heads"], "bias": o["bias"]})]


@register
class Mlp(Kind):
    role = "dense"
    name = "mlp"
    params_doc = "C·H + H·out, plus H + out if bias"
    input = "flat"
    on_tokens = True
    fixes_input = True  # on a flat vector, as dense
    options = (
        Option("hidden", Int(), doc="the hidden width H", aliases=("hidden_features", "mlp_dim")),
        Option("out", Int(), None, "output channels (default: the input's C)", ("out_features",)),
        Option("act", Choice(tuple(ACTIVATIONS), allow_none=True), "gelu", "the activation between the two", ("activation",)),
        Option("bias", Bool(), True, "the biases of both linear layers", ("use_bias",)),
        Option(
            "dropout",
            Number(0.0, 1.0),
            None,
            "dropout after the activation and after the second linear, as torchvision's MLPBlock (none: no dropout)",
        ),
    )
    doc = (
        "Two linear layers with an activation between (a transformer's MLP): C → H → out on each token "
        "(or on a flat vector); their params, and N·(C·H + H·out) MACs on N tokens."
    )
    example = "mlp: {hidden: 3072, act: gelu}"

    def apply(self, o: Opts, x: Shape) -> Outcome:
        c, hidden = x.channels, o["hidden"]
        out = o["out"] or c
        weights = c * hidden + hidden * out
        params = weights + (hidden + out if o["bias"] else 0)
        tokens = x.spatial[0] if x.tokens else 1
        return Outcome(x._replace(channels=out), params=params, macs=tokens * weights, input_macs=tokens * c * hidden)

    def summary(self, o: Opts) -> str:
        parts = [str(o["hidden"]), o["act"], o["out"] and f"→ {o['out']}", not o["bias"] and "no bias"]
        if o["dropout"] is not None:
            parts.append(f"dropout {o['dropout']:g}")
        return " ".join(p for p in parts if p)

    def torch(self, o: Opts, x: Shape) -> list[TorchModule]:
        c, hidden, bias = x.channels, o["hidden"], o["bias"]
        drop = [("Dropout", {"p": o["dropout"]})] if o["dropout"] is not None else []
        return [
            ("Linear", {"in_features": c, "out_features": hidden, "bias": bias}),
            *([act_module(o["act"], x)] if o["act"] else []),
            *drop,
            ("Linear", {"in_features": hidden, "out_features": o["out"] or c, "bias": bias}),
            *drop,
        ]


@register
class TokenPool(Kind):
    role = "pool"
    name = "token_pool"
    input = "tokens"
    fixed_output = True  # C, however many tokens
    options = (
        Option(
            "mode",
            Choice(("first", "mean")),
            "first",
            "first: the first token (ViT's class-token read-out, x[:, 0]); mean: the average of the tokens",
        ),
    )
    doc = "A token sequence read out as one vector: N×C tok → C, its first token or the mean of all; no params."
    example = "token_pool: {mode: first}"

    def apply(self, o: Opts, x: Shape) -> Outcome:
        return Outcome(Shape((), x.channels))

    def summary(self, o: Opts) -> str:
        return str(o["mode"])

    def torch(self, o: Opts, x: Shape) -> list[TorchModule]:
        return [("TokenPool", {"mode": o["mode"]})]


@register
class Opaque(Kind):
    name = "opaque"
    has_torch = False  # exempt from the oracle; export, solve, --rf, --memory and --train refuse it
    fixed_output = True
    options = (Option("out", Dims(), doc="its output shape, as the model's shape inference gave it: [H, W, C], or C"),)
    doc = ("A layer convcalc has no kind for, kept from an imported model (`import --allow-unknown`): its output "
           "as given, no params, no MACs. It has no PyTorch equivalent, so export, solve, --rf, --memory and --train "
           "refuse a spec that holds one.")
    example = "opaque: {out: [14, 14, 256]}"

    def apply(self, o: Opts, x: Shape) -> Outcome:
        *spatial, channels = o["out"]
        return Outcome(Shape(tuple(spatial), channels))

    def summary(self, o: Opts) -> str:
        return "→ " + "×".join(map(str, o["out"]))


def channel_slice(start: int, stop: int) -> tuple[Kind, Opts]:
    """The kind and options of channels start … stop − 1: what ``split`` puts before each branch."""
    return KINDS["channel_slice"], {"start": start, "stop": stop}


def fixed_options(kind: Kind, preset: Opts) -> tuple[Option, ...]:
    """The options a spelling accepts: an alias such as ``maxpool`` fixes some of them."""
    return tuple(opt for opt in kind.options if opt.name not in preset)


__all__ = ["KINDS", "REQUIRED", "SPELLINGS", "Kind", "Outcome", "TorchModule", "fixed_options"]

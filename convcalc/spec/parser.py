"""From loaded YAML (with positions) to a validated, frozen :class:`Spec`.

This module owns the format's structure: top-level keys, the layer item forms, option names
and aliases (checked against each kind's declaration), input shapes, dtypes and ``expect``.
It checks everything that can be checked without knowing the input's shape; the evaluator
checks the rest.  Every problem is a :class:`SpecError` at the line and column of the
offending key or value.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from fractions import Fraction
from typing import Any

from ..base.record import Record
from ..base.errors import Mark, SpecError
from ..base.text import suggest, visible
from ..model.joins import FITS
from ..model.kinds import KINDS, SPELLINGS, Kind, fixed_options
from .loader import LList, LMap, load, mark_of
from .template import substitute
from ..model.options import LIMIT_TEXT, MAX_INT, Option, OptionError, too_large

FORMAT_VERSION = 1
TOP_KEYS = ("convcalc", "name", "description", "args", "input", "dtype", "batch", "blocks", "layers", "outputs", "expect")
DTYPE_BYTES = {"float32": 4, "float16": 2, "bfloat16": 2, "int8": 1, "float64": 8}
LAYER_KEYS = ("name", "expect", "allow_inexact")  # every layer accepts these besides its options
FIGURES = (
    "params", "buffers", "macs", "flops", "activation_bytes", "param_bytes", "peak_activation_bytes",
    "training_peak_bytes",
)
# Figures of the whole network that take a pass of their own (show --memory's inference peak,
# show --train's step peak with adam): computed only when an expect names one.
NETWORK_FIGURES = ("peak_activation_bytes", "training_peak_bytes")
BOUNDS = {f"{f}{suffix}": (f, op) for f in FIGURES for suffix, op in (("", "=="), ("_max", "<="), ("_min", ">="))}
EXPECT_KEYS = ("output", "outputs", *BOUNDS)
SUFFIXES = {
    "": 1, "k": 10**3, "K": 10**3, "M": 10**6, "G": 10**9, "T": 10**12,
    "KiB": 2**10, "MiB": 2**20, "GiB": 2**30, "TiB": 2**40,  # binary, for bytes
}
# At most 60 digits and separators, 30 decimals and two exponent digits: "1e999999999" would take
# forever to expand into a whole number, and 5,000 digits are past what int() converts.
# Patterns compiled on first use by re's cache, not at import (start-up): few specs write counts as text.
_COUNT = r"\s*([0-9][0-9_,]{0,59}(?:\.[0-9]{1,30})?(?:[eE][-+]?[0-9]{1,2})?)\s*([kKMGT]?|[KMGT]iB)\s*\Z"
_SHAPE_SPLIT = r"\s*[x×X*,]\s*"


class Expect(Record):
    """What a spec or a layer promises: an output shape and bounds on figures."""

    output: tuple[int, ...] | None
    output_mark: Mark | None
    figures: tuple[tuple[str, str, Fraction, Mark], ...]  # (figure, "==" | "<=" | ">=", value, mark)
    outputs: tuple[tuple[str, tuple[int, ...], Mark], ...] = ()  # the spec's: (output name, shape, mark)


class Layer(Record):
    """One leaf layer as written: its kind, its options (canonical names, defaults filled in)."""

    kind: Kind
    spelling: str
    options: dict[str, Any]
    name: str | None
    expect: Expect | None
    allow_inexact: bool
    mark: Mark


class Spec(Record):
    version: int
    name: str | None
    description: str | None
    input: tuple[int, ...] | None
    input_mark: Mark | None
    dtype: str
    batch: int
    layers: tuple[Node, ...]
    expect: Expect | None
    mark: Mark | None
    blocks: dict[str, Block] | None = None  # the named blocks (None: none defined)
    outputs: tuple[tuple[str, Mark], ...] = ()  # `outputs: [p3, p4, p5]` (empty: the last layer's)
    args: dict[str, Any] | None = None  # the spec's own arguments, as set (--set) or defaulted


def _where(parent: Any, key: Any, *, value: bool = True) -> Mark | None:
    if isinstance(parent, LMap):
        marks = parent.value_marks if value else parent.key_marks
        return marks.get(key, parent.mark)
    if isinstance(parent, LList) and isinstance(key, int):
        return parent.item_marks[key]
    return mark_of(parent)


def parse_shape(value: Any, mark: Mark | None, what: str = "input") -> tuple[int, ...]:
    """``28x28x1``, ``[28, 28, 1]`` or ``784`` (a flat vector); at most D×H×W×C."""
    items: list[Any]
    if isinstance(value, bool):
        items = []
    elif isinstance(value, int):
        items = [value]
    elif isinstance(value, str):
        items = [
            int(p) if p.isascii() and p.isdigit() and len(p) <= 19 else p  # 19 digits: above is beyond the limit
            for p in re.split(_SHAPE_SPLIT, value.strip().strip("[]()").strip())
        ]
        if any(isinstance(p, str) and p.isascii() and p.isdigit() for p in items):
            raise SpecError(f"{what} has a size larger than {LIMIT_TEXT}", mark)
    elif isinstance(value, list):
        items = list(value)
    else:
        items = []
    if not items or not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in items) or len(items) > 4:
        raise SpecError(
            f"{what} must be a shape such as 28x28x1 (H×W×C), 100x16 (L×C), 16x112x112x3 (D×H×W×C), "
            f"a list of positive whole numbers, or one number for a flat vector; got {value!r}",
            mark,
        )
    if too_large(items):
        raise SpecError(f"{what} has a size larger than {LIMIT_TEXT}", mark)
    return tuple(items)


def parse_count(value: Any, mark: Mark | None, what: str) -> Fraction:
    """``1007590``, ``"25.6M"``, ``"4.09G"``: a count with an optional K/M/G/T suffix."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return Fraction(value)
    if isinstance(value, float) and 0 <= value < float("inf"):
        return Fraction(repr(value))
    if isinstance(value, str):
        m = re.match(_COUNT, value)
        if m:
            return Fraction(m.group(1).replace("_", "").replace(",", "")) * SUFFIXES[m.group(2)]
    raise SpecError(
        f"{what} must be a count such as 1007590, 25.6M or 20GiB (suffix K, M, G or T, or KiB, MiB, GiB or TiB; "
        f"at most 60 digits and an exponent of at most two), got {_clip(value)}",
        mark,
    )


def _clip(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def parse_expect(value: Any, mark: Mark | None, *, top: bool) -> Expect:
    if not isinstance(value, LMap):
        if top:
            raise SpecError("expect must be a mapping such as {output: 10, params: 1007590}", mark)
        return Expect(parse_shape(value, mark, "expect"), mark, ())
    output, output_mark, figures, outputs = None, None, [], []
    for key, item in value.items():
        where = _where(value, key)
        if key not in EXPECT_KEYS or (key == "outputs" and not top):
            keys = [k for k in EXPECT_KEYS if top or k != "outputs"]
            raise SpecError(f"unknown expect key '{key}'{suggest(key, keys)}", _where(value, key, value=False))
        if key == "output":
            output, output_mark = parse_shape(item, where, "expect output"), where
            continue
        if key == "outputs":
            if not isinstance(item, LMap) or not item:
                raise SpecError("expect outputs must map output names to shapes: {p3: 80x80x255, ...}", where)
            for name, shape in item.items():
                at = _where(item, name)
                outputs.append((str(name), parse_shape(shape, at, f"expect outputs {name}"), at or Mark(1, 1)))
            continue
        figure, op = BOUNDS[key]
        if figure in NETWORK_FIGURES and not top:
            raise SpecError(f"expect {key} is a figure of the whole network: put it in the top-level expect", where)
        count = parse_count(item, where, f"expect {key}")
        if op == "==" and count.denominator != 1:
            raise SpecError(f"expect {key} must be a whole number; {item!r} is {count}", where)
        figures.append((figure, op, count, where or mark or Mark(1, 1)))
    return Expect(output, output_mark, tuple(figures), tuple(outputs))


def known_alias(key: str, here: set[str]) -> str | None:
    """The option ``key`` names on some kind (a PyTorch or Keras spelling such as ``units``) when
    the kind at hand has that option: a better suggestion than the nearest spelling."""
    for kind in KINDS.values():
        for opt in kind.options:
            if key in opt.aliases and opt.name in here:
                return opt.name
    return None


def parse_options(kind: Kind, spelling: str, preset: dict[str, Any], raw: Any, mark: Mark | None) -> dict[str, Any]:
    """Check a layer's options against its kind: names, aliases, types; fill in defaults."""
    accepted = fixed_options(kind, preset)
    by_name: dict[str, Option] = {}
    for opt in accepted:
        for alias in (opt.name, *opt.aliases):
            by_name[alias] = opt
    given: dict[str, tuple[str, Any]] = {}
    items = raw.items() if isinstance(raw, LMap) else ()
    for key, value in items:
        if key in LAYER_KEYS:
            continue
        found = by_name.get(key)
        key_mark = _where(raw, key, value=False)
        if found is None:
            if any(key == o.name or key in o.aliases for o in kind.options):
                raise SpecError(
                    f"{spelling} fixes '{key}' to {preset.get(key, '')!r}; use {kind.name} to choose it", key_mark
                )
            names = [n for o in accepted for n in (o.name, *o.aliases)] + list(LAYER_KEYS)
            meant = known_alias(key, {o.name for o in accepted})  # another kind's spelling: its meaning here
            hint = f"; did you mean '{meant}'?" if meant else suggest(key, names)
            listing = ", ".join(o.name for o in accepted) or "none"
            raise SpecError(f"{spelling} has no option '{key}'{hint or f' (its options: {listing})'}", key_mark)
        if found.name in given:
            raise SpecError(
                f"'{given[found.name][0]}' and '{key}' are the same option of {spelling}: give only one", key_mark
            )
        if too_large(value):
            raise SpecError(f"{spelling} {key} is larger than {LIMIT_TEXT}", _where(raw, key))
        try:
            given[found.name] = (key, found.type.parse(value))
        except OptionError as err:
            raise SpecError(f"{spelling} {key} {err}", _where(raw, key)) from None
    options = dict(preset)
    for opt in accepted:
        if opt.name in given:
            options[opt.name] = given[opt.name][1]
        elif opt.required:
            raise SpecError(f"{spelling} needs '{opt.name}' ({opt.doc})", mark)
        else:
            options[opt.name] = opt.default
    return options


NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_\-]*")
CONSTRUCTS = ("residual", "scale", "split", "concat", "add", "mul", "repeat", "from")
# What each construct does, with an example that follows a layer named `stem` of 8×8×16
# (`convcalc kinds`; docs/format.md has the full rules).
CONSTRUCT_DOCS: dict[str, tuple[str, str]] = {
    "residual": ("x + body(x); with body: and shortcut:, body(x) + shortcut(x). The shapes must match.",
                 "residual: [{conv: {out: 16, kernel: 3, padding: 1}}]"),
    "scale": ("x · body(x): the body's output (a gate, 1×1×C) multiplies its input, broadcast as PyTorch "
              "does (squeeze-excitation).",
              "scale: [global_pool, {pointwise: {out: 4, act: relu}}, {pointwise: {out: 16, act: sigmoid}}]"),
    "split": ("The channels cut into sizes, each part through its branch, the outputs concatenated "
              "(ShuffleNetV2).", "split: {sizes: [8, 8], branches: [[], [{pointwise: {out: 8}}]]}"),
    "concat": ("Branches (lists of layers) on the same input, their outputs concatenated on the channels; "
               "or {with: NAME} joins an earlier output (fit: crop or pad, through: [layers]).",
               "concat: [[{pointwise: {out: 8}}], [{conv: {out: 8, kernel: 3, padding: 1}}]]"),
    "add": ("As concat, the outputs added (equal shapes).", "add: {with: stem}"),
    "mul": ("As concat, the outputs multiplied, with PyTorch's broadcasting.", "mul: [[relu], [sigmoid]]"),
    "repeat": ("times copies of layers, one after another.",
               "repeat: {times: 2, layers: [{conv: {out: 16, kernel: 3, padding: 1}}]}"),
    "from": ("Go on from an earlier tensor (input, or a layer's name): a second head.", "from: stem"),
}
JOINS = ("concat", "add", "mul")  # the constructs that join branches or a named earlier layer
MAX_REPEAT = 1_000_000


class Block(Record):
    """A named template: its argument defaults and its layers, kept as loaded YAML until a call."""

    name: str
    args: dict[str, Any]
    layers: Any  # an LList, parsed after substitution at each call
    mark: Mark


class Residual(Record):
    """output = body(x) + shortcut(x), the shortcut the identity when None; or, as ``scale``
    (``op``), output = x · body(x): a gate computed from x (squeeze-excitation) multiplies x."""

    body: tuple[Node, ...]
    shortcut: tuple[Node, ...] | None
    name: str | None
    expect: Expect | None
    mark: Mark
    op: str = "residual"  # or "scale"


class Branches(Record):
    """Parallel branches on one input, joined by ``op`` (concat on channels, or add)."""

    op: str
    branches: tuple[tuple[Node, ...], ...]
    name: str | None
    expect: Expect | None
    mark: Mark


class Skip(Record):
    """Join the current tensor with an earlier named layer's output (``concat``/``add`` ``with``)."""

    op: str
    target: str
    fit: str | None  # None, "crop" or "pad"
    through: tuple[Node, ...]
    name: str | None
    expect: Expect | None
    mark: Mark
    target_mark: Mark


class Split(Record):
    """The input's channels cut into consecutive parts, one per branch; the branches' outputs are
    concatenated.  ``sizes`` None: equal parts (checked against the channels at evaluation)."""

    sizes: tuple[int, ...] | None
    branches: tuple[tuple[Node, ...], ...]
    name: str | None
    expect: Expect | None
    mark: Mark


class From(Record):
    """``from: NAME``: go on from an earlier tensor (a head branching off the trunk); adds no row."""

    target: str
    name: str | None
    expect: Expect | None
    mark: Mark


class Repeat(Record):
    times: int
    body: tuple[Node, ...]
    name: str | None
    expect: Expect | None
    mark: Mark


class Call(Record):
    """A use of a named block with argument values (already free of ``$`` references)."""

    block: Block
    args: dict[str, Any]
    name: str | None
    expect: Expect | None
    mark: Mark


Node = Layer | Residual | Branches | Skip | Split | From | Repeat | Call


def word_of(node: Node) -> str:
    """What a node's default name is made of: its kind, construct or block name."""
    if isinstance(node, Layer):
        return node.kind.name
    if isinstance(node, Call):
        return node.block.name
    if isinstance(node, (Branches, Skip)):
        return node.op
    if isinstance(node, Split):
        return "split"
    if isinstance(node, From):
        return "from"
    return node.op if isinstance(node, Residual) else "repeat"


def _common(raw: Any, what: str) -> tuple[str | None, Expect | None]:
    """The ``name`` and ``expect`` every layer and construct accepts."""
    name = expect = None
    if isinstance(raw, LMap):
        if "name" in raw:
            name = raw["name"]
            if not isinstance(name, str) or not NAME.fullmatch(name):
                raise SpecError(
                    f"{what} name must be a word of ASCII letters, digits, _ and - (not starting with a digit), got {name!r}",
                    _where(raw, "name"),
                )
        if "expect" in raw:
            expect = parse_expect(raw["expect"], _where(raw, "expect"), top=False)
    return name, expect


def _check_keys(raw: LMap, allowed: tuple[str, ...], what: str) -> None:
    for key in raw:
        if key not in allowed:
            raise SpecError(
                f"{what} has no key '{key}'{suggest(key, allowed) or f' (its keys: {chr(44).join(allowed)})'}",
                _where(raw, key, value=False),
            )


class Parser:
    """Parses layer lists against the spec's blocks (needed to recognise block calls)."""

    def __init__(self, blocks: dict[str, Block]) -> None:
        self.blocks = blocks

    def nodes(self, value: Any, mark: Mark | None, what: str = "layers") -> tuple[Node, ...]:
        if value is None:
            return ()
        if not isinstance(value, LList):
            raise SpecError(f"{what} must be a list, one layer per item (`- conv: {{out: 64, kernel: 3}}`)", mark)
        return tuple(self.node(item, value.item_marks[i]) for i, item in enumerate(value))

    def node(self, item: Any, mark: Mark | None) -> Node:
        if isinstance(item, str):
            word, raw = item, None
        elif isinstance(item, LMap) and len(item) == 1:
            word, raw = next(iter(item.items()))
            mark = _where(item, word, value=False)
        elif isinstance(item, LMap) and item:
            keys = list(item)
            known = [k for k in keys if k in SPELLINGS or k in CONSTRUCTS or k in self.blocks]
            hint = (
                f": indent the options under '{known[0]}:' (e.g. `- {known[0]}: {{...}}`)"
                if len(known) == 1
                else ": write one layer per list item"
            )
            raise SpecError(
                f"a layer is a mapping with exactly one key, its kind; found {', '.join(map(str, keys))}{hint}", mark
            )
        else:
            raise SpecError("a layer is a kind name (`- relu`) or a mapping `- conv: {out: 64, kernel: 3}`", mark)
        mark = mark or Mark(1, 1)
        value_mark = _where(item, word) if isinstance(item, LMap) else mark
        if word == "residual":
            return self.residual(raw, mark, value_mark)
        if word == "scale":
            return self.scale(raw, mark, value_mark)
        if word == "split":
            return self.split(raw, mark, value_mark)
        if word == "from":
            if not isinstance(raw, str) or not raw:
                raise SpecError(f"from takes the name of an earlier layer (`from: stage3`), got {raw!r}", value_mark)
            return From(raw, None, None, value_mark or mark)
        if word in JOINS:
            return self.join(word, raw, mark, value_mark)
        if word == "repeat":
            return self.repeat(raw, mark, value_mark)
        if isinstance(word, str) and word in self.blocks:
            return self.call(self.blocks[word], raw, mark, value_mark)
        if not isinstance(word, str) or word not in SPELLINGS:
            choices = [*SPELLINGS, *CONSTRUCTS, *self.blocks]
            raise SpecError(f"unknown layer kind '{word}'{suggest(word, choices)}", mark)
        return parse_layer(word, raw, mark, value_mark)

    def residual(self, raw: Any, mark: Mark, value_mark: Mark | None) -> Residual:
        if isinstance(raw, LList):  # shorthand: the body alone, identity shortcut
            return Residual(self.nodes(raw, value_mark, "residual body"), None, None, None, mark)
        if not isinstance(raw, LMap) or "body" not in raw:
            raise SpecError("residual needs a body: `residual: {body: [...], shortcut: [...]}`", value_mark)
        _check_keys(raw, ("body", "shortcut", "name", "expect"), "residual")
        name, expect = _common(raw, "residual")
        body = self.nodes(raw["body"], _where(raw, "body"), "residual body")
        shortcut = (
            self.nodes(raw["shortcut"], _where(raw, "shortcut"), "residual shortcut") if "shortcut" in raw else None
        )
        return Residual(body, shortcut or None, name, expect, mark)

    def scale(self, raw: Any, mark: Mark, value_mark: Mark | None) -> Residual:
        if isinstance(raw, LList):  # shorthand: the gate's layers
            return Residual(self.nodes(raw, value_mark, "scale body"), None, None, None, mark, "scale")
        if not isinstance(raw, LMap) or "body" not in raw:
            raise SpecError(
                "scale needs a body, the layers computing the gate: `scale: [global_pool, ...]` or "
                "`scale: {body: [...]}`",
                value_mark,
            )
        _check_keys(raw, ("body", "name", "expect"), "scale")
        name, expect = _common(raw, "scale")
        return Residual(self.nodes(raw["body"], _where(raw, "body"), "scale body"), None, name, expect, mark, "scale")

    def split(self, raw: Any, mark: Mark, value_mark: Mark | None) -> Split:
        usage = (
            "split takes its branches, one per part of the channels: `split: [[], [...]]` (equal parts) or "
            "`split: {sizes: [58, 58], branches: [[], [...]]}`"
        )
        if isinstance(raw, LList):
            return Split(None, self.branches("split", raw, value_mark), None, None, mark)
        if not isinstance(raw, LMap) or "branches" not in raw:
            raise SpecError(usage, value_mark)
        _check_keys(raw, ("branches", "sizes", "parts", "name", "expect"), "split")
        name, expect = _common(raw, "split")
        branches = self.branches("split", raw["branches"], _where(raw, "branches"))
        sizes = None
        if "sizes" in raw:
            sizes = raw["sizes"]
            if (
                not isinstance(sizes, LList)
                or not all(isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= MAX_INT for v in sizes)
                or len(sizes) != len(branches)
            ):
                raise SpecError(
                    f"split sizes must be a list of {len(branches)} channel counts, one per branch, got {sizes!r}",
                    _where(raw, "sizes"),
                )
            sizes = tuple(sizes)
        if "parts" in raw and raw["parts"] != len(branches):
            raise SpecError(
                f"split parts is {raw['parts']!r} but there are {len(branches)} branches: give one branch per part "
                "(`[]` for a part kept as it is)",
                _where(raw, "parts"),
            )
        return Split(sizes, branches, name, expect, mark)

    def join(self, op: str, raw: Any, mark: Mark, value_mark: Mark | None) -> Branches | Skip:
        usage = f"{op} takes a list of branches (`{op}: [[...], [...]]`), `{{branches: [...]}}` or `{{with: NAME}}`"
        if isinstance(raw, LList):
            return Branches(op, self.branches(op, raw, value_mark), None, None, mark)
        if not isinstance(raw, LMap) or ("branches" in raw) == ("with" in raw):
            raise SpecError(usage, value_mark)
        name, expect = _common(raw, op)
        if "branches" in raw:
            _check_keys(raw, ("branches", "name", "expect"), op)
            return Branches(op, self.branches(op, raw["branches"], _where(raw, "branches")), name, expect, mark)
        _check_keys(raw, ("with", "fit", "through", "name", "expect"), op)
        target = raw["with"]
        if not isinstance(target, str) or not target:
            raise SpecError(f"{op} with must name an earlier layer, got {target!r}", _where(raw, "with"))
        fit = raw.get("fit")
        if fit is not None and (not isinstance(fit, str) or fit not in FITS):
            raise SpecError(f"fit must be crop or pad, got {fit!r}", _where(raw, "fit"))
        through = self.nodes(raw.get("through"), _where(raw, "through"), f"{op} through")
        return Skip(op, target, fit, through, name, expect, mark, _where(raw, "with") or mark)

    def branches(self, op: str, raw: Any, mark: Mark | None) -> tuple[tuple[Node, ...], ...]:
        if not isinstance(raw, LList) or not raw:
            raise SpecError(f"{op} branches must be a non-empty list of layer lists (`[]` is the identity)", mark)
        out = []
        for i, branch in enumerate(raw):
            if not isinstance(branch, LList):
                raise SpecError(f"{op} branch {i} must be a list of layers (`[]` for the identity)", raw.item_marks[i])
            out.append(self.nodes(branch, raw.item_marks[i], f"{op} branch"))
        return tuple(out)

    def repeat(self, raw: Any, mark: Mark, value_mark: Mark | None) -> Repeat:
        if not isinstance(raw, LMap) or "times" not in raw or "layers" not in raw:
            raise SpecError("repeat needs times and layers: `repeat: {times: 3, layers: [...]}`", value_mark)
        _check_keys(raw, ("times", "layers", "name", "expect"), "repeat")
        times = raw["times"]
        if not isinstance(times, int) or isinstance(times, bool) or not 0 <= times <= MAX_REPEAT:
            raise SpecError(
                f"repeat times must be a whole number from 0 to {MAX_REPEAT:,}, got {times!r}", _where(raw, "times")
            )
        name, expect = _common(raw, "repeat")
        return Repeat(times, self.nodes(raw["layers"], _where(raw, "layers"), "repeat layers"), name, expect, mark)

    def call(self, block: Block, raw: Any, mark: Mark, value_mark: Mark | None) -> Call:
        if raw is not None and not isinstance(raw, LMap):
            raise SpecError(
                f"the arguments of block {block.name} must be a mapping such as {{{', '.join(block.args)}}}", value_mark
            )
        args: dict[str, Any] = {}
        for key, value in (raw or {}).items():
            if key in ("name", "expect"):
                continue
            if key not in block.args:
                listing = ", ".join(block.args) or "none"
                raise SpecError(
                    f"block {block.name} has no argument '{key}'{suggest(key, block.args) or f' (its arguments: {listing})'}",
                    _where(raw, key, value=False),
                )
            args[key] = value
        name, expect = _common(raw, f"block {block.name}")
        return Call(block, args, name, expect, mark)


def parse_layer(spelling: str, raw: Any, mark: Mark, value_mark: Mark | None) -> Layer:
    kind, preset = SPELLINGS[spelling]
    if raw is not None and not isinstance(raw, LMap):
        example = f"{{{kind.example.partition('{')[2]}" if "{" in kind.example else "{name: ..., expect: ...}"
        raise SpecError(f"the options of {spelling} must be a mapping such as {example}", value_mark)
    options = parse_options(kind, spelling, preset, raw, mark)
    name, expect = _common(raw, spelling)
    allow_inexact = False
    if isinstance(raw, LMap) and "allow_inexact" in raw:
        allow_inexact = raw["allow_inexact"]
        if not isinstance(allow_inexact, bool):
            raise SpecError(f"allow_inexact must be true or false, got {allow_inexact!r}", _where(raw, "allow_inexact"))
    return Layer(kind, spelling, options, name, expect, allow_inexact, mark)


RESERVED_ARGS = ("name", "expect")


def parse_blocks(value: Any, mark: Mark | None) -> dict[str, Block]:
    if not isinstance(value, LMap):
        raise SpecError("blocks must be a mapping of block names to {args: {...}, layers: [...]}", mark)
    blocks = {}
    for name, body in value.items():
        where = _where(value, name, value=False) or Mark(1, 1)
        if not isinstance(name, str) or not NAME.fullmatch(name):
            raise SpecError(f"a block name must be a word of ASCII letters, digits, _ and -, got {name!r}", where)
        if name in SPELLINGS or name in CONSTRUCTS:
            raise SpecError(f"block name '{name}' is already a layer kind: choose another name", where)
        if not isinstance(body, LMap) or "layers" not in body:
            raise SpecError(
                f"block {name} needs layers: `{name}: {{args: {{...}}, layers: [...]}}`", _where(value, name)
            )
        _check_keys(body, ("args", "layers", "description"), f"block {name}")
        args = body.get("args") or {}
        if not isinstance(args, LMap) and args != {}:
            raise SpecError(
                f"the args of block {name} must be a mapping of names to default values", _where(body, "args")
            )
        for arg in args:
            if not isinstance(arg, str) or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", arg) or arg in RESERVED_ARGS:
                raise SpecError(f"block {name} cannot have an argument named {arg!r}", _where(args, arg, value=False))
        if not isinstance(body["layers"], LList):
            raise SpecError(f"the layers of block {name} must be a list", _where(body, "layers"))
        blocks[name] = Block(name, dict(args), body["layers"], where)
    return blocks


def parse_args(value: Any, mark: Mark | None, settings: Mapping[str, Any]) -> dict[str, Any]:
    """The spec's ``args:`` with ``settings`` (``--set name=value``, or the API's ``set=``) applied.

    A setting names an argument the spec declares; its value takes the default's type: a number
    for a number (text is read as a whole or decimal number, exactly as written), true or false
    for a flag, any text for text.  A wrong name or value is an error without a position (it is
    the command line's), which lists what the spec takes.
    """
    if value is None and not settings:
        return {}
    if value is not None and not isinstance(value, LMap):
        raise SpecError("args must be a mapping of names to default values: `args: {width: 1.0}`", mark)
    args: dict[str, Any] = {}
    for name, default in (value or {}).items():
        where = _where(value, name, value=False)
        if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name) or name in RESERVED_ARGS + ("in_channels",):
            raise SpecError(f"the spec cannot have an argument named {name!r}", where)
        if default is None or isinstance(default, (list, dict)) or too_large(default):
            raise SpecError(f"argument {name}'s default must be a number (at most {LIMIT_TEXT}), true/false or text, "
                            f"got {_show_default(default)}", _where(value, name))
        args[name] = default
    for name, given in settings.items():
        if name not in args:
            known = f"its args: {', '.join(args)}" if args else "it declares none: a top-level `args:` does"
            raise SpecError(f"--set {visible(name)}: the spec has no argument '{visible(name)}' ({known}){suggest(name, args)}")
        args[name] = _setting(name, given, args[name])
    return args


def _show_default(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:39] + "…"


def _setting(name: str, given: Any, default: Any) -> Any:
    """``given`` as the type of ``default`` (see :func:`parse_args`)."""
    kind = "true or false" if isinstance(default, bool) else "a number" if isinstance(default, (int, float)) else "text"
    if isinstance(given, str) and kind == "a number":
        text = given.strip().replace("_", "")
        if re.fullmatch(r"[-+]?[0-9]{1,30}", text):
            return int(text)
        if re.fullmatch(r"[-+]?[0-9]{0,30}\.[0-9]{1,15}", text):
            return float(text)  # at most 15 decimals: the float's repr is the decimal written, read exactly
    elif isinstance(given, str) and kind == "true or false" and given.strip() in ("true", "false"):
        return given.strip() == "true"
    elif isinstance(given, str) and kind == "text":
        return given
    elif not isinstance(given, str) and (kind == "a number") == (isinstance(given, (int, float)) and not isinstance(given, bool)) \
            and (kind != "true or false" or isinstance(given, bool)) and not too_large(given):
        return given
    raise SpecError(f"--set {name}={visible(str(given))[:40]}: {name} is {kind} (its default is {default!r})")


def parse_spec(data: Any, *, references: bool = True, settings: Mapping[str, Any] | None = None) -> Spec:
    """Validate a loaded document and build the :class:`Spec`.

    ``references=False`` says the text holds no ``$`` at all, so the top-level layers need no
    search for a stray block reference (a walk of every node of a 10⁵-layer spec).
    """

    if data is None:
        raise SpecError("the spec is empty: it needs at least `input:` and `layers:`", Mark(1, 1))
    if not isinstance(data, LMap):
        raise SpecError("a spec is a mapping with `input:` and `layers:` at the top", mark_of(data, Mark(1, 1)))
    for key in data:
        if key not in TOP_KEYS:
            raise SpecError(f"unknown top-level key '{key}'{suggest(key, TOP_KEYS)}", _where(data, key, value=False))
    version = data.get("convcalc", FORMAT_VERSION)
    if version != FORMAT_VERSION or isinstance(version, bool):
        raise SpecError(
            f"this convcalc reads format version {FORMAT_VERSION}, not {version!r}", _where(data, "convcalc")
        )
    for key in ("name", "description"):
        if key in data and not isinstance(data[key], str):
            raise SpecError(f"{key} must be text, got {data[key]!r}", _where(data, key))
    if "args" in data and not isinstance(data["args"], LMap):
        raise SpecError("args must be a mapping of names to default values: `args: {width: 1.0}`", _where(data, "args"))
    args = parse_args(data.get("args"), _where(data, "args"), settings or {})
    if args:  # the spec's arguments reach every value but the blocks' (a call passes them on) and args'
        for key in data:
            if key not in ("args", "blocks", "convcalc"):
                data[key] = substitute(data[key], args, _where(data, key))
        references = False
    shape = parse_shape(data["input"], _where(data, "input")) if "input" in data else None
    dtype = data.get("dtype", "float32")
    if not isinstance(dtype, str) or dtype not in DTYPE_BYTES:
        raise SpecError(
            f"dtype must be one of {', '.join(DTYPE_BYTES)}, got {dtype!r}{suggest(dtype, DTYPE_BYTES)}",
            _where(data, "dtype"),
        )
    batch = data.get("batch", 1)
    if not isinstance(batch, int) or isinstance(batch, bool) or batch < 1:
        raise SpecError(f"batch must be a positive whole number, got {batch!r}", _where(data, "batch"))
    blocks = parse_blocks(data["blocks"], _where(data, "blocks")) if "blocks" in data else {}
    if "layers" not in data:
        raise SpecError("the spec has no `layers:` list", data.mark)
    raw_layers = data["layers"]
    if references:  # a `$` out of a block is an error, which substituting with no arguments finds
        raw_layers = substitute(raw_layers, {}, _where(data, "layers"))
    layers = Parser(blocks).nodes(raw_layers, _where(data, "layers"))
    expect = parse_expect(data["expect"], _where(data, "expect"), top=True) if "expect" in data else None
    outputs: list[tuple[str, Mark]] = []
    if "outputs" in data:
        raw = data["outputs"]
        if not isinstance(raw, LList) or not raw or not all(isinstance(v, str) and v for v in raw):
            raise SpecError("outputs must be a list of layer names: `outputs: [p3, p4, p5]`", _where(data, "outputs"))
        outputs = [(name, raw.item_marks[i] or Mark(1, 1)) for i, name in enumerate(raw)]
    return Spec(
        version,
        data.get("name"),
        data.get("description"),
        shape,
        _where(data, "input"),
        dtype,
        batch,
        layers,
        expect,
        data.mark,
        blocks,
        tuple(outputs),
        args or None,
    )


def load_spec(text: str | bytes, settings: Mapping[str, Any] | None = None) -> Spec:
    references = "$" in text if isinstance(text, str) else b"$" in text
    return parse_spec(load(text), references=references, settings=settings)

"""Export a spec as code for a framework: ``convcalc export SPEC --to torch``.

The result is one self-contained Python file that imports only torch and defines an
``nn.Module`` implementing the spec.  Nothing here knows what a kind is in PyTorch: every leaf
layer becomes the modules its kind's ``torch(options, input)`` names (several become an
``nn.Sequential``), and every shape, path name and figure comes from :func:`evaluate`.

How the file is built, from the report alone (no second walk of the spec):

* The spec is evaluated first; an invalid spec raises :class:`SpecError`, as for ``show``.
* Each row of the report is one statement of ``forward``, in order, with its output shape as a
  comment.  The report's dataflow (``Report.steps``: which earlier rows each row reads, and a
  skip's fit) says what every statement reads, so blocks, repeats, residuals, branches and
  skips come out already expanded, exactly as the evaluator walked them.
* A leaf row's modules are its kind's ``torch(options, input)``, registered under the row's
  path in nested ``nn.ModuleDict``s, so the state dict's keys are convcalc's row names
  (``layer1.0.basic1.residual1.body.conv1.weight``).
* The running tensor stays in ``x``; a value still needed later is kept in a named variable
  (``identity``, ``enc1``) and freed when dead, so forward holds no more tensors than it must.

torch is never imported here; the generated text is checked against torch by the tests.
"""

from __future__ import annotations

import builtins
import keyword
import math
import re
from collections.abc import Sequence
from typing import Any

from . import __version__
from .evaluate import Group, Report, Row, evaluate
from .kinds import TorchModule
from .shapes import Shape
from .spec import Layer, Spec

TARGETS = ("torch",)

# Attributes of nn.Module and nn.ModuleDict (torch 2.x) that a submodule's key must not shadow;
# keys starting with "_" are escaped too, since torch keeps its internals there.  An escaped key
# gets a trailing "_" (or a "layer" prefix); the comments and paths in forward show the original.
TORCH_ATTRIBUTES = frozenset(
    """
    T_destination add_module apply bfloat16 buffers call_super_init children clear compile cpu cuda double
    dump_patches eval extra_repr float forward get_buffer get_extra_state get_parameter get_submodule half ipu
    items keys load_state_dict modules mtia named_buffers named_children named_modules named_parameters
    parameters pop register_backward_hook register_buffer register_forward_hook register_forward_pre_hook
    register_full_backward_hook register_full_backward_pre_hook register_load_state_dict_post_hook
    register_load_state_dict_pre_hook register_module register_parameter register_state_dict_post_hook
    register_state_dict_pre_hook requires_grad_ set_extra_state set_submodule share_memory state_dict to to_empty
    train training type update values xpu zero_grad
    """.split()  # noqa: SIM905 (a word list reads better than 60 quoted names)
)
LOCALS = frozenset({"x", "m", "self", "torch", "nn"})  # names forward uses for itself
BUILTINS = frozenset(dir(builtins))  # not shadowed, though forward uses none of them

# torch's own defaults, omitted from the generated constructors for readability (never for a
# ConstantPadNd, whose padding is required; stride only for convolutions, as a pool's default is
# its kernel).  Per-axis values that are all equal become one number.
DEFAULTS: dict[str, Any] = {
    "padding": 0,
    "dilation": 1,
    "groups": 1,
    "bias": True,
    "output_padding": 0,
    "ceil_mode": False,
}
CONV_DEFAULTS: dict[str, Any] = {**DEFAULTS, "stride": 1}
PER_AXIS = ("kernel_size", "stride", "padding", "dilation", "output_padding")
# The order of torch's signatures, for arguments the kinds give in another order.
ORDER = ("in_channels", "out_channels", "kernel_size", "stride", "padding", "output_padding", "dilation", "groups")
COMMENT_COLUMN = 64


class ExportError(Exception):
    """The exporter's own inconsistency with the evaluator (a bug, never the user's spec)."""


def class_name(name: str | None) -> str:
    """``ResNet-18`` → ``ResNet18``, ``Inception (3a), naive`` → ``Inception3aNaive``; ``Net`` by default."""
    parts = re.findall(r"[^\W_]+", name or "")
    text = "".join(p[0].upper() + p[1:] for p in parts)
    if not text or not text.isidentifier() or keyword.iskeyword(text):
        text = f"Net{text}" if text and f"Net{text}".isidentifier() else "Net"
    return text


def one_line(text: str) -> str:
    """Text that is safe inside a ``#`` comment: no line breaks or other control characters."""
    return re.sub(r"[\x00-\x1f\x7f\x85\u2028\u2029]+", " ", text).strip()


def literal(value: Any) -> str:
    """A Python literal for a module argument (``float("-inf")`` for the max pool's padding)."""
    if isinstance(value, bool) or value is None or isinstance(value, (int, str)):
        return repr(value)
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else f'float("{value}")'
    if isinstance(value, tuple):
        items = ", ".join(literal(v) for v in value)
        return f"({items},)" if len(value) == 1 else f"({items})"
    if isinstance(value, list):
        return "[" + ", ".join(literal(v) for v in value) + "]"
    raise ExportError(f"cannot write {value!r} as a module argument")


def _same(value: Any, default: Any) -> bool:
    values = value if isinstance(value, tuple) else (value,)
    return all(type(v) is type(default) and v == default for v in values)


def module_code(module: TorchModule) -> str:
    """``("Conv2d", {...})`` → ``nn.Conv2d(in_channels=3, out_channels=64, kernel_size=3, padding=1)``."""
    cls, kwargs = module
    defaults = CONV_DEFAULTS if cls.startswith("Conv") else DEFAULTS
    args = []
    for key in sorted(kwargs, key=lambda k: ORDER.index(k) if k in ORDER else len(ORDER)):
        value = kwargs[key]
        if not cls.startswith("ConstantPad"):
            if key in defaults and _same(value, defaults[key]):
                continue
            if key in PER_AXIS and isinstance(value, tuple) and value and len(set(value)) == 1:
                value = value[0]
        args.append(f"{key}={literal(value)}")
    return f"nn.{cls}({', '.join(args)})"


def torch_dims(shape: Shape, batch: int) -> tuple[int, ...]:
    """Channels-last without the batch → torch's (N, C, *spatial)."""
    return (batch, shape.channels, *shape.spatial)


def axes(shape: Shape) -> str:
    """torch's names for a tensor of this shape: ``(N, C, H, W)``."""
    return "(" + ", ".join(("N", "C", *{0: (), 1: ("L",), 2: ("H", "W"), 3: ("D", "H", "W")}[shape.rank])) + ")"


class Emitter:
    """Writes ``__init__`` and ``forward`` from the report's rows and dataflow (``Report.steps``).

    Each row is one statement.  The running tensor stays in ``x``; a value that a later row
    still needs when ``x`` moves on is first copied to a named variable (``identity`` for a
    residual's input, the producing block's name for a skip's target), and a branch, a shortcut
    and a skip's ``through`` layers run in variables of their own.  Variables are reused once
    their value is dead, so forward holds no more tensors than the network needs.
    """

    def __init__(self, report: Report) -> None:
        self.report = report
        self.rows = report.rows
        self.steps = report.steps
        if len(self.steps) != len(self.rows):
            raise ExportError("the report has no dataflow (steps) for its rows")
        n = len(self.rows)
        self.consumers: dict[int, list[int]] = {}  # value (row number, 0 the input) → rows that read it
        for i, step in enumerate(self.steps, 1):
            for a in dict.fromkeys(step.inputs):
                self.consumers.setdefault(a, []).append(i)
        self.consumers.setdefault(report.result, []).append(n + 1)  # the return
        self.firsts: dict[int, str] = {}  # row number → the kind of part it starts (branch, shortcut)
        self.ending: dict[int, str] = {}  # row number → the outermost group that ends with it
        self.residuals: dict[int, Group] = {}  # value → the outermost residual that starts right after it
        for g in sorted(report.groups, key=lambda g: -g.depth):
            if g.kind == "residual":
                self.residuals[g.start] = g
            if g.end > g.start:
                last = g.path.rpartition(".")[2]
                if (g.kind, last == "shortcut" or last.isdigit()) in (("branch", True), ("shortcut", True)):
                    self.firsts[g.start + 1] = g.kind
                self.ending[g.end] = g.path
        self.init: list[str] = []
        self.forward: list[str] = []
        self.keys: dict[str, str] = {}  # a module's path → its escaped key path
        self.children: dict[str, set[str]] = {}  # escaped parent path → keys taken there
        self.var: dict[int, str] = {0: "x"}  # value → the variable holding it now
        self.holds: dict[str, int] = {"x": 0}  # variable → the value it holds
        self.saved: set[str] = set()  # variables that keep a value for later rows (never written over)
        self.taken: set[str] = set(LOCALS)
        self.free: dict[str, list[str]] = {}  # dead variables, by hint, for reuse
        self.hints: dict[str, str] = {}  # variable → the hint it was made for

    # --- names ----------------------------------------------------------------------------

    def key_path(self, path: str) -> str:
        """The escaped ModuleDict path of ``path``, reserving every level on first use."""
        found = self.keys.get(path)
        if found is not None:
            return found
        parent, _, last = path.rpartition(".")
        prefix = self.key_path(parent) if parent else ""
        taken = self.children.setdefault(prefix, set())
        key = last
        if key.startswith("_"):
            key = f"layer{key}"
        while key in TORCH_ATTRIBUTES or key in taken:
            key += "_"
        taken.add(key)
        self.keys[path] = f"{prefix}.{key}" if prefix else key
        return self.keys[path]

    def variable(self, hint: str) -> str:
        """A variable for ``hint``: a dead one of that hint, or a name never used before."""
        pool = self.free.get(hint)
        if pool:
            return pool.pop()
        base = re.sub(r"\W", "_", hint)
        if not base or base[0].isdigit():
            base = f"_{base}"
        if keyword.iskeyword(base) or base in BUILTINS:
            base += "_"
        name, n = base, 1
        while name in self.taken:
            n += 1
            name = f"{base}_{n}" if base[-1].isdigit() else f"{base}{n}"
        self.taken.add(name)
        self.hints[name] = hint
        return name

    def free_variable(self, var: str) -> None:
        self.free.setdefault(self.hints[var], []).append(var)

    def later(self, value: int, i: int) -> list[int]:
        """The rows after row ``i`` that read ``value`` (n + 1 is the return)."""
        return [c for c in self.consumers.get(value, ()) if c > i]

    def shape(self, value: int) -> Shape:
        return self.rows[value - 1].output if value else self.report.input

    def name(self, value: int) -> str:
        return self.rows[value - 1].name if value else "the input"

    def emit(self, code: str, comment: str = "") -> None:
        if comment:
            code = f"{code.ljust(COMMENT_COLUMN - 8)}  # {one_line(comment)}"
        self.forward.append(code)

    # --- values and variables -------------------------------------------------------------

    def save(self, value: int, i: int) -> None:
        """``value`` is still needed after row ``i`` overwrites its variable: keep it in another."""
        users = self.later(value, i)
        residual = self.residuals.get(value)
        if residual is not None and all(residual.start < u <= residual.end for u in users):
            hint = "identity"
            names = [f"the shortcut of {residual.path}"]
        else:
            hint = self.ending.get(value, self.rows[value - 1].name if value else "inputs")
            hint = hint.replace(".", "_").replace("-", "_")
            names = [self.name(u) if u <= len(self.rows) else "the output" for u in users]
        keep = self.variable(hint)
        shown = ", ".join(names[:3]) + (", …" if len(names) > 3 else "")
        self.emit(f"{keep} = {self.var[value]}", f"kept for {shown}")
        self.var[value] = keep
        self.holds[keep] = value
        self.saved.add(keep)

    def writable(self, var: str, i: int) -> bool:
        """Whether row ``i`` may write ``var``: a working variable whose value dies at ``i``."""
        held = self.holds.get(var)
        return var not in self.saved and (held is None or self.var.get(held) != var or not self.later(held, i))

    def assign(self, i: int, var: str) -> None:
        held = self.holds.get(var)
        if held is not None and self.var.get(held) == var and self.later(held, i):
            raise ExportError(f"{self.name(i)}: would overwrite {self.name(held)}, still needed")
        self.var[i] = var
        self.holds[var] = i

    def release(self, inputs: Sequence[int], i: int) -> None:
        """Free the variables of values that no row after ``i`` reads."""
        for a in dict.fromkeys(inputs):
            var = self.var.get(a)
            if var is None or var == "x" or self.later(a, i) or self.holds.get(var) != a:
                continue
            del self.holds[var]
            self.saved.discard(var)
            self.free_variable(var)

    def target(self, i: int, first: int, hint: str | None = None) -> str:
        """The variable row ``i`` writes, continuing from its first input's where possible."""
        if hint is not None:
            return self.variable(hint)
        var = self.var[first]
        if var in self.saved:
            return self.variable("y")
        if self.later(first, i):
            self.save(first, i)
        return var

    # --- rows -----------------------------------------------------------------------------

    def emit_all(self) -> str:
        for i, (row, step) in enumerate(zip(self.rows, self.steps), 1):
            if step.layer is None:
                self.join(i, row, step.inputs, step.fit)
            else:
                self.leaf(i, row, step.layer, step.inputs)
        return self.var[self.report.result]

    def leaf(self, i: int, row: Row, layer: Layer, inputs: Sequence[int]) -> None:
        (a,) = inputs
        if self.shape(a) != row.input:
            raise ExportError(f"{row.name}: reads {self.name(a)} of {self.shape(a)}, but its input is {row.input}")
        modules = layer.kind.torch(layer.options, row.input)
        key = self.key_path(row.name)
        what = re.sub(" +", " ", one_line(f"{row.kind} {row.summary}"))
        if len(modules) == 1:
            self.init.append(f'add("{key}", {module_code(modules[0])})  # {what}')
        else:
            inner = "".join(f"\n    {module_code(m)}," for m in modules)
            self.init.append(f'add("{key}", nn.Sequential(  # {what}{inner}\n))')
        hint = self.firsts.get(i)
        if hint is None and a != i - 1:  # reads an earlier tensor: a skip's `through` layers
            hint = "lateral"
        src = self.var[a]
        out = self.target(i, a, hint)
        note = "".join(f"; {f.axis}: {f.exact_text} → {f.used} ({f.severity})" for f in row.flags)
        self.emit(f'{out} = m("{key}")({src})', f"→ {row.output}{note}")
        self.assign(i, out)
        self.release(inputs, i)

    def join(self, i: int, row: Row, inputs: Sequence[int], fit: str | None) -> None:
        if len(inputs) != len(row.inputs):
            raise ExportError(f"{row.name}: joins {len(inputs)} tensors, but lists {len(row.inputs)} shapes")
        srcs = [self.var[a] for a in inputs]
        fitted: list[str] = []  # the fit's temporaries, dead after this row
        # a skip's fit: the earlier tensor (second) centre-cropped, or the current one (first) padded
        for k, (a, want) in enumerate(zip(inputs, row.inputs)):
            have = self.shape(a)
            if have == want:
                continue
            if have.channels != want.channels or have.rank != want.rank:
                raise ExportError(f"{row.name}: cannot fit {have} to {want}")
            in_place = inputs.count(a) == 1 and not self.later(a, i) and self.writable(srcs[k], i)
            if k == 1 and fit == "crop":
                var = srcs[k] if in_place else self.variable("cropped")
                cuts = [f"{(n - t) // 2}:{(n - t) // 2 + t}" for n, t in zip(have.spatial, want.spatial)]
                self.emit(f"{var} = {srcs[k]}[:, :, {', '.join(cuts)}]", f"{self.name(a)}, centre-cropped to {want}")
            elif k == 0 and fit == "pad":
                var = srcs[k] if in_place else self.variable("padded")
                pads: list[int] = []
                for n, t in reversed(list(zip(want.spatial, have.spatial))):  # F.pad: the last axis first
                    pads += [(n - t) // 2, (n - t) - (n - t) // 2]
                self.emit(f"{var} = nn.functional.pad({srcs[k]}, {literal(tuple(pads))})", f"padded to {want}")
            else:
                raise ExportError(f"{row.name}: input {k} is {have}, joined as {want}, and fit is {fit}")
            if var != srcs[k]:
                fitted.append(var)
            srcs[k] = var
        if row.kind == "concat":
            code = f"torch.cat([{', '.join(srcs)}], dim=1)"
        elif row.kind in ("add", "residual"):
            code = " + ".join(srcs)
        else:
            raise ExportError(f"{row.name}: unknown join {row.kind}")
        if self.writable("x", i):
            out = "x"
        elif srcs[0] not in fitted and self.writable(srcs[0], i):
            out = srcs[0]
        else:
            out = self.variable("y")
        self.emit(f"{out} = {code}", f"→ {row.output}  {row.name}")
        self.assign(i, out)
        self.release(inputs, i)
        for var in fitted:
            self.free_variable(var)


def _indent(lines: Sequence[str], depth: int) -> list[str]:
    pad = " " * (4 * depth)
    return [pad + line if line else line for text in lines for line in text.split("\n")]


def export_torch(spec: Spec, source: str | None = None) -> str:
    """The spec as a self-contained PyTorch file (text); raises SpecError for an invalid spec."""
    report = evaluate(spec)
    emitter = Emitter(report)
    out = emitter.emit_all()
    name = class_name(spec.name)
    t = report.totals
    batch = report.batch
    input_dims = torch_dims(report.input, batch)
    output_dims = (batch, *report.output.dims[-1:], *report.output.spatial)
    title = one_line(spec.name or name)
    header = [
        f"# {title}: a PyTorch module generated by convcalc {__version__}",
        f"# (`convcalc export {one_line(source)} --to torch`)." if source else "# (`convcalc export --to torch`).",
        "#",
        "# Shapes in the comments are channels-last, as convcalc prints them (H×W×C); the tensors are",
        "# channels-first, (N, C, H, W).  Figures from convcalc, which torch.utils.flop_counter agrees with:",
        f"#   input    {report.input}  →  tensor {axes(report.input)} = {input_dims}",
        f"#   output   {report.output}  →  tensor {axes(report.output)} = {output_dims}",
        f"#   params   {t.params:,} (trainable)",
        f"#   buffers  {t.buffers:,} (BN running statistics)",
        f"#   MACs     {t.macs:,} (batch {batch})",
        f"#   FLOPs    {t.flops:,} (= 2 × MACs)",
        f"#   layers   {len(report.rows)} rows",
        "# Built for this input size: `padding: same`, crops and skip fits are numbers computed for it.",
    ]
    if spec.dtype != "float32":
        header.append(
            f"# The spec's dtype is {spec.dtype} (its memory figures); the module is built in torch's default."
        )
    flagged = [r for r in report.rows if r.flags]
    if flagged:
        header.append(
            f"# {len(flagged)} layer{'s' if len(flagged) != 1 else ''} with a non-integer size, floored as PyTorch does "
            "(marked in forward; see `convcalc check`)."
        )
    init = [
        "def __init__(self) -> None:",
        "    super().__init__()",
        "    add = self._add",
        *_indent(emitter.init, 1),
    ]
    add_helper = [
        "def _add(self, path: str, module: nn.Module) -> None:",
        '    """Register ``module`` under its convcalc path, one nn.ModuleDict per level."""',
        '    *parents, last = path.split(".")',
        "    parent: nn.Module = self",
        "    for key in parents:",
        "        if key not in dict(parent.named_children()):",
        "            parent.add_module(key, nn.ModuleDict())",
        "        parent = parent.get_submodule(key)",
        "    parent.add_module(last, module)",
    ]
    forward = [
        "def forward(self, x: torch.Tensor) -> torch.Tensor:",
        f"    # x: {axes(report.input)} = {input_dims}, {report.input} channels-last",
        "    m = self.get_submodule",
        *_indent(emitter.forward, 1),
        f"    return {out}",
    ]
    shape_args = ", ".join(str(d) for d in input_dims)
    main = [
        'if __name__ == "__main__":',
        f"    model = {name}().train(False)  # inference mode",
        f"    x = torch.randn({shape_args})  # batch {batch}, {report.input} channels-last",
        "    with torch.no_grad():",
        "        y = model(x)",
        f"    print(tuple(y.shape))  # {output_dims}",
        f'    print(f"params: {{sum(p.numel() for p in model.parameters()):,}}")  # {t.params:,}',
    ]
    lines = [
        *header,
        "",
        "import torch",
        "from torch import nn",
        "",
        "",
        f"class {name}(nn.Module):",
        *_indent(init, 1),
        "",
        *_indent(add_helper, 1),
        "",
        *_indent(forward, 1),
        "",
        "",
        *main,
    ]
    return "\n".join(lines) + "\n"


def run(spec: str, target: str, output: str | None) -> int:
    """``convcalc export``: the exit code (an invalid spec: one error line on standard error, 2)."""
    import sys

    from .errors import ExitCode, SpecError
    from .files import read_source, write_atomically
    from .spec import load_spec

    if target not in TARGETS:
        print(f"convcalc: error: cannot export to {target!r}; choose from {', '.join(TARGETS)}", file=sys.stderr)
        return ExitCode.INVALID
    path = spec
    try:
        path, text = read_source(spec)
        code = export_torch(load_spec(text), source=path)
    except SpecError as err:
        print(err.render(path), file=sys.stderr)
        return ExitCode.INVALID
    if output is None or output == "-":
        sys.stdout.write(code)
        sys.stdout.flush()
        return ExitCode.OK
    try:
        write_atomically(output, code.encode("utf-8"))
    except OSError as err:
        print(f"convcalc: error: cannot write {output}: {err.strerror or err}", file=sys.stderr)
        return ExitCode.INVALID
    return ExitCode.OK

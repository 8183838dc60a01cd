"""Walk a spec with exact arithmetic and build the :class:`Report`.

The walk names every layer (explicit names, else kind plus a running number per kind in its
scope), applies each kind's rule to the current shape, collects flags with their severity,
and checks every ``expect``.  The report holds raw integers and shapes only; renderers
humanise them.  An impossible shape raises :class:`SpecError` at the layer's line.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from fractions import Fraction
from typing import Any

from ..base.record import Record
from ..base.errors import Mark, SpecError
from ..base.text import suggest
from ..model.joins import FITS, Fit, Join, broadcast
from ..model.kinds import Outcome, channel_slice
from ..model.options import LIMIT_TEXT, too_large
from ..model.geometry import LayerError, Shape, axis_names, frac_text
from ..spec.template import substitute
from ..spec.parser import (
    DTYPE_BYTES,
    NETWORK_FIGURES,
    Branches,
    Call,
    Expect,
    From,
    Layer,
    Node,
    Parser,
    Repeat,
    Residual,
    Skip,
    Spec,
    Split,
    parse_shape,
    word_of,
)


class Flag(Record):
    """A non-integer size, attributed to a layer and an axis."""

    layer: str
    axis: str
    exact: Fraction
    used: int
    severity: str
    unread: int
    formula: str
    reason: str
    accepted: bool
    mark: Mark

    def describe(self) -> str:
        note = " (accepted: allow_inexact)" if self.accepted else ""
        return f"{self.layer}: {self.axis}: {self.formula} → PyTorch uses {self.used}; {self.reason}{note}"

    @property
    def exact_text(self) -> str:
        return frac_text(self.exact)


class Row(Record):
    """One leaf layer's figures, for the whole batch."""

    number: int  # 1-based position in the table ("index" in JSON and CSV)
    name: str
    kind: str
    summary: str
    input: Shape
    output: Shape
    params: int
    buffers: int
    macs: int
    flags: tuple[Flag, ...]
    mark: Mark
    depth: int = 0  # how many groups (block calls, repeats, residuals, joins) enclose the row
    inputs: tuple[Shape, ...] = ()  # a join's inputs, every joined shape

    @property
    def flops(self) -> int:
        return 2 * self.macs


class Failure(Record):
    """An ``expect`` that did not hold."""

    message: str
    mark: Mark | None


class Totals(Record):
    params: int
    buffers: int
    macs: int
    flops: int
    activation_bytes: int
    param_bytes: int


class Group(Record):
    """A block call, repeat (and each iteration), residual or join: rows[start:end] belong to it."""

    path: str
    kind: str  # the block's name, "repeat", "iteration", "residual", "scale", "concat", "add" or "mul"
    depth: int
    start: int
    end: int
    input: Shape
    output: Shape


class Output(Record):
    """One of the network's outputs: its name (a row's path, or ``input``), shape and row."""

    name: str
    shape: Shape
    row: int


class Report(Record):
    name: str | None
    description: str | None
    input: Shape
    output: Shape
    batch: int
    dtype: str
    rows: tuple[Row, ...]
    totals: Totals
    flags: tuple[Flag, ...]
    failures: tuple[Failure, ...]
    has_expect: bool
    groups: tuple[Group, ...] = ()
    steps: tuple[Step, ...] = ()  # how each row is computed, for the solver and receptive fields
    result: int = 0  # the row whose output is the network's output (0: the input itself)
    outputs: tuple[Output, ...] = ()  # the network's outputs: `outputs:` in order, else the last row's

    def memory(self, row: Row) -> int:
        """The bytes of a row's output for the whole batch at the spec's dtype (``show --memory``);
        the totals' ``activation_bytes`` is their sum over the rows."""
        return row.output.numel * self.batch * DTYPE_BYTES[self.dtype]

    def failing_flags(self, strict: bool = False) -> tuple[Flag, ...]:
        """The flags that fail a check: unaccepted warnings; with ``strict``, every unaccepted flag."""
        return tuple(f for f in self.flags if not f.accepted and (strict or f.severity == "warning"))

    # --- in Python and notebooks: the renderers are the outputs stage's (DISPLAYS) ---------

    def __repr__(self) -> str:
        t = self.totals
        title = f"{self.name}: " if self.name else ""
        return (
            f"<Report {title}{self.input} → {self.output}, {len(self.rows)} rows, {t.params:,} params, "
            f"{t.macs:,} MACs, {len(self.flags)} flags>"
        )

    def table(self, width: int | None = None) -> str:
        """The text table ``convcalc show`` prints, fitted to ``width`` columns when given."""
        return _display("table")(self, width)  # type: ignore[no-any-return]

    def to_records(self) -> list[dict[str, object]]:
        """One dict per row with the CSV columns (exact integers, shapes as lists, ``memory``)."""
        return _display("records")(self)  # type: ignore[no-any-return]

    def to_pandas(self) -> Any:
        """:meth:`to_records` as a ``pandas.DataFrame`` (pandas is not a dependency of convcalc)."""
        try:
            import pandas  # type: ignore[import-untyped]  # start-up: optional, only for this method
        except ImportError:
            raise ImportError("Report.to_pandas() needs pandas, which convcalc does not install: pip install pandas") from None
        return pandas.DataFrame.from_records(self.to_records())

    def _repr_markdown_(self) -> str:
        return _display("markdown")(self)  # type: ignore[no-any-return]

    def _repr_html_(self) -> str:
        return _display("html")(self)  # type: ignore[no-any-return]


# How a report shows itself (Report.table, to_records, the notebook displays): functions of the
# outputs stage, which comes after this one, registered by convcalc/outputs/notebook.py when it
# is imported (the API's evaluate() does).
DISPLAYS: dict[str, Callable[..., Any]] = {}


def _display(name: str) -> Callable[..., Any]:
    if not DISPLAYS:
        raise RuntimeError("import convcalc.outputs.notebook (convcalc.evaluate() does) to display a report")
    return DISPLAYS[name]


def shape_of(dims: Sequence[int]) -> Shape:
    """``(28, 28, 1)`` → 28×28 spatial, 1 channel; a single number is a flat vector."""
    return Shape((), dims[0]) if len(dims) == 1 else Shape(tuple(dims[:-1]), dims[-1])


def _count(value: Fraction) -> str:
    return f"{int(value):,}" if value.denominator == 1 else f"{float(value):,.6g}"


def check_expect(expect: Expect, output: Shape, figures: dict[str, int], what: str) -> list[Failure]:
    failures = []
    if expect.output is not None and expect.output != output.dims:
        failures.append(Failure(f"{what}output is {output}, expected {shape_of(expect.output)}", expect.output_mark))
    for figure, op, value, mark in expect.figures:
        got = figures[figure]
        if not {"==": got == value, "<=": got <= value, ">=": got >= value}[op]:
            words = {"==": "expected", "<=": "expected at most", ">=": "expected at least"}[op]
            failures.append(Failure(f"{what}{figure} is {got:,}, {words} {_count(value)}", mark))
    return failures


def check_outputs(expect: Expect, outputs: Sequence[Output]) -> list[Failure]:
    """``expect: {outputs: {p3: 80x80x255}}`` against the network's outputs, by name."""
    by_name = {o.name: o.shape for o in outputs}
    failures = []
    for name, dims, mark in expect.outputs:
        got = by_name.get(name)
        if got is None:
            listed = ", ".join(by_name)
            failures.append(Failure(f"expect outputs: '{name}' is not an output (the outputs: {listed})", mark))
        elif got.dims != dims:
            failures.append(Failure(f"output {name} is {got}, expected {shape_of(dims)}", mark))
    return failures


# Budgets, so that a spec of a few bytes cannot cost unbounded time or memory (docs/format.md,
# "Limits"): rows are what a network expands to; steps count every node visited while
# expanding, so repeats and block calls that add no rows still cost their iterations.
INPUT = "input"  # the name with:, like: and outputs use for the network's input tensor (row 0)
MAX_ROWS = 200_000
MAX_STEPS = 1_000_000


def default_names(nodes: Sequence[Node]) -> list[str]:
    """Explicit names, else word + running number per word (counting every node of that word).

    A default name that another node holds explicitly moves on to the next free number, so
    naming a layer ``conv2`` by hand never breaks the unnamed convs around it.
    """
    explicit: dict[str, Mark] = {}
    for node in nodes:
        if node.name is not None:
            if node.name == INPUT:
                raise SpecError(
                    f"'{INPUT}' names the network's input (for with: and like:): give this layer another name",
                    node.mark,
                )
            if node.name in explicit:
                first = explicit[node.name]
                raise SpecError(
                    f"two layers are named '{node.name}' (the first at line {first.line}): rename one", node.mark
                )
            explicit[node.name] = node.mark
    counts: dict[str, int] = {}
    taken = set(explicit)
    names: list[str] = []
    for node in nodes:
        word = word_of(node)
        counts[word] = counts.get(word, 0) + 1
        if node.name is not None:
            names.append(node.name)
            continue
        number = counts[word]
        while f"{word}{number}" in taken:
            number += 1
        names.append(f"{word}{number}")
        taken.add(names[-1])
    return names


class Scope(Record):
    """Where a list of nodes sits: its path prefix and the scope around it (for ``with`` lookups)."""

    prefix: str
    parent: Scope | None
    depth: int

    def path(self, name: str) -> str:
        return f"{self.prefix}.{name}" if self.prefix else name

    def child(self, name: str) -> Scope:
        return Scope(self.path(name), self, self.depth + 1)

    def entered(self, path: str) -> Scope:
        """The scope of the construct at ``path`` (already ``self.path(its name)``)."""
        return Scope(path, self, self.depth + 1)


def _join_error(what: str, a: tuple[str, Shape], b: tuple[str, Shape], need: str) -> str:
    return f"{what}: {a[0]} gives {a[1]} but {b[0]} gives {b[1]}; {need}"


class Step(Record):
    """How one row computes its output: from which earlier rows (0 is the network's input).

    The solver and the receptive-field code replay these steps on one spatial axis.
    """

    layer: Layer | None  # None for a join row
    inputs: tuple[int, ...]  # row numbers of the tensors it reads
    join: Join | None = None  # a join row's operation (None for a layer)

    @property
    def fit(self) -> Fit | None:
        return self.join.fit if self.join is not None else None


class Walk:
    """One evaluation: the rows, groups and named outputs found so far."""

    def __init__(self, spec: Spec, batch: int) -> None:
        self.steps_taken = 0
        self.summaries: dict[int, str] = {}  # id(layer) → its summary (the layers live as long as the walk)
        self.names: dict[int, list[str]] = {}  # id(node list) → its default names
        self.here = Mark(1, 1)  # the last node visited, for a budget error
        self.spec = spec
        self.batch = batch
        self.bytes = DTYPE_BYTES[spec.dtype]
        self.rows: list[Row] = []
        self.groups: list[Group] = []
        self.failures: list[Failure] = []
        self.outputs: dict[str, tuple[Shape, str, int]] = {}  # full path -> (output, its name, its tensor)
        self.steps: list[Step] = []  # one per row
        self.cur = 0  # the tensor the walk is at: a row number, 0 for the network's input
        self.parser = Parser(spec.blocks or {})
        self.expansions: dict[tuple[str, str], tuple[Node, ...]] = {}
        self.calls_seen: dict[tuple[int, int], tuple[Node, ...]] = {}  # (id(call), in_channels) → its body
        self.split_parts: dict[tuple[int, int], list[tuple[Node, ...]]] = {}  # (id(split), channels) → its branches
        self.resolved: dict[tuple[int, tuple[int, ...]], Layer] = {}  # (id(layer), size) → the layer with like: filled
        self.input: Shape | None = None  # the network's input, which `input` names
        self.outcomes: dict[tuple[int, Shape], Outcome] = {}
        self.calls: list[str] = []  # the block calls being expanded, for recursion and error context
        self.checked = False  # whether any expect was met on the way

    def network(self, first: Shape) -> Shape:
        """The spec's layers from its input ``first`` (which ``input`` names)."""
        self.input = first
        return self.nodes(self.spec.layers, first, Scope("", None, 0))

    # --- lists of nodes -------------------------------------------------------------------

    def nodes(self, nodes: Sequence[Node], x: Shape, scope: Scope) -> Shape:
        names = self.names.get(id(nodes))
        if names is None:  # a repeated body is one tuple: name its nodes once
            names = self.names[id(nodes)] = default_names(nodes)
        for node, name in zip(nodes, names):
            x = self.node(node, scope.path(name), x, scope)
        return x

    def part(self, nodes: Sequence[Node], x: Shape, outer: Scope, name: str, kind: str) -> Shape:
        """A residual's body or shortcut, a branch or a repeat iteration: a scope and a group of its own."""
        start = len(self.rows)
        inner = outer.child(name)
        self.spend(None)
        y = self.nodes(nodes, x, inner)
        self.groups.append(Group(inner.prefix, kind, outer.depth, start, len(self.rows), x, y))
        return y

    def node(self, node: Node, path: str, x: Shape, scope: Scope) -> Shape:
        self.spend(node.mark)
        if isinstance(node, Layer):
            return self.leaf(node, path, x, scope)
        start = len(self.rows)
        if isinstance(node, Call):
            y = self.call(node, path, x, scope)
        elif isinstance(node, Repeat):
            y = self.repeat(node, path, x, scope)
        elif isinstance(node, Residual):
            y = self.residual(node, path, x, scope)
        elif isinstance(node, Branches):
            y = self.branches(node, path, x, scope)
        elif isinstance(node, Split):
            y = self.split(node, path, x, scope)
        elif isinstance(node, From):
            y = self.go_from(node, scope)
        else:
            y = self.skip(node, path, x, scope)
        self.groups.append(
            Group(
                path,
                word_of(node) if not isinstance(node, Call) else node.block.name,
                scope.depth,
                start,
                len(self.rows),
                x,
                y,
            )
        )
        self.outputs[path] = (y, path, self.cur)
        if node.expect is not None:
            self.check(node.expect, y, self.rows[start:], f"{path}: ")
        return y

    # --- leaves ---------------------------------------------------------------------------

    def summary(self, layer: Layer) -> str:
        """The layer's table summary, computed once per layer (a repeated block has one Layer)."""
        text = self.summaries.get(id(layer))
        if text is None:
            text = self.summaries[id(layer)] = layer.kind.summary(layer.options)
        return text

    def leaf(self, layer: Layer, path: str, x: Shape, scope: Scope) -> Shape:
        reads: tuple[int, ...] = (self.cur,)
        if layer.kind.like_option is not None and layer.options.get("like") is not None:
            layer, target = self.like(layer, path, x, scope)
            reads = (self.cur, target)  # the target gives its size, never its values
        key = (id(layer), x)
        outcome = self.outcomes.get(key)
        if outcome is None:
            try:
                layer.kind.check_input(x)
                layer.kind.check_options(layer.options, x)
                outcome = layer.kind.apply(layer.options, x)
                if too_large(list(outcome.output.dims)):
                    raise LayerError(f"its output {outcome.output} has a size larger than {LIMIT_TEXT}")
            except LayerError as err:
                raise SpecError(f"{path} ({layer.spelling} on {x}): {err}", layer.mark) from None
            self.outcomes[key] = outcome
        flags: tuple[Flag, ...] = ()
        if outcome.flags:
            axes = axis_names(x.rank)
            flags = tuple(
                Flag(
                    path,
                    axes[f.axis],
                    f.exact,
                    f.used,
                    f.severity,
                    f.unread,
                    f.formula,
                    f.reason,
                    layer.allow_inexact,
                    layer.mark,
                )
                for f in outcome.flags
            )
        row = Row(
            len(self.rows) + 1,
            path,
            layer.kind.name,
            self.summary(layer),
            x,
            outcome.output,
            outcome.params,
            outcome.buffers,
            outcome.macs * self.batch,
            flags,
            layer.mark,
            scope.depth,
        )
        self.add_row(row, Step(layer, reads))
        self.outputs[path] = (outcome.output, path, self.cur)
        if layer.expect is not None:
            self.check(layer.expect, row.output, [row], f"{path}: ")
        return outcome.output

    def like(self, layer: Layer, path: str, x: Shape, scope: Scope) -> tuple[Layer, int]:
        """``like: NAME``: the layer with its size option set to that tensor's spatial sizes (one
        Layer per layer and size, alive for the walk), and the tensor's row."""
        option, name = layer.kind.like_option, layer.options["like"]
        assert option is not None
        where = f"{path} ({layer.spelling} on {x})"
        try:
            layer.kind.check_input(x)
        except LayerError as err:
            raise SpecError(f"{where}: {err}", layer.mark) from None
        if layer.options.get(option) is not None:
            raise SpecError(f"{where}: give {option} or like, not both", layer.mark)
        target, target_path, row = self.require(name, scope, f"{where}: like:", layer.mark)
        if not target.is_map or target.rank != x.rank:
            raise SpecError(
                f"{where}: like: {target_path} is {target}, which has no {x.rank}-D spatial size to take: name a "
                f"map with {x.rank} spatial {'axis' if x.rank == 1 else 'axes'}",
                layer.mark,
            )
        key = (id(layer), target.spatial)
        resolved = self.resolved.get(key)
        if resolved is None:
            options = {**layer.options, "like": None, option: target.spatial}
            resolved = self.resolved[key] = layer._replace(options=options)
            self.summaries[id(resolved)] = f"{layer.kind.summary(options)} (like {name})"
        return resolved, row

    def spend(self, mark: Mark | None) -> None:
        """One step of expansion (a node, a repeat iteration, a branch); refused past the budget."""
        self.steps_taken += 1
        if self.steps_taken > MAX_STEPS:
            raise SpecError(
                f"the spec takes more than {MAX_STEPS:,} steps to expand (convcalc's limit; repeats and block "
                "calls count even when they add no layers): reduce the repeats",
                mark or self.here,
            )
        if mark is not None:
            self.here = mark

    def add_row(self, row: Row, step: Step) -> None:
        if len(self.rows) >= MAX_ROWS:
            raise SpecError(
                f"the network expands to more than {MAX_ROWS:,} layers (convcalc's limit): reduce the repeats", row.mark
            )
        self.rows.append(row)
        self.steps.append(step)
        self.cur = row.number

    def join_row(
        self,
        kind: str,
        path: str,
        x: Shape,
        inputs: tuple[Shape, ...],
        y: Shape,
        mark: Mark,
        scope: Scope,
        sources: tuple[int, ...],
        fit: str | None = None,
        note: str = "",
    ) -> None:
        summary = {"concat": " ‖ ", "mul": " · ", "scale": " · "}.get(kind, " + ").join(str(s) for s in inputs) + note
        row = Row(len(self.rows) + 1, path, kind, summary, x, y, 0, 0, 0, (), mark, scope.depth + 1, inputs)
        self.add_row(row, Step(None, sources, Join(kind, FITS[fit] if fit else None)))

    # --- constructs -----------------------------------------------------------------------

    def call(self, call: Call, path: str, x: Shape, scope: Scope) -> Shape:
        block = call.block
        if block.name in self.calls:
            cycle = " → ".join([*self.calls[self.calls.index(block.name) :], block.name])
            raise SpecError(f"block {block.name} uses itself ({cycle}): a block cannot contain itself", call.mark)
        self.calls.append(block.name)
        try:
            body = self.expand(call, x)
            return self.nodes(body, x, scope.entered(path))
        except SpecError as err:
            if err.mark is not None and err.mark != call.mark:
                err = err.within(block.name, call.mark.line)
            raise err from None
        finally:
            self.calls.pop()

    def expand(self, call: Call, x: Shape) -> tuple[Node, ...]:
        """The block's layers with the call's arguments: parsed once per distinct set of values.

        ``$in_channels`` is the channel count of the block's input unless the block declares an
        argument of that name; the spec's own ``args:`` are seen too, unless the block's shadow them.
        """
        known = self.calls_seen.get((id(call), x.channels))  # a repeated call: the same values again
        if known is not None:
            return known
        values = {"in_channels": x.channels, **(self.spec.args or {}), **call.block.args, **call.args}
        key = (call.block.name, repr(sorted(values.items())))
        body = self.expansions.get(key)
        if body is None:
            body = self.parser.nodes(substitute(call.block.layers, values, call.block.mark), call.block.mark)
            self.expansions[key] = body
        self.calls_seen[(id(call), x.channels)] = body
        return body

    def repeat(self, node: Repeat, path: str, x: Shape, scope: Scope) -> Shape:
        inner = scope.entered(path)
        for i in range(node.times):
            x = self.part(node.body, x, inner, str(i), "iteration")
        return x

    def residual(self, node: Residual, path: str, x: Shape, scope: Scope) -> Shape:
        if node.op == "scale":
            return self.gate(node, path, x, scope)
        inner = scope.entered(path)
        source, before = self.cur, len(self.rows)
        body = self.part(node.body, x, inner, "body", "body")
        body_end, body_id = (self.rows[-1].name if len(self.rows) > before else "the empty body"), self.cur
        self.cur = source
        if node.shortcut is not None:
            before = len(self.rows)
            short = self.part(node.shortcut, x, inner, "shortcut", "shortcut")
            short_end = self.rows[-1].name if len(self.rows) > before else "the empty shortcut"
        else:
            short, short_end = x, "the identity shortcut"
        short_id = self.cur
        if body != short:
            raise SpecError(
                _join_error(
                    path,
                    (body_end, body),
                    (short_end, short),
                    "a residual adds them, so they must "
                    "match: change the body's stride or channels, or give a shortcut that matches",
                ),
                node.mark,
            )
        self.join_row("residual", path, x, (body, short), body, node.mark, scope, (body_id, short_id))
        return body

    def gate(self, node: Residual, path: str, x: Shape, scope: Scope) -> Shape:
        """``scale``: the body computes a gate from x (1×…×1×C for squeeze-excitation) and x · gate
        is the output, so the gate must broadcast to x's shape."""
        inner = scope.entered(path)
        source, before = self.cur, len(self.rows)
        gate = self.part(node.body, x, inner, "body", "body")
        gate_end = self.rows[-1].name if len(self.rows) > before else "the empty body"
        if gate.rank != x.rank or gate.tokens != x.tokens or broadcast([gate.dims, x.dims]) != x.dims:
            ones = "×".join(["1"] * x.rank + [str(x.channels)])
            raise SpecError(
                f"{path}: the gate {gate_end} gives {gate} but scale multiplies its input {x} by it: the gate "
                f"must have {x.channels} channels and each spatial size 1 or the input's (a squeeze-excitation "
                f"gate is {ones})",
                node.mark,
            )
        self.join_row("scale", path, x, (x, gate), x, node.mark, scope, (source, self.cur))
        return x

    def branches(self, node: Branches, path: str, x: Shape, scope: Scope) -> Shape:
        inner = scope.entered(path)
        ends: list[tuple[str, Shape]] = []
        source, ids = self.cur, []
        for i, branch in enumerate(node.branches):
            self.cur, before = source, len(self.rows)
            y = self.part(branch, x, inner, str(i), "branch")
            ends.append((self.rows[-1].name if len(self.rows) > before else f"{path}.{i} (identity)", y))
            ids.append(self.cur)
        out = self.joined(node.op, path, ends, node.mark)
        self.join_row(node.op, path, x, tuple(y for _, y in ends), out, node.mark, scope, tuple(ids))
        return out

    def go_from(self, node: From, scope: Scope) -> Shape:
        """``from: NAME``: the walk goes on from that tensor (a head off the trunk)."""
        shape, _, row = self.require(node.target, scope, "from:", node.mark)
        self.cur = row
        return shape

    def split(self, node: Split, path: str, x: Shape, scope: Scope) -> Shape:
        """Each branch reads its part of the channels (a ``channel_slice`` row first); the
        branches' outputs are concatenated, as ShuffleNet's units do."""
        parts = self.split_parts.get((id(node), x.channels))
        if parts is None:
            parts = self.split_parts[(id(node), x.channels)] = self.split_branches(node, x, path)
        inner = scope.entered(path)
        ends: list[tuple[str, Shape]] = []
        source, ids = self.cur, []
        for i, branch in enumerate(parts):
            self.cur = source
            y = self.part(branch, x, inner, str(i), "branch")
            ends.append((self.rows[-1].name, y))
            ids.append(self.cur)
        out = self.joined("concat", path, ends, node.mark)
        self.join_row("concat", path, x, tuple(y for _, y in ends), out, node.mark, scope, tuple(ids))
        return out

    def split_branches(self, node: Split, x: Shape, path: str) -> list[tuple[Node, ...]]:
        """The branches with their channel slices in front (built once per split and channel count)."""
        n = len(node.branches)
        if node.sizes is None:
            if x.channels % n:
                raise SpecError(
                    f"{path}: {x.channels} channels do not split into {n} equal parts: give sizes: [...] "
                    f"(summing to {x.channels})",
                    node.mark,
                )
            sizes = (x.channels // n,) * n
        elif sum(node.sizes) != x.channels:
            raise SpecError(
                f"{path}: split sizes {list(node.sizes)} add up to {sum(node.sizes)}, but the input {x} has "
                f"{x.channels} channels",
                node.mark,
            )
        else:
            sizes = node.sizes
        parts, start = [], 0
        for size, branch in zip(sizes, node.branches):
            kind, options = channel_slice(start, start + size)
            piece = Layer(kind, kind.name, options, None, None, False, node.mark)
            parts.append((piece, *branch))
            start += size
        return parts

    def skip(self, node: Skip, path: str, x: Shape, scope: Scope) -> Shape:
        found = self.require(node.target, scope, f"{node.op} with", node.target_mark)
        other, other_path, other_id = found
        original = other
        previous = self.rows[-1].name if self.rows else "the input"
        current_id = self.cur
        inner = scope.entered(path)
        if node.through:
            self.cur, before = other_id, len(self.rows)
            other = self.nodes(node.through, other, inner)
            if len(self.rows) > before:
                other_path = f"{found[1]} through {self.rows[-1].name}"
            other_id = self.cur
        current = x
        if node.fit is not None and other.rank == current.rank and other.is_map and current.is_map:
            fit = FITS[node.fit]
            ends = [current, other]
            target = fit.target([s.spatial for s in ends])
            if not all(fit.possible(h, t) for h, t in zip(ends[fit.changed].spatial, target)):
                problem = fit.refusal([f"the current {current}", f"{other_path}'s {other}"])
                raise SpecError(f"{path}: fit: {fit.name} {problem}", node.mark)
            ends[fit.changed] = Shape(target, ends[fit.changed].channels)
            current, other = ends
        out = self.joined(node.op, path, [(previous, current), (other_path, other)], node.mark)
        note = f" (with {found[1]}" + (f" {original}, fit: {node.fit}" if node.fit else "") + ")"
        self.join_row(node.op, path, x, (current, other), out, node.mark, scope, (current_id, other_id), node.fit, note)
        return out

    def hint(self, target: str) -> str:
        """``; did you mean 'stem'?`` among the names computed so far (short names and paths)."""
        return suggest(target, [p.rpartition(".")[2] for p in self.outputs] + list(self.outputs))

    def require(self, target: str, scope: Scope, what: str, mark: Mark) -> tuple[Shape, str, int]:
        """:meth:`lookup`, or the located error ``add with 'stme': no earlier layer has that name …``."""
        found = self.lookup(target, scope)
        if found is None:
            raise SpecError(
                f"{what} '{target}': no earlier layer has that name here or in an enclosing scope{self.hint(target)}",
                mark,
            )
        return found

    def lookup(self, target: str, scope: Scope | None) -> tuple[Shape, str, int] | None:
        """The innermost enclosing scope first, then outward; a full path always works; ``input``
        is the network's input."""
        if target == INPUT and self.input is not None:
            return self.input, INPUT, 0
        while scope is not None:
            found = self.outputs.get(scope.path(target))
            if found is not None:
                return found
            scope = scope.parent
        return self.outputs.get(target)

    def joined(self, op: str, path: str, ends: list[tuple[str, Shape]], mark: Mark) -> Shape:
        first = ends[0]
        for other in ends[1:]:
            if other[1].tokens != first[1].tokens:
                raise SpecError(
                    _join_error(path, first, other, f"{op} cannot join a token sequence with a map or a vector"),
                    mark,
                )
        if op == "mul":
            out = broadcast([y.dims for _, y in ends]) if len({y.rank for _, y in ends}) == 1 else None
            if out is None:
                other = next(e for e in ends[1:] if broadcast([first[1].dims, e[1].dims]) is None or e[1].rank != first[1].rank)
                raise SpecError(
                    _join_error(path, first, other, "mul needs sizes that are equal or 1 (broadcast, as in PyTorch)"),
                    mark,
                )
            return first[1]._replace(spatial=out[:-1], channels=out[-1])
        for other in ends[1:]:
            if op == "add" and other[1] != first[1]:
                raise SpecError(_join_error(path, first, other, "add needs identical shapes"), mark)
            if op == "concat" and other[1].spatial != first[1].spatial:
                raise SpecError(
                    _join_error(
                        path,
                        first,
                        other,
                        "concat needs the same spatial size (use fit: crop or "
                        "fit: pad on a skip, or change a stride or padding)",
                    ),
                    mark,
                )
        if op == "add":
            return first[1]
        return first[1]._replace(channels=sum(y.channels for _, y in ends))

    def network_outputs(self, spec: Spec, x: Shape) -> tuple[Output, ...]:
        """``outputs: [...]`` looked up from the top scope (names or full paths), else the last tensor."""
        if not spec.outputs:
            name = self.rows[self.cur - 1].name if self.cur else INPUT
            return (Output(name, x, self.cur),)
        found = []
        for name, mark in spec.outputs:
            hit = self.lookup(name, None)
            if hit is None:
                raise SpecError(
                    f"outputs: no layer is named '{name}' (give its name or its full path, as in the "
                    f"table){self.hint(name)}",
                    mark,
                )
            found.append(Output(name, hit[0], hit[2]))
        return tuple(found)

    # --- expectations ---------------------------------------------------------------------

    def check(self, expect: Expect, output: Shape, rows: Sequence[Row], what: str) -> None:
        self.checked = True
        figures = {
            "params": sum(r.params for r in rows),
            "buffers": sum(r.buffers for r in rows),
            "macs": sum(r.macs for r in rows),
            "flops": sum(r.flops for r in rows),
            "activation_bytes": sum(r.output.numel for r in rows) * self.batch * self.bytes,
            "param_bytes": sum(r.params for r in rows) * self.bytes,
        }
        self.failures += check_expect(expect, output, figures, what)


def channels_first_hint(dims: Sequence[int]) -> str | None:
    """A note for an input written as PyTorch orders it, channels first (``[3, 32, 32]``): a
    first number that is a usual channel count (1 to 4) before spatial sizes that are not."""
    if len(dims) < 3 or dims[0] > 4 or min(dims[1:]) < 8:
        return None
    axes = ("D", "H", "W")[3 - (len(dims) - 1):]
    reading = ", ".join(f"{a}={n}" for a, n in zip((*axes, "C"), dims))
    swapped = "x".join(map(str, (*dims[1:], dims[0])))
    return (
        f"note: input {'x'.join(map(str, dims))} is read channels last ({'×'.join((*axes, 'C'))}): {reading}; "
        f"PyTorch's ({', '.join(('C', *axes))}) = ({', '.join(map(str, dims))}) is input: {swapped}"
    )


RANK_WORDS = ("a flat vector (C)", "1-D (L×C)", "2-D (H×W×C)", "3-D (D×H×W×C)")


def input_override(
    spec: Spec, input: Sequence[int] | str | None, rank: int | None, option: tuple[str, str] = ("--input", "--rank")
) -> tuple[int, ...] | None:
    """``input`` (``"256x256x3"`` or a tuple) as dims, checked against the spec's rank: an input
    of another rank is an error unless ``rank`` (spatial axes) says so, since ``--input 64x64``
    on a 2-D spec would otherwise quietly make it 1-D.  ``option`` names the two arguments in
    errors (the command line's ``--input`` and ``--rank``, the API's ``input=`` and ``rank=``)."""
    if input is None:
        if rank is not None:
            raise SpecError(f"{option[1]} changes the rank of an input given with {option[0]}: give both", None)
        return None
    dims = parse_shape(input, None, option[0]) if isinstance(input, str) else tuple(input)
    given = "x".join(map(str, dims))
    if rank is not None and len(dims) - 1 != rank:
        raise SpecError(f"{option[0]} {given} is {RANK_WORDS[len(dims) - 1]}, not {RANK_WORDS[rank]}", None)
    if rank is None and spec.input is not None and len(dims) != len(spec.input):
        raise SpecError(
            f"{option[0]} {given} is {RANK_WORDS[len(dims) - 1]}, but the spec's input "
            f"{'x'.join(map(str, spec.input))} is {RANK_WORDS[len(spec.input) - 1]}: give a shape of that "
            f"rank, or {option[1]} {len(dims) - 1} to change it on purpose",
            None,
        )
    return dims


def evaluate(spec: Spec, input: Sequence[int] | str | None = None, batch: int | None = None) -> Report:
    """Evaluate ``spec`` for its own input, or for ``input`` (``"256x256x3"`` or a tuple) if given,
    of any rank (:func:`input_override` checks a user's input against the spec's rank)."""
    if input is not None:
        dims = parse_shape(input, None, "--input") if isinstance(input, str) else tuple(input)
    elif spec.input is not None:
        dims = spec.input
    else:
        raise SpecError("the spec has no input: add `input: 224x224x3` (H×W×C) or pass --input", spec.mark)
    walk = Walk(spec, batch or spec.batch)
    first = shape_of(dims)
    try:
        x = walk.network(first)
        outputs = walk.network_outputs(spec, x)
    except SpecError as err:
        if walk.rows:  # the rows up to the failing layer, for a table and for check (err.partial)
            err.partial = assemble(spec, walk, first, walk.rows[-1].output, (), list(walk.failures))
        raise
    x, walk.cur = outputs[-1].shape, outputs[-1].row
    failures = walk.failures
    report = assemble(spec, walk, first, x, outputs, failures)
    return report


def assemble(spec: Spec, walk: Walk, first: Shape, x: Shape, outputs: Sequence[Output], failures: list[Failure]) -> Report:
    """The report of ``walk`` so far: totals, the top-level expect, flags and groups."""
    rows = walk.rows
    params = sum(r.params for r in rows)
    macs = sum(r.macs for r in rows)
    totals = Totals(
        params,
        sum(r.buffers for r in rows),
        macs,
        2 * macs,
        sum(r.output.numel for r in rows) * walk.batch * walk.bytes,
        params * walk.bytes,
    )
    whole: tuple[tuple[str, str, Fraction, Mark], ...] = ()
    if spec.expect is not None and outputs:  # a partial report (no outputs) checks no top-level expect
        whole = tuple(f for f in spec.expect.figures if f[0] in NETWORK_FIGURES)
        plain = spec.expect._replace(figures=tuple(f for f in spec.expect.figures if f[0] not in NETWORK_FIGURES))
        failures += check_expect(plain, x, {f: getattr(totals, f) for f in Totals._fields}, "")
        failures += check_outputs(spec.expect, outputs)
    flags = tuple(f for r in rows for f in r.flags)
    groups = tuple(sorted(walk.groups, key=lambda g: (g.start, g.depth)))
    has_expect = spec.expect is not None or walk.checked
    report = Report(
        spec.name,
        spec.description,
        first,
        x,
        walk.batch,
        spec.dtype,
        tuple(rows),
        totals,
        flags,
        tuple(failures),
        has_expect,
        groups,
        tuple(walk.steps),
        walk.cur,
        tuple(outputs),
    )
    if whole:
        failures += check_expect(Expect(None, None, whole), x, network_figures(report, {f[0] for f in whole}), "")
        report = report._replace(failures=tuple(failures))
    return report


def network_figures(report: Report, names: set[str]) -> dict[str, int]:
    """The figures of :data:`NETWORK_FIGURES` in ``names``, each computed by its own pass."""
    figures = {}
    if "peak_activation_bytes" in names:
        from .peak import inference_peak  # start-up: only for an expect on the inference peak

        figures["peak_activation_bytes"] = inference_peak(report).bytes
    if "training_peak_bytes" in names:
        from .training import training  # start-up: only for an expect on a training figure

        figures["training_peak_bytes"] = training(report).peak_bytes
    return figures


def refuse_without_torch(report: Report, what: str) -> None:
    """A located SpecError at the first layer with no PyTorch equivalent (an imported opaque
    layer): ``what`` says what cannot be done through it."""
    for row, step in zip(report.rows, report.steps):
        if step.layer is not None and not step.layer.kind.has_torch:
            raise SpecError(f"{row.name}: {row.kind} has no PyTorch equivalent, so {what}", row.mark)


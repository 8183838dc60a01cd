"""``convcalc import model.onnx``: an ONNX graph read back into a spec a person could have written.

The graph is untrusted input: it is read from bytes already in memory (never its external data,
which may point anywhere), after a size check, and every way it can be malformed is one
:class:`SpecError`.  The reading goes in four steps:

1. **Units.**  The nodes that compute on the network's data (not on constants) are grouped by
   the module scope the exporter wrote in their names (``/layer1/layer1.0/act/Mul``), so that a
   module that exports as several nodes (SiLU as Sigmoid and Mul, GELU as Erf and friends,
   GroupNorm as InstanceNormalization between Reshapes) is one unit with one data input; a
   group that is not that is split back into its nodes.  Constant sub-graphs (a Pad's pads,
   Resize's scales) are evaluated by ONNX's reference evaluator when a unit needs their value.
2. **Kinds.**  Each unit maps to one kind (:data:`OPS` and :func:`_layer`); anything else is
   collected, so that an unsupported model gets one error listing every op type, its count and
   its nodes.
3. **Structure.**  The walk goes back from the output along the dominator tree of the data
   tensors: a unit with one input is a layer; a join (Add, Concat, Mul) gets its branches from the
   tensor that dominates it, so an Add becomes a ``residual`` (identity shortcut when one side
   is the fork itself), a Concat a ``concat``, a gate (x · f(x)) a ``scale``; a skip whose
   branch holds joins of its own (U-Net) is written flat with ``concat: {with: NAME}``.
4. **Folding.**  conv → batch norm → activation become one layer (``bn: true, act: …``), and
   runs of identical layers or blocks become ``repeat``.
"""

from __future__ import annotations

import io
import re
from collections import Counter
from collections.abc import Sequence
from typing import Any

from ..base.errors import SpecError
from ..base.record import Record
from ..base.text import visible

MOST_BYTES = 1 << 30  # an ONNX file past 1 GiB is refused before it is parsed
MOST_NODES = 200_000
OLDEST_OPSET = 11
EXPORTER_NAMES = ("", "main_graph", "torch_jit", "torch-jit-export")  # graph names that say nothing
ACTIVATIONS = {"Relu": "relu", "Sigmoid": "sigmoid", "Tanh": "tanh", "HardSwish": "hardswish",
               "HardSigmoid": "hardsigmoid", "Gelu": "gelu", "LeakyRelu": "leaky_relu"}
POOLS = {"MaxPool": "max", "AveragePool": "avg"}
GLOBAL_POOLS = {"GlobalAveragePool": "avg", "GlobalMaxPool": "max"}
JOINS = ("Add", "Sum", "Concat", "Mul")
PASS = ("Identity",)  # nodes that change nothing
SHAPE_OPS = ("Shape", "Size")  # nodes that read only their input's shape


class Unit(Record):
    """Nodes of one module call: one data input (or several, for a join) and one output."""

    nodes: tuple[Any, ...]  # onnx NodeProto, in graph order
    inputs: tuple[str, ...]  # the data tensors it reads
    output: str


class Imported(Record):
    text: str  # the spec (before annotation)
    notes: tuple[str, ...]  # what the reader wants to know, such as batch norms the exporter folded


def _onnx() -> Any:
    try:
        import onnx  # start-up: only `convcalc import` reads ONNX (the `onnx` extra)
    except ImportError as err:
        raise SpecError("import needs the onnx package: pip install 'convcalc[onnx]'") from err
    return onnx


def read_model(data: bytes) -> Any:
    """The model in ``data``, shape-inferred; SpecError for anything that is not a usable ONNX model."""
    onnx = _onnx()
    if len(data) > MOST_BYTES:
        raise SpecError(f"the file is {len(data):,} bytes, more than the {MOST_BYTES:,} convcalc imports")
    try:
        model = onnx.load(io.BytesIO(data), load_external_data=False)
    except Exception as err:  # protobuf's DecodeError and friends: the bytes are not a model
        raise SpecError(f"not an ONNX model: {_first_line(err) or 'protobuf could not parse it'}") from None
    graph = model.graph
    if not graph.node or not graph.output:
        raise SpecError("not an ONNX model, or an empty one: its graph has no nodes or no outputs")
    if len(graph.node) > MOST_NODES:
        raise SpecError(f"the graph has {len(graph.node):,} nodes, more than the {MOST_NODES:,} convcalc imports")
    for t in graph.initializer:  # a weight's values are never read, only its dims: inference runs on a lighter graph
        if len(t.raw_data) > 4096 or len(t.float_data) > 1024:
            t.ClearField("raw_data")
            t.ClearField("float_data")
    opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 0)
    if opset < OLDEST_OPSET:
        raise SpecError(f"the model is opset {opset}: convcalc imports opset {OLDEST_OPSET} and newer "
                        "(export it again with a newer opset_version)")
    return model


def _first_line(err: BaseException) -> str:
    return visible(str(err).strip().splitlines()[0] if str(err).strip() else "")


def infer(model: Any, input_shape: Sequence[int] | None) -> Any:
    """The model with every tensor's shape, the input's dynamic sizes fixed first."""
    onnx = _onnx()
    graph = model.graph
    initializers = {t.name for t in graph.initializer}
    inputs = [i for i in graph.input if i.name not in initializers]
    if len(inputs) != 1:
        raise SpecError(f"the model has {len(inputs)} inputs ({', '.join(visible(i.name) for i in inputs)}): "
                        "convcalc imports a network with one")
    dims = inputs[0].type.tensor_type.shape.dim
    if len(dims) < 2:
        raise SpecError(f"the input has {len(dims)} dimensions: convcalc imports N×C×… inputs")
    if input_shape is not None:
        if len(input_shape) != len(dims) - 1:
            raise SpecError(f"--input has {len(input_shape) - 1} spatial sizes, the model's input {len(dims) - 2}")
        channels, spatial = input_shape[-1], input_shape[:-1]
        for dim, size in zip(dims[1:], (channels, *spatial)):
            if dim.HasField("dim_value") and dim.dim_value != size:
                raise SpecError(f"--input {'x'.join(map(str, input_shape))} does not fit the model's input "
                                f"{_shown_dims(dims)}")
            dim.dim_value = size
    elif any(not d.HasField("dim_value") for d in dims[1:]):
        raise SpecError(f"the input {_shown_dims(dims)} has a dynamic size: give it with --input HxWxC")
    dims[0].dim_value = dims[0].dim_value if dims[0].HasField("dim_value") else 1
    del graph.value_info[:]
    for out in graph.output:  # the exporter's output shapes may be symbolic: inference recomputes them
        out.type.tensor_type.ClearField("shape")
    return _inferred(model)


def _inferred(model: Any) -> Any:
    onnx = _onnx()
    try:
        return onnx.shape_inference.infer_shapes(model, strict_mode=True, data_prop=True)
    except Exception as err:  # InferenceError, ValidationError: a malformed graph
        raise SpecError(f"the ONNX graph is malformed: {_first_line(err)}") from None


MOST_FOLDS = 8  # rounds of constant folding and shape inference


def folded(model: Any) -> Any:
    """The model with its constant sub-graphs evaluated (a pad computed from shapes, say), and
    inferred again, until every shape is known or nothing more folds: ONNX's inference does not
    follow values through such sub-graphs, so a shape after them would stay unknown."""
    from onnx import helper, numpy_helper  # start-up: with onnx

    for _ in range(MOST_FOLDS):
        g = Graph(model)
        if all(o in g.shapes for n in g.nodes for o in n.output if o in g.data):
            return model
        nodes, changed = [], False
        for node in model.graph.node:
            if (node.op_type == "Constant" or any(o in g.data for o in node.output) or not node.output
                    or node.op_type in RANDOM_OPS or _random(g, [i for i in node.input if i])):  # a mask stays a mask
                nodes.append(node)
                continue
            try:
                values = [g.value(o) for o in node.output]
            except SpecError:
                nodes.append(node)
                continue
            nodes += [helper.make_node("Constant", [], [o], name=f"{node.name}/folded{k}", value=numpy_helper.from_array(v))
                      for k, (o, v) in enumerate(zip(node.output, values))]
            changed = True
        if not changed:
            return model
        del model.graph.node[:]
        model.graph.node.extend(nodes)
        model = _inferred(model)
    return model


def _shown_dims(dims: Any) -> str:
    return "×".join(str(d.dim_value) if d.HasField("dim_value") else (visible(d.dim_param) or "?") for d in dims)


class Graph:
    """Lookups over one shape-inferred graph."""

    def __init__(self, model: Any) -> None:
        self.onnx = _onnx()
        graph = model.graph
        self.nodes = list(graph.node)
        self.initializers = {t.name: t for t in graph.initializer}
        self.producer: dict[str, Any] = {}
        for node in graph.node:
            for out in node.output:
                self.producer[out] = node
        self.shapes: dict[str, tuple[int, ...]] = {}
        for info in [*graph.input, *graph.value_info, *graph.output]:
            dims = info.type.tensor_type.shape.dim
            if all(d.HasField("dim_value") for d in dims):
                self.shapes[info.name] = tuple(d.dim_value for d in dims)
        for t in graph.initializer:
            self.shapes[t.name] = tuple(t.dims)
        self.input = next(i.name for i in graph.input if i.name not in self.initializers)
        self.data = {self.input}
        for node in graph.node:  # in graph order, which ONNX requires to be topological
            if node.op_type not in SHAPE_OPS and any(i in self.data for i in node.input if i):
                self.data.update(node.output)  # (a tensor's shape is a constant: every shape is known)
        self.consumers: dict[str, list[Any]] = {}
        for node in graph.node:
            for i in node.input:
                self.consumers.setdefault(i, []).append(node)
        self.outputs = [o.name for o in graph.output]
        self._values: dict[str, Any] = {}

    def shape(self, tensor: str) -> tuple[int, ...]:
        if tensor not in self.shapes:
            raise SpecError(f"the shape of tensor '{visible(tensor)}' is unknown after ONNX's shape inference")
        return self.shapes[tensor]

    def value(self, tensor: str) -> Any:
        """A constant tensor's value (a numpy array), evaluated from its constant sub-graph."""
        if tensor in self._values:
            return self._values[tensor]
        from onnx import numpy_helper  # start-up: with onnx
        from onnx.reference import ReferenceEvaluator  # start-up: with onnx

        if tensor in self.initializers:
            value = numpy_helper.to_array(self.initializers[tensor])
        elif tensor in self.data:
            raise SpecError(f"tensor '{visible(tensor)}' is computed from the input, not a constant")
        elif tensor not in self.producer:
            raise SpecError(f"tensor '{visible(tensor)}' is read but never made")
        else:
            node = self.producer[tensor]
            if node.op_type == "Shape" and node.input[0] in self.data:
                import numpy  # start-up: with onnx, which needs it

                value = numpy.array(self.shape(node.input[0]), dtype=numpy.int64)
            else:
                args = [self.value(i) if i else None for i in node.input]
                try:
                    results = ReferenceEvaluator(node).run(None, dict(zip(node.input, args)))
                except Exception as err:
                    raise SpecError(f"node '{visible(node.name)}' ({visible(node.op_type)}) cannot be evaluated: "
                                    f"{_first_line(err)}") from None
                for name, result in zip(node.output, results):
                    self._values[name] = result
                value = self._values[tensor]
        self._values[tensor] = value
        return value

    def attrs(self, node: Any) -> dict[str, Any]:
        return {a.name: self.onnx.helper.get_attribute_value(a) for a in node.attribute}

    def data_inputs(self, node: Any) -> list[str]:
        return [i for i in node.input if i and i in self.data]


def _scope(node: Any) -> str:
    return node.name.rpartition("/")[0] if node.name.startswith("/") else ""


def units(g: Graph, nodes: Sequence[Any]) -> dict[str, Unit]:
    """Each data tensor's producing unit: runs of data nodes in one module scope with one data
    input and one output used outside become one unit; anything else, a unit per node."""
    data_nodes = [n for n in nodes if any(o in g.data for o in n.output)]
    runs: list[list[Any]] = []
    for node in data_nodes:
        scope = _scope(node)
        if runs and scope and _scope(runs[-1][-1]) == scope:
            runs[-1].append(node)
        else:
            runs.append([node])
    out: dict[str, Unit] = {}
    for run in runs:
        made = {o for n in run for o in n.output}
        inputs = list(dict.fromkeys(i for n in run for i in g.data_inputs(n) if i not in made))
        used = [o for o in made if o in g.data and (o in g.outputs or any(c not in run for c in g.consumers.get(o, [])))]
        if len(run) > 1 and len(inputs) == 1 and len(used) == 1:
            out[used[0]] = Unit(tuple(run), tuple(inputs), used[0])
            continue
        for n in run:
            for o in n.output:
                if o in g.data:
                    out[o] = Unit((n,), tuple(g.data_inputs(n)), o)
    return out


# --- one unit → one layer ----------------------------------------------------------------------

class Unsupported(Exception):
    """A unit convcalc has no kind for: its op types."""

    def __init__(self, ops: str) -> None:
        self.ops = ops


def _per_axis(values: Sequence[int]) -> Any:
    values = [int(v) for v in values]
    return values[0] if len(set(values)) == 1 else values


def _padding(pads: Sequence[int]) -> Any:
    """ONNX pads (all befores, then all afters) as a spec's padding."""
    n = len(pads) // 2
    before, after = [int(p) for p in pads[:n]], [int(p) for p in pads[n:]]
    if before == after:
        return _per_axis(before)
    return [[b, a] for b, a in zip(before, after)]


def _conv(g: Graph, node: Any, transposed: bool) -> dict[str, Any]:
    a = g.attrs(node)
    w = g.shape(node.input[1])
    groups = int(a.get("group", 1))
    out = w[1] * groups if transposed else w[0]
    given = g.shape(node.input[0])[1]
    wanted = w[0] if transposed else w[1] * groups
    if given != wanted:  # ONNX's inference does not check it: the figures would follow the weight, not the input
        raise SpecError(f"the ONNX graph is malformed: {visible(node.op_type)} node '{visible(node.name)}' has a weight "
                        f"for {wanted} input channels, and its input has {given}")
    options: dict[str, Any] = {"out": out, "kernel": _per_axis(a.get("kernel_shape", w[2:]))}
    if a.get("auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET"):
        raise Unsupported(f"{node.op_type} with auto_pad {visible(str(a['auto_pad']))}")
    for key, name, default in (("strides", "stride", 1), ("pads", "padding", 0), ("output_padding", "output_padding", 0),
                               ("dilations", "dilation", 1)):
        if key in a and any(int(v) != default for v in a[key]):
            options[name] = _padding(a[key]) if key == "pads" else _per_axis(a[key])
    if "output_shape" in a:
        raise Unsupported(f"{node.op_type} with output_shape")
    if groups != 1:
        options["groups"] = groups
    if len(node.input) < 3 or not node.input[2]:
        options["bias"] = False
    return {"deconv" if transposed else "conv": options}


RANDOM_OPS = ("Bernoulli", "RandomUniform", "RandomUniformLike", "RandomNormal", "RandomNormalLike")


def _random(g: Graph, tensors: Sequence[str]) -> bool:
    """Whether any of the constant-side ``tensors`` is made from a random op (a dropout mask)."""
    seen: set[str] = set()
    todo = list(tensors)
    while todo:
        t = todo.pop()
        node = g.producer.get(t)
        if node is None or t in seen:
            continue
        seen.add(t)
        if node.op_type in RANDOM_OPS:
            return True
        todo.extend(i for i in node.input if i)
    return False


def _layer(g: Graph, unit: Unit) -> Any:
    """The layer for a unit with one data input."""
    ops = [n.op_type for n in unit.nodes]
    node = unit.nodes[-1]
    if len(ops) > 1:
        kinds = set(ops)
        if kinds == {"Sigmoid", "Mul"}:
            return "silu"
        if "Erf" in kinds and kinds <= {"Div", "Erf", "Add", "Mul"}:
            return "gelu"
        if "InstanceNormalization" in kinds and kinds <= {"Reshape", "InstanceNormalization", "Shape", "Mul", "Add"}:
            first = next(n for n in unit.nodes if n.op_type == "Reshape")
            groups = int(g.value(first.input[1])[1])
            return {"groupnorm": {"groups": groups}}
        data = [n for n in unit.nodes if n.op_type not in PASS]
        if len(data) == 1:
            return _layer(g, Unit((data[0],), unit.inputs, unit.output))
        raise Unsupported(" → ".join(ops))
    op = ops[0]
    a = g.attrs(node)
    if op == "Conv":
        return _conv(g, node, transposed=False)
    if op == "ConvTranspose":
        return _conv(g, node, transposed=True)
    if op == "BatchNormalization":
        return "batchnorm"
    if op in ACTIVATIONS:
        kind = ACTIVATIONS[op]
        if op == "LeakyRelu" and abs(float(a.get("alpha", 0.01)) - 0.01) > 1e-9:
            return {kind: {"negative_slope": round(float(a["alpha"]), 6)}}
        return kind
    if op == "Clip":
        low, high = (float(g.value(node.input[k])) if len(node.input) > k and node.input[k] else a.get(key)
                     for k, key in ((1, "min"), (2, "max")))
        if (low, high) == (0.0, 6.0):
            return "relu6"
        raise Unsupported(f"Clip to [{low}, {high}]")
    if op in ("Mul", "Div") and _random(g, [i for i in node.input if i and i not in g.data]):
        return "drop_path"  # training-mode stochastic depth: x times a random mask (its rate is not in the graph's shapes)
    if op == "Softmax":
        return "softmax"
    if op in POOLS:
        options: dict[str, Any] = {"kernel": _per_axis(a["kernel_shape"])}
        strides = a.get("strides", [1] * len(a["kernel_shape"]))
        if list(strides) != list(a["kernel_shape"]):
            options["stride"] = _per_axis(strides)
        if any(a.get("pads", [])):
            options["padding"] = _padding(a["pads"])
        if any(int(d) != 1 for d in a.get("dilations", [])):
            options["dilation"] = _per_axis(a["dilations"])
        if a.get("ceil_mode", 0):
            options["ceil_mode"] = True
        return {"maxpool" if POOLS[op] == "max" else "avgpool": options}
    if op in GLOBAL_POOLS:
        return "global_pool" if GLOBAL_POOLS[op] == "avg" else {"global_pool": {"mode": "max"}}
    if op == "Flatten":
        if int(a.get("axis", 1)) != 1:
            raise Unsupported(f"Flatten on axis {a['axis']}")
        return "flatten"
    if op == "Reshape":
        out = g.shape(unit.output)
        if len(out) == 2:
            return "flatten"
        raise Unsupported("Reshape (other than a flatten)")
    if op == "Gemm":
        if not a.get("transB", 0) or a.get("transA", 0):
            raise Unsupported("Gemm without transB")
        options = {"out": g.shape(node.input[1])[0]}
        if len(node.input) < 3 or not node.input[2]:
            options["bias"] = False
        return {"dense": options}
    if op == "Dropout":
        rate = float(g.value(node.input[1])) if len(node.input) > 1 and node.input[1] else float(a.get("ratio", 0.5))
        return {"dropout": {"rate": round(rate, 6)}}
    if op == "Pad":
        mode = a.get("mode", b"constant")
        if mode not in (b"constant", "constant"):
            raise Unsupported(f"Pad in mode {visible(str(mode))}")
        pads = [int(p) for p in g.value(node.input[1])]
        n = len(pads) // 2
        if any(pads[:2]) or any(pads[n:n + 2]):
            raise Unsupported("Pad of the batch or channel axis")
        return {"pad": {"padding": _padding(pads[2:n] + pads[n + 2:])}}
    if op == "Resize":
        size = list(g.shape(unit.output)[2:])
        mode = a.get("mode", b"nearest")
        mode = mode.decode() if isinstance(mode, bytes) else str(mode)
        spatial = len(size)
        named = {"nearest": "nearest", "linear": {1: "linear", 2: "bilinear", 3: "trilinear"}.get(spatial, "linear"),
                 "cubic": "bicubic"}[mode]
        options = {"size": _per_axis(size)}
        if named != "nearest":
            options["mode"] = named
        return {"upsample": options}
    if op == "Slice":  # a centre crop (U-Net's skips), and nothing else
        whole, out = g.shape(node.input[0]), g.shape(unit.output)
        starts = [int(v) for v in g.value(node.input[1])]
        axes = [int(v) % len(whole) for v in g.value(node.input[3])] if len(node.input) > 3 and node.input[3] \
            else list(range(len(starts)))
        steps = [int(v) for v in g.value(node.input[4])] if len(node.input) > 4 and node.input[4] else [1] * len(axes)
        centred = all(axis >= 2 and step == 1 and start % whole[axis] == (whole[axis] - out[axis]) // 2
                      for axis, start, step in zip(axes, starts, steps))
        if not centred or out[:2] != whole[:2]:
            raise Unsupported("Slice (other than a centre crop of the spatial axes)")
        return {"crop": {"to": _per_axis(out[2:])}}
    if op == "DepthToSpace":
        if a.get("mode", b"DCR") not in (b"CRD", "CRD"):
            raise Unsupported("DepthToSpace in DCR mode")
        return {"pixel_shuffle": {"factor": int(a["blocksize"])}}
    raise Unsupported(op)


# --- the structure: layers, joins, folds and repeats ------------------------------------------

class Item:
    """One entry of a layer list: a kind or construct (``value``, nested lists holding Items)."""

    def __init__(self, value: Any, name: str | None = None) -> None:
        self.value = value
        self.name = name
        self.target = False  # another layer joins with this one's output (`with:`): keep its name

    @property
    def kind(self) -> str:
        return self.value if isinstance(self.value, str) else next(iter(self.value))

    @property
    def options(self) -> dict[str, Any]:
        return {} if isinstance(self.value, str) else self.value[self.kind]


def _sanitised(text: str) -> str | None:
    name = re.sub(r"[^A-Za-z0-9_\-]+", "_", text).strip("_")
    if not name:
        return None
    return name if re.match(r"[A-Za-z_]", name) else f"n{name}"


def _name_of(g: Graph, unit: Unit) -> str | None:
    """The module's own name, as the exporter left it: the last word of its weight's path
    (``layer1.0.conv1.weight`` → conv1), else of the node's scope (``/layer1/layer1.0/relu_1/Relu``
    → relu, the exporter's counter of reused modules dropped)."""
    for node in unit.nodes:
        for i in node.input[1:]:
            if i in g.initializers and i.endswith(".weight"):
                return _last_word(i[: -len(".weight")])
    scope = _scope(unit.nodes[-1]).rpartition("/")[2]
    return _last_word(re.sub(r"_[0-9]+$", "", scope)) if scope else None


def _last_word(path: str) -> str | None:
    words = [w for w in path.split(".") if w and not w.isdigit()]
    return _sanitised(words[-1]) if words else None


class Reader:
    def __init__(self, g: Graph) -> None:
        self.g = g
        self.units = units(g, g.nodes)
        self.idom: dict[str, str | None] = {g.input: None}
        self.depth: dict[str, int] = {g.input: 0}
        for out, unit in self.units.items():  # in graph order: a unit's inputs come before it
            missing = [i for i in unit.inputs if i not in self.idom]
            if missing:
                raise SpecError(f"tensor '{visible(missing[0])}' is read before it is made: the graph is not in order")
            fork = self._common(unit.inputs)
            self.idom[out] = fork
            self.depth[out] = self.depth[fork] + 1
        self.unsupported: dict[str, list[str]] = {}
        self.by_tensor: dict[str, Item] = {}

    def _common(self, tensors: Sequence[str]) -> str:
        """The nearest tensor that dominates all of ``tensors`` (their fork)."""
        a = tensors[0]
        for b in tensors[1:]:
            while a != b:
                if self.depth[a] >= self.depth[b]:
                    a = self.idom[a] or self.g.input
                else:
                    b = self.idom[b] or self.g.input
        return a

    def chain(self, start: str, end: str) -> list[Item]:
        items: list[Item] = []
        t = end
        while t != start:
            unit = self.units.get(t)
            if unit is None:
                raise SpecError(f"tensor '{visible(t)}' has no producer convcalc can follow")
            if len(unit.inputs) == 1:
                items.append(self.by_tensor.get(t) or self._item(unit))
                t = unit.inputs[0]
                continue
            fork = self.idom[t] or self.g.input
            branches = [self.chain(fork, i) for i in unit.inputs]
            joined = self._join(unit, branches, fork)
            items.extend(reversed(joined))
            t = fork
        items.reverse()
        return items

    def _item(self, unit: Unit) -> Item:
        try:
            value = _layer(self.g, unit)
        except Unsupported as err:
            self.unsupported.setdefault(err.ops, []).append(unit.nodes[-1].name or unit.output)
            value = {"opaque": {"out": list(self.g.shape(unit.output)[1:])}}
        weighted = any(i in self.g.initializers for n in unit.nodes for i in n.input[1:])
        item = Item(value, _name_of(self.g, unit) if weighted else None)  # a relu's name would only be noise
        self.by_tensor[unit.output] = item
        return item

    def _join(self, unit: Unit, branches: list[list[Item]], fork: str) -> list[Item]:
        node = unit.nodes[-1]
        op = node.op_type
        name = _name_of(self.g, unit)
        if len(unit.nodes) > 1 or op not in JOINS or (op == "Concat" and int(self.g.attrs(node).get("axis", 1)) != 1):
            ops = " → ".join(n.op_type for n in unit.nodes)
            self.unsupported.setdefault(ops, []).append(node.name or unit.output)
            return [Item({"opaque": {"out": list(self.g.shape(unit.output)[1:])}}, name)]
        empty = [not b for b in branches]
        if op == "Mul":
            if len(branches) == 2 and sum(empty) == 1:
                body = branches[0] or branches[1]
                if [i.value for i in body] == ["sigmoid"]:
                    return [Item("silu", name)]
                return [Item({"scale": {"body": body}}, name)]
            self.unsupported.setdefault("Mul of two computed tensors", []).append(node.name or unit.output)
            return [Item({"opaque": {"out": list(self.g.shape(unit.output)[1:])}}, name)]
        deep = [b for b in branches if any(i.kind in ("residual", "concat", "add") for i in b)]
        skip = sum(empty) == 1 and len(branches) == 2 and deep and fork != self.g.input
        kind = "concat" if op == "Concat" else "add"
        if skip:  # a long skip (U-Net): the branch inline, then a join with the fork's layer by name
            target = self._target(fork)
            if target is not None:
                return [*(branches[0] or branches[1]), Item({kind: {"with": target}}, name)]
        if op == "Concat":
            return [Item({"concat": {"branches": branches}}, name)]
        if len(branches) != 2 or all(empty):
            self.unsupported.setdefault(f"{op} of {len(branches)} tensors", []).append(node.name or unit.output)
            return [Item({"opaque": {"out": list(self.g.shape(unit.output)[1:])}}, name)]
        body, shortcut = sorted(branches, key=len, reverse=True)
        return [Item({"residual": {"body": body, **({"shortcut": shortcut} if shortcut else {})}}, name)]

    def _target(self, tensor: str) -> str | None:
        """The name of the layer that makes ``tensor``, made unique; None if it has none yet."""
        unit = self.units.get(tensor)
        if unit is None or len(unit.inputs) != 1:
            return None
        item = self.by_tensor.get(tensor) or self._item(unit)
        self.by_tensor[tensor] = item
        item.target = True
        item.name = item.name or _name_of(self.g, unit) or f"skip{len(self.by_tensor)}"
        return item.name


CONV_KINDS = ("conv", "deconv")
NESTED = ("body", "shortcut", "branches", "layers")  # the options that hold layers
FOLDED_ACTS = ("relu", "relu6", "sigmoid", "tanh", "gelu", "silu", "hardswish", "hardsigmoid")


def fold(items: list[Item]) -> list[Item]:
    """conv → batchnorm → activation as one layer (bn: true, act: …), inside constructs too."""
    out: list[Item] = []
    for item in items:
        for key in ("body", "shortcut", "branches", "layers"):
            if key in item.options and item.kind != "repeat":
                value = item.options[key]
                item.options[key] = [fold(b) for b in value] if key == "branches" else fold(value)
        last = out[-1] if out else None
        if last is not None and last.kind in CONV_KINDS and not last.target:
            options = last.options
            if item.value == "batchnorm" and "bn" not in options and "act" not in options:
                options["bn"] = True
                last.target = item.target
                continue
            if isinstance(item.value, str) and item.value in FOLDED_ACTS and "act" not in options:
                options["act"] = item.value
                last.target = item.target
                continue
        out.append(item)
    return out


def _key(item: Item) -> str:
    """What a layer is, without its name (two layers with one key are the same layer)."""
    import json  # start-up: with the import

    def plain(value: Any) -> Any:
        if isinstance(value, Item):
            return [plain(value.value), value.name if value.target else None]
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items()}
        if isinstance(value, list):
            return [plain(v) for v in value]
        return value

    return json.dumps([plain(item.value), item.name if item.target else None], sort_keys=True)


def _has_with(item: Item) -> bool:
    return "with" in item.options or any(
        _has_with(i) for v in item.options.values() if isinstance(v, list) for b in v
        for i in (b if isinstance(b, list) else [b]) if isinstance(i, Item))


def repeats(items: list[Item]) -> list[Item]:
    """Runs of identical layers as ``repeat`` (inside constructs too): a run must cover three
    layers, or two of a construct, so that two plain convs stay two lines."""
    for item in items:
        for key in ("body", "shortcut", "branches"):
            if key in item.options:
                value = item.options[key]
                item.options[key] = [repeats(b) for b in value] if key == "branches" else repeats(value)
    keys = [_key(i) if not i.target and not _has_with(i) else f"#{n}" for n, i in enumerate(items)]
    out: list[Item] = []
    i = 0
    while i < len(items):
        best_length, best_count = 1, 1
        for length in range(1, (len(items) - i) // 2 + 1):
            count = 1
            while keys[i + count * length: i + (count + 1) * length] == keys[i: i + length]:
                count += 1
            construct = any(isinstance(x.value, dict) and x.kind in ("residual", "concat", "scale")
                            for x in items[i: i + length])
            if count > 1 and (count * length >= 3 or construct) and count * length > best_count * best_length:
                best_length, best_count = length, count
        if best_count > 1:
            layers = [_unnamed(x) for x in items[i: i + best_length]]
            out.append(Item({"repeat": {"times": best_count, "layers": layers}}))
            i += best_count * best_length
        else:
            out.append(items[i])
            i += 1
    return out


def _unnamed(item: Item) -> Item:
    """A repeated layer: its name would be the first iteration's only, so it takes the default."""
    item.name = None
    for value in item.options.values():
        if isinstance(value, list):
            for x in value:
                for y in (x if isinstance(x, list) else [x]):
                    if isinstance(y, Item):
                        _unnamed(y)
    return item


# --- the spec's text -----------------------------------------------------------------------------

def _scalar(value: Any) -> str:
    if value is True or value is False:
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(_scalar(v) for v in value) + "]"
    return str(value)  # kinds and sanitised names: words


def _lines(items: list[Item], indent: int, used: set[str]) -> list[str]:
    pad = " " * indent
    lines: list[str] = []
    for item in items:
        name = item.name if item.name and item.name not in used else None
        if name:
            used.add(name)
        options = {k: v for k, v in item.options.items()}
        nested = {k: v for k, v in options.items() if k in NESTED}
        flat = {k: v for k, v in options.items() if k not in nested}
        if name:
            flat["name"] = name
        if not nested:
            if isinstance(item.value, str) and not name:
                lines.append(f"{pad}- {item.kind}")
            else:
                lines.append(f"{pad}- {item.kind}: {{{', '.join(f'{k}: {_scalar(v)}' for k, v in flat.items())}}}")
            continue
        lines.append(f"{pad}- {item.kind}:")
        for k, v in flat.items():
            lines.append(f"{pad}    {k}: {_scalar(v)}")
        for k, v in nested.items():
            lines.append(f"{pad}    {k}:")
            if k == "branches":
                for branch in v:
                    if branch:
                        lines.append(f"{pad}      -")
                        lines.extend(_lines(branch, indent + 8, set()))
                    else:
                        lines.append(f"{pad}      - []")
            else:
                lines.extend(_lines(v, indent + 6, set()))
    return lines


class Source(Record):
    name: str  # the file (or the module) as the command line named it
    producer: str  # "pytorch 2.13.0"
    opset: int


def import_onnx(data: bytes, source: str, input_shape: Sequence[int] | None = None) -> Imported:
    """The spec for an ONNX model (its bytes); SpecError for a model convcalc cannot read."""
    model = folded(infer(read_model(data), input_shape))
    g = Graph(model)
    if len(g.outputs) != 1:
        raise SpecError(f"the model has {len(g.outputs)} outputs ({', '.join(visible(o) for o in g.outputs)}): "
                        "convcalc imports a network with one, for now")
    reader = Reader(g)
    items = reader.chain(g.input, g.outputs[0])
    ops = Counter(n.op_type for n in g.nodes)
    if reader.unsupported:
        listed = "; ".join(f"{visible(op)} ×{len(names)} ({', '.join(visible(n) for n in names[:3])}"
                           f"{', …' if len(names) > 3 else ''})" for op, names in sorted(reader.unsupported.items()))
        raise SpecError(f"convcalc has no kind for {len(reader.unsupported)} op type(s): {listed}")
    items = repeats(fold(items))
    shape = g.shape(g.input)
    opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 0)
    producer = " ".join(visible(p) for p in (model.producer_name, model.producer_version) if p) or "an unnamed exporter"
    notes = []
    if "BatchNormalization" not in ops and ops["Conv"]:
        notes.append("the graph has no BatchNormalization: if the model had batch norms, the exporter folded them into "
                     "the convs (their biases), which cannot be undone; export with "
                     "training=torch.onnx.TrainingMode.PRESERVE to keep them")
    header = [f"# Imported by convcalc from {visible(source)} (ONNX opset {opset}, made by {producer}).",
              "# Each line ends with its output shape; `convcalc show` prints the figures."]
    name = model.graph.name if model.graph.name not in EXPORTER_NAMES else re.sub(r"\.onnx$", "", source.rpartition("/")[2])
    body = ["convcalc: 1", f"name: {_quoted(name)}",
            f"input: {'x'.join(map(str, (*shape[2:], shape[1])))}", "layers:", *_lines(items, 2, set())]
    return Imported("\n".join([*header, *body]) + "\n", tuple(notes))


def _quoted(text: str) -> str:
    import json  # start-up: with the import

    return json.dumps(visible(text), ensure_ascii=False)

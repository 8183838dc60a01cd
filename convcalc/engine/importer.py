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
2. **Kinds.**  Each unit maps to one kind (:func:`_layer`: docs/import.md has the table),
   following the tensors' layout (channels first, last, tokens), so that a Transpose to NHWC and
   back is no layer; anything else is collected, so that an unsupported model gets one error
   listing every op type, its count and its nodes (or, with ``allow_unknown``, an ``opaque`` layer).
3. **Structure.**  The walk goes back from the output made last along the dominator tree of the
   data tensors: a unit with one input is a layer; a join (Add, Concat, Mul) gets its branches
   from the tensor that dominates it, so an Add becomes a ``residual`` (identity shortcut when one
   side is the fork itself), a Concat a ``concat``, a gate (x · f(x)) a ``scale``; a skip whose
   branch holds joins of its own (U-Net) is written flat with ``concat: {with: NAME}``, a join of
   tensors on one path (SPPF, YOLO's neck) writes the path once and names the earlier ones, and
   each other output goes on ``from:`` the layer it branches off.
4. **Folding.**  conv → batch norm → activation become one layer (``bn: true, act: …``), q, k, v
   and output projections around attention one ``attention``; constructs that recur with one
   structure become blocks with their differing numbers as args, and runs of identical layers
   or calls become ``repeat``.
"""

from __future__ import annotations

import io
import json
import math
import re
from collections import Counter
from collections.abc import Sequence
from typing import Any

from ..base.errors import SpecError
from ..base.record import Record
from ..base.text import visible

MOST_BYTES = 1 << 30  # an ONNX file past 1 GiB is refused before it is parsed
MOST_NODES = 200_000
MOST_STEPS = 20_000_000  # steps of the walks over the dominator tree (ResNet-50 takes 240)
MOST_VALUES = 1 << 20  # the largest constant a constant sub-graph may make when convcalc evaluates it
# ops whose output can be far larger than their inputs: evaluated only when inference knows its size
GROWING_OPS = frozenset({"ConstantOfShape", "Expand", "Tile", "Range", "Resize", "Upsample", "Pad", "OneHot", "EyeLike",
                         "MatMul", "Gemm", "Einsum", "Conv", "ConvTranspose", "Col2Im", "DepthToSpace", "SpaceToDepth"})
OLDEST_OPSET = 11
EXPORTER_NAMES = ("", "main_graph", "torch_jit", "torch-jit-export")  # graph names that say nothing
ACTIVATIONS = {"Relu": "relu", "Sigmoid": "sigmoid", "Tanh": "tanh", "HardSwish": "hardswish",
               "HardSigmoid": "hardsigmoid", "Gelu": "gelu", "LeakyRelu": "leaky_relu"}
POOLS = {"MaxPool": "max", "AveragePool": "avg"}
GLOBAL_POOLS = {"GlobalAveragePool": "avg", "GlobalMaxPool": "max"}
JOINS = ("Add", "Sum", "Concat", "Mul")
FLOATS = (1, 10, 11, 16)  # TensorProto's FLOAT, FLOAT16, DOUBLE, BFLOAT16: what a weight is
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
    warnings: tuple[str, ...] = ()  # one per opaque layer (--allow-unknown)


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
    for node in graph.node:  # PyTorch's exporter can write movedim's perm with negative axes, which ONNX rejects
        for a in node.attribute:
            if node.op_type == "Transpose" and a.name == "perm" and any(v < 0 for v in a.ints):
                a.ints[:] = [v % len(a.ints) for v in a.ints]
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
        self.layout: dict[str, str] = {self.input: "first"}  # channels "first" (NCHW), "last" (NHWC), or "flat"
        for node in graph.node:
            ins = [i for i in node.input if i in self.layout]
            if not ins:
                continue
            layout = self.layout[ins[0]]
            rank_in = len(self.shapes.get(ins[0], ()))
            rank = len(self.shapes.get(node.output[0], ()))
            if node.op_type in ("Flatten", "Gemm") or rank == 2:
                layout = "flat"
            elif layout in ("tokens", "inside tokens"):  # attention reshapes its heads; a sequence stays one
                layout = "tokens" if rank == 3 else "inside tokens"
            elif node.op_type == "Transpose":
                perm = list(self.attrs(node).get("perm", []))
                layout = "tokens" if layout == "merged" and perm == [0, 2, 1] else _moved(perm, layout)
            elif node.op_type == "Reshape" and layout == "first" and rank_in >= 4 and rank == 3:
                layout = "merged"  # (N, C, H·W…): a Transpose to (N, T, C) next makes tokens
            elif node.op_type == "Reshape" and layout != "last":  # a reshape regroups axes, it moves none
                layout = "first"
            for out in node.output:
                if out in self.data:
                    self.layout[out] = layout
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
            try:
                value = numpy_helper.to_array(self.initializers[tensor])
            except Exception as err:  # a weight whose values were dropped, or dims its data do not fill
                raise SpecError(f"the constant '{visible(tensor)}' has no readable values: {_first_line(err)}") from None
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
                for out in node.output:  # a constant sub-graph must not make more than it may
                    known = self.shapes.get(out)
                    if (known is None and node.op_type in GROWING_OPS) or (known is not None and math.prod(known) > MOST_VALUES):
                        raise SpecError(f"node '{visible(node.name)}' ({visible(node.op_type)}) would make a constant of "
                                        f"{'unknown size' if known is None else f'{math.prod(known):,} values'}: convcalc "
                                        f"evaluates constants of at most {MOST_VALUES:,} values")
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


def _moved(perm: Sequence[int], layout: str) -> str:
    """The layout after a Transpose: channels moved last or back first, else "other"."""
    rank = len(perm)
    if rank >= 3 and list(perm) == [0, *range(2, rank), 1] and layout == "first":
        return "last"
    if rank >= 3 and list(perm) == [0, rank - 1, *range(1, rank - 1)] and layout == "last":
        return "first"
    return "other"


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


def _dims(shape: Sequence[int]) -> Any:
    """An ONNX shape (N, C, *spatial) as convcalc writes it: [*spatial, C], or C when flat."""
    return shape[1] if len(shape) == 2 else [*shape[2:], shape[1]]


def _shuffle(g: Graph, unit: Unit) -> Any:
    """Reshape to (N, g, C/g, *spatial), swap the two, reshape back: ShuffleNet's channel shuffle."""
    first, swap = unit.nodes[0], next(n for n in unit.nodes if n.op_type == "Transpose")
    x, grouped, out = g.shape(unit.inputs[0]), g.shape(first.output[0]), g.shape(unit.output)
    rank = len(x)
    perm = list(g.attrs(swap).get("perm", []))
    if (first.op_type != "Reshape" or len(grouped) != rank + 1 or grouped[0] != x[0] or grouped[1] * grouped[2] != x[1]
            or list(grouped[3:]) != list(x[2:]) or perm != [0, 2, 1, *range(3, rank + 1)] or out != x):
        raise Unsupported("Reshape → Transpose → Reshape (other than a channel shuffle)")
    return {"channel_shuffle": {"groups": grouped[1]}}


def _pixel_shuffle(g: Graph, unit: Unit) -> Any:
    """Reshape to (N, C/r², r, r, H, W), transpose to (N, C/r², H, r, W, r), reshape back:
    PixelShuffle written out (an exporter that does not use DepthToSpace)."""
    first, swap = unit.nodes[0], next(n for n in unit.nodes if n.op_type == "Transpose")
    x, split, out = g.shape(unit.inputs[0]), g.shape(first.output[0]), g.shape(unit.output)
    perm = list(g.attrs(swap).get("perm", []))
    if (len(x) != 4 or len(split) != 6 or split[2] != split[3] or perm != [0, 1, 4, 2, 5, 3]
            or out != (x[0], split[1], x[2] * split[2], x[3] * split[2])):
        raise Unsupported("Reshape → Transpose → Reshape (other than a channel or pixel shuffle)")
    return {"pixel_shuffle": {"factor": split[2]}}


def _constant(g: Graph, tensor: str) -> bool:
    return tensor in g.initializers or (tensor in g.producer and g.producer[tensor].op_type == "Constant")


def _matmul(g: Graph, node: Any, data: str, bias: bool) -> Any:
    """x · W with W a constant (C, out): a Linear, dense on a flat input, 1×1 conv on channels last."""
    weight = next((i for i in node.input if i != data), "")
    if not _constant(g, weight) or len(g.shape(weight)) != 2 or node.input[0] != data:
        raise Unsupported("MatMul of two computed tensors")
    options: dict[str, Any] = {"out": g.shape(weight)[1]}
    if not bias:
        options["bias"] = False
    layout = g.layout.get(data, "first")
    if layout in ("flat", "tokens"):  # (dense acts on each token)
        return {"dense": options}
    if layout == "last":
        return {"pointwise": options}
    raise Unsupported("MatMul on a channels-first map")


ATTENTION_OPS = {"Reshape", "Transpose", "Split", "Squeeze", "Unsqueeze", "Gather", "Slice", "MatMul", "Mul", "Div",
                 "Softmax", "Identity", "Sqrt", "Cast"}
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
    layout = g.layout.get(unit.inputs[0], "first")
    if len(ops) > 1:
        kinds = set(ops)
        if kinds == {"Sigmoid", "Mul"}:
            return "silu"
        if "LayerNormalization" in kinds and kinds <= {"Transpose", "LayerNormalization", "Identity"}:
            return _layer(g, Unit(tuple(n for n in unit.nodes if n.op_type == "LayerNormalization"), unit.inputs,
                                  unit.output))  # a channel LayerNorm: to channels last, normalised, back
        if "ReduceMean" in kinds and "Sqrt" in kinds and kinds <= {"ReduceMean", "Sub", "Pow", "Add", "Sqrt", "Div", "Mul",
                                                                    "Cast", "Transpose", "Identity"}:
            return "layernorm"  # LayerNorm before opset 17: its arithmetic
        if kinds <= {"Reshape", "Transpose", "Identity"} and ops.count("Reshape") == 2 and "Transpose" in kinds:
            return _shuffle(g, unit) if len(g.shape(unit.nodes[0].output[0])) == len(g.shape(unit.inputs[0])) + 1 \
                else _pixel_shuffle(g, unit)
        if kinds <= {"Reshape", "Flatten", "Transpose"} and g.layout.get(unit.output) == "tokens":
            return "tokens"  # a map as a sequence: (N, C, H·W) transposed to (N, T, C)
        if {"Softmax", "MatMul"} <= kinds and kinds <= ATTENTION_OPS and layout == "tokens":
            heads = next((g.shape(n.output[0])[3] for n in unit.nodes
                          if n.op_type == "Reshape" and len(g.shape(n.output[0])) == 5), None)
            if heads is None:
                raise Unsupported("attention without a (N, T, 3, heads, C/heads) reshape")
            return {"attention_core": {"heads": heads}}  # fold joins it with its q, k, v and output projections
        if kinds in ({"MatMul", "Add"}, {"MatMul"}):  # a Linear on more than two dimensions
            matmul = next(n for n in unit.nodes if n.op_type == "MatMul")
            return _matmul(g, matmul, unit.inputs[0], bias="Add" in kinds)
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
    if op == "Concat" and layout == "tokens" and int(a.get("axis", 1)) % 3 == 1:  # (the one data input)
        other = [i for i in node.input if i not in g.data]
        if len(other) == 1 and node.input[0] == other[0] and math.prod(g.shape(other[0])[1:]) == g.shape(unit.inputs[0])[2]:
            return "class_token"  # a learned token put first
        raise Unsupported("Concat of a constant (other than a class token)")
    if op == "Gather" and layout == "tokens" and int(a.get("axis", 0)) == 1:
        index = g.value(node.input[1])
        if index.shape == () and int(index) == 0:
            return {"token_pool": {"mode": "first"}}
        raise Unsupported("Gather of a token other than the first")
    if op == "ReduceMean" and layout == "tokens":
        axes = list(a.get("axes", [])) or ([int(v) for v in g.value(node.input[1])] if len(node.input) > 1 else [])
        if [x % 3 for x in axes] == [1] and not a.get("keepdims", 1) == 1:
            return {"token_pool": {"mode": "mean"}}
        raise Unsupported("ReduceMean (other than a mean of the tokens)")
    if op == "Transpose":
        before, after = layout, g.layout.get(unit.output, "other")
        if {before, after} == {"first", "last"}:
            return None  # channels moved last or back: convcalc's shapes have no layout
        raise Unsupported("Transpose (other than moving channels last and back)")
    if op == "LayerNormalization":
        rank = len(g.shape(node.input[0]))
        if int(a.get("axis", -1)) % rank != rank - 1 or (g.layout.get(node.input[0]) == "first" and rank > 2):
            raise Unsupported("LayerNormalization over other axes than the channels")
        return {"layernorm": {"eps": float(f"{a['epsilon']:.3g}")}} if "epsilon" in a and abs(a["epsilon"] - 1e-5) > 1e-9 \
            else "layernorm"
    if op == "MatMul":
        return _matmul(g, node, unit.inputs[0], bias=False)
    if op == "Add" and all(i in g.data or _constant(g, i) for i in node.input):
        constant = next(i for i in node.input if i not in g.data)
        if layout == "tokens" and g.shape(constant)[1:] == g.shape(unit.inputs[0])[1:]:
            return "position_embedding"  # a learned vector per position and channel
        return {"bias": {}}  # a constant added after a MatMul: its bias (fold joins them, or it is refused)
    if op == "Mul":
        constant = [i for i in node.input if i not in g.data]
        channels = g.shape(unit.inputs[0])[-1 if layout == "last" else 1]
        if len(constant) == 1 and _constant(g, constant[0]) and math.prod(g.shape(constant[0])) == channels > 1:
            return "layer_scale"  # a learnable scale per channel (ConvNeXt's gamma)
        raise Unsupported("Mul by a constant")
    if op == "Softmax":
        return "softmax"
    if op in POOLS:
        if a.get("auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET"):
            raise Unsupported(f"{op} with auto_pad {visible(str(a['auto_pad']))}")
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
        if len(node.input) > 3 and node.input[3]:
            raise Unsupported("Pad of some axes only (its axes input)")
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
                 "cubic": "bicubic"}.get(mode)
        if named is None:
            raise Unsupported(f"Resize in mode {visible(mode)}")
        options = {"size": _per_axis(size)}
        if named != "nearest":
            options["mode"] = named
        return {"upsample": options}
    if op == "Slice":  # a centre crop of the spatial axes (U-Net's skips), or a run of channels (a split)
        whole, out = g.shape(node.input[0]), g.shape(unit.output)
        starts = [int(v) for v in g.value(node.input[1])]
        axes = [int(v) % len(whole) for v in g.value(node.input[3])] if len(node.input) > 3 and node.input[3] \
            else list(range(len(starts)))
        steps = [int(v) for v in g.value(node.input[4])] if len(node.input) > 4 and node.input[4] else [1] * len(axes)
        if axes == [1] and steps == [1] and g.layout.get(unit.inputs[0]) == "first":
            start = starts[0] + whole[1] if starts[0] < 0 else min(starts[0], whole[1])
            return {"channel_slice": {"start": start, "stop": start + out[1]}} if start else \
                {"channel_slice": {"stop": out[1]}}
        centred = all(axis >= 2 and step == 1 and start % whole[axis] == (whole[axis] - out[axis]) // 2
                      for axis, start, step in zip(axes, starts, steps))
        if not centred or out[:2] != whole[:2]:
            raise Unsupported("Slice (other than a centre crop of the spatial axes or a run of channels)")
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
        self.comment = ""  # said at the end of its line (an opaque layer's op types and node)
        self.call = False  # a call of a block the import defined

    @property
    def kind(self) -> str:
        return self.value if isinstance(self.value, str) else next(iter(self.value))

    @property
    def options(self) -> dict[str, Any]:
        value = {} if isinstance(self.value, str) else self.value[self.kind]
        return value if isinstance(value, dict) else {}  # (`from: NAME` has a name, not options)


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
        self.steps = 0  # see _spend
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
        self.unsupported: dict[str, list[str]] = {}  # op types (or patterns) → the nodes that have them
        self.joins: dict[str, list[str]] = {}  # likewise for joins, which no opaque layer can stand for
        self.opaque: list[tuple[str, str]] = []  # (node, op types) of each unit without a kind
        self.walked: set[str] = set()  # the tensors the walk has been through
        self.order = {o: n for n, node in enumerate(g.nodes) for o in node.output}  # graph order
        self.targets: set[str] = set()  # the names that a `with:`, `from:` or `outputs:` refers to
        self.made: dict[str, Item] = {}  # tensor → the item that makes it (a layer or a join)
        self.by_tensor: dict[str, Item] = {}

    def _common(self, tensors: Sequence[str]) -> str:
        """The nearest tensor that dominates all of ``tensors`` (their fork)."""
        a = tensors[0]
        for b in tensors[1:]:
            while a != b:
                self._spend(1)
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
            if t in self.walked:
                raise SpecError(f"tensor '{visible(t)}' is reached twice: an output that branches off inside a join "
                                "is not imported yet")
            self.walked.add(t)
            if len(unit.inputs) == 1:
                item = self.by_tensor.get(t) or self._item(unit)
                if item.value is not None:  # (None: a layout change, nothing to convcalc)
                    items.append(item)
                    self.made[t] = item
                t = unit.inputs[0]
                continue
            fork = self.idom[t] or self.g.input
            deepest = max(unit.inputs, key=lambda i: self.order.get(i, -1))  # the input made last
            before = self._before(deepest, fork)
            if any(i not in (fork, deepest) and i in before for i in unit.inputs):
                joined = self._chained_join(unit, fork, deepest)  # SPPF, YOLO's neck: inputs on one path
            else:
                branches = [self.chain(fork, i) for i in unit.inputs]
                joined = self._join(unit, branches, fork)
            if joined:
                self.made[t] = joined[-1]
            items.extend(reversed(joined))
            t = fork
        items.reverse()
        return items

    def _before(self, tensor: str, fork: str) -> set[str]:
        """The data tensors on some path from ``fork`` to ``tensor``, ``fork`` left out."""
        out: set[str] = set()
        todo = [tensor]
        while todo:
            t = todo.pop()
            if t in out or t == fork or t not in self.units:
                continue
            out.add(t)
            self._spend(len(self.units[t].inputs))
            todo.extend(self.units[t].inputs)
        return out

    def _spend(self, steps: int) -> None:
        """Count the walks' steps: a graph built to make them quadratic stops at a bound."""
        self.steps += steps
        if self.steps > MOST_STEPS:
            raise SpecError(f"the graph's joins take more than {MOST_STEPS:,} steps to follow: convcalc does not import it")

    def _chained_join(self, unit: Unit, fork: str, deepest: str) -> list[Item]:
        """A join of tensors on one path (SPPF's x, pool(x), pool(pool(x)); YOLO's neck, whose
        concats read layers from before the last upsample): the path to the last input written
        once, the others read back by name (`from:` in a branch, or `with:`)."""
        inline = self.chain(fork, deepest)
        names: list[str | None] = []  # per input: None for the current tensor, else the tensor's layer
        for i in unit.inputs:
            if i == deepest:
                names.append(None)
            elif i == self.g.input:
                names.append("input")
            elif i == fork:
                name = self._target(fork)
                if name is None:
                    raise SpecError(f"tensor '{visible(fork)}' cannot be named for a join: not imported yet")
                names.append(name)
            else:
                item = self.made.get(i)
                if item is None or all(item is not x for x in inline):
                    raise SpecError(f"tensor '{visible(i)}' is joined from inside another join: not imported yet")
                names.append(self._mark(item, f"part{len(names)}"))
        op = unit.nodes[-1].op_type
        kind = {"Add": "add", "Sum": "add", "Concat": "concat", "Mul": "mul"}.get(op)
        if kind is None or len(unit.nodes) > 1 or (op == "Concat" and int(self.g.attrs(unit.nodes[-1]).get("axis", 1)) != 1):
            self.joins.setdefault(" → ".join(n.op_type for n in unit.nodes), []).append(unit.nodes[-1].name or unit.output)
            return inline
        name = _name_of(self.g, unit)
        if len(names) == 2 and (kind != "concat" or names[0] is None) and names.count(None) == 1:
            other = next(n for n in names if n is not None)
            return [*inline, Item({kind: {"with": other}}, name)]  # (a concat's current tensor comes first)
        branches = [[] if n is None else [Item({"from": n})] for n in names]
        return [*inline, Item({kind: {"branches": branches}}, name)]

    def network(self) -> tuple[list[Item], list[str]]:
        """The top-level layers, and the names of the outputs when there are several: the walk
        goes to the output made last, and each other one goes on ``from:`` the top-level layer it
        branches off (YOLO's heads)."""
        g = self.g
        if len(set(g.outputs)) != len(g.outputs) or g.input in g.outputs:
            raise SpecError("an output is listed twice, or is the input itself: convcalc imports a network that computes each")
        main = max(g.outputs, key=lambda o: self.order.get(o, -1))  # made last: it usually reads what the others branch off
        items = self.chain(g.input, main)
        if len(g.outputs) == 1:
            return items, []
        top = {id(item) for item in items}
        segments: list[list[Item]] = []  # each other output: `from:` its fork, then its own layers
        for out in g.outputs:
            if out == main or out in self.walked:
                continue
            fork = out
            while fork != g.input and not (fork in self.made and id(self.made[fork]) in top):
                fork = self.idom.get(fork) or g.input
            start = Item({"from": "input" if fork == g.input else self._mark(self.made[fork], f"branch{len(items)}")})
            segments.append([start, *self.chain(fork, out)])
            top |= {id(item) for item in segments[-1]}
        items = self._interleaved(items, segments)
        top = {id(item) for item in items}
        names = []
        for n, out in enumerate(g.outputs):
            item = self.made.get(out)
            if item is None or id(item) not in top:
                raise SpecError(f"output '{visible(out)}' is made inside a join: an output there is not imported yet")
            names.append(self._mark(item, f"output{n + 1}"))
        return items, names

    def _interleaved(self, main: list[Item], segments: list[list[Item]]) -> list[Item]:
        """The outputs' segments among the main layers in the graph's order (YOLO: the three
        heads after the neck, as the model runs them), going on `from:` the main layer before."""
        where = {id(item): self.order[t] for t, item in self.made.items() if t in self.order}

        def first(segment: list[Item]) -> int:
            return min((where[id(i)] for i in segment if id(i) in where), default=len(self.order))

        pending = sorted(segments, key=first)
        out: list[Item] = []
        position, previous = -1, None
        for item in main:
            position = where.get(id(item), position)
            inserted = False
            while pending and first(pending[0]) < position:
                out += pending.pop(0)
                inserted = True
            if inserted and previous is not None:
                out.append(Item({"from": self._mark(previous, f"branch{len(out)}")}))
            out.append(item)
            previous = item
        for segment in pending:
            out += segment
        return out

    def _item(self, unit: Unit) -> Item:
        try:
            value = _layer(self.g, unit)
        except (KeyError, IndexError, ValueError, TypeError, OverflowError) as err:  # an attribute missing or absurd
            node = unit.nodes[-1]
            raise SpecError(f"node '{visible(node.name)}' ({visible(node.op_type)}) is malformed: "
                            f"{type(err).__name__} {_first_line(err)}") from None
        except Unsupported as err:
            self.unsupported.setdefault(err.ops, []).append(unit.nodes[-1].name or unit.output)
            self.opaque.append((unit.nodes[-1].name or unit.output, err.ops))
            value = {"opaque": {"out": _dims(self.g.shape(unit.output))}}
        weighted = any(i in self.g.initializers and self.g.initializers[i].data_type in FLOATS
                       for n in unit.nodes for i in n.input[1:])  # a shape or an index is no weight
        item = Item(value, _name_of(self.g, unit) if weighted else None)  # a relu's name would only be noise
        if isinstance(value, dict) and "opaque" in value:
            item.comment = f"ONNX {visible(self.opaque[-1][1])} at {visible(self.opaque[-1][0])}"
        self.by_tensor[unit.output] = item
        return item

    def _join(self, unit: Unit, branches: list[list[Item]], fork: str) -> list[Item]:
        node = unit.nodes[-1]
        op = node.op_type
        name = _name_of(self.g, unit)
        if len(unit.nodes) > 1 or op not in JOINS or (op == "Concat" and int(self.g.attrs(node).get("axis", 1)) != 1):
            ops = " → ".join(n.op_type for n in unit.nodes)
            self.joins.setdefault(ops, []).append(node.name or unit.output)
            return []
        empty = [not b for b in branches]
        if op == "Mul":
            if len(branches) == 2 and sum(empty) == 1:
                body = branches[0] or branches[1]
                if [i.value for i in body] == ["sigmoid"]:
                    return [Item("silu", name)]
                return [Item({"scale": {"body": body}}, name)]
            self.joins.setdefault("Mul of two computed tensors", []).append(node.name or unit.output)
            return []
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
            self.joins.setdefault(f"{op} of {len(branches)} tensors", []).append(node.name or unit.output)
            return []
        body, shortcut = sorted(branches, key=len, reverse=True)
        return [Item({"residual": {"body": body, **({"shortcut": shortcut} if shortcut else {})}}, name)]

    def _target(self, tensor: str) -> str | None:
        """The name of the layer that makes ``tensor``, made unique; None if it has none yet."""
        unit = self.units.get(tensor)
        if unit is None or len(unit.inputs) != 1:
            return None
        item = self.by_tensor.get(tensor) or self._item(unit)
        self.by_tensor[tensor] = item
        return self._mark(item, _name_of(self.g, unit) or f"skip{len(self.by_tensor)}")

    def _mark(self, item: Item, fallback: str) -> str:
        """Make ``item`` a target of `with:`, `from:` or `outputs:`, its name unique among targets."""
        if item.target and item.name:
            return item.name
        name = base = item.name or fallback
        n = 1
        while name in self.targets or name == "input":
            n += 1
            name = f"{base}_{n}"
        item.target, item.name = True, name
        self.targets.add(name)
        return name


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
        if len(out) >= 2 and last is not None and last.kind == "attention_core" and item.kind == "dense":
            qkv = out[-2]
            if qkv.kind != "dense" or qkv.options["out"] != 3 * item.options["out"] or \
                    qkv.options.get("bias", True) != item.options.get("bias", True):
                raise SpecError("attention whose projections convcalc cannot read: not imported yet")
            options = {"heads": last.options["heads"], **({"bias": False} if item.options.get("bias") is False else {})}
            out[-2:] = [Item({"attention": options})]
            continue
        if item.kind == "bias":
            if last is None or last.kind not in (*CONV_KINDS, "pointwise", "dense") or last.options.get("bias") is not False:
                raise SpecError("an Add of a constant that follows no layer without a bias: convcalc has no kind for it")
            del last.options["bias"]
            continue
        if last is not None and last.kind in (*CONV_KINDS, "pointwise") and not last.target:
            options = last.options
            if item.value == "batchnorm" and "bn" not in options and "act" not in options:
                options["bn"] = True
                if item.target:  # the folded layer now makes the tensor a `with:` or `from:` names
                    last.target, last.name = True, item.name
                continue
            if isinstance(item.value, str) and item.value in FOLDED_ACTS and "act" not in options:
                options["act"] = item.value
                if item.target:  # the folded layer now makes the tensor a `with:` or `from:` names
                    last.target, last.name = True, item.name
                continue
        out.append(item)
    return out


def _key(item: Item) -> str:
    """What a layer is, without its name (two layers with one key are the same layer)."""

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
            construct = any(isinstance(x.value, dict) and (x.kind in CONSTRUCTS or x.call) for x in items[i: i + length])
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


class Block(Record):
    name: str
    args: dict[str, Any]  # name → default (the first call's value)
    layers: list[Item]  # the first occurrence, its varying numbers replaced by `$arg`


CONSTRUCTS = ("residual", "concat", "scale")


def _skeleton(value: Any, leaves: list[Any], path: str = "") -> Any:
    """``value`` with each number replaced by its path (collected in ``leaves``), names dropped."""
    if isinstance(value, Item):
        return ["item", _skeleton(value.value, leaves, path)]
    if isinstance(value, dict):
        return {k: _skeleton(v, leaves, f"{path}.{k}") for k, v in value.items() if k != "name"}
    if isinstance(value, list):
        if value and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value):
            leaves.append((path, list(value)))
            return "#"
        return [_skeleton(v, leaves, f"{path}[{n}]") for n, v in enumerate(value)]
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        leaves.append((path, value))
        return "#"
    return value


def blocks(items: list[Item]) -> tuple[list[Item], list[Block]]:
    """Constructs of the top-level list that occur twice or more with one structure (ResNet's
    bottlenecks, MobileNet's inverted residuals) as block calls, their differing numbers as
    args: each block is defined once, and `repeat` then folds runs of equal calls."""
    groups: dict[str, list[tuple[int, list[Any]]]] = {}
    ends: dict[int, int] = {}  # a construct's position → one past its trailing activations (ResNet's relu)
    for n, item in enumerate(items):
        if item.kind in CONSTRUCTS and not item.target and not _has_with(item):
            end = n + 1
            while end < len(items) and items[end].value in FOLDED_ACTS and not items[end].target:
                end += 1
            ends[n] = end
            leaves: list[Any] = []
            key = json.dumps(_skeleton(items[n:end], leaves), sort_keys=True)
            groups.setdefault(key, []).append((n, leaves))
    calls: dict[int, Item] = {}
    defined: list[Block] = []
    for occurrences in (g for g in groups.values() if len(g) >= 2):
        first_at, first_leaves = occurrences[0]
        vectors = [[leaves[k][1] for _, leaves in occurrences] for k in range(len(first_leaves))]
        args: dict[str, Any] = {}
        arg_of: dict[int, str] = {}
        by_vector: dict[str, str] = {}
        for k, (path, _) in enumerate(first_leaves):
            if all(v == vectors[k][0] for v in vectors[k]):
                continue  # the same in every call: written in the block
            shown = json.dumps(vectors[k])
            if shown not in by_vector:
                word = re.sub(r"[^a-z_]", "", path.rpartition(".")[2]) or "n"
                name, count = word, 1
                while name in args:
                    count += 1
                    name = f"{word}{count}"
                by_vector[shown] = name
                args[name] = vectors[k][0]
            arg_of[k] = by_vector[shown]
        block = Block(f"{items[first_at].kind}_{chr(ord('a') + len(defined))}", args,
                      _templated(items[first_at:ends[first_at]], arg_of, first_leaves))
        defined.append(block)
        for n, leaves in occurrences:
            given = {arg_of[k]: leaves[k][1] for k in arg_of}
            calls[n] = Item({block.name: {name: given[name] for name in args}}, items[n].name)  # in the args' order
            calls[n].call = True
    out: list[Item] = []
    n = 0
    while n < len(items):
        if n in calls:
            out.append(calls[n])
            n = ends[n]
        else:
            out.append(items[n])
            n += 1
    return out, defined


def _templated(items: list[Item], arg_of: dict[int, str], leaves: list[Any]) -> list[Item]:
    """A copy of ``items`` whose numbers at the varying leaves are `$arg`, inner names kept."""
    counter = iter(range(len(leaves)))

    def copy(value: Any) -> Any:
        if isinstance(value, Item):
            twin = Item(copy(value.value), value.name)
            twin.comment = value.comment
            return twin
        if isinstance(value, dict):
            return {k: (v if k == "name" else copy(v)) for k, v in value.items()}
        if isinstance(value, list):
            if value and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value):
                k = next(counter)
                return f"${arg_of[k]}" if k in arg_of else value
            return [copy(v) for v in value]
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            k = next(counter)
            return f"${arg_of[k]}" if k in arg_of else value
        return value

    return [Item(copy(item.value)) for item in items]


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
    reserved = {i.name for i in items if i.target and i.name}  # a name a `with:` or `from:` refers to
    for item in items:
        name = item.name if item.name and item.name not in used and (item.target or item.name not in reserved) else None
        if name:
            used.add(name)
        options = {k: v for k, v in item.options.items()}
        nested = {k: v for k, v in options.items() if k in NESTED}
        flat = {k: v for k, v in options.items() if k not in nested}
        if name:
            flat["name"] = name
        if item.kind == "from":
            lines.append(f"{pad}- from: {item.value['from']}")
            continue
        if not nested:
            if isinstance(item.value, str) and not name:
                line = f"{pad}- {item.kind}"
            else:
                line = f"{pad}- {item.kind}: {{{', '.join(f'{k}: {_scalar(v)}' for k, v in flat.items())}}}"
            lines.append(f"{line}  # {item.comment}" if item.comment else line)
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


def import_onnx(data: bytes, source: str, input_shape: Sequence[int] | None = None,
                allow_unknown: bool = False) -> Imported:
    """The spec for an ONNX model (its bytes); SpecError for a model convcalc cannot read."""
    try:
        return _import(data, source, input_shape, allow_unknown)
    except RecursionError:  # the walks recurse once per nested join and per constant feeding a constant
        raise SpecError("the graph nests its joins, or its constants, too deeply for convcalc to read") from None


def _import(data: bytes, source: str, input_shape: Sequence[int] | None, allow_unknown: bool) -> Imported:
    model = folded(infer(read_model(data), input_shape))
    g = Graph(model)
    reader = Reader(g)
    items, outputs = reader.network()
    ops = Counter(n.op_type for n in g.nodes)
    refused = {**({} if allow_unknown else reader.unsupported), **reader.joins}
    if refused:
        listed = "; ".join(f"{visible(op)} ×{len(names)} ({', '.join(visible(n) for n in names[:3])}"
                           f"{', …' if len(names) > 3 else ''})" for op, names in sorted(refused.items()))
        hint = "" if allow_unknown or reader.joins else " (--allow-unknown writes each as an opaque layer)"
        joins = " (a join of several tensors: an opaque layer cannot stand for one)" if reader.joins else ""
        raise SpecError(f"convcalc has no kind for {len(refused)} op type(s): {listed}{hint}{joins}")
    items, defined = blocks(fold(items))
    items = repeats(items)
    shape = g.shape(g.input)
    opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 0)
    producer = " ".join(visible(p) for p in (model.producer_name, model.producer_version) if p) or "an unnamed exporter"
    notes = []
    if "BatchNormalization" not in ops and ops["Conv"]:
        notes.append("the graph has no BatchNormalization: if the model had batch norms, the exporter folded them into "
                     "the convs (their biases), which cannot be undone; export with "
                     "training=torch.onnx.TrainingMode.PRESERVE to keep them")
    warnings = []
    for node, op in reader.opaque:
        warnings.append(f"node '{visible(node)}' ({visible(op)}) is an opaque layer: its shape from ONNX, no params or MACs; "
                     "export, solve, --rf, --memory and --train refuse the spec until it is replaced")
    header = [f"# Imported by convcalc from {visible(source)} (ONNX opset {opset}, made by {producer}).",
              "# Each line ends with its output shape; `convcalc show` prints the figures."]
    stem = re.sub(r"\.onnx$", "", source.rpartition("/")[2]) if not source.startswith("<") else "imported"
    name = model.graph.name if model.graph.name not in EXPORTER_NAMES else stem  # (the file's, not the exporter's)
    body = ["convcalc: 1", f"name: {_quoted(name)}", f"input: {'x'.join(map(str, (*shape[2:], shape[1])))}"]
    if defined:
        body.append("blocks:")
        for block in defined:
            body += [f"  {block.name}:", f"    args: {{{', '.join(f'{k}: {_scalar(v)}' for k, v in block.args.items())}}}",
                     "    layers:", *_lines(repeats(block.layers), 6, set())]
    body += ["layers:", *_lines(items, 2, set())]
    if outputs:
        body.append(f"outputs: [{', '.join(outputs)}]")
    return Imported("\n".join([*header, *body]) + "\n", tuple(notes), tuple(warnings))


def _quoted(text: str) -> str:
    return json.dumps(visible(text), ensure_ascii=False)

"""Receptive fields (``convcalc.engine.receptive``, ``show --rf``).

1. Window-only chains (conv, pool, their variants; any padding, dilation, ceil_mode, ``same``):
   the fields equal the Distill recurrences (Araujo, Norris and Sim 2019), computed here
   independently, on random chains and on AlexNet, VGG16 and ResNet-50.
2. PyTorch as the oracle: random 1-D and 2-D stacks (positive-weight convs, average pools,
   transposed convs with kernels shorter than their strides, upsampling, pads, crops,
   residuals, concats and skips) are built in torch from the report; for output positions at
   the edges, in the middle and with empty fields, the input positions with a non-zero gradient
   must have exactly the hull :func:`positions` gives with ``clip=True`` (empty exactly when
   ours is), and lie inside the unbounded-grid hull the report uses.  PyTorch's upsampling index
   arithmetic is checked on its own, position by position.
3. The command line: the table column, the JSON fields, the CSV columns.
"""

from __future__ import annotations

import json
import math
import warnings
from fractions import Fraction
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from convcalc.base.errors import SpecError
from convcalc.engine.evaluate import Report, evaluate
from convcalc.engine.receptive import Upsampling, positions, receptive_fields
from convcalc.model.geometry import Window
from convcalc.spec.parser import load_spec

from helpers import CONVNET, expect_exit, run, spec_path


def report_of(dims: list[int], layers: list[Any], dtype: str = "float32") -> Report:
    return evaluate(load_spec(json.dumps({"input": dims, "dtype": dtype, "layers": layers})))


def spec_report(name: str) -> Report:
    return evaluate(load_spec(spec_path(name).read_text()))


# --- 1. the Distill recurrences ---------------------------------------------------------------


def recurrence(report: Report) -> list[list[tuple[int, Fraction, Fraction] | None]]:
    """Per row and axis (r, j, start) by r += d(k−1)·j, start += (d(k−1)/2 − before)·j, j *= s.

    A join takes the hull of its inputs' fields of output 0 (the centres agree on ResNets).
    None once the tensor is flat or after anything but windows and shape-keeping layers.
    """
    rank = report.input.rank
    state: list[list[tuple[int, Fraction, Fraction] | None]] = [[(1, Fraction(1), Fraction(0))] * rank]
    for row, step in zip(report.rows, report.steps):
        if row.output.is_flat:
            state.append([None] * rank)
            continue
        if step.layer is None:
            found = []
            for axis in range(rank):
                fields = [state[i][axis] for i in step.inputs]
                if any(f is None for f in fields):
                    found.append(None)
                    continue
                lo = min(c - Fraction(r - 1, 2) for r, _, c in fields)  # type: ignore[misc]
                hi = max(c + Fraction(r - 1, 2) for r, _, c in fields)  # type: ignore[misc]
                jumps = {j for _, j, _ in fields}  # type: ignore[misc]
                assert len(jumps) == 1
                found.append((int(hi - lo) + 1, jumps.pop(), (lo + hi) / 2))
            state.append(found)
            continue
        ops = step.layer.kind.axis_ops(step.layer.options, row.input.rank)
        found = []
        for axis in range(rank):
            known = state[step.inputs[0]][axis]
            if known is None or not all(isinstance(op, Window) for op in ops[axis]):
                found.append(None)
                continue
            r, j, c = known
            size = row.input.spatial[axis]
            for op in ops[axis]:
                before, _ = op.padding(size)
                reach = op.dilation * (op.kernel - 1)
                r, c, j = r + reach * j, c + (Fraction(reach, 2) - before) * j, j * op.stride
            found.append((int(r), j, c))
        state.append(found)
    return state[1:]


def assert_recurrence(report: Report) -> None:
    fields = receptive_fields(report)
    for row, expected, got in zip(report.rows, recurrence(report), fields.rows):
        for axis, want in enumerate(expected):
            if want is None:
                assert got.axes[axis].flat == row.output.is_flat
                continue
            a = got.axes[axis]
            r, j, c = want
            assert (a.min, a.max, a.jump, a.start, a.empty) == (r, r, j, c, 0), (row.name, a.axis, a, want)


def last_conv(report: Report) -> int:
    return max(r.number for r in report.rows if r.kind == "conv")


@pytest.mark.parametrize(
    "spec, row_kind, size",
    [
        ("vgg16.yaml", "conv", 196),  # conv5_3
        ("vgg16.yaml", "pool", 212),  # pool5
        ("alexnet.yaml", "conv", 163),  # conv5 (torchvision: 11×11 stride 4 padding 2 stem)
        ("alexnet.yaml", "pool", 195),
        ("resnet50.yaml", "conv", 427),
    ],
)
def test_known_networks(spec: str, row_kind: str, size: int) -> None:
    report = spec_report(spec)
    assert_recurrence(report)
    number = max(r.number for r in report.rows if r.kind == row_kind)
    expected = recurrence(report)[number - 1]
    got = receptive_fields(report).rows[number - 1]
    assert [a.max for a in got.axes] == [e[0] for e in expected if e] == [size, size]
    assert [a.min for a in got.axes] == [size, size]


def test_resnet50_last_stage() -> None:
    """The worked example of the docs: layer4's output, 427×427 with jump 32, centred on 0."""
    report = spec_report("resnet50.yaml")
    fields = receptive_fields(report)
    number = last_conv(report)
    r, j, c = recurrence(report)[number - 1][0]  # type: ignore[misc]
    assert (r, j, c) == (427, 32, 0)
    join = next(row for row in report.rows if row.name == "layer4.repeat1.1.identity1.residual1")
    for a in fields.rows[join.number - 1].axes:
        assert (a.min, a.max, a.jump, a.start) == (427, 427, 32, 0)
    gap = next(row for row in report.rows if row.kind == "global_pool")
    # the global pool reads all 7 positions: 427 + 6·32
    assert [a.max for a in fields.rows[gap.number - 1].axes] == [619, 619]
    assert fields.rows[-1].axes[0].flat and fields.rows[-1].axes[0].jump is None
    assert not fields.notes


SETTINGS = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
)


@st.composite
def padding(draw: Any, rank: int, kernel: int) -> Any:
    how = draw(st.sampled_from(["int", "pairs", "same", "valid"]))
    if how == "int":
        return draw(st.integers(0, kernel))
    if how == "pairs":
        return [[draw(st.integers(0, kernel)), draw(st.integers(0, kernel))] for _ in range(rank)]
    return how


@st.composite
def window_layer(draw: Any, rank: int) -> Any:
    kind = draw(st.sampled_from(["conv", "maxpool", "avgpool", "depthwise", "separable", "pointwise"]))
    k = draw(st.integers(1, 5))
    kernel = draw(st.one_of(st.just(k), st.lists(st.integers(1, 5), min_size=rank, max_size=rank)))
    stride = draw(st.integers(1, 3))
    if kind in ("maxpool", "avgpool"):
        opts: dict[str, Any] = {"kernel": kernel, "stride": stride, "ceil_mode": draw(st.booleans())}
        pad = draw(st.sampled_from(["inside", "same", "pairs"]))
        low = min(kernel) if isinstance(kernel, list) else kernel
        if pad == "inside":
            opts["padding"] = draw(st.integers(0, low // 2))
        elif pad == "same":
            opts["padding"] = "same"
        else:
            opts["padding"] = [[draw(st.integers(0, low // 2)), draw(st.integers(0, low // 2))] for _ in range(rank)]
        if kind == "maxpool":
            opts["dilation"] = draw(st.integers(1, 2))
        return {kind: opts}
    if kind == "pointwise":
        return {"pointwise": {"out": 2, "stride": stride}}
    opts = {"kernel": kernel, "stride": stride, "padding": draw(padding(rank, k)), "dilation": draw(st.integers(1, 3))}
    if kind == "conv":
        opts["out"] = 2
    if kind == "separable":
        opts["out"] = 2
    return {kind: opts}


@SETTINGS
@given(
    st.integers(1, 2).flatmap(
        lambda rank: st.tuples(
            st.just(rank),
            st.lists(st.integers(20, 90), min_size=rank, max_size=rank),
            st.lists(window_layer(rank), min_size=1, max_size=6),
        )
    )
)
def test_window_chains_follow_the_recurrence(case: Any) -> None:
    _rank, sizes, layers = case
    try:
        report = report_of([*sizes, 2], layers)
    except SpecError:
        assume(False)
        return
    assert_recurrence(report)


def test_branches_keep_the_largest_field() -> None:
    report = report_of(
        [32, 32, 3],
        [
            {"conv": {"out": 4, "kernel": 3, "padding": 1}},
            {"concat": [[], [{"conv": {"out": 4, "kernel": 5, "padding": 2}}], [{"conv": {"out": 4, "kernel": 1}}]]},
        ],
    )
    assert_recurrence(report)
    assert [a.max for a in receptive_fields(report).rows[-1].axes] == [7, 7]


def test_branches_that_disagree_on_the_jump_are_noted() -> None:
    report = report_of(
        [8, 4],
        [
            {
                "concat": {
                    "branches": [[{"adaptive_pool": {"out_size": 4}}], [{"conv": {"out": 4, "kernel": 5}}]],
                    "name": "both",
                }
            }
        ],
    )
    fields = receptive_fields(report)
    join = fields.rows[-1].axes[0]
    assert join.jump == 2 and join.jumps == (2, 1)
    assert len(fields.notes) == 1 and "both" in fields.notes[0] and "2 vs 1" in fields.notes[0]


def test_transposed_kernel_shorter_than_stride_leaves_empty_fields() -> None:
    report = report_of([6, 2], [{"deconv": {"out": 2, "kernel": 2, "stride": 3}}, {"conv": {"out": 2, "kernel": 1}}])
    for number in (1, 2):
        hulls = positions(report, number, 0)
        assert hulls == [(p // 3, p // 3) if p % 3 < 2 else None for p in range(17)]
        a = receptive_fields(report).rows[number - 1].axes[0]
        assert (a.min, a.max, a.jump, a.empty, a.start) == (0, 1, Fraction(1, 3), 5, 0)


def test_upsampling_fields_depend_on_the_position() -> None:
    # nearest ×2 after a 3-tap conv: every output reads one conv output, so 3 wide with jump 1/2;
    # linear ×2 reads two neighbours except where the source index is whole
    nearest = report_of([10, 1], [{"conv": {"out": 1, "kernel": 3}}, {"upsample": {"scale": 2}}])
    a = receptive_fields(nearest).rows[-1].axes[0]
    assert (a.min, a.max, a.jump, a.start) == (3, 3, Fraction(1, 2), 1)
    linear = report_of([10, 1], [{"conv": {"out": 1, "kernel": 3}}, {"upsample": {"scale": 2, "mode": "linear"}}])
    hulls = positions(linear, 2, 0)
    assert hulls[:4] == [(-1, 2), (0, 3), (0, 3), (1, 4)]
    a = receptive_fields(linear).rows[-1].axes[0]
    assert (a.min, a.max, a.jump) == (4, 4, Fraction(1, 2))
    aligned = report_of([5, 1], [{"upsample": {"size": 9, "mode": "linear", "align_corners": True}}])
    assert positions(aligned, 1, 0) == [(0, 0), (0, 1), (1, 1), (1, 2), (2, 2), (2, 3), (3, 3), (3, 4), (4, 4)]
    assert receptive_fields(aligned).rows[-1].axes[0].jump == Fraction(1, 2)


def test_flat_rows_cover_the_last_spatial_tensor() -> None:
    report = report_of([28, 28, 1], [{"conv": {"out": 2, "kernel": 5}}, "flatten", {"dense": {"out": 3}}])
    for rf in receptive_fields(report).rows[1:]:
        assert all(a.flat and a.jump is None and (a.min, a.max, a.start) == (28, 28, Fraction(27, 2)) for a in rf.axes)


def test_skips_read_at_their_offsets() -> None:
    report = report_of(
        [12, 1],
        [
            {"conv": {"out": 1, "kernel": 1, "name": "a"}},
            {"conv": {"out": 1, "kernel": 5}},  # 8 long, output q reads q..q+4
            {"add": {"with": "a", "fit": "crop"}},  # a cropped by 2: q reads q+2
            {"conv": {"out": 1, "kernel": 3}},  # 6
            {"concat": {"with": "a", "fit": "pad"}},  # padded by 3: q reads the conv at q−3
        ],
    )
    assert positions(report, 3, 0)[:2] == [(0, 4), (1, 5)]
    # the padded tensor's own positions −3, −2, −1 lie on the unbounded grid; a real run reads only padding
    assert positions(report, 5, 0)[:4] == [(-3, 3), (-2, 4), (-1, 5), (0, 6)]
    clipped = positions(report, 5, 0, clip=True)
    assert clipped[:4] == [(0, 0), (1, 1), (2, 2), (0, 6)]


# --- 2. torch as the oracle ---------------------------------------------------------------------

try:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "Failed to initialize NumPy" when numpy is absent
        import torch
        from torch import nn
except ImportError:  # the package never needs torch; only these oracle tests do
    torch = nn = None
else:
    torch.set_num_threads(1)

needs_torch = pytest.mark.skipif(torch is None, reason="torch is not installed")


def torch_model(report: Report) -> Any:
    """The report's dataflow in torch: each leaf row's ``Kind.torch`` modules, joins by steps."""
    modules: dict[int, Any] = {}
    for row, step in zip(report.rows, report.steps):
        if step.layer is None:
            continue
        built = [getattr(nn, name)(**kwargs) for name, kwargs in step.layer.kind.torch(step.layer.options, row.input)]
        seq = nn.Sequential(*built).double().eval()
        with torch.no_grad():
            for p in seq.parameters():
                p.uniform_(0.5, 1.5)  # positive weights: no accidental zero gradient
        modules[row.number] = seq

    def run(x: Any) -> Any:
        values = {0: x}
        for row, step in zip(report.rows, report.steps):
            if step.layer is not None:
                values[row.number] = modules[row.number](values[step.inputs[0]])
                continue
            xs = [values[i] for i in step.inputs]
            for k, want in enumerate(row.inputs):
                have = tuple(xs[k].shape[2:])
                if have == want.spatial:
                    continue
                if step.fit is not None and step.fit.name == "crop" and k == 1:
                    cut = tuple(slice((n - t) // 2, (n - t) // 2 + t) for n, t in zip(have, want.spatial))
                    xs[k] = xs[k][(slice(None), slice(None), *cut)]
                elif step.fit is not None and step.fit.name == "pad" and k == 0:
                    pads: list[int] = []
                    for n, t in reversed(list(zip(want.spatial, have))):
                        pads += [(n - t) // 2, (n - t) - (n - t) // 2]
                    xs[k] = nn.functional.pad(xs[k], tuple(pads))
            if row.kind == "concat":
                values[row.number] = torch.cat(xs, 1)
            elif row.kind in ("mul", "scale"):  # a gate of size 1 broadcasts
                values[row.number] = math.prod(xs[1:], start=xs[0])
            else:
                values[row.number] = sum(xs)
        return values[report.result]

    return run


def gradient_hulls(run: Any, dims: list[int], pixel: tuple[int, ...]) -> list[tuple[int, int] | None]:
    """Per axis, the hull of input positions whose gradient is non-zero for one output pixel."""
    x = torch.ones(1, dims[-1], *dims[:-1], dtype=torch.float64, requires_grad=True)
    y = run(x)
    y[(0, slice(None), *pixel)].sum().backward()
    nonzero = (x.grad[0] != 0).any(dim=0).nonzero()
    if len(nonzero) == 0:
        return [None] * len(pixel)
    return [(int(nonzero[:, a].min()), int(nonzero[:, a].max())) for a in range(len(pixel))]


C = 2  # channels everywhere, so that any two tensors of one size can be added


@st.composite
def stack_layer(draw: Any, rank: int, joins: bool) -> Any:
    """One layer of a random stack.  ``joins`` (2-D): nothing that leaves a field empty on one axis."""
    safe = rank == 2 and joins  # see the module doc of convcalc.engine.receptive: axes are independent
    kinds = ["conv", "avgpool", "deconv", "upsample", "adaptive", "crop"]
    if not safe:
        kinds.append("pad")
    if joins:
        kinds += ["residual", "concat", "skip"]
    kind = draw(st.sampled_from(kinds))
    k = draw(st.integers(1, 4))
    if kind == "conv":
        d = 1 if safe else draw(st.integers(1, 2))
        limit = k - 1 if safe else k + 1
        pad = [[draw(st.integers(0, limit)), draw(st.integers(0, limit))] for _ in range(rank)]
        return {"conv": {"out": C, "kernel": k, "stride": draw(st.integers(1, 3)), "padding": pad, "dilation": d}}
    if kind == "avgpool":
        return {
            "avgpool": {
                "kernel": k,
                "stride": draw(st.integers(1, 3)),
                "padding": draw(st.integers(0, k // 2)),
                "ceil_mode": draw(st.booleans()),
            }
        }
    if kind == "deconv":
        s = draw(st.integers(1, 3))
        if safe:
            k = max(k, s)
        op = 0 if safe else draw(st.integers(0, s - 1))
        pad = draw(st.integers(0, k - 1))
        return {
            "deconv": {
                "out": C,
                "kernel": k,
                "stride": s,
                "padding": pad,
                "output_padding": op,
                "dilation": 1 if safe else draw(st.integers(1, 2)),
            }
        }
    if kind == "upsample":
        modes = ["nearest", "nearest-exact", "linear" if rank == 1 else "bilinear"]
        mode = draw(st.sampled_from(modes))
        opts: dict[str, Any] = {"mode": mode}
        if draw(st.booleans()):
            opts["scale"] = draw(st.sampled_from([2, 3, 1.5, 2.5, 0.5, 0.75, 1.25]))
        else:
            opts["size"] = draw(st.integers(2, 20))
        if mode not in ("nearest", "nearest-exact"):
            opts["align_corners"] = draw(st.booleans())
        return {"upsample": opts}
    if kind == "adaptive":
        return {"adaptive_pool": {"out_size": draw(st.integers(1, 8))}}
    if kind == "crop":
        return {"crop": {"to": draw(st.integers(2, 12))}}
    if kind == "pad":
        return {"pad": {"padding": [[draw(st.integers(0, 3)), draw(st.integers(0, 3))] for _ in range(rank)]}}
    # joins
    m = draw(st.integers(0, 2))
    same = {"conv": {"out": C, "kernel": 2 * m + 1, "padding": m}}
    if kind == "residual":
        return {"residual": {"body": [same]}}
    if kind == "concat":
        return {"concat": [[], [same], [{"avgpool": {"kernel": 3, "stride": 1, "padding": 1}}]]}
    return {"skip": draw(st.integers(0, 5)), "fit": draw(st.sampled_from(["crop", "pad"] if not safe else ["crop"]))}


def named(layers: list[Any]) -> list[Any]:
    """Name every layer l0, l1, …; a drawn skip becomes an add or concat with an earlier layer."""
    out: list[Any] = []
    for i, layer in enumerate(layers):
        if "skip" in layer:
            if i == 0:
                continue
            target = f"l{layer['skip'] % i}"
            op = "add" if i % 2 else "concat"
            out.append({op: {"with": target, "fit": layer["fit"], "name": f"l{i}"}})
            continue
        ((kind, opts),) = layer.items()
        if kind == "concat":
            opts = {"branches": opts}
        out.append({kind: {**opts, "name": f"l{i}"}})
    return out


def check_against_torch(dims: list[int], layers: list[Any], every: bool) -> bool:
    """False when the stack is invalid or too large to check."""
    try:
        report = report_of(dims, named(layers), "float64")
    except SpecError:
        return False
    rank = report.input.rank
    out = report.output.spatial
    if report.output.is_flat or math.prod(out) > 400:
        return False
    run = torch_model(report)
    x = torch.ones(1, dims[-1], *dims[:-1], dtype=torch.float64)
    assert tuple(run(x).shape[2:]) == out
    clipped = [positions(report, report.result, a, clip=True) for a in range(rank)]
    wide = [positions(report, report.result, a) for a in range(rank)]
    sizes = report.input.spatial
    for a in range(rank):  # what a run reads lies within the reported (unbounded-grid) field
        for c, w in zip(clipped[a], wide[a]):
            if c is not None:
                assert w is not None and w[0] <= c[0] and c[1] <= w[1]
                assert 0 <= c[0] and c[1] < sizes[a]
    if rank == 1:
        pixels = [(q,) for q in range(out[0])]
    else:
        picks = [sorted({0, 1, n // 2, n - 2, n - 1} & set(range(n))) for n in out]
        empties = [[q for q, h in enumerate(clipped[a]) if h is None][:2] for a in range(2)]
        pixels = [(i, j) for i in sorted(set(picks[0] + empties[0])) for j in sorted(set(picks[1] + empties[1]))]
        if not every:
            pixels = pixels[:12]
    for pixel in pixels:
        got = gradient_hulls(run, dims, pixel)
        ours = [clipped[a][q] for a, q in enumerate(pixel)]
        if any(h is None for h in ours):
            assert all(g is None for g in got), (pixel, got, ours, layers)
        else:
            assert got == ours, (pixel, got, ours, layers)
    return True


@needs_torch
@settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    st.integers(3, 14),
    st.booleans().flatmap(
        lambda joins: st.tuples(st.just(joins), st.lists(stack_layer(1, joins), min_size=1, max_size=6))
    ),
)
def test_1d_stacks_match_torch_gradients(n: int, drawn: Any) -> None:
    _joins, layers = drawn
    assume(check_against_torch([n, C], layers, every=True))


@needs_torch
@settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    st.lists(st.integers(3, 9), min_size=2, max_size=2),
    st.booleans().flatmap(
        lambda joins: st.tuples(st.just(joins), st.lists(stack_layer(2, joins), min_size=1, max_size=5))
    ),
)
def test_2d_stacks_match_torch_gradients(sizes: list[int], drawn: Any) -> None:
    _joins, layers = drawn
    assume(check_against_torch([*sizes, C], layers, every=False))


@needs_torch
def test_a_chain_with_empty_fields_matches_torch() -> None:
    """Explicitly: kernel < stride in the middle of a chain, and residuals that keep the holes."""
    layers = [
        {"conv": {"out": C, "kernel": 3, "padding": 1}},
        {"deconv": {"out": C, "kernel": 1, "stride": 3}},
        {"residual": {"body": [{"conv": {"out": C, "kernel": 1}}]}},
        {"upsample": {"scale": 1.5, "mode": "linear"}},
        {"deconv": {"out": C, "kernel": 2, "stride": 2, "dilation": 2}},
    ]
    assert check_against_torch([7, C], layers, every=True)
    report = report_of([7, C], layers)
    a = receptive_fields(report).rows[-1].axes[0]
    assert a.min == 0 and a.empty > 0 and a.max > 0


@needs_torch
@pytest.mark.parametrize("rank", [1, 2])
def test_a_squeeze_excitation_gate_makes_the_field_global(rank: int) -> None:
    # The gate is a global pool's: every output of `scale` (and of a later `mul` with the gate
    # first) depends on every input position, with the jump of the gated tensor.
    # (no sigmoid: with the test's positive weights it saturates to exactly 1.0 and the gradient vanishes)
    gate = [{"global_pool": {}}, {"conv": {"out": C, "kernel": 1}}, {"relu": {}}]
    layers = [
        {"conv": {"out": C, "kernel": 3, "stride": 2}},
        {"scale": {"body": gate}},
        {"conv": {"out": C, "kernel": 3}},
    ]
    dims = [9, C] if rank == 1 else [9, 7, C]
    assert check_against_torch(dims, layers, every=True)
    fields = receptive_fields(report_of(dims, named(layers)))
    se = fields.rows[-2].axes[0]
    assert (se.min, se.max, se.jump) == (9, 9, 2)  # all 9 input positions (no padding); the stride's jump
    layers = [{"conv": {"out": C, "kernel": 1}}, *gate, {"mul": {"with": "l0"}}]  # the gate first
    assert check_against_torch(dims, layers, every=True)


@needs_torch
@pytest.mark.parametrize("fit", ["crop", "pad"])
@pytest.mark.parametrize("n", [9, 10, 11])
def test_skips_with_odd_differences_match_torch(fit: str, n: int) -> None:
    if fit == "crop":  # l0 cropped to l2, then l1 to l4 (with holes)
        layers = [
            {"pad": {"padding": [[1, 0]]}},
            {"conv": {"out": C, "kernel": 2}},
            {"conv": {"out": C, "kernel": 4, "stride": 2}},
            {"skip": 0, "fit": fit},
            {"deconv": {"out": C, "kernel": 1, "stride": 2}},
            {"skip": 1, "fit": fit},
        ]
    else:  # the current tensor padded up to l0, twice
        layers = [
            {"conv": {"out": C, "kernel": 3}},
            {"conv": {"out": C, "kernel": 4, "stride": 2}},
            {"skip": 0, "fit": fit},
            {"conv": {"out": C, "kernel": 2}},
            {"skip": 0, "fit": fit},
        ]
    assert check_against_torch([n, C], layers, every=True)


UPSAMPLE_CASES = [
    (mode, rank, align, n, how)
    for mode, rank in (
        ("nearest", 1),
        ("nearest-exact", 1),
        ("linear", 1),
        ("bilinear", 2),
        ("bicubic", 2),
        ("area", 1),
    )
    for align in ((False, True) if mode in ("linear", "bilinear", "bicubic") else (False,))
    for n in (1, 2, 3, 5, 7)
    for how in (
        ("scale", 2),
        ("scale", 3),
        ("scale", 1.5),
        ("scale", 2.5),
        ("scale", 0.5),
        ("scale", 1.4),
        ("scale", 1.1),
        ("size", 10),
        ("size", 4),
        ("size", 13),
    )
]


@needs_torch
@pytest.mark.parametrize("double", [False, True])
def test_upsampling_indices_match_torch(double: bool) -> None:
    """Which inputs each output reads (non-zero weight), float32 and float64, clamped at the edges."""
    dtype = torch.float64 if double else torch.float32
    for mode, rank, align, n, (how, value) in UPSAMPLE_CASES:
        if how == "scale":
            size, scale = math.floor(float(n) * float(value)), float(value)
            if size < 1:
                continue
            args: dict[str, Any] = {"scale_factor": (scale,) * rank}
        else:
            size, scale, args = int(value), None, {"size": (int(value),) * rank}
        if mode in ("linear", "bilinear", "bicubic"):
            args["align_corners"] = align
        x = torch.ones((1, 1) + (n,) * rank, dtype=dtype, requires_grad=True)
        y = nn.Upsample(mode=mode, **args)(x)
        up = Upsampling(mode, align, scale, n, size, double)
        for q in range(size):
            x.grad = None
            y[(0, 0) + (q,) * rank].backward(retain_graph=True)
            got = sorted({int(i) for i in (x.grad[0, 0] != 0).nonzero()[:, -1]})  # the last axis's projection
            assert got == sorted(set(up.sources(q, True))), (mode, align, n, how, value, q, double)


# --- 3. the command line ------------------------------------------------------------------------


def show(*args: str, text: str = CONVNET) -> Any:
    """``convcalc show - ARGS`` on ``text`` (the ConvNet of specs/convnet.yaml), which must succeed."""
    result = run("show", "-", *args, input=text)
    expect_exit(result, 0)
    return result


def test_show_rf_table() -> None:
    out = show("--rf").stdout
    assert "RF (H×W)" in out
    lines = {line.split()[1]: line for line in out.splitlines() if line.strip()[:1].isdigit()}
    assert lines["conv1"].rstrip().endswith("5×5 /1")
    assert lines["pool1"].rstrip().endswith("6×6 /2")
    assert lines["conv2"].rstrip().endswith("10×10 /2")
    assert lines["flatten1"].rstrip().endswith("all")
    assert "receptive field:" in out
    assert "RF (" not in show().stdout


def test_show_rf_json() -> None:
    doc = json.loads(show("--rf", "-f", "json").stdout)
    conv2 = doc["layers"][2]
    assert conv2["rf"] == [
        {"axis": "H", "min": 10, "max": 10, "jump": "2", "start": "4.5", "empty": 0, "flat": False},
        {"axis": "W", "min": 10, "max": 10, "jump": "2", "start": "4.5", "empty": 0, "flat": False},
    ]
    assert doc["layers"][4]["rf"][0]["flat"] and doc["layers"][4]["rf"][0]["jump"] is None
    assert doc["rf_notes"] == []
    plain = json.loads(show("-f", "json").stdout)
    assert "rf" not in plain["layers"][0] and "rf_notes" not in plain
    # keys are only added: everything else is unchanged
    for with_rf, without in zip(doc["layers"], plain["layers"]):
        assert {k: v for k, v in with_rf.items() if k != "rf"} == without


def test_show_rf_fractional_jump_and_empty_fields() -> None:
    text = "input: 6x2\nlayers:\n  - deconv: {out: 2, kernel: 2, stride: 3}\n"
    doc = json.loads(show("--rf", "-f", "json", text=text).stdout)
    assert doc["layers"][0]["rf"] == [
        {"axis": "L", "min": 0, "max": 1, "jump": "1/3", "start": "0", "empty": 5, "flat": False}
    ]
    out = show("--rf", text=text).stdout
    assert "RF (L)" in out and "0–1 /(1/3) ∅" in out


def test_show_rf_csv() -> None:
    rows = show("--rf", "-f", "csv").stdout.splitlines()
    assert rows[0].endswith(",rf_min,rf_max,jump,start")
    assert rows[3].endswith(",10x10,10x10,2x2,4.5x4.5")
    assert "rf_min" not in show("-f", "csv").stdout
    assert "\trf_min\t" in show("--rf", "-f", "tsv").stdout


def test_show_rf_markdown() -> None:
    out = show("--rf", "-f", "markdown").stdout
    assert "| RF (H×W) |" in out and "| 10×10 /2 |" in out


def test_rows_from_tokens_on_are_flat() -> None:
    # a token sequence has no geometry, and neither has the map untokens lays it out on
    report = report_of([8, 8, 3], [{"conv": {"out": 4, "kernel": 2, "stride": 2}}, "tokens", {"attention": {"heads": 2}},
                                   {"untokens": {"size": [4, 4]}}, {"conv": {"out": 2, "kernel": 3, "padding": 1}}])
    fields = receptive_fields(report)
    assert [(a.min, a.max, a.jump) for a in fields.rows[0].axes] == [(2, 2, 2)] * 2  # the patches
    for rf in fields.rows[1:]:
        assert all(a.flat and a.jump is None and (a.min, a.max, a.start) == (8, 8, Fraction(7, 2)) for a in rf.axes)
    assert positions(report, 5, 1) == [(0, 7)]

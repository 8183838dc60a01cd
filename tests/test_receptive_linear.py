"""Receptive fields in linear time (``convcalc.engine.receptive``: periodic maps, not index sets).

1. Equal to brute force: on random chains (convs with any padding and dilation, transposed
   convs with kernels shorter than their strides, pools with ceil_mode, adaptive and global
   pools, upsampling in every mode with float scales such as 1.4, 0.29 and 2.5, pads, crops,
   pixel shuffles, residuals, concats of branches whose jumps differ, skips with fit crop and
   pad, flatten), every row's min, max, empty count, start and flatness along every axis equal
   what the per-position index sets of :func:`positions` give.  :func:`positions` is the old
   algorithm kept as it was (brute force over index sets, checked against torch gradients in
   tests/test_receptive.py), so it is the oracle here.
2. The work is counted, not timed: steps (hull look-ups and hulls written) grow linearly with
   the depth of a straight stack, and sizes, paddings and strides of any magnitude cost a
   handful of steps — checked with an explicit small budget, past which :func:`measured` raises.
   Expected values there come from the recurrences r_out = r + d(k − 1)·j, j_out = j·s,
   start_out = start + (d(k − 1)/2 − before)·j, worked out in the comments.
3. Upsampling whose float arithmetic has no exact period is computed position by position
   (and still equals brute force); one read at more positions than are checked follows the
   exact scale's period and says so in a note.
"""

from __future__ import annotations

import json
from fractions import Fraction
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from convcalc.base.errors import SpecError
from convcalc.commands.main import main
from convcalc.engine.evaluate import Report, evaluate
from convcalc.engine.receptive import AxisField, measured, positions, receptive_fields
from convcalc.spec.parser import load_spec

C = 36  # channels: pixel shuffles by 2 and 3 divide it


def report_of(dims: list[int], layers: list[Any], dtype: str = "float32") -> Report:
    return evaluate(load_spec(json.dumps({"input": dims, "dtype": dtype, "layers": layers})))


# --- 1. equal to brute force -------------------------------------------------------------------


def flat_row(report: Report, number: int) -> bool:
    row = report.rows[number - 1]
    return row.output.is_flat or row.input.is_flat or any(s.is_flat for s in row.inputs)


def brute(report: Report, number: int, axis: int) -> tuple[int, int, int, Fraction | None, bool]:
    """(min, max, empty, start, flat) from the per-position hulls, as the old code computed them."""
    hulls = positions(report, number, axis)
    sizes = [h[1] - h[0] + 1 for h in hulls if h is not None]
    empty = len(hulls) - len(sizes)
    first = hulls[0]
    start = None if first is None else Fraction(first[0] + first[1], 2)
    return (min(sizes) if sizes and not empty else 0, max(sizes, default=0), empty, start, flat_row(report, number))


def ours(a: AxisField) -> tuple[int, int, int, Fraction | None, bool]:
    return (a.min, a.max, a.empty, a.start, a.flat)


def assert_brute(report: Report) -> None:
    fields = receptive_fields(report)
    assert len(fields.rows) == len(report.rows)
    for rf in fields.rows:
        assert len(rf.axes) == report.input.rank
        for axis, a in enumerate(rf.axes):
            assert ours(a) == brute(report, rf.row, axis), (report.rows[rf.row - 1].name, a.axis)
    assert not any("float index arithmetic" in n for n in fields.notes)  # small: every position checked


def per_axis(draw: Any, rank: int, low: int, high: int) -> Any:
    return draw(st.one_of(st.integers(low, high), st.lists(st.integers(low, high), min_size=rank, max_size=rank)))


UPSAMPLE_SCALES = [2, 3, 1.4, 0.29, 2.5, 1.5, 0.5, 0.75, 1.1, 1.25, 0.9, 1.7]
LINEAR = {1: "linear", 2: "bilinear", 3: "trilinear"}


@st.composite
def upsample(draw: Any, rank: int) -> Any:
    modes = ["nearest", "nearest-exact", "area", LINEAR[rank]] + (["bicubic"] if rank == 2 else [])
    mode = draw(st.sampled_from(modes))
    opts: dict[str, Any] = {"mode": mode}
    if draw(st.booleans()):
        opts["scale"] = draw(st.sampled_from(UPSAMPLE_SCALES))
    else:
        opts["size"] = per_axis(draw, rank, 1, 30)
    if mode not in ("nearest", "nearest-exact", "area"):
        opts["align_corners"] = draw(st.booleans())
    return {"upsample": opts}


@st.composite
def chain_layer(draw: Any, rank: int) -> Any:
    kinds = ["conv", "conv", "deconv", "deconv", "pool", "adaptive", "upsample", "upsample", "pad", "crop", "join"]
    if rank == 2:
        kinds.append("shuffle")
    kind = draw(st.sampled_from(kinds))
    if kind == "conv":
        k = draw(st.integers(1, 5))
        how = draw(st.sampled_from(["int", "pairs", "same", "valid"]))
        padding: Any = how
        if how == "int":
            padding = draw(st.integers(0, k + 1))
        elif how == "pairs":
            padding = [[draw(st.integers(0, k + 1)), draw(st.integers(0, k + 1))] for _ in range(rank)]
        return {
            "conv": {
                "out": C,
                "kernel": per_axis(draw, rank, 1, 5) if how != "same" else k,
                "stride": draw(st.integers(1, 3)),
                "dilation": draw(st.integers(1, 3)),
                "padding": padding,
            }
        }
    if kind == "deconv":
        s, k = draw(st.integers(1, 4)), draw(st.integers(1, 4))
        if draw(st.integers(0, 4)) == 0:
            same = {"out": C, "kernel": k, "stride": s, "padding": "same", "dilation": draw(st.integers(1, 2))}
            return {"deconv": same}
        return {
            "deconv": {
                "out": C,
                "kernel": k,
                "stride": s,
                "padding": draw(st.integers(0, k - 1)),
                "output_padding": draw(st.integers(0, s - 1)),
                "dilation": draw(st.integers(1, 2)),
            }
        }
    if kind == "pool":
        k = draw(st.integers(1, 4))
        mode = draw(st.sampled_from(["max", "avg"]))
        opts: dict[str, Any] = {
            "mode": mode,
            "kernel": k,
            "stride": draw(st.integers(1, 3)),
            "ceil_mode": draw(st.booleans()),
            "padding": draw(st.one_of(st.integers(0, k // 2), st.just("same"))),
        }
        if mode == "max":
            opts["dilation"] = draw(st.integers(1, 2))
        return {"pool": opts}
    if kind == "adaptive":
        if draw(st.integers(0, 5)) == 0:
            return "global_pool"
        return {"adaptive_pool": {"out_size": per_axis(draw, rank, 1, 9)}}
    if kind == "upsample":
        return draw(upsample(rank))
    if kind == "pad":
        return {"pad": {"padding": [[draw(st.integers(0, 4)), draw(st.integers(0, 4))] for _ in range(rank)]}}
    if kind == "crop":
        return {"crop": {"to": per_axis(draw, rank, 1, 20)}}
    if kind == "shuffle":
        return {"pixel_shuffle": {"factor": draw(st.sampled_from([2, 3]))}}
    join = draw(st.sampled_from(["residual", "concat", "diverging", "skip"]))
    if join == "residual":
        m = draw(st.integers(0, 2))
        body = draw(
            st.sampled_from(
                [
                    [{"depthwise": {"kernel": 2 * m + 1, "padding": m}}],
                    [{"avgpool": {"kernel": 3, "stride": 1, "padding": 1}}],
                    [{"depthwise": {"kernel": 2 * m + 1, "padding": m, "dilation": 2}}, {"pad": {"padding": m}}],
                ]
            )
        )
        return {"residual": {"body": body}}
    if join == "concat":
        m = draw(st.integers(0, 2))
        return {"concat": [[], [{"conv": {"out": 4, "kernel": 2 * m + 1, "padding": m}}], [{"maxpool": {"kernel": 1}}]]}
    if join == "diverging":  # branches of one size whose jumps differ: adaptive pool, upsample, crop
        m = draw(st.integers(1, 12))
        return {
            "concat": [
                [{"adaptive_pool": {"out_size": m}}],
                [{"upsample": {"size": m, "mode": draw(st.sampled_from(["nearest", "area", LINEAR[rank]]))}}],
                [{"crop": {"to": m}}],
            ]
        }
    return {"skip": draw(st.integers(0, 9)), "fit": draw(st.sampled_from(["crop", "pad"]))}


def named(layers: list[Any]) -> list[Any]:
    """Every layer named l0, l1, …; a drawn skip becomes an add or concat with an earlier layer."""
    out: list[Any] = []
    for i, layer in enumerate(layers):
        if isinstance(layer, str):
            out.append({layer: {"name": f"l{i}"}})
            continue
        if "skip" in layer:
            if i == 0:
                continue
            op = "add" if i % 3 == 0 else "concat"
            out.append({op: {"with": f"l{layer['skip'] % i}", "fit": layer["fit"], "name": f"l{i}"}})
            continue
        ((kind, opts),) = layer.items()
        if kind == "concat":
            opts = {"branches": opts}
        out.append({kind: {**opts, "name": f"l{i}"}})
    return out


@st.composite
def chain(draw: Any) -> tuple[list[int], list[Any], str]:
    rank = draw(st.sampled_from([1, 1, 2, 2, 2, 3]))
    square = draw(st.booleans())  # a square input takes the one-axis-for-all path
    sizes = [draw(st.integers(2, 24))] * rank if square else [draw(st.integers(2, 24)) for _ in range(rank)]
    layers = draw(st.lists(chain_layer(rank), min_size=1, max_size=7))
    if draw(st.integers(0, 6)) == 0:
        layers += ["flatten", {"dense": {"out": 3}}]
    return [*sizes, C], layers, draw(st.sampled_from(["float32", "float64"]))


SETTINGS = settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck))


@SETTINGS
@given(chain())
def test_random_chains_equal_brute_force(case: Any) -> None:
    dims, layers, dtype = case
    try:
        report = report_of(dims, named(layers), dtype)
    except SpecError:
        assume(False)
        return
    assume(all(n <= 400 for row in report.rows for n in row.output.spatial))
    assert_brute(report)


@pytest.mark.parametrize(
    "layer",
    [
        {"upsample": {"scale": 3, "mode": "linear"}},  # float32 1/3: one tap or two, irregularly
        {"upsample": {"scale": 0.9, "mode": "nearest-exact"}},
        {"upsample": {"scale": 1.7, "mode": "linear", "align_corners": True}},
        {"upsample": {"scale": 1.4, "mode": "nearest"}},
        {"upsample": {"scale": 0.29, "mode": "linear"}},
        {"upsample": {"scale": 2.5, "mode": "nearest-exact"}},
        {"upsample": {"size": 97, "mode": "linear", "align_corners": True}},
    ],
)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_upsampling_in_a_chain_equals_brute_force(layer: Any, dtype: str) -> None:
    """Periodic or not (then position by position), PyTorch's float map, padded and strided after."""
    layers = [
        {"conv": {"out": 2, "kernel": 3, "padding": 1}},
        layer,
        {"conv": {"out": 2, "kernel": 3, "padding": 4, "dilation": 2}},
        {"deconv": {"out": 2, "kernel": 2, "stride": 3}},
        {"maxpool": {"kernel": 3, "stride": 2, "padding": 1, "ceil_mode": True}},
    ]
    for n in (5, 13, 40, 61):
        assert_brute(report_of([n, 2], layers, dtype))


def test_branches_with_different_jumps_over_many_positions() -> None:
    """A union of maps with different slopes: per residue class, a convex search (vs brute force)."""
    report = report_of(
        [2000, 2],
        [
            {"deconv": {"out": 2, "kernel": 2, "stride": 3}},  # 5998, holes
            {
                "concat": [
                    [{"adaptive_pool": {"out_size": 1500}}],
                    [{"crop": {"to": 1500}}],
                    [{"upsample": {"size": 1500}}],
                ]
            },
            {"conv": {"out": 2, "kernel": 5, "stride": 2, "padding": 3}},
        ],
    )
    assert_brute(report)
    fields = receptive_fields(report)
    assert any("jumps differ" in n for n in fields.notes)


# --- 2. work, not time ---------------------------------------------------------------------------


def stack(layers: int, dims: str = "64x64x3") -> Report:
    return evaluate(
        load_spec(
            f"input: {dims}\nlayers:\n  - conv: {{out: 8, kernel: 3, padding: 1}}\n"
            f"  - repeat: {{times: {layers - 1}, layers: [{{conv: {{out: 8, kernel: 3, padding: 1}}}}]}}\n"
        )
    )


@pytest.mark.parametrize("dims", ["64x64x3", "64x48x3"])
def test_work_grows_linearly_with_depth(dims: str) -> None:
    counts = {}
    for depth in (1_000, 2_000, 10_000):
        fields, work = measured(stack(depth, dims))
        counts[depth] = work.steps
        assert max(work.per_row) <= 16  # a handful of steps a row, whatever its depth
        # r = 1 + 2·depth (each 3×3 conv adds 2·j, j = 1), centred on 0 (before = 1 = (k − 1)/2)
        last = fields.rows[-1].axes
        assert [(a.min, a.max, a.jump, a.start, a.empty) for a in last] == [(1 + 2 * depth, 1 + 2 * depth, 1, 0, 0)] * 2
    assert counts[2_000] <= 2.1 * counts[1_000]
    assert counts[10_000] <= 10.5 * counts[1_000]


BUDGET = 2_000  # steps: ample for a dozen rows of period 1, far below anything that walks a size
# an upsample read at more than 2¹⁶ positions: one period and windows of 2¹⁴ positions at both
# ends of what is read and of the tensor (≈ 2¹⁶ float evaluations, 8 steps each)
CHECKED_STEPS = 8 * 70_000


def test_an_input_of_a_billion_costs_what_a_small_one_costs() -> None:
    spec = """
input: 1000000000x1000000000x3
layers:
  - conv: {out: 8, kernel: 3, padding: 1}             # r 3, j 1, start 0 + (1 − 1)·1 = 0
  - conv: {out: 8, kernel: 3, stride: 2, padding: 1}  # r 3 + 2·1 = 5, j 2, start 0
  - conv: {out: 8, kernel: 4, stride: 2}              # r 5 + 3·2 = 11, j 4, start 0 + (3/2 − 0)·2 = 3
  - maxpool: {kernel: 3, stride: 2, dilation: 2}      # r 11 + 2·2·4 = 27, j 8, start 3 + (2 − 0)·4 = 11
  - global_pool                                       # reads every position of its input (n of them)
  - flatten
"""
    report = evaluate(load_spec(spec))
    fields, work = measured(report, budget=BUDGET)
    expected = [(3, 1, 0), (5, 2, 0), (11, 4, 3), (27, 8, 11)]
    for rf, (r, j, start) in zip(fields.rows, expected):
        for a in rf.axes:
            assert (a.min, a.max, a.jump, a.start, a.empty) == (r, r, j, start, 0)
    # the pool's input has n positions, n = ⌊(⌊(10⁹ − 1)/2⌋ + 1 − 4)/2⌋ + 1 = 249999999 after the
    # strided convs, then (n − 1 − 4)/2 + 1 after the pool; the global pool's field is
    # r + (n_pool − 1)·j, centred on the middle of the first and last fields
    n = ((10**9 - 1) // 2 + 1 - 4) // 2 + 1
    n_pool = (n - 1 - 4) // 2 + 1
    assert n_pool == report.rows[3].output.spatial[0]
    gap = fields.rows[4].axes[0]
    assert (gap.min, gap.max, gap.jump) == (27 + (n_pool - 1) * 8, 27 + (n_pool - 1) * 8, 8 * n_pool)
    assert gap.start == 11 + Fraction((n_pool - 1) * 8, 2)
    assert fields.rows[5].axes[0].flat and fields.rows[5].axes[0].max == 27 + (n_pool - 1) * 8
    assert work.steps <= BUDGET


def test_a_padding_of_ten_to_the_eighteen_costs_nothing() -> None:
    p = 10**18
    spec = f"""
input: 8x8x3
layers:
  - conv: {{out: 4, kernel: 3, padding: {p}}}   # r 3, j 1, start 0 + (1 − p)·1 = 1 − p
  - pad: {{padding: {p}}}                        # r 3, start 1 − p − p
  - conv: {{out: 4, kernel: 5, stride: 3}}       # r 3 + 4 = 7, j 3, start 1 − 2p + 2 = 3 − 2p
  - deconv: {{out: 4, kernel: 3, stride: 3}}     # q reads input q // 3 alone: r 7, j 1, start 3 − 2p
  - avgpool: {{kernel: 2, stride: 1}}            # q, q + 1: the same input or the next: r 7 or 7 + 3
"""
    report = evaluate(load_spec(spec))
    fields, work = measured(report, budget=BUDGET)
    got = [[(a.min, a.max, a.jump, a.start, a.empty) for a in rf.axes] for rf in fields.rows]
    assert got[0] == [(3, 3, 1, 1 - p, 0)] * 2
    assert got[1] == [(3, 3, 1, 1 - 2 * p, 0)] * 2
    assert got[2] == [(7, 7, 3, 3 - 2 * p, 0)] * 2
    assert got[3] == [(7, 7, Fraction(1), 3 - 2 * p, 0)] * 2
    assert got[4] == [(7, 10, 1, 3 - 2 * p, 0)] * 2
    assert work.steps <= BUDGET


def test_an_input_side_of_a_million_with_transposed_convs_and_upsampling() -> None:
    spec = """
input: 1000000x3
layers:
  - conv: {out: 4, kernel: 3, padding: 1}                # r 3, j 1, start 0
  - deconv: {out: 4, kernel: 4, stride: 2, padding: 1}   # see below: r 3 + 1, j 1/2, start −1/2
  - upsample: {scale: 2}                                 # q reads q // 2 (nearest ×2): r 4, j 1/4
  - upsample: {scale: 2, mode: linear}                   # src (q + 1/2)/2 − 1/2: two taps, 1/4 apart
  - conv: {out: 4, kernel: 3, stride: 4}                 # r 4 + 1/4 + 2·1/4 .. see below
  - adaptive_pool: {out_size: 1000}                      # bins of 2000 positions
"""
    # deconv k4 s2 p1: output q reads the inputs p with 2p ∈ [q + 1 − 3, q + 1]: two neighbours
    # (t − 1, t for q = 2t; t, t + 1 for q = 2t + 1), so r = 3 + 1 = 4 everywhere, start −1/2.
    report = evaluate(load_spec(spec))
    fields, work = measured(report, budget=CHECKED_STEPS)  # the linear upsample is checked at 2¹⁶ positions
    a = [rf.axes[0] for rf in fields.rows]
    assert (a[0].min, a[0].max, a[0].jump, a[0].start) == (3, 3, 1, 0)
    assert (a[1].min, a[1].max, a[1].jump, a[1].start) == (4, 4, Fraction(1, 2), Fraction(-1, 2))
    # nearest ×2: every output copies one deconv output
    assert (a[2].min, a[2].max, a[2].jump, a[2].start) == (4, 4, Fraction(1, 4), Fraction(-1, 2))
    # linear ×2 (ratio 1/2 exactly): q = 0 reads u = −1/4 → taps −1, 0; q = 1 reads 1/4 → 0, 1:
    # two nearest-×2 outputs, which are the same deconv output or neighbours (fields 4 and 5 wide)
    assert (a[3].min, a[3].max, a[3].jump) == (4, 5, Fraction(1, 8))
    # positions near both ends, against brute force on a short input of the same chain
    short = evaluate(load_spec(spec.replace("1000000x3", "1000x3").replace("out_size: 1000", "out_size: 1")))
    for number in (1, 2, 3, 4, 5):
        b = fields.rows[number - 1].axes[0]
        want = brute(short, number, 0)
        assert (b.min, b.max, b.start) == want[:2] + (want[3],)


def test_strides_cost_their_period_and_a_budget_stops_the_rest() -> None:
    # a transposed conv of stride 1000 with kernel 1: output q reads q/1000 when 1000 divides it
    report = report_of([5, 1], [{"deconv": {"out": 1, "kernel": 1, "stride": 1000}}])
    fields, work = measured(report, budget=10_000)
    a = fields.rows[0].axes[0]
    assert (a.min, a.max, a.empty, a.jump, a.start) == (0, 1, 4001 - 5, Fraction(1, 1000), 0)
    huge = report_of([5, 1], [{"deconv": {"out": 1, "kernel": 1, "stride": 10**7}}])
    with pytest.raises(SpecError, match="steps to compute"):
        measured(huge, budget=10_000)


HUGE = "input: 1000000000x1000000000x3\nlayers:\n  - conv: {out: 4, kernel: 3, padding: 1}\n  - global_pool\n"


def huge_document() -> Any:
    result = CliRunner().invoke(main, ["show", "-", "--rf", "-f", "json"], input=HUGE, prog_name="convcalc")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_the_command_line_on_huge_sizes() -> None:
    doc = huge_document()
    # the global pool: 3 + (10⁹ − 1)·1, centred on (−1 + 10⁹)/2
    got = doc["layers"][1]["rf"][0]
    assert {k: v for k, v in got.items() if k != "start"} == {
        "axis": "H",
        "min": 10**9 + 2,
        "max": 10**9 + 2,
        "jump": str(10**9),
        "empty": 0,
        "flat": False,
    }
    a = receptive_fields(evaluate(load_spec(HUGE))).rows[1].axes[0]
    assert a.start == Fraction(10**9 - 1, 2)


def test_the_command_line_prints_a_huge_start_exactly() -> None:
    assert huge_document()["layers"][1]["rf"][0]["start"] == "499999999.5"


# --- 3. float upsampling read at many positions ----------------------------------------------------


def test_a_float_map_read_at_millions_of_positions_follows_the_exact_scale() -> None:
    """nearest ×1.4 in float32 drifts from ⌊5q/7⌋ beyond 2²⁴; the field follows 7/5, with a note."""
    report = report_of([20_000_000, 1], [{"upsample": {"scale": 1.4}}, {"conv": {"out": 1, "kernel": 3}}])
    fields, work = measured(report)
    assert work.steps <= CHECKED_STEPS
    up, conv = (rf.axes[0] for rf in fields.rows)
    # ⌊5q/7⌋: one input each, jump 5/7; three neighbours read two or three inputs (0, 0, 1, 2, …)
    assert (up.min, up.max, up.jump, up.start) == (1, 1, Fraction(5, 7), 0)
    assert (conv.min, conv.max, conv.jump) == (2, 3, Fraction(5, 7))
    assert any("float index arithmetic does not repeat every 7 positions" in n for n in fields.notes)


def test_a_periodic_float_map_is_checked_and_costs_its_period() -> None:
    report = report_of(
        [1_000_000, 1], [{"upsample": {"scale": 2, "mode": "linear"}}, {"conv": {"out": 1, "kernel": 3}}]
    )
    fields, work = measured(report)
    assert not fields.notes
    assert work.steps <= CHECKED_STEPS
    up, conv = (rf.axes[0] for rf in fields.rows)
    # ratio 1/2: q reads (q + 1/2)/2 − 1/2 = q/2 − 1/4: taps ⌊q/2 − 1/4⌋ and the next
    assert (up.min, up.max, up.jump, up.start) == (2, 2, Fraction(1, 2), Fraction(-1, 2))
    assert (conv.min, conv.max) == (3, 3)


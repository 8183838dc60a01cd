"""The input-size solver against brute force, and its answers on the zoo.

Brute force is the oracle: evaluate the spec for every size 1..N on one axis and classify each
size by the flags and errors the evaluator reports.  The solver must give exactly that set.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from convcalc.base.errors import SpecError
from convcalc.engine.evaluate import Report, evaluate
from convcalc.engine.solve import Progression, inverse, solve
from convcalc.spec.parser import Spec, load_spec

from helpers import CONVNET_PATH, run, spec_path

N = 70  # brute force up to this size


def members(items: list[Progression], limit: int) -> set[int]:
    return {n for n in range(1, limit + 1) if any(n in p for p in items)}


def at_size(spec: Spec, axis: int, n: int) -> Report | None:
    assert spec.input is not None
    dims = list(spec.input)
    dims[axis] = n
    try:
        return evaluate(spec, input=dims)
    except SpecError:
        return None


def fixed_sizes(spec: Spec, axis: int) -> dict[str, int]:
    """Flattens followed later by a dense layer keep their own input size (the weights fix it)."""
    report = evaluate(spec)
    out = {}
    for i, row in enumerate(report.rows):
        if row.kind == "flatten" and not row.input.is_flat and any(r.kind == "dense" for r in report.rows[i:]):
            out[row.name] = row.input.spatial[axis]
    return out


def brute(spec: Spec, axis: int, limit: int = N) -> dict[str, set[int]]:
    assert spec.input is not None
    name = ("L",) if len(spec.input) == 2 else ("H", "W", "D")
    axis_name = {2: ("L",), 3: ("H", "W"), 4: ("D", "H", "W")}[len(spec.input)][axis]
    fixed = fixed_sizes(spec, axis)
    del name
    out: dict[str, set[int]] = {"clean": set(), "exact": set()}
    for n in range(1, limit + 1):
        report = at_size(spec, axis, n)
        if report is None:
            continue
        if any(r.name in fixed and r.input.spatial[axis] != fixed[r.name] for r in report.rows):
            continue
        flags = [f for f in report.flags if f.axis == axis_name]
        if not any(f.severity == "warning" and not f.accepted for f in flags):
            out["clean"].add(n)
        if not flags:
            out["exact"].add(n)
    return out


def assert_matches_brute(spec: Spec) -> None:
    answer = solve(spec)
    for axis, solution in enumerate(answer.solutions):
        truth = brute(spec, axis)
        for level in ("clean", "exact"):
            got = members(solution.levels[level].progressions, N)
            assert got == truth[level], (
                f"{solution.axis} {level}: solver {sorted(got)} brute {sorted(truth[level])}\n"
                f"solver says: {solution.levels[level].text}"
            )


# --- random networks ---------------------------------------------------------------------------

PAD = st.one_of(st.integers(0, 2), st.just("same"), st.just("valid"))


@st.composite
def leaf(draw: st.DrawFn) -> dict[str, object]:
    kind = draw(st.sampled_from(["conv", "conv", "pool", "deconv", "upsample", "pad", "dil", "ceil"]))
    if kind == "conv":
        return {"conv": {"out": 2, "kernel": draw(st.integers(1, 5)), "stride": draw(st.integers(1, 3)),
                         "padding": draw(PAD)}}
    if kind == "dil":
        return {"conv": {"out": 2, "kernel": 3, "dilation": 2, "stride": draw(st.integers(1, 2)),
                         "padding": draw(st.integers(0, 2))}}
    if kind == "pool":
        k = draw(st.integers(2, 3))
        return {"pool": {"kernel": k, "stride": draw(st.integers(1, 3)), "padding": draw(st.integers(0, k // 2))}}
    if kind == "ceil":
        k = draw(st.integers(2, 3))
        return {"pool": {"kernel": k, "stride": draw(st.integers(2, 3)), "padding": draw(st.integers(0, k // 2)),
                         "ceil_mode": True}}
    if kind == "deconv":
        s = draw(st.integers(1, 3))
        return {"deconv": {"out": 2, "kernel": draw(st.integers(1, 4)), "stride": s,
                           "padding": draw(st.integers(0, 1)), "output_padding": draw(st.integers(0, s - 1))}}
    if kind == "upsample":
        return {"upsample": {"scale": draw(st.sampled_from([2, 3, 0.5, 1.5, 0.75]))}}
    return {"pad": {"padding": [[draw(st.integers(0, 2)), draw(st.integers(0, 2))]]}}


@st.composite
def network(draw: st.DrawFn) -> list[object]:
    layers: list[object] = [{"conv": {"out": 2, "kernel": 1, "name": "stem"}}]
    for _ in range(draw(st.integers(1, 4))):
        shape = draw(st.sampled_from(["leaf", "leaf", "residual", "concat", "skip"]))
        if shape == "leaf":
            layers.append(draw(leaf()))
        elif shape == "residual":
            layers.append({"residual": {"body": [draw(leaf())], "shortcut": [draw(leaf())]}})
        elif shape == "concat":
            layers.append({"concat": [[draw(leaf())], [draw(leaf())]]})
        else:
            fit = draw(st.sampled_from([None, "crop", "pad"]))
            layers.append({"add": {"with": "stem", **({"fit": fit} if fit else {})}})
    if draw(st.booleans()):
        layers += ["flatten", {"dense": {"out": 3}}]
    return layers


def first_valid(layers: list[object], rank: int) -> Spec | None:
    """The spec at the first size from 24 up that evaluates (solve needs the structure once)."""
    for n in (24, 32, 40, 17, 50, 64):
        text = json.dumps({"input": [n] * rank + [2], "layers": layers})
        spec = load_spec(text)
        try:
            evaluate(spec)
        except SpecError:
            continue
        return spec
    return None


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(network())
def test_solver_matches_brute_force_1d(layers: list[object]) -> None:
    spec = first_valid(layers, 1)
    if spec is not None:
        assert_matches_brute(spec)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(network())
def test_solver_matches_brute_force_2d(layers: list[object]) -> None:
    spec = first_valid(layers, 2)
    if spec is not None:
        assert_matches_brute(spec)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(network(), st.data())
def test_inverse_matches_brute_force(layers: list[object], data: st.DataObject) -> None:
    spec = first_valid(layers, 1)
    if spec is None:
        return
    report = evaluate(spec)
    spatial = [r for r in report.rows if not r.output.is_flat]
    if not spatial:
        return
    row = data.draw(st.sampled_from(spatial))
    number = report.rows.index(row)
    target = data.draw(st.integers(1, 40))
    answer = inverse(spec, [target], row.name)
    (solution,) = answer.solutions
    truth: dict[str, set[int]] = {"exact": set(), "floored": set()}
    for n in range(1, N + 1):
        at = at_size(spec, 0, n)
        if at is None or at.rows[number].output.spatial[0] != target:
            continue
        flagged = any(f.axis == "L" for r in at.rows[: number + 1] for f in r.flags)
        truth["floored" if flagged else "exact"].add(n)
    for level in ("exact", "floored"):
        got = members(solution.levels[level].progressions, N)
        assert got == truth[level], (level, sorted(got), sorted(truth[level]))


# --- the zoo ---------------------------------------------------------------------------------


def zoo(name: str) -> Spec:
    return load_spec(spec_path(name).read_bytes())


def test_resnet50_exact_is_32k_plus_1_and_224_is_clean() -> None:
    answer = solve(zoo("resnet50.yaml"))
    h = answer.solutions[0]
    assert h.levels["exact"].text == "H = 32k + 1, k ≥ 0"
    assert (h.levels["exact"].below, h.levels["exact"].above) == (193, 225)
    assert 224 in h.levels["clean"].progressions[0]


def test_unet_accepts_16k_plus_12() -> None:
    answer = solve(zoo("unet.yaml"))
    # 572 → 388: four unpadded double-conv + pool stages; sizes 188, 204, …, 572, … (16k + 12 from 188)
    assert answer.solutions[0].levels["clean"].text == "H = 16k + 12, k ≥ 11"


def test_convnet_dense_fixes_the_input() -> None:
    answer = solve(zoo("convnet.yaml"))
    assert answer.solutions[0].levels["exact"].text == "28"
    assert any("flatten1 feeds a dense layer" in n for n in answer.notes)


def test_convnet_inverse_at_conv2() -> None:
    answer = inverse(zoo("convnet.yaml"), [10, 10], "conv2")
    assert [(s.levels["exact"].text, s.levels["floored"].text) for s in answer.solutions] == [("28", "29")] * 2


def test_convnet_inverse_at_flatten_lists_28x28() -> None:
    answer = inverse(zoo("convnet.yaml"), [2000], "flatten1")
    pairs = {s.axis: s.levels["exact"].text for s in answer.solutions}
    assert pairs["H (for 10×10)"] == "28" and pairs["W (for 10×10)"] == "28"


def test_huge_sizes_are_answered_structurally() -> None:
    answer = solve(zoo("resnet50.yaml"), input="1000000001x1000000001x3")
    assert answer.solutions[0].levels["exact"].below == 1_000_000_001  # 32·31,250,000 + 1


def test_cli_solve_text_and_json() -> None:
    result = run("solve", str(spec_path("resnet50.yaml")))
    assert result.exit_code == 0, result.output
    assert "exact (every size divides evenly): H = 32k + 1, k ≥ 0  [nearest to 224: 193 below, 225 above]" in result.stdout
    result = run("solve", str(CONVNET_PATH), "--at", "conv2", "--output", "10x10", "-f", "json")
    doc = json.loads(result.stdout)
    assert doc["question"] == "inverse" and doc["axes"][0]["levels"]["exact"]["progressions"] == [
        {"start": 28, "step": 1, "stop": 28}]


def test_cli_solve_errors() -> None:
    result = run("solve", str(CONVNET_PATH), "--at", "conv9", "--output", "3x3")
    assert result.exit_code == 2 and "no layer is named 'conv9'" in result.stderr
    with pytest.raises(SpecError, match="give 2 sizes"):
        inverse(zoo("convnet.yaml"), [10], "conv2")


# --- token sequences ---------------------------------------------------------------------------

# 4×4 patches, then tokens: a dense layer on each token fixes only the channels
TOKEN_NET: list[object] = [{"conv": {"out": 8, "kernel": 4, "stride": 4}}, "tokens", {"attention": {"heads": 2}},
                           {"dense": {"out": 6}}]


@pytest.mark.parametrize(
    "end",
    [
        [{"token_pool": {"mode": "mean"}}, {"dense": {"out": 3}}],  # any number of tokens
        ["flatten", {"dense": {"out": 3}}],  # the dense weights hold N·C values: the grid is fixed
        [{"untokens": {"size": [8, 8]}}, {"conv": {"out": 2, "kernel": 3}}],  # 8×8 patches, no other grid
    ],
)
def test_token_networks_match_brute_force(end: list[object]) -> None:
    spec = load_spec(json.dumps({"input": [32, 32, 3], "layers": TOKEN_NET + end}))
    if end[0] == "flatten":  # brute force knows flatten + dense; on tokens the solver holds tokens1
        assert [s.levels["clean"].text for s in solve(spec).solutions] == ["32", "32"]
        return
    assert_matches_brute(spec)


def test_vit_position_embedding_fixes_the_input() -> None:
    answer = solve(zoo("vit_b_16.yaml"))
    # 197 position embeddings: the class token and 14·14 patches of 16×16 (225–239 floor to 14 but cut rows off)
    assert [s.levels["clean"].text for s in answer.solutions] == ["224", "224"]
    assert any("tokens1 feeds position_embedding1" in n and "--output 196" in n for n in answer.notes)
    pairs = {s.axis: s.levels["exact"].text for s in inverse(zoo("vit_b_16.yaml"), [196], "tokens1").solutions}
    assert pairs["H (for 14×14)"] == "224" and pairs["W (for 14×14)"] == "224"
    with pytest.raises(SpecError, match="is a token sequence of fixed length"):
        inverse(zoo("vit_b_16.yaml"), [197], "class_token1")


def test_at_takes_a_folded_rows_name_and_the_table_shows_the_names_at_takes() -> None:
    # Issue 12, item 6: --depth 1 shows layer3; --at accepts it (its last row's output), and a
    # join's row is shown under the name errors and --at use.
    from helpers import ROOT, expect_exit, run

    spec = str(ROOT / "specs" / "resnet50.yaml")
    folded = run("solve", spec, "--at", "layer3", "--output", "14x14")
    expect_exit(folded, 0)
    last = run("solve", spec, "--at", "layer3.repeat1.4.identity1.relu1", "--output", "14x14")
    assert folded.stdout == last.stdout
    assert folded.stdout.splitlines()[3] == "  by flooring (some size rounds down on the way): 210–224"
    table = run("show", str(ROOT / "specs" / "resnet18.yaml")).stdout
    assert "↳ residual1" in table and "↳ join" not in table
